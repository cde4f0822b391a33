"""What the default CPU time budget costs: `tladvisor train` on ~1,000 images with the default budget (10 minutes
on a machine without a GPU) against the same command with no budget and with a tight 2-minute budget, same
data, same split, one run after the other on the same machine.

    python bench/budget_cpu.py [--data DIR] [--per-class 167]    # NEU-CLS subset by default

Writes bench/results/budget_cpu.json and budget_cpu.md.
"""
from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

from cli_train import train_cli

ROOT = Path(__file__).resolve().parents[1]
NEU = ROOT.parent / "shared" / "data" / "neu_surface_defect"


def subset(src: Path, dst: Path, per_class: int) -> int:
    """The first `per_class` images of each class (sorted names), linked, not copied."""
    n = 0
    for cls in sorted(p for p in src.iterdir() if p.is_dir()):
        (dst / cls.name).mkdir(parents=True)
        for f in sorted(cls.iterdir())[:per_class]:
            (dst / cls.name / f.name).symlink_to(f)
            n += 1
    return n


def run(data: Path, out: Path, budget: str, cache: Path) -> dict:
    res, wall, stderr = train_cli(data, out, "--budget", budget, env={"TLADVISOR_CACHE": str(cache)})
    if res is None:
        return {"error": stderr[-2000:]}
    m = res["metrics"]
    plan_line = next((line for line in stderr.splitlines() if line.startswith("Advisor:")), "")
    return {"budget": budget, "wall_s": round(wall, 1), "accuracy": m["accuracy"], "macro_f1": m["macro_f1"],
            "errors": m["errors"], "n_test": m["n"], "kept": m["best_stage"], "plan": plan_line,
            "stages": [{"stage": s["stage"], "epochs_run": s.get("epochs_run"), "seconds": s.get("stage_seconds"),
                        "val_macro_f1": s.get("val_macro_f1"), "test_accuracy": s.get("test_accuracy"),
                        "stopped_by_budget": s.get("stopped_by_budget", False)} for s in res["stage_results"]],
            "budget_notes": (m.get("budget") or {}).get("notes", [])}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=NEU)
    parser.add_argument("--per-class", type=int, default=167)
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results")
    args = parser.parse_args()
    import torch

    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        n = subset(args.data, work / "data", args.per_class)
        rows = [run(work / "data", work / "default", "10", work / "cache-a"),
                run(work / "data", work / "unlimited", "0", work / "cache-b"),
                run(work / "data", work / "tight", "2", work / "cache-c")]
    payload = {"command": f"python bench/budget_cpu.py --per-class {args.per_class}", "data": args.data.name,
               "images": n, "cpu_threads": torch.get_num_threads(), "rows": rows}
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "budget_cpu.json").write_text(json.dumps(payload, indent=2))
    lines = ["# The default CPU time budget: what it costs", "",
             f"`{payload['command']}`: {n} images of {args.data.name}, {payload['cpu_threads']} CPU threads, same "
             "split, one run after the other, each from an empty feature cache.", "",
             "| budget | wall | test accuracy | macro-F1 | kept | stages (epochs run, seconds) | plan before training |",
             "|---|---|---|---|---|---|---|"]
    for r in rows:
        if "error" in r:
            lines.append(f"| {r.get('budget')} | failed | | | | {r['error'][-200:]} |")
            continue
        stages = "; ".join(f"{s['stage']} ({s['epochs_run'] or '-'}, {s['seconds']} s"
                           + (", stopped by budget" if s["stopped_by_budget"] else "") + ")" for s in r["stages"])
        lines.append(f"| {'none' if r['budget'] == '0' else r['budget'] + ' min'} | {r['wall_s'] / 60:.1f} min | "
                     f"{r['accuracy']:.4f} | {r['macro_f1']:.4f} | {r['kept']} | {stages} | "
                     f"{r['plan'].split('plan ')[-1]}{'; ' + '; '.join(r['budget_notes']) if r['budget_notes'] else ''} |")
    (args.out / "budget_cpu.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
