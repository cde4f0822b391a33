"""The generic rule engine: match `knowledge/rules.yaml` rules against facts and collect their effects.

Rules are data (DESIGN.md); this module knows nothing about images, text or licences.
"""
from __future__ import annotations

import math
import string
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, Callable, Optional

from pydantic import BaseModel, ConfigDict, Field, field_validator

from tladvisor.advice.knowledge import KnowledgeError, load_yaml

_OPS: dict[str, Callable[[Any, Any], bool]] = {
    "lt": lambda a, b: a < b,
    "lte": lambda a, b: a <= b,
    "gt": lambda a, b: a > b,
    "gte": lambda a, b: a >= b,
    "ne": lambda a, b: a != b,
    "in": lambda a, b: a in b,
}


class Rule(BaseModel):
    """One rule from rules.yaml (see the file's header for the meaning of each key)."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    id: str
    title: str
    when: dict[str, Any] = Field(default_factory=dict)
    set_: dict[str, Any] = Field(default_factory=dict, alias="set")
    band_shift: float = 0.0
    band_model_covers: bool = False  # the fitted band model measures this factor: its shift applies only to anchors
    prefer: dict[str, float] = Field(default_factory=dict)
    prefer_from_fact: Optional[dict[str, Any]] = None
    map_plan: dict[str, str] = Field(default_factory=dict)
    risks: list[str] = Field(default_factory=list)
    data_gaps: list[str] = Field(default_factory=list)
    evaluation: list[str] = Field(default_factory=list)
    notes: list[str] = Field(default_factory=list)
    because: str


    @field_validator("when")
    @classmethod
    def _known_operators(cls, when: dict[str, Any]) -> dict[str, Any]:
        for key, cond in when.items():
            if isinstance(cond, dict):
                bad = [op for op in cond if op not in _OPS]
                if bad:
                    raise ValueError(f"when.{key}: unknown operator(s) {bad}; use {', '.join(_OPS)}")
        return when


def check_when_keys(rules: list[Rule], known: set[str]) -> None:
    """Refuse a rule whose `when` names a fact nobody provides: such a rule can never fire, so a typo
    ('per_clas') would silently disable it. `known` = facts derived from the brief plus every key rules set."""
    import difflib

    for rule in rules:
        for key in rule.when:
            if key not in known:
                close = difflib.get_close_matches(key, sorted(known), n=1)
                hint = f" (did you mean '{close[0]}'?)" if close else ""
                raise KnowledgeError(f"rules.yaml rule '{rule.id}': when-key '{key}' is not a known fact{hint}; "
                                     f"known facts: {', '.join(sorted(known))}")


def condition_holds(value: Any, condition: Any) -> bool:
    """A single `when` condition: equality, membership in a list, or a dict of operators."""
    if isinstance(condition, dict):
        if value is None:
            return False
        return all(_OPS[op](value, arg) for op, arg in condition.items())
    if isinstance(condition, list):
        return value in condition
    return value == condition


def rule_matches(rule: Rule, context: dict[str, Any]) -> bool:
    """True when every condition of the rule holds; a fact absent from the context never matches
    (except an explicit `null` condition, which asks for exactly that)."""
    for key, cond in rule.when.items():
        if key not in context and cond is not None:
            return False
        if not condition_holds(context.get(key), cond):
            return False
    return True


@dataclass
class RuleOutcome:
    """Everything the matching rules contributed, in rule order."""

    state: dict[str, Any] = field(default_factory=dict)
    prefer: dict[str, float] = field(default_factory=dict)
    band_shift: float = 0.0
    band_shift_reasons: list[str] = field(default_factory=list)
    band_shift_uncovered: float = 0.0  # the part of band_shift the fitted band model does not measure
    band_shift_uncovered_reasons: list[str] = field(default_factory=list)
    risks: list[str] = field(default_factory=list)
    data_gaps: list[str] = field(default_factory=list)
    evaluation: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    fired: list[Rule] = field(default_factory=list)


def apply_rules(
    rules: list[Rule],
    facts: dict[str, Any],
    derive: Optional[Callable[[dict[str, Any]], dict[str, Any]]] = None,
) -> RuleOutcome:
    """Apply every matching rule in order. `derive(state)` may add facts computed from the state so far
    (for example "does the plan fine-tune?"), so later rules can depend on earlier ones."""
    out = RuleOutcome()
    for rule in rules:
        context = {**facts, **out.state, **(derive(out.state) if derive else {})}
        if not rule_matches(rule, context):
            continue
        out.fired.append(rule)
        out.state.update(rule.set_)
        if rule.map_plan and out.state.get("plan"):
            out.state["plan"] = [
                {**stage, "strategy": rule.map_plan.get(stage["strategy"], stage["strategy"])}
                for stage in out.state["plan"]
            ]
        for tag, weight in rule.prefer.items():
            out.prefer[tag] = out.prefer.get(tag, 0.0) + weight
        if rule.prefer_from_fact:
            for tag in context.get(rule.prefer_from_fact["fact"]) or []:
                out.prefer[tag] = out.prefer.get(tag, 0.0) + float(rule.prefer_from_fact.get("weight", 1))
        if rule.band_shift:
            out.band_shift += rule.band_shift
            out.band_shift_reasons.append(f"{rule.id} ({rule.band_shift:+.0%})")
            if not rule.band_model_covers:
                out.band_shift_uncovered += rule.band_shift
                out.band_shift_uncovered_reasons.append(f"{rule.id} ({rule.band_shift:+.0%})")
        out.risks += rule.risks
        out.data_gaps += rule.data_gaps
        out.evaluation += rule.evaluation
        out.notes += rule.notes
    return out


@dataclass(frozen=True)
class RuleBook:
    """rules.yaml parsed: the rules, the hyper-parameter table and the expectation bands."""

    rules: tuple[Rule, ...]
    hyperparams: dict[str, Any]
    bands: dict[str, Any]


@lru_cache(maxsize=1)
def load_rules() -> RuleBook:
    """rules.yaml, validated; rule ids must be unique."""
    raw = load_yaml("rules.yaml") or {}
    rules = []
    for i, item in enumerate(raw.get("rules", [])):
        try:
            rules.append(Rule(**item))
        except Exception as exc:
            raise KnowledgeError(f"rules.yaml rule {i} ({item.get('id', '?')}): {exc}") from exc
    ids = [r.id for r in rules]
    if len(ids) != len(set(ids)):
        raise KnowledgeError("rules.yaml: duplicate rule ids")
    return RuleBook(tuple(rules), dict(raw.get("hyperparams", {})), dict(raw.get("bands", {})))


def interpolate_band(anchors: list[list[float]], volume: float) -> tuple[float, float]:
    """Expected (low, high) at `volume`: log-linear between anchors [volume, low, high], clamped outside."""
    pts = sorted(anchors)
    if volume <= pts[0][0]:
        return pts[0][1], pts[0][2]
    for (v0, lo0, hi0), (v1, lo1, hi1) in zip(pts, pts[1:]):
        if volume <= v1:
            t = math.log(volume / v0) / math.log(v1 / v0)
            return lo0 + t * (lo1 - lo0), hi0 + t * (hi1 - hi0)
    return pts[-1][1], pts[-1][2]


class _Lenient(dict):
    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


def fill(template: str, context: dict[str, Any]) -> str:
    """Fill `{placeholders}` from context; unknown ones stay visible rather than crash."""
    return string.Formatter().vformat(template, (), _Lenient(context))
