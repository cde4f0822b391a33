"""On-disk cache of frozen-backbone features, keyed by (model, weights, preprocessing) and by file content,
so a linear probe embeds each image or text once, across runs."""
from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
import time
from typing import Any, Callable, Optional

import numpy as np


def cache_root() -> Path:
    return Path(os.environ.get("TLADVISOR_CACHE", Path.home() / ".cache" / "tladvisor")) / "features"


class FeatureCache:
    """Features for one (model, weights, preprocessing) key; entries keyed by content hash."""

    def __init__(self, key_material: dict[str, Any], root: Optional[Path] = None):
        blob = json.dumps(key_material, sort_keys=True, default=str)
        self.key = hashlib.sha256(blob.encode()).hexdigest()[:24]
        self.path = (root or cache_root()) / f"{self.key}.npz"
        self.meta = key_material
        self._store: dict[str, np.ndarray] = {}
        if self.path.exists():
            try:
                data = np.load(self.path, allow_pickle=False)
                self._store = dict(zip(data["keys"].tolist(), data["feats"]))
            except Exception:  # a damaged cache is only a cache: recompute
                self._store = {}

    def get(self, keys: list[str]) -> tuple[dict[int, np.ndarray], list[int]]:
        """(cached features by position, positions still missing)."""
        hit, miss = {}, []
        for i, k in enumerate(keys):
            if k in self._store:
                hit[i] = self._store[k]
            else:
                miss.append(i)
        return hit, miss

    def put(self, keys: list[str], feats: np.ndarray) -> None:
        for k, f in zip(keys, feats):
            self._store[k] = f
        from tladvisor.training.rundir import atomic_write_bytes
        import io

        buf = io.BytesIO()
        np.savez(buf, keys=np.array(list(self._store)), feats=np.stack(list(self._store.values())))
        atomic_write_bytes(self.path, buf.getvalue())


def embed_cached(cache: FeatureCache, keys: list[str], sizes: dict[str, int],
                 compute: Callable[[list[int]], np.ndarray], is_main: bool = True
                 ) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """Features for `keys` (the concatenation of named splits of `sizes`), computing only cache misses
    with `compute(positions)`; returns ({split: features}, {cached, computed, seconds})."""
    hit, miss = cache.get(keys)
    feats: dict[int, np.ndarray] = dict(hit)
    stats: dict[str, Any] = {"cached": len(hit), "computed": len(miss), "seconds": 0.0}
    if miss:
        t0 = time.perf_counter()
        new = compute(miss)
        feats.update({pos: new[j] for j, pos in enumerate(miss)})
        if is_main:  # under torchrun only one process writes the cache
            cache.put([keys[i] for i in miss], new)
        stats["seconds"] = round(time.perf_counter() - t0, 2)
    result, start = {}, 0
    dim = len(next(iter(feats.values()))) if feats else 1  # an empty split keeps the feature width
    for name, count in sizes.items():
        result[name] = np.stack([feats[start + k] for k in range(count)]) if count else np.zeros((0, dim))
        start += count
    return result, stats
