#!/usr/bin/env bash
# The Python package side by side, in one run, on the same rows and model (the bundled
# model's folder) and threshold: SemHash 0.5.0 vs `from semsift import SemHash` (wall time,
# peak RSS, agreement of the kept rows), and the native Python API (semsift.dedup on a
# pyarrow table, writing the same files) vs `semsift dedup` (the API's overhead).
#
# Usage: scripts/bench-python.sh [ROWS] [RUNS] [THRESHOLD]
#   ROWS       first ROWS rows of the Bible mix (bible_parallel_en + bible_parallel_multi from
#              ../shared/data, shuffled with seed 0); default 100000
#   RUNS       rounds (each runs all four jobs in turn); default 3
#   THRESHOLD  default 0.9
# Environment: WORK=DIR keeps the files there (default: a temp dir, removed at the end).
set -euo pipefail
cd "$(dirname "$0")/.."
rows=${1:-100000}
runs=${2:-3}
threshold=${3:-0.9}
data="$(cd .. && pwd)/shared/data"
src1="$data/bible_parallel_en/bible_en_20_translations.jsonl.gz"
src2="$data/bible_parallel_multi/bible_multi_kjv_v11n.jsonl.gz"
for f in "$src1" "$src2"; do [ -f "$f" ] || { echo "bench-python: $f missing (team data, ../shared)" >&2; exit 1; }; done
[ -x /usr/bin/time ] || { echo "bench-python: needs GNU time (/usr/bin/time; Debian: apt-get install time)" >&2; exit 1; }

PY=$(bash scripts/pyenv.sh)
echo "bench-python: cargo build --release; pip install ." >&2
cargo build --release --locked --quiet
"$PY" -m pip install --quiet --disable-pip-version-check .
if [ -n "${WORK:-}" ]; then work=$WORK; mkdir -p "$work"; else
  work=$(mktemp -d "${TMPDIR:-/tmp}/semsift-bench-python.XXXXXX"); trap 'rm -rf "$work"' EXIT; fi
input="$work/input.jsonl"
"$PY" scripts/compare_semhash.py prepare --source "$src1" --source "$src2" --shuffle 0 \
  --rows "$rows" --columns text --out "$input" >/dev/null
"$PY" scripts/bench_python.py bench --input "$input" --columns text --threshold "$threshold" \
  --model models/minilm-l6-static-256 --semsift target/release/semsift --runs "$runs" \
  --work "$work/runs" --label "the Bible mix (25 languages, shuffled)"
