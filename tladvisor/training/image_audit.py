"""Audit of an image data set before training: counts, sizes and modes, unreadable files,
exact and near duplicates, train/test leakage, class imbalance."""
from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any, Optional

import numpy as np
from PIL import Image
from pydantic import BaseModel, Field

from tladvisor.safe_text import md
from tladvisor.training.audit_markdown import finding_sections

from tladvisor.training.image_data import ImageItem, file_sha1, load_rgb

NEAR_DUPLICATE_BITS = 10  # dHash Hamming distance that makes two images near-duplicate *candidates* ...
NEAR_DUPLICATE_CORR = 0.95  # ... confirmed when their 32x32 grayscale thumbnails correlate this strongly
# (dHash alone flags look-alike textures, e.g. two different steel scratches, as duplicates)
IMBALANCE_RATIO = 3.0


class AuditReport(BaseModel):
    """What the audit found; JSON-serialisable and rendered as a Markdown table."""

    n_images: int
    classes: list[str]
    per_class: dict[str, int]
    per_split: dict[str, dict[str, int]] = Field(default_factory=dict)
    sizes: dict[str, Any] = Field(default_factory=dict)
    modes: dict[str, int] = Field(default_factory=dict)
    unreadable: list[dict[str, str]] = Field(default_factory=list)
    exact_duplicates: list[list[str]] = Field(default_factory=list)
    near_duplicates: list[list[str]] = Field(default_factory=list)
    leakage: list[dict[str, str]] = Field(default_factory=list)
    imbalance_ratio: float = 1.0
    warnings: list[str] = Field(default_factory=list)
    skipped_non_images: list[str] = Field(default_factory=list)

    def to_markdown(self) -> str:
        rows = ["| class | images | " + " | ".join(self.per_split) + " |",
                "|---|---|" + "---|" * len(self.per_split)]
        for c in self.classes:
            rows.append(f"| {md(c)} | {self.per_class.get(c, 0)} | "
                        + " | ".join(str(self.per_split[s].get(c, 0)) for s in self.per_split) + " |")
        lines = [f"**{self.n_images} readable images in {len(self.classes)} classes** "
                 f"(imbalance max/min {self.imbalance_ratio:.1f}x)", "", *rows, ""]
        if self.sizes:
            lines.append(f"Sizes: {self.sizes.get('min')} to {self.sizes.get('max')} px (median {self.sizes.get('median')}); "
                         f"modes: {', '.join(f'{k} x{v}' for k, v in self.modes.items())}")
        lines += finding_sections([
            ("Unreadable (skipped)", [f"{u['path']}: {u['error']}" for u in self.unreadable]),
            ("Exact duplicates", [" = ".join(g) for g in self.exact_duplicates]),
            ("Near duplicates", [" ~ ".join(g) for g in self.near_duplicates]),
            ("Train/test leakage", [f"{x['a']} ({x['split_a']}) ~ {x['b']} ({x['split_b']})"
                                   for x in self.leakage]),
            ("Warnings", self.warnings)])
        return "\n".join(lines) + "\n"


def dhash(img: Image.Image, size: int = 8) -> int:
    """64-bit difference hash (written here: 6 lines, not worth a dependency)."""
    small = np.asarray(img.convert("L").resize((size + 1, size), Image.Resampling.BILINEAR), dtype=np.int16)
    bits = (small[:, 1:] > small[:, :-1]).flatten()
    return int(np.packbits(bits).view(">u8")[0])


def thumbnail(img: Image.Image, size: int = 32) -> np.ndarray:
    """High-pass, zero-mean, unit-norm grayscale thumbnail: the dot product of two is their correlation.
    The high-pass (minus a box blur) removes smooth illumination, which alone made different steel
    textures of NEU-CLS correlate above 0.95; after it no NEU pair passes 0.95 and real copies score ~1.0."""
    from PIL import ImageFilter

    gray = img.convert("L").resize((size, size), Image.Resampling.BILINEAR)
    v = np.asarray(gray, dtype=np.float32) - np.asarray(gray.filter(ImageFilter.BoxBlur(2)), dtype=np.float32)
    v = v.ravel() - v.mean()
    return v / (np.linalg.norm(v) or 1.0)


def _hamming_pairs(hashes: np.ndarray, max_bits: int) -> list[tuple[int, int]]:
    """All index pairs whose 64-bit hashes differ in at most `max_bits` bits (chunked, vectorised)."""
    pairs = []
    lut = np.array([bin(i).count("1") for i in range(256)], dtype=np.uint8)
    as_bytes = hashes.view(np.uint8).reshape(-1, 8)
    for start in range(0, len(hashes), 512):
        block = as_bytes[start:start + 512]
        dist = lut[np.bitwise_xor(block[:, None, :], as_bytes[None, :, :])].sum(axis=2)
        for i, j in zip(*np.nonzero(dist <= max_bits)):
            a = start + int(i)
            if a < int(j):
                pairs.append((a, int(j)))
    return pairs


