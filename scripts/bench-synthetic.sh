#!/usr/bin/env bash
# Ten million rows (or ROWS): one `semsift dedup` of a seeded synthetic corpus
# (scripts/make-synthetic.py: 75 % new sentences, 10 % exact and 15 % near copies of
# recent rows), bundled default model, threshold 0.9, default index. Needs no ../shared.
#
# Usage: scripts/bench-synthetic.sh [ROWS] [-- EXTRA SEMSIFT ARGS...]   (default 10000000)
# Environment: WORK=DIR keeps the corpus (about 155 bytes a row) and outputs there, and
# reuses a corpus already made there; SEMSIFT=PATH uses that binary instead of building.
# Prints: wall time and peak RSS of the whole process, seconds per stage, rows removed.
set -euo pipefail
cd "$(dirname "$0")/.."
rows=${1:-10000000}; [ $# -gt 0 ] && shift
[ "${1:-}" = -- ] && shift
bin=${SEMSIFT:-target/release/semsift}
[ -n "${SEMSIFT:-}" ] || cargo build --release --locked --quiet
if [ -n "${WORK:-}" ]; then work=$WORK; mkdir -p "$work"; else work=$(mktemp -d); trap 'rm -rf "$work"' EXIT; fi
input=$work/synthetic-$rows.jsonl
[ -f "$input" ] || python3 scripts/make-synthetic.py "$rows" "$input" >&2
rm -rf "$work/out"
echo "bench-synthetic: $rows rows, $(nproc) cores, $(free -g | awk '/^Mem:/ {print $2}') GiB; semsift dedup $*" >&2
/usr/bin/time -f "%e %M" -o "$work/time" "$bin" -q dedup "$input" -o "$work/out" "$@"
python3 - "$work" <<'PYEOF'
import json, sys
work = sys.argv[1]
wall, rss_kb = open(f"{work}/time").read().split()
s = json.load(open(f"{work}/out/summary.json"))
r = s["rows"]
print(f"rows: {r['input']:,}; removed {r['removed']:,} ({r['exact_removed']:,} exact copies); kept {r['kept']:,}")
print(f"wall (whole process): {float(wall):,.1f} s; {r['input'] / float(wall):,.0f} rows/s; peak RSS {int(rss_kb) / 1024:,.0f} MiB")
print("stages (s): " + ", ".join(f"{k} {v}" for k, v in s["timings_s"].items()))
print(f"index: {s['index']}")
PYEOF
