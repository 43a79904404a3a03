#!/usr/bin/env bash
# Puts wasmtime's published source, with the project's patches in
# host/patches/wasmtime-*.patch applied, in host/patches/wasmtime, which the
# workspace's `[patch.crates-io]` builds instead of the registry's copy.
# Called by setup.sh whenever a patch or the version changes.
#
# Why a patch: a pool slot is reset by scanning for the pages its last
# instance dirtied (PAGEMAP_SCAN). wasmtime 48 stops after the first 32 runs
# of dirty pages and unmaps the rest of the memory, so a Python or JavaScript
# heap, which dirties hundreds of scattered pages, was faulted in again by
# every new instance (about 290 faults, 0.9 ms, per Python cold start). The
# patch resumes the scan until the end of memory or the keep-resident budget,
# and also resets dirty pages that are swapped out, which the scan skipped.
# A second patch (wasmtime-guest-handles.patch) lets the host list and put
# back the resource handles a guest holds, so a load-time snapshot keeps the
# handles wasi-libc took to the preopened folders.
set -euo pipefail
cd "$(dirname "$0")/.."
# The version Cargo.lock resolves (the workspace pins it exactly).
version=$(awk '/^name = "wasmtime"$/ { getline; gsub(/"/, "", $3); print $3; exit }' Cargo.lock)
if [ -z "$version" ]; then
    echo "error: Cargo.lock names no wasmtime version" >&2
    exit 1
fi
out=host/patches/wasmtime
stamp=$( (echo "$version"; cat host/patches/wasmtime-*.patch) | sha256sum | cut -d' ' -f1)
if [ -f "$out/.wasm-lambda-patched" ] && [ "$(cat "$out/.wasm-lambda-patched")" = "$stamp" ]; then
    exit 0
fi

# Cargo fetches the published crate (checked against the registry's
# checksum) for a throwaway package that depends on exactly this version.
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir "$work/src"
touch "$work/src/lib.rs"
cat >"$work/Cargo.toml" <<TOML
[package]
name = "wasmtime-source"
version = "0.0.0"
edition = "2024"
publish = false

[dependencies]
wasmtime = { version = "=$version", default-features = false }

[workspace]
TOML
cargo fetch --quiet --manifest-path "$work/Cargo.toml"
source=$(cargo metadata --quiet --format-version 1 --manifest-path "$work/Cargo.toml" |
    python3 -c 'import json, sys, os
meta = json.load(sys.stdin)
print(next(os.path.dirname(p["manifest_path"]) for p in meta["packages"] if p["name"] == "wasmtime"))')

rm -rf "$out"
cp -r "$source" "$out"
for patch in host/patches/wasmtime-*.patch; do
    # Outside any repository (the ceiling stops git finding the project's):
    # inside one, `git apply` silently skips a `diff --git` patch whose
    # paths are not relative to the repository's top, and a patch must fail
    # loudly when it stops applying.
    (cd "$out" && GIT_CEILING_DIRECTORIES="$(dirname "$PWD")" git apply -p1 "$OLDPWD/$patch")
done
echo "$stamp" >"$out/.wasm-lambda-patched"
