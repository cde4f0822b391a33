"""The tabular model: column encoding, derived features and gradient boosting (scikit-learn's
HistGradientBoostingClassifier), with the cross-validated search that chooses them.

"Feature-engineering transfer" (the seed article's word for tabular data) made concrete: products, ratios and
differences of numeric column pairs are candidates, and each is kept only when it raises the cross-validated
macro-F1 on the training split (AI4I's physics, e.g. power = torque x speed, is what such a search finds).
"""
from __future__ import annotations

import itertools
import time
import warnings
from dataclasses import dataclass, field
from typing import Any, Callable, Optional

import numpy as np

SEARCH_GRID = [{"learning_rate": lr, "max_leaf_nodes": leaves, "class_weight": cw}
               for lr in (0.05, 0.1) for leaves in (15, 31) for cw in (None, "balanced")]
DEFAULT_PARAMS = {"learning_rate": 0.1, "max_leaf_nodes": 31, "class_weight": None}
MAX_ITER = 200
DERIVED_OPS = ("product", "ratio", "difference")
MAX_DERIVED_BASE = 8  # numeric columns paired for derived features (8 -> 28 pairs x 3 ops)
MAX_DERIVED_KEPT = 5
DERIVED_MARGIN = 0.003  # cross-validated macro-F1 a derived feature must add (smaller gains are noise)


@dataclass
class TabularModel:
    """Everything needed to predict from raw table rows (pickled with joblib into the run directory)."""

    numeric: list[str]
    categorical: list[str]
    categories: dict[str, list[str]]
    derived: list[tuple[str, str, str]] = field(default_factory=list)  # (op, column a, column b)
    params: dict[str, Any] = field(default_factory=dict)
    class_weights: Optional[list[float]] = None  # decision re-weighting (binary threshold), applied to probabilities
    estimator: Any = None

    @property
    def feature_names(self) -> list[str]:
        return self.numeric + self.categorical + [derived_name(d) for d in self.derived]

    def matrix(self, frame: Any) -> np.ndarray:
        """Rows of `frame` as the estimator's input (numbers, category codes, derived features; NaN = missing)."""
        cols = [frame[c].to_numpy(dtype=float) for c in self.numeric]
        for c in self.categorical:
            index = {v: k for k, v in enumerate(self.categories[c])}
            cols.append(np.array([index.get(str(v).strip(), np.nan) for v in frame[c].astype("string")
                                  .fillna("(missing)").tolist()], dtype=float))
        for op, a, b in self.derived:
            cols.append(derive(op, frame[a].to_numpy(dtype=float), frame[b].to_numpy(dtype=float)))
        return np.column_stack(cols) if cols else np.zeros((len(frame), 0))

    def categorical_mask(self) -> list[bool]:
        return [False] * len(self.numeric) + [True] * len(self.categorical) + [False] * len(self.derived)

    def new_estimator(self, params: Optional[dict[str, Any]] = None, seed: int = 0) -> Any:
        from sklearn.ensemble import HistGradientBoostingClassifier

        p = {**DEFAULT_PARAMS, **(params if params is not None else self.params)}
        mask = self.categorical_mask()
        return HistGradientBoostingClassifier(max_iter=MAX_ITER, early_stopping=False, random_state=seed,
                                              categorical_features=mask if any(mask) else None, **p)

    def predict_proba(self, frame: Any) -> np.ndarray:
        probs = self.estimator.predict_proba(self.matrix(frame))
        return reweight(probs, self.class_weights)


def derived_name(d: tuple[str, str, str]) -> str:
    op, a, b = d
    return {"product": f"{a} * {b}", "ratio": f"{a} / {b}", "difference": f"{a} - {b}"}[op]


