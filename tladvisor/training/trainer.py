"""Run a TrainConfig: prepare the data, run each stage of the plan on the one engine, keep the best
stage by validation macro-F1, evaluate on the held-out test split and write the run directory."""
from __future__ import annotations

import math
import os
import time
import warnings
from pathlib import Path
from typing import Any, Optional

import numpy as np
import torch
from torch import nn

from tladvisor.schemas import RunResult, TrainConfig
from tladvisor.training.engine import ProgressFn, fit, make_accelerator, predict_logits, resolve_precision, seed_everything
from tladvisor.training.errors import BackboneUnavailableError, DataError, RunDirError
from tladvisor.training.evaluation import classification_metrics
from tladvisor.training.lexical import (MAX_LEXICAL_CLASSES, MAX_LEXICAL_ROWS, LexicalTerm, WithLexical, combine,
                                        fit_vectorizer)
from tladvisor.training.preprocess_choice import choose_preprocess
from tladvisor.training.rundir import (RunState, append_jsonl, atomic_torch_save, atomic_write_json, discard_run_dir,
                                      new_run_dir, rewind_jsonl)
from tladvisor.training.task import Task, make_task  # noqa: F401  (make_task re-exported for front ends)

PROBE_CS = [0.01, 0.03, 0.1, 0.3, 1.0, 3.0, 10.0]
SELECT_TOL = 1e-3  # solver tolerance while choosing C on large problems (the final head: the default 1e-4)
SELECT_TIE = 0.001  # cross-validated macro-F1 within which large problems take the smaller C (see _choose_c)
FAST_SELECT_SIZE = 100_000  # rows x classes from which C is chosen at SELECT_TOL in float32; see _choose_c
IMBALANCE_RATIO = 3.0  # largest / smallest class at which the probe also tries balanced class weights
BALANCED_MARGIN = 0.005  # cross-validated macro-F1 balanced weights must add to be chosen


def class_weightings(y: np.ndarray, balanced: bool) -> list[Optional[str]]:
    """The probe's class weightings to cross-validate: unweighted, plus 'balanced' on imbalanced labels."""
    counts = np.bincount(np.asarray(y, dtype=int))
    counts = counts[counts > 0]
    imbalanced = len(counts) > 1 and counts.max() >= IMBALANCE_RATIO * counts.min()
    return [None, "balanced"] if balanced and imbalanced else [None]


def _task_fit_args(task: Task) -> dict[str, Any]:
    """The task's loss and validation score for engine.fit."""
    return {"loss_fn": task.loss, "val_fn": task.val_metrics, "score_key": f"val_{task.score_name}"}


def check_splits(task: Task) -> None:
    """Refuse data the task cannot train and test (see Task.check_splits)."""
    task.check_splits()


def _open_run(config: TrainConfig, resume: Optional[str], accelerator) -> tuple[TrainConfig, Path]:
    from accelerate.utils import broadcast_object_list

    if resume:
        run_dir = Path(resume)
        if not (run_dir / "config.json").exists():
            raise RunDirError(f"{resume}: not a run directory (no config.json)")
        return TrainConfig.load(run_dir / "config.json"), run_dir
    holder = [None]
    if accelerator.is_main_process:
        holder[0] = str(new_run_dir(config.out_dir, f"{Path(str(config.backbone)).name}-{config.strategy}"))
    if accelerator.num_processes > 1:
        broadcast_object_list(holder)
    run_dir = Path(holder[0])
    config = config.model_copy(update={"out_dir": str(run_dir)})
    if accelerator.is_main_process:
        atomic_write_json(run_dir / "config.json", config.model_dump(mode="json"))
    return config, run_dir


def _coef_bias(clf) -> tuple[np.ndarray, np.ndarray]:
    """One row of weights and one bias per class (a binary fit's single row split symmetrically in two)."""
    coef = clf.coef_ if clf.coef_.shape[0] > 1 else np.vstack([-clf.coef_[0] / 2, clf.coef_[0] / 2])
    bias = clf.intercept_ if clf.intercept_.shape[0] > 1 else np.array([-clf.intercept_[0] / 2, clf.intercept_[0] / 2])
    return coef, bias


def _head_weights(clf, scaler) -> tuple[np.ndarray, np.ndarray]:
    """A fitted (binary or multinomial) logistic regression on standardised features as Linear weights."""
    coef, bias = _coef_bias(clf)
    return coef / scaler.scale_, bias - (coef * scaler.mean_ / scaler.scale_).sum(1)  # standardisation folded in


def _live_head(model: nn.Module) -> nn.Linear:
    """The head the forward pass uses (under PEFT: the trainable copy that `modules_to_save` keeps and saves)."""
    head = model.base_model.model.classifier_head if hasattr(model, "peft_config") else model.classifier_head
    return head.modules_to_save["default"] if hasattr(head, "modules_to_save") else head


def _set_head(model: nn.Module, w: np.ndarray, b: np.ndarray) -> None:
    head = _live_head(model)
    with torch.no_grad():
        head.weight.copy_(torch.as_tensor(w, dtype=torch.float32))
        head.bias.copy_(torch.as_tensor(b, dtype=torch.float32))


