"""The linear probe's embedding pass vs a bare forward pass of the same number of images, per source size.

The probe cannot be faster than the backbone's forward pass over every image; what it adds is reading the files:
JPEG decoding (PIL's draft mode decodes large JPEGs at 1/2-1/8 scale), resizing and the data loader. Issue 16's
target: the probe at most 1.2x a bare forward pass at every source size. For each SIDE, generated photo-like
JPEGs (bench/pipeline_speed.py's generator) go through `tladvisor train --strategy linear_probe` with an empty
feature cache; the bare forward is EfficientNet-Lite0 on random tensors already in memory, at the precision the
run used, batch 64 (bench/throughput.py), measured in the same process right after.

Run:  python bench/probe_vs_forward.py [--images 600] [--sides 320,1280,3000]
Writes bench/results/probe_vs_forward.{json,md}.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
HERE = Path(__file__).resolve().parent

from pipeline_speed import make_data, train  # noqa: E402  (bench/ is the script's own folder)
from throughput import measure  # noqa: E402


def decode_forward(root: Path, precision: str) -> float:
    """Seconds to decode every JPEG under root once (draft mode), resize it whole and forward it (batch 64)."""
    import torch
    from timm.data import create_transform

    from tladvisor.training.image_data import load_rgb
    from tladvisor.training.image_models import create_image_backbone

    bb = create_image_backbone("efficientnet_lite0")
    model = bb.model.eval().to(memory_format=torch.channels_last)
    tf = create_transform(input_size=bb.data_config["input_size"], crop_pct=1.0, crop_mode="squash",
                          mean=bb.data_config["mean"], std=bb.data_config["std"], is_training=False)
    paths = sorted(str(p) for p in root.rglob("*.jpg"))
    side = 2 * int(bb.data_config["input_size"][-1])
    with torch.no_grad(), torch.autocast("cpu", dtype=torch.bfloat16, enabled=precision == "bf16"):
        model(torch.randn(8, 3, 224, 224).contiguous(memory_format=torch.channels_last))  # warm-up
        t0 = time.perf_counter()
        for k in range(0, len(paths), 64):
            x = torch.stack([tf(load_rgb(p, side)) for p in paths[k:k + 64]])
            model(x.contiguous(memory_format=torch.channels_last))
    return time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", default="600x320,600x1280,600x3000,2000x640", help="IMAGESxSIDE, comma-separated")
    ap.add_argument("--results", default=str(HERE / "results"))
    args = ap.parse_args()
    rows = []
    for spec in args.runs.split(","):
        images, side = (int(v) for v in spec.split("x"))
        work = Path(tempfile.mkdtemp(prefix=f"pvf-{side}-"))
        try:
            make_data(work / "data", images, side)
            mb = sum(p.stat().st_size for p in (work / "data").rglob("*.jpg")) / 1e6
            os.environ["TLADVISOR_CACHE"] = str(work / "cache")  # empty: every image is read and embedded
            run = train(work / "data", work / "run", "linear_probe", 0)
            if "error" in run:
                rows.append({"side": side, "error": run["error"][-300:]})
                continue
            precision = run["precision"]
            bare_per_s = measure("efficientnet_lite0", "image", "embed", [precision], min(images, 320), "cpu",
                                 True)[precision]
            # every image once: the probe's cached sample (the preprocessing choice embeds up to 300 of them both
            # ways, inside the probe stage) plus the rest (`embedded`)
            bare_s = images / bare_per_s
            files_s = decode_forward(work / "data", precision)
            stage = run["stage_detail"]
            rows.append({"side": side, "source": f"{side}x{side * 3 // 4} px JPEG", "mb_per_image":
                         round(mb / images, 2), "images": images, "choice_s": stage.get("choice_s"),
                         "head_fit_s": stage.get("head_fit_s"), "decode_forward_s": round(files_s, 1),
                         "probe_over_decode_forward": round(run["stage_s"] / files_s, 2),
                         "embedded_after_choice": run["embedded"], "precision": precision,
                         "embed_s": run["embed_s"], "probe_stage_s": run["stage_s"], "wall_s": run["wall_s"],
                         "bare_forward_s": round(bare_s, 1),
                         "embed_over_bare": round(run["embed_s"] * bare_per_s / run["embedded"], 2),
                         "probe_over_bare": round(run["stage_s"] / bare_s, 2),
                         "test_accuracy": run["test_accuracy"]})
            print(json.dumps(rows[-1]), flush=True)
        finally:
            shutil.rmtree(work, ignore_errors=True)
    meta = {"command": f"python bench/probe_vs_forward.py --runs {args.runs}",
            "date": time.strftime("%Y-%m-%d"), "cpu_threads": os.cpu_count()}
    out = Path(args.results)
    (out / "probe_vs_forward.json").write_text(json.dumps({"meta": meta, "rows": rows}, indent=2) + "\n")
    lines = ["# Linear probe vs a bare forward pass, per source size", "",
             f"`{meta['command']}` ({meta['date']}, {meta['cpu_threads']} CPU threads; EfficientNet-Lite0, precision "
             "auto). Probe stage = choosing the preprocessing (a sample of up to 300 images embedded both ways, "
             "then cached), embedding the rest, the cross-validated head fit; embedding = the images left after the "
             "choice (its ratio: to a bare forward of those images); bare forward = the model alone on in-memory tensors for every image once, same precision. "
             "Decode + forward = every file decoded once (draft mode), resized whole, forwarded; no cache, no "
             "choice, no head. Target (issue 16): probe <= 1.2x the bare forward.", "",
             "| source | MB / image | images | precision | bare forward s | decode + forward s | embedding s | "
             "embedding / bare | choice s | head fit s | probe stage s | probe / bare | probe / decode + forward | "
             "test acc |", "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        if "error" in r:
            lines.append(f"| {r['side']} px | error: {r['error'][-150:]} |||||||||||||")
            continue
        lines.append(f"| {r['source']} | {r['mb_per_image']} | {r['images']} | {r['precision']} | "
                     f"{r['bare_forward_s']} | {r['decode_forward_s']} | {r['embed_s']} ({r['embedded_after_choice']}) "
                     f"| {r['embed_over_bare']} | {r['choice_s']} | {r['head_fit_s']} | {r['probe_stage_s']} | "
                     f"{r['probe_over_bare']} | {r['probe_over_decode_forward']} | {r['test_accuracy']} |")
    (out / "probe_vs_forward.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
