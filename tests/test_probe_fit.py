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


def test_large_data_chooses_c_on_three_folds():
    """From LARGE_CV_ROWS scored rows three folds choose C (half the fitting, the same choice on the measured sets);
    below, five; a class with two examples still limits the folds, and class-name rows are never scored."""
    y = np.repeat(np.arange(4), 1000)
    assert len(trainer.probe_folds(y, np.zeros(len(y), bool), 0)) == trainer.LARGE_CV_FOLDS
    assert len(trainer.probe_folds(y[::2], np.zeros(len(y) // 2, bool), 0)) == 5
    rare = np.concatenate([y, [4, 4]])
    assert len(trainer.probe_folds(rare, np.zeros(len(rare), bool), 0)) == 2
    names = np.zeros(len(y), bool)
    names[:200] = True  # 3,800 client rows: below the threshold, five folds, names in every training part
    folds = trainer.probe_folds(y, names, 0)
    assert len(folds) == 5 and all(not np.isin(np.arange(200), held).any() for _, held in folds)
