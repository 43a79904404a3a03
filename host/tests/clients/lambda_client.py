"""Drives `wasm-lambda serve` with boto3, as a user's code would, and prints
what boto3 returned as JSON for the Rust tests to check.

    python lambda_client.py ENDPOINT invoke FUNCTION PAYLOAD|@FILE [TYPE] [--tail] [--client-context JSON]
    python lambda_client.py ENDPOINT stream FUNCTION PAYLOAD [--tail]
    python lambda_client.py ENDPOINT parallel FUNCTION COUNT THREADS
    python lambda_client.py ENDPOINT list
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
        config=botocore.config.Config(retries={"max_attempts": 1}, max_pool_connections=64),
    )


def invoke(lambda_client, function, payload, invocation_type="RequestResponse", tail=False, client_context=None):
    if payload.startswith("@"):
        with open(payload[1:], "rb") as file:
            payload = file.read().decode()
    arguments = {"FunctionName": function, "Payload": payload.encode(), "InvocationType": invocation_type}
    if tail:
        arguments["LogType"] = "Tail"
    if client_context is not None:
        arguments["ClientContext"] = base64.b64encode(client_context.encode()).decode()
    try:
        response = lambda_client.invoke(**arguments)
    except botocore.exceptions.ClientError as error:
        return {
            "error": error.response["Error"]["Code"],
            "message": error.response["Error"]["Message"],
            "status": error.response["ResponseMetadata"]["HTTPStatusCode"],
            "modeled": type(error).__name__,
        }
    result = {
        "StatusCode": response["StatusCode"],
        "Payload": response["Payload"].read().decode(),
        "ExecutedVersion": response.get("ExecutedVersion"),
        "FunctionError": response.get("FunctionError"),
        "RequestId": response["ResponseMetadata"]["RequestId"],
    }
    if "LogResult" in response:
        result["Log"] = base64.b64decode(response["LogResult"]).decode()
    return result


def stream(lambda_client, function, payload, tail=False):
    """invoke_with_response_stream: every event as boto3 parsed it, with
    the seconds since the call when it arrived."""
    arguments = {"FunctionName": function, "Payload": payload.encode()}
    if tail:
        arguments["LogType"] = "Tail"
    started = time.monotonic()
    try:
        response = lambda_client.invoke_with_response_stream(**arguments)
    except botocore.exceptions.ClientError as error:
        return {
            "error": error.response["Error"]["Code"],
            "status": error.response["ResponseMetadata"]["HTTPStatusCode"],
        }
    events = []
    for event in response["EventStream"]:
        at = round(time.monotonic() - started, 3)
        if "PayloadChunk" in event:
            events.append({"chunk": event["PayloadChunk"]["Payload"].decode("utf-8", "replace"), "at": at})
        if "InvokeComplete" in event:
            complete = dict(event["InvokeComplete"])
            if "LogResult" in complete:
                complete["Log"] = base64.b64decode(complete.pop("LogResult")).decode()
            events.append({"complete": complete, "at": at})
    return {
        "StatusCode": response["StatusCode"],
        "ContentType": response.get("ResponseStreamContentType"),
        "ExecutedVersion": response.get("ExecutedVersion"),
        "RequestId": response["ResponseMetadata"]["RequestId"],
        "events": events,
    }


def parallel(lambda_client, function, count, threads):
    def one(number):
        payload = json.dumps({"action": "echo", "n": number})
        response = invoke(lambda_client, function, payload)
        return number, response

    with ThreadPoolExecutor(max_workers=threads) as pool:
        results = list(pool.map(one, range(count)))
    mismatched = [
        number
        for number, response in results
        if response.get("StatusCode") != 200 or json.loads(response["Payload"]).get("n") != number
    ]
    request_ids = {response.get("RequestId") for _, response in results}
    return {"count": len(results), "mismatched": mismatched, "distinct_request_ids": len(request_ids)}


def main():
    endpoint, command, *rest = sys.argv[1:]
    lambda_client = client(endpoint)
    if command == "invoke":
        flags = [argument for argument in rest if argument.startswith("--")]
        positional = [argument for argument in rest if not argument.startswith("--")]
        client_context = None
        if "--client-context" in flags:
            client_context = positional.pop()
        result = invoke(lambda_client, *positional, tail="--tail" in flags, client_context=client_context)
    elif command == "stream":
        flags = [argument for argument in rest if argument.startswith("--")]
        positional = [argument for argument in rest if not argument.startswith("--")]
        result = stream(lambda_client, *positional, tail="--tail" in flags)
    elif command == "parallel":
        function, count, threads = rest
        result = parallel(lambda_client, function, int(count), int(threads))
    elif command == "list":
        result = [f["FunctionName"] for f in lambda_client.list_functions()["Functions"]]
    else:
        raise SystemExit(f"unknown command {command}")
    print(json.dumps(result))


if __name__ == "__main__":
    main()
