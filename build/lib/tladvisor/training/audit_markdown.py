"""Markdown for audit findings, shared by the image and text audits."""
from __future__ import annotations

from tladvisor.safe_text import md

SHOWN = 20


def finding_sections(sections: list[tuple[str, list[str]]]) -> list[str]:
    """Markdown lines for each non-empty (title, items) section: a bold count and the first items (escaped: they
    quote file names, labels and texts from the client's data)."""
    lines: list[str] = []
    for title, items in sections:
        if items:
            lines += ["", f"**{title}: {len(items)}**"] + [f"- {md(x, 300)}" for x in items[:SHOWN]]
            if len(items) > SHOWN:
                lines.append(f"- ... and {len(items) - SHOWN} more (see audit.json)")
    return lines
