"""The client report: results, client messages filled with the measured numbers, the data audit and the
recommendation, as Markdown and as one standalone HTML file (plots embedded) written into the run directory."""
from __future__ import annotations

import base64
import json
import re
from datetime import date
from pathlib import Path
from typing import Any, Optional

from tladvisor.advice.messaging import render_messages
from tladvisor.advice.recommendation import Recommendation, band_text
from tladvisor.advice.summary import _CSS, scoping_summary_markdown
from tladvisor.safe_text import fmt_score, html_page, md

STAGE_PHRASES = {"linear_probe": "a new classification head on the frozen pre-trained backbone (feature extraction)",
                 "lora": "LoRA adapters on the pre-trained backbone plus a new head (base weights untouched)",
                 "partial": "fine-tuning the top layers with a small learning rate",
                 "progressive": "progressive unfreezing, top layers first, with a small learning rate",
                 "full": "fine-tuning every layer with a small learning rate",
                 "gradient_boosting": "gradient boosting on the table's columns (and derived features that helped)",
                 "ensemble": "the average of two models: LoRA adapters on the pre-trained backbone, and a head on the "
                             "frozen backbone"}


def _read(run: Path, name: str) -> Any:
    path = run / name
    return json.loads(path.read_text(encoding="utf-8")) if path.exists() else None


def _audit_markdown(run: Path, modality: str, kind: str = "") -> str:
    raw = _read(run, "audit.json")
    if not raw:
        return "No audit recorded."
    if kind == "token-classification":
        from tladvisor.training.ner_data import NerAuditReport

        return NerAuditReport(**raw).to_markdown()
    if kind == "tabular-classification":
        from tladvisor.training.tabular_data import TabularAuditReport

        return TabularAuditReport(**raw).to_markdown()
    if modality == "text":
        from tladvisor.training.text_data import TextAuditReport

        return TextAuditReport(**raw).to_markdown()
    from tladvisor.training.image_audit import AuditReport

    return AuditReport(**raw).to_markdown()


def _evidence(run: Path):
    from tladvisor.evidence.collect import load_evidence

    return load_evidence(run / "evidence") if (run / "evidence").is_dir() else None


def load_recommendation(run_dir: str | Path) -> Optional[Recommendation]:
    """The recommendation a run was trained from (saved by the app as recommendation.json), if any."""
    raw = _read(Path(run_dir), "recommendation.json")
    return Recommendation(**raw) if raw else None


def _duration(seconds: float) -> str:
    return f"{seconds:.0f} s" if seconds < 120 else f"{seconds / 60:.1f} min"


