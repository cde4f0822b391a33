"""Vision backend: real training on generated images, resume after a kill, reload and predict,
bundled weights, clear errors, and the same run data-parallel under torchrun."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

from tests.runkill import kill_after_checkpoint

import numpy as np
import pytest

from imagegen import make_image_folder, zip_folder

pytest.importorskip("torch")
from tladvisor.schemas import TrainConfig  # noqa: E402
from tladvisor.training.errors import BackboneUnavailableError, RunDirError  # noqa: E402

ENV = {**os.environ, "HF_HUB_OFFLINE": "1", "OMP_NUM_THREADS": "1", "PYTHONPATH": str(Path(__file__).parent)}


@pytest.fixture(scope="module")
def data(tmp_path_factory) -> Path:
    return make_image_folder(tmp_path_factory.mktemp("img") / "defects", per_class=30, seed=1)


@pytest.fixture(autouse=True)
def feature_cache(tmp_path_factory, monkeypatch):
    monkeypatch.setenv("TLADVISOR_CACHE", str(tmp_path_factory.getbasetemp() / "cache"))


def cfg(data: Path, out: Path, **kw) -> TrainConfig:
    base = dict(modality="image", data=str(data), out_dir=str(out), backbone="efficientnet_lite0", resolution=64,
                batch_size=16, epochs=3, lr=1e-3, precision="fp32", skip_unwinnable=False)  # every planned stage runs
    return TrainConfig(**{**base, **kw})


def test_bundled_weights_are_real_imagenet_weights():
    """The daisy photo scikit-learn ships must come out as ImageNet class 985 ('daisy')."""
    import torch
    from PIL import Image
    from sklearn.datasets import load_sample_images
    from timm.data import create_transform

    from tladvisor.training.image_models import create_image_backbone

    bb = create_image_backbone("efficientnet_lite0", keep_classifier=True)
    flower = load_sample_images().images[1]
    x = create_transform(**bb.data_config)(Image.fromarray(flower)).unsqueeze(0)
    with torch.no_grad():
        top1 = bb.model.eval()(x).argmax(-1).item()
    assert top1 == 985


def test_hub_only_backbone_offline_names_bundled_alternative():
    from tladvisor.training.image_models import create_image_backbone

    with pytest.raises(BackboneUnavailableError, match="efficientnet_lite0"):
        create_image_backbone("resnet50")
    with pytest.raises(BackboneUnavailableError, match="unknown backbone"):
        create_image_backbone("no_such_net_xyz")


def _trainable_image_backbones() -> list[str]:
    from tladvisor.advice.catalogue import load_catalogue

    return [b.id for b in load_catalogue() if b.modality == "image" and b.source == "timm" and not b.advice_only]


@pytest.mark.parametrize("backbone", _trainable_image_backbones())
def test_every_catalogue_image_backbone_builds_classifies_and_takes_lora(backbone):
    """Each image backbone the advisor can recommend builds (random weights: the Hub is off), returns features of
    the width the head expects (MobileNetV3's conv head once broke this), takes a chosen resolution (DINOv2's
    518 px ViT once rejected 224) and carries LoRA adapters through a training step."""
    import torch
    from peft import LoraConfig, get_peft_model

    from tladvisor.training.image_models import ImageClassifier, create_image_backbone, lora_target_modules

    bb = create_image_backbone(backbone, resolution=112, pretrained=False)
    assert bb.data_config["input_size"] == (3, 112, 112)
    model = ImageClassifier(bb.model, bb.num_features, 3)
    targets = [f"backbone.{t}" for t in lora_target_modules(bb.model)]
    model = get_peft_model(model, LoraConfig(r=4, lora_alpha=4, modules_to_save=["classifier_head"],
                                             target_modules=targets))
    logits = model(torch.randn(2, 3, 112, 112))
    assert logits.shape == (2, 3)
    torch.nn.functional.cross_entropy(logits, torch.tensor([0, 2])).backward()
    tuned = [n for n, p in model.named_parameters() if p.requires_grad and p.grad is not None]
    assert any("lora_" in n for n in tuned) and any("classifier_head" in n for n in tuned)


def test_linear_probe_beats_chance_and_caches_features(data, tmp_path):
    from tladvisor.training.trainer import train

    first = train(cfg(data, tmp_path / "probe1", strategy="linear_probe"))
    assert first.metrics["accuracy"] >= 0.8  # chance is 1/3
    emb, choice = first.stage_results[0]["embedding"], first.stage_results[0]["preprocess"]
    # every image embedded once with the chosen preprocessing: the choice's sample, then the rest
    assert emb["computed"] + choice["embedding"][choice["chosen"]]["computed"] == 90
    assert emb["computed"] + emb["cached"] == 90 and choice["sample"] == 90 - emb["computed"]
    second = train(cfg(data, tmp_path / "probe2", strategy="linear_probe"))
    assert second.stage_results[0]["embedding"] == {"cached": 90, "computed": 0, "seconds": 0.0}
    assert second.metrics["accuracy"] == first.metrics["accuracy"]
    assert first.stage_results[0]["test_accuracy"] == first.metrics["accuracy"]
    run = Path(first.run_dir)
    for name in ("config.json", "labels.json", "audit.json", "split.json", "metrics.json", "confusion_matrix.png",
                 "README.md", "result.json", "model/head.safetensors", "model/model_info.json"):
        assert (run / name).exists(), name
    metrics = json.loads((run / "metrics.json").read_text())
    assert set(metrics["per_class"]) == {"horizontal", "spots", "vertical"} and "top2_accuracy" in metrics


def test_preprocessing_choice_decodes_each_image_once_with_the_same_features(data, tmp_path, monkeypatch):
    """The 'auto' choice embeds its sample both ways from one decoding of each file (a large JPEG's decoding costs
    more than the forward pass), and the features equal those of one preprocessing at a time."""
    from collections import Counter

    import tladvisor.training.image_task as image_task
    from tladvisor.training.trainer import train

    monkeypatch.setenv("TLADVISOR_CACHE", str(tmp_path / "cache"))  # empty: every image is decoded for the probe
    decoded, real = Counter(), image_task.load_rgb
    monkeypatch.setattr(image_task, "load_rgb", lambda path, min_side=None: decoded.update([path]) or
                        real(path, min_side))
    run = train(cfg(data, tmp_path / "probe", strategy="linear_probe", preprocess="auto", resolution=64))
    assert len(decoded) == 90 and set(decoded.values()) == {1}, decoded.most_common(3)
    probe = run.stage_results[0]
    assert set(probe["preprocess"]["embedding"]) == {"full_frame", "center_crop"}

    # the shared pass against one pass per preprocessing, on the same model and files
    from accelerate import Accelerator

    from tladvisor.training.task import make_task

    (tmp_path / "check").mkdir()
    task = make_task(cfg(data, tmp_path / "check", strategy="linear_probe", resolution=64), tmp_path / "check")
    task.prepare_data()
    model = task.build_model()
    paths = task.split("train")[0][:20]
    acc = Accelerator(cpu=True)
    monkeypatch.setenv("TLADVISOR_CACHE", str(tmp_path / "cache2"))
    both = task.embed_variants(model, paths, acc, ("full_frame", "center_crop"))
    for name in ("full_frame", "center_crop"):
        task.set_preprocess(name)
        alone = task._forward(model, paths, acc)
        np.testing.assert_allclose(both[name][0], alone, rtol=1e-4, atol=1e-5)
    assert not np.allclose(both["full_frame"][0], both["center_crop"][0])


def test_trainings_in_one_process_may_change_precision(data, tmp_path):
    """The app and the Python API train several times in one process: a bf16 run and then an fp32 run must both
    train (Accelerate keeps one process-wide precision and refuses a second one unless it is reset)."""
    from tladvisor.training.trainer import train

    first = train(cfg(data, tmp_path / "bf16", strategy="lora", epochs=1, precision="bf16"))
    second = train(cfg(data, tmp_path / "fp32", strategy="lora", epochs=1, precision="fp32"))
    assert (first.metrics["precision"], second.metrics["precision"]) == ("bf16", "fp32")
    assert second.stage_results[0]["epochs_run"] == 1


def test_lora_trains_saves_peft_adapter_and_reloads_identically(data, tmp_path):
    from tladvisor.training.predict import load_run
    from tladvisor.training.trainer import train

    res = train(cfg(data, tmp_path / "lora", strategy="lora", epochs=4))
    assert res.metrics["accuracy"] >= 0.8 and res.metrics["best_stage"] == "lora"
    adapter = Path(res.run_dir) / "model" / "adapter"
    assert json.loads((adapter / "adapter_config.json").read_text())["peft_type"] == "LORA"
    assert (adapter / "adapter_model.safetensors").exists()
    assert (Path(res.run_dir) / "curves.png").exists()
    images = [str(p) for p in sorted(data.glob("*/*_00[0-2].png"))]
    here = load_run(res.run_dir).predict_proba(images).numpy()
    out = subprocess.run([sys.executable, "-m", "tladvisor", "predict", res.run_dir, *images, "--json",
                          "--top-k", "3"], capture_output=True, text=True, env=ENV, timeout=300)
    assert out.returncode == 0, out.stderr
    fresh = json.loads(out.stdout)
    classes = json.loads((Path(res.run_dir) / "labels.json").read_text())["classes"]
    for row, probs in zip(fresh, here):
        got = {d["label"]: d["probability"] for d in row["top_k"]}
        assert all(abs(got[c] - float(probs[i])) < 1e-4 for i, c in enumerate(classes))
    correct = [Path(r["input"]).parent.name == r["top_k"][0]["label"] for r in fresh]
    assert sum(correct) >= len(correct) - 1


def test_auto_plan_keeps_the_best_stage(data, tmp_path):
    from tladvisor.training.trainer import train

    res = train(cfg(data, tmp_path / "auto", strategy="auto", plan=["linear_probe", "partial"], epochs=2))
    stages = [s["stage"] for s in res.stage_results]
    assert stages == ["linear_probe", "partial"]
    best = max(res.stage_results, key=lambda s: s["val_macro_f1"])["val_macro_f1"]
    kept = [s for s in res.stage_results if s["stage"] == res.metrics["best_stage"]][0]
    n_val = sum(1 for v in json.loads((Path(res.run_dir) / "split.json").read_text())["assignments"].values()
                if v == "val")
    assert kept["val_macro_f1"] >= best - 1 / n_val and res.metrics["accuracy"] >= 0.8


def test_existing_run_dir_is_never_overwritten(data, tmp_path):
    from tladvisor.training.trainer import train

    out = tmp_path / "taken"
    out.mkdir()
    (out / "precious.txt").write_text("keep me")
    with pytest.raises(RunDirError, match="already exists"):
        train(cfg(data, out, strategy="linear_probe"))
    assert (out / "precious.txt").read_text() == "keep me"


def test_killed_run_resumes_from_last_checkpoint(data, tmp_path):
    run = tmp_path / "killed"
    cmd = [sys.executable, "-m", "tladvisor", "train", str(data), "--backbone", "efficientnet_lite0", "--strategy",
           "lora", "--epochs", "8", "--resolution", "64", "--batch-size", "16", "--precision", "fp32", "--out", str(run)]
    kill_after_checkpoint(cmd, run / "checkpoints" / "0-lora-0-last.pt", ENV, wait_s=240)
    logged = [json.loads(l) for l in (run / "log.jsonl").read_text().splitlines()]
    assert 1 <= len(logged) < 8
    # the kill may land between logging an epoch and checkpointing it; make that case certain: an epoch logged
    # (with a torn line after it) that no checkpoint holds
    with open(run / "log.jsonl", "a") as fh:
        fh.write(json.dumps({**logged[-1], "epoch": logged[-1]["epoch"] + 1}) + "\n" + '{"stage": "lo')
    out = subprocess.run([sys.executable, "-m", "tladvisor", "train", "--resume", str(run), "--json"],
                         capture_output=True, text=True, env=ENV, timeout=600)
    assert out.returncode == 0, out.stderr[-2000:]
    result = json.loads(out.stdout)
    epochs = [json.loads(l)["epoch"] for l in (run / "log.jsonl").read_text().splitlines()]
    assert epochs == sorted(epochs) and len(epochs) == len(set(epochs)), epochs  # continued, not restarted
    assert result["status"] == "finished" and result["metrics"]["accuracy"] >= 0.8


@pytest.mark.skipif(shutil.which("torchrun") is None, reason="torchrun not installed")
def test_two_process_torchrun_matches_single_process(data, tmp_path):
    single = tmp_path / "single"
    multi = tmp_path / "multi"
    common = ["train", str(data), "--backbone", "efficientnet_lite0", "--strategy", "linear_probe",
              "--resolution", "64", "--precision", "fp32"]
    one = subprocess.run([sys.executable, "-m", "tladvisor", *common, "--out", str(single)], env=ENV,
                         capture_output=True, text=True, timeout=600)
    assert one.returncode == 0, one.stderr[-2000:]
    two = subprocess.run(["torchrun", "--standalone", "--nproc_per_node", "2", "-m", "tladvisor", *common, "--out", str(multi)],
                         env=ENV, capture_output=True, text=True, timeout=600)
    assert two.returncode == 0, two.stderr[-3000:]
    m1 = json.loads((single / "metrics.json").read_text())
    m2 = json.loads((multi / "metrics.json").read_text())
    assert m2["processes"] == 2 and m1["processes"] == 1
    assert abs(m1["accuracy"] - m2["accuracy"]) <= 0.06, (m1["accuracy"], m2["accuracy"])


def test_cli_train_bad_data_is_one_clear_line(tmp_path):
    import zipfile

    archive = tmp_path / "bad.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("../../evil.png", b"x")
    out = subprocess.run([sys.executable, "-m", "tladvisor", "train", str(archive), "--out", str(tmp_path / "r")],
                         capture_output=True, text=True, env=ENV, timeout=300)
    assert out.returncode == 2 and "refused unsafe entry" in out.stderr and "Traceback" not in out.stderr
    one = make_image_folder(tmp_path / "one", per_class=3, classes=("a",))
    out = subprocess.run([sys.executable, "-m", "tladvisor", "train", str(one)], capture_output=True, text=True,
                         env=ENV, timeout=300)
    assert out.returncode == 2 and "at least 2 class folders" in out.stderr


def test_cli_trains_from_a_zip_with_the_advisors_plan(data, tmp_path):
    archive = zip_folder(data, tmp_path / "defects.zip")
    out = subprocess.run([sys.executable, "-m", "tladvisor", "train", str(archive), "--epochs", "1", "--resolution",
                          "64", "--out", str(tmp_path / "run"), "--json"], capture_output=True, text=True, env=ENV,
                         timeout=600)
    assert out.returncode == 0, out.stderr[-2000:]
    result = json.loads(out.stdout)
    assert result["config"]["plan"] == ["linear_probe", "progressive"]  # 30/class: probe, then careful fine-tuning
    assert result["metrics"]["accuracy"] >= 0.8
    assert "Advisor: EfficientNet-Lite0" in out.stderr


def test_mixup_runs_when_the_advisor_asks_for_it(data, tmp_path):
    from tladvisor.training.trainer import train

    res = train(cfg(data, tmp_path / "mix", strategy="partial", epochs=2, mixup=True, batch_size=16))
    assert res.stage_results[0]["epochs_run"] == 2 and res.metrics["accuracy"] > 0.5


def test_top_confusions_table():
    from tladvisor.training.evaluation import classification_metrics

    y = np.array([0, 0, 1, 1, 2, 2, 2])
    probs = np.eye(3)[[0, 1, 1, 1, 0, 0, 2]]
    m = classification_metrics(y, probs, ["a", "b", "c"])
    assert m["top_confusions"][0] == {"true": "c", "predicted": "a", "count": 2}
    assert m["errors"] == 3 and m["confusion_matrix"][2] == [2, 0, 1]


@pytest.mark.parametrize("stage", ["lora", "progressive"])
def test_probe_head_handed_to_fine_tuning_never_saw_validation(data, tmp_path, monkeypatch, stage):
    """LP-FT: the probe's own head uses train+val, but the head a fine-tuning stage starts from is fitted on train
    only, so that stage's validation score is not inflated."""
    import torch

    from tladvisor.training import trainer

    starts = []
    real_fit = trainer.fit

    def spy(model, *a, **kw):
        starts.append({k: v.detach().clone() for k, v in model.state_dict().items() if "classifier_head" in k})
        return real_fit(model, *a, **kw)

    monkeypatch.setattr(trainer, "fit", spy)
    res = trainer.train(cfg(data, tmp_path / "lpft", strategy="auto", plan=["linear_probe", stage], epochs=1))
    probe_state = torch.load(Path(res.run_dir) / "checkpoints" / "0-linear_probe.pt", weights_only=True)
    warm = torch.load(Path(res.run_dir) / "checkpoints" / "0-linear_probe-warm-head.pt", weights_only=False)
    start_w = [v for k, v in starts[0].items() if k.endswith("weight")][0]
    assert torch.allclose(start_w, torch.as_tensor(warm[0], dtype=torch.float32), atol=1e-5)
    assert not torch.allclose(start_w, probe_state["classifier_head.weight"], atol=1e-5)


