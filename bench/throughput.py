"""Throughput of the catalogue's trainable backbones: examples per second for embedding (frozen forward, the
linear probe's cost), LoRA training and full fine-tuning (forward + backward + optimiser step), per precision,
on this machine's CPU or its CUDA GPU. The time estimate (`tladvisor/advice/estimate.py`) reads these figures
from `knowledge/throughput.yaml`; copy a new run's rows there.

Inputs are synthetic and already on the device (random images at the backbone's input size, 128-token texts):
model throughput does not depend on content. Batch sizes are the product's (embed 64, train 32), so the figures
are what a run gets from the model; image decoding can cap them on a GPU (see bench/gpu_pipeline.py).

`--backbones bundled` measures the two bundled models with their weights; `--backbones all` every trainable
catalogue backbone with random weights (the Hub is not needed: text configs are built from the published
architecture sizes below, and speed does not depend on weight values).

Run:  python bench/throughput.py [--n 128] [--device cpu|cuda] [--backbones bundled|all] [--out NAME]
Writes bench/results/NAME.json and NAME.md (default NAME: throughput for CPU, throughput_gpu for CUDA).
"""
from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path
from typing import Any, Callable

os.environ.setdefault("HF_HUB_OFFLINE", "1")
HERE = Path(__file__).resolve().parent
BUNDLED = ("efficientnet_lite0", "minilm_l6", "mpnet_base")  # mpnet_base: requirements-encoders.txt
SEQ_LEN = 128

# Architecture sizes of the catalogue's text encoders, from their published config.json files (hidden size,
# layers, heads, intermediate size, vocabulary): what sets their speed. Used with --backbones all only.
TEXT_CONFIGS: dict[str, tuple[str, dict[str, Any]]] = {
    "minilm_l6": ("bert", dict(hidden_size=384, num_hidden_layers=6, num_attention_heads=12, intermediate_size=1536)),
    "mpnet_base": ("mpnet", {}),  # MPNetConfig's defaults are all-mpnet-base-v2's sizes (768 x 12, vocab 30527)
    "distilbert_base": ("distilbert", {}),
    "bert_base": ("bert", {}),
    "roberta_base": ("roberta", dict(vocab_size=50265, max_position_embeddings=514, type_vocab_size=1,
                                     pad_token_id=1)),
    "deberta_v3_base": ("deberta-v2", dict(vocab_size=128100, hidden_size=768, num_hidden_layers=12,
                                           num_attention_heads=12, intermediate_size=3072, relative_attention=True,
                                           max_relative_positions=-1, position_buckets=256,
                                           norm_rel_ebd="layer_norm", share_att_key=True,
                                           pos_att_type=["p2c", "c2p"], position_biased_input=False,
                                           type_vocab_size=0)),
    "xlm_roberta_base": ("xlm-roberta", dict(vocab_size=250002, max_position_embeddings=514, type_vocab_size=1,
                                             pad_token_id=1)),
    "biobert": ("bert", dict(vocab_size=28996)),
    "biomedbert": ("bert", {}),
    "scibert": ("bert", dict(vocab_size=31090)),
    "clinicalbert": ("bert", dict(vocab_size=28996)),
    "legalbert": ("bert", {}),
    "finbert": ("bert", {}),
}
# BERT-base models that differ from bert_base only in vocabulary: the same speed, so measured once (the estimate
# takes the measured backbone of the nearest size).
SAME_AS_BERT_BASE = ("biobert", "biomedbert", "scibert", "clinicalbert", "legalbert", "finbert")


def trainable_backbones() -> list[tuple[str, str]]:
    """(id, modality) of every catalogue backbone this tool's engine trains."""
    from tladvisor.advice.catalogue import load_catalogue

    return [(b.id, b.modality) for b in load_catalogue()
            if b.modality in ("image", "text") and not b.advice_only]


def _image_parts(backbone: str, pretrained: bool) -> tuple[Any, int, int]:
    from tladvisor.training.image_models import create_image_backbone

    bb = create_image_backbone(backbone, pretrained=pretrained)
    return bb.model, bb.num_features, int(bb.data_config["input_size"][-1])


def _text_encoder(backbone: str, pretrained: bool) -> Any:
    if pretrained:
        from tladvisor.training.text_models import load_text_encoder

        return load_text_encoder(backbone, max_length=SEQ_LEN).model
    from transformers import AutoConfig, AutoModel

    model_type, sizes = TEXT_CONFIGS[backbone]
    return AutoModel.from_config(AutoConfig.for_model(model_type, **sizes))


