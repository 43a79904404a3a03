//! The poller of an SQS mapping: long-polls the queue, gathers a batch (up
//! to `BatchSize` messages, or what arrived within
//! `MaximumBatchingWindowInSeconds` of the first), deletes the messages no
//! filter matches, invokes the function with Lambda's SQS event and deletes
//! what succeeded. A failed batch is left to the queue: its messages come
//! back after the visibility timeout, and its redrive policy moves them to a
//! dead-letter queue after `maxReceiveCount` receives, as on Lambda.
//!
//! SQS is spoken in its JSON protocol (`X-Amz-Target: AmazonSQS.*`), signed
//! with SigV4 ([`aws::sign`](super::super::aws::sign)); calls block, so they
//! run on tokio's blocking threads.

use std::collections::HashSet;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{Map, Value, json};
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use super::super::AppState;
use super::super::aws;
use super::filter::SourceKind;
use super::{
    EVENT_FRAME_BYTES, QueueArn, Settings, backoff, batch_event, batch_item_failures, ordered,
    set_result,
};
use wasm_lambda_core::MAX_REQUEST_BYTES;

/// The longest long poll SQS allows, which Lambda's pollers use.
const LONG_POLL_SECONDS: u64 = 20;
/// The most messages one `ReceiveMessage` (or `DeleteMessageBatch`) takes.
const MESSAGES_PER_CALL: usize = 10;
/// How long one call may take beyond its long poll.
const CALL_TIMEOUT: Duration = Duration::from_secs(30);

/// Runs a mapping's pollers until `stop`: `MaximumConcurrency` of them (or
/// [`super::DEFAULT_POLLERS`]), each with at most one batch in flight. New
/// settings stop the pollers after their batches and start them again.
pub(super) async fn run(
    state: Arc<AppState>,
    uuid: String,
    mut settings: watch::Receiver<Arc<Settings>>,
    stop: CancellationToken,
    last_result: Arc<Mutex<String>>,
) {
    loop {
        let current = settings.borrow_and_update().clone();
        let Some(arn) = QueueArn::parse(&current.event_source_arn) else {
            // Settings were checked when given; nothing to poll otherwise.
            return;
        };
        let endpoint = state.sources.endpoint(&current, "sqs", &arn.region);
        tracing::info!(
            "wasm-lambda: event source mapping {uuid} polls {} at {endpoint} for {} ({} poller(s), batches of up to {})",
            current.event_source_arn,
            current.function_name,
            current.pollers(),
            current.batch_size
        );
        let pollers = stop.child_token();
        let tracker = TaskTracker::new();
        let queue = Arc::new(Queue::new(endpoint, arn, current.event_source_arn.clone()));
        for _ in 0..current.pollers() {
            tracker.spawn(poll(Poller {
                state: state.clone(),
                uuid: uuid.clone(),
                settings: current.clone(),
                queue: queue.clone(),
                stop: pollers.clone(),
                last_result: last_result.clone(),
            }));
        }
        tracker.close();
        let changed = tokio::select! {
            () = stop.cancelled() => false,
            changed = settings.changed() => changed.is_ok(),
        };
        pollers.cancel();
        tracker.wait().await;
        if !changed {
            tracing::info!("wasm-lambda: event source mapping {uuid} stopped polling");
            return;
        }
    }
}

/// One poller of a mapping.
struct Poller {
    state: Arc<AppState>,
    uuid: String,
    settings: Arc<Settings>,
    queue: Arc<Queue>,
    stop: CancellationToken,
    last_result: Arc<Mutex<String>>,
}

impl Poller {
    fn report(&self, result: impl Into<String>) {
        set_result(&self.last_result, result);
    }
}

