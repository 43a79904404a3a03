//! The poller of a Kinesis or DynamoDB stream mapping, as Lambda's: every
//! shard is read in order by one task. With `ParallelizationFactor` N the
//! shard's records are dealt to N lanes by a hash of their partition key
//! (the item's key for DynamoDB); each lane has at most one batch in flight,
//! so the records of one key reach the function in order and up to N
//! batches of a shard run at once. With the default of 1 the whole shard is
//! in order and never two of its batches run at once.
//!
//! A batch that fails is retried (`MaximumRetryAttempts`, -1 for as long as
//! the records live) before the lane goes on; with
//! `BisectBatchOnFunctionError` it is first split in two and each half tried
//! on its own, which uses up no retries, until the failing record is alone.
//! `ReportBatchItemFailures` answers name sequence numbers: what comes before
//! the lowest one succeeded. Records older than `MaximumRecordAgeInSeconds`
//! are not sent. What is given up goes to `DestinationConfig.OnFailure` as
//! Lambda's invocation record (the shard and the sequence range, not the
//! records).
//!
//! With `TumblingWindowInSeconds` each record belongs to the window its
//! arrival falls in (windows aligned on multiples of their length); a batch
//! holds records of one window, each invocation gets the window's `state`
//! and must answer with the next, and once the shard has gone past the
//! window's end the function is invoked once more with no records and
//! `isFinalInvokeForWindow`, until that succeeds. A state over 1 MB ends the
//! window early (`isWindowTerminatedEarly`) and the window goes on with an
//! empty state. With lanes, each lane has its own windows.
//!
//! After each settled batch the checkpoint moves to the last record that is
//! settled with every record before it, in the server's store
//! (`--state-dir`), with each lane's open window, so a restarted server,
//! even after `kill -9`, goes on after it: at most the batches in flight
//! run again.

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use anyhow::Result;
use redb::{ReadableTable, TableDefinition};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use tokio::sync::watch;
use tokio::task::JoinSet;
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
/// Each lane's open tumbling window, keyed `UUID/SHARD/LANE`, as JSON.
const WINDOWS: TableDefinition<&str, &str> = TableDefinition::new("stream_windows");
/// How long after a tumbling window's end a shard read up to now waits for
/// records of the window that are still on their way.
const WINDOW_GRACE_SECONDS: f64 = 1.0;
/// A tumbling window's state may hold up to 1 MB; more ends the window
/// early, as on Lambda.
const MAX_WINDOW_STATE_BYTES: usize = 1 << 20;
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
            "wasm-lambda: event source mapping {uuid} polls {} at {} for {} (every shard in {} lane(s) by partition key, batches of up to {})",
            current.event_source_arn,
            stream.endpoint,
            current.function_name,
            current.parallelization_factor,
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
                            tracker.spawn(poll_shard_leased(ShardPoller {
                                state: state.clone(),
                                uuid: uuid.clone(),
                                settings: current.clone(),
                                stream: stream.clone(),
                                shard: id,
                                stop: shards.clone(),
                                last_result: last_result.clone(),
                                lanes: current.parallelization_factor.clamp(1, 10) as usize,
                                progress: tokio::sync::Mutex::new(Progress::default()),
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
    /// The partition key (Kinesis) or the item's key (DynamoDB), which
    /// picks the record's lane.
    key: String,
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
        key: raw["PartitionKey"].as_str().unwrap_or_default().to_string(),
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
        key: raw["dynamodb"]["Keys"].to_string(),
        arrival,
        text,
        value,
    })
}

/// The records of a shard read and not yet settled, in order. Lanes settle
/// their batches in any order; the checkpoint passes a record only once it
/// and every record before it are settled.
#[derive(Default)]
struct Progress {
    /// The position of the first of `records` in the shard's reading.
    base: u64,
    /// Each record's sequence number and whether it is settled, in order.
    records: VecDeque<(String, bool)>,
    positions: HashMap<String, u64>,
}

impl Progress {
    fn read(&mut self, sequence: &str) {
        let position = self.base + self.records.len() as u64;
        self.positions.insert(sequence.to_string(), position);
        self.records.push_back((sequence.to_string(), false));
    }

