"""`advise(brief) -> Recommendation`: derive facts, apply the rules, pick backbones, fill the numbers."""
from __future__ import annotations

import math
from functools import lru_cache
from typing import Any, Optional

from tladvisor.advice import band_model
from tladvisor.advice.acceptance import build_acceptance
from tladvisor.advice.licences import obligations
from tladvisor.advice.timeline import project_timeline
from tladvisor.advice.brief import ProjectBrief
from tladvisor.schemas import FINE_TUNING_STAGES
from tladvisor.advice.catalogue import Backbone, candidates_for, get_backbone
from tladvisor.advice.domains import domains
from tladvisor.advice.estimate import estimates
from tladvisor.advice.estimate import price_per_hour as env_price
from tladvisor.advice.messaging import recommendation_messages
from tladvisor.advice.recommendation import (
    BackboneChoice,
    Expectation,
    FiredRule,
    Forecast,
    HyperParams,
    LicenceVerdict,
    Recommendation,
    RejectedBackbone,
    Stage,
)
from tladvisor.advice.rules import (RuleBook, RuleOutcome, apply_rules, check_when_keys, fill, interpolate_band,
                                   load_rules)

FINE_TUNING = set(FINE_TUNING_STAGES)
PREFERRED_BONUS = 50.0  # a backbone the client asked for wins unless its licence forbids it
MEASURED_BONUS = 10.0  # the best backbone measured on the client's data (tladvisor rank) beats rule preferences
MEASURED_WEIGHT = 20.0  # per unit of k-NN accuracy: 5 points of measured accuracy outweigh one preference tag
FORECAST_MULTIPLIERS = (2, 5)


class BriefIncompleteError(ValueError):
    """The brief lacks a fact the advice depends on."""


def derive_facts(brief: ProjectBrief) -> dict[str, Any]:
    """The flat facts rules match on (see rules.yaml)."""
    modality = brief.modality
    domain = domains()[brief.domain]
    domain_tags = list((domain.get("prefer_tags") or {}).get(modality, []))
    complexity = brief.task_complexity or ("complex" if (brief.classes or 0) > 10 else "simple")
    latency_ok = brief.latency_ms is not None and brief.latency_ms <= 50
    commercial_effective = brief.commercial is not False
    small = brief.smallest_class
    imbalanced = brief.imbalanced
    noun = {"image": "images", "text": "examples", "tabular": "rows"}.get(modality, "examples")
    # an imbalanced project is planned, banded and forecast on its smallest class: that is where errors come from
    per_class = small[1] if imbalanced and small else brief.per_class
    if imbalanced and small:
        volume_text = f"{brief.total or 0:,} labelled {noun}, but only {small[1]:,} of '{small[0]}', the smallest class"
        per_class_text = f"{small[1]:,} in the smallest class"
    else:
        volume_text = f"{brief.per_class or 0:,} labelled {noun} per class"
        per_class_text = f"{brief.per_class or 0:,}/class"
    counts = brief.complete_counts or {}
    major = max(counts, key=lambda k: counts[k]) if counts else "the largest class"
    share = brief.majority_share
    return {
        "task": brief.task,
        "modality": modality,
        "domain": brief.domain,
        "distance": domain.get("distance", "near"),
        "domain_tags": domain_tags,
        "domain_tags_text": ", ".join(domain_tags) or "general data",
        "has_domain_tags": brief.domain != "general" and bool(domain_tags),
        "classes": brief.classes,
        "per_class": per_class,
        "per_class_mean": brief.per_class,
        "per_class_text": per_class_text,
        "volume_text": volume_text,
        "imbalanced": imbalanced,
        "smallest_class": small[1] if small else None,
        "rare_name": small[0] if small else "the rare class",
        "major_name": major,
        "majority_pct": f"{share * 100:.1f}" if share else "?",
        "priority": brief.priority[0],
        "total": brief.total,
        "complexity": complexity,
        "label_quality": brief.label_quality,
        "difficulty": brief.difficulty,
        "label_quality_text": brief.label_quality.replace("_", " "),
        "unlabelled": brief.unlabelled_data,
        "commercial": brief.commercial,
        "commercial_effective": commercial_effective,
        "commercial_text": "Commercial project" if brief.commercial else "Commercial use not ruled out",
        "edge": brief.edge,
        "latency_ms": brief.latency_ms,
        "latency_text": f"{brief.latency_ms:g} ms" if brief.latency_ms else "n/a",
        "edge_or_latency": brief.edge or latency_ok,
        "compute": brief.compute,
        "keep_original": brief.keep_original,
        "language": brief.language,
        "english": brief.language == "en",
        "image_size": brief.image_size,
    }


