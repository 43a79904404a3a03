#!/usr/bin/env bash
# Sets everything up, checks formatting and lints, and runs every test.
# The tests build each guest once per run (into target/wasm-guests) and share
# one precompiled-artifact cache (target/test-artifact-cache).
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/setup.sh

# wasmtime must resolve to the patched copy (host/patches): a version that
# no longer matches the patch would leave it unused with only a warning.
wasmtime_source=$(cargo tree --locked -p wasmtime --depth 0 --prefix none)
if [ "${wasmtime_source% ($PWD/host/patches/wasmtime)}" = "$wasmtime_source" ]; then
    echo "error: wasmtime resolves to \"$wasmtime_source\", not the patched copy in host/patches/wasmtime" >&2
    exit 1
fi

cargo fmt --all --check
for guest in guest-sdk/rust guest-sdk/rust/lambda_runtime examples/rust host/tests/guests; do
    (cd "$guest" && cargo fmt --all --check)
done
# The corpus's Rust handlers (and the guests written as such), as their
# authors' edition formats them.
find host/tests/corpus/rust host/tests/guests/lambda_stream host/tests/guests/lambda_http_stream -name '*.rs' -print0 | xargs -0 rustfmt --edition 2021 --check
# The guest SDKs' own formatters and linters, from the pinned packages setup
# installs: ruff for Python, gofmt for Go, zig fmt for Zig, clang-format for C
# (.clang-format), Prettier for JavaScript and AssemblyScript (.prettierrc.json;
# .prettierignore says what it leaves alone and why).
.venv/bin/ruff format --check --quiet guest-sdk/python
.venv/bin/ruff check --quiet guest-sdk/python
unformatted=$(.venv/lib/python3*/site-packages/go/bin/gofmt -l guest-sdk/go examples/go host/tests/guests/go host/tests/corpus/go)
if [ -n "$unformatted" ]; then
    echo "gofmt would change: $unformatted" >&2
    exit 1
fi
# The SDK's aws-lambda-go: vetted for the sandbox with the SDK beside it (the
# workspace the build makes), and its packages that need no component tested
# natively.
go_work=$(mktemp -d)
printf 'go 1.27\n\nuse (\n\t%s\n\t%s\n)\n' "$PWD/guest-sdk/go" "$PWD/guest-sdk/go/aws-lambda-go" > "$go_work/go.work"
(cd guest-sdk/go/aws-lambda-go &&
    export GOTOOLCHAIN=local GOPROXY=off GOFLAGS= &&
    GOWORK="$go_work/go.work" GOOS=wasip1 GOARCH=wasm ../../../.venv/bin/go vet ./... &&
    ../../../.venv/bin/go test -count=1 ./events/ ./lambdacontext/ ./lambda/messages/)
rm -rf "$go_work"
.venv/bin/python -m ziglang fmt --check guest-sdk/zig examples/zig host/tests/guests/zig
git ls-files -z '*.c' '*.h' ':!host/tests/corpus' ':!guest-sdk/c/generated' | xargs -0 clang-format --dry-run --Werror
prettier_patterns=()
for root in guest-sdk/js guest-sdk/assemblyscript examples/js examples/assemblyscript \
    host/tests/guests/js host/tests/guests/assemblyscript; do
    prettier_patterns+=("$root/**/*.{mjs,cjs,js,ts}")
done
guest-sdk/js/node_modules/.bin/prettier --check --log-level warn \
    --ignore-path .gitignore --ignore-path .prettierignore "${prettier_patterns[@]}"
cargo clippy --release --locked --workspace --all-targets -- -D warnings
# The arm64 bootstrap that runtime::an_arm64_package_answers_under_qemu_without_compiling
# packages: an unoptimised cross build, a third of a release build's time.
if [ "$(uname -m)" = x86_64 ]; then
    bash scripts/build-bootstrap.sh arm64 --profile cross-test >/dev/null
fi
# The tests' artifact cache keeps the entries used most recently within 3 GiB:
# every corpus handler is a component of its own, tens of megabytes compiled,
# and a run wrote 9 GB to it before.
export WASM_LAMBDA_CACHE_MAX_MB="${WASM_LAMBDA_CACHE_MAX_MB:-3072}"
cargo test --release --locked --workspace
