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


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--images", type=int, default=600)
    ap.add_argument("--sides", default="320,1280,3000")
    ap.add_argument("--results", default=str(HERE / "results"))
    args = ap.parse_args()
    rows = []
    for side in [int(s) for s in args.sides.split(",")]:
        work = Path(tempfile.mkdtemp(prefix=f"pvf-{side}-"))
        try:
            make_data(work / "data", args.images, side)
            mb = sum(p.stat().st_size for p in (work / "data").rglob("*.jpg")) / 1e6
            os.environ["TLADVISOR_CACHE"] = str(work / "cache")  # empty: every image is read and embedded
            run = train(work / "data", work / "run", "linear_probe", 0)
            if "error" in run:
                rows.append({"side": side, "error": run["error"][-300:]})
                continue
            precision = run["precision"]
            bare_per_s = measure("efficientnet_lite0", "image", "embed", [precision], min(args.images, 320), "cpu",
                                 True)[precision]
            # every image once: the probe's cached sample (the preprocessing choice embeds up to 300 of them both
            # ways, inside the probe stage) plus the rest (`embedded`)
            bare_s = args.images / bare_per_s
            rows.append({"side": side, "source": f"{side}x{side * 3 // 4} px JPEG", "mb_per_image":
                         round(mb / args.images, 2), "images": args.images,
                         "embedded_after_choice": run["embedded"], "precision": precision,
                         "embed_s": run["embed_s"], "probe_stage_s": run["stage_s"], "wall_s": run["wall_s"],
                         "bare_forward_s": round(bare_s, 1),
                         "embed_over_bare": round(run["embed_s"] * bare_per_s / run["embedded"], 2),
                         "probe_over_bare": round(run["stage_s"] / bare_s, 2),
                         "test_accuracy": run["test_accuracy"]})
            print(json.dumps(rows[-1]), flush=True)
        finally:
            shutil.rmtree(work, ignore_errors=True)
    meta = {"command": f"python bench/probe_vs_forward.py --images {args.images} --sides {args.sides}",
            "date": time.strftime("%Y-%m-%d"), "cpu_threads": os.cpu_count()}
    out = Path(args.results)
    (out / "probe_vs_forward.json").write_text(json.dumps({"meta": meta, "rows": rows}, indent=2) + "\n")
    lines = ["# Linear probe vs a bare forward pass, per source size", "",
             f"`{meta['command']}` ({meta['date']}, {meta['cpu_threads']} CPU threads; EfficientNet-Lite0, precision "
             "auto). Probe stage = choosing the preprocessing (a sample of up to 300 images embedded both ways, "
             "then cached), embedding the rest, the cross-validated head fit; embedding = the images left after the "
             "choice (its ratio: to a bare forward of those images); bare forward = the model alone on in-memory tensors for every image once, same precision. "
             "Target (issue 16): probe <= 1.2x the bare forward.", "",
             "| source | MB / image | images | precision | bare forward s | embedding s | embedding / bare | "
             "probe stage s | probe / bare | test acc |", "|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        if "error" in r:
            lines.append(f"| {r['side']} px | error: {r['error'][-150:]} |||||||||")
            continue
        lines.append(f"| {r['source']} | {r['mb_per_image']} | {r['images']} | {r['precision']} | "
                     f"{r['bare_forward_s']} | {r['embed_s']} | {r['embed_over_bare']} | {r['probe_stage_s']} | "
                     f"{r['probe_over_bare']} | {r['test_accuracy']} |")
    (out / "probe_vs_forward.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
