"""`semsift.SemHash` against SemHash 0.5's documented behaviour, and against the real
SemHash 0.5.0 on the same rows and model."""

from __future__ import annotations

import numpy as np
import pytest

from conftest import BUNDLED

import semsift
from semsift import DeduplicationResult, DuplicateRecord, FilterResult, SemHash


def test_readme_example():
    result = SemHash.from_records(["a b", "a b", "c"]).self_deduplicate()
    assert result.selected == ["a b", "c"]
    assert len(result.filtered) == 1
    dup = result.filtered[0]
    assert isinstance(dup, DuplicateRecord)
    assert (dup.record, dup.duplicate_of, dup.exact, dup.score) == ("a b", "a b", True, 1.0)
    assert result.duplicate_ratio == pytest.approx(1 / 3)
    assert result.exact_duplicate_ratio == pytest.approx(1 / 3)


def test_dict_records_are_returned_as_given(example_rows):
    columns = ["text"]
    sh = SemHash.from_records(example_rows, columns=columns)
    result = sh.self_deduplicate(threshold=0.9)
    assert isinstance(result, DeduplicationResult)
    # Every record ends up in exactly one place, as the very object given.
    ids = [id(r) for r in result.selected] + [id(d.record) for d in result.filtered]
    assert sorted(ids) == sorted(id(r) for r in example_rows)
    kept_ids = {id(r) for r in result.selected}
    for d in result.filtered:
        assert id(d.duplicate_of) in kept_ids, "a removed record points to a kept record"
        assert d.score >= 0.9 or d.exact
    assert result.columns == columns
    assert result.threshold == 0.9


def test_semhash_matches_the_cli(example_rows, tmp_path):
    """The Python API and `semsift dedup` decide the same rows on the same file."""
    import json
    import subprocess

    from conftest import ROOT

    exe = ROOT / "target" / "release" / "semsift"
    if not exe.exists():
        pytest.fail(f"{exe} missing: scripts/test.sh builds it before the Python tests")
    out = tmp_path / "out"
    subprocess.run([str(exe), "dedup", str(ROOT / "tests/data/example.jsonl"), "-o", str(out), "-q"], check=True)
    removed = {json.loads(line)["row"]: json.loads(line) for line in open(out / "removed.jsonl")}
    r = semsift.dedup(example_rows, columns=["text"])
    assert [int(i) for i in r.removed_indices] == sorted(removed)
    for row, dup, score, exact in zip(r.removed_indices, r.duplicate_of, r.score, r.exact):
        cli = removed[int(row)]
        assert (cli["duplicate_of"], cli["exact"]) == (int(dup), bool(exact))
        assert cli["score"] == pytest.approx(float(score), abs=1e-6)
    summary = json.load(open(out / "summary.json"))
    for key in ["input", "unique", "kept", "removed", "exact_removed"]:
        assert r.summary["rows"][key] == summary["rows"][key], key
    assert r.summary["least_similar"] == summary["least_similar"]


def test_filtered_follow_semhash_order_and_semantics(near_duplicates):
    result = SemHash.from_records(near_duplicates, index="exact").self_deduplicate(0.85)
    position = {}
    for i, t in enumerate(near_duplicates):
        position.setdefault(t, i)
    kept = set(result.selected)
    assert len(result.selected) + len(result.filtered) == len(near_duplicates)
    for d in result.filtered:
        assert d.duplicate_of in kept
        assert position[d.duplicate_of] < position[d.record] or d.exact
        assert d.exact == (d.record == d.duplicate_of)
    # Filtered records come group by group (first occurrence order of their text).
    firsts = [position[d.record] for d in result.filtered]
    assert firsts == sorted(firsts)


def test_least_similar_and_selected_with_duplicates(near_duplicates):
    result = SemHash.from_records(near_duplicates).self_deduplicate(0.9)
    least = result.get_least_similar_from_duplicates(5)
    assert len(least) == 5
    scores = [s for _, _, s in least]
    assert scores == sorted(scores)
    assert scores[0] == min(d.score for d in result.filtered)
    swd = result.selected_with_duplicates
    assert [s.record for s in swd] == result.selected
    assert sum(len(s.duplicates) for s in swd) == len(result.filtered)
    for s in swd:
        for rec, score in s.duplicates:
            assert score >= 0.9


@pytest.mark.parametrize("start,to", [(0.8, 0.95), (0.95, 0.8), (0.9, 0.9), (0.9, 1.0)])
def test_rethreshold_both_ways_equals_a_fresh_run(near_duplicates, start, to):
    sh = SemHash.from_records(near_duplicates, index="exact")
    result = sh.self_deduplicate(start)
    _ = result.selected_with_duplicates
    result.rethreshold(to)
    fresh = sh.self_deduplicate(to)
    assert result.threshold == to
    assert result.selected == fresh.selected
    assert result.filtered == fresh.filtered
    assert [s.record for s in result.selected_with_duplicates] == fresh.selected


def test_deduplicate_against_a_fitted_set(near_duplicates):
    train, test = near_duplicates[:400], near_duplicates[400:] + ["something else entirely, about cooking pasta"]
    sh = SemHash.from_records(train)
    result = sh.deduplicate(test, threshold=0.9)
    assert len(result.selected) + len(result.filtered) == len(test)
    train_set = set(train)
    for d in result.filtered:
        assert d.duplicate_of in train_set
        assert d.exact == (d.record in train_set)
    exact = [d.exact for d in result.filtered]
    assert exact == sorted(exact, reverse=True), "exact copies first, as SemHash lists them"
    assert "something else entirely, about cooking pasta" in result.selected
    with pytest.raises(ValueError, match="originally strings"):
        SemHash.from_records([{"text": "a"}], columns=["text"]).deduplicate(["a"])


