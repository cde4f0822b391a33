"""Catalogue backbones named in free text, exactly: "ConvNeXt V2" is ConvNeXt-V2-Tiny, not ConvNeXt-Tiny.

Each backbone's id, name and Hub / timm id become spelling-tolerant patterns ("LegalBERT", "legal-bert",
"LEGAL-BERT base" all match). Where one mention matches several patterns, the longest match wins, so a
more specific name (ConvNeXt V2, LEGAL-BERT) is never also read as its shorter relative (ConvNeXt, BERT).
"""
from __future__ import annotations

import re
from functools import lru_cache

from tladvisor.advice.catalogue import Backbone, load_catalogue

_SEP = r"[\s_\-./]*"
# words after a model's name that people leave out when they talk about it
_DROPPABLE = {"tiny", "small", "base", "large", "uncased", "cased", "augreg", "ra", "abstract", "fulltext",
              "prosusai", "scivocab", "v1", "1", "0", "in1k"}


def _parts(name: str) -> list[str]:
    """'ConvNeXt-V2-Tiny' -> ['conv', 'ne', 'xt', 'v', '2', 'tiny']: pieces any separator may join."""
    name = re.sub(r"\(.*?\)", " ", name)
    pieces = re.findall(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+|\d+", name)
    return [p.lower() for p in pieces]


def _aliases(b: Backbone) -> set[str]:
    out = set()
    inner = re.findall(r"\((.*?)\)", b.name)  # "BiomedBERT (PubMedBERT) ...": the bracketed name counts too
    for text in (b.name, b.id, b.source_id.split("/")[-1].split(".")[0], *inner, *b.aliases):
        parts = _parts(text)
        if parts and parts[0] == "all":  # "all-MiniLM-L6-v2" is called MiniLM
            parts = parts[1:]
        while parts:
            if len("".join(parts)) >= 4:
                out.add(_SEP.join(map(re.escape, parts)))
            if parts[-1] not in _DROPPABLE:
                break
            parts = parts[:-1]
    return out


@lru_cache(maxsize=1)
def _patterns() -> tuple[tuple[Backbone, re.Pattern], ...]:
    out = []
    for b in load_catalogue():
        for alias in sorted(_aliases(b), key=len, reverse=True):
            out.append((b, re.compile(r"(?<![a-z0-9])" + alias + r"(?![a-z0-9])", re.IGNORECASE)))
    return tuple(out)


def mentions(text: str) -> list[tuple[Backbone, int, int]]:
    """(backbone, start, end) for every catalogue backbone the text names, longest match per mention."""
    hits = []
    for b, pattern in _patterns():
        for m in pattern.finditer(text):
            hits.append((b, m.start(), m.end()))
    hits.sort(key=lambda h: (h[1], -(h[2] - h[1])))
    kept: list[tuple[Backbone, int, int]] = []
    for b, start, end in hits:
        if any(start >= s and end <= e for _, s, e in kept):
            continue  # inside a longer mention (or the same span named by another alias)
        kept.append((b, start, end))
    return kept


def named_backbones(text: str) -> list[Backbone]:
    """Distinct catalogue backbones the text names, in order of mention."""
    seen: dict[str, Backbone] = {}
    for b, _, _ in mentions(text):
        seen.setdefault(b.id, b)
    return list(seen.values())
