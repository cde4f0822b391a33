"""Leave-one-data-set-out check of the expectation band (tladvisor/advice/band_model.py).

For every data set (or group of rows sharing source data) in knowledge/outcomes.yaml: fit the band model on
the others, take its spread from leave-one-data-set-out residuals among those others (nested, so the held-out
set never shapes its own band), and ask whether each of its measured accuracies falls inside its band.
Reports coverage (rows and data sets) and the median width, with and without the difficulty field.

    python bench/band_calibration.py            # writes bench/results/band_calibration.{json,md}
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tladvisor.advice import band_model as bm  # noqa: E402
from tladvisor.advice.outcomes import load_outcomes  # noqa: E402


def evaluate(with_difficulty: bool) -> dict:
    rows = bm.usable_rows(load_outcomes().rows)
    units = sorted({r.held_out_as for r in rows})
    per_row = []
    for unit in units:
        train = [r for r in rows if r.held_out_as != unit]
        model, marginal = bm.fit(train, True), bm.fit(train, False)
        for r in rows:
            if r.held_out_as != unit:
                continue
            facts = bm.facts_of(r) if with_difficulty else replace(bm.facts_of(r), difficulty=None)
            lo, point, hi = bm.band(facts, model, marginal)
            per_row.append({"dataset": r.dataset, "unit": unit, "modality": r.modality, "strategy": r.strategy,
                            "per_class": r.per_class, "classes": r.classes, "difficulty": r.difficulty,
                            "measured": r.value, "low": round(lo, 4), "point": round(point, 4), "high": round(hi, 4),
                            "inside": lo <= r.value <= hi, "width_points": round((hi - lo) * 100, 1)})
    by_unit: dict[str, list[bool]] = {}
    for p in per_row:
        by_unit.setdefault(p["unit"], []).append(p["inside"])
    return {
        "with_difficulty": with_difficulty,
        "rows": len(per_row),
        "data_sets": len(units),
        "row_coverage": round(sum(p["inside"] for p in per_row) / len(per_row), 3),
        "data_set_coverage": round(statistics.mean(sum(v) / len(v) for v in by_unit.values()), 3),
        "median_width_points": statistics.median(p["width_points"] for p in per_row),
        "per_modality": {m: {"rows": len(ps), "coverage": round(sum(p["inside"] for p in ps) / len(ps), 3),
                             "median_width_points": statistics.median(p["width_points"] for p in ps)}
                         for m in ("image", "text") if (ps := [p for p in per_row if p["modality"] == m])},
        "detail": per_row,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", default=str(ROOT / "bench" / "results"))
    args = parser.parse_args()
    results = [evaluate(True), evaluate(False)]
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    payload = {"command": "python bench/band_calibration.py", "target": "coverage >= 0.80, median width <= 20 points",
               "table": "knowledge/outcomes.yaml", "results": results}
    (out / "band_calibration.json").write_text(json.dumps(payload, indent=2))
    lines = ["# Expectation band: leave-one-data-set-out calibration", "",
             f"`{payload['command']}` on `{payload['table']}` (accuracy rows of image and text classification; each "
             "held-out data set's band comes from a model and a residual spread fitted without it). Target: "
             f"{payload['target']}.", "",
             "| model | rows | data sets | row coverage | data-set coverage | median width (points) | image | text |",
             "|---|---|---|---|---|---|---|---|"]
    for r in results:
        mods = r["per_modality"]
        cell = lambda m: (f"{mods[m]['coverage']:.0%} cov., {mods[m]['median_width_points']:.1f} pts"  # noqa: E731
                          if m in mods else "")
        lines.append(f"| {'with difficulty' if r['with_difficulty'] else 'difficulty unknown'} | {r['rows']} | "
                     f"{r['data_sets']} | {r['row_coverage']:.0%} | {r['data_set_coverage']:.0%} | "
                     f"{r['median_width_points']:.1f} | {cell('image')} | {cell('text')} |")
    lines += ["", "Rows outside their band (with difficulty):", "", "| data set | strategy | measured | band |",
              "|---|---|---|---|"]
    lines += [f"| {p['dataset']} | {p['strategy']} | {p['measured']:.3f} | {p['low']:.3f}-{p['high']:.3f} |"
              for p in results[0]["detail"] if not p["inside"]]
    (out / "band_calibration.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines[:8 + len(results)]))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
