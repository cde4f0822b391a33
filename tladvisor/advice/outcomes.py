"""The outcomes table (`knowledge/outcomes.yaml`): measured results that ground the expectation band, validated on
load (a row without a checkable source, an unknown field or an impossible value is refused with its position).
Pure Python: no torch import."""
from __future__ import annotations

from functools import lru_cache
from typing import Literal, Optional

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from tladvisor.advice.knowledge import load_yaml

Difficulty = Literal["obvious", "subtle", "expert"]
DIFFICULTIES: tuple[str, ...] = ("obvious", "subtle", "expert")
Proximity = Literal["near", "medium", "far"]


class Source(BaseModel):
    """Where a row's number comes from: a paper's table (published) or a bench command of this project (own)."""

    model_config = ConfigDict(extra="forbid")

    kind: Literal["published", "own"]
    cite: Optional[str] = None
    where: Optional[str] = None
    note: Optional[str] = None
    command: Optional[str] = None
    results: Optional[str] = None
    data: Optional[str] = None

    @model_validator(mode="after")
    def _checkable(self) -> "Source":
        if self.kind == "published" and not (self.cite and self.where):
            raise ValueError("a published source needs `cite` (the paper) and `where` (its table or figure)")
        if self.kind == "own" and not (self.command and self.results):
            raise ValueError("an own source needs the `command` that reproduces it and its `results` file")
        return self


class Outcome(BaseModel):
    """One measured result."""

    model_config = ConfigDict(extra="forbid")

    dataset: str
    group: Optional[str] = Field(None, description="rows sharing source data are held out together")
    modality: Literal["image", "text", "tabular"]
    task: str
    domain: str
    proximity: Proximity
    classes: int = Field(ge=1)
    per_class: Optional[float] = Field(None, gt=0)
    total: Optional[int] = Field(None, gt=0)
    difficulty: Difficulty
    backbone: str
    strategy: Literal["linear_probe", "lora", "partial", "progressive", "full", "gradient_boosting"]
    metric: Literal["accuracy", "macro_f1", "entity_f1"]
    value: float = Field(ge=0, le=1)
    source: str
    printed: Optional[str] = None
    key: Optional[str] = None

    @property
    def held_out_as(self) -> str:
        """The unit of leave-one-data-set-out: the group, else the data set."""
        return self.group or self.dataset


class OutcomeTable(BaseModel):
    """The whole file: sources and rows."""

    model_config = ConfigDict(extra="forbid")

    sources: dict[str, Source]
    rows: list[Outcome]

    @model_validator(mode="after")
    def _sources_known(self) -> "OutcomeTable":
        for i, row in enumerate(self.rows):
            if row.source not in self.sources:
                raise ValueError(f"rows[{i}] ({row.dataset}): unknown source '{row.source}'")
            if self.sources[row.source].kind == "published" and not row.printed:
                raise ValueError(f"rows[{i}] ({row.dataset}): a published row needs `printed` (the value as printed)")
            if self.sources[row.source].kind == "own" and not row.key:
                raise ValueError(f"rows[{i}] ({row.dataset}): an own row needs `key` (where its results file has it)")
            if row.per_class is None and row.total is None:
                raise ValueError(f"rows[{i}] ({row.dataset}): give per_class or total")
        return self


class OutcomesError(ValueError):
    """knowledge/outcomes.yaml is missing or invalid."""


@lru_cache(maxsize=1)
def load_outcomes() -> OutcomeTable:
    """The validated outcomes table."""
    raw = load_yaml("outcomes.yaml")
    if not raw:
        raise OutcomesError("knowledge/outcomes.yaml is missing or empty")
    try:
        return OutcomeTable(**raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(x) for x in first.get("loc", ()))
        raise OutcomesError(f"knowledge/outcomes.yaml: {where}: {first['msg']}") from exc
