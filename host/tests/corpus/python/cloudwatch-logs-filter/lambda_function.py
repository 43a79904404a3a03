import base64
import gzip
import json


def lambda_handler(event, context):
    compressed = base64.b64decode(event["awslogs"]["data"])
    data = json.loads(gzip.decompress(compressed))
    errors = [e["message"] for e in data["logEvents"] if "ERROR" in e["message"]]
    return {
        "logGroup": data["logGroup"],
        "messageType": data["messageType"],
        "events": len(data["logEvents"]),
        "errors": errors,
    }
