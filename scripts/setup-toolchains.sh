#!/usr/bin/env bash
# Installs the toolchains of the languages other than Rust, and what the tests
# drive (Python's, JavaScript's, C's, Go's, Zig's, AssemblyScript's; boto3,
# the AWS CLI, moto, curl, strip). Idempotent. scripts/setup.sh runs it while
# the host builds: this is mostly downloads, the build mostly computing.
set -euo pipefail
cd "$(dirname "$0")/.."

# Python handlers: componentize-py, pinned, in the project-local .venv.
componentize_version=$(sed -n 's/^componentize-py==//p' guest-sdk/python/requirements.txt)
if ! command -v python3 >/dev/null 2>&1; then
    apt-get update -qq && apt-get install -y -qq python3 python3-venv python3-pip
fi
if ! .venv/bin/componentize-py --version 2>/dev/null | grep -qx "componentize-py $componentize_version"; then
    python3 -m venv .venv
    .venv/bin/pip install --quiet --disable-pip-version-check -r guest-sdk/python/requirements.txt
fi
# The AWS SDK Lambda's Python runtime ships (boto3), pinned, for handlers
# that import it without listing it: pure-Python wheels for the component's
# Python, in .venv/lambda-runtime.
if ! cmp -s guest-sdk/python/lambda-runtime.txt .venv/lambda-runtime/.wasm-lambda-pins; then
    rm -rf .venv/lambda-runtime
    .venv/bin/python3 -m pip install --quiet --disable-pip-version-check --no-compile --no-deps \
        --only-binary=:all: --platform any --implementation py --python-version 3.14 \
        --target .venv/lambda-runtime -r guest-sdk/python/lambda-runtime.txt
    cp guest-sdk/python/lambda-runtime.txt .venv/lambda-runtime/.wasm-lambda-pins
fi
# setuptools as the python3.9-3.11 runtimes ship it (pkg_resources), pinned,
# in .venv/lambda-runtime-setuptools.
if ! cmp -s guest-sdk/python/lambda-runtime-setuptools.txt \
    .venv/lambda-runtime-setuptools/.wasm-lambda-pins; then
    rm -rf .venv/lambda-runtime-setuptools
    .venv/bin/python3 -m pip install --quiet --disable-pip-version-check --no-compile --no-deps \
        --only-binary=:all: --platform any --implementation py --python-version 3.14 \
        --target .venv/lambda-runtime-setuptools -r guest-sdk/python/lambda-runtime-setuptools.txt
    cp guest-sdk/python/lambda-runtime-setuptools.txt .venv/lambda-runtime-setuptools/.wasm-lambda-pins
fi
# The AWS clients the server's tests drive (boto3, the AWS CLI).
if ! cmp -s host/tests/clients/requirements.txt .venv/.wasm-lambda-clients; then
    .venv/bin/pip install --quiet --disable-pip-version-check -r host/tests/clients/requirements.txt
    cp host/tests/clients/requirements.txt .venv/.wasm-lambda-clients
fi

# JavaScript handlers: componentize-js, locked, in guest-sdk/js/node_modules.
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
    apt-get update -qq && apt-get install -y -qq nodejs npm
fi
lock_stamp=guest-sdk/js/node_modules/.wasm-lambda-lock
if ! cmp -s guest-sdk/js/package-lock.json "$lock_stamp"; then
    (cd guest-sdk/js && npm ci --silent --no-audit --no-fund)
    cp guest-sdk/js/package-lock.json "$lock_stamp"
fi

# The AWS SDK for JavaScript v3 clients Lambda's Node.js runtimes provide,
# locked, in guest-sdk/js/lambda-runtime/node_modules.
lock_stamp=guest-sdk/js/lambda-runtime/node_modules/.wasm-lambda-lock
if ! cmp -s guest-sdk/js/lambda-runtime/package-lock.json "$lock_stamp"; then
    (cd guest-sdk/js/lambda-runtime && npm ci --silent --no-audit --no-fund)
    cp guest-sdk/js/lambda-runtime/package-lock.json "$lock_stamp"
