"""How long the recommended plan takes to train, from measured throughput (`knowledge/throughput.yaml`).

Seconds per stage: the linear probe embeds every example once and fits its head; a fine-tuning stage runs
its epochs over the training share and validates each epoch. Epoch counts are the plan's maximum, so the
figure is an upper bound (early stopping often ends sooner). Pure Python: no torch import.
"""
from __future__ import annotations

import os
from functools import lru_cache
from typing import TYPE_CHECKING, Any, Optional

from pydantic import BaseModel, Field

from tladvisor.advice.catalogue import get_backbone
from tladvisor.advice.knowledge import load_yaml

if TYPE_CHECKING:  # the Recommendation holds Estimates, so only the type is imported here
    from tladvisor.advice.recommendation import Recommendation

_FINE_TUNE = ("lora", "partial", "progressive", "full")
COMPUTE_KINDS = ("cpu", "single_gpu", "multi_gpu")
_MEASURED_FOR = {"image": "efficientnet_lite0", "text": "minilm_l6"}


class StageEstimate(BaseModel):
    """One stage of the plan."""

    strategy: str
    seconds: float
    epochs: Optional[int] = None


class Estimate(BaseModel):
    """Training time of a plan on one kind of compute (None where nothing was measured for it)."""

    compute: str
    backbone: str
    examples: int
    seconds: Optional[float] = None
    stages: list[StageEstimate] = Field(default_factory=list)
    basis: str = ""
    cost: Optional[float] = None
    price_per_hour: Optional[float] = None
    notes: list[str] = Field(default_factory=list)

    @property
    def text(self) -> str:
        """'about 12 minutes' style duration."""
        return duration_text(self.seconds) if self.seconds is not None else "not measured"


@lru_cache(maxsize=1)
def _table() -> dict[str, Any]:
    return load_yaml("throughput.yaml") or {}


def price_per_hour() -> Optional[float]:
    """The hourly compute price set for cost estimates (`TLADVISOR_PRICE_PER_HOUR`), or None when unset or bad."""
    raw = os.environ.get("TLADVISOR_PRICE_PER_HOUR", "").strip()
    try:
        value = float(raw) if raw else None
    except ValueError:
        return None
    return value if value is not None and value >= 0 else None


def duration_text(seconds: float) -> str:
    """A duration as a person says it: '40 seconds', 'about 12 minutes', 'about 3.5 hours'."""
    if seconds < 90:
        return f"{max(1, round(seconds))} seconds"
    if seconds < 90 * 60:
        return f"about {round(seconds / 60)} minutes"
    return f"about {seconds / 3600:.1f} hours"


def _row(backbone: str, compute: str, precision: str) -> Optional[dict[str, Any]]:
    for row in _table().get("rows", []):
        if row["backbone"] == backbone and row["compute"] == compute and row["precision"] == precision:
            return row
    return None


def throughput(backbone: str, modality: str, compute: str = "cpu", precision: str = "fp32"
               ) -> Optional[tuple[float, float, float]]:
    """(embed examples/s, train examples/s, slowdown factor) for a backbone: its own measured row, else the
    modality's measured backbone scaled by parameter count; None when neither is known."""
    row = _row(backbone, compute, precision)
    if row is not None:
        return float(row["embed_per_s"]), float(row["train_per_s"]), 1.0
    measured = _MEASURED_FOR.get(modality)
    row = _row(measured, compute, precision) if measured else None
    if row is None:
        return None
    try:
        scale = max(1.0, get_backbone(backbone).params_m / get_backbone(measured).params_m)
    except Exception:  # a timm / Hub name outside the catalogue: no size to scale by
        return None
    return float(row["embed_per_s"]), float(row["train_per_s"]), scale


