"""The outcomes table behind the expectation band, and the band fitted on it: every number has a checkable
source, own rows match the bench results that produced them, and the band holds for data sets it never saw."""
from __future__ import annotations

import copy
import json
import subprocess
import sys
from pathlib import Path

import pytest

from tladvisor.advice import band_model as bm
from tladvisor.advice.advisor import advise
from tladvisor.advice.brief import ProjectBrief
from tladvisor.advice.knowledge import load_yaml
from tladvisor.advice.outcomes import OutcomeTable, load_outcomes

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))


def test_table_is_broad_and_every_row_has_a_checkable_source():
    table = load_outcomes()
    assert len(table.rows) >= 60 and len({r.dataset for r in table.rows}) >= 25
    assert {r.modality for r in table.rows} == {"image", "text", "tabular"}
    assert any(r.task == "ner" for r in table.rows)
    assert min(r.classes for r in table.rows) <= 2 and max(r.classes for r in table.rows) >= 100
    assert {r.difficulty for r in table.rows} == {"obvious", "subtle", "expert"}
    per_class = [r.per_class or r.total / r.classes for r in table.rows]  # NER / tabular rows give the total
    assert min(per_class) <= 5 and max(per_class) >= 5000  # few-shot to large (tabular steel energy: 9,344)
    for r in table.rows:
        src = table.sources[r.source]
        if src.kind == "published":
            assert r.printed and r.printed.split(": ")[-1].replace(".", "").isdigit()
            assert abs(float(r.printed.split(": ")[-1]) / 100 - r.value) < 0.0006, r  # the value as printed


def test_own_rows_match_the_bench_results_that_produced_them():
    from outcomes import lookup

    table = load_outcomes()
    for r in table.rows:
        src = table.sources[r.source]
        if src.kind == "own":
            measured = float(lookup(json.loads((ROOT / src.results).read_text()), r.key))
            assert abs(measured - r.value) <= 0.0005 + 1e-9, (r.dataset, r.key, measured)


@pytest.mark.parametrize("break_it, message", [
    (lambda raw: raw["rows"][0].pop("printed"), "printed"),
    (lambda raw: raw["rows"][-1].update(source="nowhere"), "unknown source"),
    (lambda raw: raw["rows"][0].update(value=1.7), "value"),
    (lambda raw: raw["rows"][0].update(difficulty="hard"), "difficulty"),
    (lambda raw: raw["sources"]["vpetl"].pop("where"), "table or figure"),
])
def test_a_row_without_a_checkable_source_is_refused(break_it, message):
    raw = copy.deepcopy(load_yaml("outcomes.yaml"))
    break_it(raw)
    with pytest.raises(ValueError, match=message):
        OutcomeTable(**raw)


def test_band_holds_for_data_sets_it_never_saw():
    """Leave one data set out: its measured accuracies must mostly fall inside the band fitted without it."""
    from band_calibration import evaluate

    known, unknown = evaluate(True), evaluate(False)
    assert known["data_sets"] >= 20
    assert known["data_set_coverage"] >= 0.75 and unknown["data_set_coverage"] >= known["data_set_coverage"]
    assert unknown["median_width_points"] >= known["median_width_points"]  # not knowing costs width


def _brief(**kw) -> ProjectBrief:
    base = dict(task="image-classification", domain="manufacturing", classes=15, per_class=200, commercial=True)
    return ProjectBrief(**{**base, **kw})


def test_difficulty_moves_the_band_and_unknown_is_wider():
    bands = {d: advise(_brief(difficulty=d)).expectation.band for d in ("obvious", "subtle", "expert")}
    unknown = advise(_brief()).expectation
    for lo, hi in bands.values():
        assert unknown.band[0] <= lo and unknown.band[1] >= hi
    assert "difficulty not given (a wider band)" in unknown.adjustments
    text = advise(_brief(task="text-classification", difficulty="expert", domain="medical", classes=5))
    assert any("difficulty expert" in a for a in text.expectation.adjustments)


@pytest.mark.parametrize("kw", [dict(per_class=5), dict(per_class=50), dict(classes=2, per_class=20),
                                dict(task="text-classification", classes=77, per_class=10, domain="finance")])
