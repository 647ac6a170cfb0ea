#!/usr/bin/env bash
# Static encoding speed, semsift vs Python model2vec on the same rows and model
# (see scripts/bench-embed.py). Needs ../shared/data.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --locked --quiet
PY=$(bash scripts/pyenv.sh)
"$PY" scripts/bench-embed.py "$@"
