"""The driver of a distributed deduplication: plans the stages, runs them on the cluster
and gathers their results. See ``semsift.ray`` for what it computes and ``_stages`` for
the work itself."""

from __future__ import annotations

import json
import logging
import math
import os
import shutil
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from typing import Any, Optional, Sequence

import numpy as np

from semsift import __version__
from semsift.errors import InputFileError
from semsift.ray import _cells, _inputs, _stages
from semsift.ray._stages import INPUT, REFERENCE

log = logging.getLogger("semsift.ray")

#: Most cells the automatic choice makes.
MAX_CELLS = 4096


@dataclass
class RayDedupResult:
    """What a distributed deduplication decided.

    ``removed`` holds the removed rows (``row``, increasing) with ``duplicate_of``,
    ``score`` and ``exact``, as NumPy arrays; ``summary`` is ``summary.json``'s content.
    For files, ``output_dir`` holds ``kept.<ext>``, ``removed.jsonl`` and
    ``summary.json``; for a ``ray.data.Dataset``, ``dataset`` is the input with ``kept``,
    ``duplicate_of``, ``score`` and ``exact`` columns (``kept`` and ``removed_rows`` split it).
    """

    summary: dict[str, Any]
    removed: dict[str, np.ndarray]
    output_dir: Optional[str] = None
    dataset: Any = None
    timings: dict[str, float] = field(default_factory=dict)

    @property
    def kept(self) -> Any:
        """The kept rows (a Dataset input only)."""
        from ray.data.expressions import col  # noqa: PLC0415

        self._need_dataset()
        return self.dataset.filter(expr=col("kept")).drop_columns(["kept", "duplicate_of", "score", "exact"])

    @property
    def removed_rows(self) -> Any:
        """The removed rows with ``duplicate_of``, ``score`` and ``exact`` (a Dataset input only)."""
        from ray.data.expressions import col  # noqa: PLC0415

        self._need_dataset()
        return self.dataset.filter(expr=~col("kept")).drop_columns(["kept"])

    def _need_dataset(self) -> None:
        if self.dataset is None:
            raise ValueError(f"the input was files: the outputs are in {self.output_dir}")


def _ray() -> Any:
    try:
        import ray  # noqa: PLC0415
    except ImportError as e:  # pragma: no cover - the message is the point
        raise ImportError("semsift.ray needs Ray: pip install 'semsift[ray]' (or 'ray[data]')") from e
    return ray


def _wait(stage: str, refs: list[Any]) -> list[Any]:
    """Waits for every task of a stage, logging progress; their results, in order."""
    ray = _ray()
    pending, done, last = list(refs), 0, time.monotonic()
    while pending:
        ready, pending = ray.wait(pending, num_returns=len(pending), timeout=5.0)
        done += len(ready)
        if pending and time.monotonic() - last > 5.0:
            log.info("%s: %d of %d tasks done", stage, done, len(refs))
            last = time.monotonic()
    return ray.get(refs)


def _remote(fn: Any, cpus: float = 1.0) -> Any:
    # Retried when a worker dies; every stage writes fixed file names atomically, so a
    # retry rewrites the same files.
    return _ray().remote(num_cpus=cpus, max_retries=3)(fn)


def _plan(data: Any, shard_bytes: int, what: str) -> tuple[list[_inputs.Shard], Optional[str]]:
    """Shards of ``data`` (a path or a ``ray.data.Dataset``) with their row numbers, and
    the path when it is a file."""
    ray = _ray()
    if isinstance(data, (str, os.PathLike)):
        path = os.fspath(data)
        shards = _inputs.plan_file(path, shard_bytes)
        counts = _wait(f"count {what}", [_remote(_inputs.count).remote(s) for s in shards])
        shards = _inputs.numbered(shards, counts)
        if sum(s.rows for s in shards) == 0:
            raise ValueError(f"{path}: no rows")
        return shards, path
    if isinstance(data, ray.data.Dataset):
        # Rows are numbered in the dataset's order: its blocks, in order.
        ray.data.DataContext.get_current().execution_options.preserve_order = True
        refs = data.to_arrow_refs()
        counts = _wait(f"count {what}", [_remote(_stages.count_block).remote(r) for r in refs])
        blocks = [(r, n) for r, n in zip(refs, counts) if n]
        shards = [_inputs.Shard(i, "block", block=r, rows=n) for i, (r, n) in enumerate(blocks)]
        shards = _inputs.numbered(shards, [(s.rows, s.rows) for s in shards])
        if not shards:
            raise ValueError(f"the {what} dataset has no rows")
        return shards, None
    raise TypeError(f"{what} must be a path to a JSON Lines or Parquet file or a ray.data.Dataset, got {type(data).__name__}")


