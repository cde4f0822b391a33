"""Small generated image data sets for tests: classes that differ in texture, like surface defects."""
from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np
from PIL import Image

CLASSES = ("horizontal", "vertical", "spots")


def make_image(kind: str, rng: np.random.Generator, size: int = 64) -> Image.Image:
    base = rng.normal(128, 20, (size, size)).clip(0, 255)
    period = rng.integers(6, 12)
    phase = rng.integers(0, period)
    if kind == "horizontal":
        base[(np.arange(size) + phase) % period < period // 2, :] += 70
    elif kind == "vertical":
        base[:, (np.arange(size) + phase) % period < period // 2] += 70
    else:
        for _ in range(rng.integers(6, 12)):
            y, x = rng.integers(4, size - 4, 2)
            r = rng.integers(2, 5)
            yy, xx = np.ogrid[:size, :size]
            base[(yy - y) ** 2 + (xx - x) ** 2 <= r * r] -= 90
    rgb = np.stack([base, base * rng.uniform(0.8, 1.0), base * rng.uniform(0.8, 1.0)], -1).clip(0, 255)
    return Image.fromarray(rgb.astype(np.uint8))


def make_image_folder(root: Path, per_class: int = 30, seed: int = 0, classes=CLASSES, size: int = 64) -> Path:
    """root/class/img_k.png for each class."""
    rng = np.random.default_rng(seed)
    for c in classes:
        (root / c).mkdir(parents=True, exist_ok=True)
        for k in range(per_class):
            make_image(c, rng, size).save(root / c / f"{c}_{k:03d}.png")
    return root


def zip_folder(folder: Path, archive: Path) -> Path:
    """The folder's PNGs zipped the way a client sends them: paths start with the folder's own name."""
    with zipfile.ZipFile(archive, "w") as zf:
        for f in sorted(folder.rglob("*.png")):
            zf.write(f, f.relative_to(folder.parent))
    return archive
