"""`Recommendation`: what `advise` returns, with its JSON form and the one-call hand-over to training."""
from __future__ import annotations

from typing import Callable, Literal, Optional

from pydantic import BaseModel, ConfigDict, Field

from tladvisor.advice.brief import ProjectBrief
from tladvisor.advice.estimate import Estimate
from tladvisor.schemas import STAGE_STRATEGIES, TASK_KINDS, TrainConfig


class BackboneChoice(BaseModel):
    """A recommended backbone and why it was chosen."""

    id: str
    name: str
    source: str
    source_id: str
    params_m: float
    licence: str
    commercial_use: str
    speed: str
    offline: bool
    advice_only: bool = False
    score: float
    why: str


class RejectedBackbone(BaseModel):
    """A candidate that scored well (or was asked for) but cannot be used, with the reason."""

    id: str
    name: str
    licence: str
    reason: str


class Stage(BaseModel):
    """One step of the staged strategy."""

    strategy: str
    step: str


class HyperParams(BaseModel):
    """Hyper-parameters for the main adaptation stage (and the head-only stage)."""

    strategy: str
    learning_rate: Optional[float] = None
    head_learning_rate: Optional[float] = None
    scratch_learning_rate: Optional[float] = None
    lr_note: str = ""
    stage_learning_rates: dict[str, float] = Field(default_factory=dict, description="lr per strategy")
    warmup_ratio: float = 0.0
    warmup_steps: int = 0
    epochs: Optional[int] = None
    steps: Optional[int] = None
    batch_size: Optional[int] = None
    weight_decay: Optional[float] = None
    layer_decay: Optional[float] = None
    lora_r: Optional[int] = None
    lora_alpha: Optional[int] = None
    resolution: Optional[int] = None
    max_length: Optional[int] = None
    early_stopping_patience: int = 3
    mixup: bool = False
    retrain_on_all: bool = False


class Forecast(BaseModel):
    """Expected band if the client had `multiplier` times the labelled data."""

    multiplier: int
    per_class: Optional[int] = None
    total: Optional[int] = None
    band: Optional[tuple[float, float]] = None


class Expectation(BaseModel):
    """The honest expectation for this data volume."""

    metric: str = "accuracy"
    band: Optional[tuple[float, float]] = None
    adjustments: list[str] = Field(default_factory=list)
    forecast: list[Forecast] = Field(default_factory=list)

    @property
    def band_text(self) -> str:
        return band_text(self.band)


def band_text(band: Optional[tuple[float, float]]) -> str:
    """'80-93%' or 'to be measured'."""
    if band is None:
        return "to be measured on your data"
    hi = f"{band[1] * 100:.1f}" if band[1] > 0.99 else f"{band[1] * 100:.0f}"  # 99.7%, not a rounded 100%
    return f"{band[0] * 100:.0f}-{hi}%"


class Acceptance(BaseModel):
    """How success is judged: the metric that fits the task and its balance, the trivial baseline it must beat,
    the test set's size, and a bar only where one is known (the client's own need; else agreed after the sample
    check). Never a bar drawn from the band's floor, never an accuracy at or below the majority share."""

    metric: str
    threshold: Optional[float] = None
    baseline: Optional[float] = Field(None, description="accuracy of always answering the largest class")
    baseline_text: str = ""
    test_size: Optional[int] = None
    rare_in_test: Optional[int] = Field(None, description="examples of the smallest class in that test set")
    why: str = ""


class Phase(BaseModel):
    """One phase of the project timeline, in working days."""

    id: str
    name: str
    days: tuple[int, int]
    what: str = ""
    why: list[str] = Field(default_factory=list)


class LicenceVerdict(BaseModel):
    """Can the primary backbone be used for this project?"""

    status: Literal["ok", "warning", "blocked"]
    text: str


class FiredRule(BaseModel):
    """A rule that fired, with its one-line rationale for this brief."""

    id: str
    title: str
    why: str


class ClientMessage(BaseModel):
    """A client-ready paragraph filled from the recommendation's numbers."""

    id: str
    title: str
    text: str


