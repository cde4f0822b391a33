"""What the advisor needs to know about a labelled data set before training: its task, class count and size."""
from __future__ import annotations

import tempfile
from pathlib import Path

from tladvisor.training.text_data import TEXT_EXTENSIONS


def data_volume(data: str, text_col: str = "text", label_col: str = "label") -> tuple[str, int, int]:
    """(task, number of classes, number of labelled examples) of a folder / zip of images or a text file."""
    if Path(data).suffix.lower() in TEXT_EXTENSIONS:
        from tladvisor.training.text_data import read_labelled_texts

        rows = read_labelled_texts(data, text_col or "text", label_col or "label").rows
        return "text-classification", len({r.label for r in rows}), len(rows)
    from tladvisor.training.image_data import discover_images

    with tempfile.TemporaryDirectory() as tmp:  # counts only; the trainer extracts into the run directory
        found = discover_images(data, extract_to=Path(tmp))
    return "image-classification", len(found.classes), len(found.items)
