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
    """A trained classifier ready for prediction (images: file paths; text: strings)."""

    run_dir: Path
    model: torch.nn.Module
    classes: list[str]
    info: dict[str, Any]
    tokenizer: Any = None

    @property
    def modality(self) -> str:
        return self.info.get("modality", "image")

    def _image_batch(self, inputs: list[str]) -> torch.Tensor:
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
        return torch.stack(batch)

    def _text_batch(self, inputs: list[str]) -> dict[str, Any]:
        enc = self.tokenizer(list(inputs), padding=True, truncation=True, max_length=self.info["max_length"],
                             return_tensors="pt")
        # the raw texts ride along for a probe head that also reads character n-grams (training.lexical)
        return {"input_ids": enc["input_ids"], "attention_mask": enc["attention_mask"], "texts": list(inputs)}

    @torch.no_grad()
    def predict_proba(self, inputs: list[str], batch_size: int = 64) -> torch.Tensor:
        """Class probabilities, one row per input, in the order of `classes`."""
        if not inputs:
            return torch.zeros((0, len(self.classes)))
        make = self._text_batch if self.modality == "text" else self._image_batch
        device = next(self.model.parameters()).device.type
        out = []
        for k in range(0, len(inputs), batch_size):
            with torch.autocast(device, dtype=torch.bfloat16, enabled=self.info.get("precision") == "bf16"):
                out.append(self.model(make(inputs[k:k + batch_size])).float().softmax(-1))
        return torch.cat(out)

    def predict(self, inputs: list[str], top_k: int = 3) -> list[list[tuple[str, float]]]:
        """Top-k (label, probability) for each input."""
        probs = self.predict_proba(inputs)
        if top_k < 1:
            raise ValueError(f"top_k must be at least 1 (got {top_k})")
        k = min(top_k, len(self.classes))
        values, idx = probs.topk(k, dim=-1)
        return [[(self.classes[i], float(v)) for v, i in zip(vs.tolist(), ids.tolist())]
                for vs, ids in zip(values, idx)]


def _build(info: dict[str, Any], run: Path):
    """The untrained classifier skeleton for a run (pretrained base weights unless the run saved all weights)."""
    pretrained = info["kind"] != "full"
    if info.get("modality", "image") == "text":
        from transformers import AutoTokenizer

        from tladvisor.training.text_models import TextClassifier, load_text_encoder

        enc = load_text_encoder(info["backbone"], info["max_length"], pretrained=pretrained)
        tokenizer = AutoTokenizer.from_pretrained(str(run / "model" / "tokenizer"))
        # runs saved before pooling was recorded pooled with "mean"
        return TextClassifier(enc.model, info["hidden_size"], len(info["classes"]),
                              info.get("pooling", "mean")), tokenizer
    from tladvisor.training.image_models import ImageClassifier, create_image_backbone

    bb = create_image_backbone(info["backbone"], resolution=info["data_config"]["input_size"][-1],
                               pretrained=pretrained)
    return ImageClassifier(bb.model, info["num_features"], len(info["classes"])), None


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
    model, tokenizer = _build(info, run)
    kind = info["kind"]
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
    return LoadedRun(run, model, info["classes"], info, tokenizer)
