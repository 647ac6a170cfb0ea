"""Figures for scripts/bench-faiss.sh: semsift's IVF search beside faiss-cpu's IVF range search
on the same vectors, at the same recall.

Method:
  - Vectors: `semsift embed` writes one float32 unit vector per input row. `semsift dedup`
    searches one vector per group of bit-identical vectors (exact text copies, and texts the
    model cannot tell apart, e.g. a change of case under an uncased tokenizer: the summary's
    `index.distinct_vectors`). faiss gets the same set: the first row of each bit-identical
    vector, in row order, as both its database and its queries (checked against
    `distinct_vectors`). Deduplicating by exact text alone would leave faiss more vectors
    than semsift searches.
  - Ground truth: SAMPLE of those distinct vectors (seed 0) as queries, each scored against
    every distinct vector with a float32 NumPy matrix product in blocks; its neighbours are
    the other vectors at cosine >= threshold + 1e-5 (the margin keeps float32 rounding from
    counting a pair another dot product puts just below the threshold).
  - Recall is pair recall: a true pair (q, j) counts as found when either side's search
    returns the other, as in semsift's self-search and as any deduplication built on a
    range search would use it. The query recall (q's own result list) is shown beside it.
  - faiss: IndexIVFFlat(IndexFlatIP(d), d, nlist, METRIC_INNER_PRODUCT) with nlist = semsift's
    `index.lists`, trained on 32 * nlist distinct vectors (seed 0), all distinct vectors
    added; sample recall of range_search(queries, threshold) for each nprobe in NPROBES.
  - semsift's recall on the same sample comes from pairs.jsonl of a second, untimed
    `semsift dedup --pairs` run (--pairs-out), when given; its decision-level recall is
    measured separately by scripts/bench-scale.sh (sampled decision check).
  - Target recall: --recall, or semsift's measured sample pair recall if lower, so that
    faiss is never asked for more recall than semsift delivers. The full range search (every
    distinct vector as a query, all cores) is timed at the smallest nprobe that reaches it and
    at the nprobe just below; the other nprobe values get only their sample recall.
  - Compared: semsift's `index` + `search` stage seconds (summary.json `timings_s`: k-means,
    cell assignment and probe lists; the scan and the pair lists) against faiss train + add
    and range_search seconds. faiss uses os.cpu_count() OpenMP threads, semsift one thread
    per core (its default).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

MARGIN = 1e-5
NPROBES = (1, 2, 4, 8, 10, 16, 32, 64)
TRAIN_PER_LIST = 32
BLOCK = 65_536


@dataclass
class Truth:
    """Exact neighbours of the sampled queries, as (query, neighbour) distinct-vector indices."""

    queries: np.ndarray
    pairs: set[tuple[int, int]]

    def neighbours(self) -> np.ndarray:
        return np.array(sorted({j for _, j in self.pairs}), dtype=np.int64)


@dataclass
class Recall:
    nprobe: int
    query: float
    pair: float


@dataclass
class FullSearch:
    nprobe: int
    seconds: float
    pairs: int


def distinct_vectors(v: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The first row of each bit-identical vector (ascending) and each row's index among them."""
    n, dim = v.shape
    mult = np.random.default_rng(0).integers(1, 2**63, size=dim, dtype=np.uint64) | np.uint64(1)
    h = np.empty(n, dtype=np.uint64)
    for s in range(0, n, BLOCK):
        bits = np.ascontiguousarray(v[s:s + BLOCK], dtype=np.float32).view(np.uint32).astype(np.uint64)
        h[s:s + BLOCK] = (bits * mult).sum(axis=1)  # wraps modulo 2^64: a hash of the bits
    _, first, inverse = np.unique(h, return_index=True, return_inverse=True)
    order = np.argsort(first, kind="stable")
    rank = np.empty_like(order)
    rank[order] = np.arange(len(order))
    reps = first[order]
    rep_of = rank[inverse.reshape(-1)]
    for s in range(0, n, BLOCK):
        mine = np.ascontiguousarray(v[s:s + BLOCK], dtype=np.float32).view(np.uint32)
        theirs = np.ascontiguousarray(v[reps[rep_of[s:s + BLOCK]]], dtype=np.float32).view(np.uint32)
        if not np.array_equal(mine, theirs):
            raise SystemExit("bench-faiss: hash collision between different vectors; change the seed")
    return reps, rep_of


