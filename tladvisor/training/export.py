"""Write a finished run's artefacts: the model (PEFT adapter + head, or weights), metrics, plots, model card."""
from __future__ import annotations

from pathlib import Path
from typing import Any, Optional

from torch import nn

from tladvisor.safe_text import fmt_score, md
from tladvisor.schemas import RunResult
from tladvisor.training.evaluation import plot_confusion_matrix, plot_curves, plot_importance
from tladvisor.training.rundir import atomic_write_json, atomic_write_text, read_jsonl

MAX_MATRIX_CLASSES = 30
SAVED_AS = {"lora": "a PEFT LoRA adapter + head", "full": "full weights", "probe": "a linear head on the frozen backbone",
            "boosting": "a scikit-learn gradient-boosting model with its column encoding (joblib)",
            "ensemble": "a PEFT LoRA adapter + head, and the probe's head; predictions average the LoRA model's and "
                        "the frozen-encoder probe's probabilities"}


def _save_model(model: nn.Module, kind: str, model_dir: Path, info: dict[str, Any]) -> dict[str, str]:
    from safetensors.torch import save_file

    from tladvisor.training.lexical import WithLexical

    model_dir.mkdir(parents=True, exist_ok=True)
    out = {}
    if isinstance(model, WithLexical):  # the probe head's character n-gram part, beside the embedding head
        model.lexical.save(model_dir)
        out["lexical"] = "model/lexical.safetensors"
        model = model.model
    if kind == "ensemble":  # the LoRA model as below, plus the frozen-encoder probe's head
        save_file({k: v.contiguous() for k, v in model.probe_head.state_dict().items()},
                  str(model_dir / "probe_head.safetensors"))
        out["probe_head"] = "model/probe_head.safetensors"
        info = {**info, "probe_weight": model.probe_weight}
        model = model.tuned
    if kind in ("lora", "ensemble"):
        model.save_pretrained(str(model_dir / "adapter"))  # standard PEFT format; head saved via modules_to_save
        head = model.base_model.model.classifier_head.modules_to_save["default"]
        out["adapter"] = "model/adapter"
    else:
        head = model.classifier_head
        if kind == "full":
            save_file({k: v.contiguous() for k, v in model.state_dict().items()}, str(model_dir / "model.safetensors"))
            out["weights"] = "model/model.safetensors"
    save_file({k: v.contiguous() for k, v in head.state_dict().items()}, str(model_dir / "head.safetensors"))
    out["head"] = "model/head.safetensors"
    atomic_write_json(model_dir / "model_info.json", {**info, "kind": kind})
    return out


def _entity_results(m: dict[str, Any]) -> str:
    rows = "\n".join(f"| {md(t)} | {v['precision']:.3f} | {v['recall']:.3f} | {v['f1']:.3f} | {v['support']} |"
                     for t, v in m.get("per_type", {}).items())
    return (f"Entity-level (seqeval, strict IOB2) F1 **{m['entity_f1']:.4f}**, precision {m['entity_precision']:.4f}, "
            f"recall {m['entity_recall']:.4f} over {m.get('entities', 0)} entities in {m.get('n', 0)} test sentences."
            "\n\n"
            f"| entity type | precision | recall | F1 | support |\n|---|---|---|---|---|\n{rows}\n")


def _tabular_notes(result: RunResult) -> str:
    s = result.stage_results[0] if result.stage_results else {}
    imp = result.metrics.get("feature_importance", {})
    lines = [f"Chosen by {s.get('val_kind', 'cross-validation')}: {', '.join(f'{k}={v}' for k, v in (s.get('params') or {}).items()) or 'defaults'}"
             f"; cross-validated macro-F1 {fmt_score(s.get('val_macro_f1'))} (a default gradient boosting: "
             f"{fmt_score(s.get('default_cv_macro_f1'))})."]
    if s.get("threshold") is not None:
        lines.append(f"Decision threshold on the positive class tuned by cross-validation: {s['threshold']:.3f}.")
    kept = s.get("derived_kept") or []
    lines.append(f"Derived features kept (each raised the cross-validated macro-F1): {', '.join(md(k) for k in kept)}."
                 if kept else "No derived feature raised the cross-validated macro-F1; the raw columns are used.")
    if imp:
        lines.append("\n| column | permutation importance (test) |\n|---|---|\n" + "\n".join(
            f"| {md(c)} | {v:.4f} |" for c, v in list(imp.items())[:15]))
    return "\n".join(lines) + "\n"


