"""Where a linear-probe run's time goes: embedding every example vs fitting the head (choosing C by
cross-validation, class weighting, the final fit), per data set, from `tladvisor train --strategy linear_probe`
with an empty feature cache. Issue 16's target: the head fit at most 25% of the embedding time.

Run:  python bench/probe_fit.py NAME=DATA [NAME=DATA ...] [--test NAME=TEST ...] [--out probe_fit]
Writes bench/results/OUT.json and OUT.md.
"""
from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

from cli_train import train_cli

HERE = Path(__file__).resolve().parent


def measure(data: str, test: "str | None", work: Path) -> dict:
    """One probe run: wall, probe stage, embedding and head-fit seconds, test accuracy."""
    cache = Path(tempfile.mkdtemp(prefix="cache-", dir=work))
    flags = ["--strategy", "linear_probe"] + (["--test", test] if test else [])
    res, wall, stderr = train_cli(data, work / f"run-{cache.name}", *flags, env={"TLADVISOR_CACHE": str(cache)})
    if res is None:
        return {"error": stderr[-500:]}
    stage = res["stage_results"][0]
    emb = float(stage["embedding"]["seconds"])
    fit = float(stage["seconds"]) - emb
    return {"examples": stage["embedding"]["computed"],
            "wall_s": round(wall, 1), "probe_s": round(float(stage["seconds"]), 1), "embedding_s": round(emb, 1),
            "fit_s": round(fit, 1), "fit_over_embedding": round(fit / emb, 2) if emb else None, "C": stage.get("C"),
            "accuracy": round(res["metrics"]["accuracy"], 4)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("sets", nargs="+", help="NAME=DATA")
    ap.add_argument("--test", nargs="*", default=[], help="NAME=TEST: a separate test file for that set")
    ap.add_argument("--out", default="probe_fit")
    args = ap.parse_args()
    tests = dict(t.split("=", 1) for t in args.test)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for spec in args.sets:
            name, data = spec.split("=", 1)
            row = {"data": name, **measure(data, tests.get(name), Path(tmp)), "date": time.strftime("%Y-%m-%d")}
            print(json.dumps(row), flush=True)
            rows.append(row)
    doc = {"command": "python bench/probe_fit.py " + " ".join(f"{s.split('=')[0]}=..." for s in args.sets),
           "rows": rows}
    out = HERE / "results"
    (out / f"{args.out}.json").write_text(json.dumps(doc, indent=2) + "\n")
    lines = ["# Linear probe: embedding vs head fit", "",
             f"`{doc['command']}` (2 CPU threads, precision auto, empty feature cache). Target (issue 16): head fit "
             "<= 25% of the embedding time.", "",
             "| data | examples embedded | C | test acc | embedding s | head fit s | fit / embedding | probe s | wall s |",
             "|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        if "error" in r:
            lines.append(f"| {r['data']} | error: {r['error'][-120:]} |||||||| ")
            continue
        lines.append(f"| {r['data']} | {r['examples']} | {r['C']} | {r['accuracy']} | {r['embedding_s']} | "
                     f"{r['fit_s']} | {r['fit_over_embedding']} | {r['probe_s']} | {r['wall_s']} |")
    (out / f"{args.out}.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
