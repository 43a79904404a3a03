"""The boto3 target of the cold-start benchmarks: an S3 client and a
DynamoDB resource made at module level, as published handlers make them;
answers without calling AWS (the figure is the init, not the network)."""

import boto3

s3 = boto3.client("s3", region_name="us-east-1")
table = boto3.resource("dynamodb", region_name="us-east-1").Table("orders")


def lambda_handler(event, context):
    return {"bucket_service": s3.meta.service_model.service_name, "table": table.name}
