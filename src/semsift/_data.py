"""Turning what a user holds into rows grouped by exact copies (a native ``RowSet``).

- a list of strings: one column, ``text``;
- a list of dicts: the named columns (numbers and bools as ``str()``, as SemHash does);
  a column may also be a field path into nested values (``messages[-1].content``), and
  ``chat`` picks turns from conversations, as ``semsift dedup --chat`` does;
- anything that exports an Arrow stream (pyarrow Tables and RecordBatches, Polars), a
  pandas DataFrame (through pyarrow) or a Hugging Face ``datasets.Dataset`` (its Arrow
  table): read in Rust, batch by batch, never row by row through Python objects.
"""

from __future__ import annotations

from typing import Any, Optional, Sequence

from semsift import _native
from semsift.errors import MissingColumnError

#: What a table-like argument was, to give back the same kind.
KIND_STRINGS, KIND_DICTS, KIND_TABLE = "strings", "dicts", "table"


def _is_pandas(data: Any) -> bool:
    return type(data).__module__.startswith("pandas") and type(data).__name__ == "DataFrame"


def _is_hf_dataset(data: Any) -> bool:
    return type(data).__module__.startswith("datasets") and type(data).__name__ == "Dataset"


def arrow_source(data: Any, columns: Sequence[str]) -> Any | None:
    """An object exporting an Arrow stream of (at least) ``columns`` of ``data``, or
    ``None`` when ``data`` is not a table."""
    if _is_pandas(data):
        columns = list(dict.fromkeys(c if c in data.columns else _native.field_root(c) for c in columns))
    if _is_hf_dataset(data):
        # The Dataset's own Arrow table; a selection or shuffle is an indices mapping
        # over it, applied first.
        ds = data if getattr(data, "_indices", None) is None else data.flatten_indices()
        table = ds.data.table
        return table.select(list(columns)) if all(c in table.column_names for c in columns) else table
    if _is_pandas(data):
        import pyarrow as pa  # noqa: PLC0415 (optional dependency)

        missing = [c for c in columns if c not in data.columns]
        if missing:
            raise KeyError(f"column {missing[0]!r} is not in the DataFrame (its columns: {', '.join(map(str, data.columns))})")
        return pa.Table.from_pandas(data[list(columns)], preserve_index=False)
    if hasattr(data, "__arrow_c_stream__"):
        return data
    return None


def _text(value: Any, index: int, column: str) -> str:
    if isinstance(value, str):
        return value
    if value is None:
        raise MissingColumnError(index, column, f"record {index}: column {column!r} is None")
    if isinstance(value, (bool, int, float)):
        return str(value)
    raise TypeError(
        f"record {index}: column {column!r} holds {type(value).__name__}, not text "
        f"(semsift embeds strings; numbers and bools are turned into strings)"
    )


def records_to_columns(
    records: Sequence[Any], columns: Sequence[str] | None, chat: Optional[str] = None
) -> tuple[list[list[str]], list[str], str]:
    """The texts of each column of a list of records, the columns, and the records' kind.
    Raises ``ValueError`` for an empty list or missing columns with dicts, ``TypeError``
    for records that are neither all strings nor all dicts,
    :class:`~semsift.errors.MissingColumnError` naming the record and column, and
    :class:`~semsift.errors.FieldPathError` for a field path that fails in a record."""
    if isinstance(records, (str, bytes)) or not hasattr(records, "__len__"):
        raise TypeError(f"records must be a list of strings or of dicts, got {type(records).__name__}")
    if len(records) == 0:
        raise ValueError("records must not be empty")
    first = records[0]
    if isinstance(first, str):
        for i, r in enumerate(records):
            if not isinstance(r, str):
                raise TypeError(f"record {i} is {type(r).__name__}, but record 0 is a string: records must be all strings or all dicts")
        return [list(records)], ["text"], KIND_STRINGS
    if not isinstance(first, dict):
        raise TypeError(f"record 0 is {type(first).__name__}: records must be strings or dicts")
    if columns is None:
        raise ValueError("Columns must be specified when passing dictionaries.")
    if isinstance(columns, str):
        columns = [columns]
    columns = list(columns)
    if not columns:
        raise ValueError("at least one column is needed")
    out: list[list[str]] = []
    for column in columns:
        if chat is not None or column not in first:
            # A field path or a chat preset: followed in Rust, as the file readers do.
            out.append(_native.select_texts(records, column, chat))
            continue
        texts = []
        append = texts.append
        for i, r in enumerate(records):
            if not isinstance(r, dict):
                raise TypeError(f"record {i} is {type(r).__name__}, but record 0 is a dict: records must be all strings or all dicts")
            try:
                v = r[column]
            except KeyError:
                raise MissingColumnError(i, column, f"record {i} has no column {column!r}") from None
            append(v if type(v) is str else _text(v, i, column))
        out.append(texts)
    return out, columns, KIND_DICTS


def group(
    data: Any, columns: Sequence[str] | None, chat: Optional[str] = None
) -> tuple[_native.RowSet, list[str], str]:
    """The rows of ``data`` grouped by exact copies of ``columns`` (with the chat preset
    ``chat``), the columns used, and the kind of ``data``."""
    if isinstance(columns, str):
        columns = [columns]
    if columns is not None:
        source = arrow_source(data, columns)
        if source is not None:
            return _native.RowSet.group_arrow(source, list(columns), chat), list(columns), KIND_TABLE
    elif _is_pandas(data) or _is_hf_dataset(data) or hasattr(data, "__arrow_c_stream__"):
        raise ValueError("columns must be given for a table")
    texts, columns, kind = records_to_columns(data, columns, chat)
    return _native.RowSet.group(texts), columns, kind
