"""Time from CreateFunction to Active on `wasm-lambda serve`, as boto3
sees it, for the Rust, Python and JavaScript hellos.

    deploy.py WASM_LAMBDA RUNS OUT_DIR

Each run starts a server on an empty state folder and an empty artifact
cache, creates the three functions one after the other ("cold": the
Python and JavaScript zips are source, built by the server with the same
toolchains as `wasm-lambda build`; the Rust zip is a component compiled on
load), then creates each again under a new name from the same zip ("new
name": the build and the compiled component are found again, but the
load-time snapshot is made anew, since the function's name is part of the
environment its init phase sees), then deletes the first and creates it
again with the same name and zip ("same name": every cache hits, as after
a restart or a redeploy of unchanged code). The clock runs from
sending CreateFunction until GetFunctionConfiguration first reports
Active, polled every 20 ms. Writes OUT_DIR/deploy.json and deploy.md
(median, min and max over the runs).
"""

import io
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import zipfile

import boto3
import botocore.config

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ROLE = "arn:aws:iam::123456789012:role/bench"
MODES = ("cold", "new name", "same name")


def zip_of(files):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, path in files:
            archive.write(path, name)
    return buffer.getvalue()


def hellos(wasm_lambda):
    built = subprocess.run(
        [wasm_lambda, "build", os.path.join(ROOT, "examples/rust/hello")],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    return [
        ("rust", "provided.al2023", "hello.wasm", zip_of([("hello.wasm", built)])),
        (
            "python",
            "python3.13",
            "lambda_function.lambda_handler",
            zip_of([("lambda_function.py", os.path.join(ROOT, "examples/python/hello/lambda_function.py"))]),
        ),
        (
            "javascript",
            "nodejs22.x",
            "index.handler",
            zip_of([("index.mjs", os.path.join(ROOT, "examples/js/hello/index.mjs"))]),
        ),
    ]


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start(wasm_lambda, state, cache):
    port = free_port()
    env = dict(os.environ, WASM_LAMBDA_CACHE_DIR=cache)
    server = subprocess.Popen(
        [wasm_lambda, "serve", "--listen", f"127.0.0.1:{port}", "--state-dir", state],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    endpoint = f"http://127.0.0.1:{port}"
    for _ in range(600):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return server, endpoint
        except OSError:
            time.sleep(0.05)
    server.kill()
    raise SystemExit("serve did not start")


def time_to_active(client, name, runtime, handler, code):
    started = time.monotonic()
    client.create_function(
        FunctionName=name, Runtime=runtime, Role=ROLE, Handler=handler, Code={"ZipFile": code}
    )
    while True:
        state = client.get_function_configuration(FunctionName=name)
        if state["State"] == "Active":
            return time.monotonic() - started
        if state["State"] == "Failed":
            raise SystemExit(f"{name} failed: {state.get('StateReason')}")
        time.sleep(0.02)


def main():
    wasm_lambda, runs, out_dir = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    functions = hellos(wasm_lambda)
    times = {(language, mode): [] for language, *_ in functions for mode in MODES}
    for run in range(runs):
        with tempfile.TemporaryDirectory() as scratch:
            server, endpoint = start(
                wasm_lambda, os.path.join(scratch, "state"), os.path.join(scratch, "cache")
            )
            try:
                client = boto3.client(
                    "lambda",
                    endpoint_url=endpoint,
                    region_name="us-east-1",
                    aws_access_key_id="bench",
                    aws_secret_access_key="bench",
                    config=botocore.config.Config(retries={"max_attempts": 1}, read_timeout=600),
                )
                for mode in MODES:
                    for language, runtime, handler, code in functions:
                        name = f"{language}-{'again' if mode == 'new name' else 'first'}"
                        if mode == "same name":
                            client.delete_function(FunctionName=name)
                        seconds = time_to_active(client, name, runtime, handler, code)
                        times[(language, mode)].append(seconds)
                        print(f"run {run + 1}: {language} {mode} {seconds:.2f} s", file=sys.stderr)
            finally:
                server.kill()
                server.wait()
    rows = [
        {
            "language": language,
            "mode": mode,
            "runs": len(values),
            "median_s": round(statistics.median(values), 3),
            "min_s": round(min(values), 3),
            "max_s": round(max(values), 3),
        }
        for (language, mode), values in times.items()
    ]
    os.makedirs(out_dir, exist_ok=True)
    with open(os.path.join(out_dir, "deploy.json"), "w") as file:
        json.dump(rows, file, indent=2)
    lines = [
        "| hello | caches | median (s) | min | max | runs |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for row in rows:
        lines.append(
            f"| {row['language']} | {row['mode']} | {row['median_s']:.2f} | {row['min_s']:.2f} | {row['max_s']:.2f} | {row['runs']} |"
        )
    with open(os.path.join(out_dir, "deploy.md"), "w") as file:
        file.write("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
