"""The `tladvisor advise` command and the scoping summary, as a consultant would use them."""
import json
import subprocess
import sys

import yaml

from tladvisor import ProjectBrief, advise
from tladvisor.advice.summary import scoping_summary_html, scoping_summary_markdown
from tladvisor.cli import main


def run_cli(*args):
    return subprocess.run([sys.executable, "-m", "tladvisor", *args], capture_output=True, text=True)


def test_cli_headline_prints_readable_recommendation(tmp_path):
    out_md = tmp_path / "summary.md"
    res = run_cli("advise", "--task", "image-classification", "--domain", "manufacturing", "--classes", "15",
                  "--per-class", "200", "--commercial", "--out", str(out_md))
    assert res.returncode == 0, res.stderr
    assert "EfficientNet" in res.stdout and "Plan:" in res.stdout and "IMG-VOL-FE" in res.stdout
    text = out_md.read_text()
    assert text.startswith("# Image classification for a manufacturing client") and "## Expectations" in text
    assert "# Technical appendix" in text and "IMG-VOL-FE" in text.split("# Technical appendix")[1]


def test_cli_json_and_brief_file(tmp_path, capsys):
    brief = tmp_path / "brief.yaml"
    brief.write_text(yaml.safe_dump({"task": "sentiment", "domain": "finance", "classes": 3, "per_class": 500}))
    assert main(["advise", "--brief", str(brief), "--commercial", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["brief"]["commercial"] is True and data["primary"]["id"] != "finbert"
    assert any(r["id"] == "LICENCE-COMMERCIAL" for r in data["fired_rules"])


def test_cli_errors_are_one_line_and_nonzero(tmp_path):
    res = run_cli("advise", "--task", "image-classification", "--domain", "mars", "--classes", "3", "--per-class", "5")
    assert res.returncode == 2 and res.stderr.count("\n") == 1 and "domain" in res.stderr and "Traceback" not in res.stderr
    res = run_cli("advise", "--brief", str(tmp_path / "missing.yaml"))
    assert res.returncode == 2 and "not found" in res.stderr
    bad = tmp_path / "bad.json"
    bad.write_text("{not: [valid")
    res = run_cli("advise", "--brief", str(bad))
    assert res.returncode == 2 and "bad.json" in res.stderr and "Traceback" not in res.stderr
    res = run_cli("advise", "--task", "image-classification")
    assert res.returncode == 2 and "missing" in res.stderr
    res = run_cli("advise", "--task", "image", "--classes", "3", "--per-class", "50", "--out", str(tmp_path / "x.docx"))
    assert res.returncode == 2 and ".md, .html or .pdf" in res.stderr


def test_summary_html_is_a_page_with_the_numbers():
    rec = advise(ProjectBrief(task="image-classification", domain="manufacturing", classes=15, per_class=200,
                              commercial=True, project_name="Acme defects"))
    md = scoping_summary_markdown(rec)
    html = scoping_summary_html(rec)
    assert "Acme defects" in md and rec.expectation.band_text in md
    assert html.startswith("<!doctype html>") and "<table>" in html and "EfficientNet-Lite0" in html
    client_page = md.split("# Technical appendix")[0]
    assert len(client_page.splitlines()) < 45 and "IMG-VOL-FE" not in client_page  # one plain page


def test_catalogue_command_lists_entries(capsys):
    assert main(["catalogue", "--modality", "text"]) == 0
    out = capsys.readouterr().out
    assert "legalbert" in out and "resnet50" not in out
