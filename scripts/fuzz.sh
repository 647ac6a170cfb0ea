#!/usr/bin/env bash
# Fuzzes the dataset readers (JSON Lines / JSON array, CSV / TSV, plain text, each also
# through `dataset::split`) and the vector-file opener with cargo-fuzz (libFuzzer), each
# target for a bounded time, and exits non-zero if any target crashes.
#
# Usage: scripts/fuzz.sh [SECONDS] [TARGET...]
#   SECONDS  fuzzing time per target (default 60)
#   TARGET   jsonl, csv, text, store_header (default: all four, one after the other)
#
# The targets are fuzz/fuzz_targets/*.rs (their own cargo workspace, fuzz/Cargo.toml); the
# invariants they check are in tests/common/fuzz_checks.rs, which tests/fuzz_regressions.rs
# runs on every seed and past crash input in the normal test suite.
#
# Needs cargo-fuzz (installed with `cargo install cargo-fuzz --locked` when missing) and a
# compiler that accepts -Z flags: by default stable with RUSTC_BOOTSTRAP=1; set
# FUZZ_TOOLCHAIN=nightly to use `cargo +nightly` instead. The first build instruments all of
# semsift's dependencies with AddressSanitizer (about 15-20 minutes on 2 cores).
#
# Corpora live in fuzz/corpus/<target>/ (git-ignored, kept between runs) and start from the
# committed seeds in fuzz/seeds/<target>/. A crash leaves fuzz/artifacts/<target>/crash-*
# (or leak-/timeout-/oom-*), printed at the end. To keep it as a regression test:
#   RUSTC_BOOTSTRAP=1 cargo fuzz tmin <target> <artifact>   # minimise (or: fuzz/target/*/release/<target> -minimize_crash=1 -runs=10000 <artifact>)
#   cp <minimised> tests/data/fuzz/<target>/<name>           # replayed by fuzz_regressions
#
# Environment: FUZZ_ARGS, extra libFuzzer flags (e.g. "-jobs=2 -workers=2");
# FUZZ_TIMEOUT, seconds one input may take before it counts as a hang (default 30).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

secs=${1:-60}
[ $# -gt 0 ] && shift
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(jsonl csv text store_header)

if ! command -v cargo-fuzz >/dev/null; then
  echo "fuzz: installing cargo-fuzz" >&2
  cargo install cargo-fuzz --locked
fi
if [ -n "${FUZZ_TOOLCHAIN:-}" ]; then
  cargo=(cargo "+$FUZZ_TOOLCHAIN")
else
  export RUSTC_BOOTSTRAP=1
  cargo=(cargo)
fi

# The targets write their inputs to files here (tmpfs when there is one).
parent=/dev/shm
[ -d "$parent" ] && [ -w "$parent" ] || parent=${TMPDIR:-/tmp}
scratch=$(mktemp -d "$parent/semsift-fuzz.XXXXXX")
trap 'rm -rf "$scratch"' EXIT
export SEMSIFT_FUZZ_TMP=$scratch
touch "$scratch/.start"

# Built once, then the binaries run directly (`cargo fuzz run` would rebuild whenever src/
# changes). FUZZ_BUILD_ARGS: extra `cargo fuzz build` flags, e.g. `-a` for debug assertions
# (a full rebuild).
# shellcheck disable=SC2086
"${cargo[@]}" fuzz build ${FUZZ_BUILD_ARGS:-}
bin=$root/fuzz/target/$(rustc -vV | sed -n 's/^host: //p')/release

failed=()
for t in "${targets[@]}"; do
  [ -f "fuzz/fuzz_targets/$t.rs" ] || { echo "fuzz: no target $t" >&2; exit 2; }
  corpus=$root/fuzz/corpus/$t
  mkdir -p "$corpus" "$root/fuzz/artifacts/$t"
  max_len=4096
  [ "$t" = store_header ] && max_len=8192
  log=$scratch/$t.log
  echo "fuzz: $t for ${secs}s" >&2
  start=$(date +%s)
  set +e
  # shellcheck disable=SC2086
  "$bin/$t" -artifact_prefix="$root/fuzz/artifacts/$t/" -max_total_time="$secs" \
    -max_len="$max_len" -timeout="${FUZZ_TIMEOUT:-30}" -rss_limit_mb=2048 \
    -print_final_stats=1 ${FUZZ_ARGS:-} "$corpus" "$root/fuzz/seeds/$t" 2>&1 | tee "$log" |
    grep -E '^(#[0-9]+[[:space:]]+(INITED|DONE)|==[0-9]+==|SUMMARY|thread .* panicked|stat::number_of_executed_units)' >&2
  status=${PIPESTATUS[0]}
  set -e
  echo "fuzz: $t: exit $status after $(($(date +%s) - start))s, corpus $(find "$corpus" -type f | wc -l) files" >&2
  if [ "$status" -ne 0 ]; then
    failed+=("$t")
    grep -E 'panicked at|Test unit written to' "$log" >&2 || true
  fi
done

if [ ${#failed[@]} -gt 0 ]; then
  echo "fuzz: FAILED: ${failed[*]}; artifacts:" >&2
  for t in "${failed[@]}"; do
    find "$root/fuzz/artifacts/$t" -type f -newer "$scratch/.start" -printf '  %p\n' >&2
  done
  exit 1
fi
echo "fuzz: no crashes in ${targets[*]}" >&2
