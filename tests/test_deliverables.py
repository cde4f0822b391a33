"""The deliverables a salesperson sends: every client text rendered over a grid of briefs (every task, 2-100
classes, 5-5,000 per class, commercial or not, with and without measured evidence) must read as finished
prose whose numbers are the summary's; the PDF's first page is the client page, alone."""
from __future__ import annotations

import itertools
import re
import subprocess
import sys
from io import BytesIO

import pytest
from pypdf import PdfReader

from tladvisor.advice.advisor import advise, checked_rules
from tladvisor.advice.brief import TASKS, ProjectBrief
from tladvisor.advice.catalogue import candidates_for, load_catalogue
from tladvisor.advice.client_page import client_page_markdown
from tladvisor.advice.phrasing import per_thousand
from tladvisor.advice.summary import scoping_summary_markdown, technical_appendix_markdown
from tladvisor.reporting.deliverables import scoping_summary_pdf

RULE_IDS = {r.id for r in checked_rules().rules}
MODEL_IDS = {b.id for b in load_catalogue()} | {b.source_id for b in load_catalogue()}
STRATEGY_IDS = {"linear_probe", "lora", "LoRA", "gbdt", "feature_transfer"}  # "full" and "partial" are plain words
BAND = re.compile(r"\b\d{1,2}-\d{2,3}(?:\.\d)?%")


def _brief(task: str, classes: int, per_class: int, commercial, domain: str) -> ProjectBrief:
    return ProjectBrief(task=task, classes=classes, per_class=per_class, commercial=commercial, domain=domain)


def _evidence(brief: ProjectBrief):
    """A measured ranking as `tladvisor rank` would give it (two of the modality's candidates)."""
    cands = candidates_for(brief.modality, brief.task)[:2]
    return [(b.id, 0.9 - 0.05 * i) for i, b in enumerate(cands)] or None


GRID = list(itertools.product(TASKS, (2, 15, 100), (5, 200, 5000), (True, False, None), (False, True)))


def _plain(markdown_text: str) -> str:
    """Markdown emphasis and list markers removed: the prose as a reader sees it."""
    return re.sub(r"[*_`]|^- |^#+ ", "", markdown_text, flags=re.MULTILINE)


def _sentences(text: str) -> list[str]:
    return [s for s in re.split(r"(?<=[.!?])\s+", text) if s]


def _prose_defects(text: str) -> list[str]:
    """Empty placeholders, doubled words, lowercase sentence starts, printed None / nan."""
    bad = []
    if re.search(r"\{\w*\}", text):
        bad.append("unfilled placeholder")
    for m in re.finditer(r"\b([A-Za-z]+)\s+\1\b", text, flags=re.IGNORECASE):
        bad.append(f"doubled word {m.group(0)!r}")
    for s in _sentences(text):
        first = re.search(r"[A-Za-z0-9]", s)
        if first and first.group(0).islower():
            bad.append(f"lowercase sentence start: {s[:60]!r}")
    if re.search(r"\bNone\b|\bnan\b", text):
        bad.append("printed None/nan")
    return bad


