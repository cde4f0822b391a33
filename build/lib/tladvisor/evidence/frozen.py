"""Frozen-backbone features of a labelled data set, through the training layer's task and feature cache."""
from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional

import numpy as np

from tladvisor.schemas import TrainConfig


@dataclass
class FrozenFeatures:
    """Features and labels per split, with the items (image paths or texts) they came from."""

    backbone: str
    classes: list[str]
    x: dict[str, np.ndarray]
    y: dict[str, np.ndarray]
    items: dict[str, list[str]]
    seconds: float
    cached: int
    computed: int

    def pooled(self, splits: tuple[str, ...] = ("train", "val", "test")) -> tuple[np.ndarray, np.ndarray, list[str]]:
        """All labelled examples of the named splits together."""
        xs = [self.x[s] for s in splits if len(self.x[s])]
        return (np.concatenate(xs), np.concatenate([self.y[s] for s in splits if len(self.y[s])]),
                [i for s in splits for i in self.items[s]])


def base_config(data: str, modality: Optional[str] = None, **overrides: Any) -> TrainConfig:
    """A probe-only TrainConfig for a data set (the modality is read from the file type when not given)."""
    from tladvisor.data_volume import detect_task
    from tladvisor.training.errors import DataError

    if modality is None:
        task = detect_task(data, overrides.get("text_col", "text"), overrides.get("label_col", "label"))
        if task not in ("image-classification", "text-classification"):
            raise DataError(f"{Path(data).name}: evidence (backbone ranking, learning curve, mislabels) is measured "
                            f"for image and text classification; this is {task} data: train it directly "
                            "(`tladvisor train`), which audits it first")
        modality = task.split("-")[0]
    backbone = overrides.pop("backbone", None) or ("minilm_l6" if modality == "text" else "efficientnet_lite0")
    task = "text-classification" if modality == "text" else "image-classification"
    overrides.setdefault("label_names", False)  # evidence measures the client's own examples (curves, mislabels)
    return TrainConfig(modality=modality, task=task, data=data, backbone=backbone, strategy="linear_probe",
                       plan=["linear_probe"], **overrides)


def frozen_features(config: TrainConfig, work_dir: Optional[Path] = None) -> FrozenFeatures:
    """Embed every split once with the config's backbone (cached on disk, so a second call is instant)."""
    from tladvisor.training.engine import make_accelerator
    from tladvisor.training.trainer import make_task

    work = Path(work_dir) if work_dir else Path(tempfile.mkdtemp(prefix="tladvisor-evidence-"))
    work.mkdir(parents=True, exist_ok=True)
    task = make_task(config, work)
    task.prepare_data()
    model = task.build_model()
    feats = task.embed(model, ["train", "val", "test"], make_accelerator(config.precision))
    stats = getattr(task, "embed_stats", {})
    splits = {name: task.split(name) for name in ("train", "val", "test")}
    return FrozenFeatures(backbone=config.backbone, classes=list(task.classes), x=feats,
                          y={n: np.asarray(s[1], dtype=int) for n, s in splits.items()},
                          items={n: list(s[0]) for n, s in splits.items()}, seconds=float(stats.get("seconds", 0.0)),
                          cached=int(stats.get("cached", 0)), computed=int(stats.get("computed", 0)))
