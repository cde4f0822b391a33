"""The image modality for the engine: data set, transforms, model builder, feature embedding, LoRA targets."""
from __future__ import annotations

import time
from pathlib import Path
from typing import Any, Optional

import numpy as np
import torch
from torch import nn
from torch.utils.data import DataLoader, Dataset

from tladvisor.schemas import TrainConfig
from tladvisor.training.errors import DataError
from tladvisor.training.features import FeatureCache, embed_cached
from tladvisor.training.image_audit import AuditReport, audit_images, scan_images
from tladvisor.training.image_data import ImageItem, discover_images, load_rgb
from tladvisor.training.labels import case_collisions
from tladvisor.training.splits import assign_splits
from tladvisor.training.image_models import (ImageClassifier, create_image_backbone, lora_target_modules,
                                             parameter_groups)
from tladvisor.training.rundir import atomic_write_json, atomic_write_text, read_json
from tladvisor.training.task import Task, register


def decode_side(data_config: dict[str, Any]) -> int:
    """Twice the input side: the resize to the model's size still starts from at least 2x the pixels it keeps."""
    return 2 * int(data_config["input_size"][-1])


class ImageFiles(Dataset):
    """(transformed image, label index) for a list of files."""

    def __init__(self, paths: list[str], labels: list[int], transform, min_side: Optional[int] = None):
        self.paths, self.labels, self.transform, self.min_side = paths, labels, transform, min_side

    def __len__(self) -> int:
        return len(self.paths)

    def __getitem__(self, i: int):
        return self.transform(load_rgb(self.paths[i], self.min_side)), self.labels[i]


class ImageFilesMulti(ImageFiles):
    """(one tensor per transform, position) per file: each file decoded once for several preprocessings (a large
    JPEG's decoding costs 2-3x the forward pass on a CPU: bench/results/probe_vs_forward.md)."""

    def __getitem__(self, i: int):
        img = load_rgb(self.paths[i], self.min_side)
        return tuple(t(img) for t in self.transform), self.labels[i]


GRAY_MODES = ("L", "1", "LA", "I", "I;16", "I;16B", "I;16L", "F")


class QuarterTurn:
    """Rotate a PIL image by 0, 90, 180 or 270 degrees at random (torchvision's RandomRotation interpolates
    and pads the corners; a quarter turn loses nothing)."""

    def __call__(self, img):
        import random

        from PIL import Image

        k = random.randrange(4)
        return img if k == 0 else img.transpose((Image.Transpose.ROTATE_90, Image.Transpose.ROTATE_180,
                                                 Image.Transpose.ROTATE_270)[k - 1])

    def __repr__(self) -> str:
        return "QuarterTurn()"


def _workers(train: bool) -> int:
    """Loader processes. Measured on 2 CPU cores: eval-time decoding is cheap next to the forward pass and
    extra processes only steal cores from it (0 workers = the bare-forward speed); augmentation is worth one."""
    import os

    cores = os.cpu_count() or 1
    if torch.cuda.is_available():
        return min(8, cores)
    return (1 if cores >= 2 else 0) if train else (0 if cores <= 4 else 2)


