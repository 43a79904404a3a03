"""Reaches `event["url"]` with the HTTP client `event["client"]` names and
reports what happened: the status and body, or the exception the handler
caught (its type and message)."""

import http.client
import json
import urllib.parse
import urllib.request

import boto3
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
        kind = http.client.HTTPSConnection if parts.scheme == "https" else http.client.HTTPConnection
        connection = kind(parts.hostname, parts.port, timeout=10)
        connection.request("GET", parts.path or "/")
        response = connection.getresponse()
        return response.status, response.read().decode()
    if client == "boto3":
        s3 = boto3.client("s3", endpoint_url=url, region_name="us-east-1",
                          aws_access_key_id="k", aws_secret_access_key="s")
        s3.list_buckets()
        return 200, "listed"
    raise ValueError(f"unknown client {client}")


def lambda_handler(event, context):
    try:
        status, body = fetch(event["client"], event["url"])
        return {"status": status, "body": body}
    except Exception as error:  # noqa: BLE001 - the test reads what was caught
        return {"error": type(error).__name__, "message": str(error)}
