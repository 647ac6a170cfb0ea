#!/usr/bin/env bash
# Issue 18's GPU targets in one run: every heavy stage of semsift on one device, beside
# the peer (sentence-transformers) on the same texts, model folder and GPU.
#
# Usage:   scripts/gpu-targets.sh            (on the GPU host, with the CUDA binary)
#          DEVICE=candle-cpu ROWS=20000 E2E_ROWS=20000 MINILM_ROWS=2000 scripts/gpu-targets.sh
#                                            (the same code path on a CPU, small sizes)
#
# Measures, each under `timeout`, logging to $LOGS:
#   1. `semsift bench-device`: exact ROWS x ROWS threshold search (f16 products, rescored
#      in f32) and one k-means step (ROWS x DIM, K centroids), both on DEVICE; MiniLM
#      embedding throughput (f16) on TEXT_ROWS synthetic rows.
#   2. sentence-transformers fp16 and fp32 on the same rows (scripts/st_embed.py), with
#      the cosine between its vectors and semsift's.
#   3. `semsift dedup --device DEVICE` end to end on E2E_ROWS synthetic rows with the
#      bundled static model, and on MINILM_ROWS rows with MiniLM.
# Then prints a table against the targets (exact 1M x 1M <= 2 s; k-means step <= 20 ms;
# MiniLM >= 2x sentence-transformers fp16; dedup of 10M rows <= 60 s static, <= 180 s
# MiniLM).
#
# Environment knobs (defaults in brackets):
#   SEMSIFT   the binary [<repo>/target/cuda/bundle/semsift, else target/release/semsift]
#   DEVICE    [cuda]        ROWS DIM K [1000000 256 1000]
#   MODEL     a sentence-transformers folder [<repo>/models/all-MiniLM-L6-v2]
#   TEXT_ROWS rows embedded by both [50000]   BATCH [256]
#   E2E_ROWS  static-model dedup rows [10000000]   MINILM_ROWS MiniLM dedup rows [E2E_ROWS]
#   PYTHON    python with torch + sentence-transformers [/opt/torch/.venv/bin/python, else python3]
#   RANDOM_WEIGHTS=1  MODEL has only config and tokenizer files (what fits the device
#             tool's 64 MiB carry): make seeded random weights there (scripts/random-bert.py)
#   WORK      where the generated data goes [a temporary folder]
#   LOGS      where logs and JSON lines go [$OUT if set, else $WORK/logs]
#   LIMIT     seconds each step may take [540]
#   STEPS     which steps run, comma-separated: bench,embed,st,static,minilm [all]. The
#             device tool allows 10 minutes a command: split a 10M-row run in two calls
#             (STEPS=bench,embed,st,static then STEPS=minilm, with the same WORK and LOGS).
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
bin="${SEMSIFT:-}"
if [ -z "$bin" ]; then
  bin="$root/target/cuda/bundle/semsift"
  [ -x "$bin" ] || bin="$root/target/release/semsift"
fi
device="${DEVICE:-cuda}"
rows="${ROWS:-1000000}"
dim="${DIM:-256}"
k="${K:-1000}"
model="${MODEL:-$root/models/all-MiniLM-L6-v2}"
text_rows="${TEXT_ROWS:-50000}"
batch="${BATCH:-256}"
e2e_rows="${E2E_ROWS:-10000000}"
minilm_rows="${MINILM_ROWS:-$e2e_rows}"
limit="${LIMIT:-540}"
python="${PYTHON:-}"
if [ -z "$python" ]; then
  if [ -x /opt/torch/.venv/bin/python ]; then python=/opt/torch/.venv/bin/python; else python=python3; fi
fi
work="${WORK:-$(mktemp -d)}"
logs="${LOGS:-${OUT:-$work/logs}}"
mkdir -p "$work" "$logs"
results="$logs/results.jsonl"
touch "$results"
steps=",${STEPS:-bench,embed,st,static,minilm},"
want() { case "$steps" in *",$1,"*) return 0 ;; *) return 1 ;; esac; }

die() {
  echo "gpu-targets: error: $*" >&2
  exit 1
}
[ -x "$bin" ] || die "no semsift binary at $bin (scripts/build-cuda.sh builds the CUDA one; set SEMSIFT)"
"$bin" --version >/dev/null 2>&1 ||
  die "$bin does not start (a CUDA build needs the NVIDIA driver's libcuda.so.1; on a CPU machine set SEMSIFT=target/release/semsift)"
if [ ! -f "$model/model.safetensors" ] && [ -f "$model/config.json" ] && [ "${RANDOM_WEIGHTS:-0}" = 1 ]; then
  # Only the configuration and tokenizer were carried: the same architecture with
  # seeded random weights (speed does not depend on them; both sides run the same).
  "$python" "$root/scripts/random-bert.py" "$model" "$work/model" 0 || die "scripts/random-bert.py failed"
  model="$work/model"
fi
[ -f "$model/model.safetensors" ] || die "no model at $model (scripts/fetch-minilm.sh; or carry its config and tokenizer and set RANDOM_WEIGHTS=1)"
command -v nvidia-smi >/dev/null 2>&1 && nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader | sed 's/^/gpu-targets: GPU: /'

