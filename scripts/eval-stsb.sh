#!/usr/bin/env bash
# STS-B Spearman of the default model, the MiniLM transformer and a plain
# word-embedding mean (see scripts/eval-stsb.py). Needs ../shared/data.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/fetch-minilm.sh >&2
cargo build --release --locked --quiet
PY=$(bash scripts/pyenv.sh)
"$PY" scripts/eval-stsb.py "$@"