def build(backbone: str, modality: str, mode: str, pretrained: bool) -> tuple[Any, int]:
    """(model, image side or 0) for `mode` in embed / lora / full, as the product builds it."""
    from peft import LoraConfig, get_peft_model

    if modality == "image":
        from tladvisor.training.image_models import ImageClassifier, lora_target_modules

        net, features, side = _image_parts(backbone, pretrained)
        if mode == "embed":
            return net.eval(), side
        model = ImageClassifier(net, features, 6)
        if mode == "full":
            return model, side
        targets = [f"backbone.{t}" for t in lora_target_modules(net)]
        return get_peft_model(model, LoraConfig(r=16, lora_alpha=16, modules_to_save=["classifier_head"],
                                                target_modules=targets)), side
    from tladvisor.training.text_models import TextClassifier
    from tladvisor.training.text_models import lora_target_modules as text_targets

    enc = _text_encoder(backbone, pretrained)
    if mode == "embed":
        return enc.eval(), 0
    model = TextClassifier(enc, enc.config.hidden_size, 6)
    if mode == "full":
        return model, 0
    return get_peft_model(model, LoraConfig(r=16, lora_alpha=16, modules_to_save=["classifier_head"],
                                            target_modules=text_targets(model))), 0


def measure(backbone: str, modality: str, mode: str, precisions: list[str], n: int, device: str,
            pretrained: bool, seq_len: int = SEQ_LEN) -> dict[str, float]:
    """Examples per second for `mode` ('embed', 'lora' or 'full') over n synthetic examples on `device`, per
    precision (one model built, each precision timed after its own warm-up); texts are `seq_len` tokens."""
    import torch

    model, side = build(backbone, modality, mode, pretrained)
    model = model.to(device)
    train = mode != "embed"
    batch = 32 if train else 64
    if modality == "image":
        model = model.to(memory_format=torch.channels_last)
        inputs = [{"x": torch.randn(min(batch, n - k), 3, side, side, device=device
                                    ).contiguous(memory_format=torch.channels_last)} for k in range(0, n, batch)]
    else:
        inputs = [{"input_ids": torch.randint(1000, 20000, (min(batch, n - k), seq_len), device=device),
                   "attention_mask": torch.ones(min(batch, n - k), seq_len, dtype=torch.long, device=device)}
                  for k in range(0, n, batch)]
    opt = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=1e-4) if train else None
    dev_type = "cuda" if device.startswith("cuda") else "cpu"

    def step(b: dict, precision: str) -> None:
        with torch.autocast(dev_type, dtype=torch.bfloat16, enabled=precision == "bf16"):
            if modality == "image":
                out = model(b["x"])
            elif train:
                out = model({"input_ids": b["input_ids"], "attention_mask": b["attention_mask"]})
            else:
                out = model(input_ids=b["input_ids"], attention_mask=b["attention_mask"]).last_hidden_state
        if train:
            out.float().mean().backward()
            opt.step()
            opt.zero_grad()

    sync: Callable[[], None] = torch.cuda.synchronize if dev_type == "cuda" else (lambda: None)
    speeds = {}
    for precision in precisions:
        with torch.set_grad_enabled(train):
            for b in inputs[:3 if dev_type == "cuda" else 1]:  # warm-up: allocations, cuDNN / oneDNN kernels
                step(b, precision)
            sync()
            t0 = time.perf_counter()
            for b in inputs:
                step(b, precision)
            sync()
        speeds[precision] = n / (time.perf_counter() - t0)
    del model, opt, inputs
    if dev_type == "cuda":
        torch.cuda.empty_cache()
    return speeds


