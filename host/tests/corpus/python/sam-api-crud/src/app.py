import json
import os
from decimal import Decimal

import boto3
from botocore.exceptions import ClientError

dynamodb = boto3.resource("dynamodb")
table = dynamodb.Table(os.environ["TABLE_NAME"])


class DecimalEncoder(json.JSONEncoder):
    def default(self, o):
        if isinstance(o, Decimal):
            return int(o) if o % 1 == 0 else float(o)
        return super().default(o)


def respond(status, body):
    return {
        "statusCode": status,
        "headers": {"Content-Type": "application/json"},
        "body": json.dumps(body, cls=DecimalEncoder),
    }


def lambda_handler(event, context):
    method = event["httpMethod"]
    if method == "POST":
        item = json.loads(event["body"], parse_float=Decimal)
        table.put_item(Item=item)
        return respond(201, {"created": item["id"]})
    if method == "GET":
        item_id = event["pathParameters"]["id"]
        try:
            found = table.get_item(Key={"id": item_id}).get("Item")
        except ClientError as error:
            return respond(500, {"error": error.response["Error"]["Message"]})
        if found is None:
            return respond(404, {"message": f"item {item_id} not found"})
        return respond(200, found)
    return respond(405, {"message": f"{method} not allowed"})