def auto_cells(unique: int) -> int:
    """Cells for ``unique`` rows: about √n/2, each about 2√n rows. Measured on 1M
    synthetic rows (2 CPUs): the IVF index's √(n × probes) (3,084 cells) took 205 s
    against 141 s, its fit and assignment costing more than its smaller cells saved."""
    return max(1, min(MAX_CELLS, int(math.sqrt(unique) / 2)))


def _cluster() -> dict[str, Any]:
    ray = _ray()
    res = ray.cluster_resources()
    return {
        "nodes": sum(1 for n in ray.nodes() if n.get("Alive")),
        "cpus": int(res.get("CPU", 0)),
        "gpus": int(res.get("GPU", 0)),
    }


def dedup(
    data: Any,
    columns: Sequence[str] | str,
    threshold: float = 0.9,
    *,
    against: Any = None,
    output: Optional[str] = None,
    model: Optional[str] = None,
    device: str = "cpu",
    chat: Optional[str] = None,
    index: str = "cells",
    cells: Optional[int] = None,
    probes: int = _cells.PROBES,
    seed: int = 0,
    actors: Optional[int] = None,
    gpus_per_actor: float = 0.0,
    shard_bytes: int = _inputs.SHARD_BYTES,
    partitions: Optional[int] = None,
    scratch: Optional[str] = None,
    keep_scratch: bool = False,
) -> RayDedupResult:
    """Deduplicates ``data`` on the Ray cluster this process is connected to (``ray.init``
    is called if it is not); see the module's documentation for the stages.

    - ``data``, ``against``: a JSON Lines or Parquet path every node can read, or a
      ``ray.data.Dataset`` (rows numbered in its order); ``against``: remove the rows
      that match a reference row instead of deduplicating ``data`` against itself.
    - ``columns``: column names or field paths (``chat``: a chat preset), as
      ``semsift dedup -c``; ``threshold`` in (0, 1].
    - ``index``: ``"exact"`` gives ``semsift dedup --index exact``'s decisions;
      ``"cells"`` (default) searches ``probes`` nearest k-means cells of ``cells`` (default
      √n/2, at most 4,096; fitted with ``seed``), approximate as the CLI's default index.
    - ``output``: for a path, the directory to write ``kept.<ext>``, ``removed.jsonl`` and
      ``summary.json`` to; ``scratch``: where intermediate files go (default: inside
      ``output``, else the temporary directory; every node must reach it), removed at
      the end unless ``keep_scratch``.
    - ``model``: a model folder on every node (default: the bundled model), loaded by
      each of at most ``actors`` embedding actors (default: the cluster's CPUs) on
      ``device``, each reserving ``gpus_per_actor`` GPUs; ``shard_bytes``: JSON Lines
      bytes per shard; ``partitions``: exact-copy key partitions (default: the CPUs).

    Raises ``InputFileError`` (file, line, column) for rows that cannot be read and
    ``ValueError`` for options that cannot work."""
    ray = _ray()
    if isinstance(columns, str):
        columns = [columns]
    columns = list(columns)
    if not columns:
        raise ValueError("at least one column is needed")
    if not (0.0 < threshold <= 1.0) or math.isnan(threshold):
        raise ValueError(f"threshold must be in (0, 1], got {threshold}")
    if index not in ("cells", "exact"):
        raise ValueError(f"index must be 'cells' or 'exact', got {index!r}")
    if probes < 1:
        raise ValueError(f"probes must be at least 1, got {probes}")
    if output is not None and not isinstance(data, (str, os.PathLike)):
        raise ValueError("output= is for file inputs; a Dataset's result is result.dataset")
    if not ray.is_initialized():
        ray.init()
    cluster = _cluster()
    timings: dict[str, float] = {}
    clock = time.perf_counter()

    def lap(stage: str) -> None:
        nonlocal clock
        now = time.perf_counter()
        timings[stage] = round(now - clock, 3)
        log.info("%s: %.2fs", stage, now - clock)
        clock = now

    start = clock
    shards, path = _plan(data, shard_bytes, "input")
    ref_shards, ref_path = _plan(against, shard_bytes, "reference") if against is not None else ([], None)
    total = sum(s.rows for s in shards)
    lap("plan")

    if scratch is None:
        base = output if output is not None else tempfile.gettempdir()
        os.makedirs(base, exist_ok=True)
        scratch = os.path.join(base, f".semsift-ray-{uuid.uuid4().hex[:12]}")
    else:
        scratch = os.path.join(scratch, f"semsift-ray-{uuid.uuid4().hex[:12]}")
    os.makedirs(scratch)
    try:
        result = _run(
            shards, ref_shards, path, ref_path, columns, threshold, output, model, device, chat, index, cells, probes, seed,
            actors or max(1, cluster["cpus"]), gpus_per_actor, partitions or max(1, cluster["cpus"]), scratch,
            cluster, lap,
        )
    finally:
        if keep_scratch:
            log.info("scratch files kept in %s", scratch)
        else:
            shutil.rmtree(scratch, ignore_errors=True)
    timings["total"] = round(time.perf_counter() - start, 3)
    result.summary["timings_s"] = dict(timings)
    result.timings = dict(timings)
    if output is not None:
        _write_json(os.path.join(output, "summary.json"), result.summary)
    log.info("%d rows: kept %d, removed %d in %.1fs", total, result.summary["rows"]["kept"], result.summary["rows"]["removed"], timings["total"])
    return result


