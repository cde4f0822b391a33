"""Token classification: CoNLL and span-JSONL reading, tagging schemes and repairs (property-based), real training
that must find the entities, the CLI end to end (train, predict with spans), resume and the model card."""
from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.nergen import make_sentences, write_conll, write_span_jsonl
from tests.runkill import kill_after_checkpoint
from tladvisor.training.errors import DataError
from tladvisor.training.ner_data import detect_scheme, is_token_file, read_token_file, to_bio

ENV = {**os.environ, "HF_HUB_OFFLINE": "1"}
TAG = st.sampled_from(["O", "B-PER", "I-PER", "B-LOC", "I-LOC", "E-LOC", "S-PER"])


def _valid_bio(tags: list[str]) -> bool:
    prev = "O"
    for t in tags:
        if t.startswith("I-") and (prev == "O" or prev[2:] != t[2:]):
            return False
        if t != "O" and t[:2] not in ("B-", "I-"):
            return False
        prev = t
    return True


@settings(max_examples=300, deadline=None)
@given(st.lists(TAG, max_size=30))
def test_any_tag_sequence_becomes_valid_bio_keeping_entity_types(tags):
    scheme = detect_scheme(tags)
    out, repaired = to_bio(tags, scheme)
    assert len(out) == len(tags) and _valid_bio(out)
    assert [t[2:] for t in out] == [t[2:] for t in tags]  # types and O positions never change
    assert repaired >= 0


def test_broken_bio_is_repaired_and_counted(tmp_path):
    f = tmp_path / "broken.conll"
    f.write_text("Anna\tI-PER\nlives\tO\nin\tO\nNew\tB-LOC\nYork\tI-LOC\n\nGo\tO\nBerlin\tI-LOC\n", encoding="utf-8")
    found = read_token_file(f)
    # a file that mostly opens entities with B- is BIO; its stray I- starts are repairs
    assert [s.tags for s in found.sentences][0][0] == "B-PER"
    assert found.sentences[1].tags == ["O", "B-LOC"]


def test_bioes_converts_without_repairs(tmp_path):
    f = tmp_path / "bioes.conll"
    f.write_text("New\tB-LOC\nYork\tE-LOC\nis\tO\nbig\tO\n\nAnna\tS-PER\nsmiles\tO\n", encoding="utf-8")
    found = read_token_file(f)
    assert found.scheme == "BIOES" and found.repaired == 0
    assert found.sentences[0].tags == ["B-LOC", "I-LOC", "O", "O"] and found.sentences[1].tags == ["B-PER", "O"]


def test_jsonl_spans_become_word_tags(tmp_path):
    sents = make_sentences(5, seed=3)
    f = write_span_jsonl(tmp_path / "spans.jsonl", sents)
    assert is_token_file(f)
    found = read_token_file(f)
    assert [s.tags for s in found.sentences] == [[g for _, g in s] for s in sents]


@pytest.mark.parametrize("content, expected", [
    ("Anna B-PER\nsays\n", "expected 'token TAG'"),
    ("Anna PERSON\n", "not O or B-/I-/E-/S-TYPE"),
])
def test_bad_conll_lines_are_named(tmp_path, content, expected):
    f = tmp_path / "bad.conll"
    f.write_text(content, encoding="utf-8")
    with pytest.raises(DataError, match=expected) as err:
        read_token_file(f)
    assert "bad.conll:" in str(err.value)


def test_bad_span_is_named(tmp_path):
    f = tmp_path / "bad.jsonl"
    f.write_text(json.dumps({"text": "Anna", "entities": [{"start": 0, "end": 40, "label": "PER"}]}) + "\n")
    with pytest.raises(DataError, match=r"bad.jsonl:1: an entity ends after the text"):
        read_token_file(f)


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """One real run through the CLI: 240 generated sentences, the bundled MiniLM, LoRA for a few epochs."""
    root = tmp_path_factory.mktemp("ner")
    train_file = write_conll(root / "train.conll", make_sentences(240, seed=0))
    test_file = write_conll(root / "test.conll", make_sentences(60, seed=1))
    run = root / "run"
    out = subprocess.run([sys.executable, "-m", "tladvisor", "train", str(train_file), "--test", str(test_file),
                          "--strategy", "lora", "--epochs", "4", "--lr", "2e-3", "--precision", "fp32", "--out",
                          str(run), "--json"], capture_output=True, text=True, env=ENV, timeout=900)
    assert out.returncode == 0, out.stderr[-3000:]
    return run, json.loads(out.stdout), out.stderr


