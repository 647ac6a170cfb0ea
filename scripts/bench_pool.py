"""Figures for scripts/bench-pool.sh (see there): pool open, add and query latency, disk
bytes per row, and the cells' decisions against exact search, as markdown tables."""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import semsift


def texts(path: Path) -> list[str]:
    return [json.loads(line)["text"] for line in open(path, encoding="utf-8")]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--work", required=True)
    ap.add_argument("sizes", nargs="+", type=int)
    a = ap.parse_args()
    work = Path(a.work)
    fresh = texts(work / "fresh.jsonl")
    imports = {}
    for line in open(work / "import-times"):
        n, kind, secs = line.split()
        imports[(int(n), kind)] = float(secs)
    semsift.load_model()  # the model loads once, outside the timings
    speed, quality = [], []
    for n in a.sizes:
        near = texts(work / f"near-{n}.jsonl")
        exact = semsift.Pool.open(work / f"pool-{n}-exact", readonly=True)
        t = time.perf_counter()
        want = exact.add(near, dry_run=True)
        exact_s = time.perf_counter() - t
        t = time.perf_counter()
        pool = semsift.Pool.open(work / f"pool-{n}-default")
        opened = (time.perf_counter() - t) * 1000
        t = time.perf_counter()
        got = pool.add(near, dry_run=True)
        cells_s = time.perf_counter() - t
        same = sum(x.accepted == y.accepted for x, y in zip(want, got))
        rejected = sum(not x.accepted for x in want)
        missed = sum((not x.accepted) and y.accepted for x, y in zip(want, got))
        quality.append(
            f"| {n:,} | {len(near):,} | {rejected:,} | {same:,} ({same / len(near):.4f}) | {missed} | "
            f"{exact_s:.2f} | {cells_s:.2f} |"
        )
        adds = []
        for b in range(3):
            t = time.perf_counter()
            pool.add(fresh[b * 1000 : (b + 1) * 1000])
            adds.append((time.perf_counter() - t) * 1000)
        t = time.perf_counter()
        pool.query(fresh[3000:3100], k=10)
        query = (time.perf_counter() - t) * 1000
        stats = pool.stats()
        pool.close()
        speed.append(
            f"| {n:,} | {imports[(n, 'default')]:.1f} | {imports[(n, 'exact')]:.1f} | {opened:.1f} | "
            f"{' / '.join(f'{x:,.0f}' for x in adds)} | {query:,.0f} | "
            f"{stats['disk_bytes'] / stats['rows']:.0f} | {stats['segments']} |"
        )
    print("| pool rows | import s (cells) | import s (exact) | open ms | add 1,000 fresh: ms (3 batches) | query 100 × k=10 ms | disk bytes / row | segments |")
    print("|---:|---:|---:|---:|---:|---:|---:|---:|")
    print("\n".join(speed))
    print()
    print("| pool rows | near candidates | rejected by exact search | same decision with cells | rejections missed | exact s | cells s |")
    print("|---:|---:|---:|---:|---:|---:|---:|")
    print("\n".join(quality))


if __name__ == "__main__":
    main()
