"""The work each Ray task or actor does, as plain functions over the scratch directory.

Every stage reads files of the stage before and writes its own files under fixed names,
each written to a temporary name and renamed when complete. A task that Ray retries after
its worker died therefore writes the very same files again: no row is lost or counted
twice, whichever attempt finishes. The driver (``_job``) decides what runs where.

Scratch layout (``{s}`` is ``q`` for the input, ``r`` for a reference; ``{k}`` a shard):

- ``vectors/{s}-{k}.parquet``: ``row``, ``vector`` of the shard's first copy of each text;
- ``local/{s}-{k}.parquet``: ``row``, ``first``: rows that copy an earlier row of the shard;
- ``keys/p{p}/{s}-{k}.parquet``: ``row``, ``k0``, ``k1``: text keys, by key partition;
- ``copies/p{p}.parquet``: ``row``, ``first`` (self) or ``row``, ``of`` (exact reference
  copies): exact copies across shards;
- ``assign/{s}-{k}.parquet``: ``index``, ``row``, ``cell``, ``home``: where rows go;
- ``cells/g{g}/{s}-{k}.parquet``: ``row``, ``cell``, ``home``, ``vector``: a cell group;
- ``pairs/t{t}.parquet`` (self) or ``matches/t{t}.parquet``: each scoring task's output.
"""

from __future__ import annotations

import glob
import json
import os
import time
import uuid
from typing import Any, Optional, Sequence

import numpy as np

from semsift import _native
from semsift.errors import InputFileError
from semsift.ray import _cells, _inputs

#: Prefix of the input's files and of a reference's.
INPUT, REFERENCE = "q", "r"


def write_table(table: Any, path: str) -> None:
    """Writes a pyarrow table to ``path`` atomically (a partial file renamed when done)."""
    import pyarrow.parquet as pq  # noqa: PLC0415

    os.makedirs(os.path.dirname(path), exist_ok=True)
    tmp = f"{path}.{os.getpid()}-{uuid.uuid4().hex[:8]}.partial"
    try:
        # Uncompressed: vectors do not compress, and scratch files are read once or twice.
        pq.write_table(table, tmp, compression="none", use_dictionary=False)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


def read_tables(pattern: str, columns: Optional[list[str]] = None, filters: Any = None) -> Any:
    """Every complete file matching ``pattern``, as one pyarrow table (sorted by name)."""
    import pyarrow as pa  # noqa: PLC0415
    import pyarrow.parquet as pq  # noqa: PLC0415

    files = sorted(f for f in glob.glob(pattern) if not f.endswith(".partial"))
    tables = [pq.read_table(f, columns=columns, filters=filters) for f in files]
    if not tables:
        return None
    return pa.concat_tables(tables)


def vectors_table(rows: np.ndarray, vectors: np.ndarray) -> Any:
    import pyarrow as pa  # noqa: PLC0415

    dim = vectors.shape[1] if vectors.ndim == 2 else 0
    flat = pa.array(np.ascontiguousarray(vectors, dtype=np.float32).reshape(-1))
    return pa.table({"row": pa.array(rows, pa.uint64()), "vector": pa.FixedSizeListArray.from_arrays(flat, dim)})


def vectors_of(table: Any, column: str = "vector") -> np.ndarray:
    """A ``vector`` column as a ``(rows, dim)`` float32 array."""
    col = table.column(column).combine_chunks()
    dim = col.type.list_size
    return np.asarray(col.flatten().to_numpy(zero_copy_only=False), dtype=np.float32).reshape(-1, dim)


def name(kind: str, shard: int) -> str:
    return f"{kind}-{shard:06d}.parquet"


def count_block(block: Any) -> int:
    """Rows of one dataset block."""
    return int(block.num_rows)


