"""PDF output for the scoping summary and the client report, rendered with fpdf2 (a maintained, pure-Python
PDF library) from the same sanitised HTML as the HTML files, so the three formats never disagree.

Each document given starts on a new page: the client page is page one, the technical appendix follows.
The text font is DejaVu Sans, which matplotlib ships (it covers accents, umlauts, arrows and ≤ that the
PDF core fonts cannot print), so nothing is downloaded.
"""
from __future__ import annotations

import re
from pathlib import Path
from typing import Optional, Sequence

from tladvisor.safe_text import markdown_to_safe_html

_FAMILY = "dejavu"
_STYLES = {"": "DejaVuSans.ttf", "B": "DejaVuSans-Bold.ttf", "I": "DejaVuSans-Oblique.ttf",
           "BI": "DejaVuSans-BoldOblique.ttf"}
_IMG = re.compile(r"<img\b([^>]*)>")
_CELL = re.compile(r"(<t[dh]\b[^>]*>)(.*?)(</t[dh]>)", re.DOTALL)
_TAG = re.compile(r"<[^>]+>")
# printable width of an A4 page with 15 mm margins, in mm; plots are drawn at most this wide
_CONTENT_MM = 180


def _font_dir() -> Path:
    import matplotlib

    return Path(matplotlib.get_data_path()) / "fonts" / "ttf"


def _sized_images(html: str, base: Optional[Path]) -> str:
    """Give every <img> a width fpdf2 understands and resolve relative paths against `base` (a run directory).
    Images that are missing are dropped with a note, so a moved file never breaks the PDF."""
    def one(match: re.Match) -> str:
        attrs = match.group(1)
        src = re.search(r'src="([^"]+)"', attrs)
        if not src:
            return ""
        path = src.group(1)
        if not path.startswith("data:"):
            full = (base / path) if base is not None and not Path(path).is_absolute() else Path(path)
            if not full.is_file():
                return f"<i>(image {Path(path).name} not found)</i>"
            path = str(full)
        return f'<img src="{path}" width="{_CONTENT_MM * 0.75:.0f}">'

    return _IMG.sub(one, html)


def _flat_cells(html: str) -> str:
    """fpdf2 cannot nest tags inside a table cell: keep the cell's text, drop its inline markup (code, bold)."""
    return _CELL.sub(lambda m: m.group(1) + _TAG.sub("", m.group(2)) + m.group(3), html)


_KEEP_WITH_HEADING_MM = 28  # a heading needs this much room below it for a few lines of its section
_LINE_CHARS = 95  # characters of 9.5-pt DejaVu Sans across the printable width
_TABLE = re.compile(r"<table\b[^>]*>.*?</table>", re.DOTALL)
_ROW = re.compile(r"<tr\b[^>]*>(.*?)</tr>", re.DOTALL)


def _column_widths(html: str) -> str:
    """Size each table's columns by their longest text (fpdf2 splits columns evenly otherwise), left-aligned."""
    def table(match: re.Match) -> str:
        text = match.group(0)
        rows = [_CELL.findall(r) for r in _ROW.findall(text)]
        if not rows or not rows[0]:
            return text
        ncol = len(rows[0])
        # per column: the room its longest word needs (never split), and the room its longest cell would like
        mins, wants = [4.0] * ncol, [4.0] * ncol
        for r, cells in enumerate(rows):
            for i, (_, body, _) in enumerate(cells[:ncol]):
                words = _TAG.sub("", body).split()
                # the header row is bold (wider letters); a very long token (a Hub id) may wrap at 18 characters
                cap, pad = (200, 4) if r == 0 else (18, 2)
                mins[i] = max([mins[i]] + [min(cap, len(w) + pad) for w in words])
                wants[i] = max(wants[i], mins[i], min(60, sum(len(w) + 1 for w in words)) / 3)
        # every column gets its longest word first; what is left of the line goes where cells are long
        spare = max(0.0, _LINE_CHARS - sum(mins))
        extra = [w - m for w, m in zip(wants, mins)]
        sizes = [m + (spare * e / sum(extra) if sum(extra) else 0) for m, e in zip(mins, extra)]
        total = sum(sizes)
        widths = iter(f"{100 * w / total:.0f}%" for w in sizes)

        def cell(m: re.Match) -> str:
            tag = m.group(1)[:-1] + ' align="left"'
            if tag.startswith("<th"):  # only the header row has <th>: one width per column
                tag += f' width="{next(widths, "")}"'
            return tag + ">" + m.group(2) + m.group(3)

        return _CELL.sub(cell, text)

    return _TABLE.sub(table, html)


def markdown_pdf(documents: Sequence[str], title: str, base_dir: Optional[Path] = None) -> bytes:
    """Markdown documents as one A4 PDF (each from a new page); `base_dir` resolves relative image paths."""
    from fpdf import FPDF
    from fpdf.fonts import FontFace

    pdf = FPDF(format="A4", unit="mm")
    pdf.set_margins(15, 14, 15)
    pdf.set_auto_page_break(True, margin=14)
    pdf.set_title(title)
    pdf.set_creator("TL Advisor")
    fonts = _font_dir()
    for style, name in _STYLES.items():
        pdf.add_font(_FAMILY, style, str(fonts / name))
    pdf.add_font("dejavu-mono", "", str(fonts / "DejaVuSansMono.ttf"))
    styles = {"h1": FontFace(family=_FAMILY, emphasis="BOLD", size_pt=15, color=(30, 40, 90)),
              "h2": FontFace(family=_FAMILY, emphasis="BOLD", size_pt=11.5, color=(30, 40, 90)),
              "h3": FontFace(family=_FAMILY, emphasis="BOLD", size_pt=10.5),
              "code": FontFace(family="dejavu-mono", size_pt=8.5)}
    for doc in documents:
        pdf.add_page()
        pdf.set_font(_FAMILY, size=9.5)
        html = _column_widths(_flat_cells(_sized_images(markdown_to_safe_html(doc), base_dir)))
        for i, section in enumerate(re.split(r"(?=<h[23]\b)", html)):
            keep = _KEEP_WITH_HEADING_MM * (2.5 if "<table" in section[:400] else 1)  # a table's rows do not split
            if i and section.startswith("<h") and pdf.will_page_break(keep):
                pdf.add_page()  # a heading is never left alone at the foot of a page
            pdf.write_html(section, font_family=_FAMILY, tag_styles=styles, table_line_separators=True)
    return bytes(pdf.output())
