// An SQS consumer with partial batch responses, typed with aws_lambda_events
// as published Rust handlers are: bad records are reported by message id,
// and the context's settings are read from env_config.
use aws_lambda_events::event::sqs::{BatchItemFailure, SqsBatchResponse, SqsEvent};
use lambda_runtime::{Error, LambdaEvent, run, service_fn, tracing};
use serde::Deserialize;

#[derive(Deserialize)]
struct Job {
    order_id: String,
    quantity: u32,
}

async fn handle(event: LambdaEvent<SqsEvent>) -> Result<SqsBatchResponse, Error> {
    let config = &event.context.env_config;
    let mut response = SqsBatchResponse::default();
    for message in event.payload.records {
        let id = message.message_id.unwrap_or_default();
        match serde_json::from_str::<Job>(message.body.as_deref().unwrap_or("")) {
            Ok(job) if job.quantity > 0 => tracing::info!(
                "{} took order {} x{} ({} MB)",
                config.function_name,
                job.order_id,
                job.quantity,
                config.memory
            ),
            _ => {
                tracing::warn!(message_id = %id, "rejected");
                let mut failure = BatchItemFailure::default();
                failure.item_identifier = id;
                response.batch_item_failures.push(failure);
            }
        }
    }
    Ok(response)
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    tracing::init_default_subscriber();
    run(service_fn(handle)).await
}
