"""Image data in: ImageFolder folders or zips (safely extracted), robust decoding, seeded stratified splits."""
from __future__ import annotations

import hashlib
import shutil
import warnings
import zipfile
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Optional

import numpy as np
from PIL import Image, ImageFile

from tladvisor.training.errors import DataError
from tladvisor.training.spreadsheets import NOT_READ, SPREADSHEET_EXTENSIONS

IMAGE_EXTENSIONS = {".jpg", ".jpeg", ".png", ".bmp", ".gif", ".tif", ".tiff", ".webp", ".ppm", ".pgm"}
MAX_IMAGE_PIXELS = 64_000_000  # decompression-bomb guard (8k x 8k); PIL raises above 2x this
MAX_ZIP_BYTES = 4 * 1024**3  # uncompressed total
MAX_ZIP_ENTRIES = 200_000
MAX_ZIP_RATIO = 100  # uncompressed / compressed, for the whole archive (images barely compress: ~1-3x)
ZIP_RATIO_FREE_BYTES = 16 * 1024**2  # below this much uncompressed data the ratio does not matter
MAX_ENTRY_RATIO = 200  # one entry over 1 MiB expanding more than this is a bomb on its own
SPLIT_NAMES = ("train", "val", "test")
SPREADSHEETS = {*SPREADSHEET_EXTENSIONS, *NOT_READ, ".parquet", ".feather"}  # table files, never images

Image.MAX_IMAGE_PIXELS = MAX_IMAGE_PIXELS
ImageFile.LOAD_TRUNCATED_IMAGES = False  # a truncated file is reported, never silently half-read


@dataclass
class ImageItem:
    """One labelled image file."""

    path: str
    label: str
    split: Optional[str] = None  # given by train/val/test folders, else assigned by `split_items`


@dataclass
class ImageDataset:
    """The labelled images found in a folder, with the classes in sorted order."""

    root: str
    items: list[ImageItem]
    classes: list[str]
    predefined_split: bool = False
    skipped: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # what was left out and why (hidden folders, ...)


def _check_zip_entries(name: str, infos: list[zipfile.ZipInfo], archive_bytes: int) -> None:
    """Refuse unsafe entries (absolute paths, `..`, links) and bombs, from the archive's own listing."""
    if len(infos) > MAX_ZIP_ENTRIES:
        raise DataError(f"{name}: {len(infos):,} entries is over the limit of {MAX_ZIP_ENTRIES:,}")
    total = 0
    for info in infos:
        entry = info.filename
        parts = PurePosixPath(entry.replace("\\", "/")).parts
        if entry.startswith(("/", "\\")) or (parts and parts[0].endswith(":")) or ".." in parts or "\x00" in entry:
            raise DataError(f"{name}: refused unsafe entry '{entry[:120]}' (absolute path or '..'); "
                            "re-create the zip from inside the data folder")
        if (info.external_attr >> 16) & 0o170000 == 0o120000:
            raise DataError(f"{name}: refused symbolic link entry '{entry[:120]}'")
        if info.flag_bits & 0x1:
            raise DataError(f"{name}: entry '{entry[:120]}' is encrypted; upload a zip without a password")
        if info.file_size > 1 << 20 and info.file_size / max(1, info.compress_size) > MAX_ENTRY_RATIO:
            raise DataError(f"{name}: entry '{entry[:120]}' expands {info.file_size / max(1, info.compress_size):.0f}x "
                            "(possible decompression bomb); refused")
        total += info.file_size
    if total > MAX_ZIP_BYTES:
        raise DataError(f"{name}: {total / 1e9:.1f} GB uncompressed is over the {MAX_ZIP_BYTES / 1e9:.0f} GB limit")
    if total > ZIP_RATIO_FREE_BYTES and total / max(1, archive_bytes) > MAX_ZIP_RATIO:
        raise DataError(f"{name}: {archive_bytes / 1e6:.1f} MB expands to {total / 1e9:.2f} GB "
                        f"({total / max(1, archive_bytes):.0f}x; a zip of images expands about 1-3x): refused as a "
                        "possible decompression bomb")


