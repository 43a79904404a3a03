import json
import os

import boto3


def handle(event, context):
    # A client made inside the handler, per invocation.
    sqs = boto3.client("sqs")
    queue_url = sqs.get_queue_url(QueueName=os.environ["QUEUE_NAME"])["QueueUrl"]
    forwarded = 0
    for record in event["Records"]:
        sns = record["Sns"]
        sqs.send_message(
            QueueUrl=queue_url,
            MessageBody=json.dumps({"subject": sns.get("Subject"), "message": sns["Message"]}),
            MessageAttributes={"source": {"DataType": "String", "StringValue": "sns"}},
        )
        forwarded += 1
    return {"forwarded": forwarded}
