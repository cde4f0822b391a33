"""Tabular data: read a CSV/TSV with a label column, infer each column's kind, and audit it (missing labels,
ID-like, constant and free-text columns, columns that alone predict the label almost perfectly: likely leakage)."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

import numpy as np
from pydantic import BaseModel, Field

from tladvisor.safe_text import md
from tladvisor.training.errors import DataError
from tladvisor.training.spreadsheets import is_spreadsheet, read_sheet
from tladvisor.training.text_encoding import decode_file_bytes

TABLE_EXTENSIONS = (".csv", ".tsv", ".tab")
MAX_CATEGORIES = 50  # a text column with more distinct values is free text or an identifier, not a category
LEAK_SCORE = 0.98  # balanced accuracy one column reaches alone that makes it suspicious
ID_UNIQUE_RATIO = 0.95


def read_frame(path: str | Path, wanted: tuple[str, ...] = ()) -> "Any":
    """A pandas DataFrame of a delimited file (comma, semicolon or tab separated, decoded by `text_encoding`) or of
    an Excel workbook's sheet (the one with the `wanted` columns when there are several). How the file was read,
    when an audit should say so, is in `frame.attrs["notes"]`."""
    import io

    import pandas as pd

    file = Path(path)
    if not file.is_file():
        raise DataError(f"{file.name}: file not found")
    notes: list[str] = []
    if is_spreadsheet(file):
        sheet = read_sheet(file, wanted=wanted)
        text, sep = sheet.as_csv(), ","
        notes += [f"{file.name}: {sheet.note}"] if sheet.note else []
    else:
        decoded = decode_file_bytes(file.read_bytes(), file.name)
        text = decoded.text
        sep = "\t" if file.suffix.lower() in (".tsv", ".tab") else None  # None: sniffed (comma or semicolon)
        notes += [f"{file.name}: {decoded.note}"] if decoded.note else []
    try:
        frame = pd.read_csv(io.StringIO(text), sep=sep, engine="python", skipinitialspace=True)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, ValueError) as exc:
        raise DataError(f"{file.name}: not a readable table ({str(exc).splitlines()[0][:200]})") from exc
    frame.columns = [str(c).strip() for c in frame.columns]
    frame.attrs["notes"] = notes
    return frame


def read_table(path: str | Path, label_col: str) -> "Any":
    """`read_frame` of a labelled table. Refuses, naming the file and the columns it has, when `label_col` is
    absent or alone."""
    file = Path(path)
    frame = read_frame(file, (label_col,))
    if len(set(frame.columns)) != len(frame.columns):
        dup = sorted({c for c in frame.columns if list(frame.columns).count(c) > 1})
        raise DataError(f"{file.name}: duplicate column name(s) {', '.join(repr(d) for d in dup[:5])}")
    if label_col not in frame.columns:
        raise DataError(f"{file.name}: no label column '{label_col}'; columns are "
                        f"{', '.join(repr(c) for c in list(frame.columns)[:20])} (pass --label-col NAME)")
    if len(frame.columns) < 2:
        raise DataError(f"{file.name}: only the label column '{label_col}'; a table needs feature columns")
    return frame


def label_strings(values: "Any") -> tuple[list[Optional[str]], list[int]]:
    """Labels as strings (1.0 and 1 are the same class "1"); None where missing. Also the missing positions."""
    out: list[Optional[str]] = []
    missing = []
    for i, v in enumerate(values.tolist()):
        if v is None or (isinstance(v, float) and np.isnan(v)) or (isinstance(v, str) and not v.strip()):
            out.append(None)
            missing.append(i)
        elif isinstance(v, float) and v.is_integer():
            out.append(str(int(v)))
        else:
            out.append(str(v).strip())
    return out, missing


@dataclass
class ColumnPlan:
    """What each column is and what is done with it."""

    numeric: list[str] = field(default_factory=list)
    categorical: list[str] = field(default_factory=list)
    dropped: dict[str, str] = field(default_factory=dict)  # column -> why

    @property
    def features(self) -> list[str]:
        return self.numeric + self.categorical


def _as_numeric(series: "Any") -> Optional["Any"]:
    """The column as floats when (almost) every non-empty value parses as a number (decimal comma accepted)."""
    import pandas as pd

    if pd.api.types.is_bool_dtype(series) or pd.api.types.is_numeric_dtype(series):
        return series.astype(float)
    filled = series.dropna()
    if filled.empty or to_float(filled).notna().mean() < 0.98:
        return None
    return to_float(series)


def to_float(series: "Any") -> "Any":
    """Any column as floats (decimal comma accepted); what does not parse becomes NaN (missing)."""
    import pandas as pd

    if pd.api.types.is_numeric_dtype(series) or pd.api.types.is_bool_dtype(series):
        return series.astype(float)
    return pd.to_numeric(series.astype("string").str.strip().str.replace(",", ".", regex=False),
                         errors="coerce").astype(float)


def plan_columns(frame: "Any", label_col: str, train_mask: Optional[list[bool]] = None) -> tuple[ColumnPlan, "Any"]:
    """(the column plan, the frame with numeric columns converted). Kinds are read from the training rows
    (`train_mask`; all rows when None); ID-like, constant and free-text columns are dropped with the reason."""
    plan = ColumnPlan()
    frame = frame.copy()
    train = frame if train_mask is None else frame[train_mask]
    n = len(train)
    for col in frame.columns:
        if col == label_col:
            continue
        series = train[col]
        distinct = series.nunique(dropna=True)
        if distinct <= 1:
            plan.dropped[col] = "constant (one value)" if distinct == 1 else "empty"
            continue
        numeric = _as_numeric(series)
        if numeric is not None:
            values = numeric.dropna()
            is_int = bool(len(values)) and bool(np.all(np.equal(np.mod(values, 1), 0)))
            # a running number: a different integer in every row, densely covering its range
            if (is_int and n >= 20 and distinct == len(values) >= ID_UNIQUE_RATIO * n
                    and values.max() - values.min() + 1 <= 2 * len(values)):
                plan.dropped[col] = "ID-like (a running number, one per row)"
                continue
            frame[col] = to_float(frame[col])  # every row; a test value that is not a number becomes missing
            plan.numeric.append(col)
            continue
        if distinct >= ID_UNIQUE_RATIO * n and n >= 20:
            plan.dropped[col] = "ID-like (a different value in almost every row)"
        elif distinct > MAX_CATEGORIES:
            plan.dropped[col] = f"free text or identifier ({distinct} distinct values; categories allow {MAX_CATEGORIES})"
        else:
            frame[col] = frame[col].astype("string").str.strip().fillna("(missing)")
            plan.categorical.append(col)
    return plan, frame


class TabularAuditReport(BaseModel):
    """What the tabular audit found; written as audit.json / audit.md."""

    rows: int
    classes: dict[str, int]
    split_counts: dict[str, dict[str, int]] = Field(default_factory=dict)
    numeric: list[str] = Field(default_factory=list)
    categorical: list[str] = Field(default_factory=list)
    dropped: dict[str, str] = Field(default_factory=dict)
    leakage: dict[str, float] = Field(default_factory=dict, description="column -> balanced accuracy alone")
    missing_labels: list[str] = Field(default_factory=list)
    missing_values: dict[str, int] = Field(default_factory=dict)
    duplicates_across_splits: int = 0
    notes: list[str] = Field(default_factory=list)

    def to_markdown(self) -> str:
        lines = [f"**{self.rows} labelled rows**, {len(self.classes)} classes: "
                 + ", ".join(f"{md(c)} {n}" for c, n in self.classes.items()) + "."]
        lines.append(f"- Numeric columns ({len(self.numeric)}): {', '.join(md(c) for c in self.numeric) or 'none'}")
        lines.append(f"- Categorical columns ({len(self.categorical)}): "
                     f"{', '.join(md(c) for c in self.categorical) or 'none'}")
        for col, why in self.dropped.items():
            lines.append(f"- Not used: {md(col)}: {why}")
        for col, score in self.leakage.items():
            lines.append(f"- **Likely leakage, excluded:** {md(col)} alone predicts the label with balanced "
                         f"accuracy {score:.3f}; a column that does this is usually recorded after the outcome "
                         "(or is the label in disguise). Check it before using the model.")
        if self.missing_labels:
            lines.append(f"- {len(self.missing_labels)} row(s) without a label were left out "
                         f"(first: {', '.join(self.missing_labels[:5])})")
        if self.missing_values:
            lines.append("- Missing values (handled by the model): "
                         + ", ".join(f"{md(c)} {n}" for c, n in list(self.missing_values.items())[:10]))
        if self.duplicates_across_splits:
            lines.append(f"- {self.duplicates_across_splits} test row(s) repeat a training row exactly "
                         "(the test score may be optimistic)")
        lines += [f"- {md(n)}" for n in self.notes]
        return "\n".join(lines) + "\n"


def single_column_scores(frame: "Any", plan: ColumnPlan, y: np.ndarray, seed: int) -> dict[str, float]:
    """Cross-validated balanced accuracy of a small tree on each feature column alone (the leakage check)."""
    from sklearn.model_selection import StratifiedKFold, cross_val_predict
    from sklearn.metrics import balanced_accuracy_score
    from sklearn.tree import DecisionTreeClassifier

    counts = np.bincount(y)
    folds = int(min(3, counts[counts > 0].min()))
    if folds < 2:
        return {}
    out = {}
    for col in plan.features:
        if col in plan.numeric:
            x = frame[col].to_numpy(dtype=float).reshape(-1, 1)
            x = np.where(np.isnan(x), np.nanmin(x) - 1 if np.isfinite(np.nanmin(x)) else 0, x)
        else:
            x = frame[col].astype("category").cat.codes.to_numpy().reshape(-1, 1)
        pred = cross_val_predict(DecisionTreeClassifier(max_depth=4, random_state=seed), x, y,
                                 cv=StratifiedKFold(folds, shuffle=True, random_state=seed))
        out[col] = float(balanced_accuracy_score(y, pred))
    return out
