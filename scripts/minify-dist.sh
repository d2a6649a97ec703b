#!/usr/bin/env bash
# Minifies the JavaScript of a release build in dist/: wasm-bindgen's glue (which trunk leaves
# as generated) and the widget's loader (copied as written, comments and all). esbuild, pinned
# by scripts/ensure-tools.sh, only transforms each file: imports, exports and the loader's
# `__APP_JS__` placeholder stay as they are. The page's index.html pins the glue with a
# Subresource Integrity hash, which is recomputed here. Run after `trunk build --release`.
set -euo pipefail
cd "$(dirname "$0")/.."

sri() { python3 -c 'import base64, hashlib, sys; print(base64.b64encode(hashlib.sha384(open(sys.argv[1], "rb").read()).digest()).decode())' "$1"; }

for file in dist/*.js; do
    minified=$(mktemp)
    esbuild --minify --format=esm --log-level=warning <"$file" >"$minified"
    old=$(sri "$file")
    new=$(sri "$minified")
    mv "$minified" "$file"
    chmod 644 "$file"
    # The integrity attribute of this file, if index.html has one (the loader has none).
    sed -i "s|sha384-$old|sha384-$new|" dist/index.html
done
