"""Figures for scripts/bench-against.sh: a contamination check (`semsift dedup A --against B`)
at a million rows a side, and its recall against exact search, estimated without running
exact search on all of it (a million by a million is 2.6e14 multiply-adds).

Subcommands:
  split   INPUT A B          rows 0, 2, 4, … of INPUT to A and rows 1, 3, 5, … to B (so
                             the corpus's copies of recent rows land on both sides)
  check   --a A --b B --out OUT --time TIME --va A.npy --vb B.npy --threshold T [--sample N]

What `check` reports:
  - flagged rows (in OUT/removed.jsonl): each is checked, exactly. An exact copy must have
    the same text as the B row it names; any other must name a B row whose float32 cosine
    is >= threshold - 1e-5. The rest are wrong flags.
  - rows not flagged: N of them, drawn with seed 0, are scored against every row of B by
    float32 matrix products (NumPy); one with a B row at cosine >= threshold + 1e-5 (the
    margin keeps float32 rounding from counting a pair semsift's own dot product puts just
    below) is a missed leak. The miss rate among the unflagged, times their number,
    estimates the misses; recall = correct flags / (correct flags + estimated misses),
    with a 95 % interval from the Wilson interval of the miss rate.
"""

from __future__ import annotations

import argparse
import json
import math
import sys

import numpy as np

MARGIN = 1e-5
# Sampled rows and B rows per matrix product (a 512 MiB score block).
ROWS_PER_PRODUCT = 1024
B_PER_PRODUCT = 131072


def split(a: argparse.Namespace) -> None:
    with open(a.input, encoding="utf-8") as src, open(a.a, "w", encoding="utf-8") as left, open(
        a.b, "w", encoding="utf-8"
    ) as right:
        for i, line in enumerate(src):
            (left if i % 2 == 0 else right).write(line)


def texts(path: str) -> list[str]:
    with open(path, encoding="utf-8") as f:
        return [json.loads(line)["text"] for line in f]


def wilson(hits: int, n: int, z: float = 1.96) -> tuple[float, float]:
    if n == 0:
        return 0.0, 1.0
    p = hits / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return max(0.0, centre - half), min(1.0, centre + half)


def check(a: argparse.Namespace) -> None:
    t = a.threshold
    ta, tb = texts(a.a), texts(a.b)
    va = np.load(a.va, mmap_mode="r")
    vb = np.load(a.vb, mmap_mode="r")
    if va.shape[0] != len(ta) or vb.shape[0] != len(tb):
        sys.exit(f"bench-against: vectors {va.shape[0]}/{vb.shape[0]} rows, inputs {len(ta)}/{len(tb)}")
    s = json.load(open(f"{a.out}/summary.json"))
    wall, rss_kb = open(a.time).read().split()

    flagged: dict[int, tuple[int, float, bool]] = {}
    with open(f"{a.out}/removed.jsonl", encoding="utf-8") as f:
        for line in f:
            r = json.loads(line)
            flagged[r["row"]] = (r["duplicate_of"], r["score"], r["exact"])
    right, wrong, exact = 0, 0, 0
    rows = np.fromiter(flagged.keys(), dtype=np.int64)
    dups = np.array([flagged[int(i)][0] for i in rows], dtype=np.int64)
    vb_all = np.asarray(vb)
    va_all = np.asarray(va)
    cos = np.einsum("ij,ij->i", va_all[rows], vb_all[dups]) if len(rows) else np.zeros(0)
    for i, d, c in zip(rows.tolist(), dups.tolist(), cos.tolist()):
        if flagged[i][2]:
            exact += 1
            ok = ta[i] == tb[d]
        else:
            ok = c >= t - MARGIN
        right += ok
        wrong += not ok

    unflagged = np.setdiff1d(np.arange(len(ta)), rows, assume_unique=True)
    rng = np.random.default_rng(0)
    n = min(a.sample, len(unflagged))
    sample = np.sort(rng.choice(unflagged, size=n, replace=False))
    best = np.full(n, -np.inf, dtype=np.float32)
    for lo in range(0, n, ROWS_PER_PRODUCT):
        q = va_all[sample[lo : lo + ROWS_PER_PRODUCT]]
        top = np.full(q.shape[0], -np.inf, dtype=np.float32)
        for blo in range(0, vb_all.shape[0], B_PER_PRODUCT):
            scores = q @ vb_all[blo : blo + B_PER_PRODUCT].T
            np.maximum(top, scores.max(axis=1), out=top)
        best[lo : lo + ROWS_PER_PRODUCT] = top
    missed = int((best >= t + MARGIN).sum())
    near = int(((best >= t - 0.01) & (best < t + MARGIN)).sum())
    lo_rate, hi_rate = wilson(missed, n)
    est = missed / n * len(unflagged) if n else 0.0

    def recall(misses: float) -> float:
        return right / (right + misses) if right + misses else 1.0

    print(f"A: {len(ta):,} rows, B: {len(tb):,} rows, threshold {t}, index {s['index'].get('backend')}")
    print(f"semsift dedup --against: {float(wall):.1f} s, peak RSS {int(rss_kb) / 1024:,.0f} MiB")
    print(f"flagged: {len(flagged):,} ({exact:,} exact copies); checked exactly: {right:,} right, {wrong:,} wrong")
    print(f"not flagged: {len(unflagged):,}; {n:,} sampled, scored against all of B: {missed} missed "
          f"(best cosine >= {t} + {MARGIN}), {near} just below the threshold")
    print(f"estimated misses: {est:,.0f} (95 % interval {lo_rate * len(unflagged):,.0f}-{hi_rate * len(unflagged):,.0f})")
    print(f"recall against exact search: {recall(est):.4f} (95 % interval {recall(hi_rate * len(unflagged)):.4f}-"
          f"{recall(lo_rate * len(unflagged)):.4f})")
    print("stage seconds: " + ", ".join(f"{k} {v:.1f}" for k, v in s["timings_s"].items()))
    print(f"index: {json.dumps(s['index'])}")


def main() -> None:
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="cmd", required=True)
    sp = sub.add_parser("split")
    sp.add_argument("input")
    sp.add_argument("a")
    sp.add_argument("b")
    cp = sub.add_parser("check")
    for name in ("--a", "--b", "--out", "--time", "--va", "--vb"):
        cp.add_argument(name, required=True)
    cp.add_argument("--threshold", type=float, required=True)
    cp.add_argument("--sample", type=int, default=20000)
    a = ap.parse_args()
    {"split": split, "check": check}[a.cmd](a)


if __name__ == "__main__":
    main()
