"""Orders from an SQS queue, validated by a Powertools parser model.

Powertools 3's parser is pydantic 2: field and model validators, computed
fields and model_dump are its API, and its compiled core does the work.
"""

from decimal import Decimal
from typing import List, Literal, Optional

import pydantic
from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.parser import (
    BaseModel,
    Field,
    envelopes,
    event_parser,
    field_validator,
    model_validator,
)
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import computed_field

logger = Logger(service="orders")


class OrderLine(BaseModel):
    sku: str = Field(min_length=3, pattern=r"^[A-Z]{3}-\d+$")
    quantity: int = Field(gt=0, le=100)
    unit_price: Decimal = Field(decimal_places=2)


class Order(BaseModel):
    order_id: str
    currency: Literal["EUR", "USD"] = "EUR"
    lines: List[OrderLine]
    coupon: Optional[str] = None

    @field_validator("order_id")
    @classmethod
    def normalise_id(cls, value: str) -> str:
        return value.strip().upper()

    @model_validator(mode="after")
    def coupon_needs_two_lines(self):
        if self.coupon and len(self.lines) < 2:
            raise ValueError("a coupon needs at least two lines")
        return self

    @computed_field
    @property
    def total(self) -> Decimal:
        return sum((line.unit_price * line.quantity for line in self.lines), Decimal("0"))


@logger.inject_lambda_context
@event_parser(model=Order, envelope=envelopes.SqsEnvelope)
def lambda_handler(orders: List[Order], context: LambdaContext) -> dict:
    for order in orders:
        logger.info("order accepted", extra={"order_id": order.order_id})
    return {
        "pydantic": pydantic.VERSION.split(".")[0],
        "orders": [order.model_dump(mode="json", exclude_none=True) for order in orders],
        "schema_fields": sorted(Order.model_json_schema()["properties"]),
    }
