"""Start a CLI training run and kill it once its first epoch checkpoint exists (for resume tests)."""
from __future__ import annotations

import signal
import subprocess
import time
from pathlib import Path


def kill_after_checkpoint(cmd: list[str], ckpt: Path, env: dict, wait_s: float = 300) -> None:
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + wait_s
    while time.time() < deadline and not ckpt.exists():
        time.sleep(0.2)
    assert ckpt.exists(), "no checkpoint appeared"
    time.sleep(0.5)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
