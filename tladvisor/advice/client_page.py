"""The client page: one page of plain language a salesperson can forward (no model ids, no rule ids).

The problem, the approach, the expected band and what it means in errors per 1,000, what more data buys,
time and cost, what we need from the client, acceptance criteria and risks. Every number comes from the
recommendation through `phrasing`, so it matches the client messages and the technical appendix.
"""
from __future__ import annotations

from datetime import date

from tladvisor.advice import phrasing
from tladvisor.advice.recommendation import Recommendation
from tladvisor.safe_text import md

# what the client hands over, per task kind ('ner' before the modality)
_DATA_NEEDED = {
    "image": "the labelled images at their original resolution, one folder per class (or a zip of them), or a "
             "CSV of file name and label",
    "text": "the labelled texts as a CSV or spreadsheet export: one column of text, one of label",
    "ner": "the annotated texts in the export of your annotation tool (CoNLL / BIO columns, or JSONL with "
           "character spans)",
    "tabular": "the table as CSV, one row per case with the outcome column, and a note on what each column "
               "means and when it becomes known",
}
_PRODUCTION_SAMPLE = {
    "image": "images straight from production (the same cameras and sites), including hard and borderline cases",
    "text": "texts as they arrive in production (the same channels and languages), including unclear ones",
    "ner": "documents as they arrive in production, including unusual names and formats",
    "tabular": "recent rows from the live system, so we can check that the columns mean the same over time",
}
_DECISION = {
    "ner": "which kinds of names matter most, and whether a missed one or a wrong one costs more",
    "tabular": "which wrong prediction costs more (a missed case or a false alarm)",
}


def _kind(rec: Recommendation) -> str:
    return "ner" if rec.brief.task == "ner" else rec.modality


def test_fraction() -> float:
    """The share of the labelled data held out for the final test (the rule book's default)."""
    from tladvisor.advice.advisor import checked_rules

    return float(checked_rules().hyperparams.get("defaults", {}).get("test_fraction", 0.2))


def needs(rec: Recommendation) -> list[str]:
    """What we need from the client: data, labels, access, decisions, a contact."""
    kind = _kind(rec)
    unit = "class" if kind != "ner" else "kind of name"
    decision = _DECISION.get(kind, "which mistake costs more (for example a missed defect or a false alarm)")
    priority, _ = rec.brief.priority
    if priority == "recall":
        decision = "how many false alarms you can accept while we find as many of the rare cases as possible"
    elif priority == "precision":
        decision = "how many of the rare cases you can afford to miss while alarms stay reliable"
    return [
        f"**Data:** {_DATA_NEEDED[kind]}.",
        f"**Labels:** a one-line definition of each {unit} with one clear example, and who labelled the data.",
        f"**Access:** a sample of {_PRODUCTION_SAMPLE[kind]}.",
        f"**Decisions:** {decision}, and the score you would accept.",
        "**A contact** who can answer label questions within a few working days.",
    ]


def acceptance(rec: Recommendation) -> list[str]:
    """Acceptance criteria: the metric, the baseline it must beat, the test set, the bar (from the
    recommendation's `acceptance`: never the band's floor, never an accuracy at or below the majority share)."""
    acc = rec.acceptance
    share = test_fraction()
    if acc is None:
        return []
    size = f" (about {acc.test_size:,} {phrasing.items(rec)})" if acc.test_size else ""
    lines = [f"**Metric:** {md(acc.metric)}. {acc.why}"]
    if acc.baseline_text:
        lines.append(f"**Baseline to beat:** {md(acc.baseline_text)}")
    rare = (f" It would hold only about {acc.rare_in_test:,} examples of the smallest class, so each one found or "
            "missed moves the measured result visibly." if acc.rare_in_test is not None and acc.rare_in_test < 50
            else "")
    lines.append(f"**Test set:** {share:.0%} of your labelled data{size}, chosen at random with every class "
                 f"represented, set aside before training and never used to tune.{rare}")
    if acc.threshold is not None:
        lines.append(f"**Pass mark:** {acc.threshold * 100:.0f}% in that metric, the need you stated; the sample "
                     "check shows early whether the data supports it.")
    else:
        lines.append("**Pass mark:** agreed with you after the sample check, when a first measurement on your data "
                     "shows what it supports; tell us the score you need and we check it against that measurement.")
    return lines


def client_page_markdown(rec: Recommendation) -> str:
    """The client page as Markdown (it fits one printed page)."""
    lines = [
        f"# {phrasing.headline(rec)}",
        f"*Prepared by TL Advisor on {date.today().isoformat()}: a plan and an estimate made before seeing your "
        "data.*",
        "",
        "## The problem",
        phrasing.problem_text(rec),
        "",
        "## Our approach",
        phrasing.approach_text(rec),
        "",
        "## What to expect",
        " ".join(x for x in (phrasing.expectation_sentence(rec), phrasing.errors_text(rec),
                             phrasing.growth_sentence(rec), phrasing.sample_sentence(rec)) if x),
        "",
        "## Time and cost",
        phrasing.time_cost_text(rec) + " The steps: we check the data (labels, duplicates, gaps), train and "
        "compare the plan's steps, and report the score measured on held-out data with the mistakes it makes.",
        "",
        "## What we need from you",
        *[f"- {x}" for x in needs(rec)],
        "",
        "## How we will judge success",
        *[f"- {x}" for x in acceptance(rec)],
        "",
        "## Risks",
        *[f"- {md(x, limit=400)}" for x in rec.risks],
    ]
    return "\n".join(lines) + "\n"