    /// Marks `sequences` settled; the new checkpoint when the settled
    /// prefix grew.
    fn settle<'a>(&mut self, sequences: impl IntoIterator<Item = &'a str>) -> Option<String> {
        for sequence in sequences {
            if let Some(position) = self.positions.get(sequence)
                && let Some((_, settled)) = self.records.get_mut((position - self.base) as usize)
            {
                *settled = true;
            }
        }
        let mut checkpoint = None;
        while self.records.front().is_some_and(|(_, settled)| *settled) {
            if let Some((sequence, _)) = self.records.pop_front() {
                self.base += 1;
                self.positions.remove(&sequence);
                checkpoint = Some(sequence);
            }
        }
        checkpoint
    }
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
    /// `ParallelizationFactor`: how many batches of the shard may run at
    /// once, each of its own partition keys.
    lanes: usize,
    progress: tokio::sync::Mutex<Progress>,
}

impl ShardPoller {
    /// A poller of the same shard from its checkpoint, stopped by `stop`.
    fn fresh(&self, stop: CancellationToken) -> ShardPoller {
        ShardPoller {
            state: self.state.clone(),
            uuid: self.uuid.clone(),
            settings: self.settings.clone(),
            stream: self.stream.clone(),
            shard: self.shard.clone(),
            stop,
            last_result: self.last_result.clone(),
            lanes: self.lanes,
            progress: tokio::sync::Mutex::new(Progress::default()),
        }
    }

    /// The shard's id and the stream's ARN, as events name them.
    fn names(&self) -> (&str, &str) {
        (&self.shard, &self.stream.arn)
    }

