#!/usr/bin/env bash
# `make reproduce`: builds the release binary from two clean clones of this commit, in folders of
# different names and depths, and checks that they are the same bytes (scripts/release.sh says
# what makes them so). Prints both SHA-256 sums.
set -euo pipefail
cd "$(dirname "$0")/.."
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
sums=()
for folder in "$work/a" "$work/second/checkout-b"; do
    git clone --quiet . "$folder"
    (cd "$folder" && make --no-print-directory release >/dev/null)
    sums+=("$(cut -d' ' -f1 "$folder/release/otp-relay.sha256")")
    echo "$folder: ${sums[-1]}"
done
if [ "${sums[0]}" != "${sums[1]}" ]; then
    echo "reproduce: the two builds differ" >&2
    exit 1
fi
echo "reproduce: two clean checkouts built the same binary"