class Embedder:
    """A Ray Data actor (``map_batches``): loads the model once, then embeds whole shards
    (one per call) into the scratch directory and returns what it did."""

    def __init__(
        self,
        shards: dict[str, list[_inputs.Shard]],
        scratch: str,
        columns: Sequence[str],
        chat: Optional[str],
        model: Optional[str],
        device: str,
        partitions: int,
    ) -> None:
        from semsift.models import load_model  # noqa: PLC0415

        self.shards = shards
        self.scratch = scratch
        self.columns = list(columns)
        self.chat = chat
        self.partitions = partitions
        self.model = load_model(model, device=device)

    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, list]:
        out: dict[str, list] = {
            key: [] for key in ("set", "shard", "rows", "embedded", "seconds", "dim", "fingerprint", "error")
        }
        for s, k in zip(batch["set"], batch["shard"]):
            start = time.perf_counter()
            shard = self.shards[str(s)][int(k)]
            error = ""
            try:
                rows, embedded, dim = self.embed(str(s), shard)
            except InputFileError as e:
                # Bad input is the user's to fix, not a fault to retry: handed back whole
                # (Ray Data would wrap it past recognition).
                rows, embedded, dim = 0, 0, 0
                error = json.dumps({"path": e.path, "line": e.line, "column": e.column, "message": str(e)})
            for key, value in (
                ("set", str(s)),
                ("shard", int(k)),
                ("rows", rows),
                ("embedded", embedded),
                ("seconds", time.perf_counter() - start),
                ("dim", dim),
                ("fingerprint", self.model.fingerprint),
                ("error", error),
            ):
                out[key].append(value)
        return out

    def embed(self, s: str, shard: _inputs.Shard) -> tuple[int, int, int]:
        import pyarrow as pa  # noqa: PLC0415

        from semsift.models import embed  # noqa: PLC0415

        rows = _inputs.read(shard, self.columns, self.chat)
        embed(rows, self.model, self.columns)
        first = np.asarray(rows.first_rows, dtype=np.uint64) + np.uint64(shard.first_row)
        vectors = np.asarray(rows.vectors_array, dtype=np.float32)
        write_table(vectors_table(first, vectors), os.path.join(self.scratch, "vectors", name(s, shard.index)))
        group = np.asarray(rows.group_of_row)
        row = np.arange(rows.rows, dtype=np.uint64) + np.uint64(shard.first_row)
        copy = row != first[group]
        write_table(
            pa.table({"row": pa.array(row[copy]), "first": pa.array(first[group][copy])}),
            os.path.join(self.scratch, "local", name(s, shard.index)),
        )
        keys = np.frombuffer(b"".join(_inputs.row_keys(rows, len(self.columns))), dtype=np.uint64).reshape(-1, 2)
        part = keys[:, 0] % np.uint64(self.partitions)
        for p in range(self.partitions):
            sel = part == p
            write_table(
                pa.table({"row": pa.array(first[sel]), "k0": pa.array(keys[sel, 0]), "k1": pa.array(keys[sel, 1])}),
                os.path.join(self.scratch, "keys", f"p{p:04d}", name(s, shard.index)),
            )
        return rows.rows, rows.unique, int(vectors.shape[1])


