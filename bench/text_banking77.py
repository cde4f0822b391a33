"""Text benchmark on BANKING77 (77 intents, official split), side by side in one run: the product's auto
plan (as the advisor recommends it for the data), linear probe and LoRA, on the full training set and on
10 examples per class (seeded sample), plus the plain reference script (frozen MiniLM, mean-pooled and
L2-normalised embeddings, logistic regression with C by 5-fold CV) and LoRA throughput fp32 vs bf16.

Run:  python bench/text_banking77.py [--budget 60000]   (LoRA epochs capped at budget / training examples)
      python bench/text_banking77.py --markdown-only   (re-render the table from the saved JSON)
Writes bench/results/text_banking77.json and text_banking77.md.
"""
from __future__ import annotations

import argparse
import csv
import json
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
HERE = Path(__file__).resolve().parent
DEFAULT_DATA = HERE.parent.parent / "shared" / "data" / "banking77"


def banking77_files(data: Path, prefix: str) -> "tuple[Path, Path, Path] | None":
    """(train.csv, test.csv, a fresh work dir whose feature cache the runs share), or None (said why) when the
    data is absent."""
    train_csv, test_csv = data / "train.csv", data / "test.csv"
    if not train_csv.exists():
        print(f"BANKING77 not found at {data}; pass --data (shared/data/banking77)", file=sys.stderr)
        return None
    work = Path(tempfile.mkdtemp(prefix=prefix))
    os.environ["TLADVISOR_CACHE"] = str(work / "cache")
    return train_csv, test_csv, work


