"""Learning-curve forecast: the linear probe on nested per-class subsets, a saturating power law, and the
forecast at 2x and 5x the current data with an uncertainty band (the "ongoing improvement" numbers)."""
from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any, Optional

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
    folds: int = 0  # > 0: cross-validated (every example held out once per seed)
    noise: float = 0.0  # the binomial standard error of the last point's accuracy

    def forecast(self, multiplier: float) -> Optional[CurveForecast]:
        return next((f for f in self.forecasts if f.multiplier == multiplier), None)

    def forecast_at(self, per_class: float, multiplier: float, n_test: int = 0) -> CurveForecast:
        """The forecast at any number of examples per class (the project's own volume); `multiplier` says what
        that is relative to the client's data now. With `n_test`, the band is for the accuracy the project's own
        test split of that size will report: its binomial noise adds to the sample's."""
        return _forecast(self.params, self.noise, per_class, multiplier, n_test)

    def to_markdown(self) -> str:
        lines = ["| examples per class | held-out accuracy (mean ± sd over seeds) |", "|---|---|"]
        lines += [f"| {p.per_class:,.0f} ({p.fraction:.0%}) | {p.accuracy_mean:.1%} ± {p.accuracy_std:.1%} |"
                  for p in self.points]
        lines += [f"| **{f.per_class:,.0f} ({f.multiplier:g}x, forecast)** | **{f.accuracy:.1%}** "
                  f"(band {f.low:.1%}-{f.high:.1%}) |" for f in self.forecasts]
        how = (f"{self.folds}-fold cross-validation, every one of {self.eval_examples:,} examples held out once per seed"
               if self.folds else f"evaluated on {self.eval_examples:,} held-out examples")
        return "\n".join(lines) + f"\n\nLinear probe on frozen features, {self.seeds} seeds, {how}; fit: " \
                                  "accuracy = a - b * n^-c.\n"


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


def _forecast(params: list[tuple[float, float, float]], noise: float, per_class: float, multiplier: float,
              n_test: int = 0) -> CurveForecast:
    """The per-seed laws at `per_class`: their mean, and their spread widened by the measurement noise (plus, with
    `n_test`, the binomial noise of a test split of that size at the forecast accuracy)."""
    preds = np.array([power_law(np.array([per_class]), *p)[0] for p in params])
    mid = float(np.clip(preds.mean(), 0, 1))
    if n_test > 0:
        noise = float(np.sqrt(noise ** 2 + max(mid * (1 - mid), 1e-4) / n_test))
    return CurveForecast(multiplier=multiplier, per_class=per_class, accuracy=mid,
                         low=float(np.clip(preds.min() - 1.645 * noise, 0, 1)),
                         high=float(np.clip(preds.max() + 1.645 * noise, 0, 1)))


