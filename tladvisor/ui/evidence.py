"""The app's "Measure evidence" handler: ranking, learning curve, likely mislabels and (optionally) the
from-scratch baseline on the uploaded data; stored with the session's run when there is one, so the client
report includes it."""
from __future__ import annotations

import shutil
import time
from pathlib import Path
from typing import Any, Callable, Optional

SCRATCH_EPOCHS = 5  # bounded: the baseline must not cost more than the transfer run it is compared with


def measure_evidence(upload: Optional[str], include_scratch: bool, work: Optional[dict[str, Any]],
                     brief: Optional[dict[str, Any]] = None, text_col: str = "text", label_col: str = "label",
                     progress: Optional[Callable[[float, str], None]] = None
                     ) -> tuple[str, Optional[str], list[tuple[str, str]], dict[str, Any], list[str]]:
    """(evidence Markdown, learning-curve PNG, mislabel gallery, updated session work dict, files)."""
    from tladvisor.evidence.collect import collect_evidence
    from tladvisor.safe_text import md
    from tladvisor.ui.runs import prepare_upload, public_message, recommended_config, runs_root

    work = dict(work or {})
    if not upload:
        return "Upload data first.", None, [], work, []
    steps = ["embedding", "ranking", "learning curve", "mislabels", "scratch"]

    def say(msg: str) -> None:
        if progress:
            done = next((i for i, s in enumerate(steps) if msg.startswith(s) or s in msg), 0)
            progress(done / len(steps), msg)

    last_run = work.get("last_run")
    if last_run and work.get("last_upload") != upload:
        last_run = None  # a different upload: the evidence belongs to no trained run yet
    out = Path(last_run) / "evidence" if last_run else runs_root() / f"evidence-{time.strftime('%Y%m%d-%H%M%S')}"
    try:
        data = prepare_upload(upload)  # a zip is extracted once per upload, shared with the audit and training
        rec, cfg, _ = recommended_config(data, brief=brief, text_col=text_col, label_col=label_col)
        if out.exists():
            shutil.rmtree(out)  # re-measured: the newest evidence replaces the old one
        ev = collect_evidence(data, out, prior_band=rec.expectation.band, scratch_epochs=SCRATCH_EPOCHS
                              if include_scratch else 0, transfer_run=last_run, progress=say,
                              backbone=cfg.backbone, text_col=text_col, label_col=label_col)
    except Exception as exc:  # bad data, unavailable backbone: a message, the session goes on
        return f"**Cannot measure evidence:** {md(public_message(exc), 600)}", None, [], work, []
    work.update(evidence_dir=str(out), evidence_upload=upload)
    files = [str(out / "evidence.md"), str(out / "evidence.json")]
    if last_run:
        from tladvisor.reporting.client_report import write_client_report

        _, html, pdf = write_client_report(last_run)
        files[:0] = [str(html), str(pdf)]
    gallery = [(m.item, f"given '{m.given}', looks like '{m.suggested}' ({m.suggested_probability:.0%})")
               for m in ev.mislabels if ev.modality == "image"]
    curve = out / "learning_curve.png"
    return ev.to_markdown(), str(curve) if curve.exists() else None, gallery, work, files
