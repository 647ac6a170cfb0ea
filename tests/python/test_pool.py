"""semsift.Pool: a pool on disk for generation loops (the Python side of `semsift pool`)."""

from __future__ import annotations

import json
import subprocess

import numpy as np
import pyarrow.parquet as pq
import pytest

import semsift
from semsift import Pool, PoolLockedError

from conftest import ROOT


def canonical(texts: list[str]) -> np.ndarray:
    """The vectors as the pool compares them: unit, rounded to f16, back to unit length."""
    v = semsift.load_model().encode(texts).astype(np.float32)
    v /= np.linalg.norm(v, axis=1, keepdims=True)
    v = v.astype(np.float16).astype(np.float32)
    return v / np.linalg.norm(v, axis=1, keepdims=True)


def test_batches_decide_as_one_call_and_as_greedy_selection(tmp_path, near_duplicates):
    texts = near_duplicates
    t = 0.85
    one = Pool.create(tmp_path / "one", threshold=t)
    all_at_once = one.add(texts)
    many = Pool.create(tmp_path / "many", threshold=t)
    in_batches = []
    for i in range(0, len(texts), 72):
        in_batches += many.add(texts[i : i + 72])
    assert [d.accepted for d in in_batches] == [d.accepted for d in all_at_once]
    assert [(d.id, d.nearest_id, d.score) for d in in_batches] == [(d.id, d.nearest_id, d.score) for d in all_at_once]

    accepted = [i for i, d in enumerate(in_batches) if d.accepted]
    assert 300 < len(accepted) < len(texts) - 100
    assert [d.id for d in in_batches if d.accepted] == list(range(len(accepted)))
    v = canonical(texts)
    for i, d in enumerate(in_batches):
        earlier = [j for j in accepted if j < i]
        if not earlier:
            assert d.nearest_id is None
            continue
        scores = v[earlier] @ v[i]
        same = [j for j in earlier if texts[j] == texts[i]]
        if same:
            assert d.exact and d.score == 1.0 and accepted[d.nearest_id] == same[0]
            continue
        # The nearest earlier accepted row, as NumPy scores it: within rounding (NumPy's
        # norms may round a value to the neighbouring f16, a few 1e-5 off).
        assert d.score == pytest.approx(float(scores.max()), abs=1e-4)
        assert scores[earlier.index(accepted[d.nearest_id])] == pytest.approx(float(scores.max()), abs=1e-4)
        assert d.accepted == (d.score < t)
    assert many.rows() == [{"text": texts[i]} for i in accepted]
    assert len(many) == len(accepted) == many.stats()["rows"]
    many.verify()


def test_dicts_are_stored_whole_and_blocklists_name_themselves(tmp_path, example_rows):
    tests = Pool.create(tmp_path / "tests", threshold=0.9)
    in_tests = sum(d.accepted for d in tests.add(example_rows[:10]))
    tests.close()
    blocklist = Pool.open(tmp_path / "tests", readonly=True)
    pool = Pool.create(tmp_path / "pool", threshold=0.9)
    decisions = pool.add(example_rows, blocklists=[blocklist])
    for d in decisions[:10]:
        assert not d.accepted and d.blocked_by == str(tmp_path / "tests") and d.blocked_score >= 0.9
    kept = [d.record for d in decisions if d.accepted]
    assert kept and pool.rows() == kept  # whole dicts, every field kept
    # Exported in id order with every field, as JSON Lines and as Parquet.
    assert pool.export(tmp_path / "rows.jsonl") == len(kept)
    lines = [json.loads(line) for line in open(tmp_path / "rows.jsonl", encoding="utf-8")]
    assert lines == [{"pool_id": i, **row} for i, row in enumerate(kept)]
    assert pool.export(tmp_path / "rows.parquet") == len(kept)
    table = pq.read_table(tmp_path / "rows.parquet")
    assert table.column_names[0] == "pool_id" and table.to_pylist() == lines
    # A row with a `pool_id` of its own cannot be exported with the pool's: a clear
    # error, and no file.
    pool.add([{"text": "a row that brings its own pool_id", "pool_id": 7}])
    with pytest.raises(ValueError, match='has a field "pool_id" of its own'):
        pool.export(tmp_path / "clash.jsonl")
    assert not (tmp_path / "clash.jsonl").exists()
    with pytest.raises(ValueError, match="read-only"):
        blocklist.add(["new text"])
    assert len(Pool.open(tmp_path / "tests", readonly=True)) == len(blocklist) == in_tests


def test_one_writer_at_a_time_with_a_typed_error_and_the_cli_reads_the_same_pool(tmp_path):
    pool = Pool.create(tmp_path / "p", threshold=0.9)
    pool.add(["the cat sat on the mat", "a dog barks at night", "the cat sat on the mat!"])
    with pytest.raises(PoolLockedError, match="locked for writing by process"):
        Pool.open(tmp_path / "p")
    assert isinstance(PoolLockedError("x"), semsift.SemsiftError)
    reader = Pool.open(tmp_path / "p", readonly=True)
    assert len(reader) == 2
    hits = reader.query(["a cat sitting on a mat"], k=2)
    assert [h[0] for h in hits[0]] == [0, 1] and hits[0][0][1] > hits[0][1][1]
    pool.close()
    # The CLI sees the rows the Python API added.
    binary = ROOT / "target" / "release" / "semsift"
    if binary.exists():
        out = subprocess.run([str(binary), "pool", "stats", str(tmp_path / "p")], capture_output=True, check=True)
        assert json.loads(out.stdout)["rows"] == 2
    with Pool.open(tmp_path / "p") as again:
        d = again.add(["a dog barks at night", "an entirely new sentence about rivers"])
        assert [x.accepted for x in d] == [False, True] and d[0].exact and d[0].nearest_id == 1
    with pytest.raises(semsift.SemsiftError, match="already holds a pool"):
        Pool.create(tmp_path / "p")
