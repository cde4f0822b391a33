"""What the advisor needs to know about a labelled data set before training: its task, class count and size.
`detect_task` is the one place that tells images, texts, token-tagged files and tables apart."""
from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Optional

from tladvisor.training.text_data import TEXT_EXTENSIONS

IMAGE_TASK, TEXT_TASK, NER_TASK, TABLE_TASK = ("image-classification", "text-classification", "ner",
                                              "tabular-classification")


def _table_header(path: Path) -> list[str]:
    import csv

    try:
        first = path.read_text(encoding="utf-8-sig", errors="replace").splitlines()[:1]
    except OSError:
        return []
    if not first:
        return []
    delimiter = "\t" if path.suffix.lower() in (".tsv", ".tab") else (";" if first[0].count(";") > first[0].count(",")
                                                                       else ",")
    return [c.strip() for c in next(csv.reader(first, delimiter=delimiter))]


def detect_task(data: str, text_col: str = "text", label_col: str = "label") -> str:
    """The task a data path holds: a folder or zip of images; a CoNLL / span-JSONL file of tagged tokens; a table
    whose header has the text column (texts) or only the label column among others (tabular rows)."""
    from tladvisor.training.ner_data import is_token_file

    path = Path(data)
    if path.is_file() and is_token_file(path):
        return NER_TASK
    if path.suffix.lower() in (".csv", ".tsv", ".tab"):
        header = _table_header(path)
        if text_col not in header and label_col in header and len(header) > 1:
            return TABLE_TASK
        return TEXT_TASK
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
