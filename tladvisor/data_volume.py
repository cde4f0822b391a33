"""What the advisor needs to know about a labelled data set before training: its task, class count and size.
`detect_task` is the one place that tells images, texts, token-tagged files and tables apart."""
from __future__ import annotations

import re
import tempfile
from pathlib import Path
from typing import Optional

from tladvisor.training.errors import DataError
from tladvisor.training.spreadsheets import NOT_READ, SPREADSHEET_EXTENSIONS, read_sheet
from tladvisor.training.text_data import TEXT_EXTENSIONS
from tladvisor.training.text_encoding import decode_head

IMAGE_TASK, TEXT_TASK, NER_TASK, TABLE_TASK = ("image-classification", "text-classification", "ner",
                                              "tabular-classification")


def _table_head(path: Path, rows: int = 200, label_col: str = "label") -> list[list[str]]:
    """The header and the first rows of a delimited file or a workbook's data sheet (empty when unreadable)."""
    import csv
    import io

    if path.suffix.lower() in SPREADSHEET_EXTENSIONS:
        try:
            sheet = read_sheet(path, wanted=(label_col,), max_rows=rows)
        except DataError:
            return []  # the reader says why
        return [sheet.header] + [cells for _, cells in sheet.rows]
    try:
        with open(path, "rb") as fh:
            text = decode_head(fh.read(200_000))
    except OSError:
        return []
    first = re.split(r"\r\n|\r|\n", text, maxsplit=1)[0]  # Windows, Unix and old Mac line ends, even mixed
    delimiter = "\t" if path.suffix.lower() in (".tsv", ".tab") else (";" if first.count(";") > first.count(",")
                                                                       else ",")
    out = []
    try:  # newline="": the csv module sees every kind of line end (a bare \r inside a line is an error otherwise)
        for row in csv.reader(io.StringIO(text, newline=""), delimiter=delimiter):
            out.append([c.strip() for c in row])
            if len(out) > rows:
                break
    except csv.Error:  # a head cut mid-quote or a malformed line: what was read decides, the reader says the rest
        pass
    return out


def _free_text(values: list[str]) -> bool:
    """Sentences rather than table cells: mostly several words, long on average."""
    filled = [v for v in values if v]
    return bool(filled) and sum(len(v.split()) >= 3 for v in filled) >= 0.6 * len(filled) and \
        sum(map(len, filled)) / len(filled) >= 20


def detect_task(data: str, text_col: str = "text", label_col: str = "label") -> str:
    """The task a data path holds: a folder or zip of images; a CoNLL / span-JSONL file of tagged tokens; a table
    whose header has the text column (texts) or only the label column among others (tabular rows)."""
    from tladvisor.training.ner_data import is_token_file

    path = Path(data)
    if path.is_file() and is_token_file(path):
        return NER_TASK
    if path.suffix.lower() in NOT_READ:
        return TEXT_TASK  # the reader says how to save it
    if path.suffix.lower() in (".csv", ".tsv", ".tab") + SPREADSHEET_EXTENSIONS:
        head = _table_head(path, label_col=label_col)
        header = head[0] if head else []
        if text_col in header or label_col not in header or len(header) < 2:
            return TEXT_TASK  # the text reader names what is missing
        features = [k for k, h in enumerate(header) if h != label_col and h]
        # one column of sentences beside the label is a text file whose text column has another name
        if len(features) == 1 and _free_text([r[features[0]] for r in head[1:] if len(r) > features[0]]):
            return TEXT_TASK
        return TABLE_TASK
    if path.suffix.lower() in TEXT_EXTENSIONS:
        return TEXT_TASK
    return IMAGE_TASK


