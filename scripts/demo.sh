#!/usr/bin/env bash
# `make demo`: the taste gym end to end on an embedded SQLite store (demo-out/demo.db), then
# the report (demo-out/report.html), summary.json, and a check that the ledger verifies.
set -euo pipefail
cd "$(dirname "$0")/.."
OUT="${PALATE_DEMO_OUT:-demo-out}"
palate=.venv/bin/palate
$palate demo --out "$OUT" "$@"
$palate ledger verify --db "sqlite:///$OUT/demo.db"
echo "Open $OUT/report.html"
