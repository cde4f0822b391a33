"""How long the recommended plan takes to train, from measured throughput (`knowledge/throughput.yaml`).

Seconds per stage: the linear probe embeds every example once and fits its head; a fine-tuning stage runs
its epochs over the training share and validates each epoch. Epoch counts are the plan's maximum, so the
figure is an upper bound (early stopping often ends sooner). Per backbone and compute kind the model-only speed
is measured (CPU: the bundled backbones; one GPU: every trainable backbone); on a GPU the image data loader
caps it (`pipeline:` rows, measured end to end). Pure Python: no torch import.
"""
from __future__ import annotations

import math
import os
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING, Any, Optional

from pydantic import BaseModel, Field

from tladvisor.advice.catalogue import get_backbone
from tladvisor.advice.hardware import AMX, AVX512_BF16, DESCRIPTIONS, cpu_kind
from tladvisor.advice.knowledge import load_yaml
from tladvisor.schemas import FINE_TUNING_STAGES, TASK_KINDS

if TYPE_CHECKING:  # the Recommendation holds Estimates, so only the type is imported here
    from tladvisor.advice.recommendation import Recommendation

COMPUTE_KINDS = ("cpu", "single_gpu", "multi_gpu")
_MODALITIES = ("image", "text")
# the precision a run picks by default (precision=auto): bf16 on any GPU this estimate has rows for; on a CPU
# it depends on the client's processor, so the slower fp32 figure is quoted
DEFAULT_PRECISION = {"cpu": "fp32", "single_gpu": "bf16", "multi_gpu": "bf16"}


@dataclass(frozen=True)
class Speed:
    """Examples per second of one backbone on one compute kind: frozen embedding, LoRA training and full
    fine-tuning (None where only LoRA was measured), the factor the measured backbone is scaled by for this
    one (1.0 for its own row), and where the figures come from."""

    embed_per_s: float
    train_per_s: float
    full_per_s: Optional[float] = None
    scale: float = 1.0
    measured_backbone: str = ""
    capped_by: str = ""
    modality: str = ""
    model_embed_per_s: Optional[float] = None  # images: the model alone, before decoding is counted
    cpu_kind: str = ""  # on a CPU: the kind of CPU the figures were measured on (tladvisor.advice.hardware)


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
    currency: str = "USD"
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


def currency() -> str:
    """The currency prices are given in (`TLADVISOR_CURRENCY`, default USD)."""
    code = os.environ.get("TLADVISOR_CURRENCY", "").strip().upper()
    return code if code.isalpha() and 2 <= len(code) <= 4 else "USD"


def money(amount: float, code: str) -> str:
    """'USD 0.42', 'EUR 12.00', 'EUR 6,300' (no cents from 100 up)."""
    return f"{code} {amount:,.0f}" if amount >= 100 else f"{code} {amount:,.2f}"


def duration_text(seconds: float) -> str:
    """A duration as a person says it: '40 seconds', 'about 12 minutes', 'about 3.5 hours'."""
    if seconds < 90:
        return f"{max(1, round(seconds))} seconds"
    if seconds < 90 * 60:
        return f"about {round(seconds / 60)} minutes"
    return f"about {seconds / 3600:.1f} hours"


def _cpu_kinds() -> list[str]:
    """CPU kinds whose rows may stand for this CPU, best first: its own kind, then the kind nearest it (a CPU
    without native bf16 is nearer AVX512-BF16's vector units than AMX's matrix units)."""
    kind = cpu_kind()
    return [kind] + [k for k in (AVX512_BF16, AMX) if k != kind]


def _rows_of(compute: str, precision: str) -> list[tuple[str, dict[str, Any]]]:
    """(CPU kind or '', row) of every measured row on `compute` at `precision`; on a CPU, the kinds nearest this
    machine's first."""
    rows = [r for r in _table().get("rows", []) if r["compute"] == compute and r["precision"] == precision]
    if compute != "cpu":
        return [("", r) for r in rows]
    # a CPU row without a kind is AMX's: the first rows were measured on an Intel Xeon with AMX
    return [(k, r) for k in _cpu_kinds() for r in rows if r.get("cpu_kind", AMX) == k]


