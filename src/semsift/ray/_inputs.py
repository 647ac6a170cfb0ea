"""Inputs split into shards a worker reads on its own, numbered as ``semsift dedup`` numbers them.

- JSON Lines (``.jsonl``, ``.ndjson``): byte ranges of about ``shard_bytes``; a shard holds
  the lines that *start* in its range, so every line is in exactly one shard. Blank lines
  are skipped and not counted as rows, as the CLI's reader does. A gzip-compressed file
  (``.gz``) cannot be split and is one shard.
- Parquet: one shard per row group.
- A ``ray.data.Dataset``: one shard per block of the materialised dataset, in order.

A first pass counts each shard's rows (a task per shard), so every shard knows the
number of its first row before any worker embeds it.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import os
from dataclasses import dataclass, replace
from typing import Any, Iterator, Optional, Sequence

from semsift import _data
from semsift.errors import FieldPathError, InputFileError, MissingColumnError

#: Default bytes per JSON Lines shard.
SHARD_BYTES = 32 << 20

JSONL_SUFFIXES = (".jsonl", ".ndjson")


@dataclass(frozen=True)
class Shard:
    """A piece of one input that one worker reads.

    ``kind`` is ``jsonl`` (the lines starting in bytes ``[start, end)`` of ``path``),
    ``jsonl.gz`` (the whole gzip file), ``parquet`` (row group ``start``) or ``block``
    (``block``, a Ray object reference to a dataset block). ``first_row`` is the number of
    its first row in the whole input; ``first_line`` the physical line it starts on.
    """

    index: int
    kind: str
    path: str = ""
    start: int = 0
    end: int = 0
    first_row: int = 0
    rows: int = 0
    first_line: int = 1
    lines: int = 0
    block: Any = None


def file_kind(path: str) -> str:
    """The shard kind of ``path`` from its name; ``ValueError`` naming the file otherwise."""
    name = path.lower()
    if name.endswith(".parquet"):
        return "parquet"
    if name.endswith(JSONL_SUFFIXES):
        return "jsonl"
    if name.endswith(tuple(s + ".gz" for s in JSONL_SUFFIXES)):
        return "jsonl.gz"
    raise ValueError(
        f"{path}: semsift.ray reads JSON Lines (.jsonl, .ndjson, optionally .gz) and Parquet "
        "(.parquet); convert it, or deduplicate it on one machine with `semsift dedup`"
    )


def plan_file(path: str, shard_bytes: int = SHARD_BYTES, start_index: int = 0) -> list[Shard]:
    """Shards of one file, not yet counted."""
    if not os.path.isfile(path):
        raise FileNotFoundError(f"{path}: no such file")
    kind = file_kind(path)
    if kind == "parquet":
        import pyarrow.parquet as pq  # noqa: PLC0415

        groups = pq.ParquetFile(path).metadata.num_row_groups
        return [Shard(start_index + g, kind, path, g, g + 1) for g in range(groups)]
    if kind == "jsonl.gz":
        return [Shard(start_index, kind, path)]
    size = os.path.getsize(path)
    step = max(1, shard_bytes)
    bounds = list(range(0, size, step)) + [size]
    return [Shard(start_index + i, kind, path, a, b) for i, (a, b) in enumerate(zip(bounds, bounds[1:]))]


def _raw_lines(shard: Shard) -> Iterator[bytes]:
    """The physical lines (without line ends) of a JSON Lines shard."""
    if shard.kind == "jsonl.gz":
        with gzip.open(shard.path, "rb") as f:
            for line in f:
                yield line.rstrip(b"\r\n")
        return
    with open(shard.path, "rb") as f:
        if shard.start > 0:
            # A line belongs to the shard its first byte is in: skip the one in progress.
            f.seek(shard.start - 1)
            f.readline()
        while f.tell() < shard.end:
            line = f.readline()
            if not line:
                break
            yield line.rstrip(b"\r\n")


def count(shard: Shard) -> tuple[int, int]:
    """Rows (non-blank lines) and physical lines of a shard."""
    if shard.kind == "parquet":
        import pyarrow.parquet as pq  # noqa: PLC0415

        n = pq.ParquetFile(shard.path).metadata.row_group(shard.start).num_rows
        return n, n
    if shard.kind == "block":
        raise ValueError("blocks are counted from their metadata")
    rows = lines = 0
    for line in _raw_lines(shard):
        lines += 1
        if line.strip():
            rows += 1
    return rows, lines


def numbered(shards: Sequence[Shard], counts: Sequence[tuple[int, int]]) -> list[Shard]:
    """The shards with their row and line numbers, from each shard's (rows, lines)."""
    out, row, line, path = [], 0, 1, None
    for s, (rows, lines) in zip(shards, counts):
        if s.path != path:
            line, path = 1, s.path
        out.append(replace(s, first_row=row, rows=rows, first_line=line, lines=lines))
        row += rows
        line += lines
    return out


def _records(shard: Shard) -> tuple[list[dict], list[int]]:
    """A JSON Lines shard's records and the line each is on."""
    records, lines = [], []
    line_no = shard.first_line - 1
    for raw in _raw_lines(shard):
        line_no += 1
        if not raw.strip():
            continue
        try:
            value = json.loads(raw)
        except (UnicodeDecodeError, json.JSONDecodeError) as e:
            raise InputFileError(shard.path, line_no, None, f"{shard.path}:{line_no}: not a JSON value: {e}") from None
        if not isinstance(value, dict):
            raise InputFileError(
                shard.path, line_no, None, f"{shard.path}:{line_no}: a JSON {type(value).__name__}, not an object"
            )
        records.append(value)
        lines.append(line_no)
    return records, lines


def read(shard: Shard, columns: Sequence[str], chat: Optional[str]) -> Any:
    """The shard's rows grouped by exact copies (a native ``RowSet``). Errors name the file
    and line (or row) and the column: ``InputFileError``, or ``MissingColumnError`` /
    ``FieldPathError`` re-raised with the file's own position."""
    lines: Optional[list[int]] = None
    if shard.kind == "block":
        import ray  # noqa: PLC0415
        from ray.data.block import BlockAccessor  # noqa: PLC0415

        data = BlockAccessor.for_block(ray.get(shard.block)).to_arrow()
    elif shard.kind == "parquet":
        import pyarrow.parquet as pq  # noqa: PLC0415

        data = pq.ParquetFile(shard.path).read_row_group(shard.start)
    else:
        data, lines = _records(shard)
    if len(data) != shard.rows:
        raise InputFileError(
            shard.path or "dataset", None, None,
            f"{shard.path or 'dataset'}: shard {shard.index} held {shard.rows} rows when counted and {len(data)} now: "
            "the input changed during the run",
        )
    try:
        rows, _, _ = _data.group(data, list(columns), chat)
    except (MissingColumnError, FieldPathError) as e:
        where = f"line {lines[e.index]}" if lines is not None else f"row {shard.first_row + e.index}"
        raise InputFileError(
            shard.path or "dataset", lines[e.index] if lines is not None else None, e.column,
            f"{shard.path or 'dataset'}, {where}, column {e.column!r}: {e}",
        ) from None
    return rows


def row_keys(rows: Any, columns: int) -> list[bytes]:
    """A 16-byte key of each unique row's texts (equal texts, equal keys)."""
    texts = [rows.unique_texts(c) for c in range(columns)]
    keys = []
    for parts in zip(*texts):
        h = hashlib.blake2b(digest_size=16)
        for t in parts:
            b = t.encode("utf-8", "surrogatepass")
            h.update(len(b).to_bytes(8, "little"))
            h.update(b)
        keys.append(h.digest())
    return keys
