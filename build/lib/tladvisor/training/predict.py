"""Reload a finished run from its directory alone and predict top-k labels."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from tladvisor.training.errors import RunDirError
from tladvisor.training.rundir import read_json


def task_kind_of(info: dict[str, Any]) -> str:
    """The task kind a saved run was trained as (runs saved before kinds were recorded: from the modality)."""
    return info.get("task_kind") or f"{info.get('modality', 'image')}-classification"


@dataclass
class LoadedRun:
    """A trained model ready for prediction; its task (from the registry) makes the batches."""

    run_dir: Path
    model: Any
    classes: list[str]
    info: dict[str, Any]
    prep: Any = None  # the task's preprocessing state (transform, tokenizer, ...)

    @property
    def modality(self) -> str:
        return self.info.get("modality", "image")

    @property
    def task(self):
        from tladvisor.training.task import task_class

        return task_class(task_kind_of(self.info))

    @torch.no_grad()
    def predict_proba(self, inputs: list[Any], batch_size: int = 64) -> torch.Tensor:
        """Class probabilities, one row per input, in the order of `classes`."""
        if len(inputs) == 0:  # a list, or a DataFrame of table rows
            return torch.zeros((0, len(self.classes)))
        if self.task.engine != "network":
            return torch.as_tensor(self.task.predict_proba_saved(self, inputs), dtype=torch.float32)
        device = next(self.model.parameters()).device.type
        out = []
        for k in range(0, len(inputs), batch_size):
            with torch.autocast(device, dtype=torch.bfloat16, enabled=self.info.get("precision") == "bf16"):
                batch = self.task.make_batch(self.info, self.prep, inputs[k:k + batch_size])
                out.append(self.model(batch).float().softmax(-1))
        return torch.cat(out)

    def predict(self, inputs: list[Any], top_k: int = 3) -> list[list[tuple[str, float]]]:
        """Top-k (label, probability) for each input."""
        if top_k < 1:
            raise ValueError(f"top_k must be at least 1 (got {top_k})")
        probs = self.predict_proba(inputs)
        k = min(top_k, len(self.classes))
        values, idx = probs.topk(k, dim=-1)
        return [[(self.classes[i], float(v)) for v, i in zip(vs.tolist(), ids.tolist())]
                for vs, ids in zip(values, idx)]


def load_run(run_dir: str | Path) -> LoadedRun:
    """Rebuild the model of a finished run (fresh process; only the run directory is needed). A missing, damaged
    or incomplete saved model is a RunDirError naming the file, never a traceback."""
    from tladvisor.training.errors import BackboneUnavailableError

    run = Path(run_dir)
    info_path = run / "model" / "model_info.json"
    if not info_path.exists():
        raise RunDirError(f"{run.name}: no trained model here (model/model_info.json missing); "
                          "is the run finished? `tladvisor train --resume` continues an interrupted one")
    try:
        return _load(run, info_path)
    except (RunDirError, BackboneUnavailableError):
        raise
    except Exception as exc:  # JSON, safetensors, PEFT, shape mismatches: all mean the files were damaged
        reason = f"{type(exc).__name__}: {str(exc).splitlines()[0][:200] if str(exc) else ''}"
        raise RunDirError(f"{run.name}: the saved model is damaged or incomplete ({reason}); "
                          "train again or restore the run directory from a copy") from exc


def _load(run: Path, info_path: Path) -> LoadedRun:
    from safetensors.torch import load_file

    info = read_json(info_path)
    if not isinstance(info, dict):
        raise ValueError("model_info.json does not hold an object")
    missing = [k for k in ("kind", "classes", "backbone") if k not in info]
    if missing:
        raise KeyError(f"model_info.json lacks {', '.join(missing)}")
    from tladvisor.training.task import task_class

    task = task_class(task_kind_of(info))
    if task.engine != "network":  # e.g. gradient boosting: the task loads its own saved model
        return LoadedRun(run, task.load_saved(run, info), info["classes"], info)
    kind = info["kind"]
    model, prep = task.rebuild(info, run, pretrained=kind != "full")
    if kind == "full":
        model.load_state_dict(load_file(str(run / "model" / "model.safetensors")))
    elif kind in ("lora", "ensemble"):
        from peft import PeftModel

        model = PeftModel.from_pretrained(model, str(run / "model" / "adapter"))
        if kind == "ensemble":
            from tladvisor.training.ensemble import ProbeLoraEnsemble

            probe = load_file(str(run / "model" / "probe_head.safetensors"))
            head = torch.nn.Linear(probe["weight"].shape[1], probe["weight"].shape[0])
            head.load_state_dict(probe)
            model = ProbeLoraEnsemble(model, head, info["probe_weight"])
    else:
        model.classifier_head.load_state_dict(load_file(str(run / "model" / "head.safetensors")))
        if info.get("lexical"):
            from tladvisor.training.lexical import LexicalTerm, WithLexical

            model = WithLexical(model, LexicalTerm.load(run / "model"))
    model.eval()
    return LoadedRun(run, model, info["classes"], info, prep)
