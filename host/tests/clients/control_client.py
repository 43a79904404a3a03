"""Calls the Lambda control plane of `wasm-lambda serve` with boto3, as a
deployment tool would, and prints what boto3 returned as JSON for the Rust
tests to check.

    python control_client.py ENDPOINT call OPERATION JSON
        One boto3 call: `OPERATION` is the client method (create_function,
        get_function, ...), JSON its keyword arguments. A string "@PATH" as
        a ZipFile value is read from that file. Prints the response without
        ResponseMetadata (with "status": the HTTP status), or the error.
    python control_client.py ENDPOINT wait WAITER FUNCTION [QUALIFIER]
        Runs a botocore waiter (function_active_v2, function_updated_v2,
        published_version_active, ...) polling every second; prints
        {"waited": seconds} or the error.
    python control_client.py ENDPOINT spread FUNCTION COUNT PAYLOAD
        Invokes FUNCTION (a qualified name) COUNT times from 8 threads;
        prints how many answers each X-Amz-Executed-Version had, with the
        payloads each version answered.
    python control_client.py ENDPOINT pages FUNCTIONS_PER_PAGE
        ListFunctions through boto3's paginator; prints the names per page.
"""

import base64
import json
import sys
import time
from concurrent.futures import ThreadPoolExecutor

import boto3
import botocore.config
import botocore.exceptions


def client(endpoint):
    return boto3.client(
        "lambda",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id="test",
        aws_secret_access_key="test",
        config=botocore.config.Config(
            retries={"max_attempts": 1},
            read_timeout=300,
            parameter_validation=False,
            max_pool_connections=16,
        ),
    )


def error_of(error):
    return {
        "error": error.response["Error"]["Code"],
        "message": error.response["Error"].get("Message", ""),
        "status": error.response["ResponseMetadata"]["HTTPStatusCode"],
    }


def read_files(arguments):
    for key, value in list(arguments.items()):
        if isinstance(value, str) and value.startswith("@") and key == "ZipFile":
            with open(value[1:], "rb") as file:
                arguments[key] = file.read()
        elif isinstance(value, dict):
            read_files(value)
    return arguments


def call(lambda_client, operation, arguments):
    try:
        response = getattr(lambda_client, operation)(**read_files(arguments))
    except botocore.exceptions.ClientError as error:
        return error_of(error)
    status = response.pop("ResponseMetadata")["HTTPStatusCode"]
    if "Payload" in response:
        response["Payload"] = response["Payload"].read().decode()
    if "LogResult" in response:
        response["Log"] = base64.b64decode(response["LogResult"]).decode()
    response["status"] = status
    return response


def wait(lambda_client, waiter, function, qualifier=None):
    started = time.monotonic()
    arguments = {"FunctionName": function, "WaiterConfig": {"Delay": 1, "MaxAttempts": 300}}
    if qualifier is not None:
        arguments["Qualifier"] = qualifier
    try:
        lambda_client.get_waiter(waiter).wait(**arguments)
    except botocore.exceptions.WaiterError as error:
        return {"error": str(error), "last": error.last_response.get("Configuration", error.last_response)}
    return {"waited": round(time.monotonic() - started, 3)}


def spread(lambda_client, function, count, payload):
    def one(_):
        response = lambda_client.invoke(FunctionName=function, Payload=payload.encode())
        return response["ExecutedVersion"], response["Payload"].read().decode()

    counts = {}
    answers = {}
    with ThreadPoolExecutor(8) as pool:
        for version, answer in pool.map(one, range(count)):
            counts[version] = counts.get(version, 0) + 1
            answers.setdefault(version, set()).add(answer)
    return {"counts": counts, "answers": {version: sorted(seen) for version, seen in answers.items()}}


def pages(lambda_client, per_page):
    paginator = lambda_client.get_paginator("list_functions")
    return [
        [function["FunctionName"] for function in page["Functions"]]
        for page in paginator.paginate(PaginationConfig={"PageSize": per_page})
    ]


def main():
    endpoint, command, *rest = sys.argv[1:]
    lambda_client = client(endpoint)
    if command == "call":
        result = call(lambda_client, rest[0], json.loads(rest[1]))
    elif command == "wait":
        result = wait(lambda_client, *rest)
    elif command == "spread":
        result = spread(lambda_client, rest[0], int(rest[1]), rest[2])
    elif command == "pages":
        result = pages(lambda_client, int(rest[0]))
    else:
        raise SystemExit(f"unknown command {command}")
    print(json.dumps(result, default=str))


if __name__ == "__main__":
    main()
