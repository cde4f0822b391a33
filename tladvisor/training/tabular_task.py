"""The tabular task: a CSV with a label column, trained by gradient boosting (no network, no pretrained
backbone: on tables, boosting on the client's own rows beats transferred networks at these sizes) behind the
same Task interface and run directory as images and texts."""
from __future__ import annotations

from pathlib import Path
from typing import Any, Callable, Optional

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin

from tladvisor.schemas import BOOSTING_STAGE
from tladvisor.training.errors import DataError
from tladvisor.training.rundir import atomic_write_json, atomic_write_text, read_json
from tladvisor.training.splits import assign_splits
from tladvisor.training.tabular_data import (LEAK_SCORE, TabularAuditReport, label_strings, plan_columns, read_table,
                                             single_column_scores, to_float)
from tladvisor.training.tabular_model import TabularModel, search
from tladvisor.training.task import Task, register

CV_FOLDS = 5
BIG_TABLE = 50_000


@register
class TabularTask(Task):
    """Gradient boosting with a cross-validated search on table rows."""

    kind = "tabular-classification"
    modality = "tabular"
    engine = "boosting"
    has_pooled_features = False

    def __init__(self, config, run_dir: Path):
        super().__init__(config, run_dir)
        self.frame = None  # all rows (train then test), features converted
        self.labels: list[str] = []
        self.splits: list[str] = []
        self.model: Optional[TabularModel] = None

    # ---------------------------------------------------------------- data
    def prepare_data(self) -> TabularAuditReport:
        import pandas as pd

        cfg = self.config
        name, label_col = Path(cfg.data).name, cfg.label_col
        frame = read_table(cfg.data, label_col)
        read_notes = list(frame.attrs.get("notes", []))
        frame["__source__"] = [f"{name}:{i + 2}" for i in range(len(frame))]  # line numbers as a user sees them
        if cfg.test_data:
            test = read_table(cfg.test_data, label_col)
            read_notes += test.attrs.get("notes", [])
            if Path(cfg.test_data).name == name:
                raise DataError(f"{name}: the test file has the same name as the training file; rename one")
            absent = [c for c in frame.columns if c not in test.columns and c != "__source__"]
            if absent:
                raise DataError(f"{Path(cfg.test_data).name}: lacks column(s) {', '.join(repr(c) for c in absent[:10])}"
                                f" that {name} has")
            test["__source__"] = [f"{Path(cfg.test_data).name}:{i + 2}" for i in range(len(test))]
            n_train = len(frame)
            frame = pd.concat([frame, test[list(frame.columns)]], ignore_index=True)
        else:
            n_train = len(frame)
        labels, missing = label_strings(frame[label_col])
        missing_at = [frame["__source__"].iloc[i] for i in missing]
        keep = [i for i, lab in enumerate(labels) if lab is not None]
        frame = frame.iloc[keep].reset_index(drop=True)
        labels = [labels[i] for i in keep]
        is_test = [i >= n_train for i in keep]
        train_labels = [lab for lab, t in zip(labels, is_test) if not t]
        classes = sorted(set(train_labels))
        if len(classes) < 2:
            raise DataError(f"{name}: need at least 2 different labels in column '{label_col}' (found "
                            f"{repr(classes[0]) if classes else 'none'})")
        unseen = sorted({lab for lab, t in zip(labels, is_test) if t} - set(classes))
        if unseen:
            raise DataError(f"{Path(cfg.test_data).name}: label(s) {', '.join(repr(u) for u in unseen[:10])} "
                            f"never appear in {name}")
        split_file = self.run_dir / "split.json"
        if split_file.exists():  # resume: the recorded split is the truth
            recorded = read_json(split_file)
            splits = [recorded["assignments"][s] for s in frame["__source__"]]
            notes = recorded.get("notes", [])
        elif cfg.test_data:
            splits, notes = ["test" if t else "train" for t in is_test], []
        else:  # boosting chooses by cross-validation on the training rows: no validation split is carved out
            plan = assign_splits(labels, {"test": cfg.test_fraction}, cfg.seed)
            splits, notes = plan.assignments, plan.notes
        source = frame["__source__"].tolist()
        columns, frame = plan_columns(frame.drop(columns=["__source__"]), label_col, [sp == "train" for sp in splits])
        frame["__source__"] = source
        self.frame, self.labels, self.splits, self.classes = frame, labels, splits, classes
        y_train = np.array([classes.index(lab) for lab, s in zip(labels, splits) if s == "train"])
        train_frame = frame[[s == "train" for s in splits]]
        single = single_column_scores(train_frame, columns, y_train, cfg.seed)
        leaks = {c: round(v, 4) for c, v in single.items() if v >= LEAK_SCORE}
        for col in leaks:
            (columns.numeric if col in columns.numeric else columns.categorical).remove(col)
        if not columns.features:
            raise DataError(f"{name}: no usable feature column left (dropped: "
                            + "; ".join(f"{c}: {w}" for c, w in {**columns.dropped, **{k: 'likely leakage'
                                                                                        for k in leaks}}.items())
                            + ")")
        self.columns = columns
        row_hash = lambda f: pd.util.hash_pandas_object(f[columns.features], index=False)  # noqa: E731 (NaN-safe)
        train_rows = row_hash(train_frame)
        test_rows = row_hash(frame[[s == "test" for s in splits]])
        report = TabularAuditReport(
            rows=len(labels), classes={c: labels.count(c) for c in classes},
            split_counts={s: {c: sum(1 for lab, sp in zip(labels, splits) if sp == s and lab == c) for c in classes}
                          for s in ("train", "test")},
            numeric=columns.numeric, categorical=columns.categorical, dropped=columns.dropped, leakage=leaks,
            missing_labels=missing_at,
            missing_values={c: int(frame[c].isna().sum()) for c in columns.features if frame[c].isna().any()},
            duplicates_across_splits=int(test_rows.isin(set(train_rows)).sum()), notes=read_notes + notes)
        atomic_write_json(split_file, {"seed": cfg.seed, "notes": notes,
                                       "assignments": dict(zip(frame["__source__"], splits))})
        atomic_write_json(self.run_dir / "audit.json", report.model_dump())
        atomic_write_text(self.run_dir / "audit.md", report.to_markdown())
        return report

    def split(self, name: str) -> tuple[list[int], list[int]]:
        wanted = name.split("+")
        rows = [i for i, s in enumerate(self.splits) if s in wanted]
        return rows, [self.classes.index(self.labels[i]) for i in rows]

    # ------------------------------------------------------------ training
    def fit_boosting(self, progress: Optional[Callable[[dict[str, Any]], None]] = None) -> dict[str, Any]:
        """The one stage: search and fit on the training rows; returns its result with test probabilities."""
        from sklearn.model_selection import StratifiedKFold

        rows, y = self.split("train")
        y = np.asarray(y)
        counts = np.bincount(y, minlength=len(self.classes))
        folds_n = int(min(CV_FOLDS, counts[counts > 0].min()))
        cats = {c: sorted(self.frame[c].astype("string").fillna("(missing)").unique().tolist())
                for c in self.columns.categorical}
        self.model = TabularModel(numeric=list(self.columns.numeric), categorical=list(self.columns.categorical),
                                  categories=cats)
        train = self.frame.iloc[rows]
        if folds_n < 2:  # a class with one training row: nothing to cross-validate; defaults stand
            self.model.params = {}
            self.model.estimator = self.model.new_estimator(seed=self.config.seed).fit(self.model.matrix(train), y)
            found = {"cv_macro_f1": float("nan"), "params": {}, "threshold": None, "derived_kept": [],
                     "derived_tried": [], "folds": 0}
        else:
            from threadpoolctl import threadpool_limits

            folds = list(StratifiedKFold(folds_n, shuffle=True, random_state=self.config.seed).split(rows, y))
            say = (lambda msg: progress({"event": "note", "stage": BOOSTING_STAGE, "message": msg})) if progress else None
            # one OpenMP thread per fit below BIG_TABLE rows: the search is hundreds of small fits, whose per-node
            # thread barriers cost more than they save, and stall badly when another job shares the cores
            with threadpool_limits(limits=1 if len(rows) < BIG_TABLE else None, user_api="openmp"):
                found = search(self.model, train, y, folds, self.config.seed, say)
        test_rows, _ = self.split("test")
        test_probs = (self.model.predict_proba(self.frame.iloc[test_rows]) if test_rows
                      else np.zeros((0, len(self.classes))))
        return {"val_macro_f1": found["cv_macro_f1"],
                "val_kind": f"{found['folds']}-fold CV on the training rows" if found["folds"] else "none",
                **{k: v for k, v in found.items() if k != "cv_macro_f1"}, "_test_probs": test_probs}

    def importance(self) -> dict[str, float]:
        """Permutation importance (drop in macro-F1) of each input column on the test rows."""
        from sklearn.inspection import permutation_importance

        rows, y = self.split("test")
        if not rows or self.model is None:
            return {}
        frame = self.frame.iloc[rows]
        est = _Wrapped(self.model)
        res = permutation_importance(est, frame, np.asarray(y), scoring="f1_macro" if len(self.classes) > 2 else
                                     "balanced_accuracy", n_repeats=5, random_state=self.config.seed)
        cols = self.model.numeric + self.model.categorical
        return dict(sorted(((c, round(float(m), 4)) for c, m in zip(cols, res.importances_mean)),
                           key=lambda kv: -kv[1]))

    # ------------------------------------------------------ save and load
    def model_info(self) -> dict[str, Any]:
        return {"modality": "tabular", "backbone": "hist_gradient_boosting", "label_col": self.config.label_col,
                "numeric": self.columns.numeric, "categorical": self.columns.categorical,
                "derived": [list(d) for d in self.model.derived] if self.model else []}

    def save_model(self, model: Any, kind: str, model_dir: Path, info: dict[str, Any]) -> dict[str, str]:
        import joblib

        model_dir.mkdir(parents=True, exist_ok=True)
        tmp = model_dir / ".model.joblib.tmp"
        joblib.dump(self.model, tmp)
        tmp.replace(model_dir / "model.joblib")
        atomic_write_json(model_dir / "model_info.json", {**info, "kind": "boosting"})
        return {"weights": "model/model.joblib"}

    @classmethod
    def load_saved(cls, run_dir: Path, info: dict[str, Any]) -> TabularModel:
        import joblib

        return joblib.load(run_dir / "model" / "model.joblib")  # the user's own run directory (a pickle)

    @classmethod
    def predict_proba_saved(cls, run: Any, inputs: Any) -> np.ndarray:
        """`inputs`: a DataFrame, or dicts of column -> value (one per row)."""
        import pandas as pd

        frame = inputs if isinstance(inputs, pd.DataFrame) else pd.DataFrame(list(inputs))
        model: TabularModel = run.model
        absent = [c for c in model.numeric + model.categorical if c not in frame.columns]
        if absent:
            raise DataError(f"the rows lack column(s) {', '.join(repr(c) for c in absent[:10])} the model was "
                            "trained on")
        frame = frame.copy()
        for c in model.numeric:
            frame[c] = to_float(frame[c])
        return model.predict_proba(frame)


class _Wrapped(BaseEstimator, ClassifierMixin):
    """A scikit-learn estimator over raw frames (for permutation importance on the input columns)."""

    def __init__(self, model: TabularModel):
        self.model = model

    def fit(self, *_: Any) -> "_Wrapped":
        return self

    def predict(self, frame: Any) -> np.ndarray:
        return self.model.predict_proba(frame).argmax(1)

    def score(self, frame: Any, y: np.ndarray) -> float:
        return float((self.predict(frame) == y).mean())