def _derive_from_state(state: dict[str, Any]) -> dict[str, Any]:
    plan = state.get("plan") or []
    return {"fine_tunes": any(stage["strategy"] in FINE_TUNING for stage in plan)}


@lru_cache(maxsize=1)
def checked_rules() -> RuleBook:
    """rules.yaml, with every `when` key checked against the facts this advisor derives (once per process)."""
    book = load_rules()
    known = (set(derive_facts(ProjectBrief(task="image-classification"))) | set(_derive_from_state({}))
             | {key for rule in book.rules for key in rule.set_})
    check_when_keys(list(book.rules), known)
    return book


def _score(backbone: Backbone, prefer: dict[str, float]) -> float:
    return sum(prefer.get(tag, 0.0) for tag in backbone.tags)


def _why(backbone: Backbone, prefer: dict[str, float], facts: dict[str, Any], requested: bool,
         measured: Optional[dict[str, tuple[int, float]]] = None) -> str:
    parts = []
    if requested:
        parts.append("requested by the client")
    if measured and backbone.id in measured:
        rank, knn = measured[backbone.id]
        parts.append(f"ranked #{rank} of {len(measured)} on the client's data (k-NN accuracy {knn:.1%})")
    matched = [t for t in backbone.domain_tags if t in facts["domain_tags"]]
    if backbone.modality == "tabular":
        parts.append(backbone.pretraining_data)
    elif matched and facts["domain"] != "general":
        parts.append(f"pre-trained on {backbone.pretraining_data}, nearest to {facts['domain']} ({', '.join(matched)})")
    else:
        parts.append(f"pre-trained on {backbone.pretraining_data}")
    parts.append(f"{backbone.params_m:g}M parameters, {backbone.speed}")
    if backbone.languages and "multi" not in backbone.languages and facts["language"] not in backbone.languages:
        parts.append(f"{'/'.join(backbone.languages)} only: a poor fit for '{facts['language']}' text")
    parts.append(f"licence {backbone.licence}")
    if backbone.offline:
        parts.append(f"weights bundled offline ({backbone.offline_package})")
    if backbone.advice_only:
        parts.append("advice only: not trained by this tool")
    return "; ".join(parts)


def _choice(b: Backbone, score: float, why: str) -> BackboneChoice:
    return BackboneChoice(id=b.id, name=b.name, source=b.source, source_id=b.source_id, params_m=b.params_m,
                          licence=b.licence, commercial_use=b.commercial_use, speed=b.speed, offline=b.offline,
                          advice_only=b.advice_only, score=round(score, 2), why=why)


