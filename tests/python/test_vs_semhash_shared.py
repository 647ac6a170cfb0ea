"""The real SemHash 0.5.0 (pip) and semsift.SemHash on the same real rows and model, each
with its default index: the kept sets agree (Jaccard ≥ 0.99). Needs ../shared/data."""

from __future__ import annotations

import gzip
import json

from conftest import BUNDLED, shared_data

import semsift


def _jaccard(a: set, b: set) -> float:
    return len(a & b) / len(a | b)


def test_alpaca_instruction_at_0_9_agrees_with_semhash():
    from model2vec import StaticModel
    from semhash import SemHash as RealSemHash

    path = shared_data("alpaca_cleaned_partial", "alpaca_cleaned_partial.jsonl.gz")
    with gzip.open(path, "rt", encoding="utf-8") as f:
        records = [{"instruction": json.loads(line)["instruction"], "__row": i} for i, line in enumerate(f) if line.strip()]
    assert len(records) > 50_000
    theirs = RealSemHash.from_records(records, columns=["instruction"], model=StaticModel.from_pretrained(str(BUNDLED)))
    ours = semsift.SemHash.from_records(records, columns=["instruction"], model=str(BUNDLED))
    t, o = theirs.self_deduplicate(0.9), ours.self_deduplicate(0.9)
    kept_t = {r["__row"] for r in t.selected}
    kept_o = {r["__row"] for r in o.selected}
    j = _jaccard(kept_t, kept_o)
    print(f"alpaca instruction @0.9: SemHash kept {len(kept_t)}, semsift {len(kept_o)}, Jaccard {j:.4f}")
    assert j >= 0.99, j
    assert abs(t.duplicate_ratio - o.duplicate_ratio) < 0.01
    assert t.exact_duplicate_ratio == o.exact_duplicate_ratio
