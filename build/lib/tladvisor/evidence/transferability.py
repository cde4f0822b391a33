"""Cheap transferability estimators on frozen features: k-NN accuracy and LogME, both on held-out folds.

LogME (You et al., ICML 2021, "LogME: Practical Assessment of Pre-trained Models for Transfer Learning") is
written out here because it ships in no maintained package; it follows the authors' reference algorithm.
"""
from __future__ import annotations

import numpy as np


def logme(features: np.ndarray, labels: np.ndarray) -> float:
    """Average per-class log marginal evidence of a Bayesian linear model on the features (higher = better)."""
    f = features.astype(np.float64)
    n, d = f.shape
    v, s, vh = np.linalg.svd(f.T @ f, full_matrices=True)  # s: eigenvalues of F^T F
    evidences = []
    for k in np.unique(labels):
        y = (labels == k).astype(np.float64)
        alpha, beta, lam = 1.0, 1.0, 1.0
        proj = vh @ (f.T @ y)
        for _ in range(11):  # fixed-point updates of alpha (prior) and beta (noise) precision
            gamma = (s / (s + lam)).sum()
            m = v @ (proj * beta / (alpha + beta * s))
            alpha_de = float((m * m).sum())
            alpha = gamma / (alpha_de + 1e-5)
            beta_de = float(((y - f @ m) ** 2).sum())
            beta = (n - gamma) / (beta_de + 1e-5)
            new_lam = alpha / beta
            if abs(new_lam - lam) / lam < 0.01:
                break
            lam = new_lam
        evidence = (d / 2.0 * np.log(alpha) + n / 2.0 * np.log(beta) - 0.5 * np.sum(np.log(alpha + beta * s))
                    - beta / 2.0 * (beta_de + 1e-5) - alpha / 2.0 * (alpha_de + 1e-5) - n / 2.0 * np.log(2 * np.pi))
        evidences.append(evidence / n)
    return float(np.mean(evidences))


def held_out_scores(features: np.ndarray, labels: np.ndarray, folds: int = 5, k: int = 5, seed: int = 0
                    ) -> dict[str, float]:
    """k-NN accuracy (cosine, fitted on the other folds) and LogME, each averaged over held-out folds."""
    from sklearn.model_selection import StratifiedKFold
    from sklearn.neighbors import KNeighborsClassifier
    from sklearn.preprocessing import normalize

    x = normalize(features.astype(np.float32))
    folds = max(2, min(folds, int(np.bincount(labels).min())))
    knn, lm = [], []
    for train, test in StratifiedKFold(folds, shuffle=True, random_state=seed).split(x, labels):
        clf = KNeighborsClassifier(n_neighbors=min(k, len(train)), metric="cosine").fit(x[train], labels[train])
        knn.append(float((clf.predict(x[test]) == labels[test]).mean()))
        lm.append(logme(features[test], labels[test]))
    return {"knn_accuracy": float(np.mean(knn)), "knn_std": float(np.std(knn)), "logme": float(np.mean(lm)),
            "folds": folds}
