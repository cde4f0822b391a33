"""The text modality for the engine: CSV/TSV/JSONL rows, tokenisation with dynamic padding and
length-bucketed batches, the encoder + head, cached pooled features, class names as extra training rows, LoRA targets."""
from __future__ import annotations

from pathlib import Path
from typing import Any, Iterator

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset, Sampler

from tladvisor.schemas import TrainConfig
from tladvisor.training.errors import DataError
from tladvisor.training.features import FeatureCache, embed_cached
from tladvisor.training.splits import assign_splits
from tladvisor.training.rundir import atomic_write_json, atomic_write_text, read_json
from tladvisor.training.task import Task, register
from tladvisor.training.text_data import (TextAuditReport, TextRow, audit_texts, label_name_rows,
                                         read_labelled_texts)
from tladvisor.training.text_models import (DEFAULT_POOLING, TextClassifier, layer_groups, load_text_encoder,
                                            lora_target_modules)


class TextRows(Dataset):
    def __init__(self, texts: list[str], labels: list[int]):
        self.texts, self.labels = texts, labels

    def __len__(self) -> int:
        return len(self.texts)

    def __getitem__(self, i: int) -> tuple[str, int]:
        return self.texts[i], self.labels[i]


class LengthBucketSampler(Sampler[list[int]]):
    """Batches of similar length (less padding): shuffle, sort within chunks of 50 batches, shuffle batches.
    Seeded per epoch, so runs are reproducible; without shuffling it is a plain length sort."""

    def __init__(self, lengths: list[int], batch_size: int, shuffle: bool, seed: int):
        self.lengths, self.batch_size, self.shuffle, self.seed, self.epoch = lengths, batch_size, shuffle, seed, 0

    def __iter__(self) -> Iterator[list[int]]:
        rng = np.random.default_rng(self.seed + self.epoch)
        self.epoch += 1
        idx = rng.permutation(len(self.lengths)) if self.shuffle else np.arange(len(self.lengths))
        chunk = self.batch_size * 50
        batches = []
        for s in range(0, len(idx), chunk):
            part = sorted(idx[s:s + chunk].tolist(), key=lambda i: self.lengths[i])
            batches += [part[k:k + self.batch_size] for k in range(0, len(part), self.batch_size)]
        if self.shuffle:
            rng.shuffle(batches)
        return iter(batches)

    def __len__(self) -> int:
        return (len(self.lengths) + self.batch_size - 1) // self.batch_size


