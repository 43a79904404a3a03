//! Records every Extensions API event it gets, one JSON line each, in
//! `$RECORDER_FILE`: `{"event":"INVOKE","requestId",...}` or
//! `{"event":"SHUTDOWN","reason",...}`, after a first
//! `{"event":"START","pid":...}`.

use std::io::Write as _;

use lambda_extension::{Error, LambdaEvent, NextEvent, service_fn};

fn record(line: serde_json::Value) {
    let path = std::env::var("RECORDER_FILE").expect("RECORDER_FILE is set");
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .expect("the record file opens");
    writeln!(file, "{line}").expect("the record is written");
}

async fn on_event(event: LambdaEvent) -> Result<(), Error> {
    match event.next {
        NextEvent::Invoke(invoke) => record(serde_json::json!({
            "event": "INVOKE",
            "requestId": invoke.request_id,
            "deadlineMs": invoke.deadline_ms,
            "invokedFunctionArn": invoke.invoked_function_arn,
            "trace": invoke.tracing.value,
        })),
        NextEvent::Shutdown(shutdown) => record(serde_json::json!({
            "event": "SHUTDOWN",
            "reason": shutdown.shutdown_reason,
            "deadlineMs": shutdown.deadline_ms,
        })),
    }
    Ok(())
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    record(serde_json::json!({ "event": "START", "pid": std::process::id() }));
    lambda_extension::run(service_fn(on_event)).await
}
