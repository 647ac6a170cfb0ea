#!/usr/bin/env bash
# Rows vs seconds: how `semsift dedup` scales with the number of rows, on the seeded
# synthetic corpus (scripts/make-synthetic.py, seed 0: 75 % new sentences, 10 % exact and
# 15 % near copies of recent rows), bundled default model, default threshold and index.
# Prints a markdown table for the README (see scripts/bench_rows.py for the columns).
#
# Usage: scripts/bench-rows.sh [ROWS...]     (default: 100000 1000000 3000000 10000000)
#   ROWS  a row count; 100k, 1M, 1_000_000 and the like are accepted too
#   e.g.  WORK=/tmp/br scripts/bench-rows.sh 20000 100000
#
# Environment:
#   SEMSIFT=PATH     binary to time (default: target/release/semsift; it is NOT built here)
#   WORK=DIR         keep corpora, logs and summaries there; a corpus made there before (with
#                    its .ok marker) is reused. Default: a temporary directory, removed on exit.
#                    The corpus is about 155 bytes a row (10M rows: ~1.6 GB).
#   EXTRA_ARGS="..." extra arguments for `semsift dedup`, split on whitespace
#   KEEP_OUTPUT=1    keep each run's kept.jsonl / removed.jsonl (default: deleted after the
#                    run, keeping summary.json, to save disk)
#
# Generating a corpus is not timed. Each timed run is
#   RUST_LOG=info semsift dedup FILE -o OUT $EXTRA_ARGS
# under /usr/bin/time; its stderr (the `stage done` lines) goes to WORK/run-ROWS.log.
# A failed run is reported in the table and makes the script exit 1 after the table.
set -euo pipefail
die() { echo "bench-rows: error: $*" >&2; exit 1; }

# Paths given relative to the caller's directory, resolved before the cd below.
bin=${SEMSIFT:-}
if [ -n "$bin" ] && [[ "$bin" == */* ]]; then bin=$(realpath -m -- "$bin"); fi
work=${WORK:-}
if [ -n "$work" ]; then work=$(realpath -m -- "$work"); fi
cd "$(dirname "$0")/.."
root=$(pwd)
[ -n "$bin" ] || bin=$root/target/release/semsift
command -v "$bin" >/dev/null 2>&1 \
  || die "$bin not found or not executable (cargo build --release, or set SEMSIFT=PATH)"
[ -x /usr/bin/time ] || die "needs GNU time at /usr/bin/time (Debian: apt-get install time)"
/usr/bin/time -f "%e" true >/dev/null 2>&1 || die "/usr/bin/time is not GNU time (no -f)"
command -v python3 >/dev/null 2>&1 || die "needs python3"

# Sizes: arguments or the default ladder; accept 100k / 1M / 1_000_000.
sizes=()
args=("$@")
[ ${#args[@]} -gt 0 ] || args=(100000 1000000 3000000 10000000)
for a in "${args[@]}"; do
  s=${a//_/}
  case "$s" in
    *[kK]) n=${s%?}; mult=1000 ;;
    *[mM]) n=${s%?}; mult=1000000 ;;
    *) n=$s; mult=1 ;;
  esac
  if ! [[ "$n" =~ ^[0-9]+$ ]] || [ "$((10#$n))" -eq 0 ]; then
    die "ROWS must be a positive row count, got '$a'"
  fi
  sizes+=("$((10#$n * mult))")
done

extra=()
if [ -n "${EXTRA_ARGS:-}" ]; then read -r -a extra <<< "$EXTRA_ARGS"; fi

if [ -n "$work" ]; then
  mkdir -p "$work"
else
  work=$(mktemp -d "${TMPDIR:-/tmp}/semsift-bench-rows.XXXXXX")
  trap 'rm -rf "$work"' EXIT
fi
trap 'exit 130' INT
trap 'exit 143' TERM

# Disk: the largest corpus plus its outputs (kept + removed ~ the input) if they are kept.
largest=0
for n in "${sizes[@]}"; do [ "$n" -gt "$largest" ] && largest=$n; done
need_mib=$(( largest * 155 * 2 / 1048576 ))
free_mib=$(df -Pm "$work" | awk 'NR == 2 {print $4}')
if [ -n "$free_mib" ] && [ "$free_mib" -lt "$need_mib" ]; then
  echo "bench-rows: warning: $work has ${free_mib} MiB free; $largest rows need about ${need_mib} MiB" >&2
fi

gen_sha=$(sha256sum scripts/make-synthetic.py | cut -c1-16)
version=$("$bin" --version 2>&1 | head -1) || die "$bin --version failed"
# --version does not tell builds apart: add the binary's build time and hash.
bin_path=$(command -v "$bin")
version="$version ($(date -u -r "$bin_path" '+built %Y-%m-%d %H:%M UTC'), sha256 $(sha256sum "$bin_path" | cut -c1-12))"
cores=$(nproc)
cpu_model=$(awk -F': *' '/^model name/ {print $2; exit}' /proc/cpuinfo 2>/dev/null || true)
[ -n "$cpu_model" ] || cpu_model=$(LC_ALL=C lscpu 2>/dev/null | awk -F': *' '/^Model name/ {print $2; exit}' || true)
[ -n "$cpu_model" ] || cpu_model=unknown
mem_gib=$(awk '/^MemTotal/ {printf "%.0f", $2 / 1048576}' /proc/meminfo)

failed=0
for n in "${sizes[@]}"; do
  input=$work/synthetic-$n.jsonl
  marker=$input.ok
  want="make-synthetic.py rows=$n seed=0 script=$gen_sha"
  if [ -f "$input" ] && [ -f "$marker" ] && [ "$(cat "$marker")" = "$want" ]; then
    echo "bench-rows: reusing $input" >&2
  else
    rm -f "$input" "$marker"
    echo "bench-rows: generating $n rows -> $input (not timed)" >&2
    python3 scripts/make-synthetic.py "$n" "$input" 0 >&2
    echo "$want" > "$marker"
  fi

  out=$work/out-$n
  log=$work/run-$n.log
  tfile=$work/run-$n.time
  rm -rf "$out" "$log" "$tfile" "$work/run-$n.rc"
  echo "bench-rows: semsift dedup $n rows${extra[*]:+ (${extra[*]})}" >&2
  rc=0
  RUST_LOG=info /usr/bin/time -f "%e %M %U %S" -o "$tfile" \
    "$bin" dedup "$input" -o "$out" ${extra[@]+"${extra[@]}"} >>"$log" 2>&1 || rc=$?
  echo "$rc" > "$work/run-$n.rc"
  if [ "$rc" -ne 0 ]; then
    failed=1
    echo "bench-rows: $n rows failed (exit $rc); last lines of $log:" >&2
    tail -5 "$log" >&2 || true
  fi
  if [ "${KEEP_OUTPUT:-0}" != 1 ]; then rm -f "$out/kept.jsonl" "$out/removed.jsonl"; fi
done

python3 scripts/bench_rows.py --work="$work" --cores="$cores" --cpu-model="$cpu_model" \
  --mem-gib="$mem_gib" --version="$version" --extra-args="${extra[*]:-}" -- "${sizes[@]}"
exit "$failed"
