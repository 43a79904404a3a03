"""Runs a Lambda Python handler once in this process, as a native baseline
for cold starts: `python3 python_runner.py DIR [EVENT_JSON]`, the event from
stdin when not given (as `wasm-lambda bench --vs-native` passes it)."""

import json
import sys

sys.path.insert(0, sys.argv[1])
import lambda_function  # noqa: E402 - the handler's folder is only known now

event = sys.argv[2] if len(sys.argv) > 2 else sys.stdin.read()
print(json.dumps(lambda_function.lambda_handler(json.loads(event), None)))