def test_a_stage_the_probe_leaves_no_room_for_is_skipped(tmp_path):
    """When the probe's validation macro-F1 plus the margin a later stage must win by reaches 1, fine-tuning could
    never be kept: it is skipped (no time spent), the run says why, and skip_unwinnable=False still runs it."""
    from tladvisor.training.trainer import _unwinnable, train

    data = _border_defects(tmp_path / "border")  # the full-frame probe separates these perfectly
    res = train(cfg(data, tmp_path / "skip", strategy="auto", plan=["linear_probe", "lora"], preprocess="full_frame",
                    resolution=96, skip_unwinnable=True, budget_minutes=30))
    assert [s["stage"] for s in res.stage_results] == ["linear_probe"] and res.metrics["best_stage"] == "linear_probe"
    assert "lora skipped: the probe scored 1.000" in res.message
    assert "lora skipped" in (Path(res.run_dir) / "README.md").read_text()
    probe = {"stage": "linear_probe", "val_macro_f1": 0.99}
    ok = cfg(data, tmp_path / "x", skip_unwinnable=True)
    assert _unwinnable([probe], 100, ok, "val_macro_f1") == 0.99  # 0.99 + 1.5/100 >= 1
    assert _unwinnable([probe], 200, ok, "val_macro_f1") is None  # 1.5/200: a perfect stage could still win
    assert _unwinnable([probe], 100, cfg(data, tmp_path / "y", skip_unwinnable=False), "val_macro_f1") is None
    assert _unwinnable([probe], 100, cfg(data, tmp_path / "z", skip_unwinnable=True, retrain_on_all=True),
                       "val_macro_f1") is None  # few-shot plans favour the tuned stage