def _choose_c(xs: np.ndarray, y: np.ndarray, cv: list, balanced: bool) -> tuple[float, float, Any, Optional[str]]:
    """(C, its cross-validated macro-F1, the head fitted on all of xs with that C, class weighting) over PROBE_CS
    and the class weightings worth trying on these labels.

    Large problems (rows x classes >= FAST_SELECT_SIZE) choose C at SELECT_TOL in float32; the final head is
    warm-started from the folds' average at that C and finished at the default tolerance. From PARALLEL_MIN_ROWS
    rows the folds run in parallel processes (the same fits, so the same choice). bench/results/probe_fit.md has
    the head fit before and after, per data set. Smaller problems keep the default tolerance throughout."""
    from sklearn.linear_model import LogisticRegression, LogisticRegressionCV
    from sklearn.metrics import f1_score, make_scorer

    fast = len(y) * len(np.unique(y)) >= FAST_SELECT_SIZE
    x = np.ascontiguousarray(xs, dtype=np.float32) if fast else xs  # scikit-learn 1.9 keeps float32 through lbfgs
    # warm-started along the C path: ~2x faster than one fit per C and fold. The scorer is a callable:
    # scikit-learn 1.9's "f1_macro" string crashes LogisticRegressionCV on two classes (pos_label clash)
    scorer = make_scorer(f1_score, average="macro", zero_division=0)
    best_c, cv_f1, clf, class_weight = -1.0, -1.0, None, None
    with warnings.catch_warnings():  # scikit-learn 1.8+ announces attribute changes we do not depend on
        warnings.simplefilter("ignore", FutureWarning)
        for weighting in class_weightings(y, balanced):
            # large problems: no refit on all rows at the coarse tolerance (the folds' average at the chosen C is
            # the polished head's start), so each weighting tried costs its folds only
            fitted = LogisticRegressionCV(Cs=PROBE_CS, cv=cv, scoring=scorer, max_iter=3000,
                                          tol=SELECT_TOL if fast else 1e-4, class_weight=weighting, refit=not fast,
                                          n_jobs=fold_jobs(len(y), len(cv))).fit(x, y)
            fold_scores = np.asarray(next(iter(fitted.scores_.values()))).mean(axis=0)  # mean macro-F1 per C
            i = int(np.argmax(fold_scores))
            if fast:  # the smallest C within SELECT_TIE of the best: at SELECT_TOL the warm-started path stops moving
                # at large C and repeats its last score there, so a first-best pick can land past the real optimum
                # (HWU64, 3 folds: 0.9008 for every C >= 0.1 vs 0.9001 at 0.01; C 0.1 tested 0.9144, C 0.01 0.9203)
                i = int(np.flatnonzero(fold_scores >= fold_scores[i] - SELECT_TIE)[0])
            if clf is None or fold_scores[i] > cv_f1 + BALANCED_MARGIN:  # balanced weights must win by more than noise
                best_c, cv_f1, clf, class_weight = PROBE_CS[i], float(fold_scores[i]), fitted, weighting
        if fast:  # the final head at the solver's default tolerance, from the folds' average at the chosen C
            polished = LogisticRegression(C=best_c, max_iter=3000, class_weight=class_weight, warm_start=True)
            polished.coef_, polished.intercept_ = clf.coef_.copy(), clf.intercept_.copy()
            clf = polished.fit(x, y)
    return best_c, cv_f1, clf, class_weight


# below this the fit takes seconds and starting worker processes costs about as much (NEU-CLS, 1,500 images:
# 3.9 s serial, 5.2 s parallel)
PARALLEL_MIN_ROWS = 2000


def fold_jobs(rows: int, folds: int, min_rows: int = PARALLEL_MIN_ROWS) -> Optional[int]:
    """Worker processes for a cross-validated head fit: one per fold up to the cores this process may use.
    Measured on 2 cores: 3-6x faster than one process whose BLAS threads share small matrices (same scores)."""
    if rows < min_rows:
        return None
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        cores = os.cpu_count() or 1
    return min(folds, cores) if cores > 1 and folds > 1 else None


def _fit_probe(task, model, accelerator, seed: int, warm_start_next: bool) -> dict[str, Any]:
    """Linear probe: embed once (cached), choose C by cross-validated macro-F1 on train+val, fit the head.

    The probe's own head is fitted on train+val. When a fine-tuning stage follows, the live model gets a
    head fitted on train only (same C): a head that has seen the validation split would inflate the next
    stage's validation score and bias the choice between stages. That train-only head's validation score is
    then the probe's score in the choice, so every stage is judged on the same examples.
    """
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import f1_score
    from sklearn.preprocessing import StandardScaler

    t0 = time.perf_counter()
    feats = task.embed(model, ["train", "val", "test"], accelerator)  # one pass; test features reused at the end
    x = np.concatenate([feats["train"], feats["val"]])
    y = np.array(task.split("train")[1] + task.split("val")[1])
    scaler = StandardScaler().fit(x)
    xs = scaler.transform(x)
    # class-name rows (text) always train and are never scored: folds are drawn over the client's examples only
    synthetic = np.concatenate([task.synthetic_mask("train"), task.synthetic_mask("val")])
    cv = probe_folds(y, synthetic, seed)
    with warnings.catch_warnings():  # scikit-learn 1.8+ announces attribute changes we do not depend on
        warnings.simplefilter("ignore", FutureWarning)
        if cv:
            best_c, cv_f1, clf, class_weight = _choose_c(xs, y, cv, task.config.balanced_loss)
        else:  # no class has two examples to hold one out: nothing to choose C with; the default stands
            best_c, cv_f1, class_weight = 1.0, float("nan"), None
            clf = LogisticRegression(C=best_c, max_iter=3000).fit(xs, y)
        lexical = _lexical_choice(task, xs, y, cv, cv_f1) if cv else None
    if lexical is not None:  # [embedding | char n-grams] won the cross-validation
        clf, vectorizer = lexical["clf"], lexical["vectorizer"]
        emb_head, lex_w = _split_head(clf, scaler, xs.shape[1])
        _set_head(model, *emb_head)
        test_x = _lexical_x(scaler.transform(feats["test"]), vectorizer, task.split("test")[0])
        test_probs = clf.predict_proba(test_x) if len(feats["test"]) else np.zeros((0, 1))
    else:
        _set_head(model, *_head_weights(clf, scaler))
        test_probs = clf.predict_proba(scaler.transform(feats["test"])) if len(feats["test"]) else np.zeros((0, 1))
    extra = ({"lexical": {k: v for k, v in lexical.items() if k not in ("clf", "vectorizer")},
              "_lexical": LexicalTerm.from_fit(lexical["vectorizer"], lex_w)} if lexical is not None else {})
    if lexical is None and class_weight:
        extra["class_weight"] = class_weight
    warm_head = None
    if warm_start_next:
        n_train = len(feats["train"])
        train_scaler = StandardScaler().fit(feats["train"])
        train_clf = LogisticRegression(C=best_c, max_iter=3000, class_weight=class_weight).fit(
            train_scaler.transform(feats["train"]), y[:n_train])
        warm_head = _head_weights(train_clf, train_scaler)
        if len(feats["val"]):
            # the score the next stage is compared with: the same validation split, a head that never saw it
            # (a cross-validated score on train+val is a different estimate and lost to noisier val scores)
            val_pred = train_clf.predict(train_scaler.transform(feats["val"]))
            if lexical is not None:  # the same feature set, a head (and n-gram vocabulary) that never saw val
                try:
                    vec = fit_vectorizer(task.split("train")[0])
                except ValueError:  # too few training texts for a vocabulary: the embedding head's score stands
                    vec = None
                if vec is not None:
                    tx = train_scaler.transform(feats["train"])
                    lex_clf = LogisticRegression(C=lexical["C"], max_iter=3000).fit(
                        _lexical_x(tx, vec, task.split("train")[0]), y[:n_train])
                    val_pred = lex_clf.predict(_lexical_x(train_scaler.transform(feats["val"]), vec,
                                                          task.split("val")[0]))
            holdout = float(f1_score(y[n_train:], val_pred, average="macro", zero_division=0))
            return {"val_macro_f1": holdout, "val_kind": "validation split (head fitted on train only)",
                    "cv_macro_f1": lexical["cv_macro_f1"] if lexical else cv_f1, "C": best_c,
                    "seconds": round(time.perf_counter() - t0, 2), "embedding": task.embed_stats,
                    "_test_probs": test_probs, "_warm_head": warm_head, **extra}
    return {"val_macro_f1": lexical["cv_macro_f1"] if lexical else cv_f1,
            "val_kind": f"{len(cv)}-fold CV" if cv else "none (too few examples to score)",
            "C": best_c, "seconds": round(time.perf_counter() - t0, 2), "embedding": task.embed_stats,
            "_test_probs": test_probs, "_warm_head": warm_head, **extra}