def data_volume(data: str, text_col: str = "text", label_col: str = "label", task: Optional[str] = None
                ) -> tuple[str, int, int]:
    """(task, number of classes, number of labelled examples) of a data path. For NER the classes are entity
    types and the examples sentences; for a table, rows with a label."""
    task = task or detect_task(data, text_col, label_col)
    if task == NER_TASK:
        from tladvisor.training.ner_data import entity_types, read_token_file

        found = read_token_file(data)
        return task, len(entity_types([t for s in found.sentences for t in s.tags])), len(found.sentences)
    if task == TABLE_TASK:
        from tladvisor.training.tabular_data import label_strings, read_table

        labels = [x for x in label_strings(read_table(data, label_col or "label")[label_col or "label"])[0] if x]
        return task, len(set(labels)), len(labels)
    if task == TEXT_TASK:
        from tladvisor.training.text_data import read_labelled_texts

        rows = read_labelled_texts(data, text_col or "text", label_col or "label").rows
        return task, len({r.label for r in rows}), len(rows)
    from tladvisor.training.image_data import discover_images

    with tempfile.TemporaryDirectory() as tmp:  # counts only; the trainer extracts into the run directory
        found = discover_images(data, extract_to=Path(tmp))
    return task, len(found.classes), len(found.items)


def text_tokens(data: str, backbone: str, text_col: str = "text", label_col: str = "label",
                max_length: Optional[int] = None) -> Optional[float]:
    """Padded tokens per text of a labelled text file under `backbone`'s tokenizer (what training speed follows),
    or None when the file or the tokenizer cannot be read here: the estimate then assumes 128 tokens."""
    from tladvisor.training.errors import DataError
    from tladvisor.training.text_data import read_labelled_texts
    from tladvisor.training.text_models import padded_tokens

    try:
        rows = read_labelled_texts(data, text_col or "text", label_col or "label").rows
    except (DataError, OSError, ValueError):
        return None
    return padded_tokens([r.text for r in rows], backbone, max_length)


def _spread(items: list, count: int) -> list:
    """Up to `count` items evenly spread over a sorted list (first and last included), without repeats."""
    n = min(count, len(items))
    return [items[round(k * (len(items) - 1) / max(1, n - 1))] for k in range(n)]


def _median_decode_seconds(reads: list, input_side: int) -> Optional[float]:
    """Median seconds to read (a callable giving the file's bytes), decode as training does and resize one image;
    unreadable files are skipped (the audit names them)."""
    import io
    import statistics
    import time

    from PIL import Image

    from tladvisor.training.image_data import load_rgb

    times = []
    for read in reads:
        t0 = time.perf_counter()
        try:
            img = load_rgb(io.BytesIO(read()), 2 * input_side)  # draft mode down to twice the input side
            img.resize((input_side, input_side), Image.Resampling.BILINEAR)
        except Exception:  # noqa: BLE001  (any decoder error: it does not time anything here)
            continue
        times.append(time.perf_counter() - t0)
    return statistics.median(times) if times else None


def image_decode_seconds(data: str, input_side: int = 224, sample: int = 12) -> Optional[float]:
    """Seconds to read, decode and resize one image of `data` on this machine, as training does it (a large JPEG
    decoded at reduced scale down to twice the input side): the median over a sample spread across the files (a zip
    is read in memory, not extracted; no member over 64 MB). The model-only throughput leaves this out, and a
    12-megapixel photo takes longer to decode than to embed (bench/results/probe_vs_forward.md). None when no image
    can be read."""
    import zipfile

    from tladvisor.training.image_data import IMAGE_EXTENSIONS

    path = Path(data)
    try:
        if path.is_dir():
            files = sorted(f for f in path.rglob("*") if f.suffix.lower() in IMAGE_EXTENSIONS and f.is_file()
                           and not any(part.startswith(".") for part in f.relative_to(path).parts))
            return _median_decode_seconds([f.read_bytes for f in _spread(files, sample)], input_side)
        if zipfile.is_zipfile(path):
            with zipfile.ZipFile(path) as archive:
                names = sorted(i.filename for i in archive.infolist()
                               if Path(i.filename).suffix.lower() in IMAGE_EXTENSIONS and not i.is_dir()
                               and i.file_size <= 64 << 20)
                return _median_decode_seconds([lambda n=n: archive.read(n) for n in _spread(names, sample)],
                                              input_side)
    except (OSError, ValueError, zipfile.BadZipFile):
        return None
    return None
