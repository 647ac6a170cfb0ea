#!/usr/bin/env bash
# Contamination check at scale: `semsift dedup A --against B` with ROWS rows a side, timed,
# and its recall against exact search estimated by scripts/bench_against.py (every flagged
# row checked exactly; a seeded sample of the rows not flagged scored against all of B).
#
# A and B are the even and odd rows of 2 × ROWS rows of scripts/make-synthetic.py's seeded
# corpus (seed 0), so the corpus's exact and near copies of recent rows fall on both sides.
#
# Usage: scripts/bench-against.sh [ROWS] [THRESHOLD]     (default: 1000000 0.9)
# Environment:
#   SEMSIFT=PATH   binary to time (default: target/release/semsift, built here if missing)
#   WORK=DIR       keep the corpus, vectors and outputs there (default: a temporary dir)
#   SAMPLE=N       rows not flagged scored exactly (default 20000)
set -euo pipefail
die() { echo "bench-against: error: $*" >&2; exit 1; }
cd "$(dirname "$0")/.."
rows=${1:-1000000}
threshold=${2:-0.9}
[[ "$rows" =~ ^[0-9]+$ ]] && [ "$rows" -gt 0 ] || die "ROWS must be a positive row count, got '$rows'"
PY=$(bash scripts/pyenv.sh)
bin=${SEMSIFT:-target/release/semsift}
if [ -z "${SEMSIFT:-}" ] && [ ! -x "$bin" ]; then cargo build --release --locked --quiet; fi
[ -x "$bin" ] || die "$bin not found or not executable"
[ -x /usr/bin/time ] || die "needs GNU time at /usr/bin/time"
if [ -n "${WORK:-}" ]; then work=$WORK; mkdir -p "$work"; else
  work=$(mktemp -d "${TMPDIR:-/tmp}/semsift-bench-against.XXXXXX"); trap 'rm -rf "$work"' EXIT; fi

corpus=$work/synthetic-$((2 * rows)).jsonl
a=$work/against-a-$rows.jsonl
b=$work/against-b-$rows.jsonl
if [ ! -f "$a.ok" ]; then
  echo "bench-against: generating $((2 * rows)) rows (not timed)" >&2
  "$PY" scripts/make-synthetic.py "$((2 * rows))" "$corpus" 0 >&2
  "$PY" scripts/bench_against.py split "$corpus" "$a" "$b"
  rm -f "$corpus"
  touch "$a.ok"
fi
rm -rf "$work/out"
echo "bench-against: semsift dedup A --against B, $rows rows a side, threshold $threshold, $(nproc) cores" >&2
/usr/bin/time -f "%e %M" -o "$work/time" "$bin" -q dedup "$a" --against "$b" -t "$threshold" -o "$work/out"
echo "bench-against: embedding both sides for the exact check (not timed)" >&2
"$bin" -q embed "$a" -o "$work/a.npy"
"$bin" -q embed "$b" -o "$work/b.npy"
"$PY" scripts/bench_against.py check --a "$a" --b "$b" --out "$work/out" --time "$work/time" \
  --va "$work/a.npy" --vb "$work/b.npy" --threshold "$threshold" --sample "${SAMPLE:-20000}"
rm -f "$work/a.npy" "$work/b.npy"