def safe_extract_zip(archive: Path, dest: Path) -> Path:
    """Extract a zip, refusing absolute paths, `..` components, links, encrypted entries and decompression bombs.

    The listing is checked first (sizes, total ratio); then every entry is streamed with a byte count, so an
    archive whose headers understate the sizes is stopped at the limit, and a refused extraction leaves nothing.
    """
    archive, name = Path(archive), Path(archive).name
    try:
        zf = zipfile.ZipFile(archive)
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise DataError(f"{name}: not a readable zip archive ({exc})") from exc
    created = not dest.exists()
    try:
        with zf:
            infos = zf.infolist()
            archive_bytes = archive.stat().st_size
            _check_zip_entries(name, infos, archive_bytes)
            dest.mkdir(parents=True, exist_ok=True)
            budget = min(MAX_ZIP_BYTES, max(ZIP_RATIO_FREE_BYTES, archive_bytes * MAX_ZIP_RATIO))
            written = 0
            for info in infos:
                target = dest / PurePosixPath(info.filename.replace("\\", "/"))
                if info.is_dir():
                    target.mkdir(parents=True, exist_ok=True)
                    continue
                target.parent.mkdir(parents=True, exist_ok=True)
                with zf.open(info) as src, open(target, "wb") as out:
                    while chunk := src.read(1 << 20):
                        written += len(chunk)
                        if written > budget:
                            raise DataError(f"{name}: expands beyond {budget / 1e9:.2f} GB while extracting "
                                            "(the archive's listing understates it): refused")
                        out.write(chunk)
    except (zipfile.BadZipFile, OSError, EOFError, RuntimeError, NotImplementedError, ValueError) as exc:
        if created:  # a refused or failed extraction leaves nothing behind
            shutil.rmtree(dest, ignore_errors=True)
        if isinstance(exc, DataError):
            raise
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc) or type(exc).__name__
        raise DataError(f"{name}: cannot extract ({reason}); re-create the zip and upload it again") from exc
    return dest


def _data_root(path: Path) -> Path:
    """Skip wrapper folders (a zip of `dataset/` holding the class folders) and macOS junk."""
    root = path
    while True:
        subdirs = [d for d in root.iterdir() if d.is_dir() and not d.name.startswith((".", "__MACOSX"))]
        files = [f for f in root.iterdir() if f.is_file() and f.suffix.lower() in IMAGE_EXTENSIONS]
        if len(subdirs) == 1 and not files and subdirs[0].name.lower() not in SPLIT_NAMES:
            inner = [d for d in subdirs[0].iterdir() if d.is_dir()]
            if inner:
                root = subdirs[0]
                continue
        return root


def _class_dirs(root: Path) -> list[Path]:
    return sorted(d for d in root.iterdir() if d.is_dir() and not d.name.startswith((".", "__MACOSX")))


def _hidden_dirs(root: Path) -> list[str]:
    """Folders left out because their names start with '.' (hidden: .ipynb_checkpoints, .git, ...)."""
    return sorted(d.name for d in root.iterdir() if d.is_dir() and d.name.startswith("."))


