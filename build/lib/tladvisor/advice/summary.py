"""The one-page scoping summary a consultant sends after the call (Markdown, and HTML from it)."""
from __future__ import annotations

from datetime import date

from tladvisor.advice.recommendation import Recommendation, band_text
from tladvisor.safe_text import md


def _pct(band) -> str:
    return band_text(band)


def scoping_summary_markdown(rec: Recommendation) -> str:
    """A one-page Markdown summary: the brief, the recommendation, expectations, risks, licence, rationale."""
    b = rec.brief
    title = b.project_name or f"{b.task.replace('-', ' ').capitalize()} for a {b.domain} client"
    unit = {"image": "images", "text": "examples", "tabular": "rows"}[rec.modality]
    volume = (f"{b.classes} classes x ~{b.per_class:,} labelled {unit} ({b.total:,} total)"
              if b.per_class and b.classes and b.task != "ner"
              else f"{b.total:,} labelled {'documents' if b.task == 'ner' else unit}")
    commercial = {True: "yes", False: "no", None: "not stated (treated as yes)"}[b.commercial]
    constraints = [c for c in [
        "edge deployment" if b.edge else "",
        f"latency budget {b.latency_ms:g} ms" if b.latency_ms else "",
        f"compute: {b.compute.replace('_', ' ')}",
        "must keep original-domain skills" if b.keep_original else "",
    ] if c]
    hp = rec.hyperparams
    lines = [
        f"# Scoping summary: {md(title)}",
        f"*TL Advisor, {date.today().isoformat()}. Advice from rules and a model catalogue; confirm on your data.*",
        "",
        "## The project",
        f"- **Task:** {b.task} · **domain:** {b.domain} · **language:** {b.language}",
        f"- **Data:** {volume}; label quality: {b.label_quality.replace('_', ' ')}; "
        f"unlabelled data: {'yes' if b.unlabelled_data else 'no'}",
        f"- **Commercial use:** {commercial} · **constraints:** {', '.join(constraints)}",
        "",
        "## Recommendation",
        f"- **Backbone:** {rec.primary.name} (`{rec.primary.source_id}`): {rec.primary.why}.",
    ]
    for alt in rec.alternatives:
        lines.append(f"- *Alternative:* {alt.name} (`{alt.source_id}`): {alt.why}.")
    for rej in rec.rejected:
        lines.append(f"- *Not eligible:* {rej.reason}.")
    lines += ["", "**Plan**", ""]
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
    lines += ["", "## Expectations", f"- **Expected {exp.metric}:** {exp.band_text} on held-out data"
              + (f" (adjusted by {', '.join(exp.adjustments)})" if exp.adjustments else "") + "."]
    for f in exp.forecast:
        amount = f"{f.per_class:,}/class" if f.per_class and b.task != "ner" else f"{f.total:,} total"
        lines.append(f"- With {f.multiplier}x the data ({amount}): {_pct(f.band)}.")
    for section, items in (("Data gaps", rec.data_gaps), ("Evaluation plan", rec.evaluation_plan),
                           ("Risks", rec.risks), ("Notes", rec.notes)):
        if items:
            lines += ["", f"## {section}"] + [f"- {x}" for x in items]
    lines += ["", "## Licence", f"**{rec.licence.status.upper()}**: {rec.licence.text}"]
    lines += ["", "## For the client"]
    for m in rec.messages:
        lines += [f"**{m.title}.** {m.text}", ""]
    lines += ["## Why: rules that fired", "", "| rule | rationale |", "|---|---|"]
    lines += [f"| `{r.id}` | {r.why.replace('|', '/')} |" for r in rec.fired_rules]
    return "\n".join(lines) + "\n"


_CSS = ("body{font-family:system-ui,sans-serif;max-width:52rem;margin:2rem auto;line-height:1.45;color:#222}"
        "table{border-collapse:collapse;font-size:.9em}td,th{border:1px solid #ccc;padding:.25rem .5rem;"
        "vertical-align:top}h1{font-size:1.5rem}h2{font-size:1.15rem;margin-top:1.4rem}code{font-size:.9em}")


def scoping_summary_html(rec: Recommendation) -> str:
    """The same summary as a standalone HTML page (rendered by Python-Markdown)."""
    from tladvisor.safe_text import html_page

    return html_page("TL Advisor scoping summary", _CSS, scoping_summary_markdown(rec))
