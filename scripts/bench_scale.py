"""Figures for scripts/bench-scale.sh: stage times, throughput, memory and a sampled check of
every keep/remove decision against exact search.

The check needs no pair list, so the timed run is the plain `semsift dedup` a user runs.
SemHash's rule, which semsift follows, removes row i when some earlier *kept* row is at least
`threshold` similar to it, and then names the most similar such row as `duplicate_of`. Given
the set of rows semsift kept, exact search can decide any single row on its own: SAMPLE rows
are drawn (seed 0) among rows whose text is the first of its exact-copy group (the rows
semsift searches with), and each is scored against every earlier kept row with a float32
matrix product (NumPy). Reported:
  - kept rows: how many have no earlier kept row at cosine >= threshold + 1e-5 (the margin
    keeps float32 rounding from counting a pair semsift's own dot product puts just below);
    one that has such a row is a missed duplicate;
  - removed rows: how many name as `duplicate_of` an earlier kept row at least `threshold`
    similar that is the most similar one (within
    1e-5): the (row, duplicate_of) pair exact search would give;
  - both together: the share of sampled decisions exact search reproduces;
  - same-verse duplicates: sampled rows with an earlier row of the same verse `ref` (a
    ground-truth duplicate group) at cosine >= threshold + 1e-5, and how many semsift removed.
"""

from __future__ import annotations

import argparse
import json
import random

import numpy as np

MARGIN = 1e-5


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--input", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--time", required=True)
    ap.add_argument("--vectors", required=True)
    ap.add_argument("--threshold", type=float, required=True)
    ap.add_argument("--sample", type=int, default=2000)
    a = ap.parse_args()
    t = a.threshold

    texts, refs = [], []
    with open(a.input, encoding="utf-8") as f:
        for line in f:
            r = json.loads(line)
            texts.append(r["text"])
            refs.append(r.get("ref"))
    n = len(texts)
    first: dict[str, int] = {}
    for i, text in enumerate(texts):
        first.setdefault(text, i)
    heads = np.array(sorted(first.values()), dtype=np.int64)

    s = json.load(open(f"{a.out}/summary.json"))
    wall, rss_kb = open(a.time).read().split()
    wall = float(wall)
    print(f"rows: {n:,} ({len(heads):,} distinct texts), threshold {t}, index {s['index']}")
    print()
    print("| stage | seconds |")
    print("|---|---|")
    for k, v in s["timings_s"].items():
        print(f"| {k} | {v} |")
    print(f"| **wall (whole process)** | **{wall:.2f}** |")
    print()
    r = s["rows"]
    print(f"throughput: {n / wall:,.0f} rows/s end to end; peak RSS {int(rss_kb) / 1024:,.0f} MiB")
    print(f"removed: {r['removed']:,} of {n:,} ({r['exact_removed']:,} exact copies); kept {r['kept']:,}")

    duplicate_of = np.full(n, -1, dtype=np.int64)
    with open(f"{a.out}/removed.jsonl", encoding="utf-8") as f:
        for line in f:
            d = json.loads(line)
            duplicate_of[d["row"]] = d["duplicate_of"]
    kept = np.nonzero(duplicate_of < 0)[0]
    v = np.load(a.vectors, mmap_mode="r")
    rng = random.Random(0)
    sample = sorted(int(heads[k]) for k in rng.sample(range(len(heads)), min(a.sample, len(heads))))
    by_ref: dict[str, list[int]] = {}
    for i, ref in enumerate(refs):
        if ref:
            by_ref.setdefault(ref, []).append(i)

    # Each sampled row's most similar earlier kept row, the kept rows read in chunks (the
    # vectors stay memory-mapped: at 10M rows they are 10 GB).
    q_all = np.ascontiguousarray(v[sample], dtype=np.float32)
    earlier_all = np.searchsorted(kept, sample)  # kept rows before each sampled row
    best_all = np.full(len(sample), -1, dtype=np.int64)
    best_score_all = np.full(len(sample), -np.inf, dtype=np.float32)
    chunk = 1 << 18
    for c0 in range(0, int(earlier_all.max(initial=0)), chunk):
        ids = kept[c0:c0 + chunk]
        block = np.ascontiguousarray(v[ids], dtype=np.float32)
        scores = q_all @ block.T
        cols = np.arange(c0, c0 + len(ids))
        scores[cols[None, :] >= earlier_all[:, None]] = -np.inf
        at = np.argmax(scores, axis=1)
        top = scores[np.arange(len(sample)), at]
        better = top > best_score_all
        best_score_all[better] = top[better]
        best_all[better] = ids[at[better]]

    kept_n = kept_ok = removed_n = removed_ok = same_n = same_removed = 0
    for start in range(0, len(sample), 256):
        rows = sample[start:start + 256]
        q = q_all[start:start + 256]
        for j, row in enumerate(rows):
            best_score = float(best_score_all[start + j]) if earlier_all[start + j] else -1.0
            if duplicate_of[row] < 0:
                kept_n += 1
                kept_ok += best_score < t + MARGIN
            else:
                removed_n += 1
                mine = float(np.dot(v[row].astype(np.float32), v[duplicate_of[row]].astype(np.float32)))
                # A removed row must match at the threshold, and its match be the best.
                removed_ok += mine >= t - MARGIN and mine >= best_score - MARGIN
        # Same-verse duplicates among all earlier rows, kept or not.
        for row, qv in zip(rows, q):
            if not refs[row]:
                continue
            group = by_ref[refs[row]]
            same = np.array(group[: group.index(row)], dtype=np.int64)
            if len(same) and float((v[same].astype(np.float32) @ qv).max()) >= t + MARGIN:
                same_n += 1
                same_removed += duplicate_of[row] >= 0
    total = kept_n + removed_n
    print()
    print(f"decisions on {total:,} sampled rows checked by exact float32 search against the earlier kept rows:")
    print(f"  kept rows with no earlier kept duplicate: {kept_ok:,} / {kept_n:,} = {kept_ok / max(1, kept_n):.4f}")
    print(f"  removed rows naming the most similar earlier kept row: {removed_ok:,} / {removed_n:,} = {removed_ok / max(1, removed_n):.4f}")
    print(f"  decisions exact search reproduces: {kept_ok + removed_ok:,} / {total:,} = {(kept_ok + removed_ok) / max(1, total):.4f}")
    print(f"  same-verse duplicates removed: {same_removed:,} / {same_n:,} = {same_removed / max(1, same_n):.4f}")


if __name__ == "__main__":
    main()