LEXICAL_CS = [0.3, 1.0, 3.0, 10.0, 30.0, 100.0]  # sparse n-gram features want weaker regularisation than embeddings
LEXICAL_PARALLEL_MIN_ROWS = 500  # sparse n-gram fits are slow even on small data (SNIPS, 1,700 texts: 19 s -> 11 s)
LEXICAL_MARGIN = 0.005  # cross-validated macro-F1 the n-grams must add to be kept (smaller gains are noise)


def _lexical_x(x_std: np.ndarray, vectorizer, texts: list[str]):
    return combine(x_std, vectorizer.transform(texts))


def _lexical_choice(task, xs: np.ndarray, y: np.ndarray, cv, cv_f1: float) -> Optional[dict[str, Any]]:
    """Text probes on few classes: also cross-validate [embedding | char n-gram tf-idf] on the same folds and keep it
    when it scores higher by LEXICAL_MARGIN (tladvisor.training.lexical says why and what was measured)."""
    if task.modality != "text" or len(task.classes) > MAX_LEXICAL_CLASSES or len(y) > MAX_LEXICAL_ROWS:
        return None
    from sklearn.linear_model import LogisticRegressionCV
    from sklearn.metrics import f1_score, make_scorer

    texts = task.split("train")[0] + task.split("val")[0]
    try:
        vectorizer = fit_vectorizer(texts)
    except ValueError:  # no n-gram seen twice (tiny or one-word data): nothing to add
        return None
    x = _lexical_x(xs, vectorizer, texts)
    clf = LogisticRegressionCV(Cs=LEXICAL_CS, cv=cv, scoring=make_scorer(f1_score, average="macro", zero_division=0),
                               max_iter=3000, n_jobs=fold_jobs(len(y), len(cv), LEXICAL_PARALLEL_MIN_ROWS)
                               ).fit(x, y)
    scores = np.asarray(next(iter(clf.scores_.values()))).mean(axis=0)
    best = float(scores.max())
    if not best > (cv_f1 if cv_f1 == cv_f1 else 0.0) + LEXICAL_MARGIN:
        return None
    return {"clf": clf, "vectorizer": vectorizer, "cv_macro_f1": best, "embedding_cv_macro_f1": cv_f1,
            "C": float(clf.C_[0]), "ngrams": len(vectorizer.vocabulary_)}


def _split_head(clf, scaler, width: int) -> tuple[tuple[np.ndarray, np.ndarray], np.ndarray]:
    """A logistic regression on [standardised embedding / sqrt(width) | tf-idf] as (embedding head as Linear weights
    with the scaling folded in, tf-idf weights per class)."""
    coef, bias = _coef_bias(clf)
    emb = coef[:, :width] / np.sqrt(width)
    w = emb / scaler.scale_
    return (w, bias - (emb * scaler.mean_ / scaler.scale_).sum(1)), coef[:, width:]


# From this many scored rows the head's C is chosen by 3-fold CV: each held-out third still has >= 1,333 rows, and the
# fit takes 30-40% less time than with 5 folds (bench/results/probe_fit.md: BANKING77 50 -> 29 s, HWU64 53 -> 36 s,
# counterfactual EN 21 -> 13 s; test accuracy within 1-3 test examples: 0.9390 -> 0.9380, 0.9203 -> 0.9194)
LARGE_CV_ROWS = 4000
LARGE_CV_FOLDS = 3


def probe_folds(y: np.ndarray, always_train: np.ndarray, seed: int, max_folds: int = 5
                ) -> list[tuple[np.ndarray, np.ndarray]]:
    """Stratified CV folds (train indices, scored indices) that adapt to the data: as many folds as the smallest
    scored class has examples (2-5), and LARGE_CV_FOLDS from LARGE_CV_ROWS scored rows. Rows in `always_train`
    (class-name rows) and the examples of classes with a single example are in every training part and never
    scored. Empty when fewer than two classes can be scored (then there is nothing to cross-validate)."""
    from sklearn.model_selection import StratifiedKFold

    counts = np.bincount(y[~always_train], minlength=int(y.max()) + 1 if len(y) else 0)
    scoreable = ~always_train & (counts[y] >= 2)
    scored, fixed = np.flatnonzero(scoreable), np.flatnonzero(~scoreable)
    if len(np.unique(y[scored])) < 2:
        return []
    if len(scored) >= LARGE_CV_ROWS:
        max_folds = min(max_folds, LARGE_CV_FOLDS)
    folds = int(min(max_folds, np.bincount(y[scored])[np.unique(y[scored])].min()))
    return [(np.concatenate([scored[a], fixed]), scored[b])
            for a, b in StratifiedKFold(folds, shuffle=True, random_state=seed).split(scored, y[scored])]


