#!/usr/bin/env bash
# The report's map at several sizes: layout time, report.html size, and how well the
# layout keeps each row's 10 nearest neighbours beside PCA on the same rows (neighbourhood
# preservation and trustworthiness, from report.json's map.quality). Prints one markdown
# row per run. Needs ../shared/data. The 1M-row input is scripts/make-synthetic.py's
# (random sentences: no topics to keep, so its preservation says little).
# Usage: scripts/bench-map.sh [NAME...]   (names below; default: all)
set -euo pipefail
cd "$(dirname "$0")/.."
data=../shared/data
[ -d "$data" ] || { echo "bench-map: $data not found (it holds the shared datasets)" >&2; exit 1; }
cargo build --release --locked --quiet
bin=target/release/semsift
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
bible=$data/bible_parallel_en/bible_en_20_translations.jsonl.gz
# First 10k and 100k rows of the English Bible translations, as files.
python3 - "$bible" "$out" <<'PY'
import gzip, sys
src, out = sys.argv[1], sys.argv[2]
with gzip.open(src, "rt") as f:
    lines = [next(f) for _ in range(100_000)]
for n in (10_000, 100_000):
    with open(f"{out}/bible-{n}.jsonl", "w") as w:
        w.writelines(lines[:n])
PY
python3 scripts/make-synthetic.py 1000000 "$out/synthetic-1m.jsonl" 1 >/dev/null
# name → "input and flags"
declare -A args=(
  [banking77]="$data/banking77/train.csv"
  [20newsgroups]="$data/20newsgroups/20news_bydate.jsonl.gz"
  [bible_10k]="$out/bible-10000.jsonl"
  [bible_100k]="$out/bible-100000.jsonl"
  [bible_100k_all]="$out/bible-100000.jsonl --map-points 100000"
  [synthetic_1m]="$out/synthetic-1m.jsonl"
  [synthetic_1m_100k]="$out/synthetic-1m.jsonl --map-points 100000"
)
names=("$@")
[ ${#names[@]} -gt 0 ] || names=(banking77 20newsgroups bible_10k bible_100k bible_100k_all synthetic_1m synthetic_1m_100k)
echo "| input | rows | map rows | map s | total s | report.html MB | preservation (PCA) | trustworthiness (PCA) |"
echo "|---|---|---|---|---|---|---|---|"
for name in "${names[@]}"; do
  # shellcheck disable=SC2086
  "$bin" report ${args[$name]} -o "$out/$name" -q
  python3 - "$out/$name" "$name" <<'PY'
import json, os, sys
d, name = sys.argv[1], sys.argv[2]
r = json.load(open(f"{d}/report.json"))
t, m = r["timings_s"], r["map"]
q = m["quality"] or {}
mb = os.path.getsize(f"{d}/report.html") / 1e6
print(f"| {name} | {r['input']['rows']:,} | {len(m['points']):,} | {t['map']:.1f} | {t['total']:.1f} | {mb:.1f} | "
      f"{q.get('preservation', float('nan')):.3f} ({q.get('pca_preservation', float('nan')):.3f}) | "
      f"{q.get('trustworthiness', float('nan')):.3f} ({q.get('pca_trustworthiness', float('nan')):.3f}) |")
PY
done
