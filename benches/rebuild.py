"""What `wasm-lambda build` costs when nothing changed, and after a one-line
edit, per language.

Each language's hello is copied to a fresh folder and built once; then the
script times RUNS builds of the unchanged folder and RUNS builds after a
one-line edit (the greeting changed), each as the whole command a person
runs (`wasm-lambda build DIR`), process start included.

    python3 benches/rebuild.py WASM_LAMBDA RUNS OUT_DIR [LANGUAGE...]
"""

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(__file__))
from watch_latency import LANGUAGES, ROOT, project, write_results  # noqa: E402


def build(wasm_lambda, folder, env):
    started = time.monotonic()
    subprocess.run(
        [wasm_lambda, "build", folder], check=True, env=env,
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )
    return time.monotonic() - started


def main():
    wasm_lambda, runs, out_dir = os.path.abspath(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
    chosen = sys.argv[4:] or [language for language, _ in LANGUAGES]
    env = dict(os.environ, CARGO_TARGET_DIR=os.path.join(ROOT, "target", "watch-bench"))
    results = {}
    with tempfile.TemporaryDirectory() as work:
        for language, source_file in LANGUAGES:
            if language not in chosen:
                continue
            folder = os.path.join(work, language)
            project(language, folder)
            first = build(wasm_lambda, folder, env)
            unchanged = [build(wasm_lambda, folder, env) for _ in range(runs)]
            path = os.path.join(folder, source_file)
            with open(path) as handle:
                original = handle.read()
            edited = []
            for edit in range(1, runs + 1):
                with open(path, "w") as handle:
                    handle.write(original.replace("Hello ", f"Hi{edit} "))
                edited.append(build(wasm_lambda, folder, env))
            results[language] = {
                "first_build_s": first,
                "unchanged_median_s": statistics.median(unchanged),
                "unchanged_max_s": max(unchanged),
                "one_line_edit_median_s": statistics.median(edited),
                "one_line_edit_max_s": max(edited),
            }
            print(language, json.dumps(results[language]), flush=True)
    lines = [
        f"`wasm-lambda build` of each hello, {runs} runs each (`bash benches/rebuild.sh`):",
        "",
        "| language | unchanged, median (max) | one-line edit, median (max) |",
        "| --- | --- | --- |",
    ]
    for language, row in results.items():
        lines.append(
            f"| {language} | {row['unchanged_median_s'] * 1000:.0f} ms "
            f"({row['unchanged_max_s'] * 1000:.0f} ms) | "
            f"{row['one_line_edit_median_s']:.2f} s ({row['one_line_edit_max_s']:.2f} s) |"
        )
    write_results(out_dir, "rebuild", results, lines)


if __name__ == "__main__":
    main()