def _refit_reserve(stage_results: list[dict[str, Any]], n_val: int = 0) -> Optional[float]:
    """Seconds a text fine-tuning stage needs after its last training step: validating the epoch (`n_val` texts), the
    head's re-fit pass over every example, at the speed the probe's embedding pass had in this run (scaled up where
    the feature cache served part of it; the LoRA-wrapped encoder embeds at 0.9-1.05x the frozen one's time on 1,500
    BANKING77 texts), and its two logistic-regression fits, reserved at what the probe's head fit took. None when
    nothing was timed."""
    probe = next((r for r in stage_results if r.get("stage") == "linear_probe"), None)
    stats = (probe or {}).get("embedding") or {}
    computed, cached = int(stats.get("computed", 0)), int(stats.get("cached", 0))
    if computed <= 0 or not stats.get("seconds"):
        return None
    embed_s = float(stats["seconds"])
    head_fit_s = max(0.0, float(probe.get("seconds", embed_s)) - embed_s)
    return embed_s / computed * (computed + cached + n_val) + head_fit_s


def _refit_head(task, model: nn.Module, accelerator, c: float) -> Optional[dict[str, Any]]:
    """Logistic regression re-fitted on the fine-tuned encoder's features (C from the probe).

    The fine-tuning loop leaves a head that co-adapted with the encoder under a small learning rate; a convex
    re-fit on the final features is often better (BANKING77 full, MiniLM tuned for 2 epochs: 93.51% with the
    tuned head, 93.86% re-fitted). Scored like the probe: fitted on train, judged on the validation split, then
    re-fitted on train+val. None when a split lacks a class (the head would miss a row).
    """
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import f1_score
    from sklearn.preprocessing import StandardScaler

    t0 = time.perf_counter()
    feats = task.embed(model, ["train", "val", "test"], accelerator, tuned=True)
    y_train, y_val = np.array(task.split("train")[1]), np.array(task.split("val")[1])
    n_classes = len(task.classes)
    if not len(y_val) or len(np.unique(y_train)) < n_classes:
        return None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        scaler = StandardScaler().fit(feats["train"])
        clf = LogisticRegression(C=c, max_iter=3000).fit(scaler.transform(feats["train"]), y_train)
        val_probs = clf.predict_proba(scaler.transform(feats["val"]))
        val_f1 = float(f1_score(y_val, val_probs.argmax(1), average="macro", zero_division=0))
        x, y = np.concatenate([feats["train"], feats["val"]]), np.concatenate([y_train, y_val])
        scaler = StandardScaler().fit(x)
        clf = LogisticRegression(C=c, max_iter=3000).fit(scaler.transform(x), y)
    test_probs = clf.predict_proba(scaler.transform(feats["test"])) if len(feats["test"]) else None
    return {"val_macro_f1": val_f1, "C": c, "seconds": round(time.perf_counter() - t0, 2),
            "head": _head_weights(clf, scaler), "test_probs": test_probs, "val_probs": val_probs,
            "tuned_feats": {"val": feats["val"], "test": feats["test"]}}


def _probe_lora_ensemble(task, model: nn.Module, accelerator, stage_models: dict[str, Any],
                         stage_results: list[dict[str, Any]], ckpt_dir: Path, lora_val_probs: Optional[np.ndarray],
                         tuned_feats: Optional[dict[str, np.ndarray]] = None
                         ) -> Optional[tuple[dict[str, Any], np.ndarray, np.ndarray, tuple]]:
    """Score the probe + LoRA average (tladvisor.training.ensemble) after a probe -> LoRA plan.

    Judged like the stages: on the validation split, with heads that never saw it: the probe's fitted on train,
    and LoRA's own head, or, when the re-fitted head was kept (its final fit includes validation), the re-fit's
    train-only predictions (`lora_val_probs`; recomputed after a resume). `tuned_feats`: the tuned encoder's
    validation and test features when the re-fit already embedded them (else embedded here). Returns (result, test
    probabilities, test labels, the probe's final head), or None when the plan has no probe followed by a final LoRA
    stage.
    """
    from sklearn.metrics import f1_score

    from tladvisor.training.ensemble import PROBE_WEIGHT, average

    keys = list(stage_models)
    probe_key = next((k for k in keys if stage_models[k][0] == "linear_probe"), None)
    if probe_key is None or stage_models[keys[-1]][0] != "lora" or not (ckpt_dir / f"{probe_key}-warm-head.pt").exists():
        return None
    t0 = time.perf_counter()
    warm_w, warm_b = torch.load(ckpt_dir / f"{probe_key}-warm-head.pt", weights_only=False)
    probe_state = stage_models[probe_key][1]
    final_head = (probe_state["classifier_head.weight"], probe_state["classifier_head.bias"])
    with model.disable_adapter():  # the frozen encoder: these features come from the probe's cache
        frozen = task.embed(model, ["val", "test"], accelerator)
    tuned = tuned_feats or task.embed(model, ["val", "test"], accelerator, tuned=True)
    head = _live_head(model)
    with torch.no_grad():
        lora = {n: head(torch.as_tensor(tuned[n], dtype=torch.float32)).softmax(-1).numpy() for n in ("val", "test")}
    refit = stage_results[-1].get("refit_head") or {}
    if refit.get("kept"):  # the live head has seen the validation split: score LoRA with the train-only re-fit
        if lora_val_probs is None:
            lora_val_probs = _refit_head(task, model, accelerator, refit["C"])["val_probs"]
        lora["val"] = lora_val_probs
    with torch.no_grad():
        probe_val = (torch.as_tensor(frozen["val"], dtype=torch.float32) @ torch.as_tensor(warm_w, dtype=torch.float32).T
                     + torch.as_tensor(warm_b, dtype=torch.float32)).softmax(-1).numpy()
        probe_test = (torch.as_tensor(frozen["test"], dtype=torch.float32) @ final_head[0].float().T
                      + final_head[1].float()).softmax(-1).numpy()
    y_val, y_test = np.array(task.split("val")[1]), np.array(task.split("test")[1])
    f1 = lambda p: float(f1_score(y_val, p.argmax(1), average="macro", zero_division=0))  # noqa: E731
    result = {"stage": "ensemble", "members": [probe_key, keys[-1]], "probe_weight": PROBE_WEIGHT,
              "val_macro_f1": f1(average(probe_val, lora["val"])), "val_kind": "validation split",
              "member_val_macro_f1": {probe_key: f1(probe_val), keys[-1]: f1(lora["val"])},
              "stage_seconds": round(time.perf_counter() - t0, 2)}
    test_probs = average(probe_test, lora["test"]) if len(y_test) else np.zeros((0, len(task.classes)))
    return result, test_probs, y_test, final_head


