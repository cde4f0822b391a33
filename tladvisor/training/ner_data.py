"""Token-classification (NER) data: CoNLL-style files and JSONL with character spans, read into sentences of
(token, BIO tag); tagging schemes (BIO / IOB2, IOB1, BIOES) checked and converted to BIO, broken sequences
repaired and counted; the audit (entities per type, sentence lengths, types seen only in test)."""
from __future__ import annotations

import json
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

from pydantic import BaseModel, Field

from tladvisor.safe_text import md
from tladvisor.training.errors import DataError
from tladvisor.training.text_encoding import decode_file_bytes, decode_head

CONLL_EXTENSIONS = (".conll", ".conllu", ".bio", ".iob", ".iob2", ".bioes", ".txt", ".tsv")
SPAN_KEYS = ("entities", "spans", "labels", "ner")
TOKEN_RE = re.compile(r"\w+(?:[-'’.]\w+)*|[^\w\s]", re.UNICODE)  # words (with inner hyphens / apostrophes), marks
TAG_RE = re.compile(r"^(?:O|[BIESLU]-.+)$")


@dataclass
class Sentence:
    tokens: list[str]
    tags: list[str]
    source: str  # "file:line" of its first token
    split: str = ""
    spans: list[tuple[int, int]] = field(default_factory=list)  # character offsets (JSONL input only)

    @property
    def key(self) -> str:
        return self.source


@dataclass
class NerRead:
    sentences: list[Sentence]
    scheme: str
    repaired: int = 0
    bad_lines: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # how the file was read (its encoding), for the audit


def is_token_file(path: str | Path) -> bool:
    """A CoNLL file (token and tag per line) or JSONL of texts with entity spans."""
    p = Path(path)
    if not p.is_file():
        return False
    ext = p.suffix.lower()
    if ext in (".conll", ".conllu", ".bio", ".iob", ".iob2", ".bioes"):
        return True
    try:
        with open(p, "rb") as fh:
            head = decode_head(fh.read(20000)).splitlines()[:200]
    except OSError:
        return False
    if ext in (".jsonl", ".ndjson", ".json"):
        for line in head:
            if line.strip():
                try:
                    obj = json.loads(line)
                except ValueError:
                    return False
                return isinstance(obj, dict) and any(k in obj for k in SPAN_KEYS) and "text" in obj
        return False
    if ext in (".txt", ".tsv"):  # token-per-line files keep these suffixes too; a table has a header and no tags
        rows = [ln.split() for ln in head if ln.strip() and not ln.startswith("-DOCSTART-")]
        tagged = sum(1 for r in rows if len(r) >= 2 and TAG_RE.match(r[-1]))
        return bool(rows) and tagged >= 0.9 * len(rows) and any(TAG_RE.match(r[-1]) and r[-1] != "O" for r in rows
                                                                if len(r) >= 2)
    return False


def read_token_file(path: str | Path) -> NerRead:
    p = Path(path)
    decoded = decode_file_bytes(p.read_bytes(), p.name)
    if p.suffix.lower() in (".jsonl", ".ndjson", ".json"):
        sentences = _read_jsonl(p, decoded.text)
    else:
        sentences = _read_conll(p, decoded.text)
    if not sentences:
        raise DataError(f"{p.name}: no sentence found (expected 'token TAG' lines with a blank line between "
                        "sentences, or JSONL with 'text' and 'entities')")
    scheme = detect_scheme([t for s in sentences for t in s.tags])
    repaired = 0
    for s in sentences:
        s.tags, fixed = to_bio(s.tags, scheme)
        repaired += fixed
    return NerRead(sentences, scheme, repaired, notes=[f"{p.name}: {decoded.note}"] if decoded.note else [])


