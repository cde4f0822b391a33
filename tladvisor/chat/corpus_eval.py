"""Slot accuracy of the dialogue on a corpus of labelled messages (tests and `bench/chat_extraction.py`).

A corpus row is `[language, asked, message, expected]`: the message is sent to a fresh conversation whose
last question was `asked` (the task question when null), and the slots the dialogue then holds are compared
with `expected`. Accuracy counts every expected slot and every slot filled that was not expected (a wrong
extra value misleads the advice as much as a missed one).
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

import yaml

from tladvisor.chat.dialogue import ChatState, DialogueManager


@dataclass
class RowResult:
    """One message: what was expected, what the dialogue filled, and the slots it got wrong."""

    language: str
    message: str
    expected: dict[str, Any]
    got: dict[str, Any]
    wrong: list[str] = field(default_factory=list)
    error: Optional[str] = None


def load_corpus(path: str | Path) -> list[tuple[str, Optional[str], str, dict[str, Any]]]:
    """The rows of a corpus YAML file (`corpus:` list of `[language, asked, message, expected]`)."""
    rows = yaml.safe_load(Path(path).read_text(encoding="utf-8"))["corpus"]
    return [(str(r[0]), r[1], str(r[2]), dict(r[3] or {})) for r in rows]


LATER_SLOTS = {"class_counts", "error_priority", "target"}


def _filled(state: ChatState) -> dict[str, Any]:
    got: dict[str, Any] = dict(state.known)
    got.pop("problem", None)  # the message itself, kept verbatim for the client page: not an extracted slot
    if state.unsure:
        got["unsure"] = sorted(state.unsure)
    return got


def _same(slot: str, want: Any, have: Any) -> bool:
    if slot in ("preferred_backbones", "unsure"):
        return sorted(want or []) == sorted(have or [])
    if isinstance(want, (int, float)) and isinstance(have, (int, float)) and not isinstance(want, bool):
        return float(want) == float(have)
    return want == have


def run_row(dm: DialogueManager, language: str, asked: Optional[str], message: str,
            expected: dict[str, Any]) -> RowResult:
    """Send one message to a fresh conversation and compare the slots it fills with `expected`."""
    state = ChatState(asked=asked or "task")
    try:
        got = _filled(dm.respond(state, message).state)
    except Exception as exc:  # counted, never raised: the report must show every row
        return RowResult(language, message, expected, {}, sorted(expected), f"{type(exc).__name__}: {exc}")
    # class counts, the error priority and a target were added to the brief after the corpus was labelled:
    # they are scored only where a row states them
    slots = (set(expected) | set(got)) - (LATER_SLOTS - set(expected))
    wrong = [s for s in sorted(slots) if not _same(s, expected.get(s), got.get(s))]
    return RowResult(language, message, expected, got, wrong)


def score(results: list[RowResult]) -> dict[str, Any]:
    """Slot accuracy overall, per language and per slot; crashes counted."""
    per_lang: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    per_slot: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for r in results:
        for slot in set(r.expected) | set(r.got):
            ok = int(slot not in r.wrong)
            for bucket in (per_lang[r.language], per_slot[slot]):
                bucket[0] += ok
                bucket[1] += 1
    total_ok = sum(v[0] for v in per_lang.values())
    total = sum(v[1] for v in per_lang.values())
    return {
        "messages": len(results),
        "slots": total,
        "accuracy": total_ok / total if total else float("nan"),
        "crashes": sum(r.error is not None for r in results),
        "per_language": {k: {"accuracy": v[0] / v[1], "slots": v[1]} for k, v in sorted(per_lang.items())},
        "per_slot": {k: {"accuracy": v[0] / v[1], "slots": v[1]} for k, v in sorted(per_slot.items())},
    }
