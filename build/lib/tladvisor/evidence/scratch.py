"""From-scratch baseline: the same architecture with random initialisation, the same data and split, the same
epoch budget as the transfer run's fine-tuning, through the same engine. The brief's headline comparison."""
from __future__ import annotations

from pathlib import Path
from typing import Any, Callable, Optional

from tladvisor.schemas import RunResult, TrainConfig

SCRATCH_LR = 1e-3  # from scratch trains 10-100x faster than fine-tuning (knowledge/guides/learning-rate-and-warmup)


def scratch_config(config: TrainConfig, epochs: int, out_dir: str) -> TrainConfig:
    """`config` (the transfer run's) turned into its from-scratch twin: random weights, every layer trains."""
    return TrainConfig(**{**config.model_dump(), "strategy": "full", "plan": ["full"], "pretrained": False,
                          "epochs": epochs, "lr": SCRATCH_LR, "head_lr": SCRATCH_LR, "layer_decay": None,
                          "early_stopping_patience": max(3, epochs), "out_dir": out_dir})


def scratch_baseline(config: TrainConfig, epochs: int, out_dir: str | Path,
                     progress: Optional[Callable[[dict[str, Any]], None]] = None) -> RunResult:
    """Train the from-scratch twin of `config` for `epochs` epochs (no early stop before the budget is spent)."""
    from tladvisor.training.trainer import train

    return train(scratch_config(config, epochs, str(out_dir)), progress=progress)
