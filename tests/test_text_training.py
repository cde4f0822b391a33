"""Text backend on the same engine: bundled MiniLM, probe with cached features, LoRA reload identity,
clear messages for bad CSVs, and the text audit."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from textgen import make_rows, write_csv
from tladvisor.schemas import TrainConfig
from tladvisor.training.errors import BackboneUnavailableError, DataError
from tladvisor.training.text_data import read_labelled_texts

ENV = {**os.environ, "HF_HUB_OFFLINE": "1", "OMP_NUM_THREADS": "1", "PYTHONPATH": str(Path(__file__).parent)}


@pytest.fixture(scope="module")
def texts(tmp_path_factory) -> Path:
    return write_csv(tmp_path_factory.mktemp("txt") / "intents.csv", make_rows(30, seed=2))


@pytest.fixture(autouse=True)
def feature_cache(tmp_path_factory, monkeypatch):
    monkeypatch.setenv("TLADVISOR_CACHE", str(tmp_path_factory.getbasetemp() / "text-cache"))


def cfg(data: Path, out: Path, **kw) -> TrainConfig:
    base = dict(modality="text", task="text-classification", data=str(data), out_dir=str(out), backbone="minilm_l6",
                batch_size=16, epochs=3, lr=5e-4, precision="fp32", skip_unwinnable=False)  # every planned stage runs
    return TrainConfig(**{**base, **kw})


def reloaded_test_metrics(run_dir: str | Path, data: Path) -> dict:
    """The test split's metrics as the reloaded run predicts them (plus its probabilities under "probs")."""
    from tladvisor.training.evaluation import classification_metrics
    from tladvisor.training.predict import load_run

    test_lines = {int(k.split(":")[1]) for k, s in json.loads((Path(run_dir) / "split.json").read_text())
                  ["assignments"].items() if s == "test"}
    test = [r for r in read_labelled_texts(data)[0] if r.line in test_lines]
    run = load_run(run_dir)
    probs = run.predict_proba([r.text for r in test]).numpy()
    truth = np.array([run.classes.index(r.label) for r in test])
    return {**classification_metrics(truth, probs, run.classes), "probs": probs}


def test_bad_csvs_get_clear_messages(tmp_path):
    f = write_csv(tmp_path / "a.csv", [("hello", "x")], text_col="utterance")
    with pytest.raises(DataError, match=r"no column 'text' \(columns: label, utterance\).*--text-col"):
        read_labelled_texts(f)
    rows = read_labelled_texts(f, text_col="utterance").rows
    assert rows[0].text == "hello"
    f = write_csv(tmp_path / "b.csv", [("fine", "x"), ("no label here", ""), ("ok", "y"), ("nan one", "NaN"),
                                       ("null one", "NULL"), ("none one", "None"), ("na one", "N/A")])
    found = read_labelled_texts(f)  # missing labels are dropped and listed, never a class
    assert [r.label for r in found.rows] == ["x", "y"] and found.missing_labels == [3, 5, 6, 7, 8]
    f = tmp_path / "c.csv"
    f.write_bytes(b"text,label\nfine,x\ncaf\xe9 au lait,y\n")
    found = read_labelled_texts(f)  # Excel's Windows-1252 "CSV": read, and the audit is told so
    assert found.rows[1].text == "caf\u00e9 au lait" and "c.csv: the file is not UTF-8" in found.notes[0]
    f.write_bytes("text,label\nGr\u00fc\u00dfe,x\n".encode() + b"caf\xe9 au lait,y\n")
    with pytest.raises(DataError, match=r"c.csv, line 3: bytes that are not UTF-8 .* otherwise UTF-8"):
        read_labelled_texts(f)
    f = tmp_path / "d.jsonl"
    f.write_text('{"text": "a", "label": "x"}\n{"text": "b", "label": \n')
    with pytest.raises(DataError, match=r"d.jsonl, line 2: not valid JSON"):
        read_labelled_texts(f)
    f = tmp_path / "e.tsv"
    f.write_bytes("\ufefftext\tlabel\nbonjour\tx\n   \ty\nhallo\ty\n".encode("utf-8"))
    rows, empty, bom = read_labelled_texts(f)[:3]
    assert [r.text for r in rows] == ["bonjour", "hallo"] and empty == [3] and bom


def test_hub_only_encoder_offline_names_bundled_alternative():
    from tladvisor.training.text_models import load_text_encoder

    with pytest.raises(BackboneUnavailableError, match="minilm_l6"):
        load_text_encoder("deberta_v3_base")


