"""End-to-end image throughput of `tladvisor train`: JPEG decoding, resizing and augmentation in the data
loader plus the model, as a client's run gets it. On a GPU the loader, not the model, sets the pace for small
backbones; the time estimate caps the model-only figures of bench/throughput.py with these (`pipeline:` in
`knowledge/throughput.yaml`).

Data: generated photo-sized JPEGs (textures in 6 classes, SIDE x 3/4 SIDE px, quality 90), written once.
Runs: the linear probe (embeds every image once), LoRA and full fine-tuning for a few epochs, each a real
`python -m tladvisor train ... --budget 0 --json` on the default precision (bf16 where the hardware has it).

Run:  python bench/pipeline_speed.py [--images 3000] [--side 640] [--epochs 2] [--out pipeline_speed]
Writes bench/results/OUT.json and OUT.md.
"""
from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from cli_train import train_cli

HERE = Path(__file__).resolve().parent
CLASSES = ("stripes_h", "stripes_v", "spots", "scratch", "grain", "plain")


def _write(args: tuple[str, int, int, int]) -> None:
    import numpy as np
    from PIL import Image

    path, cls, side, seed = args
    rng = np.random.default_rng(seed)
    h, w = side * 3 // 4, side
    img = rng.normal(128, 25, (h, w)).astype(np.float32)
    yy, xx = np.mgrid[:h, :w]
    period = int(rng.integers(8, 24))
    if cls == 0:
        img[(yy // period) % 2 == 0] += 50
    elif cls == 1:
        img[:, (xx[0] // period) % 2 == 0] += 50
    elif cls == 2:
        for _ in range(20):
            y, x, r = int(rng.integers(0, h)), int(rng.integers(0, w)), int(rng.integers(4, 16))
            img[(yy - y) ** 2 + (xx - x) ** 2 <= r * r] -= 80
    elif cls == 3:
        y0 = int(rng.integers(0, h))
        img[np.abs(yy - y0 - (xx * rng.uniform(-0.5, 0.5))) < 3] += 90
    elif cls == 4:
        img += rng.normal(0, 40, (h, w))
    rgb = np.stack([img, img * 0.95, img * 0.9], -1).clip(0, 255).astype(np.uint8)
    Image.fromarray(rgb).save(path, quality=90)


def make_data(root: Path, images: int, side: int) -> None:
    """images JPEGs over CLASSES under root/class/, written in parallel."""
    jobs = []
    for k in range(images):
        cls = k % len(CLASSES)
        (root / CLASSES[cls]).mkdir(parents=True, exist_ok=True)
        jobs.append((str(root / CLASSES[cls] / f"{k:05d}.jpg"), cls, side, k))
    with ProcessPoolExecutor(os.cpu_count() or 1) as pool:
        list(pool.map(_write, jobs, chunksize=32))


def train(data: Path, run: Path, strategy: str, epochs: int) -> dict:
    """One `tladvisor train` run; its RunResult plus the wall time seen from outside."""
    flags = ["--strategy", strategy, "--budget", "0"] + (["--epochs", str(epochs)] if strategy != "linear_probe"
                                                          else [])
    result, wall, stderr = train_cli(data, run, *flags)
    if result is None:
        return {"strategy": strategy, "error": stderr[-1500:], "wall_s": round(wall, 1)}
    stage = result["stage_results"][-1]
    row = {"strategy": strategy, "wall_s": round(wall, 1), "stage_s": stage.get("stage_seconds"),
           "precision": result["metrics"].get("precision"), "test_accuracy": result["metrics"].get("accuracy")}
    if strategy == "linear_probe":
        emb = stage.get("embedding") or {}
        row["embedded"] = emb.get("computed")
        row["embed_s"] = emb.get("seconds")
        row["embed_per_s"] = round(emb["computed"] / emb["seconds"], 1) if emb.get("seconds") else None
        # the probe stage's parts: the preprocessing choice (its sample embedded both ways), then the probe's own
        # time (`seconds`: embedding the rest + the cross-validated head fit)
        choice = stage.get("preprocess") or {}
        row["stage_detail"] = {"choice_s": choice.get("seconds"),
                               "head_fit_s": round(stage["seconds"] - (emb.get("seconds") or 0.0), 2)
                               if stage.get("seconds") is not None else None}
    else:
        row["epochs"] = stage.get("epochs_run")
        row["train_per_s"] = stage.get("train_examples_per_s")
        row["epoch_s"] = [h.get("epoch_s") for h in stage.get("history", [])]
    return row


def main() -> None:
    import torch

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--images", type=int, default=3000)
    ap.add_argument("--side", type=int, default=640)
    ap.add_argument("--epochs", type=int, default=2)
    ap.add_argument("--strategies", default="linear_probe,lora,full")
    ap.add_argument("--results", default=str(HERE / "results"), help="folder the result files go to")
    ap.add_argument("--out", default="pipeline_speed")
    args = ap.parse_args()
    gpu = torch.cuda.is_available()
    meta = {"command": f"python bench/pipeline_speed.py --images {args.images} --side {args.side} "
                       f"--epochs {args.epochs}", "device": torch.cuda.get_device_name(0) if gpu else "cpu",
            "cpu_cores": os.cpu_count(), "torch": torch.__version__, "date": time.strftime("%Y-%m-%d"),
            "backbone": "efficientnet_lite0 (bundled)"}
    out = Path(args.results)
    out.mkdir(parents=True, exist_ok=True)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "data"
        t0 = time.perf_counter()
        make_data(data, args.images, args.side)
        meta["generate_s"] = round(time.perf_counter() - t0, 1)
        print(meta, flush=True)
        for strategy in [s for s in args.strategies.split(",") if s]:
            rows.append(train(data, Path(tmp) / f"run_{strategy}", strategy, args.epochs))
            print(rows[-1], flush=True)
            (out / f"{args.out}.json").write_text(json.dumps({"meta": meta, "rows": rows}, indent=2) + "\n")
    lines = [f"# End-to-end image throughput of `tladvisor train` ({meta['device']})", "",
             f"`{meta['command']}`: {args.images} generated JPEGs of {args.side} x {args.side * 3 // 4} px, "
             f"{meta['cpu_cores']} CPU cores, torch {meta['torch']}, {meta['date']}; {meta['backbone']}, "
             "default precision. Images per second through decoding, transforms and the model.", "",
             "| stage | precision | wall s | stage s | embed img/s | train img/s | test acc |",
             "|---|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r['strategy']} | {r.get('precision', '-')} | {r['wall_s']} | {r.get('stage_s', '-')} | "
                     f"{r.get('embed_per_s', '-')} | {r.get('train_per_s', '-')} | {r.get('test_accuracy', '-')} |")
    (out / f"{args.out}.md").write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
