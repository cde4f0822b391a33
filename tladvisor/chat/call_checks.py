"""Whole scoping calls, checked as the client reads them (tests/data/chat_calls.yaml, `bench/chat_calls.py`).

A call is the messages a salesperson types, one per turn, with what the final brief must hold, properties
of given replies (a band for "what accuracy can we expect?", a timeline for "how long?", the licence of the model
asked about, ...) and of the final recommendation's acceptance. Every call is also checked globally: no reply
is the error fallback, none shows a command line, file path or benchmark provenance, and no question is asked
three times in a row. A call runs in-process (`run_call`) or through `tladvisor chat --script FILE --json`,
whose output has the same shape.
"""
from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional

import yaml

from tladvisor.chat.slots import SLOT_BY_NAME, SLOTS


@dataclass
class Check:
    """One property of one call: its kind ('brief.classes', 'reply.band', 'global.no_command', ...)."""

    call: str
    kind: str
    passed: bool
    detail: str = ""


def load_calls(path: str | Path) -> list[dict[str, Any]]:
    """The calls of a corpus file (`calls:` list)."""
    return list(yaml.safe_load(Path(path).read_text(encoding="utf-8"))["calls"])


def run_call(messages: list[str], dm: Any = None) -> dict[str, Any]:
    """The call through the dialogue manager: {'brief', 'turns', 'recommendation'} as the CLI's JSON gives it."""
    from tladvisor.chat.dialogue import DialogueManager, brief_from

    dm = dm or DialogueManager()
    turn = dm.opening()
    turns = []
    for message in messages:
        turn = dm.respond(turn.state, message)
        turns.append({"user": message, "reply": turn.reply})
    rec = turn.recommendation or dm.recommend(turn.state)
    brief = rec.brief if rec is not None else brief_from(turn.state)
    return {"brief": brief.model_dump(mode="json") if brief is not None else dict(turn.state.known),
            "turns": turns, "recommendation": rec.model_dump(mode="json") if rec is not None else None}


_NOT_ANSWERED = re.compile(r"outside what I know|didn'?t catch|did not understand|put it another way|"
                           r"something went wrong", re.IGNORECASE)
_BAND = re.compile(r"\d+(?:\.\d+)?\s*%?\s*[-–]\s*\d+(?:\.\d+)?\s*%|\b0\.\d+\s*[-–]\s*0\.\d+")
_TIMELINE = re.compile(r"\d+\s*[-–]\s*\d+\s+(?:working\s+)?(?:days|weeks)|\b\d+\s+(?:working\s+)?(?:days|weeks)\b|"
                       r"\b(?:one|two|three|four|five|six)\s+(?:to\s+\w+\s+)?(?:working\s+)?(?:days|weeks)\b",
                       re.IGNORECASE)
_CURRENCY = re.compile(r"(?:EUR|USD|GBP|CHF|€|\$|£)\s?\d|\d\s?(?:EUR|USD|GBP|CHF|€|euros?|dollars?)\b")
_COMMAND = re.compile(r"(?:^|[\s`(])(?:python3?|pip|tladvisor|accelerate|torchrun)\s+[\w-]|(?:^|\s)--[a-z][\w-]+|"
                      r"\b[\w/]+\.(?:py|yaml|json|md)\b|\bbench/|\bresults/|TLADVISOR_\w+|/(?:home|work|tmp)/|"
                      r"\bBasis:|throughput\.|\bmeasured on \d+ CPU threads", re.IGNORECASE)


def _norm(text: str) -> str:
    return re.sub(r"[\s_\-]+", "", text.lower())


def _stem(word: str) -> str:
    return re.sub(r"(?:ed|es|s)$", "", word.lower())


def _brief_checks(cid: str, want: dict[str, Any], brief: dict[str, Any]) -> list[Check]:
    from tladvisor.advice.acceptance import priority_class
    from tladvisor.advice.brief import ProjectBrief

    out = []
    counts = brief.get("class_counts") or {}
    for key, value in want.items():
        if key == "smallest_class":
            got: Any = min(counts.values()) if counts else None
            ok = got == value
        elif key == "error_priority":
            got = brief.get("error_priority")
            ok = (got or "").split(":")[0] == value
        elif key == "priority_class":
            try:
                got = priority_class(ProjectBrief(**brief)) if brief.get("task") else None
            except Exception as exc:  # an invalid brief is a failed check, not a crash of the checker
                got = f"invalid brief: {exc}"
            ok = bool(got) and _stem(str(value)) in str(got).lower()
        elif key == "preferred_backbones":
            got = brief.get(key) or []
            ok = set(value) <= set(got)
        else:
            got = brief.get(key)
            ok = got == value
        out.append(Check(cid, f"brief.{key}", ok, "" if ok else f"want {value!r}, got {got!r}"))
    return out