def find_copies(scratch: str, p: int, against: bool) -> int:
    """Exact copies within key partition ``p``: without a reference, each later input row
    with the first row of its text; with one, each input row with the first reference row
    holding its text. Writes ``copies/p{p}.parquet``; returns how many."""
    import pyarrow as pa  # noqa: PLC0415

    def load(prefix: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        t = read_tables(os.path.join(scratch, "keys", f"p{p:04d}", f"{prefix}-*.parquet"))
        if t is None or t.num_rows == 0:
            e = np.empty(0, np.uint64)
            return e, e, e
        return (t.column("row").to_numpy(), t.column("k0").to_numpy(), t.column("k1").to_numpy())

    def by_key(row: np.ndarray, k0: np.ndarray, k1: np.ndarray) -> tuple[np.ndarray, ...]:
        # Sorted by (key, row): the first of each run of a key is its first row.
        order = np.lexsort((row, k1, k0))
        row, k0, k1 = row[order], k0[order], k1[order]
        return row, k0, k1, _run_starts(k0, k1)

    row, k0, k1 = load(INPUT)
    path = os.path.join(scratch, "copies", f"p{p:04d}.parquet")
    if not against:
        row, k0, k1, new = by_key(row, k0, k1)
        first = row[np.maximum.accumulate(np.where(new, np.arange(len(row)), 0))]
        copy = ~new
        write_table(pa.table({"row": pa.array(row[copy]), "first": pa.array(first[copy])}), path)
        return int(copy.sum())
    rrow, rk0, rk1, lead = by_key(*load(REFERENCE))
    firsts = pa.table({"k0": pa.array(rk0[lead], pa.uint64()), "k1": pa.array(rk1[lead], pa.uint64()), "of": pa.array(rrow[lead], pa.uint64())})
    rows = pa.table({"row": pa.array(row, pa.uint64()), "k0": pa.array(k0, pa.uint64()), "k1": pa.array(k1, pa.uint64())})
    hits = rows.join(firsts, keys=["k0", "k1"], join_type="inner").select(["row", "of"]).sort_by("row")
    write_table(hits, path)
    return hits.num_rows


def sample_vectors(scratch: str, prefix: str, total: int, size: int) -> np.ndarray:
    """Every ``ceil(total / size)``-th vector of the ``prefix`` vector files, in order."""
    step = max(1, -(-total // max(1, size)))
    parts = []
    for f in sorted(glob.glob(os.path.join(scratch, "vectors", f"{prefix}-*.parquet"))):
        v = vectors_of(read_tables(f))
        parts.append(v[::step])
    return np.concatenate(parts) if parts else np.empty((0, 0), np.float32)


def fit_cells(scratch: str, prefix: str, total: int, cells: int, seed: int) -> np.ndarray:
    """Centroids of ``cells`` cells fitted on a sample of the ``prefix`` vectors (256 rows
    per cell), seeded."""
    sample = sample_vectors(scratch, prefix, total, 256 * cells)
    cells = max(1, min(cells, len(sample)))
    return np.asarray(_native.fit_centroids(np.ascontiguousarray(sample), cells, seed), dtype=np.float32)


def _excluded(scratch: str, shard: _inputs.Shard) -> np.ndarray:
    """The rows of ``shard`` that copy an earlier shard's row (self-deduplication)."""
    lo, hi = shard.first_row, shard.first_row + shard.rows
    t = read_tables(os.path.join(scratch, "copies", "p*.parquet"), ["row"], [("row", ">=", lo), ("row", "<", hi)])
    return np.empty(0, np.uint64) if t is None else t.column("row").to_numpy()


def assign_shard(
    scratch: str,
    prefix: str,
    shard: _inputs.Shard,
    centroids: np.ndarray,
    distances: np.ndarray,
    threshold: float,
    probes: int,
    role: str,
) -> tuple[np.ndarray, np.ndarray]:
    """Where the shard's rows go: ``role`` ``both`` (self: a home and queries), ``home``
    (reference rows) or ``query`` (input rows against a reference). Writes
    ``assign/{prefix}-{k}.parquet``; returns home rows and query entries per cell."""
    import pyarrow as pa  # noqa: PLC0415

    t = read_tables(os.path.join(scratch, "vectors", name(prefix, shard.index)))
    rows = t.column("row").to_numpy()
    vectors = vectors_of(t)
    keep = np.ones(len(rows), dtype=bool)
    if role == "both":
        keep = ~np.isin(rows, _excluded(scratch, shard))
    index = np.nonzero(keep)[0]
    home, entry, cell = _cells.assign(vectors[index], centroids, distances, threshold, probes, queries=role != "home")
    k = len(centroids)
    if role == "home":
        entry, cell, is_home = np.arange(len(index)), home, np.ones(len(index), dtype=bool)
    else:
        is_home = (cell == home[entry]) if role == "both" else np.zeros(len(entry), dtype=bool)
    write_table(
        pa.table(
            {
                "index": pa.array(index[entry].astype(np.int64)),
                "row": pa.array(rows[index[entry]]),
                "cell": pa.array(cell.astype(np.int32)),
                "home": pa.array(is_home),
            }
        ),
        os.path.join(scratch, "assign", name(prefix, shard.index)),
    )
    homes = np.bincount(cell[is_home], minlength=k) if role != "query" else np.zeros(k, np.int64)
    queries = np.bincount(cell, minlength=k) if role != "home" else np.zeros(k, np.int64)
    return homes, queries


def scatter_shard(scratch: str, prefix: str, shard: _inputs.Shard, group_of: np.ndarray) -> int:
    """Writes the shard's assigned rows, with their vectors, into the files of their cell
    groups (``cells/g{g}/``); entries of cells with no work are dropped. Returns rows written."""
    import pyarrow as pa  # noqa: PLC0415

    a = read_tables(os.path.join(scratch, "assign", name(prefix, shard.index)))
    vectors = vectors_of(read_tables(os.path.join(scratch, "vectors", name(prefix, shard.index)), ["vector"]))
    cell = a.column("cell").to_numpy()
    group = group_of[cell]
    written = 0
    for g in np.unique(group[group >= 0]):
        sel = np.nonzero(group == g)[0]
        sel = sel[np.lexsort((a.column("row").to_numpy()[sel], cell[sel]))]
        idx = a.column("index").to_numpy()[sel]
        t = vectors_table(a.column("row").to_numpy()[sel], vectors[idx])
        t = t.append_column("cell", pa.array(cell[sel])).append_column("home", a.column("home").take(pa.array(sel)))
        write_table(t, os.path.join(scratch, "cells", f"g{int(g):05d}", name(prefix, shard.index)))
        written += len(sel)
    return written


def score_task(scratch: str, t: int, task: _cells.Task, threshold: float, against: bool) -> int:
    """Scores one task's cells: every pair (self) or each query's best reference row
    (against). Writes ``pairs/t{t}.parquet`` or ``matches/t{t}.parquet``; returns its rows."""
    import pyarrow as pa  # noqa: PLC0415

    def load(prefix: str) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        tab = read_tables(os.path.join(scratch, "cells", f"g{task.group:05d}", f"{prefix}-*.parquet"))
        if tab is None:
            return np.empty(0, np.uint64), np.empty(0, np.int32), np.empty(0, bool), np.empty((0, 1), np.float32)
        return tab.column("row").to_numpy(), tab.column("cell").to_numpy(), tab.column("home").to_numpy(zero_copy_only=False), vectors_of(tab)

    out_a, out_b, out_s = [], [], []
    if not against:
        row, cell, home, vec = load(INPUT)
        for c in np.unique(cell):
            in_cell = cell == c
            h = in_cell & home
            if task.parts > 1:
                h &= (row % np.uint64(task.parts)) == np.uint64(task.part)
            q = in_cell
            a, b, s = _native.cell_pairs_of(
                np.ascontiguousarray(vec[h]),
                np.ascontiguousarray(row[h]),
                np.ascontiguousarray(vec[q]),
                np.ascontiguousarray(row[q]),
                threshold,
                both_ends=True,
            )
            out_a.append(a), out_b.append(b), out_s.append(s)
        names = ("later", "earlier", "score")
        kind = "pairs"
    else:
        rrow, rcell, _, rvec = load(REFERENCE)
        qrow, qcell, _, qvec = load(INPUT)
        for c in np.unique(qcell):
            q = qcell == c
            if task.parts > 1:
                q &= (qrow % np.uint64(task.parts)) == np.uint64(task.part)
            r = rcell == c
            a, b, s = _native.cell_matches_of(
                np.ascontiguousarray(qvec[q]), np.ascontiguousarray(qrow[q]), np.ascontiguousarray(rvec[r]), np.ascontiguousarray(rrow[r]), threshold
            )
            out_a.append(a), out_b.append(b), out_s.append(s)
        names = ("row", "of", "score")
        kind = "matches"
    cols = [np.concatenate(x) if x else np.empty(0, dt) for x, dt in zip((out_a, out_b, out_s), (np.uint64, np.uint64, np.float32))]
    if against and len(cols[0]):
        cols = best_per_row(*cols)
    write_table(pa.table(dict(zip(names, (pa.array(c) for c in cols)))), os.path.join(scratch, kind, f"t{t:05d}.parquet"))
    return len(cols[0])


def _block(scratch: str, prefix: str, block: list[tuple], self_dedup: bool) -> tuple[np.ndarray, np.ndarray]:
    """The rows and vectors of a block (``(shard, lo, hi)`` slices of vector files), less
    exact copies of earlier shards' rows in a self-deduplication."""
    rows, vecs = [], []
    for s, lo, hi in block:
        t = read_tables(os.path.join(scratch, "vectors", name(prefix, s.index))).slice(lo, hi - lo)
        r, v = t.column("row").to_numpy(), vectors_of(t)
        if self_dedup:
            keep = ~np.isin(r, _excluded(scratch, s))
            r, v = r[keep], v[keep]
        rows.append(r)
        vecs.append(v)
    return np.concatenate(rows), np.ascontiguousarray(np.concatenate(vecs))


def tile_task(
    scratch: str, t: int, left: list[tuple], right: list[tuple], same: bool, threshold: float, against: bool
) -> int:
    """Exact search of one tile (``index="exact"``): every pair of a row of block ``left``
    and a later row of block ``right`` (self; ``same`` when they are one block, else
    ``left`` comes first), or each input row of ``left``'s best reference row of
    ``right``. Writes ``pairs/t{t}.parquet`` or ``matches/t{t}.parquet``; returns its rows."""
    import pyarrow as pa  # noqa: PLC0415

    qrow, qvec = _block(scratch, INPUT, left, not against)
    if not against:
        hrow, hvec = (qrow, qvec) if same else _block(scratch, INPUT, right, True)
        a, b, s = _native.cell_pairs_of(hvec, hrow, qvec, qrow, threshold)
        names, kind = ("later", "earlier", "score"), "pairs"
    else:
        rrow, rvec = _block(scratch, REFERENCE, right, False)
        a, b, s = _native.cell_matches_of(qvec, qrow, rvec, rrow, threshold)
        names, kind = ("row", "of", "score"), "matches"
    write_table(pa.table(dict(zip(names, (pa.array(c) for c in (a, b, s))))), os.path.join(scratch, kind, f"t{t:05d}.parquet"))
    return len(a)


def best_per_row(row: np.ndarray, of: np.ndarray, score: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Each row's best match: the highest score, ties the lowest ``of``."""
    order = np.lexsort((of, -score.astype(np.float64), row))
    row, of, score = row[order], of[order], score[order]
    lead = _run_starts(row)
    return row[lead], of[lead], score[lead]


def _run_starts(*columns: np.ndarray) -> np.ndarray:
    """Where each run of equal entries (equal in every column; sorted) starts."""
    starts = np.ones(len(columns[0]), dtype=bool)
    if len(starts) > 1:
        starts[1:] = np.logical_or.reduce([c[1:] != c[:-1] for c in columns])
    return starts


def lookup(keys: np.ndarray, values: np.ndarray, queries: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For each query, whether it is one of ``keys`` (sorted) and the value beside it
    there (meaningless where it is not)."""
    if len(keys) == 0:
        return np.zeros(len(queries), bool), np.zeros(len(queries), values.dtype)
    at = np.minimum(np.searchsorted(keys, queries), len(keys) - 1)
    return keys[at] == queries, values[at]


def _copies(scratch: str) -> tuple[np.ndarray, np.ndarray]:
    """Every input row that copies an earlier row, with the first row of its text."""
    local = read_tables(os.path.join(scratch, "local", f"{INPUT}-*.parquet"))
    glob_ = read_tables(os.path.join(scratch, "copies", "p*.parquet"))
    lr = local.column("row").to_numpy() if local is not None else np.empty(0, np.uint64)
    lf = local.column("first").to_numpy() if local is not None else np.empty(0, np.uint64)
    gr = glob_.column("row").to_numpy() if glob_ is not None else np.empty(0, np.uint64)
    gf = glob_.column("first").to_numpy() if glob_ is not None else np.empty(0, np.uint64)
    # A local first that copies an earlier shard's row leads to that row.
    order = np.argsort(gr)
    gr, gf = gr[order], gf[order]
    hit, first = lookup(gr, gf, lf)
    lf = np.where(hit, first, lf)
    rows = np.concatenate([lr, gr])
    firsts = np.concatenate([lf, gf])
    order = np.argsort(rows)
    return rows[order], firsts[order]


def select_self(scratch: str, threshold: float) -> dict[str, np.ndarray]:
    """Decisions of a self-deduplication from every task's pairs and the exact copies:
    the removed rows (increasing) with ``duplicate_of``, ``score``, ``exact``."""
    t = read_tables(os.path.join(scratch, "pairs", "t*.parquet"))
    if t is None or t.num_rows == 0:
        later = earlier = np.empty(0, np.uint64)
        score = np.empty(0, np.float32)
    else:
        later, earlier, score = (t.column(c).to_numpy() for c in ("later", "earlier", "score"))
    rem, of, sc = _native.select_from_pairs(
        np.ascontiguousarray(later, np.uint64), np.ascontiguousarray(earlier, np.uint64), np.ascontiguousarray(score, np.float32), threshold
    )
    pairs = len(later)
    copy_rows, copy_first = _copies(scratch)
    # A copy of a kept row is an exact duplicate of it; a copy of a removed row follows it.
    gone, gone_of = lookup(rem, of, copy_first)
    _, gone_score = lookup(rem, sc, copy_first)
    c_of = np.where(gone, gone_of, copy_first)
    c_sc = np.where(gone, gone_score, 1.0).astype(np.float32)
    c_ex = ~gone
    rows = np.concatenate([rem, copy_rows])
    order = np.argsort(rows, kind="stable")
    return {
        "row": rows[order],
        "duplicate_of": np.concatenate([of, c_of])[order].astype(np.uint64),
        "score": np.concatenate([sc, c_sc])[order].astype(np.float32),
        "exact": np.concatenate([np.zeros(len(rem), bool), c_ex])[order],
        "pairs": np.array([pairs]),
    }


def select_against(scratch: str, threshold: float) -> dict[str, np.ndarray]:
    """Decisions against a reference: an input row with an exact copy in the reference
    points to its first copy (score 1, exact); otherwise to its best reference row at or
    above ``threshold``. Copies within the input follow their first row."""
    m = read_tables(os.path.join(scratch, "matches", "t*.parquet"))
    if m is None or m.num_rows == 0:
        row = of = np.empty(0, np.uint64)
        score = np.empty(0, np.float32)
    else:
        row, of, score = best_per_row(*(m.column(c).to_numpy() for c in ("row", "of", "score")))
    ex = read_tables(os.path.join(scratch, "copies", "p*.parquet"))
    erow = ex.column("row").to_numpy() if ex is not None else np.empty(0, np.uint64)
    eof = ex.column("of").to_numpy() if ex is not None else np.empty(0, np.uint64)
    exact = np.zeros(len(row), bool)
    # Exact copies override similar matches.
    sim = ~np.isin(row, erow)
    row, of, score, exact = (
        np.concatenate([row[sim], erow]),
        np.concatenate([of[sim], eof]),
        np.concatenate([score[sim], np.ones(len(erow), np.float32)]),
        np.concatenate([exact[sim], np.ones(len(erow), bool)]),
    )
    order = np.argsort(row)
    row, of, score, exact = row[order], of[order], score[order], exact[order]
    local = read_tables(os.path.join(scratch, "local", f"{INPUT}-*.parquet"))
    if local is not None and local.num_rows:
        lr, lf = local.column("row").to_numpy(), local.column("first").to_numpy()
        hit, src = lookup(row, np.arange(len(row)), lf)
        src = src[hit]
        row = np.concatenate([row, lr[hit]])
        of, score, exact = (np.concatenate([x, x[src]]) for x in (of, score, exact))
        order = np.argsort(row)
        row, of, score, exact = row[order], of[order], score[order], exact[order]
    return {
        "row": row.astype(np.uint64),
        "duplicate_of": of.astype(np.uint64),
        "score": score.astype(np.float32),
        "exact": exact,
        "pairs": np.array([0 if m is None else m.num_rows]),
    }


def write_outputs(input: str, inputs: list[str], out_dir: str, rows: int, decided: dict[str, np.ndarray]) -> str:
    """``kept.<ext>`` and ``removed.jsonl`` as ``semsift dedup`` writes them; their
    descriptions (JSON)."""
    return _native.write_dedup_outputs(
        input,
        inputs,
        out_dir,
        rows,
        np.ascontiguousarray(decided["row"], np.uint64),
        np.ascontiguousarray(decided["duplicate_of"], np.uint64),
        np.ascontiguousarray(decided["score"], np.float32),
        np.ascontiguousarray(decided["exact"], bool),
    )


def annotate_block(block: Any, first_row: int, decided: dict[str, np.ndarray]) -> Any:
    """A dataset block with ``kept``, ``duplicate_of``, ``score`` and ``exact`` columns."""
    import pyarrow as pa  # noqa: PLC0415
    from ray.data.block import BlockAccessor  # noqa: PLC0415

    table = BlockAccessor.for_block(block).to_arrow()
    n = table.num_rows
    rows = np.arange(first_row, first_row + n, dtype=np.uint64)
    hit, at = lookup(decided["row"], np.arange(len(decided["row"])), rows)
    at = np.where(hit, at, 0)

    def column(values: np.ndarray, dtype: Any) -> Any:
        picked = values[at] if len(values) else np.zeros(n, dtype)
        return pa.array(picked.astype(dtype), mask=~hit)

    dup = column(decided["duplicate_of"], np.int64)
    score = column(decided["score"], np.float32)
    exact = column(decided["exact"], bool)
    return (
        table.append_column("kept", pa.array(~hit))
        .append_column("duplicate_of", dup)
        .append_column("score", score)
        .append_column("exact", exact)
    )
