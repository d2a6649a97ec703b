#!/usr/bin/env bash
# `make run`: the relay on its embedded defaults (development outbox, in-memory store) and
# `trunk serve` for the page at http://127.0.0.1:8080, which proxies /api/ and /dev/ to the
# relay. Ctrl-C stops both.
set -euo pipefail
cd "$(dirname "$0")/.."

cargo build --quiet -p otp-relay --bin otp-relay
relay="${CARGO_TARGET_DIR:-target}/debug/otp-relay"

pids=()
stop() {
    trap - INT TERM EXIT
    kill "${pids[@]}" 2>/dev/null || true
    wait 2>/dev/null || true
}
trap stop INT TERM EXIT

OTP_RELAY_LISTEN=127.0.0.1:8787 OTP_RELAY_ALLOWED_ORIGINS=http://127.0.0.1:8080 "$relay" serve &
pids+=($!)
trunk serve &
pids+=($!)
echo "otp-relay: open http://127.0.0.1:8080 (codes appear at http://127.0.0.1:8080/dev/outbox); Ctrl-C stops" >&2
wait -n "${pids[@]}"
