"""Makes SQS queues in moto's server and sends, counts and reads messages
with boto3, for the event-source tests (never through the mapping under
test). Prints JSON.

    sqs_client.py ENDPOINT make NAME [VISIBILITY_SECONDS [MAX_RECEIVES]]
        A queue (FIFO when NAME ends in .fifo); with MAX_RECEIVES, a
        dead-letter queue NAME-dlq and a redrive policy to it.
        -> {"url", "arn", "dlq_url", "dlq_arn"}
    sqs_client.py ENDPOINT send URL BODIES_JSON
        SendMessageBatch, ten at a time. BODIES_JSON is a list of bodies
        (objects are sent as JSON text), or of {"body", "group"} for FIFO. A
        body with "pad_kb": N gets a "pad" of N KiB.
        Message attributes: n (Number) and kind (String) when the body has them.
        -> {"sent": count}
    sqs_client.py ENDPOINT count URL
        -> {"visible": n, "in_flight": n}
    sqs_client.py ENDPOINT topic NAME QUEUE_ARN
        An SNS topic whose messages reach the queue as they were published
        (raw message delivery).
        -> {"arn"}
    sqs_client.py ENDPOINT drain URL
        Receives until the queue answers empty.
        -> {"bodies": [...]}
"""

import json
import sys

import boto3

REGION = "us-east-1"


def client(endpoint):
    return boto3.client(
        "sqs",
        endpoint_url=endpoint,
        region_name=REGION,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )


def make(sqs, name, visibility=None, max_receives=None):
    attributes = {}
    fifo = name.endswith(".fifo")
    if fifo:
        attributes["FifoQueue"] = "true"
        attributes["ContentBasedDeduplication"] = "true"
    if visibility is not None:
        attributes["VisibilityTimeout"] = str(visibility)
    answer = {}
    if max_receives is not None:
        dlq_name = name[: -len(".fifo")] + "-dlq.fifo" if fifo else name + "-dlq"
        dlq_attributes = {"FifoQueue": "true"} if fifo else {}
        dlq_url = sqs.create_queue(QueueName=dlq_name, Attributes=dlq_attributes)[
            "QueueUrl"
        ]
        dlq_arn = sqs.get_queue_attributes(
            QueueUrl=dlq_url, AttributeNames=["QueueArn"]
        )["Attributes"]["QueueArn"]
        attributes["RedrivePolicy"] = json.dumps(
            {"deadLetterTargetArn": dlq_arn, "maxReceiveCount": str(max_receives)}
        )
        answer.update(dlq_url=dlq_url, dlq_arn=dlq_arn)
    url = sqs.create_queue(QueueName=name, Attributes=attributes)["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])[
        "Attributes"
    ]["QueueArn"]
    answer.update(url=url, arn=arn)
    return answer


def entry(index, item):
    if isinstance(item, dict) and ("group" in item or "trace" in item):
        body, group, trace = item["body"], item.get("group"), item.get("trace")
    else:
        body, group, trace = item, None, None
    if isinstance(body, dict) and "pad_kb" in body:
        body = dict(body, pad="x" * (body["pad_kb"] * 1024))
    text = body if isinstance(body, str) else json.dumps(body)
    message = {"Id": str(index), "MessageBody": text}
    if group is not None:
        message["MessageGroupId"] = group
    attributes = {}
    if isinstance(body, dict) and "n" in body:
        attributes["n"] = {"DataType": "Number", "StringValue": str(body["n"])}
    if isinstance(body, dict) and "kind" in body:
        attributes["kind"] = {"DataType": "String", "StringValue": body["kind"]}
    if attributes:
        message["MessageAttributes"] = attributes
    if trace is not None:
        # As SQS keeps the X-Ray header of a traced sender.
        message["MessageSystemAttributes"] = {
            "AWSTraceHeader": {"DataType": "String", "StringValue": trace}
        }
    return message


def send(sqs, url, bodies):
    sent = 0
    for start in range(0, len(bodies), 10):
        entries = [
            entry(index, item) for index, item in enumerate(bodies[start : start + 10])
        ]
        if sum(len(message["MessageBody"]) for message in entries) > 200_000 or any(
            "MessageSystemAttributes" in message for message in entries
        ):
            # Too large for one SendMessageBatch, or with system attributes
            # (which moto takes from SendMessage only): one call each.
            for message in entries:
                message.pop("Id")
                sqs.send_message(QueueUrl=url, **message)
                sent += 1
            continue
        answer = sqs.send_message_batch(QueueUrl=url, Entries=entries)
        if answer.get("Failed"):
            raise SystemExit(f"send failed: {answer['Failed']}")
        sent += len(answer.get("Successful", []))
    return {"sent": sent}


def count(sqs, url):
    attributes = sqs.get_queue_attributes(
        QueueUrl=url,
        AttributeNames=[
            "ApproximateNumberOfMessages",
            "ApproximateNumberOfMessagesNotVisible",
        ],
    )["Attributes"]
    return {
        "visible": int(attributes["ApproximateNumberOfMessages"]),
        "in_flight": int(attributes["ApproximateNumberOfMessagesNotVisible"]),
    }


def drain(sqs, url):
    bodies = []
    while True:
        messages = sqs.receive_message(
            QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=0
        ).get("Messages", [])
        if not messages:
            return {"bodies": bodies}
        for message in messages:
            bodies.append(message["Body"])
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])


def topic(endpoint, name, queue_arn):
    sns = boto3.client(
        "sns",
        endpoint_url=endpoint,
        region_name=REGION,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    arn = sns.create_topic(Name=name)["TopicArn"]
    sns.subscribe(
        TopicArn=arn,
        Protocol="sqs",
        Endpoint=queue_arn,
        Attributes={"RawMessageDelivery": "true"},
    )
    return {"arn": arn}


def main():
    endpoint, command, *rest = sys.argv[1:]
    sqs = client(endpoint)
    if command == "make":
        numbers = [int(value) for value in rest[1:]]
        answer = make(sqs, rest[0], *numbers)
    elif command == "send":
        answer = send(sqs, rest[0], json.loads(rest[1]))
    elif command == "count":
        answer = count(sqs, rest[0])
    elif command == "topic":
        answer = topic(endpoint, rest[0], rest[1])
    elif command == "drain":
        answer = drain(sqs, rest[0])
    else:
        raise SystemExit(f"unknown command {command}")
    print(json.dumps(answer))


if __name__ == "__main__":
    main()
