//! The poller of a Kinesis or DynamoDB stream mapping, as Lambda's: every
//! shard is read in order by one task, which has at most one batch in
//! flight, so a shard's records reach the function in order and never two
//! batches of a shard at once.
//!
//! A batch that fails is retried (`MaximumRetryAttempts`, -1 for as long as
//! the records live) before the shard goes on; with
//! `BisectBatchOnFunctionError` it is first split in two and each half tried
//! on its own, which uses up no retries, until the failing record is alone.
//! `ReportBatchItemFailures` answers name sequence numbers: what comes before
//! the lowest one succeeded. Records older than `MaximumRecordAgeInSeconds`
//! are not sent. What is given up goes to `DestinationConfig.OnFailure` as
//! Lambda's invocation record (the shard and the sequence range, not the
//! records).
//!
//! After each settled batch the shard's last sequence number is written to
//! the server's store (`--state-dir`), so a restarted server, even after
//! `kill -9`, goes on after it: at most the batch in flight runs again.

use std::collections::{HashSet, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use anyhow::Result;
use redb::{ReadableTable, TableDefinition};
use serde_json::{Value, json};
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use super::super::AppState;
use super::super::aws::JsonService;
use super::super::queue::EventStore;
use super::destination::Destination;
use super::filter::SourceKind;
use super::{
    EVENT_FRAME_BYTES, Settings, arn_region, backoff, batch_event, batch_item_failures, ordered,
    set_result, source_kind,
};
use wasm_lambda_core::MAX_REQUEST_BYTES;

/// The last sequence number settled per mapping and shard, keyed
/// `UUID/SHARD`.
const CHECKPOINTS: TableDefinition<&str, &str> = TableDefinition::new("stream_checkpoints");
/// How often an idle shard is read, as Lambda reads each shard about once a
/// second.
const IDLE_POLL: Duration = Duration::from_secs(1);
/// How often the stream's shard list is read again, for new shards.
const SHARD_REFRESH: Duration = Duration::from_secs(30);
/// How long one call may take.
const CALL_TIMEOUT: Duration = Duration::from_secs(30);

/// Runs a stream mapping's shard pollers until `stop`; new settings stop
/// them after their batches and start them again (from the checkpoints).
pub(super) async fn run(
    state: Arc<AppState>,
    uuid: String,
    mut settings: watch::Receiver<Arc<Settings>>,
    stop: CancellationToken,
    last_result: Arc<Mutex<String>>,
) {
    loop {
        let current = settings.borrow_and_update().clone();
        let Some(stream) = Stream::new(&state, &current) else {
            return;
        };
        let stream = Arc::new(stream);
        tracing::info!(
            "wasm-lambda: event source mapping {uuid} polls {} at {} for {} (every shard in order, batches of up to {})",
            current.event_source_arn,
            stream.endpoint,
            current.function_name,
            current.batch_size
        );
        let shards = stop.child_token();
        let tracker = TaskTracker::new();
        let mut started: HashSet<String> = HashSet::new();
        let mut failures = 0;
        let changed = loop {
            let listing = stream.clone();
            let pause = match tokio::task::spawn_blocking(move || listing.shards()).await {
                Ok(Ok(ids)) => {
                    failures = 0;
                    for id in ids {
                        if started.insert(id.clone()) {
                            tracker.spawn(poll_shard(ShardPoller {
                                state: state.clone(),
                                uuid: uuid.clone(),
                                settings: current.clone(),
                                stream: stream.clone(),
                                shard: id,
                                stop: shards.clone(),
                                last_result: last_result.clone(),
                            }));
                        }
                    }
                    SHARD_REFRESH
                }
                Ok(Err(error)) => {
                    tracing::warn!("wasm-lambda: event source mapping {uuid}: {error}");
                    set_result(&last_result, format!("PROBLEM: {error}"));
                    failures += 1;
                    backoff(failures - 1)
                }
                Err(error) => {
                    tracing::warn!("wasm-lambda: event source mapping {uuid}: {error}");
                    failures += 1;
                    backoff(failures - 1)
                }
            };
            tokio::select! {
                () = stop.cancelled() => break false,
                changed = settings.changed() => break changed.is_ok(),
                () = tokio::time::sleep(pause) => {}
            }
        };
        shards.cancel();
        tracker.close();
        tracker.wait().await;
        if !changed {
            tracing::info!("wasm-lambda: event source mapping {uuid} stopped polling");
            return;
        }
    }
}

/// A stream and how to read it.
struct Stream {
    kind: SourceKind,
    arn: String,
    region: String,
    endpoint: String,
    api: JsonService,
}

/// Where a shard iterator starts.
enum Position {
    After(String),
    TrimHorizon,
    Latest,
    AtTimestamp(f64),
}

impl Stream {
    fn new(state: &AppState, settings: &Settings) -> Option<Stream> {
        let kind = source_kind(&settings.event_source_arn)?;
        let region = arn_region(&settings.event_source_arn).to_string();
        let service = match kind {
            SourceKind::Kinesis => "kinesis",
            SourceKind::DynamoDb => "dynamodb_streams",
            SourceKind::Sqs => return None,
        };
        let endpoint = state.sources.endpoint(settings, service, &region);
        let api = match kind {
            SourceKind::Kinesis => JsonService::kinesis(&endpoint, &region, CALL_TIMEOUT),
            _ => JsonService::dynamodb_streams(&endpoint, &region, CALL_TIMEOUT),
        };
        Some(Stream {
            kind,
            arn: settings.event_source_arn.clone(),
            api,
            region,
            endpoint,
        })
    }

    /// A Kinesis stream's name (`arn:…:stream/NAME`).
    fn name(&self) -> &str {
        self.arn.rsplit("stream/").next().unwrap_or_default()
    }

    /// The ids of every shard.
    fn shards(&self) -> Result<Vec<String>, String> {
        let mut ids = Vec::new();
        let mut next: Option<String> = None;
        loop {
            let (answer, shards) = match self.kind {
                SourceKind::Kinesis => {
                    let request = match &next {
                        Some(token) => json!({ "NextToken": token }),
                        None => json!({ "StreamName": self.name() }),
                    };
                    let answer = self.api.call("ListShards", &request)?;
                    let shards = answer["Shards"].clone();
                    (answer, shards)
                }
                _ => {
                    let mut request = json!({ "StreamArn": self.arn });
                    if let Some(last) = &next {
                        request["ExclusiveStartShardId"] = json!(last);
                    }
                    let answer = self.api.call("DescribeStream", &request)?;
                    let shards = answer["StreamDescription"]["Shards"].clone();
                    (answer, shards)
                }
            };
            ids.extend(
                shards
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|shard| shard["ShardId"].as_str().map(str::to_string)),
            );
            next = match self.kind {
                SourceKind::Kinesis => answer["NextToken"].as_str().map(str::to_string),
                _ => answer["StreamDescription"]["LastEvaluatedShardId"]
                    .as_str()
                    .map(str::to_string),
            };
            if next.is_none() {
                return Ok(ids);
            }
        }
    }

    fn iterator(&self, shard: &str, position: &Position) -> Result<String, String> {
        let kinesis = self.kind == SourceKind::Kinesis;
        let mut request = if kinesis {
            json!({ "StreamName": self.name(), "ShardId": shard })
        } else {
            json!({ "StreamArn": self.arn, "ShardId": shard })
        };
        let sequence_key = if kinesis {
            "StartingSequenceNumber"
        } else {
            "SequenceNumber"
        };
        let kind = match position {
            Position::After(sequence) => {
                request[sequence_key] = json!(sequence);
                "AFTER_SEQUENCE_NUMBER"
            }
            Position::TrimHorizon => "TRIM_HORIZON",
            Position::Latest => "LATEST",
            Position::AtTimestamp(seconds) => {
                request["Timestamp"] = json!(seconds);
                "AT_TIMESTAMP"
            }
        };
        request["ShardIteratorType"] = json!(kind);
        let answer = self.api.call("GetShardIterator", &request)?;
        answer["ShardIterator"]
            .as_str()
            .map(str::to_string)
            .ok_or_else(|| "GetShardIterator answered without a ShardIterator".to_string())
    }

    /// Up to `limit` records after `iterator`, and the next iterator
    /// (`None` once a closed shard is read to its end).
    fn records(
        &self,
        iterator: &str,
        limit: usize,
    ) -> Result<(Vec<Value>, Option<String>), String> {
        // DynamoDB Streams gives at most 1,000 records a call, Kinesis 10,000.
        let most = if self.kind == SourceKind::Kinesis {
            10_000
        } else {
            1_000
        };
        let answer = self.api.call(
            "GetRecords",
            &json!({ "ShardIterator": iterator, "Limit": limit.clamp(1, most) }),
        )?;
        let records = answer["Records"].as_array().cloned().unwrap_or_default();
        let next = answer["NextShardIterator"].as_str().map(str::to_string);
        Ok((records, next))
    }
}

