#!/usr/bin/env bash
# GPU against CPU with a prebuilt CUDA semsift: `semsift bench-device` on seeded
# synthetic data, once with --device cuda at full size and once with --device cpu at a
# smaller size (so it finishes), then a short markdown table.
#
# Usage:   scripts/gpu-bench.sh
#          SEMSIFT=path/to/semsift ROWS=2000000 CPU_ROWS=50000 scripts/gpu-bench.sh
#
# Measures (see `semsift bench-device --help`):
#   - exact threshold search, ROWS x ROWS at THRESHOLD (seconds, pairs found);
#   - one k-means step (assignment on the device + centroid update) at ROWS x DIM with
#     K centroids (seconds per iteration, mean of 3);
#   - all-MiniLM-L6-v2 embedding throughput (texts/s, model load excluded), when MODEL
#     exists (scripts/fetch-minilm.sh fetches it; copy models/all-MiniLM-L6-v2 along).
#
# On the GPU host it needs: the bundle from scripts/build-cuda.sh (target/cuda/bundle/,
# the binary plus its CUDA libraries, found through RUNPATH $ORIGIN), an NVIDIA driver
# of the R580 series or newer (CUDA 13.0; `nvidia-smi` shows "CUDA Version: 13.x"),
# and bash, sed and awk. No Python, no CUDA toolkit. It reads no network: the data is
# generated and the model is read from disk.
#
# Environment knobs (defaults in brackets):
#   SEMSIFT        the CUDA binary [<repo>/target/cuda/bundle/semsift]
#   DEVICE         GPU device [cuda] (cuda:N picks a GPU)
#   ROWS DIM K     GPU sizes [1000000 256 1000]
#   THRESHOLD      exact search threshold [0.9]
#   SEED           data seed [42]
#   MODEL          sentence-transformers folder [<repo>/models/all-MiniLM-L6-v2]
#   TEXT_ROWS      generated sentences embedded on the GPU [50000]
#   BATCH_SIZE     texts per forward pass on the GPU [256]
#   CPU_ROWS       CPU comparison rows [100000]; 0 skips the CPU runs
#   CPU_K          CPU comparison k [K]
#   CPU_TEXT_ROWS  sentences embedded on the CPU [2000]
#   CPU_BATCH_SIZE texts per forward pass on the CPU [64]
#   RESULTS        also append the raw JSON lines to this file
set -euo pipefail

die() {
  echo "gpu-bench.sh: error: $*" >&2
  exit 1
}

root="$(cd "$(dirname "$0")/.." && pwd)"
bin="${SEMSIFT:-$root/target/cuda/bundle/semsift}"
device="${DEVICE:-cuda}"
rows="${ROWS:-1000000}"
dim="${DIM:-256}"
k="${K:-1000}"
threshold="${THRESHOLD:-0.9}"
seed="${SEED:-42}"
model="${MODEL:-$root/models/all-MiniLM-L6-v2}"
text_rows="${TEXT_ROWS:-50000}"
batch_size="${BATCH_SIZE:-256}"
cpu_rows="${CPU_ROWS:-100000}"
cpu_k="${CPU_K:-$k}"
cpu_text_rows="${CPU_TEXT_ROWS:-2000}"
cpu_batch_size="${CPU_BATCH_SIZE:-64}"

# ---- checks ---------------------------------------------------------------
if [ ! -e "$bin" ]; then
  die "no semsift binary at $bin: build the CUDA bundle with scripts/build-cuda.sh and copy target/cuda/bundle/ here, or set SEMSIFT=path/to/semsift"
fi
[ -x "$bin" ] || die "$bin is not executable"
command -v nvidia-smi >/dev/null 2>&1 ||
  die "nvidia-smi not found: this needs a host with an NVIDIA GPU and its driver (R580 or newer for the CUDA 13 bundle of scripts/build-cuda.sh)"
gpus="$(nvidia-smi --query-gpu=index,name,driver_version,memory.total --format=csv,noheader 2>&1)" ||
  die "nvidia-smi found no usable GPU: $gpus"
cuda_version="$(nvidia-smi 2>/dev/null | sed -nE 's/.*CUDA Version: *([0-9.]+).*/\1/p' | head -n 1)"
echo "gpu-bench: GPU(s) (index, name, driver, memory), CUDA ${cuda_version:-unknown}:"
echo "$gpus" | sed 's/^/  /'
driver_major="$(echo "$gpus" | head -n 1 | awk -F', ' '{ split($3, v, "."); print v[1] }')"
if [ -n "$driver_major" ] && [ "$driver_major" -lt 580 ] 2>/dev/null; then
  echo "gpu-bench: warning: driver $driver_major is older than R580; the CUDA 13 bundle of scripts/build-cuda.sh will not start on it" >&2
