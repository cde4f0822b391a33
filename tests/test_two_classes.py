"""Two classes (OK vs defect, spam vs ham) is the most common client task: every modality and strategy trains on
two classes, beats chance, and reloads; a real two-class text set trains through the CLI with the advisor's plan."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from imagegen import make_image_folder
from textgen import make_rows, write_csv

pytest.importorskip("torch")
from tladvisor.schemas import TrainConfig  # noqa: E402

REAL_TWO_CLASS = Path(__file__).parent / "data" / "banking77_two_intents.csv"  # real BANKING77 queries, see SOURCE.md
ENV = {**os.environ, "HF_HUB_OFFLINE": "1", "PYTHONPATH": str(Path(__file__).parent)}


@pytest.fixture(autouse=True)
def feature_cache(tmp_path_factory, monkeypatch):
    monkeypatch.setenv("TLADVISOR_CACHE", str(tmp_path_factory.getbasetemp() / "cache"))


@pytest.fixture(scope="module")
def images(tmp_path_factory) -> Path:
    return make_image_folder(tmp_path_factory.mktemp("img2") / "ok_vs_defect", per_class=16, seed=3,
                             classes=("horizontal", "spots"))


@pytest.fixture(scope="module")
def texts(tmp_path_factory) -> Path:
    rows = [r for r in make_rows(30, seed=4) if r[1] != "balance"]  # refund vs lost_card
    return write_csv(tmp_path_factory.mktemp("txt2") / "two.csv", rows)


def _config(modality: str, data: Path, out: Path, strategy: str) -> TrainConfig:
    common = dict(data=str(data), out_dir=str(out), strategy=strategy, plan=["linear_probe", "lora"], epochs=2,
                  precision="fp32", batch_size=16, skip_unwinnable=False)  # every planned stage runs
    if modality == "image":
        return TrainConfig(modality="image", backbone="efficientnet_lite0", resolution=64, lr=1e-3, **common)
    # a LoRA stage from a fresh head needs a few more steps on 48 training texts than on images
    return TrainConfig(modality="text", task="text-classification", backbone="minilm_l6", lr=5e-4,
                       **{**common, "epochs": 4})


@pytest.mark.parametrize("modality", ["image", "text"])
@pytest.mark.parametrize("strategy", ["linear_probe", "lora", "auto"])
def test_two_classes_train_beat_chance_and_reload(modality, strategy, images, texts, tmp_path):
    from tladvisor.training.predict import load_run
    from tladvisor.training.trainer import train

    data = images if modality == "image" else texts
    res = train(_config(modality, data, tmp_path / "run", strategy))
    m = res.metrics
    assert len(m["per_class"]) == 2 and m["n"] >= 6
    assert m["accuracy"] >= 0.8, m  # chance is 1/2
    assert [s["stage"] for s in res.stage_results][:2] == (["linear_probe", "lora"] if strategy == "auto"
                                                           else [strategy])
    run = load_run(res.run_dir)
    sample = ([str(next((images / "spots").iterdir()))] if modality == "image"
              else ["someone took my card in the taxi"])
    probs = run.predict_proba(sample)
    assert probs.shape == (1, 2) and abs(float(probs.sum()) - 1) < 1e-4


def test_real_two_class_texts_train_through_the_cli_with_the_advisors_plan(tmp_path):
    out = tmp_path / "run"
    proc = subprocess.run([sys.executable, "-m", "tladvisor", "train", str(REAL_TWO_CLASS), "--out", str(out),
                           "--json"], capture_output=True, text=True, env={**ENV, "TLADVISOR_CACHE": str(tmp_path / "c")},
                          timeout=600)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "Traceback" not in proc.stderr
    result = json.loads(proc.stdout)
    assert result["metrics"]["accuracy"] >= 0.85  # 16 held-out real queries; chance is 1/2
    assert sorted(result["metrics"]["per_class"]) == ["card_arrival", "lost_or_stolen_card"]
    assert result["config"]["plan"][0] == "linear_probe" and len(result["stage_results"]) >= 2


def test_probe_with_character_ngrams_saves_reloads_and_predicts_what_training_measured(tmp_path, monkeypatch):
    """When the probe keeps [embedding | character n-grams] (chosen by its cross-validation; forced here, since the
    bundled encoder already separates these generated texts), the run saves the n-gram part beside the head, and
    the reloaded run predicts exactly what training measured on the test split."""
    from textgen import FILLERS, INTENTS

    from tladvisor.training import trainer
    from tladvisor.training.predict import load_run

    monkeypatch.setattr(trainer, "LEXICAL_MARGIN", -1.0)
    rng = np.random.default_rng(7)
    templates = [t for ts in INTENTS.values() for t in ts]
    rows = []
    for label, code in (("ok", "zq-17"), ("flagged", "kx-94 http://bit.ly/x")):
        for i in range(40):
            text = templates[rng.integers(len(templates))].format(x=FILLERS[rng.integers(len(FILLERS))])
            rows.append((f"{text} ref {code}", label))
    data = write_csv(tmp_path / "codes.csv", rows)
    res = trainer.train(TrainConfig(modality="text", task="text-classification", data=str(data),
                                    out_dir=str(tmp_path / "r"), backbone="minilm_l6", strategy="linear_probe",
                                    precision="fp32", label_names=False))
    lexical = res.stage_results[0]["lexical"]
    assert lexical["ngrams"] > 100 and 0 <= lexical["embedding_cv_macro_f1"] <= 1
    assert res.metrics["accuracy"] >= 0.95, res.metrics
    run = load_run(res.run_dir)
    assert run.info["lexical"] and (Path(res.run_dir) / "model" / "lexical.safetensors").exists()
    assert "character 2-5-gram" in (Path(res.run_dir) / "README.md").read_text()
    split = json.loads((Path(res.run_dir) / "split.json").read_text())["assignments"]
    test = [rows[int(k.split(":")[1]) - 2] for k, s in split.items() if s == "test"]
    probs = run.predict_proba([t for t, _ in test]).numpy()
    predicted = [run.classes[int(p.argmax())] for p in probs]
    truth_index = [run.classes.index(lab) for _, lab in test]
    matrix = [[sum(1 for t, p in zip(truth_index, predicted) if t == i and run.classes.index(p) == j)
               for j in range(2)] for i in range(2)]
    assert matrix == res.metrics["confusion_matrix"]
    # the same probabilities, not only the same winners: without its n-gram part the reload's log loss moves
    from tladvisor.training.evaluation import classification_metrics

    again = classification_metrics(np.array(truth_index), probs, run.classes)
    assert again["log_loss"] == pytest.approx(res.metrics["log_loss"], abs=1e-4)
    import torch

    without = run.model.model.eval()
    with torch.no_grad():
        plain = without(run.task.make_batch(run.info, run.prep, [t for t, _ in test])).softmax(-1).numpy()
    assert classification_metrics(np.array(truth_index), plain, run.classes)["log_loss"] != pytest.approx(
        res.metrics["log_loss"], abs=1e-4)