/// One record: what the function gets, and what the poller needs of it.
#[derive(Clone, Debug)]
struct Record {
    sequence: String,
    /// When it reached the stream, Unix seconds.
    arrival: f64,
    /// The record of Lambda's event, as JSON text in Lambda's key order.
    text: String,
    /// The same, parsed, for the filters.
    value: Value,
}

/// A Kinesis record as Lambda's event has it.
fn kinesis_record(raw: &Value, stream: &Stream, shard: &str, role: &str) -> Option<Record> {
    let sequence = raw["SequenceNumber"].as_str()?.to_string();
    let arrival = raw["ApproximateArrivalTimestamp"]
        .as_f64()
        .unwrap_or_default();
    let text = ordered(&[
        (
            "kinesis",
            ordered(&[
                ("kinesisSchemaVersion", json!("1.0").to_string()),
                ("partitionKey", raw["PartitionKey"].to_string()),
                ("sequenceNumber", json!(sequence).to_string()),
                ("data", raw["Data"].to_string()),
                ("approximateArrivalTimestamp", json!(arrival).to_string()),
            ]),
        ),
        ("eventSource", json!("aws:kinesis").to_string()),
        ("eventVersion", json!("1.0").to_string()),
        ("eventID", json!(format!("{shard}:{sequence}")).to_string()),
        ("eventName", json!("aws:kinesis:record").to_string()),
        ("invokeIdentityArn", json!(role).to_string()),
        ("awsRegion", json!(stream.region).to_string()),
        ("eventSourceARN", json!(stream.arn).to_string()),
    ]);
    let value = serde_json::from_str(&text).ok()?;
    Some(Record {
        sequence,
        arrival,
        text,
        value,
    })
}

