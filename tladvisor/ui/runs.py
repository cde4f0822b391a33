"""Training and prediction from the app: upload -> audit -> train (with progress) -> results and downloads.

Runs live on disk under $TLADVISOR_RUNS (default ./runs), so a session that disconnects finds its
finished runs again; nothing here keeps state between requests.
"""
from __future__ import annotations

import json
import os
import secrets
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any, Callable, Optional

from tladvisor.safe_text import fmt_score, md


def max_upload_bytes() -> int:
    """The largest upload the app accepts ($TLADVISOR_MAX_UPLOAD_MB, default 2048 MB)."""
    return int(float(os.environ.get("TLADVISOR_MAX_UPLOAD_MB", "2048")) * 1024 * 1024)


def check_upload_size(upload: str) -> None:
    """Refuse an upload above the limit with a message naming the file and the setting."""
    size = Path(upload).stat().st_size
    if size > max_upload_bytes():
        raise ValueError(f"{Path(upload).name} is {size / 2**20:,.0f} MB; the limit is "
                         f"{max_upload_bytes() / 2**20:,.0f} MB (set TLADVISOR_MAX_UPLOAD_MB to change it)")


def runs_root() -> Path:
    root = Path(os.environ.get("TLADVISOR_RUNS", "runs"))
    root.mkdir(parents=True, exist_ok=True)
    return root


def list_runs() -> list[str]:
    """Finished runs (those with a saved model), newest first."""
    runs = [p for p in runs_root().iterdir() if (p / "model" / "model_info.json").exists()]
    return [str(p) for p in sorted(runs, key=lambda p: p.stat().st_mtime, reverse=True)]


def finished_run(run_dir: str) -> Path:
    """The finished run `run_dir` names, only when it is one of the runs under the runs root (the app's API must
    not open folders elsewhere on the server, `../` included); ValueError otherwise."""
    runs = {Path(p).resolve() for p in list_runs()}
    given = Path(str(run_dir))
    for candidate in (given, runs_root() / given.name):  # the dropdown's value, or a bare run name
        try:
            resolved = candidate.resolve()
        except (OSError, RuntimeError, ValueError):
            continue
        if resolved in runs:
            return resolved
    raise ValueError("unknown run; pick one from the list of finished runs")


UPLOADS = ".uploads"  # extracted zips under the runs root, one folder per upload content


def prepare_upload(upload: str) -> str:
    """The path audit, evidence and training read for an upload: a text file as it is; a zip extracted once (into
    the runs root, keyed by its content hash) and reused by every later step of the session."""
    from tladvisor.training.image_data import file_sha1, safe_extract_zip

    check_upload_size(upload)
    src = Path(upload)
    if src.suffix.lower() != ".zip":
        return upload
    dest = runs_root() / UPLOADS / file_sha1(str(src))[:20]
    done = dest / ".extracted"
    if not done.exists():
        tmp = dest.with_name(dest.name + f".{secrets.token_hex(3)}.tmp")
        try:
            safe_extract_zip(src, tmp / src.stem)
            (tmp / ".extracted").write_text(src.name, encoding="utf-8")
            if dest.exists():
                shutil.rmtree(dest)  # a half-finished earlier attempt
            tmp.rename(dest)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    return str(dest / src.stem)


def public_message(exc: BaseException) -> str:
    """An error as a user may read it: server folders (temp uploads, the runs root, home) are cut to file names."""
    import re

    text = str(exc) or type(exc).__name__
    prefixes = {tempfile.gettempdir(), str(runs_root().resolve()), str(Path.home()), os.getcwd()}
    for prefix in sorted((p for p in prefixes if p and p != "/"), key=len, reverse=True):
        text = re.sub(re.escape(prefix.rstrip("/")) + r"/(?:[^\s'\"]*/)?", "", text)
    return text


