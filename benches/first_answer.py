"""Time from a packaged function's start to its first answer, as on Lambda,
for the hellos and for handlers with an AWS SDK client at module level.

Each package (`wasm-lambda package` of a hello) is unpacked into a fresh task
root and its `bootstrap` started as Lambda starts a new execution
environment: an environment with Lambda's variables only, an empty temporary
folder, no HOME, under cargo-lambda's Runtime API emulator. The figures are
the time from starting the process to the first answer (what a cold start
costs), and the mean of the next events' round trips (what each event costs
after it: every event runs in a fresh sandbox).

Python and JavaScript are measured without a snapshot (the init phase runs
in every sandbox) and with the one `--snapshot` packages, side by side in
one run.

    python3 benches/first_answer.py WASM_LAMBDA RUNS OUT_DIR
"""

import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
import zipfile

EVENT = b'{"first_name":"John","last_name":"Smith"}'
NEXT_EVENTS = 10
CASES = [
    # (name, project, component file, flags, what the answer holds)
    ("rust hello", "examples/rust/hello", "hello.wasm", [], b"Hello John Smith"),
    ("python hello", "examples/python/hello", "hello.wasm", [], b"Hello John Smith"),
    ("python hello --snapshot", "examples/python/hello", "hello.wasm", ["--snapshot"],
     b"Hello John Smith"),
    ("python boto3 client", "benches/handlers/python-boto3", "python-boto3.wasm", [], b"s3"),
    ("python boto3 client --snapshot", "benches/handlers/python-boto3", "python-boto3.wasm",
     ["--snapshot"], b"s3"),
    ("javascript hello", "examples/js/hello", "hello.wasm", [], b"Hello John Smith"),
    ("javascript hello --snapshot", "examples/js/hello", "hello.wasm", ["--snapshot"],
     b"Hello John Smith"),
    ("javascript sdk client", "benches/handlers/js-aws-sdk", "js-aws-sdk.wasm", [], b"true"),
    ("javascript sdk client --snapshot", "benches/handlers/js-aws-sdk", "js-aws-sdk.wasm",
     ["--snapshot"], b"true"),
]
PLATFORM = {
    "AWS_XRAY_CONTEXT_MISSING": "LOG_ERROR",
    "AWS_XRAY_DAEMON_ADDRESS": "169.254.79.129:2000",
    "_AWS_XRAY_DAEMON_ADDRESS": "169.254.79.129",
    "_AWS_XRAY_DAEMON_PORT": "2000",
}


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_emulator(work):
    folder = os.path.join(work, "emulator")
    os.makedirs(os.path.join(folder, "src"))
    with open(os.path.join(folder, "Cargo.toml"), "w") as manifest:
        manifest.write(
            '[package]\nname = "emulated"\nversion = "0.1.0"\nedition = "2021"\n[workspace]\n'
        )
    with open(os.path.join(folder, "src", "main.rs"), "w") as main:
        main.write("fn main() {}\n")
    port = free_port()
    process = subprocess.Popen(
        [os.path.abspath(".venv/bin/cargo-lambda"), "lambda", "watch", "--only-lambda-apis",
         "--invoke-port", str(port)],
        cwd=folder, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return process, port
        except OSError:
            time.sleep(0.05)


def invoke(port):
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/2015-03-31/functions/_/invocations", data=EVENT
    )
    with urllib.request.urlopen(request, timeout=120) as response:
        return response.read()


def unpack(zip_path, task):
    with zipfile.ZipFile(zip_path) as archive:
        for info in archive.infolist():
            path = archive.extract(info, task)
            mode = info.external_attr >> 16
            if mode:
                os.chmod(path, mode)


def one_start(zip_path, port, work, run, expect):
    task = os.path.join(work, f"task-{run}")
    tmp = os.path.join(work, f"tmp-{run}")
    os.makedirs(tmp)
    unpack(zip_path, task)
    handler = next(name for name in os.listdir(task) if name.endswith(".wasm"))
    env = {
        "AWS_LAMBDA_RUNTIME_API": f"127.0.0.1:{port}/.rt",
        "AWS_LAMBDA_FUNCTION_NAME": "_",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "128",
        "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
        "AWS_REGION": "us-east-1",
        "AWS_DEFAULT_REGION": "us-east-1",
        "LAMBDA_TASK_ROOT": task,
        "LAMBDA_RUNTIME_DIR": "/var/runtime",
        "_HANDLER": handler,
        "TMPDIR": tmp,
        "PATH": "/usr/local/bin:/usr/bin:/bin",
        "LANG": "en_US.UTF-8",
        "TZ": ":UTC",
        **PLATFORM,
    }
    started = time.perf_counter()
    process = subprocess.Popen(
        [os.path.join(task, "bootstrap")], env=env,
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )
    try:
        answer = invoke(port)
        first = time.perf_counter() - started
        assert expect in answer, answer
        times = []
        for _ in range(NEXT_EVENTS):
            sent = time.perf_counter()
            invoke(port)
            times.append(time.perf_counter() - sent)
    finally:
        process.kill()
        _, stderr = process.communicate()
    shutil.rmtree(task)
    shutil.rmtree(tmp)
    return first, statistics.mean(times), stderr.decode(errors="replace")


def main():
    wasm_lambda, runs, out = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    rows = []
    with tempfile.TemporaryDirectory() as work:
        emulator, port = start_emulator(work)
        try:
            built = set()
            for name, folder, file_name, flags, expect in CASES:
                if folder not in built:
                    subprocess.run([wasm_lambda, "build", folder], check=True,
                                   stdout=subprocess.DEVNULL)
                    built.add(folder)
                component = os.path.join(folder, "build", file_name)
                zip_path = os.path.join(work, "function.zip")
                subprocess.run(
                    [wasm_lambda, "package", component, "-o", zip_path,
                     "--function-name", "_", "--memory", "128", "--region", "us-east-1",
                     *flags],
                    check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                )
                firsts, nexts, said = [], [], ""
                for run in range(runs):
                    first, after, said = one_start(zip_path, port, work, run, expect)
                    firsts.append(first)
                    nexts.append(after)
                rows.append({
                    "package": name,
                    "zip_bytes": os.path.getsize(zip_path),
                    "first_answer_s": firsts,
                    "next_event_ms": [after * 1000 for after in nexts],
                    "runtime_said": said.strip()[-300:],
                })
                print(f"{name}: first answer {min(firsts):.3f}-{max(firsts):.3f} s, "
                      f"next events {statistics.mean(nexts) * 1000:.1f} ms", flush=True)
        finally:
            emulator.kill()
            emulator.wait()
    with open(os.path.join(out, "first-answer.json"), "w") as output:
        json.dump(rows, output, indent=2)
    with open(os.path.join(out, "first-answer.md"), "w") as output:
        output.write(
            "# First answer of a packaged function under the Runtime API emulator\n\n"
            f"`bash benches/first-answer.sh {runs}`: {runs} fresh starts per package, one run.\n\n"
            "| package | zipped | first answer (s), min-max | each next event (ms), mean |\n"
            "| --- | --- | --- | --- |\n"
        )
        for row in rows:
            firsts = row["first_answer_s"]
            output.write(
                f"| {row['package']} | {row['zip_bytes'] / 1e6:.1f} MB "
                f"| {min(firsts):.3f}-{max(firsts):.3f} "
                f"| {statistics.mean(row['next_event_ms']):.1f} |\n"
            )


if __name__ == "__main__":
    main()