async fn poll(poller: Poller) {
    let mut failures = 0;
    while !poller.stop.is_cancelled() {
        let batch = match gather(&poller).await {
            Ok(batch) => batch,
            Err(error) => {
                tracing::warn!("wasm-lambda: event source mapping {}: {error}", poller.uuid);
                poller.report(format!("PROBLEM: {error}"));
                let pause = backoff(failures);
                failures += 1;
                tokio::select! {
                    () = tokio::time::sleep(pause) => {}
                    () = poller.stop.cancelled() => {}
                }
                continue;
            }
        };
        failures = 0;
        if !batch.is_empty() {
            process(&poller, batch).await;
            poller.queue.holding.fetch_sub(1, Ordering::SeqCst);
        }
    }
}

/// One message as `ReceiveMessage` gave it.
#[derive(Debug, Clone)]
struct Message {
    id: String,
    receipt: String,
    body: String,
    md5: String,
    attributes: Map<String, Value>,
    message_attributes: Map<String, Value>,
    /// Its record of Lambda's event, made once on receipt: a batch's size
    /// is counted with it, the filters read it, and the event is made of it.
    record: String,
}

impl Message {
    /// A message of the queue `arn` in `region`.
    fn from_sqs(value: &Value, arn: &str, region: &str) -> Option<Message> {
        let text = |key: &str| value.get(key).and_then(Value::as_str).map(str::to_string);
        let object = |key: &str| {
            value
                .get(key)
                .and_then(Value::as_object)
                .cloned()
                .unwrap_or_default()
        };
        let mut message = Message {
            id: text("MessageId")?,
            receipt: text("ReceiptHandle")?,
            body: text("Body").unwrap_or_default(),
            md5: text("MD5OfBody").unwrap_or_default(),
            attributes: object("Attributes"),
            message_attributes: object("MessageAttributes"),
            record: String::new(),
        };
        message.record = message.render(arn, region);
        Some(message)
    }

    /// The record of Lambda's SQS event, as JSON text with Lambda's key
    /// order (what a handler that prints its event shows).
    fn render(&self, arn: &str, region: &str) -> String {
        // The system attributes Lambda passes on, in the order its events
        // show them.
        const ATTRIBUTE_ORDER: &[&str] = &[
            "ApproximateReceiveCount",
            "AWSTraceHeader",
            "SentTimestamp",
            "SequenceNumber",
            "MessageGroupId",
            "SenderId",
            "MessageDeduplicationId",
            "ApproximateFirstReceiveTimestamp",
        ];
        let attributes: Vec<(&str, String)> = ATTRIBUTE_ORDER
            .iter()
            .filter_map(|name| Some((*name, self.attributes.get(*name)?.to_string())))
            .collect();
        let message_attributes: Vec<(&str, String)> = self
            .message_attributes
            .iter()
            .map(|(name, value)| (name.as_str(), message_attribute(value)))
            .collect();
        ordered(&[
            ("messageId", json!(self.id).to_string()),
            ("receiptHandle", json!(self.receipt).to_string()),
            ("body", json!(self.body).to_string()),
            ("attributes", ordered(&attributes)),
            ("messageAttributes", ordered(&message_attributes)),
            ("md5OfBody", json!(self.md5).to_string()),
            ("eventSource", json!("aws:sqs").to_string()),
            ("eventSourceARN", json!(arn).to_string()),
            ("awsRegion", json!(region).to_string()),
        ])
    }
}

/// An SQS message attribute as Lambda's event writes it (camelCase, with
/// the list fields always present).
fn message_attribute(value: &Value) -> String {
    let field = |key: &str| value.get(key).cloned();
    let mut fields = Vec::new();
    if let Some(text) = field("StringValue") {
        fields.push(("stringValue", text.to_string()));
    }
    if let Some(binary) = field("BinaryValue") {
        fields.push(("binaryValue", binary.to_string()));
    }
    fields.push((
        "stringListValues",
        field("StringListValues")
            .unwrap_or_else(|| json!([]))
            .to_string(),
    ));
    fields.push((
        "binaryListValues",
        field("BinaryListValues")
            .unwrap_or_else(|| json!([]))
            .to_string(),
    ));
    fields.push((
        "dataType",
        field("DataType")
            .unwrap_or_else(|| json!("String"))
            .to_string(),
    ));
    ordered(&fields)
}