# the audit's hashes look at 32-px thumbnails: a large JPEG is decoded at reduced scale down to this side (PIL's
# draft mode; a 3000x2250 photo decodes in ~35 ms instead of ~240 ms); images up to 511 px decode as before
AUDIT_DECODE_SIDE = 256


def scan_images(items: list[ImageItem]) -> tuple[list[ImageItem], list[dict[str, Any]], list[dict[str, str]]]:
    """Decode every image once: (readable items, their stats, unreadable files with the reason)."""
    readable, stats, unreadable = [], [], []
    for item in items:
        try:
            with Image.open(item.path) as raw:
                mode, size = raw.mode, raw.size
            img = load_rgb(item.path, AUDIT_DECODE_SIDE)
            if (img.size[0] > img.size[1]) != (size[0] > size[1]):  # turned by its EXIF orientation
                size = size[::-1]
        except Exception as exc:  # any decoder error: truncated, not an image, bomb, ...
            reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            unreadable.append({"path": item.path, "error": f"{type(exc).__name__}: {reason}"[:200]})
            continue
        readable.append(item)
        stats.append({"sha1": file_sha1(item.path), "dhash": dhash(img), "thumb": thumbnail(img), "size": size,
                      "mode": mode})
    return readable, stats, unreadable


def audit_images(items: list[ImageItem], stats: list[dict[str, Any]], classes: list[str],
                 unreadable: list[dict[str, str]], skipped: Optional[list[str]] = None,
                 root: Optional[str] = None) -> AuditReport:
    """Build the audit report for readable `items` (with splits assigned) and their scan `stats`."""
    rel = (lambda p: str(Path(p).relative_to(root))) if root else (lambda p: p)
    per_class = Counter(i.label for i in items)
    per_split: dict[str, dict[str, int]] = {}
    for i in items:
        per_split.setdefault(i.split or "all", Counter())[i.label] += 1
    sides = [min(s["size"]) for s in stats] or [0]
    report = AuditReport(
        n_images=len(items), classes=classes, per_class=dict(per_class),
        per_split={k: dict(v) for k, v in sorted(per_split.items(), key=lambda kv: ("train", "val", "test").index(kv[0])
                                                   if kv[0] in ("train", "val", "test") else 9)},
        sizes={"min": int(min(sides)), "max": int(max(sides)), "median": int(np.median(sides))},
        modes=dict(Counter(s["mode"] for s in stats)),
        unreadable=[{**u, "path": rel(u["path"])} for u in unreadable],
        skipped_non_images=[rel(p) for p in (skipped or [])],
    )
    by_sha: dict[str, list[int]] = {}
    for idx, s in enumerate(stats):
        by_sha.setdefault(s["sha1"], []).append(idx)
    exact_groups = [g for g in by_sha.values() if len(g) > 1]
    report.exact_duplicates = [[rel(items[i].path) for i in g] for g in exact_groups]
    exact_pairs = {(g[a], g[b]) for g in exact_groups for a in range(len(g)) for b in range(a + 1, len(g))}
    hashes = np.array([s["dhash"] for s in stats], dtype=np.uint64)
    candidates = _hamming_pairs(hashes, NEAR_DUPLICATE_BITS) if len(stats) > 1 else []
    near = [(a, b) for a, b in candidates if (a, b) not in exact_pairs
            and float(stats[a]["thumb"] @ stats[b]["thumb"]) >= NEAR_DUPLICATE_CORR]
    report.near_duplicates = [[rel(items[a].path), rel(items[b].path)] for a, b in near]
    for a, b in sorted(exact_pairs | set(near)):
        sa, sb = items[a].split, items[b].split
        if sa and sb and sa != sb:
            report.leakage.append({"a": rel(items[a].path), "split_a": sa or "", "b": rel(items[b].path),
                                   "split_b": sb or ""})
        if items[a].label != items[b].label:
            report.warnings.append(f"{rel(items[a].path)} and {rel(items[b].path)} look identical but are labelled "
                                   f"'{items[a].label}' and '{items[b].label}'")
    counts = [per_class.get(c, 0) for c in classes]
    report.imbalance_ratio = round(max(counts) / max(1, min(counts)), 2)
    if report.imbalance_ratio > IMBALANCE_RATIO:
        report.warnings.append(f"class imbalance {report.imbalance_ratio:.1f}x (largest/smallest class); "
                               "macro-F1 is the fairer metric")
    if report.leakage:
        report.warnings.append(f"{len(report.leakage)} duplicate pair(s) cross the train/val/test split: "
                               "the test score will be optimistic")
    small = [c for c in classes if per_class.get(c, 0) < 10]
    if small:
        report.warnings.append(f"classes with under 10 images: {', '.join(small)}")
    return report
