"""Likely mislabels: cross-validated probabilities of a probe on frozen features, then cleanlab's confident
learning (`find_label_issues`) to flag examples whose given label looks wrong, with a suggested label."""
from __future__ import annotations

import warnings

import numpy as np
from pydantic import BaseModel


class SuspectLabel(BaseModel):
    item: str  # image path or text
    given: str
    suggested: str
    given_probability: float
    suggested_probability: float


def cross_validated_probs(x: np.ndarray, y: np.ndarray, folds: int = 5, seed: int = 0, C: float = 1.0) -> np.ndarray:
    """Out-of-fold predicted probabilities of a standardised logistic-regression probe."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedKFold, cross_val_predict
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    folds = max(2, min(folds, int(np.bincount(y).min())))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return cross_val_predict(make_pipeline(StandardScaler(), LogisticRegression(C=C, max_iter=2000)), x, y,
                                 cv=StratifiedKFold(folds, shuffle=True, random_state=seed), method="predict_proba")


def likely_mislabels(x: np.ndarray, y: np.ndarray, items: list[str], classes: list[str], limit: int = 25
                     ) -> tuple[list[SuspectLabel], int]:
    """(the most likely label errors, most suspicious first; how many cleanlab flagged in all)."""
    from cleanlab.filter import find_label_issues

    probs = cross_validated_probs(x, y)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ranked = find_label_issues(labels=y, pred_probs=probs, return_indices_ranked_by="self_confidence")
    out = []
    for i in ranked[:limit]:
        best = int(np.argmax(probs[i]))
        out.append(SuspectLabel(item=items[i], given=classes[y[i]], suggested=classes[best],
                                given_probability=float(probs[i, y[i]]), suggested_probability=float(probs[i, best])))
    return out, len(ranked)