def main() -> None:
    import torch

    from tladvisor.advice.hardware import cpu_kind, cpu_model
    from tladvisor.training.engine import cpu_has_fast_bf16

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=128, help="examples per measurement")
    ap.add_argument("--device", choices=("cpu", "cuda"), default="cpu")
    ap.add_argument("--backbones", choices=("bundled", "all"), default="bundled")
    ap.add_argument("--modes", default="embed,lora,full", help="comma list of embed, lora, full")
    ap.add_argument("--only", default="", help="comma list of backbone ids (default: all of --backbones)")
    ap.add_argument("--results", default=str(HERE / "results"), help="folder the result files go to")
    ap.add_argument("--out", default=None, help="result file stem under bench/results/")
    ap.add_argument("--precisions", default="auto",
                    help="comma list of fp32, bf16 (default auto: bf16 too where the hardware runs it natively; name it "
                         "to time emulated bf16 on a CPU without it)")
    args = ap.parse_args()
    gpu = args.device == "cuda"
    if gpu and not torch.cuda.is_available():
        raise SystemExit("--device cuda: no CUDA GPU is visible")
    native = torch.cuda.is_bf16_supported() if gpu else cpu_has_fast_bf16()
    precisions = (["fp32", "bf16"] if native else ["fp32"]) if args.precisions == "auto" else args.precisions.split(",")
    pretrained = args.backbones == "bundled"
    backbones = [b for b in trainable_backbones()
                 if (b[0] in BUNDLED if pretrained else b[0] not in SAME_AS_BERT_BASE)
                 and (not args.only or b[0] in args.only.split(","))]
    modes = [m for m in args.modes.split(",") if m]
    out_name = args.out or ("throughput_gpu" if gpu else "throughput")
    compute = "single_gpu" if gpu else "cpu"
    rows: list[dict[str, Any]] = []
    out = Path(args.results)
    out.mkdir(parents=True, exist_ok=True)
    hardware = torch.cuda.get_device_name(0) if gpu else cpu_model()
    flags = {"modes": args.modes if args.modes != "embed,lora,full" else "", "only": args.only,
             "precisions": args.precisions if args.precisions != "auto" else "", "out": args.out}
    command = (f"python bench/throughput.py --n {args.n} --device {args.device} --backbones {args.backbones}"
               + "".join(f" --{k} {v}" for k, v in flags.items() if v))
    meta = {"command": command, "device": hardware, "cpu_threads": torch.get_num_threads(),
            "native_bf16": native, "cpu_kind": None if gpu else cpu_kind(), "torch": torch.__version__,
            "date": time.strftime("%Y-%m-%d"),
            "weights": "bundled pretrained" if pretrained else "random (speed does not depend on weights)"}
    for backbone, modality in backbones:
        by_precision: dict[str, dict[str, Any]] = {
            p: {"backbone": backbone, "compute": compute, **({} if gpu else {"cpu_kind": cpu_kind()}),
                "precision": p} for p in precisions}
        for mode in modes:
            key = "train" if mode == "lora" else mode
            try:
                for p, speed in measure(backbone, modality, mode, precisions, args.n, args.device,
                                        pretrained).items():
                    by_precision[p][f"{key}_per_s"] = round(speed, 1)
            except Exception as exc:  # one architecture failing must not lose the others' rows
                for row in by_precision.values():
                    row[f"{mode}_error"] = f"{type(exc).__name__}: {exc}"[:300]
        rows.extend(by_precision.values())
        print(*by_precision.values(), sep="\n", flush=True)
        # written after every backbone: a run stopped at its time limit keeps what it measured
        (out / f"{out_name}.json").write_text(json.dumps({"meta": meta, "rows": rows}, indent=2) + "\n")
    lines = [f"# Throughput of the catalogue's backbones ({'GPU' if gpu else 'CPU'})", "",
             f"`{meta['command']}` on {hardware} ({meta['cpu_threads']} CPU threads, native bf16: {native}"
             f"{'' if gpu else ', CPU kind: ' + str(meta['cpu_kind'])}, torch "
             f"{meta['torch']}, {meta['date']}); weights: {meta['weights']}. Synthetic inputs at each backbone's "
             f"input size / {SEQ_LEN}-token texts, already on the device; embed = frozen forward (batch 64), "
             "LoRA / full = forward + backward + AdamW step (batch 32). Examples per second.", "",
             "| backbone | precision | embed | LoRA train | full train |", "|---|---|---|---|---|"]
    lines += [f"| {r['backbone']} | {r['precision']} | {r.get('embed_per_s', '-')} | {r.get('train_per_s', '-')} | "
              f"{r.get('full_per_s', '-')} |" for r in rows]
    errors = [f"- {r['backbone']} {r['precision']}: {k} {v}" for r in rows for k, v in r.items() if k.endswith("_error")]
    if errors:
        lines += ["", "Failed measurements:", *errors]
    (out / f"{out_name}.md").write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