def derive(op: str, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        if op == "product":
            return a * b
        if op == "ratio":
            out = a / b
            return np.where(np.isfinite(out), out, np.nan)
        return a - b


def reweight(probs: np.ndarray, weights: Optional[list[float]]) -> np.ndarray:
    """Probabilities re-weighted per class and renormalised: for two classes, weights (1 - t, t) move the
    decision threshold from 0.5 to t, so argmax (what `predict` reports) is the tuned decision."""
    if weights is None:
        return probs
    p = probs * np.asarray(weights)[None, :]
    return p / np.clip(p.sum(1, keepdims=True), 1e-12, None)


def macro_f1(y: np.ndarray, pred: np.ndarray) -> float:
    from sklearn.metrics import f1_score

    return float(f1_score(y, pred, average="macro", zero_division=0))


def best_threshold(y: np.ndarray, p1: np.ndarray) -> tuple[float, float]:
    """(threshold on P(class 1), macro-F1) that maximises macro-F1 on out-of-fold probabilities."""
    grid = np.unique(np.round(np.quantile(p1, np.linspace(0.5, 0.999, 120)), 4))
    grid = np.concatenate([[0.5], grid[(grid > 0.01) & (grid < 0.99)]])
    scores = [(macro_f1(y, (p1 >= t).astype(int)), -abs(t - 0.5), t) for t in grid]
    f1, _, t = max(scores)
    return float(t), float(f1)


def oof_probs(model: TabularModel, x: np.ndarray, y: np.ndarray, params: dict[str, Any], folds: list, seed: int
              ) -> np.ndarray:
    """Out-of-fold class probabilities of one configuration."""
    n_classes = int(y.max()) + 1
    out = np.zeros((len(y), n_classes))
    for tr, te in folds:
        est = model.new_estimator(params, seed).fit(x[tr], y[tr])
        out[np.ix_(te, est.classes_)] = est.predict_proba(x[te])
    return out


def cv_score(model: TabularModel, x: np.ndarray, y: np.ndarray, params: dict[str, Any], folds: list, seed: int
             ) -> tuple[float, Optional[float]]:
    """(cross-validated macro-F1, the binary threshold that reached it, or None for more than two classes)."""
    probs = oof_probs(model, x, y, params, folds, seed)
    if probs.shape[1] == 2:
        t, f1 = best_threshold(y, probs[:, 1])
        return f1, t
    return macro_f1(y, probs.argmax(1)), None


def search(model: TabularModel, frame: Any, y: np.ndarray, folds: list, seed: int,
           progress: Optional[Callable[[str], None]] = None) -> dict[str, Any]:
    """Choose hyper-parameters, then derived features, then hyper-parameters again, all by cross-validated
    macro-F1 on the training rows; fit the final model on all of them. Returns what was tried and chosen."""
    t0 = time.perf_counter()
    say = progress or (lambda _msg: None)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        x = model.matrix(frame)
        default_f1, _ = cv_score(model, x, y, DEFAULT_PARAMS, folds, seed)
        say(f"default gradient boosting: CV macro-F1 {default_f1:.4f}")
        params, base_f1 = _grid(model, x, y, folds, seed)
        model.params = params
        tried, kept = _derived(model, frame, y, folds, seed, base_f1, say)
        if kept:
            x = model.matrix(frame)
            params, _ = _grid(model, x, y, folds, seed)
            model.params = params
        final_f1, threshold = cv_score(model, x, y, model.params, folds, seed)
        model.class_weights = [1 - threshold, threshold] if threshold is not None else None
        model.estimator = model.new_estimator(seed=seed).fit(x, y)
    return {"cv_macro_f1": final_f1, "default_cv_macro_f1": default_f1, "params": model.params,
            "threshold": threshold, "derived_tried": tried, "derived_kept": [derived_name(d) for d in model.derived],
            "folds": len(folds), "seconds": round(time.perf_counter() - t0, 2)}


def _grid(model: TabularModel, x: np.ndarray, y: np.ndarray, folds: list, seed: int) -> tuple[dict[str, Any], float]:
    best = (-1.0, DEFAULT_PARAMS)
    for params in SEARCH_GRID:
        f1, _ = cv_score(model, x, y, params, folds, seed)
        if f1 > best[0] + 1e-9:
            best = (f1, params)
    return dict(best[1]), best[0]


def _derived(model: TabularModel, frame: Any, y: np.ndarray, folds: list, seed: int, base_f1: float,
             say: Callable[[str], None]) -> tuple[list[dict[str, Any]], list]:
    """Screen each candidate alone, then add the helpful ones greedily while the CV score still rises."""
    base = sorted(model.numeric, key=lambda c: -np.nanstd(frame[c].to_numpy(dtype=float)))[:MAX_DERIVED_BASE]
    candidates = [(op, a, b) for a, b in itertools.combinations(base, 2) for op in DERIVED_OPS]
    tried = []
    for cand in candidates:
        model.derived = [cand]
        f1, _ = cv_score(model, model.matrix(frame), y, model.params, folds, seed)
        tried.append({"feature": derived_name(cand), "cv_macro_f1": round(f1, 4), "gain": round(f1 - base_f1, 4)})
    helpful = [c for c, t in sorted(zip(candidates, tried), key=lambda ct: -ct[1]["gain"])
               if t["gain"] >= DERIVED_MARGIN]
    kept, score = [], base_f1
    for cand in helpful[:MAX_DERIVED_KEPT * 2]:
        if len(kept) >= MAX_DERIVED_KEPT:
            break
        model.derived = kept + [cand]
        f1, _ = cv_score(model, model.matrix(frame), y, model.params, folds, seed)
        if f1 >= score + DERIVED_MARGIN:
            kept, score = kept + [cand], f1
            say(f"derived feature {derived_name(cand)} kept: CV macro-F1 {f1:.4f}")
    model.derived = kept
    return tried, kept
