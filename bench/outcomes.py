"""Reproduce this project's own rows of knowledge/outcomes.yaml.

Each own row names its source (a bench command and its results file) and the `key` of its value in that file.
By default this script reads every results file and checks that each own row's value matches it (to the
table's three decimals); `--run` first re-runs the bench commands that produce them (hours on a 2-core CPU;
the data each needs is named in the source's `data` and in bench/data/SOURCES.md).

    python bench/outcomes.py            # check the table against bench/results/
    python bench/outcomes.py --run      # re-measure, then check
    python bench/outcomes.py --curves   # re-measure the learning curves (bench/results/learning_curves.json)

The learning-curve rows are the product's own `tladvisor evidence` curve: a linear probe on frozen features
fitted on nested per-class subsets of each training fold of a 5-fold cross-validation (2 seeds), scored on every
example once; each point is the mean over seeds.
"""
from __future__ import annotations

import argparse
import json
import re
import shlex
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tladvisor.advice.outcomes import load_outcomes  # noqa: E402

_PART = re.compile(r"([^.\[]+)(?:\[([^\]]+)\])?")
SHARED = ROOT.parent / "shared" / "data"
CURVES = {  # data set -> the data `tladvisor evidence` measures its learning curve on
    "neu-cls": SHARED / "neu_surface_defect",
    "banking77": SHARED / "banking77" / "train.csv",
}


def measure_curves(out: Path) -> None:
    """Run `tladvisor evidence --no-rank` on each CURVES data set; keep its curve points (per class -> mean)."""
    import tempfile

    results = {}
    for name, data in CURVES.items():
        with tempfile.TemporaryDirectory() as tmp:
            cmd = [sys.executable, "-m", "tladvisor", "evidence", str(data), "--no-rank", "--out", tmp]
            print("$", " ".join(cmd[1:]), flush=True)
            subprocess.run(cmd, cwd=ROOT, check=True)
            ev = json.loads((Path(tmp) / "evidence.json").read_text())
        results[name] = {"command": f"tladvisor evidence {data.relative_to(ROOT.parent)} --no-rank",
                         "backbone": ev["backbone"], "eval_examples": ev["curve"]["eval_examples"],
                         "points": {str(round(p["per_class"])): round(p["accuracy_mean"], 4)
                                    for p in ev["curve"]["points"]}}
    out.write_text(json.dumps(results, indent=2) + "\n")


def lookup(data: Any, key: str) -> Any:
    """`rows.auto_full.stages[lora].test_accuracy`: dict keys; `[name]` picks the list item whose stage / pair /
    setting / data starts with name."""
    for name, pick in _PART.findall(key):
        data = data[name]
        if pick:
            data = next(item for item in data
                        if str(item.get("stage") or item.get("pair") or item.get("setting") or item.get("data")
                            or "").startswith(pick))
    return data


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--run", action="store_true", help="re-run the bench commands first (needs their data)")
    parser.add_argument("--curves", action="store_true", help="re-measure the learning curves first")
    args = parser.parse_args()
    if args.curves:
        measure_curves(ROOT / "bench" / "results" / "learning_curves.json")
    table = load_outcomes()
    own = {k: s for k, s in table.sources.items() if s.kind == "own"}
    if args.run:
        for key, src in own.items():
            if "DIR" in src.command:
                print(f"{key}: run by hand with the data folder for DIR: {src.command}")
                continue
            print(f"$ {src.command}", flush=True)
            subprocess.run(shlex.split(src.command), cwd=ROOT, check=True)
    bad = 0
    for row in table.rows:
        src = own.get(row.source)
        if src is None:
            continue
        measured = float(lookup(json.loads((ROOT / src.results).read_text()), row.key))
        ok = abs(measured - row.value) <= 0.0005 + 1e-9
        bad += not ok
        print(f"{'ok ' if ok else 'BAD'} {row.dataset:45s} {row.strategy:17s} {row.metric:9s} table {row.value:.3f}  "
              f"measured {measured:.4f}  ({src.results})")
    published = sum(1 for r in table.rows if table.sources[r.source].kind == "published")
    datasets = len({r.dataset for r in table.rows})
    print(f"\n{len(table.rows)} rows ({published} published, {len(table.rows) - published} own) on {datasets} data sets; "
          f"{bad} own rows disagree with their results files")
    return 1 if bad else 0


if __name__ == "__main__":
    raise SystemExit(main())
