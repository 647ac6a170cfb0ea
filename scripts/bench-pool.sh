#!/usr/bin/env bash
# The pool (semsift pool / semsift.Pool) at growing sizes: for each ROWS, a pool seeded with
# ROWS rows of the synthetic corpus (scripts/make-synthetic.py, seed 0) by `semsift pool
# import`, then, through the Python API in one process: the time to open it, the latency of
# `add` for batches of 1,000 new candidates (a corpus of seed 1; 3 batches, each added for
# real), of `query` for 100 texts (k = 10), and the bytes on disk per pool row.
#
# Usage: scripts/bench-pool.sh [ROWS...]     (default: 100000 1000000)
# Environment: WORK=DIR keeps corpora and pools there (default: a temporary directory).
#              SEMSIFT=PATH times that binary for the import (default: builds
#              target/release/semsift); the Python package is installed from this tree.
set -euo pipefail
cd "$(dirname "$0")/.."
sizes=("$@"); [ ${#sizes[@]} -gt 0 ] || sizes=(100000 1000000)
PY=$(bash scripts/pyenv.sh)
bin=${SEMSIFT:-target/release/semsift}
if [ -z "${SEMSIFT:-}" ]; then cargo build --release --locked --quiet; fi
echo "bench-pool: pip install . (the semsift Python package)" >&2
"$PY" -m pip install --quiet --disable-pip-version-check .
if [ -n "${WORK:-}" ]; then work=$WORK; mkdir -p "$work"; else
  work=$(mktemp -d "${TMPDIR:-/tmp}/semsift-bench-pool.XXXXXX"); trap 'rm -rf "$work"' EXIT; fi
[ -f "$work/candidates.jsonl" ] || "$PY" scripts/make-synthetic.py 3100 "$work/candidates.jsonl" 1 >/dev/null
for n in "${sizes[@]}"; do
  corpus="$work/synthetic-$n.jsonl"
  [ -f "$corpus.ok" ] || { "$PY" scripts/make-synthetic.py "$n" "$corpus" 0 >/dev/null; touch "$corpus.ok"; }
  rm -rf "$work/pool-$n"
  "$bin" -q pool init "$work/pool-$n" >/dev/null
  start=$(date +%s.%N)
  "$bin" -q pool import "$work/pool-$n" "$corpus" >/dev/null
  echo "$n $(echo "$(date +%s.%N) - $start" | bc)" >> "$work/import-times"
done
"$PY" scripts/bench_pool.py --work "$work" --candidates "$work/candidates.jsonl" "${sizes[@]}"
