#!/usr/bin/env bash
# `wasm-lambda build` of an unchanged folder and after a one-line edit, per
# language (see benches/rebuild.py). Writes benches/results/rebuild.{md,json}.
#
#   bash benches/rebuild.sh [RUNS [LANGUAGE...]]     # default 5, every language
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-5}
shift || true
bash scripts/setup.sh >/dev/null
python3 benches/rebuild.py target/release/wasm-lambda "$runs" benches/results "$@"
