"""Two-class text tasks (the most common client shape) on real data: pairs of BANKING77 intents, from clearly
different (card arrival vs lost or stolen card) to near-synonyms (card arrival vs card delivery estimate), each
trained with the advisor's own plan through the CLI (`tladvisor train FILE.csv`), on all of the pair's BANKING77
training queries, tested on the pair's official BANKING77 test queries (`--test`).

Run:  python bench/two_class_text.py [--pairs N]
Writes bench/results/two_class_text.json and two_class_text.md. Reads ../shared/data/banking77 (CC BY 4.0).
"""
from __future__ import annotations

import argparse
import csv
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
DATA = HERE.parent.parent / "shared" / "data" / "banking77"
PAIRS = [("card_arrival", "lost_or_stolen_card", "different topics"),
         ("exchange_rate", "top_up_failed", "different topics"),
         ("card_arrival", "card_delivery_estimate", "near-synonyms"),
         ("top_up_failed", "top_up_reverted", "near-synonyms"),
         ("transfer_not_received_by_recipient", "pending_transfer", "near-synonyms")]


def _rows(path: Path, labels: tuple[str, str]) -> list[dict]:
    with open(path, newline="", encoding="utf-8") as fh:
        return [r for r in csv.DictReader(fh) if r["label"] in labels]


def _write(path: Path, rows: list[dict]) -> Path:
    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.DictWriter(fh, fieldnames=["text", "label"])
        w.writeheader()
        w.writerows({"text": r["text"], "label": r["label"]} for r in rows)
    return path


def run_pair(a: str, b: str, work: Path) -> dict:
    train_csv = _write(work / f"{a}-vs-{b}.csv", _rows(DATA / "train.csv", (a, b)))
    test_csv = _write(work / f"{a}-vs-{b}-test.csv", _rows(DATA / "test.csv", (a, b)))
    out = work / f"run-{a}-{b}"
    t0 = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "tladvisor", "train", str(train_csv), "--test", str(test_csv),
                           "--out", str(out), "--json"], capture_output=True, text=True,
                          env={**os.environ, "HF_HUB_OFFLINE": "1"}, timeout=3600)
    seconds = time.perf_counter() - t0
    if proc.returncode != 0:
        return {"pair": f"{a} vs {b}", "error": proc.stderr.strip().splitlines()[-1][:300]}
    res = json.loads(proc.stdout)
    m = res["metrics"]
    return {"pair": f"{a} vs {b}", "train_rows": sum(1 for _ in open(train_csv)) - 1, "test_rows": m["n"],
            "plan": res["config"]["plan"], "kept": m["best_stage"], "accuracy": m["accuracy"],
            "macro_f1": m["macro_f1"], "errors": m["errors"], "seconds": round(seconds, 1),
            "stages": [{"stage": s["stage"], "val_macro_f1": s.get("val_macro_f1"), "test_accuracy":
                        s.get("test_accuracy")} for s in res["stage_results"]]}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--pairs", type=int, default=len(PAIRS))
    args = ap.parse_args()
    if not (DATA / "train.csv").exists():
        print(f"BANKING77 not found at {DATA}; see ../shared/data/banking77/SOURCE.md", file=sys.stderr)
        return 1
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        for a, b, kind in PAIRS[:args.pairs]:
            r = {**run_pair(a, b, Path(tmp)), "kind": kind}
            print(json.dumps(r), flush=True)
            results.append(r)
    out = HERE / "results"
    out.mkdir(exist_ok=True)
    cmd = "python bench/two_class_text.py" + (f" --pairs {args.pairs}" if args.pairs != len(PAIRS) else "")
    (out / "two_class_text.json").write_text(json.dumps({"command": cmd, "cpu_cores": os.cpu_count(),
                                                         "results": results}, indent=2) + "\n")
    lines = ["# Two-class text on real data (BANKING77 intent pairs, official test queries)", "",
             f"`{cmd}`: the advisor's plan through `tladvisor train FILE --test TEST`, {os.cpu_count()} CPU cores.", "",
             "| pair | kind | train rows | test rows | plan | kept | test accuracy | macro-F1 | s |",
             "|---|---|---|---|---|---|---|---|---|"]
    for r in results:
        if "error" in r:
            lines.append(f"| {r['pair']} | {r['kind']} | | | | | error: {r['error']} | | |")
        else:
            lines.append(f"| {r['pair']} | {r['kind']} | {r['train_rows']} | {r['test_rows']} | "
                         f"{' -> '.join(r['plan'])} | {r['kept']} | {r['accuracy']:.2%} | {r['macro_f1']:.3f} | "
                         f"{r['seconds']:.0f} |")
    (out / "two_class_text.md").write_text("\n".join(lines) + "\n")
    return 0 if all("error" not in r for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
