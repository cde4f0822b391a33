"""What kind of CPU this is, in the terms the throughput table is measured in (pure Python: no torch import).

Measured side by side with the same commands, 2 threads each: an Intel Xeon with AMX embeds 128-token texts with
MiniLM-L6 in bf16 at 241 texts/s, an AMD EPYC with AVX512-BF16 but no AMX at 75-87 texts/s, while their LoRA
training speeds are within 10% (`bench/results/throughput.md`, `throughput_avx512bf16.md`). So the estimate keeps
rows per CPU kind rather than one CPU row.
"""
from __future__ import annotations

import os
import platform
from functools import lru_cache
from pathlib import Path

AMX, AVX512_BF16, PLAIN = "amx", "avx512_bf16", "plain"
CPU_KINDS = (AMX, AVX512_BF16, PLAIN)
DESCRIPTIONS = {AMX: "a CPU with AMX matrix units (native bf16)",
                AVX512_BF16: "a CPU with AVX512-BF16 and no AMX (native bf16 vector units)",
                PLAIN: "a CPU without native bf16"}
ENV = "TLADVISOR_CPU_KIND"  # set it to estimate for another machine's kind (or to pin tests)


@lru_cache(maxsize=1)
def _flags() -> frozenset[str]:
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:  # not Linux: nothing is known, so no native bf16 is assumed
        return frozenset()
    for line in text.splitlines():
        if line.startswith("flags"):
            return frozenset(line.split(":", 1)[1].split())
    return frozenset()


def cpu_model() -> str:
    """The CPU's model name (e.g. 'AMD EPYC'), else the architecture; for the benchmarks' headers."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def detected_cpu_kind() -> str:
    """'amx', 'avx512_bf16' or 'plain' for this machine's CPU, from its flags."""
    flags = _flags()
    if "amx_bf16" in flags:
        return AMX
    return AVX512_BF16 if "avx512_bf16" in flags else PLAIN


def cpu_kind() -> str:
    """The CPU kind time estimates are for: this machine's, unless `TLADVISOR_CPU_KIND` names another."""
    forced = os.environ.get(ENV, "").strip().lower()
    return forced if forced in CPU_KINDS else detected_cpu_kind()


def has_native_bf16() -> bool:
    """True when this CPU runs bf16 matrix products natively (AMX or AVX512-BF16); never overridden, since it
    decides the precision a run uses."""
    return detected_cpu_kind() != PLAIN
