#!/usr/bin/env bash
# What a browser downloads for the page, against the budget: each file as the relay sends it to a
# browser that accepts gzip, that is its precompressed copy (`file.gz`, see finish-dist.sh), or
# for a file without one (the loader, which the relay rewrites) gzip -9. Run after
# `make frontend`.
set -euo pipefail
cd "$(dirname "$0")/.."
budget=${SIZE_BUDGET_BYTES:-80000}
total=0
for file in dist/*.wasm dist/*.js dist/*.css; do
    raw=$(stat -c %s "$file")
    if [ -f "$file.gz" ]; then gz=$(stat -c %s "$file.gz"); else gz=$(gzip -9 -n -c "$file" | wc -c); fi
    total=$((total + gz))
    printf '%-48s %8d bytes  %7d gzip\n' "$(basename "$file")" "$raw" "$gz"
done
printf '%-48s %8s        %7d gzip (budget %d)\n' "total wasm + js + css" "" "$total" "$budget"
if [ "$total" -gt "$budget" ]; then
    echo "size: over budget by $((total - budget)) bytes" >&2
    exit 1
fi
