#!/usr/bin/env bash
# Installs what building and testing need, only when it is missing. Idempotent and pinned where
# a version matters. Usage: scripts/ensure-tools.sh test|run
set -euo pipefail

want=${1:-test}
apt_updated=0

as_root() {
    if [ "$(id -u)" = 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else
        echo "ensure-tools: need root to run: $*" >&2; return 1
    fi
}

# Debian packages, by package name.
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

need_rust_component rustfmt
need_rust_component clippy

case "$want" in
    test)
        # The SMTP server the integration tests run (aiosmtpd for Debian's own python3).
        need_deb python3-aiosmtpd
        # The shared crate must build for the browser.
        need_rust_target wasm32-unknown-unknown
        ;;
    run) ;;
    *) echo "usage: $0 test|run" >&2; exit 2 ;;
esac
