"""Files as clients save them: Windows-1252 CSVs from Excel, Excel's UTF-16 "Unicode Text", other scripts' code
pages, damaged UTF-8, and Excel workbooks (several sheets, blank rows, numbers as labels, hostile zips). Each is
read right or refused with a message naming the file and what to do; a read that guessed says so in the audit."""
from __future__ import annotations

import codecs
import string
import zipfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from openpyxl import Workbook

from tladvisor.data_volume import data_volume, detect_task
from tladvisor.training.errors import DataError
from tladvisor.training.ner_data import read_token_file
from tladvisor.training.spreadsheets import read_sheet
from tladvisor.training.tabular_data import read_table
from tladvisor.training.text_data import read_labelled_texts
from tladvisor.training.text_encoding import WESTERN, decode_file_bytes

GERMAN = [("Drucker druckt nicht mehr, Störung seit Montag", "hardware"),
          ("Passwort zurücksetzen für Frau Müller", "zugang"),
          ("Überweisung über 500 € ist fehlgeschlagen", "zahlung"),
          ("Größe der Anhänge überschreitet das Limit", "hardware")]


def _csv(rows: list[tuple[str, str]], sep: str = ";") -> str:
    return "\r\n".join([f"text{sep}label"] + [f"{t}{sep}{lab}" for t, lab in rows]) + "\r\n"


def test_a_windows_1252_csv_from_excel_is_read_and_the_audit_says_how(tmp_path):
    f = tmp_path / "tickets.csv"
    f.write_bytes(_csv(GERMAN).encode("cp1252"))
    found = read_labelled_texts(f)
    assert [(r.text, r.label) for r in found.rows] == GERMAN  # umlauts, ß and € intact
    assert any("Windows-1252" in n and n.startswith("tickets.csv") for n in found.notes)
    table = tmp_path / "machines.csv"
    table.write_bytes("Temperatur;Schicht;Ausfall\n71,5;Früh;ja\n68,0;Spät;nein\n70,2;Früh;nein\n".encode("cp1252"))
    frame = read_table(table, "Ausfall")
    assert set(frame["Schicht"]) == {"Früh", "Spät"} and "Windows-1252" in frame.attrs["notes"][0]


def test_excel_unicode_text_utf16_is_read(tmp_path):
    f = tmp_path / "export.tsv"  # Excel "Unicode Text (*.txt)": UTF-16 LE with a mark, tab-separated
    f.write_bytes(("text\tlabel\n" + "".join(f"{t}\t{lab}\n" for t, lab in GERMAN)).encode("utf-16"))
    found = read_labelled_texts(f)
    assert [(r.text, r.label) for r in found.rows] == GERMAN and found.bom
    assert detect_task(str(f)) == "text-classification"
    f.write_bytes(codecs.BOM_UTF16_LE + f.read_bytes())  # a second mark (a writer adding one) is not a column name
    assert [(r.text, r.label) for r in read_labelled_texts(f).rows] == GERMAN


@pytest.mark.parametrize("text, codec, script", [
    ("Принтер не печатает, нужна помощь срочно", "cp1251", "Cyrillic"),
    ("Ο εκτυπωτής δεν λειτουργεί καθόλου σήμερα", "cp1253", "Greek"),
    ("プリンターが動きません。至急対応をお願いします", "shift_jis", ""),
])
def test_another_scripts_code_page_is_refused_not_turned_into_latin_nonsense(tmp_path, text, codec, script):
    f = tmp_path / "tickets.csv"
    f.write_bytes(f"text,label\n{text},a\n{text} 2,b\n".encode(codec))
    with pytest.raises(DataError, match=rf"tickets.csv: not UTF-8.*{script}.*Save the file as UTF-8"):
        read_labelled_texts(f)


def test_utf8_with_one_broken_byte_is_refused_with_its_line(tmp_path):
    f = tmp_path / "merged.csv"
    f.write_bytes("text,label\nGrüße aus Köln,a\nschöne Grüße,b\n".encode() + b"caf\xe9 au lait,b\n")
    with pytest.raises(DataError, match=r"merged.csv, line 4: bytes that are not UTF-8 \(e9 20 61 75\).*otherwise"):
        read_labelled_texts(f)


def test_a_conll_file_in_windows_1252_keeps_its_accents(tmp_path):
    f = tmp_path / "ner.conll"
    f.write_bytes("Jürgen B-PER\nwohnt O\nin O\nMünchen B-LOC\n\nCafé B-ORG\nöffnet O\n".encode("cp1252"))
    found = read_token_file(f)
    assert found.sentences[0].tokens == ["Jürgen", "wohnt", "in", "München"]
    assert "Windows-1252" in found.notes[0]


# Words as Western European tickets spell them: ASCII letters with now and then an accented one. (The
# Windows-1252 symbols at 0x80-0xBF, such as € or ¿, are left out: after a letter from 0xC2-0xDF they form valid
# UTF-8, an ambiguity no reader can settle; such a file is read as UTF-8.)
ACCENTED = "äöüÄÖÜßéèêàâçñóúíÉÈÀÇÑåøæ"
word = st.builds(lambda a, acc, b: a + acc + b, st.text(string.ascii_letters, min_size=1, max_size=8),
                 st.sampled_from(["", "", ""] + list(ACCENTED)), st.text(string.ascii_lowercase, max_size=6))
