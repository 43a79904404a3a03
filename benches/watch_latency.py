"""Edit-to-new-answer latency of `wasm-lambda serve --watch`, per language.

For each language a copy of its hello handler is served with `--watch`; the
script then edits the greeting EDITS times and, for each edit, measures the
time from writing the file to the first invocation (over HTTP, polled every
20 ms) that answers with the new greeting: the debounce, the build, the
load (compile and snapshot) and the swap. Each edit waits for the previous
one's answer, as a person does.

    python3 benches/watch_latency.py WASM_LAMBDA EDITS OUT_DIR [LANGUAGE...]
"""

import json
import math
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
EVENT = b'{"first_name":"John","last_name":"Smith"}'
POLL = 0.02
PAUSE = 0.5
TIMEOUT = 300
# (language, the hello's source file, relative to its folder)
LANGUAGES = [
    ("rust", "src/lib.rs"),
    ("python", "lambda_function.py"),
    ("javascript", "index.mjs"),
    ("go", "main.go"),
    ("c", "handler.c"),
    ("zig", "handler.zig"),
    ("assemblyscript", "index.ts"),
]
EXAMPLE_DIRS = {"javascript": "js"}

RUST_MANIFEST = """[package]
name = "hello"
version = "0.1.0"
edition = "2024"

[lib]
crate-type = ["cdylib"]

[dependencies]
wasm-lambda-sdk = {{ path = "{sdk}" }}
serde = {{ version = "1", features = ["derive"] }}
serde_json = "1"

[workspace]
"""


def project(language, into):
    """A standalone copy of the language's hello in `into`."""
    source = os.path.join(ROOT, "examples", EXAMPLE_DIRS.get(language, language), "hello")
    # Fresh modification times: cargo, with the target folder shared across
    # runs, takes a copy with the example's old times for the last run's.
    shutil.copytree(
        source, into, ignore=shutil.ignore_patterns("build", "target"), copy_function=shutil.copy
    )
    if language == "rust":
        # The example belongs to the examples' workspace; the copy stands alone.
        with open(os.path.join(into, "Cargo.toml"), "w") as manifest:
            manifest.write(RUST_MANIFEST.format(sdk=os.path.join(ROOT, "guest-sdk", "rust")))
        shutil.copy(os.path.join(ROOT, "examples", "rust", "Cargo.lock"), into)


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def invoke(port):
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/2015-03-31/functions/hello/invocations", data=EVENT
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.read()
    except OSError:
        return b""


def measure(wasm_lambda, language, source_file, edits, work):
    folder = os.path.join(work, language)
    project(language, folder)
    port = free_port()
    env = dict(os.environ, CARGO_TARGET_DIR=os.path.join(ROOT, "target", "watch-bench"))
    server = subprocess.Popen(
        [wasm_lambda, "serve", "--watch", "--listen", f"127.0.0.1:{port}",
         "--state-dir", os.path.join(work, language + "-state"),
         "--function", f"hello={folder}"],
        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env,
    )
    log = []
    threading.Thread(
        target=lambda: [log.append(line.decode(errors="replace")) for line in server.stderr],
        daemon=True,
    ).start()
    try:
        started = time.monotonic()
        while not any("serving hello" in line for line in log):
            if server.poll() is not None or time.monotonic() - started > TIMEOUT:
                raise RuntimeError(f"{language}: serve did not start:\n{''.join(log)}")
            time.sleep(0.1)
        path = os.path.join(folder, source_file)
        with open(path) as handle:
            original = handle.read()
        assert "Hello " in original, f"{path} has no greeting"
        assert b"Hello John Smith" in invoke(port)
        latencies = []
        for edit in range(1, edits + 1):
            greeting = f"Hi{edit} "
            with open(path, "w") as handle:
                handle.write(original.replace("Hello ", greeting))
            written = time.monotonic()
            while greeting.encode() + b"John Smith" not in invoke(port):
                if time.monotonic() - written > TIMEOUT:
                    raise RuntimeError(f"{language}: edit {edit} never served:\n{''.join(log[-30:])}")
                time.sleep(POLL)
            latencies.append(time.monotonic() - written)
            time.sleep(PAUSE)
        return latencies
    finally:
        server.terminate()
        server.wait()


def nearest_rank(values, fraction):
    ordered = sorted(values)
    return ordered[max(0, min(len(ordered), math.ceil(len(ordered) * fraction)) - 1)]


def main():
    wasm_lambda, edits, out_dir = os.path.abspath(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
    chosen = sys.argv[4:] or [language for language, _ in LANGUAGES]
    results = {}
    with tempfile.TemporaryDirectory() as work:
        for language, source_file in LANGUAGES:
            if language not in chosen:
                continue
            latencies = measure(wasm_lambda, language, source_file, edits, work)
            results[language] = {
                "edits": len(latencies),
                "p50_s": statistics.median(latencies),
                "p95_s": nearest_rank(latencies, 0.95),
                "min_s": min(latencies),
                "max_s": max(latencies),
            }
            print(language, json.dumps(results[language]), flush=True)
    lines = [
        f"Edit to new answer under `serve --watch`, {edits} edits per language "
        "(`bash benches/watch-latency.sh`):",
        "",
        "| language | p50 | p95 | min | max |",
        "| --- | --- | --- | --- | --- |",
    ]
    for language, row in results.items():
        lines.append(
            f"| {language} | {row['p50_s']:.2f} s | {row['p95_s']:.2f} s | "
            f"{row['min_s']:.2f} s | {row['max_s']:.2f} s |"
        )
    write_results(out_dir, "watch-latency", results, lines)


def write_results(out_dir, stem, results, lines):
    """Writes `results` as OUT_DIR/STEM.json and `lines` as OUT_DIR/STEM.md."""
    os.makedirs(out_dir, exist_ok=True)
    with open(os.path.join(out_dir, stem + ".json"), "w") as out:
        json.dump(results, out, indent=2)
    with open(os.path.join(out_dir, stem + ".md"), "w") as out:
        out.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
