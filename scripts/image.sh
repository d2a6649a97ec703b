#!/usr/bin/env bash
# `make image`: the container image `localhost/otp-relay:<version>` (and `:latest`) from
# ops/image/Containerfile, FROM scratch: the static binary from `make release`, the system's CA
# bundle, OCI labels (the version from Cargo.toml, the commit, the repository). Built with
# buildah, offline (no base image to pull), in Docker's format so that the health check is kept.
# Prints the image's size.
set -euo pipefail
cd "$(dirname "$0")/.."
version=$(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -1)
revision=$(git rev-parse HEAD 2>/dev/null || echo unknown)
source=$(sed -n 's/^repository = "\(.*\)"/\1/p' Cargo.toml | head -1)
context=$(mktemp -d)
trap 'rm -rf "$context"' EXIT
install -m 0755 release/otp-relay "$context/otp-relay"
install -m 0644 /etc/ssl/certs/ca-certificates.crt "$context/ca-certificates.crt"
buildah build --quiet --format docker --layers=false \
    --build-arg VERSION="$version" --build-arg REVISION="$revision" --build-arg SOURCE="$source" \
    -f ops/image/Containerfile -t "localhost/otp-relay:$version" -t localhost/otp-relay:latest \
    "$context" >/dev/null
# The image these tags held before, now untagged.
podman image prune --force >/dev/null
size=$(podman image inspect localhost/otp-relay:latest --format '{{.Size}}')
echo "localhost/otp-relay:$version (and :latest): $size bytes ($(awk -v s="$size" 'BEGIN { printf "%.1f", s / 1e6 }') MB)"