@pytest.mark.parametrize("task", TASKS)
def test_every_client_text_over_the_brief_grid(task):
    checked = 0
    for t, classes, per_class, commercial, with_evidence in GRID:
        if t != task:
            continue
        brief = _brief(t, classes, per_class, commercial, "manufacturing" if classes != 15 else "general")
        rec = advise(brief, measured_ranking=_evidence(brief) if with_evidence else None)
        page = client_page_markdown(rec)
        appendix = technical_appendix_markdown(rec)
        case = f"{t} k={classes} n={per_class} commercial={commercial} evidence={with_evidence}"
        # prose: every message and every paragraph or bullet of the client page
        units = [m.text for m in rec.messages] + [line for line in _plain(page).splitlines()
                                                  if line.strip() and not line.startswith("Prepared by")]
        for unit in units:
            assert not _prose_defects(_plain(unit)), (case, unit, _prose_defects(_plain(unit)))
        # no rule, model or strategy id on the client page
        words = set(re.findall(r"[\w.\-]+", page))
        assert not words & (RULE_IDS | MODEL_IDS | STRATEGY_IDS), (case, words & (RULE_IDS | MODEL_IDS | STRATEGY_IDS))
        # the numbers: every band in the messages and on the client page is one the appendix states
        summary_bands = set(BAND.findall(appendix.split("## Expectations")[1].split("##")[0]))
        for text in [m.text for m in rec.messages] + [page]:
            assert set(BAND.findall(text)) <= summary_bands, (case, BAND.findall(text), summary_bands)
        # errors per 1,000 follow from the band
        if rec.expectation.band:
            lo, hi = rec.expectation.band
            few, many = (per_thousand(1 - x) for x in (hi, lo))
            assert f"{few} and {many} of every 1,000" in page or f"{few} to {many} of every 1,000" in page, case
            assert few > 0 or hi >= 0.9995, case  # a non-zero error rate is never printed as 0
        # no pass mark drawn from the band's floor: before data it is agreed after the sample check
        assert "at least **" not in page and "**Pass mark:** agreed with you after the sample check" in page, case
        # what more data buys never repeats a band
        forecast_bands = BAND.findall(rec.messages[-1].text)
        assert len(forecast_bands) == len(set(forecast_bands)), (case, rec.messages[-1].text)
        # every part the client page promises, and risks never empty
        for part in ("## The problem", "## Our approach", "## What to expect", "## Time and cost",
                     "## What we need from you", "## How we will judge success", "## Risks"):
            assert part in page, (case, part)
        assert rec.risks and page.split("## Risks")[1].strip(), case
        assert "## Backbones side by side" in appendix and "## Training time estimate" in appendix, case
        client_text = " ".join([page] + [m.text for m in rec.messages])
        if rec.modality == "tabular":  # gradient boosting on the client's rows: no pre-trained transfer claim
            assert "10-100" not in client_text and "transfer learning" not in client_text.lower(), case
            assert "pre-trained" not in client_text.replace("no pre-trained model is involved", ""), case
        else:
            assert "pre-trained" in client_text, case
        checked += 1
    assert checked == len(GRID) // len(TASKS)


def test_defects_found_in_the_old_messages_are_gone():
    """Each phrase the issue found by rendering the old templates, over a few briefs."""
    texts = []
    for brief in [_brief("image-classification", 15, 200, True, "manufacturing"),
                  _brief("image-classification", 15, 5000, True, "manufacturing"),
                  _brief("text-classification", 77, 5000, None, "finance"),
                  _brief("tabular-classification", 3, 5000, True, "manufacturing"),
                  ProjectBrief(task="ner", classes=4, total=600)]:
        rec = advise(brief)
        texts.append(" ".join(m.text for m in rec.messages) + client_page_markdown(rec))
    joined = "\n".join(texts)
    for phrase in ("loRA", "times the per class", "expect to be measured", "learned from none",
                   "adapters rather than unfreezing", "first week", "feasible with"):
        assert phrase not in joined, phrase


def test_call_notes_stay_off_the_client_page_and_are_escaped_in_the_appendix():
    """The call's notes are often the salesperson's ("New lead: ..."): never quoted to the client as theirs."""
    brief = ProjectBrief(task="image-classification", classes=2, per_class=40, domain="manufacturing",
                         problem="New lead: spot cracked <b>welds</b> on line 3 before they ship | fast")
    rec = advise(brief)
    page = client_page_markdown(rec)
    assert "New lead" not in page and "In your words" not in page
    assert "“New lead: spot cracked &lt;b&gt;welds&lt;/b&gt; on line 3 before they ship \\| fast”" in \
        technical_appendix_markdown(rec)