def test_outliers_and_representatives(near_duplicates):
    sh = SemHash.from_records(near_duplicates)
    out = sh.self_filter_outliers(0.1)
    assert isinstance(out, FilterResult)
    assert len(out.selected) + len(out.filtered) == len(near_duplicates)
    assert len(out.filtered) == int(np.ceil(len(near_duplicates) * 0.1))
    assert min(out.scores_selected) >= max(out.scores_filtered)
    assert out.filter_ratio == pytest.approx(len(out.filtered) / len(near_duplicates))
    reps = sh.self_find_representative(selection_size=8, diversity=0.5)
    assert len(reps.selected) == 8 and len(set(reps.selected)) == 8
    # Pure relevance picks the densest candidates in order.
    dense = sh.self_find_representative(selection_size=5, diversity=0.0)
    order, scores = sh._self_ranking()
    assert dense.selected == [near_duplicates[int(sh._first[g])] for g in order[:5]]
    new = ["an album by a rock band", "a small village in Poland", "zzzz qqqq xxxx"]
    f = sh.filter_outliers(new, outlier_percentage=0.33)
    assert f.filtered == ["zzzz qqqq xxxx"]
    r = sh.find_representative(new, selection_size=2)
    assert len(r.selected) == 2 and set(r.selected) <= set(new)


def test_representatives_match_pyversity_mmr(near_duplicates):
    from pyversity import Strategy as PStrategy
    from pyversity import diversify

    sh = SemHash.from_records(near_duplicates)
    ours = sh.self_find_representative(selection_size=10, diversity=0.7)
    order, scores = sh._self_ranking()
    limit = min(max(int(len(order) * 0.1), 10, 100), 1000, len(order))
    vectors = sh.rows.vectors_array[order[:limit]]
    theirs = diversify(embeddings=vectors, scores=scores[:limit].astype(np.float64), k=10, strategy=PStrategy.MMR, diversity=0.7)
    assert ours.selected == [near_duplicates[int(sh._first[order[i]])] for i in theirs.indices]
    np.testing.assert_allclose(ours.scores_selected, theirs.selection_scores, atol=1e-5)
    # Strategies other than MMR go through pyversity.
    dpp = sh.self_find_representative(selection_size=4, strategy="dpp")
    assert len(dpp.selected) == 4


def test_from_embeddings_equals_from_records(near_duplicates):
    model = semsift.load_model()
    emb = model.encode(near_duplicates)
    a = SemHash.from_embeddings(emb, near_duplicates, model=model, index="exact").self_deduplicate(0.88)
    b = SemHash.from_records(near_duplicates, model=model, index="exact").self_deduplicate(0.88)
    assert a.selected == b.selected and a.filtered == b.filtered
    with pytest.raises(ValueError, match="must match number of records"):
        SemHash.from_embeddings(emb[:-1], near_duplicates, model=model)


def _real_semhash(records, columns, threshold):
    from model2vec import StaticModel
    from semhash import SemHash as RealSemHash

    model = StaticModel.from_pretrained(str(BUNDLED))
    return RealSemHash.from_records(records, columns=columns, model=model, ann_backend="basic").self_deduplicate(threshold)


def test_same_decisions_as_real_semhash_on_fixtures(near_duplicates, example_rows):
    """Exact search on both sides, same model: the same records kept and removed, with the
    same duplicate_of, up to pairs within float rounding of the threshold."""
    for records, columns, t in [(near_duplicates, None, 0.9), (near_duplicates, None, 0.8), (example_rows, ["text"], 0.9)]:
        theirs = _real_semhash(records, columns, t)
        ours = SemHash.from_records(records, columns=columns, index="exact").self_deduplicate(t)
        key = (lambda r: r["text"]) if columns else (lambda r: r)
        assert [key(r) for r in ours.selected] == [key(r) for r in theirs.selected], t
        assert [(key(d.record), key(d.duplicate_of), d.exact) for d in ours.filtered] == [
            (key(d.record), key(d.duplicate_of), d.exact) for d in theirs.filtered
        ]
        # model2vec returns this float16 model's vectors in float16: scores agree to its rounding.
        np.testing.assert_allclose([d.score for d in ours.filtered], [d.score for d in theirs.filtered], atol=2e-3)
        assert ours.duplicate_ratio == pytest.approx(theirs.duplicate_ratio)
        assert ours.exact_duplicate_ratio == pytest.approx(theirs.exact_duplicate_ratio)


def test_repeated_checks_against_a_fitted_set(near_duplicates):
    """A generation loop checks batch after batch against one fitted set: the fitted set's
    index is built once and kept, and every batch is decided as a fresh SemHash would."""
    train = near_duplicates[:450]
    batches = [near_duplicates[450 + 90 * i : 450 + 90 * (i + 1)] for i in range(3)]
    kept_index = SemHash.from_records(train)
    for batch in batches:
        a = kept_index.deduplicate(batch, threshold=0.88)
        b = SemHash.from_records(train).deduplicate(batch, threshold=0.88)
        assert a.selected == b.selected and a.filtered == b.filtered
    exact = SemHash.from_records(train, index="exact")
    for batch in batches:
        a = exact.deduplicate(batch, threshold=0.88)
        for d in a.filtered:
            assert d.exact or d.score >= 0.88
        a.rethreshold(0.8)
        assert a.threshold == 0.8
        assert len(a.filtered) >= len(exact.deduplicate(batch, threshold=0.88).filtered)
