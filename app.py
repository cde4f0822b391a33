"""TL Advisor web app (also the Hugging Face Space entry point): `python app.py`.

This first version is the scoping form: fill the brief, get the recommendation, download the one-page summary.
The chat, training from uploads and prediction build on it (see the issues).
"""
from __future__ import annotations

import os
import tempfile
from pathlib import Path

import gradio as gr
from pydantic import ValidationError

from tladvisor import ProjectBrief, advise
from tladvisor.advice.brief import TASKS, format_validation_error
from tladvisor.advice.domains import domains
from tladvisor.advice.summary import scoping_summary_html, scoping_summary_markdown

COMMERCIAL = {"Yes": True, "No": False, "Not stated": None}


def recommend(task, domain, classes, per_class, label_quality, commercial, edge, latency_ms, compute,
              keep_original, unlabelled, language):
    """Form values -> (recommendation Markdown, summary files). Bad input becomes a message, never a crash."""
    try:
        brief = ProjectBrief(
            task=task, domain=domain, classes=int(classes) if classes else None,
            per_class=int(per_class) if per_class else None, label_quality=label_quality,
            commercial=COMMERCIAL[commercial], edge=edge, latency_ms=latency_ms or None, compute=compute,
            keep_original=keep_original, unlabelled_data=unlabelled, language=language or "en",
        )
        rec = advise(brief)
    except ValidationError as exc:
        return f"**Please check:** {format_validation_error(exc)}", None
    except ValueError as exc:
        return f"**Please check:** {exc}", None
    out = Path(tempfile.mkdtemp(prefix="tladvisor-summary-"))
    md_path, html_path = out / "scoping-summary.md", out / "scoping-summary.html"
    md = scoping_summary_markdown(rec)
    md_path.write_text(md, encoding="utf-8")
    html_path.write_text(scoping_summary_html(rec), encoding="utf-8")
    return md, [str(md_path), str(html_path)]


def build_app() -> gr.Blocks:
    """The Gradio interface (no module-level state: every request is independent)."""
    with gr.Blocks(title="TL Advisor") as demo:
        gr.Markdown("# TL Advisor\nDescribe the project; get a backbone, a staged plan and honest expectations.")
        with gr.Row():
            with gr.Column(scale=1):
                task = gr.Dropdown(list(TASKS), value="image-classification", label="Task")
                domain = gr.Dropdown(list(domains()), value="manufacturing", label="Domain")
                classes = gr.Number(value=15, precision=0, label="Classes")
                per_class = gr.Number(value=200, precision=0, label="Labelled examples per class")
                label_quality = gr.Radio(["clean", "some_noise", "noisy", "unknown"], value="unknown",
                                         label="Label quality")
                commercial = gr.Radio(list(COMMERCIAL), value="Yes", label="Commercial use?")
                edge = gr.Checkbox(label="Runs on an edge device")
                latency = gr.Number(value=None, label="Latency budget (ms, optional)")
                compute = gr.Radio(["cpu", "single_gpu", "multi_gpu"], value="cpu", label="Compute")
                keep = gr.Checkbox(label="Must keep original-domain skills")
                unlabelled = gr.Checkbox(label="Unlabelled in-domain data available")
                language = gr.Textbox(value="en", label="Language")
                button = gr.Button("Recommend", variant="primary")
            with gr.Column(scale=2):
                result = gr.Markdown()
                files = gr.File(label="Scoping summary", file_count="multiple")
        button.click(recommend, [task, domain, classes, per_class, label_quality, commercial, edge, latency,
                                 compute, keep, unlabelled, language], [result, files])
    return demo


if __name__ == "__main__":
    build_app().queue().launch(server_name=os.environ.get("TLADVISOR_HOST", "127.0.0.1"),
                               server_port=int(os.environ.get("PORT", os.environ.get("GRADIO_SERVER_PORT", 7860))))
