"""Figures for scripts/bench-scale.sh: stage times, throughput, memory and sampled recall.

Recall: SAMPLE rows are drawn (seed 0) among rows whose text is the first of its exact-copy
group (the rows semsift searches with). Exact search scores each against every such row with
a float32 matrix product; a true pair is one at cosine >= threshold + 1e-5 (the margin keeps
float32 rounding in NumPy from counting pairs semsift's own dot product puts just below).
semsift's pairs come from its `pairs.jsonl` (every similar pair it found, by first rows).
"""

from __future__ import annotations

import argparse
import json
import random

import numpy as np


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--input", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--time", required=True)
    ap.add_argument("--vectors", required=True)
    ap.add_argument("--threshold", type=float, required=True)
    ap.add_argument("--sample", type=int, default=2000)
    a = ap.parse_args()

    texts, refs = [], []
    with open(a.input, encoding="utf-8") as f:
        for line in f:
            r = json.loads(line)
            texts.append(r["text"])
            refs.append(r.get("ref"))
    n = len(texts)
    first: dict[str, int] = {}
    for i, t in enumerate(texts):
        first.setdefault(t, i)
    heads = np.array(sorted(first.values()), dtype=np.int64)

    s = json.load(open(f"{a.out}/summary.json"))
    wall, rss_kb = open(a.time).read().split()
    wall = float(wall)
    print(f"rows: {n:,} ({len(heads):,} distinct texts), threshold {a.threshold}, index {s['index']}")
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

    found: dict[int, set[int]] = {}
    with open(f"{a.out}/pairs.jsonl", encoding="utf-8") as f:
        for line in f:
            p = json.loads(line)
            found.setdefault(p["row"], set()).add(p["other"])
            found.setdefault(p["other"], set()).add(p["row"])

    v = np.load(a.vectors, mmap_mode="r")
    base = np.ascontiguousarray(v[heads], dtype=np.float32)
    rng = random.Random(0)
    sample = sorted(rng.sample(range(len(heads)), min(a.sample, len(heads))))
    want = got = want_same = got_same = 0
    for start in range(0, len(sample), 256):
        qi = sample[start:start + 256]
        scores = base[qi] @ base.T
        for row, line in zip(qi, scores):
            hits = np.nonzero(line >= a.threshold + 1e-5)[0]
            q = int(heads[row])
            mine = found.get(q, set())
            for h in hits:
                o = int(heads[h])
                if o == q:
                    continue
                hit = o in mine
                want += 1
                got += hit
                if refs[o] is not None and refs[o] == refs[q]:
                    want_same += 1
                    got_same += hit
    print()
    print(f"recall on {len(sample):,} sampled rows against all {len(heads):,} distinct rows (exact float32 search):")
    print(f"  similar pairs: {got:,} / {want:,} = {got / max(1, want):.4f}")
    print(f"  same-verse pairs: {got_same:,} / {want_same:,} = {got_same / max(1, want_same):.4f}")


if __name__ == "__main__":
    main()
