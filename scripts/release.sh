#!/usr/bin/env bash
# `make release`: the relay as one static Linux binary (x86_64-unknown-linux-musl) with the page
# and the widget built in (`dist/`, from `make frontend`), written to release/ with its SHA-256
# and a CycloneDX SBOM of what is compiled in. Reproducible: `--locked`, no path of the checkout
# or of the cargo home in the binary, symbols stripped, so two checkouts in different folders
# give the same bytes. No build ID: the linker hashes it before stripping, over symbol names
# whose hashes depend on where the checkout is.
set -euo pipefail
cd "$(dirname "$0")/.."
target=x86_64-unknown-linux-musl
out=release
cargo_home=${CARGO_HOME:-$HOME/.cargo}
# Only this target's flags: the wasm build keeps its own (.cargo/config.toml).
export CARGO_TARGET_X86_64_UNKNOWN_LINUX_MUSL_RUSTFLAGS="-C target-feature=+crt-static -C link-arg=-Wl,--build-id=none --remap-path-prefix=$PWD=/otp-relay --remap-path-prefix=$cargo_home=/cargo"
# The C compiler writes this in place of the build's date and time (mimalloc's __DATE__). A
# constant, not the commit's time: the C objects are not rebuilt when only it changes.
export SOURCE_DATE_EPOCH=0
export CARGO_PROFILE_RELEASE_STRIP=symbols
export CARGO_PROFILE_RELEASE_CODEGEN_UNITS=1
cargo build --quiet --locked --release --target "$target" -p otp-relay --bin otp-relay --features embed-frontend
built="${CARGO_TARGET_DIR:-target}/$target/release/otp-relay"
mkdir -p "$out"
install -m 0755 "$built" "$out/otp-relay"
cargo cyclonedx --manifest-path relay/Cargo.toml --format json --spec-version 1.5 \
    --no-build-deps --target "$target" --features embed-frontend \
    --override-filename otp-relay.cdx --quiet
mv relay/otp-relay.cdx.json "$out/otp-relay.cdx.json"
# It writes one for every crate of the workspace; the binary's is the one kept.
find . -name 'otp-relay.cdx.json' -not -path "./$out/*" -delete
(cd "$out" && sha256sum otp-relay > otp-relay.sha256)
echo "release/otp-relay: $(stat -c %s "$out/otp-relay") bytes, sha256 $(cut -d' ' -f1 "$out/otp-relay.sha256")"
echo "release/otp-relay.cdx.json: CycloneDX 1.5 SBOM, $(grep -c '"bom-ref"' "$out/otp-relay.cdx.json") components"
echo "ldd: $(ldd "$out/otp-relay" 2>&1 | tr -d "\t")"
