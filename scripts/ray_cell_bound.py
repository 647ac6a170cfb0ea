"""How many cells the exact Voronoi bound of semsift.ray's cells (src/semsift/ray/_cells.py)
leaves possible per row, and how many a radius bound (cell radius + the threshold's
angle) would: the measurement behind `--index exact` being row-block tiles rather than
cells. Embeds N rows of a JSON Lines file with the bundled model.

Usage: python scripts/ray_cell_bound.py FILE.jsonl[.gz] COLUMN [N]
(e.g. ../shared/data/alpaca_cleaned_partial/alpaca_cleaned_partial.jsonl.gz instruction 50000)
"""

from __future__ import annotations

import gzip
import json
import sys

import numpy as np

from semsift import _native
from semsift.ray import _cells


def main() -> None:
    src, column = sys.argv[1], sys.argv[2]
    n = int(sys.argv[3]) if len(sys.argv) > 3 else 50000
    texts: list[str] = []
    with (gzip.open if src.endswith(".gz") else open)(src, "rt", encoding="utf-8") as f:
        for line in f:
            if line.strip():
                texts.append(str(json.loads(line)[column]))
            if len(texts) >= n:
                break
    v = np.asarray(_native.Model.bundled().encode(texts), dtype=np.float32)
    print(f"{len(v):,} rows; norm of the mean vector {np.linalg.norm(v.mean(0)):.3f} (1: all alike, 0: spread)")
    for t in (0.8, 0.9, 0.95):
        for k in (int(np.sqrt(len(v)) / 2), int(np.sqrt(len(v)) * 2)):
            sample = np.ascontiguousarray(v[:: max(1, len(v) // (256 * k))])
            c = np.asarray(_native.fit_centroids(sample, k, 0), dtype=np.float32)
            home, rows, _ = _cells.assign(v, c, _cells.centroid_distances(c), t, probes=k)
            unit = c / np.linalg.norm(c, axis=1, keepdims=True)
            p = v @ unit.T
            inner = np.ones(k)
            np.minimum.at(inner, home, p[np.arange(len(v)), home])
            radius = np.arccos(np.clip(inner, -1, 1))
            within = np.arccos(np.clip(p, -1, 1)) <= np.arccos(t - _cells.MARGIN) + radius[None, :] + 1e-3
            print(f"threshold {t}, {k} cells: Voronoi bound {len(rows) / len(v):.1f} cells per row, radius bound {within.sum() / len(v):.1f}")


if __name__ == "__main__":
    main()
