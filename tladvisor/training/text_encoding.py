"""A client's text or table file, bytes -> text, one rule for every reader (texts, tables, tagged tokens).

Accepted: UTF-8 with or without a byte-order mark; UTF-16 / UTF-32 with one (Excel's "Unicode Text" export);
a legacy Western code page, read as Windows-1252 (what Excel on Windows saves as "CSV" in Western Europe and the
Americas) and said so, since a Central European file read that way shows wrong letters. Refused, with the line:
UTF-8 with a few broken bytes (a cut or mis-merged file: guessing would garble its other letters) and files in
another script's code page (Cyrillic, Greek, Japanese, ...), which Windows-1252 would turn into Latin-looking
nonsense labels without an error. charset-normalizer judges only whether Windows-1252 reads the file without a
mess; its own best pick is a coin toss on short files (German Windows-1252 tickets come out as cp1250 or Big5), so
it only names the guess in the refusal.
"""
from __future__ import annotations

import codecs
import re
import unicodedata
from dataclasses import dataclass
from typing import Optional

from tladvisor.training.errors import DataError

WESTERN = "cp1252"
# UTF-32 LE's mark starts with UTF-16 LE's, so it is tried first
_BOMS = ((codecs.BOM_UTF32_LE, "utf-32"), (codecs.BOM_UTF32_BE, "utf-32"), (codecs.BOM_UTF16_LE, "utf-16"),
         (codecs.BOM_UTF16_BE, "utf-16"))
MIN_EVIDENCE = 8  # non-ASCII bytes below which no reading can be judged a mess: Windows-1252, with the note
_UTF8_MULTIBYTE = re.compile(rb"[\xc2-\xdf][\x80-\xbf]|[\xe0-\xef][\x80-\xbf]{2}|[\xf0-\xf4][\x80-\xbf]{3}")


@dataclass(frozen=True)
class Decoded:
    """A file's text and how it was read."""

    text: str
    encoding: str  # "utf-8", "utf-16", "utf-32" or WESTERN
    bom: bool  # it started with a byte-order mark (removed from `text`)

    @property
    def note(self) -> Optional[str]:
        """What the audit should say about the encoding, if anything."""
        if self.encoding == WESTERN:
            return ("the file is not UTF-8; it was read as Windows-1252 (Western European). If accented letters in "
                    "the texts or labels look wrong, save the file as UTF-8 and run again")
        if self.encoding != "utf-8":
            return f"the file is {self.encoding.upper()}; it was read as such"
        return None


def _line_and_bytes(data: bytes, start: int) -> tuple[int, str]:
    return data[:start].count(b"\n") + 1, data[start:start + 4].hex(" ")


def _other_script(data: bytes) -> Optional[tuple[str, str]]:
    """(code page, script) when Windows-1252 reads the bytes only as a mess (charset-normalizer's mess detector:
    runs of accented letters, stray symbols) and the best reading is in a non-Latin script; else None."""
    try:
        from charset_normalizer import from_bytes
    except ImportError:  # judged by nothing: Windows-1252 is the documented fallback
        return None
    sample = data[:200_000]
    if sum(b > 127 for b in sample) < MIN_EVIDENCE or from_bytes(sample, cp_isolation=[WESTERN]).best() is not None:
        return None
    best = from_bytes(sample).best()
    if best is None:
        return None
    letters = [c for c in str(best) if ord(c) > 127 and c.isalpha()]
    scripts = [unicodedata.name(c, "UNKNOWN").split()[0].title() for c in letters]
    foreign = [s for s in scripts if s != "Latin"]
    if len(foreign) <= len(scripts) / 2:  # a Latin reading after all (an unusual Western text): the note covers it
        return None
    return best.encoding, max(set(foreign), key=foreign.count)


def decode_file_bytes(data: bytes, name: str) -> Decoded:
    """The text of a file's bytes by the rule above; DataError naming `name` (and the line) otherwise."""
    found = _decode(data, name)
    # a second mark (files concatenated, or a writer adding one to text that had one) is never content
    text = found.text.lstrip("\ufeff")
    return Decoded(text, found.encoding, found.bom or text != found.text)


def _decode(data: bytes, name: str) -> Decoded:
    if data.startswith(codecs.BOM_UTF8):
        try:
            return Decoded(data[3:].decode("utf-8"), "utf-8", True)
        except UnicodeDecodeError as exc:
            line, bad = _line_and_bytes(data, exc.start)
            raise DataError(f"{name}, line {line}: bytes that are not UTF-8 ({bad}) in a file marked as UTF-8; "
                            "re-save the file as UTF-8") from exc
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            try:
                return Decoded(data.decode(encoding), encoding, True)
            except UnicodeDecodeError as exc:
                raise DataError(f"{name}: starts with a {encoding.upper()} byte-order mark but is not valid "
                                f"{encoding.upper()} (byte {exc.start}); re-save the file as UTF-8") from exc
    try:
        return Decoded(data.decode("utf-8"), "utf-8", False)
    except UnicodeDecodeError as exc:
        line, bad = _line_and_bytes(data, exc.start)
        broken = data.decode("utf-8", errors="replace").count("\ufffd")
        if len(_UTF8_MULTIBYTE.findall(data)) > broken:  # mostly valid UTF-8: a damaged file, not a code page
            raise DataError(f"{name}, line {line}: bytes that are not UTF-8 ({bad}) in a file that is otherwise "
                            "UTF-8; the file may be cut or merged from two sources; re-save it as UTF-8") from exc
        other = _other_script(data)
        if other:
            raise DataError(f"{name}: not UTF-8, and it does not read as Western European text either (best guess: "
                            f"{other[1]} script, code page {other[0]}). Save the file as UTF-8 (in Excel: Save As > "
                            "'CSV UTF-8') and upload it again") from exc
        try:
            return Decoded(data.decode(WESTERN), WESTERN, False)
        except UnicodeDecodeError as exc2:
            line, bad = _line_and_bytes(data, exc2.start)
            raise DataError(f"{name}, line {line}: bytes that are neither UTF-8 nor Windows-1252 ({bad}); "
                            "re-save the file as UTF-8") from exc2


def decode_head(data: bytes) -> str:
    """Best-effort text of a file's first bytes (for sniffing its kind and columns; never raises): the same rule
    as `decode_file_bytes`, and where a cut character or a bad byte stops it, a lenient read."""
    try:
        return decode_file_bytes(data, "").text
    except DataError:
        encoding = next((enc for bom, enc in _BOMS if data.startswith(bom)), "utf-8-sig")
        return data.decode(encoding, errors="replace")
