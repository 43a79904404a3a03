"""An order intake that logs through Powertools' Logger, deployed with
Lambda's JSON log format and application log level WARN."""

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.typing import LambdaContext

logger = Logger(service="orders")

LARGE_ORDER = 10


@logger.inject_lambda_context
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    order_id = event["order_id"]
    items = event.get("items", [])
    logger.debug("order details", extra={"order_id": order_id, "items": items})
    logger.info("order received", extra={"order_id": order_id})
    if len(items) >= LARGE_ORDER:
        logger.warning("large order", extra={"order_id": order_id, "count": len(items)})
    return {"order_id": order_id, "status": "accepted", "count": len(items)}
