import os

import boto3
from boto3.dynamodb.types import TypeDeserializer

deserializer = TypeDeserializer()
s3 = boto3.client("s3", region_name=os.environ.get("AWS_REGION", "us-east-1"))


def lambda_handler(event, context):
    changes = []
    for record in event["Records"]:
        image = record["dynamodb"].get("NewImage", {})
        item = {key: deserializer.deserialize(value) for key, value in image.items()}
        url = s3.generate_presigned_url(
            "get_object", Params={"Bucket": "invoices", "Key": f"{item['pk']}.pdf"}, ExpiresIn=300
        )
        changes.append({
            "event": record["eventName"],
            "pk": item["pk"],
            "total": int(item["total"]),
            "tags": sorted(item.get("tags", [])),
            "signed": "Signature=" in url and "invoices" in url,
        })
    return changes
