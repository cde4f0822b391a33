"""The scoping summary a consultant sends after the call: the one-page client page, then the technical
appendix (Markdown, and HTML from it; the PDF is rendered by `tladvisor.reporting.pdf`)."""
from __future__ import annotations

from datetime import date

from tladvisor.advice import phrasing
from tladvisor.advice.client_page import client_page_markdown
from tladvisor.advice.recommendation import Recommendation, band_text
from tladvisor.safe_text import md


def _verdict(rec: Recommendation, commercial_use: str) -> str:
    """A backbone's licence verdict for this brief."""
    if commercial_use == "yes":
        return "OK, commercial use allowed"
    if rec.brief.commercial is False:
        return "OK for non-commercial work only"
    return "not for commercial use" if commercial_use == "no" else "unclear: treat as not allowed"


def _backbone_table(rec: Recommendation) -> list[str]:
    """Primary and alternatives side by side: licence and verdict, size, speed, band, estimated training time."""
    from tladvisor.advice.estimate import estimate

    rows = ["| | backbone | size, speed | licence | verdict | expected band | training time (plan, "
            f"{rec.brief.compute.replace('_', ' ')}) |", "|---|---|---|---|---|---|---|"]
    for role, choice in [("recommended", rec.primary)] + [("alternative", a) for a in rec.alternatives]:
        alt = rec.model_copy(update={"primary": choice})
        est = estimate(alt, rec.brief.compute, price_per_hour=None)
        rows.append(f"| {role} | {choice.name} (`{choice.source_id}`) | {choice.params_m:g}M, {choice.speed} | "
                    f"{choice.licence} | {_verdict(rec, choice.commercial_use)} | {rec.expectation.band_text} | "
                    f"{est.text if est.seconds is not None else 'n/a'} |")
    for rej in rec.rejected:
        rows.append(f"| not eligible | {rej.name} | | {rej.licence} | {md(rej.reason)} | | |")
    return rows


def _estimate_table(rec: Recommendation) -> list[str]:
    from tladvisor.advice.estimate import duration_text, money

    rows = ["| compute | stages | total | cost | basis |", "|---|---|---|---|---|"]
    for kind, est in rec.estimate.items():
        if est.seconds is None:
            rows.append(f"| {kind.replace('_', ' ')} | | n/a | | {' '.join(est.notes)} |")
            continue
        stages = "; ".join(f"{s.strategy} {duration_text(s.seconds)}" + (f" (≤{s.epochs} epochs)" if s.epochs else "")
                           for s in est.stages)
        cost = (f"{money(est.cost, est.currency)} at {money(est.price_per_hour or 0, est.currency)}/h"
                if est.cost is not None else "hours x your price")
        rows.append(f"| {kind.replace('_', ' ')} | {stages} | {est.text} | {cost} | {est.basis} |")
    return rows


