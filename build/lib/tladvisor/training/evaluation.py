"""Metrics (scikit-learn) and plots (matplotlib) for a classification run."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np


def classification_metrics(y_true: np.ndarray, probs: np.ndarray, classes: list[str]) -> dict[str, Any]:
    """Accuracy, macro-F1, log loss, per-class precision/recall/F1/support, top-k accuracy and the confusion
    matrix."""
    from sklearn.metrics import (accuracy_score, confusion_matrix, f1_score, log_loss, precision_recall_fscore_support,
                                 top_k_accuracy_score)

    labels = np.arange(len(classes))
    y_pred = probs.argmax(1)
    p, r, f, s = precision_recall_fscore_support(y_true, y_pred, labels=labels, zero_division=0)
    out: dict[str, Any] = {
        "n": int(len(y_true)),
        "accuracy": float(accuracy_score(y_true, y_pred)),
        "macro_f1": float(f1_score(y_true, y_pred, labels=labels, average="macro", zero_division=0)),
        "errors": int((y_pred != y_true).sum()),
        # how confident the right answers are, not only whether they win: a calibration check for the client
        "log_loss": float(log_loss(y_true, _normalised(probs), labels=labels)) if len(y_true) else float("nan"),
        "per_class": {c: {"precision": float(p[i]), "recall": float(r[i]), "f1": float(f[i]), "support": int(s[i])}
                      for i, c in enumerate(classes)},
        "confusion_matrix": confusion_matrix(y_true, y_pred, labels=labels).tolist(),
    }
    out["top_confusions"] = top_confusions(out["confusion_matrix"], classes)
    if len(classes) > 2:
        k = min(5, len(classes) - 1)
        out[f"top{k}_accuracy"] = float(top_k_accuracy_score(y_true, probs, k=k, labels=labels))
    return out


def _normalised(probs: np.ndarray) -> np.ndarray:
    """Probabilities clipped away from 0 and summing to 1 (bf16 softmax rows drift by ~1e-3)."""
    p = np.clip(probs.astype(np.float64), 1e-7, 1.0)
    return p / p.sum(axis=1, keepdims=True)


def top_confusions(cm: list[list[int]], classes: list[str], k: int = 15) -> list[dict[str, Any]]:
    """The k most frequent (true -> predicted) mistakes: readable where a 77x77 matrix is not."""
    arr = np.asarray(cm)
    pairs = [(int(arr[i, j]), classes[i], classes[j]) for i in range(len(classes)) for j in range(len(classes))
             if i != j and arr[i, j] > 0]
    pairs.sort(key=lambda t: (-t[0], t[1], t[2]))
    return [{"true": t, "predicted": p, "count": n} for n, t, p in pairs[:k]]


def plot_confusion_matrix(cm: list[list[int]], classes: list[str], path: Path, title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    arr = np.asarray(cm)
    size = max(4.0, 0.45 * len(classes) + 2)
    # client labels as plain text: '$' would start matplotlib mathtext (and fail on "$5 fee$x"), long ones are cut
    names = [(c if len(c) <= 30 else c[:29] + "…").replace("$", r"\$") for c in classes]
    fig, ax = plt.subplots(figsize=(size, size))
    ax.imshow(arr, cmap="Blues")
    ax.set_xticks(range(len(classes)), names, rotation=45, ha="right")
    ax.set_yticks(range(len(classes)), names)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title(title)
    if len(classes) <= 30:
        for i in range(arr.shape[0]):
            for j in range(arr.shape[1]):
                ax.text(j, i, str(arr[i, j]), ha="center", va="center",
                        color="white" if arr[i, j] > arr.max() / 2 else "black", fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def plot_curves(history: list[dict[str, Any]], path: Path, score_key: str = "val_macro_f1") -> bool:
    """Training loss and the validation score per epoch, per stage. False when there is nothing to plot."""
    rows = [h for h in history if "epoch" in h]
    if not rows:
        return False
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (a1, a2) = plt.subplots(1, 2, figsize=(9, 3.5))
    for stage in dict.fromkeys(h["stage"] for h in rows):
        hs = [h for h in rows if h["stage"] == stage]
        a1.plot([h["epoch"] for h in hs], [h["train_loss"] for h in hs], marker="o", label=stage)
        scored = [h for h in hs if score_key in h]  # a retrain on train + validation has no score
        if scored:
            a2.plot([h["epoch"] for h in scored], [h[score_key] for h in scored], marker="o", label=stage)
    a1.set_title("training loss")
    a2.set_title("validation " + score_key.removeprefix("val_").replace("_", "-").replace("macro-f1", "macro-F1")
                 .replace("entity-f1", "entity F1"))
    for ax in (a1, a2):
        ax.set_xlabel("epoch")
        ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return True


def plot_importance(importance: dict[str, float], path: Path, top: int = 20) -> None:
    """Horizontal bars of permutation importance per input column (largest first)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    items = list(importance.items())[:top][::-1]
    fig, ax = plt.subplots(figsize=(6.5, 0.35 * len(items) + 1.2))
    ax.barh([(c if len(c) <= 40 else c[:39] + "…").replace("$", r"\$") for c, _ in items], [v for _, v in items])
    ax.set_xlabel("drop in score when the column is shuffled (test split)")
    ax.set_title("feature importance")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