/// Receives messages until the batch is full, the batching window that
/// started with its first message has passed, or (without a window) one
/// receive brought any. Empty when the poller was stopped meanwhile (what it
/// had received is made visible again).
async fn gather(poller: &Poller) -> Result<Vec<Message>, String> {
    let settings = &poller.settings;
    let want = settings.batch_size as usize;
    let window = Duration::from_secs(settings.window_seconds.into());
    let mut batch: Vec<Message> = Vec::new();
    let mut window_end: Option<Instant> = None;
    let mut bytes = EVENT_FRAME_BYTES;
    loop {
        let wait = match window_end {
            None => LONG_POLL_SECONDS,
            Some(end) => end.saturating_duration_since(Instant::now()).as_secs(),
        };
        let wanted = (want - batch.len()).min(MESSAGES_PER_CALL);
        let received = match poller
            .queue
            .receive(wanted, wait, window_end, &poller.stop)
            .await
        {
            Ok(Some(received)) => received,
            Ok(None) => {
                if !batch.is_empty() {
                    poller.queue.holding.fetch_sub(1, Ordering::SeqCst);
                    poller.queue.release(batch).await;
                }
                return Ok(Vec::new());
            }
            Err(error) => {
                // What is already gathered goes on; the error comes back
                // on the next poll if it lasts.
                if batch.is_empty() {
                    return Err(error);
                }
                tracing::warn!("wasm-lambda: event source mapping {}: {error}", poller.uuid);
                return Ok(batch);
            }
        };
        let got_none = received.is_empty();
        if batch.is_empty() && !got_none {
            window_end = Some(Instant::now() + window);
            poller.queue.holding.fetch_add(1, Ordering::SeqCst);
        }
        bytes += received.iter().map(record_bytes).sum::<usize>();
        batch.extend(received);
        // A batch stays within the 6 MB an invocation may carry, as
        // Lambda's do: what does not fit goes back to the queue.
        let mut excess = Vec::new();
        while batch.len() > 1 && bytes > MAX_REQUEST_BYTES {
            if let Some(message) = batch.pop() {
                bytes -= record_bytes(&message);
                excess.push(message);
            }
        }
        if !excess.is_empty() {
            poller.queue.release(excess).await;
            return Ok(batch);
        }
        let Some(end) = window_end else {
            // Nothing yet: poll again (each empty poll waited 20 s).
            continue;
        };
        let now = Instant::now();
        if batch.len() >= want || now >= end {
            return Ok(batch);
        }
        // Under a second of window left: short polls, a little apart.
        if got_none && end - now < Duration::from_secs(1) {
            tokio::time::sleep((end - now).min(Duration::from_millis(100))).await;
        }
    }
}

/// What a message's record adds to its batch's event.
fn record_bytes(message: &Message) -> usize {
    message.record.len() + 1
}

