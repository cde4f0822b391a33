"""The scoping form's handler: brief fields in, recommendation Markdown and summary files out."""
from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Optional

from pydantic import ValidationError

from tladvisor.advice.advisor import advise
from tladvisor.advice.brief import ProjectBrief, format_validation_error
from tladvisor.advice.recommendation import Recommendation
from tladvisor.advice.summary import scoping_summary_markdown

COMMERCIAL = {"Yes": True, "No": False, "Not stated": None}
DIFFICULTY = {"Not known": None, "Obvious to a newcomer": "obvious", "Needs a trained eye": "subtle",
              "Experts sometimes disagree": "expert"}


def recommend(task, domain, classes, per_class, label_quality, commercial, edge, latency_ms, compute,
              keep_original, unlabelled, language, difficulty="Not known") -> tuple[str, Optional[list[str]]]:
    """Form values -> (recommendation Markdown, summary files). Bad input becomes a message, never a crash."""
    try:
        brief = ProjectBrief(
            task=task, domain=domain, classes=int(classes) if classes else None,
            per_class=int(per_class) if per_class else None, label_quality=label_quality,
            commercial=COMMERCIAL[commercial], edge=edge, latency_ms=latency_ms or None, compute=compute,
            keep_original=keep_original, unlabelled_data=unlabelled, language=language or "en",
            difficulty=DIFFICULTY.get(difficulty),
        )
        rec = advise(brief)
    except ValidationError as exc:
        return f"**Please check:** {format_validation_error(exc)}", None
    except ValueError as exc:
        return f"**Please check:** {exc}", None
    return scoping_summary_markdown(rec), summary_files(rec)


def summary_files(rec: Optional[Recommendation]) -> Optional[list[str]]:
    """The scoping summary as Markdown, HTML and PDF files to download (None without a recommendation).

    One folder per distinct summary (named by its content hash) under one app folder in the temp dir: a chat
    turn that changes nothing writes nothing new, and folders untouched for a day are removed."""
    if rec is None:
        return None
    import hashlib
    import shutil
    import time

    from tladvisor.reporting.deliverables import SUMMARY_NAMES, write_summary_files

    text = scoping_summary_markdown(rec)
    base = Path(tempfile.gettempdir()) / "tladvisor-summaries"
    out = base / hashlib.sha1(text.encode("utf-8")).hexdigest()[:16]
    paths = [out / name for name in SUMMARY_NAMES]
    if not all(p.exists() for p in paths):
        paths = write_summary_files(rec, out)
    now = time.time()
    for old in base.iterdir():
        try:
            if old != out and now - old.stat().st_mtime > 86400:
                shutil.rmtree(old, ignore_errors=True)
        except OSError:
            continue
    return [str(p) for p in paths]
