"""Client domains (`knowledge/domains.yaml`): canonical names, synonyms, nearest pre-training tags."""
from __future__ import annotations

from functools import lru_cache
from typing import Any, Optional

from tladvisor.advice.knowledge import load_yaml


@lru_cache(maxsize=1)
def domains() -> dict[str, dict[str, Any]]:
    """Canonical domain name -> its entry."""
    return dict((load_yaml("domains.yaml") or {}).get("domains", {}))


def canonical_domain(text: str) -> Optional[str]:
    """The canonical domain for a name or synonym (case-insensitive), or None."""
    key = text.strip().lower().replace("_", " ")
    for name, entry in domains().items():
        words = [s.lower() for s in entry.get("synonyms", []) + entry.get("weak", [])]
        if key == name or key.replace(" ", "-") == name or key in words:
            return name
    return None
