"""The scoping form's handler: real advice in, Markdown and summary files out; bad input is a message."""
from pathlib import Path

from app import build_app, recommend


def test_recommend_returns_summary_files():
    md, files = recommend("image-classification", "manufacturing", 15, 200, "unknown", "Yes", False, None, "cpu",
                          False, False, "en")
    assert "EfficientNet-Lite0" in md
    assert [Path(f).suffix for f in files] == [".md", ".html"] and all(Path(f).stat().st_size > 1000 for f in files)


def test_bad_input_is_a_message_not_a_crash():
    md, files = recommend("image-classification", "manufacturing", 1, 200, "unknown", "Yes", False, None, "cpu",
                          False, False, "en")
    assert md.startswith("**Please check:**") and "classes" in md and files is None


def test_app_builds():
    assert build_app() is not None
