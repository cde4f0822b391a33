"""Evidence on the client's data: transferability scores, backbone ranking, learning-curve forecast, likely
mislabels, the from-scratch baseline and calibrated expectations."""
from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

from imagegen import make_image_folder
from textgen import make_rows, write_csv
from tladvisor.advice.calibration import calibrate, wilson_interval


@pytest.fixture(autouse=True)
def _offline(monkeypatch, tmp_path):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("TLADVISOR_CACHE", str(tmp_path / "cache"))


def test_logme_and_knn_prefer_features_that_separate_the_classes():
    from tladvisor.evidence.transferability import held_out_scores

    rng = np.random.default_rng(0)
    y = np.repeat(np.arange(4), 30)
    good = rng.normal(size=(120, 16)) + 3 * np.eye(4, 16)[y]
    noise = rng.normal(size=(120, 16))
    s_good, s_noise = held_out_scores(good, y), held_out_scores(noise, y)
    assert s_good["knn_accuracy"] > 0.9 and s_noise["knn_accuracy"] < 0.5
    assert s_good["logme"] > s_noise["logme"]


def test_collect_evidence_on_images_flags_planted_mislabels_and_beats_scratch(tmp_path):
    from tladvisor.evidence.collect import collect_evidence, load_evidence

    data = make_image_folder(tmp_path / "parts", per_class=20, size=48)
    shutil.move(str(data / "spots" / "spots_000.png"), str(data / "vertical" / "spots_000.png"))
    shutil.move(str(data / "horizontal" / "horizontal_003.png"), str(data / "spots" / "horizontal_003.png"))
    steps = []
    ev = collect_evidence(str(data), tmp_path / "ev", prior_band=(0.45, 0.75), scratch_epochs=2, resolution=64,
                          progress=steps.append)
    assert steps[0].startswith("embedding") and any("scratch" in s for s in steps)
    # the two planted label errors are the ones flagged, with the right suggestion
    flagged = {m.item.rsplit("/", 1)[-1]: (m.given, m.suggested) for m in ev.mislabels}
    assert flagged.get("spots_000.png") == ("vertical", "spots")
    assert flagged.get("horizontal_003.png") == ("spots", "horizontal")
    assert ev.mislabels_flagged <= 4
    # ranking: the bundled backbone is scored; the cost is reported
    assert ev.ranking.entries[0].backbone == "efficientnet_lite0" and ev.ranking.entries[0].seconds > 0
    # learning curve: 4 nested sizes, forecasts with a band that contains the point forecast
    assert [round(p.fraction, 2) for p in ev.curve.points] == [0.1, 0.25, 0.5, 1.0]
    for f in ev.curve.forecasts:
        assert 0 <= f.low <= f.accuracy <= f.high <= 1
    assert ev.curve.forecast(5).per_class == pytest.approx(5 * ev.curve.points[-1].per_class)
    # transfer beats the same architecture trained from scratch on the same split
    assert ev.scratch.n_test == ev.n_test and ev.scratch.scratch_epochs == 2
    assert ev.scratch.transfer_accuracy > ev.scratch.scratch_accuracy
    # calibrated expectations say what moved them
    assert ev.calibrated.prior_band == (0.45, 0.75) and ev.calibrated.band != (0.45, 0.75)
    assert any("held-out accuracy" in r for r in ev.calibrated.moved_by)
    assert any("learning curve" in r for r in ev.calibrated.moved_by)
    for name in ("evidence.json", "evidence.md", "learning_curve.png"):
        assert (tmp_path / "ev" / name).stat().st_size > 200
    again = load_evidence(tmp_path / "ev")
    assert again.mislabels_flagged == ev.mislabels_flagged and again.curve.points == ev.curve.points
    md = ev.to_markdown()
    assert "Transfer vs from scratch" in md and "spots_000.png" in md


def test_rank_cli_on_texts_reports_scores_and_skips_what_is_unavailable(tmp_path, capsys):
    from tladvisor.cli import main

    csv = write_csv(tmp_path / "intents.csv", make_rows(15))
    assert main(["rank", str(csv), "--candidates", "minilm_l6", "bert_base", "--json"]) == 0
    ranking = json.loads(capsys.readouterr().out)
    assert [e["backbone"] for e in ranking["entries"]] == ["minilm_l6"]
    assert ranking["entries"][0]["knn_accuracy"] > 0.6  # 3 intents: chance is 33%
    assert "HF_HUB_OFFLINE" in ranking["skipped"]["bert_base"]
    assert main(["rank", str(tmp_path / "missing.csv")]) == 2


