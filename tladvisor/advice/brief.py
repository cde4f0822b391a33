"""`ProjectBrief`: what the scoping conversation (or the CLI) gathers about a project."""
from __future__ import annotations

import re
from typing import Literal, Optional

from pydantic import BaseModel, ConfigDict, Field, ValidationError, ValidationInfo, field_validator, model_validator

from tladvisor.advice.catalogue import get_backbone
from tladvisor.advice.domains import canonical_domain, domains

Task = Literal[
    "image-classification",
    "object-detection",
    "image-segmentation",
    "text-classification",
    "sentiment",
    "ner",
    "tabular-classification",
    "tabular-regression",
]
TASKS: tuple[str, ...] = Task.__args__  # type: ignore[attr-defined]
_TASK_ALIASES = {
    "image": "image-classification",
    "images": "image-classification",
    "classification": "image-classification",
    "detection": "object-detection",
    "segmentation": "image-segmentation",
    "text": "text-classification",
    "intent": "text-classification",
    "intents": "text-classification",
    "sentiment-analysis": "sentiment",
    "named-entity-recognition": "ner",
    "tabular": "tabular-classification",
    "regression": "tabular-regression",
}
MODALITY_OF_TASK = {
    "image-classification": "image",
    "object-detection": "image",
    "image-segmentation": "image",
    "text-classification": "text",
    "sentiment": "text",
    "ner": "text",
    "tabular-classification": "tabular",
    "tabular-regression": "tabular",
}
ONE_CLASS_TASKS = ("object-detection", "image-segmentation", "ner")  # one kind of object / mask / name is a task
_LANGUAGE_ALIASES = {"english": "en", "german": "de", "french": "fr", "spanish": "es", "italian": "it",
                     "dutch": "nl", "portuguese": "pt", "polish": "pl", "chinese": "zh", "japanese": "ja",
                     "arabic": "ar", "multilingual": "multi"}