def _exact(
    shards: list[_inputs.Shard],
    ref_shards: list[_inputs.Shard],
    counts: dict[str, dict[int, int]],
    scratch: str,
    threshold: float,
    against: bool,
    tasks: int,
    lap: Any,
) -> dict[str, Any]:
    """Exact search by tiles of row blocks: every block against itself and every later
    block (or every reference block), one task per tile; ``n²/2`` products in all, spread
    evenly, no shuffle: each task reads its two blocks' vector files."""
    if against:
        parts = max(1, int(math.sqrt(tasks)))
        left = _cells.blocks(shards, counts[INPUT], parts)
        right = _cells.blocks(ref_shards, counts[REFERENCE], parts)
        tiles = [(a, b, False) for a in left for b in right]
    else:
        # B(B+1)/2 tiles for B blocks.
        parts = max(1, int(math.sqrt(2 * tasks)))
        left = right = _cells.blocks(shards, counts[INPUT], parts)
        tiles = [(left[i], right[j], i == j) for i in range(len(left)) for j in range(i, len(right))]
    tile = _remote(_stages.tile_task)
    _wait("search", [tile.remote(scratch, t, a, b, same, threshold, against) for t, (a, b, same) in enumerate(tiles)])
    lap("search")
    return {"backend": "ray exact (row-block tiles)", "blocks": len(left), "tiles": len(tiles)}


def _by_cells(
    shards: list[_inputs.Shard],
    ref_shards: list[_inputs.Shard],
    scratch: str,
    threshold: float,
    against: bool,
    cells: Optional[int],
    probes: int,
    seed: int,
    unique: dict[str, int],
    tasks_wanted: int,
    lap: Any,
) -> dict[str, Any]:
    """Search by k-means cells: centroids fitted on a sample in one task and broadcast;
    each row assigned a home and query cells; rows regrouped by cell group through
    partitioned Parquet; one scoring task per group (small cells packed, huge ones split)."""
    ray = _ray()
    base = REFERENCE if against else INPUT
    k = cells or auto_cells(unique[base])
    centroids = ray.get(_remote(_stages.fit_cells).remote(scratch, base, unique[base], k, seed))
    distances = _cells.centroid_distances(centroids)
    k = len(centroids)
    c_ref, d_ref = ray.put(centroids), ray.put(distances)
    lap("cells")

    jobs = [(INPUT, s, "query" if against else "both") for s in shards] + [(REFERENCE, s, "home") for s in ref_shards]
    assign = _remote(_stages.assign_shard)
    counts = _wait("assign", [assign.remote(scratch, p, s, c_ref, d_ref, threshold, probes, role) for p, s, role in jobs])
    homes = np.sum([c[0] for c in counts], axis=0)
    queries = np.sum([c[1] for c in counts], axis=0)
    group_of, tasks = _cells.pack(homes, queries, tasks=tasks_wanted)
    g_ref = ray.put(group_of)
    _wait("scatter", [_remote(_stages.scatter_shard).remote(scratch, p, s, g_ref) for p, s, _ in jobs])
    lap("assign")

    score = _remote(_stages.score_task)
    _wait("score", [score.remote(scratch, t, task, threshold, against) for t, task in enumerate(tasks)])
    lap("search")
    entries = int(queries.sum())
    rows = unique[INPUT] if against else int(homes.sum())
    return {
        "backend": "ray cells (approximate, as the IVF index)",
        "cells": k,
        "probes": probes,
        "queries_per_row": round(entries / max(1, rows), 3),
        "score_tasks": len(tasks),
        "seed": seed,
    }


def _write_json(path: str, value: Any) -> None:
    tmp = f"{path}.partial"
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump(value, f, indent=2)
        f.write("\n")
    os.replace(tmp, path)