/// A DynamoDB stream record as Lambda's event has it: what GetRecords
/// gives, with the stream's ARN.
fn dynamodb_record(raw: &Value, stream: &Stream) -> Option<Record> {
    let sequence = raw["dynamodb"]["SequenceNumber"].as_str()?.to_string();
    let arrival = raw["dynamodb"]["ApproximateCreationDateTime"]
        .as_f64()
        .unwrap_or_default();
    let mut fields: Vec<(&str, String)> = [
        "eventID",
        "eventName",
        "eventVersion",
        "eventSource",
        "awsRegion",
        "dynamodb",
        "userIdentity",
    ]
    .iter()
    .filter(|key| !raw[**key].is_null())
    .map(|key| (*key, raw[*key].to_string()))
    .collect();
    fields.push(("eventSourceARN", json!(stream.arn).to_string()));
    let text = ordered(&fields);
    let value = serde_json::from_str(&text).ok()?;
    Some(Record {
        sequence,
        arrival,
        text,
        value,
    })
}

/// One shard's poller.
struct ShardPoller {
    state: Arc<AppState>,
    uuid: String,
    settings: Arc<Settings>,
    stream: Arc<Stream>,
    shard: String,
    stop: CancellationToken,
    last_result: Arc<Mutex<String>>,
}

