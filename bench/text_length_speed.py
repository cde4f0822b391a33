"""How text throughput depends on token length, for the bundled text encoders, side by side in one run.

`knowledge/throughput.yaml` holds each backbone's speed on 128-token texts; real client texts are often far shorter
(intents: 10-25 tokens) or longer (tickets, e-mails). The product pads each length-sorted batch only to its
longest text, so its speed follows the texts' own length. This measures embedding and LoRA training speed at
several lengths with the same synthetic inputs as bench/throughput.py and reports each as a factor of the
128-token speed; the time estimate (tladvisor/advice/estimate.py) interpolates those factors at the data's length.

    python bench/text_length_speed.py [--n 128] [--lengths 16,32,64,128,256]

Writes bench/results/text_length_speed.{json,md}; copy the factors into throughput.yaml's `text_length:`.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
HERE = Path(__file__).resolve().parent

from throughput import SEQ_LEN, measure  # noqa: E402  (bench/ is the script's own folder)


def main() -> None:
    import torch

    from tladvisor.training.engine import cpu_has_fast_bf16

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=128)
    ap.add_argument("--lengths", default="16,32,64,128,256")
    ap.add_argument("--backbones", default="minilm_l6,mpnet_base")
    ap.add_argument("--modes", default="embed,lora")
    ap.add_argument("--results", default=str(HERE / "results"))
    args = ap.parse_args()
    precisions = ["fp32", "bf16"] if cpu_has_fast_bf16() else ["fp32"]
    lengths = [int(x) for x in args.lengths.split(",")]
    rows = []
    for backbone in args.backbones.split(","):
        for mode in args.modes.split(","):
            for length in lengths:
                for precision, speed in measure(backbone, "text", mode, precisions, args.n, "cpu", True,
                                                seq_len=length).items():
                    rows.append({"backbone": backbone, "mode": mode, "precision": precision, "tokens": length,
                                 "per_s": round(speed, 2)})
                    print(rows[-1], flush=True)
    for r in rows:
        ref = next(x for x in rows if x["backbone"] == r["backbone"] and x["mode"] == r["mode"]
                   and x["precision"] == r["precision"] and x["tokens"] == SEQ_LEN)
        r["factor"] = round(r["per_s"] / ref["per_s"], 3)
    # the factor the estimate uses: the median over backbones and precisions, per mode and length
    factors = {mode: {n: round(statistics.median(r["factor"] for r in rows if r["mode"] == mode and r["tokens"] == n), 2)
                      for n in lengths} for mode in args.modes.split(",")}
    meta = {"command": f"python bench/text_length_speed.py --n {args.n} --lengths {args.lengths}",
            "device": platform.processor() or platform.machine(), "cpu_threads": torch.get_num_threads(),
            "precisions": precisions, "torch": torch.__version__, "date": time.strftime("%Y-%m-%d")}
    out = Path(args.results)
    out.mkdir(parents=True, exist_ok=True)
    (out / "text_length_speed.json").write_text(json.dumps({"meta": meta, "rows": rows, "factors": factors},
                                                           indent=2) + "\n")
    lines = ["# Text throughput by token length (CPU)", "",
             f"`{meta['command']}` ({meta['cpu_threads']} CPU threads, {meta['date']}, torch {meta['torch']}). "
             "Synthetic texts of exactly N tokens, batch 64 (embed) / 32 (LoRA train); examples per second and, in "
             f"brackets, the factor of the {SEQ_LEN}-token speed.", "",
             "| backbone | mode | precision | " + " | ".join(f"{n} tokens" for n in lengths) + " |",
             "|---|---|---|" + "---|" * len(lengths)]
    for backbone in args.backbones.split(","):
        for mode in args.modes.split(","):
            for p in precisions:
                cells = [next(r for r in rows if r["backbone"] == backbone and r["mode"] == mode
                              and r["precision"] == p and r["tokens"] == n) for n in lengths]
                lines.append(f"| {backbone} | {mode} | {p} | " + " | ".join(f"{c['per_s']} ({c['factor']}x)"
                                                                          for c in cells) + " |")
    lines += ["", "Median factor over backbones and precisions (what `knowledge/throughput.yaml` `text_length:` "
              "holds):", "", "| mode | " + " | ".join(f"{n}" for n in lengths) + " |", "|---|" + "---|" * len(lengths)]
    lines += [f"| {mode} | " + " | ".join(f"{f[n]}" for n in lengths) + " |" for mode, f in factors.items()]
    (out / "text_length_speed.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
