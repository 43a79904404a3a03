import os
import uuid

from aws_lambda_powertools.utilities.idempotency import (
    DynamoDBPersistenceLayer,
    IdempotencyConfig,
    idempotent,
)

persistence_layer = DynamoDBPersistenceLayer(table_name=os.environ["IDEMPOTENCY_TABLE"])
config = IdempotencyConfig(event_key_jmespath="orderId")


@idempotent(persistence_store=persistence_layer, config=config)
def lambda_handler(event, context):
    # A payment must be taken once, however often the event is delivered.
    return {"orderId": event["orderId"], "paymentId": str(uuid.uuid4()), "charged": event["amount"]}