def select_backbones(brief: ProjectBrief, facts: dict[str, Any], prefer: dict[str, float],
                     measured: Optional[dict[str, tuple[int, float]]] = None
                     ) -> tuple[list[BackboneChoice], list[RejectedBackbone]]:
    """Rank the catalogue's candidates; drop those a commercial project may not use, saying why.
    `measured` maps backbone id -> (rank, k-NN accuracy) from a ranking on the client's data."""
    candidates = candidates_for(facts["modality"], brief.task)
    if not candidates:
        raise BriefIncompleteError(f"task: the catalogue has no backbone for {brief.task}")
    requested = set(brief.preferred_backbones)
    scored = []
    for b in candidates:
        s = _score(b, prefer) + (PREFERRED_BONUS if b.id in requested else 0.0)
        if measured and b.id in measured:
            rank, knn = measured[b.id]
            s += MEASURED_WEIGHT * knn + (MEASURED_BONUS if rank == 1 else 0.0)
        scored.append((s, -b.params_m, b))
    scored.sort(key=lambda t: (t[0], t[1]), reverse=True)
    allowed, rejected = [], []
    for s, _, b in scored:
        problem = b.licence_problem() if facts["commercial_effective"] else None
        if problem:
            rejected.append((s, b, problem))
        else:
            allowed.append(_choice(b, s, _why(b, prefer, facts, b.id in requested, measured)))
    if not allowed:
        raise BriefIncompleteError("no catalogue backbone has a licence that allows commercial use for this task")
    best = allowed[0].score
    shown = [RejectedBackbone(id=b.id, name=b.name, licence=b.licence,
                              reason=f"{b.name} rejected for a commercial project: {problem}")
             for s, b, problem in rejected if s >= best or b.id in requested]
    return allowed[:3], shown


def _band_spec(book: RuleBook, facts: dict[str, Any]) -> Optional[dict[str, Any]]:
    return book.bands.get(facts["task"]) or book.bands.get(facts["modality"])


BAND_MODEL_TASKS = ("image-classification", "text-classification", "sentiment")


def _band_model_facts(facts: dict[str, Any], outcome: RuleOutcome) -> Optional[band_model.Facts]:
    """The band model's inputs, or None where the band still comes from `bands` anchors (NER, detection, ...)."""
    if facts["task"] not in BAND_MODEL_TASKS or not facts.get("per_class") or not facts.get("classes"):
        return None
    fine_tunes = any(s["strategy"] in FINE_TUNING for s in outcome.state.get("plan", []))
    return band_model.Facts(facts["modality"], int(facts["classes"]), float(facts["per_class"]),
                            facts.get("difficulty"), facts.get("distance", "near"), fine_tunes)


def _band_adjustments(facts: dict[str, Any], outcome: RuleOutcome) -> list[str]:
    """The band's reasons in words: the fitted model's terms, then the rule shifts it does not measure."""
    f = _band_model_facts(facts, outcome)
    if f is None:
        return outcome.band_shift_reasons
    words = [f"{name} ({effect * 100:+.0f} points)" for name, effect in band_model.term_effects(f)
             if abs(effect) >= 0.005]
    if f.difficulty is None:
        words.append("difficulty not given (a wider band)")
    return words + outcome.band_shift_uncovered_reasons


def _band(book: RuleBook, facts: dict[str, Any], outcome: RuleOutcome) -> Optional[tuple[float, float]]:
    """The expected band: for classification, the band model fitted on the outcomes table (its central 80%
    interval) moved by the rule shifts it does not measure; else `bands` anchors moved by every rule shift."""
    model_facts = _band_model_facts(facts, outcome)
    if model_facts is not None:
        lo, _, hi = band_model.band(model_facts)
        shift = outcome.band_shift_uncovered
        return round(min(0.98, max(0.01, lo + shift)), 3), round(min(0.998, max(0.02, hi + shift)), 3)
    spec = _band_spec(book, facts)
    if spec and spec.get("metric", "accuracy") != outcome.state.get("metric", spec.get("metric", "accuracy")):
        return None  # the anchors measure another metric (accuracy anchors say nothing about mAP)
    volume = facts.get(spec["volume"]) if spec else None
    if not volume:
        return None
    lo, hi = (min(0.99, max(0.05, v + outcome.band_shift)) for v in interpolate_band(spec["anchors"], volume))
    return round(lo, 3), round(hi, 3)


