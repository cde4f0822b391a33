"""The app's handlers: scoping form, upload audit, training from an upload, prediction; bad input is a message."""
from __future__ import annotations

import zipfile
from pathlib import Path


from app import build_app
from imagegen import make_image_folder, zip_folder
from tladvisor.ui.scoping import recommend


def test_recommend_returns_summary_files():
    md, files = recommend("image-classification", "manufacturing", 15, 200, "unknown", "Yes", False, None, "cpu",
                          False, False, "en")
    assert "EfficientNet-Lite0" in md
    assert [Path(f).suffix for f in files] == [".md", ".html", ".pdf"]
    assert all(Path(f).stat().st_size > 1000 for f in files)
    assert Path(files[2]).read_bytes().startswith(b"%PDF-")


def test_bad_input_is_a_message_not_a_crash():
    md, files = recommend("image-classification", "manufacturing", 1, 200, "unknown", "Yes", False, None, "cpu",
                          False, False, "en")
    assert md.startswith("**Please check:**") and "classes" in md and files is None


def test_app_builds():
    assert build_app() is not None


def test_upload_audit_train_and_predict(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("TLADVISOR_RUNS", str(tmp_path / "runs"))
    monkeypatch.setenv("TLADVISOR_CACHE", str(tmp_path / "cache"))
    from tladvisor.ui.runs import audit_upload, list_runs, predict, train_upload

    data = make_image_folder(tmp_path / "parts", per_class=12, size=48)
    archive = zip_folder(data, tmp_path / "parts.zip")
    audit = audit_upload(str(archive))
    assert "**Plan:**" in audit and "| horizontal |" in audit
    seen = []
    brief = {"task": "image-classification", "domain": "manufacturing", "commercial": True, "classes": 40}
    md, cm, curves, files = train_upload(str(archive), "linear_probe", None, "", brief=brief,
                                         progress=lambda f, d: seen.append(d))
    assert "Test accuracy" in md and cm and Path(cm).exists()
    assert any(f.endswith(".zip") and zipfile.ZipFile(f).namelist() for f in files)
    # the client report: measured numbers in the three client messages, the audit, the chat's brief
    report = Path(files[0])
    assert report.name == "client-report.html"
    assert Path(files[1]).name == "client-report.pdf" and Path(files[1]).read_bytes().startswith(b"%PDF-")
    html = report.read_text(encoding="utf-8")
    accuracy = float(md.split("Test accuracy ")[1].split("%")[0])
    assert f"reached <strong>{accuracy:.1f}%</strong> accuracy" in html
    for title in ("Setting expectations", "Data efficiency", "Ongoing improvement", "Data audit", "Licence"):
        assert title in html
    assert "36 readable images in 3 classes" in html and "manufacturing" in html
    assert "3 classes x ~12" in html  # the measured volume replaced the chat's 40 classes
    assert "{" not in html.split("<body>")[1].split("<style")[0]  # no unfilled placeholder
    runs = list_runs()
    assert len(runs) == 1
    probs, status = predict(runs[0], str(data / "spots" / "spots_000.png"), None)
    assert max(probs, key=probs.get) == "spots" and "image model" in status
    _, status = predict(runs[0], None, "some text")
    assert "drop an image" in status


def test_bad_upload_is_a_message(tmp_path):
    from tladvisor.ui.runs import audit_upload, train_upload

    junk = tmp_path / "junk.zip"
    junk.write_text("not a zip")
    assert audit_upload(str(junk)).startswith("**Cannot use this upload:**")
    md, *_ = train_upload(str(junk), "auto", None, "")
    assert md.startswith("**Training stopped:**") or md.startswith("**Cannot")


def _zip(tmp_path: Path, name: str, files: dict[str, bytes]) -> str:
    path = tmp_path / name
    with zipfile.ZipFile(path, "w") as zf:
        for arc, data in files.items():
            zf.writestr(arc, data)
    return str(path)


def test_bad_uploads_become_chat_messages_and_the_session_continues(tmp_path, monkeypatch):
    """Not a zip, nested junk, one class, an empty class, wrong CSV columns, a huge file: each is a message in
    the chat naming the problem, and the conversation goes on with its state intact."""
    import io

    from PIL import Image

    from app import _audit, _send

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("TLADVISOR_CACHE", str(tmp_path / "cache"))
    buf = io.BytesIO()
    Image.new("RGB", (32, 32), "red").save(buf, format="PNG")
    png = buf.getvalue()
    junk = tmp_path / "notazip.zip"
    junk.write_text("not a zip")
    csv_bad = tmp_path / "tickets.csv"
    csv_bad.write_text("body,intent\nhello,greet\nbye,leave\n", encoding="utf-8")
    big = tmp_path / "big.csv"
    big.write_bytes(b"text,label\n" + b"x,y\n" * 400_000)
    cases = {
        str(junk): "zip",
        _zip(tmp_path, "junk.zip", {"__MACOSX/._a.png": b"x", "readme.txt": b"hello"}): "class",
        _zip(tmp_path, "one.zip", {f"only/{i}.png": png for i in range(5)}): "class",
        _zip(tmp_path, "empty.zip", {**{f"a/{i}.png": png for i in range(5)}, "b/": b""}): "b",
        str(csv_bad): "text",
        str(big): "limit",
    }
    monkeypatch.setenv("TLADVISOR_MAX_UPLOAD_MB", "1")
    history, state = [], {"known": {"task": "image-classification", "domain": "manufacturing"}}
    for upload, expected in cases.items():
        audit, history = _audit(upload, history, state)
        assert audit.startswith("**Cannot use this upload:**"), (upload, audit)
        assert history[-1]["role"] == "assistant" and "Cannot use this upload" in history[-1]["content"]
        assert expected in audit.lower(), (upload, audit)
    # naming the columns in the app's fields fixes the CSV
    from textgen import make_rows, write_csv

    renamed = write_csv(tmp_path / "renamed.csv", make_rows(8), text_col="body", label_col="intent")
    audit, history = _audit(str(renamed), history, state, "body", "intent")
    assert "24 labelled texts in 3 classes" in audit and "Upload audited" in history[-1]["content"]
    # the conversation goes on with what it knew
    out = _send("15 classes, 200 per class", history, state)
    assert out[0] == "" and "classes **15**" in out[1][-1]["content"]
    assert out[2]["known"]["domain"] == "manufacturing"


def test_evidence_before_training_goes_into_the_client_report(tmp_path, monkeypatch):
    import shutil

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("TLADVISOR_RUNS", str(tmp_path / "runs"))
    monkeypatch.setenv("TLADVISOR_CACHE", str(tmp_path / "cache"))
    from tladvisor.ui.evidence import measure_evidence
    from tladvisor.ui.runs import train_upload

    data = make_image_folder(tmp_path / "parts", per_class=16, size=48)
    shutil.move(str(data / "spots" / "spots_001.png"), str(data / "vertical" / "spots_001.png"))  # a label error
    archive = zip_folder(data, tmp_path / "parts.zip")
    brief = {"task": "image-classification", "domain": "manufacturing"}
    md, curve, gallery, work, files = measure_evidence(str(archive), False, {}, brief)
    assert "Backbone shortlist" in md and "Learning curve" in md and Path(curve).exists()
    assert any(item.endswith("spots_001.png") and "looks like 'spots'" in caption for item, caption in gallery)
    assert work["evidence_upload"] == str(archive) and Path(work["evidence_dir"], "evidence.json").exists()

    md, _, _, files = train_upload(str(archive), "linear_probe", None, "", brief=brief,
                                   evidence_dir=work["evidence_dir"])
    html = Path(files[0]).read_text(encoding="utf-8")
    assert "Evidence on your data" in html and "Likely mislabels" in html and "spots_001.png" in html
    assert "Measured on your own data (a learning curve" in html  # the forecast message uses the curve
    assert html.count("data:image/png;base64,") >= 3  # confusion matrix, learning curve, a mislabel thumbnail

    # measured again after training: stored with the run, and the report is rewritten
    work.update(last_run=str(Path(files[0]).parent), last_upload=str(archive))
    md, _, _, work, files = measure_evidence(str(archive), False, work, brief)
    assert files[0].endswith("client-report.html") and Path(work["evidence_dir"]).parent == Path(files[0]).parent


def test_an_excel_upload_is_audited_and_a_locked_one_is_a_message(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("TLADVISOR_RUNS", str(tmp_path / "runs"))
    monkeypatch.setenv("TLADVISOR_CACHE", str(tmp_path / "cache"))
    from openpyxl import Workbook

    from tladvisor.ui.runs import audit_upload

    wb = Workbook()
    wb.active.title = "Read me"
    wb.active.append(["Ticket export, March"])
    ws = wb.create_sheet("Tickets")
    ws.append(["Text", "Label"])
    for i in range(12):
        ws.append([f"Meine Karte ist nicht angekommen ({i})", "karte"])
        ws.append([f"Ich möchte eine Rückerstattung für Auftrag {i}", "erstattung"])
    wb.save(tmp_path / "tickets.xlsx")
    audit = audit_upload(str(tmp_path / "tickets.xlsx"))
    assert "24 labelled texts in 2 classes" in audit and "sheet 'Tickets' was read" in audit
    locked = tmp_path / "locked.xlsx"
    locked.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(512))  # what Excel saves with a password
    message = audit_upload(str(locked))
    assert message.startswith("**Cannot use this upload:**") and "password-protected" in message
