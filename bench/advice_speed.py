"""Advice-layer speed: import time (fresh process) and advise() latency. Goals: import <= 0.5 s, advise <= 50 ms median.

Run: python bench/advice_speed.py   (writes bench/results/advice_speed.json and .md)
"""
from __future__ import annotations

import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results"
BRIEFS = [
    dict(task="image-classification", domain="manufacturing", classes=15, per_class=200, commercial=True),
    dict(task="text-classification", domain="biomedical", classes=5, per_class=300, commercial=True),
    dict(task="ner", domain="clinical", total=800, commercial=True),
    dict(task="tabular-classification", domain="finance", classes=2, total=50000),
    dict(task="image-classification", domain="medical", classes=4, per_class=60, edge=True, keep_original=True),
]


def import_time(runs: int = 5) -> list[float]:
    code = "import time; t=time.perf_counter(); import tladvisor.advice.advisor; print(time.perf_counter()-t)"
    return [float(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout)
            for _ in range(runs)]


def main() -> None:
    imports = import_time()
    from tladvisor import ProjectBrief, advise

    t0 = time.perf_counter()
    advise(ProjectBrief(**BRIEFS[0]))  # first call loads and validates the knowledge base
    first_call = time.perf_counter() - t0
    latencies = []
    for _ in range(40):
        for kw in BRIEFS:
            t = time.perf_counter()
            advise(ProjectBrief(**kw))
            latencies.append(time.perf_counter() - t)
    result = {
        "command": "python bench/advice_speed.py",
        "import_s_median": statistics.median(imports),
        "import_s_runs": imports,
        "first_advise_s (loads knowledge)": first_call,
        "advise_ms_median": statistics.median(latencies) * 1000,
        "advise_ms_p95": sorted(latencies)[int(len(latencies) * 0.95)] * 1000,
        "advise_calls": len(latencies),
        "goals": {"import_s": 0.5, "advise_ms_median": 50},
    }
    result["meets_goals"] = result["import_s_median"] <= 0.5 and result["advise_ms_median"] <= 50
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "advice_speed.json").write_text(json.dumps(result, indent=2))
    md = ("# Advice speed\n\n`python bench/advice_speed.py`\n\n| measure | value | goal |\n|---|---|---|\n"
          f"| import of the advice layer (median of {len(imports)} fresh processes) | {result['import_s_median']:.3f} s | <= 0.5 s |\n"
          f"| first advise() (loads the knowledge base) | {first_call * 1000:.1f} ms | |\n"
          f"| advise() median over {len(latencies)} calls | {result['advise_ms_median']:.2f} ms | <= 50 ms |\n"
          f"| advise() p95 | {result['advise_ms_p95']:.2f} ms | |\n")
    (RESULTS / "advice_speed.md").write_text(md)
    print(md)


if __name__ == "__main__":
    main()
