#!/usr/bin/env bash
# The pool (semsift pool / semsift.Pool) at growing sizes. For each ROWS:
#   - the synthetic corpus (scripts/make-synthetic.py, seed 0) of ROWS + 3,000 rows: the
#     first ROWS seed two pools by `semsift pool import` (one default, one `--exact`);
#     the last 3,000, whose near and exact copies of recent rows fall in the pool, are
#     the "near" candidates;
#   - through the Python API, in one process: the time to open the default pool, `add`
#     latency for 3 batches of 1,000 fresh candidates (a corpus of seed 1; each batch
#     added for real), `query` latency for 100 texts (k = 10), bytes on disk per row, and
#     how many of the near candidates' decisions (dry runs) the default pool's cells give
#     as the exact pool does.
#
# Usage: scripts/bench-pool.sh [ROWS...]     (default: 100000 1000000)
# Environment: WORK=DIR keeps corpora and pools there (default: a temporary directory).
#              SEMSIFT=PATH uses that binary (default: builds target/release/semsift);
#              the Python package is installed from this tree (pip install .) unless
#              NO_INSTALL=1 (one installed already, say by `maturin develop --release`).
set -euo pipefail
cd "$(dirname "$0")/.."
sizes=("$@"); [ ${#sizes[@]} -gt 0 ] || sizes=(100000 1000000)
PY=$(bash scripts/pyenv.sh)
bin=${SEMSIFT:-target/release/semsift}
if [ -z "${SEMSIFT:-}" ]; then cargo build --release --locked --quiet; fi
if [ -z "${NO_INSTALL:-}" ]; then
  echo "bench-pool: pip install . (the semsift Python package)" >&2
  "$PY" -m pip install --quiet --disable-pip-version-check .
fi
if [ -n "${WORK:-}" ]; then work=$WORK; mkdir -p "$work"; else
  work=$(mktemp -d "${TMPDIR:-/tmp}/semsift-bench-pool.XXXXXX"); trap 'rm -rf "$work"' EXIT; fi
[ -f "$work/fresh.jsonl" ] || "$PY" scripts/make-synthetic.py 3100 "$work/fresh.jsonl" 1 >/dev/null
rm -f "$work/import-times"
for n in "${sizes[@]}"; do
  corpus="$work/corpus-$n.jsonl"
  if [ ! -f "$corpus.ok" ]; then
    "$PY" scripts/make-synthetic.py $((n + 3000)) "$work/all-$n.jsonl" 0 >/dev/null
    head -n "$n" "$work/all-$n.jsonl" > "$corpus"
    tail -n 3000 "$work/all-$n.jsonl" > "$work/near-$n.jsonl"
    rm "$work/all-$n.jsonl"; touch "$corpus.ok"
  fi
  for kind in default exact; do
    pool="$work/pool-$n-$kind"; rm -rf "$pool"
    if [ "$kind" = exact ]; then "$bin" -q pool init "$pool" --exact >/dev/null; else "$bin" -q pool init "$pool" >/dev/null; fi
    start=$(date +%s.%N)
    "$bin" -q pool import "$pool" "$corpus" >/dev/null
    echo "$n $kind $(echo "$(date +%s.%N) - $start" | bc)" >> "$work/import-times"
  done
done
"$PY" scripts/bench_pool.py --work "$work" "${sizes[@]}"
