"""`collect_evidence`: ranking, learning curve, likely mislabels, from-scratch baseline and the calibrated
expectation for one data set, written as evidence.json + evidence.md + learning_curve.png in a folder."""
from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any, Callable, Optional

from pydantic import BaseModel

from tladvisor.safe_text import md
from tladvisor.advice.calibration import CalibratedExpectation, calibrate, wilson_interval
from tladvisor.evidence.learning_curve import LearningCurve
from tladvisor.evidence.mislabels import SuspectLabel
from tladvisor.evidence.ranking import Ranking


class BaselineComparison(BaseModel):
    """Transfer vs from scratch on the same test split."""

    transfer_accuracy: float
    transfer_what: str
    scratch_accuracy: float
    scratch_macro_f1: float
    scratch_epochs: int
    scratch_seconds: float
    n_test: int
    run_dir: str


class Evidence(BaseModel):
    """Everything measured on the client's data before (and beside) training."""

    data: str
    modality: str
    backbone: str
    classes: list[str]
    n_examples: int
    probe_test_accuracy: float
    n_test: int
    ranking: Optional[Ranking] = None
    curve: Optional[LearningCurve] = None
    lexical_curve: Optional[LearningCurve] = None  # text, few classes: the probe on [embedding | n-grams]
    mislabels: list[SuspectLabel] = []
    mislabels_flagged: int = 0
    scratch: Optional[BaselineComparison] = None
    calibrated: Optional[CalibratedExpectation] = None
    seconds: dict[str, float] = {}

    def to_markdown(self, thumbnails: Optional[dict[str, str]] = None) -> str:
        """The evidence section of a report; `thumbnails` maps image paths to an img src."""
        lines = [f"**{self.n_examples:,} labelled examples, {len(self.classes)} classes; backbone {md(self.backbone)}; "
                 f"linear probe on frozen features: {self.probe_test_accuracy:.1%} on {self.n_test:,} held-out "
                 "examples.**", ""]
        if self.calibrated:
            lines += ["#### Calibrated expectations", "", self.calibrated.to_markdown()]
        if self.ranking:
            lines += ["#### Backbone shortlist on this data", "", self.ranking.to_markdown()]
        if self.curve:
            lines += ["#### Learning curve and forecast", "", self.curve.to_markdown()]
        if self.lexical_curve:
            lines += ["#### Learning curve with character n-grams beside the embedding", "",
                      self.lexical_curve.to_markdown()]
        if self.scratch:
            s = self.scratch
            ratio = s.transfer_accuracy / max(s.scratch_accuracy, 1e-9)
            lines += ["#### Transfer vs from scratch", "", "| model | test accuracy | training |", "|---|---|---|",
                      f"| transfer ({s.transfer_what}) | {s.transfer_accuracy:.1%} | pre-trained weights |",
                      f"| same architecture from scratch | {s.scratch_accuracy:.1%} | {s.scratch_epochs} epochs, "
                      f"{s.scratch_seconds:.0f} s |", "",
                      f"Transfer is {ratio:.1f}x the from-scratch accuracy on the same {s.n_test:,} test examples.", ""]
        lines += ["#### Likely mislabels", ""]
        if not self.mislabels:
            lines.append("Confident learning flagged no example whose given label looks wrong, and the cross-validated "
                         "probe confidently contradicts none.")
        else:
            lines += [f"Confident learning (cleanlab) on cross-validated probe probabilities, plus examples the probe "
                      f"puts under 1% on their label and 90% on another, flags **{self.mislabels_flagged}** "
                      "example(s); the most suspicious:", "",
                      "| example | given label | looks like | p(given) |", "|---|---|---|---|"]
            for m in self.mislabels:
                name = md(Path(m.item).name if self.modality == "image" else m.item, 120)
                shown = (f"![{name}]({thumbnails[m.item]}) {name}" if thumbnails and m.item in thumbnails else name)
                lines.append(f"| {shown} | {md(m.given)} | {md(m.suggested)} ({m.suggested_probability:.0%}) | "
                             f"{m.given_probability:.0%} |")
        return "\n".join(lines) + "\n"


