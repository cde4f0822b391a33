"""'auto' image preprocessing: the whole frame resized, or the backbone's ImageNet centre crop, chosen by a
cross-validated comparison of the frozen features on a stratified sample of the labelled images.

Neither wins everywhere (bench/results/plain_script.md): on NEU-CLS steel surfaces both score alike, while on the
DeepPCB defect crops the probe's cross-validated macro-F1 is 0.05 higher with the centre crop on all training
images and higher on 6 of 6 samples of 300 (0.02-0.09). The full frame stays unless the crop wins by more than
noise, because it never cuts away a defect at the border.

The score is a ridge classifier's leave-one-out macro-F1 on the standardised features (closed form: 0.15 s for both
preprocessings on 300 PCB images, where the probe's own 5-fold logistic-regression CV took 33 s). On 6 samples of
300 it ranks the two as that CV does: PCB centre crop +0.04 to +0.09, NEU within 0.01.
"""
from __future__ import annotations

import time
from typing import Any, Optional

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


def loo_macro_f1(x: np.ndarray, y: np.ndarray) -> Optional[float]:
    """Leave-one-out macro-F1 of a one-vs-rest ridge classifier on standardised features, its penalty chosen on the
    same leave-one-out predictions (scikit-learn's closed form); None with fewer than two classes or two examples in
    no class."""
    from sklearn.linear_model import RidgeCV
    from sklearn.metrics import f1_score
    from sklearn.preprocessing import StandardScaler

    classes, codes = np.unique(y, return_inverse=True)
    if len(classes) < 2 or np.bincount(codes).max() < 2:
        return None

    def score(est, x_, targets) -> float:  # RidgeCV hands over the leave-one-out predictions (one column per class)
        return f1_score(targets.argmax(1), est.predict(x_).argmax(1), average="macro", zero_division=0)

    # one column per class, two for two classes: RidgeClassifierCV's single binary column breaks a macro-F1 scorer
    targets = 2.0 * np.eye(len(classes))[codes] - 1.0
    fitted = RidgeCV(alphas=np.logspace(0, 5, 11), scoring=score).fit(StandardScaler().fit_transform(x), targets)
    return float(fitted.best_score_)


def choose_preprocess(task: Any, model: Any, accelerator: Any, seed: int) -> dict[str, Any]:
    """Compare the two preprocessings on the same sample of the task's train + validation images, set the winner
    on the task and return what was measured."""
    t0 = time.perf_counter()
    paths, labels = task.split("train+val")
    y_all = np.asarray(labels)
    idx = stratified_sample(y_all, SAMPLE, seed)
    sample, y = [paths[i] for i in idx], y_all[idx]
    # each sample image decoded once for both; the winner's features are cached: the probe reuses them
    both = task.embed_variants(model, sample, accelerator, OPTIONS)
    scores: dict[str, Optional[float]] = {name: loo_macro_f1(both[name][0], y) for name in OPTIONS}
    embedding: dict[str, dict[str, Any]] = {name: both[name][1] for name in OPTIONS}
    full, crop = scores["full_frame"], scores["center_crop"]
    need = margin(len(idx))
    chosen = "center_crop" if full is not None and crop is not None and crop > full + need else "full_frame"
    task.set_preprocess(chosen)
    if full is None or crop is None:
        why = "too few examples per class to compare: the full frame stands"
    elif chosen == "center_crop":
        why = f"the centre crop scored {crop:.3f} vs {full:.3f} for the full frame (macro-F1, {len(idx)} images)"
    else:
        why = (f"the full frame kept: {full:.3f} vs {crop:.3f} for the centre crop (macro-F1, {len(idx)} images; "
               f"the crop must win by {need:.3f})")
    return {"chosen": chosen, "loo_macro_f1": scores, "sample": int(len(idx)), "margin": round(need, 4),
            "why": why, "embedding": embedding, "seconds": round(time.perf_counter() - t0, 2)}
