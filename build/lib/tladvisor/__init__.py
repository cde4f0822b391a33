"""TL Advisor: transfer-learning advice and a training backend for small labelled data sets.

The top-level package stays light: the advice layer (no torch) is importable in well under a second.
"""
from __future__ import annotations

__version__ = "0.1.0"

from tladvisor.advice.brief import ProjectBrief
from tladvisor.advice.advisor import advise
from tladvisor.advice.recommendation import Recommendation
from tladvisor.schemas import RunResult, TrainConfig

__all__ = ["ProjectBrief", "Recommendation", "TrainConfig", "RunResult", "advise", "__version__"]
