"""The fast half of bench/gauntlet.py (refusals of hostile and broken input, advice and prediction edge cases),
each case through the CLI in its own process: expected outcome and message, no traceback, nothing written
outside the run directory, no live HTML. The full gauntlet (with training cases) is `python bench/gauntlet.py`."""
from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "bench"))
pytest.importorskip("torch")
import gauntlet  # noqa: E402


def test_fast_half_of_the_gauntlet_passes(tmp_path):
    outcomes = gauntlet.run_gauntlet(fast=True, jobs=2, keep=tmp_path)
    assert len(outcomes) >= 45
    failed = [f"{o.name}: {'; '.join(o.problems)}" for o in outcomes if not o.passed]
    assert not failed, "\n".join(failed)
    assert any(o.expect == "ok" for o in outcomes) and any(o.expect == "refused" for o in outcomes)