def _probe_accuracy(x_tr, y_tr, x_te, y_te) -> float:
    from sklearn.linear_model import LogisticRegression
    from sklearn.preprocessing import StandardScaler

    scaler = StandardScaler().fit(x_tr)
    clf = LogisticRegression(max_iter=2000).fit(scaler.transform(x_tr), y_tr)
    return float((clf.predict(scaler.transform(x_te)) == y_te).mean())


def collect_evidence(data: str, out_dir: str | Path, *, prior_band: Optional[tuple[float, float]] = None,
                     candidates: Optional[list[str]] = None, rank: bool = True, scratch_epochs: int = 0,
                     transfer_run: Optional[str] = None, progress: Optional[Callable[[str], None]] = None,
                     target_per_class: Optional[float] = None, plan_fine_tunes: bool = False,
                     **config: Any) -> Evidence:
    """Measure everything on `data`. The learning curve and mislabels reuse the probe's cached features; the
    ranking embeds a bounded sample per candidate; the from-scratch baseline (scratch_epochs > 0) trains."""
    from tladvisor.evidence.frozen import base_config, frozen_features
    from tladvisor.evidence.learning_curve import (LEXICAL_C, cross_validated_curve, learning_curve,
                                                   lexical_features, plot_learning_curve)
    from tladvisor.evidence.mislabels import likely_mislabels
    from tladvisor.evidence.ranking import rank_backbones
    from tladvisor.training.lexical import MAX_LEXICAL_CLASSES
    from tladvisor.training.rundir import atomic_write_json, atomic_write_text

    say = progress or (lambda msg: None)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    seconds: dict[str, float] = {}
    cfg = base_config(data, **config)
    t0 = time.perf_counter()
    say("embedding the data with the frozen backbone")
    feats = frozen_features(cfg, out / "features")
    seconds["features"] = round(time.perf_counter() - t0, 2)
    x_pool, y_pool, _ = feats.pooled(("train", "val"))
    x_te, y_te = feats.x["test"], feats.y["test"]
    probe_acc = _probe_accuracy(x_pool, y_pool, x_te, y_te)
    ev = Evidence(data=str(data), modality=cfg.modality, backbone=cfg.backbone, classes=feats.classes,
                  n_examples=int(sum(len(v) for v in feats.y.values())), probe_test_accuracy=probe_acc,
                  n_test=len(y_te))
    if rank:
        say("ranking candidate backbones")
        t0 = time.perf_counter()
        ev.ranking = rank_backbones(data, candidates, work_dir=out / "ranking", **config)
        seconds["ranking"] = round(time.perf_counter() - t0, 2)
    say("learning curve")
    t0 = time.perf_counter()
    x_all, y_all, items = feats.pooled()
    # every labelled example held out once (a small sample loses nothing to a fixed test split); the single
    # split only when a class has one example
    ev.curve = (cross_validated_curve(x_all, y_all) or learning_curve(x_pool, y_pool, x_te, y_te))
    per_class_now = len(y_all if ev.curve.folds else y_pool) / max(1, len(feats.classes))
    target_m = target_per_class / per_class_now if target_per_class and target_per_class > per_class_now * 1.05 else None
    if ev.curve.folds and cfg.modality == "text" and len(feats.classes) <= MAX_LEXICAL_CLASSES:
        # the product's text probe adds character n-grams where they pay (training.lexical); they often pay only
        # at volume (a 60-text sample cannot show it), so the project's forecast takes the better of both curves
        lexical = lexical_features(x_all, items)
        ev.lexical_curve = cross_validated_curve(lexical, y_all, C=LEXICAL_C) if lexical is not None else None
    target_forecast, with_ngrams = None, False
    if target_m:
        # the band is for what the project's report will show: its test split's own noise counts too
        n_test_project = int(round(target_per_class * len(feats.classes) * cfg.test_fraction))
        options = [(c, c.forecast_at(target_per_class, target_m, n_test=n_test_project))
                   for c in (ev.curve, ev.lexical_curve) if c is not None]
        best_curve, target_forecast = max(options, key=lambda o: o[1].accuracy)
        best_curve.forecasts.append(target_forecast)
        with_ngrams = best_curve is ev.lexical_curve
    measured, n_measured, measured_what = probe_acc, len(y_te), "held-out accuracy of the linear probe"
    if ev.curve.folds:
        measured, n_measured = ev.curve.points[-1].accuracy_mean, ev.curve.eval_examples
        measured_what = (f"{ev.curve.folds}-fold cross-validated accuracy of the linear probe (every example held "
                         "out once)")
    plot_learning_curve(ev.curve, out / "learning_curve.png")
    seconds["learning_curve"] = round(time.perf_counter() - t0, 2)
    say("looking for likely mislabels")
    t0 = time.perf_counter()
    ev.mislabels, ev.mislabels_flagged = likely_mislabels(x_all, y_all, items, feats.classes)
    seconds["mislabels"] = round(time.perf_counter() - t0, 2)
    if scratch_epochs > 0:
        from tladvisor.evidence.scratch import scratch_baseline

        say(f"from-scratch baseline ({scratch_epochs} epochs)")
        t0 = time.perf_counter()
        base = json.loads((Path(transfer_run) / "config.json").read_text()) if transfer_run else cfg.model_dump()
        from tladvisor.schemas import TrainConfig

        result = scratch_baseline(TrainConfig(**{**base, "out_dir": None}), scratch_epochs, out / "scratch")
        transfer_acc, what = probe_acc, "linear probe"
        if transfer_run:
            metrics = json.loads((Path(transfer_run) / "metrics.json").read_text())
            transfer_acc, what = float(metrics["accuracy"]), f"trained run, {metrics['best_stage']}"
        ev.scratch = BaselineComparison(transfer_accuracy=transfer_acc, transfer_what=what,
                                        scratch_accuracy=float(result.metrics["accuracy"]),
                                        scratch_macro_f1=float(result.metrics["macro_f1"]),
                                        scratch_epochs=scratch_epochs, scratch_seconds=round(result.wall_time_s, 1),
                                        n_test=int(result.metrics["n"]), run_dir=result.run_dir)
        seconds["scratch"] = round(time.perf_counter() - t0, 2)
    f2, f5 = ev.curve.forecast(2), ev.curve.forecast(5)
    top_knn = ev.ranking.entries[0].knn_accuracy if ev.ranking and ev.ranking.entries else None
    target = None
    if target_per_class:
        from tladvisor.advice.band_model import own_plan_gain

        gain = own_plan_gain(modality=cfg.modality) if plan_fine_tunes else 0.0
        ft = target_forecast
        low, high = (ft.low, ft.high) if ft else wilson_interval(measured, n_measured)
        target = (target_per_class if ft else per_class_now, low, high, gain, len(feats.classes))
    ev.calibrated = calibrate(prior_band, measured_accuracy=measured, n_measured=n_measured,
                              measured_what=measured_what,
                              curve_2x=(f2.low, f2.high) if f2 else None, curve_5x=(f5.low, f5.high) if f5 else None,
                              knn_accuracy=top_knn, target=target)
    if with_ngrams:
        ev.calibrated.moved_by.append("The project's forecast comes from the probe on [embedding | character n-grams]: "
                                      "its learning curve forecasts higher at that volume, and the product's probe "
                                      "adds n-grams when cross-validation says they pay.")
    ev.seconds = seconds
    atomic_write_json(out / "evidence.json", json.loads(ev.model_dump_json()))
    atomic_write_text(out / "evidence.md", "# Evidence on the client's data\n\n" + ev.to_markdown())
    return ev


def load_evidence(path: str | Path) -> Optional[Evidence]:
    """An evidence.json (or the folder holding one), if present."""
    p = Path(path)
    p = p / "evidence.json" if p.is_dir() else p
    return Evidence(**json.loads(p.read_text())) if p.exists() else None

