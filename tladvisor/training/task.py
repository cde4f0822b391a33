"""The one `Task` interface every trainable task kind implements, and the registry that finds them.

The trainer and `predict` talk to a task only through this interface, so they never ask a task what it can do:
each capability has a default here (no synthetic rows, no MixUp, no pooled features, cross-entropy) that a
task overrides when it has it. Task kinds register under the names in `tladvisor.schemas.TASK_KINDS`.
"""
from __future__ import annotations

from abc import ABC, abstractmethod
from pathlib import Path
from typing import Any, Callable, ClassVar, Optional

import numpy as np

from tladvisor.schemas import TrainConfig

TASKS: dict[str, type["Task"]] = {}


def register(cls: type["Task"]) -> type["Task"]:
    """Class decorator: make a task kind findable by `task_class(kind)`."""
    TASKS[cls.kind] = cls
    return cls


def _load_builtin() -> None:
    # imported here, not at module top: each task module imports this one (the registry has no cycle)
    from tladvisor.training import image_task, ner_task, tabular_task, text_task  # noqa: F401


def task_class(kind: str) -> type["Task"]:
    """The Task class registered for `kind` ('image-classification', 'token-classification', ...)."""
    if not TASKS:
        _load_builtin()
    if kind not in TASKS:
        raise ValueError(f"no trainable task '{kind}'; known: {', '.join(sorted(TASKS))}")
    return TASKS[kind]


def make_task(config: TrainConfig, run_dir: Path) -> "Task":
    """The task object for a config."""
    return task_class(config.task_kind)(config, run_dir)