impl ShardPoller {
    fn report(&self, result: impl Into<String>) {
        set_result(&self.last_result, result);
    }

    /// Sleeps for `pause`; false when stopped meanwhile.
    async fn pause(&self, pause: Duration) -> bool {
        tokio::select! {
            () = tokio::time::sleep(pause) => true,
            () = self.stop.cancelled() => false,
        }
    }

    /// A blocking call to the stream, off the async threads.
    async fn call<T: Send + 'static>(
        &self,
        call: impl FnOnce(&Stream) -> Result<T, String> + Send + 'static,
    ) -> Result<T, String> {
        let stream = self.stream.clone();
        tokio::task::spawn_blocking(move || call(&stream))
            .await
            .map_err(|error| format!("the stream task failed: {error}"))?
    }

    fn role(&self) -> String {
        let (name, _) = super::super::reply::parse_function_name(&self.settings.function_name);
        self.state
            .functions
            .get(&name)
            .and_then(|entry| {
                entry
                    .configuration
                    .get("Role")?
                    .as_str()
                    .map(str::to_string)
            })
            .unwrap_or_else(|| "arn:aws:iam::000000000000:role/lambda-role".to_string())
    }

    fn convert(&self, raw: &Value, role: &str) -> Option<Record> {
        match self.stream.kind {
            SourceKind::Kinesis => kinesis_record(raw, &self.stream, &self.shard, role),
            _ => dynamodb_record(raw, &self.stream),
        }
    }
}

async fn poll_shard(poller: ShardPoller) {
    let settings = poller.settings.clone();
    let batch_size = settings.batch_size as usize;
    let window = Duration::from_secs(settings.window_seconds.into());
    let role = poller.role();
    let checkpoint = {
        let store = poller.state.store.clone();
        let key = checkpoint_key(&poller.uuid, &poller.shard);
        tokio::task::spawn_blocking(move || load_checkpoint(&store, &key))
            .await
            .ok()
            .and_then(Result::ok)
            .flatten()
    };
    let start = || match &checkpoint {
        Some(sequence) => Position::After(sequence.clone()),
        None => match settings.starting_position.as_deref() {
            Some("LATEST") => Position::Latest,
            Some("AT_TIMESTAMP") => {
                Position::AtTimestamp(settings.starting_position_timestamp.unwrap_or_default())
            }
            _ => Position::TrimHorizon,
        },
    };
    let mut iterator: Option<String> = None;
    let mut last_read: Option<String> = None;
    let mut pending: VecDeque<Record> = VecDeque::new();
    let mut gathering_since: Option<Instant> = None;
    let mut closed = false;
    let mut failures = 0;
    while !poller.stop.is_cancelled() {
        let mut drained = false;
        if !closed && pending.len() < batch_size {
            let current = match iterator.take() {
                Some(current) => current,
                None => {
                    let position = match &last_read {
                        Some(sequence) => Position::After(sequence.clone()),
                        None => start(),
                    };
                    let shard = poller.shard.clone();
                    match poller
                        .call(move |stream| stream.iterator(&shard, &position))
                        .await
                    {
                        Ok(iterator) => iterator,
                        Err(error) => {
                            failed_call(&poller, &error, &mut failures).await;
                            continue;
                        }
                    }
                }
            };
            let limit = batch_size.max(100);
            let read = poller
                .call(move |stream| stream.records(&current, limit))
                .await;
            match read {
                Ok((raws, next)) => {
                    failures = 0;
                    drained = raws.len() < limit;
                    for raw in &raws {
                        if let Some(record) = poller.convert(raw, &role) {
                            last_read = Some(record.sequence.clone());
                            pending.push_back(record);
                        }
                    }
                    if gathering_since.is_none() && !pending.is_empty() {
                        gathering_since = Some(Instant::now());
                    }
                    match next {
                        Some(next) => iterator = Some(next),
                        None => closed = true,
                    }
                }
                Err(error) => {
                    // An expired iterator is taken again after the last
                    // record read; other errors wait and try again.
                    if !error.contains("ExpiredIterator") {
                        failed_call(&poller, &error, &mut failures).await;
                    }
                    continue;
                }
            }
        }
        let window_over = gathering_since.is_some_and(|since| since.elapsed() >= window);
        let ready = !pending.is_empty() && (pending.len() >= batch_size || closed || window_over);
        if !ready {
            if closed && pending.is_empty() {
                tracing::info!(
                    "wasm-lambda: event source mapping {}: shard {} is closed and read to its end",
                    poller.uuid,
                    poller.shard
                );
                return;
            }
            if drained {
                let pause = match gathering_since {
                    Some(since) => window.saturating_sub(since.elapsed()).min(IDLE_POLL),
                    None => IDLE_POLL,
                };
                if !poller.pause(pause).await {
                    return;
                }
            }
            continue;
        }
        // A batch stays within the 6 MB an invocation may carry, as
        // Lambda's do (at least one record, which the invocation refuses if
        // it alone is larger).
        let mut bytes = EVENT_FRAME_BYTES;
        let fits = pending
            .iter()
            .take_while(|record| {
                bytes += record.text.len() + 1;
                bytes <= MAX_REQUEST_BYTES
            })
            .count();
        let take = pending.len().min(batch_size).min(fits.max(1));
        let batch: Vec<Record> = pending.drain(..take).collect();
        gathering_since = (!pending.is_empty()).then(Instant::now);
        if !settle(&poller, batch).await {
            return;
        }
    }
}

