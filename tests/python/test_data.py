"""Every kind of data: lists of strings or dicts, pandas, pyarrow, Hugging Face datasets;
tables are read through Arrow."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest

import semsift
from semsift import MissingColumnError


@pytest.fixture(scope="module")
def rows(near_duplicates):
    return [{"id": i, "text": t, "topic": f"t{i % 5}"} for i, t in enumerate(near_duplicates)]


def _same(a, b):
    assert np.array_equal(a.kept_indices, b.kept_indices)
    assert np.array_equal(a.duplicate_of, b.duplicate_of)
    assert np.array_equal(a.exact, b.exact)
    np.testing.assert_array_equal(a.score, b.score)


def test_every_data_kind_gives_the_same_result(rows):
    import datasets
    import pandas as pd

    texts = [r["text"] for r in rows]
    base = semsift.dedup(rows, columns=["text"], threshold=0.85)
    assert len(base.removed_indices) > 0
    _same(semsift.dedup(texts, threshold=0.85), base)
    df = pd.DataFrame(rows)
    _same(semsift.dedup(df, columns="text", threshold=0.85), base)
    table = pa.Table.from_pylist(rows)
    _same(semsift.dedup(table, columns=["text"], threshold=0.85), base)
    # Several record batches, large strings, string views, dictionary-encoded strings.
    chunked = pa.Table.from_batches(table.to_batches(max_chunksize=97))
    _same(semsift.dedup(chunked, columns=["text"], threshold=0.85), base)
    for t in [pa.large_string(), pa.string_view()]:
        _same(semsift.dedup(table.cast(pa.schema([("id", pa.int64()), ("text", t), ("topic", pa.string())])), columns=["text"], threshold=0.85), base)
    dict_table = table.set_column(1, "text", pa.compute.dictionary_encode(table.column("text")))
    _same(semsift.dedup(dict_table, columns=["text"], threshold=0.85), base)
    ds = datasets.Dataset.from_list(rows)
    _same(semsift.dedup(ds, columns=["text"], threshold=0.85), base)
    # A shuffled Dataset is an indices mapping over its table: rows in the mapped order.
    shuffled = ds.shuffle(seed=3)
    r = semsift.dedup(shuffled, columns=["text"], threshold=0.85)
    direct = semsift.dedup([shuffled[i]["text"] for i in range(len(shuffled))], threshold=0.85)
    _same(r, direct)


def test_kept_returns_the_same_kind(rows):
    import datasets
    import pandas as pd

    df = pd.DataFrame(rows)
    r = semsift.dedup(df, columns=["text"], threshold=0.85)
    kept = r.kept(df)
    assert isinstance(kept, pd.DataFrame) and list(kept["id"]) == [int(i) for i in r.kept_indices]
    table = pa.Table.from_pylist(rows)
    assert r.kept(table).column("id").to_pylist() == [int(i) for i in r.kept_indices]
    ds = datasets.Dataset.from_list(rows)
    assert r.kept(ds)["id"] == [int(i) for i in r.kept_indices]
    assert [x["id"] for x in r.kept(rows)] == [int(i) for i in r.kept_indices]
    removed = r.to_pandas()
    assert list(removed.columns) == ["row", "duplicate_of", "score", "exact"]
    assert len(removed) + len(kept) == len(rows)


def test_multiple_columns_and_against(rows):
    both = semsift.dedup(rows, columns=["text", "topic"], threshold=0.9)
    text_only = semsift.dedup(rows, columns=["text"], threshold=0.9)
    # Different topics make otherwise equal texts different rows.
    assert len(both.removed_indices) < len(text_only.removed_indices)
    train, test = rows[:500], rows[500:]
    leaks = semsift.dedup(pa.Table.from_pylist(test), columns=["text"], against=pa.Table.from_pylist(train), threshold=0.9)
    for row, dup in zip(leaks.removed_indices, leaks.duplicate_of):
        assert int(dup) < len(train)
        assert test[int(row)]["text"] == train[int(dup)]["text"] or leaks.score[list(leaks.removed_indices).index(row)] >= 0.9
    assert leaks.summary["rows"]["reference"] == len(train)


def test_summary_and_sweep(rows):
    r = semsift.dedup(rows, columns=["text"], threshold=0.9, sweep=[0.8, 0.95])
    s = r.summary
    assert s["command"] == "dedup" and s["columns"] == ["text"]
    assert s["rows"]["kept"] == len(r.kept_indices)
    assert [p["threshold"] for p in s["sweep"]] == [0.8, 0.95]
    assert s["sweep"][0]["kept"] <= s["rows"]["kept"] <= s["sweep"][1]["kept"]
    assert s["duplicate_ratio"] == pytest.approx(r.duplicate_ratio)
    t = semsift.dedup(rows, columns=["text"], threshold=0.8, target_rows=650)
    assert len(t.kept_indices) <= 650 and t.summary["target_rows"]["reached"]
    assert t.threshold == pytest.approx(t.summary["target_rows"]["chosen_threshold"])


def test_table_errors_name_the_row_and_column(rows):
    import pandas as pd

    table = pa.Table.from_pylist(rows[:50] + [{"id": 50, "text": None, "topic": "x"}])
    with pytest.raises(MissingColumnError, match=r"row 50: column 'text' is null") as e:
        semsift.dedup(table, columns=["text"])
    assert (e.value.index, e.value.column) == (50, "text")
    with pytest.raises(KeyError, match=r"column 'body' is not in the table \(its columns: id, text, topic\)"):
        semsift.dedup(pa.Table.from_pylist(rows[:5]), columns=["body"])
    with pytest.raises(TypeError, match=r"column 'id' holds Int64, not text"):
        semsift.dedup(pa.Table.from_pylist(rows[:5]), columns=["id"])
    with pytest.raises(KeyError, match="'body' is not in the DataFrame"):
        semsift.dedup(pd.DataFrame(rows[:5]), columns=["body"])
    with pytest.raises(ValueError, match="columns must be given"):
        semsift.dedup(pd.DataFrame(rows[:5]))


def test_memory_limit_spills_and_decides_the_same():
    """A search held to a tight memory limit spills its hits to disk and decides every row
    as an unlimited one does (the CLI's --memory-limit)."""
    import random

    rng = random.Random(5)
    words = [f"w{i}" for i in range(40)]
    # Many near copies of few sentences: a dense search with many hits per row.
    base = [" ".join(rng.choice(words) for _ in range(10)) for _ in range(40)]
    rows = [b if rng.random() < 0.5 else b + " " + rng.choice(words) for b in base for _ in range(120)]
    free = semsift.dedup(rows, threshold=0.8)
    tight = semsift.dedup(rows, threshold=0.8, memory_limit=1)
    _same(free, tight)
    assert tight.summary["memory_limit_mib"] == 0
    assert tight.summary["index"]["pairs_on_disk"] is True
    assert free.summary["index"]["pairs_on_disk"] is False
    assert free.summary["memory_limit_mib"] > 0
