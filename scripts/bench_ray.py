"""Rows per second of `python -m semsift.ray dedup` on a local Ray cluster (a head and
NODES−1 more node processes on 127.0.0.1, CPUS each) against the single-machine CLI on the
same rows, in one run: `semsift dedup` with its default index and, up to EXACT_ROWS rows,
with `--index exact`; and semsift.ray with `--index cells` (the default) and, up to
EXACT_ROWS rows, `--index exact`, whose outputs must equal the CLI's byte for byte.
Prints one line per run, the stage timings of the Ray runs and how many of exact
search's removals the approximate runs find.

Usage: python scripts/bench_ray.py INPUT.jsonl COLUMN [THRESHOLD]
Environment: NODES (2), CPUS (1 per node), EXACT_ROWS (200000), SHARD (16M), SEMSIFT (binary).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from semsift.ray.local import LocalCluster

ROOT = Path(__file__).resolve().parents[1]


def timed(cmd: list[str], env: dict[str, str] | None = None) -> float:
    start = time.perf_counter()
    r = subprocess.run(cmd, env=env, capture_output=True, text=True)
    took = time.perf_counter() - start
    if r.returncode != 0:
        sys.exit(f"failed ({r.returncode}): {' '.join(cmd)}\n{r.stderr[-3000:]}")
    return took


def main() -> None:
    path, column = sys.argv[1], sys.argv[2]
    threshold = sys.argv[3] if len(sys.argv) > 3 else "0.9"
    nodes, cpus = int(os.environ.get("NODES", "2")), int(os.environ.get("CPUS", "1"))
    exact_rows = int(os.environ.get("EXACT_ROWS", "200000"))
    exe = os.environ.get("SEMSIFT", str(ROOT / "target" / "release" / "semsift"))
    rows = sum(1 for line in open(path, "rb") if line.strip())
    out = Path(tempfile.mkdtemp(prefix="bench-ray-"))
    print(f"{rows:,} rows of {path} ({column}), threshold {threshold}; {nodes} Ray nodes × {cpus} CPU, {os.cpu_count()} cores here")

    results = []
    t = timed([exe, "dedup", path, "-c", column, "-t", threshold, "-o", str(out / "cli"), "-q"])
    results.append(("semsift dedup (default index, approximate)", t))
    if rows <= exact_rows:
        t = timed([exe, "dedup", path, "-c", column, "-t", threshold, "--index", "exact", "-o", str(out / "exact"), "-q"])
        results.append(("semsift dedup --index exact", t))
    with LocalCluster(nodes=nodes, cpus=cpus, object_store_bytes=1 << 30) as cluster:
        for index in ("cells", "exact") if rows <= exact_rows else ("cells",):
            cmd = [sys.executable, "-m", "semsift.ray", "dedup", path, "-c", column, "-t", threshold, "-o", str(out / f"ray-{index}")]
            cmd += ["--address", cluster.address, "--shard-size", os.environ.get("SHARD", "16M"), "--index", index]
            t = timed(cmd, cluster.env())
            results.append((f"semsift.ray --index {index} ({nodes}×{cpus} CPU)", t))
    for name, t in results:
        print(f"{name:48s} {t:8.1f} s  {rows / t:10,.0f} rows/s")
    for index in ("cells", "exact"):
        if (out / f"ray-{index}").exists():
            summary = json.loads((out / f"ray-{index}" / "summary.json").read_text())
            print(f"ray --index {index} stages (s):", json.dumps(summary["timings_s"]))
            print(f"ray --index {index} index:", json.dumps(summary["index"]))

    def removed(d: str) -> set[int]:
        return {json.loads(line)["row"] for line in open(out / d / "removed.jsonl", encoding="utf-8")}

    cells, default = removed("ray-cells"), removed("cli")
    if (out / "exact").exists():
        exact = removed("exact")
        same = all((out / "exact" / f).read_bytes() == (out / "ray-exact" / f).read_bytes() for f in ("kept.jsonl", "removed.jsonl"))
        print(f"ray --index exact outputs identical to semsift dedup --index exact: {same}")
        for name, got in (("ray --index cells", cells), ("semsift dedup (default index)", default)):
            print(f"{name}: finds {len(got & exact) / max(1, len(exact)):.4f} of exact's {len(exact):,} removals, {len(got - exact):,} others")
        if not same:
            sys.exit(1)
    else:
        print(f"removed: ray --index cells {len(cells):,}, semsift dedup (default index) {len(default):,}, both {len(cells & default):,}")
    subprocess.run(["rm", "-rf", str(out)])


if __name__ == "__main__":
    main()
