"""Client messages: the templates in `knowledge/messaging/` (before training, from the recommendation's
numbers) and `knowledge/messaging_measured/` (after training, from the measured results).

A template may name the `modalities` it is written for (`image`, `text`, `ner`, `tabular`) in its front
matter; for each message id the one written for the project's modality wins over the general one, so every
claim holds for that modality (no pre-training claim for gradient boosting on a table)."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, Optional

from tladvisor.advice import phrasing
from tladvisor.advice.knowledge import markdown_documents
from tladvisor.advice.recommendation import ClientMessage
from tladvisor.advice.rules import fill

if TYPE_CHECKING:
    from tladvisor.advice.recommendation import Recommendation


def message_kind(task: str, modality: str) -> str:
    """The key a template's `modalities` list is matched against: 'ner' for NER, else the modality."""
    return "ner" if task == "ner" else modality


def message_values(rec: "Recommendation") -> dict[str, Any]:
    """The placeholders of `knowledge/messaging/`: whole sentences from `phrasing`, the same as the summary's."""
    return {
        "expectation_sentence": phrasing.expectation_sentence(rec),
        "errors_sentence": phrasing.errors_text(rec),
        "sample_sentence": phrasing.sample_sentence(rec),
        "approach_sentence": phrasing.approach_text(rec),
        "growth_sentence": phrasing.growth_sentence(rec),
        "data_phrase": phrasing.data_phrase(rec),
        "band_text": rec.expectation.band_text,
    }


def render_messages(values: dict[str, Any], subdir: str = "messaging",
                    kind: Optional[str] = None) -> list[ClientMessage]:
    """One message per template id in `knowledge/<subdir>`, filled with `values` (missing placeholders stay
    visible); `kind` ('image', 'text', 'ner', 'tabular') picks the modality's own template where there is one."""
    chosen: dict[str, tuple[dict[str, Any], str, str]] = {}
    for stem, meta, body in markdown_documents(subdir):
        mid = meta.get("id", stem)
        for_kinds = meta.get("modalities")
        if for_kinds and kind not in for_kinds:
            continue
        if mid in chosen and not for_kinds:
            continue  # a modality's own template already won
        chosen[mid] = (meta, body, stem)
    out = []
    for mid, (meta, body, stem) in sorted(chosen.items(), key=lambda kv: (kv[1][0].get("order", 99), kv[0])):
        out.append(ClientMessage(id=mid, title=meta.get("title", stem), text=" ".join(fill(body, values).split())))
    return out


def recommendation_messages(rec: "Recommendation") -> list[ClientMessage]:
    """The three pre-data client messages for a recommendation."""
    return render_messages(message_values(rec), kind=message_kind(rec.brief.task, rec.modality))
