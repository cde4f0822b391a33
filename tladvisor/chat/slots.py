"""The scoping conversation's slots: what is asked, in which order, with which quick replies.

A slot maps onto one or more `ProjectBrief` fields. The order follows a consultant's call: task, domain,
data (classes, volume, label quality, unlabelled data), licensing, then constraints.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable


@dataclass(frozen=True)
class Slot:
    """One question of the scoping call."""

    name: str  # the brief field it fills (or a pseudo field, see `fields`)
    question: str
    quick_replies: tuple[str, ...]
    hint: str  # an example answer, used when an answer was not understood
    fields: tuple[str, ...] = ()  # brief fields that count as answering it (default: `name`)
    applies: Callable[[dict], bool] = field(default=lambda known: True)

    def answered(self, known: dict) -> bool:
        return any(known.get(f) is not None for f in (self.fields or (self.name,)))


def _has_classes(known: dict) -> bool:
    """Regression has no classes; every other task counts them (entity types for NER)."""
    return known.get("task") != "tabular-regression"


def _classifies(known: dict) -> bool:
    """Difficulty sets the band of image and text classification (not known yet: ask)."""
    return known.get("task") in (None, "image-classification", "text-classification", "sentiment")


def _rare_class_matters(known: dict) -> bool:
    """Which mistake costs more matters for two classes or uneven ones (asked in plain words)."""
    return known.get("task") in ("image-classification", "text-classification", "sentiment",
                                 "tabular-classification") and (known.get("classes") == 2 or
                                                                bool(known.get("class_counts")))


SLOTS: tuple[Slot, ...] = (
    Slot("task", "What should the model do?",
         ("Image classification", "Text classification", "Object detection", "Named entities (NER)",
          "Tabular prediction"),
         "for example 'sort photos of parts into defect types' or 'route support emails by intent'"),
    Slot("domain", "Which domain is the client in?",
         ("Manufacturing", "Medical", "Retail", "Finance", "Legal", "Satellite", "General"),
         "for example 'manufacturing', 'medical imaging' or 'legal contracts'"),
    Slot("classes", "How many classes (categories) must it tell apart?",
         ("2", "5", "10", "20", "50"), "a number, for example '12 classes'", applies=_has_classes),
    Slot("per_class", "About how many labelled examples are there per class?",
         ("About 10", "About 100", "About 1,000", "10,000 or more"),
         "for example '200 per class' or '3k images in total'", fields=("per_class", "total")),
    Slot("error_priority", "Which mistake costs the client more: missing a case of the rarer class (say, a "
                           "defect), or a false alarm on a good one?",
         ("Missing one", "A false alarm", "Both the same", "Don't know"),
         "'missing one costs more', 'false alarms cost more' or 'both the same'", applies=_rare_class_matters),
    Slot("label_quality", "How clean are the labels?",
         ("Clean (expert-checked)", "Some noise", "Noisy", "Don't know"),
         "'clean', 'some noise', 'noisy' or 'don't know'"),
    Slot("difficulty", "How hard is it to tell the classes apart?",
         ("Obvious to a newcomer", "Needs a trained eye", "Experts sometimes disagree", "Don't know"),
         "'obvious to a newcomer', 'needs a trained eye' or 'experts sometimes disagree'",
         applies=_classifies),
    Slot("unlabelled_data", "Is there unlabelled data from the same domain as well?", ("Yes", "No"),
         "'yes' or 'no'"),
    Slot("commercial", "Will the model be used commercially?", ("Yes, commercial", "No, research only", "Not sure"),
         "'yes', 'no' or 'not sure'"),
    Slot("edge", "Where will it run?", ("Server / cloud", "Edge device", "Edge, under 50 ms"),
         "'server', 'edge device' or a latency budget such as 'under 30 ms'", fields=("edge", "latency_ms")),
    Slot("compute", "What compute is there for training?", ("CPU only", "One GPU", "Several GPUs"),
         "'CPU only', 'one GPU' or 'several GPUs'"),
    Slot("keep_original", "Must the model keep its original (general-domain) skills?", ("Yes", "No"),
         "'yes' or 'no'"),
)
SLOT_BY_NAME = {s.name: s for s in SLOTS}
