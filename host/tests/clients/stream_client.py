"""Makes Kinesis streams and DynamoDB tables with streams in moto's server
and writes to them with boto3, for the event-source tests (never through
the mapping under test). Prints JSON.

    stream_client.py ENDPOINT kinesis NAME SHARDS      -> {"arn"}
    stream_client.py ENDPOINT put NAME RECORDS_JSON
        PutRecords, 500 at a time; RECORDS_JSON is a list of
        {"data": object, "key": partition key}.
        -> {"sequences": [...], "shards": [...]} in the order given
    stream_client.py ENDPOINT table NAME               -> {"stream_arn"}
        A table keyed by "n" (a number) with a NEW_AND_OLD_IMAGES stream.
    stream_client.py ENDPOINT put-items NAME ITEMS_JSON
        PutItem of each {"n": number, "status": string}.
"""

import json
import sys

import boto3

REGION = "us-east-1"


def client(endpoint, service):
    return boto3.client(
        service,
        endpoint_url=endpoint,
        region_name=REGION,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )


def kinesis(endpoint, name, shards):
    api = client(endpoint, "kinesis")
    api.create_stream(StreamName=name, ShardCount=int(shards))
    api.get_waiter("stream_exists").wait(StreamName=name, WaiterConfig={"Delay": 0.2})
    summary = api.describe_stream_summary(StreamName=name)["StreamDescriptionSummary"]
    return {"arn": summary["StreamARN"]}


def put(endpoint, name, records):
    api = client(endpoint, "kinesis")
    sequences, shards = [], []
    for start in range(0, len(records), 500):
        chunk = records[start : start + 500]
        answer = api.put_records(
            StreamName=name,
            Records=[
                {
                    "Data": json.dumps(record["data"]).encode(),
                    "PartitionKey": record["key"],
                }
                for record in chunk
            ],
        )
        if answer.get("FailedRecordCount"):
            raise SystemExit(f"put failed: {answer}")
        sequences += [entry["SequenceNumber"] for entry in answer["Records"]]
        shards += [entry["ShardId"] for entry in answer["Records"]]
    return {"sequences": sequences, "shards": shards}


def table(endpoint, name):
    api = client(endpoint, "dynamodb")
    answer = api.create_table(
        TableName=name,
        KeySchema=[{"AttributeName": "n", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "n", "AttributeType": "N"}],
        BillingMode="PAY_PER_REQUEST",
        StreamSpecification={
            "StreamEnabled": True,
            "StreamViewType": "NEW_AND_OLD_IMAGES",
        },
    )
    return {"stream_arn": answer["TableDescription"]["LatestStreamArn"]}


def put_items(endpoint, name, items):
    api = client(endpoint, "dynamodb")
    for item in items:
        api.put_item(
            TableName=name,
            Item={"n": {"N": str(item["n"])}, "status": {"S": item["status"]}},
        )
    return {"put": len(items)}


def main():
    endpoint, command, *rest = sys.argv[1:]
    if command == "kinesis":
        answer = kinesis(endpoint, rest[0], rest[1])
    elif command == "put":
        answer = put(endpoint, rest[0], json.loads(rest[1]))
    elif command == "table":
        answer = table(endpoint, rest[0])
    elif command == "put-items":
        answer = put_items(endpoint, rest[0], json.loads(rest[1]))
    else:
        raise SystemExit(f"unknown command {command}")
    print(json.dumps(answer))


if __name__ == "__main__":
    main()