def sample_per_class(src: Path, dst: Path, k: int, seed: int = 0) -> Path:
    import random

    with open(src, newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    by: dict[str, list] = {}
    for r in rows:
        by.setdefault(r["label"], []).append(r)
    rng = random.Random(seed)
    picked = [r for label in sorted(by) for r in rng.sample(by[label], min(k, len(by[label])))]
    with open(dst, "w", newline="", encoding="utf-8") as fh:
        w = csv.DictWriter(fh, fieldnames=["text", "label"])
        w.writeheader()
        w.writerows({"text": r["text"], "label": r["label"]} for r in picked)
    return dst


def run(train_csv: Path, test_csv: Path, out: Path, strategy: str, plan: list[str] | None, budget: int,
        precision: str = "fp32") -> dict:
    from tladvisor.advice.advisor import advise
    from tladvisor.advice.brief import ProjectBrief
    from tladvisor.training.text_data import read_labelled_texts
    from tladvisor.training.trainer import train

    rows = read_labelled_texts(train_csv).rows
    classes = len({r.label for r in rows})
    rec = advise(ProjectBrief(task="text-classification", domain="customer-service", classes=classes,
                              per_class=len(rows) // classes, commercial=True))
    extra = {"plan": plan} if plan else {}
    cfg = rec.to_train_config(str(train_csv), out_dir=str(out), strategy=strategy, test_data=str(test_csv),
                              precision=precision, **extra)
    cfg = cfg.model_copy(update={"epochs": max(1, min(cfg.epochs, budget // len(rows)))})  # CPU time budget
    t0 = time.perf_counter()
    res = train(cfg)
    m = res.metrics
    return {"advisor_plan": rec.trainable_stages(), "ran_plan": cfg.stages(), "backbone": cfg.backbone,
            "epochs_max": cfg.epochs, "lr": cfg.lr, "wall_s": round(time.perf_counter() - t0, 1),
            "test_accuracy": m["accuracy"], "test_macro_f1": m["macro_f1"], "test_n": m["n"],
            "kept_stage": m["best_stage"], "retrained_on_all": m.get("retrained_on_all"), "run_dir": res.run_dir,
            "stages": [{k: v for k, v in s.items() if k != "history"} for s in res.stage_results]}


def reference_script(train_csv: Path, test_csv: Path) -> dict:
    """The issue's plain script: frozen MiniLM, mean pooling, L2 normalisation, LogisticRegressionCV (5-fold)."""
    import numpy as np
    import torch
    from sklearn.linear_model import LogisticRegressionCV

    from tladvisor.training.text_data import read_labelled_texts
    from tladvisor.training.text_models import load_text_encoder, mean_pool

    enc = load_text_encoder("minilm_l6")
    model = enc.model.eval()

    def embed(texts):
        out = []
        with torch.no_grad():
            for k in range(0, len(texts), 128):
                b = enc.tokenizer(texts[k:k + 128], padding=True, truncation=True, max_length=enc.max_length,
                                  return_tensors="pt")
                v = mean_pool(model(**b).last_hidden_state, b["attention_mask"])
                out.append(torch.nn.functional.normalize(v, dim=-1).numpy())
        return np.concatenate(out)

    t0 = time.perf_counter()
    tr = read_labelled_texts(train_csv).rows
    te = read_labelled_texts(test_csv).rows
    xtr, xte = embed([r.text for r in tr]), embed([r.text for r in te])
    clf = LogisticRegressionCV(Cs=10, cv=5, max_iter=3000).fit(xtr, [r.label for r in tr])
    acc = float((clf.predict(xte) == np.array([r.label for r in te])).mean())
    return {"test_accuracy": acc, "wall_s": round(time.perf_counter() - t0, 1)}


def lora_throughput(train_csv: Path, precision: str, n: int = 1024) -> dict:
    """LoRA training examples/s on the first n texts (one epoch), for the fp32 vs bf16 ratio."""
    import torch
    from peft import LoraConfig, get_peft_model

    from tladvisor.training.text_data import read_labelled_texts
    from tladvisor.training.text_models import TextClassifier, load_text_encoder, lora_target_modules

    rows = read_labelled_texts(train_csv).rows
    rows = rows[:n]
    labels = sorted({r.label for r in rows})
    enc = load_text_encoder("minilm_l6")
    model = TextClassifier(enc.model, enc.hidden_size, len(labels))
    model = get_peft_model(model, LoraConfig(r=16, lora_alpha=32, target_modules=lora_target_modules(model),
                                             modules_to_save=["classifier_head"]))
    opt = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=5e-4)
    model.train()
    t0 = time.perf_counter()
    for k in range(0, len(rows), 32):
        chunk = rows[k:k + 32]
        b = enc.tokenizer([r.text for r in chunk], padding=True, truncation=True, return_tensors="pt")
        y = torch.tensor([labels.index(r.label) for r in chunk])
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=precision == "bf16"):
            logits = model({"input_ids": b["input_ids"], "attention_mask": b["attention_mask"]})
        loss = torch.nn.functional.cross_entropy(logits.float(), y)
        loss.backward()
        opt.step()
        opt.zero_grad()
    return {"examples": len(rows), "examples_per_s": round(len(rows) / (time.perf_counter() - t0), 1)}


def stage_note(s: dict) -> str:
    """One stage's line in the Markdown table: test accuracy and what the stage did."""
    note = f"{s['stage']}: test {s.get('test_accuracy', float('nan')):.4f}"
    if s["stage"] == "linear_probe":
        note += f", embed {s['embedding']['seconds']} s"
    elif s["stage"] == "ensemble":
        note += f", probe weight {s['probe_weight']}, val F1 {s['val_macro_f1']:.4f}"
    else:
        note += f", {s['train_examples_per_s']} ex/s, {s['epochs_run']} epochs"
    if s.get("refit_head"):
        h = s["refit_head"]
        note += (f", head re-fitted ({'kept' if h['kept'] else 'not kept'}: val F1 {h['val_macro_f1']:.4f} vs "
                 f"{h['tuned_head_val_macro_f1']:.4f})")
    return note


def write_markdown(results: dict, path: Path) -> str:
    """Render the results table (also from a saved JSON: --markdown-only) and write it to path."""
    lines = ["# BANKING77 text benchmark", "", f"`{results['command']}`; official test split "
             f"({results['rows']['auto_full']['test_n']} texts); backbone: bundled all-MiniLM-L6-v2 (mean+max pooling, "
             "class names as extra training rows); fp32. Goals (issue #4): auto >= 0.935 full, >= 0.87 at 10 per class.",
             "",
             "| run | test acc | macro-F1 | wall s | kept stage | notes |", "|---|---|---|---|---|---|"]
    for name, r in results["rows"].items():
        if name.startswith("reference"):
            lines.append(f"| {name} | {r['test_accuracy']:.4f} | | {r['wall_s']} | | plain script (normalised "
                         "embeddings + LogisticRegressionCV) |")
            continue
        notes = [f"plan {' -> '.join(r['ran_plan'])}"] + [stage_note(s) for s in r["stages"]]
        if r.get("retrained_on_all"):
            t = r["retrained_on_all"]
            notes.append(f"kept {t['stage']} retrained on train+val ({t['examples']} rows, {t['epochs']} epochs, "
                         f"{t['seconds']} s)")
        lines.append(f"| {name} | {r['test_accuracy']:.4f} | {r['test_macro_f1']:.4f} | {r['wall_s']} | "
                     f"{r['kept_stage']} | {'; '.join(notes)} |")
    t = results["lora_throughput"]
    lines += ["", f"LoRA training throughput (MiniLM, batch 32): fp32 {t['fp32']['examples_per_s']} ex/s, bf16 "
              f"{t['bf16']['examples_per_s']} ex/s (ratio {t['bf16_over_fp32']}; native bf16 on this CPU: "
              f"{results['cpu_native_bf16']})."]
    text = "\n".join(lines) + "\n"
    path.write_text(text)
    return text


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA)
    ap.add_argument("--budget", type=int, default=60000, help="max training examples seen per LoRA run")
    ap.add_argument("--markdown-only", action="store_true", help="re-render the .md from the saved JSON")
    args = ap.parse_args()
    if args.markdown_only:
        print(write_markdown(json.loads((HERE / "results" / "text_banking77.json").read_text()),
                             HERE / "results" / "text_banking77.md"))
        return 0
    files = banking77_files(args.data, "tl-bench-b77-")
    if files is None:
        return 2
    train_csv, test_csv, work = files
    few = sample_per_class(train_csv, work / "train_10pc.csv", 10)
    from tladvisor.training.engine import cpu_has_fast_bf16

    results: dict = {"command": "python bench/text_banking77.py " + " ".join(sys.argv[1:]), "rows": {},
                     "cpu_native_bf16": cpu_has_fast_bf16()}
    for name, data in (("full", train_csv), ("10_per_class", few)):
        auto = results["rows"][f"auto_{name}"] = run(data, test_csv, work / f"auto-{name}", "auto", None, args.budget)
        if "lora" not in auto["ran_plan"]:  # show what LoRA would have added
            results["rows"][f"probe_then_lora_{name}"] = run(data, test_csv, work / f"pl-{name}", "auto",
                                                             ["linear_probe", "lora"], args.budget)
        results["rows"][f"reference_{name}"] = reference_script(data, test_csv)
        print(json.dumps(results["rows"], indent=1)[-2000:], flush=True)
    fp32 = lora_throughput(train_csv, "fp32")
    bf16 = lora_throughput(train_csv, "bf16", n=256)
    results["lora_throughput"] = {"fp32": fp32, "bf16": bf16,
                                  "bf16_over_fp32": round(bf16["examples_per_s"] / fp32["examples_per_s"], 3)}
    out = HERE / "results"
    out.mkdir(exist_ok=True)
    (out / "text_banking77.json").write_text(json.dumps(results, indent=2))
    print(write_markdown(results, out / "text_banking77.md"))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