def test_advice_follows_a_measured_ranking_but_not_past_a_licence():
    from tladvisor import ProjectBrief, advise

    brief = ProjectBrief(task="image-classification", domain="manufacturing", classes=15, per_class=200,
                         commercial=True)
    assert advise(brief).primary.id == "efficientnet_lite0"
    rec = advise(brief, measured_ranking=[("resnet50", 0.95), ("efficientnet_lite0", 0.93)])
    assert rec.primary.id == "resnet50" and "ranked #1 of 2 on the client's data" in rec.primary.why
    rec = advise(brief, measured_ranking=[("convnextv2_tiny", 0.99), ("efficientnet_lite0", 0.93)])
    assert rec.primary.id == "efficientnet_lite0" and any("ConvNeXt-V2" in r.reason for r in rec.rejected)


def test_calibration_moves_the_band_and_says_why():
    lo, hi = wilson_interval(0.9, 100)
    assert 0.82 < lo < 0.9 < hi < 0.96
    narrow = wilson_interval(0.9, 10_000)
    assert narrow[1] - narrow[0] < hi - lo
    out = calibrate((0.6, 0.8), measured_accuracy=0.93, n_measured=400, curve_2x=(0.93, 0.95), curve_5x=(0.94, 0.97))
    assert out.band[0] > 0.8 and "above the earlier 60-80%" in out.moved_by[-2]
    assert out.forecast_5x == (0.94, 0.97)
    out = calibrate((0.6, 0.8), knn_accuracy=0.7)
    assert out.band == (0.7, 0.8) and "k-NN" in out.moved_by[0]
    assert calibrate((0.6, 0.8)).band == (0.6, 0.8) and calibrate((0.6, 0.8)).moved_by == []


def test_scratch_twin_keeps_data_and_split_but_not_the_weights():
    from pydantic import ValidationError

    from tladvisor.evidence.scratch import SCRATCH_LR, scratch_config
    from tladvisor.schemas import TrainConfig

    transfer = TrainConfig(modality="image", data="parts.zip", backbone="efficientnet_lite0", strategy="auto",
                           plan=["linear_probe", "lora"], seed=7, lr=1e-4, out_dir="runs/a")
    twin = scratch_config(transfer, epochs=4, out_dir="runs/a-scratch")
    assert (twin.data, twin.seed, twin.backbone) == (transfer.data, 7, "efficientnet_lite0")  # same split
    assert twin.pretrained is False and twin.stages() == ["full"] and twin.epochs == 4 and twin.lr == SCRATCH_LR
    with pytest.raises(ValidationError, match="randomly initialised"):
        TrainConfig(modality="image", data="x", backbone="efficientnet_lite0", strategy="linear_probe",
                    pretrained=False)


def test_a_sample_gives_a_band_for_the_projects_volume_and_plan(tmp_path):
    """The sample path: evidence on 12 per class, forecast for the project's 120 per class; the band contains the
    curve's point forecast, the plan's measured fine-tuning gain only raises its upper end, and it is said."""
    import subprocess
    import sys

    from tladvisor.advice.band_model import own_plan_gain

    data = make_image_folder(tmp_path / "sample", per_class=12, size=48)
    res = subprocess.run([sys.executable, "-m", "tladvisor", "evidence", str(data), "--no-rank", "--json",
                          "--target-per-class", "120", "--out", str(tmp_path / "ev")], capture_output=True,
                         text=True, timeout=600)
    assert res.returncode == 0, res.stderr
    ev = json.loads(res.stdout)
    cal = ev["calibrated"]
    forecast = next(f for f in ev["curve"]["forecasts"] if f["per_class"] == pytest.approx(120, rel=0.01))
    lo, hi = cal["target_band"]
    assert cal["target_per_class"] == 120 and lo == pytest.approx(forecast["low"], abs=1e-4)
    assert lo <= forecast["accuracy"] <= hi and hi >= forecast["high"] - 1e-4
    assert any("120 labelled examples per class" in r for r in cal["moved_by"])
    # measured on this product's own CPU runs: from nothing (NEU-CLS) and little (BANKING77) to a lot on
    # imbalanced PCB defects (+1.15 on the z scale); the 90th percentile of those is the band's allowance
    assert 0 <= own_plan_gain() < 1.5
    assert own_plan_gain(quantile=0.5) < 0.2
    bad = subprocess.run([sys.executable, "-m", "tladvisor", "evidence", str(data), "--target-per-class", "-5"],
                         capture_output=True, text=True, timeout=120)
    assert bad.returncode == 2 and "--target-per-class" in bad.stderr
