"""Reaches `event["url"]` with the HTTP client `event["client"]` names and
reports what happened: the status and body, or the exception the handler
caught (its type and message)."""

import http.client
import json
import os
import urllib.parse
import urllib.request

import boto3
import botocore.config
import botocore.exceptions
import requests


def fetch(client, url):
    if client == "requests":
        response = requests.get(url, timeout=10)
        return response.status_code, response.text
    if client == "urllib":
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status, response.read().decode()
    if client == "http.client":
        parts = urllib.parse.urlsplit(url)
        kind = (
            http.client.HTTPSConnection if parts.scheme == "https" else http.client.HTTPConnection
        )
        connection = kind(parts.hostname, parts.port, timeout=10)
        connection.request("GET", parts.path or "/")
        response = connection.getresponse()
        return response.status, response.read().decode()
    if client == "boto3":
        s3 = boto3.client(
            "s3",
            endpoint_url=url,
            region_name="us-east-1",
            aws_access_key_id="k",
            aws_secret_access_key="s",
        )
        s3.list_buckets()
        return 200, "listed"
    raise ValueError(f"unknown client {client}")


def invoke_again(event, context):
    """Invokes this function again through the Invoke API at `event["url"]`
    until `hops` is 0, and reports how deep the chain went: `runs` counts
    the invocations from this one to the deepest, `stopped` the error that
    ended it early."""
    if event["hops"] == 0:
        return {"runs": 1, "trace": os.environ.get("_X_AMZN_TRACE_ID")}
    lambda_client = boto3.client(
        "lambda",
        endpoint_url=event["url"],
        region_name="us-east-1",
        aws_access_key_id="k",
        aws_secret_access_key="s",
        config=botocore.config.Config(retries={"max_attempts": 1}, read_timeout=300),
    )
    payload = dict(event, hops=event["hops"] - 1)
    try:
        response = lambda_client.invoke(
            FunctionName=context.function_name, Payload=json.dumps(payload)
        )
    except botocore.exceptions.ClientError as error:
        return {"runs": 1, "stopped": error.response["Error"]["Code"]}
    inner = json.loads(response["Payload"].read())
    inner["runs"] += 1
    return inner


def lambda_handler(event, context):
    if event["client"] == "lambda":
        return invoke_again(event, context)
    try:
        status, body = fetch(event["client"], event["url"])
        return {"status": status, "body": body}
    except Exception as error:  # noqa: BLE001 - the test reads what was caught
        return {"error": type(error).__name__, "message": str(error)}
