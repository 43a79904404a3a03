// A handler written as a closure over shared state, with an error type of
// its own named through Diagnostic, lambda_runtime's anyhow feature asked
// for, and the default subscriber under Lambda's JSON log format.
use std::sync::Arc;

use lambda_runtime::{Diagnostic, LambdaEvent, service_fn, tracing};
use serde_json::{Value, json};

#[derive(Debug)]
enum PaymentError {
    Declined(u32),
}

impl From<PaymentError> for Diagnostic {
    fn from(error: PaymentError) -> Diagnostic {
        match error {
            PaymentError::Declined(code) => Diagnostic {
                error_type: "PaymentDeclined".into(),
                error_message: format!("card declined with code {code}"),
            },
        }
    }
}

struct Limits {
    max: f64,
}

async fn charge(limits: &Limits, event: LambdaEvent<Value>) -> Result<Value, PaymentError> {
    let amount = event.payload["amount"].as_f64().unwrap_or(0.0);
    tracing::info!(amount, "charging");
    if amount > limits.max {
        return Err(PaymentError::Declined(51));
    }
    Ok(json!({ "charged": amount, "deadlineSet": event.context.deadline > 0 }))
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_runtime::Error> {
    tracing::init_default_subscriber();
    let limits = Arc::new(Limits { max: 100.0 });
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| {
        let limits = limits.clone();
        async move { charge(&limits, event).await }
    }))
    .await
}
