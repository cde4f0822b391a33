"""Leave-one-data-set-out check of the expectation band (tladvisor/advice/band_model.py).

For every data set (or group of rows sharing source data) in knowledge/outcomes.yaml: fit the band model on
the others, take its spread from leave-one-data-set-out residuals among those others (nested, so the held-out
set never shapes its own band), and ask whether each of its measured accuracies falls inside its band.
Reports coverage (rows and data sets) and the median width, with and without the difficulty field, and the
look-alike briefs: pairs of rows from different data sets whose briefs agree (modality, domain distance,
difficulty, probe vs fine-tuning; classes and examples per class within LOOK_ALIKE_RATIO of each other) and how far
apart their measured accuracies are. A band built from the brief alone gives two such rows nearly the same band, so
pairs more than 20 points apart bound how narrow it can be while still covering both. The hindsight ceiling turns
that into one number: if look-alike briefs get the same band, the rows one band of at most 20 points can cover are
an independent set of the graph whose edges are those pairs, so the best coverage any such band can reach, even one
drawn knowing every measured value, is (rows - minimum vertex cover) / rows.

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


LOOK_ALIKE_RATIO = 2.5
WIDTH_TARGET = 0.20


def look_alike_pairs(rows: list) -> list[dict]:
    """Pairs of rows from different data sets with briefs the band model cannot tell apart, widest gap first."""
    pairs = []
    for i, a in enumerate(rows):
        for b in rows[i + 1:]:
            fa, fb = bm.facts_of(a), bm.facts_of(b)
            if (a.held_out_as == b.held_out_as
                    or (fa.modality, fa.proximity, fa.difficulty, fa.fine_tunes)
                    != (fb.modality, fb.proximity, fb.difficulty, fb.fine_tunes)
                    or max(fa.per_class, fb.per_class) > LOOK_ALIKE_RATIO * min(fa.per_class, fb.per_class)
                    or max(fa.classes, fb.classes) > LOOK_ALIKE_RATIO * min(fa.classes, fb.classes)):
                continue
            pairs.append({"gap_points": round(abs(a.value - b.value) * 100, 1),
                          "brief": f"{fa.modality}, {fa.proximity}, {fa.difficulty}, "
                                   f"{'fine-tunes' if fa.fine_tunes else 'probe'}",
                          "rows": [{"dataset": r.dataset, "classes": r.classes, "per_class": r.per_class,
                                    "strategy": r.strategy, "measured": r.value} for r in (a, b)]})
    return sorted(pairs, key=lambda p: -p["gap_points"])


def hindsight_ceiling(n_rows: int, far_apart: list[dict]) -> dict:
    """Best row coverage of any band <= WIDTH_TARGET wide that gives look-alike briefs the same band."""
    import networkx as nx  # exact maximum independent set of a ~40-node graph; networkx ships with torch

    graph = nx.Graph()
    for p in far_apart:
        graph.add_edge(*(f"{r['dataset']}|{r['strategy']}|{r['per_class']}|{r['measured']}" for r in p["rows"]))
    largest_free = max((len(c) for c in nx.find_cliques(nx.complement(graph))), default=0)
    must_miss = graph.number_of_nodes() - largest_free
    return {"rows": n_rows, "rows_in_far_pairs": graph.number_of_nodes(), "must_miss": must_miss,
            "max_coverage": round((n_rows - must_miss) / n_rows, 3)}


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
                            "inside": lo <= r.value <= hi, "width_points": round((hi - lo) * 100, 1),
                            # the same point estimate with a band cut to the target width, for the trade-off
                            "inside_at_target_width": abs(r.value - point) <= WIDTH_TARGET / 2})
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
        "row_coverage_at_target_width": round(sum(p["inside_at_target_width"] for p in per_row) / len(per_row), 3),
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
    pairs = look_alike_pairs(bm.usable_rows(load_outcomes().rows))
    far_apart = [p for p in pairs if p["gap_points"] > WIDTH_TARGET * 100]
    ceiling = hindsight_ceiling(results[0]["rows"], far_apart)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    payload = {"command": "python bench/band_calibration.py", "target": "coverage >= 0.80, median width <= 20 points",
               "table": "knowledge/outcomes.yaml", "results": results,
               "look_alike": {"ratio": LOOK_ALIKE_RATIO, "pairs": len(pairs), "over_20_points": len(far_apart),
                              "over_20_points_data_sets": sorted({r["dataset"] for p in far_apart for r in p["rows"]}),
                              "hindsight_ceiling": ceiling, "pairs_detail": far_apart}}
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
    lines += ["", "The same point estimates with every band cut to the target width "
              f"({WIDTH_TARGET * 100:.0f} points, centred): row coverage "
              + ", ".join(f"{r['row_coverage_at_target_width']:.0%} "
                          f"({'with difficulty' if r['with_difficulty'] else 'difficulty unknown'})" for r in results)
              + ".", ""]
    lines += ["Rows outside their band (with difficulty):", "", "| data set | strategy | measured | band |",
              "|---|---|---|---|"]
    lines += [f"| {p['dataset']} | {p['strategy']} | {p['measured']:.3f} | {p['low']:.3f}-{p['high']:.3f} |"
              for p in results[0]["detail"] if not p["inside"]]
    lines += ["", f"Look-alike briefs (same modality, domain distance, difficulty and probe vs fine-tuning; classes and "
              f"examples per class within {LOOK_ALIKE_RATIO}x): {len(pairs)} pairs of rows from different data sets, "
              f"**{len(far_apart)} of them more than {WIDTH_TARGET * 100:.0f} points apart** (measured accuracy), among "
              f"{len(payload['look_alike']['over_20_points_data_sets'])} data sets. If look-alike briefs get the same "
              f"band, a band at most {WIDTH_TARGET * 100:.0f} points wide must miss at least {ceiling['must_miss']} of "
              f"the {ceiling['rows']} rows (a minimum vertex cover of those pairs), so even drawn in hindsight, knowing "
              f"every measured value, it covers at most **{ceiling['max_coverage']:.0%}**; a band fitted without the "
              "held-out data set can only do worse. The widest pairs:", "",
              "| gap (points) | brief | row A | row B |", "|---|---|---|---|"]
    row_text = lambda r: (f"{r['dataset']} ({r['classes']} classes x {r['per_class']:g}, "  # noqa: E731
                          f"{r['strategy']}): {r['measured']:.3f}")
    seen: set[frozenset] = set()
    for p in pairs:  # one line per pair of data sets
        key = frozenset(r["dataset"] for r in p["rows"])
        if key in seen or len(seen) >= 10:
            continue
        seen.add(key)
        lines.append(f"| {p['gap_points']:.1f} | {p['brief']} | {row_text(p['rows'][0])} | {row_text(p['rows'][1])} |")
    (out / "band_calibration.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines[:8 + len(results)]))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
