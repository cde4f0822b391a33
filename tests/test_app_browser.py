"""End to end in a real browser (Debian's chromium driven by Playwright): scoping chat -> recommendation ->
upload a generated zip -> train a linear probe -> accuracy -> download the client report.

Screenshots go to test-artifacts/ (or $TLADVISOR_ARTIFACTS)."""
from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from imagegen import make_image_folder, zip_folder

CHROMIUM = "/usr/bin/chromium"
ROOT = Path(__file__).resolve().parents[1]
ARTIFACTS = Path(os.environ.get("TLADVISOR_ARTIFACTS", ROOT / "test-artifacts"))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture()
def app_url(tmp_path):
    port = _free_port()
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "PORT": str(port), "TLADVISOR_RUNS": str(tmp_path / "runs"),
           "TLADVISOR_CACHE": str(tmp_path / "cache"), "GRADIO_ANALYTICS_ENABLED": "False"}
    env.pop("TLADVISOR_LLM", None)
    log = open(tmp_path / "app.log", "w")
    proc = subprocess.Popen([sys.executable, str(ROOT / "app.py")], cwd=tmp_path, env=env, stdout=log,
                            stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}/"
    deadline = time.time() + 120
    while time.time() < deadline:
        if proc.poll() is not None:
            raise RuntimeError("app exited:\n" + (tmp_path / "app.log").read_text())
        try:
            urllib.request.urlopen(url, timeout=2)
            break
        except OSError:
            time.sleep(0.5)
    else:
        proc.kill()
        raise RuntimeError("app did not start in 120 s:\n" + (tmp_path / "app.log").read_text())
    yield url
    proc.terminate()
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()


def _last_bot_message(page) -> str:
    return page.locator("#chat [data-testid='bot']").last.inner_text()


