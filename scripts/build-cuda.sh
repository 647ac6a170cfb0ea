#!/usr/bin/env bash
# Build semsift with the `cuda` feature on a machine with no GPU and no system
# CUDA toolkit, using NVIDIA's CUDA 13.0 wheels from PyPI, and gather a
# self-contained bundle to copy to a GPU host.
#
# Usage:   nice -n 19 scripts/build-cuda.sh
#          (CARGO_BUILD_JOBS=1 and the like are passed through to cargo)
#
# What it does:
#   1. Installs pinned NVIDIA wheels (nvcc, cicc/nvvm, crt + runtime + CCCL
#      headers, cudart, cuBLAS, cuRAND, NVRTC) into .venv-cuda/ in the repo
#      root. They unpack into one toolkit-shaped tree, .venv-cuda/.../nvidia/cu13.
#      (The *-cu12 wheels on PyPI have ptxas but no nvcc, so CUDA 12 cannot be
#      done this way; Debian's nvidia-cuda-toolkit is in non-free, which this
#      machine's apt sources do not list.)
#   2. Adds the unversioned link names (libcublas.so -> libcublas.so.13, ...)
#      and a stub libcuda.so (SONAME libcuda.so.1, every cu* entry point
#      returns CUDA_ERROR_STUB_LIBRARY) in .../cu13/lib/stubs, because cudarc is
#      built with `dynamic-linking` by candle-core and links -lcuda, and no wheel
#      ships the driver stub. At run time the real driver's libcuda.so.1 is used.
#   3. Runs `cargo build --release --locked --features cuda --target-dir
#      target/cuda` with CUDA_HOME, NVCC, PATH and CUDA_COMPUTE_CAP set
#      (default 90 = H100/H200; candle's build turns it into sm_90a).
#   4. Copies the binary and the CUDA libraries it needs at run time into
#      target/cuda/bundle/ (read from its DT_NEEDED entries: today libcudart,
#      libcublas, libcublasLt and libcurand, about 730 MB; not libcuda.so.1,
#      which comes with the NVIDIA driver), and prints how to run it.
#
# The GPU host needs an NVIDIA driver of the R580 series or newer (CUDA 13.0):
# candle loads its kernels as PTX (ISA 9.0) that the driver JIT-compiles, and
# libcudart.so.13 needs a CUDA 13 driver. `nvidia-smi` shows "CUDA Version:
# 13.x" on such a host.
#
# Environment knobs:
#   CUDA_COMPUTE_CAP   target compute capability (default 90)
#   SEMSIFT_CUDA_VENV  where to put the venv (default <repo>/.venv-cuda)
#   PYTHON             python used to create the venv (default python3)
#   SEMSIFT_BUNDLE_STRIP=1  strip debug info from the bundled binary
#                      (about 270 MB -> about 85 MB; the release profile keeps
#                      line tables for backtraces)
set -euo pipefail

die() {
  echo "build-cuda.sh: error: $*" >&2
  exit 1
}

root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"

venv="${SEMSIFT_CUDA_VENV:-$root/.venv-cuda}"
python="${PYTHON:-python3}"
target_dir="$root/target/cuda"
bundle="$target_dir/bundle"
export CUDA_COMPUTE_CAP="${CUDA_COMPUTE_CAP:-90}"

# CUDA 13.0 (the oldest CUDA 13, so the lowest driver requirement). Keep the
# versions in step: nvcc, crt, nvvm and nvrtc are one release.
wheels=(
  nvidia-cuda-nvcc==13.0.88
  nvidia-cuda-crt==13.0.88
  nvidia-nvvm==13.0.88
  nvidia-cuda-runtime==13.0.96
  nvidia-cuda-cccl==13.0.85
  nvidia-cublas==13.0.2.14
  nvidia-curand==10.4.0.35
  nvidia-cuda-nvrtc==13.0.88
)
# Libraries that must be in the wheels. Which of them the bundle gets is read
# from the built binary (DT_NEEDED, followed through the libraries).
runtime_libs=(
  libcudart.so.13
  libcublas.so.13
  libcublasLt.so.13
  libcurand.so.10
  libnvrtc.so.13
  libnvrtc-builtins.so.13.0
)

# ---- 0. tools -----------------------------------------------------------
for tool in cargo "$python" gcc g++ readelf; do
  command -v "$tool" >/dev/null 2>&1 || die "\`$tool\` not found in PATH (nvcc needs gcc/g++ as host compiler; readelf is in binutils)"
