//! Lambda's Telemetry API for a function's extensions: an extension
//! subscribes (`PUT /2022-07-01/telemetry`, schema `2022-12-13`) with the
//! record types it wants (`platform`, `function`, `extension`), how to
//! buffer them (`maxItems`, `maxBytes`, `timeoutMs`) and an HTTP
//! destination, and gets the function's records there in batches: JSON
//! arrays of `{"time","type","record"}`. The Logs API it replaced
//! (`PUT /2020-08-15/logs`, schema `2021-03-18`) is served too, with that
//! schema's records: a `function` record is the line as a string,
//! `platform.start`, `platform.runtimeDone`, `platform.end` and
//! `platform.report` carry the request id (and the report its metrics), and
//! the init records, which that API never had, are left out.
//!
//! Each subscription has a sender thread and a queue bounded by its
//! `maxItems` and `maxBytes`: a slow or dead destination never slows an
//! invocation or grows memory; what does not fit is dropped, counted, and
//! reported in the next batch as `platform.logsDropped`.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, mpsc};
use std::time::{Duration, Instant, SystemTime};

use serde_json::{Map, Value, json};

/// The buffering of a subscription, Lambda's defaults and ranges.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Buffering {
    pub(crate) max_items: usize,
    pub(crate) max_bytes: usize,
    pub(crate) timeout: Duration,
}

impl Buffering {
    /// The request's `buffering`, checked against Lambda's ranges.
    pub(crate) fn from_request(buffering: Option<&Value>) -> Result<Buffering, String> {
        let field = |name: &str, default: u64, range: std::ops::RangeInclusive<u64>| {
            let value = match buffering.and_then(|buffering| buffering.get(name)) {
                None => default,
                Some(value) => value
                    .as_u64()
                    .ok_or_else(|| format!("buffering.{name} must be a whole number"))?,
            };
            if range.contains(&value) {
                Ok(value)
            } else {
                Err(format!(
                    "buffering.{name} {value} is outside {} to {}",
                    range.start(),
                    range.end()
                ))
            }
        };
        Ok(Buffering {
            max_items: field("maxItems", 10_000, 1_000..=10_000)? as usize,
            max_bytes: field("maxBytes", 262_144, 262_144..=1_048_576)? as usize,
            timeout: Duration::from_millis(field("timeoutMs", 1_000, 25..=30_000)?),
        })
    }
}

/// Which API a subscription came through, and so which records it gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Schema {
    /// The Telemetry API, schema `2022-12-13`: records as they are made.
    Telemetry,
    /// The Logs API, schema `2021-03-18`.
    Logs,
}

impl Schema {
    /// The record announcing a subscription, sent to it first.
    pub(crate) fn subscribed(self, extension: &str, types: &[String]) -> Record {
        let kind = match self {
            Schema::Telemetry => "platform.telemetrySubscription",
            Schema::Logs => "platform.logsSubscription",
        };
        record(
            kind,
            json!({ "name": extension, "state": "Subscribed", "types": types }),
        )
    }

    /// `record` (made in the Telemetry API's schema) as this schema has
    /// it: none, one or (`platform.runtimeDone`, which the Logs API follows
    /// with `platform.end`) two records.
    fn records_of(self, record: &Value) -> Vec<Value> {
        if self == Schema::Telemetry {
            return vec![record.clone()];
        }
        let body = &record["record"];
        let with = |kind: &str, body: Value| {
            let mut out = record.clone();
            out["type"] = json!(kind);
            out["record"] = body;
            out
        };
        let request_id = &body["requestId"];
        match record["type"].as_str().unwrap_or_default() {
            kind @ ("function" | "extension") => {
                let line = match body {
                    Value::String(line) => line.clone(),
                    other => other.to_string(),
                };
                vec![with(kind, json!(line))]
            }
            "platform.start" => vec![with(
                "platform.start",
                json!({ "requestId": request_id, "version": body["version"] }),
            )],
            "platform.runtimeDone" => vec![
                with(
                    "platform.runtimeDone",
                    json!({ "requestId": request_id, "status": body["status"] }),
                ),
                with("platform.end", json!({ "requestId": request_id })),
            ],
            "platform.report" => {
                let mut metrics = Map::new();
                for name in [
                    "durationMs",
                    "billedDurationMs",
                    "memorySizeMB",
                    "maxMemoryUsedMB",
                    "initDurationMs",
                ] {
                    if let Some(value) = body["metrics"].get(name) {
                        metrics.insert(name.into(), value.clone());
                    }
                }
                vec![with(
                    "platform.report",
                    json!({ "requestId": request_id, "metrics": metrics }),
                )]
            }
            // `platform.logsDropped` is never offered: the sender makes it,
            // in a shape both schemas share.
            // The same shape in both schemas.
            "platform.logsSubscription" | "platform.extension" => vec![record.clone()],
            _ => Vec::new(),
        }
    }
}