def _read_conll(p: Path, text: str) -> list[Sentence]:
    sentences: list[Sentence] = []
    tokens: list[str] = []
    tags: list[str] = []
    start = 0
    for n, line in enumerate(text.splitlines(), 1):
        parts = line.split()
        if not parts or parts[0] == "-DOCSTART-":
            if tokens:
                sentences.append(Sentence(tokens, tags, f"{p.name}:{start}"))
            tokens, tags = [], []
            continue
        if len(parts) < 2:
            raise DataError(f"{p.name}:{n}: expected 'token TAG' (a token and its tag), got {line.strip()[:60]!r}")
        tag = parts[-1].strip()
        if not TAG_RE.match(tag):
            raise DataError(f"{p.name}:{n}: tag {tag[:40]!r} is not O or B-/I-/E-/S-TYPE")
        if not tokens:
            start = n
        tokens.append(parts[0])
        tags.append(tag)
    if tokens:
        sentences.append(Sentence(tokens, tags, f"{p.name}:{start}"))
    return sentences


def _span_list(obj: dict[str, Any], where: str) -> list[tuple[int, int, str]]:
    raw = next((obj[k] for k in SPAN_KEYS if k in obj), [])
    out = []
    for e in raw or []:
        if isinstance(e, dict):
            s, t, lab = e.get("start"), e.get("end"), e.get("label", e.get("type"))
        elif isinstance(e, (list, tuple)) and len(e) == 3:
            s, t, lab = e
        else:
            raise DataError(f"{where}: an entity must be {{start, end, label}} or [start, end, label], got {e!r:.60}")
        if not isinstance(s, int) or not isinstance(t, int) or not lab or s >= t:
            raise DataError(f"{where}: bad entity span {e!r:.80} (start < end, integers, a label)")
        out.append((s, t, str(lab).strip()))
    return out


def _read_jsonl(p: Path, text: str) -> list[Sentence]:
    sentences = []
    for n, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        where = f"{p.name}:{n}"
        try:
            obj = json.loads(line)
        except ValueError as exc:
            raise DataError(f"{where}: not valid JSON ({exc})") from exc
        if not isinstance(obj, dict) or not isinstance(obj.get("text"), str):
            raise DataError(f"{where}: expected an object with a 'text' string and 'entities'")
        text = obj["text"]
        spans = _span_list(obj, where)
        if any(t > len(text) for _, t, _ in spans):
            raise DataError(f"{where}: an entity ends after the text (length {len(text)})")
        tokens, offsets = tokenize_with_offsets(text)
        if not tokens:
            continue
        tags = ["O"] * len(tokens)
        for s, t, lab in sorted(spans):
            inside = [k for k, (a, b) in enumerate(offsets) if a < t and b > s]
            for j, k in enumerate(inside):
                tags[k] = ("B-" if j == 0 else "I-") + lab
        sentences.append(Sentence(tokens, tags, where, spans=offsets))
    return sentences


def tokenize_with_offsets(text: str) -> tuple[list[str], list[tuple[int, int]]]:
    """Words and punctuation marks with their character offsets (how a raw sentence is split for tagging)."""
    found = [(m.group(), (m.start(), m.end())) for m in TOKEN_RE.finditer(text)]
    return [f[0] for f in found], [f[1] for f in found]


def detect_scheme(tags: list[str]) -> str:
    """'BIOES' when E-/S- (or L-/U-) prefixes appear; 'IOB1' when an entity starts with I- more often than B- is
    used (B- only separates touching entities there); else 'BIO'."""
    prefixes = Counter(t[:2] for t in tags if t != "O")
    if prefixes["E-"] or prefixes["S-"] or prefixes["L-"] or prefixes["U-"]:
        return "BIOES"
    starts_with_i = 0
    prev = "O"
    for t in tags:
        if t.startswith("I-") and (prev == "O" or prev[2:] != t[2:]):
            starts_with_i += 1
        prev = t
    return "IOB1" if starts_with_i and starts_with_i >= prefixes["B-"] else "BIO"


def to_bio(tags: list[str], scheme: str) -> tuple[list[str], int]:
    """Tags in BIO (IOB2). Under BIO, an I-X that does not continue an X entity (after O or another type) is a
    broken sequence: it becomes B-X and is counted. IOB1 and BIOES convert without counting."""
    out, repaired, prev = [], 0, "O"
    for t in tags:
        if t == "O":
            out.append(t)
            prev = t
            continue
        prefix, typ = t[0], t[2:]
        if prefix in "SU":
            prefix = "B"
        elif prefix in "EL":
            prefix = "I"
        if prefix == "I" and (prev == "O" or prev[2:] != typ):
            prefix = "B"
            if scheme == "BIO":
                repaired += 1
        new = f"{prefix}-{typ}"
        out.append(new)
        prev = new
    return out, repaired


