"""The project timeline in working days (`knowledge/timeline.yaml`): what the chat answers to "how long will the
whole thing take?" and what the client page shows; the compute time is a footnote to it. Pure Python."""
from __future__ import annotations

from functools import lru_cache
from typing import Any

from tladvisor.advice.knowledge import KnowledgeError, load_yaml
from tladvisor.advice.recommendation import Phase
from tladvisor.advice.rules import condition_holds


@lru_cache(maxsize=1)
def _spec() -> dict[str, Any]:
    spec = load_yaml("timeline.yaml") or {}
    ids = {p["id"] for p in spec.get("phases", [])}
    for extra in spec.get("extra", []):
        if extra.get("phase") not in ids:
            raise KnowledgeError(f"timeline.yaml: extra days for unknown phase '{extra.get('phase')}'")
    return spec


def project_timeline(facts: dict[str, Any]) -> list[Phase]:
    """The phases with their working days for a brief's facts (the same facts rules.yaml matches)."""
    spec = _spec()
    phases = {p["id"]: Phase(id=p["id"], name=p["name"], days=tuple(p["days"]), what=p.get("what", ""))
              for p in spec.get("phases", [])}
    for extra in spec.get("extra", []):
        when = extra.get("when") or {}
        if all(key in facts and condition_holds(facts[key], cond) for key, cond in when.items()):
            p = phases[extra["phase"]]
            lo, hi = extra["days"]
            p.days = (p.days[0] + lo, p.days[1] + hi)
            p.why.append(extra.get("why", ""))
    return list(phases.values())


def total_days(phases: list[Phase]) -> tuple[int, int]:
    """The whole project in working days (low, high)."""
    return sum(p.days[0] for p in phases), sum(p.days[1] for p in phases)
