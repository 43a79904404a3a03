// A streamed answer in the shape of lambda_runtime's streaming example: a
// spawned task writes the chunks into the channel whose body the handler
// returns. `{"count": N}` chunks (3 by default), then `"fail": true` (or a
// function URL's `/fail`) ends the body with an error.
use lambda_runtime::streaming::{Body, Response, channel};
use lambda_runtime::{Error, LambdaEvent, service_fn, tracing};
use serde_json::Value;

async fn handler(event: LambdaEvent<Value>) -> Result<Response<Body>, Error> {
    let count = event.payload["count"].as_u64().unwrap_or(3);
    let fail = event.payload["fail"] == true || event.payload["rawPath"] == "/fail";
    let (mut tx, rx) = channel();
    tokio::spawn(async move {
        for n in 0..count {
            tracing::info!(n, "sending");
            tx.send_data(format!("part {n}\n").into()).await.unwrap();
        }
        if fail {
            tx.send_error("the producer failed".into());
        }
    });
    Ok(Response::from(rx))
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    tracing::init_default_subscriber();
    lambda_runtime::run(service_fn(handler)).await
}
