"""Learning-curve forecast: the linear probe on nested per-class subsets, a saturating power law, and the
forecast at 2x and 5x the current data with an uncertainty band (the "ongoing improvement" numbers)."""
from __future__ import annotations

import warnings
from pathlib import Path
from typing import Optional

import numpy as np
from pydantic import BaseModel

FRACTIONS = (0.1, 0.25, 0.5, 1.0)


def power_law(n: np.ndarray, a: float, b: float, c: float) -> np.ndarray:
    """Accuracy that rises with examples per class n and saturates at a: a - b * n^-c."""
    return a - b * np.power(n, -c)


class CurvePoint(BaseModel):
    per_class: float
    fraction: float
    accuracy_mean: float
    accuracy_std: float
    accuracies: list[float]


class CurveForecast(BaseModel):
    multiplier: float
    per_class: float
    accuracy: float
    low: float
    high: float


class LearningCurve(BaseModel):
    """Measured points, the fitted law per seed, and forecasts at more data."""

    points: list[CurvePoint]
    params: list[tuple[float, float, float]]  # (a, b, c) per seed
    forecasts: list[CurveForecast]
    eval_examples: int
    seeds: int

    def forecast(self, multiplier: float) -> Optional[CurveForecast]:
        return next((f for f in self.forecasts if f.multiplier == multiplier), None)

    def to_markdown(self) -> str:
        lines = ["| examples per class | held-out accuracy (mean ± sd over seeds) |", "|---|---|"]
        lines += [f"| {p.per_class:,.0f} ({p.fraction:.0%}) | {p.accuracy_mean:.1%} ± {p.accuracy_std:.1%} |"
                  for p in self.points]
        lines += [f"| **{f.per_class:,.0f} ({f.multiplier:g}x, forecast)** | **{f.accuracy:.1%}** "
                  f"(band {f.low:.1%}-{f.high:.1%}) |" for f in self.forecasts]
        return "\n".join(lines) + f"\n\nLinear probe on frozen features, {self.seeds} seeds, evaluated on " \
                                  f"{self.eval_examples:,} held-out examples; fit: accuracy = a - b * n^-c.\n"


def _fit(n: np.ndarray, acc: np.ndarray) -> tuple[float, float, float]:
    from scipy.optimize import curve_fit

    top = float(acc.max())
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            (a, b, c), _ = curve_fit(power_law, n, acc, p0=(min(1.0, top + 0.02), 0.5, 0.5),
                                     bounds=([top - 1e-6, 0.0, 0.05], [1.0, 10.0, 2.0]), maxfev=20000)
    except (RuntimeError, ValueError):  # too few distinct points: a flat curve at the best measurement
        a, b, c = top, 0.0, 0.5
    return float(a), float(b), float(c)


def learning_curve(train_x: np.ndarray, train_y: np.ndarray, eval_x: np.ndarray, eval_y: np.ndarray,
                   fractions: tuple[float, ...] = FRACTIONS, seeds: int = 3, multipliers: tuple[float, ...] = (2, 5),
                   C: float = 1.0) -> LearningCurve:
    """Probe accuracy on held-out data for nested per-class subsets of the training pool; fit and forecast."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.preprocessing import StandardScaler

    classes = np.unique(train_y)
    per_class_full = float(np.mean([np.sum(train_y == k) for k in classes]))
    acc = np.zeros((seeds, len(fractions)))
    for s in range(seeds):
        rng = np.random.default_rng(s)
        order = {k: rng.permutation(np.flatnonzero(train_y == k)) for k in classes}  # nested: prefixes of one order
        for j, frac in enumerate(fractions):
            idx = np.concatenate([o[:max(1, int(round(frac * len(o))))] for o in order.values()])
            if len(np.unique(train_y[idx])) < 2:
                acc[s, j] = float(np.mean(eval_y == train_y[idx][0]))
                continue
            scaler = StandardScaler().fit(train_x[idx])
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                clf = LogisticRegression(C=C, max_iter=2000).fit(scaler.transform(train_x[idx]), train_y[idx])
            acc[s, j] = float((clf.predict(scaler.transform(eval_x)) == eval_y).mean())
    n = np.array([max(1.0, f * per_class_full) for f in fractions])
    params = [_fit(n, acc[s]) for s in range(seeds)]
    # the band: the spread of the per-seed fits, widened by the held-out estimate's own binomial noise
    noise = np.sqrt(max(acc[:, -1].mean() * (1 - acc[:, -1].mean()), 1e-4) / max(1, len(eval_y)))
    forecasts = []
    for m in multipliers:
        preds = np.array([power_law(np.array([m * per_class_full]), *p)[0] for p in params])
        mid = float(np.clip(preds.mean(), 0, 1))
        forecasts.append(CurveForecast(multiplier=m, per_class=m * per_class_full, accuracy=mid,
                                       low=float(np.clip(preds.min() - 1.645 * noise, 0, 1)),
                                       high=float(np.clip(preds.max() + 1.645 * noise, 0, 1))))
    points = [CurvePoint(per_class=float(n[j]), fraction=f, accuracy_mean=float(acc[:, j].mean()),
                         accuracy_std=float(acc[:, j].std()), accuracies=acc[:, j].tolist())
              for j, f in enumerate(fractions)]
    return LearningCurve(points=points, params=params, forecasts=forecasts, eval_examples=len(eval_y), seeds=seeds)


def plot_learning_curve(curve: LearningCurve, path: Path) -> Path:
    """Measured points with error bars, the fitted laws, and the forecasts with their bands."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4), dpi=110)
    n = np.array([p.per_class for p in curve.points])
    ax.errorbar(n, [p.accuracy_mean for p in curve.points], yerr=[p.accuracy_std for p in curve.points], fmt="o",
                color="C0", label="measured (linear probe)")
    grid = np.geomspace(n.min(), max(f.per_class for f in curve.forecasts) if curve.forecasts else n.max(), 100)
    for i, p in enumerate(curve.params):
        ax.plot(grid, power_law(grid, *p), color="C0", alpha=0.35, label="fitted power law" if i == 0 else None)
    for f in curve.forecasts:
        ax.errorbar([f.per_class], [f.accuracy], yerr=[[f.accuracy - f.low], [f.high - f.accuracy]], fmt="s",
                    color="C1", capsize=4, label="forecast" if f is curve.forecasts[0] else None)
        ax.annotate(f"{f.multiplier:g}x: {f.accuracy:.1%}", (f.per_class, f.accuracy), textcoords="offset points",
                    xytext=(-30, 8), fontsize=8)
    ax.set_xscale("log")
    ax.set_xlabel("labelled examples per class")
    ax.set_ylabel("held-out accuracy")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="lower right")
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return path