def _budget_line(m: dict[str, Any]) -> str:
    """' Time budget 10 min (estimated ...): what it cut.' for a run with a budget, else ''."""
    budget = m.get("budget")
    if not budget:
        return ""
    est = f", estimated {budget['estimate']}" if budget.get("estimate") else ""
    notes = "; ".join(budget.get("notes") or []) or "nothing was cut"
    return f" Time budget {budget['minutes']:g} min{est}: {notes}."


def _imbalance_line(result: RunResult, info: dict[str, Any]) -> str:
    """How the run treated rare classes and (images) which fine-tuning augmentation it used."""
    cfg = result.config
    probe = next((s for s in result.stage_results if s.get("stage") == "linear_probe"), {})
    parts = []
    if any(s.get("stage") != "linear_probe" for s in result.stage_results):
        parts.append("fine-tuning loss weighted by 1/sqrt(class share)" if cfg.balanced_loss else
                     "fine-tuning loss unweighted")
        if info.get("train_augmentation"):
            parts.append(f"augmentation: {info['train_augmentation']}")
    if probe.get("class_weight"):
        parts.append(f"probe head with {probe['class_weight']} class weights (chosen by cross-validation)")
    return ("Rare classes and augmentation: " + "; ".join(parts) + ".\n") if parts else ""


def _preprocess_line(result: RunResult, info: dict[str, Any]) -> str:
    """Images: how each image reaches the model (whole frame or centre crop) and, for 'auto', why."""
    if "preprocess" not in info:
        return ""
    choice = next((s["preprocess"] for s in result.stage_results if s.get("preprocess")), None)
    how = {"full_frame": "the whole frame resized to the input size (nothing cut away)",
           "center_crop": "the backbone's ImageNet centre crop"}[info["preprocess"]]
    why = f" (chosen on a sample: {choice['why']})" if choice else ""
    return f"Image preprocessing: {how}{why}; `predict` does the same.\n"


def _model_card(result: RunResult, audit_md: str, kind: str, info: dict[str, Any]) -> str:
    cfg, m = result.config, result.metrics
    if "per_class" not in m:  # token classification: entity-level results
        return _ner_card(result, audit_md, kind)
    extra_rows = info.get("label_name_rows", 0)
    training_input = (f"\nBesides the client's examples, the training split held {extra_rows} class-name rows (each "
                      "class's name as a short text, e.g. `card_arrival` -> \"card arrival\"); they never enter "
                      "validation or test.\n" if extra_rows else "")
    per_class = "\n".join(f"| {md(c)} | {v['precision']:.3f} | {v['recall']:.3f} | {v['f1']:.3f} | {v['support']} |"
                          for c, v in m["per_class"].items())
    stages = "\n".join(f"| {s['stage']} | {fmt_score(s.get('val_macro_f1'))} ({s.get('val_kind', '')}) | "
                       f"{s.get('epochs_run', '-')} |" for s in result.stage_results)
    confusions = ("| true | predicted | count |\n|---|---|---|\n" + "\n".join(
        f"| {md(c['true'])} | {md(c['predicted'])} | {c['count']} |" for c in m.get("top_confusions", []))
        if m.get("top_confusions") else "None on the test split.")
    retrain = m.get("retrained_on_all")
    if retrain:
        training_input += (f"\nAfter validation chose it, the {retrain['stage']} stage was trained again from the "
                           f"pre-trained weights on train + validation ({retrain['examples']} rows, "
                           f"{retrain['epochs']} epochs, {retrain['seconds']:.0f} s): the saved model and the test "
                           "results below are that retrained model's; the validation scores are the first pass's.\n")
    lexical = ("; the head also reads character 2-5-gram tf-idf features of the text, which beat the embedding "
               "alone in the probe's cross-validation (model/lexical.safetensors)" if info.get("lexical") else "")
    example = {"text": "'some text'", "image": "'image.jpg'", "tabular": "{'column': value, ...}"}[cfg.modality]
    cli_input = {"text": '"some text"', "image": "IMAGE...", "tabular": "--csv ROWS.csv"}[cfg.modality]
    load = f"from tladvisor.training.predict import load_run\nrun = load_run('.')\nrun.predict([{example}])"
    tabular = f"\n## Model\n{_tabular_notes(result)}" if cfg.modality == "tabular" else ""
    return f"""# TL Advisor run: {Path(result.run_dir).name}

Backbone `{cfg.backbone}`, strategy `{cfg.strategy}` (stages: {', '.join(cfg.stages())}); kept stage:
**{m['best_stage']}** (saved as {SAVED_AS[kind]}{lexical}).
{training_input}
## Held-out test results
Accuracy **{m['accuracy']:.4f}**, macro-F1 **{m['macro_f1']:.4f}** on {m['n']} test examples ({m['errors']} errors).
Precision: {m['precision']}; processes: {m['processes']}; wall time {result.wall_time_s:.1f} s.{_budget_line(m)}
{_imbalance_line(result, info)}{_preprocess_line(result, info)}
| class | precision | recall | F1 | support |
|---|---|---|---|---|
{per_class}

## Most frequent confusions
{confusions}
{tabular}
## Stages
| stage | validation macro-F1 | epochs |
|---|---|---|
{stages}

## Data audit
{audit_md}
## Use
```python
{load}
```
or `tladvisor predict {result.run_dir} {cli_input}`.

## Limitations
Measured on a held-out split of the data provided; accuracy on data from other sources, sites or periods
(other cameras, other customer channels) can be lower. Re-evaluate after any change in how data is collected.
"""


