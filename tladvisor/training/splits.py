"""Seeded, stratified train / validation / test assignment shared by every modality."""
from __future__ import annotations

import numpy as np


def split_items(items: list, labels: list[str], val_fraction: float, test_fraction: float,
                seed: int) -> list[str]:
    """Seeded, stratified train/val/test assignment (one entry per item). Classes too small to stratify
    keep at least one training example."""
    from sklearn.model_selection import train_test_split

    idx = np.arange(len(labels))
    y = np.asarray(labels)
    counts = {c: int((y == c).sum()) for c in set(labels)}
    strat = y if min(counts.values()) >= 3 else None
    rest, test = train_test_split(idx, test_size=test_fraction, random_state=seed, stratify=strat)
    y_rest = y[rest]
    strat2 = y_rest if strat is not None and min(np.unique(y_rest, return_counts=True)[1]) >= 2 else None
    train, val = train_test_split(rest, test_size=val_fraction / (1 - test_fraction), random_state=seed,
                                  stratify=strat2)
    out = [""] * len(labels)
    for name, part in (("train", train), ("val", val), ("test", test)):
        for i in part:
            out[int(i)] = name
    return out


def carve_validation(labels: list[str], val_fraction: float, seed: int) -> list[str]:
    """'train' / 'val' for data whose test set is given separately (stratified when every class allows it)."""
    from sklearn.model_selection import train_test_split

    y = np.asarray(labels)
    idx = np.arange(len(y))
    strat = y if min(np.unique(y, return_counts=True)[1]) >= 2 else None
    _, val = train_test_split(idx, test_size=val_fraction, random_state=seed, stratify=strat)
    out = ["train"] * len(y)
    for i in val:
        out[int(i)] = "val"
    return out
