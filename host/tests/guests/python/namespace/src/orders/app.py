"""A handler laid out as SAM templates with `CodeUri: .` lay it out: in
folders without __init__.py, beside a Serverless Framework package.json."""

import json

from src.orders import pricing


def lambda_handler(event, context):
    try:
        import ujson_is_not_installed_here  # noqa: F401 - optional speedup
    except ImportError:
        pass
    total = pricing.total(event.get("items", []))
    return {"statusCode": 200, "body": json.dumps({"total": total, "tenant": context.tenant_id})}
