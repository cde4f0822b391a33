"""Seeded train / validation / test assignment shared by every modality, safe for any class counts.

scikit-learn's stratified split is used whenever every split can hold every class (the common case, and the
split earlier runs recorded); otherwise each class is divided on its own (still stratified, never a crash),
and the classes too small to appear in every split are named in a note that goes into the audit.
"""
from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field

import numpy as np


@dataclass
class SplitPlan:
    """One split name per item, and what could not be done as asked (for the audit)."""

    assignments: list[str]
    notes: list[str] = field(default_factory=list)


def _sklearn_can_stratify(counts: Counter, sizes: list[int]) -> bool:
    """Every class has an example for each split and each split has room for one example of every class."""
    return min(counts.values()) >= len(sizes) and all(s >= len(counts) for s in sizes)


def _per_class(labels: list[str], fractions: dict[str, float], seed: int) -> list[str]:
    """Divide each class on its own: the held-out splits get round(n * fraction) examples each, at least one
    while the class can spare it, and training always keeps at least one."""
    rng = np.random.default_rng(seed)
    out = [""] * len(labels)
    by_class: dict[str, list[int]] = {}
    for i, lab in enumerate(labels):
        by_class.setdefault(lab, []).append(i)
    # the held-out splits in order of priority: test first (a class with two examples is trained and tested)
    held = sorted(fractions, key=lambda s: s != "test")
    for lab in sorted(by_class):
        idx = by_class[lab]
        rng.shuffle(idx)
        n, start = len(idx), 0
        for name in held:
            want = max(1, round(n * fractions[name]))
            take = min(want, n - start - 1)  # one always stays for training
            for i in idx[start:start + max(0, take)]:
                out[i] = name
            start += max(0, take)
        for i in idx[start:]:
            out[i] = "train"
    return out


def assign_splits(labels: list[str], fractions: dict[str, float], seed: int) -> SplitPlan:
    """Seeded stratified assignment of each item to 'train' or a held-out split named in `fractions`
    (e.g. {"val": 0.1, "test": 0.2}); notes name the classes too small for every split."""
    from sklearn.model_selection import train_test_split

    counts = Counter(labels)
    n = len(labels)
    held = [name for name in ("test", "val") if name in fractions] + [s for s in fractions if s not in ("test", "val")]
    sizes, rest_n, remaining = [], n, 1.0
    for name in held:  # the sizes scikit-learn will draw, split after split
        part = math.ceil(fractions[name] / remaining * rest_n)
        sizes.append(part)
        rest_n, remaining = rest_n - part, remaining - fractions[name]
    if labels and _sklearn_can_stratify(counts, sizes + [rest_n]):
        y = np.asarray(labels)
        out = [""] * n
        rest = np.arange(n)
        remaining = 1.0
        for name in held:
            rest, part = train_test_split(rest, test_size=fractions[name] / remaining, random_state=seed,
                                          stratify=y[rest])
            for i in part:
                out[int(i)] = name
            remaining -= fractions[name]
        for i in rest:
            out[int(i)] = "train"
        present = set(zip(out, labels))
        if any((s, lab) not in present for s in held for lab in counts):  # a small class fell out of a split
            out = _per_class(labels, fractions, seed)
    else:
        out = _per_class(labels, fractions, seed)
    present = set(zip(out, labels))
    notes = []
    for lab in sorted(counts):
        missing = [s for s in held if (s, lab) not in present]
        if missing:
            notes.append(f"class '{lab}' has {counts[lab]} example(s): none in {' or '.join(missing)} "
                         f"({'not tested' if 'test' in missing else 'not validated'}); add examples to measure it")
    return SplitPlan(out, notes)


def split_items(items: list, labels: list[str], val_fraction: float, test_fraction: float,
                seed: int) -> list[str]:
    """Seeded, stratified train/val/test assignment (one entry per item); see `assign_splits`."""
    return assign_splits(labels, {"val": val_fraction, "test": test_fraction}, seed).assignments


def carve_validation(labels: list[str], val_fraction: float, seed: int) -> list[str]:
    """'train' / 'val' for data whose test set is given separately; see `assign_splits`."""
    return assign_splits(labels, {"val": val_fraction}, seed).assignments
