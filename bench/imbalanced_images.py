"""Does fine-tuning pay on imbalanced, subtle image data? The linear probe (`--strategy linear_probe`) beside the
default `auto` plan (probe, then the advisor's fine-tuning stages, kept only when they beat the probe on
validation macro-F1) on the same split, with the default CPU time budget; test accuracy and macro-F1.

Data: image folders (class/*.png) or text CSVs (text,label; e.g. the intent sets of bench/data/intent_sets.py). The imbalanced PCB set is built by bench/data/deeppcb_patches.py (DeepPCB,
MIT licence): ok 800 and six defect types from 200 down to 40.

Run:  python bench/imbalanced_images.py NAME=DIR [NAME=DIR ...] [--out imbalanced_images] [--label TEXT]
Writes bench/results/OUT.json and OUT.md (rows are appended under --label, so a before / after pair can share
one table).
"""
from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

from cli_train import train_cli

HERE = Path(__file__).resolve().parent


def run(data: str, strategy: str, out: Path) -> dict:
    res, wall, stderr = train_cli(data, out, "--strategy", strategy)
    if res is None:
        return {"strategy": strategy, "error": stderr[-800:]}
    m = res["metrics"]
    stages = {s["stage"]: round(s.get("val_macro_f1", 0), 4) for s in res["stage_results"]}
    return {"strategy": strategy, "accuracy": round(m["accuracy"], 4), "macro_f1": round(m["macro_f1"], 4),
            "kept": m.get("best_stage"), "val_macro_f1": stages, "wall_s": round(wall, 1), "n_test": m["n"],
            "budget": (m.get("budget") or {}).get("notes")}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("sets", nargs="+", help="NAME=DIR")
    ap.add_argument("--out", default="imbalanced_images")
    ap.add_argument("--label", default="current")
    ap.add_argument("--strategies", default="linear_probe,auto")
    ap.add_argument("--title", default="Fine-tuning on imbalanced image data: probe vs the auto plan")
    args = ap.parse_args()
    path = HERE / "results" / f"{args.out}.json"
    doc = json.loads(path.read_text()) if path.exists() else {"rows": []}
    doc["rows"] = [r for r in doc["rows"] if r["label"] != args.label]
    with tempfile.TemporaryDirectory() as tmp:
        for spec in args.sets:
            name, data = spec.split("=", 1)
            for strategy in args.strategies.split(","):
                row = {"label": args.label, "setting": f"{name}/{strategy}/{args.label.split()[0]}", "data": name,
                       **run(data, strategy, Path(tmp) / f"{name}_{strategy}"), "date": time.strftime("%Y-%m-%d")}
                print(row, flush=True)
                doc["rows"].append(row)
                path.write_text(json.dumps(doc, indent=2) + "\n")
    write_md(doc, args.out, args.title)


def write_md(doc: dict, out: str, title: str) -> None:
    """bench/results/OUT.md from the rows of OUT.json."""
    lines = [f"# {title}", "",
             f"`python bench/imbalanced_images.py ... --out {out} --label LABEL`; 2 CPU threads, default CPU time "
             "budget (10 min), the product's stratified split. Macro-F1 weighs every class alike: the rare defects "
             "count.", "",
             "| label | data | strategy | kept stage | test acc | test macro-F1 | val macro-F1 per stage | wall s |",
             "|---|---|---|---|---|---|---|---|"]
    for r in doc["rows"]:
        lines.append(f"| {r['label']} | {r['data']} | {r['strategy']} | {r.get('kept', '-')} | {r.get('accuracy', '-')} "
                     f"| {r.get('macro_f1', '-')} | {r.get('val_macro_f1', r.get('error', ''))} | {r.get('wall_s', '-')} |")
    (HERE / "results" / f"{out}.md").write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
