"""A shared layer: response helpers and country data, as teams publish
common code for several functions."""

import json
import os

_HERE = os.path.dirname(__file__)

with open(os.path.join(_HERE, "countries.json"), encoding="utf-8") as f:
    COUNTRIES = json.load(f)


def ok(body):
    return {"statusCode": 200, "headers": {"Content-Type": "application/json"}, "body": json.dumps(body)}


def not_found(message):
    return {"statusCode": 404, "body": json.dumps({"message": message})}
