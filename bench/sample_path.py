"""The sample path: send a small labelled sample, get a band for the whole project. For each data set: draw a
sample of N labelled examples per class (seeded), run `tladvisor evidence SAMPLE --no-rank --target-per-class T`
(T = the full data's examples per class), and compare `calibrated.target_band` with the test accuracy the full
run measured (read from that data set's bench results file).

    python bench/sample_path.py [--per-class 30] [--pcb DIR] [--text DIR] [--rerun-full NAME ...]

(--rerun-full: for these data sets the full run is not read from a results file but run here, `tladvisor train
DATA` with the default auto plan and CPU budget, so its backbone is the one today's plan picks, the same one the
evidence measures with: many-class English text trains on MPNet, whose references in the results files are MiniLM.)

(--pcb: the imbalanced DeepPCB crops built by bench/data/deeppcb_patches.py; the project's 200 per class is its
average, the sample is balanced, and the full run is the auto plan of bench/results/imbalanced_images.json.)

(--text: the CSVs built by bench/data/text_sets.py; the full runs are the auto plans of
bench/results/text_intents.json: see bench/data/SOURCES.md for the two commands that produce them.)

Writes bench/results/sample_path.json and sample_path.md.
"""
from __future__ import annotations

import argparse
import csv
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data"
sys.path.insert(0, str(ROOT / "bench"))

# data set -> (data, full-run examples per class, results file, key of the full run's test accuracy)
SETS = {
    "neu-cls": (SHARED / "neu_surface_defect", 240, "bench/results/vision_neu.json", "rows.linear_probe_fp32.test_accuracy"),
    "banking77": (SHARED / "banking77" / "train.csv", 130, "bench/results/text_banking77.json", "rows.auto_full.test_accuracy"),
}
TEST_FILES = {"banking77": SHARED / "banking77" / "test.csv"}  # a full run re-run here keeps the official test split
TEXT_SETS = ("clinc150", "hwu64", "snips", "tubespam", "counterfactual_de", "counterfactual_en")  # text_sets.py


def per_class(csv_path: Path) -> int:
    """A CSV's examples per class (its average): the project's volume the sample's band forecasts."""
    labels = [r["label"] for r in csv.DictReader(csv_path.open(encoding="utf-8"))]
    return round(len(labels) / len(set(labels)))


def sample(data: Path, per_class: int, dst: Path, seed: int = 0) -> Path:
    rng = random.Random(seed)
    if data.is_dir():
        for cls in sorted(p for p in data.iterdir() if p.is_dir()):
            files = sorted(cls.iterdir())
            (dst / cls.name).mkdir(parents=True)
            for f in rng.sample(files, min(per_class, len(files))):
                (dst / cls.name / f.name).symlink_to(f)
        return dst
    rows = list(csv.DictReader(data.open(encoding="utf-8")))
    by: dict[str, list] = {}
    for r in rows:
        by.setdefault(r["label"], []).append(r)
    out = dst.with_suffix(".csv")
    with out.open("w", newline="", encoding="utf-8") as fh:
        w = csv.DictWriter(fh, fieldnames=["text", "label"])
        w.writeheader()
        for label in sorted(by):
            for r in rng.sample(by[label], min(per_class, len(by[label]))):
                w.writerow({"text": r["text"], "label": label})
    return out


def full_run_here(data: Path, test: "Path | None") -> tuple[float, str, str, dict]:
    """(test accuracy, backbone, what ran, detail) of `tladvisor train DATA` with the default plan and budget;
    the detail has each stage's test accuracy and seconds, the wall time and the budget's notes."""
    from cli_train import train_cli

    with tempfile.TemporaryDirectory() as tmp:
        res, wall, stderr = train_cli(data, Path(tmp) / "run", *(["--test", str(test)] if test else []),
                                      env={"TLADVISOR_CACHE": str(Path(tmp) / "c")})
    if res is None:
        raise RuntimeError(f"full run of {data} failed: {stderr[-800:]}")
    stages = "+".join(s.get("stage", "?") for s in res["stage_results"])
    detail = {"wall_s": round(wall, 1), "budget_estimate_s": res["config"].get("budget_estimate_s"),
              "budget": res["metrics"].get("budget"),
              "stages": {s.get("stage", "?"): {"test_accuracy": s.get("test_accuracy"),
                                               "seconds": s.get("stage_seconds"), "epochs_run": s.get("epochs_run")}
                         for s in res["stage_results"]}}
    return (float(res["metrics"]["accuracy"]), res["config"]["backbone"],
            f"run here: tladvisor train (default plan: {stages}, kept {res['metrics'].get('best_stage')}; "
            f"{res['config']['backbone']}, {wall:.0f} s)", detail)