class Recommendation(BaseModel):
    """The advisor's full answer to a ProjectBrief."""

    model_config = ConfigDict(extra="forbid")

    brief: ProjectBrief
    modality: str
    primary: BackboneChoice
    alternatives: list[BackboneChoice]
    rejected: list[RejectedBackbone] = Field(default_factory=list)
    plan: list[Stage]
    hyperparams: HyperParams
    expectation: Expectation
    data_gaps: list[str] = Field(default_factory=list)
    evaluation_plan: list[str] = Field(default_factory=list)
    risks: list[str] = Field(default_factory=list)
    notes: list[str] = Field(default_factory=list)
    licence: LicenceVerdict
    acceptance: Optional[Acceptance] = None
    timeline: list[Phase] = Field(default_factory=list, description="the project's phases in working days")
    fired_rules: list[FiredRule]
    messages: list[ClientMessage] = Field(default_factory=list)
    estimate: dict[str, Estimate] = Field(default_factory=dict,
                                          description="training time (and cost) of the plan per compute kind")

    @property
    def own_estimate(self) -> Optional[Estimate]:
        """The estimate for the brief's own compute kind."""
        return self.estimate.get(self.brief.compute)

    @property
    def fired_rule_ids(self) -> list[str]:
        return [r.id for r in self.fired_rules]

    def trainable_stages(self) -> list[str]:
        """Plan stages the training engine can run (advice-only stages such as gbdt are skipped)."""
        return [s.strategy for s in self.plan if s.strategy in STAGE_STRATEGIES]

    def to_train_config(self, data: str, *, out_dir: Optional[str] = None, strategy: str = "auto",
                        backbone: Optional[str] = None, epochs: Optional[int] = None,
                        usable: Optional[Callable[[str], bool]] = None, **overrides) -> TrainConfig:
        """The TrainConfig that runs this recommendation on `data` (one call; nothing re-typed).

        The primary backbone is used unless it is advice-only, in which case the best trainable alternative is;
        `usable(id)` (from the training layer: e.g. offline weights not installed here) skips others the same way.
        """
        if self.brief.task not in TASK_KINDS:
            raise ValueError(f"the training engine trains {', '.join(sorted(set(TASK_KINDS)))}; this is a "
                             f"{self.brief.task} project")
        tabular = self.modality == "tabular"  # gradient boosting: no network stages, no backbone weights
        stages = [] if tabular else self.trainable_stages()
        if not stages and not tabular:
            raise ValueError("the recommended plan has no stage the training engine can run")
        chosen = backbone
        if chosen is None:
            trainable = [b for b in [self.primary, *self.alternatives] if not b.advice_only or tabular]
            trainable = [b for b in trainable if usable is None or usable(b.id)] or trainable
            if not trainable:
                raise ValueError("no recommended backbone is trainable by this engine; pass backbone=")
            chosen = trainable[0].id
        hp = self.hyperparams
        fields = dict(
            modality=self.modality,
            task=self.brief.task,
            data=data,
            out_dir=out_dir,
            backbone=chosen,
            strategy=strategy,
            plan=stages or ["linear_probe"],  # tabular: ignored (TrainConfig.stages() is gradient boosting)
            epochs=epochs if epochs is not None else hp.epochs or 15,  # 0 is refused by TrainConfig, not replaced
            batch_size=hp.batch_size or 32,
            lr=(hp.stage_learning_rates.get(strategy) if strategy != "auto" else None) or hp.learning_rate or 1e-4,
            head_lr=hp.head_learning_rate or 1e-3,
            weight_decay=hp.weight_decay if hp.weight_decay is not None else 0.01,
            warmup_ratio=hp.warmup_ratio,
            layer_decay=hp.layer_decay,
            lora_r=hp.lora_r or 16,
            lora_alpha=hp.lora_alpha or 16,
            resolution=hp.resolution,
            max_length=hp.max_length,
            early_stopping_patience=hp.early_stopping_patience,
            mixup=hp.mixup,
            retrain_on_all=hp.retrain_on_all,
        )
        fields.update(overrides)
        return TrainConfig(**fields)
