from http import HTTPStatus

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response, content_types
from aws_lambda_powertools.event_handler.exceptions import NotFoundError
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

tracer = Tracer()
logger = Logger()
metrics = Metrics(namespace="Corpus")
app = APIGatewayRestResolver()

TODOS = {"1": {"id": "1", "title": "write the corpus", "done": False}}


@app.get("/todos/<todo_id>")
@tracer.capture_method
def get_todo(todo_id: str):
    todo = TODOS.get(todo_id)
    if todo is None:
        raise NotFoundError(f"todo {todo_id} not found")
    metrics.add_metric(name="TodoRead", unit=MetricUnit.Count, value=1)
    return todo


@app.post("/todos")
@tracer.capture_method
def create_todo():
    todo = app.current_event.json_body
    logger.info("creating todo", extra={"title": todo["title"]})
    return Response(
        status_code=HTTPStatus.CREATED.value,
        content_type=content_types.APPLICATION_JSON,
        body={"id": "2", **todo},
    )


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
@tracer.capture_lambda_handler
@metrics.log_metrics(capture_cold_start_metric=True)
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return app.resolve(event, context)
