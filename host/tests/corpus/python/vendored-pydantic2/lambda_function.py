"""A webhook receiver deployed as a zip with its packages installed beside
it (`pip install -r vendor.txt -t .` on Linux): pydantic 2's discriminated
unions, JSON parsing and TypeAdapter check the payloads."""

import json
from datetime import datetime
from typing import Annotated, List, Literal, Union

from pydantic import BaseModel, Field, TypeAdapter, ValidationError


class Payment(BaseModel):
    kind: Literal["payment"]
    amount_cents: int = Field(gt=0)
    paid_at: datetime


class Refund(BaseModel):
    kind: Literal["refund"]
    amount_cents: int = Field(gt=0)
    reason: str = Field(max_length=20)


Event = Annotated[Union[Payment, Refund], Field(discriminator="kind")]
EVENTS = TypeAdapter(List[Event])


def lambda_handler(event, context):
    try:
        items = EVENTS.validate_json(event["body"])
    except ValidationError as error:
        problems = [
            {"loc": list(problem["loc"]), "type": problem["type"]}
            for problem in error.errors(include_url=False)
        ]
        return {"statusCode": 400, "body": json.dumps({"problems": problems})}
    net = sum(
        item.amount_cents if item.kind == "payment" else -item.amount_cents for item in items
    )
    return {
        "statusCode": 200,
        "body": json.dumps(
            {
                "net_cents": net,
                "first": items[0].model_dump(mode="json") if items else None,
                "schema": sorted(EVENTS.json_schema()["items"]["discriminator"]["mapping"]),
            }
        ),
    }