/// Deletes the messages no filter matches, invokes the function with the
/// rest and deletes what succeeded.
async fn process(poller: &Poller, batch: Vec<Message>) {
    let settings = &poller.settings;
    let filters = settings.filters();
    let mut invoked = Vec::new();
    let mut filtered_out = Vec::new();
    for message in batch {
        let passes = filters.is_empty()
            || serde_json::from_str::<Value>(&message.record)
                .is_ok_and(|value| filters.matches(&value, SourceKind::Sqs));
        if passes {
            invoked.push(message);
        } else {
            filtered_out.push(message);
        }
    }
    if !filtered_out.is_empty() {
        // Lambda deletes the messages its filters drop.
        poller.queue.delete(filtered_out, &poller.uuid).await;
    }
    // A message sent from an invocation carries its chain in
    // `AWSTraceHeader`: one whose chain already ran the function 16 times is
    // not delivered, and returns to the queue after its visibility timeout
    // (its redrive policy takes it to the dead-letter queue). The batch runs
    // with the first message's chain, one run longer
    // (`event_sources::a_message_whose_chain_ran_the_function_sixteen_times_is_not_delivered`).
    let mut trace = None;
    let mut stopped = Vec::new();
    invoked.retain(|message| {
        let Some(header) = message
            .attributes
            .get("AWSTraceHeader")
            .and_then(Value::as_str)
        else {
            return true;
        };
        match super::next_run_of(&poller.state, &settings.function_name, header) {
            Some(next) => {
                trace.get_or_insert(next);
                true
            }
            None => {
                stopped.push(message.id.clone());
                false
            }
        }
    });
    if !stopped.is_empty() {
        tracing::warn!(
            "wasm-lambda: event source mapping {}: message(s) {} stopped as a recursive loop: their chain already ran {} {} times; they return to the queue after its visibility timeout",
            poller.uuid,
            stopped.join(", "),
            settings.function_name,
            crate::recursion::MAX_RUNS
        );
    }
    if invoked.is_empty() {
        return;
    }
    let event = batch_event(invoked.iter().map(|message| message.record.as_str()));
    let count = invoked.len();
    let invocation =
        match super::invoke_batch(&poller.state, &settings.function_name, event, trace).await {
            Ok(invocation) => invocation,
            Err(why) => {
                let why = format!(
                    "{why}; {count} message(s) return to the queue after its visibility timeout"
                );
                tracing::warn!("wasm-lambda: event source mapping {}: {why}", poller.uuid);
                poller.report(format!("PROBLEM: {why}"));
                tokio::select! {
                    () = tokio::time::sleep(backoff(2)) => {}
                    () = poller.stop.cancelled() => {}
                }
                return;
            }
        };
    if let Some(error) = invocation.function_error() {
        tracing::warn!(
            "wasm-lambda: event source mapping {}: request {} with {count} message(s) failed ({}: {}); they return to the queue after its visibility timeout",
            poller.uuid,
            invocation.request_id,
            error.error_type,
            error.error_message
        );
        poller.report("PROBLEM: Function call failed");
        return;
    }
    let done = if settings.report_item_failures {
        let ids: HashSet<&str> = invoked.iter().map(|message| message.id.as_str()).collect();
        match batch_item_failures(invocation.payload(), &ids) {
            Ok(failed) => {
                if !failed.is_empty() {
                    tracing::info!(
                        "wasm-lambda: event source mapping {}: request {} reported {} of {count} message(s) failed; they return to the queue after its visibility timeout",
                        poller.uuid,
                        invocation.request_id,
                        failed.len()
                    );
                }
                invoked
                    .into_iter()
                    .filter(|message| !failed.contains(&message.id))
                    .collect()
            }
            Err(why) => {
                tracing::warn!(
                    "wasm-lambda: event source mapping {}: request {}: {why}, so the whole batch of {count} failed",
                    poller.uuid,
                    invocation.request_id
                );
                poller.report("PROBLEM: Function call failed");
                return;
            }
        }
    } else {
        invoked
    };
    poller.queue.delete(done, &poller.uuid).await;
    poller.report("OK");
}

/// A queue and how to reach it.
struct Queue {
    service: aws::JsonService,
    arn: QueueArn,
    /// The ARN as the mapping names it, for the records.
    source_arn: String,
    /// Found with `GetQueueUrl` on first use.
    url: Mutex<Option<String>>,
    /// One `ReceiveMessage` of a mapping at a time. A receive returns as
    /// soon as messages are there, so its pollers lose little by taking
    /// turns; and local SQS servers are not atomic across concurrent
    /// receives (moto's hands one message to two of them, and lets two
    /// batches of one FIFO message group out at once), which
    /// `event_sources::a_thousand_messages_are_each_processed_once_and_the_queue_empties`
    /// and `event_sources::fifo_message_groups_arrive_in_order` catch.
    receiving: tokio::sync::Mutex<()>,
    /// How many of the mapping's pollers hold a batch. While one does, a
    /// FIFO queue's long poll is kept to a second: the groups of that batch
    /// unlock when it is deleted, and moto's long poll does not look at
    /// them again until it ends (SQS's returns at once), which
    /// `event_sources::fifo_message_groups_arrive_in_order` would see as
    /// 20 s stalls.
    holding: AtomicUsize,
}

