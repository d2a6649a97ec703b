#!/usr/bin/env bash
# Fails when the relay binary's dependencies (normal edges only: what ships, not what tests use)
# include a crate with a known advisory that has no fix. The RustSec database cannot be reached
# from the build machines, so the list is kept here by hand:
#   rsa      RUSTSEC-2023-0071 (Marvin timing attack), pulled in by jwt crates' RSA backends.
set -euo pipefail
cd "$(dirname "$0")/.."
banned=(rsa)
tree=$(cargo tree -p otp-relay -e normal --prefix none --format '{p}' | awk '{print $1}' | sort -u)
status=0
for crate in "${banned[@]}"; do
    if grep -qx "$crate" <<<"$tree"; then
        echo "binary-deps: the relay binary depends on $crate (known advisory); see cargo tree -p otp-relay -e normal -i $crate" >&2
        status=1
    fi
done
[ $status = 0 ] && echo "binary-deps: none of ${banned[*]} in the relay binary ($(wc -l <<<"$tree") crates)"
exit $status
