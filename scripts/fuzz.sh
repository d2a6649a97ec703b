#!/usr/bin/env bash
# `make fuzz`: every fuzz target (fuzz/fuzz_targets/, cargo-fuzz on the nightly tool chain) for
# FUZZ_SECONDS each (default 60), from the corpus kept in fuzz/corpus/<target>/, which grows with
# what the fuzzer finds new and is minimized after each run (only inputs that reach something
# new stay). A crash stops the run with the input that caused it (under fuzz/artifacts/<target>/):
# fix it, and keep the input in relay/src/tests/parsers_regressions.txt.
set -euo pipefail
cd "$(dirname "$0")/../fuzz"

seconds=${FUZZ_SECONDS:-60}
export CARGO_TARGET_DIR=${OTP_RELAY_FUZZ_TARGET_DIR:-$HOME/.cache/otp-relay/fuzz-target}
# FUZZ_TARGETS="branding catalogue" runs those only.
targets=${FUZZ_TARGETS:-$(sed -n 's/^name = "\(.*\)"$/\1/p' Cargo.toml | grep -v '^otp-relay-fuzz$')}

echo "fuzz: building $(echo $targets | wc -w) targets (nightly, once)"
cargo +nightly fuzz build -O
for target in $targets; do
    mkdir -p "corpus/$target"
    before=$(ls "corpus/$target" | wc -l)
    # -rss_limit_mb: a parser that allocates without bound is a failure too.
    cargo +nightly fuzz run -O "$target" "corpus/$target" -- \
        -max_total_time="$seconds" -rss_limit_mb=1024 -print_final_stats=1 2> "/tmp/fuzz-$target.log" || {
        tail -40 "/tmp/fuzz-$target.log"
        echo "fuzz: $target FAILED (the input is in fuzz/artifacts/$target/)" >&2
        exit 1
    }
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "/tmp/fuzz-$target.log" | tail -1)
    # The corpus kept in the repository: only the inputs that reach something new.
    cargo +nightly fuzz cmin -O "$target" "corpus/$target" >/dev/null 2>&1
    after=$(ls "corpus/$target" | wc -l)
    echo "fuzz: $target ok: ${runs:-?} inputs in ${seconds}s, corpus $before -> $after"
done