    /// Marks `records` settled (succeeded, filtered out or given up) and
    /// moves the checkpoint over what is settled with all before it. The
    /// lock is held while the checkpoint is written, so writes of two
    /// lanes never land out of order.
    async fn settled(&self, records: &[Record]) {
        let mut progress = self.progress.lock().await;
        if let Some(sequence) =
            progress.settle(records.iter().map(|record| record.sequence.as_str()))
        {
            let _ = write_checkpoint(self, &sequence).await;
        }
    }

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

/// What one lane of a shard holds: the records read for it and not yet
/// sent, and its tumbling window.
#[derive(Default)]
struct Lane {
    pending: VecDeque<Record>,
    gathering_since: Option<Instant>,
    /// A batch or a window's last invocation of this lane is running.
    busy: bool,
    /// The open tumbling window (taken by the task while one runs).
    window: Option<Window>,
}

/// What a lane's task gives back: the lane, whether it finished (false
/// when stopped first), and the lane's window.
type LaneDone = (usize, bool, Option<Window>);

/// Polls a shard; with a NATS backend, only while this server holds the
/// shard's lease (one poller per shard across the servers), starting from
/// the checkpoint the last holder left, and waiting for the lease again if
/// it is lost.
async fn poll_shard_leased(poller: ShardPoller) {
    let Some(cluster) = poller.state.nats.clone() else {
        return poll_shard(poller).await;
    };
    let key = format!("lease/{}", checkpoint_key(&poller.uuid, &poller.shard));
    let parent = poller.stop.clone();
    let mut next = Some(poller);
    while let Some(mut poller) = next.take() {
        let Some(lease) = cluster.lease(&key, &parent).await else {
            return;
        };
        let again = poller.fresh(parent.clone());
        poller.stop = lease.stop.clone();
        tracing::info!(
            "wasm-lambda: event source mapping {}: this server polls shard {}",
            poller.uuid,
            poller.shard
        );
        poll_shard(poller).await;
        drop(lease);
        if !parent.is_cancelled() {
            next = Some(again);
        }
    }
}

async fn poll_shard(poller: ShardPoller) {
    let poller = Arc::new(poller);
    let settings = poller.settings.clone();
    let batch_size = settings.batch_size as usize;
    let batching = Duration::from_secs(settings.window_seconds.into());
    let tumbling = u64::from(settings.tumbling_window_seconds);
    let role = poller.role();
    let checkpoint = {
        let key = checkpoint_key(&poller.uuid, &poller.shard);
        match &poller.state.nats {
            Some(cluster) => cluster
                .source_value(&format!("checkpoint/{key}"))
                .await
                .ok()
                .flatten(),
            None => {
                let store = poller.state.store.clone();
                tokio::task::spawn_blocking(move || load_checkpoint(&store, &key))
                    .await
                    .ok()
                    .and_then(Result::ok)
                    .flatten()
            }
        }
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
    let mut lanes: Vec<Lane> = Vec::new();
    for lane in 0..poller.lanes {
        let window = if tumbling > 0 {
            load_window(&poller, lane).await
        } else {
            None
        };
        lanes.push(Lane {
            window,
            ..Lane::default()
        });
    }
    let mut running: JoinSet<LaneDone> = JoinSet::new();
    let mut iterator: Option<String> = None;
    let mut last_read: Option<String> = None;
    let mut closed = false;
    let mut caught_up = false;
    let mut newest_arrival = 0.0_f64;
    let mut failures = 0;
    'poll: while !poller.stop.is_cancelled() {
        while let Some(done) = running.try_join_next() {
            if !lane_done(&mut lanes, done) {
                break 'poll;
            }
        }
        let waiting: usize = lanes.iter().map(|lane| lane.pending.len()).sum();
        let mut more = false;
        if !closed && waiting < batch_size * lanes.len() {
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
                    caught_up = raws.len() < limit;
                    more = !caught_up;
                    let mut progress = poller.progress.lock().await;
                    for raw in &raws {
                        if let Some(record) = poller.convert(raw, &role) {
                            last_read = Some(record.sequence.clone());
                            newest_arrival = newest_arrival.max(record.arrival);
                            progress.read(&record.sequence);
                            let lane = &mut lanes[lane_of(&record.key, poller.lanes)];
                            lane.pending.push_back(record);
                            lane.gathering_since.get_or_insert_with(Instant::now);
                        }
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
        let now = unix_seconds(SystemTime::now());
        for (index, lane) in lanes.iter_mut().enumerate() {
            if lane.busy {
                continue;
            }
            // A window ends once this lane holds none of its records and
            // the shard has gone past its end (or is read up to now after
            // it, or closed); then its last invocation runs alone.
            if let Some(window) = &lane.window {
                let end = window.start + tumbling;
                let lane_past = lane
                    .pending
                    .front()
                    .is_none_or(|record| window_start(record.arrival, tumbling) > window.start);
                let shard_past = closed
                    || newest_arrival >= end as f64
                    || (caught_up && now >= end as f64 + WINDOW_GRACE_SECONDS);
                if lane_past && shard_past {
                    let window = lane.window.take().unwrap_or_default();
                    lane.busy = true;
                    let poller = poller.clone();
                    running.spawn(async move {
                        let finished = close_window(&poller, index, &window, false).await;
                        (index, finished, (!finished).then_some(window))
                    });
                    continue;
                }
            }
            let Some(front) = lane.pending.front() else {
                continue;
            };
            // With tumbling windows a batch holds records of one window.
            let open = lane
                .window
                .as_ref()
                .map(|window| window.start)
                .unwrap_or_else(|| window_start(front.arrival, tumbling));
            let of_window =
                |record: &Record| tumbling == 0 || window_start(record.arrival, tumbling) <= open;
            let window_complete = lane.pending.back().is_some_and(|last| !of_window(last));
            let gathered = lane
                .gathering_since
                .is_some_and(|since| since.elapsed() >= batching);
            if !(lane.pending.len() >= batch_size || closed || gathered || window_complete) {
                continue;
            }
            let window = (tumbling > 0).then(|| {
                lane.window.take().unwrap_or(Window {
                    start: open,
                    state: json!({}),
                })
            });
            // A batch stays within the 6 MB an invocation may carry, as
            // Lambda's do (at least one record, which the invocation
            // refuses if it alone is larger).
            let mut bytes = match &window {
                Some(window) => {
                    window_event(&[], window, tumbling, poller.names(), false, false).len()
                }
                None => EVENT_FRAME_BYTES,
            };
            let fits = lane
                .pending
                .iter()
                .take_while(|record| {
                    bytes += record.text.len() + 1;
                    bytes <= MAX_REQUEST_BYTES && of_window(record)
                })
                .count();
            let take = lane.pending.len().min(batch_size).min(fits.max(1));
            let batch: Vec<Record> = lane.pending.drain(..take).collect();
            lane.gathering_since = (!lane.pending.is_empty()).then(Instant::now);
            lane.busy = true;
            let poller = poller.clone();
            running.spawn(async move {
                let mut window = window;
                let finished = run_batch(&poller, index, batch, &mut window).await;
                (index, finished, window)
            });
        }
        if closed
            && running.is_empty()
            && lanes
                .iter()
                .all(|lane| lane.pending.is_empty() && lane.window.is_none())
        {
            tracing::info!(
                "wasm-lambda: event source mapping {}: shard {} is closed and read to its end",
                poller.uuid,
                poller.shard
            );
            return;
        }
        if more {
            continue;
        }
        // Nothing more to read now: wait for a batch to finish, the next
        // read, or the end of a batching window.
        let pause = lanes
            .iter()
            .filter_map(|lane| lane.gathering_since)
            .map(|since| batching.saturating_sub(since.elapsed()))
            .fold(IDLE_POLL, Duration::min);
        tokio::select! {
            Some(done) = running.join_next(), if !running.is_empty() => {
                if !lane_done(&mut lanes, done) {
                    break 'poll;
                }
            }
            () = tokio::time::sleep(pause) => {}
            () = poller.stop.cancelled() => break 'poll,
        }
    }
    // A stop lets the batches in flight finish.
    while let Some(done) = running.join_next().await {
        lane_done(&mut lanes, done);
    }
}

/// Takes back a lane from its finished task; false when the task was
/// stopped or failed.
fn lane_done(lanes: &mut [Lane], done: Result<LaneDone, tokio::task::JoinError>) -> bool {
    match done {
        Ok((index, finished, window)) => {
            lanes[index].busy = false;
            lanes[index].window = window;
            finished
        }
        Err(error) => {
            tracing::warn!("wasm-lambda: a stream batch task failed: {error}");
            false
        }
    }
}

/// Which lane of its shard a record goes to: every record of one partition
/// key goes to the same lane, so they stay in order.
fn lane_of(key: &str, lanes: usize) -> usize {
    if lanes <= 1 {
        return 0;
    }
    let hash = blake3::hash(key.as_bytes());
    let mut first = [0u8; 8];
    first.copy_from_slice(&hash.as_bytes()[..8]);
    (u64::from_le_bytes(first) % lanes as u64) as usize
}

/// The start of the tumbling window a record that arrived at `arrival`
/// (Unix seconds) belongs to: windows are aligned on multiples of their
/// length.
fn window_start(arrival: f64, length: u64) -> u64 {
    if length == 0 {
        return 0;
    }
    let seconds = arrival.max(0.0) as u64;
    seconds - seconds % length
}

/// Runs one batch of a lane and, with a tumbling window whose state has
/// grown past 1 MB, ends that window early. False when stopped first.
async fn run_batch(
    poller: &ShardPoller,
    lane: usize,
    batch: Vec<Record>,
    window: &mut Option<Window>,
) -> bool {
    if !settle(poller, batch, window).await {
        return false;
    }
    let Some(current) = window.as_mut() else {
        return true;
    };
    if current.state.to_string().len() > MAX_WINDOW_STATE_BYTES {
        tracing::warn!(
            "wasm-lambda: event source mapping {}: shard {}: the tumbling window's state is over 1 MB, so the window ends early",
            poller.uuid,
            poller.shard
        );
        if !close_window(poller, lane, current, true).await {
            return false;
        }
        current.state = json!({});
    }
    save_window(poller, lane, Some(current)).await;
    true
}

/// The window's last invocation (`isFinalInvokeForWindow`), retried until
/// it succeeds, as Lambda holds the shard until then. False when stopped
/// first.
async fn close_window(poller: &ShardPoller, lane: usize, window: &Window, early: bool) -> bool {
    let tumbling = u64::from(poller.settings.tumbling_window_seconds);
    let mut attempts = 0;
    loop {
        if poller.stop.is_cancelled() {
            return false;
        }
        let event = window_event(&[], window, tumbling, poller.names(), true, early);
        let failure =
            match super::invoke_batch(&poller.state, &poller.settings.function_name, event, None)
                .await
            {
                Ok(invocation) if invocation.function_error().is_none() => break,
                Ok(invocation) => format!("request {} failed", invocation.request_id),
                Err(why) => why,
            };
        tracing::warn!(
            "wasm-lambda: event source mapping {}: shard {}: the last invocation of the window from {} failed ({failure}); it is retried before the shard goes on",
            poller.uuid,
            poller.shard,
            window.start
        );
        poller.report("PROBLEM: Function call failed");
        if !poller.pause(backoff(attempts)).await {
            return false;
        }
        attempts += 1;
    }
    if !early {
        save_window(poller, lane, None).await;
    }
    poller.report("OK");
    true
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
/// given up, moving the checkpoint as it goes. With a tumbling window each
/// invocation gets the window's state and answers the next. False when
/// stopped first.
async fn settle(poller: &ShardPoller, batch: Vec<Record>, window: &mut Option<Window>) -> bool {
    let settings = &poller.settings;
    let tumbling = u64::from(settings.tumbling_window_seconds);
    let filters = settings.filters();
    let (kept, skipped): (Vec<Record>, Vec<Record>) = batch.into_iter().partition(|record| {
        filters.is_empty() || filters.matches(&record.value, poller.stream.kind)
    });
    poller.settled(&skipped).await;
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
                poller.settled(&part).await;
                part = rest;
                attempts = 0;
                if part.is_empty() {
                    continue;
                }
            }
        }
        let event = match window.as_ref() {
            Some(window) => window_event(&part, window, tumbling, poller.names(), false, false),
            None => batch_event(part.iter().map(|record| record.text.as_str())),
        };
        let invocation =
            match super::invoke_batch(&poller.state, &settings.function_name, event, None).await {
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
        // A tumbling window's invocation answers with the window's state;
        // an answer without one failed, as on Lambda.
        let mut stateless = false;
        if let Some(window) = window.as_mut()
            && invocation.function_error().is_none()
        {
            match window_state(invocation.payload()) {
                Ok(state) => window.state = state,
                Err(why) => {
                    tracing::warn!(
                        "wasm-lambda: event source mapping {}: request {}: {why}, so the batch failed",
                        poller.uuid,
                        invocation.request_id
                    );
                    stateless = true;
                }
            }
        }
        let failed_from = if invocation.function_error().is_some() || stateless {
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
            poller.settled(&part).await;
            poller.report("OK");
            attempts = 0;
            continue;
        };
        poller.report("PROBLEM: Function call failed");
        if index > 0 {
            poller.settled(&part[..index]).await;
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
            poller.settled(&rest).await;
            attempts = 0;
            continue;
        }
        parts.push_front(rest);
        if !poller.pause(backoff(attempts as u32 - 1)).await {
            return false;
        }
    }
    // Every record was settled on its way: filtered out, succeeded, or
    // given up.
    true
}

/// The `state` of a tumbling window's answer.
fn window_state(payload: &str) -> Result<Value, String> {
    let answer: Value = serde_json::from_str(payload.trim())
        .map_err(|_| "its answer is not JSON with the window's state".to_string())?;
    match answer.get("state") {
        Some(state) if !state.is_null() => Ok(state.clone()),
        _ => {
            Err("its answer has no state, which a tumbling window's invocation must return".into())
        }
    }
}

/// An open tumbling window of a lane: when it opened and the state the
/// function last answered.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
struct Window {
    /// Unix seconds.
    start: u64,
    state: Value,
}

/// Lambda's event for a batch of a tumbling window (`isFinalInvokeForWindow`
/// for its last invocation, which has no records).
fn window_event(
    records: &[Record],
    window: &Window,
    length: u64,
    (shard, arn): (&str, &str),
    last: bool,
    early: bool,
) -> String {
    let time = |seconds: u64| {
        json!(
            humantime::format_rfc3339_seconds(
                SystemTime::UNIX_EPOCH + Duration::from_secs(seconds)
            )
            .to_string()
        )
        .to_string()
    };
    let state = if window.state.is_null() {
        "{}".to_string()
    } else {
        window.state.to_string()
    };
    let records: Vec<&str> = records.iter().map(|record| record.text.as_str()).collect();
    ordered(&[
        ("Records", format!("[{}]", records.join(","))),
        (
            "window",
            ordered(&[
                ("start", time(window.start)),
                ("end", time(window.start + length)),
            ]),
        ),
        ("state", state),
        ("shardId", json!(shard).to_string()),
        ("eventSourceARN", json!(arn).to_string()),
        ("isFinalInvokeForWindow", last.to_string()),
        ("isWindowTerminatedEarly", early.to_string()),
    ])
}

async fn write_checkpoint(poller: &ShardPoller, sequence: &str) -> Result<(), ()> {
    let store = poller.state.store.clone();
    let key = checkpoint_key(&poller.uuid, &poller.shard);
    let sequence = sequence.to_string();
    let written = match &poller.state.nats {
        Some(cluster) => Ok(cluster
            .set_source_value(&format!("checkpoint/{key}"), Some(&sequence))
            .await),
        None => {
            tokio::task::spawn_blocking(move || store_checkpoint(&store, &key, &sequence)).await
        }
    };
    match written {
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

/// Forgets every checkpoint and window of a deleted mapping.
pub(super) fn forget_checkpoints(store: &EventStore, uuid: &str) -> Result<()> {
    let prefix = format!("{uuid}/");
    let write = store.db.begin_write()?;
    for definition in [CHECKPOINTS, WINDOWS] {
        let mut table = write.open_table(definition)?;
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

fn window_key(poller: &ShardPoller, lane: usize) -> String {
    format!("{}/{}/{lane}", poller.uuid, poller.shard)
}

/// A lane's open window, kept so that a restarted server goes on with its
/// state.
async fn load_window(poller: &ShardPoller, lane: usize) -> Option<Window> {
    let store = poller.state.store.clone();
    let key = window_key(poller, lane);
    if let Some(cluster) = &poller.state.nats {
        let text = cluster
            .source_value(&format!("window/{key}"))
            .await
            .ok()??;
        return serde_json::from_str(&text).ok();
    }
    let text = tokio::task::spawn_blocking(move || -> Result<Option<String>> {
        let write = store.db.begin_write()?;
        let value = {
            let table = write.open_table(WINDOWS)?;
            table
                .get(key.as_str())?
                .map(|value| value.value().to_string())
        };
        write.commit()?;
        Ok(value)
    })
    .await
    .ok()?
    .ok()??;
    serde_json::from_str(&text).ok()
}

/// Keeps a lane's open window, or forgets it (`None`) once it closed.
async fn save_window(poller: &ShardPoller, lane: usize, window: Option<&Window>) {
    let store = poller.state.store.clone();
    let key = window_key(poller, lane);
    let text = window.and_then(|window| serde_json::to_string(window).ok());
    if let Some(cluster) = &poller.state.nats {
        if let Err(error) = cluster
            .set_source_value(&format!("window/{key}"), text.as_deref())
            .await
        {
            tracing::warn!(
                "wasm-lambda: event source mapping {}: failed to store a tumbling window: {error:#}",
                poller.uuid
            );
        }
        return;
    }
    let saved = tokio::task::spawn_blocking(move || -> Result<()> {
        let write = store.db.begin_write()?;
        {
            let mut table = write.open_table(WINDOWS)?;
            match &text {
                Some(text) => {
                    table.insert(key.as_str(), text.as_str())?;
                }
                None => {
                    table.remove(key.as_str())?;
                }
            }
        }
        write.commit()?;
        Ok(())
    })
    .await;
    if let Ok(Err(error)) = saved {
        tracing::warn!(
            "wasm-lambda: event source mapping {}: failed to store a tumbling window: {error:#}",
            poller.uuid
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_checkpoint_passes_only_records_settled_with_all_before_them() {
        let mut progress = Progress::default();
        for sequence in ["1", "2", "3", "4", "5"] {
            progress.read(sequence);
        }
        assert_eq!(progress.settle(["2", "4"]), None, "1 is still running");
        assert_eq!(progress.settle(["1"]), Some("2".to_string()));
        assert_eq!(progress.settle(["5"]), None, "3 is still running");
        assert_eq!(progress.settle(["3", "3"]), Some("5".to_string()));
        assert_eq!(
            progress.settle(["9"]),
            None,
            "an unknown record moves nothing"
        );
        progress.read("6");
        assert_eq!(progress.settle(["6"]), Some("6".to_string()));
        assert!(progress.positions.is_empty() && progress.records.is_empty());
    }

    #[test]
    fn a_partition_key_always_takes_the_same_lane_and_keys_spread_over_lanes() {
        assert_eq!(lane_of("anything", 1), 0);
        for key in ["a", "device-7", ""] {
            let lane = lane_of(key, 4);
            assert!(lane < 4);
            assert_eq!(lane_of(key, 4), lane);
        }
        let lanes: HashSet<usize> = (0..64)
            .map(|n| lane_of(&format!("device-{n}"), 4))
            .collect();
        assert_eq!(lanes.len(), 4, "64 keys reach every one of 4 lanes");
    }

    #[test]
    fn windows_are_aligned_on_their_length() {
        assert_eq!(window_start(1_000_007.9, 60), 999_960);
        assert_eq!(window_start(120.0, 60), 120);
        assert_eq!(window_start(119.99, 60), 60);
        assert_eq!(window_start(5.0, 0), 0);
    }

    #[test]
    fn a_window_event_is_lambdas_with_the_records_state_and_flags() {
        let window = Window {
            start: 1_607_497_440,
            state: json!({"1": 282}),
        };
        let record = Record {
            sequence: "7".into(),
            key: "k".into(),
            arrival: 1_607_497_475.0,
            text: r#"{"kinesis":{"sequenceNumber":"7"}}"#.into(),
            value: json!({}),
        };
        let event = window_event(
            &[record],
            &window,
            120,
            (
                "shardId-000000000006",
                "arn:aws:kinesis:us-east-1:1:stream/s",
            ),
            false,
            false,
        );
        assert_eq!(
            event,
            r#"{"Records":[{"kinesis":{"sequenceNumber":"7"}}],"window":{"start":"2020-12-09T07:04:00Z","end":"2020-12-09T07:06:00Z"},"state":{"1":282},"shardId":"shardId-000000000006","eventSourceARN":"arn:aws:kinesis:us-east-1:1:stream/s","isFinalInvokeForWindow":false,"isWindowTerminatedEarly":false}"#
        );
        let last = window_event(&[], &Window::default(), 60, ("s", "a"), true, true);
        let last: Value = serde_json::from_str(&last).unwrap();
        assert_eq!(last["Records"], json!([]));
        assert_eq!(
            last["state"],
            json!({}),
            "a window with no state yet gets {{}}"
        );
        assert_eq!(last["window"]["end"], json!("1970-01-01T00:01:00Z"));
        assert_eq!(last["isFinalInvokeForWindow"], json!(true));
        assert_eq!(last["isWindowTerminatedEarly"], json!(true));
    }

    #[test]
    fn a_window_answer_must_carry_a_state() {
        assert_eq!(
            window_state(r#"{"state": {"a": 1}, "batchItemFailures": []}"#),
            Ok(json!({"a": 1}))
        );
        assert_eq!(window_state(r#"{"state": {}}"#), Ok(json!({})));
        for stateless in ["", "null", "{}", r#"{"state": null}"#, "[1]", "not json"] {
            assert!(window_state(stateless).is_err(), "{stateless}");
        }
    }
}
