"""User-supplied strings (class names, file names, labels, project names) inside Markdown and HTML output.

Two layers: `md` escapes a string where it is inserted (it stays visible text and cannot break a table or
start a link), and `html_page` renders Markdown and passes the result through nh3, a maintained HTML
sanitiser, so nothing a client's data contains can become live HTML in a report, whatever a template forgets.
Pure Python: the advice, training and reporting layers all use it.
"""
from __future__ import annotations

import html
import re
from typing import Optional

# underscores inside a word (card_arrival) are literal in Markdown; only those at a word's edge need escaping
_MD_SPECIAL = re.compile(r"([\\`*\[\]|#!~]|(?<!\w)_|_(?!\w))")


def md(value: object, limit: int = 200) -> str:
    """A user string made safe as Markdown text or a table cell: HTML-escaped, Markdown specials backslash-escaped,
    line breaks flattened, and cut to `limit` characters (with an ellipsis) so one odd value cannot fill a page."""
    text = " ".join(str(value).split())
    if len(text) > limit:
        text = text[: limit - 1] + "…"
    return _MD_SPECIAL.sub(r"\\\1", html.escape(text, quote=False))


def fmt_score(value: Optional[float], digits: int = 4) -> str:
    """A score for a report table; 'n/a' where none was measured (no validation examples: saved as null or NaN)."""
    return "n/a" if value is None or value != value else f"{value:.{digits}f}"


def markdown_to_safe_html(markdown_text: str) -> str:
    """Markdown (tables included) rendered to HTML and sanitised: scripts, event handlers, iframes, styles and
    javascript: links are removed; embedded data: images (the report's plots) are kept."""
    import markdown
    import nh3

    body = markdown.markdown(markdown_text, extensions=["tables"])
    return nh3.clean(body, url_schemes=nh3.ALLOWED_URL_SCHEMES | {"data"}, link_rel="noopener noreferrer")


def html_page(title: str, css: str, markdown_text: str) -> str:
    """A standalone HTML page for a Markdown document (the body sanitised, see `markdown_to_safe_html`)."""
    return (f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
            f"<style>{css}</style></head><body>{markdown_to_safe_html(markdown_text)}</body></html>\n")
