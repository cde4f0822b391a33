"""The scoping summary as files a salesperson can send: Markdown, HTML and PDF (client page first, then the
technical appendix), written together so the three always hold the same numbers."""
from __future__ import annotations

from pathlib import Path

from tladvisor.advice.client_page import client_page_markdown
from tladvisor.advice.recommendation import Recommendation
from tladvisor.advice.summary import scoping_summary_html, scoping_summary_markdown, technical_appendix_markdown
from tladvisor.reporting.pdf import markdown_pdf

SUMMARY_NAMES = ("scoping-summary.md", "scoping-summary.html", "scoping-summary.pdf")


def scoping_summary_pdf(rec: Recommendation) -> bytes:
    """The scoping summary as PDF: the client page alone on page one, the technical appendix from page two."""
    return markdown_pdf([client_page_markdown(rec), technical_appendix_markdown(rec)],
                        title="TL Advisor scoping summary")


def write_summary_files(rec: Recommendation, folder: Path) -> list[Path]:
    """Write the summary as .md, .html and .pdf into `folder` (each written whole, then renamed into place)."""
    from tladvisor.training.rundir import atomic_write_bytes

    folder.mkdir(parents=True, exist_ok=True)
    paths = [folder / name for name in SUMMARY_NAMES]
    contents = [scoping_summary_markdown(rec).encode("utf-8"), scoping_summary_html(rec).encode("utf-8"),
                scoping_summary_pdf(rec)]
    for path, data in zip(paths, contents):
        atomic_write_bytes(path, data)
    return paths