def _probe_predict(x_tr: Any, y_tr: np.ndarray, x_ev: Any, C: float) -> np.ndarray:
    """A logistic-regression probe's predictions; dense features are standardised on the training part, sparse
    ones (the [embedding | n-gram] matrix of `lexical_features`) come scaled already."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.preprocessing import StandardScaler

    if len(np.unique(y_tr)) < 2:
        return np.full(x_ev.shape[0], y_tr[0])
    if isinstance(x_tr, np.ndarray):
        scaler = StandardScaler().fit(x_tr)
        x_tr, x_ev = scaler.transform(x_tr), scaler.transform(x_ev)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        clf = LogisticRegression(C=C, max_iter=2000).fit(x_tr, y_tr)
    return clf.predict(x_ev)


LEXICAL_C = 10.0  # the middle of the product's n-gram probe grid (trainer.LEXICAL_CS)


def lexical_features(x: np.ndarray, texts: list[str]) -> Optional[Any]:
    """[standardised embedding | character n-gram tf-idf], the features of the product's text probe when n-grams
    pay (training.lexical); None when no n-gram occurs twice. The vectoriser sees every text, labels never."""
    from sklearn.preprocessing import StandardScaler

    from tladvisor.training.lexical import combine, fit_vectorizer

    try:
        vectorizer = fit_vectorizer(texts)
    except ValueError:
        return None
    return combine(StandardScaler().fit_transform(x), vectorizer.transform(texts))


def _nested(y: np.ndarray, idx: np.ndarray, fractions: tuple[float, ...], rng: np.random.Generator
            ) -> list[np.ndarray]:
    """Per-class nested subsets of `idx` (prefixes of one seeded order per class), one per fraction."""
    order = {k: rng.permutation(idx[y[idx] == k]) for k in np.unique(y[idx])}
    return [np.concatenate([o[:max(1, int(round(frac * len(o))))] for o in order.values()]) for frac in fractions]


def _curve(acc: np.ndarray, per_class_full: float, n_eval: int, fractions: tuple[float, ...],
           multipliers: tuple[float, ...], folds: int = 0, current: Optional[float] = None) -> LearningCurve:
    """Fit the law per seed (rows of `acc`; column j learned from fractions[j] * per_class_full examples per
    class) and forecast at multiples of `current` examples per class (default: per_class_full); the band is the
    spread of the per-seed fits, widened by the held-out estimate's own binomial noise on `n_eval` examples."""
    seeds = acc.shape[0]
    n = np.array([max(1.0, f * per_class_full) for f in fractions])
    params = [_fit(n, acc[s]) for s in range(seeds)]
    noise = float(np.sqrt(max(acc[:, -1].mean() * (1 - acc[:, -1].mean()), 1e-4) / max(1, n_eval)))
    forecasts = [_forecast(params, noise, m * (current or per_class_full), m) for m in multipliers]
    points = [CurvePoint(per_class=float(n[j]), fraction=f, accuracy_mean=float(acc[:, j].mean()),
                         accuracy_std=float(acc[:, j].std()), accuracies=acc[:, j].tolist())
              for j, f in enumerate(fractions)]
    return LearningCurve(points=points, params=params, forecasts=forecasts, eval_examples=n_eval, seeds=seeds,
                         folds=folds, noise=noise)


def learning_curve(train_x: np.ndarray, train_y: np.ndarray, eval_x: np.ndarray, eval_y: np.ndarray,
                   fractions: tuple[float, ...] = FRACTIONS, seeds: int = 3, multipliers: tuple[float, ...] = (2, 5),
                   C: float = 1.0) -> LearningCurve:
    """Probe accuracy on one held-out set for nested per-class subsets of the training pool; fit and forecast."""
    classes = np.unique(train_y)
    per_class_full = float(np.mean([np.sum(train_y == k) for k in classes]))
    acc = np.zeros((seeds, len(fractions)))
    everything = np.arange(len(train_y))
    for s in range(seeds):
        for j, idx in enumerate(_nested(train_y, everything, fractions, np.random.default_rng(s))):
            acc[s, j] = float((_probe_predict(train_x[idx], train_y[idx], eval_x, C) == eval_y).mean())
    return _curve(acc, per_class_full, len(eval_y), fractions, multipliers)


def cross_validated_curve(x: Any, y: np.ndarray, fractions: tuple[float, ...] = FRACTIONS,
                          seeds: int = 2, folds: int = 5, multipliers: tuple[float, ...] = (2, 5),
                          C: float = 1.0) -> Optional[LearningCurve]:
    """The learning curve with every labelled example held out once: stratified k-fold, nested per-class subsets
    of each training fold, predictions pooled over the folds, repeated for `seeds` fold assignments. A small
    sample loses nothing to a fixed test split, and each point's accuracy is measured on all of it (a 30-per-class
    sample of 7 classes: 210 examples, not 42). None when a class has fewer than 2 examples."""
    from sklearn.model_selection import StratifiedKFold

    counts = np.bincount(np.unique(y, return_inverse=True)[1])
    k = int(min(folds, counts.min()))
    if k < 2:
        return None
    acc = np.zeros((seeds, len(fractions)))
    for s in range(seeds):
        rng = np.random.default_rng(s)
        correct = np.zeros(len(fractions))
        for train_idx, eval_idx in StratifiedKFold(k, shuffle=True, random_state=s).split(x, y):
            for j, idx in enumerate(_nested(y, train_idx, fractions, rng)):
                correct[j] += float((_probe_predict(x[idx], y[idx], x[eval_idx], C) == y[eval_idx]).sum())
        acc[s] = correct / len(y)
    per_class_train = float(counts.mean()) * (k - 1) / k  # what each fold's probe learned from
    return _curve(acc, per_class_train, len(y), fractions, multipliers, folds=k, current=float(counts.mean()))


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
