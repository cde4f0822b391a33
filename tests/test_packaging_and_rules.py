"""An installed wheel (not the source tree) finds its knowledge; rule files with typos are refused on load;
a resumed run is rebuilt in the precision it recorded."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def test_installed_wheel_carries_the_knowledge(tmp_path):
    wheels, target = tmp_path / "wheels", tmp_path / "site"
    built = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w",
                            str(wheels), str(ROOT)], capture_output=True, text=True, timeout=600, cwd=tmp_path)
    assert built.returncode == 0, built.stderr[-2000:]
    wheel = next(wheels.glob("tladvisor-*.whl"))
    inst = subprocess.run([sys.executable, "-m", "pip", "install", "--no-deps", "-q", "--target", str(target),
                           str(wheel)], capture_output=True, text=True, timeout=600, cwd=tmp_path)
    assert inst.returncode == 0, inst.stderr[-2000:]
    code = ("import json, tladvisor\n"
            "from tladvisor.advice.advisor import advise\n"
            "from tladvisor.advice.brief import ProjectBrief\n"
            "from tladvisor.advice.knowledge import knowledge_dir, markdown_documents\n"
            "r = advise(ProjectBrief(task='image-classification', classes=15, per_class=200, commercial=True))\n"
            "print(json.dumps({'file': tladvisor.__file__, 'knowledge': str(knowledge_dir()), "
            "'primary': r.primary.id, 'guides': len(markdown_documents('guides'))}))\n")
    env = {k: v for k, v in os.environ.items() if k != "TLADVISOR_KNOWLEDGE"}
    env["PYTHONPATH"] = str(target)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, cwd=tmp_path,
                         timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    got = json.loads(out.stdout)
    assert got["file"].startswith(str(target)) and got["knowledge"].startswith(str(target))
    assert got["primary"] and got["guides"] >= 10


def test_a_typo_in_a_rule_when_key_is_refused(tmp_path, monkeypatch):
    import shutil

    from tladvisor.advice import advisor, rules
    from tladvisor.advice.knowledge import KnowledgeError, _load_yaml, knowledge_dir

    copy = tmp_path / "knowledge"
    shutil.copytree(knowledge_dir(), copy)
    text = (copy / "rules.yaml").read_text(encoding="utf-8")
    (copy / "rules.yaml").write_text(text.replace("when: {task: ner, total: {lt: 500}}",
                                                  "when: {task: ner, totl: {lt: 500}}", 1), encoding="utf-8")
    monkeypatch.setenv("TLADVISOR_KNOWLEDGE", str(copy))
    for cached in (_load_yaml, rules.load_rules, advisor.checked_rules):
        cached.cache_clear()
    try:
        with pytest.raises(KnowledgeError, match=r"rule 'NER-VOL-LOW': when-key 'totl' is not a known fact "
                                                 r"\(did you mean 'total'\?\)"):
            advisor.checked_rules()
    finally:
        monkeypatch.delenv("TLADVISOR_KNOWLEDGE")
        for cached in (_load_yaml, rules.load_rules, advisor.checked_rules):
            cached.cache_clear()


def test_resume_builds_the_accelerator_in_the_recorded_precision(tmp_path, monkeypatch):
    import numpy as np
    import pandas as pd

    from tladvisor.schemas import TrainConfig
    from tladvisor.training import trainer

    rng = np.random.default_rng(0)
    x = rng.normal(size=120)
    pd.DataFrame({"x": x, "z": rng.normal(size=120), "label": np.where(x > 0, "a", "b")}).to_csv(
        tmp_path / "t.csv", index=False)
    run = tmp_path / "run"
    run.mkdir()
    TrainConfig(modality="tabular", task="tabular-classification", data=str(tmp_path / "t.csv"),
                backbone="hist_gradient_boosting", precision="bf16", out_dir=str(run)).save(run / "config.json")
    seen = []
    real = trainer.make_accelerator
    monkeypatch.setattr(trainer, "make_accelerator", lambda p: seen.append(p) or real("fp32"))
    result = trainer.train(resume=str(run))
    assert seen == ["bf16"] and result.config.precision == "bf16" and result.status == "finished"
