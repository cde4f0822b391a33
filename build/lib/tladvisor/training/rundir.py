"""Run directories: created fresh (never overwritten), written atomically, resumable."""
from __future__ import annotations

import json
import os
import tempfile
import time
from pathlib import Path
from typing import Any, Optional

from tladvisor.training.errors import RunDirError


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write via a temp file + rename, so a killed process never leaves half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def atomic_write_text(path: Path, text: str) -> None:
    atomic_write_bytes(path, text.encode("utf-8"))


def atomic_write_json(path: Path, obj: Any) -> None:
    atomic_write_text(path, json.dumps(obj, indent=2, default=str))


def atomic_torch_save(path: Path, obj: Any) -> None:
    import io

    import torch

    buf = io.BytesIO()
    torch.save(obj, buf)
    atomic_write_bytes(path, buf.getvalue())


def read_json(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


def new_run_dir(out_dir: Optional[str], default_name: str, root: str = "runs") -> Path:
    """A fresh run directory. An existing non-empty one is never reused: that would overwrite a user's run."""
    path = Path(out_dir) if out_dir else Path(root) / f"{time.strftime('%Y%m%d-%H%M%S')}-{default_name}"
    if path.exists() and not path.is_dir():
        raise RunDirError(f"{path}: exists and is a file, not a folder; nothing was overwritten. "
                          "Choose another --out")
    if path.exists() and any(path.iterdir()):
        raise RunDirError(f"{path}: run directory already exists and is not empty; nothing was overwritten. "
                          f"Use --resume {path} to continue it, or choose another --out")
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise RunDirError(f"{path}: cannot create the run directory ({exc.strerror or exc})") from exc
    return path


def discard_run_dir(path: Path) -> None:
    """Remove what a run that never started training wrote (its data was refused): an empty folder that existed
    before stays, as an empty folder."""
    import shutil

    if not path.is_dir():
        return
    for child in path.iterdir():
        if child.is_dir() and not child.is_symlink():
            shutil.rmtree(child, ignore_errors=True)
        else:
            child.unlink(missing_ok=True)


class RunState:
    """Progress of a run (`state.json`): finished stages and their results, for resume."""

    def __init__(self, run_dir: Path):
        self.path = run_dir / "state.json"
        self.data: dict[str, Any] = read_json(self.path) if self.path.exists() else {"stages": {}, "status": "running"}

    def stage_done(self, key: str) -> Optional[dict[str, Any]]:
        return self.data["stages"].get(key)

    def mark_stage(self, key: str, result: dict[str, Any]) -> None:
        self.data["stages"][key] = result
        atomic_write_json(self.path, self.data)

    def set_status(self, status: str) -> None:
        self.data["status"] = status
        atomic_write_json(self.path, self.data)


def append_jsonl(path: Path, record: dict[str, Any]) -> None:
    """Append one log line (small appends are atomic enough; a torn last line is skipped on read)."""
    torn = path.exists() and path.stat().st_size > 0 and not path.read_bytes().endswith(b"\n")
    with open(path, "a", encoding="utf-8") as fh:
        # after a kill mid-write, start a fresh line so the torn one does not swallow this record
        fh.write(("\n" if torn else "") + json.dumps(record, default=str) + "\n")


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    out = []
    if path.exists():
        for line in path.read_text(encoding="utf-8").splitlines():
            try:
                out.append(json.loads(line))
            except json.JSONDecodeError:
                continue
    return out


def rewind_jsonl(path: Path, stage: str, epochs_kept: int) -> None:
    """Drop `stage`'s epoch lines after `epochs_kept`: a run killed between logging an epoch and checkpointing it
    runs that epoch again on resume, and the curves must not show it twice."""
    lines = path.read_text(encoding="utf-8").splitlines() if path.exists() else []
    kept = []
    for line in lines:
        try:
            rec = json.loads(line)
        except json.JSONDecodeError:
            continue  # a torn last line from the kill
        if not (rec.get("stage") == stage and int(rec.get("epoch", 0)) > epochs_kept):
            kept.append(line)
    if len(kept) != len(lines):
        atomic_write_text(path, "".join(l + "\n" for l in kept))