async fn failed_call(poller: &ShardPoller, error: &str, failures: &mut u32) {
    tracing::warn!(
        "wasm-lambda: event source mapping {}: shard {}: {error}",
        poller.uuid,
        poller.shard
    );
    poller.report(format!("PROBLEM: {error}"));
    let pause = backoff(*failures);
    *failures += 1;
    poller.pause(pause).await;
}

/// Why a stream batch was given up.
#[derive(Clone, Copy)]
enum GiveUp {
    RetryAttemptsExhausted,
    RecordAgeExceeded,
}

/// Runs `batch` until every record has succeeded, been filtered out or been
/// given up, writing the checkpoint as it goes. False when stopped first.
async fn settle(poller: &ShardPoller, batch: Vec<Record>) -> bool {
    let settings = &poller.settings;
    let Some(last) = batch.last().map(|record| record.sequence.clone()) else {
        return true;
    };
    let filters = settings.filters();
    let kept: Vec<Record> = batch
        .into_iter()
        .filter(|record| filters.is_empty() || filters.matches(&record.value, poller.stream.kind))
        .collect();
    let mut parts: VecDeque<Vec<Record>> = VecDeque::new();
    if !kept.is_empty() {
        parts.push_back(kept);
    }
    let mut attempts: i64 = 0;
    while let Some(mut part) = parts.pop_front() {
        if poller.stop.is_cancelled() {
            return false;
        }
        if settings.maximum_record_age_seconds >= 0 {
            let now = unix_seconds(SystemTime::now());
            let most = settings.maximum_record_age_seconds as f64;
            let expired = part
                .iter()
                .take_while(|record| now - record.arrival > most)
                .count();
            if expired > 0 {
                let rest = part.split_off(expired);
                give_up(poller, &part, GiveUp::RecordAgeExceeded, attempts, None).await;
                save_checkpoint(poller, &part).await;
                part = rest;
                attempts = 0;
                if part.is_empty() {
                    continue;
                }
            }
        }
        let event = batch_event(part.iter().map(|record| record.text.as_str()));
        let invocation =
            match super::invoke_batch(&poller.state, &settings.function_name, event).await {
                Ok(invocation) => invocation,
                Err(why) => {
                    // The function did not run: no attempt is used up.
                    tracing::warn!(
                        "wasm-lambda: event source mapping {}: shard {}: {why}; the batch waits",
                        poller.uuid,
                        poller.shard
                    );
                    poller.report(format!("PROBLEM: {why}"));
                    parts.push_front(part);
                    if !poller.pause(backoff(2)).await {
                        return false;
                    }
                    continue;
                }
            };
        let failed_from = if invocation.function_error().is_some() {
            Some(0)
        } else if settings.report_item_failures {
            let sequences: HashSet<&str> =
                part.iter().map(|record| record.sequence.as_str()).collect();
            match batch_item_failures(invocation.payload(), &sequences) {
                Ok(failed) if failed.is_empty() => None,
                Ok(failed) => part
                    .iter()
                    .position(|record| failed.contains(&record.sequence)),
                Err(why) => {
                    tracing::warn!(
                        "wasm-lambda: event source mapping {}: request {}: {why}, so the whole batch failed",
                        poller.uuid,
                        invocation.request_id
                    );
                    Some(0)
                }
            }
        } else {
            None
        };
        let Some(index) = failed_from else {
            save_checkpoint(poller, &part).await;
            poller.report("OK");
            attempts = 0;
            continue;
        };
        poller.report("PROBLEM: Function call failed");
        if index > 0 {
            save_checkpoint(poller, &part[..index]).await;
        }
        let rest = part.split_off(index);
        tracing::warn!(
            "wasm-lambda: event source mapping {}: shard {}: request {} failed from sequence number {} ({} record(s))",
            poller.uuid,
            poller.shard,
            invocation.request_id,
            rest[0].sequence,
            rest.len()
        );
        if settings.bisect && rest.len() > 1 {
            // Halves are new batches: splitting uses up no retries.
            let mut first = rest;
            let second = first.split_off(first.len() / 2);
            parts.push_front(second);
            parts.push_front(first);
            attempts = 0;
            continue;
        }
        attempts += 1;
        let retries = settings.maximum_retry_attempts;
        if retries >= 0 && attempts > retries {
            give_up(
                poller,
                &rest,
                GiveUp::RetryAttemptsExhausted,
                attempts,
                Some(&invocation),
            )
            .await;
            save_checkpoint(poller, &rest).await;
            attempts = 0;
            continue;
        }
        parts.push_front(rest);
        if !poller.pause(backoff(attempts as u32 - 1)).await {
            return false;
        }
    }
    // Filtered-out records at the end are passed too.
    let _ = write_checkpoint(poller, &last).await;
    true
}

