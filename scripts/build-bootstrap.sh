#!/usr/bin/env bash
# Builds `wasm-lambda` for a Lambda architecture, to ship as a package's
# bootstrap, and prints the binary's path:
#
#   bash scripts/build-bootstrap.sh arm64                 # release build
#   bash scripts/build-bootstrap.sh arm64 --profile P     # another profile
#
# For another architecture than this machine's it cross-compiles with
# Debian's GCC and C library for it (installed here when missing) and Rust's
# standard library for the target (rustup). The C library is Debian 12's
# (glibc 2.36), and the binary uses no symbol newer than glibc 2.34, which
# `provided.al2023` has (`runtime::an_arm64_package_answers_under_qemu`
# checks it).
set -euo pipefail
cd "$(dirname "$0")/.."

arch=${1:?usage: scripts/build-bootstrap.sh x86_64|arm64 [--profile PROFILE]}
shift
profile=release
if [ "${1:-}" = --profile ]; then
    profile=${2:?--profile needs a profile name}
fi
case "$arch" in
    arm64 | aarch64)
        target=aarch64-unknown-linux-gnu gnu=aarch64-linux-gnu
        packages="gcc-aarch64-linux-gnu libc6-dev-arm64-cross"
        ;;
    x86_64)
        target=x86_64-unknown-linux-gnu gnu=x86_64-linux-gnu
        packages="gcc-x86-64-linux-gnu libc6-dev-amd64-cross"
        ;;
    *)
        echo "error: unknown architecture $arch: Lambda's are x86_64 and arm64" >&2
        exit 2
        ;;
esac

# Cargo's folder for a profile: `dev` builds into `debug`.
folder=$profile
[ "$profile" = dev ] && folder=debug

bash scripts/patch-wasmtime.sh
# The whole `wasm-lambda`, not the slim `wasm-lambda-bootstrap`: `package
# --arch` runs the command again as this binary under qemu, which needs the
# command line.
if [ "$(uname -m)" = "${target%%-*}" ]; then
    cargo build --locked --profile "$profile" -p wasm-lambda --bin wasm-lambda >&2
    echo "target/$folder/wasm-lambda"
    exit 0
fi

if ! command -v "$gnu-gcc" >/dev/null 2>&1; then
    apt-get update -qq && apt-get install -y -qq $packages >&2
fi
if ! rustup target list --installed | grep -qx "$target"; then
    rustup target add "$target" >&2
fi
upper=$(echo "$target" | tr 'a-z-' 'A-Z_')
lower=${target//-/_}
# The linker, and the C compiler and archiver for crates with C code (ring).
env "CARGO_TARGET_${upper}_LINKER=$gnu-gcc" "CC_${lower}=$gnu-gcc" "AR_${lower}=$gnu-ar" \
    cargo build --locked --profile "$profile" -p wasm-lambda --bin wasm-lambda --target "$target" >&2
echo "target/$target/$folder/wasm-lambda"