/// A record as the Telemetry API sends it: `{"time","type","record"}`,
/// written out as JSON once, when it is made. The invocation path makes
/// three or more per invocation, so their bodies are serialized straight
/// from typed fields, with no `serde_json::Value` in between; a record's
/// text is then shared by every subscription that takes it as it is.
#[derive(Debug, Clone)]
pub(crate) struct Record {
    kind: &'static str,
    text: Arc<str>,
}

/// The envelope of a record, in the order Lambda writes its keys.
#[derive(serde::Serialize)]
struct Envelope<'a, B: serde::Serialize> {
    time: String,
    #[serde(rename = "type")]
    kind: &'a str,
    record: B,
}

impl Record {
    /// A record of type `kind` with `body`, timed `time`.
    pub(crate) fn at(time: SystemTime, kind: &'static str, body: impl serde::Serialize) -> Record {
        let envelope = Envelope {
            time: humantime::format_rfc3339_millis(time).to_string(),
            kind,
            record: body,
        };
        let text = serde_json::to_string(&envelope).unwrap_or_default();
        Record {
            kind,
            text: Arc::from(text),
        }
    }

    /// The record as a JSON value (for the Logs API's schema, which reshapes
    /// it).
    pub(crate) fn value(&self) -> Value {
        serde_json::from_str(&self.text).unwrap_or(Value::Null)
    }
}

/// A record as the Telemetry API sends it, timed now.
pub(crate) fn record(kind: &'static str, body: impl serde::Serialize) -> Record {
    Record::at(SystemTime::now(), kind, body)
}

/// The trace header as records carry it.
#[derive(serde::Serialize)]
struct Tracing<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    value: &'a str,
}

fn tracing_of(trace: &str) -> Tracing<'_> {
    Tracing {
        kind: "X-Amzn-Trace-Id",
        value: trace,
    }
}

/// An invocation's `platform.start`, timed when it started.
pub(crate) fn start_record(
    started: SystemTime,
    request_id: &str,
    version: &str,
    trace: &str,
) -> Record {
    #[derive(serde::Serialize)]
    #[serde(rename_all = "camelCase")]
    struct Start<'a> {
        request_id: &'a str,
        version: &'a str,
        tracing: Tracing<'a>,
    }
    Record::at(
        started,
        "platform.start",
        Start {
            request_id,
            version,
            tracing: tracing_of(trace),
        },
    )
}

/// A `function` record per line of `lines` (whole lines of the function's
/// own output, as a [`wasm_lambda_core::LineTap`] gets them): with the JSON
/// format a line that is a JSON object stays an object, as Lambda sends it.
pub(crate) fn function_records(
    lines: &[u8],
    logging: wasm_lambda_core::LoggingConfig,
) -> Vec<Record> {
    String::from_utf8_lossy(lines)
        .lines()
        .map(|line| {
            let object = logging
                .is_json()
                .then(|| serde_json::from_str::<Value>(line).ok())
                .flatten()
                .filter(Value::is_object);
            match object {
                Some(object) => record("function", object),
                None => record("function", line),
            }
        })
        .collect()
}