def _row(backbone: str, compute: str, precision: str) -> Optional[dict[str, Any]]:
    """The measured row of a backbone (on a CPU: of the nearest CPU kind that has one, its kind in the row's
    `cpu_kind`). A `relative_to` row was measured side by side with another backbone on another day's machine:
    its speeds are that backbone's row (same CPU kind) times the measured ratios."""
    for kind, row in _rows_of(compute, precision):
        if row["backbone"] != backbone:
            continue
        if "relative_to" not in row:
            return {**row, "cpu_kind": kind} if kind else row
        ref = next((r for k, r in _rows_of(compute, precision) if k == kind and r["backbone"] == row["relative_to"]),
                   None)
        if ref is None:
            continue
        return {"backbone": backbone, **({"cpu_kind": kind} if kind else {}),
                **{f"{k}_per_s": float(ref[f"{k}_per_s"]) * float(row[f"{k}_ratio"])
                   for k in ("embed", "train", "full") if ref.get(f"{k}_per_s") and row.get(f"{k}_ratio")}}
    return None


def _params(backbone: str) -> Optional[float]:
    try:
        return float(get_backbone(backbone).params_m) or None
    except Exception:  # a timm / Hub name outside the catalogue: no size to compare
        return None


def _nearest_measured(backbone: str, modality: str, compute: str, precision: str) -> Optional[dict[str, Any]]:
    """The measured row of the same modality whose backbone is closest in parameter count (log scale)."""
    size = _params(backbone)
    if size is None:
        return None
    rows = []
    for _, row in _rows_of(compute, precision):
        other = _params(row["backbone"])
        if other and get_backbone(row["backbone"]).modality == modality:
            rows.append((abs(math.log(size / other)), row))
    return _row(min(rows, key=lambda r: r[0])[1]["backbone"], compute, precision) if rows else None


def _pipeline_cap(modality: str, compute: str) -> Optional[dict[str, Any]]:
    """The end-to-end ceiling the data loader puts on a compute kind (measured with `tladvisor train`)."""
    for row in _table().get("pipeline", []):
        if row["modality"] == modality and row["compute"] == compute:
            return row
    return None


def length_factor(tokens: Optional[float], mode: str) -> float:
    """Text speed at `tokens` tokens per text (as batches pad them) as a factor of the measured rows' 128-token
    speed, interpolated on log scales between measured lengths (`text_length:`, bench/text_length_speed.py);
    beyond the longest measured length speed falls in proportion to length. 1.0 when the length is unknown."""
    table = (_table().get("text_length") or {}).get(mode) or {}
    if not tokens or tokens <= 0 or not table:
        return 1.0
    points = sorted((float(k), float(v)) for k, v in table.items())
    if tokens <= points[0][0]:
        return points[0][1]
    if tokens >= points[-1][0]:
        return points[-1][1] * points[-1][0] / tokens
    for (x0, y0), (x1, y1) in zip(points, points[1:]):
        if x0 <= tokens <= x1:
            t = math.log(tokens / x0) / math.log(x1 / x0)
            return math.exp(math.log(y0) + t * math.log(y1 / y0))
    return 1.0


def throughput(backbone: str, modality: str, compute: str = "cpu", precision: Optional[str] = None,
               tokens: Optional[float] = None, decode_s: Optional[float] = None) -> Optional[Speed]:
    """A backbone's speed on `compute`: its own measured row, else the measured backbone of the same modality
    nearest in size, scaled by parameter count; capped by the measured data-loader ceiling where there is one.
    Text rows are measured on 128-token texts: `tokens` (the data's padded length) rescales them. Image rows are
    the model alone: on a CPU, `decode_s` (seconds to decode one of the client's images here, measured by
    `data_volume.image_decode_seconds`) is added per image, since decoding shares the same cores. None when
    nothing usable is measured. `precision` defaults to what a run picks on that compute kind."""
    precision = precision or DEFAULT_PRECISION.get(compute, "fp32")
    row = _row(backbone, compute, precision)
    scale = 1.0
    if row is None:
        row = _nearest_measured(backbone, modality, compute, precision)
        if row is None:
            return None
        scale = max(1.0, (_params(backbone) or 0) / _params(row["backbone"]))
    embed, train = float(row["embed_per_s"]) / scale, float(row["train_per_s"]) / scale
    full = float(row["full_per_s"]) / scale if row.get("full_per_s") else None
    if modality == "text" and tokens:
        embed, train = embed * length_factor(tokens, "embed"), train * length_factor(tokens, "train")
        full = full * length_factor(tokens, "train") if full is not None else None
    capped, model_embed = "", embed
    if modality == "image" and decode_s and compute == "cpu":
        embed, train = 1 / (1 / embed + decode_s), 1 / (1 / train + decode_s)
        full = 1 / (1 / full + decode_s) if full is not None else None
        capped = f"decoding the images ({decode_s * 1000:.0f} ms each, measured here on a sample)"
    cap = _pipeline_cap(modality, compute)
    if cap is not None:
        cap_embed, cap_train = float(cap["embed_per_s"]), float(cap["train_per_s"])
        cap_full = float(cap.get("full_per_s", cap_train))
        if cap_embed < embed or cap_train < train or (full is not None and cap_full < full):
            capped = "the image data loader (decoding and resizing), measured end to end"
        embed, train = min(embed, cap_embed), min(train, cap_train)
        full = min(full, cap_full) if full is not None else None
    return Speed(embed, train, full, scale, row["backbone"], capped, modality,
                 min(model_embed, float(cap["embed_per_s"])) if cap is not None else model_embed,
                 row.get("cpu_kind", ""))