def _hyperparams(facts: dict[str, Any], state: dict[str, Any], table: dict[str, Any],
                 primary: BackboneChoice, backbone_input: Optional[int], backbone_len: Optional[int]
                 ) -> HyperParams:
    modality = facts["modality"]
    plan = state.get("plan") or []
    key = facts["task"] if facts["task"] in table else modality  # a task's own row (ner) before its modality's
    if key not in table:
        return HyperParams(strategy=plan[-1]["strategy"] if plan else "n/a")
    row = table[key]
    defaults = table.get("defaults", {})
    main = next((s["strategy"] for s in reversed(plan) if s["strategy"] in row), "linear_probe")
    hp = row[main]
    scratch = row.get("scratch_lr")
    epochs = int(state.get("epochs", defaults.get("epochs", 15)))
    total = facts.get("total") or 0
    train_n = int(total * (1 - defaults.get("test_fraction", 0.2) - defaults.get("val_fraction", 0.1)))
    steps = math.ceil(train_n / hp["batch_size"]) * epochs if train_n else None
    warmup_steps = int(round((steps or 0) * hp.get("warmup_ratio", 0.0)))
    if main in ("full", "partial", "progressive"):
        note = (f"learning rate {hp['lr']:g} is {scratch / hp['lr']:.0f}x below the from-scratch {scratch:g}"
                if scratch else "")
    elif main == "lora":
        note = (f"LoRA adapters (new weights) train at {hp['lr']:g} while every pre-trained weight stays frozen; "
                f"the head trains at {row['linear_probe']['lr']:g}")
    else:
        note = f"only the new head trains (at {hp['lr']:g}); the pre-trained weights stay frozen"
    return HyperParams(
        strategy=main,
        learning_rate=hp["lr"],
        head_learning_rate=row.get("linear_probe", hp)["lr"],
        scratch_learning_rate=scratch,
        lr_note=note,
        stage_learning_rates={k: v["lr"] for k, v in row.items() if isinstance(v, dict) and "lr" in v},
        warmup_ratio=hp.get("warmup_ratio", 0.0),
        warmup_steps=warmup_steps,
        epochs=epochs,
        steps=steps,
        batch_size=hp["batch_size"],
        weight_decay=hp.get("weight_decay"),
        layer_decay=hp.get("layer_decay"),
        lora_r=hp.get("lora_r"),
        lora_alpha=hp.get("lora_alpha"),
        resolution=state.get("resolution", backbone_input) if modality == "image" else None,
        max_length=backbone_len if modality == "text" else None,
        early_stopping_patience=int(defaults.get("early_stopping_patience", 3)),
        mixup=bool(state.get("mixup", False)),
        retrain_on_all=bool(state.get("retrain_on_all", False)),
    )


def _forecast(brief: ProjectBrief, book: RuleBook, k: int) -> Forecast:
    """Re-advise the same brief with k times the data: what more data would buy."""
    scaled = brief.model_copy(update={
        "per_class": brief.per_class * k if brief.per_class else None,
        "total": brief.total * k if brief.total else None,
        "class_counts": {c: n * k for c, n in brief.class_counts.items()} if brief.class_counts else None,
    })
    facts = derive_facts(scaled)
    outcome = apply_rules(list(book.rules), facts, _derive_from_state)
    return Forecast(multiplier=k, per_class=scaled.per_class, total=scaled.total, band=_band(book, facts, outcome))


def _licence_verdict(brief: ProjectBrief, primary: BackboneChoice, rejected: list[RejectedBackbone]) -> LicenceVerdict:
    rejected_text = "".join(f" {r.reason}." for r in rejected)
    if brief.commercial is False:
        if primary.commercial_use != "yes":
            return LicenceVerdict(status="warning", text=f"{primary.name}: licence {primary.licence}; fine for "
                                  "non-commercial work, but re-check before any commercial use.")
        return LicenceVerdict(status="ok", text=f"{primary.name} is licensed {primary.licence}, which allows "
                              "commercial use as well.")
    status = "warning" if brief.commercial is None else "ok"
    lead = "Commercial use not stated (assumed). " if brief.commercial is None else ""
    terms = obligations(primary.licence)
    asks = f" Its terms: {terms}." if terms else ""
    return LicenceVerdict(status=status, text=f"{lead}{primary.name} is licensed {primary.licence}, which allows "
                          f"commercial use.{asks}{rejected_text}")