def measured_values(run_dir: str | Path, rec: Optional[Recommendation]) -> dict[str, Any]:
    """Placeholder values for `knowledge/messaging_measured/`, from the run's files and the recommendation."""
    run = Path(run_dir)
    m, result = _read(run, "metrics.json"), _read(run, "result.json")
    cfg = result["config"]
    unit = "texts" if cfg["modality"] == "text" else "images"
    audit = _read(run, "audit.json") or {}
    n_total = audit.get("n_rows") or audit.get("n_images") or m["n"]
    acc = m["accuracy"]
    values: dict[str, Any] = {
        "n_test": f"{m['n']:,}", "unit": unit, "accuracy": f"{acc:.1%}", "macro_f1": f"{m['macro_f1']:.3f}",
        "errors": f"{m['errors']:,}", "backbone_name": cfg["backbone"],
        "pretraining_data": "large general-purpose data",
        "data_phrase": f"{n_total:,} labelled {unit} in {len(m['per_class'])} classes",
        "train_time": _duration(result.get("wall_time_s", 0.0)),
        "stage_phrase": STAGE_PHRASES.get(m["best_stage"], m["best_stage"]),
        "band_sentence": "", "scratch_sentence": "",
        "growth_sentence": "Accuracy keeps rising as labelled data grows; we will measure how fast on your data.",
    }
    ev = _evidence(run)
    weakest = min(m["per_class"].items(), key=lambda kv: kv[1]["f1"])
    values["weakest_sentence"] = (f"The weakest class today is **{md(weakest[0])}** (F1 {weakest[1]['f1']:.2f}): more "
                                  "examples of it pay off first. " if weakest[1]["f1"] < 0.999 else "")
    if ev is not None and ev.scratch is not None:
        values["scratch_sentence"] = (f"We checked this on your data: the same network trained from scratch reached "
                                      f"{ev.scratch.scratch_accuracy:.1%} on the same test examples, against "
                                      f"{ev.scratch.transfer_accuracy:.1%} with transfer learning. ")
    if rec is not None:
        from tladvisor.advice.catalogue import UnknownBackboneError, get_backbone

        try:
            bb = get_backbone(cfg["backbone"])
            values["backbone_name"], values["pretraining_data"] = bb.name, bb.pretraining_data
        except UnknownBackboneError:
            pass
        band = rec.expectation.band
        if band:
            lo, hi = band
            where = "above" if acc > hi else "below" if acc < lo else "within"
            values["band_sentence"] = (f"That is {where} the {band_text(band)} we expected before seeing the data. ")
        fc = rec.expectation.forecast
        curve = ev.curve if ev is not None else None
        if curve and curve.forecast(2) and curve.forecast(5):
            f2, f5 = curve.forecast(2), curve.forecast(5)
            values["growth_sentence"] = (
                f"Measured on your own data (a learning curve over nested subsets), accuracy is forecast to reach "
                f"about **{f2.accuracy:.1%}** at {f2.per_class:,.0f} examples per class (band {f2.low:.0%}-"
                f"{f2.high:.0%}) and **{f5.accuracy:.1%}** at {f5.per_class:,.0f} per class (band {f5.low:.0%}-"
                f"{f5.high:.0%}).")
        elif len(fc) >= 2 and fc[0].per_class and fc[0].band and fc[1].band:
            if acc >= max(0.98, fc[1].band[1]):  # the volume-based forecast has nothing left to promise
                values["growth_sentence"] = (
                    f"It already scores {acc:.1%} on held-out data, above what the data volume alone predicts; "
                    f"more labelled data now mainly makes that number more certain (today's test set has "
                    f"{m['n']:,} {unit}) and protects against drift.")
            else:
                values["growth_sentence"] = (
                    f"Accuracy keeps rising as labelled data grows: at {fc[0].per_class:,} examples per class we "
                    f"expect about **{band_text(fc[0].band)}**, and at {fc[1].per_class:,} per class about "
                    f"**{band_text(fc[1].band)}**.")
    return values


def _demote(markdown_text: str) -> str:
    """Nest a document under the report's headings (# -> ###)."""
    return re.sub(r"^(#+) ", lambda mt: "#" * min(6, len(mt.group(1)) + 2) + " ", markdown_text, flags=re.MULTILINE)


PLOTS = (("Confusion matrix", "confusion_matrix.png"), ("Training curves", "curves.png"),
         ("Feature importance", "feature_importance.png"), ("Learning curve", "evidence/learning_curve.png"))


def _kind(cfg: dict[str, Any]) -> str:
    from tladvisor.schemas import TrainConfig

    return TrainConfig(**cfg).task_kind