def discover_images(source: str | Path, extract_to: Optional[Path] = None) -> ImageDataset:
    """Find labelled images in an ImageFolder layout (`class/*.jpg`, optionally under train/ val/ test/),
    a zip of one (extracted safely into `extract_to`)."""
    path = Path(source)
    shown = path.name or str(source)
    if not path.exists():
        raise DataError(f"{shown}: no such file or folder")
    if path.is_file():
        if path.suffix.lower() in SPREADSHEETS:
            raise DataError(f"{shown}: a spreadsheet holds texts or table rows, not images; for images give a folder "
                            "of class sub-folders or a .zip of one (an .xlsx or CSV file is read as texts or a table "
                            "when the task is not forced to images)")
        if path.suffix.lower() != ".zip":
            raise DataError(f"{shown}: expected a folder of class sub-folders or a .zip of one "
                            "(texts or tables: a .csv, .tsv, .jsonl, .json or .xlsx file)")
        if extract_to is None:
            raise DataError(f"{shown}: a zip needs a folder to extract into")
        path = safe_extract_zip(path, extract_to)
    root = _data_root(path)
    top = {d.name.lower(): d for d in _class_dirs(root)}
    items: list[ImageItem] = []
    skipped: list[str] = []
    predefined = "train" in top and ("test" in top or "val" in top)
    layouts = [(top[s], s) for s in SPLIT_NAMES if s in top] if predefined else [(root, None)]
    for base, split in layouts:
        for class_dir in _class_dirs(base):
            for f in sorted(class_dir.rglob("*")):
                if not f.is_file() or f.name.startswith("."):
                    continue
                if f.suffix.lower() in IMAGE_EXTENSIONS:
                    items.append(ImageItem(str(f), class_dir.name, split))
                else:
                    skipped.append(str(f))
    classes = sorted({i.label for i in items})
    all_dirs = {d.name for base, _ in layouts for d in _class_dirs(base)}
    empty = sorted(all_dirs - set(classes))
    if empty:
        raise DataError(f"{shown}: class folder(s) with no images: {', '.join(repr(e) for e in empty[:10])}; "
                        "add images or remove the folder")
    if len(classes) < 2:
        found = f"only {classes[0]!r}" if classes else "none"
        loose = [f for f in root.iterdir() if f.is_file() and f.suffix.lower() in IMAGE_EXTENSIONS]
        tables = [f.name for f in root.rglob("*") if f.is_file() and f.suffix.lower() in (".csv", ".tsv", ".jsonl")]
        hint = (f"; the {len(loose)} image(s) at the top level have no class: put each class in its own sub-folder"
                if loose else f"; it holds {tables[0]}: to train on texts, give that file itself" if tables
                else "; layout: one sub-folder per class, e.g. ok/ and defect/")
        raise DataError(f"{shown}: need at least 2 class folders with images (found {found}){hint}")
    notes = [f"folder {h!r} was left out (names starting with '.' are hidden folders); rename it to use it as a class"
             for base, _ in layouts for h in _hidden_dirs(base) if h not in (".git", ".ipynb_checkpoints", ".DS_Store")]
    hidden_files = sum(1 for base, _ in layouts for d in _class_dirs(base) for f in d.rglob(".*") if f.is_file())
    if hidden_files:
        notes.append(f"{hidden_files} hidden file(s) (names starting with '.') were left out")
    return ImageDataset(str(root), items, classes, predefined, skipped, notes)


def load_rgb(path: str, min_side: Optional[int] = None) -> Image.Image:
    """Decode any supported image to 8-bit RGB: grayscale, 16-bit, palette, RGBA (on white), CMYK, EXIF rotation.

    `min_side`: a JPEG may be decoded at 1/2, 1/4 or 1/8 scale (PIL's draft mode, done by the JPEG decoder
    itself) as long as both sides stay >= min_side: a 4,000-px photo bound for a 224-px model decodes ~10x faster."""
    from PIL import ImageOps

    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        with Image.open(path) as img:
            if min_side and img.format == "JPEG":
                img.draft("RGB", (min_side, min_side))
            img.load()
            img = ImageOps.exif_transpose(img)
    if img.mode in ("I;16", "I;16B", "I;16L", "I"):
        arr = np.asarray(img, dtype=np.float64)
        lo, hi = float(arr.min()), float(arr.max())
        arr = (arr - lo) / (hi - lo) * 255.0 if hi > lo else np.zeros_like(arr)
        img = Image.fromarray(arr.astype(np.uint8), mode="L")
    elif img.mode == "F":
        arr = np.asarray(img, dtype=np.float64)
        lo, hi = float(arr.min()), float(arr.max())
        img = Image.fromarray(((arr - lo) / (hi - lo or 1) * 255).astype(np.uint8), mode="L")
    if img.mode == "P":
        img = img.convert("RGBA") if "transparency" in img.info else img.convert("RGB")
    if img.mode in ("RGBA", "LA"):
        background = Image.new("RGB", img.size, (255, 255, 255))
        background.paste(img.convert("RGBA"), mask=img.convert("RGBA").getchannel("A"))
        return background
    return img.convert("RGB")


def file_sha1(path: str) -> str:
    """Content hash of a file (exact-duplicate detection and feature-cache keys)."""
    h = hashlib.sha1()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()
