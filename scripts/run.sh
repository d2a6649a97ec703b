#!/usr/bin/env bash
# `make run`: the relay in development mode (the outbox instead of SMTP, in-memory store) on
# 127.0.0.1:8787; `trunk serve` for the page at http://127.0.0.1:8080 (it proxies /api/ and
# /dev/ to the relay and builds dist/, from which the relay serves the widget); and a demo site
# embedding the widget at http://127.0.0.1:8081. Ctrl-C stops all three.
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

OTP_RELAY_DEV=1 \
OTP_RELAY_LISTEN=127.0.0.1:8787 \
OTP_RELAY_ALLOWED_ORIGINS=http://127.0.0.1:8080,http://127.0.0.1:8081 \
OTP_RELAY_STATIC_DIR="$PWD/dist" \
    "$relay" serve &
pids+=($!)
trunk serve &
pids+=($!)
/usr/bin/python3 -m http.server 8081 --bind 127.0.0.1 --directory demo >/dev/null 2>&1 &
pids+=($!)
cat >&2 <<'MSG'
otp-relay:
  the page        http://127.0.0.1:8080
  embed demo      http://127.0.0.1:8081   (another origin, using the widget)
  outbox          http://127.0.0.1:8787/dev/outbox
  Ctrl-C stops everything.
MSG
wait -n "${pids[@]}"
