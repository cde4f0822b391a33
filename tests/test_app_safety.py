"""The app as an attack surface and a long-lived process: Predict and run summaries open only finished runs under
the runs root (never `../` or another server folder, even through the HTTP API), messages carry no server paths,
an upload is extracted once, chat turns leave no temp folders behind and a failing turn keeps the session."""
from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import pytest

from imagegen import make_image_folder, zip_folder
from textgen import make_rows, write_csv

pytest.importorskip("torch")


@pytest.fixture()
def runs(tmp_path, monkeypatch) -> Path:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("TLADVISOR_RUNS", str(tmp_path / "runs"))
    monkeypatch.setenv("TLADVISOR_CACHE", str(tmp_path / "cache"))
    from tladvisor.schemas import TrainConfig
    from tladvisor.training.trainer import train

    data = write_csv(tmp_path / "tickets.csv", make_rows(10, seed=5))
    train(TrainConfig(modality="text", task="text-classification", data=str(data), backbone="minilm_l6",
                      strategy="linear_probe", precision="fp32", out_dir=str(tmp_path / "runs" / "run-1")))
    return tmp_path / "runs"


def test_predict_and_summary_open_only_runs_under_the_root(runs, tmp_path):
    from tladvisor.ui.runs import list_runs, predict, run_summary

    assert [Path(r).name for r in list_runs()] == ["run-1"]
    probs, status = predict(list_runs()[0], None, "please refund the shoes I returned")
    assert max(probs, key=probs.get) == "refund"
    assert "run-1" in run_summary(list_runs()[0]) and "test accuracy" in run_summary("run-1")
    outside = tmp_path / "elsewhere"
    shutil.copytree(runs / "run-1", outside)  # a real, loadable run, but not one of the app's
    for path in (str(outside), str(runs / ".." / "elsewhere"), "../elsewhere", "/etc", str(runs / ".uploads")):
        probs, status = predict(path, None, "hello")
        assert probs == {} and "unknown run" in status, (path, status)
        assert "unknown run" in run_summary(path) and str(tmp_path) not in run_summary(path)


def test_messages_name_files_not_server_paths(tmp_path, monkeypatch):
    monkeypatch.setenv("TLADVISOR_RUNS", str(tmp_path / "runs"))
    from tladvisor.ui.runs import audit_upload, train_upload

    upload = Path(tempfile.gettempdir()) / "gradio-upload-abc123" / "tickets.csv"
    upload.parent.mkdir(exist_ok=True)
    upload.write_text("body,intent\nhello,greet\n", encoding="utf-8")
    try:
        for md in (audit_upload(str(upload)), train_upload(str(upload), "auto", None, "")[0]):
            assert "tickets.csv" in md and "gradio-upload-abc123" not in md and tempfile.gettempdir() not in md
    finally:
        shutil.rmtree(upload.parent)


def test_an_upload_is_extracted_once(tmp_path, monkeypatch):
    monkeypatch.setenv("TLADVISOR_RUNS", str(tmp_path / "runs"))
    from tladvisor.ui.runs import prepare_upload

    data = make_image_folder(tmp_path / "parts", per_class=3, size=32)
    archive = zip_folder(data, tmp_path / "parts.zip")
    first = Path(prepare_upload(str(archive)))
    stamp = (first.parent / ".extracted").stat().st_mtime_ns
    assert prepare_upload(str(archive)) == str(first) and (first.parent / ".extracted").stat().st_mtime_ns == stamp
    assert len(list((tmp_path / "runs" / ".uploads").iterdir())) == 1
    assert len(list(first.rglob("*.png"))) == 9


def test_chat_turns_leave_no_temp_folders_and_a_failing_turn_keeps_the_session(monkeypatch):
    from tladvisor.ui import chat

    before = set(Path(tempfile.gettempdir()).glob("tladvisor-summary-*"))
    view = chat.start()
    history, state = view[0], view[1]
    for message in ("image classification for a steel mill", "6 classes, 300 photos each", "commercial", "yes"):
        view = chat.send(message, history, state)
        history, state = view[0], view[1]
    assert set(Path(tempfile.gettempdir()).glob("tladvisor-summary-*")) == before  # no folder per turn
    files = view[4]
    assert files and all(Path(f).exists() for f in files)

    class Broken:
        def respond(self, *_):
            raise RuntimeError("boom")

    monkeypatch.setattr(chat, "dialogue_manager", lambda: Broken())
    after = chat.send("something odd", history, state)
    assert after[0][-2] == {"role": "user", "content": "something odd"}
    assert "Sorry" in after[0][-1]["content"] and after[1] == state  # the brief gathered so far is kept
    assert after[3] == view[3]  # and so is the recommendation on screen
