"""A REST API whose request bodies and query strings the Powertools event
handler validates against pydantic 2 models (enable_validation=True)."""

from typing import Annotated, Optional

from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler import APIGatewayRestResolver
from aws_lambda_powertools.event_handler.openapi.params import Query
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import BaseModel, Field

logger = Logger(service="signups")
app = APIGatewayRestResolver(enable_validation=True)

PLANS = [
    {"id": "free", "seats": 1},
    {"id": "team", "seats": 10},
    {"id": "business", "seats": 50},
]


class Signup(BaseModel):
    name: str = Field(min_length=1, max_length=40)
    age: int = Field(ge=18)
    plan: str = "free"


class Created(BaseModel):
    id: str
    name: str
    plan: str


@app.post("/signups")
def create_signup(signup: Signup) -> Created:
    signup_id = f"s-{signup.name.lower()}-{signup.age}"
    logger.info("signup created", extra={"id": signup_id})
    return Created(id=signup_id, name=signup.name, plan=signup.plan)


@app.get("/plans")
def list_plans(min_seats: Annotated[int, Query(ge=1, le=100)] = 1, limit: Optional[int] = None):
    found = [plan for plan in PLANS if plan["seats"] >= min_seats]
    return {"plans": found[:limit] if limit else found}


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return app.resolve(event, context)