def _ner_results(m: dict[str, Any], result: dict[str, Any], cfg: dict[str, Any]) -> list[str]:
    lines = [f"**Test entity F1 {m['entity_f1']:.3f}** (precision {m['entity_precision']:.3f}: of the entities the "
             f"model marks, that share is right in type and boundaries; recall {m['entity_recall']:.3f}: of the real "
             f"entities, that share is found) over {m.get('entities', 0):,} entities in {m['n']:,} held-out "
             f"sentences. Backbone {md(cfg['backbone'])}; kept approach: "
             f"{STAGE_PHRASES.get(m['best_stage'], m['best_stage'])}; training took "
             f"{_duration(result.get('wall_time_s', 0.0))}.", "",
             "| entity type | precision | recall | F1 | n |", "|---|---|---|---|---|"]
    lines += [f"| {md(t)} | {v['precision']:.3f} | {v['recall']:.3f} | {v['f1']:.3f} | {v['support']} |"
              for t, v in m.get("per_type", {}).items()]
    lines += ["", "| stage tried | validation entity F1 |", "|---|---|"]
    lines += [f"| {s['stage']} | {fmt_score(s.get('val_entity_f1'))} |" for s in result.get("stage_results", [])]
    return lines


def _tabular_client_text(m: dict[str, Any], result: dict[str, Any]) -> list[str]:
    """Plain claims that hold for gradient boosting on the client's own rows (no pre-trained model is involved)."""
    stage = (result.get("stage_results") or [{}])[0]
    top = [c for c, v in (m.get("feature_importance") or {}).items() if v > 0][:3]
    kept = stage.get("derived_kept") or []
    out = [f"**What was measured.** On {m['n']:,} held-out rows the model never saw, it reached {m['accuracy']:.1%} "
           f"accuracy (macro-F1 {m['macro_f1']:.3f}; {m['errors']:,} errors). The model is gradient boosting trained "
           "on your rows alone; on tables of this size that is the strongest standard approach, and no pre-trained "
           "model is involved.", ""]
    if top:
        out += [f"**What drives it.** The columns that matter most on the test rows: {', '.join(md(c) for c in top)}."
                + (f" Combined features that helped in cross-validation: {', '.join(md(k) for k in kept)}." if kept
                   else ""), ""]
    out += ["**Keeping it right.** Sensor and process data drift (new machines, new settings); we re-measure on "
            "fresh rows and retrain when the score moves.", ""]
    return out


