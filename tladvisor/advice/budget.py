"""Plans sized to the machine: fit a training plan's epochs (and stages) into a time budget, from the measured
throughput table (`knowledge/throughput.yaml`), before anything trains. The trainer also enforces the budget
while it runs (a fine-tuning stage stops after the epoch that would overrun it), so a slower machine than the
measured one still finishes on time. Pure Python: no torch import."""
from __future__ import annotations

import os
from typing import TYPE_CHECKING, Optional

from pydantic import BaseModel, Field

from tladvisor.advice.estimate import duration_text, setup_seconds, stage_seconds, throughput
from tladvisor.schemas import FINE_TUNING_STAGES as FINE_TUNING

if TYPE_CHECKING:
    from tladvisor.schemas import TrainConfig

DEFAULT_CPU_BUDGET_MIN = 10.0  # `tladvisor train` and the app on a machine without a GPU
MIN_FINE_TUNE_EPOCHS = 2  # fewer epochs than this rarely beat the probe: drop the stage instead
# ... except for text classification, whose head is re-fitted by logistic regression on the tuned encoder's features
# (trainer._refit_head): there the first epoch already pays. BANKING77, all-mpnet-base-v2, 2 cores: LoRA cut by
# the deadline after 0.67 of an epoch tested 94.4% against the probe's 93.8%.
MIN_TEXT_FINE_TUNE_EPOCHS = 1


def epochs_text(n: int) -> str:
    """'1 epoch', '3 epochs': as the CLI, the app and the budget notes say it."""
    return f"{n} epoch{'' if n == 1 else 's'}"


class BudgetPlan(BaseModel):
    """What fits: the stages, the fine-tuning epochs and the estimated seconds, with what was cut and why."""

    budget_s: Optional[float]
    plan: list[str]
    epochs: int
    estimate_s: Optional[float] = None
    notes: list[str] = Field(default_factory=list)

    @property
    def text(self) -> str:
        """'estimated about 7 minutes (budget 10 minutes)'."""
        est = f"estimated {duration_text(self.estimate_s)}" if self.estimate_s is not None else "no estimate"
        return est + (f" (budget {self.budget_s / 60:g} minutes)" if self.budget_s else " (no time budget)")


def default_budget_minutes(has_gpu: bool) -> Optional[float]:
    """The default budget: DEFAULT_CPU_BUDGET_MIN on a CPU (or TLADVISOR_BUDGET_MIN), none with a GPU."""
    raw = os.environ.get("TLADVISOR_BUDGET_MIN", "").strip()
    if raw:
        try:
            value = float(raw)
            return value if value > 0 else None
        except ValueError:
            pass
    return None if has_gpu else DEFAULT_CPU_BUDGET_MIN


def fit_to_budget(modality: str, backbone: str, n_examples: int, plan: list[str], epochs: int,
                  budget_min: Optional[float], precision: Optional[str] = None, train_share: float = 0.72,
                  compute: str = "cpu", tokens: Optional[float] = None, test_examples: int = 0,
                  retrain_share: Optional[float] = None, decode_s: Optional[float] = None,
                  refit_pass: bool = False, min_epochs: int = MIN_FINE_TUNE_EPOCHS) -> BudgetPlan:
    """The plan with its fine-tuning epochs cut so the whole run's estimate (its setup included) fits
    `budget_min` on `compute` (the detected hardware); a fine-tuning stage that cannot get `min_epochs` is
    dropped. Without a budget or a throughput row: unchanged. `precision` None: what a run picks on `compute`;
    `tokens`: the texts' padded length (text speed follows it); `test_examples`: a separate test file's rows (the
    probe embeds them, the kept stage scores them); `retrain_share`: the share of the examples the kept
    fine-tuning stage is trained on again at the end (retrain_on_all), None when it is not; `decode_s`: seconds to
    decode one of the images here (see `throughput`); `refit_pass`: after fine-tuning, every example (and the test
    file) is embedded once more to re-fit the head (text classification)."""
    speed = throughput(backbone, modality, compute, precision, tokens, decode_s)
    budget_s = budget_min * 60 if budget_min else None
    if speed is None or n_examples <= 0:
        return BudgetPlan(budget_s=budget_s, plan=plan, epochs=epochs,
                          notes=["no measured throughput for this backbone: the budget is enforced while training"]
                          if budget_s else [])
    probe_s = (stage_seconds("linear_probe", n_examples + test_examples, speed, 0) if "linear_probe" in plan
               else 0.0)
    probe_s += setup_seconds(compute)
    if decode_s and modality == "image":  # the audit decodes every image once before anything trains
        probe_s += (n_examples + test_examples) * decode_s
    tuned = [s for s in plan if s in FINE_TUNING]

    def total(e: int, stages: list[str]) -> float:
        seconds = probe_s + sum(stage_seconds(s, n_examples, speed, e, train_share) for s in stages)
        if stages:
            seconds += test_examples / speed.embed_per_s  # the kept stage scores the separate test file
            if refit_pass:  # the tuned encoder embeds everything once more for its re-fitted head
                seconds += (n_examples + test_examples) / speed.embed_per_s
            if retrain_share:  # at most as many epochs again, on train + validation
                seconds += stage_seconds(stages[-1], n_examples, speed, e, retrain_share)
        return seconds

    notes: list[str] = []
    if decode_s and speed.model_embed_per_s and decode_s * speed.model_embed_per_s >= 0.5:
        notes.append(f"decoding the images counted: {decode_s * 1000:.0f} ms per image here, "
                     f"{decode_s * speed.model_embed_per_s:.1f}x the model's time per image")
    if budget_s is None or total(epochs, tuned) <= budget_s:
        return BudgetPlan(budget_s=budget_s, plan=plan, epochs=epochs, estimate_s=round(total(epochs, tuned), 1),
                          notes=notes)
    fit = epochs
    while fit > 0 and total(fit, tuned) > budget_s:
        fit -= 1
    if tuned and fit < min_epochs:
        kept = [s for s in plan if s not in FINE_TUNING] or plan[:1]
        notes.append(f"{', '.join(tuned)} dropped: {epochs_text(min_epochs)} would take "
                     f"{duration_text(total(min_epochs, tuned))}, over the {budget_min:g}-minute budget "
                     "(raise the budget to fine-tune)")
        return BudgetPlan(budget_s=budget_s, plan=kept, epochs=epochs, estimate_s=round(probe_s, 1), notes=notes)
    per_epoch = total(1, tuned) - probe_s  # the plan's own fine-tuning stages, not LoRA's speed for all
    notes.append(f"fine-tuning epochs cut from {epochs} to {fit} to fit the {budget_min:g}-minute budget "
                 f"({duration_text(per_epoch)} per epoch on the measured {'CPU' if compute == 'cpu' else 'GPU'})")
    return BudgetPlan(budget_s=budget_s, plan=plan, epochs=max(1, fit), estimate_s=round(total(max(1, fit), tuned), 1),
                      notes=notes)


