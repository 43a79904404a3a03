"""Normalises uploaded text files with boto3's managed transfers
(download_file, upload_file, upload_fileobj, which run on s3transfer's
thread pool), checks the results with a pool of HEAD calls, and counts
words with plain threads started and joined: the thread shapes published
handlers use."""

import concurrent.futures
import io
import os
import threading

import boto3
from botocore.exceptions import ClientError

s3 = boto3.client("s3")
BUCKET = os.environ["BUCKET"]


def size_of(key):
    try:
        return s3.head_object(Bucket=BUCKET, Key=key)["ContentLength"]
    except ClientError as error:
        return error.response["Error"]["Code"]


def lambda_handler(event, context):
    key = event["key"]
    s3.download_file(BUCKET, key, "/tmp/input.txt")
    with open("/tmp/input.txt", encoding="utf-8") as file:
        text = file.read()
    with open("/tmp/output.txt", "w", encoding="utf-8") as file:
        file.write(text.upper())
    s3.upload_file("/tmp/output.txt", BUCKET, f"upper/{key}")
    s3.upload_fileobj(io.BytesIO(text[::-1].encode()), BUCKET, f"reversed/{key}")

    keys = [key, f"upper/{key}", f"reversed/{key}", f"missing/{key}"]
    with concurrent.futures.ThreadPoolExecutor(max_workers=4) as pool:
        sizes = dict(zip(keys, pool.map(size_of, keys)))
        failing = pool.submit(s3.head_object, Bucket=BUCKET, Key="nothing-here")
        try:
            failing.result()
            missing = None
        except ClientError as error:
            missing = error.response["Error"]["Code"]

    counts = {}
    lock = threading.Lock()

    def count(word):
        with lock:
            counts[word] = text.split().count(word)

    threads = [threading.Thread(target=count, args=(word,)) for word in ("the", "fox", "cat")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return {
        "sizes": sizes,
        "missing": missing,
        "counts": counts,
        "alive": [thread.is_alive() for thread in threads],
    }
