"""A boto3 client made at module level, as most published handlers make
one: botocore reads its data files in the init phase, so wasi-libc keeps
handles to the preopened folders when the host snapshots it. The handler
makes a client of another service (more data files, read through the
handles the sandbox got back) and answers with the key each client signs
with. With `"write"` in the event, it tries to write a file beside
botocore's own and answers with what stopped it; with `"whoami"`, it asks
STS, through a client also made at module level, whom its requests are
signed as."""

import os

import boto3
import botocore

s3 = boto3.client("s3", region_name="us-east-1")
# Its endpoint from the environment (AWS_ENDPOINT_URL_STS), read here.
sts = boto3.client("sts", region_name="us-east-1")


def lambda_handler(event, context):
    if "whoami" in event:
        return {"arn": sts.get_caller_identity()["Arn"]}
    if "write" in event:
        path = os.path.join(os.path.dirname(botocore.__file__), event["write"])
        try:
            with open(path, "w") as file:
                file.write("written by a sandbox")
        except OSError as error:
            return {"refused": type(error).__name__, "path": path}
        return {"written": path}
    dynamodb = boto3.client("dynamodb", region_name="us-east-1")
    return {
        "s3": s3._request_signer._credentials.get_frozen_credentials().access_key,
        "dynamodb": dynamodb._request_signer._credentials.get_frozen_credentials().access_key,
        "service": dynamodb.meta.service_model.service_name,
    }
