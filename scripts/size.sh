#!/usr/bin/env bash
# What a browser downloads for the page, gzip -9 compressed, against the budget. Run after
# `make frontend`.
set -euo pipefail
cd "$(dirname "$0")/.."
budget=${SIZE_BUDGET_BYTES:-80000}
total=0
for file in dist/*.wasm dist/*.js dist/*.css; do
    raw=$(stat -c %s "$file")
    gz=$(gzip -9 -c "$file" | wc -c)
    total=$((total + gz))
    printf '%-48s %8d bytes  %7d gzip\n' "$(basename "$file")" "$raw" "$gz"
done
printf '%-48s %8s        %7d gzip (budget %d)\n' "total wasm + js + css" "" "$total" "$budget"
if [ "$total" -gt "$budget" ]; then
    echo "size: over budget by $((total - budget)) bytes" >&2
    exit 1
fi
