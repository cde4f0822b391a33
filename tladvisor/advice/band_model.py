"""The expectation band fitted on the outcomes table (`knowledge/outcomes.yaml`).

Point estimate: a weighted ridge regression on the chance-corrected logit of accuracy, from the brief's facts
(examples per class, classes, difficulty, the domain's distance from the pre-training data, whether the plan
fine-tunes, text or image). Spread: the 10th and 90th percentiles of leave-one-data-set-out residuals (every data
set weighing the same, at split-conformal finite-sample levels), so the band is a central 80% interval for a data
set the model has never seen. Without a difficulty the model drops that term
and its residuals (hence the band) are wider.

Written with numpy rather than scikit-learn: ten coefficients on ~100 rows, and the advice layer must import in
well under a second. Pure Python + numpy: no torch import.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, replace
from functools import lru_cache
from typing import Optional, Sequence

import numpy as np

from tladvisor.advice.outcomes import Outcome, load_outcomes
from tladvisor.schemas import FINE_TUNING_STAGES

FINE_TUNING = set(FINE_TUNING_STAGES)
COVERAGE = 0.8  # central interval
RIDGE = 0.3  # shrinks every coefficient but the intercept towards 0 (few data sets per term)
FEATURES_FULL = ("intercept", "log_per_class", "log_classes", "subtle", "expert", "medium", "far", "fine_tunes",
                 "fine_tunes_far", "text")


@dataclass(frozen=True)
class Facts:
    """What the band depends on."""

    modality: str
    classes: int
    per_class: float
    difficulty: Optional[str]
    proximity: str
    fine_tunes: bool


def facts_of(row: Outcome) -> Facts:
    return Facts(row.modality, row.classes, float(row.per_class or 1.0), row.difficulty, row.proximity,
                 row.strategy in FINE_TUNING)


def _x(f: Facts, with_difficulty: bool) -> np.ndarray:
    far = 1.0 if f.proximity == "far" else 0.0
    ft = 1.0 if f.fine_tunes else 0.0
    x = [1.0, math.log(max(f.per_class, 1.0)), math.log(max(f.classes, 2)),
         1.0 if f.difficulty == "subtle" else 0.0, 1.0 if f.difficulty == "expert" else 0.0,
         1.0 if f.proximity == "medium" else 0.0, far, ft, ft * far, 1.0 if f.modality == "text" else 0.0]
    if not with_difficulty:
        del x[3:5]
    return np.array(x)


def _chance(k: int) -> float:
    return 1.0 / max(k, 2)


def to_z(accuracy: float, classes: int) -> float:
    """Chance-corrected logit: 0 at the midpoint between chance and 100%."""
    c = _chance(classes)
    p = min(0.995, max(0.005, (accuracy - c) / (1 - c)))
    return math.log(p / (1 - p))


def from_z(z: float, classes: int) -> float:
    c = _chance(classes)
    return c + (1 - c) / (1 + math.exp(-z))


def usable_rows(rows: Sequence[Outcome]) -> list[Outcome]:
    """Rows the model is fitted on: accuracy of image or text classification."""
    return [r for r in rows if r.metric == "accuracy" and r.modality in ("image", "text") and r.task != "ner"
            and r.per_class]


@dataclass
class Fit:
    """Coefficients and the residual spread of one model (with or without difficulty)."""

    coef: np.ndarray
    low: float  # residual quantiles on the z scale
    high: float
    with_difficulty: bool

    def z(self, f: Facts) -> float:
        return float(_x(f, self.with_difficulty) @ self.coef)


def _weights(rows: Sequence[Outcome]) -> np.ndarray:
    """Each held-out unit (data set or group) weighs the same in total."""
    counts: dict[str, int] = {}
    for r in rows:
        counts[r.held_out_as] = counts.get(r.held_out_as, 0) + 1
    return np.array([1.0 / counts[r.held_out_as] for r in rows])


PRIOR_SLOPE = 0.5  # z per e-fold of examples per class, used only when no data set in the fit has a curve


def curve_slope(rows: Sequence[Outcome]) -> float:
    """How fast accuracy grows with examples per class, from data sets measured at several volumes (same
    backbone and strategy): a within-data-set slope. Across benchmark tasks per class and classes move
    together (VTAB-1k fixes 1,000 examples), so only learning curves separate the two."""
    cells: dict[tuple[str, str, str], list[Outcome]] = {}
    for r in rows:
        cells.setdefault((r.held_out_as, r.backbone, r.strategy), []).append(r)
    num = den = 0.0
    for cell in cells.values():
        if len({r.per_class for r in cell}) < 2:
            continue
        xs = np.array([math.log(float(r.per_class or 1.0)) for r in cell])
        ys = np.array([to_z(r.value, r.classes) for r in cell])
        xs, ys = xs - xs.mean(), ys - ys.mean()
        num += float(xs @ ys) / len(cell)
        den += float(xs @ xs) / len(cell)
    return num / den if den > 0 else PRIOR_SLOPE


def _coef(rows: Sequence[Outcome], with_difficulty: bool) -> np.ndarray:
    """Coefficients in FEATURES order: the per-class slope from learning curves, the rest by weighted ridge on
    what that slope leaves."""
    slope = curve_slope(rows)
    x = np.stack([_x(facts_of(r), with_difficulty) for r in rows])
    y = np.array([to_z(r.value, r.classes) for r in rows]) - slope * x[:, 1]
    rest = np.delete(x, 1, axis=1)
    w = _weights(rows)
    penalty = RIDGE * np.eye(rest.shape[1])
    penalty[0, 0] = 0.0
    coef = np.linalg.solve(rest.T @ (w[:, None] * rest) + penalty, rest.T @ (w * y))
    return np.insert(coef, 1, slope)


def lodo_residuals(rows: Sequence[Outcome], with_difficulty: bool) -> np.ndarray:
    """Residual (z scale) of every row when its data set is left out of the fit."""
    units = sorted({r.held_out_as for r in rows})
    res = np.zeros(len(rows))
    for u in units:
        train = [r for r in rows if r.held_out_as != u]
        coef = _coef(train, with_difficulty)
        for i, r in enumerate(rows):
            if r.held_out_as == u:
                res[i] = to_z(r.value, r.classes) - float(_x(facts_of(r), with_difficulty) @ coef)
    return res


def fit(rows: Sequence[Outcome], with_difficulty: bool) -> Fit:
    """The model on `rows`; its spread from leave-one-data-set-out residuals on the same rows."""
    res = lodo_residuals(rows, with_difficulty)
    # every data set weighs the same (a set measured at eight volumes must not set the spread alone), at
    # split-conformal finite-sample levels over the number of data sets
    w = _weights(rows)
    n, tail = len({r.held_out_as for r in rows}), (1 - COVERAGE) / 2
    low_q, high_q = max(0.0, math.floor((n + 1) * tail) / n), min(1.0, math.ceil((n + 1) * (1 - tail)) / n)
    low, high = np.quantile(res, [low_q, high_q], weights=w, method="inverted_cdf")
    return Fit(_coef(rows, with_difficulty), float(low), float(high), with_difficulty)


@lru_cache(maxsize=2)
def fitted(with_difficulty: bool) -> Fit:
    """The model fitted on the whole outcomes table (cached)."""
    return fit(usable_rows(load_outcomes().rows), with_difficulty)


def band(f: Facts, model: Optional[Fit] = None, marginal: Optional[Fit] = None) -> tuple[float, float, float]:
    """(low, point, high) accuracy for these facts. Without a difficulty the band spans the bands of all three
    difficulties (we do not know which applies), so it is never narrower than any of them; the point comes from
    the model fitted without the difficulty term."""
    m = model or fitted(True)
    if f.difficulty is None:
        parts = [band(replace(f, difficulty=d), m) for d in ("obvious", "subtle", "expert")]
        mm = marginal or fitted(False)
        return min(p[0] for p in parts), from_z(mm.z(f), f.classes), max(p[2] for p in parts)
    z = m.z(f)
    return from_z(z + m.low, f.classes), from_z(z, f.classes), from_z(z + m.high, f.classes)


def term_effects(f: Facts) -> list[tuple[str, float]]:
    """Each term's effect on the point estimate in accuracy points (its value vs the term switched off), so the
    band can be explained in words."""
    m = fitted(f.difficulty is not None)
    base = from_z(m.z(f), f.classes)  # effects on the point estimate (the band's centre)
    checks = [(f.difficulty not in (None, "obvious"), f"difficulty {f.difficulty}",
               replace(f, difficulty="obvious")),
              (f.proximity != "near", f"domain {f.proximity} from the pre-training data", replace(f, proximity="near")),
              (f.fine_tunes, "the plan fine-tunes", replace(f, fine_tunes=False))]
    return [(name, base - from_z(m.z(other), f.classes)) for applies, name, other in checks if applies]


def own_plan_gain(rows: Optional[Sequence[Outcome]] = None, quantile: float = 0.9,
                  modality: Optional[str] = None) -> float:
    """How much this product's fine-tuning stage added over its own probe (z scale, the `quantile` of measured
    pairs at the same data set, volume and backbone; a stage that lost counts 0, as `auto` keeps the probe then).
    From own rows only: published fine-tuning (long GPU schedules) gains more than the CPU plans run here.
    With `modality`, pairs of that modality when there are at least two: LoRA on a CNN with augmentation and
    several epochs is not LoRA on a sentence encoder for two epochs."""
    table = load_outcomes()
    rows = [r for r in (rows if rows is not None else usable_rows(table.rows))
            if table.sources[r.source].kind == "own"]
    cells: dict[tuple[str, str, float], list[Outcome]] = {}
    for r in rows:
        cells.setdefault((r.dataset, r.backbone, float(r.per_class or 0)), []).append(r)
    gains: dict[str, list[float]] = {}
    for cell in cells.values():
        probe = [r for r in cell if r.strategy == "linear_probe"]
        tuned = [r for r in cell if r.strategy in FINE_TUNING]
        if probe and tuned:
            gain = max(0.0, max(to_z(r.value, r.classes) for r in tuned) - to_z(probe[0].value, probe[0].classes))
            gains.setdefault(probe[0].modality, []).append(gain)
    pool = gains.get(modality, []) if modality else []
    if len(pool) < 2:
        pool = [g for values in gains.values() for g in values]
    return float(np.quantile(pool, quantile)) if pool else 0.0
