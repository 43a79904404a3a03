"""serve nodes sharing one NATS JetStream, measured side by side in one run.

    cluster.py WASM_LAMBDA RUNS OUT_DIR

Each run, for each setup (one node with the embedded store, one node with
the NATS backend, three nodes with the NATS backend, each setup with a new
NATS server and new state folders, the artifact cache shared and warm):

- events/s: EVENTS `Event` invocations of the Rust hello, sent by 16 client
  threads spread over the setup's nodes, from the first send until every
  node's `GET /wasm-lambda/queue` counts them all succeeded;
- RequestResponse p50 (one NATS node): SYNC invocations one after the
  other, alternating between an embedded node and a NATS node started side
  by side (each first every other time), so that both see the same
  machine;
- create to answer (three NATS nodes): CREATES functions created one after
  the other on the first node (a component zip of the Rust hello under a new
  name each time), each timed from sending CreateFunction until an
  invocation on each of the two other nodes answers 200 (polled every 5 ms);
  p50 and p95 over all creates of all runs.

Everything runs on this machine: the nodes, NATS and the clients share its
cores, so three nodes measure the cost of sharing, not a cluster's gain.
"""

import http.client
import io
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import zipfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
EVENTS = 2000
SYNC = 2000
CREATES = 50
EVENT = json.dumps({"first_name": "John", "last_name": "Smith"}).encode()


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_for_port(port, what, process):
    for _ in range(1200):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            if process.poll() is not None:
                raise SystemExit(f"{what} exited with {process.returncode}")
            time.sleep(0.05)
    raise SystemExit(f"{what} did not start")


