"""Two-class text tasks (the most common client shape) on real data: pairs of BANKING77 intents, from clearly
different (card arrival vs lost or stolen card) to near-synonyms (card arrival vs card delivery estimate), each
trained with the advisor's own plan through the CLI (`tladvisor train FILE.csv`), on all of the pair's BANKING77
training queries, tested on the pair's official BANKING77 test queries (`--test`).

Also, with `--tubespam DIR`: the YouTube Spam Collection (Alberto et al. 2015; UCI, CC BY 4.0), 1,956 comments,
spam vs ham, in the train / val / test split of github.com/regularized-dp/regularized-data-programming (commit
31b1fcccd6bfc55960aa9878a58d575f404ce6df, data/TubeSpam/TubeSpam_{train,val,test}.csv): trained on train + val,
tested on test. Get it with the search tool's `fetch` (or git clone) and pass the folder holding the three files.

Run:  python bench/two_class_text.py [--pairs N] [--tubespam DIR]
Writes bench/results/two_class_text.json and two_class_text.md. Reads ../shared/data/banking77 (CC BY 4.0).
"""
from __future__ import annotations

import argparse
import csv
import json
import os
import sys
import tempfile
from pathlib import Path

from cli_train import train_cli

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
    return run_files(train_csv, test_csv, work / f"run-{a}-{b}", f"{a} vs {b}")


def run_files(train_csv: Path, test_csv: Path, out: Path, name: str) -> dict:
    res, seconds, stderr = train_cli(train_csv, out, "--test", str(test_csv), timeout=3600)
    if res is None:
        return {"pair": name, "error": (stderr.strip().splitlines() or [""])[-1][:300]}
    m = res["metrics"]
    probe = res["stage_results"][0]
    return {"pair": name, "lexical": probe.get("lexical"), "train_rows": sum(1 for _ in csv.DictReader(open(train_csv, newline="", encoding="utf-8"))), "test_rows": m["n"],
            "plan": res["config"]["plan"], "kept": m["best_stage"], "accuracy": m["accuracy"],
            "macro_f1": m["macro_f1"], "errors": m["errors"], "seconds": round(seconds, 1),
            "stages": [{"stage": s["stage"], "val_macro_f1": s.get("val_macro_f1"), "test_accuracy":
                        s.get("test_accuracy")} for s in res["stage_results"]]}


def run_tubespam(folder: Path, work: Path) -> dict:
    rows = [r for s in ("train", "val") for r in csv.DictReader(open(folder / f"TubeSpam_{s}.csv", newline="",
                                                                      encoding="utf-8"))]
    train_csv = _write(work / "tubespam.csv", [{"text": r["text"], "label": "spam" if r["label"] == "1" else "ham"}
                                               for r in rows])
    test_csv = _write(work / "tubespam-test.csv", [{"text": r["text"], "label": "spam" if r["label"] == "1" else "ham"}
                                                   for r in csv.DictReader(open(folder / "TubeSpam_test.csv", newline="",
                                                                                encoding="utf-8"))])
    return run_files(train_csv, test_csv, work / "run-tubespam", "YouTube spam vs ham")


def _probe_cell(r: dict) -> str:
    acc = r["stages"][0]["test_accuracy"]
    lex = r.get("lexical")
    return (f"{acc:.2%}" + (f", n-grams kept (CV {lex['embedding_cv_macro_f1']:.3f} -> {lex['cv_macro_f1']:.3f})"
                            if lex else ", embedding only"))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--pairs", type=int, default=len(PAIRS))
    ap.add_argument("--tubespam", type=Path, help="folder with TubeSpam_{train,val,test}.csv (see the docstring)")
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
        if args.tubespam:
            r = {**run_tubespam(args.tubespam, Path(tmp)), "kind": "spam (external, CC BY 4.0)"}
            print(json.dumps(r), flush=True)
            results.append(r)
    out = HERE / "results"
    out.mkdir(exist_ok=True)
    cmd = ("python bench/two_class_text.py" + (f" --pairs {args.pairs}" if args.pairs != len(PAIRS) else "")
           + (" --tubespam DIR" if args.tubespam else ""))
    (out / "two_class_text.json").write_text(json.dumps({"command": cmd, "cpu_cores": os.cpu_count(),
                                                         "results": results}, indent=2) + "\n")
    lines = ["# Two-class text on real data (BANKING77 intent pairs on their official test queries; YouTube spam)", "",
             f"`{cmd}`: the advisor's plan through `tladvisor train FILE --test TEST`, {os.cpu_count()} CPU cores.", "",
             "Probe column: the probe's test accuracy, and whether its cross-validation kept the character n-gram "
             "features beside the embedding (CV macro-F1 embedding -> both).", "",
             "| pair | kind | train rows | test rows | plan | kept | probe | test accuracy | macro-F1 | s |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for r in results:
        if "error" in r:
            lines.append(f"| {r['pair']} | {r['kind']} | | | | | | error: {r['error']} | | |")
        else:
            lines.append(f"| {r['pair']} | {r['kind']} | {r['train_rows']} | {r['test_rows']} | "
                         f"{' -> '.join(r['plan'])} | {r['kept']} | {_probe_cell(r)} | {r['accuracy']:.2%} | "
                         f"{r['macro_f1']:.3f} | "
                         f"{r['seconds']:.0f} |")
    (out / "two_class_text.md").write_text("\n".join(lines) + "\n")
    return 0 if all("error" not in r for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
