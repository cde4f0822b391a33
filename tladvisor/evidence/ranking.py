"""`tladvisor rank`: a shortlist of backbones for this data, by cheap transferability scores on a bounded sample.

A shortlist with its cost in seconds, not an accuracy promise: k-NN accuracy and LogME on frozen features
correlate with fine-tuned accuracy (You et al. 2021) but do not predict it.
"""
from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Optional

import numpy as np
from pydantic import BaseModel

from tladvisor.advice.catalogue import Backbone, candidates_for, get_backbone
from tladvisor.schemas import TrainConfig
from tladvisor.training.bundled_text import BUNDLED_TEXT, is_installed


class RankedBackbone(BaseModel):
    """One candidate's scores on the client's data."""

    backbone: str
    name: str
    knn_accuracy: float
    knn_std: float
    logme: float
    n: int
    seconds: float
    licence: str
    commercial_use: str


class Ranking(BaseModel):
    """Candidates best first (by k-NN accuracy, LogME breaking ties), and the ones that could not be scored."""

    entries: list[RankedBackbone]
    skipped: dict[str, str]
    sample_per_class: int

    def to_markdown(self) -> str:
        lines = [f"Shortlist on a sample of up to {self.sample_per_class} examples per class (k-NN accuracy and LogME "
                 "on held-out folds of frozen features; a ranking, not an accuracy promise):", "",
                 "| rank | backbone | k-NN accuracy | LogME | licence | seconds |", "|---|---|---|---|---|---|"]
        lines += [f"| {i} | {e.name} (`{e.backbone}`) | {e.knn_accuracy:.1%} ± {e.knn_std:.1%} | {e.logme:.3f} | "
                  f"{e.licence} | {e.seconds:.1f} |" for i, e in enumerate(self.entries, 1)]
        if self.skipped:
            lines += ["", "Not scored: " + "; ".join(f"`{k}` ({v})" for k, v in self.skipped.items())]
        return "\n".join(lines) + "\n"


def _cached_on_disk(b: Backbone) -> bool:
    """Weights already in the Hugging Face cache (timm models live there as timm/<name>)."""
    try:
        from huggingface_hub import try_to_load_from_cache
    except ImportError:
        return False
    repo = f"timm/{b.source_id}" if b.source == "timm" else b.source_id
    for name in ("model.safetensors", "pytorch_model.bin", "open_clip_model.safetensors"):
        if isinstance(try_to_load_from_cache(repo, name), str):
            return True
    return False


def available_candidates(modality: str, task: str, online: Optional[bool] = None) -> list[str]:
    """Backbones that can be scored here: bundled or cached ones offline; the catalogue's trainable shortlist
    of this modality online."""
    if online is None:
        online = os.environ.get("HF_HUB_OFFLINE", "0").lower() not in ("1", "true", "yes")
    out = []
    for b in candidates_for(modality, task):
        if b.advice_only or b.source not in ("timm", "hf"):
            continue
        if _bundled_here(b) or _cached_on_disk(b) or online:
            out.append(b.id)
    return out


def _bundled_here(b: Backbone) -> bool:
    """Offline weights that are installed: a bundled text encoder's parts may be left out of an install
    (all-mpnet-base-v2 comes from requirements-encoders.txt); the other bundled weights are runtime requirements."""
    if b.source_id in BUNDLED_TEXT:
        return is_installed(b.source_id)
    return b.offline


def sampled_copy(data: str, per_class: int, dest: Path, seed: int = 0, text_col: str = "text",
                 label_col: str = "label") -> str:
    """A bounded copy of a data set: up to `per_class` examples per class (image links, or a CSV of texts)."""
    import csv

    from tladvisor.data_volume import TEXT_TASK, detect_task

    rng = np.random.default_rng(seed)
    dest.mkdir(parents=True, exist_ok=True)
    if detect_task(data, text_col, label_col) == TEXT_TASK:
        from tladvisor.training.text_data import read_labelled_texts

        rows = read_labelled_texts(data, text_col, label_col).rows
        by_label: dict[str, list] = {}
        for r in rows:
            by_label.setdefault(r.label, []).append(r)
        out = dest / "sample.csv"
        with open(out, "w", newline="", encoding="utf-8") as fh:
            writer = csv.writer(fh)
            writer.writerow(["text", "label"])
            for label, items in sorted(by_label.items()):
                for i in rng.permutation(len(items))[:per_class]:
                    writer.writerow([items[i].text, label])
        return str(out)
    from tladvisor.training.image_data import discover_images

    found = discover_images(data, extract_to=dest / "extracted")
    by_class: dict[str, list[str]] = {}
    for item in found.items:
        by_class.setdefault(item.label, []).append(item.path)
    root = dest / "sample"
    for label, paths in by_class.items():
        (root / label).mkdir(parents=True, exist_ok=True)
        for i in rng.permutation(len(paths))[:per_class]:
            link = root / label / f"{i:06d}{Path(paths[i]).suffix.lower()}"
            if not link.exists():
                os.symlink(os.path.abspath(paths[i]), link)
    return str(root)


def rank_backbones(data: str, candidates: Optional[list[str]] = None, sample_per_class: int = 100,
                   work_dir: Optional[Path] = None, seed: int = 0, **config: object) -> Ranking:
    """Embed a bounded per-class sample with each candidate and score it; failures are reported, not raised."""
    import tempfile

    from tladvisor.evidence.frozen import base_config, frozen_features
    from tladvisor.evidence.transferability import held_out_scores

    if work_dir is None:  # the sample and the candidates' splits are scratch: removed afterwards
        with tempfile.TemporaryDirectory(prefix="tladvisor-rank-") as tmp:
            return rank_backbones(data, candidates, sample_per_class, Path(tmp), seed, **config)
    work_dir = Path(work_dir)
    base_config(data, text_col=str(config.get("text_col", "text")),  # refuses NER / tabular data by name, early
                label_col=str(config.get("label_col", "label")))
    sample = sampled_copy(data, sample_per_class, work_dir / "data", seed, str(config.get("text_col", "text")),
                          str(config.get("label_col", "label")))
    config = {k: v for k, v in config.items() if k not in ("text_col", "label_col")}
    probe = base_config(sample, **config)
    if candidates is None:
        candidates = available_candidates(probe.modality, probe.task)
    entries, skipped = [], {}
    for cand in candidates:
        t0 = time.perf_counter()
        try:
            b = get_backbone(cand)
            cfg: TrainConfig = probe.model_copy(update={"backbone": b.id})
            feats = frozen_features(cfg, work_dir / cand)
        except Exception as exc:  # an unavailable or unsuitable backbone: say so and rank the rest
            skipped[cand] = str(exc).split("\n")[0][:200]
            continue
        x, y, _ = feats.pooled()
        scores = held_out_scores(x, y, seed=seed)
        entries.append(RankedBackbone(backbone=b.id, name=b.name, knn_accuracy=scores["knn_accuracy"],
                                      knn_std=scores["knn_std"], logme=scores["logme"], n=len(y),
                                      seconds=round(time.perf_counter() - t0, 2), licence=b.licence,
                                      commercial_use=b.commercial_use))
    entries.sort(key=lambda e: (round(e.knn_accuracy, 3), e.logme), reverse=True)
    return Ranking(entries=entries, skipped=skipped, sample_per_class=sample_per_class)
