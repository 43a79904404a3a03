#!/usr/bin/env bash
# Time from a packaged function's start to its first answer, as Lambda starts
# a new execution environment, for the Rust, Python and JavaScript hellos
# (Python and JavaScript with and without the packaged snapshot; see
# benches/first_answer.py). Writes benches/results/first-answer.{md,json}.
#
#   bash benches/first-answer.sh [RUNS]     # default 5
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-5}
bash scripts/setup.sh >/dev/null
python3 benches/first_answer.py target/release/wasm-lambda "$runs" benches/results
