"""Runs a Lambda Python handler once in this process, as a native baseline
for cold starts: `python3 python_runner.py DIR EVENT_JSON`."""

import json
import sys

sys.path.insert(0, sys.argv[1])
import lambda_function  # noqa: E402 - the handler's folder is only known now

print(json.dumps(lambda_function.lambda_handler(json.loads(sys.argv[2]), None)))