def stage_seconds(strategy: str, examples: int, speed: tuple[float, float, float], epochs: int,
                  train_share: Optional[float] = None) -> Optional[float]:
    """Seconds for one stage on `examples` at `speed` (from `throughput`): the probe embeds every example once and
    fits its head; a fine-tuning stage runs `epochs` over the training share and validates each epoch. None for a
    stage with no throughput model (advice-only stages)."""
    embed_per_s, train_per_s, scale = speed
    ratios = _table().get("assumptions", {})
    if strategy == "linear_probe":
        return examples / embed_per_s * scale * (1 + float(ratios.get("head_fit_share", 0.3)))
    if strategy not in _FINE_TUNE:
        return None
    share = float(ratios.get("train_share", 0.72)) if train_share is None else train_share
    factor = 1.0 if strategy == "lora" else float(ratios.get("full_update_factor", 1.2))
    per_epoch = examples * share / train_per_s * scale * factor
    per_epoch += examples * (1 - share) / 2 / embed_per_s * scale  # the validation pass
    return per_epoch * epochs


def estimate(rec: "Recommendation", compute: Optional[str] = None, precision: str = "fp32",
             price_per_hour: Optional[float] = None) -> Estimate:
    """Seconds per stage of `rec`'s plan on `compute` (the brief's, by default)."""
    brief = rec.brief
    compute = compute or brief.compute
    examples = int(brief.total or (brief.per_class or 0) * (brief.classes or 0))
    est = Estimate(compute=compute, backbone=rec.primary.id, examples=examples, price_per_hour=price_per_hour)
    if rec.modality not in _MEASURED_FOR:
        est.notes.append("Gradient boosting on tables trains in seconds to minutes on a CPU; no throughput table "
                         "is needed for it.")
        return est
    if examples <= 0:
        est.notes.append("The data volume is not known yet.")
        return est
    speed = throughput(rec.primary.id, rec.modality, compute, precision)
    if speed is None and compute != "cpu":
        cpu = estimate(rec, "cpu", precision, price_per_hour)  # the only measured kind so far
        cpu.compute = compute
        cpu.basis = (f"upper bound from the CPU measurement; no {compute.replace('_', ' ')} throughput is "
                     "measured yet")
        cpu.notes.insert(0, "A GPU trains far faster than this CPU figure, which is an upper bound.")
        return cpu
    if speed is None:
        est.notes.append("No CPU throughput is measured for this modality.")
        return est
    measured = _MEASURED_FOR[rec.modality]
    if _row(rec.primary.id, compute, precision) is None and rec.primary.id != measured:
        est.basis = (f"scaled from the measured {get_backbone(measured).name} by parameter count "
                     f"(x{speed[2]:.1f}; rough)")
    else:
        est.basis = f"measured ({_table().get('measured', {}).get('command', 'bench/throughput.py')})"
    epochs = rec.hyperparams.epochs or 15
    for stage in rec.plan:
        seconds = stage_seconds(stage.strategy, examples, speed, epochs)
        if seconds is not None:
            est.stages.append(StageEstimate(strategy=stage.strategy, seconds=round(seconds, 1),
                                            epochs=epochs if stage.strategy in _FINE_TUNE else None))
    est.seconds = round(sum(s.seconds for s in est.stages), 1)
    if price_per_hour is not None:
        est.cost = round(est.seconds / 3600 * price_per_hour, 2)
    machine = _table().get("measured", {}).get("machine", "")
    est.notes.append(f"Measured on {machine}; fine-tuning epochs are the plan's maximum (early stopping often "
                     "ends sooner), so treat it as an upper bound." if machine else
                     "Fine-tuning epochs are the plan's maximum, so treat it as an upper bound.")
    return est


def estimates(rec: "Recommendation", precision: str = "fp32",
              price_per_hour: Optional[float] = None) -> dict[str, Estimate]:
    """The plan's estimate on every compute kind (cpu, single_gpu, multi_gpu), keyed by kind."""
    return {kind: estimate(rec, kind, precision, price_per_hour) for kind in COMPUTE_KINDS}
