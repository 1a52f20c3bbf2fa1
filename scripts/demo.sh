#!/usr/bin/env bash
# Interim `make demo` (until the taste gym lands): import the published AlpacaEval and Arena
# judgements shipped in ../shared/data into an embedded SQLite store and summarise them.
set -euo pipefail
cd "$(dirname "$0")/.."
DATA="${PALATE_SHARED_DATA:-../shared/data}"
OUT="${PALATE_DEMO_OUT:-demo-out}"
if [ ! -d "$DATA/alpacaeval" ]; then
  echo "error: shared data not found at $DATA (set PALATE_SHARED_DATA)" >&2
  exit 1
fi
mkdir -p "$OUT"
export PALATE_DB_URL="sqlite:///$OUT/demo.db"
palate=.venv/bin/palate
for f in "$DATA"/alpacaeval/annotations/*.json.gz; do
  $palate import "$f" --dataset alpacaeval
done
$palate import "$DATA/arena/human.jsonl.gz" --dataset arena-human --judged-by human:arena
$palate import "$DATA/crowd/rte.csv" --dataset rte
$palate datasets
if $palate stats --help >/dev/null 2>&1; then
  $palate stats winrate --dataset alpacaeval --baseline gpt4_1106_preview --length-controlled
  $palate stats rank --dataset arena-human --method bt --ci bootstrap
  $palate stats truth --dataset rte --method ds
fi