impl Queue {
    fn new(endpoint: String, arn: QueueArn, source_arn: String) -> Queue {
        let timeout = Duration::from_secs(LONG_POLL_SECONDS) + CALL_TIMEOUT;
        Queue {
            service: aws::JsonService::sqs(&endpoint, &arn.region, timeout),
            arn,
            source_arn,
            url: Mutex::new(None),
            receiving: tokio::sync::Mutex::new(()),
            holding: AtomicUsize::new(0),
        }
    }

    /// One SQS call, blocking.
    fn call(&self, operation: &str, body: &Value) -> Result<Value, String> {
        self.service.call(operation, body)
    }

    /// The queue's URL.
    fn url(&self) -> Result<String, String> {
        if let Ok(url) = self.url.lock()
            && let Some(url) = url.as_ref()
        {
            return Ok(url.clone());
        }
        let answer = self.call(
            "GetQueueUrl",
            &json!({ "QueueName": self.arn.name, "QueueOwnerAWSAccountId": self.arn.account }),
        )?;
        let url = answer["QueueUrl"]
            .as_str()
            .ok_or("GetQueueUrl answered without a QueueUrl")?
            .to_string();
        if let Ok(mut slot) = self.url.lock() {
            *slot = Some(url.clone());
        }
        Ok(url)
    }

    /// Receives up to `count` messages, waiting up to `wait` seconds for
    /// the first; nothing when another poller's receive holds the queue
    /// past `until`. `None` when `stop` came first; the call still ends on
    /// its blocking thread, which then makes what it received visible again.
    async fn receive(
        self: &Arc<Self>,
        count: usize,
        wait: u64,
        until: Option<Instant>,
        stop: &CancellationToken,
    ) -> Result<Option<Vec<Message>>, String> {
        let turn = async {
            match until {
                Some(until) => tokio::time::timeout_at(until.into(), self.receiving.lock())
                    .await
                    .ok(),
                None => Some(self.receiving.lock().await),
            }
        };
        let _turn = tokio::select! {
            turn = turn => match turn {
                Some(turn) => turn,
                None => return Ok(Some(Vec::new())),
            },
            () = stop.cancelled() => return Ok(None),
        };
        let wait = if self.arn.fifo() && self.holding.load(Ordering::SeqCst) > 0 {
            wait.min(1)
        } else {
            wait
        };
        let queue = self.clone();
        let stopped = stop.clone();
        let call = tokio::task::spawn_blocking(move || -> Result<Option<Vec<Message>>, String> {
            let url = queue.url()?;
            let answer = queue.call(
                "ReceiveMessage",
                &json!({
                    "QueueUrl": url,
                    "MaxNumberOfMessages": count.clamp(1, MESSAGES_PER_CALL),
                    "WaitTimeSeconds": wait.min(LONG_POLL_SECONDS),
                    "AttributeNames": ["All"],
                    "MessageSystemAttributeNames": ["All"],
                    "MessageAttributeNames": ["All"],
                }),
            )?;
            let messages: Vec<Message> = answer["Messages"]
                .as_array()
                .map(|messages| {
                    messages
                        .iter()
                        .filter_map(|message| {
                            Message::from_sqs(message, &queue.source_arn, &queue.arn.region)
                        })
                        .collect()
                })
                .unwrap_or_default();
            if stopped.is_cancelled() {
                queue.release_now(&messages);
                return Ok(None);
            }
            Ok(Some(messages))
        });
        tokio::select! {
            joined = call => joined.map_err(|error| format!("the receiving task failed: {error}"))?,
            () = stop.cancelled() => Ok(None),
        }
    }

    /// Makes `messages` visible again at once (`VisibilityTimeout` 0).
    async fn release(self: &Arc<Self>, messages: Vec<Message>) {
        if messages.is_empty() {
            return;
        }
        let queue = self.clone();
        let _ = tokio::task::spawn_blocking(move || queue.release_now(&messages)).await;
    }

