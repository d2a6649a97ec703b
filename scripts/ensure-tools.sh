#!/usr/bin/env bash
# Installs what building, running and testing need, only when it is missing, at pinned versions.
# Idempotent. Usage: scripts/ensure-tools.sh build|release|static|image|test
#   build:   rustfmt, clippy, the wasm32 target, trunk and wasm-bindgen (cargo install,
#            ~/.cargo/bin), wasm-opt from binaryen (npm, in $OTP_RELAY_TOOLS or
#            ~/.cache/otp-relay/tools)
#   release: esbuild (npm, beside wasm-opt) and zopfli (Debian package), which finish a release
#            build
#   static:  the x86_64-unknown-linux-musl target, musl-gcc (Debian's musl-tools) for the C the
#            relay compiles in (ring, mimalloc), cargo-cyclonedx for the SBOM
#   image:   podman, buildah and runc (Debian), which build and run the image offline
#   soak:    matplotlib (Debian), which plots `make soak`
#   fuzz:    cargo-fuzz for `make fuzz` (the nightly tool chain is on these machines)
#   test:    the test peers: aiosmtpd, PyJWT, Chromium and ChromeDriver (Debian packages), Node
#            packages, and the PyPI tools in a virtual environment
set -euo pipefail
cd "$(dirname "$0")/.."

want=${1:-build}
TOOLS_DIR=${OTP_RELAY_TOOLS:-$HOME/.cache/otp-relay/tools}
TRUNK_VERSION=0.21.14          # trunk 0.22 needs a newer rustc than these machines have
BINARYEN_VERSION=132           # Debian's binaryen is too old for what rustc emits
ESBUILD_VERSION=0.28.2         # minifies the release build's JavaScript
CARGO_FUZZ_VERSION=0.13.1      # cargo-fuzz: `make fuzz` (libFuzzer, on nightly)
CYCLONEDX_VERSION=0.5.9        # cargo-cyclonedx: the static binary's SBOM
# wasm-bindgen's CLI must match the library version in Cargo.lock exactly.
WASM_BINDGEN_VERSION=$(awk '/^name = "wasm-bindgen"$/ { getline; gsub(/[^0-9.]/, ""); print; exit }' Cargo.lock)
apt_updated=0

