"""Client messages: the three templates in `knowledge/messaging/` (before training, from the recommendation's
numbers) and `knowledge/messaging_measured/` (after training, from the measured results)."""
from __future__ import annotations

from typing import Any

from tladvisor.advice.knowledge import markdown_documents
from tladvisor.advice.recommendation import ClientMessage
from tladvisor.advice.rules import fill


def render_messages(values: dict[str, Any], subdir: str = "messaging") -> list[ClientMessage]:
    """Every template in `knowledge/<subdir>`, filled with `values` (missing placeholders stay visible)."""
    out = []
    docs = sorted(markdown_documents(subdir), key=lambda d: (d[1].get("order", 99), d[0]))
    for stem, meta, body in docs:
        out.append(ClientMessage(id=meta.get("id", stem), title=meta.get("title", stem),
                                 text=" ".join(fill(body, values).split())))
    return out
