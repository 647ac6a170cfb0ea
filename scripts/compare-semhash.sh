#!/usr/bin/env bash
# Side-by-side semantic deduplication, SemHash 0.5.0 vs `semsift dedup`, on the same rows,
# same model (models/minilm-l6-static-256) and same threshold, one after the other in one run.
#
# Usage: scripts/compare-semhash.sh DATASET [ROWS] [THRESHOLD]
#   DATASET    alpaca  ../shared/data/alpaca_cleaned_partial (50,921 rows; default ROWS: all),
#                      columns instruction,input,output
#              bible   ../shared/data/bible_parallel_en (474,910 rows; default ROWS: 100000),
#                      column text
#              bible-mix  bible_parallel_en + bible_parallel_multi (1,261,103 rows, 25
#                      languages), shuffled with seed 0; default ROWS: all; column text
#              FILE    a .jsonl (or .jsonl.gz) file; columns from COLUMNS=a,b (default: text)
#   ROWS       first ROWS rows (0 or "all" = every row)
#   THRESHOLD  cosine threshold, default 0.9
# Environment:
#   COLUMNS=a,b          columns to deduplicate on (overrides the dataset's default)
#   SEMSIFT=PATH         semsift binary to use (default: target/release/semsift, built here first)
#   SEMSIFT_ARGS="..."   extra arguments for `semsift dedup`, e.g. "--index exact"
#   SEMHASH_ONLY=1       run only the SemHash half (no cargo build, no semsift)
#   WORK=DIR             keep all files (input, outputs, timings) in DIR; default: a temp dir,
#                        deleted at the end (KEEP=1 keeps it)
# Both sides are timed as whole processes (read, load model, embed, index, dedup, write results)
# with /usr/bin/time -v (or a getrusage fallback); see scripts/compare_semhash.py.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
data="$(cd "$root/.." && pwd)/shared/data"

die() { echo "compare-semhash: error: $*" >&2; exit 1; }
[ $# -ge 1 ] || die "usage: scripts/compare-semhash.sh alpaca|bible|FILE.jsonl [ROWS] [THRESHOLD]"
dataset=$1
rows=${2:-}
threshold=${3:-0.9}
[ "$rows" = all ] && rows=0

case "$dataset" in
  alpaca) src="$data/alpaca_cleaned_partial/alpaca_cleaned_partial.jsonl.gz"; cols=instruction,input,output
          rows=${rows:-0} ;;
  bible)  src="$data/bible_parallel_en/bible_en_20_translations.jsonl.gz"; cols=text
          rows=${rows:-100000} ;;
  bible-mix) src="$data/bible_parallel_en/bible_en_20_translations.jsonl.gz"; cols=text
          src2="$data/bible_parallel_multi/bible_multi_kjv_v11n.jsonl.gz"; rows=${rows:-0} ;;
  *)      src=$dataset; cols=text; rows=${rows:-0} ;;
esac
# COLUMNS doubles as bash's terminal width; a bare number is that, not a column list.
if [ -n "${COLUMNS:-}" ] && ! [[ "$COLUMNS" =~ ^[0-9]+$ ]]; then cols=$COLUMNS; fi
[ -f "$src" ] || die "$src: no such file"
[[ "$rows" =~ ^[0-9]+$ ]] || die "ROWS must be a number or 'all', got '$rows'"
[[ "$threshold" =~ ^[0-9.]+$ ]] || die "THRESHOLD must be a number, got '$threshold'"
model="$root/models/minilm-l6-static-256"
[ -f "$model/model.safetensors" ] || die "$model: missing (the bundled default model)"

PY=$(bash scripts/pyenv.sh)
if [ -n "${WORK:-}" ]; then
  work=$WORK; mkdir -p "$work"; rm -rf "$work/semhash" "$work/semsift"
else
  work=$(mktemp -d "${TMPDIR:-/tmp}/semsift-vs-semhash.XXXXXX")
  if [ -z "${KEEP:-}" ]; then trap 'rm -rf "$work"' EXIT; fi
fi

# Timing: /usr/bin/time -v (GNU time) when present, else getrusage(RUSAGE_CHILDREN) in a wrapper.
timed() {  # timed NAME CMD...  -> $work/NAME.time
  local out="$work/$1.time"; shift
  if /usr/bin/time -v true >/dev/null 2>&1; then
    /usr/bin/time -v -o "$out" "$@"
  else
    "$PY" scripts/compare_semhash.py measure "$out" -- "$@"
  fi
}

# The semsift half: build (unless SEMSIFT is given), then check the binary has `dedup`.
semsift=${SEMSIFT:-$root/target/release/semsift}
missing=""
if [ -n "${SEMHASH_ONLY:-}" ]; then
  missing="SEMHASH_ONLY is set"
else
  if [ -z "${SEMSIFT:-}" ]; then
    echo "compare-semhash: cargo build --release" >&2
    cargo build --release --locked --quiet || missing="cargo build --release failed"
  fi
  if [ -z "$missing" ]; then
    if [ ! -x "$semsift" ]; then
      missing="$semsift: no such executable"
    elif ! "$semsift" dedup --help >/dev/null 2>&1; then
      missing="$semsift has no working 'dedup' command (\`$semsift dedup --help\` fails)"
    fi
  fi
  [ -z "$missing" ] || echo "compare-semhash: error: $missing; running the SemHash half only" >&2
fi

input="$work/input.jsonl"
echo "compare-semhash: preparing $src (rows: ${rows/#0/all}) -> $input" >&2
mix=()
[ -n "${src2:-}" ] && mix=(--source "$src2" --shuffle 0)
n=$("$PY" scripts/compare_semhash.py prepare --source "$src" "${mix[@]}" --rows "$rows" --columns "$cols" --out "$input")
echo "compare-semhash: $n rows, columns $cols, threshold $threshold; work dir $work" >&2

echo "compare-semhash: (a) SemHash self_deduplicate" >&2
timed semhash "$PY" scripts/compare_semhash.py run-semhash --input "$input" --columns "$cols" \
  --threshold "$threshold" --model "$model" --out "$work/semhash" >/dev/null

semsift_args=()
if [ -z "$missing" ]; then
  echo "compare-semhash: (b) semsift dedup" >&2
  colargs=()
  IFS=, read -ra cl <<< "$cols"
  for c in "${cl[@]}"; do colargs+=(--column "$c"); done
  # shellcheck disable=SC2086  # SEMSIFT_ARGS is split on purpose
  if timed semsift "$semsift" dedup "$input" "${colargs[@]}" --threshold "$threshold" \
       -o "$work/semsift" ${SEMSIFT_ARGS:-}; then
    if [ -f "$work/semsift/removed.jsonl" ]; then
      semsift_args=(--semsift-dir "$work/semsift" --semsift-time "$work/semsift.time" --semsift-bin "$semsift")
    else
      missing="semsift dedup wrote no $work/semsift/removed.jsonl"
    fi
  else
    missing="semsift dedup failed (exit status $?)"
  fi
  [ -z "$missing" ] || echo "compare-semhash: error: $missing" >&2
fi

"$PY" scripts/compare_semhash.py compare --input "$input" --columns "$cols" --threshold "$threshold" \
  --model "$model" --semhash-dir "$work/semhash" --semhash-time "$work/semhash.time" \
  ${semsift_args[@]+"${semsift_args[@]}"} ${missing:+--semsift-missing "$missing"}
[ -n "${WORK:-}${KEEP:-}" ] && echo "compare-semhash: files kept in $work" >&2
# Exit 1 when the semsift half was wanted but could not run.
[ -z "$missing" ] || [ -n "${SEMHASH_ONLY:-}" ]
