#!/usr/bin/env bash
# Edit-to-new-answer latency of `serve --watch` per language (p50 and p95
# over EDITS edits of each hello; see benches/watch_latency.py). Writes
# benches/results/watch-latency.{md,json}.
#
#   bash benches/watch-latency.sh [EDITS [LANGUAGE...]]     # default 20, every language
set -euo pipefail
cd "$(dirname "$0")/.."
edits=${1:-20}
shift || true
bash scripts/setup.sh >/dev/null
python3 benches/watch_latency.py target/release/wasm-lambda "$edits" benches/results "$@"
