"""Text data in: CSV / TSV / JSONL / Excel with a text and a label column (decoded by `text_encoding`, errors
naming the line), and the audit (rows per class, empty texts, duplicates and leakage, long texts, singletons)."""
from __future__ import annotations

import csv
import hashlib
import io
import json
import re
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple, Optional

from pydantic import BaseModel, Field

from tladvisor.safe_text import md
from tladvisor.training.audit_markdown import finding_sections

from tladvisor.training.errors import DataError
from tladvisor.training.labels import case_collisions, normalise_label
from tladvisor.training.spreadsheets import is_spreadsheet, read_sheet
from tladvisor.training.text_encoding import decode_file_bytes

TEXT_EXTENSIONS = {".csv": ",", ".tsv": "\t", ".tab": "\t", ".jsonl": None, ".ndjson": None, ".json": None}
CSV_DELIMITERS = (",", ";", "\t", "|")  # Excel writes ';' where the decimal mark is a comma (German, French, ...)
MAX_TEXT_FILE_BYTES = 1 << 30
csv.field_size_limit(10 * 1024 * 1024)


@dataclass
class TextRow:
    """One labelled text and where it came from."""

    text: str
    label: str
    line: int
    source: str
    split: Optional[str] = None

    @property
    def key(self) -> str:
        """Content hash of the normalised text (duplicate detection and feature-cache keys)."""
        return hashlib.sha1(" ".join(self.text.split()).lower().encode("utf-8")).hexdigest()


class TextFile(NamedTuple):
    """What `read_labelled_texts` found in one file."""

    rows: list[TextRow]
    empty: list[int]  # line numbers of texts that were empty (dropped)
    bom: bool  # the file started with a byte-order mark
    missing_labels: list[int] = []  # line numbers whose label was missing (empty, NaN, NULL, None, N/A: dropped)
    notes: list[str] = []  # how the file was read, when the audit should say so (encoding, which sheet)


def _duplicate_columns(names: list[str]) -> list[str]:
    """Column names given twice (unnamed columns, e.g. a spreadsheet's trailing commas, do not count)."""
    seen: Counter = Counter(n.strip() for n in names if n.strip())
    return sorted(n for n, k in seen.items() if k > 1)


def _resolve_column(wanted: str, columns: set[str]) -> Optional[str]:
    """The column named `wanted`, or the one column that matches it ignoring case ('Text' for 'text')."""
    if wanted in columns:
        return wanted
    folded = [c for c in columns if isinstance(c, str) and c.strip().casefold() == wanted.strip().casefold()]
    return folded[0] if len(folded) == 1 else None


def _csv_dialect(text: str, default: str) -> tuple[str, str, int]:
    """(delimiter, text without an Excel `sep=;` line, lines removed). A .csv file's delimiter is the one its
    header line uses most (outside quotes): spreadsheets in many locales save ';'-separated "CSV"."""
    first, _, rest = text.partition("\n")
    if first.strip().lower().startswith("sep=") and len(first.strip()) == 5:
        return first.strip()[4], rest, 1
    if default != ",":
        return default, text, 0
    unquoted = re.sub(r'"[^"]*"', "", first)
    counts = {d: unquoted.count(d) for d in CSV_DELIMITERS}
    best = max(counts, key=counts.get)
    return (best if counts[best] > counts[","] else ","), text, 0


def _json_records(text: str, name: str, ext: str) -> list[tuple[int, dict]]:
    """(line or item number, object) from JSON Lines, or from a .json array of objects."""
    if ext == ".json":
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise DataError(f"{name}, line {exc.lineno}: not valid JSON ({exc.msg})") from exc
        if isinstance(data, dict) and len(data) == 1 and isinstance(next(iter(data.values())), list):
            data = next(iter(data.values()))  # {"data": [...]}
        if not isinstance(data, list):
            raise DataError(f"{name}: expected a JSON array of objects (or JSON Lines: one object per line)")
        bad = next((i for i, obj in enumerate(data, 1) if not isinstance(obj, dict)), None)
        if bad:
            raise DataError(f"{name}, item {bad}: expected a JSON object with a text and a label")
        return list(enumerate(data, 1))
    records = []
    for n, line in enumerate(text.split("\n"), 1):  # JSON Lines end at \n only (a text may hold U+2028)
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as exc:
            raise DataError(f"{name}, line {n}: not valid JSON ({exc.msg})") from exc
        if not isinstance(obj, dict):
            raise DataError(f"{name}, line {n}: expected a JSON object with a text and a label")
        records.append((n, obj))
    return records