def _evaluate(model: nn.Module, task, config: TrainConfig, accelerator) -> tuple[np.ndarray, np.ndarray]:
    """Test-split (probabilities, labels) from a full forward pass (fine-tuned stages); the loader may
    reorder examples (length buckets, process shards), so the labels come back with the probabilities."""
    loader = accelerator.prepare(task.loader("test", False, config.batch_size))
    return predict_logits(model.to(accelerator.device), loader, accelerator)


def _probe_probs(task, model: nn.Module, accelerator, lexical: Optional[LexicalTerm] = None
                 ) -> tuple[np.ndarray, np.ndarray]:
    """Test (probabilities, labels) of a probe head from cached features (no forward pass when cached)."""
    feats = task.embed(model, ["test"], accelerator)["test"]
    with torch.no_grad():
        logits = model.classifier_head(torch.as_tensor(feats, dtype=torch.float32))
        if lexical is not None:
            logits = logits + lexical(task.split("test")[0])
    return logits.softmax(-1).numpy(), np.array(task.split("test")[1])


def _test_summary(y: np.ndarray, probs: np.ndarray) -> dict[str, float]:
    """Per-stage test accuracy / macro-F1, reported beside (never used for) the validation-based choice."""
    from sklearn.metrics import f1_score

    if not len(y):
        return {}
    pred = probs.argmax(1)
    return {"test_accuracy": float((pred == y).mean()),
            "test_macro_f1": float(f1_score(y, pred, average="macro", zero_division=0))}


STAGE_MARGIN = 1.5  # validation examples' worth a later stage must win by (see _choose_stage)


def _unwinnable(stage_results: list[dict[str, Any]], n_val: int, config: TrainConfig, score_key: str
                ) -> Optional[float]:
    """The probe's validation score when no later stage could be kept: a stage replaces the probe only when it
    beats it by STAGE_MARGIN examples, and macro-F1 stops at 1 (NEU-CLS: the probe scores 1.000 on 180 validation
    images, and LoRA's 3-6 epochs only cost time). None when a later stage could still win, or when the plan
    favours the fine-tuning stage (retrain_on_all)."""
    probe = next((r for r in stage_results if r.get("stage") == "linear_probe"), None)
    if probe is None or config.retrain_on_all or not config.skip_unwinnable or n_val == 0:
        return None
    score = probe.get(score_key)
    return float(score) if score is not None and score == score and score + STAGE_MARGIN / n_val >= 1.0 else None


def _choose_stage(keys: list[str], results: list[dict[str, Any]], n_val: int, favourite: int = 0,
                  score_key: str = "val_macro_f1") -> str:
    """The stage to keep: another stage replaces the favourite (by default the first, simplest one) only when
    its validation macro-F1 is higher by more than one validation example's worth; smaller gaps are noise, and
    the favourite wins them (auto runs keep fine-tuning only when it pays). One example flipped moves macro-F1 by
    about 1/n_val, a little more with unequal classes (NEU-CLS: 1.000 vs 0.9944 on 180 images, a gap of 1.0003/180
    that kept a LoRA stage worse on test than the probe), and a fine-tuning score is the best of several epochs:
    hence 1.5/n_val."""
    margin = STAGE_MARGIN / max(1, n_val)
    best = favourite
    for i in range(len(keys)):
        if results[i][score_key] > results[best][score_key] + margin:
            best = i
    return keys[best]


def _retrain_on_all(task, config: TrainConfig, accelerator, stage: str, result: dict[str, Any],
                    start_head: Optional[tuple], checkpoint: Path, log, rewind_log, progress
                    ) -> tuple[nn.Module, dict[str, Any]]:
    """The kept fine-tuning stage trained again from the pre-trained weights on train + validation for the whole
    schedule (`config.epochs`), with the head choice validation made (the re-fitted one or its own).

    With few examples the validation split is a tenth of them; once it has chosen the stage, leaving it out of
    the final model only costs accuracy. Nothing is left to validate on, so the schedule is fixed: the full one,
    since an early-stopping point read off one example per class is noise (on BANKING77 at 10/class, two samples
    tried: retraining for the first pass's best epoch count gave 86.3% / 85.7%, the full 16 epochs 87.1% / 86.0%).
    The test split still scores the result.
    """
    t0 = time.perf_counter()
    seed_everything(config.seed)
    model = task.build_model(pretrained=config.pretrained)
    if start_head is not None:  # the probe's head fitted on train + validation, as the first pass started from its own
        _set_head(model, *start_head)
    model, groups = _groups_for(stage, model, task, config)
    fr = fit(model, groups, task.loader("train+val", True, config.batch_size), None, accelerator=accelerator,
             epochs=config.epochs, warmup_ratio=config.warmup_ratio, weight_decay=config.weight_decay,
             patience=config.early_stopping_patience, stage=f"{stage}-retrain", checkpoint=checkpoint,
             progress=progress, train_mode=task.train_mode, log=log, rewind_log=rewind_log,
             batch_transform=task.mixup() if config.mixup else None, **_task_fit_args(task))
    model = accelerator.unwrap_model(model)
    refit = result.get("refit_head") or {}
    if refit.get("kept"):
        head = _refit_head(task, model, accelerator, refit["C"])
        if head is not None:
            _set_head(model, *head["head"])  # its final fit is on train + validation
    return model, {"stage": stage, "epochs": config.epochs, "examples": len(task.split("train+val")[1]),
                   "train_examples_per_s": round(fr.train_examples_per_s, 2),
                   "seconds": round(time.perf_counter() - t0, 2)}


def _freeze_all(model: nn.Module) -> None:
    for p in model.parameters():
        p.requires_grad_(False)


def _named(model: nn.Module, names: set[str]) -> list[nn.Parameter]:
    out = []
    for n, p in model.named_parameters():
        if n in names:
            p.requires_grad_(True)
            out.append(p)
    return out


