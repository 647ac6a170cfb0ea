#!/usr/bin/env bash
# Recall of `semsift dedup --index ivf` (the default) and `--index hnsw` against
# `--index exact` on real Bible verses, where rows with the same verse `ref` are true
# duplicate groups.
#
# Usage: scripts/recall-bible.sh [ROWS] [THRESHOLD]   (default 100000 rows, 0.9)
# Prints: similar pairs found by each (all pairs, and same-verse pairs) and the fraction
# of exact search's pairs each approximate index finds, the fraction of exact search's
# removed (row, duplicate_of) pairs each reproduces, plus rows removed and wall time.
set -euo pipefail
cd "$(dirname "$0")/.."
rows=${1:-100000}
threshold=${2:-0.9}
src="../shared/data/bible_parallel_en/bible_en_20_translations.jsonl.gz"
[ -f "$src" ] || { echo "recall-bible: $src not found (needs ../shared/data)" >&2; exit 1; }
PY=$(bash scripts/pyenv.sh)
cargo build --release --locked --quiet
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
"$PY" scripts/compare_semhash.py prepare --source "$src" --rows "$rows" --columns text --out "$work/in.jsonl" >/dev/null
for index in exact ivf hnsw; do
  /usr/bin/time -f "%e" -o "$work/$index.time" target/release/semsift -q dedup "$work/in.jsonl" \
    --index "$index" --threshold "$threshold" --pairs -o "$work/$index"
done
"$PY" - "$work" "$threshold" <<'PYEOF'
import json, sys
work, t = sys.argv[1], float(sys.argv[2])
refs = [json.loads(l)["ref"] for l in open(f"{work}/in.jsonl")]
def pairs(name):
    return {(d["row"], d["other"]) for d in map(json.loads, open(f"{work}/{name}/pairs.jsonl"))}
def summary(name):
    return json.load(open(f"{work}/{name}/summary.json"))
def removed(name):
    return {(d["row"], d["duplicate_of"]) for d in map(json.loads, open(f"{work}/{name}/removed.jsonl"))}
exact = pairs("exact")
same = lambda ps: {p for p in ps if refs[p[0]] == refs[p[1]]}
print(f"rows: {len(refs):,}, threshold {t}; pairs are between distinct texts (exact copies are grouped first)")
print("| | exact | ivf | ivf recall | hnsw | hnsw recall |")
print("|---|---|---|---|---|---|")
found = {name: pairs(name) for name in ("ivf", "hnsw")}
def cells(f):
    return " | ".join(f"{len(f(found[n]) & f(exact)):,} | {len(f(found[n]) & f(exact)) / max(1, len(f(exact))):.4f}" for n in ("ivf", "hnsw"))
print(f"| similar pairs | {len(exact):,} | " + cells(lambda p: p) + " |")
print(f"| same-verse pairs | {len(same(exact)):,} | " + cells(same) + " |")
re_ = removed("exact")
print(f"| removed (row, duplicate_of) pairs | {len(re_):,} | " + " | ".join(
    f"{len(removed(n) & re_):,} | {len(removed(n) & re_) / max(1, len(re_)):.4f}" for n in ("ivf", "hnsw")) + " |")
for name in ("exact", "ivf", "hnsw"):
    s = summary(name)
    wall = open(f"{work}/{name}.time").read().strip()
    print(f"{name}: removed {s['rows']['removed']:,} of {s['rows']['input']:,}; wall {wall} s; stages {s['timings_s']}")
PYEOF
