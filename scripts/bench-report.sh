#!/usr/bin/env bash
# Times `semsift report` (bundled model, -k auto) on the shared datasets and prints one
# markdown row per run: rows, topics, seconds per stage, wall time and peak RSS.
# Needs ../shared/data. Usage: scripts/bench-report.sh [NAME...]
# (names: ag_news dbpedia14 banking77 20newsgroups alpaca bible_en bible_multi)
set -euo pipefail
cd "$(dirname "$0")/.."
data=../shared/data
[ -d "$data" ] || { echo "bench-report: $data not found (it holds the shared datasets)" >&2; exit 1; }
cargo build --release --locked --quiet
bin=target/release/semsift
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
declare -A args=(
  [ag_news]="$data/ag_news/test.csv --no-header -c 3"
  [dbpedia14]="$data/dbpedia14_subset/dbpedia14_subset_14k.csv.gz --no-header -c 2"
  [banking77]="$data/banking77/train.csv"
  [20newsgroups]="$data/20newsgroups/20news_bydate.jsonl.gz"
  [alpaca]="$data/alpaca_cleaned_partial/alpaca_cleaned_partial.jsonl.gz -c instruction -c output"
  [bible_en]="$data/bible_parallel_en/bible_en_20_translations.jsonl.gz"
  [bible_multi]="$data/bible_parallel_multi/bible_multi_kjv_v11n.jsonl.gz"
)
names=("$@")
[ ${#names[@]} -gt 0 ] || names=(ag_news dbpedia14 banking77 20newsgroups alpaca bible_en bible_multi)
echo "| dataset | rows | k | read+embed s | cluster s | topics s | map s | write s | wall s | peak RSS MiB |"
echo "|---|---|---|---|---|---|---|---|---|---|"
for name in "${names[@]}"; do
  # shellcheck disable=SC2086
  /usr/bin/time -f "%e %M" -o "$out/time" "$bin" report ${args[$name]} -o "$out/$name" -q
  read -r wall rss < "$out/time"
  python3 - "$out/$name/report.json" "$name" "$wall" "$rss" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
t = r["timings_s"]
print(f"| {sys.argv[2]} | {r['input']['rows']:,} | {r['clustering']['k']} | {t['read_embed']:.1f} | "
      f"{t['cluster']:.1f} | {t['topics']:.1f} | {t.get('map', 0):.1f} | {t['write']:.1f} | {float(sys.argv[3]):.1f} | {int(sys.argv[4]) // 1024:,} |")
PY
done