done

# ---- 1. CUDA wheels -------------------------------------------------------
if [ ! -x "$venv/bin/python" ]; then
  echo "==> creating $venv"
  "$python" -m venv "$venv" || die "could not create a venv with $python (on Debian: apt-get install python3-venv)"
fi
# Never let git pick up the ~1.2 GB toolkit, whatever .gitignore says.
[ -f "$venv/.gitignore" ] || echo '*' >"$venv/.gitignore"

echo "==> installing CUDA wheels into $venv"
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check --no-deps "${wheels[@]}" ||
  die "pip could not install the CUDA wheels (${wheels[*]}); is PyPI reachable?"

site="$("$venv/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')"
cuda="$site/nvidia/cu13"
for f in bin/nvcc bin/ptxas bin/fatbinary nvvm/bin/cicc nvvm/libdevice/libdevice.10.bc \
  include/cuda_runtime.h include/cuda.h include/cuda_fp16.h include/cuda_bf16.h \
  include/cuda_fp8.h include/crt/host_config.h include/cccl/cub/cub.cuh \
  include/cccl/thrust/scan.h lib/libcudart.so.13; do
  [ -e "$cuda/$f" ] || die "the CUDA wheels are incomplete: $cuda/$f is missing"
done
for lib in "${runtime_libs[@]}"; do
  [ -e "$cuda/lib/$lib" ] || die "the CUDA wheels are incomplete: $cuda/lib/$lib is missing"
done
"$cuda/bin/nvcc" --version >/dev/null || die "$cuda/bin/nvcc does not run"
echo "    $("$cuda/bin/nvcc" --version | grep release)"

# ---- 2. link names and libcuda stub ---------------------------------------
# The wheels ship only versioned sonames; the linker's -lcublas etc. need the
# plain names.
for pair in cudart:libcudart.so.13 cublas:libcublas.so.13 cublasLt:libcublasLt.so.13 \
  curand:libcurand.so.10 nvrtc:libnvrtc.so.13; do
  ln -sf "${pair#*:}" "$cuda/lib/lib${pair%%:*}.so"
done

echo "==> fetching crates"
cargo fetch --locked
cudarc_manifest="$(cargo metadata --format-version 1 --locked --features cuda |
  "$venv/bin/python" -c 'import json, sys
pkgs = [p for p in json.load(sys.stdin)["packages"] if p["name"] == "cudarc"]
print(pkgs[0]["manifest_path"] if pkgs else "")')"
[ -n "$cudarc_manifest" ] || die "cudarc is not in the dependency graph of --features cuda"
driver_sys="$(dirname "$cudarc_manifest")/src/driver/sys/mod.rs"
[ -f "$driver_sys" ] || die "cannot find cudarc's driver bindings at $driver_sys"

stubs="$cuda/lib/stubs"
mkdir -p "$stubs"
stub_c="$stubs/libcuda_stub.c"
{
  cat <<'EOF'
/* Generated by scripts/build-cuda.sh: link-time stand-in for the NVIDIA
   driver. Every entry point returns CUDA_ERROR_STUB_LIBRARY (34), except the
   two error-text calls, so that a binary run against it by mistake says why. */
int cuGetErrorName(int e, const char **s) {
  *s = e == 34 ? "CUDA_ERROR_STUB_LIBRARY" : "CUDA_ERROR_UNKNOWN";
  return 0;
}
int cuGetErrorString(int e, const char **s) {
  *s = e == 34 ? "libcuda.so.1 is the build stub, not the NVIDIA driver (no driver installed?)"
               : "unknown error (libcuda build stub)";
  return 0;
}
EOF
  grep -oE '^pub unsafe fn cu[A-Za-z0-9_]+\(' "$driver_sys" |
    sed -E 's/^pub unsafe fn (cu[A-Za-z0-9_]+)\(/\1/' | sort -u |
    grep -vxE 'cuGetErrorName|cuGetErrorString' |
    sed -E 's/.*/int &(void) { return 34; }/'
} >"$stub_c"
count=$(grep -c '^int cu' "$stub_c" || true)
[ "$count" -gt 100 ] || die "found only $count driver entry points in $driver_sys; cudarc's layout changed?"
gcc -shared -fPIC -O1 -Wl,-soname,libcuda.so.1 -o "$stubs/libcuda.so" "$stub_c" ||
  die "could not build the libcuda stub"