def test_probe_beats_chance_caches_and_audits(texts, tmp_path):
    from tladvisor.training.trainer import train

    rows = make_rows(30, seed=2)
    rows.append(rows[0])  # a duplicate the audit must report
    data = write_csv(tmp_path / "dup.csv", rows)
    first = train(cfg(data, tmp_path / "p1", strategy="linear_probe"))
    assert first.metrics["accuracy"] >= 0.8  # chance is 1/3
    emb = first.stage_results[0]["embedding"]
    assert emb["computed"] >= 80 and emb["cached"] == 0
    second = train(cfg(data, tmp_path / "p2", strategy="linear_probe"))
    assert second.stage_results[0]["embedding"]["computed"] == 0  # every text came from the cache
    audit = json.loads((Path(first.run_dir) / "audit.json").read_text())
    assert audit["exact_duplicates"] and audit["max_length"] == 256 and audit["too_long"] == 0
    assert set(audit["per_class"]) == {"balance", "lost_card", "refund"}


def test_lora_reload_predicts_exactly_what_training_did(texts, tmp_path):
    from tladvisor.training.predict import load_run
    from tladvisor.training.trainer import train

    res = train(cfg(texts, tmp_path / "lora", strategy="lora", epochs=4))
    assert res.metrics["accuracy"] >= 0.8 and res.metrics["best_stage"] == "lora"
    adapter = Path(res.run_dir) / "model" / "adapter"
    conf = json.loads((adapter / "adapter_config.json").read_text())
    assert conf["peft_type"] == "LORA" and {"query", "value"} <= {t.split(".")[-1] for t in conf["target_modules"]}
    samples = ["please refund the shoes I returned", "someone took my card in the taxi", "what is my balance after the concert"]
    here = load_run(res.run_dir).predict_proba(samples).numpy()
    out = subprocess.run([sys.executable, "-m", "tladvisor", "predict", res.run_dir, *samples, "--json"],
                         capture_output=True, text=True, env=ENV, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    classes = json.loads((Path(res.run_dir) / "labels.json").read_text())["classes"]
    for row, probs in zip(json.loads(out.stdout), here):
        got = {d["label"]: d["probability"] for d in row["top_k"]}
        assert all(abs(got[c] - float(probs[i])) < 1e-5 for i, c in enumerate(classes)), (got, probs)
    assert [r["top_k"][0]["label"] for r in json.loads(out.stdout)] == ["refund", "lost_card", "balance"]


def test_separate_test_file_and_cli_text_columns(tmp_path):
    train_f = write_csv(tmp_path / "train.tsv", make_rows(20, seed=5), "utterance", "intent", delimiter="\t")
    test_f = write_csv(tmp_path / "test.tsv", make_rows(6, seed=6), "utterance", "intent", delimiter="\t")
    out = subprocess.run([sys.executable, "-m", "tladvisor", "train", str(train_f), "--test", str(test_f),
                          "--text-col", "utterance", "--label-col", "intent", "--strategy", "linear_probe",
                          "--out", str(tmp_path / "run"), "--json"], capture_output=True, text=True, env=ENV,
                         timeout=600)
    assert out.returncode == 0, out.stderr[-2000:]
    result = json.loads(out.stdout)
    assert result["metrics"]["n"] == 18 and result["metrics"]["accuracy"] >= 0.8
    texts_file = tmp_path / "ask.txt"
    texts_file.write_text("refund my shoes please\nmy card is gone\n")
    pred = subprocess.run([sys.executable, "-m", "tladvisor", "predict", str(tmp_path / "run"), "--file",
                           str(texts_file)], capture_output=True, text=True, env=ENV, timeout=300)
    assert pred.returncode == 0 and pred.stdout.count("\n") == 2 and "refund" in pred.stdout.splitlines()[0]
    bad = subprocess.run([sys.executable, "-m", "tladvisor", "train", str(train_f)], capture_output=True, text=True,
                         env=ENV, timeout=300)
    assert bad.returncode == 2 and "no column 'text'" in bad.stderr and "Traceback" not in bad.stderr


def test_label_names_become_short_texts_only_when_they_are_words():
    from tladvisor.training.text_data import LABEL_NAME_COPIES, label_name_rows, label_name_text

    assert label_name_text("card_arrival") == "card arrival"
    assert label_name_text("CardArrival") == "card arrival"
    assert label_name_text("top-up.failed") == "top up failed"
    assert [label_name_text(c) for c in ("3", "LABEL_0", "class-12", "x")] == [None, None, None, None]
    rows = label_name_rows(["refund", "lost_card"])
    assert len(rows) == 2 * LABEL_NAME_COPIES and {r.split for r in rows} == {"train"}
    assert label_name_rows(["refund", "2"]) == []  # a half-named label set would favour the named classes


def test_class_names_train_but_never_validate_test_or_count_as_client_data(texts, tmp_path):
    from tladvisor.training.predict import load_run
    from tladvisor.training.text_data import LABEL_NAME_COPIES
    from tladvisor.training.trainer import train

    res = train(cfg(texts, tmp_path / "named", strategy="linear_probe"))
    run = Path(res.run_dir)
    assert res.metrics["accuracy"] >= 0.8
    assert not any("label name" in k for k in json.loads((run / "split.json").read_text())["assignments"])
    assert json.loads((run / "audit.json").read_text())["per_class"] == {"balance": 30, "lost_card": 30, "refund": 30}
    assert f"{3 * LABEL_NAME_COPIES} class-name rows" in (run / "README.md").read_text()
    assert load_run(run).info["pooling"] == "mean+max" and load_run(run).info["label_name_rows"] == 9
    coded = write_csv(tmp_path / "coded.csv", [(t, {"refund": "0", "lost_card": "1", "balance": "2"}[y])
                                               for t, y in make_rows(30, seed=2)])
    plain = train(cfg(coded, tmp_path / "coded", strategy="linear_probe"))
    assert "class-name rows" not in (Path(plain.run_dir) / "README.md").read_text()
    assert plain.metrics["accuracy"] >= 0.8


def test_refitted_head_after_lora_is_what_the_saved_run_predicts(tmp_path):
    """probe -> LoRA: the head re-fitted on the tuned encoder is scored on validation, and whichever head
    is kept is the one saved: the reloaded run reproduces the training-time test confusion matrix."""
    import numpy as np

    from tladvisor.training.trainer import train

    rows = make_rows(40, seed=5)
    rng = np.random.default_rng(0)
    labels = sorted({y for _, y in rows})
    noisy = [(t, labels[rng.integers(3)] if rng.random() < 0.25 else y) for t, y in rows]  # imperfect on purpose
    data = write_csv(tmp_path / "noisy.csv", noisy)
    res = train(cfg(data, tmp_path / "refit", strategy="auto", plan=["linear_probe", "lora"], epochs=2))
    lora = res.stage_results[1]
    refit = lora["refit_head"]
    assert refit["C"] == res.stage_results[0]["C"] and 0 <= refit["val_macro_f1"] <= 1
    assert refit["kept"]  # on this seeded data the re-fit ties the tuned head, and ties go to the re-fit
    assert lora["val_macro_f1"] == max(refit["val_macro_f1"], refit["tuned_head_val_macro_f1"])
    assert reloaded_test_metrics(res.run_dir, data)["confusion_matrix"] == res.metrics["confusion_matrix"]
    assert res.metrics["accuracy"] > 0.5  # chance is 1/3, a quarter of the labels are noise


def test_probe_lora_ensemble_saved_and_reloaded_predicts_what_training_measured(tmp_path, monkeypatch):
    """When the average of probe and LoRA is kept, the run saves adapter + both heads, and the reloaded
    ensemble (one encoder, adapters off for the probe) reproduces the training-time test results."""
    import numpy as np

    import tladvisor.training.trainer as trainer

    rows = make_rows(40, seed=5)
    rng = np.random.default_rng(0)
    labels = sorted({y for _, y in rows})
    data = write_csv(tmp_path / "noisy.csv", [(t, labels[rng.integers(3)] if rng.random() < 0.25 else y) for t, y in rows])
    monkeypatch.setattr(trainer, "_choose_stage", lambda keys, results, n_val, favourite=0, score_key="val_macro_f1": keys[-1])  # force the ensemble
    monkeypatch.setattr(trainer, "LEXICAL_MARGIN", 1.0)  # an n-gram probe has no embedding-only head to average
    res = trainer.train(cfg(data, tmp_path / "ens", strategy="auto", plan=["linear_probe", "lora"], epochs=2))
    ens = res.stage_results[-1]
    assert res.metrics["best_stage"] == "ensemble" and ens["members"] == ["0-linear_probe", "1-lora"]
    assert ens["probe_weight"] == 0.5
    # members are scored with heads that never saw the validation split: the same scores the stages reported
    assert ens["member_val_macro_f1"] == pytest.approx({s["key"]: s["val_macro_f1"] for s in (
        {"key": "0-linear_probe", **res.stage_results[0]}, {"key": "1-lora", **res.stage_results[1]})}, abs=1e-9)
    run_dir = Path(res.run_dir)
    assert (run_dir / "model" / "probe_head.safetensors").exists() and (run_dir / "model" / "adapter").is_dir()
    assert "average the LoRA model's and the frozen-encoder probe's probabilities" in (run_dir / "README.md").read_text()
    again = reloaded_test_metrics(run_dir, data)
    assert np.allclose(again["probs"].sum(1), 1, atol=1e-5)
    assert again["confusion_matrix"] == res.metrics["confusion_matrix"]


def test_bf16_run_reloads_in_bf16_and_predicts_what_training_measured(texts, tmp_path):
    """A run trained and evaluated under bf16 autocast says so in model_info.json, and its reload predicts in
    the same precision: the test confusion matrix comes out as measured."""
    from tladvisor.training.trainer import train

    res = train(cfg(texts, tmp_path / "bf16", strategy="lora", epochs=2, precision="bf16"))
    info = json.loads((Path(res.run_dir) / "model" / "model_info.json").read_text())
    assert res.metrics["precision"] == info["precision"] == "bf16"
    assert res.metrics["accuracy"] > 0.5  # chance is 1/3
    again = reloaded_test_metrics(res.run_dir, texts)
    assert again["confusion_matrix"] == res.metrics["confusion_matrix"]
    # the same probabilities, not only the same winners: fp32 inference moves the log loss by ~1e-4; bf16 batches
    # of another composition (training's length buckets vs predict's batches) move it by ~1e-6 on torch 2.14
    assert again["log_loss"] == pytest.approx(res.metrics["log_loss"], abs=1e-5)


def test_retrain_on_all_trains_the_kept_stage_again_on_train_and_validation(texts, tmp_path):
    """Few-shot plans: validation chooses the stage, then the kept LoRA stage is trained again on train +
    validation for the whole schedule; the saved run is that model (its reload reproduces the test results),
    the log shows the retrain's epochs, and the model card says so."""
    from tladvisor.training.trainer import train

    res = train(cfg(texts, tmp_path / "few", strategy="auto", plan=["linear_probe", "lora"], epochs=2,
                    retrain_on_all=True))
    assert res.metrics["best_stage"] in ("lora", "ensemble")  # favoured unless validation clearly prefers the probe
    retrain = res.metrics["retrained_on_all"]
    split = json.loads((Path(res.run_dir) / "split.json").read_text())["assignments"].values()
    assert retrain["stage"] == "lora" and retrain["epochs"] == 2
    assert retrain["examples"] == sum(s in ("train", "val") for s in split) + 9  # + the class-name rows
    logged = [json.loads(l) for l in (Path(res.run_dir) / "log.jsonl").read_text().splitlines()]
    assert [r["epoch"] for r in logged if r.get("stage") == "lora-retrain"] == [1, 2]
    assert res.metrics["accuracy"] > 0.5  # chance is 1/3
    assert reloaded_test_metrics(res.run_dir, texts)["confusion_matrix"] == res.metrics["confusion_matrix"]
    assert "trained again from the pre-trained weights on train + validation" in (
        Path(res.run_dir) / "README.md").read_text()


def test_a_budget_leaves_the_head_refit_its_pass(texts, tmp_path, monkeypatch):
    """After text fine-tuning the head is re-fitted on the tuned encoder, which embeds every example once more:
    the estimate counts that pass, the fine-tuning stage's epochs leave it its time (timed on the probe's own pass,
    scaled where the cache served part of it), and a stage is skipped, saying why, when the pass alone would
    overrun the budget (BANKING77 on MPNet here: estimated 9 minutes, ran 12.8 before)."""
    from tladvisor.advice.budget import budget_config
    from tladvisor.training import trainer

    base = cfg(texts, tmp_path / "x", strategy="auto", plan=["linear_probe", "lora"], epochs=3)
    with_refit, _ = budget_config(base, 10_000, None, tokens=20, test_examples=3000)
    without, _ = budget_config(base.model_copy(update={"refit_head": False}), 10_000, None, tokens=20,
                               test_examples=3000)
    assert with_refit.budget_estimate_s > without.budget_estimate_s * 1.05
    probe = {"stage": "linear_probe", "seconds": 13.0, "embedding": {"seconds": 10.0, "computed": 50, "cached": 50}}
    assert trainer._refit_reserve([probe]) == pytest.approx(20.0 + 3.0)  # the pass over all 100, the head's fits
    assert trainer._refit_reserve([probe], n_val=10) == pytest.approx(22.0 + 3.0)
    assert trainer._refit_reserve([{"stage": "linear_probe", "embedding": {"seconds": 0.0, "computed": 0,
                                                                           "cached": 90}}]) is None
    monkeypatch.setattr(trainer, "_refit_reserve", lambda results, n_val=0: 3600.0)  # a pass far longer than the budget
    res = trainer.train(cfg(texts, tmp_path / "run", strategy="auto", plan=["linear_probe", "lora"], epochs=3,
                            budget_minutes=10))
    assert [s["stage"] for s in res.stage_results] == ["linear_probe"]
    assert any("lora skipped: re-fitting its head" in n for n in res.metrics["budget"]["notes"])
    assert res.metrics["accuracy"] > 0.6  # chance is 1/3: the probe's model stands
