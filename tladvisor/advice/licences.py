"""What a model's licence allows and asks in return (`knowledge/licences.yaml`), in one sentence per model:
the chat's licence answers and the recommendation's licence verdict both come from here. Pure Python."""
from __future__ import annotations

from functools import lru_cache
from typing import Optional

from tladvisor.advice.brief import _LANGUAGE_ALIASES
from tladvisor.advice.catalogue import Backbone, candidates_for
from tladvisor.advice.knowledge import load_yaml


@lru_cache(maxsize=1)
def _terms() -> dict[str, dict[str, str]]:
    return (load_yaml("licences.yaml") or {}).get("licences", {})


def obligations(licence: str) -> Optional[str]:
    """What the licence asks of a user ('attribution and share-alike: ...'), or None when not on file."""
    entry = _terms().get(licence)
    return entry.get("obligations") if entry else None


def licence_sentence(b: Backbone) -> str:
    """'**LEGAL-BERT base**: licence CC-BY-SA-4.0; commercial use is allowed, with attribution and share-alike: ...'"""
    verdict = {"yes": "commercial use is allowed", "no": "commercial use is NOT allowed",
               "unknown": "commercial use is not cleared"}[b.commercial_use]
    problem = b.licence_problem()
    text = f"**{b.name}**: licence {b.licence}; {verdict}" + (f" ({problem})" if problem else "")
    terms = obligations(b.licence)
    if terms:
        text += f". Its terms: {terms}"
    return text + "."


def language_fit(b: Backbone, language: str) -> Optional[str]:
    """A warning with the alternative when a text model does not read the project's language, else None."""
    if b.modality != "text" or not b.languages or "multi" in b.languages or language in b.languages:
        return None
    name = {code: word.capitalize() for word, code in _LANGUAGE_ALIASES.items()}.get(language, f"'{language}'")
    multi = [c for c in candidates_for("text", "text-classification")
             if "multi" in c.languages and c.commercial_use == "yes"]
    alt = f" For {name} text the multilingual {multi[0].name} ({multi[0].licence}) fits instead." if multi else ""
    known = "/".join({code: word.capitalize() for word, code in _LANGUAGE_ALIASES.items()}.get(c, c)
                     for c in b.languages)
    return f"{b.name} was pre-trained on {known} text only, so it reads {name} poorly.{alt}"