/// The records that end an invocation: `platform.runtimeDone` and
/// `platform.report`.
pub(crate) fn end_records(invocation: &wasm_lambda_core::Invocation, trace: &str) -> Vec<Record> {
    #[derive(serde::Serialize)]
    #[serde(rename_all = "camelCase")]
    struct DoneMetrics {
        duration_ms: f64,
        produced_bytes: usize,
    }
    #[derive(serde::Serialize)]
    #[serde(rename_all = "camelCase")]
    struct Done<'a> {
        request_id: &'a str,
        status: &'a str,
        #[serde(skip_serializing_if = "Option::is_none")]
        error_type: Option<&'a str>,
        metrics: DoneMetrics,
        spans: [(); 0],
        tracing: Tracing<'a>,
    }
    #[derive(serde::Serialize)]
    #[serde(rename_all = "camelCase")]
    struct ReportBody<'a> {
        request_id: &'a str,
        status: &'a str,
        #[serde(skip_serializing_if = "Option::is_none")]
        error_type: Option<&'a str>,
        metrics: wasm_lambda_core::ReportMetrics,
        tracing: Tracing<'a>,
    }
    let report = &invocation.report;
    let request_id = invocation.request_id.as_str();
    let (status, error_type) = report.status.record_status();
    let millis = |duration: Duration| duration.as_micros() as f64 / 1000.0;
    let now = SystemTime::now();
    vec![
        Record::at(
            now,
            "platform.runtimeDone",
            Done {
                request_id,
                status,
                error_type,
                metrics: DoneMetrics {
                    duration_ms: millis(report.duration),
                    produced_bytes: invocation.payload().len(),
                },
                spans: [],
                tracing: tracing_of(trace),
            },
        ),
        Record::at(
            now,
            "platform.report",
            ReportBody {
                request_id,
                status,
                error_type,
                metrics: report.metrics(),
                tracing: tracing_of(trace),
            },
        ),
    ]
}

/// The type a record's `type` belongs to: `platform`, `function` or
/// `extension`.
fn family(kind: &str) -> &str {
    kind.split('.').next().unwrap_or(kind)
}

/// One extension's subscription.
pub(crate) struct Subscription {
    schema: Schema,
    types: Vec<String>,
    buffering: Buffering,
    sender: mpsc::SyncSender<Arc<str>>,
    queued_bytes: Arc<AtomicUsize>,
    dropped_records: Arc<AtomicU64>,
    dropped_bytes: Arc<AtomicU64>,
}

/// Where a subscription's batches go.
pub(crate) enum Destination {
    /// An extension's HTTP listener: an `http://` URI (`sandbox.localdomain`,
    /// the name Lambda gives the execution environment, is loopback).
    Http(String),
    /// A component serving as an extension (`extension_components`): each
    /// batch is one invocation of it, the batch's JSON array its event, run
    /// on `runtime` from the subscription's own thread.
    Component {
        function: wasm_lambda_core::Function,
        runtime: tokio::runtime::Handle,
    },
}

impl Subscription {
    /// Subscribes `destination` to `types`, with a sender thread of its
    /// own.
    pub(crate) fn start(
        schema: Schema,
        types: Vec<String>,
        buffering: Buffering,
        destination: Destination,
    ) -> Result<Subscription, String> {
        let destination = match destination {
            Destination::Http(uri) => Destination::Http(loopback_uri(&uri)?),
            component => component,
        };
        let (sender, receiver) = mpsc::sync_channel(buffering.max_items);
        let subscription = Subscription {
            schema,
            types,
            buffering,
            sender,
            queued_bytes: Arc::new(AtomicUsize::new(0)),
            dropped_records: Arc::new(AtomicU64::new(0)),
            dropped_bytes: Arc::new(AtomicU64::new(0)),
        };
        let sending = Sending {
            destination,
            buffering,
            receiver,
            queued_bytes: subscription.queued_bytes.clone(),
            dropped_records: subscription.dropped_records.clone(),
            dropped_bytes: subscription.dropped_bytes.clone(),
        };
        std::thread::Builder::new()
            .name("wasm-lambda-telemetry".into())
            .spawn(move || sending.run())
            .map_err(|error| format!("no telemetry thread: {error}"))?;
        Ok(subscription)
    }

    /// Queues `record` when its type is subscribed; drops it (and counts
    /// it) when the queue is full. The Telemetry API takes the record's text
    /// as it is, shared; the Logs API's schema reshapes it.
    pub(crate) fn offer(&self, record: &Record) {
        if !self.types.iter().any(|name| name == family(record.kind)) {
            return;
        }
        match self.schema {
            Schema::Telemetry => self.queue(record.text.clone()),
            Schema::Logs => {
                for converted in self.schema.records_of(&record.value()) {
                    self.queue(Arc::from(converted.to_string()));
                }
            }
        }
    }

    fn queue(&self, text: Arc<str>) {
        let size = text.len();
        let queued = self.queued_bytes.fetch_add(size, Ordering::AcqRel);
        if queued + size > self.buffering.max_bytes || self.sender.try_send(text).is_err() {
            self.queued_bytes.fetch_sub(size, Ordering::AcqRel);
            self.dropped_records.fetch_add(1, Ordering::Relaxed);
            self.dropped_bytes.fetch_add(size as u64, Ordering::Relaxed);
        }
    }
}

