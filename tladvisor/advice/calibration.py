"""Calibrated expectations: the rule-based band updated by what was measured on the client's data, saying
which evidence moved it. Pure Python (the advice layer never imports torch)."""
from __future__ import annotations

import math
from typing import Optional

from pydantic import BaseModel, Field

from tladvisor.advice.recommendation import band_text


class CalibratedExpectation(BaseModel):
    """The band and the forecasts after evidence, with the reasons that moved them."""

    prior_band: Optional[tuple[float, float]] = None
    band: Optional[tuple[float, float]] = None
    forecast_2x: Optional[tuple[float, float]] = None
    forecast_5x: Optional[tuple[float, float]] = None
    target_per_class: Optional[float] = None
    target_band: Optional[tuple[float, float]] = None
    moved_by: list[str] = Field(default_factory=list)

    def to_markdown(self) -> str:
        lines = [f"- **Expected accuracy now:** {band_text(self.band)} (before the data: {band_text(self.prior_band)})."]
        if self.target_band:
            lines.append(f"- **At the project's {self.target_per_class:,.0f} examples per class:** "
                         f"{band_text(self.target_band)} (forecast from this sample's learning curve, for the plan).")
        if self.forecast_2x:
            lines.append(f"- **With 2x the data:** {band_text(self.forecast_2x)}; **with 5x:** "
                         f"{band_text(self.forecast_5x)} (from the learning curve).")
        lines += [f"- {reason}" for reason in self.moved_by]
        return "\n".join(lines) + "\n"


def wilson_interval(accuracy: float, n: int, z: float = 1.645) -> tuple[float, float]:
    """The 90% Wilson score interval of an accuracy measured on n examples."""
    if n <= 0:
        return 0.0, 1.0
    centre = (accuracy + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(accuracy * (1 - accuracy) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return max(0.0, centre - half), min(1.0, centre + half)


def calibrate(prior_band: Optional[tuple[float, float]], measured_accuracy: Optional[float] = None,
              n_measured: int = 0, measured_what: str = "held-out accuracy",
              curve_2x: Optional[tuple[float, float]] = None, curve_5x: Optional[tuple[float, float]] = None,
              knn_accuracy: Optional[float] = None,
              target: Optional[tuple[float, float, float, float, int]] = None) -> CalibratedExpectation:
    """Combine the rules' band with the measurements: a held-out accuracy replaces the band by its own 90%
    interval; a k-NN score on frozen features only moves the lower end up; a learning curve replaces the
    volume-based forecasts. `target` = (examples per class the project will have, curve forecast low, high, the
    plan's fine-tuning gain on the z scale, classes): the band for the plan at that volume."""
    out = CalibratedExpectation(prior_band=prior_band, band=prior_band)
    if knn_accuracy is not None and prior_band and knn_accuracy > prior_band[0]:
        lo, hi = prior_band
        out.band = (knn_accuracy, hi) if knn_accuracy <= hi else (hi, min(1.0, knn_accuracy + (hi - lo) / 2))
        out.moved_by.append(f"k-NN on frozen features already reaches {knn_accuracy:.1%} and a trained head rarely "
                            f"does worse: the band moved from {band_text(prior_band)} to {band_text(out.band)}.")
    if measured_accuracy is not None and n_measured > 0:
        before = out.band
        out.band = wilson_interval(measured_accuracy, n_measured)
        if before:
            where = ("inside" if before[0] <= measured_accuracy <= before[1] else
                     "above" if measured_accuracy > before[1] else "below")
            context = f" ({where} the earlier {band_text(before)})"
        else:
            context = ""
        out.moved_by.append(f"The {measured_what} of {measured_accuracy:.1%} on {n_measured:,} examples{context} sets "
                            f"the band to its 90% interval {band_text(out.band)}.")
    if target is not None:
        per_class, low, high, gain_z, classes = target
        if gain_z > 0:  # the plan's fine-tuning stage, as measured on this product's own runs
            from tladvisor.advice.band_model import from_z, to_z

            high = max(high, min(0.998, from_z(to_z(high, classes) + gain_z, classes)))
        out.target_per_class, out.target_band = per_class, (round(low, 4), round(high, 4))
        out.moved_by.append(f"Forecast for the project's {per_class:,.0f} labelled examples per class from the learning "
                            f"curve of this sample (the spread of its seeded fits and the test set's own noise)"
                            + (", with the fine-tuning stage's measured gain on top" if gain_z > 0 else "")
                            + f": {band_text(out.target_band)}.")
    if curve_2x and curve_5x:
        out.forecast_2x, out.forecast_5x = curve_2x, curve_5x
        out.moved_by.append("The learning curve measured on nested subsets of the data replaced the rules' "
                            "data-volume forecasts.")
    return out