def _text_records(text: str, name: str, ext: str) -> tuple[list[tuple[int, dict]], set]:
    """(line number, {column: value}) records and the column names of a decoded CSV / TSV / JSON(L) file."""
    records: list[tuple[int, dict]] = []
    if TEXT_EXTENSIONS[ext] is None:
        records = _json_records(text, name, ext)
        columns = set().union(*(r.keys() for _, r in records)) if records else set()
    else:
        delimiter, text, skipped = _csv_dialect(text, TEXT_EXTENSIONS[ext])
        reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
        try:
            header = next(reader, None) or []
            dupes = _duplicate_columns(header)
            if dupes:
                raise DataError(f"{name}: column name(s) {', '.join(repr(d) for d in dupes)} appear more than once "
                                "in the header; rename them so each column has its own name")
            header = [h.strip() for h in header]
            columns = set(header)
            for row in reader:
                if not any(cell.strip() for cell in row):
                    continue  # blank line
                records.append((reader.line_num + skipped, dict(zip(header, row))))
        except csv.Error as exc:
            raise DataError(f"{name}, line {reader.line_num + skipped}: {exc}") from exc
    return records, columns


def read_labelled_texts(source: str | Path, text_col: str = "text", label_col: str = "label") -> TextFile:
    """Labelled texts of a CSV / TSV / JSONL file or an Excel workbook's sheet. Rows with a missing label are dropped and listed, labels are
    normalised (`tladvisor.training.labels`); clear errors name the file and the line or column."""
    path = Path(source)
    if not path.is_file():
        raise DataError(f"{path.name}: no such file")
    ext = path.suffix.lower()
    if ext not in TEXT_EXTENSIONS and not is_spreadsheet(path):
        raise DataError(f"{path.name}: expected a .csv, .tsv, .jsonl, .json or .xlsx file of labelled texts")
    if path.stat().st_size > MAX_TEXT_FILE_BYTES:
        raise DataError(f"{path.name}: {path.stat().st_size / 1e9:.1f} GB is over the 1 GB limit for a text file")
    name = path.name
    read_notes: list[str] = []
    if is_spreadsheet(path):
        sheet = read_sheet(path, wanted=(text_col, label_col))
        dupes = _duplicate_columns(sheet.header)
        if dupes:
            raise DataError(f"{name}, sheet '{sheet.name}': column name(s) {', '.join(repr(d) for d in dupes)} "
                            "appear more than once in the header; rename them so each column has its own name")
        records, columns, bom = sheet.records(), set(sheet.header), False
        read_notes += [f"{name}: {sheet.note}"] if sheet.note else []
    else:
        decoded = decode_file_bytes(path.read_bytes(), path.name)
        text, bom = decoded.text, decoded.bom
        read_notes += [f"{name}: {decoded.note}"] if decoded.note else []
        if "\x00" in text:
            raise DataError(f"{name}: contains NUL bytes; it looks like a binary file, not a UTF-8 text table")
        records, columns = _text_records(text, name, ext)
    resolved = []
    for col, flag, field in ((text_col, "--text-col", "Text column"), (label_col, "--label-col", "Label column")):
        found_col = _resolve_column(col, columns)
        if found_col is None:
            shown = ", ".join(sorted(map(str, columns - {""}))[:20]) or "none"
            raise DataError(f"{name}: no column '{col}' (columns: {shown}); "
                            f"name the right one with {flag} (in the app: the '{field}' field)")
        resolved.append(found_col)
    text_col, label_col = resolved
    if text_col == label_col:
        raise DataError(f"{name}: the text and the label column are both '{text_col}'; name two different columns")
    rows, empty, missing = [], [], []
    for n, rec in records:
        if isinstance(rec.get(label_col), (list, dict)) and rec.get(label_col):
            raise DataError(f"{name}, line {n}: the label is a {type(rec[label_col]).__name__} "
                            f"({json.dumps(rec[label_col])[:60]}); give one label per row (multi-label data is not "
                            "supported: repeat the row once per label or combine the labels into one class name)")
        label = normalise_label(rec.get(label_col))
        if label is None:
            missing.append(n)
            continue
        value = rec.get(text_col)
        value = "" if value is None else value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
        if not value.strip():
            empty.append(n)
            continue
        rows.append(TextRow(value, label, n, str(path)))
    if not rows:
        raise DataError(f"{name}: no labelled texts found"
                        + (f" ({len(missing)} row(s) have no label in column '{label_col}')" if missing else ""))
    return TextFile(rows, empty, bom, missing, read_notes)