def test_scope_train_and_download_report_in_a_browser(app_url, tmp_path):
    from playwright.sync_api import expect, sync_playwright
    from pypdf import PdfReader

    assert Path(CHROMIUM).exists(), "Debian's chromium is required (apt-get install chromium; see .ci/run)"
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    data = make_image_folder(tmp_path / "parts", per_class=12, size=48)
    archive = zip_folder(data, tmp_path / "parts.zip")

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=["--no-sandbox"])
        page = browser.new_page(viewport={"width": 1400, "height": 1000}, accept_downloads=True)
        page.set_default_timeout(60_000)
        expect.set_options(timeout=60_000)  # the first answers wait for the encoder to load
        page.goto(app_url)
        expect(page.locator("#chat")).to_contain_text("What should the model do?")

        # a quick reply, then free text that fills several slots at once
        page.get_by_role("button", name="Image classification").click()
        expect(page.locator("#chat")).to_contain_text("Which domain")
        page.locator("#chat-input textarea").fill("manufacturing, 3 defect types, about 12 photos per class")
        page.locator("#chat-input textarea").press("Enter")
        expect(page.locator("#brief-card")).to_contain_text("manufacturing")
        expect(page.locator("#brief-card")).to_contain_text("12")
        expect(page.locator("#recommendation")).to_contain_text("EfficientNet-Lite0")
        # a correction updates the recommendation
        page.locator("#chat-input textarea").fill("actually 20 per class")
        page.locator("#send").click()
        expect(page.locator("#chat")).to_contain_text("Updated: examples per class")
        expect(page.locator("#brief-card")).to_contain_text("20")
        # a free question is answered from a guide
        page.locator("#chat-input textarea").fill("what is LoRA?")
        page.locator("#chat-input textarea").press("Enter")
        expect(page.locator("#chat")).to_contain_text("From the guide")
        # the label question was put twice already (after the first message and the correction), so the chat
        # moves on rather than ask it a third time in a row; the quick replies follow the question asked
        expect(page.locator("#chat")).to_contain_text("How hard is it to tell the classes apart?")
        page.get_by_role("button", name="Needs a trained eye", exact=True).click()
        expect(page.locator("#brief-card")).to_contain_text("subtle")
        page.locator("#chat-input textarea").fill("the labels have some noise")  # answered when the client can
        page.locator("#chat-input textarea").press("Enter")
        expect(page.locator("#brief-card")).to_contain_text("some noise")
        page.screenshot(path=str(ARTIFACTS / "01-scoping.png"), full_page=True)
        # the scoping summary downloads as a PDF whose first page is the client page
        with page.expect_download() as download:
            page.locator("#summary-files a[download='scoping-summary.pdf']").click()
        pages = PdfReader(download.value.path()).pages
        first = pages[0].extract_text()
        assert "What we need from you" in first and "How we will judge success" in first
        assert "Technical appendix" not in first and "Technical appendix" in pages[1].extract_text()

        # upload -> audit -> train the linear probe -> accuracy
        page.locator("#upload input[type=file]").set_input_files(str(archive))
        expect(page.locator("#audit")).to_contain_text("readable images in 3 classes", timeout=120_000)
        expect(page.locator("#audit")).to_contain_text("(budget 10 minutes)")  # the estimate, before Train
        page.locator("#train").click()
        expect(page.locator("#metrics")).to_contain_text("Test accuracy", timeout=300_000)
        expect(page.locator("#chat")).to_contain_text("client report")
        page.screenshot(path=str(ARTIFACTS / "02-trained.png"), full_page=True)
        metrics_text = page.locator("#metrics").inner_text()
        accuracy = float(metrics_text.split("Test accuracy")[1].split("%")[0])
        assert accuracy > 50.0, metrics_text  # 3 texture classes: chance is 33%

        # download the client report
        with page.expect_download() as download:
            page.locator("#downloads a[download='client-report.html']").click()
        report = Path(download.value.path()).read_text(encoding="utf-8")
        assert "Transfer-learning results" in report and "Setting expectations" in report
        assert "data:image/png;base64," in report  # plots embedded: the file stands alone
        with page.expect_download() as download:
            page.locator("#downloads a[download='client-report.pdf']").click()
        report_pdf = PdfReader(download.value.path())
        assert "Transfer-learning results" in report_pdf.pages[0].extract_text()
        page.screenshot(path=str(ARTIFACTS / "03-report-downloaded.png"), full_page=True)

        # evidence on the same data: shortlist, learning-curve forecast, mislabels; the report is updated
        page.locator("#measure-evidence").click()
        expect(page.locator("#evidence")).to_contain_text("Learning curve and forecast", timeout=180_000)
        expect(page.locator("#evidence")).to_contain_text("EfficientNet-Lite0")
        expect(page.locator("#chat")).to_contain_text("Evidence measured")
        page.screenshot(path=str(ARTIFACTS / "04-evidence.png"), full_page=True)

        # a second session has its own conversation, and keeps chatting while the first one trains
        other = browser.new_context(viewport={"width": 1400, "height": 1000}).new_page()
        other.goto(app_url)
        expect(other.locator("#chat")).to_contain_text("What should the model do?")
        expect(other.locator("#brief-card")).not_to_contain_text("manufacturing")  # nothing leaked across sessions
        page.get_by_label("Strategy (auto = the advisor's plan)").click()
        page.get_by_role("option", name="full", exact=True).click()  # a slower job: every weight trains
        page.get_by_label("Epochs (empty = recommended)").fill("8")
        page.locator("#train").click()
        # the second job has started (Gradio shows its progress text, the plan first)
        expect(page.locator("#metrics")).to_contain_text(re.compile(r"processing|plan:|stage|epoch"))
        other.locator("#chat-input textarea").fill("text classification, 77 intents, 10 examples each")
        other.locator("#chat-input textarea").press("Enter")
        expect(other.locator("#brief-card")).to_contain_text("77")
        finished = [p for p in (tmp_path / "runs").iterdir() if (p / "result.json").exists()]
        assert len(finished) == 1, "the chat had to wait for the training job"  # the second run is still going
        other.screenshot(path=str(ARTIFACTS / "05-second-session-while-training.png"), full_page=True)

        # a third client writes German, then with typos, then corrects a number: the card follows each message
        third = browser.new_context(viewport={"width": 1400, "height": 1000}).new_page()
        third.goto(app_url)
        expect(third.locator("#chat")).to_contain_text("What should the model do?")
        third.locator("#chat-input textarea").fill("500 Fotos pro Klasse von 6 Fehlerarten aus der Fertigung")
        third.locator("#chat-input textarea").press("Enter")
        card = third.locator("#brief-card")
        expect(card).to_contain_text("manufacturing")
        expect(card).to_contain_text(re.compile(r"Classes\s+6\b"))
        expect(card).to_contain_text(re.compile(r"Examples per class\s+500\b"))
        third.locator("#chat-input textarea").fill("lables are chekced by our QA lead, its for comercial use")
        third.locator("#chat-input textarea").press("Enter")
        expect(card).to_contain_text(re.compile(r"Label quality\s+clean"))
        expect(card).to_contain_text(re.compile(r"Commercial use\s+yes"))
        third.locator("#chat-input textarea").fill("sorry, it's 8 defect types")
        third.locator("#chat-input textarea").press("Enter")
        expect(third.locator("#chat")).to_contain_text("(was 6)")
        expect(card).to_contain_text(re.compile(r"Classes\s+8\b"))
        expect(card).to_contain_text(re.compile(r"Examples per class\s+500\b"))
        third.screenshot(path=str(ARTIFACTS / "05b-german-typos-correction.png"), full_page=True)
        expect(page.locator("#metrics")).to_contain_text("kept stage full", timeout=300_000)

        # runs live on disk: a reloaded page lists both finished runs in the Predict tab
        other.reload()
        other.get_by_role("tab", name="Predict").click()
        other.get_by_label("Finished run").click()
        expect(other.get_by_role("option")).to_have_count(2)
        other.screenshot(path=str(ARTIFACTS / "06-runs-after-reload.png"), full_page=True)
        browser.close()