    fn release_now(&self, messages: &[Message]) {
        let Ok(url) = self.url() else { return };
        for chunk in messages.chunks(MESSAGES_PER_CALL) {
            let entries: Vec<Value> = chunk
                .iter()
                .enumerate()
                .map(|(index, message)| {
                    json!({ "Id": index.to_string(), "ReceiptHandle": message.receipt, "VisibilityTimeout": 0 })
                })
                .collect();
            let _ = self.call(
                "ChangeMessageVisibilityBatch",
                &json!({ "QueueUrl": url, "Entries": entries }),
            );
        }
    }

    /// Deletes `messages`; a failure is logged (they come back after the
    /// visibility timeout, and run again).
    async fn delete(self: &Arc<Self>, messages: Vec<Message>, uuid: &str) {
        let queue = self.clone();
        let deleted = tokio::task::spawn_blocking(move || -> Result<(), String> {
            let url = queue.url()?;
            for chunk in messages.chunks(MESSAGES_PER_CALL) {
                let entries: Vec<Value> = chunk
                    .iter()
                    .enumerate()
                    .map(|(index, message)| {
                        json!({ "Id": index.to_string(), "ReceiptHandle": message.receipt })
                    })
                    .collect();
                let answer = queue.call(
                    "DeleteMessageBatch",
                    &json!({ "QueueUrl": url, "Entries": entries }),
                )?;
                if let Some(failed) = answer["Failed"]
                    .as_array()
                    .filter(|failed| !failed.is_empty())
                {
                    return Err(format!(
                        "DeleteMessageBatch failed for {} message(s): {}",
                        failed.len(),
                        Value::Array(failed.clone())
                    ));
                }
            }
            Ok(())
        })
        .await;
        match deleted {
            Ok(Ok(())) => {}
            Ok(Err(error)) => tracing::warn!("wasm-lambda: event source mapping {uuid}: {error}"),
            Err(error) => tracing::warn!("wasm-lambda: event source mapping {uuid}: {error}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_have_lambdas_shape_and_key_order() {
        let message = Message::from_sqs(
            &json!({
            "MessageId": "m-1",
            "ReceiptHandle": "r-1",
            "Body": "{\"kind\": \"order\"}",
            "MD5OfBody": "abc",
            "Attributes": {
                "SenderId": "s", "SentTimestamp": "1", "ApproximateReceiveCount": "2",
                "ApproximateFirstReceiveTimestamp": "3", "MessageGroupId": "g"
            },
            "MessageAttributes": {
                "Kind": {"StringValue": "x", "DataType": "String"},
                "Blob": {"BinaryValue": "AAE=", "DataType": "Binary"}
            }
            }),
            "arn:aws:sqs:us-east-1:1:q",
            "us-east-1",
        )
        .unwrap();
        let text = message.record;
        let record: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(record["body"], "{\"kind\": \"order\"}");
        assert_eq!(record["eventSource"], "aws:sqs");
        assert_eq!(record["attributes"]["ApproximateReceiveCount"], "2");
        assert_eq!(
            record["messageAttributes"]["Kind"],
            json!({"stringValue": "x", "stringListValues": [], "binaryListValues": [], "dataType": "String"})
        );
        assert_eq!(record["messageAttributes"]["Blob"]["binaryValue"], "AAE=");
        let position = |key: &str| text.find(&format!("\"{key}\"")).unwrap();
        assert!(position("messageId") < position("receiptHandle"));
        assert!(position("receiptHandle") < position("body"));
        assert!(position("md5OfBody") < position("eventSource"));
        assert!(position("eventSourceARN") < position("awsRegion"));
        assert!(position("ApproximateReceiveCount") < position("SentTimestamp"));
        assert!(position("MessageGroupId") < position("SenderId"));
        assert!(position("SenderId") < position("ApproximateFirstReceiveTimestamp"));
    }
}
