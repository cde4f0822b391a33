"""The gauntlet: edge and hostile inputs a client can send, each run through the `tladvisor` CLI in its own
process and graded automatically.

Every case states its expected outcome: `ok` (exit 0: a trained run, a prediction, advice) or `refused` (exit 2
with a one-line message matching a pattern). Every case must also show no traceback and no internal error,
write nothing outside its run directory (inputs, the temp dir and the files beside the case are checked before and
after), leave an existing run directory untouched, and, where a report is written, contain no live HTML (no
script/iframe/object tags, no on* handlers, no javascript: links, no raw HTML from the data in the Markdown).

Run:  python bench/gauntlet.py [--fast] [--jobs 2] [--only NAME ...] [--keep DIR]
Writes bench/results/gauntlet.json and gauntlet.md (the fast half, `--fast`, also runs in CI: tests/test_gauntlet.py).
"""
from __future__ import annotations

import argparse
import hashlib
import io
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import zipfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from typing import Callable, Optional

import numpy as np
from PIL import Image

from tladvisor.advice import hardware

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"
INJECT = "<script>alert(1)</script>"
IMG_INJECT = "<img src=x onerror=alert(1)>"


# ------------------------------------------------------------------------------------------------ builders
def texture(kind: int, rng: np.random.Generator, size: int = 48) -> np.ndarray:
    """A grayscale texture per class (stripes one way or the other, spots, checks): learnable, like defects."""
    base = rng.normal(128, 20, (size, size))
    period = int(rng.integers(5, 9))
    idx = np.arange(size)
    if kind % 4 == 0:
        base[(idx % period) < period // 2, :] += 70
    elif kind % 4 == 1:
        base[:, (idx % period) < period // 2] += 70
    elif kind % 4 == 2:
        for _ in range(8):
            y, x = rng.integers(3, size - 3, 2)
            base[y - 2:y + 2, x - 2:x + 2] -= 90
    else:
        base[((idx[:, None] // period) + (idx[None, :] // period)) % 2 == 0] += 70
    return base.clip(0, 255).astype(np.uint8)


def image_folder(root: Path, counts: dict[str, int], mode: str = "RGB", fmt: str = ".png", size: int = 48,
                 seed: int = 0) -> Path:
    rng = np.random.default_rng(seed)
    for k, (cls, n) in enumerate(counts.items()):
        (root / cls).mkdir(parents=True, exist_ok=True)
        for i in range(n):
            save_image(texture(k, rng, size), root / cls / f"{i:03d}{fmt}", mode)
    return root


def save_image(gray: np.ndarray, path: Path, mode: str = "RGB") -> None:
    img = Image.fromarray(gray, "L")
    if mode == "I;16":
        img = Image.fromarray(gray.astype(np.uint16) * 257)
    elif mode == "RGBA":
        rgba = np.dstack([gray, gray, gray, np.where(gray > 128, 255, 0).astype(np.uint8)])
        img = Image.fromarray(rgba, "RGBA")
    elif mode != "L":
        img = img.convert(mode)
    img.save(path)


def csv_file(path: Path, rows: list[tuple], header: tuple = ("text", "label"), encoding: str = "utf-8",
             delimiter: str = ",", bom: bool = False) -> Path:
    import csv

    buf = io.StringIO()
    w = csv.writer(buf, delimiter=delimiter)
    w.writerow(header)
    w.writerows(rows)
    path.write_bytes((("\ufeff" if bom else "") + buf.getvalue()).encode(encoding))  # UTF-16 adds its own mark
    return path


def xlsx_file(path: Path, sheets: dict[str, list[tuple]]) -> Path:
    """An Excel workbook, one sheet per entry (rows written cell by cell, so an empty row stays blank)."""
    from openpyxl import Workbook

    wb = Workbook()
    wb.remove(wb.active)
    for title, rows in sheets.items():
        ws = wb.create_sheet(title)
        for i, row in enumerate(rows, 1):
            for j, value in enumerate(row, 1):
                if value is not None:
                    ws.cell(row=i, column=j, value=value)
    wb.save(path)
    return path


def zip_bomb_xlsx(path: Path) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("[Content_Types].xml", "<Types/>")
        zf.writestr("xl/worksheets/sheet1.xml", b" " * (300 << 20))  # packs to ~300 KB
    return path


GERMAN_TICKETS = ([(f"Meine Karte ist nicht angekommen, Bestellung {i}", "karte") for i in range(10)] +
                  [(f"Ich möchte eine Rückerstattung für Auftrag {i}, Grüße", "erstattung") for i in range(10)])

TOPICS = {"refund": "I want my money back for the {x}, please refund it",
          "card": "my card was lost near the {x}, please block it",
          "balance": "what is my balance after paying for the {x}",
          "delivery": "where is my parcel with the {x}, it has not arrived"}
THINGS = ["shoes", "laptop", "jacket", "phone", "train ticket", "hotel", "concert", "taxi", "cafe", "museum", "lamp",
          "chair", "bike", "watch", "book", "camera"]


def text_rows(labels: dict[str, int], seed: int = 0, topic_of: Optional[dict[str, str]] = None) -> list[tuple]:
    rng = np.random.default_rng(seed)
    rows = []
    for k, (label, n) in enumerate(labels.items()):
        template = TOPICS[(topic_of or {}).get(label) or list(TOPICS)[k % len(TOPICS)]]
        for i in range(n):
            rows.append((template.format(x=THINGS[(i + k) % len(THINGS)]) + f" ({i})", label))
    rng.shuffle(rows)
    return rows


def zip_dir(src: Path, archive: Path) -> Path:
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zf:
        for f in sorted(src.rglob("*")):
            zf.write(f, f.relative_to(src.parent))
    return archive


# --------------------------------------------------------------------------------------------------- cases
@dataclass
class Case:
    name: str
    group: str
    build: Callable[[Path], list[str]]  # makes the inputs in the case folder; returns the CLI argv
    expect: str  # "ok" or "refused"
    message: str = ""  # regex the refusal (or, for ok, the output) must match
    fast: bool = False  # part of the CI half
    check: Optional[Callable[[Path, str], Optional[str]]] = None  # extra grading: returns a failure or None
    needs_run: bool = False  # gets a copy of a small trained run at case/prev


def train(data: Path, *extra: str) -> list[str]:
    return ["train", str(data), "--strategy", "linear_probe", "--out", "run", "--precision", "fp32", *extra]


def per_class_in_metrics(expected: set[str]) -> Callable[[Path, str], Optional[str]]:
    def check(case_dir: Path, out: str) -> Optional[str]:
        got = set(json.loads((case_dir / "run" / "metrics.json").read_text())["per_class"])
        return None if got == expected else f"classes {sorted(got)} != {sorted(expected)}"
    return check


def audit_says(pattern: str) -> Callable[[Path, str], Optional[str]]:
    def check(case_dir: Path, out: str) -> Optional[str]:
        text = (case_dir / "run" / "audit.md").read_text(encoding="utf-8")
        return None if re.search(pattern, text) else f"audit.md lacks /{pattern}/"
    return check


def both(*checks) -> Callable[[Path, str], Optional[str]]:
    def check(case_dir: Path, out: str) -> Optional[str]:
        return next((r for c in checks if (r := c(case_dir, out))), None)
    return check


def not_exists(*rel: str) -> Callable[[Path, str], Optional[str]]:
    def check(case_dir: Path, out: str) -> Optional[str]:
        bad = [r for r in rel if (case_dir / r).exists()]
        return f"written outside: {bad}" if bad else None
    return check


def _bomb_png(path: Path, side: int) -> None:
    """A PNG of side x side pixels that is only a few KB on disk (a decompression bomb for a decoder)."""
    import struct
    import zlib

    raw = zlib.compress(b"\0" * ((side + 1) * side), 9)  # one filter byte per row, 8-bit grayscale
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", side, side, 8, 0, 0, 0, 0))
                     + chunk(b"IDAT", raw) + chunk(b"IEND", b""))


def cases() -> list[Case]:
    c: list[Case] = []
    two = {"ok": 12, "defect": 12}

    def img(name, counts=None, mode="RGB", fmt=".png", expect="ok", message="", fast=False, check=None,
            extra=(), after=None, size=48):
        def build(d: Path) -> list[str]:
            root = image_folder(d / "data", counts or two, mode, fmt, size)
            if after:
                after(root)
            return train(root, *extra)
        c.append(Case(name, "images", build, expect, message, fast, check))

    img("two-classes", check=per_class_in_metrics({"ok", "defect"}))
    img("one-class", {"ok": 10}, expect="refused", message="at least 2 class folders", fast=True)
    img("empty-class-folder", after=lambda r: (r / "empty").mkdir(), expect="refused", message="no images: 'empty'",
        fast=True)
    img("one-image-per-class", {"a": 1, "b": 1}, expect="refused", message="no example is left to test on", fast=True)
    img("two-images-per-class", {"a": 2, "b": 2}, check=audit_says("not validated"))
    img("three-per-class", {"a": 3, "b": 3, "c": 3})
    img("tiny-class-of-one", {"a": 10, "b": 10, "rare": 1}, check=both(per_class_in_metrics({"a", "b", "rare"}),
                                                                       audit_says("rare.*not tested")))
    img("extreme-imbalance-60-to-2", {"common": 60, "rare": 2}, check=audit_says("imbalance"))
    img("grayscale-L", mode="L")
    img("16-bit-png", mode="I;16")
    img("cmyk-jpeg", mode="CMYK", fmt=".jpg")
    img("rgba-transparent", mode="RGBA")
    img("palette-gif", mode="P", fmt=".gif")
    img("1x1-pixel-images", size=1)

    def wide(root: Path) -> None:
        Image.new("L", (40000, 12), 90).save(root / "ok" / "panorama.png")
    img("40000-px-wide-image", after=wide)

    def bomb(root: Path) -> None:
        _bomb_png(root / "defect" / "bomb.png", 30000)
    img("decompression-bomb-image", after=bomb, check=audit_says("bomb.png"))

    def truncated(root: Path) -> None:
        buf = io.BytesIO()
        Image.fromarray(texture(0, np.random.default_rng(1), 64)).save(buf, "JPEG")
        (root / "ok" / "truncated.jpg").write_bytes(buf.getvalue()[:300])
        (root / "ok" / "not-an-image.jpg").write_text("hello, I am text")
    img("truncated-and-fake-images", after=truncated, check=audit_says("truncated.jpg"))

    def all_broken(root: Path) -> None:
        (root / "broken").mkdir()
        for i in range(3):
            (root / "broken" / f"{i}.png").write_bytes(b"\x89PNG garbage")
    img("class-all-unreadable", after=all_broken, expect="refused", message="unreadable", fast=True)

    def junk(root: Path) -> None:
        (root / "ok" / "notes.txt").write_text("labelled by Anna")
        (root / "ok" / ".DS_Store").write_bytes(b"\0\0\0\1Bud1")
        (root / "Thumbs.db").write_bytes(b"\0" * 50)
    img("non-image-files-mixed-in", after=junk)

    def hidden(root: Path) -> None:
        image_folder(root / ".hidden_class", {"x": 0})
        shutil.copytree(root / "ok", root / ".hidden")
    img("hidden-folder", after=hidden, check=both(per_class_in_metrics({"ok", "defect"}), audit_says(r"\.hidden")))

    img("html-class-name", {IMG_INJECT: 10, "ok": 10}, extra=("--report",), check=per_class_in_metrics({IMG_INJECT, "ok"}))

    def html_file(root: Path) -> None:
        shutil.copy(root / "ok" / "000.png", root / "ok" / f"{IMG_INJECT}.png")
        shutil.copy(root / "ok" / "001.png", root / "ok" / "<script>alert(2)<.png")
    img("html-file-names", after=html_file, extra=("--report",))
    img("unicode-class-names", {"Ärger": 10, "缺陷": 10, "défaut grave": 10})
    img("quotes-and-pipes-in-class-names", {'say "ok"': 10, "a|b": 10, "it's": 10}, extra=("--report",))

    def split_layout(d: Path) -> list[str]:
        for split, n in (("train", 10), ("test", 4)):
            image_folder(d / "data" / split, {"ok": n, "defect": n}, seed=len(split))
        return train(d / "data")
    c.append(Case("given-train-test-folders", "images", split_layout, "ok"))

    def split_unseen(d: Path) -> list[str]:
        image_folder(d / "data" / "train", {"ok": 8, "defect": 8})
        image_folder(d / "data" / "test", {"ok": 3, "defect": 3, "new_kind": 3}, seed=2)
        return train(d / "data")
    c.append(Case("test-folder-has-unseen-class", "images", split_unseen, "refused", "no training example", True))

    def wrapper(d: Path) -> list[str]:
        image_folder(d / "data" / "dataset" / "images", two)
        return train(d / "data")
    c.append(Case("wrapper-folders", "images", wrapper, "ok"))

    def exif(root: Path) -> None:
        img_ = Image.fromarray(texture(1, np.random.default_rng(3), 64)).convert("RGB")
        ex = img_.getexif()
        ex[0x0112] = 6  # rotated 90 degrees
        img_.save(root / "ok" / "rotated.jpg", exif=ex)
    img("exif-rotated-jpeg", after=exif)

    def animated(root: Path) -> None:
        frames = [Image.fromarray(texture(k, np.random.default_rng(k), 48)).convert("P") for k in range(3)]
        frames[0].save(root / "defect" / "anim.gif", save_all=True, append_images=frames[1:])
    img("animated-gif", after=animated)

    def photos(d: Path) -> list[str]:
        rng = np.random.default_rng(0)
        for k, cls in enumerate(("ok", "defect")):
            (d / "data" / cls).mkdir(parents=True)
            for i in range(3):
                small = texture(k, rng, 100)
                Image.fromarray(small).resize((4000, 3000)).convert("RGB").save(d / "data" / cls / f"{i}.jpg",
                                                                                 quality=80)
        return train(d / "data")
    c.append(Case("4000px-photos", "images", photos, "ok"))

    # ------------------------------------------------------------------------------------------- archives
    def zipped(d: Path) -> list[str]:
        return train(zip_dir(image_folder(d / "src" / "defects", two), d / "defects.zip"))
    c.append(Case("zip-of-class-folders", "archives", zipped, "ok"))

    def hostile_zip(entries: list[tuple[str, bytes]], *, symlink: str = "", encrypted: str = ""):
        def build(d: Path) -> list[str]:
            base = image_folder(d / "src" / "x", two)
            archive = d / "upload.zip"
            with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zf:
                for f in sorted(base.rglob("*.png")):
                    zf.write(f, f.relative_to(base))
                for name, data in entries:
                    zf.writestr(name, data)
                if symlink:
                    info = zipfile.ZipInfo(symlink)
                    info.external_attr = (0o120777 << 16)
                    zf.writestr(info, "/etc/passwd")
                if encrypted:  # zipfile cannot encrypt: written plain, then flagged as encrypted below
                    zf.writestr(encrypted, b"secret")
            if encrypted:
                raw = bytearray(archive.read_bytes())
                local, central = raw.rfind(b"PK\x03\x04"), raw.rfind(b"PK\x01\x02")
                raw[local + 6] |= 0x1
                raw[central + 8] |= 0x1
                archive.write_bytes(bytes(raw))
            shutil.rmtree(d / "src")
            return train(archive)
        return build

    c.append(Case("zip-dotdot-traversal", "archives", hostile_zip([("../evil.txt", b"pwned"), ("ok/../../evil2.txt",
             b"x")]), "refused", r"unsafe entry", True, not_exists("evil.txt", "../evil.txt", "evil2.txt")))
    c.append(Case("zip-absolute-path", "archives", hostile_zip([("/tmp/tladvisor-gauntlet-evil.txt", b"x")]),
                  "refused", "unsafe entry", True))
    c.append(Case("zip-windows-drive-path", "archives", hostile_zip([("C:/evil.txt", b"x")]), "refused",
                  "unsafe entry", True))
    c.append(Case("zip-symlink-entry", "archives", hostile_zip([], symlink="ok/link.png"), "refused", "symbolic link",
                  True))
    c.append(Case("zip-encrypted-entry", "archives", hostile_zip([], encrypted="ok/secret.png"), "refused",
                  "encrypted", True))
    c.append(Case("zip-bomb-one-entry", "archives", hostile_zip([("ok/big.png", b"\0" * (300 << 20))]), "refused",
                  "decompression bomb", True))

    def many_mib(d: Path) -> list[str]:
        archive = d / "bomb.zip"
        with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zf:
            block = b"\0" * (1 << 20)
            for i in range(900):
                zf.writestr(f"{'ok' if i % 2 else 'defect'}/{i}.png", block)
        return train(archive)
    c.append(Case("zip-bomb-900-entries-of-1MiB", "archives", many_mib, "refused", "decompression bomb", True))

    def corrupt_zip(d: Path) -> list[str]:
        (d / "broken.zip").write_bytes(os.urandom(2000))
        return train(d / "broken.zip")
    c.append(Case("corrupt-zip", "archives", corrupt_zip, "refused", "not a readable zip", True))

    def empty_zip(d: Path) -> list[str]:
        with zipfile.ZipFile(d / "empty.zip", "w"):
            pass
        return train(d / "empty.zip")
    c.append(Case("empty-zip", "archives", empty_zip, "refused", "at least 2 class folders", True))

    def macosx(d: Path) -> list[str]:
        base = image_folder(d / "src" / "defects", two)
        archive = zip_dir(base, d / "mac.zip")
        with zipfile.ZipFile(archive, "a") as zf:
            zf.writestr("__MACOSX/defects/ok/._000.png", b"\0\5\26\7")
            zf.writestr("defects/.DS_Store", b"\0\0\0\1Bud1")
        return train(archive)
    c.append(Case("zip-with-macos-junk", "archives", macosx, "ok", check=per_class_in_metrics({"ok", "defect"})))

    def zipped_csv(d: Path) -> list[str]:
        csv_file(d / "tickets.csv", text_rows({"a": 6, "b": 6}))
        with zipfile.ZipFile(d / "tickets.zip", "w") as zf:
            zf.write(d / "tickets.csv", "tickets.csv")
        (d / "tickets.csv").unlink()
        return train(d / "tickets.zip")
    c.append(Case("zip-holding-a-csv", "archives", zipped_csv, "refused", "give that file itself", True))

    def backslash_zip(d: Path) -> list[str]:  # made on Windows: backslashes in entry names
        base = image_folder(d / "src", two)
        with zipfile.ZipFile(d / "win.zip", "w") as zf:
            for f in sorted(base.rglob("*.png")):
                zf.write(f, "defects\\" + str(f.relative_to(base)).replace("/", "\\"))
        shutil.rmtree(d / "src")
        return train(d / "win.zip")
    c.append(Case("zip-with-windows-backslashes", "archives", backslash_zip, "ok",
                  check=per_class_in_metrics({"ok", "defect"})))

    def not_zip(d: Path) -> list[str]:
        (d / "data.rar").write_bytes(b"Rar!\x1a\x07\x00" + os.urandom(100))
        return train(d / "data.rar")
    c.append(Case("rar-archive", "archives", not_zip, "refused", "expected a folder", True))

    # ------------------------------------------------------------------------------------------------ texts
    def txt(name, rows_fn, expect="ok", message="", fast=False, check=None, extra=(), file="texts.csv", **csv_kw):
        def build(d: Path) -> list[str]:
            path = d / file
            rows_fn(path)
            return train(path, *extra)
        c.append(Case(name, "texts", build, expect, message, fast, check))

    txt("two-class-texts", lambda p: csv_file(p, text_rows({"spam": 15, "ham": 15})),
        check=per_class_in_metrics({"spam", "ham"}))
    txt("missing-label-spellings", lambda p: csv_file(p, text_rows({"a": 12, "b": 12}) + [
        ("no label 1", ""), ("no label 2", "NaN"), ("no label 3", "nan"), ("no label 4", "NULL"),
        ("no label 5", "None"), ("no label 6", "N/A")]),
        check=both(per_class_in_metrics({"a", "b"}), audit_says(r"Rows without a label.*: 6")))
    txt("numeric-label-spellings", lambda p: csv_file(p, [(t, {"x": "1", "y": "2"}[l] if i % 3 else
                                                           {"x": "1.0", "y": " 2 "}[l])
                                                          for i, (t, l) in enumerate(text_rows({"x": 12, "y": 12}))]),
        check=per_class_in_metrics({"1", "2"}))
    txt("jsonl-numbers-as-labels", lambda p: p.write_text("".join(
        json.dumps({"text": t, "label": {"x": 1, "y": 2.0}[l] if i % 2 else {"x": "1", "y": "2"}[l]}) + "\n"
        for i, (t, l) in enumerate(text_rows({"x": 12, "y": 12})))), file="texts.jsonl",
        check=per_class_in_metrics({"1", "2"}))
    txt("duplicate-text-columns", lambda p: csv_file(p, [(t, l, t) for t, l in text_rows({"a": 8, "b": 8})],
                                                     header=("text", "label", "text")),
        expect="refused", message="'text' appear more than once", fast=True)
    txt("wrong-columns", lambda p: csv_file(p, text_rows({"a": 8, "b": 8}), header=("utterance", "intent")),
        expect="refused", message=r"no column 'text' \(columns: intent, utterance\)", fast=True)
    txt("custom-columns", lambda p: csv_file(p, text_rows({"a": 10, "b": 10}), header=("utterance", "intent")),
        extra=("--text-col", "utterance", "--label-col", "intent"))
    txt("utf8-bom", lambda p: csv_file(p, text_rows({"a": 10, "b": 10}), bom=True), check=audit_says("BOM"))
    txt("excel-unicode-text-utf16", lambda p: csv_file(p, text_rows({"a": 10, "b": 10}), encoding="utf-16",
                                                       delimiter="\t"), file="texts.tsv",
        check=both(per_class_in_metrics({"a", "b"}), audit_says("UTF-16")))
    txt("windows-1252-csv-from-excel", lambda p: csv_file(p, GERMAN_TICKETS, encoding="cp1252", delimiter=";"),
        check=both(per_class_in_metrics({"karte", "erstattung"}), audit_says("read as Windows-1252")))
    txt("cyrillic-code-page-file", lambda p: csv_file(p, [("Принтер не печатает, нужна помощь", "оборудование"),
                                                          ("Сбросить пароль пользователя", "доступ")] * 5,
                                                      encoding="cp1251"),
        expect="refused", message="does not read as Western European text", fast=True)
    txt("utf8-with-one-broken-byte", lambda p: p.write_bytes(csv_file(p, GERMAN_TICKETS).read_bytes()
                                                             + b"caf\xe9 au lait,karte\n"),
        expect="refused", message=r"line 22: bytes that are not UTF-8 .* otherwise UTF-8", fast=True)
    txt("quoted-newlines", lambda p: csv_file(p, [(t.replace(" please", ",\nplease\r\n"), l)
                                                 for t, l in text_rows({"a": 10, "b": 10})]))
    txt("100k-character-texts", lambda p: csv_file(p, [(t + " filler" * (16000 if i % 5 == 0 else 0), l)
                                                       for i, (t, l) in enumerate(text_rows({"a": 10, "b": 10}))]),
        check=audit_says("truncated"))
    txt("german-tickets", lambda p: csv_file(p, [(f"Meine Karte ist nicht angekommen, Bestellung {i}", "karte")
                                                for i in range(10)] +
                                               [(f"Ich möchte eine Rückerstattung für Auftrag {i}", "erstattung")
                                                for i in range(10)]))
    txt("html-labels", lambda p: csv_file(p, text_rows({INJECT: 10, "ok": 10}, topic_of={INJECT: "refund"})),
        extra=("--report",), check=per_class_in_metrics({INJECT, "ok"}))
    txt("one-label-only", lambda p: csv_file(p, text_rows({"a": 10})), expect="refused",
        message="at least 2 different labels", fast=True)
    txt("one-text-per-label", lambda p: csv_file(p, text_rows({"a": 1, "b": 1})), expect="refused",
        message="no example is left to test on", fast=True)
    txt("tiny-label-of-one", lambda p: csv_file(p, text_rows({"a": 10, "b": 10, "rare": 1})),
        check=both(per_class_in_metrics({"a", "b", "rare"}), audit_says("rare.*not tested")))
    txt("three-to-five-per-label", lambda p: csv_file(p, text_rows({"a": 3, "b": 4, "c": 5})))
    txt("semicolon-csv-from-excel", lambda p: csv_file(p, [(t.replace(" please", ", please"), l) for t, l in
                                                           text_rows({"a": 8, "b": 8})], delimiter=";"),
        check=per_class_in_metrics({"a", "b"}))
    txt("excel-sep-line", lambda p: p.write_bytes(b"sep=;\n" + csv_file(p, text_rows({"a": 8, "b": 8}),
                                                                          delimiter=";").read_bytes()),
        check=per_class_in_metrics({"a", "b"}))
    txt("json-array-file", lambda p: p.write_text(json.dumps([{"text": t, "label": l} for t, l in
                                                              text_rows({"a": 8, "b": 8})])), file="texts.json")
    txt("jsonl-unicode-line-separators", lambda p: p.write_text("".join(
        json.dumps({"text": t.replace(" ", "\u2028", 1), "label": l}, ensure_ascii=False) + "\n"
        for t, l in text_rows({"a": 8, "b": 8})), encoding="utf-8"), file="texts.jsonl")
    txt("tsv-file", lambda p: csv_file(p, text_rows({"a": 10, "b": 10}), delimiter="\t"), file="texts.tsv")
    txt("jsonl-invalid-line", lambda p: p.write_text('{"text": "a", "label": "x"}\n{"text": "b", "label": \n'),
        file="texts.jsonl", expect="refused", message="line 2: not valid JSON", fast=True)
    txt("empty-file", lambda p: p.write_text(""), expect="refused", message="no column 'text'", fast=True)
    txt("header-only", lambda p: p.write_text("text,label\n"), expect="refused", message="no labelled texts",
        fast=True)
    txt("binary-file-named-csv", lambda p: p.write_bytes(b"text,label\n\x00\x01\x02abc,\x00\n"), expect="refused",
        message="NUL bytes", fast=True)
    txt("excel-workbook-two-sheets", lambda p: xlsx_file(p, {
            "Read me": [("Export of the ticket system, do not edit",)],
            "Tickets": [(" Text ", "Label")] + text_rows({"refund": 10, "card": 10}) + [(None, None),
                                                                                      ("no label here", None)]}),
        file="tickets.xlsx", check=both(per_class_in_metrics({"refund", "card"}),
                                        audit_says(r"sheet 'Tickets' was read.*'Read me'")))
    txt("fake-xlsx", lambda p: p.write_bytes(b"PK\x03\x04 fake xlsx"), file="texts.xlsx", expect="refused",
        message="not a readable Excel workbook", fast=True)
    txt("old-xls-format", lambda p: p.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(512)), file="texts.xls",
        expect="refused", message=r"old Excel 97-2003 format \(.xls\) is not read; save it as .xlsx", fast=True)
    txt("xlsx-zip-bomb", zip_bomb_xlsx, file="texts.xlsx", expect="refused", message="likely zip bomb", fast=True)
    txt("all-labels-missing", lambda p: csv_file(p, [(t, "NaN") for t, _ in text_rows({"a": 5})]),
        expect="refused", message="no labelled texts found", fast=True)
    txt("same-text-different-labels", lambda p: csv_file(p, text_rows({"a": 10, "b": 10}) +
                                                          [("contradictory ticket", "a"), ("contradictory ticket", "b")]),
        check=audit_says("Same text, different labels"))
    txt("capitalised-column-names", lambda p: csv_file(p, text_rows({"a": 10, "b": 10}), header=("Text", "Label")))
    txt("trailing-empty-columns", lambda p: csv_file(p, [(t, l, "", "") for t, l in text_rows({"a": 10, "b": 10})],
                                                     header=("text", "label", "", "")))
    txt("multi-label-jsonl", lambda p: p.write_text("".join(json.dumps({"text": t, "label": [l, "other"]}) + "\n"
                                                          for t, l in text_rows({"a": 5, "b": 5}))),
        file="texts.jsonl", expect="refused", message="one label per row", fast=True)
    txt("windows-crlf-and-mac-cr", lambda p: p.write_bytes(
        b"text,label\r\n" + b"\r\n".join(f"{t},{l}".encode() for t, l in text_rows({"a": 6, "b": 6})) + b"\r"
        + b"\r".join(f"{t},{l}".encode() for t, l in text_rows({"a": 5, "b": 5}, seed=1)) + b"\r"))
    txt("case-variant-labels", lambda p: csv_file(p, text_rows({"Refund": 8, "refund": 8, "card": 8})),
        check=audit_says("differ only in letter case"))

    # -------------------------------------------------------------------------------------- NER and tables
    def tagged(n: int, seed: int = 0) -> str:
        rng = np.random.default_rng(seed)
        people, cities = ["Anna Berg", "Omar Haddad", "Li Wei", "Sofia Rossi"], ["Berlin", "Porto", "Osaka", "Leeds"]
        out = []
        for _ in range(n):
            p, c_ = people[rng.integers(4)].split(), cities[rng.integers(4)]
            out.append("\n".join([f"{p[0]}\tB-PER", f"{p[1]}\tI-PER", "flew\tO", "to\tO", f"{c_}\tB-LOC", ".\tO"]))
        return "-DOCSTART- O\n\n" + "\n\n".join(out) + "\n"

    def other(name, group, write, file, expect="ok", message="", fast=False, check=None, extra=()):
        def build(d: Path) -> list[str]:
            path = d / file
            write(path)
            return train(path, *extra)
        c.append(Case(name, group, build, expect, message, fast, check))

    other("ner-conll-two-types", "ner", lambda p: p.write_text(tagged(40)), "tweets.conll",
          check=audit_says("2 entity types"))
    other("ner-broken-bio-repaired", "ner", lambda p: p.write_text(tagged(40).replace("B-LOC", "I-LOC", 3)),
          "tweets.conll",
          check=audit_says(r"3 broken tag sequence"))
    other("ner-tag-not-bio", "ner", lambda p: p.write_text("Anna\tPERSON\nflew\tO\n"), "t.conll",
          expect="refused", message=r"t.conll:1: tag 'PERSON' is not O or B-/I-/E-/S-TYPE", fast=True)
    other("ner-line-without-tag", "ner", lambda p: p.write_text("Anna\tB-PER\nflew\n"), "t.conll",
          expect="refused", message=r"t.conll:2: expected 'token TAG'", fast=True)
    other("ner-no-entity-at-all", "ner", lambda p: p.write_text("hello\tO\nworld\tO\n\nbye\tO\n"), "t.conll",
          expect="refused", message="no entity is tagged", fast=True)
    other("ner-jsonl-span-past-text", "ner", lambda p: p.write_text(
        json.dumps({"text": "Anna flew", "entities": [[0, 99, "PER"]]}) + "\n"), "spans.jsonl",
          expect="refused", message=r"spans.jsonl:1: an entity ends after the text", fast=True)
    other("ner-jsonl-html-entity-type", "ner", lambda p: p.write_text("".join(
        json.dumps({"text": f"{w} flew to Porto", "entities": [[0, len(w), INJECT], [len(w) + 9, len(w) + 14, "LOC"]]})
        + "\n" for w in ["Anna", "Omar", "Li", "Sofia", "Nina", "Ivan"] * 6)), "spans.jsonl", extra=("--report",))

    def table(rows: int, seed: int = 0, leak: bool = False, sep: str = ",", decimal: str = ".") -> str:
        rng = np.random.default_rng(seed)
        lines = [sep.join(["id", "line", "pressure", "temp"] + (["scrap_reason"] if leak else []) + ["label"])]
        for i in range(rows):
            pressure, temp = rng.uniform(1, 5), rng.uniform(20, 80)
            lab = "bad" if pressure * temp > 150 else "good"
            cells = [str(i + 1), ["A", "B"][i % 2], f"{pressure:.3f}".replace(".", decimal),
                     f"{temp:.2f}".replace(".", decimal)] + ([lab + "_logged"] if leak else []) + [lab]
            lines.append(sep.join(cells))
        return "\n".join(lines) + "\n"

    other("table-two-classes", "tables", lambda p: p.write_text(table(200)), "machines.csv",
          check=both(per_class_in_metrics({"bad", "good"}), audit_says("ID-like")))
    other("table-leaking-column", "tables", lambda p: p.write_text(table(200, leak=True)), "machines.csv",
          check=audit_says(r"Likely leakage, excluded:\*\* scrap_reason"))
    other("table-semicolons-decimal-commas", "tables", lambda p: p.write_text(table(200, sep=";", decimal=",")),
          "machines.csv", check=audit_says(r"Numeric columns \(2\)"))
    def sheet_rows(csv_text: str) -> list[tuple]:  # numbers as numbers, as Excel stores them
        return [tuple(float(c) if re.fullmatch(r"-?\d+(\.\d+)?", c) else c for c in line.split(","))
                for line in csv_text.splitlines()]

    other("table-excel-workbook", "tables", lambda p: xlsx_file(p, {"Log": sheet_rows(table(200))}), "machines.xlsx",
          check=both(per_class_in_metrics({"bad", "good"}), audit_says(r"Numeric columns \(2\)")))
    other("table-windows-1252", "tables", lambda p: p.write_bytes(table(200).replace(",A,", ",Früh,").replace(
        ",B,", ",Spät,").encode("cp1252")), "machines.csv",
          check=both(per_class_in_metrics({"bad", "good"}), audit_says("read as Windows-1252")))
    other("table-missing-labels", "tables", lambda p: p.write_text(table(120) + "121,A,2.0,40.0,\n122,B,3.0,50.0,NaN\n"),
          "machines.csv", check=audit_says(r"2 row\(s\) without a label"))
    other("table-one-class", "tables", lambda p: p.write_text(table(60).replace(",bad\n", ",good\n")), "m.csv",
          expect="refused", message="need at least 2 different labels", fast=True, extra=("--task", "tabular-classification"))
    other("table-only-id-and-constant", "tables", lambda p: p.write_text("id,site,label\n" + "".join(
        f"{i},plant1,{'ok' if i % 2 else 'bad'}\n" for i in range(1, 41))), "m.csv", expect="refused",
          message="no usable feature column left", fast=True)

    # -------------------------------------------------------------------------------------------------- CLI
    def cli(name, argv_fn, expect="refused", message="", check=None, needs_run=False, fast=True):
        c.append(Case(name, "cli", argv_fn, expect, message, fast, check, needs_run))

    small_csv = lambda d: csv_file(d / "t.csv", text_rows({"a": 8, "b": 8}))  # noqa: E731
    cli("epochs-zero", lambda d: train(small_csv(d), "--epochs", "0"), message="epochs")
    cli("epochs-negative", lambda d: train(small_csv(d), "--epochs", "-3"), message="epochs")
    cli("seed-negative", lambda d: train(small_csv(d), "--seed", "-1"), message="seed")
    cli("lr-out-of-range", lambda d: train(small_csv(d), "--lr", "5"), message="lr")

    def out_is_file(d: Path) -> list[str]:
        (d / "run").write_text("my notes")
        return ["train", str(small_csv(d)), "--out", "run"]
    cli("out-points-at-a-file", out_is_file, message="is a file", check=lambda d, o: None if
        (d / "run").read_text() == "my notes" else "the file was changed")

    def out_exists(d: Path) -> list[str]:
        shutil.copytree(d / "prev", d / "run")
        return ["train", str(small_csv(d)), "--out", "run"]
    cli("out-is-an-existing-run", out_exists, message="already exists", needs_run=True)
    cli("unknown-backbone", lambda d: train(small_csv(d), "--backbone", "no_such_net_v9"), message="no_such_net_v9")
    cli("data-path-missing", lambda d: train(d / "nowhere"), message="no such file")
    cli("resume-not-a-run", lambda d: ["train", "--resume", str((d / "empty").mkdir() or d / "empty")],
        message="not a run directory")
    cli("advise-ner-per-class", lambda d: ["advise", "--task", "ner", "--per-class", "400"], expect="ok",
        message="Backbone")
    cli("advise-zero-classes", lambda d: ["advise", "--task", "image-classification", "--classes", "0",
                                          "--per-class", "10"], message="classes")
    cli("advise-unknown-task", lambda d: ["advise", "--task", "teleportation"], message="task")
    cli("advise-out-unsupported", lambda d: ["advise", "--task", "image-classification", "--classes", "2",
                                             "--per-class", "50", "--out", "s.docx"], message=r"\.md, \.html or \.pdf")
    cli("advise-pdf-hostile-name", lambda d: ["advise", "--task", "image-classification", "--classes", "2",
                                              "--per-class", "50", "--name", INJECT, "--problem", INJECT + " ñ ü → ≥ 文字",
                                              "--out", "run/summary.pdf"], expect="ok", message="Backbone",
        check=lambda d, o: None if (d / "run" / "summary.pdf").read_bytes().startswith(b"%PDF-") else "no PDF")
    cli("advise-negative-price", lambda d: ["advise", "--task", "text", "--classes", "2", "--per-class", "50",
                                            "--price-per-hour", "-3"], message=r"--price-per-hour -3: must be a price")
    cli("advise-html-project-name", lambda d: ["advise", "--task", "image-classification", "--classes", "2",
                                               "--per-class", "50", "--name", INJECT, "--out", "run/summary.html"],
        expect="ok", message="Backbone")
    cli("predict-top-k-zero", lambda d: ["predict", "prev", "x", "--top-k", "0"], message="top-k", needs_run=True)
    cli("predict-top-k-negative", lambda d: ["predict", "prev", "x", "--top-k", "-2"], message="top-k",
        needs_run=True)
    cli("predict-top-k-huge", lambda d: ["predict", "prev", "my card was lost", "--top-k", "50"], expect="ok",
        needs_run=True)

    def damaged(what: str, content: bytes):
        def build(d: Path) -> list[str]:
            (d / "prev" / "model" / what).write_bytes(content)
            return ["predict", "prev", "my card was lost"]
        return build
    cli("predict-corrupt-head", damaged("head.safetensors", b"\0garbage" * 10), message="damaged or incomplete",
        needs_run=True)
    cli("predict-broken-model-info", damaged("model_info.json", b"{not json"), message="damaged or incomplete",
        needs_run=True)
    cli("predict-incomplete-model-info", damaged("model_info.json", b'{"modality": "text"}'),
        message="damaged or incomplete", needs_run=True)
    cli("predict-not-a-run", lambda d: ["predict", str((d / "x").mkdir() or d / "x"), "hello"],
        message="no trained model")
    cli("predict-empty-file", lambda d: ["predict", "prev", "--file", str((d / "e.txt").write_text("") and d / "e.txt"
                                                                          or d / "e.txt")],
        message="give images / texts", needs_run=True)
    cli("evidence-tiny-two-class", lambda d: ["evidence", str(csv_file(d / "t.csv", text_rows({"spam": 4, "ham": 3}))),
                                              "--out", "run/evidence", "--scratch-epochs", "1"], expect="ok",
        fast=False)
    cli("rank-class-of-one", lambda d: ["rank", str(image_folder(d / "data", {"ok": 6, "defect": 5, "rare": 1}))],
        expect="ok", fast=False)
    def evidence_hostile(d: Path) -> list[str]:
        argv = hostile_zip([("../evil.txt", b"x")])(d)
        return ["evidence", argv[1], "--out", "run/evidence"]
    cli("evidence-hostile-zip", evidence_hostile, message="unsafe entry", check=not_exists("evil.txt", "../evil.txt"))
    cli("report-not-a-run", lambda d: ["report", str((d / "y").mkdir() or d / "y")], message="not a finished run")
    return c


# ------------------------------------------------------------------------------------------------ grading
class LiveHTML(HTMLParser):
    """Collects what would run in a browser: script-like tags, on* handlers, javascript: URLs."""

    def __init__(self) -> None:
        super().__init__()
        self.found: list[str] = []

    def handle_starttag(self, tag: str, attrs) -> None:
        if tag in ("script", "iframe", "object", "embed", "svg", "math", "form"):
            self.found.append(f"<{tag}>")
        for k, v in attrs:
            if k.lower().startswith("on") or (v and "javascript:" in v.lower().replace(" ", "")):
                self.found.append(f"<{tag} {k}=...>")


def live_html(run: Path) -> list[str]:
    """Live HTML in the run's HTML reports, and in its Markdown files as a Markdown viewer that passes raw HTML
    through (Python-Markdown, many editors' previews) would render them."""
    import markdown

    found = []
    for page in sorted(run.rglob("*.html")) + sorted(run.rglob("*.md")):
        text = page.read_text(encoding="utf-8", errors="replace")
        p = LiveHTML()
        p.feed(markdown.markdown(text, extensions=["tables"]) if page.suffix == ".md" else text)
        found += [f"{page.name}: {f}" for f in p.found]
    return found


def snapshot(folder: Path, skip: set[str]) -> dict[str, str]:
    out = {}
    for f in sorted(folder.rglob("*")):
        rel = f.relative_to(folder)
        if rel.parts and rel.parts[0] in skip or not f.is_file():
            continue
        out[str(rel)] = hashlib.sha1(f.read_bytes()).hexdigest()
    return out


@dataclass
class Outcome:
    name: str
    group: str
    expect: str
    passed: bool
    exit: int
    seconds: float
    message: str
    problems: list[str] = field(default_factory=list)


def run_case(case: Case, root: Path, prev_run: Optional[Path], cache: Path, timeout: int) -> Outcome:
    d = root / case.name
    shutil.rmtree(d, ignore_errors=True)
    d.mkdir(parents=True)
    (d / "tmp").mkdir()
    if case.needs_run and prev_run is not None:
        shutil.copytree(prev_run, d / "prev")
    problems: list[str] = []
    try:
        argv = case.build(d)
    except Exception as exc:  # a builder bug is a bench bug: say so
        return Outcome(case.name, case.group, case.expect, False, -1, 0.0, "", [f"builder failed: {exc!r}"])
    before = snapshot(d, {"run", "tmp"})
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TMPDIR": str(d / "tmp"), "TLADVISOR_CACHE": str(cache),
           "TLADVISOR_RUNS": str(d / "runs"), "PYTHONWARNINGS": "ignore"}
    env.pop("TLADVISOR_DEBUG", None)
    t0 = time.perf_counter()
    try:
        proc = subprocess.run([sys.executable, "-m", "tladvisor", *argv], cwd=d, env=env, capture_output=True,
                              text=True, timeout=timeout)
        code, out = proc.returncode, proc.stdout + proc.stderr
    except subprocess.TimeoutExpired as exc:
        code, out = -9, f"timeout after {timeout} s; {(exc.stderr or '')[-300:] if isinstance(exc.stderr, str) else ''}"
    seconds = time.perf_counter() - t0
    error_line = next((line for line in reversed(out.splitlines()) if line.startswith("tladvisor: ")), "")
    if "Traceback (most recent call last)" in out:
        problems.append("traceback")
    if "internal error" in out:
        problems.append("internal error: " + error_line[:200])
    if case.expect == "ok" and code != 0:
        problems.append(f"expected success, exit {code}: {error_line[:200] or out[-300:]}")
    if case.expect == "refused":
        if code != 2:
            problems.append(f"expected a refusal (exit 2), got exit {code}")
        if case.message and not re.search(case.message, error_line):
            problems.append(f"message does not match /{case.message}/: {error_line[:200]}")
    elif case.message and code == 0 and not re.search(case.message, out):
        problems.append(f"output lacks /{case.message}/")
    after = snapshot(d, {"run", "tmp"})
    changed = sorted(k for k in set(before) | set(after) if before.get(k) != after.get(k)
                     and not k.startswith("runs/"))
    if changed:
        problems.append(f"written outside the run directory: {changed[:5]}")
    # torch's own compile cache (torchinductor_<user>) is shared by every process, not a file of this run
    leftovers = [p.name for p in (d / "tmp").iterdir() if not p.name.startswith("torchinductor_")]
    if leftovers:
        problems.append(f"temp files left behind: {leftovers[:5]}")
    if code != 0 and (d / "run").is_dir() and any((d / "run").iterdir()) and case.name != "out-is-an-existing-run":
        if not (d / "run" / "state.json").exists():
            problems.append("a failed run left a half-made run directory")
    if (d / "run").is_dir():
        problems += [f"live HTML: {x}" for x in live_html(d / "run")]
    if code == 0 and case.check is not None and not problems:
        try:
            extra = case.check(d, out)
        except Exception as exc:
            extra = f"check failed: {exc!r}"
        if extra:
            problems.append(extra)
    elif case.check is not None and case.expect == "refused":
        extra = case.check(d, out)
        if extra:
            problems.append(extra)
    for outside in ("/tmp/tladvisor-gauntlet-evil.txt", str(root / "evil.txt"), str(root.parent / "evil.txt")):
        if Path(outside).exists():
            problems.append(f"wrote {outside}")
    return Outcome(case.name, case.group, case.expect, not problems, code, round(seconds, 1), error_line[:240],
                   problems)


def make_prev_run(root: Path, cache: Path) -> Path:
    """A small finished text run that the predict / existing-run cases copy."""
    d = root / "_prev"
    shutil.rmtree(d, ignore_errors=True)
    d.mkdir(parents=True)
    data = csv_file(d / "t.csv", text_rows({"card": 10, "refund": 10}))
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TLADVISOR_CACHE": str(cache)}
    subprocess.run([sys.executable, "-m", "tladvisor", *train(data)], cwd=d, env=env, check=True,
                   capture_output=True, timeout=600)
    return d / "run"


def run_gauntlet(fast: bool = False, jobs: int = 2, only: Optional[list[str]] = None, keep: Optional[Path] = None,
                 timeout: int = 600) -> list[Outcome]:
    """Run the cases (the fast half, or all) and return their outcomes."""
    chosen = [c for c in cases() if (not fast or c.fast) and (not only or c.name in only)]
    root = Path(keep) if keep else Path(tempfile.mkdtemp(prefix="gauntlet-"))
    root.mkdir(parents=True, exist_ok=True)
    cache = root / "_cache"
    prev = make_prev_run(root, cache) if any(c.needs_run for c in chosen) else None
    try:
        with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
            return list(pool.map(lambda case: run_case(case, root / "cases", prev, cache, timeout), chosen))
    finally:
        if not keep:
            shutil.rmtree(root, ignore_errors=True)


def write_results(outcomes: list[Outcome], fast: bool, seconds: float) -> None:
    RESULTS.mkdir(exist_ok=True)
    name = "gauntlet_fast" if fast else "gauntlet"
    passed = sum(o.passed for o in outcomes)
    cmd = "python bench/gauntlet.py" + (" --fast" if fast else "")
    cpu = f"{hardware.cpu_model()}, CPU kind {hardware.detected_cpu_kind()}"  # precision=auto and the estimate hang on it
    (RESULTS / f"{name}.json").write_text(json.dumps({
        "command": cmd, "cpu": cpu, "cases": len(outcomes), "passed": passed, "seconds": round(seconds, 1),
        "tracebacks": sum("traceback" in o.problems for o in outcomes),
        "outcomes": [o.__dict__ for o in outcomes]}, indent=2) + "\n")
    esc = lambda s: s.replace("|", "\\|").replace("<", "&lt;")  # noqa: E731
    lines = [f"# Gauntlet: {passed}/{len(outcomes)} cases pass", "",
             f"`{cmd}` on {os.cpu_count()} cores ({cpu}), {seconds:.0f} s wall. Each case runs the CLI in its own process; "
             "graded: expected outcome and message, no traceback, nothing written outside the run directory, "
             "no temp files left, no live HTML in reports.", "",
             "| case | group | expected | exit | s | result | message / problems |", "|---|---|---|---|---|---|---|"]
    for o in outcomes:
        lines.append(f"| {o.name} | {o.group} | {o.expect} | {o.exit} | {o.seconds:.0f} | "
                     f"{'pass' if o.passed else '**FAIL**'} | {esc('; '.join(o.problems) or o.message)[:220]} |")
    (RESULTS / f"{name}.md").write_text("\n".join(lines) + "\n")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--fast", action="store_true", help="only the fast half (refusals, advice, prediction)")
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--only", nargs="+", help="case names")
    ap.add_argument("--keep", type=Path, help="keep the case folders here")
    ap.add_argument("--no-write", action="store_true", help="do not write bench/results")
    args = ap.parse_args()
    t0 = time.perf_counter()
    outcomes = run_gauntlet(args.fast, args.jobs, args.only, args.keep)
    seconds = time.perf_counter() - t0
    for o in outcomes:
        print(f"{'PASS' if o.passed else 'FAIL'} {o.name:34} exit {o.exit:3} {o.seconds:6.1f}s "
              f"{'; '.join(o.problems) or o.message[:120]}")
    print(f"{sum(o.passed for o in outcomes)}/{len(outcomes)} passed in {seconds:.0f} s")
    if not args.no_write and not args.only:
        write_results(outcomes, args.fast, seconds)
    return 0 if all(o.passed for o in outcomes) else 1


if __name__ == "__main__":
    sys.exit(main())
