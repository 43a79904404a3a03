#!/usr/bin/env bash
# Fetches cJSON's Debian source package named in guest-sdk/c/cjson.lock,
# checks its files' SHA-256, applies Debian's patches and leaves cJSON.c,
# cJSON.h and the licence in guest-sdk/c/cjson. Called by setup.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
lock=guest-sdk/c/cjson.lock
package=$(awk '$1 == "package" { print $2 }' "$lock")
version=$(awk '$1 == "version" { print $2 }' "$lock")
if ! command -v patch >/dev/null 2>&1; then
    apt-get update -qq && apt-get install -y -qq patch
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/parts" "$work/lists/partial" "$work/cache/archives/partial" "$work/src"
# The system's Debian sources, as source-package sources.
for file in /etc/apt/sources.list.d/*.sources; do
    [ -f "$file" ] && sed 's/^Types:.*/Types: deb-src/' "$file" >"$work/parts/$(basename "$file")"
done
if [ -f /etc/apt/sources.list ]; then
    sed -n 's/^deb /deb-src /p' /etc/apt/sources.list >"$work/parts/system.list"
fi
apt_options=(
    -o "Dir::Etc::SourceList=/dev/null" -o "Dir::Etc::SourceParts=$work/parts"
    -o "Dir::State::Lists=$work/lists" -o "Dir::Cache=$work/cache"
    -o "APT::Sandbox::User=root" -o "Debug::NoLocking=true"
)
if [ ! -s "$work/parts/system.list" ] && ! ls "$work/parts"/*.sources >/dev/null 2>&1; then
    echo "setup: cannot fetch cJSON: this system has no Debian package sources (the C SDK" \
        "takes cJSON $version from Debian's); on another distribution, put cJSON.c, cJSON.h" \
        "and LICENSE of cJSON 1.7.15 in guest-sdk/c/cjson and copy $lock to" \
        "guest-sdk/c/cjson/.wasm-lambda-lock" >&2
    exit 1
fi
apt-get "${apt_options[@]}" -qq update
if ! (cd "$work/src" && apt-get "${apt_options[@]}" -qq source --download-only "$package=$version" >/dev/null); then
    echo "setup: cannot fetch cJSON $version from Debian's sources: Debian may have superseded" \
        "that revision. The revisions offered now: apt-cache showsrc $package (with deb-src" \
        "sources); put one in $lock with its files' SHA-256 (from the .dsc), or put cJSON.c," \
        "cJSON.h and LICENSE in guest-sdk/c/cjson yourself and copy $lock to" \
        "guest-sdk/c/cjson/.wasm-lambda-lock" >&2
    exit 1
fi

# Every file the lock names, with its hash.
awk 'NF == 2 && $1 ~ /\.tar\./ { print $2 "  " $1 }' "$lock" >"$work/SHA256SUMS"
(cd "$work/src" && sha256sum --quiet --check "$work/SHA256SUMS")

upstream=$(awk 'NF == 2 && $1 ~ /\.orig\.tar\./ { print $1 }' "$lock")
debian=$(awk 'NF == 2 && $1 ~ /\.debian\.tar\./ { print $1 }' "$lock")
mkdir "$work/tree"
tar -xf "$work/src/$upstream" -C "$work/tree" --strip-components=1
tar -xf "$work/src/$debian" -C "$work/tree"
if [ -f "$work/tree/debian/patches/series" ]; then
    grep -v '^\s*\(#\|$\)' "$work/tree/debian/patches/series" | while read -r name _; do
        patch --quiet --directory="$work/tree" -p1 <"$work/tree/debian/patches/$name"
    done
fi

rm -rf guest-sdk/c/cjson
mkdir -p guest-sdk/c/cjson
cp "$work/tree/cJSON.c" "$work/tree/cJSON.h" "$work/tree/LICENSE" guest-sdk/c/cjson/
cp "$lock" guest-sdk/c/cjson/.wasm-lambda-lock
echo "cJSON $version from Debian's sources in guest-sdk/c/cjson"
