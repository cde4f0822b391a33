"""One `python -m tladvisor train DATA ... --json` run as the benches measure it: what a user's command does,
timed from outside (start-up and evaluation included)."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Optional

ROOT = Path(__file__).resolve().parents[1]


def train_cli(data: Any, out: Path, *flags: str, env: Optional[dict[str, str]] = None,
              timeout: Optional[float] = None) -> tuple[Optional[dict[str, Any]], float, str]:
    """(the RunResult as JSON, or None when the command failed; wall seconds; the command's stderr, which holds
    the advisor's plan line or the error)."""
    cmd = [sys.executable, "-m", "tladvisor", "train", str(data), *flags, "--out", str(out), "--json"]
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT, timeout=timeout,
                          env={**os.environ, "HF_HUB_OFFLINE": "1", **(env or {})})
    wall = time.perf_counter() - t0
    return (json.loads(proc.stdout) if proc.returncode == 0 else None), wall, proc.stderr