class ProjectBrief(BaseModel):
    """Validated project facts. Only `task` is required; `advise` says what else it needs."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True)

    task: Task = Field(description="What the model must do.")
    domain: str = Field("general", description="Client domain (manufacturing, medical, legal, finance, ...).")
    classes: Optional[int] = Field(None, ge=1, description="Number of classes (entity types for NER, object kinds "
                                                          "for detection: one is allowed there).")
    per_class: Optional[int] = Field(None, ge=1, description="Labelled examples per class (average).")
    total: Optional[int] = Field(None, ge=1, description="Labelled examples in total (documents for NER).")
    label_quality: Literal["clean", "some_noise", "noisy", "unknown"] = "unknown"
    unlabelled_data: bool = Field(False, description="Is unlabelled in-domain data available?")
    commercial: Optional[bool] = Field(None, description="Will the model be used commercially? None = not stated.")
    edge: bool = Field(False, description="Must run on an edge / mobile device.")
    latency_ms: Optional[float] = Field(None, gt=0, description="Inference latency budget per example.")
    compute: Literal["cpu", "single_gpu", "multi_gpu"] = "cpu"
    keep_original: bool = Field(False, description="Must keep its original-domain performance.")
    language: str = "en"
    image_size: Optional[int] = Field(None, ge=8, description="Typical image side in pixels.")
    task_complexity: Optional[Literal["simple", "complex"]] = None
    preferred_backbones: list[str] = Field(default_factory=list, description="Catalogue ids the client asked about.")
    project_name: Optional[str] = Field(None, max_length=200)
    problem: Optional[str] = Field(None, max_length=1000, description="The problem in the client's own words.")
    class_counts: Optional[dict[str, int]] = Field(
        None, description="Labelled examples per named class, as the client gave them ({'defect': 40, 'ok': 3000}); "
                          "may name only some classes (e.g. only the smallest).")
    error_priority: Optional[str] = Field(
        None, description="Which mistake costs more: 'recall:<class>' (never miss one), 'precision:<class>' (few "
                          "false alarms) or 'balanced'. None = not stated.")
    target: Optional[float] = Field(None, gt=0, le=1, description="The client's own bar in the acceptance metric "
                                                                  "(0.95 = 'catch 95% of defects').")
    difficulty: Optional[Literal["obvious", "subtle", "expert"]] = Field(
        None, description="How hard the classes are to tell apart: obvious (a newcomer can after a short "
                          "explanation), subtle (needs a trained eye or close reading), expert (experts sometimes "
                          "disagree; graded or ambiguous labels). None = not known: a wider band.")

    @field_validator("task", mode="before")
    @classmethod
    def _normalise_task(cls, value: object) -> object:
        if isinstance(value, str):
            key = value.strip().lower().replace("_", "-").replace(" ", "-")
            return _TASK_ALIASES.get(key, key)
        return value

    @field_validator("domain", mode="before")
    @classmethod
    def _normalise_domain(cls, value: object) -> str:
        if value is None or (isinstance(value, str) and not value.strip()):
            return "general"
        name = canonical_domain(str(value))
        if name is None:
            raise ValueError(f"unknown domain '{value}'; choose one of: {', '.join(domains())}")
        return name

    @field_validator("language", mode="before")
    @classmethod
    def _normalise_language(cls, value: object) -> str:
        text = str(value or "en").strip().lower()
        return _LANGUAGE_ALIASES.get(text, text)

    @field_validator("label_quality", mode="before")
    @classmethod
    def _normalise_quality(cls, value: object) -> object:
        if isinstance(value, str):
            key = value.strip().lower().replace(" ", "_").replace("-", "_")
            return {"good": "clean", "high": "clean", "some": "some_noise", "medium": "some_noise",
                    "bad": "noisy", "poor": "noisy", "low": "noisy"}.get(key, key)
        return value

    @field_validator("preferred_backbones")
    @classmethod
    def _known_backbones(cls, value: list[str]) -> list[str]:
        return [get_backbone(v).id for v in value]  # raises a clear "unknown backbone" error

    @field_validator("classes")
    @classmethod
    def _two_classes_to_classify(cls, value: Optional[int], info: ValidationInfo) -> Optional[int]:
        if value == 1 and info.data.get("task") not in ONE_CLASS_TASKS:
            raise ValueError("Input should be greater than or equal to 2 for a classifier (one class has nothing "
                             "to tell apart)")
        return value

    @field_validator("class_counts", mode="before")
    @classmethod
    def _clean_counts(cls, value: object) -> object:
        if not value:
            return None
        if isinstance(value, dict):
            out: dict[str, int] = {}
            for name, count in value.items():
                key = re.sub(r"\s+", " ", str(name)).strip()[:60] or "class"
                out[key] = count  # type: ignore[assignment]
            return out
        return value

    @field_validator("class_counts")
    @classmethod
    def _positive_counts(cls, value: Optional[dict[str, int]]) -> Optional[dict[str, int]]:
        if value and any(v < 1 for v in value.values()):
            raise ValueError("every class count must be at least 1")
        return value

    @field_validator("error_priority", mode="before")
    @classmethod
    def _normalise_priority(cls, value: object) -> object:
        if value is None or (isinstance(value, str) and not value.strip()):
            return None
        text = str(value).strip().lower()
        if text in ("balanced", "both", "equal"):
            return "balanced"
        kind, _, name = text.partition(":")
        if kind not in ("recall", "precision"):
            raise ValueError("error_priority: use 'recall:<class>', 'precision:<class>' or 'balanced'")
        return f"{kind}:{name.strip()}" if name.strip() else kind
        
    @model_validator(mode="after")
    def _consistent_volume(self) -> "ProjectBrief":
        counts = self.class_counts
        if counts:
            if self.classes is None and len(counts) >= 2:
                object.__setattr__(self, "classes", len(counts))
            named = sum(counts.values())
            if self.classes and len(counts) == self.classes - 1 and self.total and self.total > named:
                # "20k customers, 12% churned": the one class not named holds the rest
                object.__setattr__(self, "class_counts", {**counts, "other": self.total - named})
            elif self.classes and len(counts) == self.classes and self.total is None:
                object.__setattr__(self, "total", named)
            if self.classes and len(self.class_counts or {}) == self.classes:
                object.__setattr__(self, "total", sum((self.class_counts or {}).values()))
                object.__setattr__(self, "per_class", max(1, self.total // self.classes))
        if self.task == "ner":  # NER volume is counted in documents, not per entity type
            if self.total is None and self.per_class is not None:  # "400 per entity type": about that many each
                object.__setattr__(self, "total", self.per_class * (self.classes or 1))
            return self
        if self.per_class is None and self.total is not None and self.classes:
            object.__setattr__(self, "per_class", max(1, self.total // self.classes))
        if self.total is None and self.per_class is not None and self.classes:
            object.__setattr__(self, "total", self.per_class * self.classes)
        return self

    @property
    def modality(self) -> str:
        return MODALITY_OF_TASK[self.task]

    @property
    def complete_counts(self) -> Optional[dict[str, int]]:
        """Every class's count, when the client gave them all (else None)."""
        counts = self.class_counts
        return counts if counts and self.classes and len(counts) == self.classes else None

    @property
    def smallest_class(self) -> Optional[tuple[str, int]]:
        """(name, count) of the smallest class the client named, or None."""
        if not self.class_counts:
            return None
        name = min(self.class_counts, key=lambda k: self.class_counts[k])  # type: ignore[index]
        return name, self.class_counts[name]

    @property
    def majority_share(self) -> Optional[float]:
        """The share of the largest class (what 'always answer the majority' scores), when the counts say it;
        1/classes for a brief without counts (the balanced assumption)."""
        full = self.complete_counts
        if full:
            return max(full.values()) / sum(full.values())
        if self.class_counts and self.total and self.classes:
            named = sum(self.class_counts.values())
            rest = (self.total - named) / max(1, self.classes - len(self.class_counts))
            return max([*self.class_counts.values(), rest]) / self.total
        return 1 / self.classes if self.classes else None

    @property
    def imbalanced(self) -> bool:
        """The largest class has at least 3x the smallest one's examples (or one class is under 20% of two)."""
        small = self.smallest_class
        if small is None or not self.classes:
            return False
        share = self.majority_share or 0
        if self.classes == 2:
            return share >= 0.75
        biggest = share * (self.total or 0)
        return biggest >= 3 * small[1]

    @property
    def priority(self) -> tuple[str, Optional[str]]:
        """('recall' | 'precision' | 'balanced' | 'unknown', the class it is about or None)."""
        if not self.error_priority:
            return "unknown", None
        kind, _, name = self.error_priority.partition(":")
        return kind, name or None

    def missing_for_advice(self) -> list[str]:
        """Fields `advise` still needs, each with why (empty when the brief is complete enough)."""
        missing = []
        if self.modality == "tabular" or self.task in ONE_CLASS_TASKS:
            if self.total is None and self.per_class is None:
                missing.append("total (how many labelled rows / documents)")
        else:
            if self.classes is None:
                missing.append("classes (how many classes)")
            if self.per_class is None and self.total is None:
                missing.append("per_class or total (how many labelled examples)")
        return missing


def format_validation_error(exc: ValidationError) -> str:
    """One line per bad field: `field: message` (what a user can act on)."""
    parts = []
    for err in exc.errors():
        field = ".".join(str(p) for p in err.get("loc", ())) or "brief"
        msg = err.get("msg", "invalid value").removeprefix("Value error, ")
        parts.append(f"{field}: {msg}")
    return "; ".join(parts)