# step NAME CMD...: runs CMD under the time limit, output to $logs/NAME.log.
step() {
  local name=$1
  shift
  echo "==> [$name] $*" >&2
  local start end
  start=$(date +%s.%N)
  if timeout "$limit" "$@" >"$logs/$name.log" 2>&1; then
    end=$(date +%s.%N)
    echo "{\"measure\":\"wall\",\"step\":\"$name\",\"seconds\":$(awk -v a="$start" -v b="$end" 'BEGIN{print b-a}')}" >>"$results"
  else
    echo "gpu-targets: step $name failed or ran past ${limit}s; its log:" >&2
    tail -n 20 "$logs/$name.log" >&2
  fi
}

# ---- data ------------------------------------------------------------------
texts="$work/texts.jsonl"
[ -s "$texts" ] || python3 "$root/scripts/make-synthetic.py" "$text_rows" "$texts" 1
e2e="$work/e2e.jsonl"
if want static || want minilm; then
  [ -s "$e2e" ] || python3 "$root/scripts/make-synthetic.py" "$e2e_rows" "$e2e" 2
fi
minilm_in="$work/minilm.jsonl"
if want minilm; then
  [ -s "$minilm_in" ] || head -n "$minilm_rows" "$e2e" >"$minilm_in"
fi

# ---- 1. search, k-means, embedding on the device -----------------------------
want bench && step bench "$bin" bench-device --device "$device" --rows "$rows" --dim "$dim" --k "$k" \
  --model "$model" --texts "$texts" --text-rows "$text_rows" --batch-size "$batch" --half
want bench && { grep '^{' "$logs/bench.log" >>"$results" || true; }
# semsift's vectors of the texts, for the peer's cosine.
want embed && step embed "$bin" embed "$texts" --model "$model" --device "$device" --batch-size "$batch" \
  -o "$work/semsift.npy" -q

# ---- 2. the peer on the same texts -------------------------------------------
st_device=cpu
case "$device" in cuda*) st_device="$device" ;; esac
for p in fp16 fp32; do
  want st || break
  if [ "$p" = fp16 ] && [ "$st_device" = cpu ]; then continue; fi
  step "st_$p" "$python" "$root/scripts/st_embed.py" "$model" "$texts" "$text_rows" "$st_device" "$batch" "$p" "$work/semsift.npy"
  grep '^{' "$logs/st_$p.log" >>"$results" || true
done

# ---- 3. dedup end to end -------------------------------------------------------
want static && step dedup_static "$bin" dedup "$e2e" --device "$device" -o "$work/out-static" -q
want minilm && step dedup_minilm "$bin" dedup "$minilm_in" --device "$device" --model "$model" \
  --batch-size "$batch" -o "$work/out-minilm" -q
for run in static minilm; do
  s="$work/out-$run/summary.json"
  [ -f "$s" ] && cp "$s" "$logs/summary-$run.json"
done

# ---- table ----------------------------------------------------------------------
python3 - "$results" "$logs" "$rows" "$k" "$e2e_rows" "$minilm_rows" <<'PY'
import json, sys, os
results, logs, rows, k, e2e, minilm = sys.argv[1], sys.argv[2], *map(int, sys.argv[3:])
lines = [json.loads(l) for l in open(results) if l.strip()]
def get(measure, **kw):
    for l in lines:
        if l.get("measure") == measure and all(l.get(a) == b for a, b in kw.items()):
            return l
    return None
def fmt(x, d=3):
    return "-" if x is None else f"{x:.{d}g}"
exact, km, emb = get("exact_threshold_search"), get("kmeans_iteration"), get("embed")
st16, st32 = get("st_embed", precision="fp16"), get("st_embed", precision="fp32")
static, mini = get("wall", step="dedup_static"), get("wall", step="dedup_minilm")
def stages(name):
    p = os.path.join(logs, f"summary-{name}.json")
    if not os.path.exists(p):
        return "-"
    s = json.load(open(p))
    t = s["timings_s"]
    return ", ".join(f"{a} {t[a]:.3g}" for a in t) + f"; devices {s.get('devices')}"
print()
print("| measure | semsift | peer | target |")
print("|---|---|---|---|")
print(f"| exact {rows:,} x {rows:,} threshold search, s | {fmt(exact and exact['seconds'])} | - | <= 2 s at 1M |")
print(f"| k-means step {rows:,} x {exact and exact['dim']}, k {k}, s | {fmt(km and km['seconds'])} | - | <= 0.020 s |")
ratio = emb and st16 and emb["texts_per_second"] / st16["texts_per_second"]
print(f"| MiniLM embedding, texts/s | {fmt(emb and emb['texts_per_second'])} | fp16 {fmt(st16 and st16['texts_per_second'])}, fp32 {fmt(st32 and st32['texts_per_second'])} | >= 2x fp16 (here {fmt(ratio)}x) |")
print(f"| dedup {e2e:,} rows, static model, wall s | {fmt(static and static['seconds'])} | - | <= 60 s at 10M |")
print(f"| dedup {minilm:,} rows, MiniLM, wall s | {fmt(mini and mini['seconds'])} | - | <= 180 s at 10M |")
for st in (st16, st32):
    if st and "min_cosine_to_semsift" in st:
        print(f"cosine semsift vs sentence-transformers {st['precision']}: min {st['min_cosine_to_semsift']:.6f}, mean {st['mean_cosine_to_semsift']:.6f}")
print("static dedup stages:", stages("static"))
print("MiniLM dedup stages:", stages("minilm"))
PY
