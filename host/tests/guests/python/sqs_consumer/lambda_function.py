"""An SQS consumer in the shape published batch processors take: it walks
event["Records"], parses each JSON body, and reports the messages it could
not process in batchItemFailures (for ReportBatchItemFailures). A body with
"crash" raises, which fails the whole batch; one with "fail" is reported.

Each processed record is printed on its own line, for the tests to read in
the server's log."""

import json


class PoisonMessage(Exception):
    pass


def process(record):
    body = json.loads(record["body"])
    if body.get("crash"):
        raise PoisonMessage(f"cannot process message {body.get('n')}")
    if body.get("fail"):
        return False
    group = record["attributes"].get("MessageGroupId", "-")
    receives = record["attributes"]["ApproximateReceiveCount"]
    print(
        f"processed n={body['n']} group={group} receives={receives} source={record['eventSource']}"
    )
    return True


def lambda_handler(event, context):
    records = event["Records"]
    print(f"batch size={len(records)}")
    batch_item_failures = []
    for record in records:
        if not process(record):
            print(
                f"failed n={json.loads(record['body'])['n']} id={record['messageId']}"
            )
            batch_item_failures.append({"itemIdentifier": record["messageId"]})
    return {"batchItemFailures": batch_item_failures}