@pytest.mark.parametrize("brief", [
    dict(task="image-classification", domain="manufacturing", classes=15, per_class=200, commercial=True),
    dict(task="ner", domain="biomedical", classes=8, total=300, commercial=None, label_quality="noisy",
         language="de"),
    dict(task="tabular-classification", domain="manufacturing", classes=100, per_class=5, commercial=False),
    dict(task="text-classification", domain="legal", classes=100, per_class=5, commercial=None,
         label_quality="noisy", problem="Route every incoming contract to the right team. " * 19),
])
def test_pdf_client_page_is_page_one_and_alone(brief):
    rec = advise(ProjectBrief(**brief))
    reader = PdfReader(BytesIO(scoping_summary_pdf(rec)))
    first, second = reader.pages[0].extract_text(), reader.pages[1].extract_text()
    assert "What we need from you" in first and "Risks" in first
    assert "Technical appendix" not in first and second.lstrip().startswith("Technical appendix")
    assert not any(rid in first for rid in RULE_IDS)
    # no page ends on a section heading, and no table splits a short word ('parameters', 'Apache-2.0')
    headings = {line[3:].strip() for line in scoping_summary_markdown(rec).splitlines() if line.startswith("## ")}
    text = ""
    for page in reader.pages:
        lines = [x.strip() for x in page.extract_text().strip().splitlines() if x.strip()]
        assert lines and lines[-1] not in headings, (brief, lines[-1])
        text += page.extract_text() + "\n"
    for word in ("parameters", "Apache-2.0", "recommended", "alternative", "licence", "verdict"):
        split = "|".join(re.escape(word[:k]) + r"\s+" + re.escape(word[k:]) for k in range(2, len(word) - 1))
        assert not re.search(split, text), (brief, word)


def test_cli_writes_pdf_and_markdown(tmp_path):
    args = ["advise", "--task", "image-classification", "--domain", "manufacturing", "--classes", "15",
            "--per-class", "200", "--commercial", "--price-per-hour", "0.5"]
    pdf, md = tmp_path / "summary.pdf", tmp_path / "summary.md"
    for out in (pdf, md):
        res = subprocess.run([sys.executable, "-m", "tladvisor", *args, "--out", str(out)], capture_output=True,
                             text=True, timeout=120)
        assert res.returncode == 0, res.stderr
    reader = PdfReader(str(pdf))
    assert len(reader.pages) >= 2 and "What we need from you" in reader.pages[0].extract_text()
    text = md.read_text(encoding="utf-8")
    assert "## What we need from you" in text and "## Backbones side by side" in text
    assert re.search(r"About \*\*\d+-\d+ working days\*\* from receiving the data", text)
    assert re.search(r"The training itself takes at most \*\*about \d+ minutes\*\* of compute on a CPU, about "
                     r"USD \d+\.\d\d at USD 0\.50 per hour", text), text.split("## Time and cost")[1][:300]
    bad = subprocess.run([sys.executable, "-m", "tladvisor", *args, "--out", str(tmp_path / "s.docx")],
                         capture_output=True, text=True, timeout=120)
    assert bad.returncode != 0 and ".md, .html or .pdf" in bad.stderr


def test_advise_json_carries_the_estimate_per_compute_kind():
    rec = advise(ProjectBrief(task="text-classification", classes=5, per_class=100), price_per_hour=2.0)
    data = rec.model_dump(mode="json")
    assert set(data["estimate"]) == {"cpu", "single_gpu", "multi_gpu"}
    cpu = data["estimate"]["cpu"]
    assert cpu["seconds"] > 0 and [s["strategy"] for s in cpu["stages"]] == [s.strategy for s in rec.plan] + ["setup"]
    gpu = data["estimate"]["single_gpu"]
    assert gpu["basis"].startswith("measured on one NVIDIA H200") and gpu["seconds"] < cpu["seconds"]
    assert cpu["cost"] == pytest.approx(cpu["seconds"] / 3600 * 2.0, abs=0.01)
    assert scoping_summary_markdown(rec).count(rec.own_estimate.text) >= 2  # client page and appendix agree


