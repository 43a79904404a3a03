"""Indexes uploaded CSV files: for each S3 record, reads the object, stores
its row count in a DynamoDB table and copies it under archive/. Written
against boto3 1.26 as samples of that time pin it, with the endpoint taken
from the environment as LocalStack-style handlers do (boto3 1.26 does not
read AWS_ENDPOINT_URL itself)."""

import csv
import io
import os
import urllib.parse

import boto3
import botocore

ENDPOINT = os.environ.get("AWS_ENDPOINT_URL")
s3 = boto3.client("s3", endpoint_url=ENDPOINT)
table = boto3.resource("dynamodb", endpoint_url=ENDPOINT).Table(os.environ["INDEX_TABLE"])


def lambda_handler(event, context):
    indexed = []
    for record in event["Records"]:
        bucket = record["s3"]["bucket"]["name"]
        key = urllib.parse.unquote_plus(record["s3"]["object"]["key"])
        body = s3.get_object(Bucket=bucket, Key=key)["Body"].read().decode("utf-8")
        rows = list(csv.DictReader(io.StringIO(body)))
        table.put_item(Item={"key": key, "rows": len(rows), "columns": ",".join(rows[0].keys())})
        s3.copy_object(
            Bucket=bucket,
            Key=f"archive/{key}",
            CopySource={"Bucket": bucket, "Key": key},
        )
        indexed.append({"key": key, "rows": len(rows)})
    return {
        "indexed": indexed,
        "boto3": boto3.__version__,
        "botocore": botocore.__version__,
    }
