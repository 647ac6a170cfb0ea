"""Bad input: typed exceptions naming the record and column; nothing printed to stdout."""

from __future__ import annotations

import pytest

import semsift
from semsift import MissingColumnError, SemHash


def test_missing_column_names_the_record_and_column():
    records = [{"q": "a", "a": "b"}, {"q": "c", "a": "d"}, {"q": "e"}]
    with pytest.raises(MissingColumnError) as e:
        semsift.dedup(records, columns=["q", "a"])
    assert (e.value.index, e.value.column) == (2, "a")
    assert "record 2 has no column 'a'" in str(e.value)
    # Both what a dict user expects and what SemHash raises.
    with pytest.raises(KeyError):
        SemHash.from_records(records, columns=["q", "a"])
    with pytest.raises(ValueError):
        SemHash.from_records(records, columns=["q", "a"])


def test_none_values_and_wrong_types():
    with pytest.raises(MissingColumnError, match="record 1: column 'q' is None"):
        semsift.dedup([{"q": "a"}, {"q": None}], columns=["q"])
    with pytest.raises(TypeError, match=r"record 1: column 'q' holds list, not text"):
        semsift.dedup([{"q": "a"}, {"q": ["x"]}], columns=["q"])
    with pytest.raises(TypeError, match="record 2 is int, but record 0 is a string"):
        semsift.dedup(["a", "b", 3])
    with pytest.raises(TypeError, match="record 1 is str, but record 0 is a dict"):
        semsift.dedup([{"q": "a"}, "b"], columns=["q"])
    with pytest.raises(TypeError, match="records must be a list"):
        semsift.dedup("just a string")
    with pytest.raises(ValueError, match="must not be empty"):
        SemHash.from_records([])
    with pytest.raises(ValueError, match="Columns must be specified"):
        SemHash.from_records([{"q": "a"}])


def test_numbers_and_bools_are_text_as_in_semhash():
    r = semsift.dedup([{"q": 1}, {"q": "1"}, {"q": True}, {"q": 2.5}], columns=["q"])
    assert [int(i) for i in r.removed_indices] == [1]
    assert bool(r.exact[0])


def test_bad_options():
    with pytest.raises(ValueError, match="threshold: 1.5 is outside"):
        semsift.dedup(["a", "b"], threshold=1.5)
    with pytest.raises(ValueError, match="unknown index"):
        semsift.dedup(["a", "b"], index="annoy")
    with pytest.raises(ValueError, match="outlier_percentage"):
        SemHash.from_records(["a", "b"]).self_filter_outliers(2.0)
    with pytest.raises(TypeError, match="progress must be"):
        semsift.dedup(["a"], progress="yes")
    result = semsift.dedup(["a", "b"])
    with pytest.raises(ValueError, match="outside"):
        result.rethreshold(0.0)


def test_nothing_is_printed_to_stdout(capfd, near_duplicates):
    sh = SemHash.from_records(near_duplicates, progress=True)
    sh.self_deduplicate()
    sh.self_filter_outliers()
    semsift.dedup(near_duplicates, progress=True)
    out, err = capfd.readouterr()
    assert out == ""
    assert "embed" in err, "progress bars go to stderr"
