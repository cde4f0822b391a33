"""The probe's head fit: parallel folds make the same choice as one process, only faster."""
from __future__ import annotations

import numpy as np

from tladvisor.training import trainer


def test_parallel_folds_choose_the_same_head(monkeypatch):
    rng = np.random.default_rng(0)
    centres = rng.normal(size=(4, 24)) * 1.2
    y = np.repeat(np.arange(4), 600)
    x = centres[y] + rng.normal(size=(len(y), 24))  # 2,400 rows: above PARALLEL_MIN_ROWS
    cv = trainer.probe_folds(y, np.zeros(len(y), bool), 0)
    assert trainer.fold_jobs(len(y), len(cv)) in (None, *range(2, 6))
    assert trainer.fold_jobs(200, 5) is None  # small fits stay in-process
    parallel = trainer._choose_c(x, y, cv, balanced=True)
    monkeypatch.setattr(trainer, "fold_jobs", lambda rows, folds: None)
    serial = trainer._choose_c(x, y, cv, balanced=True)
    assert parallel[0] == serial[0] and abs(parallel[1] - serial[1]) < 1e-6
    assert (parallel[2].predict(x) == serial[2].predict(x)).mean() > 0.999
    assert parallel[1] > 0.6  # the head separates the classes (chance is 0.25)