def _groups_for(stage: str, model: nn.Module, task, cfg: TrainConfig, phase: int = 0) -> tuple[nn.Module, list[dict]]:
    """The (possibly PEFT-wrapped) model and its optimiser parameter groups for a fine-tuning stage."""
    head = {n for n, _ in model.named_parameters() if n.startswith("classifier_head.")}
    if stage == "linear_probe":  # tasks without pooled features (tokens): the head trained on the frozen encoder
        _freeze_all(model)
        return model, [{"params": _named(model, head), "lr": cfg.head_lr}]
    if stage == "lora":
        from peft import LoraConfig, get_peft_model

        lcfg = LoraConfig(r=cfg.lora_r, lora_alpha=cfg.lora_alpha, lora_dropout=0.05,
                          target_modules=task.lora_targets(model), modules_to_save=["classifier_head"])
        model = get_peft_model(model, lcfg)
        adapters = [p for n, p in model.named_parameters() if p.requires_grad and "lora_" in n]
        heads = [p for n, p in model.named_parameters() if p.requires_grad and "lora_" not in n]
        return model, [{"params": adapters, "lr": cfg.lr}, {"params": heads, "lr": min(cfg.lr, cfg.head_lr)}]
    _freeze_all(model)
    groups = task.backbone_groups(model)
    n = len(groups)
    if stage == "full":
        return model, [{"params": [p for p in model.parameters() if p.requires_grad_(True) is not None], "lr": cfg.lr}]
    if stage == "partial":
        last = groups[n - max(1, math.ceil(n / 3)):]
        return model, [{"params": _named(model, {x for g in last for x in g}), "lr": cfg.lr},
                       {"params": _named(model, head), "lr": cfg.lr}]
    # progressive: phase 0 unfreezes the last third, phase 1 the last two thirds; deeper layers get higher rates
    depth = max(1, math.ceil(n / 3)) * (phase + 1)
    decay = cfg.layer_decay or 0.7
    out = [{"params": _named(model, head), "lr": cfg.lr}]
    for k, g in enumerate(groups[n - depth:]):
        params = _named(model, set(g))
        if params:
            out.append({"params": params, "lr": cfg.lr * decay ** (depth - 1 - k)})
    return model, out


def _recorded_config(resume: str) -> TrainConfig:
    run_dir = Path(resume)
    if not (run_dir / "config.json").exists():
        raise RunDirError(f"{resume}: not a run directory (no config.json)")
    return TrainConfig.load(run_dir / "config.json")


def train(config: Optional[TrainConfig] = None, *, resume: Optional[str] = None,
          progress: Optional[ProgressFn] = None) -> RunResult:
    """Train per `config` (or continue the run directory `resume` with the config it recorded), returning the
    RunResult. Works the same in one process or under `torchrun` / `accelerate launch`.

    Steps: open the run directory, prepare the task's data (audit and split), then the task's engine: the network
    stages on the Accelerate loop (`_run_network`), or the task's own fit (`_run_boosting`, tabular data).
    """
    t_start = time.perf_counter()
    if resume:  # read first: the Accelerator must be built in the precision the run recorded
        config = _recorded_config(resume)
    elif config is None:
        raise ValueError("train: give a TrainConfig, or resume= a run directory")
    accelerator = make_accelerator(config.precision)
    existed = bool(config.out_dir) and Path(config.out_dir).exists()
    config, run_dir = _open_run(config, resume, accelerator)
    seed_everything(config.seed)
    task = make_task(config, run_dir)
    main = accelerator.is_main_process
    try:
        audit = task.prepare_data()
        check_splits(task)
        model = task.build_model(pretrained=config.pretrained) if task.engine == "network" else None
    except (DataError, BackboneUnavailableError):
        if not resume and main:  # refused before training: leave no half-made run (an existing empty folder stays)
            discard_run_dir(run_dir)
            if not existed:
                run_dir.rmdir()
        raise
    if main:
        atomic_write_json(run_dir / "labels.json", {"classes": task.classes})
    if progress:
        progress({"event": "audit", "audit": audit.model_dump()})
    if task.engine == "boosting":
        return _run_boosting(task, config, run_dir, audit, progress, t_start)
    return _run_network(task, model, config, run_dir, audit, accelerator, progress, t_start)


def _run_boosting(task: Task, config: TrainConfig, run_dir: Path, audit: Any, progress: Optional[ProgressFn],
                  t_start: float) -> RunResult:
    """The tabular engine: one stage (search + fit, seconds to minutes), recorded like a network stage."""
    from tladvisor.schemas import BOOSTING_STAGE

    state = RunState(run_dir)
    state.set_status("running")
    if progress:
        progress({"event": "stage", "stage": BOOSTING_STAGE, "index": 0, "of": 1})
    t0 = time.perf_counter()
    result = task.fit_boosting(progress)
    test_probs = result.pop("_test_probs")
    y_test = np.array(task.split("test")[1])
    result = {"stage": BOOSTING_STAGE, **result, "stage_seconds": round(time.perf_counter() - t0, 2),
              **_test_summary(y_test, test_probs)}
    append_jsonl(run_dir / "log.jsonl", {k: v for k, v in result.items() if k != "derived_tried"})
    metrics = classification_metrics(y_test, test_probs, task.classes)
    metrics.update({"best_stage": BOOSTING_STAGE, "precision": "fp32", "processes": 1,
                    "feature_importance": task.importance()})
    run = RunResult(run_dir=str(run_dir), config=config, stage_results=[result], metrics=metrics,
                    wall_time_s=round(time.perf_counter() - t_start, 2))
    from tladvisor.training.export import export_run

    run = export_run(run, None, BOOSTING_STAGE, task, audit)
    state.set_status("finished")
    return run


