#!/usr/bin/env bash
# Topic-clustering quality of `semsift report` on labelled corpora: k-means with k = the
# number of labels, scored against the labels with NMI and ARI, for the default model and
# the all-MiniLM-L6-v2 transformer, next to sklearn's KMeans on the same vectors
# (read from the report's vector store). Prints a markdown table; see scripts/eval_clusters.py.
#
# Usage: scripts/eval-clusters.sh [--quick] [--seeds 0,1,2] [DATASET...]
#   DATASET   ag_news, dbpedia14, banking77, 20newsgroups (default: all four)
#   --quick   default model only, and seed 0 only unless --seeds is given
#   --seeds   comma-separated k-means seeds (default 0,1,2)
# Environment:
#   DATA=DIR       the data folder (default: ../shared/data next to the repo, not in user clones)
#   SEMSIFT=PATH   semsift binary to use (default: target/release/semsift, built here first)
#   KEEP=1         keep the work dir (inputs, reports, vectors) instead of deleting it
# Needs models/all-MiniLM-L6-v2 (scripts/fetch-minilm.sh) unless --quick. The full run embeds
# 53,529 texts with MiniLM once (the later seeds and sklearn reuse the vectors): about 50 minutes
# on a busy 2-core CPU (20 Newsgroups' long posts alone ~27). --quick takes well under a minute.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
die() { echo "eval-clusters: error: $*" >&2; exit 1; }

quick=""
seeds=""
datasets=()
while [ $# -gt 0 ]; do
  case "$1" in
    --quick) quick=1 ;;
    --seeds) [ $# -ge 2 ] || die "--seeds needs a value"; seeds=$2; shift ;;
    --seeds=*) seeds=${1#--seeds=} ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    -*) die "unknown option $1 (see --help)" ;;
    *) datasets+=("$1") ;;
  esac
  shift
done
if [ -z "$seeds" ]; then seeds=0,1,2; [ -n "$quick" ] && seeds=0; fi
[[ "$seeds" =~ ^[0-9]+(,[0-9]+)*$ ]] || die "--seeds must be comma-separated numbers, got '$seeds'"
for d in ${datasets[@]+"${datasets[@]}"}; do
  case "$d" in ag_news|dbpedia14|banking77|20newsgroups) ;;
    *) die "unknown dataset '$d' (choose from ag_news, dbpedia14, banking77, 20newsgroups)" ;; esac
done

data=${DATA:-"$(cd "$root/.." && pwd)/shared/data"}
[ -d "$data" ] || die "$data: no such directory; this script needs the labelled corpora in ../shared/data \
(ag_news, dbpedia14_subset, banking77, 20newsgroups), which are not part of the repository (set DATA=DIR)"
minilm="$root/models/all-MiniLM-L6-v2"
minilm_args=()
if [ -z "$quick" ]; then
  [ -f "$minilm/config.json" ] || die "$minilm: missing; run scripts/fetch-minilm.sh (or use --quick)"
  minilm_args=(--minilm "$minilm")
fi

PY=$(bash scripts/pyenv.sh)
semsift=${SEMSIFT:-$root/target/release/semsift}
if [ -z "${SEMSIFT:-}" ]; then
  echo "eval-clusters: cargo build --release" >&2
  cargo build --release --locked --quiet
fi
[ -x "$semsift" ] || die "$semsift: no such executable"

work=$(mktemp -d "${TMPDIR:-/tmp}/semsift-eval-clusters.XXXXXX")
if [ -z "${KEEP:-}" ]; then trap 'rm -rf "$work"' EXIT; else echo "eval-clusters: work dir $work" >&2; fi

"$PY" scripts/eval_clusters.py --semsift "$semsift" --data "$data" --work "$work" --seeds "$seeds" \
  ${minilm_args[@]+"${minilm_args[@]}"} ${datasets[@]+"${datasets[@]}"}