fi
"$bin" --version >/dev/null 2>&1 || die "$bin does not run (missing CUDA libraries next to it? see scripts/build-cuda.sh)"
with_model=()
cpu_model=()
if [ -f "$model/model.safetensors" ]; then
  with_model=(--model "$model" --text-rows "$text_rows" --batch-size "$batch_size")
  cpu_model=(--model "$model" --text-rows "$cpu_text_rows" --batch-size "$cpu_batch_size")
else
  echo "gpu-bench: $model not found: skipping the embedding measurement (scripts/fetch-minilm.sh fetches it)" >&2
fi

# ---- runs -----------------------------------------------------------------
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

# bench NAME ARGS...: runs bench-device, keeps its JSON lines in $tmp/NAME.jsonl.
bench() {
  local name=$1
  shift
  echo "==> $bin bench-device $*" >&2
  "$bin" bench-device "$@" >"$tmp/$name.jsonl" ||
    die "semsift bench-device $* failed (see its message above)"
  cat "$tmp/$name.jsonl"
  if [ -n "${RESULTS:-}" ]; then cat "$tmp/$name.jsonl" >>"$RESULTS"; fi
}

bench gpu --device "$device" --rows "$rows" --dim "$dim" --k "$k" \
  --threshold "$threshold" --seed "$seed" ${with_model[@]+"${with_model[@]}"}
if [ "$cpu_rows" -gt 0 ]; then
  bench cpu --device cpu --rows "$cpu_rows" --dim "$dim" --k "$cpu_k" \
    --threshold "$threshold" --seed "$seed" ${cpu_model[@]+"${cpu_model[@]}"}
fi

# ---- table ----------------------------------------------------------------
# field RUN MEASURE KEY: a number from the line of MEASURE in RUN's output ("" if none).
field() {
  [ -f "$tmp/$1.jsonl" ] || return 0
  grep "\"measure\":\"$2\"" "$tmp/$1.jsonl" | head -n 1 |
    sed -nE "s/.*\"$3\":(-?[0-9][0-9.eE+-]*).*/\1/p"
}
# fmt X: a number with 3 significant digits, or "-".
fmt() { if [ -n "$1" ]; then awk -v x="$1" 'BEGIN { printf "%.3g", x }'; else echo -; fi; }
# ratio A B: A / B to 3 significant digits, or "-".
ratio() {
  if [ -n "$1" ] && [ -n "$2" ]; then
    awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.3g", a / b; else print "-" }'
  else echo -; fi
}
# scale X F: X * F, or "".
scale() { if [ -n "$1" ]; then awk -v x="$1" -v f="$2" 'BEGIN { printf "%.6g", x * f }'; fi; }

gpu_exact=$(field gpu exact_threshold_search seconds)
cpu_exact=$(field cpu exact_threshold_search seconds)
gpu_km=$(field gpu kmeans_iteration seconds)
cpu_km=$(field cpu kmeans_iteration seconds)
gpu_tps=$(field gpu embed texts_per_second)
cpu_tps=$(field cpu embed texts_per_second)
# CPU time at the GPU size: exact search grows as rows², a k-means step as rows × k.
f_exact=$(awk -v a="$rows" -v b="$cpu_rows" 'BEGIN { if (b > 0) print (a / b) ^ 2; else print 0 }')
f_km=$(awk -v a="$rows" -v b="$cpu_rows" -v k="$k" -v ck="$cpu_k" \
  'BEGIN { if (b > 0) print (a / b) * (k / ck); else print 0 }')
cpu_exact_at=$(scale "$cpu_exact" "$f_exact")
cpu_km_at=$(scale "$cpu_km" "$f_km")

echo
echo "| measure | $device | cpu | cpu at the $device size (est.) | speed-up |"
echo "|---|---|---|---|---|"
echo "| exact search, t=$threshold: seconds ($rows vs $cpu_rows rows, dim $dim) | $(fmt "$gpu_exact") | $(fmt "$cpu_exact") | $(fmt "$cpu_exact_at") | $(ratio "$cpu_exact_at" "$gpu_exact")× |"
echo "| k-means step: seconds/iteration ($rows vs $cpu_rows rows × $dim, k $k vs $cpu_k) | $(fmt "$gpu_km") | $(fmt "$cpu_km") | $(fmt "$cpu_km_at") | $(ratio "$cpu_km_at" "$gpu_km")× |"
if [ ${#with_model[@]} -gt 0 ]; then
  echo "| MiniLM embedding: texts/s ($text_rows vs $cpu_text_rows sentences) | $(fmt "$gpu_tps") | $(fmt "$cpu_tps") | $(fmt "$cpu_tps") | $(ratio "$gpu_tps" "$cpu_tps")× |"
fi
echo
echo "pairs found: $(field gpu exact_threshold_search pairs) on $device ($rows rows), $(field cpu exact_threshold_search pairs | sed 's/^$/-/') on cpu ($cpu_rows rows)"
