"""The time estimate a user reads before training against the run's wall time, on the same machine, one run after
the other: images of small and large source size, a probe, a fixed LoRA run, a few-class text set under the default
plan. The estimate (`budget_estimate_s` in the run's config) is what the CLI prints and the model card reports.

Run:  python bench/estimate_vs_actual.py [--snips /work/gathered/text/snips.csv]
      (NEU-CLS from ../shared/data; SNIPS as rebuilt by bench/data/text_sets.py; the photos are generated)
Writes bench/results/estimate_vs_actual.{json,md} (or NAME.{json,md} with --out NAME: one file per CPU kind).
"""
from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path

from budget_cpu import NEU, subset
from cli_train import train_cli
from pipeline_speed import make_data

from tladvisor.advice.hardware import cpu_kind

HERE = Path(__file__).resolve().parent


def run(name: str, data: Path, work: Path, *flags: str) -> dict:
    """One CLI run from an empty feature cache: the estimate it printed and the wall time seen from outside."""
    out = work / f"run-{name}"
    res, wall, stderr = train_cli(data, out, *flags, env={"TLADVISOR_CACHE": str(work / f"cache-{name}")})
    plan = next((line for line in stderr.splitlines() if line.startswith("Advisor:")), "")
    if res is None:
        return {"name": name, "error": stderr[-400:], "plan": plan}
    config = json.loads((Path(res["run_dir"]) / "config.json").read_text())
    est = config.get("budget_estimate_s")
    return {"name": name, "flags": " ".join(flags), "estimate_s": est, "wall_s": round(wall, 1),
            "ratio": round(wall / est, 2) if est else None, "accuracy": round(res["metrics"]["accuracy"], 4),
            "stages": [(s["stage"], s.get("epochs_run"), s.get("stage_seconds")) for s in res["stage_results"]],
            "plan": plan}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--snips", default="/work/gathered/text/snips.csv")
    ap.add_argument("--out", default="estimate_vs_actual", help="results file name (without extension)")
    args = ap.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        neu = work / "neu1002"
        subset(NEU, neu, 167)
        make_data(work / "photos", 400, 3000)
        jobs = [("neu_probe", neu, "--strategy", "linear_probe"),
                ("neu_lora_3_epochs", neu, "--strategy", "lora", "--epochs", "3"),
                ("photos_3000px_probe", work / "photos", "--strategy", "linear_probe")]
        if Path(args.snips).exists():
            jobs.append(("snips_default_plan", Path(args.snips)))
        for name, data, *flags in jobs:
            rows.append(run(name, data, work, *flags))
            print(json.dumps(rows[-1]), flush=True)
    meta = {"command": "python bench/estimate_vs_actual.py"
                       + (f" --out {args.out}" if args.out != "estimate_vs_actual" else ""),
            "date": time.strftime("%Y-%m-%d"), "cpu_threads": os.cpu_count(), "cpu_kind": cpu_kind()}
    out = HERE / "results"
    (out / f"{args.out}.json").write_text(json.dumps({"meta": meta, "rows": rows}, indent=2) + "\n")
    lines = ["# Time estimate before training vs the run's wall time", "",
             f"`{meta['command']}` ({meta['date']}, {meta['cpu_threads']} CPU threads, CPU kind {meta['cpu_kind']}, precision auto, default "
             "10-minute budget, empty feature cache per run). Estimate = what the CLI printed before training "
             "(the run config's `budget_estimate_s`); wall = the whole command, start-up included.", "",
             "| run | flags | estimate s | wall s | wall / estimate | test acc | stages (epochs, s) |",
             "|---|---|---|---|---|---|---|"]
    for r in rows:
        if "error" in r:
            lines.append(f"| {r['name']} | error: {r['error'][-120:]} ||||||")
            continue
        stages = "; ".join(f"{s} ({e if e is not None else '-'}, {t})" for s, e, t in r["stages"])
        lines.append(f"| {r['name']} | {r['flags'] or '(default plan)'} | {r['estimate_s']} | {r['wall_s']} | "
                     f"{r['ratio']} | {r['accuracy']} | {stages} |")
    (out / f"{args.out}.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
