"""The backbone catalogue (`knowledge/backbones.yaml`) as validated objects."""
from __future__ import annotations

import difflib
from functools import lru_cache
from typing import Literal, Optional

from pydantic import BaseModel, ConfigDict, Field

from tladvisor.advice.knowledge import KnowledgeError, load_yaml

Modality = Literal["image", "text", "tabular"]
YesNoUnknown = Literal["yes", "no", "unknown"]

# Size classes by parameter count, per modality (millions). Used only for scoring preferences.
_SIZE_LIMITS = {"image": (15.0, 60.0), "text": (70.0, 150.0), "tabular": (1e9, 1e9)}


class Backbone(BaseModel):
    """One pretrained model (or, for tables, one model family) the advisor can recommend."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str
    name: str
    modality: Modality
    tasks: list[str]
    family: str
    source: Literal["timm", "hf", "sklearn", "pypi", "paper"]
    source_id: str
    params_m: float
    input_size: Optional[int] = None
    max_length: Optional[int] = None
    licence: str
    commercial_use: YesNoUnknown
    pretraining_data: str
    domain_tags: list[str] = Field(default_factory=list)
    languages: list[str] = Field(default_factory=list)
    speed: Literal["fast", "medium", "slow"]
    offline: bool = False
    offline_package: Optional[str] = None
    advice_only: bool = False
    notes: str = ""
    aliases: list[str] = Field(default_factory=list)  # what people call it when not by its name ("MiniLM")

    @property
    def size_class(self) -> str:
        small, base = _SIZE_LIMITS[self.modality]
        return "small" if self.params_m < small else "base" if self.params_m < base else "large"

    @property
    def tags(self) -> set[str]:
        """Every tag a rule's `prefer` weights can refer to."""
        tags = set(self.domain_tags)
        tags |= {f"family:{self.family}", f"speed:{self.speed}", f"size:{self.size_class}"}
        tags |= {f"lang:{lang}" for lang in self.languages} | {f"id:{self.id}"}  # id: for a rule backed by a measurement
        if self.offline:
            tags.add("offline")
        return tags

    def licence_problem(self) -> Optional[str]:
        """Why this backbone cannot be used commercially, or None when its licence allows it."""
        if self.commercial_use == "yes":
            return None
        if self.commercial_use == "no":
            return f"its licence {self.licence} does not allow commercial use"
        if self.licence == "unknown":
            return "its licence is unknown (the model card declares none), so commercial use is not cleared"
        return f"commercial use under {self.licence} is unclear"


@lru_cache(maxsize=1)
def load_catalogue() -> tuple[Backbone, ...]:
    """All catalogue entries, validated; ids must be unique."""
    raw = load_yaml("backbones.yaml") or {}
    entries = []
    for i, item in enumerate(raw.get("backbones", [])):
        try:
            entries.append(Backbone(**item))
        except Exception as exc:  # pydantic's message names the field
            raise KnowledgeError(f"backbones.yaml entry {i} ({item.get('id', '?')}): {exc}") from exc
    ids = [b.id for b in entries]
    dupes = {i for i in ids if ids.count(i) > 1}
    if dupes:
        raise KnowledgeError(f"backbones.yaml: duplicate ids {sorted(dupes)}")
    return tuple(entries)


class UnknownBackboneError(ValueError):
    """A backbone id that is neither in the catalogue nor accepted as a raw model name."""


def get_backbone(backbone_id: str) -> Backbone:
    """Catalogue entry by id (or by its exact source id); a clear error suggests near names."""
    for b in load_catalogue():
        if backbone_id in (b.id, b.source_id):
            return b
    ids = [b.id for b in load_catalogue()]
    close = difflib.get_close_matches(backbone_id, ids, n=3)
    hint = f"; did you mean {', '.join(close)}?" if close else f"; known ids: {', '.join(ids)}"
    raise UnknownBackboneError(f"unknown backbone '{backbone_id}'{hint}")


def candidates_for(modality: str, task: str) -> list[Backbone]:
    """Catalogue entries of this modality that support the task."""
    return [b for b in load_catalogue() if b.modality == modality and task in b.tasks]
