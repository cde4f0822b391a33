"""NER benchmark on WNUT-17 (emerging entities in tweets and forum text; CC BY 4.0): the advisor's plan for the
training file (bundled MiniLM-L6, full fine-tuning with a token-classification head), trained on train.conll with
dev.conll's sentences joined to it (validation is carved out of it by the trainer, as for any client file) and
scored on the official test.conll with entity-level F1 (seqeval, strict).

Run:  python bench/ner_wnut17.py [--epochs N] [--strategy full|lora] [--dev-as-train/--no-dev-as-train]
Writes bench/results/ner_wnut17.json and ner_wnut17.md. Needs ../shared/data/wnut17 (SOURCE.md there).
Other CoNLL-style sets: --data DIR --train train.tsv --dev devel.tsv --test test.tsv --name bc5cdr_chem
(writes ner_<name>.json / .md; bench/data/SOURCES.md says where each gathered set comes from).
Published test entity F1 for reference: BERTweet 0.565 (Nguyen et al. 2020, Table 4); the 2017 shared task's
best system about 0.42 (Derczynski et al. 2017).
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
HERE = Path(__file__).resolve().parent
DATA = HERE.parent.parent / "shared" / "data" / "wnut17"
PUBLISHED = {"wnut17": {"BERTweet (Nguyen et al. 2020)": 0.565, "WNUT-17 shared task best (2017)": 0.42},
             "bc5cdr_chem": {"BioBERT-base (Tian et al. 2020, BMC Bioinformatics 21:539, Table 5)": 0.935}}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", default=str(DATA))
    ap.add_argument("--name", default="wnut17")
    ap.add_argument("--train", default="train.conll")
    ap.add_argument("--dev", default="dev.conll")
    ap.add_argument("--test", default="test.conll")
    ap.add_argument("--epochs", type=int)
    ap.add_argument("--strategy", default="auto")
    ap.add_argument("--lr", type=float)
    ap.add_argument("--dev-as-train", action=argparse.BooleanOptionalAction, default=True,
                    help="join dev.conll to the training file (the trainer carves its own validation split)")
    args = ap.parse_args()
    data = Path(args.data)
    if not (data / args.train).exists():
        print(f"{args.train} not found in {data}: see bench/ner_wnut17.py's docstring", file=sys.stderr)
        return 2
    from tladvisor.advice.advisor import advise
    from tladvisor.advice.brief import ProjectBrief
    from tladvisor.data_volume import data_volume
    from tladvisor.training.engine import resolve_precision
    from tladvisor.training.trainer import train

    with tempfile.TemporaryDirectory() as tmp:
        train_file = Path(tmp) / f"{args.name}_train.conll"
        parts = [(data / args.train).read_text(encoding="utf-8").strip()]
        if args.dev_as_train:
            parts.append((data / args.dev).read_text(encoding="utf-8").strip())
        train_file.write_text("\n\n".join(parts) + "\n", encoding="utf-8")
        task, types, n = data_volume(str(train_file))
        rec = advise(ProjectBrief(task=task, total=n))
        overrides = {k: v for k, v in {"epochs": args.epochs, "lr": args.lr}.items() if v is not None}
        cfg = rec.to_train_config(str(train_file), strategy=args.strategy, out_dir=str(Path(tmp) / "run"),
                                  test_data=str(data / args.test), **overrides)
        t0 = time.perf_counter()
        result = train(cfg)
        wall = time.perf_counter() - t0
        m = result.metrics
        out = {"command": "python bench/ner_wnut17.py " + " ".join(sys.argv[1:]),
               "data": "WNUT-17 (CC BY 4.0)" if args.name == "wnut17" else args.name,
               "train_sentences": n, "entity_types": types, "test_sentences": m["n"], "test_entities": m["entities"],
               "backbone": cfg.backbone, "plan": cfg.stages(), "epochs": cfg.epochs, "lr": cfg.lr,
               "batch_size": cfg.batch_size, "precision": resolve_precision(cfg.precision),
               "cpu": platform.processor() or platform.machine(), "cores": os.cpu_count(),
               "test_entity_f1": round(m["entity_f1"], 4), "test_entity_precision": round(m["entity_precision"], 4),
               "test_entity_recall": round(m["entity_recall"], 4), "per_type": m["per_type"],
               "stages": [{k: v for k, v in s.items() if k != "history"} for s in result.stage_results],
               "epochs_log": [h for s in result.stage_results for h in s.get("history", [])],
               "wall_s": round(wall, 1), "published": PUBLISHED.get(args.name, {})}
    res = HERE / "results"
    res.mkdir(exist_ok=True)
    (res / f"ner_{args.name}.json").write_text(json.dumps(out, indent=2), encoding="utf-8")
    rows = "\n".join(f"| {t} | {v['precision']:.3f} | {v['recall']:.3f} | {v['f1']:.3f} | {v['support']} |"
                     for t, v in out["per_type"].items())
    epochs = "; ".join(f"{h['epoch']}: {h['epoch_s']:.0f} s, {h.get('val_entity_f1', float('nan')):.3f}"
                       for h in out["epochs_log"])
    published = "; ".join(f"{k} {v}" for k, v in out["published"].items()) or "see the data's SOURCE note"
    (res / f"ner_{args.name}.md").write_text(f"""# NER on {out['data']} (test, entity-level F1)

`{out['command']}`: {out['backbone']}, plan {' -> '.join(out['plan'])}, up to {out['epochs']} epochs, lr {out['lr']:g},
batch {out['batch_size']}, {out['precision']} on {out['cores']} CPU cores; {out['train_sentences']} training sentences
({'train + dev' if args.dev_as_train else 'the training file only'}; the trainer keeps a tenth for validation), {out['test_sentences']} test sentences.

**Test entity F1 {out['test_entity_f1']:.3f}** (precision {out['test_entity_precision']:.3f}, recall
{out['test_entity_recall']:.3f}; {out['test_entities']} entities); wall time {out['wall_s']:.0f} s.
Published: {published}.

| type | precision | recall | F1 | support |
|---|---|---|---|---|
{rows}

Epochs (time, validation entity F1): {epochs}.
""", encoding="utf-8")
    print(json.dumps({k: out[k] for k in ("test_entity_f1", "test_entity_precision", "test_entity_recall", "wall_s")}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
