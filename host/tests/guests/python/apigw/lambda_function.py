"""An API Gateway handler in the shape REST and HTTP API samples use: it
routes on the resource (payload 1.0) or the route key (2.0) and answers
with statusCode, CORS headers and a JSON body."""

import base64
import json

CORS = {
    "Access-Control-Allow-Origin": "*",
    "Access-Control-Allow-Methods": "GET,POST,OPTIONS",
    "Content-Type": "application/json",
}


def respond(status, payload):
    return {"statusCode": status, "headers": CORS, "body": json.dumps(payload)}


def lambda_handler(event, context):
    version = event.get("version", "1.0")
    if version == "2.0":
        method = event["requestContext"]["http"]["method"]
        route = event["routeKey"]
        path = event["rawPath"]
    else:
        method = event["httpMethod"]
        route = f"{method} {event['resource']}"
        path = event["path"]
    params = event.get("pathParameters") or {}
    if path.endswith("/boom"):
        raise RuntimeError("the handler failed")
    if path.endswith("/malformed"):
        return {"statusCode": 200, "body": "ok", "unexpected": True}
    if path.endswith("/binary"):
        raw = base64.b64decode(event["body"]) if event.get("isBase64Encoded") else event["body"].encode()
        return {
            "statusCode": 200,
            "headers": {"Content-Type": "application/octet-stream"},
            "body": base64.b64encode(bytes(reversed(raw))).decode(),
            "isBase64Encoded": True,
        }
    body = event.get("body")
    return respond(200, {
        "route": route,
        "method": method,
        "params": params,
        "query": event.get("queryStringParameters"),
        "multiQuery": event.get("multiValueQueryStringParameters"),
        "body": json.loads(body) if body else None,
        "stage": event["requestContext"].get("stage"),
        "sourceIp": event["requestContext"].get("identity", {}).get("sourceIp")
        or event["requestContext"].get("http", {}).get("sourceIp"),
    })
