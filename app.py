"""TL Advisor web app (also the Hugging Face Space entry point): `python app.py`.

Tabs: Advisor (the scoping chat with quick replies and a brief card -> the recommendation and its summary
downloads -> upload, audit, train with live progress -> results, client report and run downloads), Form (the
same brief as a form) and Predict (a finished run on an image or a text). Handlers live in tladvisor/ui.
"""
from __future__ import annotations

import os
from pathlib import Path

import gradio as gr

from tladvisor.advice.brief import TASKS
from tladvisor.advice.domains import domains
from tladvisor.schemas import STRATEGIES
from tladvisor.ui.scoping import COMMERCIAL, DIFFICULTY, recommend

# text_data.TEXT_EXTENSIONS, spreadsheets.SPREADSHEET_EXTENSIONS, ner_data's CoNLL suffixes and zip (tables
# share .csv / .tsv / .xlsx with texts)
UPLOAD_TYPES = [".zip", ".csv", ".tsv", ".tab", ".jsonl", ".ndjson", ".json", ".xlsx", ".xlsm", ".conll", ".conllu",
                ".bio", ".iob", ".iob2", ".bioes", ".txt"]


def _chat_view(view: tuple) -> tuple:
    """The chat handlers' view with the quick-reply labels turned into button updates."""
    from tladvisor.ui.chat import MAX_QUICK_REPLIES

    head, labels = view[:-MAX_QUICK_REPLIES], view[-MAX_QUICK_REPLIES:]
    return (*head, *[gr.update(value=label or " ", visible=bool(label)) for label in labels])


def _start():
    from tladvisor.ui.chat import start

    return _chat_view(start())


def _send(message, history, state):
    from tladvisor.ui.chat import send

    return ("", *_chat_view(send(message, history or [], state)))  # send() never raises: the session survives


def _audit(upload, history, state, text_col="text", label_col="label", budget=None):
    from tladvisor.ui.chat import note
    from tladvisor.ui.runs import audit_upload

    audit = audit_upload(upload, brief=(state or {}).get("known"), text_col=text_col, label_col=label_col,
                         budget=budget)
    if not upload:
        return audit, history
    first = audit.split("\n\n")[0] if audit.startswith("**Cannot") else "Upload audited: " + next(
        (line for line in audit.splitlines() if line.startswith("**") and "classes" in line), "see the audit table.")
    return audit, note(history or [], first + ("" if audit.startswith("**Cannot") else
                                               " Press **Train** to run the recommended plan."))


def _default_budget():
    """10 minutes on a machine without a GPU (TLADVISOR_BUDGET_MIN overrides), none with one."""
    from tladvisor.advice.budget import default_budget_minutes
    from tladvisor.training.engine import detected_compute

    return default_budget_minutes(detected_compute() != "cpu")


def _train(upload, strategy, epochs, backbone, text_col, label_col, history, state, work, budget=None,
           progress=gr.Progress()):
    from tladvisor.ui.chat import note
    from tladvisor.ui.runs import train_upload

    work = dict(work or {})
    evidence = work.get("evidence_dir") if work.get("evidence_upload") == upload else None
    md, cm, curves, files = train_upload(upload, strategy, epochs, backbone, brief=(state or {}).get("known"),
                                         budget=budget,
                                         text_col=text_col, label_col=label_col, evidence_dir=evidence,
                                         progress=lambda f, d: progress(f, desc=d))
    summary = md.split("\n")[0].lstrip("# ")
    if files:
        work.update(last_run=str(Path(files[0]).parent), last_upload=upload)
        text = f"{summary}. The client report (HTML, PDF) and the run are ready to download below."
    else:
        text = md.split("\n\n")[0]
    return md, cm, curves, files, note(history or [], text), work