def entity_types(tags: list[str]) -> list[str]:
    return sorted({t[2:] for t in tags if t != "O"})


class NerAuditReport(BaseModel):
    """What the NER audit found; written as audit.json / audit.md."""

    sentences: int
    tokens: int
    scheme: str
    repaired_tags: int = 0
    entities: dict[str, dict[str, int]] = Field(default_factory=dict, description="split -> type -> count")
    types_only_in_test: list[str] = Field(default_factory=list)
    length_percentiles: dict[str, int] = Field(default_factory=dict, description="sub-word tokens per sentence")
    max_length: int = 0
    truncated: list[str] = Field(default_factory=list)
    no_entity_sentences: int = 0
    notes: list[str] = Field(default_factory=list)

    @property
    def classes(self) -> dict[str, int]:  # for front ends that show class counts
        return {t: sum(s.get(t, 0) for s in self.entities.values()) for t in sorted(
            {t for s in self.entities.values() for t in s})}

    def to_markdown(self) -> str:
        types = sorted({t for s in self.entities.values() for t in s})
        lines = [f"**{self.sentences} sentences**, {self.tokens} tokens, tagging scheme {self.scheme} "
                 f"(trained as BIO); {len(types)} entity types.", "",
                 "| type | " + " | ".join(self.entities) + " |", "|---|" + "---|" * len(self.entities)]
        for t in types:
            lines.append(f"| {md(t)} | " + " | ".join(str(self.entities[s].get(t, 0)) for s in self.entities) + " |")
        lines.append("")
        if self.repaired_tags:
            lines.append(f"- {self.repaired_tags} broken tag sequence(s) repaired (an I- tag that did not continue "
                         "an entity of its type became B-)")
        if self.types_only_in_test:
            lines.append(f"- **Types only in the test data** (the model cannot learn them): "
                         f"{', '.join(md(t) for t in self.types_only_in_test)}")
        if self.length_percentiles:
            lines.append(f"- Sentence length in sub-word tokens: median {self.length_percentiles.get('p50')}, "
                         f"95th percentile {self.length_percentiles.get('p95')}, longest "
                         f"{self.length_percentiles.get('max')} (model maximum {self.max_length})")
        if self.truncated:
            lines.append(f"- {len(self.truncated)} sentence(s) longer than the model's maximum: the words after it "
                         f"are predicted as O (first: {', '.join(self.truncated[:5])})")
        if self.no_entity_sentences:
            lines.append(f"- {self.no_entity_sentences} sentence(s) have no entity")
        lines += [f"- {md(n)}" for n in self.notes]
        return "\n".join(lines) + "\n"


def audit_sentences(sentences: list[Sentence], scheme: str, repaired: int, lengths: list[int], max_length: int,
                    notes: Optional[list[str]] = None) -> NerAuditReport:
    import numpy as np

    entities: dict[str, dict[str, int]] = {}
    for s in sentences:
        bucket = entities.setdefault(s.split, {})
        for t in s.tags:
            if t.startswith("B-"):
                bucket[t[2:]] = bucket.get(t[2:], 0) + 1
    trained = set(entities.get("train", {})) | set(entities.get("val", {}))
    only_test = sorted(set(entities.get("test", {})) - trained)
    arr = np.asarray(lengths or [0])
    return NerAuditReport(
        sentences=len(sentences), tokens=sum(len(s.tokens) for s in sentences), scheme=scheme, repaired_tags=repaired,
        entities={k: dict(sorted(v.items())) for k, v in sorted(entities.items(), key=lambda kv: ("train", "val",
                                                                                                   "test").index(kv[0]))},
        types_only_in_test=only_test,
        length_percentiles={"p50": int(np.percentile(arr, 50)), "p95": int(np.percentile(arr, 95)),
                            "max": int(arr.max())},
        max_length=max_length, truncated=[s.source for s, n in zip(sentences, lengths) if n > max_length],
        no_entity_sentences=sum(1 for s in sentences if all(t == "O" for t in s.tags)), notes=notes or [])
