"""Label values from client files, normalised in one place: what counts as a missing label, and how numbers
are spelled, so `1`, `"1"`, `1.0` and `" 1 "` are one class and `NaN`, `NULL` or an empty cell is no class."""
from __future__ import annotations

import math
import re
from typing import Any, Optional

# spellings spreadsheets, pandas and databases use for "no value" (compared case-insensitively)
MISSING_LABEL_TOKENS = frozenset({"", "nan", "null", "none", "n/a", "na", "#n/a", "<na>"})
_NUMBER = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$")


def normalise_label(value: Any) -> Optional[str]:
    """The class name for a raw label value, or None when the value means "missing".

    Whitespace around a label is removed (it is invisible in every spreadsheet); numbers are written one way
    (`1`, `1.0` and `"1.00"` -> "1"; `2.5` -> "2.5"); booleans become "true" / "false"; everything else is
    kept as written (case included: "Cat" and "cat" stay two classes, the audit points them out).
    """
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        if isinstance(value, float) and (math.isnan(value) or math.isinf(value)):
            return None
        return _number_text(float(value)) if isinstance(value, float) else str(value)
    if isinstance(value, (list, dict)):
        return None if not value else str(value)
    text = " ".join(str(value).split())
    if text.lower() in MISSING_LABEL_TOKENS:
        return None
    if _NUMBER.match(text):
        try:
            return _number_text(float(text))
        except OverflowError:
            return text
    return text


def _number_text(x: float) -> str:
    if math.isinf(x) or math.isnan(x):
        return str(x)
    return str(int(x)) if x.is_integer() and abs(x) < 1e15 else repr(x)


def case_collisions(classes: list[str]) -> list[str]:
    """Groups of class names that differ only in letter case ("Cat" / "cat"): usually one class typed twice."""
    groups: dict[str, list[str]] = {}
    for c in classes:
        groups.setdefault(c.casefold(), []).append(c)
    return [" / ".join(sorted(g)) for g in groups.values() if len(g) > 1]