/// Records that the shard is settled up to the last record of `records`.
async fn save_checkpoint(poller: &ShardPoller, records: &[Record]) {
    if let Some(last) = records.last() {
        let _ = write_checkpoint(poller, &last.sequence).await;
    }
}

async fn write_checkpoint(poller: &ShardPoller, sequence: &str) -> Result<(), ()> {
    let store = poller.state.store.clone();
    let key = checkpoint_key(&poller.uuid, &poller.shard);
    let sequence = sequence.to_string();
    match tokio::task::spawn_blocking(move || store_checkpoint(&store, &key, &sequence)).await {
        Ok(Ok(())) => Ok(()),
        Ok(Err(error)) => {
            tracing::warn!(
                "wasm-lambda: event source mapping {}: failed to store a checkpoint: {error:#}",
                poller.uuid
            );
            Err(())
        }
        Err(_) => Err(()),
    }
}

/// Sends Lambda's invocation record for `records` to the mapping's
/// on-failure destination, or says they are dropped.
async fn give_up(
    poller: &ShardPoller,
    records: &[Record],
    reason: GiveUp,
    attempts: i64,
    last: Option<&wasm_lambda_core::Invocation>,
) {
    let (Some(first), Some(final_record)) = (records.first(), records.last()) else {
        return;
    };
    let condition = match reason {
        GiveUp::RetryAttemptsExhausted => "RetryAttemptsExhausted",
        GiveUp::RecordAgeExceeded => "RecordAgeExceeded",
    };
    let (name, _) = super::super::reply::parse_function_name(&poller.settings.function_name);
    let function_arn = super::super::reply::function_arn(&poller.state, &name);
    let info_key = match poller.stream.kind {
        SourceKind::Kinesis => "KinesisBatchInfo",
        _ => "DDBStreamBatchInfo",
    };
    let time = |seconds: f64| {
        humantime::format_rfc3339_millis(
            SystemTime::UNIX_EPOCH + Duration::from_secs_f64(seconds.max(0.0)),
        )
        .to_string()
    };
    let mut record = json!({
        "requestContext": {
            "requestId": last.map_or_else(|| uuid::Uuid::new_v4().to_string(), |last| last.request_id.clone()),
            "functionArn": function_arn,
            "condition": condition,
            "approximateInvokeCount": attempts,
        },
        "version": "1.0",
        "timestamp": humantime::format_rfc3339_millis(SystemTime::now()).to_string(),
        info_key: {
            "shardId": poller.shard,
            "startSequenceNumber": first.sequence,
            "endSequenceNumber": final_record.sequence,
            "approximateArrivalOfFirstRecord": time(first.arrival),
            "approximateArrivalOfLastRecord": time(final_record.arrival),
            "batchSize": records.len(),
            "streamArn": poller.stream.arn,
        },
    });
    if let Some(last) = last {
        let mut context = json!({ "statusCode": 200, "executedVersion": "$LATEST" });
        if last.function_error().is_some() {
            context["functionError"] = json!("Unhandled");
        }
        record["responseContext"] = context;
    }
    let range = format!(
        "{} record(s) of shard {} ({} to {})",
        records.len(),
        poller.shard,
        first.sequence,
        final_record.sequence
    );
    let Some(text) = &poller.settings.on_failure else {
        tracing::warn!(
            "wasm-lambda: event source mapping {}: {condition}: {range} dropped (no on-failure destination)",
            poller.uuid
        );
        return;
    };
    let sent = match Destination::parse(text) {
        Ok(destination) => {
            destination
                .send(&poller.state, &poller.settings, &record)
                .await
        }
        Err(why) => Err(why),
    };
    match sent {
        Ok(()) => tracing::warn!(
            "wasm-lambda: event source mapping {}: {condition}: {range} sent to {text}",
            poller.uuid
        ),
        Err(error) => tracing::warn!(
            "wasm-lambda: event source mapping {}: {condition}: {range} dropped (sending to {text} failed: {error})",
            poller.uuid
        ),
    }
}

