"""Creates and reads the AWS resources the corpus handlers use, in a moto
server, with boto3 on the host (never through the handler under test).

    moto_fixture.py create ENDPOINT RESOURCES_JSON   -> {"queues": {name: url}}
    moto_fixture.py state  ENDPOINT RESOURCES_JSON   -> what moto holds now

RESOURCES_JSON: {"tables": [{"name": ..., "key": ...}], "buckets": [...],
"queues": [...], "objects": {"bucket/key": "text"}, "seed_items": {table:
[items of strings]}, "parameters": [{"name": ..., "value": ..., "type":
"String" or "SecureString"}], "secrets": {name: "text"}, "state_machines":
[names of Pass machines]}. The state is
{"items": {table: [items, sorted by key]}, "objects": {"bucket/key": text},
"messages": {queue: [bodies]}, "executions": {machine: [inputs, sorted]}}:
what a test compares with what a handler should have written.
"""

import json
import sys
from decimal import Decimal

import boto3
from boto3.dynamodb.types import TypeDeserializer

REGION = "us-east-1"
# moto's account, in the ARNs of what it creates.
ACCOUNT = "123456789012"


def client(endpoint, service):
    return boto3.client(
        service,
        endpoint_url=endpoint,
        region_name=REGION,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )


def plain(value):
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, dict):
        return {key: plain(item) for key, item in value.items()}
    if isinstance(value, (list, set)):
        return [plain(item) for item in value]
    return value


def create(endpoint, resources):
    dynamodb = client(endpoint, "dynamodb")
    for table in resources.get("tables", []):
        dynamodb.create_table(
            TableName=table["name"],
            KeySchema=[{"AttributeName": table["key"], "KeyType": "HASH"}],
            AttributeDefinitions=[
                {"AttributeName": table["key"], "AttributeType": "S"}
            ],
            BillingMode="PAY_PER_REQUEST",
        )
    for name, rows in resources.get("seed_items", {}).items():
        for row in rows:
            item = {key: {"S": value} for key, value in row.items()}
            dynamodb.put_item(TableName=name, Item=item)
    s3 = client(endpoint, "s3")
    for bucket in resources.get("buckets", []):
        s3.create_bucket(Bucket=bucket)
    for path, text in resources.get("objects", {}).items():
        bucket, _, key = path.partition("/")
        s3.put_object(Bucket=bucket, Key=key, Body=text.encode())
    sqs = client(endpoint, "sqs")
    queues = {
        name: sqs.create_queue(QueueName=name)["QueueUrl"]
        for name in resources.get("queues", [])
    }
    ssm = client(endpoint, "ssm")
    for parameter in resources.get("parameters", []):
        ssm.put_parameter(
            Name=parameter["name"],
            Value=parameter["value"],
            Type=parameter.get("type", "String"),
            Overwrite=True,
        )
    secrets = client(endpoint, "secretsmanager")
    for name, text in resources.get("secrets", {}).items():
        secrets.create_secret(Name=name, SecretString=text)
    states = client(endpoint, "stepfunctions")
    for name in resources.get("state_machines", []):
        states.create_state_machine(
            name=name,
            definition=json.dumps(
                {"StartAt": "Done", "States": {"Done": {"Type": "Pass", "End": True}}}
            ),
            roleArn=f"arn:aws:iam::{ACCOUNT}:role/corpus-states",
        )
    return {"queues": queues}


def state(endpoint, resources):
    dynamodb = client(endpoint, "dynamodb")
    deserializer = TypeDeserializer()
    items = {}
    for table in resources.get("tables", []):
        scanned = dynamodb.scan(TableName=table["name"])["Items"]
        rows = [
            plain({k: deserializer.deserialize(v) for k, v in item.items()})
            for item in scanned
        ]
        items[table["name"]] = sorted(rows, key=lambda row: str(row.get(table["key"])))
    s3 = client(endpoint, "s3")
    objects = {}
    for bucket in resources.get("buckets", []):
        for entry in s3.list_objects_v2(Bucket=bucket).get("Contents", []):
            body = s3.get_object(Bucket=bucket, Key=entry["Key"])["Body"].read()
            objects[f"{bucket}/{entry['Key']}"] = body.decode("utf-8", "replace")
    sqs = client(endpoint, "sqs")
    messages = {}
    for name in resources.get("queues", []):
        url = sqs.get_queue_url(QueueName=name)["QueueUrl"]
        received = sqs.receive_message(
            QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=0
        )
        messages[name] = sorted(
            message["Body"] for message in received.get("Messages", [])
        )
    states = client(endpoint, "stepfunctions")
    executions = {}
    for name in resources.get("state_machines", []):
        arn = f"arn:aws:states:{REGION}:{ACCOUNT}:stateMachine:{name}"
        listed = states.list_executions(stateMachineArn=arn)["executions"]
        inputs = [
            states.describe_execution(executionArn=e["executionArn"])["input"]
            for e in listed
        ]
        executions[name] = sorted(inputs)
    return {
        "items": items,
        "objects": objects,
        "messages": messages,
        "executions": executions,
    }


def main():
    command, endpoint, resources = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
    result = (
        create(endpoint, resources)
        if command == "create"
        else state(endpoint, resources)
    )
    print(json.dumps(result))


if __name__ == "__main__":
    main()
