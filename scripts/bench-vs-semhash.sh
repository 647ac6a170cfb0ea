#!/usr/bin/env bash
# SemHash 0.5.0 and `semsift dedup` side by side at scale: the same ROWS rows of the
# seeded shuffle of the Bible translations in ../shared/data (bible_parallel_en +
# bible_parallel_multi, 1,261,103 rows, 25 languages), the same model (the bundled
# models/minilm-l6-static-256, loaded by Python model2vec on the SemHash side), the same
# threshold, one after the other in one run. SemHash runs in the virtualenv that
# scripts/pyenv.sh makes (pinned in scripts/requirements.txt).
#
# Usage: scripts/bench-vs-semhash.sh [ROWS] [THRESHOLD]   (default 100000 rows, 0.9)
#   e.g. for ROWS in 100000 500000 1000000; do scripts/bench-vs-semhash.sh $ROWS; done
# Prints both wall times and peak RSS, rows removed by each, the Jaccard index of the
# removed sets and the speed ratio (scripts/compare_semhash.py compare). Environment as
# for scripts/compare-semhash.sh (SEMSIFT, SEMSIFT_ARGS, WORK, KEEP).
set -euo pipefail
cd "$(dirname "$0")/.."
exec bash scripts/compare-semhash.sh bible-mix "${1:-100000}" "${2:-0.9}"
