"""Throughput of the bundled backbones on this machine: examples per second for embedding (frozen forward,
the linear probe's cost) and for LoRA training (forward + backward + step), fp32 and, where the CPU has it
natively, bf16. The time estimate (`tladvisor/advice/estimate.py`) reads these figures from
`knowledge/throughput.yaml`; copy a new run's numbers there.

Inputs are synthetic (random 224 px images, 128-token texts): throughput does not depend on content.

Run:  python bench/throughput.py [--n 128]
Writes bench/results/throughput.json and throughput.md.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
HERE = Path(__file__).resolve().parent


def _image_model(train: bool):
    from peft import LoraConfig, get_peft_model

    from tladvisor.training.image_models import ImageClassifier, create_image_backbone, lora_target_modules

    bb = create_image_backbone("efficientnet_lite0")
    if not train:
        return bb.model.eval()
    model = ImageClassifier(bb.model, bb.num_features, 6)
    targets = [f"backbone.{t}" for t in lora_target_modules(bb.model)]
    return get_peft_model(model, LoraConfig(r=16, lora_alpha=16, modules_to_save=["classifier_head"],
                                            target_modules=targets))


def _text_model(train: bool):
    from peft import LoraConfig, get_peft_model

    from tladvisor.training.text_models import TextClassifier, load_text_encoder, lora_target_modules

    enc = load_text_encoder("minilm_l6", max_length=128)
    if not train:
        return enc.model.eval()
    model = TextClassifier(enc.model, enc.hidden_size, 6)
    return get_peft_model(model, LoraConfig(r=16, lora_alpha=16, modules_to_save=["classifier_head"],
                                            target_modules=lora_target_modules(model)))


def measure(kind: str, backbone: str, precision: str, n: int) -> float:
    """Examples per second for `kind` ('embed' or 'train') on n synthetic examples."""
    import torch

    train = kind == "train"
    model = _image_model(train) if backbone == "efficientnet_lite0" else _text_model(train)
    batch = 32 if train else 64
    if backbone == "efficientnet_lite0":
        inputs = [{"x": torch.randn(min(batch, n - k), 3, 224, 224)} for k in range(0, n, batch)]
    else:
        inputs = [{"input_ids": torch.randint(1000, 20000, (min(batch, n - k), 128)),
                   "attention_mask": torch.ones(min(batch, n - k), 128, dtype=torch.long)} for k in range(0, n, batch)]
    opt = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=1e-4) if train else None
    use_bf16 = precision == "bf16"

    def step(b: dict) -> None:
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=use_bf16):
            if backbone == "efficientnet_lite0":
                out = model(b["x"])
            elif train:
                out = model({"input_ids": b["input_ids"], "attention_mask": b["attention_mask"]})
            else:
                out = model(input_ids=b["input_ids"], attention_mask=b["attention_mask"]).last_hidden_state
        if train:
            loss = out.float().mean() if out.dim() > 1 else out.float().sum()
            loss.backward()
            opt.step()
            opt.zero_grad()

    step(inputs[0])  # warm-up (allocations, oneDNN kernels)
    t0 = time.perf_counter()
    with torch.set_grad_enabled(train):
        for b in inputs:
            step(b)
    return n / (time.perf_counter() - t0)


def main() -> None:
    import torch

    from tladvisor.training.engine import cpu_has_fast_bf16

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=128, help="examples per measurement")
    args = ap.parse_args()
    native = cpu_has_fast_bf16()
    precisions = ["fp32", "bf16"] if native else ["fp32"]
    rows = []
    for backbone in ("efficientnet_lite0", "minilm_l6"):
        for precision in precisions:
            row = {"backbone": backbone, "compute": "cpu", "precision": precision,
                   "embed_per_s": round(measure("embed", backbone, precision, args.n), 1),
                   "train_per_s": round(measure("train", backbone, precision, args.n), 1)}
            rows.append(row)
            print(row, flush=True)
    meta = {"command": f"python bench/throughput.py --n {args.n}", "cpu_threads": torch.get_num_threads(),
            "native_bf16": native, "processor": platform.processor() or platform.machine(),
            "date": time.strftime("%Y-%m-%d")}
    out = HERE / "results"
    out.mkdir(exist_ok=True)
    (out / "throughput.json").write_text(json.dumps({"meta": meta, "rows": rows}, indent=2) + "\n")
    lines = ["# Throughput of the bundled backbones (CPU)", "",
             f"`{meta['command']}` ({meta['cpu_threads']} CPU threads, native bf16: {native}, {meta['date']}); "
             "synthetic 224 px images / 128-token texts; embed = frozen forward (batch 64), train = LoRA "
             "forward + backward + step (batch 32).", "",
             "| backbone | precision | embed ex/s | LoRA train ex/s |", "|---|---|---|---|"]
    lines += [f"| {r['backbone']} | {r['precision']} | {r['embed_per_s']} | {r['train_per_s']} |" for r in rows]
    (out / "throughput.md").write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
