#!/usr/bin/env bash
# `make load`: release builds on loopback, every figure beside a baseline measured in the same run,
# because on a shared 2-core machine an absolute rate means little:
#   1. verify with a wrong code, against a bare axum endpoint answering a fixed JSON error;
#   2. the relay's memory (RSS) before and after issuing 100,000 codes to distinct addresses;
#   3. the whole flow through the development outbox (request, read the code, verify);
#   4. sends through a real SMTP server process, against that server's own ceiling;
#   5. one relay on Redis, two relays on one Redis, two on a three-master Redis Cluster: verify
#      and issue, beside one relay with its memory store, the CPU split between relays and Redis;
#      and the floor: the bare endpoint of 1. waiting for one Redis script that does nothing;
#   6. the proof of work: the relay's check of a solution against a wrong-code verify, and the
#      page's solver (its wasm) against ALTCHA's own (npm altcha-lib) in the same headless
#      Chromium.
# The load client calls from 127.0.0.1, exempt from the proof of work (as a backend would be)
# everywhere but in 6, so that 1 to 5 measure what the relay does per request.
# Everything it starts stops at the end.
set -euo pipefail
cd "$(dirname "$0")/.."
# esbuild, which bundles ALTCHA's solver for 6, is where `make tools` puts it.
export PATH="${OTP_RELAY_TOOLS:-$HOME/.cache/otp-relay/tools}/node_modules/.bin:$PATH"
cargo build --release -p otp-relay --bin otp-relay --example load --example compare --example bare >/dev/null
bin="${CARGO_TARGET_DIR:-target}/release"
log=$(mktemp -d)
pids=()
trap 'kill "${pids[@]}" 2>/dev/null || true; rm -rf "$log"' EXIT
seconds=${SECONDS_PER_RUN:-10}

# Starts a server that prints "<prefix>http://ADDR" on stdout; sets $url and $pid.
start() {
    local prefix=$1; shift
    "$@" >"$log/server.out" 2>"$log/server.err" &
    pid=$!
    pids+=("$pid")
    for _ in $(seq 100); do
        # The file appears once the child has started: until then, nothing to read yet.
        url=$(sed -n "s|^${prefix}||p" "$log/server.out" 2>/dev/null || true)
        [ -n "$url" ] && return 0
        sleep 0.1
    done
    cat "$log/server.err" >&2; exit 1
}

# The relay with limits raised for one loopback client (the sketch allows up to 65534 a window,
# and a short window: 260,000 a second, above what one relay issues here).
relay() {
    start "otp-relay listening on " env OTP_RELAY_LISTEN=127.0.0.1:0 \
        OTP_RELAY_SENDS_PER_IP=65000/250ms OTP_RELAY_MAX_ATTEMPTS=10 OTP_RELAY_POW_EXEMPT=127.0.0.1 \
        OTP_RELAY_FAILURES_PER_ADDRESS=99/1h "$@" "$bin/otp-relay" serve
}

rate() { awk '{for (i = 1; i <= NF; i++) if ($i ~ /\/s$/) { sub(/\/s$/, "", $i); print $i; exit }}'; }
# The server CPU per request that `compare` reports ("server CPU 18.5 µs/request").
cpu() { awk '{for (i = 1; i < NF; i++) if ($i == "CPU") { print $(i + 1); exit }}'; }
rss_kib() { awk '/^VmRSS/ {print $2}' "/proc/$1/status"; }

echo "== 1. verify with a wrong code: the relay against a bare axum endpoint (16 connections, ${seconds} s each)"
start "listening on " "$bin/examples/bare"
bare=$("$bin/examples/compare" bare --url "$url" --seconds "$seconds" --pid "$pid" | tee /dev/stderr | rate)
kill "$pid"
relay OTP_RELAY_DEV=1
# Each challenge takes 10 wrong codes: the pool must outlast the run.
verify_line=$("$bin/examples/compare" verify --url "$url" --seconds "$seconds" --pool $((seconds * 8000)) --pid "$pid" | tee /dev/stderr)
verify=$(rate <<<"$verify_line")
verify_cpu=$(cpu <<<"$verify_line")
kill "$pid"
awk -v v="$verify" -v b="$bare" 'BEGIN { printf "verify / bare = %.0f %%\n", 100 * v / b }'

echo "== 2. memory: RSS before and after issuing 100,000 codes to distinct addresses"
relay OTP_RELAY_DEV=1
# Warm up first (connections, the allocator's pools), so that what is measured is per code.
"$bin/examples/compare" issue --url "$url" --count 2000 >/dev/null
before=$(rss_kib "$pid")
issued=$("$bin/examples/compare" issue --url "$url" --count 100000 --pid "$pid" | tee /dev/stderr | rate)
after=$(rss_kib "$pid")
kill "$pid"
awk -v a="$after" -v b="$before" 'BEGIN { printf "RSS %d KiB before, %d KiB after: %+d KiB, %.1f bytes per code\n", b, a, a - b, (a - b) * 1024 / 100000 }'

