"""Reload a finished run from its directory alone and predict top-k labels."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from tladvisor.training.errors import RunDirError
from tladvisor.training.rundir import read_json


@dataclass
class LoadedRun:
    """A trained classifier ready for prediction."""

    run_dir: Path
    model: torch.nn.Module
    classes: list[str]
    info: dict[str, Any]

    @torch.no_grad()
    def predict_proba(self, inputs: list[str]) -> torch.Tensor:
        from timm.data import create_transform

        from tladvisor.training.image_data import load_rgb

        cfg = {k: tuple(v) if isinstance(v, list) else v for k, v in self.info["data_config"].items()}
        transform = create_transform(**cfg, is_training=False)
        batch = []
        for path in inputs:
            try:
                batch.append(transform(load_rgb(path)))
            except FileNotFoundError as exc:
                raise RunDirError(f"{path}: no such image file") from exc
            except Exception as exc:
                raise RunDirError(f"{path}: cannot read image ({exc})") from exc
        return self.model(torch.stack(batch)).float().softmax(-1)

    def predict(self, inputs: list[str], top_k: int = 3) -> list[list[tuple[str, float]]]:
        """Top-k (label, probability) for each input."""
        probs = self.predict_proba(inputs)
        k = min(top_k, len(self.classes))
        values, idx = probs.topk(k, dim=-1)
        return [[(self.classes[i], float(v)) for v, i in zip(vs.tolist(), ids.tolist())]
                for vs, ids in zip(values, idx)]


def load_run(run_dir: str | Path) -> LoadedRun:
    """Rebuild the model of a finished run (fresh process; only the run directory is needed)."""
    from safetensors.torch import load_file

    from tladvisor.training.image_models import ImageClassifier, create_image_backbone

    run = Path(run_dir)
    info_path = run / "model" / "model_info.json"
    if not info_path.exists():
        raise RunDirError(f"{run_dir}: no trained model here (model/model_info.json missing); "
                          "is the run finished? `tladvisor train --resume` continues an interrupted one")
    info = read_json(info_path)
    kind = info["kind"]
    res = info["data_config"]["input_size"][-1]
    bb = create_image_backbone(info["backbone"], resolution=res, pretrained=kind != "full")
    model = ImageClassifier(bb.model, info["num_features"], len(info["classes"]))
    if kind == "full":
        model.load_state_dict(load_file(str(run / "model" / "model.safetensors")))
    elif kind == "lora":
        from peft import PeftModel

        model = PeftModel.from_pretrained(model, str(run / "model" / "adapter"))
    else:
        model.classifier_head.load_state_dict(load_file(str(run / "model" / "head.safetensors")))
    model.eval()
    return LoadedRun(run, model, info["classes"], info)
