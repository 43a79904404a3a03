"""The cold-start benchmark's boto3 handler: imports boto3 and creates a
client at module level, as most published handlers do, and answers without
calling AWS (the figure is the import and the client, not the network)."""

import boto3

s3 = boto3.client("s3", region_name="us-east-1")


def lambda_handler(event, context):
    return {"ok": True, "service": s3.meta.service_model.service_name}
