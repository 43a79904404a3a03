#!/usr/bin/env bash
# Sets everything up, builds the Rust "hello" handler into a component and
# invokes it with the event from Lambda's Python handler guide.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/setup.sh
wasm_lambda=target/release/wasm-lambda
component=$("$wasm_lambda" build examples/rust/hello)
"$wasm_lambda" invoke "$component" --event '{"first_name": "John", "last_name": "Smith"}'
