"""A Kinesis and DynamoDB Streams consumer in the shape published ones take:
it decodes each record (base64 JSON for Kinesis, the NewImage for DynamoDB),
refuses the whole batch when one record is poison (nothing of it is kept),
and reports records it could not process by sequence number
(ReportBatchItemFailures). Each processed record is printed on its own line
(with its partition key) for the tests to read in the server's log."""

import base64
import json
import os
import time


def decode(record):
    if "kinesis" in record:
        data = json.loads(base64.b64decode(record["kinesis"]["data"]))
        shard = record["eventID"].split(":")[0]
        key = record["kinesis"]["partitionKey"]
        return data, record["kinesis"]["sequenceNumber"], shard, key
    change = record["dynamodb"]
    image = change.get("NewImage") or change.get("OldImage") or {}
    data = {"n": int(image["n"]["N"]), "status": image.get("status", {}).get("S")}
    key = json.dumps(change["Keys"], sort_keys=True).replace(" ", "")
    return data, change["SequenceNumber"], record["eventName"], key


def lambda_handler(event, context):
    records = [decode(record) for record in event["Records"]]
    print(f"batch size={len(records)}")
    time.sleep(float(os.environ.get("SLOW_SECONDS", "0")))
    for data, _, _, _ in records:
        if data.get("poison"):
            raise ValueError(f"poison record {data['n']}")
    batch_item_failures = []
    for data, sequence, where, key in records:
        if data.get("fail"):
            batch_item_failures.append({"itemIdentifier": sequence})
            continue
        print(f"processed n={data['n']} at={where} seq={sequence} key={key}")
    return {"batchItemFailures": batch_item_failures}
