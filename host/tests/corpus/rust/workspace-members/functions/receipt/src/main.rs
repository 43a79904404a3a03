use lambda_runtime::{Error, LambdaEvent, run, service_fn};
use serde::Serialize;
use shared::Order;

#[derive(Serialize)]
struct Receipt {
    text: String,
}

async fn handler(event: LambdaEvent<Order>) -> Result<Receipt, Error> {
    let quote = shared::quote(&event.payload)?;
    Ok(Receipt {
        text: format!("{}: {} cents", quote.customer, quote.total_cents),
    })
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    run(service_fn(handler)).await
}
