"""Figures for scripts/bench-pool.sh: open, add and query latency of pools of several sizes
(see that script), printed as a markdown table."""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import semsift


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--work", required=True)
    ap.add_argument("--candidates", required=True)
    ap.add_argument("sizes", nargs="+", type=int)
    a = ap.parse_args()
    work = Path(a.work)
    texts = [json.loads(line)["text"] for line in open(a.candidates, encoding="utf-8")]
    imports = {}
    for line in open(work / "import-times"):
        n, secs = line.split()
        imports[int(n)] = float(secs)
    semsift.load_model()  # the model loads once, outside the timings
    print("| pool rows | import s | open ms | add 1,000: ms (3 batches) | accepted | query 100 × k=10 ms | disk bytes / row | segments |")
    print("|---:|---:|---:|---:|---:|---:|---:|---:|")
    for n in a.sizes:
        path = work / f"pool-{n}"
        t = time.perf_counter()
        pool = semsift.Pool.open(path)
        opened = (time.perf_counter() - t) * 1000
        adds, accepted = [], 0
        for b in range(3):
            batch = texts[b * 1000 : (b + 1) * 1000]
            t = time.perf_counter()
            decisions = pool.add(batch)
            adds.append((time.perf_counter() - t) * 1000)
            accepted += sum(d.accepted for d in decisions)
        t = time.perf_counter()
        pool.query(texts[3000:3100], k=10)
        query = (time.perf_counter() - t) * 1000
        stats = pool.stats()
        pool.close()
        print(
            f"| {n:,} | {imports.get(n, float('nan')):.1f} | {opened:.0f} | "
            f"{' / '.join(f'{x:,.0f}' for x in adds)} | {accepted:,} | {query:,.0f} | "
            f"{stats['disk_bytes'] / stats['rows']:.0f} | {stats['segments']} |"
        )


if __name__ == "__main__":
    main()
