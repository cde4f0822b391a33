"""'auto' image preprocessing: the whole frame resized, or the backbone's ImageNet centre crop, chosen by the
probe's own cross-validation on a stratified sample of the labelled images.

Neither wins everywhere (bench/results/plain_script.md): on NEU-CLS steel surfaces both score alike, while on the
DeepPCB defect crops the centre crop's cross-validated macro-F1 is 0.05 higher on all training images and higher
on 6 of 6 samples of 300 (0.02-0.09). The full frame stays unless the crop wins by more than noise, because it
never cuts away a defect at the border.
"""
from __future__ import annotations

import time
from typing import Any, Callable, Optional

import numpy as np

SAMPLE = 300  # images per comparison: each costs a second forward pass, so a sample, not the whole set
MIN_MARGIN = 0.02  # macro-F1 the centre crop must add (on 300 NEU images the two differ by <= 0.013)
OPTIONS = ("full_frame", "center_crop")


def stratified_sample(y: np.ndarray, size: int, seed: int) -> np.ndarray:
    """Indices of about `size` examples with every class in proportion, and at least min(its count, 5) of each."""
    if len(y) <= size:
        return np.arange(len(y))
    rng = np.random.default_rng(seed)
    picked = []
    for c in np.unique(y):
        members = np.flatnonzero(y == c)
        k = min(len(members), max(5, int(round(size * len(members) / len(y)))))
        picked.append(rng.choice(members, k, replace=False))
    return np.sort(np.concatenate(picked))


def margin(n: int) -> float:
    """The gain the centre crop needs on n images: smaller samples are noisier (60 NEU images: up to 0.09)."""
    return max(MIN_MARGIN, 2.0 / max(n, 1))


def choose_preprocess(task: Any, model: Any, accelerator: Any, seed: int,
                      score: Callable[[np.ndarray, np.ndarray], Optional[float]]) -> dict[str, Any]:
    """Compare the two preprocessings with `score` (the probe's cross-validated macro-F1) on the same sample of the
    task's train + validation images, set the winner on the task and return what was measured."""
    t0 = time.perf_counter()
    paths, labels = task.split("train+val")
    y_all = np.asarray(labels)
    idx = stratified_sample(y_all, SAMPLE, seed)
    sample, y = [paths[i] for i in idx], y_all[idx]
    scores: dict[str, Optional[float]] = {}
    embedding: dict[str, dict[str, Any]] = {}  # the winner's features are cached: the probe reuses them
    for name in OPTIONS:
        task.set_preprocess(name)
        feats, embedding[name] = task.embed_paths(model, sample, accelerator)
        scores[name] = score(feats, y)
    full, crop = scores["full_frame"], scores["center_crop"]
    need = margin(len(idx))
    chosen = "center_crop" if full is not None and crop is not None and crop > full + need else "full_frame"
    task.set_preprocess(chosen)
    if full is None or crop is None:
        why = "too few examples per class to cross-validate: the full frame stands"
    elif chosen == "center_crop":
        why = f"the centre crop scored {crop:.3f} vs {full:.3f} for the full frame (macro-F1, {len(idx)} images)"
    else:
        why = (f"the full frame kept: {full:.3f} vs {crop:.3f} for the centre crop (macro-F1, {len(idx)} images; "
               f"the crop must win by {need:.3f})")
    return {"chosen": chosen, "cv_macro_f1": scores, "sample": int(len(idx)), "margin": round(need, 4),
            "why": why, "embedding": embedding, "seconds": round(time.perf_counter() - t0, 2)}