def recommended_config(upload: str, strategy: str = "auto", epochs: Optional[int] = None,
                       backbone: Optional[str] = None, out_dir: Optional[str] = None,
                       brief: Optional[dict[str, Any]] = None, text_col: str = "text", label_col: str = "label",
                       evidence_dir: Optional[str] = None, budget: Optional[float] = None):
    """(Recommendation, TrainConfig, BudgetPlan) for an uploaded zip (images) or CSV/TSV/JSONL (texts), sized to the
    time `budget` in minutes (None or 0: no limit; the sizing is in `config.budget_notes`).

    `brief` holds what the scoping chat learned (domain, licensing, constraints, ...); the upload's measured
    task, class count and volume replace its guesses."""
    from tladvisor.advice.advisor import advise
    from tladvisor.advice.brief import ProjectBrief
    from tladvisor.data_volume import data_volume

    task, classes, n = data_volume(upload, text_col, label_col)
    known = {k: v for k, v in (brief or {}).items() if k not in ("task", "classes", "per_class", "total")}
    if (brief or {}).get("task") in ("sentiment",) and task == "text-classification":
        task = brief["task"]  # a sentiment project stays one; the engine trains it like any text classifier
    ranking = None
    if evidence_dir:
        from tladvisor.evidence.collect import load_evidence

        ev = load_evidence(evidence_dir)
        if ev and ev.ranking and ev.ranking.entries:
            ranking = [(e.backbone, e.knn_accuracy) for e in ev.ranking.entries]
    if task == "ner":  # NER volume is sentences; its 'classes' are entity types
        size = {"total": max(1, n)}
    elif task == "tabular-classification":
        size = {"classes": max(2, classes), "total": max(1, n)}
    else:
        size = {"classes": max(2, classes), "per_class": max(1, n // max(1, classes))}
    rec = advise(ProjectBrief(**known, task=task, **size), measured_ranking=ranking)
    overrides: dict[str, Any] = {"epochs": int(epochs)} if epochs else {}
    if task in ("text-classification", "sentiment"):
        overrides.update(text_col=text_col or "text", label_col=label_col or "label")
    elif task == "tabular-classification":
        overrides.update(label_col=label_col or "label")
    from tladvisor.advice.budget import budget_config
    from tladvisor.training.text_models import loadable_here

    config = rec.to_train_config(upload, strategy=strategy, backbone=backbone or None, out_dir=out_dir,
                                 usable=loadable_here, **overrides)
    from tladvisor.training.engine import detected_compute, resolve_precision

    tokens, decode_s = None, None
    if config.modality == "image":  # decoding a large photo can cost more than embedding it
        from tladvisor.data_volume import image_decode_seconds

        decode_s = image_decode_seconds(upload, config.resolution or 224)
    if task in ("text-classification", "sentiment"):  # text speed follows the texts' own length
        from tladvisor.data_volume import text_tokens

        tokens = text_tokens(upload, config.backbone, text_col, label_col, config.max_length)
    config, sized = budget_config(config, n, budget or None, epochs_given=bool(epochs), compute=detected_compute(),
                                  tokens=tokens, run_precision=resolve_precision(config.precision), decode_s=decode_s)
    return rec, config, sized


def plan_text(cfg: Any, sized: Any) -> str:
    """The plan as the app shows it before training: stages, epochs, the time estimate against the budget."""
    if cfg.modality == "tabular":
        return "gradient boosting (cross-validated search); seconds to minutes on a CPU"
    from tladvisor.advice.budget import epochs_text

    notes = "".join(f" {md(x)}." for x in cfg.budget_notes)
    return f"{cfg.backbone}, stages {' -> '.join(cfg.stages())}, up to {epochs_text(cfg.epochs)}; {sized.text}.{notes}"


def audit_upload(upload: Optional[str], brief: Optional[dict[str, Any]] = None, text_col: str = "text",
                 label_col: str = "label", budget: Optional[float] = None) -> str:
    """The audit table of an upload, as Markdown (errors become a message, never an exception)."""
    if not upload:
        return "Upload a zip of class folders (images) or a CSV/TSV/JSONL with `text` and `label` columns."
    from tladvisor.training.trainer import make_task

    try:
        data = prepare_upload(upload)
        _, cfg, sized = recommended_config(data, brief=brief, text_col=text_col, label_col=label_col,
                                           budget=budget)
        with tempfile.TemporaryDirectory() as tmp:
            report = make_task(cfg, Path(tmp)).prepare_data()
    except Exception as exc:  # DataError, BackboneUnavailableError, ... : show it, keep the session
        return f"**Cannot use this upload:** {md(public_message(exc), 600)}"
    return f"**Plan:** {plan_text(cfg, sized)}\n\n" + report.to_markdown()


def _safe_stem(upload: str) -> str:
    """The upload's name as part of a run folder name: letters, digits, '-' and '_' only, at most 40."""
    import re

    return re.sub(r"[^A-Za-z0-9_-]+", "-", Path(upload).stem)[:40].strip("-") or "data"


def _metrics_markdown(result) -> str:
    m = result.metrics
    if "entity_f1" in m:  # token classification
        lines = [f"### Test entity F1 {m['entity_f1']:.3f} · precision {m['entity_precision']:.3f} · recall "
                 f"{m['entity_recall']:.3f}", f"{m.get('entities', 0)} entities in {m['n']} held-out sentences; kept "
                 f"stage **{m['best_stage']}**; {result.wall_time_s:.0f} s.", "",
                 "| entity type | precision | recall | F1 | n |", "|---|---|---|---|---|"]
        lines += [f"| {md(t)} | {v['precision']:.3f} | {v['recall']:.3f} | {v['f1']:.3f} | {v['support']} |"
                  for t, v in m.get("per_type", {}).items()]
        return "\n".join(lines)
    lines = [f"### Test accuracy {m['accuracy']:.2%} · macro-F1 {m['macro_f1']:.3f}",
             f"{m['errors']} errors in {m['n']} held-out examples; kept stage **{m['best_stage']}**; "
             f"{result.wall_time_s:.0f} s.", "", "| class | precision | recall | F1 | n |", "|---|---|---|---|---|"]
    lines += [f"| {md(c)} | {v['precision']:.3f} | {v['recall']:.3f} | {v['f1']:.3f} | {v['support']} |"
              for c, v in m["per_class"].items()]
    lines += ["", "| stage | validation macro-F1 | test accuracy |", "|---|---|---|"]
    lines += [f"| {s['stage']} | {fmt_score(s.get('val_macro_f1'))} | {fmt_score(s.get('test_accuracy'))} |"
              for s in result.stage_results]
    budget = m.get("budget")
    if budget:
        lines += ["", f"Time budget {budget['minutes']:g} min (estimated {budget.get('estimate', 'n/a')}): "
                      + md("; ".join(budget["notes"]) or "nothing was cut", 600) + "."]
    return "\n".join(lines)


def train_upload(upload: Optional[str], strategy: str, epochs: Optional[float], backbone: Optional[str],
                 progress: Optional[Callable[[float, str], None]] = None, brief: Optional[dict[str, Any]] = None,
                 text_col: str = "text", label_col: str = "label", evidence_dir: Optional[str] = None,
                 budget: Optional[float] = None) -> tuple[str, Optional[str], Optional[str], list[str]]:
    """Train on an upload: (results Markdown, confusion-matrix PNG, curves PNG, downloadable files: the client
    report as HTML and PDF, the run as a zip and the model card)."""
    from tladvisor.reporting.client_report import write_client_report
    from tladvisor.training.rundir import atomic_write_text
    from tladvisor.training.trainer import train

    if not upload:
        return "Upload data first.", None, None, []

    started = time.monotonic()
    stage_start = [started]  # reset when a stage begins; the ETA extrapolates the stage's own pace

    def report(event: dict[str, Any]) -> None:
        if progress and event.get("event") == "step":
            done = ((event["epoch"] - 1) * event["steps"] + event["step"]) / (event["steps"] * event["epochs"])
            stage_elapsed = time.monotonic() - stage_start[0]
            eta = f", about {stage_elapsed * (1 - done) / done:.0f} s left in this stage" if done > 0.02 else ""
            progress(done, f"{event['stage']}: epoch {event['epoch']}/{event['epochs']}{eta}")
        elif progress and event.get("event") == "stage":
            stage_start[0] = time.monotonic()
            progress(0.0, f"stage {event['index'] + 1}/{event['of']}: {event['stage']} "
                          f"({time.monotonic() - started:.0f} s so far)")

    try:
        data = prepare_upload(upload)
        name = f"{time.strftime('%Y%m%d-%H%M%S')}-{_safe_stem(upload)}-{strategy}-{secrets.token_hex(2)}"
        rec, cfg, sized = recommended_config(data, strategy, epochs, backbone, out_dir=str(runs_root() / name),
                                             brief=brief,
                                      text_col=text_col, label_col=label_col, evidence_dir=evidence_dir,
                                      budget=budget)
        if progress:
            progress(0.0, f"plan: {plan_text(cfg, sized)}")
        result = train(cfg, progress=report)
    except Exception as exc:
        return f"**Training stopped:** {md(public_message(exc), 600)}", None, None, []
    run = Path(result.run_dir)
    atomic_write_text(run / "recommendation.json", rec.model_dump_json(indent=2))
    if evidence_dir and Path(evidence_dir).is_dir():  # evidence measured before training goes into the report
        shutil.copytree(evidence_dir, run / "evidence", ignore=shutil.ignore_patterns("features", "ranking", "scratch"))
    _, report_html, report_pdf = write_client_report(run, rec)
    archive = shutil.make_archive(str(run), "zip", root_dir=run.parent, base_dir=run.name)
    files = [str(report_html), str(report_pdf), archive, str(run / "README.md")]
    cm = run / "confusion_matrix.png"
    curves = run / "curves.png" if (run / "curves.png").exists() else run / "feature_importance.png"
    return (_metrics_markdown(result) + f"\n\nRun: `{run.name}`", str(cm) if cm.exists() else None,
            str(curves) if curves.exists() else None, files)


def predict(run_dir: Optional[str], image: Optional[str], text: Optional[str], top_k: int = 5
            ) -> tuple[dict[str, float], str]:
    """Top-k {label: probability} for an image or a text with a finished run, plus a status line."""
    from tladvisor.training.predict import load_run

    if not run_dir:
        return {}, "Pick a finished run."
    try:
        run = load_run(finished_run(run_dir))
        if run.task.kind == "token-classification":
            if not (text or "").strip():
                return {}, "This is an entity (NER) model: type a sentence."
            from tladvisor.training.ner_task import predict_entities

            ents = predict_entities(run, [text])[0]
            found = "; ".join(f"**{md(e['text'])}** [{md(e['type'])}] at {e['start']}-{e['end']}" for e in ents)
            return {}, f"Entities: {found}" if ents else "No entity found in this sentence."
        if run.task.kind == "tabular-classification":
            return {}, (f"This is a tabular model: predict table rows with `tladvisor predict {Path(run_dir).name} "
                        "--csv rows.csv`.")
        if run.modality == "text":
            if not (text or "").strip():
                return {}, "This is a text model: type a text."
            preds = run.predict([text], top_k=top_k)[0]
        else:
            if not image:
                return {}, "This is an image model: drop an image."
            preds = run.predict([image], top_k=top_k)[0]
    except Exception as exc:
        return {}, f"**Cannot predict:** {md(public_message(exc), 600)}"
    return {label: p for label, p in preds}, f"{run.modality} model from `{Path(run_dir).name}`"


def run_summary(run_dir: Optional[str]) -> str:
    """Short description of a stored run (for the picker)."""
    if not run_dir:
        return ""
    try:
        run = finished_run(run_dir)
        metrics = json.loads((run / "metrics.json").read_text())
        config = json.loads((run / "config.json").read_text())
        score = (f"test entity F1 {metrics['entity_f1']:.3f}" if "entity_f1" in metrics
                 else f"test accuracy {metrics['accuracy']:.2%}")
        return (f"`{run.name}`: {config['modality']} · {md(config['backbone'])} · kept {metrics['best_stage']} · "
                f"{score}")
    except ValueError as exc:  # not a run of this app (JSONDecodeError is a ValueError too)
        return f"{md(public_message(exc))}"
    except (OSError, KeyError, TypeError):
        return f"`{Path(str(run_dir)).name}`: incomplete run"
