"""Build an imbalanced PCB-defect image set from DeepPCB (Tang et al. 2019; MIT licence;
https://github.com/tangsanli5201/DeepPCB): a square crop around each annotated defect of the tested images,
labelled with its type, plus "ok" crops of the aligned defect-free template at the same places (the hardest
negative: the same copper without the defect). Class sizes follow a long tail, as a client's inspection data does:
ok 800, open 200, short 140, mousebite 100, spur 70, copper 50, pin-hole 40 (1,400 crops), sampled with a fixed
seed, one crop per source image and class at most so crops of one board do not pile up.

Get the data:  git clone https://github.com/tangsanli5201/DeepPCB   (or the tool library's fetch)
Run:           python bench/data/deeppcb_patches.py DEEPPCB_DIR OUT_DIR
"""
from __future__ import annotations

import random
import sys
from pathlib import Path

from PIL import Image

TYPES = {1: "open", 2: "short", 3: "mousebite", 4: "spur", 5: "copper", 6: "pin_hole"}
COUNTS = {"ok": 800, "open": 200, "short": 140, "mousebite": 100, "spur": 70, "copper": 50, "pin_hole": 40}
MARGIN = 16


def boxes(txt: Path) -> list[tuple[int, int, int, int, int]]:
    out = []
    for line in txt.read_text().splitlines():
        parts = line.replace(",", " ").split()
        if len(parts) == 5:
            out.append(tuple(int(p) for p in parts))  # type: ignore[arg-type]
    return out


def crop(img: Image.Image, box: tuple[int, int, int, int]) -> Image.Image:
    x1, y1, x2, y2 = box
    side = max(x2 - x1, y2 - y1) + 2 * MARGIN
    cx, cy = (x1 + x2) // 2, (y1 + y2) // 2
    left = min(max(0, cx - side // 2), img.width - side)
    top = min(max(0, cy - side // 2), img.height - side)
    return img.crop((left, top, left + side, top + side))


def main(src: Path, out: Path) -> None:
    rng = random.Random(0)
    candidates: dict[str, list[tuple[Path, tuple[int, int, int, int]]]] = {k: [] for k in COUNTS}
    for txt in sorted(src.glob("PCBData/group*/*_not/*.txt")):
        folder = txt.parent.parent / txt.parent.name.replace("_not", "")
        seen: set[str] = set()
        for x1, y1, x2, y2, kind in boxes(txt):
            label = TYPES.get(kind)
            if label is None or label in seen:
                continue
            seen.add(label)
            candidates[label].append((folder / f"{txt.stem}_test.jpg", (x1, y1, x2, y2)))
            candidates["ok"].append((folder / f"{txt.stem}_temp.jpg", (x1, y1, x2, y2)))
    for label, n in COUNTS.items():
        picked = rng.sample(candidates[label], n)
        (out / label).mkdir(parents=True, exist_ok=True)
        for k, (path, box) in enumerate(picked):
            crop(Image.open(path).convert("L"), box).save(out / label / f"{label}_{k:04d}.png")
        print(label, n, "of", len(candidates[label]))


if __name__ == "__main__":
    main(Path(sys.argv[1]), Path(sys.argv[2]))
