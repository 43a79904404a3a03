#!/usr/bin/env bash
# Runs a packaged function (`wasm-lambda package`) under cargo-lambda's
# Runtime API emulator and invokes it once with EVENT:
#
#   bash scripts/emulate.sh function.zip '{"first_name":"John","last_name":"Smith"}'
#
# The zip is unpacked into a temporary task root and its `bootstrap` started
# as Lambda starts it. Needs the setup (cargo-lambda in .venv).
set -euo pipefail
zip=$(realpath "$1")
event=${2:-'{}'}
cd "$(dirname "$0")/.."
cargo_lambda=$PWD/.venv/bin/cargo-lambda
port=${PORT:-9009}

work=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null; rm -rf "$work"' EXIT
mkdir -p "$work/task" "$work/emulator/src"
python3 -c 'import sys, zipfile
with zipfile.ZipFile(sys.argv[1]) as z:
    for info in z.infolist():
        path = z.extract(info, sys.argv[2])
        mode = info.external_attr >> 16
        if mode:
            __import__("os").chmod(path, mode)' "$zip" "$work/task"
handler=$(cd "$work/task" && ls *.wasm | head -n 1)

# The emulator reads a Cargo manifest even when it builds nothing.
printf '[package]\nname = "emulated"\nversion = "0.1.0"\nedition = "2021"\n[workspace]\n' > "$work/emulator/Cargo.toml"
echo 'fn main() {}' > "$work/emulator/src/main.rs"
(cd "$work/emulator" && "$cargo_lambda" lambda watch --only-lambda-apis --invoke-port "$port" >/dev/null 2>&1) &
until (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; do sleep 0.1; done

env -i AWS_LAMBDA_RUNTIME_API="127.0.0.1:$port/.rt" AWS_LAMBDA_FUNCTION_NAME=_ \
    LAMBDA_TASK_ROOT="$work/task" _HANDLER="$handler" "$work/task/bootstrap" &
(cd "$work/emulator" && "$cargo_lambda" lambda invoke --invoke-port "$port" --data-ascii "$event" _)
