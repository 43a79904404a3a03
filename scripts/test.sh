#!/usr/bin/env bash
# Sets everything up, checks formatting and lints, and runs every test.
# The tests build each guest once per run (into target/wasm-guests) and share
# one precompiled-artifact cache (target/test-artifact-cache).
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/setup.sh

cargo fmt --all --check
for guest in guest-sdk/rust examples/rust host/tests/guests; do
    (cd "$guest" && cargo fmt --all --check)
done
cargo clippy --release --locked --workspace --all-targets -- -D warnings
cargo test --release --locked --workspace