# The outbox keeps the newest 50 messages: with many clients a code can be pushed out before
# its client reads it, so the whole-flow run uses few clients.
echo "== 3. whole flow (request, read the code from the outbox, verify), development mode"
relay OTP_RELAY_DEV=1
"$bin/examples/load" --url "$url" --seconds "$seconds" --concurrency "${FLOW_CONCURRENCY:-4}"
kill "$pid"

echo "== 4. sends through a local SMTP server (aiosmtpd, plain): the relay against the server's own ceiling"
mkdir -p "$log/maildir"
/usr/bin/python3 tests/support/smtp_server.py --port 0 --mode plain --maildir "$log/maildir" >"$log/smtp.out" &
pids+=($!)
for _ in $(seq 100); do
    port=$(sed -n 's/^READY //p' "$log/smtp.out" 2>/dev/null || true)
    [ -n "$port" ] && break
    sleep 0.1
done
ceiling=$("$bin/examples/compare" smtp --url http://127.0.0.1:1 --port "$port" --seconds "$seconds" | tee /dev/stderr | rate)
stored_before=$(ls "$log/maildir/new" | wc -l)
relay OTP_RELAY_SMTP_URL="smtp://127.0.0.1:$port"
sends=$("$bin/examples/compare" issue --url "$url" --count 10000000 --seconds "$seconds" | tee /dev/stderr | rate)
kill "$pid"
awk -v s="$sends" -v c="$ceiling" 'BEGIN { printf "relay sends / SMTP server alone = %.0f %%\n", 100 * s / c }'
echo "messages the SMTP server stored from the relay: $(( $(ls "$log/maildir/new" | wc -l) - stored_before ))"

echo "== 5. shared stores, beside one relay with its memory store (1. and 2.): one relay on Redis,"
echo "   two relays on one Redis, two relays on a three-master Redis Cluster; CPU split between"
echo "   the relays and Redis"
# A free port; for a cluster node ("cluster"), one at most 55535 whose bus port (10,000 above)
# is free too.
free_port() {
    /usr/bin/python3 - "$@" <<'PY'
import socket, sys
while True:
    s = socket.socket(); s.bind(("127.0.0.1", 0)); port = s.getsockname()[1]; s.close()
    if len(sys.argv) < 2:
        break
    if port <= 55535:
        bus = socket.socket()
        try:
            bus.bind(("127.0.0.1", port + 10000)); bus.close(); break
        except OSError:
            pass
print(port)
PY
}
# Starts a throwaway redis-server on a free port with extra arguments; sets $redis_port and
# $redis_pid.
redis() {
    redis_port=$(free_port ${cluster:+cluster})
    mkdir -p "$log/redis-$redis_port"
    redis-server --port "$redis_port" --bind 127.0.0.1 --save '' --appendonly no \
        --dir "$log/redis-$redis_port" "$@" >/dev/null &
    redis_pid=$!
    pids+=("$redis_pid")
    for _ in $(seq 100); do
        [ "$(redis-cli -p "$redis_port" ping 2>/dev/null)" = PONG ] && return 0
        sleep 0.1
    done
    echo "redis-server did not start" >&2; exit 1
}
# Relays that share a store share the challenge key too.
secret="k1:$("$bin/otp-relay" keygen)"
# Measures verify and issue against relays on the store $1 (`n` relays: $2); prints the figures
# and their ratio to one relay in memory. $3: the store's server pids; $4, if given: the worker
# threads of each relay (tokio's default is one per core).
shared_run() {
    local store=$1 relays=$2 store_pids=$3 workers=${4:-} urls="" relay_pids=""
    for _ in $(seq "$relays"); do
        relay OTP_RELAY_DEV=1 OTP_RELAY_STORE="$store" OTP_RELAY_SECRET="$secret" ${workers:+TOKIO_WORKER_THREADS=$workers}
        urls="${urls:+$urls,}$url" relay_pids="${relay_pids:+$relay_pids,}$pid"
    done
    local v i
    v=$("$bin/examples/compare" verify --url "$urls" --seconds "$seconds" --pool $((seconds * 6000)) --pid "$relay_pids" --store-pid "$store_pids" | tee /dev/stderr | rate)
    i=$("$bin/examples/compare" issue --url "$urls" --count 10000000 --seconds "$seconds" --pid "$relay_pids" --store-pid "$store_pids" | tee /dev/stderr | rate)
    kill ${relay_pids//,/ }
    awk -v v="$v" -v m="$verify" -v i="$i" -v n="$issued" 'BEGIN { printf "   verify %.0f/s (%.0f %% of one relay in memory), issue %.0f/s (%.0f %%)\n", v, 100 * v / m, i, 100 * i / n }'
}
redis
echo "-- the floor: the bare endpoint (1.) waiting for one Redis script that does nothing"
start "listening on " "$bin/examples/bare" --redis "redis://127.0.0.1:$redis_port"
floor=$("$bin/examples/compare" bare --url "$url" --seconds "$seconds" --pid "$pid" --store-pid "$redis_pid" | tee /dev/stderr | rate)
kill "$pid"
awk -v f="$floor" -v b="$bare" 'BEGIN { printf "   one round trip alone takes the bare endpoint to %.0f %% of its rate\n", 100 * f / b }'
echo "-- one relay on one Redis"
shared_run "redis://127.0.0.1:$redis_port" 1 "$redis_pid"
echo "-- one relay on one Redis, one worker thread"
shared_run "redis://127.0.0.1:$redis_port" 1 "$redis_pid" 1
echo "-- two relays on one Redis"
shared_run "redis://127.0.0.1:$redis_port" 2 "$redis_pid"
echo "-- two relays on one Redis, one worker thread each (as two containers of one CPU each would run)"
shared_run "redis://127.0.0.1:$redis_port" 2 "$redis_pid" 1
kill "$redis_pid"
cluster_nodes="" cluster_pids=""
cluster=1
for _ in 1 2 3; do
    redis --cluster-enabled yes --cluster-config-file nodes.conf --cluster-node-timeout 5000
    cluster_nodes="${cluster_nodes:+$cluster_nodes }127.0.0.1:$redis_port"
    cluster_pids="${cluster_pids:+$cluster_pids,}$redis_pid"
done
redis-cli --cluster create $cluster_nodes --cluster-replicas 0 --cluster-yes >/dev/null
for _ in $(seq 100); do
    redis-cli -p "$redis_port" cluster info | grep -q 'cluster_state:ok' && break
    sleep 0.1
done
echo "-- two relays on a three-master Redis Cluster"
shared_run "redis-cluster://${cluster_nodes// /,}" 2 "$cluster_pids"
echo "-- two relays on a three-master Redis Cluster, one worker thread each"
shared_run "redis-cluster://${cluster_nodes// /,}" 2 "$cluster_pids" 1
kill ${cluster_pids//,/ }

echo "== 6. the proof of work: what checking a solution adds to a send, beside a wrong-code verify (1.)"
# Sends from 20,000 client networks behind a trusted proxy, each once: without a proof of work,
# then each paying one solved beforehand (at the lowest difficulty, so the client's solving is
# not what is measured; the surge level out of reach for the same reason).
networks=(OTP_RELAY_DEV=1 OTP_RELAY_TRUST_PROXY=127.0.0.1 OTP_RELAY_POW_EXEMPT= OTP_RELAY_POW_SURGE=1000000000)
relay "${networks[@]}" OTP_RELAY_POW=off
free_cpu=$("$bin/examples/compare" issue-networks --url "$url" --count 20000 --pid "$pid" | tee /dev/stderr | cpu)
kill "$pid"
relay "${networks[@]}" OTP_RELAY_POW_BASE=1
paid_cpu=$("$bin/examples/compare" issue-networks --url "$url" --count 20000 --pow --pid "$pid" | tee /dev/stderr | cpu)
kill "$pid"
awk -v p="$paid_cpu" -v f="$free_cpu" -v v="$verify_cpu" 'BEGIN { printf "checking a solution adds %.1f µs of server CPU to a send (%.1f against %.1f); a wrong-code verify costs %.1f µs in all: %.0f %% of one\n", p - f, p, f, v, 100 * (p - f) / v }'
# And a send with a spent solution, over and over: checked in full, answered 428 with a fresh
# challenge (what a replaying bot costs the relay).
relay OTP_RELAY_DEV=1 OTP_RELAY_POW_EXEMPT=
check=$("$bin/examples/compare" pow-check --url "$url" --seconds "$seconds" --pid "$pid" | tee /dev/stderr | rate)
kill "$pid"
awk -v c="$check" -v v="$verify" 'BEGIN { printf "replayed solutions refused %.0f/s, wrong-code verifies %.0f/s\n", c, v }'
echo "   solving in the browser: the page's wasm against ALTCHA's solver, same headless Chromium"
cargo run -q -p otp-relay-tests --example pow_rates