def refit_pass(config: "TrainConfig") -> bool:
    """Whether a fine-tuned text classifier's head is re-fitted on features of the tuned encoder (one more
    embedding pass over every example: trainer._refit_head)."""
    return config.modality == "text" and config.task != "ner" and config.refit_head


def budget_config(config: "TrainConfig", n_examples: int, budget_min: Optional[float],
                  epochs_given: bool = False, compute: str = "cpu", tokens: Optional[float] = None,
                  test_examples: int = 0, run_precision: Optional[str] = None, decode_s: Optional[float] = None
                  ) -> tuple["TrainConfig", BudgetPlan]:
    """`config` sized to the budget on `compute` (cpu or single_gpu: the hardware the run will use) for texts of
    `tokens` padded tokens (None: images, or the length is unknown) and a separate test file of `test_examples`
    rows: an `auto` plan may lose a fine-tuning stage, and the fine-tuning epochs are cut unless the user gave them
    (`epochs_given`); the budget and the estimate are recorded for the trainer to enforce and report.
    `run_precision`: the precision the run will really use on this hardware ('auto' resolved by the caller, who
    knows the processor); None: the config's, and for 'auto' the compute kind's default (fp32 on a CPU).
    `decode_s`: seconds to decode one of the images on this machine (None: the model's speed alone)."""
    if config.modality == "tabular":
        return config, BudgetPlan(budget_s=budget_min * 60 if budget_min else None, plan=config.stages(),
                                  epochs=config.epochs)
    precision = run_precision or (None if config.precision == "auto" else config.precision)
    test_share = 0.0 if config.test_data else config.test_fraction  # a test file: nothing is carved for testing
    refits = refit_pass(config)
    shares = dict(train_share=1 - test_share - config.val_fraction, compute=compute, tokens=tokens,
                  test_examples=test_examples, retrain_share=1 - test_share if config.retrain_on_all else None,
                  decode_s=decode_s, refit_pass=refits,
                  min_epochs=MIN_TEXT_FINE_TUNE_EPOCHS if refits else MIN_FINE_TUNE_EPOCHS)
    if not budget_min:  # no limit: the estimate still shows
        plan = fit_to_budget(config.modality, config.backbone, n_examples, config.stages(), config.epochs,
                             None, precision, **shares)
        return config.model_copy(update={"budget_estimate_s": plan.estimate_s}), plan
    plan = fit_to_budget(config.modality, config.backbone, n_examples, config.stages(), config.epochs, budget_min,
                         precision, **shares)
    update: dict = {"budget_minutes": budget_min, "budget_estimate_s": plan.estimate_s}
    if config.strategy == "auto" and plan.plan != config.plan:
        update["plan"] = plan.plan
    if not epochs_given and plan.epochs != config.epochs:
        update["epochs"] = plan.epochs
    if epochs_given:
        plan.notes = [n for n in plan.notes if "epochs cut" not in n]
    if config.strategy != "auto":
        plan.notes = [n for n in plan.notes if "dropped" not in n]
    update["budget_notes"] = list(plan.notes)
    return config.model_copy(update=update), plan
