// The handler `cargo lambda new` makes (a JSON event, a serialisable
// response, `#[tokio::main]` as generated), with a log line and a failure.
use lambda_runtime::{Error, LambdaEvent, run, service_fn, tracing};
use serde::{Deserialize, Serialize};

#[derive(Deserialize)]
struct Request {
    command: String,
}

#[derive(Serialize)]
struct Response {
    req_id: String,
    msg: String,
}

async fn function_handler(event: LambdaEvent<Request>) -> Result<Response, Error> {
    let command = event.payload.command;
    tracing::info!(command = %command, "handling");
    if command == "fail" {
        return Err("the command failed".into());
    }
    let resp = Response {
        req_id: event.context.request_id,
        msg: format!("Command {}.", command),
    };
    Ok(resp)
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    tracing::init_default_subscriber();
    run(service_fn(function_handler)).await
}
