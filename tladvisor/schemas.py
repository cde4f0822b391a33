"""Central hand-over types between advice, training and reporting: `TrainConfig` and `RunResult`.

Pure pydantic (no torch), so the advice layer can produce a TrainConfig and any front end can read a RunResult.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Literal, Optional, get_args

from pydantic import BaseModel, ConfigDict, Field, model_validator

Strategy = Literal["auto", "linear_probe", "lora", "partial", "progressive", "full"]  # the one list of strategies
STRATEGIES: tuple[str, ...] = get_args(Strategy)
STAGE_STRATEGIES = STRATEGIES[1:]  # what a plan's stages may be
FINE_TUNING_STAGES = ("lora", "partial", "progressive", "full")
BOOSTING_STAGE = "gradient_boosting"  # the tabular task's single stage (not a network strategy)

# brief task -> (modality, trainable task kind): the one place that says which tasks the engine can train
TASK_KINDS: dict[str, tuple[str, str]] = {
    "image-classification": ("image", "image-classification"),
    "text-classification": ("text", "text-classification"),
    "sentiment": ("text", "text-classification"),
    "ner": ("text", "token-classification"),
    "token-classification": ("text", "token-classification"),
    "tabular-classification": ("tabular", "tabular-classification"),
}


class TrainConfig(BaseModel):
    """Everything the training engine needs for one run; JSON-serialisable and written into the run dir."""

    model_config = ConfigDict(extra="forbid")

    modality: Literal["image", "text", "tabular"]
    task: str = Field("", description="Brief task ('image-classification', 'sentiment', 'ner', ...); empty = the "
                      "modality's classification task.")
    data: str = Field(description="Folder, zip or CSV of labelled data.")
    test_data: Optional[str] = None
    out_dir: Optional[str] = Field(None, description="Run directory; a fresh one is made when None.")
    backbone: str = Field(description="Catalogue id, timm model name or Hugging Face id.")
    strategy: Strategy = "auto"
    plan: list[str] = Field(default_factory=lambda: ["linear_probe"], description="Stages `auto` runs in order.")
    epochs: int = Field(15, ge=1, le=1000)
    batch_size: int = Field(32, ge=1, le=4096)
    lr: float = Field(1e-4, gt=0, lt=1)
    head_lr: float = Field(1e-3, gt=0, lt=10)
    weight_decay: float = Field(0.01, ge=0, lt=1)
    warmup_ratio: float = Field(0.05, ge=0, lt=1)
    layer_decay: Optional[float] = Field(None, gt=0, le=1)
    lora_r: int = Field(16, ge=1, le=512)
    lora_alpha: int = Field(16, ge=1, le=1024)
    resolution: Optional[int] = Field(None, ge=16, le=2048)
    preprocess: Literal["auto", "full_frame", "center_crop"] = Field(
        "auto", description="Images: 'full_frame' resizes the whole image to the input size (nothing cut away: "
        "defects near the border stay); 'center_crop' is the backbone's ImageNet evaluation crop; 'auto' = the one "
        "a cross-validated comparison prefers on a sample of the labelled images (full frame unless the crop wins by "
        "more than noise; without a probe stage, full frame). See tladvisor/training/preprocess_choice.py.")
    augment: Literal["auto", "inspection", "photo", "timm"] = Field(
        "auto", description="Images, fine-tuning: 'inspection' = random crops that keep at least 60% of the frame, "
        "horizontal and vertical flips, quarter turns, brightness / contrast jitter (never colour); 'photo' = the "
        "same with horizontal flips only; 'timm' = timm's ImageNet recipe (crops down to 8% of the image, colour "
        "jitter); 'auto' = inspection for grayscale images, else photo.")
    balanced_loss: bool = Field(True, description="Classification: fine-tuning weighs each class by 1/sqrt(its share "
                                "of the training examples) so rare classes are not drowned out, and the linear "
                                "probe may choose balanced class weights by cross-validation.")
    max_length: Optional[int] = Field(None, ge=8, le=8192)
    val_fraction: float = Field(0.1, gt=0, lt=0.5)
    test_fraction: float = Field(0.2, gt=0, lt=0.5)
    early_stopping_patience: int = Field(3, ge=1)
    mixup: bool = False
    refit_head: bool = Field(True, description="Text: after fine-tuning, re-fit the logistic-regression head on "
                             "the tuned encoder's features and keep it when it scores higher on validation.")
    skip_unwinnable: bool = Field(True, description="Skip fine-tuning stages after a probe whose validation "
                                  "macro-F1 no later stage could beat by the margin the stage choice needs (they "
                                  "would only cost time); False runs every stage of the plan.")
    ensemble: bool = Field(True, description="Text, probe -> LoRA plans: also score the average of the two "
                           "(one encoder, adapters off for the probe) and keep it when validation says so.")
    retrain_on_all: bool = Field(False, description="After the stages are chosen on validation, train the kept "
                                 "fine-tuning stage again on train + validation for its best epoch count (few-shot "
                                 "data, where the validation split is a tenth of the examples).")
    label_names: bool = Field(True, description="Text: also train on each class's name ('card_arrival' -> "
                              "'card arrival') when the labels are words, not codes.")
    precision: Literal["auto", "fp32", "bf16"] = "auto"
    budget_minutes: Optional[float] = Field(None, gt=0, le=100000, description="Wall-clock budget for the run: a "
                                            "fine-tuning stage stops after the epoch that would overrun it (its best "
                                            "state so far is kept) and a stage that cannot start is skipped. None = "
                                            "no limit.")
    budget_notes: list[str] = Field(default_factory=list, description="What sizing the plan to the budget changed "
                                    "before training (recorded for the model card).")
    budget_estimate_s: Optional[float] = Field(None, ge=0, description="The plan's estimated seconds on the "
                                               "detected hardware, made before training from the measured "
                                               "throughput (and, for texts, their token length); for the model card.")
    pretrained: bool = Field(True, description="False = random initialisation (the from-scratch baseline).")
    seed: int = Field(0, ge=0, lt=2**32)
    text_col: str = "text"
    label_col: str = "label"

    @model_validator(mode="before")
    @classmethod
    def _default_task(cls, data: Any) -> Any:
        # runs recorded before the task mattered carry the old default 'image-classification' beside "text"
        if isinstance(data, dict) and data.get("modality") in ("image", "text", "tabular"):
            task = data.get("task") or ""
            if not task or (task == "image-classification" and data["modality"] != "image"):
                data = {**data, "task": f"{data['modality']}-classification"}
        return data

    @model_validator(mode="after")
    def _valid_plan(self) -> "TrainConfig":
        if self.task not in TASK_KINDS:
            raise ValueError(f"task: '{self.task}' cannot be trained; trainable: {', '.join(TASK_KINDS)}")
        if TASK_KINDS[self.task][0] != self.modality:
            raise ValueError(f"task: '{self.task}' is a {TASK_KINDS[self.task][0]} task, not {self.modality}")
        bad = [s for s in self.plan if s not in STAGE_STRATEGIES]
        if bad:
            raise ValueError(f"plan: unknown strategies {bad}; use {', '.join(STAGE_STRATEGIES)}")
        if not self.pretrained and self.stages() != ["full"]:
            raise ValueError("pretrained: a randomly initialised model can only be trained with strategy 'full' "
                             "(frozen random features and adapters on random weights measure nothing)")
        return self

    @property
    def task_kind(self) -> str:
        """The registered Task kind that trains this config ('token-classification' for 'ner', ...)."""
        return TASK_KINDS[self.task][1]

    def stages(self) -> list[str]:
        """The strategies this run executes in order (a tabular run: gradient boosting, whatever the plan)."""
        if self.modality == "tabular":
            return [BOOSTING_STAGE]
        return list(self.plan) if self.strategy == "auto" else [self.strategy]

    def save(self, path: str | Path) -> None:
        Path(path).write_text(self.model_dump_json(indent=2), encoding="utf-8")

    @classmethod
    def load(cls, path: str | Path) -> "TrainConfig":
        return cls.model_validate_json(Path(path).read_text(encoding="utf-8"))


class RunResult(BaseModel):
    """What a finished (or failed) run produced: metrics and the paths of its artefacts."""

    model_config = ConfigDict(extra="forbid")

    run_dir: str
    status: Literal["finished", "failed", "interrupted"] = "finished"
    config: TrainConfig
    stage_results: list[dict[str, Any]] = Field(default_factory=list)
    metrics: dict[str, Any] = Field(default_factory=dict, description="accuracy, macro_f1, per_class, top_k ...")
    artefacts: dict[str, str] = Field(default_factory=dict, description="name -> path inside run_dir")
    wall_time_s: float = 0.0
    message: str = ""

    @property
    def accuracy(self) -> Optional[float]:
        return self.metrics.get("accuracy")

    @property
    def macro_f1(self) -> Optional[float]:
        return self.metrics.get("macro_f1")

    def to_json(self) -> str:
        return json.dumps(self.model_dump(mode="json"), indent=2)
