#!/usr/bin/env bash
# Starts a release relay on a free loopback port with limits raised for the test, runs the load
# client against it (whole flow through the development outbox), then the same with delivery
# through a real SMTP server process (issue only). Everything stops at the end.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release -p otp-relay --bin otp-relay --example load >/dev/null
bin="${CARGO_TARGET_DIR:-target}/release"
log=$(mktemp -d)
pids=()
trap 'kill "${pids[@]}" 2>/dev/null || true; rm -rf "$log"' EXIT

start_relay() {
    OTP_RELAY_LISTEN=127.0.0.1:0 OTP_RELAY_LOG=warn \
    OTP_RELAY_SENDS_PER_IP=1000000/1m OTP_RELAY_SENDS_PER_ADDRESS=1000/1m \
    OTP_RELAY_STORE_CAPACITY=2000000 \
    "$@" "$bin/otp-relay" serve >"$log/relay.out" 2>"$log/relay.err" &
    pids+=($!)
    for _ in $(seq 50); do
        url=$(sed -n 's/^otp-relay listening on //p' "$log/relay.out")
        [ -n "$url" ] && return 0
        sleep 0.1
    done
    cat "$log/relay.err" >&2; exit 1
}

# The outbox keeps the newest 50 messages: with many clients a code can be pushed out before
# its client reads it, so the whole-flow run uses few clients.
echo "== whole flow (request, read the code from the outbox, verify), development outbox"
start_relay env OTP_RELAY_DEV=1
"$bin/examples/load" --url "$url" --seconds "${SECONDS_PER_RUN:-10}" --concurrency "${FLOW_CONCURRENCY:-4}"

echo "== issue only, delivery through a local SMTP server (plain, no TLS)"
mkdir -p "$log/maildir"
/usr/bin/python3 tests/support/smtp_server.py --port 0 --mode plain --maildir "$log/maildir" >"$log/smtp.out" &
pids+=($!)
for _ in $(seq 50); do port=$(sed -n 's/^READY //p' "$log/smtp.out"); [ -n "$port" ] && break; sleep 0.1; done
start_relay env OTP_RELAY_SMTP_URL="smtp://127.0.0.1:$port"
"$bin/examples/load" --url "$url" --seconds "${SECONDS_PER_RUN:-10}" --concurrency "${CONCURRENCY:-16}" --issue-only
echo "messages the SMTP server stored: $(ls "$log/maildir/new" | wc -l)"