def exact_truth(base: np.ndarray, sample: int, threshold: float) -> Truth:
    """Every distinct vector at cosine >= threshold + MARGIN from each of `sample` random queries."""
    m = len(base)
    queries = np.array(sorted(random.Random(0).sample(range(m), min(sample, m))), dtype=np.int64)
    q = base[queries]
    pairs: set[tuple[int, int]] = set()
    for s in range(0, m, BLOCK):
        scores = q @ base[s:s + BLOCK].T
        qi, j = np.nonzero(scores >= threshold + MARGIN)
        for a, b in zip(queries[qi].tolist(), (j + s).tolist()):
            if a != b:
                pairs.add((a, b))
    return Truth(queries, pairs)


def pair_recall(truth: Truth, found: set[tuple[int, int]]) -> float:
    """Share of the true pairs found, `found` holding unordered pairs as (low, high)."""
    hit = sum((min(a, b), max(a, b)) in found for a, b in truth.pairs)
    return hit / max(1, len(truth.pairs))


def range_pairs(index: Any, base: np.ndarray, rows: np.ndarray, threshold: float) -> set[tuple[int, int]]:
    """Unordered (low, high) pairs that range searches from `rows` return, self hits left out."""
    if len(rows) == 0:
        return set()
    lims, _, ids = index.range_search(base[rows], threshold)
    q = np.repeat(rows, np.diff(lims.astype(np.int64)))
    keep = ids != q
    a, b = q[keep], ids[keep]
    return set(zip(np.minimum(a, b).tolist(), np.maximum(a, b).tolist()))


def semsift_pairs(path: Path, rep_of: np.ndarray, threshold: float) -> set[tuple[int, int]]:
    """pairs.jsonl (input rows) as unordered distinct-vector pairs."""
    found: set[tuple[int, int]] = set()
    with open(path, encoding="utf-8") as f:
        for line in f:
            p = json.loads(line)
            if p["score"] < threshold:
                continue
            a, b = int(rep_of[p["row"]]), int(rep_of[p["other"]])
            if a != b:
                found.add((min(a, b), max(a, b)))
    return found


def build_faiss(faiss: Any, base: np.ndarray, nlist: int, spherical: bool) -> tuple[Any, float]:
    """A trained IVF-Flat inner-product index holding `base`, and the seconds train + add took."""
    dim = base.shape[1]
    quantizer = faiss.IndexFlatIP(dim)
    index = faiss.IndexIVFFlat(quantizer, dim, nlist, faiss.METRIC_INNER_PRODUCT)
    index.cp.seed = 0
    index.cp.spherical = spherical
    index.cp.min_points_per_centroid = min(index.cp.min_points_per_centroid, TRAIN_PER_LIST)
    rows = np.sort(np.random.default_rng(0).choice(len(base), min(len(base), TRAIN_PER_LIST * nlist), replace=False))
    train = np.ascontiguousarray(base[rows])
    start = time.perf_counter()
    index.train(train)
    index.add(base)
    seconds = time.perf_counter() - start
    index.referenced_objects = [quantizer]  # keep the quantizer alive with the index
    return index, seconds


def sample_recalls(index: Any, base: np.ndarray, truth: Truth, threshold: float) -> list[Recall]:
    """Query and pair recall of the range search on the sampled queries, per nprobe."""
    out = []
    neighbours = truth.neighbours()
    for p in NPROBES:
        index.nprobe = p
        forward = range_pairs(index, base, truth.queries, threshold)
        backward = range_pairs(index, base, neighbours, threshold)
        out.append(Recall(p, pair_recall(truth, forward), pair_recall(truth, forward | backward)))
    return out