class TextAuditReport(BaseModel):
    """What the text audit found."""

    n_rows: int
    classes: list[str]
    per_class: dict[str, int]
    per_split: dict[str, dict[str, int]] = Field(default_factory=dict)
    empty_texts: list[str] = Field(default_factory=list)
    missing_labels: list[str] = Field(default_factory=list)
    exact_duplicates: list[list[str]] = Field(default_factory=list)
    leakage: list[dict[str, str]] = Field(default_factory=list)
    conflicting_labels: list[str] = Field(default_factory=list)
    max_length: Optional[int] = None
    too_long: int = 0
    token_length: dict[str, float] = Field(default_factory=dict)
    singleton_labels: list[str] = Field(default_factory=list)
    bom: bool = False
    imbalance_ratio: float = 1.0
    warnings: list[str] = Field(default_factory=list)

    def to_markdown(self) -> str:
        lines = [f"**{self.n_rows} labelled texts in {len(self.classes)} classes** "
                 f"(imbalance max/min {self.imbalance_ratio:.1f}x)", ""]
        if len(self.classes) <= 40:
            splits = list(self.per_split)
            lines += ["| class | rows | " + " | ".join(splits) + " |", "|---|---|" + "---|" * len(splits)]
            lines += [f"| {md(c)} | {self.per_class[c]} | " + " | ".join(str(self.per_split[s].get(c, 0)) for s in splits)
                      + " |" for c in self.classes]
        else:
            counts = sorted(self.per_class.values())
            lines.append(f"Rows per class: min {counts[0]}, median {counts[len(counts) // 2]}, max {counts[-1]}.")
        if self.max_length:
            lines += ["", f"Token length: median {self.token_length.get('median')}, p95 {self.token_length.get('p95')}; "
                      f"{self.too_long} text(s) exceed the model's max length {self.max_length} and are truncated."]
        lines += finding_sections([
            ("Rows without a label (empty, NaN, NULL, None, N/A: skipped)", self.missing_labels),
            ("Empty or whitespace-only texts (skipped)", self.empty_texts),
            ("Exact duplicates", [" = ".join(g) for g in self.exact_duplicates]),
            ("Train/test leakage", [f"{x['a']} ({x['split_a']}) = {x['b']} ({x['split_b']})"
                                   for x in self.leakage]),
            ("Same text, different labels", self.conflicting_labels),
            ("Warnings", self.warnings)])
        return "\n".join(lines) + "\n"