def test_ner_training_finds_the_entities(trained):
    run, result, stderr = trained
    assert "entity types" in stderr  # the advisor read the file as NER
    m = result["metrics"]
    assert result["config"]["task"] == "ner" and m["best_stage"] == "lora"
    assert m["entity_f1"] >= 0.6, m  # chance is ~0: strict entity matching of three types
    assert set(m["per_type"]) == {"PER", "LOC", "PRODUCT"}
    card = (run / "README.md").read_text()
    assert "Entity-level (seqeval, strict IOB2) F1" in card and "| PER |" in card
    audit = json.loads((run / "audit.json").read_text())
    assert audit["scheme"] == "BIO" and audit["entities"]["test"]["PER"] > 0
    assert (run / "model" / "adapter" / "adapter_config.json").exists()


def test_ner_predict_prints_entities_with_spans(trained):
    run, _, _ = trained
    text = "yesterday Anna Schmidt bought a Kindle in Madrid"
    out = subprocess.run([sys.executable, "-m", "tladvisor", "predict", str(run), text, "--json"],
                         capture_output=True, text=True, env=ENV, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    ents = json.loads(out.stdout)[0]["entities"]
    found = {(e["text"], e["type"]) for e in ents}
    assert ("Anna Schmidt", "PER") in found and ("Madrid", "LOC") in found, ents
    for e in ents:
        assert text[e["start"]:e["end"]] == e["text"]


def test_ner_client_report(trained):
    run, _, _ = trained
    out = subprocess.run([sys.executable, "-m", "tladvisor", "report", str(run)], capture_output=True, text=True,
                         env=ENV, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    html = (run / "client-report.html").read_text()
    assert "entity" in html.lower() and "PER" in html


def test_ner_without_any_entity_is_refused(tmp_path):
    f = tmp_path / "plain.conll"
    f.write_text("hello\tO\nworld\tO\n\nbye\tO\n", encoding="utf-8")
    out = subprocess.run([sys.executable, "-m", "tladvisor", "train", str(f), "--out", str(tmp_path / "r")],
                         capture_output=True, text=True, env=ENV, timeout=300)
    assert out.returncode == 2 and "no entity is tagged" in out.stderr
    assert not (tmp_path / "r").exists()


def test_killed_ner_run_resumes_from_its_last_epoch(tmp_path):
    train_file = write_conll(tmp_path / "train.conll", make_sentences(240, seed=4))
    run = tmp_path / "killed"
    cmd = [sys.executable, "-m", "tladvisor", "train", str(train_file), "--strategy", "lora", "--epochs", "5",
           "--lr", "2e-3", "--precision", "fp32", "--out", str(run)]
    kill_after_checkpoint(cmd, run / "checkpoints" / "0-lora-0-last.pt", ENV)
    out = subprocess.run([sys.executable, "-m", "tladvisor", "train", "--resume", str(run), "--json"],
                         capture_output=True, text=True, env=ENV, timeout=600)
    assert out.returncode == 0, out.stderr[-2000:]
    result = json.loads(out.stdout)
    epochs = [json.loads(l)["epoch"] for l in (run / "log.jsonl").read_text().splitlines() if '"epoch"' in l]
    assert epochs == sorted(epochs) and len(epochs) == len(set(epochs)), epochs  # continued, not restarted
    assert result["status"] == "finished" and result["config"]["precision"] == "fp32"
    assert result["metrics"]["entity_f1"] >= 0.3, result["metrics"]["entity_f1"]  # chance is ~0 (strict spans)
