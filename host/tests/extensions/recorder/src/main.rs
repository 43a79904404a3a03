//! Records every Extensions API event it gets, one JSON line each, in
//! `$RECORDER_FILE`: `{"event":"INVOKE","requestId",...}` or
//! `{"event":"SHUTDOWN","reason",...}`, after a first
//! `{"event":"START","pid":...}`.

use std::io::Write as _;

use lambda_extension::{
    Error, Extension, LambdaEvent, LambdaTelemetry, LogBuffering, NextEvent, SharedService,
    service_fn,
};

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

/// One batch of the Telemetry API: each record as the crate's types read
/// it, with the batch's size.
async fn on_telemetry(batch: Vec<LambdaTelemetry>) -> Result<(), Error> {
    let size = batch.len();
    for telemetry in batch {
        record(serde_json::json!({
            "event": "TELEMETRY",
            "batch": size,
            "received": std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_millis() as u64,
            "telemetry": serde_json::to_value(&telemetry).unwrap(),
        }));
    }
    Ok(())
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    record(serde_json::json!({ "event": "START", "pid": std::process::id() }));
    let extension = Extension::new().with_events_processor(service_fn(on_event));
    // With RECORDER_TELEMETRY_PORT, it subscribes to the Telemetry API too,
    // listening on that port, with the smallest buffering Lambda takes.
    match std::env::var("RECORDER_TELEMETRY_PORT") {
        Ok(port) => {
            extension
                .with_telemetry_processor(SharedService::new(service_fn(on_telemetry)))
                .with_telemetry_types(&["platform", "function"])
                .with_telemetry_buffering(LogBuffering {
                    timeout_ms: 25,
                    max_bytes: 262_144,
                    max_items: 1_000,
                })
                .with_telemetry_port_number(port.parse()?)
                .run()
                .await
        }
        Err(_) => extension.run().await,
    }
}