fi

# curl: the HTTP front door's tests drive serve with it, as users do.
if ! command -v curl >/dev/null 2>&1; then
    apt-get update -qq && apt-get install -y -qq curl
fi

# NATS with JetStream: `serve --backend nats://...` keeps the Event queue
# there, and the cluster tests start one on a free loopback port.
if ! command -v nats-server >/dev/null 2>&1; then
    apt-get update -qq && apt-get install -y -qq nats-server
fi

# binutils' strip: `wasm-lambda package` strips the bootstrap it zips.
if ! command -v strip >/dev/null 2>&1; then
    apt-get update -qq && apt-get install -y -qq binutils
fi

# qemu's user-mode emulator: `wasm-lambda package --arch arm64` runs the
# arm64 bootstrap under it, and the tests run packages on an emulated
# processor other than this machine's, as a Lambda host has. Debian's GCC
# and C library for aarch64 and Rust's aarch64 standard library cross-build
# that bootstrap (scripts/build-bootstrap.sh).
if ! command -v qemu-x86_64 >/dev/null 2>&1 || ! command -v qemu-aarch64 >/dev/null 2>&1; then
    apt-get update -qq && apt-get install -y -qq qemu-user
fi
if [ "$(uname -m)" = x86_64 ]; then
    if ! command -v aarch64-linux-gnu-gcc >/dev/null 2>&1 \
        || [ ! -f /usr/aarch64-linux-gnu/lib/libc.so.6 ]; then
        apt-get update -qq && apt-get install -y -qq gcc-aarch64-linux-gnu libc6-dev-arm64-cross
    fi
    if ! rustup target list --installed | grep -qx aarch64-unknown-linux-gnu; then
        rustup target add aarch64-unknown-linux-gnu
    fi
fi

# C handlers: Debian's clang, lld and wasi-libc.
if ! command -v clang >/dev/null 2>&1 || ! command -v wasm-ld >/dev/null 2>&1 \
    || [ ! -f /usr/lib/wasm32-wasi/libc.a ] \
    || ! ls /usr/lib/llvm-*/lib/clang/*/lib/wasi/libclang_rt.builtins-wasm32.a >/dev/null 2>&1; then
    apt-get update -qq && apt-get install -y -qq clang lld wasi-libc libclang-rt-dev-wasm32
fi
# The C code's formatter (scripts/test.sh checks the SDK, examples and guests).
if ! command -v clang-format >/dev/null 2>&1; then
    apt-get update -qq && apt-get install -y -qq clang-format
fi

# cJSON, which the C SDK compiles into every C handler: Debian's source
# package, pinned and checked against guest-sdk/c/cjson.lock, with Debian's
# patches applied, in guest-sdk/c/cjson. apt fetches it through a private list
# of the system's Debian sources (as deb-src), so nothing system-wide changes.
if ! cmp -s guest-sdk/c/cjson.lock guest-sdk/c/cjson/.wasm-lambda-lock; then
    bash scripts/fetch-cjson.sh
fi

# Go and Zig handlers: the Go and Zig toolchains from PyPI, pinned, in .venv.
for requirements in guest-sdk/go/requirements.txt guest-sdk/zig/requirements.txt; do
    stamp=".venv/.wasm-lambda-$(basename "$(dirname "$requirements")")"
    if ! cmp -s "$requirements" "$stamp"; then
        .venv/bin/pip install --quiet --disable-pip-version-check -r "$requirements"
        cp "$requirements" "$stamp"
    fi
done

# AssemblyScript handlers: the asc compiler, locked, in guest-sdk/assemblyscript/node_modules.
lock_stamp=guest-sdk/assemblyscript/node_modules/.wasm-lambda-lock
if ! cmp -s guest-sdk/assemblyscript/package-lock.json "$lock_stamp"; then
    (cd guest-sdk/assemblyscript && npm ci --silent --no-audit --no-fund)
    cp guest-sdk/assemblyscript/package-lock.json "$lock_stamp"
fi