def _run(
    shards: list[_inputs.Shard],
    ref_shards: list[_inputs.Shard],
    path: Optional[str],
    ref_path: Optional[str],
    columns: list[str],
    threshold: float,
    output: Optional[str],
    model: Optional[str],
    device: str,
    chat: Optional[str],
    index: str,
    cells: Optional[int],
    probes: int,
    seed: int,
    actors: int,
    gpus_per_actor: float,
    partitions: int,
    scratch: str,
    cluster: dict[str, Any],
    lap: Any,
) -> RayDedupResult:
    ray = _ray()
    against = bool(ref_shards)

    # Embed: a pool of actors, each holding the model, one shard per call.
    items = [{"set": INPUT, "shard": s.index} for s in shards] + [{"set": REFERENCE, "shard": s.index} for s in ref_shards]
    pool = ray.data.ActorPoolStrategy(min_size=1, max_size=max(1, min(actors, len(items))))
    embedded = (
        ray.data.from_items(items, override_num_blocks=len(items))
        .map_batches(
            _stages.Embedder,
            fn_constructor_kwargs={
                "shards": {INPUT: shards, REFERENCE: ref_shards},
                "scratch": scratch,
                "columns": columns,
                "chat": chat,
                "model": model,
                "device": device,
                "partitions": partitions,
            },
            batch_size=1,
            compute=pool,
            num_cpus=0 if gpus_per_actor else 1,
            num_gpus=gpus_per_actor or None,
        )
        .take_all()
    )
    failed = sorted((e for e in embedded if e["error"]), key=lambda e: (e["set"] != INPUT, e["shard"]))
    if failed:
        f = json.loads(failed[0]["error"])
        raise InputFileError(f["path"], f["line"], f["column"], f["message"])
    unique = {INPUT: 0, REFERENCE: 0}
    vector_rows: dict[str, dict[int, int]] = {INPUT: {}, REFERENCE: {}}
    for e in embedded:
        unique[e["set"]] += e["embedded"]
        vector_rows[e["set"]][int(e["shard"])] = int(e["embedded"])
    fingerprint = embedded[0]["fingerprint"]
    dim = int(embedded[0]["dim"])
    lap("embed")

    found = _wait("exact copies", [_remote(_stages.find_copies).remote(scratch, p, against) for p in range(partitions)])
    exact_found = int(sum(found))
    lap("exact")

    tasks_wanted = 4 * max(1, cluster["cpus"])
    if index == "exact":
        described = _exact(shards, ref_shards, vector_rows, scratch, threshold, against, tasks_wanted, lap)
    else:
        described = _by_cells(shards, ref_shards, scratch, threshold, against, cells, probes, seed, unique, tasks_wanted, lap)

    select = _stages.select_against if against else _stages.select_self
    decided = ray.get(_remote(select).remote(scratch, threshold))
    lap("select")

    total = sum(s.rows for s in shards)
    outputs: Any = None
    dataset = None
    if path is not None and output is not None:
        inputs = [path] + ([ref_path] if ref_path else [])
        files = json.loads(ray.get(_remote(_stages.write_outputs).remote(path, inputs, output, total, decided)))
        outputs = {"kept": files[0], "removed": files[1]}
    elif path is None:
        d_ref = ray.put(decided)
        annotate = _remote(_stages.annotate_block)
        dataset = ray.data.from_arrow_refs([annotate.remote(s.block, s.first_row, d_ref) for s in shards])
    lap("write")

    removed = int(len(decided["row"]))
    exact_removed = int(decided["exact"].sum())
    kept = total - removed
    summary: dict[str, Any] = {
        "command": "ray dedup",
        "semsift_version": __version__,
        "input": path,
        "format": None if path is None else _inputs.file_kind(path),
        "columns": columns,
        "against": ref_path if against else None,
        "on_error": "fail",
        "rows": {
            "input": total,
            "unique": unique[INPUT] if against else unique[INPUT] - exact_found,
            "kept": kept,
            "removed": removed,
            "exact_removed": exact_removed,
            "skipped": 0,
            "reference": sum(s.rows for s in ref_shards) if against else None,
            "reference_skipped": 0 if against else None,
        },
        "duplicate_ratio": removed / total if total else 0.0,
        "exact_duplicate_ratio": exact_removed / total if total else 0.0,
        "threshold": threshold,
        "model": {"fingerprint": fingerprint, "dim": dim},
        "index": {**described, "pairs_found" if not against else "matches_found": int(decided["pairs"][0])},
        "cluster": {**cluster, "shards": len(shards) + len(ref_shards), "actors": actors, "partitions": partitions},
        "devices": {"embed": device},
        "outputs": outputs,
    }
    return RayDedupResult(summary=summary, removed={key: decided[key] for key in ("row", "duplicate_of", "score", "exact")}, output_dir=output, dataset=dataset)
