"""Cells for a search spread over tasks (``index="cells"``): which cells each row is sent
to, and which cells one task scores.

Every unique row has a *home* cell: the centroid with the largest dot product (ties: the
lowest cell). A row ``x`` is also sent, as a *query*, to every cell ``j`` that could hold
a row ``y`` at least ``threshold`` similar to it. The bound is exact, not a heuristic:

- unit vectors with ``x·y ≥ t`` are within ``d = sqrt(2 − 2t)`` of each other;
- ``y`` lives in ``j`` only if ``y·c_j ≥ y·c_i`` for ``x``'s home ``i``, i.e. ``y·w ≥ 0``
  with ``w = c_j − c_i``;
- ``y·w ≤ x·w + d·|w|``, so ``y`` can be in ``j`` only if ``x·c_j ≥ x·c_i − d·|c_j − c_i|``.

``SLACK`` covers the rounding of the float32 products on both sides, and the threshold is
lowered by the rescoring margin before ``d`` is taken, so the bound never leaves out a
pair at or above the threshold. In the spaces text models make, though, every vector
lies in one narrow cone and the bound leaves almost every cell possible (measured on
50,000 Alpaca instructions at 0.9: 97 of 111 cells, ``scripts/ray_cell_bound.py``), so
a row is also sent to its ``probes`` nearest cells only, as the single machine's IVF
index probes: the search is then approximate, and a pair is found from either of its
rows. ``index="exact"`` (row blocks, ``_stages.tile_task``) is the exact one.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

#: Nearest cells a row is sent to (as ``semsift dedup``'s IVF probes).
PROBES = 10
#: Rounding allowance of the bound: float32 products of unit vectors err far less.
SLACK = 1e-3
#: The threshold is lowered by this much before the bound is taken (``RESCORE_MARGIN``).
MARGIN = 1e-3
#: Rows scored per chunk when assigning, to bound the ``rows × cells`` product's memory.
CHUNK = 8192


def reach(threshold: float) -> float:
    """The greatest distance between unit vectors at least ``threshold`` similar."""
    return math.sqrt(max(0.0, 2.0 - 2.0 * (threshold - MARGIN)))


def centroid_distances(centroids: np.ndarray) -> np.ndarray:
    """``|c_i − c_j|`` for every pair of centroids, ``(k, k)`` float32."""
    c = centroids.astype(np.float64)
    sq = (c * c).sum(1)
    d2 = np.maximum(sq[:, None] + sq[None, :] - 2.0 * (c @ c.T), 0.0)
    return np.sqrt(d2).astype(np.float32)


def assign(
    vectors: np.ndarray,
    centroids: np.ndarray,
    distances: np.ndarray,
    threshold: float,
    probes: int,
    queries: bool = True,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Home cells and query cells of ``vectors``: ``(home, entry_row, entry_cell)`` where
    ``home[i]`` is row ``i``'s home and each ``(entry_row, entry_cell)`` sends row
    ``entry_row`` (an index into ``vectors``) to cell ``entry_cell`` as a query: its home
    and, of its ``probes`` nearest cells, those the bound leaves possible. With
    ``queries=False`` only the homes are computed (empty entries)."""
    n = len(vectors)
    d = reach(threshold)
    home = np.empty(n, dtype=np.int32)
    rows, cells = [], []
    for lo in range(0, n, CHUNK):
        p = vectors[lo : lo + CHUNK] @ centroids.T
        h = p.argmax(axis=1)
        home[lo : lo + len(p)] = h
        if queries:
            at = np.arange(len(p))
            best = p[at, h]
            mask = p >= best[:, None] - d * distances[h] - SLACK
            if probes < p.shape[1]:
                near = np.zeros_like(mask)
                near[at[:, None], np.argpartition(-p, probes - 1, axis=1)[:, :probes]] = True
                near[at, h] = True
                mask &= near
            r, c = np.nonzero(mask)
            rows.append(r + lo)
            cells.append(c)
    if not queries:
        return home, np.empty(0, np.int64), np.empty(0, np.int32)
    entry_rows = np.concatenate(rows) if rows else np.empty(0, np.int64)
    entry_cells = np.concatenate(cells).astype(np.int32) if cells else np.empty(0, np.int32)
    return home, entry_rows.astype(np.int64), entry_cells


@dataclass(frozen=True)
class Task:
    """One scoring task: the cells of group ``group``; of a split cell, the home rows
    whose number is ``part`` modulo ``parts``."""

    group: int
    part: int = 0
    parts: int = 1


def blocks(shards: list, counts: dict[int, int], parts: int) -> list[list[tuple]]:
    """The vector rows of ``shards`` (``counts[shard.index]`` each, in order) cut into at
    most ``parts`` blocks of about equal rows: each block a list of ``(shard, lo, hi)``
    slices of the shards' vector files."""
    total = sum(counts[s.index] for s in shards)
    size = max(1, -(-total // max(1, parts)))
    out: list[list[tuple]] = [[]]
    room = size
    for s in shards:
        lo, n = 0, counts[s.index]
        while lo < n:
            take = min(room, n - lo)
            out[-1].append((s, lo, lo + take))
            lo += take
            room -= take
            if room == 0:
                out.append([])
                room = size
    return [b for b in out if b]


def pack(home: np.ndarray, queries: np.ndarray, tasks: int) -> tuple[np.ndarray, list[Task]]:
    """Cells packed into groups of about equal work (home rows × queries per cell), about
    ``tasks`` of them: returns each cell's group (-1: no work) and the scoring tasks. A
    cell with more work than a task's share is a group of its own, split into parts by
    home row."""
    work = home.astype(np.float64) * queries.astype(np.float64)
    total = float(work.sum())
    k = len(work)
    group_of = np.full(k, -1, dtype=np.int32)
    out: list[Task] = []
    if total == 0:
        return group_of, []
    share = total / max(1, tasks)
    g, load = 0, 0.0
    order = np.argsort(-work, kind="stable")
    for cell in order:
        w = float(work[cell])
        if w == 0:
            continue  # nothing to score: its entries are dropped (group -1)
        if w > share:
            # Its own group, split into parts by home row.
            parts = min(int(math.ceil(w / share)), int(home[cell]))
            group_of[cell] = g
            out.extend(Task(g, p, parts) for p in range(parts))
            g += 1
            continue
        if load + w > share and load > 0:
            out.append(Task(g))
            g, load = g + 1, 0.0
        group_of[cell] = g
        load += w
    if load > 0:
        out.append(Task(g))
    return group_of, out
