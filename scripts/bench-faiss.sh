#!/usr/bin/env bash
# An outside anchor: semsift's IVF search beside faiss-cpu's IVF range search, on the same
# vectors, at the same recall. A seeded synthetic corpus (scripts/make-synthetic.py) is
# deduplicated by a plain, timed `semsift dedup`; its vectors (`semsift embed`) go to
# faiss IndexIVFFlat (inner product, nlist = semsift's cells), tuned over nprobe until its
# sampled pair recall reaches the target, and timed there. See scripts/bench_faiss.py for
# the method.
#
# Usage: scripts/bench-faiss.sh [ROWS] [THRESHOLD] [-- BENCH_FAISS ARGS...]
#   ROWS       synthetic rows (default 1000000)
#   THRESHOLD  default 0.9
#   e.g. scripts/bench-faiss.sh 1000000 0.9 -- --recall 0.995
# Environment: SAMPLE=N sampled queries for recall (default 2000); WORK=DIR keeps the files
# there (and reuses the corpus); SEMSIFT=PATH uses that binary instead of
# target/release/semsift (this script never builds); PAIRS=0 skips the second, untimed
# `semsift dedup --pairs` run that measures semsift's own sample recall.
# faiss-cpu is installed into the .venv of scripts/pyenv.sh when it is missing (it is not
# in scripts/requirements.txt).
#
# Prints: faiss version, cores, rows, distinct vectors, nlist/nprobe, the sampled recall of
# faiss at each nprobe and of semsift, and a table of index and search seconds of both with
# the ratio faiss / semsift.
set -euo pipefail
cd "$(dirname "$0")/.."
rows=${1:-1000000}; [ $# -gt 0 ] && shift
threshold=${1:-0.9}; [ $# -gt 0 ] && shift
[ "${1:-}" = -- ] && shift
bin=${SEMSIFT:-target/release/semsift}
[ -x "$bin" ] || { echo "bench-faiss: $bin not found; build it (cargo build --release) or set SEMSIFT" >&2; exit 1; }
PY=$(bash scripts/pyenv.sh)
if ! "$PY" -c 'import faiss' 2>/dev/null; then
  echo "bench-faiss: installing faiss-cpu into $(dirname "$(dirname "$PY")")" >&2
  "$PY" -m pip install -q --disable-pip-version-check faiss-cpu >&2
fi
if [ -n "${WORK:-}" ]; then work=$WORK; mkdir -p "$work"; else work=$(mktemp -d); trap 'rm -rf "$work"' EXIT; fi
input=$work/synthetic-$rows.jsonl
[ -f "$input" ] || python3 scripts/make-synthetic.py "$rows" "$input"
rm -rf "$work/out" "$work/out-pairs"
echo "bench-faiss: $(wc -l < "$input") rows, threshold $threshold, $(nproc) cores; timed semsift dedup (work dir $work)" >&2
/usr/bin/time -f "%e %M" -o "$work/time" "$bin" -q dedup "$input" -t "$threshold" -o "$work/out"
"$bin" -q embed "$input" -o "$work/vectors.npy"
pairs=()
help=$("$bin" dedup --help)  # captured: grep -q in a pipe could SIGPIPE it under pipefail
if [ "${PAIRS:-1}" != 0 ] && [[ $help == *--pairs* ]]; then
  echo "bench-faiss: untimed semsift dedup --pairs for semsift's sample recall" >&2
  "$bin" -q dedup "$input" -t "$threshold" -o "$work/out-pairs" --pairs
  pairs=(--pairs-out "$work/out-pairs")
fi
echo "bench-faiss: faiss" >&2
"$PY" scripts/bench_faiss.py --out "$work/out" --time "$work/time" --vectors "$work/vectors.npy" \
  --threshold "$threshold" --sample "${SAMPLE:-2000}" "${pairs[@]}" "$@"
rm -rf "$work/vectors.npy" "$work/out-pairs/pairs.jsonl"