def setup_seconds(compute: str) -> float:
    """A run's fixed cost outside its stages on `compute` (start-up, checking and splitting the data, loading the
    model, evaluating, writing the report), measured; 0 where it is not."""
    setup = (_table().get("assumptions", {}).get("setup_s") or {})
    return float(setup.get(_measured_kind(compute), 0.0))


def _measured_kind(compute: str) -> str:
    """The compute kind whose measurements stand for `compute`: no multi-GPU machine has been measured, so one
    GPU's figures are its upper bound (data-parallel training divides fine-tuning time by up to the GPU count)."""
    return "single_gpu" if compute == "multi_gpu" else compute


def head_fit_seconds(examples: int, embed_s: float, modality: str) -> float:
    """The probe's cross-validated head fit: a share of the embedding time, or the measured seconds per example
    where that is more (sentence embeddings are cheap, so a text probe waits on its head fit, not its encoder)."""
    ratios = _table().get("assumptions", {})
    per_example = float((ratios.get("head_fit_s_per_example") or {}).get(modality, 0.0))
    fit_s = per_example * examples
    large = ratios.get("head_fit_large") or {}
    if modality in large:  # from `rows` the folds are fewer and parallel: cheaper per example, never a smaller total
        rows = int(large.get("rows", 0))
        fit_s = max(float(large[modality]) * examples, min(fit_s, per_example * rows))
    return max(float(ratios.get("head_fit_share", 0.3)) * embed_s, fit_s)


def stage_seconds(strategy: str, examples: int, speed: Speed, epochs: int,
                  train_share: Optional[float] = None) -> Optional[float]:
    """Seconds for one stage on `examples` at `speed` (from `throughput`): the probe embeds every example once and
    fits its head; a fine-tuning stage runs `epochs` over the training share and validates each epoch. Full
    updates use the measured full fine-tuning speed where there is one; partial and progressive ones (the top
    layers) LoRA's speed over `top_layers_factor`. None for a stage with no throughput model (advice-only
    stages)."""
    ratios = _table().get("assumptions", {})
    if strategy == "linear_probe":
        embed_s = examples / speed.embed_per_s
        # images: the preprocessing choice forwards its sample once more (each file decoded once for both)
        model_s = 1 / speed.model_embed_per_s if speed.model_embed_per_s else 1 / speed.embed_per_s
        choice_s = (min(examples, int(ratios.get("preprocess_choice_sample", 0))) * model_s
                    if speed.modality == "image" else 0.0)
        return embed_s + choice_s + head_fit_seconds(examples, embed_s, speed.modality)
    if strategy not in FINE_TUNING_STAGES:
        return None
    share = float(ratios.get("train_share", 0.72)) if train_share is None else train_share
    if strategy == "lora":
        rate = speed.train_per_s
    elif strategy in ("partial", "progressive"):  # the top layers only: closer to LoRA's cost than to full's
        rate = speed.train_per_s / float(ratios.get("top_layers_factor", 1.2))
    elif speed.full_per_s:
        rate = speed.full_per_s
    else:
        rate = speed.train_per_s / float(ratios.get("full_update_factor", 1.2))
    per_epoch = examples * share / rate
    per_epoch += examples * (1 - share) / 2 / speed.embed_per_s  # the validation pass
    return per_epoch * epochs


def _machine(compute: str, kind: str = "") -> dict[str, Any]:
    """Where `compute`'s rows were measured (command, results, machine); CPU rows per CPU kind."""
    measured = (_table().get("measured") or {}).get(compute) or {}
    return (measured.get(kind) or {}) if compute == "cpu" else measured


def _basis(backbone: str, compute: str, speed: Speed) -> str:
    machine = _machine(compute, speed.cpu_kind)
    where = f"measured on {machine.get('machine', compute)} ({machine.get('command', 'bench/throughput.py')})"
    if speed.measured_backbone == backbone:
        return where
    other = get_backbone(speed.measured_backbone).name
    if speed.scale > 1.0:
        return f"scaled from {other} ({where}) by parameter count (x{speed.scale:.1f}; rough)"
    return f"{other}, the nearest measured backbone in size ({where}); rough"


