import json

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

processor = BatchProcessor(event_type=EventType.SQS)
logger = Logger(service="payments")


def record_handler(record: SQSRecord):
    payment = json.loads(record.body)
    if payment["amount"] <= 0:
        raise ValueError(f"invalid amount {payment['amount']}")
    logger.info("payment accepted", extra={"payment_id": payment["id"]})


@logger.inject_lambda_context
def lambda_handler(event, context):
    return process_partial_response(event=event, record_handler=record_handler, processor=processor, context=context)