line = st.lists(word, min_size=1, max_size=12).map(" ".join)


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(texts=st.lists(line, min_size=1, max_size=8),
       codec=st.sampled_from(["utf-8", "utf-8-sig", "utf-16", "utf-32", WESTERN]))
def test_western_text_in_any_accepted_encoding_reads_back_unchanged(texts, codec):
    body = "\n".join(f"{t},label" for t in texts)
    decoded = decode_file_bytes(body.encode(codec), "f.csv")
    assert decoded.text == body
    has_accent = any(ord(c) > 127 for c in body)
    assert (decoded.encoding == WESTERN) == (codec == WESTERN and has_accent)
    assert (decoded.note is not None) == (decoded.encoding not in ("utf-8",))


@settings(max_examples=150, deadline=None)
@given(st.binary(max_size=400))
def test_any_bytes_decode_or_are_refused_naming_the_file(data):
    try:
        decoded = decode_file_bytes(data, "client.csv")
    except DataError as exc:
        assert str(exc).startswith("client.csv")
    else:
        assert isinstance(decoded.text, str)


# ------------------------------------------------------------------------------------------------ workbooks
def _book(path: Path, sheets: dict[str, list[list]]) -> Path:
    wb = Workbook()
    wb.remove(wb.active)
    for title, rows in sheets.items():
        ws = wb.create_sheet(title)
        for i, row in enumerate(rows, 1):  # cell by cell: an all-empty row stays a blank row in the sheet
            for j, value in enumerate(row, 1):
                if value is not None:
                    ws.cell(row=i, column=j, value=value)
    wb.save(path)
    return path


def test_an_excel_workbook_of_tickets_is_read_from_the_sheet_that_holds_them(tmp_path):
    rows = [[" Text ", "Label"]] + [[t, lab] for t, lab in GERMAN] + [[None, None], ["ohne Label", None],
                                                                       ["Zahl als Label", 3.0]]
    f = _book(tmp_path / "tickets.xlsx", {"Hinweise": [["Bitte nicht ändern"]], "Tickets": rows})
    found = read_labelled_texts(f)
    assert [(r.text, r.label) for r in found.rows] == GERMAN + [("Zahl als Label", "3")]
    assert found.missing_labels == [7] and found.rows[-1].line == 8  # the row numbers Excel shows (6 is blank)
    assert "sheet 'Tickets' was read" in found.notes[0] and "'Hinweise'" in found.notes[0]
    assert detect_task(str(f)) == "text-classification" and data_volume(str(f))[1:] == (4, 5)


def test_an_excel_table_of_machine_readings_is_a_tabular_task(tmp_path):
    rows = [["temperature", "speed", "shift", "failure"]] + [[60 + i % 7, 1500 + 10 * i, "ABC"[i % 3], i % 2]
                                                              for i in range(30)]
    f = _book(tmp_path / "machines.xlsx", {"Data": rows})
    assert detect_task(str(f), label_col="failure") == "tabular-classification"
    frame = read_table(f, "failure")
    assert frame["temperature"].dtype.kind in "if" and len(frame) == 30 and frame.attrs["notes"] == []


@pytest.mark.parametrize("name, content, message", [
    ("old.xls", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 64, r"old.xls: the old Excel 97-2003 format"),
    ("locked.xlsx", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 64, r"locked.xlsx: the workbook is password-protected"),
    ("broken.xlsx", b"PK\x03\x04 not really a zip", r"broken.xlsx: not a readable Excel workbook"),
    ("sheet.ods", b"PK\x03\x04", r"sheet.ods: an OpenDocument spreadsheet \(.ods\) is not read; save it as .xlsx"),
])
def test_workbooks_that_cannot_be_read_are_refused_with_what_to_do(tmp_path, name, content, message):
    f = tmp_path / name
    f.write_bytes(content)
    with pytest.raises(DataError, match=message):
        read_labelled_texts(f)


def test_a_workbook_that_unpacks_to_gigabytes_is_refused_before_unpacking(tmp_path):
    f = tmp_path / "bomb.xlsx"
    with zipfile.ZipFile(f, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("xl/worksheets/sheet1.xml", b"\0" * (50 << 20))  # 50 MB of zeros packs to ~50 KB
    with pytest.raises(DataError, match=r"bomb.xlsx: unpacks to 52 MB.*zip bomb"):
        read_sheet(f)


def test_no_sheet_with_the_columns_names_the_sheets_and_their_columns(tmp_path):
    f = _book(tmp_path / "book.xlsx", {"A": [["utterance", "intent"], ["hi", "greet"]],
                                       "B": [["id", "note"], [1, "x"]]})
    with pytest.raises(DataError, match=r"book.xlsx: no sheet has the column\(s\) 'text', 'label' \(sheets: "
                                        r"'A': utterance, intent; 'B': id, note\)"):
        read_labelled_texts(f)
    found = read_labelled_texts(f, text_col="utterance", label_col="intent")
    assert [(r.text, r.label) for r in found.rows] == [("hi", "greet")]
