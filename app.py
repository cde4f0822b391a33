"""TL Advisor web app (also the Hugging Face Space entry point): `python app.py`.

Tabs: Scope (the brief -> recommendation and one-page summary), Train (upload -> audit -> train with
progress -> results and downloads), Predict (a finished run on an image or a text). The chat front end
builds on the same handlers (tladvisor/ui).
"""
from __future__ import annotations

import os

import gradio as gr

from tladvisor.advice.brief import TASKS
from tladvisor.advice.domains import domains
from tladvisor.ui.scoping import COMMERCIAL, recommend

STRATEGIES = ["auto", "linear_probe", "lora", "partial", "progressive", "full"]


def _train(upload, strategy, epochs, backbone, progress=gr.Progress()):
    from tladvisor.ui.runs import train_upload

    return train_upload(upload, strategy, epochs, backbone, progress=lambda f, d: progress(f, desc=d))


def _audit(upload):
    from tladvisor.ui.runs import audit_upload

    return audit_upload(upload)


def _predict(run_dir, image, text):
    from tladvisor.ui.runs import predict

    return predict(run_dir, image, text)


def _refresh_runs():
    from tladvisor.ui.runs import list_runs

    runs = list_runs()
    return gr.update(choices=runs, value=runs[0] if runs else None)


def _run_summary(run_dir):
    from tladvisor.ui.runs import run_summary

    return run_summary(run_dir)


def build_app() -> gr.Blocks:
    """The Gradio interface (no module-level state: every request is independent; runs live on disk)."""
    with gr.Blocks(title="TL Advisor") as demo:
        gr.Markdown("# TL Advisor\nDescribe the project; get a backbone, a staged plan and honest expectations. "
                    "Then prove it on the client's data.")
        with gr.Tab("Scope"):
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
        with gr.Tab("Train"):
            with gr.Row():
                with gr.Column(scale=1):
                    upload = gr.File(label="Zip of class folders, or CSV / TSV / JSONL (text, label)",
                                     file_types=[".zip", ".csv", ".tsv", ".jsonl"], type="filepath")
                    strategy = gr.Dropdown(STRATEGIES, value="auto", label="Strategy (auto = the advisor's plan)")
                    epochs = gr.Number(value=None, precision=0, label="Epochs (empty = recommended)")
                    backbone = gr.Textbox(value="", label="Backbone (empty = recommended)")
                    train_button = gr.Button("Train", variant="primary")
                with gr.Column(scale=2):
                    audit = gr.Markdown()
                    metrics = gr.Markdown()
                    with gr.Row():
                        cm = gr.Image(label="Confusion matrix", type="filepath")
                        curves = gr.Image(label="Training curves", type="filepath")
                    downloads = gr.File(label="Run directory (zip) and model card", file_count="multiple")
            upload.change(_audit, upload, audit)
            train_button.click(_train, [upload, strategy, epochs, backbone], [metrics, cm, curves, downloads],
                               concurrency_limit=1, concurrency_id="training")  # one CPU job at a time
        with gr.Tab("Predict"):
            with gr.Row():
                with gr.Column(scale=1):
                    run_pick = gr.Dropdown([], label="Finished run", allow_custom_value=True)
                    refresh = gr.Button("Refresh runs")
                    run_info = gr.Markdown()
                    image = gr.Image(label="Image (image runs)", type="filepath")
                    text = gr.Textbox(label="Text (text runs)")
                    predict_button = gr.Button("Predict", variant="primary")
                with gr.Column(scale=1):
                    label = gr.Label(label="Top-k", num_top_classes=5)
                    status = gr.Markdown()
            refresh.click(_refresh_runs, None, run_pick)
            run_pick.change(_run_summary, run_pick, run_info)
            predict_button.click(_predict, [run_pick, image, text], [label, status])
            demo.load(_refresh_runs, None, run_pick)
    return demo


if __name__ == "__main__":
    build_app().queue().launch(server_name=os.environ.get("TLADVISOR_HOST", "127.0.0.1"),
                               server_port=int(os.environ.get("PORT", os.environ.get("GRADIO_SERVER_PORT", 7860))))
