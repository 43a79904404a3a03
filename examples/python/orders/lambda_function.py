"""Orders kept in DynamoDB, with a receipt in S3: boto3 exactly as on
Lambda, created once at module level (in the init phase) and reused.

boto3 is not in a requirements.txt: Lambda's Python runtime provides it, and
so does `wasm-lambda build`. Where the calls go is the environment's
business: `AWS_ENDPOINT_URL` points boto3 at a local endpoint (moto), and
the host lets the handler reach only what `--allow-outbound` grants.
"""

import json
import os
from decimal import Decimal

import boto3

table = boto3.resource("dynamodb").Table(os.environ["TABLE_NAME"])
s3 = boto3.client("s3")
RECEIPTS = os.environ["RECEIPTS_BUCKET"]


def lambda_handler(event, context):
    if event["action"] == "place":
        order = event["order"]
        total = sum(Decimal(str(line["price"])) * line["qty"] for line in order["lines"])
        table.put_item(Item={"id": order["id"], "customer": order["customer"], "total": total})
        s3.put_object(
            Bucket=RECEIPTS,
            Key=f"receipts/{order['id']}.txt",
            Body=f"Order {order['id']} for {order['customer']}: {total}\n".encode(),
        )
        return {"placed": order["id"], "total": float(total)}
    if event["action"] == "show":
        item = table.get_item(Key={"id": event["id"]}).get("Item")
        if item is None:
            raise KeyError(f"no order {event['id']}")
        receipt = s3.get_object(Bucket=RECEIPTS, Key=f"receipts/{event['id']}.txt")
        return {
            "order": json.loads(json.dumps(item, default=float)),
            "receipt": receipt["Body"].read().decode(),
        }
    raise ValueError(f"unknown action {event['action']!r}")
