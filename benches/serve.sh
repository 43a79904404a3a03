#!/usr/bin/env bash
# The Invoke API's throughput next to the machine's HTTP limit: wrk against
# `wasm-lambda serve` (the Rust hello, a fresh sandbox per request) and
# against nginx returning the same body from a `return 200` location, side
# by side in one run, at concurrency 1 and 32. Installs wrk and nginx from
# Debian when missing; writes benches/results/serve.md.
#
#   bash benches/serve.sh [SECONDS]     # per measurement, default 10
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-10}
bash scripts/setup.sh >/dev/null
if ! command -v wrk >/dev/null 2>&1 || ! command -v nginx >/dev/null 2>&1; then
    apt-get update -qq && apt-get install -y -qq wrk nginx >/dev/null
fi

work=$(mktemp -d)
cleanup() {
    [ -n "${serve_pid:-}" ] && kill "$serve_pid" 2>/dev/null || true
    [ -f "$work/nginx.pid" ] && kill "$(cat "$work/nginx.pid")" 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT

body='{"message":"Hello John Smith!"}'
component=$(target/release/wasm-lambda build examples/rust/hello 2>/dev/null)

# A free loopback port: bind to 0 and read what the kernel chose.
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
serve_port=$(free_port)
nginx_port=$(free_port)

target/release/wasm-lambda serve --listen "127.0.0.1:$serve_port" --state-dir "$work/state" \
    --function "hello=$component" 2>/dev/null &
serve_pid=$!

cat > "$work/nginx.conf" <<CONF
worker_processes 1;
pid $work/nginx.pid;
error_log $work/error.log;
events { worker_connections 1024; }
http {
    access_log off;
    client_body_temp_path $work/body;
    server {
        listen 127.0.0.1:$nginx_port;
        location / {
            default_type application/json;
            return 200 '$body';
        }
    }
}
CONF
nginx -c "$work/nginx.conf"

cat > "$work/post.lua" <<'LUA'
wrk.method = "POST"
wrk.body = '{"first_name":"John","last_name":"Smith"}'
wrk.headers["Content-Type"] = "application/json"
LUA
# The same request as a DryRun: the Invoke API's whole HTTP path (routing,
# headers, the request id, the answer) without running the function, which
# splits serve's time per request into the HTTP layer and the invocation.
sed 's/^wrk.headers\["Content-Type"\].*/&\nwrk.headers["X-Amz-Invocation-Type"] = "DryRun"/' \
    "$work/post.lua" > "$work/dry-run.lua"

for _ in $(seq 1 50); do
    curl -sf -X POST -d '{}' "http://127.0.0.1:$serve_port/2015-03-31/functions/hello/invocations" >/dev/null && break
    sleep 0.2
done
answer=$(curl -s -X POST -d '{"first_name":"John","last_name":"Smith"}' \
    "http://127.0.0.1:$serve_port/2015-03-31/functions/hello/invocations")
[ "$answer" = "$body" ] || { echo "serve answered $answer" >&2; exit 1; }

# requests/s, p50 and p99 of one wrk run.
measure() {
    local threads=$1 connections=$2 url=$3 script=${4:-post}
    wrk -t"$threads" -c"$connections" -d"${seconds}s" --latency -s "$work/$script.lua" "$url" |
        awk '/Requests\/sec/ {rps=$2} /^ +50%/ {p50=$2} /^ +99%/ {p99=$2} END {printf "%s %s %s", rps, p50, p99}'
}

out=benches/results/serve.md
{
    echo "# wasm-lambda serve next to nginx (\`bash benches/serve.sh $seconds\`, $(date -u +%Y-%m-%d))"
    echo
    echo "| concurrency | server | requests/s | p50 | p99 | ratio to nginx |"
    echo "|---|---|---|---|---|---|"
    invoke_url="http://127.0.0.1:$serve_port/2015-03-31/functions/hello/invocations"
    layers=""
    for setting in "1 1" "2 32"; do
        set -- $setting
        read -r n_rps n_p50 n_p99 <<<"$(measure "$1" "$2" "http://127.0.0.1:$nginx_port/")"
        read -r s_rps s_p50 s_p99 <<<"$(measure "$1" "$2" "$invoke_url")"
        read -r d_rps d_p50 d_p99 <<<"$(measure "$1" "$2" "$invoke_url" dry-run)"
        ratio() { python3 -c "print(f'{$1 / $n_rps:.2f}')"; }
        echo "| $2 | nginx \`return 200\` | $n_rps | $n_p50 | $n_p99 | 1.00 |"
        echo "| $2 | wasm-lambda serve (Rust hello, fresh sandbox) | $s_rps | $s_p50 | $s_p99 | $(ratio "$s_rps") |"
        echo "| $2 | wasm-lambda serve, DryRun (HTTP path only) | $d_rps | $d_p50 | $d_p99 | $(ratio "$d_rps") |"
        split=$(python3 -c "print(f'{1e6 / $s_rps - 1e6 / $d_rps:.1f} µs of {1e6 / $s_rps:.1f}')")
        layers="$layers- concurrency $2: the invocation (sandbox, logs, \`/tmp\`) adds $split µs per request (1/requests per second, invoke minus DryRun)"$'\n'
    done
    echo
    printf '%s' "$layers"
} > "$out"
cat "$out"