def audit_texts(rows: list[TextRow], classes: list[str], empty: list[str], bom: bool,
                lengths: Optional[list[int]] = None, max_length: Optional[int] = None,
                missing_labels: Optional[list[str]] = None, notes: Optional[list[str]] = None) -> TextAuditReport:
    """Audit labelled texts whose splits are assigned; `lengths` are token counts (before truncation)."""
    import numpy as np

    where = lambda r: f"{Path(r.source).name}:{r.line}"  # noqa: E731
    per_class = Counter(r.label for r in rows)
    per_split: dict[str, Counter] = {}
    for r in rows:
        per_split.setdefault(r.split or "all", Counter())[r.label] += 1
    order = {"train": 0, "val": 1, "test": 2}
    report = TextAuditReport(n_rows=len(rows), classes=classes, per_class=dict(per_class), bom=bom,
                             per_split={k: dict(v) for k, v in sorted(per_split.items(), key=lambda kv: order.get(kv[0], 9))},
                             empty_texts=empty, max_length=max_length, missing_labels=missing_labels or [])
    groups: dict[str, list[TextRow]] = {}
    for r in rows:
        groups.setdefault(r.key, []).append(r)
    for g in groups.values():
        if len(g) < 2:
            continue
        report.exact_duplicates.append([where(r) for r in g])
        if len({r.label for r in g}) > 1:
            report.conflicting_labels.append(f"'{g[0].text[:60]}' at {', '.join(where(r) for r in g)} is labelled "
                                             f"{', '.join(sorted({r.label for r in g}))}")
        for i in range(len(g)):
            for j in range(i + 1, len(g)):
                if g[i].split and g[j].split and g[i].split != g[j].split:
                    report.leakage.append({"a": where(g[i]), "split_a": g[i].split, "b": where(g[j]),
                                           "split_b": g[j].split})
    if lengths:
        arr = np.asarray(lengths)
        report.token_length = {"median": float(np.median(arr)), "p95": float(np.percentile(arr, 95)),
                               "max": int(arr.max())}
        report.too_long = int((arr > max_length).sum()) if max_length else 0
    report.singleton_labels = sorted(c for c, n in per_class.items() if n == 1)
    counts = [per_class[c] for c in classes]
    report.imbalance_ratio = round(max(counts) / max(1, min(counts)), 2)
    if bom:
        report.warnings.append("the file starts with a byte-order mark (BOM); it was removed")
    if report.missing_labels:
        report.warnings.append(f"{len(report.missing_labels)} row(s) without a label were left out of training")
    report.warnings += [f"labels that differ only in letter case are separate classes: {g}"
                        for g in case_collisions(classes)]
    report.warnings += notes or []
    if report.singleton_labels:
        report.warnings.append(f"labels seen only once (cannot be both trained and tested): "
                               f"{', '.join(report.singleton_labels[:10])}")
    if report.leakage:
        report.warnings.append(f"{len(report.leakage)} duplicate text(s) cross the train/val/test split: "
                               "the test score will be optimistic")
    if report.imbalance_ratio > 3:
        report.warnings.append(f"class imbalance {report.imbalance_ratio:.1f}x; macro-F1 is the fairer metric")
    if report.too_long:
        report.warnings.append(f"{report.too_long} text(s) longer than {max_length} tokens are truncated")
    return report


# codes such as "3", "LABEL_0" or "class-12" say nothing about the class; only word-like labels are used
_CODE_LABEL = re.compile(r"^\s*(?:label|class|cat|category|c)?[\s_-]*\d+\s*$", re.IGNORECASE)
LABEL_NAME_COPIES = 3  # measured on BANKING77 at 10/class: 1 copy 86.7%, 3 copies 87.1% (none: 86.3%)


def label_name_text(label: str) -> str | None:
    """A class name as a short text ('card_arrival' -> 'card arrival', 'CardArrival' -> 'card arrival'), or None
    when the label is a code with no words in it."""
    if _CODE_LABEL.match(label) or sum(ch.isalpha() for ch in label) < 2:
        return None
    spaced = re.sub(r"(?<=[a-z])(?=[A-Z])", " ", label)
    return " ".join(re.sub(r"[_\-./:]+", " ", spaced).split()).lower()


def label_name_rows(classes: list[str]) -> list[TextRow]:
    """Extra training rows, each class's name as its text (LABEL_NAME_COPIES each); none when any label is a
    code, since a half-named label set would favour the named classes."""
    names = {c: label_name_text(c) for c in classes}
    if any(n is None for n in names.values()):
        return []
    return [TextRow(text=names[c], label=c, line=0, source="<label name>", split="train")
            for c in classes for _ in range(LABEL_NAME_COPIES)]
