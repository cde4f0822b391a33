"""Image data in: ImageFolder folders or zips (safely extracted), robust decoding, seeded stratified splits."""
from __future__ import annotations

import hashlib
import warnings
import zipfile
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Optional

import numpy as np
from PIL import Image, ImageFile

from tladvisor.training.errors import DataError

IMAGE_EXTENSIONS = {".jpg", ".jpeg", ".png", ".bmp", ".gif", ".tif", ".tiff", ".webp", ".ppm", ".pgm"}
MAX_IMAGE_PIXELS = 64_000_000  # decompression-bomb guard (8k x 8k); PIL raises above 2x this
MAX_ZIP_BYTES = 4 * 1024**3  # uncompressed total
MAX_ZIP_ENTRIES = 200_000
MAX_ZIP_RATIO = 200  # uncompressed / compressed for one entry
SPLIT_NAMES = ("train", "val", "test")

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


def safe_extract_zip(archive: Path, dest: Path) -> Path:
    """Extract a zip, refusing absolute paths, `..` components, links and decompression bombs."""
    try:
        zf = zipfile.ZipFile(archive)
    except (zipfile.BadZipFile, OSError) as exc:
        raise DataError(f"{archive}: not a readable zip archive ({exc})") from exc
    with zf:
        infos = zf.infolist()
        if len(infos) > MAX_ZIP_ENTRIES:
            raise DataError(f"{archive}: {len(infos)} entries is over the limit of {MAX_ZIP_ENTRIES}")
        total = 0
        for info in infos:
            name = info.filename
            parts = PurePosixPath(name.replace("\\", "/")).parts
            if name.startswith(("/", "\\")) or (parts and parts[0].endswith(":")) or ".." in parts:
                raise DataError(f"{archive}: refused unsafe entry '{name}' (absolute path or '..'); "
                                "re-create the zip from inside the data folder")
            if (info.external_attr >> 16) & 0o170000 == 0o120000:
                raise DataError(f"{archive}: refused symbolic link entry '{name}'")
            total += info.file_size
            if info.compress_size and info.file_size / info.compress_size > MAX_ZIP_RATIO and info.file_size > 1 << 20:
                raise DataError(f"{archive}: entry '{name}' expands {info.file_size / info.compress_size:.0f}x "
                                "(possible decompression bomb); refused")
        if total > MAX_ZIP_BYTES:
            raise DataError(f"{archive}: {total / 1e9:.1f} GB uncompressed is over the {MAX_ZIP_BYTES / 1e9:.0f} GB limit")
        dest.mkdir(parents=True, exist_ok=True)
        zf.extractall(dest)
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


def discover_images(source: str | Path, extract_to: Optional[Path] = None) -> ImageDataset:
    """Find labelled images in an ImageFolder layout (`class/*.jpg`, optionally under train/ val/ test/),
    a zip of one (extracted safely into `extract_to`)."""
    path = Path(source)
    if not path.exists():
        raise DataError(f"{source}: no such file or folder")
    if path.is_file():
        if path.suffix.lower() != ".zip":
            raise DataError(f"{source}: expected a folder of class sub-folders or a .zip of one")
        if extract_to is None:
            raise DataError(f"{source}: a zip needs a folder to extract into")
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
        raise DataError(f"{source}: class folder(s) with no images: {', '.join(empty)}; "
                        "add images or remove the folder")
    if len(classes) < 2:
        found = f"only '{classes[0]}'" if classes else "none"
        raise DataError(f"{source}: need at least 2 class folders with images (found {found}); "
                        "layout: one sub-folder per class")
    return ImageDataset(str(root), items, classes, predefined, skipped)


def load_rgb(path: str) -> Image.Image:
    """Decode any supported image to 8-bit RGB: grayscale, 16-bit, palette, RGBA (on white), CMYK, EXIF rotation."""
    from PIL import ImageOps

    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        with Image.open(path) as img:
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
