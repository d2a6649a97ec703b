#!/usr/bin/env bash
# Finishes a release build in dist/ (run after `trunk build --release`; `make frontend` does):
#  1. minifies the JavaScript: wasm-bindgen's glue (which trunk leaves as generated) and the
#     widget's loader (copied as written, comments and all). esbuild, pinned by
#     scripts/ensure-tools.sh, only transforms each file: imports, exports and the loader's
#     `__APP_JS__` placeholder stay as they are. The page's index.html pins the glue with a
#     Subresource Integrity hash, which is recomputed here;
#  2. gives the wasm's imports short names, in the wasm and in its glue (short-imports.py says
#     why), and pins both anew in index.html;
#  3. precompresses every file the relay serves as it is (all but the loader, which the relay
#     rewrites) with zopfli: gzip that any browser reads, about 5 % smaller than gzip -9 makes.
#     The relay sends `file.gz` to a client that accepts gzip.
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

for wasm in dist/*_bg.wasm; do
    glue=${wasm%_bg.wasm}.js
    old_wasm=$(sri "$wasm")
    old_glue=$(sri "$glue")
    python3 scripts/short-imports.py "$wasm" "$glue"
    sed -i -e "s|sha384-$old_wasm|sha384-$(sri "$wasm")|" -e "s|sha384-$old_glue|sha384-$(sri "$glue")|" dist/index.html
done

for file in dist/*.wasm dist/*.js dist/*.css dist/index.html; do
    [ "$(basename "$file")" = otp-verify.js ] && continue
    zopfli "$file"
done
