"""Vision benchmark on NEU-CLS steel defects (6 classes x 300), side by side in one run:
linear probe and LoRA (probe -> LoRA auto plan) in fp32 and bf16, the bare-forward limit, and a plain
reference script (frozen features + logistic regression, C by 5-fold CV) on the same test split.

Run:  python bench/vision_neu.py [--lora-epochs 3] [--progressive]
Writes bench/results/vision_neu.json and vision_neu.md.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
HERE = Path(__file__).resolve().parent
DEFAULT_DATA = HERE.parent.parent / "shared" / "data" / "neu_surface_defect"


def bare_forward(data: Path, precision: str, limit: int | None = None) -> dict:
    """Time the backbone alone over every image, preprocessed in memory beforehand (the compute limit)."""
    import torch
    from timm.data import create_transform

    from tladvisor.training.image_data import discover_images, load_rgb
    from tladvisor.training.image_models import create_image_backbone

    bb = create_image_backbone("efficientnet_lite0")
    tf = create_transform(**bb.data_config, is_training=False)
    device = "cuda" if torch.cuda.is_available() else "cpu"
    x = torch.stack([tf(load_rgb(i.path)) for i in discover_images(data).items[:limit]]).to(device)
    model = bb.model.eval().to(device, memory_format=torch.channels_last)
    t0 = time.perf_counter()
    with torch.no_grad(), torch.autocast(device, dtype=torch.bfloat16, enabled=precision == "bf16"):
        for k in range(0, len(x), 64):
            model(x[k:k + 64].contiguous(memory_format=torch.channels_last))
    if device == "cuda":
        torch.cuda.synchronize()
    sec = time.perf_counter() - t0
    return {"images": len(x), "seconds": round(sec, 2), "images_per_s": round(len(x) / sec, 1)}


def lora_throughput(data: Path, precision: str, n: int = 64) -> dict:
    """LoRA training images/s (forward + backward + step, batch 32, 224 px) on the first n images."""
    import torch
    from peft import LoraConfig, get_peft_model
    from timm.data import create_transform

    from tladvisor.training.image_data import discover_images, load_rgb
    from tladvisor.training.image_models import ImageClassifier, create_image_backbone, lora_target_modules

    bb = create_image_backbone("efficientnet_lite0")
    tf = create_transform(**bb.data_config, is_training=True)
    items = discover_images(data).items[:n]
    x = torch.stack([tf(load_rgb(i.path)) for i in items])
    y = torch.arange(len(items)) % 6
    model = ImageClassifier(bb.model, bb.num_features, 6)
    model = get_peft_model(model, LoraConfig(r=16, lora_alpha=16, modules_to_save=["classifier_head"],
                                             target_modules=[f"backbone.{t}" for t in lora_target_modules(bb.model)]))
    opt = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=1e-3)
    model.train()
    t0 = time.perf_counter()
    for k in range(0, len(x), 32):
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=precision == "bf16"):
            logits = model(x[k:k + 32])
        torch.nn.functional.cross_entropy(logits.float(), y[k:k + 32]).backward()
        opt.step()
        opt.zero_grad()
    return {"images": len(x), "images_per_s": round(len(x) / (time.perf_counter() - t0), 2)}


def run(data: Path, out: Path, precision: str, strategy: str, plan: list[str], epochs: int, cache: Path) -> dict:
    from tladvisor.schemas import TrainConfig
    from tladvisor.training.trainer import train

    os.environ["TLADVISOR_CACHE"] = str(cache)
    cfg = TrainConfig(modality="image", data=str(data), out_dir=str(out), backbone="efficientnet_lite0",
                      strategy=strategy, plan=plan, epochs=epochs, batch_size=32, lr=1e-3, precision=precision,
                      early_stopping_patience=3, skip_unwinnable=False)  # this bench measures every stage
    res = train(cfg)
    m = res.metrics
    return {"wall_s": res.wall_time_s, "test_accuracy": m["accuracy"], "test_macro_f1": m["macro_f1"],
            "test_errors": m["errors"], "test_n": m["n"], "kept_stage": m["best_stage"], "precision": m["precision"],
            "stages": [{k: v for k, v in s.items() if k != "history"} for s in res.stage_results], "run_dir": res.run_dir}


def reference_script(run_dir: Path, cache: Path) -> dict:
    """The plain script of the issue, on the trainer's own split: frozen features (from the cache), logistic
    regression with C by 5-fold CV on train+val, evaluated on the same test split."""
    import numpy as np
    from sklearn.linear_model import LogisticRegressionCV
    from sklearn.preprocessing import StandardScaler

    from tladvisor.training.image_data import file_sha1

    split = json.loads((run_dir / "split.json").read_text())
    root = Path(split["root"])
    [cache_file] = list((cache / "features").glob("*.npz"))
    data = np.load(cache_file)
    feats = dict(zip(data["keys"].tolist(), data["feats"]))
    xs, ys, parts = [], [], []
    for rel, part in split["assignments"].items():
        xs.append(feats[file_sha1(str(root / rel))])
        ys.append(Path(rel).parts[0])
        parts.append(part)
    x, y, parts = np.stack(xs), np.array(ys), np.array(parts)
    train = parts != "test"
    t0 = time.perf_counter()
    scaler = StandardScaler().fit(x[train])
    clf = LogisticRegressionCV(Cs=10, cv=5, max_iter=3000).fit(scaler.transform(x[train]), y[train])
    pred = clf.predict(scaler.transform(x[~train]))
    return {"test_accuracy": float((pred == y[~train]).mean()), "test_errors": int((pred != y[~train]).sum()),
            "test_n": int((~train).sum()), "fit_s": round(time.perf_counter() - t0, 2)}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA)
    ap.add_argument("--lora-epochs", type=int, default=3)
    ap.add_argument("--progressive", action="store_true", help="also run probe -> progressive unfreezing (fp32)")
    ap.add_argument("--precisions", default="fp32,bf16")
    ap.add_argument("--throughput-only", action="store_true",
                    help="only measure LoRA training images/s fp32 vs bf16 and add it to the existing results")
    args = ap.parse_args()
    if args.throughput_only:
        path = HERE / "results" / "vision_neu.json"
        results = json.loads(path.read_text()) if path.exists() else {}
        fp32, bf16 = lora_throughput(args.data, "fp32"), lora_throughput(args.data, "bf16")
        results["lora_throughput"] = {"fp32": fp32, "bf16": bf16, "command": "python bench/vision_neu.py "
                                      "--throughput-only", "bf16_over_fp32": round(bf16["images_per_s"] /
                                                                                   fp32["images_per_s"], 3)}
        path.write_text(json.dumps(results, indent=2))
        md = HERE / "results" / "vision_neu.md"
        line = (f"\nLoRA training throughput (`python bench/vision_neu.py --throughput-only`, 64 images, batch 32, "
                f"224 px): fp32 {fp32['images_per_s']} img/s, bf16 {bf16['images_per_s']} img/s "
                f"(ratio {results['lora_throughput']['bf16_over_fp32']}).\n")
        md.write_text((md.read_text() if md.exists() else "") + line)
        print(line)
        return 0
    if not args.data.is_dir():
        print(f"NEU-CLS data not found at {args.data}; pass --data (it lives in shared/data/neu_surface_defect)",
              file=sys.stderr)
        return 2
    from tladvisor.training.engine import cpu_has_fast_bf16

    work = Path(tempfile.mkdtemp(prefix="tl-bench-neu-"))
    results: dict = {"command": "python bench/vision_neu.py " + " ".join(sys.argv[1:]), "data": str(args.data),
                     "cpu_threads": __import__("torch").get_num_threads(), "cpu_native_bf16": cpu_has_fast_bf16(),
                     "lora_epochs": args.lora_epochs, "rows": {}}
    import torch

    native_bf16 = torch.cuda.is_available() or cpu_has_fast_bf16()
    for p in args.precisions.split(","):
        cache = work / f"cache-{p}"
        if p == "bf16" and not native_bf16:
            # no AMX / AVX512-BF16 here: bf16 is emulated; measure the forward on a sample and skip training
            fwd = bare_forward(args.data, p, limit=128)
            results["rows"]["bf16_skipped"] = {
                "reason": "this CPU has no native bf16 (no AMX / AVX512-BF16 in /proc/cpuinfo): emulated bf16 "
                          "forward measured on 128 images only; training in bf16 would be slower than fp32",
                "bare_forward_128_images": fwd}
            continue
        fwd = bare_forward(args.data, p)
        probe = run(args.data, work / f"probe-{p}", p, "linear_probe", ["linear_probe"], 1, cache)
        probe["bare_forward"] = fwd
        probe["ratio_to_bare_forward"] = round(probe["wall_s"] / fwd["seconds"], 3)
        results["rows"][f"linear_probe_{p}"] = probe
        auto = run(args.data, work / f"auto-{p}", p, "auto", ["linear_probe", "lora"], args.lora_epochs, cache)
        results["rows"][f"auto_probe_then_lora_{p}"] = auto
        if p == "fp32":
            results["rows"]["reference_script_fp32_features"] = reference_script(Path(probe["run_dir"]), cache)
        print(json.dumps(results["rows"], indent=1)[-1500:], flush=True)
    if args.progressive:
        results["rows"]["auto_probe_then_progressive_fp32"] = run(
            args.data, work / "prog", "fp32", "auto", ["linear_probe", "progressive"], 2 * args.lora_epochs,
            work / "cache-fp32")
    out = HERE / "results"
    out.mkdir(exist_ok=True)
    (out / "vision_neu.json").write_text(json.dumps(results, indent=2))
    lines = ["# NEU-CLS vision benchmark", "", f"`{results['command']}` (CPU threads: {results['cpu_threads']}, "
             f"native bf16: {results['cpu_native_bf16']}; test split: {probe['test_n']} images)", "",
             "| run | test acc | macro-F1 | errors | wall s | notes |", "|---|---|---|---|---|---|"]
    for name, r in results["rows"].items():
        if name == "bf16_skipped":
            f = r["bare_forward_128_images"]
            lines.append(f"| bf16 | | | | | skipped: {r['reason']} ({f['images_per_s']} img/s emulated) |")
            continue
        if name.startswith("reference"):
            lines.append(f"| {name} | {r['test_accuracy']:.4f} | | {r['test_errors']}/{r['test_n']} | {r['fit_s']} (fit) | "
                         "plain LogisticRegressionCV on the cached fp32 features |")
            continue
        notes = []
        if "ratio_to_bare_forward" in r:
            notes.append(f"bare forward {r['bare_forward']['seconds']} s ({r['bare_forward']['images_per_s']} img/s); "
                         f"end-to-end = {r['ratio_to_bare_forward']}x")
        for s in r["stages"]:
            if s["stage"] != "linear_probe":
                notes.append(f"{s['stage']}: test acc {s.get('test_accuracy', float('nan')):.4f}, "
                             f"{s.get('train_examples_per_s')} train img/s, {s.get('epochs_run')} epochs, "
                             f"{s.get('stage_seconds')} s")
        lines.append(f"| {name} | {r['test_accuracy']:.4f} | {r['test_macro_f1']:.4f} | {r['test_errors']}/{r['test_n']} "
                     f"| {r['wall_s']} | kept {r['kept_stage']}; {'; '.join(notes)} |")
    (out / "vision_neu.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
