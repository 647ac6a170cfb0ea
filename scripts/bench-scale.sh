#!/usr/bin/env bash
# One million rows and more, end to end: `semsift dedup` (read → embed → index → search →
# select → write) on the verse-aligned Bible translations of ../shared/data, bundled
# default model, threshold 0.9, default index.
#
# Usage: scripts/bench-scale.sh [ROWS] [THRESHOLD] [-- EXTRA SEMSIFT ARGS...]
#   ROWS       rows of the seeded shuffle of bible_parallel_en + bible_parallel_multi
#              (1,261,103 rows in all; default: all)
#   THRESHOLD  default 0.9
# Environment: SAMPLE=N query rows for the recall check (default 2000); WORK=DIR keeps the
# files there; SEMSIFT=PATH uses that binary instead of building target/release/semsift.
#
# Prints: seconds per stage and wall time, rows/s, peak RSS, rows removed, and how many of
# SAMPLE random rows' keep/remove decisions (and `duplicate_of` choices) exact search
# reproduces, plus the share of same-verse duplicates (same `ref`: a ground-truth group)
# removed; see scripts/bench_scale.py. The timed run is a plain `semsift dedup`.
set -euo pipefail
cd "$(dirname "$0")/.."
rows=${1:-all}; [ $# -gt 0 ] && shift
threshold=${1:-0.9}; [ $# -gt 0 ] && shift
[ "${1:-}" = -- ] && shift
[ "$rows" = all ] && rows=0
data=../shared/data
en=$data/bible_parallel_en/bible_en_20_translations.jsonl.gz
multi=$data/bible_parallel_multi/bible_multi_kjv_v11n.jsonl.gz
for f in "$en" "$multi"; do [ -f "$f" ] || { echo "bench-scale: $f not found (needs ../shared/data)" >&2; exit 1; }; done
PY=$(bash scripts/pyenv.sh)
bin=${SEMSIFT:-target/release/semsift}
[ -n "${SEMSIFT:-}" ] || cargo build --release --locked --quiet
if [ -n "${WORK:-}" ]; then work=$WORK; mkdir -p "$work"; else work=$(mktemp -d); trap 'rm -rf "$work"' EXIT; fi
input=$work/bible-mix.jsonl
if [ ! -f "$input.rows-$rows" ]; then
  "$PY" scripts/compare_semhash.py prepare --source "$en" --source "$multi" --shuffle 0 \
    --rows "$rows" --columns text --out "$input" >/dev/null
  touch "$input.rows-$rows"
fi
rm -rf "$work/out"
echo "bench-scale: $(wc -l < "$input") rows, threshold $threshold, $(nproc) cores; semsift dedup $* (work dir $work)" >&2
/usr/bin/time -f "%e %M" -o "$work/time" "$bin" -q dedup "$input" -t "$threshold" -o "$work/out" "$@"
echo "bench-scale: exact search for the sampled check" >&2
"$bin" -q embed "$input" -o "$work/vectors.npy"
"$PY" scripts/bench_scale.py --input "$input" --out "$work/out" --time "$work/time" \
  --vectors "$work/vectors.npy" --threshold "$threshold" --sample "${SAMPLE:-2000}"
rm -f "$work/vectors.npy"
