"""Token classification (NER): a pretrained text encoder with a per-token Linear head, sub-word label alignment
(the first piece of each word carries its tag, the rest are ignored), entity-level scores with seqeval."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from torch import nn
from torch.utils.data import DataLoader

from tladvisor.training.errors import DataError
from tladvisor.training.ner_data import (NerAuditReport, Sentence, audit_sentences, entity_types, read_token_file,
                                         tokenize_with_offsets)
from tladvisor.training.rundir import atomic_write_json, atomic_write_text, read_json
from tladvisor.training.splits import assign_splits
from tladvisor.training.task import Task, register
from tladvisor.training.text_models import layer_groups, load_text_encoder, lora_target_modules

IGNORE = -100


class TokenTagger(nn.Module):
    """Encoder -> dropout -> Linear head per token (`classifier_head`, the name PEFT keeps trainable)."""

    def __init__(self, encoder: nn.Module, hidden_size: int, num_labels: int, dropout: float = 0.1):
        super().__init__()
        self.encoder = encoder
        self.dropout = nn.Dropout(dropout)
        self.classifier_head = nn.Linear(hidden_size, num_labels)

    def forward(self, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        hidden = self.encoder(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).last_hidden_state
        return self.classifier_head(self.dropout(hidden))  # (batch, tokens, labels)


def encode_words(tokenizer: Any, words: list[list[str]], max_length: int) -> tuple[dict[str, torch.Tensor], list]:
    """Tokenise pre-split words; returns the batch and, per sentence, the position of each word's first
    sub-word piece (None for a word cut off by the maximum length)."""
    enc = tokenizer(words, is_split_into_words=True, truncation=True, max_length=max_length, padding=True,
                    return_tensors="pt")
    firsts = []
    for b in range(len(words)):
        pos: list[Any] = [None] * len(words[b])
        for k, w in enumerate(enc.word_ids(b)):
            if w is not None and pos[w] is None:
                pos[w] = k
        firsts.append(pos)
    return {"input_ids": enc["input_ids"], "attention_mask": enc["attention_mask"]}, firsts


@register
class NerTask(Task):
    """Named-entity recognition on CoNLL / JSONL files."""

    kind = "token-classification"
    modality = "text"
    score_name = "entity_f1"
    has_pooled_features = False

    def __init__(self, config, run_dir: Path):
        super().__init__(config, run_dir)
        self.sentences: list[Sentence] = []
        self.encoder = None
        self._built = False
        self.label_index: dict[str, int] = {}

    # ---------------------------------------------------------------- data
    def prepare_data(self) -> NerAuditReport:
        cfg = self.config
        found = read_token_file(cfg.data)
        sentences, repaired, scheme = found.sentences, found.repaired, found.scheme
        read_notes = list(found.notes)
        test: list[Sentence] = []
        if cfg.test_data:
            if Path(cfg.test_data).name == Path(cfg.data).name:
                raise DataError(f"{Path(cfg.test_data).name}: the test file has the same name as the training file; "
                                "rename one (sentences are identified by file name and line)")
            other = read_token_file(cfg.test_data)
            test, repaired = other.sentences, repaired + other.repaired
            read_notes += other.notes
        types = entity_types([t for s in sentences for t in s.tags])
        if not types:
            raise DataError(f"{Path(cfg.data).name}: no entity is tagged (every tag is O); tag at least one entity "
                            "type, e.g. B-PRODUCT")
        split_file = self.run_dir / "split.json"
        if split_file.exists():
            recorded = read_json(split_file)
            for s in sentences + test:
                s.split = recorded["assignments"][s.key]
            notes = recorded.get("notes", [])
        else:
            strata = [next((t[2:] for t in s.tags if t != "O"), "O") for s in sentences]
            fractions = {"val": cfg.val_fraction} if test else {"val": cfg.val_fraction, "test": cfg.test_fraction}
            plan = assign_splits(strata, fractions, cfg.seed)
            for s, sp in zip(sentences, plan.assignments):
                s.split = sp
            for s in test:
                s.split = "test"
            notes = plan.notes
        self.sentences = sentences + test
        self.classes = ["O"] + [f"{p}-{t}" for t in types for p in ("B", "I")]
        self.label_index = {c: k for k, c in enumerate(self.classes)}
        self._load_encoder()
        lengths = [len(ids) for ids in self.encoder.tokenizer([s.tokens for s in self.sentences],
                                                              is_split_into_words=True, truncation=False,
                                                              verbose=False)["input_ids"]]
        report = audit_sentences(self.sentences, scheme, repaired, lengths, self.encoder.max_length,
                                 read_notes + notes)
        atomic_write_json(split_file, {"seed": cfg.seed, "notes": notes,
                                       "assignments": {s.key: s.split for s in self.sentences}})
        atomic_write_json(self.run_dir / "audit.json", report.model_dump())
        atomic_write_text(self.run_dir / "audit.md", report.to_markdown())
        return report

    def split(self, name: str) -> tuple[list[list[str]], list[list[int]]]:
        wanted = name.split("+")
        chosen = [s for s in self.sentences if s.split in wanted]
        # a tag type seen only in test maps to O for training purposes (the audit names it)
        return [s.tokens for s in chosen], [[self.label_index.get(t, 0) for t in s.tags] for s in chosen]

    def check_splits(self) -> None:
        """Sentences to train on and to test on are needed; entity types missing from training are only named in
        the audit (the model cannot learn them, the rest still trains)."""
        name = Path(self.config.data).name
        if not self.split("train")[0]:
            raise DataError(f"{name}: no sentence left to train on; give more tagged sentences")
        if not self.split("test")[0]:
            raise DataError(f"{name}: no sentence left to test on; give at least 5 tagged sentences (or --test FILE)")

    def gold_tags(self, name: str) -> list[list[str]]:
        wanted = name.split("+")
        return [list(s.tags) for s in self.sentences if s.split in wanted]

    # --------------------------------------------------------------- model
    def _load_encoder(self) -> None:
        if self.encoder is None:
            self.encoder = load_text_encoder(self.config.backbone, self.config.max_length)

    def build_model(self, pretrained: bool = True) -> TokenTagger:
        self._load_encoder()
        if self._built or not pretrained:  # PEFT injects layers into what it wraps: a later model needs a fresh one
            self.encoder = load_text_encoder(self.config.backbone, self.config.max_length, pretrained=pretrained)
        self._built = True
        return TokenTagger(self.encoder.model, self.encoder.hidden_size, len(self.classes))

    def collate(self, batch: list[tuple[list[str], list[int]]]) -> tuple[dict[str, torch.Tensor], torch.Tensor]:
        words, tags = zip(*batch)
        inputs, firsts = encode_words(self.encoder.tokenizer, list(words), self.encoder.max_length)
        target = torch.full(inputs["input_ids"].shape, IGNORE, dtype=torch.long)
        for b, pos in enumerate(firsts):
            for w, k in enumerate(pos):
                if k is not None:
                    target[b, k] = tags[b][w]
        return inputs, target

    def loader(self, name: str, train: bool, batch_size: int) -> DataLoader:
        words, tags = self.split(name)
        return DataLoader(list(zip(words, tags)), batch_size=batch_size, shuffle=train, collate_fn=self.collate,
                          generator=torch.Generator().manual_seed(self.config.seed))

    def loss(self, logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        return nn.functional.cross_entropy(logits.float().flatten(0, 1), target.flatten(), ignore_index=IGNORE)

    @torch.no_grad()
    def predict_tags(self, model: nn.Module, name: str, accelerator: Any, batch_size: int = 64) -> list[list[str]]:
        """Predicted BIO tags per word for a split (a word past the maximum length: O)."""
        words, _ = self.split(name)
        model.eval().to(accelerator.device)
        out = []
        for k in range(0, len(words), batch_size):
            chunk = words[k:k + batch_size]
            inputs, firsts = encode_words(self.encoder.tokenizer, chunk, self.encoder.max_length)
            with accelerator.autocast():
                logits = model({n: v.to(accelerator.device) for n, v in inputs.items()})
            pred = logits.float().argmax(-1).cpu().numpy()
            out += [repair_bio([self.classes[pred[b, p]] if p is not None else "O" for p in pos])
                    for b, pos in enumerate(firsts)]
        return out

    def val_metrics(self, model: nn.Module, loader: Any, accelerator: Any) -> dict[str, float]:
        scores = entity_scores(self.gold_tags("val"), self.predict_tags(model, "val", accelerator))
        model.train()
        return {"val_entity_f1": scores["f1"], "val_entity_precision": scores["precision"],
                "val_entity_recall": scores["recall"]}

    def test_metrics(self, model: nn.Module, accelerator: Any) -> dict[str, Any]:
        """Entity-level precision / recall / F1 on the test split, overall and per type."""
        scores = entity_scores(self.gold_tags("test"), self.predict_tags(model, "test", accelerator), per_type=True)
        return {"entity_f1": scores["f1"], "entity_precision": scores["precision"], "entity_recall": scores["recall"],
                "per_type": scores["per_type"], "entities": scores["entities"], "n": len(self.split("test")[0])}

    def lora_targets(self, model: TokenTagger) -> list[str]:
        return lora_target_modules(model)

    def backbone_groups(self, model: TokenTagger) -> list[list[str]]:
        return layer_groups(model)

    # ------------------------------------------------------ save and load
    def model_info(self) -> dict[str, Any]:
        return {"modality": "text", "backbone": self.config.backbone, "hub_id": self.encoder.hub_id,
                "weights_id": self.encoder.weights_id, "hidden_size": self.encoder.hidden_size,
                "max_length": self.encoder.max_length}

    def save_preprocessing(self, model_dir: Path) -> None:
        self.encoder.tokenizer.save_pretrained(str(model_dir / "tokenizer"))

    @classmethod
    def rebuild(cls, info: dict[str, Any], run_dir: Path, pretrained: bool) -> tuple[TokenTagger, Any]:
        from transformers import AutoTokenizer

        enc = load_text_encoder(info["backbone"], info["max_length"], pretrained=pretrained)
        tokenizer = AutoTokenizer.from_pretrained(str(run_dir / "model" / "tokenizer"))
        return TokenTagger(enc.model, info["hidden_size"], len(info["classes"])), tokenizer


def repair_bio(tags: list[str]) -> list[str]:
    """Predicted tags made a valid BIO sequence (an I-X that starts an entity becomes B-X)."""
    out, prev = [], "O"
    for t in tags:
        if t.startswith("I-") and (prev == "O" or prev[2:] != t[2:]):
            t = "B-" + t[2:]
        out.append(t)
        prev = t
    return out


def entity_scores(gold: list[list[str]], pred: list[list[str]], per_type: bool = False) -> dict[str, Any]:
    """Entity-level precision, recall and F1 (seqeval, strict IOB2 matching), overall and per type."""
    from seqeval.metrics import classification_report, f1_score, precision_score, recall_score
    from seqeval.scheme import IOB2

    kw = {"mode": "strict", "scheme": IOB2, "zero_division": 0}
    out: dict[str, Any] = {"precision": float(precision_score(gold, pred, **kw)),
                           "recall": float(recall_score(gold, pred, **kw)), "f1": float(f1_score(gold, pred, **kw))}
    if per_type:
        report = classification_report(gold, pred, output_dict=True, **kw)
        out["per_type"] = {t: {"precision": float(v["precision"]), "recall": float(v["recall"]),
                               "f1": float(v["f1-score"]), "support": int(v["support"])}
                           for t, v in report.items() if not t.endswith(" avg")}
        out["entities"] = int(sum(v["support"] for v in out["per_type"].values()))
    return out


def extract_entities(text: str, tags_for: Any) -> list[dict[str, Any]]:
    """Entities of a raw text: split into words with offsets, tag them with `tags_for(words)`, join B-/I- runs."""
    words, offsets = tokenize_with_offsets(text)
    if not words:
        return []
    tags = repair_bio(tags_for(words))
    ents: list[dict[str, Any]] = []
    for w, (a, b), t in zip(words, offsets, tags):
        if t.startswith("B-"):
            ents.append({"type": t[2:], "start": a, "end": b})
        elif t.startswith("I-") and ents:
            ents[-1]["end"] = b
    for e in ents:
        e["text"] = text[e["start"]:e["end"]]
    return ents


def predict_entities(run: Any, texts: list[str]) -> list[list[dict[str, Any]]]:
    """Entities with character spans for each text, from a loaded NER run."""
    model, tokenizer, info = run.model, run.prep, run.info

    @torch.no_grad()
    def tags_for(words: list[str]) -> list[str]:
        inputs, firsts = encode_words(tokenizer, [words], info["max_length"])
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=info.get("precision") == "bf16"):
            logits = model(inputs)
        pred = logits.float().argmax(-1)[0].tolist()
        return [info["classes"][pred[p]] if p is not None else "O" for p in firsts[0]]

    return [extract_entities(t, tags_for) for t in texts]
