#!/usr/bin/env bash
# `make soak`: the relay (release build, development outbox, in-memory store) under the whole
# flow, wrong codes and hostile requests for SOAK_MINUTES (default 10), sampled every 5 s
# (relay/examples/soak.rs); then the CSV plotted (scripts/plot_soak.py) and a report written to
# docs/soak/ with the commit it measured. 400 flows a second (SOAK_RATE); codes live 1 minute
# (OTP_RELAY_TTL=1m) so that the store reaches its steady size within the 3-minute warm-up; the
# one loopback client is exempt from the proof of work and its limits are raised, the mailbox
# limits' windows shortened to a minute so that their fixed-size sketches count a minute of
# distinct addresses, not fifteen (as in `make load`, which runs seconds).
rate=${SOAK_RATE:-400}
set -euo pipefail
cd "$(dirname "$0")/.."
minutes=${SOAK_MINUTES:-10}
out=${SOAK_OUT:-docs/soak}
cargo build --release -p otp-relay --bin otp-relay --example soak >/dev/null
bin="${CARGO_TARGET_DIR:-target}/release"
log=$(mktemp -d)
trap 'kill "$pid" 2>/dev/null || true; rm -rf "$log"' EXIT
metrics_port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')

env OTP_RELAY_DEV=1 OTP_RELAY_LISTEN=127.0.0.1:0 OTP_RELAY_TTL=1m \
    OTP_RELAY_SENDS_PER_IP=65000/250ms OTP_RELAY_POW_EXEMPT=127.0.0.1 \
    OTP_RELAY_FAILURES_PER_ADDRESS=99/1h OTP_RELAY_LOG=warn \
    OTP_RELAY_SENDS_PER_ADDRESS=5/1m OTP_RELAY_SENDS_PER_ADDRESS_TOTAL=10/1m \
    OTP_RELAY_METRICS_LISTEN="127.0.0.1:$metrics_port" \
    "$bin/otp-relay" serve >"$log/out" 2>"$log/err" &
pid=$!
for _ in $(seq 100); do
    url=$(sed -n 's|^otp-relay listening on ||p' "$log/out")
    [ -n "$url" ] && break
    sleep 0.1
done
[ -n "$url" ] || { cat "$log/err" >&2; exit 1; }

mkdir -p "$out"
commit=$(git rev-parse --short HEAD)$(git diff --quiet HEAD -- relay shared || echo "+changes")
echo "soak: $minutes min against $url (pid $pid), commit $commit"
"$bin/examples/soak" --url "$url" --pid "$pid" --metrics "http://127.0.0.1:$metrics_port/metrics" \
    --csv "$out/soak.csv" --minutes "$minutes" --rate "$rate" | tee "$log/report"
/usr/bin/python3 scripts/plot_soak.py "$out/soak.csv" "$out/soak.png" 3
{
    echo "# Soak report"
    echo
    echo "Measured by \`make soak\` (scripts/soak.sh) at commit \`$commit\` on $(date -u +%Y-%m-%d),"
    echo "$(nproc) cores: one relay (release build, development outbox, in-memory store, codes living"
    echo "1 minute) under 8 clients running $rate whole flows a second, every fourth with a wrong code first, and"
    echo "a hostile request every eighth (a body that is not JSON, one over 16 KiB, a forged token, a"
    echo "site that is not allowed), for $minutes minutes, sampled every 5 s."
    echo
    echo "![RSS, descriptors, threads, tasks, store entries, latency and requests over time](soak.png)"
    echo
    echo '```text'
    sed -n '/^soak: .* flows verified/,$p' "$log/report"
    echo '```'
    echo
    echo "The samples are in [soak.csv](soak.csv)."
} > "$out/README.md"
echo "soak: report in $out/README.md"
grep -q "errors" "$out/soak.csv"