/// `destination` with `sandbox.localdomain` (or `sandbox`) as loopback.
fn loopback_uri(destination: &str) -> Result<String, String> {
    let rest = destination
        .strip_prefix("http://")
        .ok_or_else(|| format!("destination.URI {destination:?} is not an http:// URI"))?;
    let (authority, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    let (host, port) = authority.rsplit_once(':').unwrap_or((authority, "80"));
    let host = match host {
        "sandbox.localdomain" | "sandbox" | "localhost" => "127.0.0.1",
        other => other,
    };
    Ok(format!("http://{host}:{port}{path}"))
}

/// The sender thread of a subscription.
struct Sending {
    destination: Destination,
    buffering: Buffering,
    receiver: mpsc::Receiver<Arc<str>>,
    queued_bytes: Arc<AtomicUsize>,
    dropped_records: Arc<AtomicU64>,
    dropped_bytes: Arc<AtomicU64>,
}

impl Sending {
    fn run(self) {
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .timeout_global(Some(Duration::from_secs(10)))
            .build()
            .into();
        let mut carried: Option<Arc<str>> = None;
        loop {
            let first = match carried.take() {
                Some(first) => first,
                None => match self.receiver.recv() {
                    Ok(first) => first,
                    // The function is gone.
                    Err(_) => return,
                },
            };
            // A batch: what comes within timeoutMs of its first record, up
            // to maxItems records and maxBytes.
            let until = Instant::now() + self.buffering.timeout;
            let mut bytes = first.len();
            let mut batch = vec![first];
            while batch.len() < self.buffering.max_items {
                let left = until.saturating_duration_since(Instant::now());
                let Ok(record) = self.receiver.recv_timeout(left) else {
                    break;
                };
                if bytes + record.len() > self.buffering.max_bytes {
                    carried = Some(record);
                    break;
                }
                bytes += record.len();
                batch.push(record);
            }
            self.queued_bytes.fetch_sub(bytes, Ordering::AcqRel);
            let records = self.dropped_records.swap(0, Ordering::Relaxed);
            let dropped_bytes = self.dropped_bytes.swap(0, Ordering::Relaxed);
            if records > 0 {
                let dropped = record(
                    "platform.logsDropped",
                    json!({
                        "reason": "Some logs were dropped because the destination did not keep up with the function's records",
                        "droppedRecords": records,
                        "droppedBytes": dropped_bytes,
                    }),
                );
                if batch.len() >= self.buffering.max_items {
                    // Keeps the batch within maxItems.
                    batch.pop();
                }
                batch.insert(0, dropped.text.clone());
            }
            // The records are JSON already: the batch is their array.
            let mut body = String::with_capacity(bytes + batch.len() + 2);
            body.push('[');
            for (index, record) in batch.iter().enumerate() {
                if index > 0 {
                    body.push(',');
                }
                body.push_str(record);
            }
            body.push(']');
            match &self.destination {
                Destination::Http(uri) => post(&agent, uri, &body),
                Destination::Component { function, runtime } => {
                    deliver(function, runtime, body);
                }
            }
        }
    }
}

/// Posts a batch to an extension's listener; one more try after a moment,
/// as a destination may be between connections.
fn post(agent: &ureq::Agent, uri: &str, body: &str) {
    for attempt in 0..2 {
        let sent = agent
            .post(uri)
            .header("content-type", "application/json")
            .send(body.as_bytes());
        match sent {
            Ok(_) => return,
            Err(error) if attempt == 1 => {
                tracing::warn!("wasm-lambda: telemetry for {uri} was not delivered: {error}");
            }
            Err(_) => std::thread::sleep(Duration::from_millis(50)),
        }
    }
}

/// Hands a batch to a component extension: one invocation with the batch
/// as its event. What it does (an error, a trap, a timeout) ends in its own
/// invocation and is logged; the function it observes is never touched
/// (`extensions::a_component_extension_gets_the_functions_records_as_its_events`).
fn deliver(function: &wasm_lambda_core::Function, runtime: &tokio::runtime::Handle, body: String) {
    let name = function.config().name.clone();
    let request = wasm_lambda_core::InvokeRequest::new(body);
    match runtime.block_on(function.invoke(request)) {
        Ok(invocation) => {
            if let Some(error) = invocation.function_error() {
                tracing::warn!(
                    "wasm-lambda: extension component {name} failed on a telemetry batch: {}: {}",
                    error.error_type,
                    error.error_message
                );
            }
        }
        Err(error) => tracing::warn!(
            "wasm-lambda: extension component {name} did not take a telemetry batch: {error}"
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buffering_takes_lambdas_defaults_and_ranges() {
        assert_eq!(
            Buffering::from_request(None).unwrap(),
            Buffering {
                max_items: 10_000,
                max_bytes: 262_144,
                timeout: Duration::from_millis(1_000)
            }
        );
        let given = json!({ "maxItems": 1000, "maxBytes": 262144, "timeoutMs": 25 });
        assert_eq!(
            Buffering::from_request(Some(&given)).unwrap().timeout,
            Duration::from_millis(25)
        );
        let small = json!({ "timeoutMs": 5 });
        assert!(
            Buffering::from_request(Some(&small))
                .unwrap_err()
                .contains("timeoutMs")
        );
    }

    #[test]
    fn the_sandboxs_name_is_loopback() {
        assert_eq!(
            loopback_uri("http://sandbox.localdomain:9003").unwrap(),
            "http://127.0.0.1:9003"
        );
        assert_eq!(
            loopback_uri("http://sandbox:8080/logs").unwrap(),
            "http://127.0.0.1:8080/logs"
        );
        assert!(loopback_uri("https://example.com").is_err());
    }

    #[test]
    fn a_full_queue_drops_and_counts_instead_of_growing() {
        // A destination nobody listens on: the thread's first post fails
        // slowly enough that the queue fills.
        let subscription = Subscription::start(
            Schema::Telemetry,
            vec!["function".into()],
            Buffering {
                max_items: 1_000,
                max_bytes: 262_144,
                timeout: Duration::from_secs(30),
            },
            Destination::Http("http://127.0.0.1:9".into()),
        )
        .unwrap();
        let line = record("function", json!("x".repeat(1_000)));
        for _ in 0..1_000 {
            subscription.offer(&line);
        }
        // At most maxBytes are queued; the rest is counted as dropped.
        assert!(subscription.queued_bytes.load(Ordering::Acquire) <= 262_144);
        assert!(subscription.dropped_records.load(Ordering::Acquire) > 0);
        // Types not subscribed are not even queued.
        let before = subscription.dropped_records.load(Ordering::Acquire);
        subscription.offer(&record("platform.start", json!({})));
        assert_eq!(subscription.dropped_records.load(Ordering::Acquire), before);
    }

    #[test]
    fn the_logs_api_gets_its_own_schema() {
        let start = record(
            "platform.start",
            json!({ "requestId": "r1", "version": "$LATEST", "tracing": {"type": "X-Amzn-Trace-Id"} }),
        );
        let line = record("function", json!({ "level": "INFO", "message": "hi" }));
        let done = record(
            "platform.runtimeDone",
            json!({ "requestId": "r1", "status": "success", "metrics": { "durationMs": 1.5 } }),
        );
        let report = record(
            "platform.report",
            json!({
                "requestId": "r1",
                "status": "success",
                "metrics": { "durationMs": 1.5, "billedDurationMs": 2, "memorySizeMB": 128,
                             "maxMemoryUsedMB": 20, "initDurationMs": 3.25 },
                "tracing": {},
            }),
        );
        let init = record("platform.initStart", json!({ "phase": "init" }));
        let logs: Vec<Value> = [&start, &line, &done, &report, &init]
            .into_iter()
            .flat_map(|record| Schema::Logs.records_of(&record.value()))
            .map(|record| json!([record["type"], record["record"]]))
            .collect();
        assert_eq!(
            logs,
            [
                json!(["platform.start", { "requestId": "r1", "version": "$LATEST" }]),
                json!(["function", r#"{"level":"INFO","message":"hi"}"#]),
                json!(["platform.runtimeDone", { "requestId": "r1", "status": "success" }]),
                json!(["platform.end", { "requestId": "r1" }]),
                json!(["platform.report", { "requestId": "r1", "metrics": {
                    "durationMs": 1.5, "billedDurationMs": 2, "memorySizeMB": 128,
                    "maxMemoryUsedMB": 20, "initDurationMs": 3.25 } }]),
            ]
        );
        // The Telemetry API's records are the records as made.
        assert_eq!(
            Schema::Telemetry.records_of(&report.value()),
            [report.value()]
        );
    }
}
