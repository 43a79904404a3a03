import json
import logging
import os

import boto3

logger = logging.getLogger()
logger.setLevel(logging.INFO)

s3 = boto3.client("s3")
BUCKET = os.environ["RESULTS_BUCKET"]


def process(record):
    order = json.loads(record["body"])
    total = sum(line["qty"] * line["price"] for line in order["lines"])
    s3.put_object(
        Bucket=BUCKET,
        Key=f"orders/{order['orderId']}.json",
        Body=json.dumps({"orderId": order["orderId"], "total": total}),
        ContentType="application/json",
    )


def lambda_handler(event, context):
    failures = []
    for record in event["Records"]:
        try:
            process(record)
        except Exception:
            logger.exception("failed to process message %s", record["messageId"])
            failures.append({"itemIdentifier": record["messageId"]})
    return {"batchItemFailures": failures}