as_root() {
    if [ "$(id -u)" = 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else
        echo "ensure-tools: need root to run: $*" >&2; return 1
    fi
}

need_deb() {
    local missing=()
    for pkg in "$@"; do
        dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    echo "ensure-tools: installing ${missing[*]}" >&2
    if [ $apt_updated = 0 ]; then as_root apt-get update -qq; apt_updated=1; fi
    DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

need_rust_target() {
    rustup target list --installed 2>/dev/null | grep -qx "$1" || rustup target add "$1"
}

need_rust_component() {
    rustup component list --installed 2>/dev/null | grep -q "^$1" || rustup component add "$1"
}

# cargo install NAME VERSION [--locked]: when `NAME --version` does not print VERSION.
need_cargo_tool() {
    local crate=$1 binary=$2 version=$3; shift 3
    if "$binary" --version 2>/dev/null | grep -q " $version\b"; then return 0; fi
    echo "ensure-tools: installing $crate $version (takes a few minutes, once)" >&2
    cargo install --quiet "$crate" --version "$version" --force "$@"
}

need_binaryen() {
    if "$TOOLS_DIR/node_modules/.bin/wasm-opt" --version 2>/dev/null | grep -q "version $BINARYEN_VERSION\b"; then
        return 0
    fi
    echo "ensure-tools: installing binaryen@$BINARYEN_VERSION (wasm-opt) into $TOOLS_DIR" >&2
    mkdir -p "$TOOLS_DIR"
    npm install --silent --no-audit --no-fund --prefix "$TOOLS_DIR" "binaryen@$BINARYEN_VERSION" >/dev/null
}

need_esbuild() {
    if [ "$("$TOOLS_DIR/node_modules/.bin/esbuild" --version 2>/dev/null)" = "$ESBUILD_VERSION" ]; then
        return 0
    fi
    echo "ensure-tools: installing esbuild@$ESBUILD_VERSION into $TOOLS_DIR" >&2
    mkdir -p "$TOOLS_DIR"
    npm install --silent --no-audit --no-fund --prefix "$TOOLS_DIR" "esbuild@$ESBUILD_VERSION" >/dev/null
}

# The Node backend example's dependencies (jose, pinned in examples/backend/package-lock.json).
need_node_backend() {
    local pinned
    pinned=$(sed -n 's/.*"jose": "\(.*\)".*/\1/p' examples/backend/package.json)
    if grep -q "\"version\": \"$pinned\"" examples/backend/node_modules/jose/package.json 2>/dev/null; then
        return 0
    fi
    echo "ensure-tools: installing jose@$pinned for the Node backend example" >&2
    npm ci --silent --no-audit --no-fund --prefix examples/backend >/dev/null
}

# ALTCHA's library for the proof-of-work interop tests (altcha-lib, pinned in
# tests/altcha/package-lock.json).
need_node_altcha() {
    local pinned
    pinned=$(sed -n 's/.*"altcha-lib": "\(.*\)".*/\1/p' tests/altcha/package.json)
    if grep -q "\"version\": \"$pinned\"" tests/altcha/node_modules/altcha-lib/package.json 2>/dev/null; then
        return 0
    fi
    echo "ensure-tools: installing altcha-lib@$pinned for the proof-of-work interop tests" >&2
    npm ci --silent --no-audit --no-fund --prefix tests/altcha >/dev/null
}

# TypeScript and React's types for the check of the widget's declarations
# (tests/typescript/check.sh; pinned in tests/typescript/package-lock.json, which also links
# frontend/npm as @otp-relay/widget).
need_node_typescript() {
    local pinned react
    pinned=$(sed -n 's/.*"typescript": "\(.*\)".*/\1/p' tests/typescript/package.json)
    react=$(sed -n 's/.*"@types\/react": "\(.*\)".*/\1/p' tests/typescript/package.json)
    if grep -q "\"version\": \"$pinned\"" tests/typescript/node_modules/typescript/package.json 2>/dev/null &&
        grep -q "\"version\": \"$react\"" tests/typescript/node_modules/@types/react/package.json 2>/dev/null; then
        return 0
    fi
    echo "ensure-tools: installing typescript@$pinned and @types/react@$react for the widget's type checks" >&2
    npm ci --silent --no-audit --no-fund --prefix tests/typescript >/dev/null
}

# The PyPI test tools (Schemathesis, openapi-spec-validator, standardwebhooks), every package
# pinned in tests/python/requirements.lock, in a virtual environment of their own
# ($TOOLS_DIR/venv), never in the system's Python. Reinstalled when the lock file changes.
need_python_venv() {
    local venv="$TOOLS_DIR/venv" lock=tests/python/requirements.lock stamp
    stamp=$(sha256sum "$lock" | cut -d' ' -f1)
    if [ -x "$venv/bin/python" ] && [ "$(cat "$venv/.lock-sha256" 2>/dev/null)" = "$stamp" ]; then
        return 0
    fi
    echo "ensure-tools: installing the PyPI test tools into $venv" >&2
    rm -rf "$venv"
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet --disable-pip-version-check --no-deps -r "$lock"
    echo "$stamp" > "$venv/.lock-sha256"
}

frontend_tools() {
    need_rust_target wasm32-unknown-unknown
    need_cargo_tool trunk trunk "$TRUNK_VERSION" --locked
    # Its own lock file names a crate release the registry no longer serves: no --locked.
    need_cargo_tool wasm-bindgen-cli wasm-bindgen "$WASM_BINDGEN_VERSION"
    need_binaryen
}

case "$want" in
    build)
        need_rust_component rustfmt
        need_rust_component clippy
        frontend_tools
        ;;
    release)
        # What finishing a release build takes (scripts/finish-dist.sh); `make run` needs none.
        need_esbuild
        need_deb zopfli
        ;;
    static)
        need_rust_target x86_64-unknown-linux-musl
        need_deb musl-tools
        # It answers its version only as a cargo subcommand, with -V.
        if ! cargo cyclonedx -V 2>/dev/null | grep -q " $CYCLONEDX_VERSION\b"; then
            echo "ensure-tools: installing cargo-cyclonedx $CYCLONEDX_VERSION (a minute or two, once)" >&2
            cargo install --quiet cargo-cyclonedx --version "$CYCLONEDX_VERSION" --force --locked
        fi
        ;;
    image)
        need_deb podman buildah runc uidmap
        ;;
    test)
        # The SMTP server the tests run (aiosmtpd for Debian's own python3), PyJWT with its
        # Ed25519 support for the Python backend example, the Prometheus text parser and YAML
        # for the metrics and the ops/ files, the browser and its WebDriver, Redis (a node, a
        # cluster) for the shared store, jose for the Node backend example, ALTCHA's library,
        # TypeScript with React's types for the widget's declarations, and the PyPI tools that
        # check the OpenAPI document and the webhook's signatures.
        need_deb python3-aiosmtpd python3-jwt python3-cryptography python3-prometheus-client \
            python3-yaml chromium chromium-driver redis-server redis-tools systemd
        need_node_backend
        need_node_altcha
        need_node_typescript
        need_python_venv
        ;;
    soak)
        need_deb python3-matplotlib
        ;;
    fuzz)
        # libFuzzer's instrumentation needs the nightly tool chain, which these machines carry.
        rustup toolchain list | grep -q '^nightly' || rustup toolchain install nightly --profile minimal
        need_cargo_tool cargo-fuzz cargo-fuzz "$CARGO_FUZZ_VERSION" --locked
        ;;
    *) echo "usage: $0 build|release|static|image|test|fuzz|soak" >&2; exit 2 ;;
esac