def test_forecasts_come_from_the_same_model_and_differ(kw):
    exp = advise(_brief(difficulty="subtle", **kw)).expectation
    now, two, five = exp.band, exp.forecast[0].band, exp.forecast[1].band
    assert now[0] < two[0] < five[0], (now, two, five)
    assert len({now, two, five}) == 3


def test_cli_prints_band_as_fractions_and_estimate():
    res = subprocess.run([sys.executable, "-m", "tladvisor", "advise", "--task", "image-classification", "--domain",
                          "manufacturing", "--classes", "15", "--per-class", "200", "--difficulty", "subtle",
                          "--commercial", "--json"], capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stderr
    data = json.loads(res.stdout)
    lo, hi = data["expectation"]["band"]
    assert 0 < lo < hi < 1 and data["brief"]["difficulty"] == "subtle"
    assert data["estimate"]["cpu"]["stages"][0]["seconds"] > 0


def test_band_model_point_follows_the_data():
    f = bm.Facts("image", 10, 100.0, "subtle", "near", True)
    more = bm.Facts("image", 10, 1000.0, "subtle", "near", True)
    assert bm.band(more)[1] > bm.band(f)[1]
    lo, point, hi = bm.band(f)
    assert 0.1 <= lo < point < hi <= 1.0


def test_gpu_estimates_are_measured_per_backbone_and_say_what_they_assume():
    """Every trainable catalogue backbone has a measured one-GPU row; a same-size backbone without its own CPU
    row borrows the nearest measured one, scaled; multi-GPU is quoted as one GPU's upper bound."""
    from tladvisor.advice.advisor import advise
    from tladvisor.advice.brief import ProjectBrief
    from tladvisor.advice.catalogue import load_catalogue
    from tladvisor.advice.estimate import estimates, stage_seconds, throughput

    for b in load_catalogue():
        if b.modality in ("image", "text") and not b.advice_only:
            speed = throughput(b.id, b.modality, "single_gpu")
            assert speed is not None and speed.embed_per_s > 0 and speed.full_per_s
            assert speed.scale == 1.0  # measured (or the same architecture), never scaled on a GPU
    bert_cpu = throughput("finbert", "text", "cpu")
    assert bert_cpu.measured_backbone == "mpnet_base" and bert_cpu.scale < 1.01  # 110M beside MPNet's 109.5M
    xlmr_cpu = throughput("xlm_roberta_base", "text", "cpu")
    assert xlmr_cpu.measured_backbone == "mpnet_base" and xlmr_cpu.scale > 2  # 278M: scaled, slower
    assert xlmr_cpu.train_per_s < bert_cpu.train_per_s < throughput("minilm_l6", "text", "cpu").train_per_s
    lite0 = throughput("efficientnet_lite0", "image", "cpu")
    assert stage_seconds("full", 1000, lite0, 1) > stage_seconds("lora", 1000, lite0, 1)  # measured, not assumed
    rec = advise(ProjectBrief(task="text-classification", classes=20, per_class=200, compute="multi_gpu"))
    est = estimates(rec)
    assert est["single_gpu"].seconds < est["cpu"].seconds / 5
    assert est["multi_gpu"].seconds == est["single_gpu"].seconds
    assert "No multi-GPU machine was measured" in " ".join(est["multi_gpu"].notes)
    assert "tokenising" in " ".join(est["single_gpu"].notes)


def test_hindsight_ceiling_counts_the_rows_no_narrow_band_can_keep():
    from band_calibration import hindsight_ceiling

    def pair(a: float, b: float) -> dict:
        return {"rows": [{"dataset": f"d{v}", "strategy": "linear_probe", "per_class": 10, "measured": v}
                         for v in (a, b)]}

    # 0.2 clashes with 0.5 and 0.9; 0.5 clashes with 0.9: a triangle, only one of its three rows can be kept
    triangle = hindsight_ceiling(10, [pair(0.2, 0.5), pair(0.5, 0.9), pair(0.2, 0.9)])
    assert triangle["must_miss"] == 2 and triangle["max_coverage"] == 0.8
    # a path 0.2 - 0.5 - 0.8: dropping the middle row keeps both ends
    assert hindsight_ceiling(10, [pair(0.2, 0.5), pair(0.5, 0.8)])["must_miss"] == 1