def _evidence(upload, include_scratch, text_col, label_col, history, state, work, progress=gr.Progress()):
    from tladvisor.ui.chat import note
    from tladvisor.ui.evidence import measure_evidence

    md, curve, gallery, work, files = measure_evidence(upload, include_scratch, work, (state or {}).get("known"),
                                                       text_col, label_col, lambda f, d: progress(f, desc=d))
    if md.startswith("**Cannot") or not curve:
        text = md.split("\n\n")[0]
    else:
        first = md.split("\n")[0].strip("*")
        text = ("Evidence measured: " + first + " The shortlist, learning-curve forecast and likely mislabels are "
                "below" + (", and the client report now includes them." if work.get("last_run") and
                           work.get("last_upload") == upload else "; training next will include them in the report."))
    return md, curve, gallery, files, note(history or [], text), work


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
    """The Gradio interface. Per-session state lives in gr.State; runs live on disk; nothing else is kept."""
    from tladvisor.ui.chat import MAX_QUICK_REPLIES

    with gr.Blocks(title="TL Advisor") as demo:
        gr.Markdown("# TL Advisor\nDescribe the project; get a backbone, a staged plan and honest expectations. "
                    "Then prove it on the client's data.")
        state = gr.State({})  # the scoping conversation (ChatState)
        work = gr.State({})  # this session's uploads, evidence folder and last run
        with gr.Tab("Advisor"):
            with gr.Row():
                with gr.Column(scale=3):
                    chat = gr.Chatbot(label="Scoping call", height=460, elem_id="chat")
                    with gr.Row():
                        quick = [gr.Button(" ", visible=False, size="sm", elem_classes=["quick-reply"])
                                 for _ in range(MAX_QUICK_REPLIES)]
                    with gr.Row():
                        message = gr.Textbox(placeholder="e.g. we have about 3k photos of 15 scratch types, for a "
                                                         "car-parts supplier", show_label=False, scale=5,
                                             elem_id="chat-input")
                        send = gr.Button("Send", variant="primary", scale=1, elem_id="send")
                with gr.Column(scale=2):
                    gr.Markdown("### Brief")
                    card = gr.Markdown(elem_id="brief-card")
                    summary = gr.File(label="Scoping summary (Markdown, HTML, PDF)", file_count="multiple",
                                      elem_id="summary-files")
            with gr.Accordion("Recommendation", open=True):
                recommendation = gr.Markdown(elem_id="recommendation")
            gr.Markdown("### Prove it on the client's data")
            with gr.Row():
                with gr.Column(scale=1):
                    upload = gr.File(label="Zip of class folders, or CSV / TSV / JSONL / Excel (text, label)",
                                     file_types=UPLOAD_TYPES, type="filepath", elem_id="upload")
                    strategy = gr.Dropdown(STRATEGIES, value="auto", label="Strategy (auto = the advisor's plan)")
                    epochs = gr.Number(value=None, precision=0, label="Epochs (empty = recommended)")
                    budget = gr.Number(value=_default_budget(), label="Time budget, minutes (empty = no limit)",
                                       elem_id="budget")
                    backbone = gr.Textbox(value="", label="Backbone (empty = recommended)")
                    with gr.Row():
                        text_col = gr.Textbox(value="text", label="Text column", min_width=80)
                        label_col = gr.Textbox(value="label", label="Label column", min_width=80)
                    train_button = gr.Button("Train", variant="primary", elem_id="train")
                    include_scratch = gr.Checkbox(label="Include the from-scratch baseline (slower)", value=False)
                    evidence_button = gr.Button("Measure evidence: shortlist, forecast, mislabels",
                                                elem_id="measure-evidence")
                with gr.Column(scale=2):
                    audit = gr.Markdown(elem_id="audit")
                    metrics = gr.Markdown(elem_id="metrics")
                    with gr.Row():
                        cm = gr.Image(label="Confusion matrix", type="filepath")
                        curves = gr.Image(label="Training curves", type="filepath")
                    downloads = gr.File(label="Client report (HTML, PDF), run directory (zip), model card",
                                        file_count="multiple", elem_id="downloads")
                    with gr.Accordion("Evidence on this data", open=True):
                        evidence = gr.Markdown(elem_id="evidence")
                        with gr.Row():
                            curve_plot = gr.Image(label="Learning curve and forecast", type="filepath")
                            suspects = gr.Gallery(label="Likely mislabels", columns=4, height=260)
                        evidence_files = gr.File(label="Evidence files (and the updated client report)",
                                                 file_count="multiple")
            chat_outputs = [chat, state, card, recommendation, summary, *quick]
            message.submit(_send, [message, chat, state], [message, *chat_outputs])
            send.click(_send, [message, chat, state], [message, *chat_outputs])
            for button in quick:
                button.click(_send, [button, chat, state], [message, *chat_outputs])
            upload.change(_audit, [upload, chat, state, text_col, label_col, budget], [audit, chat])
            for column in (text_col, label_col):
                column.submit(_audit, [upload, chat, state, text_col, label_col, budget], [audit, chat])
            budget.submit(_audit, [upload, chat, state, text_col, label_col, budget], [audit, chat])
            train_button.click(_train, [upload, strategy, epochs, backbone, text_col, label_col, chat, state, work,
                                        budget],
                               [metrics, cm, curves, downloads, chat, work],
                               concurrency_limit=1, concurrency_id="training")  # one CPU job at a time
            evidence_button.click(_evidence, [upload, include_scratch, text_col, label_col, chat, state, work],
                                  [evidence, curve_plot, suspects, evidence_files, chat, work],
                                  concurrency_limit=1, concurrency_id="training")  # shares the training queue
            demo.load(_start, None, chat_outputs)
        with gr.Tab("Form"):
            with gr.Row():
                with gr.Column(scale=1):
                    task = gr.Dropdown(list(TASKS), value="image-classification", label="Task")
                    domain = gr.Dropdown(list(domains()), value="manufacturing", label="Domain")
                    classes = gr.Number(value=15, precision=0, label="Classes")
                    per_class = gr.Number(value=200, precision=0, label="Labelled examples per class")
                    label_quality = gr.Radio(["clean", "some_noise", "noisy", "unknown"], value="unknown",
                                             label="Label quality")
                    difficulty = gr.Radio(list(DIFFICULTY), value="Not known", label="How hard are the classes to "
                                          "tell apart?")
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
                                     compute, keep, unlabelled, language, difficulty], [result, files])
        with gr.Tab("Predict"):
            with gr.Row():
                with gr.Column(scale=1):
                    run_pick = gr.Dropdown([], label="Finished run", allow_custom_value=False)
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


def main() -> None:
    """Start the app; settings from environment variables (a Hugging Face Space sets PORT / GRADIO_SERVER_*)."""
    host = os.environ.get("TLADVISOR_HOST", os.environ.get("GRADIO_SERVER_NAME", "127.0.0.1"))
    port = int(os.environ.get("PORT", os.environ.get("GRADIO_SERVER_PORT", 7860)))
    import threading

    from tladvisor.ui.chat import warm_up

    threading.Thread(target=warm_up, daemon=True).start()  # the first chat message should not wait for MiniLM
    # chat and prediction events run side by side; training has its own queue of one (see build_app)
    from tladvisor.ui.runs import max_upload_bytes

    build_app().queue(default_concurrency_limit=8).launch(server_name=host, server_port=port,
                                                          max_file_size=max_upload_bytes())


if __name__ == "__main__":
    main()
