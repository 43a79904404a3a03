"""An API that checks order bodies against a JSON Schema kept beside the
code, with jsonschema (whose reference resolution is rpds-py, a Rust
extension)."""

import json
from pathlib import Path

from jsonschema import Draft202012Validator, FormatChecker

SCHEMA = json.loads((Path(__file__).parent / "schemas" / "order.json").read_text())
Draft202012Validator.check_schema(SCHEMA)
VALIDATOR = Draft202012Validator(SCHEMA, format_checker=FormatChecker())


def handler(event, context):
    try:
        order = json.loads(event.get("body") or "{}")
    except json.JSONDecodeError as error:
        return {"statusCode": 400, "body": json.dumps({"message": f"invalid JSON: {error.msg}"})}
    problems = [
        {"path": "/".join(str(part) for part in error.absolute_path), "message": error.message}
        for error in sorted(VALIDATOR.iter_errors(order), key=lambda e: list(map(str, e.absolute_path)))
    ]
    if problems:
        return {"statusCode": 400, "body": json.dumps({"problems": problems})}
    quantity = sum(line["quantity"] for line in order["lines"])
    return {"statusCode": 200, "body": json.dumps({"orderId": order["orderId"], "quantity": quantity})}
