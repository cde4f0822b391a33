"""Build an imbalanced hand-sign image set from the Sign Language Digits Dataset (Turkey Ankara Ayrancı Anadolu
High School students; Apache-2.0; https://github.com/ardamavi/Sign-Language-Digits-Dataset): 100x100 RGB photos of
a hand showing the digits 0-9, about 205 per digit. The classes are thinned to a long tail, as a client's data is:
205, 150, 110, 80, 60, 45, 35, 25, 20, 15 images for digits 0-9 (745 in all), sampled with a fixed seed.

Get the data:  git clone https://github.com/ardamavi/Sign-Language-Digits-Dataset   (or the tool library's fetch)
Run:           python bench/data/sign_digits.py REPO_DIR OUT_DIR [--balanced]
REPO_DIR is a work tree or a bare snapshot (read with `git show`).
"""
from __future__ import annotations

import argparse
import random
import subprocess
from pathlib import Path

COUNTS = [205, 150, 110, 80, 60, 45, 35, 25, 20, 15]


def listing(repo: Path) -> list[str]:
    out = subprocess.run(["git", "-C", str(repo), "ls-tree", "-r", "--name-only", "HEAD", "Dataset"],
                         capture_output=True, text=True, check=True).stdout
    return [p for p in out.splitlines() if p.lower().endswith((".jpg", ".jpeg", ".png"))]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("repo", type=Path)
    parser.add_argument("out", type=Path)
    parser.add_argument("--balanced", action="store_true", help="keep every image (about 205 per digit)")
    args = parser.parse_args()
    rng = random.Random(0)
    files = listing(args.repo)
    for digit in range(10):
        mine = sorted(p for p in files if p.split("/")[1] == str(digit))
        keep = mine if args.balanced else rng.sample(mine, min(len(mine), COUNTS[digit]))
        (args.out / str(digit)).mkdir(parents=True, exist_ok=True)
        for p in keep:
            blob = subprocess.run(["git", "-C", str(args.repo), "show", f"HEAD:{p}"], capture_output=True,
                                  check=True).stdout
            (args.out / str(digit) / Path(p).name).write_bytes(blob)
        print(digit, len(keep))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
