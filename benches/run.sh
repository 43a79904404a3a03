#!/usr/bin/env bash
# Measures every example language's calculator with `wasm-lambda bench`, side
# by side with the same handler as a native process where one exists, and
# writes the table, the JSON and the chart to benches/results/.
#
#   bash benches/run.sh [ITERATIONS]     # default 1000 (natives run as often)
set -euo pipefail
cd "$(dirname "$0")/.."
iterations=${1:-1000}
bash scripts/setup.sh >/dev/null

wasm_lambda=target/release/wasm-lambda
out=benches/results
native=target/native-baselines
mkdir -p "$out" "$native"

components=()
for language in rust c zig assemblyscript go js python; do
    components+=("$("$wasm_lambda" build "examples/$language/calculator" 2>/dev/null)")
done

# The native baselines: the same calculator as a plain process.
cargo build --release --locked -q -p wasm-lambda-benches --bin native-calculator
gcc -O2 -I guest-sdk/c -I guest-sdk/c/cjson benches/native/c_runner.c \
    examples/c/calculator/handler.c guest-sdk/c/cjson/cJSON.c -o "$native/c-calculator"
GOTOOLCHAIN=local GOPROXY=off GOFLAGS= .venv/bin/go build -o "$native/go-calculator" \
    benches/native/go_calculator.go

natives=(
    --vs-native "target/release/native-calculator"
    --vs-native "$native/c-calculator"
    --vs-native ""
    --vs-native ""
    --vs-native "$native/go-calculator"
    --vs-native "node benches/native/node_runner.mjs examples/js/calculator"
    --vs-native "python3 benches/native/python_runner.py examples/python/calculator"
)
event='{"action":"increment","number":3}'
"$wasm_lambda" bench "${components[@]}" --event "$event" --iterations "$iterations" \
    "${natives[@]}" --mixed --json --chart "$out/cold-start.svg" > "$out/latest.json"

# The Markdown table benches/README.md shows.
python3 - "$out/latest.json" > "$out/latest.md" <<'PY'
import json, sys

def human(us):
    return f"{us / 1000:.2f} ms" if us >= 1000 else f"{us:.1f} µs"

rows = json.load(open(sys.argv[1]))
print("| language | cold p50 | cold p90 | cold p99 | mixed p50 | mixed / cold | warm p50 "
      "| native process p50 | native / cold |")
print("|---|---|---|---|---|---|---|---|---|")
for r in rows:
    native = human(r["native_p50_us"]) if "native_p50_us" in r else "-"
    ratio = f'{r["native_ratio"]:.0f}×' if "native_ratio" in r else "-"
    print(f'| {r["language"]} | {human(r["cold_p50_us"])} | {human(r["cold_p90_us"])} | '
          f'{human(r["cold_p99_us"])} | {human(r["mixed_p50_us"])} | {r["mixed_ratio"]:.2f}× | '
          f'{human(r["warm_p50_us"])} | {native} | {ratio} |')
PY
cat "$out/latest.md"
echo "wrote $out/latest.json, $out/latest.md and $out/cold-start.svg"
