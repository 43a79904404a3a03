import urllib.parse

import boto3

s3 = boto3.client("s3")


def lambda_handler(event, context):
    record = event["Records"][0]
    bucket = record["s3"]["bucket"]["name"]
    key = urllib.parse.unquote_plus(record["s3"]["object"]["key"], encoding="utf-8")
    try:
        response = s3.get_object(Bucket=bucket, Key=key)
    except Exception as error:
        print(f"Error getting object {key} from bucket {bucket}: {error}")
        raise
    text = response["Body"].read().decode("utf-8")
    words = len(text.split())
    s3.put_object(Bucket=bucket, Key=f"processed/{key}", Body=text.upper().encode("utf-8"))
    return {"contentType": response["ContentType"], "key": key, "words": words}
