#!/usr/bin/env bash
# serve nodes sharing one NATS JetStream (docs/cluster.md): Event
# invocations per second on one node with the embedded store, one node on
# NATS and three nodes on NATS; the p50 of a RequestResponse invocation on
# a NATS node next to an embedded one; and how long a function created on
# one node takes to answer on the two others. benches/cluster.py says how.
# Writes benches/results/cluster.md.
#
#   bash benches/cluster.sh [RUNS]     # default 3
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-3}
bash scripts/setup.sh >/dev/null
.venv/bin/python benches/cluster.py target/release/wasm-lambda "$runs" benches/results
