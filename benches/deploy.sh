#!/usr/bin/env bash
# Time from CreateFunction to Active on `wasm-lambda serve` for the Rust,
# Python and JavaScript hellos, with empty caches and with warm ones
# (benches/deploy.py says what each means). Writes benches/results/deploy.md.
#
#   bash benches/deploy.sh [RUNS]     # default 3
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-3}
bash scripts/setup.sh >/dev/null
.venv/bin/python benches/deploy.py target/release/wasm-lambda "$runs" benches/results