def client_report_markdown(run_dir: str | Path, rec: Optional[Recommendation] = None,
                           images: Optional[dict[str, str]] = None, thumbnails: Optional[dict[str, str]] = None
                           ) -> str:
    """The client report as Markdown; `images` maps plot names to the src to show (paths or data URIs),
    `thumbnails` image paths of suspected mislabels to theirs."""
    run = Path(run_dir)
    rec = rec or load_recommendation(run)
    m, result = _read(run, "metrics.json"), _read(run, "result.json")
    if not m or not result:
        raise FileNotFoundError(f"{run}: not a finished run (metrics.json / result.json missing)")
    cfg = result["config"]
    images = images if images is not None else {k: p for k, p in PLOTS if (run / p).exists()}
    kind = _kind(cfg)
    title = "Results" if kind == "tabular-classification" else "Transfer-learning results"
    lines = [f"# {title}: {md(rec.brief.project_name if rec and rec.brief.project_name else run.name)}",
             f"*TL Advisor, {date.today().isoformat()}. Measured on a held-out test split of the client's data.*", "",
             "## Results", ""]
    if kind == "token-classification":
        lines += _ner_results(m, result, cfg)
    else:
        unit = {"text": "texts", "tabular": "rows"}.get(cfg["modality"], "images")
        lines += [f"**Test accuracy {m['accuracy']:.1%}**, macro-F1 {m['macro_f1']:.3f}: {m['errors']:,} errors in "
                  f"{m['n']:,} held-out {unit}. Model {md(cfg['backbone'])}; kept approach: "
                  f"{STAGE_PHRASES.get(m['best_stage'], m['best_stage'])}; training took "
                  f"{_duration(result.get('wall_time_s', 0.0))}.", "",
                  "| class | precision | recall | F1 | n |", "|---|---|---|---|---|"]
        lines += [f"| {md(c)} | {v['precision']:.3f} | {v['recall']:.3f} | {v['f1']:.3f} | {v['support']} |"
                  for c, v in m["per_class"].items()]
        if m.get("top_confusions"):
            lines += ["", "Most frequent confusions: " + "; ".join(
                f"{md(c['true'])} → {md(c['predicted'])} ({c['count']})" for c in m["top_confusions"][:8]) + "."]
        lines += ["", "| stage tried | validation macro-F1 |", "|---|---|"]
        lines += [f"| {s['stage']} | {fmt_score(s.get('val_macro_f1'))} |" for s in result.get("stage_results", [])]
    for title, src in images.items():
        if title != "Learning curve":  # shown with the evidence
            lines += ["", f"![{title}]({src})"]
    lines += ["", "## For the client", ""]
    if kind == "tabular-classification":
        lines += _tabular_client_text(m, result)
    elif kind == "token-classification":
        lines += [f"**What was measured.** On {m['n']:,} held-out sentences the model never saw, it found entities "
                  f"with F1 {m['entity_f1']:.2f}: an entity counts only when its type and both its boundaries are "
                  "right. It starts from a pre-trained language model, which is what makes a few thousand tagged "
                  "sentences enough to start.", "",
                  "**Keeping it right.** New names appear all the time (products, people, places); the types with "
                  "the lowest recall gain most from more tagged examples, and we re-measure on fresh text.", ""]
    else:
        for msg in render_messages(measured_values(run, rec), subdir="messaging_measured"):
            lines += [f"**{msg.title}.** {msg.text}", ""]
    ev = _evidence(run)
    if ev is not None:
        lines += ["## Evidence on your data", "", ev.to_markdown(thumbnails=thumbnails)]
        if "Learning curve" in images:
            lines += [f"![Learning curve]({images['Learning curve']})", ""]
    lines += ["## Data audit", "", _audit_markdown(run, cfg["modality"], kind)]
    if rec is not None:
        lines += ["## The recommendation this run followed", "", _demote(scoping_summary_markdown(rec))]
    lines += ["## Limitations", "",
              "Measured on a held-out split of the data provided; data from other sources, sites or periods can "
              "score lower. Re-evaluate after any change in how data is collected."]
    return "\n".join(lines) + "\n"


def _data_uri(png: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(png).decode()


def _thumbnails(run: Path, size: int = 64) -> dict[str, str]:
    """Small embedded previews of the images suspected of a wrong label (the report must stand alone)."""
    import io

    ev = _evidence(run)
    if ev is None or ev.modality != "image":
        return {}
    from PIL import Image

    out = {}
    for m in ev.mislabels:
        try:
            with Image.open(m.item) as img:
                img = img.convert("RGB")
                img.thumbnail((size, size))
                buf = io.BytesIO()
                img.save(buf, format="PNG")
            out[m.item] = _data_uri(buf.getvalue())
        except OSError:
            continue  # the file moved since: the table still names it
    return out


def write_client_report(run_dir: str | Path, rec: Optional[Recommendation] = None) -> tuple[Path, Path, Path]:
    """Write client-report.md, a standalone client-report.html (plots embedded) and client-report.pdf (the same
    report with its plots) into the run directory; returns the three paths."""
    from tladvisor.reporting.pdf import markdown_pdf
    from tladvisor.training.rundir import atomic_write_bytes, atomic_write_text

    run = Path(run_dir)
    text = client_report_markdown(run, rec)
    embedded = {title: _data_uri((run / name).read_bytes()) for title, name in PLOTS if (run / name).exists()}
    html = html_page("TL Advisor client report", _CSS + "img{max-width:100%}",
                     client_report_markdown(run, rec, images=embedded, thumbnails=_thumbnails(run)))
    md_path, html_path = run / "client-report.md", run / "client-report.html"
    atomic_write_text(md_path, text)
    atomic_write_text(html_path, html)
    pdf_path = run / "client-report.pdf"
    atomic_write_bytes(pdf_path, markdown_pdf([text], title="TL Advisor client report", base_dir=run))
    return md_path, html_path, pdf_path