def advise(brief: ProjectBrief, measured_ranking: Optional[list[tuple[str, float]]] = None,
           price_per_hour: Optional[float] = None, currency: Optional[str] = None) -> Recommendation:
    """The recommendation for a brief: backbone + alternatives, staged plan, hyper-parameters, expectations,
    gaps, risks, licence verdict, fired rules with rationale, and the client messages.

    `measured_ranking`: (backbone id, k-NN accuracy) best first, from `tladvisor rank` on the client's data;
    the primary choice takes it into account (licences and the client's own requests still come first).
    `price_per_hour`: compute price for the cost estimate (default: `TLADVISOR_PRICE_PER_HOUR`, else no cost),
    in `currency` (default: `TLADVISOR_CURRENCY`, else USD)."""
    missing = brief.missing_for_advice()
    if missing:
        raise BriefIncompleteError("brief is missing: " + "; ".join(missing))
    book = checked_rules()
    table = book.hyperparams
    facts = derive_facts(brief)
    outcome = apply_rules(list(book.rules), facts, _derive_from_state)
    measured = {bid: (i, knn) for i, (bid, knn) in enumerate(measured_ranking or [], 1)}
    chosen, rejected = select_backbones(brief, facts, outcome.prefer, measured)
    primary, alternatives = chosen[0], chosen[1:]
    primary_bb = get_backbone(primary.id)
    hp = _hyperparams(facts, outcome.state, table, primary, primary_bb.input_size, primary_bb.max_length)
    band = _band(book, facts, outcome)
    spec = _band_spec(book, facts) or {}
    metric = outcome.state.get("metric", spec.get("metric", "accuracy"))
    forecast = [_forecast(brief, book, k) for k in FORECAST_MULTIPLIERS] if band else []
    context = {
        **facts,
        **outcome.state,
        "lr_text": hp.lr_note,
        "warmup_pct": f"{hp.warmup_ratio * 100:.0f}",
        "test_pct": f"{table.get('defaults', {}).get('test_fraction', 0.2) * 100:.0f}",
        "backbone_name": primary.name,
    }
    test_share = table.get("defaults", {}).get("test_fraction", 0.2)
    rare_in_test = max(1, int((facts.get("smallest_class") or 0) * test_share))
    context.update(rare_in_test=rare_in_test, rare_step=f"{100 / rare_in_test:.0f}")
    fired = [FiredRule(id=r.id, title=r.title, why=fill(r.because, context)) for r in outcome.fired]
    plan = [Stage(**s) for s in outcome.state.get("plan", [])]
    gaps = [fill(t, context) for t in outcome.data_gaps]
    rec = Recommendation(
        brief=brief,
        modality=facts["modality"],
        primary=primary,
        alternatives=alternatives,
        rejected=rejected,
        plan=plan,
        hyperparams=hp,
        expectation=Expectation(metric=metric, band=band, adjustments=_band_adjustments(facts, outcome),
                                forecast=forecast),
        data_gaps=gaps,
        evaluation_plan=[fill(t, context) for t in outcome.evaluation],
        risks=[fill(t, context) for t in outcome.risks],
        notes=[fill(t, context) for t in outcome.notes],
        licence=_licence_verdict(brief, primary, rejected),
        acceptance=build_acceptance(brief, metric, test_fraction=test_share),
        timeline=project_timeline(facts),
        fired_rules=fired,
    )
    # messages and estimate read the finished recommendation, so their numbers are the summary's numbers
    rec.estimate = estimates(rec, price_per_hour=price_per_hour if price_per_hour is not None else env_price(),
                             currency_code=currency)
    rec.messages = recommendation_messages(rec)
    return rec
