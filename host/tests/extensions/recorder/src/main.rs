//! Records every Extensions API event it gets, one JSON line each, in
//! `$RECORDER_FILE`: `{"event":"INVOKE","requestId",...}` or
//! `{"event":"SHUTDOWN","reason",...}`, after a first
//! `{"event":"START","pid":...}`; with a subscription, each record it
//! receives (`TELEMETRY` or `LOGS`). It also writes `recorder: started` to
//! stdout and `recorder: invoke <requestId>` to stderr, which belong in
//! the function's log. With `RECORDER_STAY` set, it keeps running after
//! the Extensions API goes away.

use std::io::Write as _;

use lambda_extension::{
    Error, Extension, LambdaEvent, LambdaLog, LambdaLogRecord, LambdaTelemetry, LogBuffering,
    NextEvent, SharedService, service_fn,
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
        NextEvent::Invoke(invoke) => {
            eprintln!("recorder: invoke {}", invoke.request_id);
            record(serde_json::json!({
                "event": "INVOKE",
                "requestId": invoke.request_id,
                "deadlineMs": invoke.deadline_ms,
                "invokedFunctionArn": invoke.invoked_function_arn,
                "trace": invoke.tracing.value,
            }))
        }
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

/// One batch of the Logs API, each record as the crate's types read it
/// (they are not serialisable, so the fields the tests read are copied).
async fn on_logs(batch: Vec<LambdaLog>) -> Result<(), Error> {
    for log in batch {
        let (kind, fields) = match log.record {
            LambdaLogRecord::Function(line) => ("function", serde_json::json!({ "line": line })),
            LambdaLogRecord::PlatformStart { request_id } => (
                "platform.start",
                serde_json::json!({ "requestId": request_id }),
            ),
            LambdaLogRecord::PlatformRuntimeDone { request_id, status } => (
                "platform.runtimeDone",
                serde_json::json!({ "requestId": request_id, "status": status }),
            ),
            LambdaLogRecord::PlatformEnd { request_id } => (
                "platform.end",
                serde_json::json!({ "requestId": request_id }),
            ),
            LambdaLogRecord::PlatformReport {
                request_id,
                metrics,
            } => (
                "platform.report",
                serde_json::json!({
                    "requestId": request_id,
                    "durationMs": metrics.duration_ms,
                    "memorySizeMB": metrics.memory_size_mb,
                    "initDurationMs": metrics.init_duration_ms,
                }),
            ),
            LambdaLogRecord::PlatformExtension {
                name,
                state,
                events,
            } => (
                "platform.extension",
                serde_json::json!({ "name": name, "state": state, "events": events }),
            ),
            LambdaLogRecord::PlatformLogsSubscription { name, state, types } => (
                "platform.logsSubscription",
                serde_json::json!({ "name": name, "state": state, "types": types }),
            ),
            other => (
                "other",
                serde_json::json!({ "debug": format!("{other:?}") }),
            ),
        };
        record(serde_json::json!({ "event": "LOGS", "type": kind, "record": fields }));
    }
    Ok(())
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    record(serde_json::json!({ "event": "START", "pid": std::process::id() }));
    println!("recorder: started");
    let extension = Extension::new().with_events_processor(service_fn(on_event));
    // With RECORDER_LOGS_PORT, it subscribes to the Logs API instead,
    // listening on that port.
    if let Ok(port) = std::env::var("RECORDER_LOGS_PORT") {
        return extension
            .with_logs_processor(SharedService::new(service_fn(on_logs)))
            .with_log_types(&["platform", "function"])
            .with_log_buffering(LogBuffering {
                timeout_ms: 25,
                max_bytes: 262_144,
                max_items: 1_000,
            })
            .with_log_port_number(port.parse()?)
            .run()
            .await;
    }
    // With RECORDER_TELEMETRY_PORT, it subscribes to the Telemetry API too,
    // listening on that port, with the smallest buffering Lambda takes.
    match std::env::var("RECORDER_TELEMETRY_PORT") {
        Ok(port) => {
            extension
                .with_telemetry_processor(SharedService::new(service_fn(on_telemetry)))
                .with_telemetry_types(&["platform", "function", "extension"])
                .with_telemetry_buffering(LogBuffering {
                    timeout_ms: 25,
                    max_bytes: 262_144,
                    max_items: 1_000,
                })
                .with_telemetry_port_number(port.parse()?)
                .run()
                .await
        }
        Err(_) => {
            let ended = extension.run().await;
            // With RECORDER_STAY, it outlives the API it was given, as an
            // extension that retries forever would: only a signal ends it.
            if std::env::var_os("RECORDER_STAY").is_some() {
                record(serde_json::json!({ "event": "API_LOST" }));
                std::future::pending::<()>().await;
            }
            ended
        }
    }
}