def _run_network(task: Task, model: nn.Module, config: TrainConfig, run_dir: Path, audit: Any, accelerator,
                 progress: Optional[ProgressFn], t_start: float) -> RunResult:
    """Each stage of the plan on the one Accelerate loop; keep the best by validation; evaluate; export."""
    main = accelerator.is_main_process
    score_key = f"val_{task.score_name}"
    pooled = task.has_pooled_features  # a linear probe on cached features (else: the head trained on the frozen encoder)
    classifies = task.score_name == "macro_f1"  # per-example class probabilities (else: the task's own test metrics)
    text_cls = task.kind == "text-classification"
    state = RunState(run_dir)  # every process reads the recorded progress ...
    accelerator.wait_for_everyone()  # ... before the main one can record more (else ranks disagree on stages)
    if main:
        state.set_status("running")
    ckpt_dir = run_dir / "checkpoints"
    log = lambda rec: append_jsonl(run_dir / "log.jsonl", rec)  # noqa: E731
    rewind = lambda stage, epochs: rewind_jsonl(run_dir / "log.jsonl", stage, epochs)  # noqa: E731
    stage_results: list[dict[str, Any]] = []
    stage_models: dict[str, Any] = {}
    stage_probs: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    refit_val_probs: dict[str, np.ndarray] = {}  # train-only re-fit heads' validation predictions (ensemble scoring)
    tuned_feats: dict[str, dict[str, np.ndarray]] = {}  # the re-fit's features of the tuned encoder (ensemble reuses)
    lexicals: dict[str, LexicalTerm] = {}  # probe stages whose head also reads character n-grams
    deadline = t_start + config.budget_minutes * 60 if config.budget_minutes else None
    budget_notes: list[str] = []
    for idx, stage in enumerate(config.stages()):
        key = f"{idx}-{stage}"
        done = state.stage_done(key)
        if not done and deadline is not None and stage_results and time.perf_counter() >= deadline:
            budget_notes.append(f"{stage} skipped: the {config.budget_minutes:g}-minute budget was used up")
            continue
        if not done and stage != "linear_probe" and score_key == "val_macro_f1":
            top = _unwinnable(stage_results, len(task.split("val")[1]), config, score_key)
            if top is not None:
                budget_notes.append(f"{stage} skipped: the probe scored {top:.3f} validation macro-F1, so no stage "
                                    f"could beat it by the {STAGE_MARGIN:g} validation examples a change needs")
                continue
        stage_deadline = deadline
        if not done and deadline is not None and stage != "linear_probe" and text_cls and config.refit_head:
            # the tuned encoder embeds every example once more for its re-fitted head: the stage's epochs must
            # leave that pass its time (measured: the probe's own embedding pass, on this machine)
            reserve = _refit_reserve(stage_results, len(task.split("val")[1]))
            if reserve and time.perf_counter() + reserve >= deadline:
                budget_notes.append(f"{stage} skipped: re-fitting its head takes another pass over the data (about "
                                    f"{reserve:.0f} s, as the probe's took), more than the "
                                    f"{config.budget_minutes:g}-minute budget has left")
                continue
            stage_deadline = deadline - (reserve or 0.0)
        if done:
            if done.get("preprocess"):  # the probe's choice of image preprocessing holds for the resumed run
                task.set_preprocess(done["preprocess"]["chosen"])
            if stage == "lora":
                model, _ = _groups_for("lora", model, task, config)
            model.load_state_dict(torch.load(ckpt_dir / f"{key}.pt", map_location="cpu", weights_only=True))
            stage_results.append(done)
            stage_models[key] = (stage, {k: v.clone() for k, v in model.state_dict().items()})
            if stage == "linear_probe" and pooled:  # cheap: the test features are cached
                if (ckpt_dir / f"{key}-lexical").is_dir():
                    lexicals[key] = LexicalTerm.load(ckpt_dir / f"{key}-lexical")
                stage_probs[key] = _probe_probs(task, model, accelerator, lexicals.get(key))
                if (ckpt_dir / f"{key}-warm-head.pt").exists():
                    _set_head(model, *torch.load(ckpt_dir / f"{key}-warm-head.pt", weights_only=False))
            continue
        if progress:
            progress({"event": "stage", "stage": stage, "index": idx, "of": len(config.stages())})
        t_stage = time.perf_counter()
        if stage == "linear_probe" and pooled:
            later = any(s != "linear_probe" for s in config.stages()[idx + 1:])
            choice = None
            if task.modality == "image" and config.preprocess == "auto":  # full frame or centre crop, by CV
                choice = choose_preprocess(task, model, accelerator, config.seed)
            result = _fit_probe(task, model, accelerator, config.seed, warm_start_next=later)
            if choice is not None:
                result["preprocess"] = choice
            if main:
                log({"stage": stage, **{k: v for k, v in result.items() if k != "embedding" and not k.startswith("_")}})
        else:
            phases = 2 if stage == "progressive" else 1
            result = {"history": []}
            for phase in range(phases):
                model, groups = _groups_for(stage, model, task, config, phase)
                epochs = max(1, config.epochs // phases) if phases > 1 else config.epochs
                val_loader = task.loader("val", False, config.batch_size) if task.split("val")[1] else None
                fr = fit(model, groups, task.loader("train", True, config.batch_size),
                         val_loader, accelerator=accelerator, epochs=epochs,
                         warmup_ratio=config.warmup_ratio, weight_decay=config.weight_decay,
                         patience=config.early_stopping_patience, stage=f"{stage}" + (f"-{phase + 1}" if phases > 1 else ""),
                         checkpoint=ckpt_dir / f"{key}-{phase}-last.pt", progress=progress,
                         train_mode=task.train_mode, log=log,
                         rewind_log=rewind,
                         batch_transform=task.mixup() if config.mixup else None, deadline=stage_deadline,
                         **_task_fit_args(task))
                model = accelerator.unwrap_model(model)
                if fr.stopped_by_budget:
                    result["stopped_by_budget"] = True
                    budget_notes.append(f"{stage} stopped after {fr.epochs_run} of {epochs} epochs"
                                        + (f" (the last cut at step {fr.cut_at_step})" if fr.cut_at_step else "")
                                        + f" to stay within the {config.budget_minutes:g}-minute budget (its best "
                                          "epoch is kept)")
                result = {score_key: float("nan"), **fr.best_val,  # nan: no validation example to score
                          **({"stopped_by_budget": True} if result.get("stopped_by_budget") else {}),
                          "epochs_run": result.get("epochs_run", 0) + fr.epochs_run,
                          "train_examples_per_s": round(fr.train_examples_per_s, 2),
                          "history": result["history"] + fr.history}
                if fr.stopped_by_budget:  # no time for a later phase: the phase that ran keeps its best state
                    break
            result["val_kind"] = "validation split" if val_loader is not None else "none (no validation examples)"
            probe_c = next((r.get("C") for r in stage_results if r["stage"] == "linear_probe"), None)
            if text_cls and config.refit_head and probe_c:
                refit = _refit_head(task, model, accelerator, probe_c)
                if refit is not None:
                    tuned_feats[key] = refit["tuned_feats"]
                    # on a tie the re-fitted head wins: its final fit also learns from the validation split
                    kept = refit["val_macro_f1"] >= result["val_macro_f1"]
                    result["refit_head"] = {"val_macro_f1": refit["val_macro_f1"], "tuned_head_val_macro_f1":
                                            result["val_macro_f1"], "C": probe_c, "seconds": refit["seconds"],
                                            "kept": kept}
                    if kept:
                        _set_head(model, *refit["head"])
                        refit_val_probs[key] = refit["val_probs"]
                        result["val_macro_f1"] = refit["val_macro_f1"]
                        if refit["test_probs"] is not None:
                            result["_test_probs"] = refit["test_probs"]
        result["stage_seconds"] = round(time.perf_counter() - t_stage, 2)
        test_probs = result.pop("_test_probs", None)
        if not classifies:
            tm = task.test_metrics(model, accelerator) if task.split("test")[1] else {}
            result = {"stage": stage, **result, **{f"test_{k}": v for k, v in tm.items() if isinstance(v, float)}}
        else:
            if test_probs is None:
                test_probs, y_test = _evaluate(model, task, config, accelerator)
            else:
                y_test = np.array(task.split("test")[1])
            result = {"stage": stage, **result, **_test_summary(y_test, test_probs)}
            stage_probs[key] = (test_probs, y_test)
        stage_results.append(result)
        stage_models[key] = (stage, {k: v.detach().clone() for k, v in model.state_dict().items()})
        warm_head = result.pop("_warm_head", None)
        lexical = result.pop("_lexical", None)
        if lexical is not None:
            lexicals[key] = lexical
            if main:
                lexical.save(ckpt_dir / f"{key}-lexical")
        if warm_head is not None:  # the next stage starts from a head that never saw the validation split
            _set_head(model, *warm_head)
            if main:
                atomic_torch_save(ckpt_dir / f"{key}-warm-head.pt", warm_head)
        if main:
            atomic_torch_save(ckpt_dir / f"{key}.pt", stage_models[key][1])
            state.mark_stage(key, result)
        accelerator.wait_for_everyone()
    probe_head = None
    last_key = next(reversed(stage_models), None)
    ensemble = (_probe_lora_ensemble(task, model, accelerator, stage_models, stage_results, ckpt_dir,
                                     refit_val_probs.get(last_key), tuned_feats.get(last_key))
                # a probe that reads n-grams has no embedding-only head to average with
                if text_cls and config.ensemble and task.split("val")[1] and not lexicals else None)
    if ensemble is not None:
        ens_result, ens_probs, ens_y, probe_head = ensemble
        key = f"{len(stage_models)}-ensemble"
        ens_result.update(_test_summary(ens_y, ens_probs))
        stage_results.append(ens_result)
        stage_models[key] = ("ensemble", stage_models[ens_result["members"][1]][1])
        stage_probs[key] = (ens_probs, ens_y)
        if main:
            log({k: v for k, v in ens_result.items() if not k.startswith("test_")})
    # few-shot plans that retrain on every example favour the fine-tuning stage: a validation split of one
    # example per class cannot tell a point apart, and on BANKING77 at 10/class the retrained LoRA beat the
    # probe on each seeded sample; validation still vetoes it when the probe is clearly better
    tuned = [i for i, (st, _) in enumerate(stage_models.values()) if st in ("lora", "full", "partial")]
    favourite = tuned[-1] if config.retrain_on_all and tuned else 0
    best_key = _choose_stage(list(stage_models), stage_results, len(task.split("val")[1]), favourite, score_key)
    best_stage, best_state = stage_models[best_key]
    tuned_key = stage_results[-1]["members"][1] if best_stage == "ensemble" else best_key
    tuned_stage = stage_models[tuned_key][0]
    retrained = None
    if config.retrain_on_all and tuned_stage in ("lora", "full", "partial") and task.split("val")[1]:
        probe_key = next((k for k, (st, _) in stage_models.items() if st == "linear_probe"), None)
        start_head = ((stage_models[probe_key][1]["classifier_head.weight"],
                       stage_models[probe_key][1]["classifier_head.bias"]) if probe_key else None)
        tuned_result = stage_results[list(stage_models).index(tuned_key)]
        model, retrained = _retrain_on_all(task, config, accelerator, tuned_stage, tuned_result, start_head,
                                           ckpt_dir / f"{tuned_key}-retrain-last.pt", log, rewind, progress)
    else:
        if best_stage not in ("lora", "ensemble") and any(n.startswith("base_model.") for n in model.state_dict()):
            model = task.build_model(pretrained=config.pretrained)  # plain model for a non-LoRA best stage after LoRA
        model.load_state_dict(best_state)
    if best_stage == "ensemble":
        from tladvisor.training.ensemble import ProbeLoraEnsemble

        linear = nn.Linear(probe_head[0].shape[1], probe_head[0].shape[0])
        with torch.no_grad():
            linear.weight.copy_(probe_head[0])
            linear.bias.copy_(probe_head[1])
        model = ProbeLoraEnsemble(model, linear)
    if best_stage == "linear_probe" and best_key in lexicals:
        model = WithLexical(model, lexicals[best_key])
    if classifies:
        probs, labels = (None if retrained else stage_probs.get(best_key)) or _evaluate(model, task, config, accelerator)
        metrics = classification_metrics(labels, probs, task.classes)
    else:
        metrics = task.test_metrics(model, accelerator)
    metrics.update({"best_stage": best_stage, "precision": resolve_precision(config.precision),
                    "processes": accelerator.num_processes})
    if retrained:
        metrics["retrained_on_all"] = retrained
    if config.budget_minutes:
        from tladvisor.advice.budget import fit_to_budget
        from tladvisor.advice.estimate import duration_text

        estimate_s = config.budget_estimate_s
        if estimate_s is None:  # a config made without budget_config (the Python API): estimate it here
            n_all = sum(len(task.split(s)[1]) for s in ("train", "val", "test"))
            estimate_s = fit_to_budget(config.modality, config.backbone, n_all, config.stages(), config.epochs,
                                       config.budget_minutes).estimate_s
        metrics["budget"] = {"minutes": config.budget_minutes, "notes": config.budget_notes + budget_notes,
                             "estimate": duration_text(estimate_s) if estimate_s is not None else None}
    result = RunResult(run_dir=str(run_dir), config=config, stage_results=stage_results, metrics=metrics,
                       wall_time_s=round(time.perf_counter() - t_start, 2), message="; ".join(budget_notes))
    if main:
        from tladvisor.training.export import export_run

        result = export_run(result, model, best_stage, task, audit)
        state.set_status("finished")
    accelerator.wait_for_everyone()
    return result
