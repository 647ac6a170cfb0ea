#!/usr/bin/env bash
# Peak memory of `semsift dedup` per stage, with and without --memory-limit, on ROWS rows
# of the seeded shuffle of the Bible translations in ../shared/data (the same input
# scripts/bench-vs-semhash.sh prepares), and a check that every limit gives byte-identical
# outputs.
#
# Usage: scripts/bench-memory.sh [ROWS] [LIMIT...]
#   ROWS   rows of the mix (default 1000000)
#   LIMIT  --memory-limit values to run besides the default (default: 4G 3G)
#   e.g. scripts/bench-memory.sh 200000 1G 512M
# Prints, per run: the peak RSS after each stage (from the stage logs), the process's peak
# RSS and wall time (/usr/bin/time -v), whether the pair lists went to disk, and the
# SHA-256 of kept.jsonl and removed.jsonl; exits non-zero if any run's outputs differ from
# the default run's.
#
# Environment: SEMSIFT=PATH (binary to use; default: target/release/semsift, built here),
# WORK=DIR (keep the input and outputs there; default: a temporary directory, removed).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
data="$(cd "$root/.." && pwd)/shared/data"
die() { echo "bench-memory: error: $*" >&2; exit 1; }

rows=${1:-1000000}
[ $# -gt 0 ] && shift
limits=("$@")
[ ${#limits[@]} -gt 0 ] || limits=(4G 3G)
[[ "$rows" =~ ^[0-9]+$ ]] || die "ROWS must be a number, got '$rows'"
src="$data/bible_parallel_en/bible_en_20_translations.jsonl.gz"
src2="$data/bible_parallel_multi/bible_multi_kjv_v11n.jsonl.gz"
[ -f "$src" ] && [ -f "$src2" ] || die "$data: the Bible datasets are missing"
/usr/bin/time -v true >/dev/null 2>&1 || die "needs GNU time (/usr/bin/time -v)"

semsift=${SEMSIFT:-$root/target/release/semsift}
if [ -z "${SEMSIFT:-}" ]; then
  echo "bench-memory: cargo build --release" >&2
  cargo build --release --locked --quiet
fi
PY=$(bash scripts/pyenv.sh)
if [ -n "${WORK:-}" ]; then
  work=$WORK; mkdir -p "$work"
else
  work=$(mktemp -d "${TMPDIR:-/tmp}/semsift-memory.XXXXXX")
  trap 'rm -rf "$work"' EXIT
fi

input="$work/input.jsonl"
if [ ! -s "$input" ]; then
  echo "bench-memory: preparing $rows rows -> $input" >&2
  "$PY" scripts/compare_semhash.py prepare --source "$src" --source "$src2" --shuffle 0 \
    --rows "$rows" --columns text --out "$input" >/dev/null
fi

run() {  # run NAME [ARGS...]
  local name=$1; shift
  local out="$work/$name"
  rm -rf "$out"
  echo "bench-memory: semsift dedup ${*:-(default)}" >&2
  /usr/bin/time -v -o "$work/$name.time" "$semsift" dedup "$input" -o "$out" -v "$@" \
    2> "$work/$name.log" >/dev/null || { tail -5 "$work/$name.log" >&2; die "$name failed"; }
  local stages peak wall disk sums
  stages=$(grep -o 'stage="[a-z]*" seconds=[0-9.]* peak_rss_mib=[0-9]*' "$work/$name.log" \
    | sed -E 's/stage="([a-z]*)" seconds=[0-9.]* peak_rss_mib=([0-9]*)/\1 \2/' | tr '\n' ' ')
  peak=$(awk '/Maximum resident set size/ {printf "%d", $NF / 1024}' "$work/$name.time")
  wall=$(awk -F': ' '/Elapsed \(wall clock\)/ {print $2}' "$work/$name.time")
  disk=$("$PY" -c 'import json,sys; print(json.load(open(sys.argv[1]))["index"].get("pairs_on_disk"))' "$out/summary.json")
  sums=$(cd "$out" && sha256sum kept.jsonl removed.jsonl | cut -c1-16 | tr '\n' ' ')
  printf '%-14s peak %6s MiB  wall %8s  pairs on disk: %-5s  after each stage (MiB): %s\n  sha256: %s\n' \
    "$name" "$peak" "$wall" "$disk" "$stages" "$sums"
  echo "$sums" > "$work/$name.sums"
}

echo "rows: $rows"
run default
status=0
for limit in "${limits[@]}"; do
  run "limit-$limit" --memory-limit "$limit"
  if ! cmp -s "$work/default.sums" "$work/limit-$limit.sums"; then
    echo "bench-memory: --memory-limit $limit changed the outputs" >&2
    status=1
  fi
done
[ $status = 0 ] && echo "outputs identical across all runs"
exit $status