class Task(ABC):
    """What one kind of task (images, texts, tokens, table rows) gives the trainer.

    Data: `prepare_data` reads, audits and splits (and records the split in the run directory); `split(name)`
    returns (inputs, label ids) of "train", "val", "test" or "train+val". Model: `build_model`, `loader`,
    `loss`, `val_metrics`, `embed` (pooled frozen features for a probe), `lora_targets`, `backbone_groups`.
    Saving and loading: `model_info` (what `predict` needs), `save_preprocessing`, `rebuild` (a classmethod:
    the model skeleton from saved info) and `make_batch`.
    """

    kind: ClassVar[str]
    modality: ClassVar[str]
    engine: ClassVar[str] = "network"  # "network": the Accelerate loop; "boosting": fitted by the task itself
    score_name: ClassVar[str] = "macro_f1"  # the validation score that chooses between stages (val_<score_name>)
    has_pooled_features: ClassVar[bool] = True  # a linear probe can run on cached features

    def __init__(self, config: TrainConfig, run_dir: Path):
        self.config, self.run_dir = config, run_dir
        self.classes: list[str] = []
        self.embed_stats: dict[str, Any] = {}

    # ---------------------------------------------------------------- data
    @abstractmethod
    def prepare_data(self) -> Any:
        """Read, audit and split the data; returns the audit report (pydantic, with `to_markdown()`)."""

    @abstractmethod
    def split(self, name: str) -> tuple[list[Any], list[Any]]:
        """(inputs, labels) of a split; "train+val" is both."""

    def check_splits(self) -> None:
        """Refuse, with the reason, data that cannot be trained and tested: a class without a training example
        (a given test file or train/ folder that lacks it) or nothing left to test on."""
        from tladvisor.training.errors import DataError

        name = Path(self.config.data).name
        trained = set(self.split("train")[1])
        untrained = [c for k, c in enumerate(self.classes) if k not in trained]
        if untrained:
            raise DataError(f"{name}: class(es) {', '.join(repr(c) for c in untrained[:10])} have no training "
                            "example; add some to the training data or remove the class")
        if not self.split("test")[1]:
            raise DataError(f"{name}: no example is left to test on: each of the {len(self.classes)} classes has a "
                            "single example; give at least 2 per class (10 or more for a meaningful score)")

    def synthetic_mask(self, name: str) -> np.ndarray:
        """True for rows of split `name` that are not client examples (e.g. class names as texts)."""
        return np.zeros(len(self.split(name)[1]), dtype=bool)

    # --------------------------------------------------------------- model
    def build_model(self, pretrained: bool = True) -> Any:
        raise NotImplementedError(f"{self.kind} builds no network")

    def loader(self, name: str, train: bool, batch_size: int) -> Any:
        raise NotImplementedError(f"{self.kind} has no data loader")

    def embed(self, model: Any, names: list[str], accelerator: Any, tuned: bool = False) -> dict[str, np.ndarray]:
        """Pooled features per split (frozen: cached; `tuned=True`: computed afresh)."""
        raise NotImplementedError(f"{self.kind} has no pooled features to probe")

    def mixup(self) -> Optional[Callable]:
        """A batch transform that mixes training batches, when the config asks for it and the task has one."""
        return None

    def loss(self, logits: Any, target: Any) -> Any:
        """Training loss; class indices or soft targets. With `balanced_loss`, each class weighs
        1/sqrt(its share of the training split) (normalised to mean 1): inverse-frequency weights overshoot on a
        20:1 split, no weights let the majority class decide."""
        from tladvisor.training.engine import cross_entropy

        weights = self.class_weights() if self.config.balanced_loss else None
        return cross_entropy(logits, target, None if weights is None else weights.to(logits.device))

    def class_weights(self) -> Any:
        """Per-class loss weights from the training split's counts (None when the classes are balanced)."""
        if not hasattr(self, "_class_weights"):
            import numpy as np
            import torch

            labels = self.split("train")[1]
            n = max(len(getattr(self, "classes", [])), max(labels, default=-1) + 1)
            counts = np.bincount(np.asarray(labels, dtype=int), minlength=n).astype(float) if labels else np.ones(n)
            counts = np.maximum(counts, 1.0)
            w = 1 / np.sqrt(counts / counts.sum())
            w = w / w.mean()
            self._class_weights = None if np.allclose(w, 1.0, atol=0.05) else torch.tensor(w, dtype=torch.float32)
        return self._class_weights

    def val_metrics(self, model: Any, loader: Any, accelerator: Any) -> dict[str, float]:
        """Validation scores of a model; must contain `val_<score_name>`."""
        from tladvisor.training.engine import classification_val_metrics

        return classification_val_metrics(model, loader, accelerator)

    def lora_targets(self, model: Any) -> list[str]:
        raise NotImplementedError(f"{self.kind} has no LoRA targets")

    def backbone_groups(self, model: Any) -> list[list[str]]:
        raise NotImplementedError(f"{self.kind} has no backbone stages")

    @staticmethod
    def train_mode(model: Any) -> None:
        model.train()

    # ------------------------------------------------------ save and load
    @abstractmethod
    def model_info(self) -> dict[str, Any]:
        """What `predict` needs to rebuild the model (JSON); the trainer adds kind, classes and precision."""

    def save_model(self, model: Any, kind: str, model_dir: Path, info: dict[str, Any]) -> Optional[dict[str, str]]:
        """Save a model that is not a network; None = the trainer saves the network (adapter / head / weights)."""
        return None

    def test_metrics(self, model: Any, accelerator: Any) -> dict[str, Any]:
        """Held-out test metrics for tasks whose score is not per-example classification (score_name)."""
        raise NotImplementedError(f"{self.kind}: test metrics come from class probabilities")

    def save_preprocessing(self, model_dir: Path) -> None:
        """Write what preprocessing needs beside the weights (e.g. the tokenizer)."""

    @classmethod
    def rebuild(cls, info: dict[str, Any], run_dir: Path, pretrained: bool) -> tuple[Any, Any]:
        """(model skeleton, preprocessing state) of a saved run of this kind."""
        raise NotImplementedError(f"{cls.kind} runs are not rebuilt as networks")

    @classmethod
    def make_batch(cls, info: dict[str, Any], prep: Any, inputs: list[Any]) -> Any:
        """A model input from raw inputs (file paths, texts, ...)."""
        raise NotImplementedError

    @classmethod
    def load_saved(cls, run_dir: Path, info: dict[str, Any]) -> Any:
        """A saved model that is not a network (engine "boosting")."""
        raise NotImplementedError(f"{cls.kind} runs are rebuilt as networks")

    @classmethod
    def predict_proba_saved(cls, run: Any, inputs: list[Any]) -> np.ndarray:
        """Class probabilities from a `load_saved` model (engine "boosting")."""
        raise NotImplementedError
