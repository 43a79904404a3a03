//! A handler built against version 0.1.0 of the contract (`wit/`), without
//! the SDK: it answers with the event, the function's name from its
//! environment and whether the remaining time is positive.

wit_bindgen::generate!({
    path: "wit",
    world: "handler",
});

use wasm_lambda::handler::runtime;

struct Handler;

impl Guest for Handler {
    fn handle(event: String, context: Context) -> Result<String, HandlerError> {
        if event.contains("\"fail\"") {
            return Err(HandlerError {
                error_type: "OldContractError".into(),
                error_message: "failed as asked".into(),
                stack_trace: Vec::new(),
            });
        }
        let name = runtime::environment()
            .into_iter()
            .find(|(key, _)| key == "AWS_LAMBDA_FUNCTION_NAME")
            .map(|(_, value)| value)
            .unwrap_or_default();
        Ok(format!(
            r#"{{"event":{event},"name":"{name}","request_id":"{}","time_left":{}}}"#,
            context.aws_request_id,
            runtime::remaining_time_ms() > 0
        ))
    }
}

export!(Handler);