def test_a_costlier_stage_must_win_by_more_than_noise():
    from tladvisor.training.trainer import _choose_stage

    keys = ["0-linear_probe", "1-lora"]
    assert _choose_stage(keys, [{"val_macro_f1": 0.996}, {"val_macro_f1": 1.0}], n_val=180) == "0-linear_probe"
    # one image of 180 flipped: macro-F1 moves by slightly more than 1/180 (NEU-CLS, measured): still noise
    assert _choose_stage(keys, [{"val_macro_f1": 0.9944429008057795}, {"val_macro_f1": 1.0}], n_val=180) \
        == "0-linear_probe"
    assert _choose_stage(keys, [{"val_macro_f1": 0.95}, {"val_macro_f1": 1.0}], n_val=180) == "1-lora"
    assert _choose_stage(keys, [{"val_macro_f1": 0.99}, {"val_macro_f1": 0.90}], n_val=180) == "0-linear_probe"


def _border_defects(root: Path, per_class: int = 24, size: int = 96) -> Path:
    """Two classes that differ only in the outer 4% of the frame (a mark on the edge, as in inspection photos):
    the same grey texture inside, a dark notch on the border for 'edge_defect'."""
    from PIL import Image

    rng = np.random.default_rng(3)
    edge = max(2, size * 4 // 100)
    for label in ("ok", "edge_defect"):
        (root / label).mkdir(parents=True, exist_ok=True)
        for i in range(per_class):
            img = rng.normal(128, 12, (size, size)).clip(0, 255)
            if label == "edge_defect":
                side, at = rng.integers(4), int(rng.integers(size // 4, 3 * size // 4))
                sl = slice(at - size // 6, at + size // 6)
                if side == 0:
                    img[:edge, sl] = 0
                elif side == 1:
                    img[-edge:, sl] = 0
                elif side == 2:
                    img[sl, :edge] = 0
                else:
                    img[sl, -edge:] = 0
            Image.fromarray(img.astype(np.uint8)).convert("RGB").save(root / label / f"{label}_{i:03d}.png")
    return root


def test_full_frame_keeps_defects_at_the_border_and_predict_uses_it(tmp_path):
    from tladvisor.training.predict import load_run
    from tladvisor.training.trainer import train

    data = _border_defects(tmp_path / "border")
    runs = {p: train(cfg(data, tmp_path / p, strategy="linear_probe", preprocess=p, resolution=96))
            for p in ("center_crop", "full_frame")}
    full, crop = runs["full_frame"].metrics["accuracy"], runs["center_crop"].metrics["accuracy"]
    assert full >= 0.9 and full - crop >= 0.15, (full, crop)  # the crop cut the defect away
    info = json.loads((Path(runs["full_frame"].run_dir) / "model" / "model_info.json").read_text())
    assert info["data_config"]["crop_pct"] == 1.0  # recorded with the run ...
    loaded = load_run(runs["full_frame"].run_dir)  # ... and used by predict
    top = loaded.predict([str(p) for p in sorted((data / "edge_defect").iterdir())[:8]], top_k=1)
    assert sum(t[0][0] == "edge_defect" for t in top) >= 7


def _border_clutter(root: Path, per_class: int = 40, size: int = 96, seed: int = 1) -> Path:
    """Faint horizontal vs vertical stripes in the middle, framed by a 5-px ring of loud stripes whose direction is
    random (a fixture's edge, a label sticker): the class is in the centre, the border only adds noise."""
    from PIL import Image

    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[:size, :size]
    ring = (yy < 5) | (yy >= size - 5) | (xx < 5) | (xx >= size - 5)
    for label in ("horizontal", "vertical"):
        (root / label).mkdir(parents=True, exist_ok=True)
        for i in range(per_class):
            half = int(rng.integers(6, 10)) // 2
            img = rng.normal(128, 20, (size, size)) + 6.0 * (((yy if label == "horizontal" else xx) // half) % 2)
            loud = ((yy if rng.random() < 0.5 else xx) // 3) % 2
            img[ring] = np.where(loud[ring] == 1, 250, 5)
            Image.fromarray(img.clip(0, 255).astype(np.uint8)).convert("RGB").save(
                root / label / f"{label}_{i:03d}.png")
    return root


def test_auto_preprocessing_is_chosen_by_cross_validation_on_a_sample(tmp_path):
    """'auto' keeps the full frame where the defect is at the border and takes the centre crop where the border is
    only noise; the choice and both scores are recorded, and predict preprocesses as the run chose."""
    from tladvisor.training.predict import load_run
    from tladvisor.training.trainer import train

    chosen = {}
    for name, data in (("border", _border_defects(tmp_path / "border")),
                       ("clutter", _border_clutter(tmp_path / "clutter"))):
        run = train(cfg(data, tmp_path / f"run-{name}", strategy="linear_probe", preprocess="auto", resolution=96))
        probe = json.loads((Path(run.run_dir) / "result.json").read_text())["stage_results"][0]
        choice = probe["preprocess"]
        assert set(choice["loo_macro_f1"]) == {"full_frame", "center_crop"} and choice["why"]
        info = json.loads((Path(run.run_dir) / "model" / "model_info.json").read_text())
        assert info["preprocess"] == choice["chosen"]
        assert (info["data_config"]["crop_pct"] == 1.0) == (choice["chosen"] == "full_frame")
        card = (Path(run.run_dir) / "README.md").read_text()
        assert "Image preprocessing: " + ("the whole frame" if choice["chosen"] == "full_frame" else
                                          "the backbone's ImageNet centre crop") in card and choice["why"] in card
        chosen[name] = (choice["chosen"], run)
    assert chosen["border"][0] == "full_frame" and chosen["border"][1].metrics["accuracy"] >= 0.9
    assert chosen["clutter"][0] == "center_crop", chosen["clutter"]
    loaded = load_run(chosen["clutter"][1].run_dir)
    assert "Resize(size=109" in repr(loaded.prep)  # 96 px / crop_pct 0.875: resized larger, then cropped to 96


def test_a_time_budget_sizes_the_plan_and_stops_fine_tuning(data, tmp_path):
    """Before training the plan is cut to the budget; while training, fine-tuning stops when the budget is spent
    (its best epoch kept), and the model card says what was cut."""
    from tladvisor.advice.budget import budget_config, fit_to_budget
    from tladvisor.training.trainer import train

    big = fit_to_budget("image", "efficientnet_lite0", 5000, ["linear_probe", "lora"], 15, 10)
    assert big.epochs < 15 and big.estimate_s <= 600 and "cut from 15" in big.notes[0]
    tiny = fit_to_budget("image", "efficientnet_lite0", 50000, ["linear_probe", "lora"], 15, 10)
    assert tiny.plan == ["linear_probe"] and "lora dropped" in tiny.notes[0]
    # on a GPU (the hardware the run detects) the same plan fits whole, from the GPU's measured speed
    gpu = fit_to_budget("image", "efficientnet_lite0", 5000, ["linear_probe", "lora"], 15, 10, compute="single_gpu")
    assert gpu.epochs == 15 and gpu.plan == ["linear_probe", "lora"] and gpu.estimate_s < 400
    sized, _ = budget_config(cfg(data, tmp_path / "x", strategy="auto", plan=["linear_probe", "lora"]), 50000, 10)
    assert sized.stages() == ["linear_probe"] and sized.budget_minutes == 10
    # a budget far below what 20 LoRA epochs need: the run ends early, says why, and still has a model
    res = train(cfg(data, tmp_path / "run", strategy="auto", plan=["linear_probe", "lora"], epochs=20,
                    budget_minutes=0.1, early_stopping_patience=50))
    lora = [s for s in res.stage_results if s["stage"] == "lora"]
    assert not lora or lora[0]["epochs_run"] < 20
    assert res.metrics["budget"]["notes"] and "budget" in res.message
    assert "Time budget 0.1 min" in (Path(res.run_dir) / "README.md").read_text()
    assert res.metrics["accuracy"] > 0.5


def test_a_spent_budget_cuts_the_epoch_and_skips_the_later_phase(data, tmp_path):
    """Progressive fine-tuning under a budget that is already spent: the first phase's first epoch stops after a
    step (there is no pace to predict it by), is scored and kept; the second phase does not start."""
    from tladvisor.training.trainer import train

    res = train(cfg(data, tmp_path / "prog", strategy="progressive", plan=["progressive"], epochs=4,
                    budget_minutes=1e-4, batch_size=4))
    stage = res.stage_results[0]
    assert [h["stage"] for h in stage["history"]] == ["progressive-1"] and stage["epochs_run"] == 1
    assert stage["history"][0]["steps_run"].startswith("1 of ") and stage["stopped_by_budget"]
    assert any("stopped after 1 of 2 epochs (the last cut at step 1 of" in n for n in res.metrics["budget"]["notes"])
    assert 0 <= res.metrics["accuracy"] <= 1 and (Path(res.run_dir) / "README.md").exists()


def test_fine_tuning_augmentation_keeps_the_frame_and_never_invents_colour(tmp_path):
    """Grayscale inspection images get crops that keep most of the frame, flips both ways and quarter turns;
    a grayscale image stays gray after the jitter; colour photos get horizontal flips only; timm's recipe is
    there on request."""
    import torch
    from PIL import Image

    from tladvisor.training.image_task import ImageTask, QuarterTurn

    gray = make_image_folder(tmp_path / "gray", per_class=4, seed=3)  # imagegen writes RGB PNGs of gray content
    for p in gray.rglob("*.png"):
        Image.open(p).convert("L").save(p)
    task = ImageTask(cfg(gray, tmp_path / "r1"), tmp_path / "r1")
    task.prepare_data()
    task.build_model()
    assert task.grayscale and task.augmentation() == "inspection"
    t = task.train_transform()
    names = [type(s).__name__ for s in t.transforms]
    assert isinstance(t.transforms[0], QuarterTurn) and "RandomVerticalFlip" in names
    crop = next(s for s in t.transforms if type(s).__name__ == "RandomResizedCropAndInterpolation")
    assert crop.scale == (0.6, 1.0)
    mean = torch.tensor(task.backbone.data_config["mean"]).view(3, 1, 1)
    std = torch.tensor(task.backbone.data_config["std"]).view(3, 1, 1)
    img = Image.open(next(gray.rglob("*.png"))).convert("RGB")
    for _ in range(5):
        x = t(img) * std + mean
        assert torch.allclose(x[0], x[1], atol=1e-5) and torch.allclose(x[1], x[2], atol=1e-5)
    photo = ImageTask(cfg(make_image_folder(tmp_path / "rgb", per_class=4), tmp_path / "r2"), tmp_path / "r2")
    photo.prepare_data()
    photo.build_model()
    assert not photo.grayscale and photo.augmentation() == "photo"
    assert "RandomVerticalFlip" not in [type(s).__name__ for s in photo.train_transform().transforms]
    timm_task = ImageTask(cfg(gray, tmp_path / "r3", augment="timm"), tmp_path / "r3")
    timm_task.prepare_data()
    timm_task.build_model()
    assert next(s for s in timm_task.train_transform().transforms
                if type(s).__name__ == "RandomResizedCropAndInterpolation").scale == (0.08, 1.0)


def test_rare_classes_weigh_more_in_fine_tuning_and_the_probe_may_balance(tmp_path):
    """On an imbalanced split the loss weights rare classes up (1/sqrt of their share) and the probe
    cross-validates balanced class weights too; balanced data keeps the plain loss and probe."""
    import torch

    from tladvisor.training.image_task import ImageTask
    from tladvisor.training.trainer import class_weightings

    root = make_image_folder(tmp_path / "imb", per_class=4, seed=5)
    for k in range(4, 40):  # 'horizontal' becomes the 40-image majority class
        shutil.copy(root / "horizontal" / "horizontal_000.png", root / "horizontal" / f"copy_{k}.png")
    task = ImageTask(cfg(root, tmp_path / "r"), tmp_path / "r")
    task.prepare_data()
    w = task.class_weights()
    major = task.classes.index("horizontal")
    assert w is not None and w[major] < 1 < min(w[k] for k in range(3) if k != major)
    logits, y = torch.zeros(2, 3), torch.tensor([major, (major + 1) % 3])
    logits[:, major] = 3.0  # a model that favours the majority: the rare example's error must cost more
    assert task.loss(logits, y) > torch.nn.functional.cross_entropy(logits, y)
    assert class_weightings(np.array([0] * 30 + [1] * 5), True) == [None, "balanced"]
    assert class_weightings(np.array([0] * 30 + [1] * 5), False) == [None]
    assert class_weightings(np.array([0] * 10 + [1] * 9), True) == [None]
    balanced = ImageTask(cfg(make_image_folder(tmp_path / "bal", per_class=6), tmp_path / "b"), tmp_path / "b")
    balanced.prepare_data()
    assert balanced.class_weights() is None