def main() -> int:
    from outcomes import lookup

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--per-class", type=int, default=30)
    parser.add_argument("--pcb", type=Path, help="imbalanced DeepPCB crops (bench/data/deeppcb_patches.py)")
    parser.add_argument("--text", type=Path, help="the text sets' CSVs (bench/data/text_sets.py)")
    parser.add_argument("--rerun-full", nargs="*", default=[], metavar="NAME",
                        help="run these data sets' full default-plan training here instead of reading a results file")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results")
    args = parser.parse_args()
    sets = dict(SETS)
    if args.pcb:
        sets["deeppcb-imbalanced"] = (args.pcb, 200, "bench/results/imbalanced_images.json",
                                      "rows[pcb/auto/after].accuracy")
    if args.text:
        for name in TEXT_SETS:
            if (args.text / f"{name}.csv").exists():
                sets[name] = (args.text / f"{name}.csv", per_class(args.text / f"{name}.csv"),
                              "bench/results/text_intents.json", f"rows[{name}/auto/].accuracy")
    rows = []
    for name, (data, full_pc, results, key) in sets.items():
        with tempfile.TemporaryDirectory() as tmp:
            s = sample(data, args.per_class, Path(tmp) / "sample")
            t0 = time.perf_counter()
            proc = subprocess.run([sys.executable, "-m", "tladvisor", "evidence", str(s), "--no-rank", "--json",
                                   "--target-per-class", str(full_pc), "--out", str(Path(tmp) / "ev")],
                                  capture_output=True, text=True, cwd=ROOT,
                                  env={**os.environ, "HF_HUB_OFFLINE": "1", "TLADVISOR_CACHE": str(Path(tmp) / "c")})
            seconds = time.perf_counter() - t0
        if proc.returncode != 0:
            rows.append({"data": name, "error": proc.stderr[-1500:]})
            continue
        ev = json.loads(proc.stdout)
        cal = ev["calibrated"]
        if name in args.rerun_full:
            full, full_backbone, full_run, detail = full_run_here(data, TEST_FILES.get(name))
        else:
            full = float(lookup(json.loads((ROOT / results).read_text()), key))
            full_backbone, full_run, detail = None, f"{results}: {key}", None
        lo, hi = cal["target_band"]
        rows.append({"data": name, "sample_per_class": args.per_class, "target_per_class": full_pc,
                     "band": [lo, hi], "width_points": round((hi - lo) * 100, 1), "full_run_test_accuracy": full,
                     "inside": lo <= full <= hi, "seconds": round(seconds, 1), "evidence_backbone": ev["backbone"],
                     "full_run_backbone": full_backbone, "full_run": full_run,
                     **({"full_run_detail": detail} if detail else {})})
        print(json.dumps(rows[-1]), flush=True)
    payload = {"command": f"python bench/sample_path.py --per-class {args.per_class}"
                          + (" --pcb DIR" if args.pcb else "") + (" --text DIR" if args.text else "")
                          + (f" --rerun-full {' '.join(args.rerun_full)}" if args.rerun_full else ""),
               "rows": rows}
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "sample_path.json").write_text(json.dumps(payload, indent=2))
    lines = ["# The sample path: a band for the project from a small sample", "",
             f"`{payload['command']}`: `tladvisor evidence SAMPLE --no-rank --target-per-class T` on a seeded sample, "
             "against the full run's test accuracy (a different, larger test split).", "",
             "| data | sample / class | project / class | backbone | band for the project | width | full run test acc. | inside | seconds |",
             "|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        if "error" in r:
            lines.append(f"| {r['data']} | failed: {r['error'][-150:]} | | | | | | | |")
            continue
        lines.append(f"| {r['data']} | {r['sample_per_class']} | {r['target_per_class']} | {r['evidence_backbone']} | "
                     f"{r['band'][0]:.1%}-"
                     f"{r['band'][1]:.1%} | {r['width_points']} pts | {r['full_run_test_accuracy']:.1%} | "
                     f"{'yes' if r['inside'] else 'no'} | {r['seconds']} |")
    (args.out / "sample_path.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
