"""Markdown for audit findings, shared by the image and text audits."""
from __future__ import annotations

SHOWN = 20


def finding_sections(sections: list[tuple[str, list[str]]]) -> list[str]:
    """Markdown lines for each non-empty (title, items) section: a bold count and the first items."""
    lines: list[str] = []
    for title, items in sections:
        if items:
            lines += ["", f"**{title}: {len(items)}**"] + [f"- {x}" for x in items[:SHOWN]]
            if len(items) > SHOWN:
                lines.append(f"- ... and {len(items) - SHOWN} more (see audit.json)")
    return lines
