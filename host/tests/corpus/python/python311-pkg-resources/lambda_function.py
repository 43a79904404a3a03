"""A feature-flag gate for the python3.11 runtime: it compares client app
versions with pkg_resources' parse_version and reports the boto3 the
runtime provides through pkg_resources' distribution metadata, as handlers
written for the older runtimes (whose images ship setuptools) do without a
requirements.txt."""

import os

import boto3
import pkg_resources
from pkg_resources import parse_version

MINIMUM = parse_version("2.4.0")


def lambda_handler(event, context):
    versions = event["clients"]
    allowed = sorted(
        (name for name, version in versions.items() if parse_version(version) >= MINIMUM)
    )
    newest = max(versions.values(), key=parse_version)
    boto3_dist = pkg_resources.get_distribution("boto3").version
    return {
        "allowed": allowed,
        "newest": newest,
        "boto3MatchesRuntime": boto3_dist == boto3.__version__,
        "executionEnv": os.environ.get("AWS_EXECUTION_ENV"),
    }
