"""Excel workbooks (.xlsx / .xlsm) as labelled tables: clients keep tickets and machine logs in Excel, and
"save as CSV" is where encodings and delimiters go wrong. Read with openpyxl (cell values, not formulas).

Which sheet: the only one with data; else the first whose header holds the wanted columns (the label, and the
text for texts); the audit says which when there was a choice. Row numbers are the workbook's own, so a message
names the row a user sees in Excel. A workbook is a zip: its entries' sizes are checked before anything is
unpacked (a small hostile file must not fill the memory).
"""
from __future__ import annotations

import csv
import datetime as dt
import io
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional, Sequence

from tladvisor.training.errors import DataError

SPREADSHEET_EXTENSIONS = (".xlsx", ".xlsm")
NOT_READ = {".xls": "the old Excel 97-2003 format (.xls)", ".ods": "an OpenDocument spreadsheet (.ods)",
            ".numbers": "an Apple Numbers file", ".xlsb": "Excel's binary format (.xlsb)"}
MAX_WORKBOOK_BYTES = 200 << 20
MAX_UNPACKED_BYTES = 2 << 30  # the XML of ~1 million rows of short cells
MAX_RATIO = 200  # unpacked / packed: real sheets compress 5-20x, zip bombs thousands of times


def is_spreadsheet(path: Path) -> bool:
    """A workbook this module reads, or one it refuses with advice (old or foreign formats)."""
    return path.suffix.lower() in SPREADSHEET_EXTENSIONS or path.suffix.lower() in NOT_READ


@dataclass
class Sheet:
    """One sheet's header and rows, with the workbook's row numbers."""

    name: str
    header: list[str]
    rows: list[tuple[int, list[str]]] = field(default_factory=list)  # (row number in Excel, cells as text)
    note: Optional[str] = None  # which sheet was read, when the workbook had several with data

    def records(self) -> list[tuple[int, dict[str, str]]]:
        """(row number, {column: cell}) for every row; cells past the header's width are dropped."""
        return [(n, dict(zip(self.header, cells))) for n, cells in self.rows]

    def as_csv(self) -> str:
        """The sheet as CSV text (header first), for readers that parse CSV."""
        buf = io.StringIO()
        writer = csv.writer(buf, lineterminator="\n")
        writer.writerow(self.header)
        writer.writerows(cells for _, cells in self.rows)
        return buf.getvalue()


def cell_text(value: Any) -> str:
    """A cell as the text a user sees: 3.0 -> '3', dates as ISO, empty -> ''."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, dt.datetime):
        return value.isoformat(sep=" ") if value.time() != dt.time() else value.date().isoformat()
    return str(value)


def _check_container(path: Path) -> None:
    ext = path.suffix.lower()
    if ext in NOT_READ:
        raise DataError(f"{path.name}: {NOT_READ[ext]} is not read; save it as .xlsx or as CSV UTF-8 and give that "
                        "file")
    size = path.stat().st_size
    if size > MAX_WORKBOOK_BYTES:
        raise DataError(f"{path.name}: {size / 1e6:.0f} MB is over the {MAX_WORKBOOK_BYTES >> 20} MB limit for a "
                        "workbook; save the sheet as CSV")
    try:
        with zipfile.ZipFile(path) as zf:
            unpacked = sum(i.file_size for i in zf.infolist())
            encrypted = any(i.flag_bits & 0x1 for i in zf.infolist())
    except (zipfile.BadZipFile, OSError) as exc:
        # a password-protected workbook is an OLE container, not a zip
        with open(path, "rb") as fh:
            ole = fh.read(8) == b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
        raise DataError(f"{path.name}: " + ("the workbook is password-protected (or in the old .xls format); remove "
                                            "the password or save the sheet as .xlsx or CSV UTF-8" if ole else
                                            "not a readable Excel workbook (the file is damaged or not .xlsx)")
                        ) from exc
    if encrypted:
        raise DataError(f"{path.name}: the workbook has encrypted parts; save it without a password")
    if unpacked > MAX_UNPACKED_BYTES or unpacked > MAX_RATIO * max(size, 1):
        raise DataError(f"{path.name}: unpacks to {unpacked / 1e6:.0f} MB from {size / 1e6:.1f} MB; refused as a "
                        "likely zip bomb (save the sheet as CSV if it is genuine)")


def _fold(name: str) -> str:
    return name.strip().casefold()


def read_sheet(path: str | Path, wanted: Sequence[str] = (), max_rows: Optional[int] = None) -> Sheet:
    """The sheet of an .xlsx / .xlsm workbook that holds the data (see the module's rule). `wanted`: column names
    (matched ignoring case) that pick a sheet when several have data. `max_rows`: stop after that many rows (a
    quick look at the head). DataError naming the file, and the sheets with their columns, otherwise."""
    path = Path(path)
    _check_container(path)
    try:
        from openpyxl import load_workbook
    except ImportError as exc:  # a dependency of this package: only a broken install gets here
        raise DataError(f"{path.name}: reading Excel needs the openpyxl package (pip install openpyxl)") from exc
    try:
        book = load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many kinds on damaged XML; all mean the same to a user
        raise DataError(f"{path.name}: not a readable Excel workbook ({type(exc).__name__}: "
                        f"{str(exc).splitlines()[0][:120] if str(exc) else 'damaged'})") from exc
    try:
        sheets = [_read(ws, max_rows) for ws in book.worksheets]
    finally:
        book.close()
    with_data = [s for s in sheets if s is not None and s.header]
    if not with_data:
        raise DataError(f"{path.name}: no sheet holds any data")
    if len(with_data) == 1:
        return with_data[0]
    folded = [_fold(w) for w in wanted]
    for s in with_data:
        if all(w in {_fold(h) for h in s.header} for w in folded):
            others = ", ".join(repr(o.name) for o in with_data if o is not s)
            s.note = (f"sheet '{s.name}' was read (the first with column(s) {', '.join(map(repr, wanted))}); "
                      f"the workbook's other sheet(s) with data, {others}, were not")
            return s
    listing = "; ".join(f"'{s.name}': {', '.join(s.header[:8])}" for s in with_data[:6])
    raise DataError(f"{path.name}: no sheet has the column(s) {', '.join(map(repr, wanted))} (sheets: {listing}); "
                    "name the columns with --text-col / --label-col, or keep one sheet")


def _read(ws: Any, max_rows: Optional[int]) -> Optional[Sheet]:
    """The header (first row with a value) and the rows below it; None for a chart sheet."""
    if not hasattr(ws, "iter_rows"):
        return None
    sheet = Sheet(ws.title, [])
    ws.reset_dimensions()  # some writers record a wrong used range (A1:A1); read every stored row instead
    for number, values in enumerate(ws.iter_rows(values_only=True), 1):
        cells = [cell_text(v) for v in values]
        if not any(c.strip() for c in cells):
            continue  # blank rows above the header or between records
        if not sheet.header:  # the first row with a value: names stripped, empty columns at the right dropped
            sheet.header = [c.strip() for c in cells]
            while sheet.header and not sheet.header[-1]:
                sheet.header.pop()
            continue
        width = len(sheet.header)
        sheet.rows.append((number, (cells + [""] * width)[:width]))
        if max_rows and len(sheet.rows) >= max_rows:
            break
    return sheet
