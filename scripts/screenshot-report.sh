#!/usr/bin/env bash
# The README's screenshot of report.html: 20 Newsgroups without three newsgroups
# (rec.sport.hockey, sci.space, comp.graphics) against the whole set, rendered by
# headless Chromium at 1280×2000. Needs ../shared/data and chromium.
# Usage: scripts/screenshot-report.sh [OUT.png]  (default tests/data/screenshots/report-map.png)
set -euo pipefail
cd "$(dirname "$0")/.."
png=${1:-tests/data/screenshots/report-map.png}
src=../shared/data/20newsgroups/20news_bydate.jsonl.gz
cargo build --release --locked --quiet
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
python3 - "$src" "$tmp" <<'PY'
import gzip, json, sys
held_out = {"rec.sport.hockey", "sci.space", "comp.graphics"}
with gzip.open(sys.argv[1], "rt") as f, open(f"{sys.argv[2]}/ref.jsonl", "w") as ref, open(f"{sys.argv[2]}/in.jsonl", "w") as inp:
    for line in f:
        ref.write(line)
        if json.loads(line)["label"] not in held_out:
            inp.write(line)
PY
target/release/semsift report "$tmp/in.jsonl" -c text --reference "$tmp/ref.jsonl" -o "$tmp/out" -q
chromium --headless --no-sandbox --disable-gpu --hide-scrollbars --window-size=1280,2000 \
  --virtual-time-budget=8000 --user-data-dir="$tmp/profile" --screenshot="$png" \
  "file://$tmp/out/report.html" 2>/dev/null
echo "screenshot-report: $png"