def start_nats(scratch):
    port = free_port()
    nats = subprocess.Popen(
        [
            "nats-server",
            "-js",
            "-a",
            "127.0.0.1",
            "-p",
            str(port),
            "-sd",
            os.path.join(scratch, "nats"),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    wait_for_port(port, "nats-server", nats)
    return nats, f"nats://127.0.0.1:{port}"


def start_node(wasm_lambda, config, state, backend=None):
    port = free_port()
    command = [
        wasm_lambda,
        "serve",
        "--listen",
        f"127.0.0.1:{port}",
        "--state-dir",
        state,
    ]
    command += ["--config", config] if config else []
    command += ["--backend", backend] if backend else []
    node = subprocess.Popen(
        command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    wait_for_port(port, "serve", node)
    return node, port


def request(port, method, path, body=b"", headers=None):
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        connection.request(method, path, body=body, headers=headers or {})
        answer = connection.getresponse()
        return answer.status, answer.read()
    finally:
        connection.close()


def succeeded(ports):
    return sum(
        json.loads(request(port, "GET", "/wasm-lambda/queue")[1])["succeeded"]
        for port in ports
    )


def events_per_second(ports):
    sent = [0]
    lock = threading.Lock()

    def sender(index):
        connection = http.client.HTTPConnection(
            "127.0.0.1", ports[index % len(ports)], timeout=60
        )
        while True:
            with lock:
                if sent[0] >= EVENTS:
                    break
                sent[0] += 1
            connection.request(
                "POST",
                "/2015-03-31/functions/hello/invocations",
                body=EVENT,
                headers={"X-Amz-Invocation-Type": "Event"},
            )
            answer = connection.getresponse()
            answer.read()
            if answer.status != 202:
                raise SystemExit(f"an Event invocation answered {answer.status}")
        connection.close()

    started = time.monotonic()
    threads = [threading.Thread(target=sender, args=(index,)) for index in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    while succeeded(ports) < EVENTS:
        if time.monotonic() - started > 600:
            raise SystemExit("the events did not all succeed in 10 minutes")
        time.sleep(0.01)
    return EVENTS / (time.monotonic() - started)


def sync_p50s(embedded_port, nats_port):
    times = {"embedded": [], "nats": []}
    connections = {
        "embedded": http.client.HTTPConnection("127.0.0.1", embedded_port, timeout=60),
        "nats": http.client.HTTPConnection("127.0.0.1", nats_port, timeout=60),
    }
    for index in range(SYNC):
        # Each goes first every other time.
        for kind in ("embedded", "nats") if index % 2 == 0 else ("nats", "embedded"):
            connection = connections[kind]
            started = time.perf_counter()
            connection.request(
                "POST", "/2015-03-31/functions/hello/invocations", body=EVENT
            )
            answer = connection.getresponse()
            answer.read()
            times[kind].append(time.perf_counter() - started)
            if answer.status != 200:
                raise SystemExit(f"an invocation answered {answer.status}")
    return {kind: statistics.median(values) * 1e6 for kind, values in times.items()}


def create_to_answer(ports, zip_bytes, run):
    import base64

    times = []
    for index in range(CREATES):
        name = f"made-{run}-{index}"
        body = json.dumps(
            {
                "FunctionName": name,
                "Runtime": "provided.al2023",
                "Role": "arn:aws:iam::123456789012:role/bench",
                "Handler": "hello.wasm",
                "Code": {"ZipFile": base64.b64encode(zip_bytes).decode()},
            }
        ).encode()
        started = time.monotonic()
        status, answer = request(ports[0], "POST", "/2015-03-31/functions", body)
        if status != 201:
            raise SystemExit(f"CreateFunction answered {status}: {answer[:300]}")
        pending = set(ports[1:])
        while pending:
            for port in list(pending):
                status, _ = request(
                    port, "POST", f"/2015-03-31/functions/{name}/invocations", EVENT
                )
                if status == 200:
                    pending.discard(port)
            if time.monotonic() - started > 60:
                raise SystemExit(f"{name} did not answer on every node in 60 s")
            if pending:
                time.sleep(0.005)
        times.append(time.monotonic() - started)
    return times


def main():
    wasm_lambda, runs, out_dir = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    if shutil.which("nats-server") is None:
        raise SystemExit("nats-server is missing: run scripts/setup.sh")
    component = subprocess.run(
        [wasm_lambda, "build", os.path.join(ROOT, "examples/rust/hello")],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.write(component, "hello.wasm")
    zip_bytes = buffer.getvalue()
    rates = {"1 node, embedded": [], "1 node, NATS": [], "3 nodes, NATS": []}
    sync = {"embedded": [], "nats": []}
    creates = []
    for run in range(runs):
        for setup in rates:
            with tempfile.TemporaryDirectory() as scratch:
                config = os.path.join(scratch, "functions.toml")
                with open(config, "w") as file:
                    file.write(
                        f'[[function]]\nname = "hello"\ncomponent = {json.dumps(component)}\n'
                    )
                nats, url = start_nats(scratch) if "NATS" in setup else (None, None)
                count = 3 if setup.startswith("3") else 1
                nodes = [
                    start_node(
                        wasm_lambda,
                        config,
                        os.path.join(scratch, f"state-{index}"),
                        url,
                    )
                    for index in range(count)
                ]
                extra = None
                try:
                    ports = [port for _, port in nodes]
                    rate = events_per_second(ports)
                    rates[setup].append(rate)
                    print(
                        f"run {run + 1}: {setup}: {rate:.0f} events/s", file=sys.stderr
                    )
                    if setup == "1 node, NATS":
                        extra = start_node(
                            wasm_lambda, config, os.path.join(scratch, "state-embedded")
                        )
                        p50s = sync_p50s(extra[1], ports[0])
                        for kind, value in p50s.items():
                            sync[kind].append(value)
                        print(
                            f"run {run + 1}: RequestResponse p50 {p50s}",
                            file=sys.stderr,
                        )
                    if setup == "3 nodes, NATS":
                        made = create_to_answer(ports, zip_bytes, run)
                        creates.extend(made)
                        print(
                            f"run {run + 1}: create to answer p50 {statistics.median(made) * 1000:.0f} ms",
                            file=sys.stderr,
                        )
                finally:
                    for node, _ in nodes + ([extra] if extra else []):
                        node.kill()
                        node.wait()
                    if nats:
                        nats.kill()
                        nats.wait()
    creates.sort()
    p95 = creates[min(len(creates) - 1, int(len(creates) * 0.95))]
    result = {
        "events_per_second": rates,
        "request_response_p50_us": sync,
        "create_to_answer_s": {
            "p50": statistics.median(creates),
            "p95": p95,
            "max": creates[-1],
        },
    }
    os.makedirs(out_dir, exist_ok=True)
    with open(os.path.join(out_dir, "cluster.json"), "w") as file:
        json.dump(result, file, indent=2)
    lines = [
        f"`bash benches/cluster.sh {runs}`: median (min to max) over {runs} runs.",
        "",
        "| setup | Event invocations per second |",
        "| --- | --- |",
    ]
    for setup, values in rates.items():
        lines.append(
            f"| {setup} | {statistics.median(values):.0f} ({min(values):.0f} to {max(values):.0f}) |"
        )
    embedded, nats = (
        statistics.median(sync["embedded"]),
        statistics.median(sync["nats"]),
    )
    lines += [
        "",
        "| RequestResponse p50 | µs |",
        "| --- | --- |",
        f"| embedded node | {embedded:.0f} ({min(sync['embedded']):.0f} to {max(sync['embedded']):.0f}) |",
        f"| NATS node | {nats:.0f} ({min(sync['nats']):.0f} to {max(sync['nats']):.0f}) |",
        f"| NATS over embedded | {nats / embedded:.2f}× |",
        "",
        f"Create on one node to answering on both others, {len(creates)} creates: "
        f"p50 {result['create_to_answer_s']['p50'] * 1000:.0f} ms, p95 {p95 * 1000:.0f} ms, "
        f"max {creates[-1] * 1000:.0f} ms.",
    ]
    with open(os.path.join(out_dir, "cluster.md"), "w") as file:
        file.write("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