def _ner_card(result: RunResult, audit_md: str, kind: str) -> str:
    cfg, m = result.config, result.metrics
    stages = "\n".join(f"| {s['stage']} | {fmt_score(s.get('val_entity_f1'))} | {s.get('epochs_run', '-')} |"
                       for s in result.stage_results)
    return f"""# TL Advisor run: {Path(result.run_dir).name}

Named-entity recognition. Backbone `{cfg.backbone}`, stages: {', '.join(cfg.stages())}; kept stage:
**{m['best_stage']}** (saved as {SAVED_AS[kind]}).

## Held-out test results
{_entity_results(m)}
Numeric precision: {m.get('precision', '')}; wall time {result.wall_time_s:.1f} s.{_budget_line(m)}

## Stages
| stage | validation entity F1 | epochs |
|---|---|---|
{stages}

## Data audit
{audit_md}
## Use
`tladvisor predict {result.run_dir} "Some sentence with Names in it"` prints the entities with their character
spans; `--file FILE` takes one sentence per line.

## Limitations
Entity F1 is strict: an entity counts only when its type and both boundaries match. Scores on text from other
sources (other channels, periods, writing styles) can be lower; new entity types need new labelled examples.
"""


def export_run(result: RunResult, model: Optional[nn.Module], best_stage: str, task, audit) -> RunResult:
    """Save model, metrics, plots, model card and result.json into the run directory (main process only)."""
    run_dir = Path(result.run_dir)
    kind = {"linear_probe": "probe", "lora": "lora", "ensemble": "ensemble",
            "gradient_boosting": "boosting"}.get(best_stage, "full")
    # the precision it was evaluated in: predict runs the same autocast, so a reload predicts what training measured
    info = {**task.model_info(), "task_kind": task.kind, "classes": task.classes, "precision": result.metrics.get("precision", "fp32"),
            "lexical": type(model).__name__ == "WithLexical"}
    artefacts = (task.save_model(model, kind, run_dir / "model", info)
                 or _save_model(model, kind, run_dir / "model", info))
    task.save_preprocessing(run_dir / "model")  # e.g. the tokenizer, so the run reloads from its directory alone
    atomic_write_json(run_dir / "metrics.json", result.metrics)
    if "confusion_matrix" in result.metrics and len(task.classes) <= MAX_MATRIX_CLASSES:
        # beyond that the card's top-confusions table says more
        plot_confusion_matrix(result.metrics["confusion_matrix"], task.classes, run_dir / "confusion_matrix.png",
                              f"test accuracy {result.metrics['accuracy']:.3f}")
        artefacts["confusion_matrix"] = "confusion_matrix.png"
    if plot_curves(read_jsonl(run_dir / "log.jsonl"), run_dir / "curves.png", f"val_{task.score_name}"):
        artefacts["curves"] = "curves.png"
    if result.metrics.get("feature_importance"):
        plot_importance(result.metrics["feature_importance"], run_dir / "feature_importance.png")
        artefacts["feature_importance"] = "feature_importance.png"
    atomic_write_text(run_dir / "README.md", _model_card(result, audit.to_markdown(), kind, info))
    artefacts.update({"model_card": "README.md", "metrics": "metrics.json", "audit": "audit.json",
                      "log": "log.jsonl", "config": "config.json", "labels": "labels.json", "split": "split.json"})
    result = result.model_copy(update={"artefacts": artefacts})
    atomic_write_text(run_dir / "result.json", result.to_json())
    return result