@register
class ImageTask(Task):
    """Everything image-specific the trainer needs; the loop itself lives in engine.fit."""

    kind = "image-classification"
    modality = "image"

    def __init__(self, config: TrainConfig, run_dir: Path):
        super().__init__(config, run_dir)
        self.items: list[ImageItem] = []
        self.sha1: dict[str, str] = {}
        self.backbone = None

    # ---------------------------------------------------------------- data
    def prepare_data(self) -> AuditReport:
        """Discover, decode-check, split (or reload the recorded split) and audit; writes audit and split files."""
        cfg = self.config
        split_file = self.run_dir / "split.json"
        dataset = discover_images(cfg.data, extract_to=self.run_dir / "data")
        readable, stats, unreadable = scan_images(dataset.items)
        classes = sorted({i.label for i in readable})
        lost = sorted(set(dataset.classes) - set(classes))
        if lost:
            raise DataError(f"{Path(cfg.data).name}: every image of class(es) {', '.join(repr(c) for c in lost)} is "
                            "unreadable: " + "; ".join(f"{Path(u['path']).name}: {u['error']}" for u in unreadable[:3])
                            + "; fix or remove them")
        root = Path(dataset.root)
        rel = lambda p: str(Path(p).relative_to(root))  # noqa: E731
        notes: list[str] = []
        if split_file.exists():  # resume: the recorded split is the truth
            recorded = read_json(split_file)
            for item in readable:
                item.split = recorded["assignments"].get(rel(item.path), item.split)
            notes = recorded.get("notes", [])
        elif not dataset.predefined_split:
            plan = assign_splits([i.label for i in readable], {"val": cfg.val_fraction, "test": cfg.test_fraction},
                                 cfg.seed)
            for item, split in zip(readable, plan.assignments):
                item.split = split
            notes = plan.notes
        elif not any(i.split == "val" for i in readable):  # train/test given: carve val out of train
            train = [i for i in readable if i.split == "train"]
            plan = assign_splits([i.label for i in train], {"val": cfg.val_fraction}, cfg.seed)
            for item, split in zip(train, plan.assignments):
                item.split = split
            notes = plan.notes
        if not any(i.split == "test" for i in readable):  # train/val given: test = val
            for i in readable:
                i.split = "test" if i.split == "val" else i.split
        self.items, self.classes = readable, classes
        self.sha1 = {i.path: s["sha1"] for i, s in zip(readable, stats)}
        gray = sum(1 for s in stats if s.get("mode") in GRAY_MODES)
        self.grayscale = bool(stats) and gray >= 0.9 * len(stats)
        report = audit_images(readable, stats, classes, unreadable, dataset.skipped, root=dataset.root)
        report.warnings += dataset.notes + notes + [f"class folders that differ only in letter case are separate "
                                                    f"classes: {g}" for g in case_collisions(classes)]
        atomic_write_json(split_file, {"seed": cfg.seed, "root": dataset.root, "notes": notes,
                                       "assignments": {rel(i.path): i.split for i in readable}})
        atomic_write_json(self.run_dir / "audit.json", report.model_dump())
        atomic_write_text(self.run_dir / "audit.md", report.to_markdown())
        return report

    def split(self, name: str) -> tuple[list[str], list[int]]:
        index = {c: k for k, c in enumerate(self.classes)}
        chosen = [i for i in self.items if i.split in name.split("+")]  # "train+val": both
        return [i.path for i in chosen], [index[i.label] for i in chosen]

    # --------------------------------------------------------------- model
    def build_model(self, pretrained: bool = True) -> ImageClassifier:
        self.backbone = create_image_backbone(self.config.backbone, resolution=self.config.resolution,
                                              pretrained=pretrained)
        cfg = self.backbone.data_config
        self._imagenet_crop = {"crop_pct": cfg.get("crop_pct", 0.875), "crop_mode": cfg.get("crop_mode", "center")}
        # 'auto' starts from the full frame; a probe may switch it (tladvisor.training.preprocess_choice)
        self.set_preprocess("center_crop" if self.config.preprocess == "center_crop" else "full_frame")
        return ImageClassifier(self.backbone.model, self.backbone.num_features, len(self.classes))

    def set_preprocess(self, name: str) -> None:
        """'full_frame': the whole image resized (ImageNet's centre crop, crop_pct 0.875, cuts away the border, where
        inspection images often have their defect); 'center_crop': the backbone's ImageNet evaluation crop. Saved in
        the run's data_config, so predict does the same."""
        if name == "center_crop":
            self.backbone.data_config.update(self._imagenet_crop)
        else:
            self.backbone.data_config.update(crop_pct=1.0, crop_mode="squash")
        self.preprocess = name

    def model_info(self) -> dict[str, Any]:
        bb = self.backbone
        return {"modality": "image", "backbone": self.config.backbone, "arch": bb.arch, "weights_id": bb.weights_id,
                "num_features": bb.num_features, "preprocess": self.preprocess,
                "data_config": {k: list(v) if isinstance(v, tuple) else v for k, v in bb.data_config.items()},
                "train_augmentation": self.augmentation()}

    def decode_side(self) -> int:
        """JPEGs decode at reduced scale down to twice the model's input side (see `load_rgb`)."""
        return decode_side(self.backbone.data_config)

    def eval_transform(self):
        from timm.data import create_transform

        return create_transform(**self.backbone.data_config, is_training=False)

    def augmentation(self) -> str:
        """The fine-tuning augmentation this run uses: the config's, or for 'auto' inspection-style on grayscale
        images (surfaces, X-rays, scans: no canonical orientation) and photo-style otherwise."""
        if self.config.augment != "auto":
            return self.config.augment
        return "inspection" if getattr(self, "grayscale", False) else "photo"

    def train_transform(self):
        from timm.data import create_transform

        dc = self.backbone.data_config
        mode = self.augmentation()
        if mode == "timm":
            return create_transform(**dc, is_training=True)
        # timm's ImageNet recipe crops down to 8% of the image and can cut the defect away, leaving a mislabelled
        # example; these crops keep at least 60% of the frame, and the jitter never changes colour
        t = create_transform(dc["input_size"], is_training=True, scale=(0.6, 1.0), ratio=(3 / 4, 4 / 3), hflip=0.5,
                             vflip=0.5 if mode == "inspection" else 0.0, color_jitter=(0.2, 0.2, 0.0),
                             interpolation=dc.get("interpolation", "bilinear"), mean=dc["mean"], std=dc["std"])
        if mode == "inspection":
            from torchvision import transforms

            t = transforms.Compose([QuarterTurn(), *t.transforms])
        return t

    def loader(self, name: str, train: bool, batch_size: int) -> DataLoader:
        paths, labels = self.split(name)
        ds = ImageFiles(paths, labels, self.train_transform() if train else self.eval_transform(), self.decode_side())
        return DataLoader(ds, batch_size=batch_size, shuffle=train, num_workers=_workers(train), drop_last=False,
                          persistent_workers=False, generator=torch.Generator().manual_seed(self.config.seed))

    # ---------------------------------------------------------- embedding
    @torch.no_grad()
    def embed(self, model: ImageClassifier, names: list[str], accelerator, tuned: bool = False
              ) -> dict[str, np.ndarray]:
        """Backbone features for the named splits. Frozen: each image computed once and cached on disk;
        `tuned=True` (a backbone changed by fine-tuning) computes them afresh and caches nothing."""
        all_paths = [p for n in names for p in self.split(n)[0]]
        if tuned:
            feats = self._forward(model, all_paths, accelerator)
        else:
            feats, self.embed_stats = self.embed_variants(model, all_paths, accelerator,
                                                          (self.preprocess,))[self.preprocess]
        result, start = {}, 0
        for name in names:
            count = len(self.split(name)[0])
            result[name], start = feats[start:start + count], start + count
        return result

    def embed_variants(self, model: ImageClassifier, paths: list[str], accelerator, variants: tuple[str, ...]
                       ) -> dict[str, tuple[np.ndarray, dict[str, Any]]]:
        """Frozen, cached features of some of the task's images under each preprocessing in `variants` (see
        `set_preprocess`), every file decoded once for all of them: {variant: (features, {cached, computed,
        seconds})}; the shared pass's seconds are reported on the first variant. The preprocessing set before the
        call is set again after it."""
        before = self.preprocess
        transforms, caches = [], []
        for name in variants:
            self.set_preprocess(name)
            transforms.append(self.eval_transform())
            caches.append(self._cache(accelerator))
        self.set_preprocess(before)
        keys = [self.sha1[p] for p in paths]
        missing = sorted({i for c in caches for i in c.get(keys)[1]})
        row = {pos: j for j, pos in enumerate(missing)}  # a missing image's row in the shared pass
        t0 = time.perf_counter()
        computed = self._forward_many(model, [paths[i] for i in missing], accelerator, transforms) if missing else []
        seconds = round(time.perf_counter() - t0, 2)
        out = {}
        for k, (name, cache) in enumerate(zip(variants, caches)):
            result, stats = embed_cached(cache, keys, {"all": len(keys)},
                                         lambda pos, k=k: computed[k][[row[i] for i in pos]],
                                         accelerator.is_main_process)
            out[name] = (result["all"], {**stats, "seconds": seconds if k == 0 else 0.0})
        return out

    def _cache(self, accelerator) -> FeatureCache:
        return FeatureCache({"arch": self.backbone.arch, "weights": self.backbone.weights_id,
                             "preprocess": repr(self.eval_transform()), "decode_min_side": self.decode_side(),
                             "precision": accelerator.mixed_precision})  # bf16 features differ from fp32

    def _forward(self, model: ImageClassifier, paths: list[str], accelerator) -> np.ndarray:
        """Pooled backbone features of `paths`, in order, with the current evaluation transform."""
        if not paths:
            return np.zeros((0, 1))
        return self._forward_many(model, paths, accelerator, [self.eval_transform()])[0]

    @torch.no_grad()
    def _forward_many(self, model: ImageClassifier, paths: list[str], accelerator, transforms: list
                      ) -> list[np.ndarray]:
        """Pooled backbone features of `paths`, in order, once per transform; each file decoded once."""
        backbone = model.backbone.eval().to(accelerator.device)  # already channels-last where it pays
        channels_last = model.channels_last
        ds = ImageFilesMulti(paths, list(range(len(paths))), transforms, self.decode_side())
        loader = accelerator.prepare(DataLoader(ds, batch_size=64, shuffle=False, num_workers=_workers(False)))
        out: list[dict[int, np.ndarray]] = [{} for _ in transforms]
        for xs, idx in loader:
            for k, x in enumerate(xs):
                if channels_last:
                    x = x.contiguous(memory_format=torch.channels_last)
                with accelerator.autocast():
                    f = backbone(x)
                f, pos = accelerator.gather_for_metrics((f.float(), idx))
                out[k].update(zip(pos.tolist(), f.cpu().numpy()))
        return [np.stack([o[j] for j in range(len(paths))]) for o in out]

    # ------------------------------------------------------- fine-tuning
    def lora_targets(self, model: ImageClassifier) -> list[str]:
        return [f"backbone.{n}" for n in lora_target_modules(model.backbone)]

    def backbone_groups(self, model: ImageClassifier) -> list[list[str]]:
        return [[f"backbone.{n}" for n in g] for g in parameter_groups(model.backbone)]

    def mixup(self):
        """timm's MixUp at alpha 0.1 (BiT-HyperRule uses it only above ~20k examples, which the advisor decides)."""
        from timm.data import Mixup

        mix = Mixup(mixup_alpha=0.1, cutmix_alpha=0.0, label_smoothing=0.0, num_classes=len(self.classes))

        def apply(x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
            return mix(x, y) if len(x) % 2 == 0 else (x, y)  # timm mixes pairs: an odd last batch stays as is

        return apply

    @staticmethod
    def train_mode(model: nn.Module) -> None:
        """Train mode, but BatchNorm keeps its pre-trained statistics (small fine-tuning batches would corrupt them)."""
        model.train()
        for m in model.modules():
            if isinstance(m, nn.modules.batchnorm._BatchNorm):
                m.eval()

    # ------------------------------------------------------ save and load
    @classmethod
    def rebuild(cls, info: dict[str, Any], run_dir: Path, pretrained: bool) -> tuple[ImageClassifier, Any]:
        from timm.data import create_transform

        bb = create_image_backbone(info["backbone"], resolution=info["data_config"]["input_size"][-1],
                                   pretrained=pretrained)
        cfg = {k: tuple(v) if isinstance(v, list) else v for k, v in info["data_config"].items()}
        return ImageClassifier(bb.model, info["num_features"], len(info["classes"])), create_transform(
            **cfg, is_training=False)

    @classmethod
    def make_batch(cls, info: dict[str, Any], prep: Any, inputs: list[str]) -> torch.Tensor:
        from tladvisor.training.errors import RunDirError

        batch = []
        for path in inputs:
            try:
                batch.append(prep(load_rgb(path, decode_side(info["data_config"]))))
            except FileNotFoundError as exc:
                raise RunDirError(f"{path}: no such image file") from exc
            except Exception as exc:
                raise RunDirError(f"{path}: cannot read image ({exc})") from exc
        return torch.stack(batch)
