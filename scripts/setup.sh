#!/usr/bin/env bash
# Installs what wasm-lambda needs and builds the host. Idempotent: a second
# run only checks that everything is in place (a few seconds).
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v cargo >/dev/null 2>&1; then
    echo "error: Rust is required (cargo not found); install it with rustup" >&2
    exit 1
fi

# wasmtime with the project's patches (host/patches), which the workspace
# builds instead of the registry's copy: every cargo command in the
# workspace needs it in place.
bash scripts/patch-wasmtime.sh

# Rust handlers compile straight to components for WASI 0.2.
if ! rustup target list --installed | grep -qx wasm32-wasip2; then
    rustup target add wasm32-wasip2
fi

# The other languages' toolchains and the tests' clients install while the
# host builds (downloads beside a build that fills every core); their output
# is kept in target/setup-toolchains.log and shown once both are done.
mkdir -p target
toolchains_log=target/setup-toolchains.log
bash scripts/setup-toolchains.sh >"$toolchains_log" 2>&1 &
toolchains=$!
trap 'kill "$toolchains" 2>/dev/null || true' EXIT
built=0
cargo build --release --locked -p wasm-lambda || built=$?
installed=0
wait "$toolchains" || installed=$?
cat "$toolchains_log" >&2
if [ "$installed" -ne 0 ]; then
    echo "error: installing the toolchains failed (scripts/setup-toolchains.sh; its output is above and in $toolchains_log)" >&2
    exit "$installed"
fi
exit "$built"