ln -sf libcuda.so "$stubs/libcuda.so.1"
echo "    libcuda stub with $count entry points: $stubs/libcuda.so"

# ---- 3. build ---------------------------------------------------------------
export CUDA_HOME="$cuda"
export NVCC="$cuda/bin/nvcc"
export PATH="$cuda/bin:$PATH"
# nvcc processes per build script; default follows CARGO_BUILD_JOBS when set.
if [ -n "${CARGO_BUILD_JOBS:-}" ] && [ -z "${CUDAFORGE_THREADS:-}" ]; then
  export CUDAFORGE_THREADS="$CARGO_BUILD_JOBS"
fi
# Let the binary find the bundled libraries next to itself without
# LD_LIBRARY_PATH (the libraries themselves already carry RUNPATH $ORIGIN).
export RUSTFLAGS="${RUSTFLAGS:-} -C link-arg=-Wl,-rpath,\$ORIGIN"

echo "==> cargo build --release --locked --features cuda --target-dir $target_dir (CUDA_COMPUTE_CAP=$CUDA_COMPUTE_CAP)"
start=$(date +%s)
cargo build --release --locked --features cuda --target-dir "$target_dir" ||
  die "cargo build --features cuda failed (see above)"
echo "    built in $(($(date +%s) - start)) s"

bin="$target_dir/release/semsift"
[ -x "$bin" ] || die "no binary at $bin"

# ---- 4. bundle --------------------------------------------------------------
echo "==> gathering $bundle"
rm -rf "$bundle"
mkdir -p "$bundle"
cp "$bin" "$bundle/semsift"
if [ "${SEMSIFT_BUNDLE_STRIP:-0}" = 1 ]; then
  strip --strip-debug "$bundle/semsift" || die "strip failed"
fi

needed() { readelf -d "$1" | sed -nE 's/.*\(NEEDED\).*\[(.*)\]/\1/p'; }
# Copy every CUDA library the binary needs, and what those need in turn,
# except the driver's libcuda.so.1.
queue=("$bundle/semsift")
while [ "${#queue[@]}" -gt 0 ]; do
  file="${queue[0]}"
  queue=("${queue[@]:1}")
  for need in $(needed "$file"); do
    case "$need" in
      libcuda.so.1) ;;
      libcu* | libnv*)
        [ -e "$bundle/$need" ] && continue
        [ -e "$cuda/lib/$need" ] || die "$(basename "$file") needs $need, which no installed wheel provides"
        cp -L "$cuda/lib/$need" "$bundle/$need"
        queue+=("$bundle/$need")
        ;;
    esac
  done
done
# libnvrtc dlopen()s its builtins library by name.
if [ -e "$bundle/libnvrtc.so.13" ]; then
  cp -L "$cuda/lib/libnvrtc-builtins.so.13.0" "$bundle/"
fi

# With the stub standing in for the driver, nothing may be unresolved.
ldd_out="$(LD_LIBRARY_PATH="$bundle:$stubs" ldd "$bundle/semsift")" || die "ldd failed on $bundle/semsift"
if grep -q 'not found' <<<"$ldd_out"; then
  echo "$ldd_out" >&2
  die "some shared libraries of the bundle cannot be resolved (see ldd above)"
fi
bundled_libs="$(cd "$bundle" && ls lib* | tr '\n' ' ')"

du -sh "$bundle"
cat <<EOF

Bundle ready: $bundle
  semsift $(du -h "$bundle/semsift" | cut -f1), plus $bundled_libs
  kernels for CUDA_COMPUTE_CAP=${CUDA_COMPUTE_CAP} (candle compiles 90 as sm_90a: H100/H200 only) with CUDA 13.0;
  the GPU host needs an NVIDIA driver R580 or newer.

Copy the whole folder to the GPU host (e.g. rsync -a $bundle host:), then there:
  nvidia-smi                                  # driver >= 580, "CUDA Version: 13.x"
  LD_LIBRARY_PATH=bundle ./bundle/semsift --help
  LD_LIBRARY_PATH=bundle ./bundle/semsift embed data.jsonl --device cuda --model MODEL -o out.npy
(The binary also has RUNPATH \$ORIGIN, so ./bundle/semsift finds the libraries
next to it without LD_LIBRARY_PATH.) Do not put $stubs on LD_LIBRARY_PATH
on a GPU host: its libcuda.so is a stand-in that reports CUDA_ERROR_STUB_LIBRARY.
EOF