@register
class TextTask(Task):
    """Everything text-specific the trainer needs; the loop itself lives in engine.fit."""

    kind = "text-classification"
    modality = "text"

    def __init__(self, config: TrainConfig, run_dir: Path):
        super().__init__(config, run_dir)
        self.rows: list[TextRow] = []
        self.encoder = None
        self.label_rows: list[TextRow] = []
        self._built = False

    # ---------------------------------------------------------------- data
    def prepare_data(self) -> TextAuditReport:
        cfg = self.config
        found = read_labelled_texts(cfg.data, cfg.text_col, cfg.label_col)
        rows, bom, read_notes = found.rows, found.bom, list(found.notes)
        empty_at = [f"{Path(cfg.data).name}:{n}" for n in found.empty]
        missing_at = [f"{Path(cfg.data).name}:{n}" for n in found.missing_labels]
        if cfg.test_data:
            test = read_labelled_texts(cfg.test_data, cfg.text_col, cfg.label_col)
            test_rows = test.rows
            unseen = sorted({r.label for r in test_rows} - {r.label for r in rows})
            if unseen:
                raise DataError(f"{Path(cfg.test_data).name}: label(s) {', '.join(repr(u) for u in unseen[:10])} "
                                f"never appear in {Path(cfg.data).name}")
            if Path(cfg.test_data).name == Path(cfg.data).name:
                raise DataError(f"{Path(cfg.test_data).name}: the test file has the same name as the training file; "
                                "rename one (rows are identified by file name and line)")
            empty_at += [f"{Path(cfg.test_data).name}:{n}" for n in test.empty]
            missing_at += [f"{Path(cfg.test_data).name}:{n}" for n in test.missing_labels]
            bom = bom or test.bom
            read_notes += test.notes
        else:
            test_rows = []
        classes = sorted({r.label for r in rows})
        if len(classes) < 2:
            raise DataError(f"{Path(cfg.data).name}: need at least 2 different labels in column '{cfg.label_col}' "
                            f"(found {repr(classes[0]) if classes else 'none'}); a classifier needs two classes "
                            "or more, e.g. 'ok' and 'defect'")
        split_file = self.run_dir / "split.json"
        if split_file.exists():  # resume: the recorded split is the truth
            recorded = read_json(split_file)
            for r in rows + test_rows:
                r.split = recorded["assignments"][f"{Path(r.source).name}:{r.line}"]
            notes = recorded.get("notes", [])
        else:
            fractions = {"val": cfg.val_fraction} if test_rows else {"val": cfg.val_fraction, "test": cfg.test_fraction}
            plan = assign_splits([r.label for r in rows], fractions, cfg.seed)
            for r, s in zip(rows, plan.assignments):
                r.split = s
            for r in test_rows:
                r.split = "test"
            notes = plan.notes
        self.rows, self.classes = rows + test_rows, classes
        self._load_encoder()
        lengths = self._token_lengths([r.text for r in self.rows], truncate=False)
        report = audit_texts(self.rows, classes, empty_at, bom, lengths, self.encoder.max_length,
                             missing_labels=missing_at, notes=read_notes + notes)
        atomic_write_json(split_file, {"seed": cfg.seed, "notes": notes, "assignments": {
            f"{Path(r.source).name}:{r.line}": r.split for r in self.rows}})
        atomic_write_json(self.run_dir / "audit.json", report.model_dump())
        atomic_write_text(self.run_dir / "audit.md", report.to_markdown())
        # after the audit and the split record: the names are training input, not client data
        self.label_rows = label_name_rows(classes) if cfg.label_names else []
        self.rows += self.label_rows
        return report

    def split(self, name: str) -> tuple[list[str], list[int]]:
        index = {c: k for k, c in enumerate(self.classes)}
        chosen = [r for r in self.rows if r.split in name.split("+")]  # "train+val": both
        return [r.text for r in chosen], [index[r.label] for r in chosen]

    def synthetic_mask(self, name: str) -> np.ndarray:
        """True for the rows of split `name` that are class names rather than client examples (kept out of
        the probe's cross-validation folds, so they never score themselves)."""
        return np.array([r.source == "<label name>" for r in self.rows if r.split in name.split("+")], dtype=bool)

    # --------------------------------------------------------------- model
    def _load_encoder(self) -> None:
        if self.encoder is None:
            self.encoder = load_text_encoder(self.config.backbone, self.config.max_length)

    def build_model(self, pretrained: bool = True) -> TextClassifier:
        """A fresh classifier. The encoder is re-loaded for every model after the first, because PEFT injects
        LoRA layers into the module it wraps (a later plain model must not inherit them)."""
        self._load_encoder()
        if self._built or not pretrained:
            self.encoder = load_text_encoder(self.config.backbone, self.config.max_length, pretrained=pretrained)
        self._built = True
        return TextClassifier(self.encoder.model, self.encoder.hidden_size, len(self.classes), DEFAULT_POOLING)

    def model_info(self) -> dict[str, Any]:
        return {"modality": "text", "backbone": self.config.backbone, "hub_id": self.encoder.hub_id,
                "weights_id": self.encoder.weights_id, "hidden_size": self.encoder.hidden_size,
                "pooling": DEFAULT_POOLING, "max_length": self.encoder.max_length,
                "label_name_rows": len(self.label_rows)}

    def save_preprocessing(self, model_dir: Path) -> None:
        self.encoder.tokenizer.save_pretrained(str(model_dir / "tokenizer"))

    def _token_lengths(self, texts: list[str], truncate: bool = True) -> list[int]:
        enc = self.encoder.tokenizer(texts, truncation=truncate, max_length=self.encoder.max_length if truncate else None,
                                     add_special_tokens=True, return_length=True, verbose=False)
        return list(enc["length"])

    def collate(self, batch: list[tuple[str, int]]) -> tuple[dict[str, torch.Tensor], torch.Tensor]:
        texts, labels = zip(*batch)
        enc = self.encoder.tokenizer(list(texts), padding=True, truncation=True, max_length=self.encoder.max_length,
                                     return_tensors="pt")
        return {"input_ids": enc["input_ids"], "attention_mask": enc["attention_mask"]}, torch.tensor(labels)

    def loader(self, name: str, train: bool, batch_size: int) -> DataLoader:
        texts, labels = self.split(name)
        sampler = LengthBucketSampler(self._token_lengths(texts), batch_size, shuffle=train, seed=self.config.seed)
        return DataLoader(TextRows(texts, labels), batch_sampler=sampler, collate_fn=self.collate)

    # ---------------------------------------------------------- embedding
    @torch.no_grad()
    def embed(self, model: TextClassifier, names: list[str], accelerator, tuned: bool = False) -> dict[str, np.ndarray]:
        """Pooled encoder features per split. Frozen-encoder features are computed once per text and cached on
        disk; `tuned=True` (an encoder changed by fine-tuning) computes them afresh and caches nothing."""
        texts = [t for n in names for t in self.split(n)[0]]
        keys = [r.key for n in names for r in self.rows if r.split == n]
        sizes = {n: len(self.split(n)[0]) for n in names}

        def compute(positions: list[int]) -> np.ndarray:
            model.eval().to(accelerator.device)
            todo = [texts[i] for i in positions]
            loader = accelerator.prepare(DataLoader(
                TextRows(todo, list(range(len(todo)))), collate_fn=self.collate,
                batch_sampler=LengthBucketSampler(self._token_lengths(todo), 128, shuffle=False, seed=0)))
            out = {}
            for batch, idx in loader:
                with accelerator.autocast():
                    f = model.features(batch)
                f, idx = accelerator.gather_for_metrics((f.float(), idx))
                out.update(zip(idx.tolist(), f.cpu().numpy()))
            return np.stack([out[j] for j in range(len(todo))])

        if tuned:
            if not texts:
                return {n: np.zeros((0, 1)) for n in names}
            feats, start, result = compute(list(range(len(texts)))), 0, {}
            for name, count in sizes.items():
                result[name], start = feats[start:start + count], start + count
            return result
        cache = FeatureCache({"encoder": self.encoder.hub_id, "weights": self.encoder.weights_id,
                              "max_length": self.encoder.max_length, "pooling": DEFAULT_POOLING,
                              "precision": accelerator.mixed_precision})  # bf16 features differ from fp32
        result, self.embed_stats = embed_cached(cache, keys, sizes, compute, accelerator.is_main_process)
        return result

    # ------------------------------------------------------- fine-tuning
    def lora_targets(self, model: TextClassifier) -> list[str]:
        return lora_target_modules(model)

    def backbone_groups(self, model: TextClassifier) -> list[list[str]]:
        return layer_groups(model)

    # ------------------------------------------------------ save and load
    @classmethod
    def rebuild(cls, info: dict[str, Any], run_dir: Path, pretrained: bool) -> tuple[TextClassifier, Any]:
        from transformers import AutoTokenizer

        enc = load_text_encoder(info["backbone"], info["max_length"], pretrained=pretrained)
        tokenizer = AutoTokenizer.from_pretrained(str(run_dir / "model" / "tokenizer"))
        # runs saved before pooling was recorded pooled with "mean"
        return TextClassifier(enc.model, info["hidden_size"], len(info["classes"]),
                              info.get("pooling", "mean")), tokenizer

    @classmethod
    def make_batch(cls, info: dict[str, Any], prep: Any, inputs: list[str]) -> dict[str, Any]:
        enc = prep(list(inputs), padding=True, truncation=True, max_length=info["max_length"], return_tensors="pt")
        # the raw texts ride along for a probe head that also reads character n-grams (training.lexical)
        return {"input_ids": enc["input_ids"], "attention_mask": enc["attention_mask"], "texts": list(inputs)}