def _reply_check(cid: str, spec: Any, reply: str) -> Check:
    from tladvisor.chat.dialogue import _LABELS

    if isinstance(spec, str):
        kind, arg = spec, None
    else:
        kind, arg = next(iter(spec.items()))
    if kind == "answered":
        ok = not _NOT_ANSWERED.search(reply)
    elif kind == "band":
        ok = bool(_BAND.search(reply))
    elif kind == "sample_offer":
        ok = bool(re.search(r"\bsample\b", reply, re.I) and re.search(r"range|band|measure", reply, re.I))
    elif kind == "timeline":
        ok = bool(_TIMELINE.search(reply))
    elif kind == "currency":
        ok = bool(_CURRENCY.search(reply))
    elif kind == "licence":
        norm = _norm(reply)
        ok = _norm(arg["model"]) in norm and _norm(arg["licence"]) in norm and \
            (not arg.get("obligation") or _norm(arg["obligation"]) in norm)
    elif kind == "mentions":
        ok = all(re.search(p, reply, re.I) for p in arg)
    elif kind == "absent":
        ok = not any(re.search(p, reply, re.I) for p in arg)
    elif kind == "changed":
        label = _LABELS.get(arg, arg).lower()
        ok = label in reply.lower() and bool(re.search(r"\bwas\b|changed|updated", reply, re.I))
    elif kind == "not_asked":
        ok = SLOT_BY_NAME[arg].question not in reply
    else:
        raise ValueError(f"unknown reply check {kind!r}")
    detail = "" if ok else f"{kind}{'' if arg is None else ' ' + repr(arg)}: {reply[:240]!r}"
    return Check(cid, f"reply.{kind}", ok, detail)


def _acceptance_checks(cid: str, want: dict[str, Any], rec: Optional[dict[str, Any]]) -> list[Check]:
    out = []
    acc = (rec or {}).get("acceptance") or {}
    metric = (acc.get("metric") or "").lower()
    expected = ((rec or {}).get("expectation") or {}).get("metric", "").lower()
    for key, value in want.items():
        if not rec or not acc:
            out.append(Check(cid, f"acceptance.{key}", False, "no recommendation / acceptance"))
            continue
        if key == "metric_not":
            heads = {re.split(r"[,(]", metric)[0].strip(), expected.strip()}
            ok = not heads & {v.lower() for v in value}
        elif key == "metric_in":
            ok = any(v.lower() in metric or v.lower() in expected for v in value)
        elif key == "threshold_above_baseline":
            bar, base = acc.get("threshold"), acc.get("baseline")
            ok = bar is None or not metric.startswith("accuracy") or base is None or bar > base
        else:
            raise ValueError(f"unknown acceptance check {key!r}")
        out.append(Check(cid, f"acceptance.{key}", ok, "" if ok else f"{key} {value!r}: metric {metric!r} / {expected!r}"))
    return out


def check_call(call: dict[str, Any], out: dict[str, Any]) -> list[Check]:
    """Every check of one call against its run (`run_call` or the CLI's JSON)."""
    cid = call["id"]
    replies = [t["reply"] for t in out.get("turns", [])]
    checks = _brief_checks(cid, call.get("brief") or {}, out.get("brief") or {})
    for index, specs in (call.get("replies") or {}).items():
        i = int(index)
        reply = replies[i] if i < len(replies) else ""
        for spec in specs:
            checks.append(_reply_check(cid, spec, reply))
    checks += _acceptance_checks(cid, call.get("acceptance") or {}, out.get("recommendation"))
    fallback = [r for r in replies if "something went wrong" in r.lower()]
    checks.append(Check(cid, "global.no_fallback", not fallback, fallback[0][:200] if fallback else ""))
    leaks = [m.group(0) for r in replies for m in [_COMMAND.search(r)] if m]
    checks.append(Check(cid, "global.no_command", not leaks, ", ".join(leaks[:3])))
    repeated = ""
    for slot in SLOTS:
        run = 0
        for r in replies:
            run = run + 1 if slot.question in r else 0
            if run >= 3:
                repeated = slot.name
    checks.append(Check(cid, "global.no_triple_ask", not repeated, repeated))
    return checks


def summary(checks: list[Check]) -> dict[str, Any]:
    """Pass rates overall and per check kind, and the failures."""
    by_kind: dict[str, list[bool]] = defaultdict(list)
    for c in checks:
        by_kind[c.kind].append(c.passed)
    return {
        "checks": len(checks), "passed": sum(c.passed for c in checks),
        "pass_rate": round(sum(c.passed for c in checks) / max(1, len(checks)), 4),
        "calls": len({c.call for c in checks}),
        "calls_all_passed": len({c.call for c in checks} - {c.call for c in checks if not c.passed}),
        "by_kind": {k: {"n": len(v), "pass_rate": round(sum(v) / len(v), 4)} for k, v in sorted(by_kind.items())},
        "failures": [{"call": c.call, "kind": c.kind, "detail": c.detail} for c in checks if not c.passed],
    }
