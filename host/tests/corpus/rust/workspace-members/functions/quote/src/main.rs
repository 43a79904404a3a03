use lambda_runtime::{Error, LambdaEvent, run, service_fn, tracing};
use serde_json::{Value, json};
use shared::Order;

async fn function_handler(event: LambdaEvent<Order>) -> Result<Value, Error> {
    let order = event.payload;
    tracing::info!(customer = %order.customer, lines = order.lines.len(), "quoting");
    let quote = shared::quote(&order)?;
    Ok(
        json!({ "quote": quote, "function": env!("CARGO_PKG_NAME"), "version": env!("CARGO_PKG_VERSION") }),
    )
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    tracing::init_default_subscriber();
    run(service_fn(function_handler)).await
}