def _measured_run(tmp_path, modality: str, classes: int, accuracy: float, idx: int):
    """The files a finished run leaves (metrics.json, result.json), written directly: this test is about the
    report's wording for a range of outcomes, which real training on tiny data cannot span."""
    import json

    run = tmp_path / f"run{idx}"
    run.mkdir()
    names = [f"class_{i}" for i in range(classes)]
    per_class = {n: {"precision": accuracy, "recall": accuracy, "f1": min(1.0, accuracy + 0.01 * i), "support": 20}
                 for i, n in enumerate(names)}
    n = 20 * classes
    metrics = {"n": n, "accuracy": accuracy, "macro_f1": accuracy - 0.01, "errors": round(n * (1 - accuracy)),
               "per_class": per_class, "best_stage": "lora", "top_confusions": []}
    config = {"modality": modality, "task": f"{modality}-classification", "data": "x",
              "backbone": "efficientnet_lite0" if modality == "image" else "minilm_l6"}
    (run / "metrics.json").write_text(json.dumps(metrics))
    (run / "result.json").write_text(json.dumps({"config": config, "wall_time_s": 312.0, "stage_results": []}))
    return run


def test_measured_messages_over_outcomes(tmp_path):
    from tladvisor.advice.messaging import render_messages
    from tladvisor.reporting.client_report import measured_values

    idx = 0
    for modality, classes, accuracy, with_rec in itertools.product(("image", "text"), (2, 15), (0.42, 0.87, 0.995),
                                                                   (False, True)):
        idx += 1
        run = _measured_run(tmp_path, modality, classes, accuracy, idx)
        rec = advise(ProjectBrief(task=f"{modality}-classification", classes=classes, per_class=100,
                                  domain="manufacturing")) if with_rec else None
        msgs = render_messages(measured_values(run, rec), subdir="messaging_measured")
        assert len(msgs) == 3
        for m in msgs:
            assert not _prose_defects(_plain(m.text)), (modality, classes, accuracy, with_rec, m.text)
        text = " ".join(m.text for m in msgs)
        assert f"{accuracy:.1%}" in text
        bands = BAND.findall(text)
        assert len(bands) == len(set(bands)), text


# imbalanced projects: counts per class over every classification task, with and without a stated priority
IMBALANCED = list(itertools.product(
    ("image-classification", "text-classification", "sentiment", "tabular-classification"),
    ({"ok": 3000, "defect": 40}, {"ok": 5000, "cracked": 60, "chipped": 25}, {"no": 17600, "churned": 2400},
     {"a": 900, "b": 300, "c": 150, "d": 90, "e": 40}, {"good": 95, "bad": 5}),
    (None, "recall:defect", "precision", "balanced"), (True, None)))


@pytest.mark.parametrize("task", sorted({t for t, *_ in IMBALANCED}))
def test_imbalanced_briefs_never_promise_accuracy_at_or_below_the_majority_share(task):
    """A model that always answers 'ok' scores the majority share: no client text may hold that up as success."""
    for t, counts, priority, commercial in IMBALANCED:
        if t != task:
            continue
        brief = ProjectBrief(task=t, class_counts=counts, error_priority=priority, commercial=commercial,
                             domain="manufacturing")
        rec = advise(brief)
        share = max(counts.values()) / sum(counts.values())
        case = f"{t} {counts} {priority}"
        assert brief.imbalanced and rec.acceptance is not None, case
        assert rec.acceptance.metric.split(",")[0].strip() != "accuracy", case
        assert rec.expectation.metric != "accuracy", case
        assert rec.acceptance.threshold is None or rec.acceptance.metric != "accuracy", case
        assert f"{share:.1%}" in rec.acceptance.baseline_text, case  # the trivial baseline is stated
        page = client_page_markdown(rec)
        client_text = _plain(" ".join([page] + [m.text for m in rec.messages]))
        for m in re.finditer(r"(\d{1,2}(?:\.\d)?)(?:-\d{2,3}(?:\.\d)?)?%\s+accuracy", client_text):
            assert float(m.group(1)) / 100 > share, (case, m.group(0))
        assert not _prose_defects(_plain(page)), (case, _prose_defects(_plain(page)))
        assert "per class (" not in page.split("## The problem")[1].split("##")[0], case  # no misleading average