def technical_appendix_markdown(rec: Recommendation) -> str:
    """The technical appendix: backbones side by side, the staged plan and hyper-parameters, expectations and
    forecasts, the time estimate per compute kind, data gaps, evaluation plan, licence and the fired rules."""
    b = rec.brief
    unit = {"image": "images", "text": "examples", "tabular": "rows"}[rec.modality]
    volume = (f"{b.classes} classes x ~{b.per_class:,} labelled {unit} ({b.total:,} total)"
              if b.per_class and b.classes and b.task != "ner"
              else f"{b.total:,} labelled {'documents' if b.task == 'ner' else unit}" if b.total else "not stated")
    commercial = {True: "yes", False: "no", None: "not stated (treated as yes)"}[b.commercial]
    constraints = [c for c in [
        "edge deployment" if b.edge else "",
        f"latency budget {b.latency_ms:g} ms" if b.latency_ms else "",
        f"compute: {b.compute.replace('_', ' ')}",
        "must keep original-domain skills" if b.keep_original else "",
    ] if c]
    hp = rec.hyperparams
    lines = [
        f"# Technical appendix: {phrasing.headline(rec)}",
        f"*TL Advisor, {date.today().isoformat()}. Advice from rules and a model catalogue; confirm on your data.*",
        "",
        "## The project",
        f"- **Task:** {b.task} · **domain:** {md(b.domain)} · **language:** {md(b.language)}",
        f"- **Data:** {volume}; label quality: {b.label_quality.replace('_', ' ')}; "
        f"unlabelled data: {'yes' if b.unlabelled_data else 'no'}",
        f"- **Commercial use:** {commercial} · **constraints:** {', '.join(constraints)}",
        *([f"- **Class counts:** " + ", ".join(f"{md(c)} {n:,}" for c, n in b.class_counts.items())]
          if b.class_counts else []),
        *([f"- **What matters:** {md(b.error_priority)}" + (f" (target {b.target:.0%})" if b.target else "")]
          if b.error_priority else []),
        *([f"- **Notes from the call:** “{md(b.problem, limit=600)}”"] if b.problem else []),
        "",
        "## Backbones side by side",
        "",
        *_backbone_table(rec),
        "",
        f"The recommended backbone: {rec.primary.why}. The expected band is set by the data volume, domain and "
        "task, not measurably by which of these backbones is used; `tladvisor rank` measures them on the client's "
        "data.",
        "",
        "## Plan",
        "",
    ]
    lines += [f"{i}. {s.step} (`{s.strategy}`)" for i, s in enumerate(rec.plan, 1)]
    if hp.learning_rate:
        lines += ["", "**Hyper-parameters:** " + ", ".join(x for x in [
            f"learning rate {hp.learning_rate:g} ({hp.lr_note})",
            f"warmup {hp.warmup_ratio:.0%} of steps then cosine decay",
            f"{hp.epochs} epochs with early stopping (patience {hp.early_stopping_patience})",
            f"batch size {hp.batch_size}",
            f"resolution {hp.resolution}px" if hp.resolution else "",
            f"max length {hp.max_length} tokens" if hp.max_length else "",
            f"LoRA r={hp.lora_r}, alpha={hp.lora_alpha}" if hp.strategy == "lora" else "",
        ] if x)]
    exp = rec.expectation
    acc = rec.acceptance
    if acc is not None:
        lines += ["", "## Acceptance", f"- **Metric:** {md(acc.metric)}",
                  f"- **Baseline:** {md(acc.baseline_text) or 'n/a'}",
                  f"- **Bar:** {f'{acc.threshold:.0%} (stated by the client)' if acc.threshold else 'agreed after the sample check'}"]
    lines += ["", "## Expectations", f"- **Expected {exp.metric}:** {exp.band_text} on held-out data"
              + (f" (adjusted by {', '.join(exp.adjustments)})" if exp.adjustments else "") + "."]
    for f in exp.forecast:
        amount = f"{f.per_class:,}/class" if f.per_class and b.task != "ner" else f"{f.total:,} total"
        lines.append(f"- With {f.multiplier}x the data ({amount}): {band_text(f.band)}.")
    if exp.band is not None and b.per_class and b.task != "ner":
        lines.append(f"- To tighten it: `tladvisor evidence SAMPLE --no-rank --target-per-class {b.per_class}` on ~30 "
                     "labelled examples per class gives the band for this volume and plan in under a minute on a CPU "
                     "(its coverage on public data sets: bench/results/sample_path.md).")
    lines += ["", "## Training time estimate", "", *_estimate_table(rec)]
    notes = rec.own_estimate.notes if rec.own_estimate else []
    if notes:
        lines += ["", " ".join(notes)]
    for section, items in (("Data gaps", rec.data_gaps), ("Evaluation plan", rec.evaluation_plan),
                           ("Risks", rec.risks), ("Notes", rec.notes)):
        if items:
            lines += ["", f"## {section}"] + [f"- {x}" for x in items]
    lines += ["", "## Licence", f"**{rec.licence.status.upper()}**: {rec.licence.text}"]
    lines += ["", "## Client messages", ""]
    for m in rec.messages:
        lines += [f"**{m.title}.** {m.text}", ""]
    lines += ["## Why: rules that fired", "", "| rule | rationale |", "|---|---|"]
    lines += [f"| `{r.id}` | {r.why.replace('|', '/')} |" for r in rec.fired_rules]
    return "\n".join(lines) + "\n"


def scoping_summary_markdown(rec: Recommendation) -> str:
    """The scoping summary: the client page first, then the technical appendix."""
    return client_page_markdown(rec) + "\n" + technical_appendix_markdown(rec)


_CSS = ("body{font-family:system-ui,sans-serif;max-width:52rem;margin:2rem auto;line-height:1.45;color:#222}"
        "table{border-collapse:collapse;font-size:.9em}td,th{border:1px solid #ccc;padding:.25rem .5rem;"
        "vertical-align:top}h1{font-size:1.5rem}h2{font-size:1.15rem;margin-top:1.4rem}code{font-size:.9em}"
        "h1:not(:first-of-type){break-before:page;margin-top:3rem}")


def scoping_summary_html(rec: Recommendation) -> str:
    """The same summary as a standalone HTML page (rendered by Python-Markdown)."""
    from tladvisor.safe_text import html_page

    return html_page("TL Advisor scoping summary", _CSS, scoping_summary_markdown(rec))
