"""The floor any transfer product must clear: a plain script against `tladvisor train --strategy linear_probe`,
same data, same split, same machine, side by side in one run.

The script (about 40 lines below, `plain_script`): the bundled EfficientNet-Lite0 frozen, every image resized
straight to 224 px (no crop), logistic regression with C chosen by 5-fold cross-validation on the training
split. The product runs three times: its default (`--preprocess auto`: a comparison on a sample chooses) and
each fixed preprocessing (`center_crop`, the backbone's ImageNet evaluation crop, and `full_frame`), each from an
empty feature cache. The script trains on
the product's train + validation assignments (the product's probe fits its head on both) and both are scored
on the product's test split.

    python bench/plain_script.py [DATA ...]     # default: NEU-CLS from ../shared/data
    python bench/plain_script.py ../shared/data/neu_surface_defect PCB_DIR SIGN_DIR   # bench/data/SOURCES.md
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
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
DEFAULT = [ROOT.parent / "shared" / "data" / "neu_surface_defect"]


def product(data: Path, work: Path, preprocess: str) -> dict:
    """`tladvisor train DATA --strategy linear_probe --preprocess P` from an empty cache."""
    from tladvisor.schemas import TrainConfig
    from tladvisor.training.trainer import train

    os.environ["TLADVISOR_CACHE"] = str(work / f"cache-{preprocess}")
    t0 = time.perf_counter()
    res = train(TrainConfig(modality="image", data=str(data), backbone="efficientnet_lite0", strategy="linear_probe",
                            preprocess=preprocess, precision="fp32", out_dir=str(work / f"run-{preprocess}")))
    m = res.metrics
    choice = res.stage_results[0].get("preprocess") or {}
    return {"accuracy": m["accuracy"], "macro_f1": m["macro_f1"], "errors": m["errors"], "n_test": m["n"],
            "wall_s": round(time.perf_counter() - t0, 1), "run_dir": res.run_dir,
            "preprocess": choice.get("chosen", preprocess), "choice": {k: choice[k] for k in ("loo_macro_f1", "sample")
                                                                       if k in choice}}


def plain_script(split_file: Path) -> dict:
    """Frozen bundled EfficientNet-Lite0, resize to 224 px, LogisticRegressionCV (5 folds) on train + val."""
    import numpy as np
    import torch
    from PIL import Image
    from sklearn.linear_model import LogisticRegressionCV
    from sklearn.preprocessing import StandardScaler

    from tladvisor.training.image_models import create_image_backbone

    t0 = time.perf_counter()
    split = json.loads(split_file.read_text())
    root = Path(split["root"])
    items = [(root / rel, rel.split("/")[0], part) for rel, part in split["assignments"].items()]
    classes = sorted({c for _, c, _ in items})
    model = create_image_backbone("efficientnet_lite0").model.eval()

    def embed(paths: list[Path]) -> np.ndarray:
        out = []
        with torch.no_grad():
            for i in range(0, len(paths), 64):
                batch = [torch.from_numpy(np.asarray(Image.open(p).convert("RGB").resize((224, 224), Image.BICUBIC),
                                                     dtype=np.float32) / 127.5 - 1.0).permute(2, 0, 1)
                         for p in paths[i:i + 64]]
                out.append(model(torch.stack(batch)).numpy())
        return np.concatenate(out)

    train = [(p, c) for p, c, part in items if part in ("train", "val")]
    test = [(p, c) for p, c, part in items if part == "test"]
    x_tr, x_te = embed([p for p, _ in train]), embed([p for p, _ in test])
    t_embed = time.perf_counter() - t0
    y_tr = np.array([classes.index(c) for _, c in train])
    y_te = np.array([classes.index(c) for _, c in test])
    scaler = StandardScaler().fit(x_tr)
    clf = LogisticRegressionCV(Cs=[0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 1, 3, 10], cv=5, max_iter=3000)
    clf.fit(scaler.transform(x_tr), y_tr)
    from sklearn.metrics import f1_score

    pred = clf.predict(scaler.transform(x_te))
    return {"accuracy": float((pred == y_te).mean()), "macro_f1": float(f1_score(y_te, pred, average="macro")),
            "errors": int((pred != y_te).sum()), "n_test": len(y_te),
            "wall_s": round(time.perf_counter() - t0, 1), "embed_s": round(t_embed, 1), "C": float(clf.C_[0])}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("data", nargs="*", type=Path, default=DEFAULT)
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results")
    args = parser.parse_args()
    import torch

    rows = []
    for data in args.data:
        with tempfile.TemporaryDirectory() as tmp:
            work = Path(tmp)
            auto = product(data, work, "auto")
            crop = product(data, work, "center_crop")
            full = product(data, work, "full_frame")
            script = plain_script(Path(full["run_dir"]) / "split.json")
        rows.append({"data": data.name, "product_auto": auto, "product_center_crop": crop, "product_full_frame": full,
                     "plain_script": script})
        print(json.dumps(rows[-1], indent=2), flush=True)
    shown = [str(d.relative_to(ROOT)) if d.is_relative_to(ROOT) else
             "../shared/data/" + d.name if d.resolve() in [x.resolve() for x in DEFAULT] else str(d)
             for d in args.data]
    payload = {"command": "python bench/plain_script.py " + " ".join(shown), "cpu_threads": torch.get_num_threads(),
               "rows": rows}
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "plain_script.json").write_text(json.dumps(payload, indent=2))
    write_table(payload, args.out / "plain_script.md")
    return 0


def write_table(payload: dict, path: Path) -> None:
    """The Markdown table of a run's JSON (`python -c` can redo it from plain_script.json alone)."""
    lines = ["# Linear probe vs a plain script (same split, same machine, one run)", "",
             f"`{payload['command']}`; {payload['cpu_threads']} CPU threads; fp32; each product run from an empty "
             "feature cache. Accuracy / macro-F1 (the product chooses C by macro-F1, the script by accuracy).", "",
             "The default (`--preprocess auto`) embeds a stratified sample of up to 300 training images both ways and "
             "takes the centre crop only when a ridge classifier's leave-one-out macro-F1 is higher with it by more "
             "than noise (tladvisor/training/preprocess_choice.py); its wall time includes that comparison. Goal "
             "(issue 16): the default's test accuracy >= the script's, at <= 1.3x its wall time.", "",
             "| data | test n | product, auto (default) | product, centre crop | product, full frame | plain script | "
             "product (auto) wall / script wall | goal |", "|---|---|---|---|---|---|---|---|"]
    for r in payload["rows"]:
        a, c, f, s = r["product_auto"], r["product_center_crop"], r["product_full_frame"], r["plain_script"]
        cell = lambda x: (f"{x['accuracy']:.4f} / {x['macro_f1']:.4f} ({x['errors']} "  # noqa: E731
                          f"error{'s' if x['errors'] != 1 else ''}, {x['wall_s']} s)")
        ratio = a["wall_s"] / s["wall_s"]
        goal = "met" if a["accuracy"] >= s["accuracy"] and ratio <= 1.3 else "missed"
        lines.append(f"| {r['data']} | {s['n_test']} | {cell(a)}, chose {a['preprocess']} | {cell(c)} | {cell(f)} | "
                     f"{cell(s)} | {ratio:.2f}x | {goal} |")
    path.write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    raise SystemExit(main())
