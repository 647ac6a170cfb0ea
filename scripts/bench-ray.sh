#!/usr/bin/env bash
# Rows per second of semsift.ray on a local Ray cluster (2 node processes on 127.0.0.1)
# against the single-machine CLI on the same rows; outputs compared with --index exact
# up to EXACT_ROWS rows. Usage: bash scripts/bench-ray.sh [ROWS] [THRESHOLD]
# (synthetic rows from scripts/make-synthetic.py; INPUT=file COLUMN=col to use your own).
set -euo pipefail
cd "$(dirname "$0")/.."
rows=${1:-1000000}
threshold=${2:-0.9}
PY=$(bash scripts/pyenv.sh)
"$PY" -m pip install --quiet --disable-pip-version-check .
cargo build --release --locked --quiet
input=${INPUT:-}
if [ -z "$input" ]; then
  input=$(mktemp -d)/synthetic-$rows.jsonl
  "$PY" scripts/make-synthetic.py "$rows" "$input" 1 >/dev/null
  trap 'rm -rf "$(dirname "$input")"' EXIT
fi
"$PY" scripts/bench_ray.py "$input" "${COLUMN:-text}" "$threshold"