fn unix_seconds(time: SystemTime) -> f64 {
    time.duration_since(SystemTime::UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs_f64()
}

fn checkpoint_key(uuid: &str, shard: &str) -> String {
    format!("{uuid}/{shard}")
}

fn load_checkpoint(store: &EventStore, key: &str) -> Result<Option<String>> {
    let write = store.db.begin_write()?;
    let value = {
        let table = write.open_table(CHECKPOINTS)?;
        table.get(key)?.map(|value| value.value().to_string())
    };
    write.commit()?;
    Ok(value)
}

fn store_checkpoint(store: &EventStore, key: &str, sequence: &str) -> Result<()> {
    let write = store.db.begin_write()?;
    write.open_table(CHECKPOINTS)?.insert(key, sequence)?;
    write.commit()?;
    Ok(())
}

/// Forgets every checkpoint of a deleted mapping.
pub(super) fn forget_checkpoints(store: &EventStore, uuid: &str) -> Result<()> {
    let prefix = format!("{uuid}/");
    let write = store.db.begin_write()?;
    {
        let mut table = write.open_table(CHECKPOINTS)?;
        let keys: Vec<String> = table
            .iter()?
            .filter_map(|row| row.ok().map(|(key, _)| key.value().to_string()))
            .filter(|key| key.starts_with(&prefix))
            .collect();
        for key in keys {
            table.remove(key.as_str())?;
        }
    }
    write.commit()?;
    Ok(())
}
