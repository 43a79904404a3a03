#!/usr/bin/env bash
# The Invoke API's throughput next to the machine's HTTP limit: wrk against
# `wasm-lambda serve` (the Rust hello, a fresh sandbox per request) and
# against nginx returning the same body from a `return 200` location, side
# by side in one run, at concurrency 1 and 32, RUNS times over (the figures
# are the min, median and max of the runs). serve runs twice: its log
# output (START, END, REPORT per request) thrown away, and written to a
# file. Installs wrk and nginx from Debian when missing; writes
# benches/results/serve.md.
#
#   bash benches/serve.sh [SECONDS] [RUNS]    # per measurement, default 10 s; 5 runs
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-10}
runs=${2:-5}
bash scripts/setup.sh >/dev/null
if ! command -v wrk >/dev/null 2>&1 || ! command -v nginx >/dev/null 2>&1; then
    apt-get update -qq && apt-get install -y -qq wrk nginx >/dev/null
fi

work=$(mktemp -d)
cleanup() {
    [ -n "${serve_pid:-}" ] && kill "$serve_pid" 2>/dev/null || true
    [ -n "${logged_pid:-}" ] && kill "$logged_pid" 2>/dev/null || true
    [ -f "$work/nginx.pid" ] && kill "$(cat "$work/nginx.pid")" 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT

body='{"message":"Hello John Smith!"}'
component=$(target/release/wasm-lambda build examples/rust/hello 2>/dev/null)

# A free loopback port: bind to 0 and read what the kernel chose.
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
serve_port=$(free_port)
logged_port=$(free_port)
nginx_port=$(free_port)

target/release/wasm-lambda serve --listen "127.0.0.1:$serve_port" --state-dir "$work/state" \
    --function "hello=$component" 2>/dev/null &
serve_pid=$!
target/release/wasm-lambda serve --listen "127.0.0.1:$logged_port" --state-dir "$work/logged-state" \
    --function "hello=$component" 2>"$work/serve.log" &
logged_pid=$!

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

for port in "$serve_port" "$logged_port"; do
    for _ in $(seq 1 50); do
        curl -sf -X POST -d '{}' "http://127.0.0.1:$port/2015-03-31/functions/hello/invocations" >/dev/null && break
        sleep 0.2
    done
    answer=$(curl -s -X POST -d '{"first_name":"John","last_name":"Smith"}' \
        "http://127.0.0.1:$port/2015-03-31/functions/hello/invocations")
    [ "$answer" = "$body" ] || { echo "serve answered $answer" >&2; exit 1; }
done

# requests/s, p50 and p99 of one wrk run.
measure() {
    local threads=$1 connections=$2 url=$3 script=${4:-post}
    wrk -t"$threads" -c"$connections" -d"${seconds}s" --latency -s "$work/$script.lua" "$url" |
        awk '/Requests\/sec/ {rps=$2} /^ +50%/ {p50=$2} /^ +99%/ {p99=$2} END {printf "%s %s %s", rps, p50, p99}'
}

# Every run measures each server at both concurrencies back to back, so a
# ratio compares figures taken seconds apart; the runs give the spread.
results="$work/results.txt"
: > "$results"
for run in $(seq 1 "$runs"); do
    for setting in "1 1" "2 32"; do
        set -- $setting
        for case in nginx serve logged dry-run; do
            case $case in
            nginx) url="http://127.0.0.1:$nginx_port/" script=post ;;
            serve) url="http://127.0.0.1:$serve_port/2015-03-31/functions/hello/invocations" script=post ;;
            logged) url="http://127.0.0.1:$logged_port/2015-03-31/functions/hello/invocations" script=post ;;
            dry-run) url="http://127.0.0.1:$serve_port/2015-03-31/functions/hello/invocations" script=dry-run ;;
            esac
            echo "$run $2 $case $(measure "$1" "$2" "$url" "$script")" >> "$results"
        done
        # Keep the log file from filling the disk over many runs.
        : > "$work/serve.log"
    done
    echo "run $run of $runs done" >&2
done

out=benches/results/serve.md
python3 - "$results" "$seconds" "$runs" > "$out" <<'PY'
import statistics
import sys
from datetime import datetime, timezone

path, seconds, runs = sys.argv[1:4]


def micros(text):
    # wrk prints latencies as 77.00us, 1.97ms or 1.02s.
    for unit, scale in (("us", 1), ("ms", 1e3), ("s", 1e6)):
        if text.endswith(unit):
            return float(text[: -len(unit)]) * scale
    raise ValueError(text)


figures = {}
for line in open(path):
    run, concurrency, case, rps, p50, p99 = line.split()
    figures.setdefault((int(concurrency), case), {})[int(run)] = (
        float(rps),
        micros(p50),
        micros(p99),
    )


def spread(values, fmt):
    values = sorted(values)
    return " / ".join(fmt(v) for v in (values[0], statistics.median(values), values[-1]))


names = {
    "nginx": "nginx `return 200`",
    "serve": "wasm-lambda serve, logs discarded",
    "logged": "wasm-lambda serve, logs to a file",
    "dry-run": "wasm-lambda serve, DryRun (HTTP path only)",
}
day = datetime.now(timezone.utc).strftime("%Y-%m-%d")
print(f"# wasm-lambda serve next to nginx (`bash benches/serve.sh {seconds} {runs}`, {day})")
print()
print("Min / median / max over the runs; each ratio is to nginx in the same run.")
print()
print("| concurrency | server | requests/s | ratio to nginx | p50 (µs) | p99 (µs) |")
print("|---|---|---|---|---|---|")
for concurrency in (1, 32):
    nginx = figures[(concurrency, "nginx")]
    for case in ("nginx", "serve", "logged", "dry-run"):
        runs_of = figures[(concurrency, case)]
        rps = [f[0] for f in runs_of.values()]
        ratio = [runs_of[r][0] / nginx[r][0] for r in runs_of]
        p50 = [f[1] for f in runs_of.values()]
        p99 = [f[2] for f in runs_of.values()]
        print(
            f"| {concurrency} | {names[case]} | {spread(rps, lambda v: f'{v:,.0f}')} | "
            f"{spread(ratio, lambda v: f'{v:.2f}')} | {spread(p50, lambda v: f'{v:.0f}')} | "
            f"{spread(p99, lambda v: f'{v:.0f}')} |"
        )
PY
cat "$out"