def estimate(rec: "Recommendation", compute: Optional[str] = None, precision: Optional[str] = None,
             price_per_hour: Optional[float] = None, tokens: Optional[float] = None) -> Estimate:
    """Seconds per stage of `rec`'s plan on `compute` (the brief's, by default), at the precision a run picks
    there unless `precision` says otherwise; texts of `tokens` tokens (unknown before the data: 128)."""
    brief = rec.brief
    compute = compute or brief.compute
    examples = int(brief.total or (brief.per_class or 0) * (brief.classes or 0))
    est = Estimate(compute=compute, backbone=rec.primary.id, examples=examples, price_per_hour=price_per_hour)
    if rec.modality not in _MODALITIES:
        est.notes.append("Gradient boosting on tables trains in seconds to minutes on a CPU; no throughput table "
                         "is needed for it.")
        return est
    if brief.task not in TASK_KINDS:
        est.notes.append("Training time for this task is not measured yet: this tool scopes it but does not train "
                         "it, so the time is estimated after a first run on your data.")
        return est
    if examples <= 0:
        est.notes.append("The data volume is not known yet.")
        return est
    measured_on = _measured_kind(compute)
    speed = throughput(rec.primary.id, rec.modality, measured_on, precision, tokens)
    if speed is None and compute != "cpu":
        cpu = estimate(rec, "cpu", None, price_per_hour, tokens)
        cpu.compute = compute
        cpu.basis = (f"upper bound from the CPU measurement; no {compute.replace('_', ' ')} throughput is "
                     "measured for this backbone")
        cpu.notes.insert(0, "A GPU trains far faster than this CPU figure, which is an upper bound.")
        return cpu
    if speed is None:
        est.notes.append("No CPU throughput is measured for this modality.")
        return est
    est.basis = _basis(rec.primary.id, measured_on, speed)
    epochs = rec.hyperparams.epochs or 15
    for stage in rec.plan:
        seconds = stage_seconds(stage.strategy, examples, speed, epochs)
        if seconds is not None:
            est.stages.append(StageEstimate(strategy=stage.strategy, seconds=round(seconds, 1),
                                            epochs=epochs if stage.strategy in FINE_TUNING_STAGES else None))
    if setup_seconds(measured_on):
        est.stages.append(StageEstimate(strategy="setup", seconds=setup_seconds(measured_on)))
    est.seconds = round(sum(s.seconds for s in est.stages), 1)
    if price_per_hour is not None:
        est.cost = round(est.seconds / 3600 * price_per_hour, 2)
    if compute == "multi_gpu":
        est.notes.append("No multi-GPU machine was measured: this is one GPU's time, an upper bound; data-parallel "
                         "training on N GPUs divides the fine-tuning time by up to N.")
    if speed.capped_by:
        est.notes.append(f"On this hardware the model is faster than {speed.capped_by}, so the loader's "
                         "speed is used.")
    elif compute != "cpu" and rec.modality == "text":
        est.notes.append("Model speed only: tokenising the texts is not included (it is fast next to training).")
    if rec.modality == "text" and not tokens:
        est.notes.append("Assumes texts of about 128 tokens (a paragraph); one-line texts such as support requests "
                         "run several times faster, and with the data `tladvisor train` sizes the plan to their "
                         "own length.")
    if measured_on == "cpu" and speed.cpu_kind and speed.cpu_kind != cpu_kind():
        est.notes.append(f"This machine has {DESCRIPTIONS[cpu_kind()]}, a kind not measured yet: the figures are "
                         f"from {DESCRIPTIONS[speed.cpu_kind]}, so treat them as rough.")
    machine = _machine(measured_on, speed.cpu_kind).get("machine", "")
    est.notes.append(f"Measured on {machine}; fine-tuning epochs are the plan's maximum (early stopping often "
                     "ends sooner), so treat it as an upper bound." if machine else
                     "Fine-tuning epochs are the plan's maximum, so treat it as an upper bound.")
    return est


def estimates(rec: "Recommendation", precision: Optional[str] = None,
              price_per_hour: Optional[float] = None, currency_code: Optional[str] = None) -> dict[str, Estimate]:
    """The plan's estimate on every compute kind (cpu, single_gpu, multi_gpu), keyed by kind; a cost is in
    `currency_code` (default: `TLADVISOR_CURRENCY`, else USD)."""
    out = {kind: estimate(rec, kind, precision, price_per_hour) for kind in COMPUTE_KINDS}
    for est in out.values():
        est.currency = currency_code or currency()
    return out
