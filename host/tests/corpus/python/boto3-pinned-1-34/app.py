"""A scheduled job (EventBridge) that finds overdue tasks in DynamoDB and
queues one reminder per task in SQS, written against boto3 1.34 as a
requirements.txt of that time pins it; the endpoint comes from
AWS_ENDPOINT_URL, which boto3 reads itself since 1.28."""

import json
import os

import boto3
from boto3.dynamodb.conditions import Attr

dynamodb = boto3.resource("dynamodb")
sqs = boto3.client("sqs")


def handler(event, context):
    tasks = dynamodb.Table(os.environ["TASKS_TABLE"])
    overdue = tasks.scan(FilterExpression=Attr("due").lt(event["time"][:10]))["Items"]
    queue_url = sqs.get_queue_url(QueueName=os.environ["REMINDER_QUEUE"])["QueueUrl"]
    entries = [
        {
            "Id": str(index),
            "MessageBody": json.dumps({"task": item["id"], "due": item["due"]}),
        }
        for index, item in enumerate(sorted(overdue, key=lambda item: item["id"]))
    ]
    if entries:
        sent = sqs.send_message_batch(QueueUrl=queue_url, Entries=entries)
        failed = sent.get("Failed", [])
    else:
        failed = []
    return {
        "reminded": [json.loads(entry["MessageBody"])["task"] for entry in entries],
        "failed": len(failed),
        "boto3": boto3.__version__,
    }