def full_search(index: Any, base: np.ndarray, nprobe: int, threshold: float) -> FullSearch:
    """Times the range search of every indexed vector; counts the distinct pairs it finds."""
    index.nprobe = nprobe
    start = time.perf_counter()
    lims, _, ids = index.range_search(base, threshold)
    seconds = time.perf_counter() - start
    q = np.repeat(np.arange(len(base), dtype=np.int64), np.diff(lims.astype(np.int64)))
    keep = ids != q
    a, b = q[keep], ids[keep]
    pairs = len(np.unique(np.minimum(a, b) * len(base) + np.maximum(a, b)))
    return FullSearch(nprobe, seconds, pairs)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", required=True, help="output folder of the timed `semsift dedup` run")
    ap.add_argument("--time", required=True, help='its /usr/bin/time -f "%%e %%M" file')
    ap.add_argument("--vectors", required=True, help="`semsift embed` .npy of the same input")
    ap.add_argument("--threshold", type=float, required=True)
    ap.add_argument("--sample", type=int, default=2000)
    ap.add_argument("--recall", type=float, default=0.99, help="pair recall faiss must reach (default 0.99)")
    ap.add_argument("--pairs-out", help="output folder of a `semsift dedup --pairs` run, for semsift's recall")
    ap.add_argument("--spherical", action="store_true", help="faiss spherical k-means (default: faiss's default, off)")
    a = ap.parse_args()
    t = a.threshold

    import faiss  # after argparse, so --help works without it

    cores = os.cpu_count() or 1
    faiss.omp_set_num_threads(cores)
    s = json.loads(Path(a.out, "summary.json").read_text())
    ix, times, rows = s["index"], s["timings_s"], s["rows"]
    if ix.get("backend") != "ivf":
        raise SystemExit(f"bench-faiss: semsift ran index {ix.get('backend')!r}; this compares IVF")
    wall, rss_kb = Path(a.time).read_text().split()

    v = np.load(a.vectors, mmap_mode="r")
    if v.dtype != np.float32 or v.ndim != 2 or v.shape[0] != rows["input"]:
        raise SystemExit(f"bench-faiss: vectors {v.dtype} {v.shape}, expected float32 [{rows['input']}, dim]")
    norms = np.linalg.norm(np.asarray(v[:: max(1, len(v) // 10_000)], dtype=np.float32), axis=1)
    if np.abs(norms - 1).max() > 1e-3:
        raise SystemExit(f"bench-faiss: vectors are not unit length (norm {norms.min():.4f}..{norms.max():.4f})")
    reps, rep_of = distinct_vectors(v)
    base = np.ascontiguousarray(v[reps], dtype=np.float32)
    del v
    m, dim = base.shape
    nlist = int(ix["lists"])

    print(f"faiss {faiss.__version__} (faiss-cpu), numpy {np.__version__}, {cores} cores "
          f"(faiss OpenMP threads {cores}; semsift one thread per core)")
    print(f"rows {rows['input']:,}, distinct texts {rows['unique']:,}, distinct vectors {m:,} "
          f"(semsift's distinct_vectors {ix['distinct_vectors']:,}"
          f"{'' if m == ix['distinct_vectors'] else ' -- MISMATCH: the two searches differ in size'}), "
          f"dim {dim}, threshold {t}")
    print(f"semsift: ivf, lists {nlist}, probes {ix['probes']} (up to {ix['max_probes']} in dense regions), "
          f"k-means {ix['kmeans_iterations']} iterations; pairs found {ix['pairs_found']:,}; "
          f"wall {float(wall):.2f} s, peak RSS {int(rss_kb) / 1024:,.0f} MiB")

    truth = exact_truth(base, a.sample, t)
    print(f"ground truth: {len(truth.queries):,} sampled queries (seed 0), {len(truth.pairs):,} true pairs "
          f"at cosine >= {t} + {MARGIN:g} (float32 NumPy, exact)")

    semsift_recall = None
    semsift_count: int | None = None
    if a.pairs_out:
        found = semsift_pairs(Path(a.pairs_out, "pairs.jsonl"), rep_of, t)
        semsift_recall = pair_recall(truth, found)
        semsift_count = len(found)
        del found
        p2 = json.loads(Path(a.pairs_out, "summary.json").read_text())["timings_s"]
        print(f"semsift sample pair recall {semsift_recall:.4f} (from pairs.jsonl of a second, untimed "
              f"`dedup --pairs` run; its index + search took {p2['index'] + p2['search']:.3f} s)")
    else:
        print("semsift sample pair recall: not measured here (no --pairs run)")
    print("semsift's decision-level recall is measured separately by scripts/bench-scale.sh "
          "(sampled decision check)")

    index, build_s = build_faiss(faiss, base, nlist, a.spherical)
    print(f"faiss IndexIVFFlat: nlist {nlist}, trained on {min(m, TRAIN_PER_LIST * nlist):,} vectors "
          f"({TRAIN_PER_LIST} x nlist, seed 0), k-means {index.cp.niter} iterations, "
          f"spherical {bool(index.cp.spherical)}; train + add {build_s:.3f} s")

    recalls = sample_recalls(index, base, truth, t)
    target = a.recall if semsift_recall is None else min(a.recall, semsift_recall)
    reached = [r for r in recalls if r.pair >= target]
    chosen = reached[0] if reached else recalls[-1]
    at = NPROBES.index(chosen.nprobe)
    timed = {p: full_search(index, base, p, t) for p in NPROBES[max(0, at - 1):at + 1]}

    print()
    se = (target * (1 - target) / max(1, len(truth.pairs))) ** 0.5
    print(f"target pair recall {target:.4f} ("
          + ("--recall" if semsift_recall is None or a.recall <= semsift_recall else "semsift's measured recall")
          + ("" if reached else f"; NOT reached by nprobe <= {NPROBES[-1]}: timing the largest")
          + f"); sampled recalls have a standard error of about {se:.4f} at {len(truth.pairs):,} true pairs")
    print()
    print("| faiss nprobe | sample query recall | sample pair recall | full range search s | pairs found |")
    print("|---|---|---|---|---|")
    for r in recalls:
        full = timed.get(r.nprobe)
        mark = " **(chosen)**" if r.nprobe == chosen.nprobe else ""
        print(f"| {r.nprobe}{mark} | {r.query:.4f} | {r.pair:.4f} | "
              f"{f'{full.seconds:.3f}' if full else '-'} | {f'{full.pairs:,}' if full else '-'} |")
    sem_recall = "-" if semsift_recall is None else f"{semsift_recall:.4f}"
    semsift_found = "-" if semsift_count is None else f"{semsift_count:,}"
    print(f"| semsift (probes {ix['probes']}; its search stage) | - | {sem_recall} | {times['search']:.3f} "
          f"| {semsift_found} |")
    print()
    print("pairs found: distinct-vector pairs over the whole set, self pairs left out (semsift's from its "
          f"pairs.jsonl; its summary's pairs_found, {ix['pairs_found']:,}, counts pairs of exact-text groups, "
          "bit-identical ones included)")

    f = timed[chosen.nprobe]
    sem_total = times["index"] + times["search"]
    faiss_total = build_s + f.seconds
    print()
    print("| | index s | search s | index + search s | sample pair recall | pairs found |")
    print("|---|---|---|---|---|---|")
    print(f"| semsift IVF (lists {nlist}, probes {ix['probes']}) | {times['index']:.3f} | {times['search']:.3f} "
          f"| {sem_total:.3f} | {sem_recall} | {semsift_found} |")
    print(f"| faiss IVFFlat (nlist {nlist}, nprobe {chosen.nprobe}) | {build_s:.3f} | {f.seconds:.3f} "
          f"| {faiss_total:.3f} | {chosen.pair:.4f} | {f.pairs:,} |")
    print()
    if semsift_count is not None:
        # Every pair either finds is scored exactly, so over the whole set the larger count
        # is the higher recall (up to pairs that round to either side of the threshold).
        print(f"whole-set pairs found, faiss nprobe {chosen.nprobe} / semsift: {f.pairs / max(1, semsift_count):.4f} "
              "(both score every pair they return exactly: a ratio above 1 means faiss found more true pairs)")
    print(f"faiss total / semsift (index + search): {faiss_total / sem_total:.2f}x")
    print(f"faiss range search / semsift search stage: {f.seconds / times['search']:.2f}x "
          f"-> semsift's search stage is {'faster' if times['search'] < f.seconds else 'NOT faster'}")


if __name__ == "__main__":
    main()
