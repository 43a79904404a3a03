//! Event source mappings: the server polls an SQS queue and invokes a
//! function with batches of its messages, as Lambda's pollers do
//! (`docs/serve.md`, "Event sources").
//!
//! A mapping comes from the configuration file (`[[event_source]]`, the
//! API's setting names in snake case) or from the control-plane API
//! (`CreateEventSourceMapping` and its siblings, whose routes are here).
//! Both go through [`Settings::apply`], so they accept and refuse the same
//! values. Mappings made through the API are kept in the server's store and
//! polled again after a restart; the file's are the file's.
//!
//! Each enabled mapping has a poller ([`sqs::run`]); an update reaches it on
//! its next poll, a disable or delete stops it after the batch it holds.

use std::collections::{BTreeMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use anyhow::{Context as _, Result};
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use redb::{ReadableDatabase, ReadableTable, TableDefinition};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use super::AppState;
use super::queue::EventStore;
use super::reply::{body_object, invalid, service_error, validation};

mod destination;
pub(crate) mod filter;
mod sqs;
mod stream;

/// Mappings made through the API, by UUID; the value is [`Settings`] as JSON.
const MAPPINGS: TableDefinition<&str, &[u8]> = TableDefinition::new("event_source_mappings");

/// Lambda's range of `BatchSize` (SQS and streams), and its SQS default.
const BATCH_SIZES: std::ops::RangeInclusive<u64> = 1..=10_000;
const SQS_DEFAULT_BATCH_SIZE: u32 = 10;
/// Lambda's default `BatchSize` for Kinesis and DynamoDB streams.
const STREAM_DEFAULT_BATCH_SIZE: u32 = 100;
/// The largest batch of a FIFO queue, and of a standard queue without a
/// batching window (one `ReceiveMessage`).
const SQS_SINGLE_RECEIVE: u32 = 10;
/// `MaximumBatchingWindowInSeconds`.
const WINDOW_SECONDS: std::ops::RangeInclusive<u64> = 0..=300;
/// `ScalingConfig.MaximumConcurrency`.
const MAXIMUM_CONCURRENCY: std::ops::RangeInclusive<u64> = 2..=1000;
/// How many batches of one queue Lambda's pollers start with; a mapping
/// without `ScalingConfig` runs this many here.
pub(crate) const DEFAULT_POLLERS: u32 = 5;

/// What a mapping is told: the API's fields, checked.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub(crate) struct Settings {
    /// As given: a name, `NAME:QUALIFIER` or an ARN.
    pub(crate) function_name: String,
    pub(crate) event_source_arn: String,
    pub(crate) enabled: bool,
    pub(crate) batch_size: u32,
    pub(crate) window_seconds: u32,
    pub(crate) report_item_failures: bool,
    /// `FilterCriteria.Filters[].Pattern`, as given.
    pub(crate) filter_patterns: Vec<String>,
    /// `ScalingConfig.MaximumConcurrency`.
    pub(crate) maximum_concurrency: Option<u32>,
    /// Where the queue's service answers (`event_source_endpoint`); the
    /// server's, or the AWS SDKs' variables, or AWS when `None`.
    pub(crate) endpoint: Option<String>,
    /// Streams: `TRIM_HORIZON`, `LATEST` or `AT_TIMESTAMP`.
    #[serde(default)]
    pub(crate) starting_position: Option<String>,
    /// Streams: `StartingPositionTimestamp` (Unix seconds) for `AT_TIMESTAMP`.
    #[serde(default)]
    pub(crate) starting_position_timestamp: Option<f64>,
    /// Streams: retries of a failed batch; -1 (the default) retries until
    /// the records expire.
    #[serde(default = "unlimited")]
    pub(crate) maximum_retry_attempts: i64,
    /// Streams: records older than this many seconds are not sent; -1 (the
    /// default) keeps them as long as the stream does.
    #[serde(default = "unlimited")]
    pub(crate) maximum_record_age_seconds: i64,
    /// Streams: a failed batch is split in two and each half retried.
    #[serde(default)]
    pub(crate) bisect: bool,
    /// Streams: `DestinationConfig.OnFailure.Destination`.
    #[serde(default)]
    pub(crate) on_failure: Option<String>,
    /// Streams: how many batches of one shard may run at once, each holding
    /// the records of some partition keys (1-10).
    #[serde(default = "one")]
    pub(crate) parallelization_factor: u32,
    /// Streams: `TumblingWindowInSeconds`, 0 for none.
    #[serde(default)]
    pub(crate) tumbling_window_seconds: u32,
}

fn unlimited() -> i64 {
    -1
}

fn one() -> u32 {
    1
}

/// Which service a mapping polls, from its ARN.
pub(crate) fn source_kind(arn: &str) -> Option<filter::SourceKind> {
    let parts: Vec<&str> = arn.splitn(6, ':').collect();
    match parts.as_slice() {
        ["arn", _, "sqs", ..] => QueueArn::parse(arn).map(|_| filter::SourceKind::Sqs),
        ["arn", _, "kinesis", region, account, resource]
            if !region.is_empty()
                && !account.is_empty()
                && resource
                    .strip_prefix("stream/")
                    .is_some_and(|name| !name.is_empty()) =>
        {
            Some(filter::SourceKind::Kinesis)
        }
        ["arn", _, "dynamodb", region, account, resource]
            if !region.is_empty() && !account.is_empty() && resource.contains("/stream/") =>
        {
            Some(filter::SourceKind::DynamoDb)
        }
        _ => None,
    }
}

/// The region of an ARN.
pub(crate) fn arn_region(arn: &str) -> &str {
    arn.split(':').nth(3).unwrap_or_default()
}

/// A parsed SQS queue ARN: `arn:PARTITION:sqs:REGION:ACCOUNT:NAME`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct QueueArn {
    pub(crate) region: String,
    pub(crate) account: String,
    pub(crate) name: String,
}

impl QueueArn {
    pub(crate) fn parse(arn: &str) -> Option<QueueArn> {
        let parts: Vec<&str> = arn.split(':').collect();
        match parts.as_slice() {
            ["arn", _, "sqs", region, account, name]
                if !region.is_empty() && !account.is_empty() && !name.is_empty() =>
            {
                Some(QueueArn {
                    region: region.to_string(),
                    account: account.to_string(),
                    name: name.to_string(),
                })
            }
            _ => None,
        }
    }

    pub(crate) fn fifo(&self) -> bool {
        self.name.ends_with(".fifo")
    }
}

impl Settings {
    /// A mapping's settings from a `CreateEventSourceMapping` body (or a
    /// `[[event_source]]` table turned into one).
    #[allow(clippy::result_large_err)]
    fn create(body: &Map<String, Value>) -> Result<Settings, Response> {
        let text = |key: &str| body.get(key).and_then(Value::as_str);
        let Some(arn) = text("EventSourceArn") else {
            return Err(invalid(
                "EventSourceArn is required: the ARN of the SQS queue to poll.",
            ));
        };
        let Some(function) = text("FunctionName") else {
            return Err(invalid("FunctionName is required."));
        };
        let Some(kind) = source_kind(arn) else {
            return Err(invalid(&format!(
                "Unrecognized event source: {arn}. An SQS queue (arn:aws:sqs:REGION:ACCOUNT:NAME), a Kinesis stream (arn:aws:kinesis:REGION:ACCOUNT:stream/NAME) or a DynamoDB stream (arn:aws:dynamodb:REGION:ACCOUNT:table/TABLE/stream/LABEL) can be polled."
            )));
        };
        let stream = kind != filter::SourceKind::Sqs;
        let mut settings = Settings {
            function_name: function.to_string(),
            event_source_arn: arn.to_string(),
            enabled: true,
            batch_size: if stream {
                STREAM_DEFAULT_BATCH_SIZE
            } else {
                SQS_DEFAULT_BATCH_SIZE
            },
            window_seconds: 0,
            report_item_failures: false,
            filter_patterns: Vec::new(),
            maximum_concurrency: None,
            endpoint: None,
            starting_position: None,
            starting_position_timestamp: None,
            maximum_retry_attempts: -1,
            maximum_record_age_seconds: -1,
            bisect: false,
            on_failure: None,
            parallelization_factor: 1,
            tumbling_window_seconds: 0,
        };
        let position = body.get("StartingPosition").and_then(Value::as_str);
        match (stream, position) {
            (true, None) => {
                return Err(invalid(
                    "StartingPosition is required for Kinesis and DynamoDB stream event sources: TRIM_HORIZON, LATEST or AT_TIMESTAMP.",
                ));
            }
            (true, Some(position @ ("TRIM_HORIZON" | "LATEST" | "AT_TIMESTAMP"))) => {
                if position == "AT_TIMESTAMP" && kind == filter::SourceKind::DynamoDb {
                    return Err(invalid(
                        "AT_TIMESTAMP is not a StartingPosition of DynamoDB streams.",
                    ));
                }
                settings.starting_position = Some(position.to_string());
            }
            (true, Some(other)) => {
                return Err(validation(
                    &other,
                    "startingPosition",
                    "Member must satisfy enum value set: [LATEST, AT_TIMESTAMP, TRIM_HORIZON]",
                ));
            }
            (false, Some(_)) => {
                return Err(invalid(
                    "StartingPosition is not valid for SQS event sources.",
                ));
            }
            (false, None) => {}
        }
        if settings.starting_position.as_deref() == Some("AT_TIMESTAMP") {
            let Some(timestamp) = body
                .get("StartingPositionTimestamp")
                .and_then(Value::as_f64)
            else {
                return Err(invalid(
                    "StartingPositionTimestamp is required with StartingPosition AT_TIMESTAMP.",
                ));
            };
            settings.starting_position_timestamp = Some(timestamp);
        }
        settings.apply(body)?;
        Ok(settings)
    }

    /// Applies the fields of a Create or `UpdateEventSourceMapping` body.
    #[allow(clippy::result_large_err)]
    fn apply(&mut self, body: &Map<String, Value>) -> Result<(), Response> {
        let integer =
            |key: &str, range: std::ops::RangeInclusive<u64>| -> Result<Option<u64>, Response> {
                let Some(value) = body.get(key).filter(|value| !value.is_null()) else {
                    return Ok(None);
                };
                let Some(number) = value.as_u64() else {
                    return Err(validation(value, key, "Member must be a whole number"));
                };
                if number < *range.start() {
                    return Err(validation(
                        &number,
                        key,
                        &format!(
                            "Member must have value greater than or equal to {}",
                            range.start()
                        ),
                    ));
                }
                if number > *range.end() {
                    return Err(validation(
                        &number,
                        key,
                        &format!(
                            "Member must have value less than or equal to {}",
                            range.end()
                        ),
                    ));
                }
                Ok(Some(number))
            };
        if let Some(function) = body.get("FunctionName").and_then(Value::as_str) {
            self.function_name = function.to_string();
        }
        if let Some(enabled) = body.get("Enabled").filter(|value| !value.is_null()) {
            self.enabled = enabled
                .as_bool()
                .ok_or_else(|| invalid("Enabled must be true or false."))?;
        }
        if let Some(size) = integer("BatchSize", BATCH_SIZES)? {
            self.batch_size = size as u32;
        }
        if let Some(window) = integer("MaximumBatchingWindowInSeconds", WINDOW_SECONDS)? {
            self.window_seconds = window as u32;
        }
        if let Some(types) = body.get("FunctionResponseTypes").filter(|v| !v.is_null()) {
            let types = types
                .as_array()
                .ok_or_else(|| invalid("FunctionResponseTypes must be a list."))?;
            let mut report = false;
            for kind in types {
                match kind.as_str() {
                    Some("ReportBatchItemFailures") => report = true,
                    _ => {
                        return Err(validation(
                            kind,
                            "functionResponseTypes",
                            "Member must satisfy enum value set: [ReportBatchItemFailures]",
                        ));
                    }
                }
            }
            self.report_item_failures = report;
        }
        if let Some(criteria) = body.get("FilterCriteria").filter(|v| !v.is_null()) {
            let filters = criteria
                .get("Filters")
                .and_then(Value::as_array)
                .map(Vec::as_slice)
                .unwrap_or_default();
            let mut patterns = Vec::new();
            for filter in filters {
                let Some(pattern) = filter.get("Pattern").and_then(Value::as_str) else {
                    return Err(invalid(
                        "Each filter of FilterCriteria.Filters needs a Pattern: a JSON object as a string.",
                    ));
                };
                patterns.push(pattern.to_string());
            }
            filter::FilterCriteria::parse(&patterns).map_err(|why| invalid(&why))?;
            self.filter_patterns = patterns;
        }
        if let Some(scaling) = body.get("ScalingConfig").filter(|v| !v.is_null()) {
            let scaling = scaling
                .as_object()
                .ok_or_else(|| invalid("ScalingConfig must be an object."))?;
            let concurrency = match scaling
                .get("MaximumConcurrency")
                .filter(|value| !value.is_null())
            {
                None => None,
                Some(value) => match value.as_u64() {
                    Some(number) if MAXIMUM_CONCURRENCY.contains(&number) => Some(number as u32),
                    _ => {
                        return Err(validation(
                            value,
                            "scalingConfig.maximumConcurrency",
                            "Member must have value between 2 and 1000",
                        ));
                    }
                },
            };
            self.maximum_concurrency = concurrency;
        }
        if let Some(endpoint) = body.get("EventSourceEndpoint").and_then(Value::as_str) {
            if !(endpoint.starts_with("http://") || endpoint.starts_with("https://")) {
                return Err(invalid(&format!(
                    "event_source_endpoint must be an http:// or https:// URL, not {endpoint:?}."
                )));
            }
            self.endpoint = Some(endpoint.trim_end_matches('/').to_string());
        }
        let stream = source_kind(&self.event_source_arn) != Some(filter::SourceKind::Sqs);
        let stream_only = [
            "MaximumRetryAttempts",
            "MaximumRecordAgeInSeconds",
            "BisectBatchOnFunctionError",
            "ParallelizationFactor",
            "TumblingWindowInSeconds",
            "DestinationConfig",
        ];
        if !stream
            && let Some(key) = stream_only
                .iter()
                .find(|key| body.get(**key).is_some_and(|value| !value.is_null()))
        {
            return Err(invalid(&format!(
                "{key} is a setting of stream event sources, not of SQS queues."
            )));
        }
        if stream
            && body
                .get("ScalingConfig")
                .is_some_and(|value| !value.is_null())
        {
            return Err(invalid(
                "ScalingConfig is a setting of SQS event sources, not of streams.",
            ));
        }
        if let Some(bisect) = body
            .get("BisectBatchOnFunctionError")
            .filter(|v| !v.is_null())
        {
            self.bisect = bisect
                .as_bool()
                .ok_or_else(|| invalid("BisectBatchOnFunctionError must be true or false."))?;
        }
        let signed = |key: &str, allowed: &dyn Fn(i64) -> bool, constraint: &str| match body
            .get(key)
            .filter(|value| !value.is_null())
        {
            None => Ok(None),
            Some(value) => match value.as_i64() {
                Some(number) if allowed(number) => Ok(Some(number)),
                _ => Err(validation(value, key, constraint)),
            },
        };
        if let Some(retries) = signed(
            "MaximumRetryAttempts",
            &|n| (-1..=10_000).contains(&n),
            "Member must have value between -1 and 10000",
        )? {
            self.maximum_retry_attempts = retries;
        }
        if let Some(age) = signed(
            "MaximumRecordAgeInSeconds",
            &|n| n == -1 || (60..=604_800).contains(&n),
            "Member must be -1 or have value between 60 and 604800",
        )? {
            self.maximum_record_age_seconds = age;
        }
        if let Some(factor) = signed(
            "ParallelizationFactor",
            &|n| (1..=10).contains(&n),
            "Member must have value between 1 and 10",
        )? {
            self.parallelization_factor = factor as u32;
        }
        if let Some(window) = signed(
            "TumblingWindowInSeconds",
            &|n| (0..=900).contains(&n),
            "Member must have value between 0 and 900",
        )? {
            self.tumbling_window_seconds = window as u32;
        }
        if let Some(config) = body.get("DestinationConfig").filter(|v| !v.is_null()) {
            let destination = config
                .get("OnFailure")
                .and_then(|on_failure| on_failure.get("Destination"))
                .filter(|value| !value.is_null());
            self.on_failure = match destination {
                None => None,
                Some(destination) => {
                    let Some(text) = destination.as_str() else {
                        return Err(invalid(
                            "DestinationConfig.OnFailure.Destination must be a string.",
                        ));
                    };
                    destination::Destination::parse(text).map_err(|why| invalid(&why))?;
                    Some(text.to_string())
                }
            };
        }
        if stream {
            return Ok(());
        }
        let fifo = QueueArn::parse(&self.event_source_arn).is_some_and(|arn| arn.fifo());
        if fifo && self.batch_size > SQS_SINGLE_RECEIVE {
            return Err(invalid(&format!(
                "BatchSize {} is more than a FIFO queue's largest batch, {SQS_SINGLE_RECEIVE}.",
                self.batch_size
            )));
        }
        if fifo && self.window_seconds > 0 {
            return Err(invalid(
                "MaximumBatchingWindowInSeconds is not supported for FIFO queues.",
            ));
        }
        if self.batch_size > SQS_SINGLE_RECEIVE && self.window_seconds == 0 {
            return Err(invalid(&format!(
                "Maximum batch window in seconds must be greater than 0 if maximum batch size is greater than {SQS_SINGLE_RECEIVE}"
            )));
        }
        Ok(())
    }

    /// The filters, parsed (they were checked when given).
    pub(crate) fn filters(&self) -> filter::FilterCriteria {
        filter::FilterCriteria::parse(&self.filter_patterns).unwrap_or_default()
    }

    /// How many batches may be in flight at once.
    pub(crate) fn pollers(&self) -> u32 {
        self.maximum_concurrency.unwrap_or(DEFAULT_POLLERS)
    }
}

/// One `[[event_source]]` table of the configuration file, as the API body
/// it stands for: `event_source_arn` is `EventSourceArn`,
/// `filter_criteria = { filters = [{ pattern = "..." }] }` is
/// `FilterCriteria.Filters[].Pattern`, and so on.
pub(crate) fn body_of_table(table: &toml::Table) -> Map<String, Value> {
    fn pascal(key: &str) -> String {
        key.split('_')
            .map(|word| {
                let mut chars = word.chars();
                match chars.next() {
                    Some(first) => first.to_uppercase().chain(chars).collect::<String>(),
                    None => String::new(),
                }
            })
            .collect()
    }
    fn convert(value: &toml::Value) -> Value {
        match value {
            toml::Value::String(text) => json!(text),
            toml::Value::Integer(number) => json!(number),
            toml::Value::Float(number) => json!(number),
            toml::Value::Boolean(flag) => json!(flag),
            toml::Value::Datetime(time) => json!(time.to_string()),
            toml::Value::Array(items) => Value::Array(items.iter().map(convert).collect()),
            toml::Value::Table(table) => Value::Object(
                table
                    .iter()
                    .map(|(key, value)| (pascal(key), convert(value)))
                    .collect(),
            ),
        }
    }
    table
        .iter()
        .map(|(key, value)| (pascal(key), convert(value)))
        .collect()
}

/// Every key an `[[event_source]]` table may have.
const TABLE_KEYS: &[&str] = &[
    "function_name",
    "event_source_arn",
    "enabled",
    "batch_size",
    "maximum_batching_window_in_seconds",
    "function_response_types",
    "filter_criteria",
    "scaling_config",
    "event_source_endpoint",
    "starting_position",
    "starting_position_timestamp",
    "maximum_retry_attempts",
    "maximum_record_age_in_seconds",
    "bisect_batch_on_function_error",
    "parallelization_factor",
    "tumbling_window_in_seconds",
    "destination_config",
];

/// A mapping and what it is doing.
struct Mapping {
    settings: Settings,
    /// `Enabled` or `Disabled`, once settled.
    state: &'static str,
    last_modified: SystemTime,
    /// What its poller last did (`LastProcessingResult`).
    last_result: Arc<Mutex<String>>,
    /// From the configuration file: not stored, and the API leaves it alone.
    from_file: bool,
    poller: Option<Poller>,
}

/// A running poller: stop it, or hand it new settings.
struct Poller {
    stop: CancellationToken,
    settings: watch::Sender<Arc<Settings>>,
}

/// Every mapping of a server, by UUID.
#[derive(Default)]
pub(crate) struct Mappings {
    mappings: Mutex<BTreeMap<String, Mapping>>,
    /// Cancelled when the server stops: every poller ends.
    stopping: CancellationToken,
    /// The pollers; a shutdown waits for the batches they hold.
    tracker: TaskTracker,
    /// The endpoint of mappings that name none (`event_source_endpoint` of
    /// the server).
    default_endpoint: Option<String>,
}

/// A mapping's UUID as a stable hash of what it connects, for the
/// configuration file's mappings: the same after a restart.
fn file_uuid(settings: &Settings) -> String {
    let hash = blake3::hash(
        format!("{}\n{}", settings.function_name, settings.event_source_arn).as_bytes(),
    );
    let hex = hash.to_hex();
    format!(
        "{}-{}-4{}-8{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[13..16],
        &hex[17..20],
        &hex[20..32]
    )
}

impl Mappings {
    /// The configuration file's mappings (checked as the API checks them)
    /// and those the API made before, none polling yet.
    pub(crate) fn new(
        tables: &[toml::Table],
        default_endpoint: Option<String>,
        store: &EventStore,
    ) -> Result<Mappings> {
        let mut mappings = BTreeMap::new();
        for (index, table) in tables.iter().enumerate() {
            if let Some(unknown) = table.keys().find(|key| !TABLE_KEYS.contains(&key.as_str())) {
                anyhow::bail!(
                    "event_source {}: unknown key `{unknown}`; expected one of {}",
                    index + 1,
                    TABLE_KEYS.join(", ")
                );
            }
            let settings = Settings::create(&body_of_table(table)).map_err(|response| {
                anyhow::anyhow!("event_source {}: {}", index + 1, response_message(response))
            })?;
            let uuid = file_uuid(&settings);
            if mappings.contains_key(&uuid) {
                anyhow::bail!(
                    "event_source {}: {} is mapped to {} twice",
                    index + 1,
                    settings.event_source_arn,
                    settings.function_name
                );
            }
            mappings.insert(uuid, Mapping::new(settings, true));
        }
        for (uuid, settings) in stored(store)? {
            mappings.insert(uuid, Mapping::new(settings, false));
        }
        Ok(Mappings {
            mappings: Mutex::new(mappings),
            default_endpoint,
            ..Mappings::default()
        })
    }

    /// The functions the mappings name, to check they are served.
    pub(crate) fn functions(&self) -> Vec<String> {
        self.lock()
            .values()
            .filter(|mapping| mapping.from_file)
            .map(|mapping| mapping.settings.function_name.clone())
            .collect()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<String, Mapping>> {
        // A panic while the lock was held left whole values behind.
        self.mappings
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Starts the poller of every enabled mapping.
    pub(crate) fn start_all(&self, state: &Arc<AppState>) {
        let mut mappings = self.lock();
        for (uuid, mapping) in mappings.iter_mut() {
            self.start(state, uuid, mapping);
        }
    }

    /// Starts `mapping`'s poller if it is enabled and has none.
    fn start(&self, state: &Arc<AppState>, uuid: &str, mapping: &mut Mapping) {
        if !mapping.settings.enabled || mapping.poller.is_some() {
            return;
        }
        let stop = self.stopping.child_token();
        let (sender, receiver) = watch::channel(Arc::new(mapping.settings.clone()));
        let last_result = mapping.last_result.clone();
        if source_kind(&mapping.settings.event_source_arn) == Some(filter::SourceKind::Sqs) {
            self.tracker.spawn(sqs::run(
                state.clone(),
                uuid.to_string(),
                receiver,
                stop.clone(),
                last_result,
            ));
        } else {
            self.tracker.spawn(stream::run(
                state.clone(),
                uuid.to_string(),
                receiver,
                stop.clone(),
                last_result,
            ));
        }
        mapping.poller = Some(Poller {
            stop,
            settings: sender,
        });
        mapping.state = "Enabled";
    }

    /// Stops every poller and waits for the batches they hold.
    pub(crate) async fn stop_all(&self) {
        self.stopping.cancel();
        self.tracker.close();
        self.tracker.wait().await;
    }

    /// The endpoint of `service` (`sqs`, `kinesis`, `dynamodb_streams`,
    /// `sns`) for `settings`: the mapping's, the server's, then
    /// `AWS_ENDPOINT_URL_<SERVICE>` and `AWS_ENDPOINT_URL` as the AWS SDKs
    /// read them, then AWS's own in `region`.
    pub(crate) fn endpoint(&self, settings: &Settings, service: &str, region: &str) -> String {
        let variable = |name: &str| std::env::var(name).ok().filter(|value| !value.is_empty());
        let host = match service {
            "dynamodb_streams" => "streams.dynamodb",
            other => other,
        };
        settings
            .endpoint
            .clone()
            .or_else(|| self.default_endpoint.clone())
            .or_else(|| variable(&format!("AWS_ENDPOINT_URL_{}", service.to_uppercase())))
            .or_else(|| variable("AWS_ENDPOINT_URL"))
            .unwrap_or_else(|| format!("https://{host}.{region}.amazonaws.com"))
            .trim_end_matches('/')
            .to_string()
    }
}

impl Mapping {
    fn new(settings: Settings, from_file: bool) -> Mapping {
        let state = if settings.enabled {
            "Enabled"
        } else {
            "Disabled"
        };
        Mapping {
            settings,
            state,
            last_modified: SystemTime::now(),
            last_result: Arc::new(Mutex::new("No records processed".into())),
            from_file,
            poller: None,
        }
    }

    /// Stops its poller, if it has one.
    fn stop(&mut self) {
        if let Some(poller) = self.poller.take() {
            poller.stop.cancel();
        }
    }
}

/// The message of a refusal made for the API, for the configuration file's
/// errors.
fn response_message(response: Response) -> String {
    let code = response
        .headers()
        .get("x-amzn-errortype")
        .and_then(|value| value.to_str().ok())
        .unwrap_or("error")
        .to_string();
    // The body is a small JSON object already in memory.
    let body =
        futures_util::FutureExt::now_or_never(axum::body::to_bytes(response.into_body(), 1 << 16))
            .and_then(Result::ok)
            .unwrap_or_default();
    let message = serde_json::from_slice::<Value>(&body)
        .ok()
        .and_then(|body| body["Message"].as_str().map(str::to_string))
        .unwrap_or_default();
    format!("{code}: {message}")
}

/// The mappings a previous server made through the API.
fn stored(store: &EventStore) -> Result<Vec<(String, Settings)>> {
    let write = store.db.begin_write()?;
    write.open_table(MAPPINGS)?;
    write.commit()?;
    let read = store.db.begin_read()?;
    let table = read.open_table(MAPPINGS)?;
    let mut stored = Vec::new();
    for row in table.iter()? {
        let (uuid, value) = row?;
        let settings: Settings = serde_json::from_slice(value.value()).with_context(|| {
            format!(
                "the stored event source mapping {} is unreadable",
                uuid.value()
            )
        })?;
        stored.push((uuid.value().to_string(), settings));
    }
    Ok(stored)
}

/// Stores (`Some`) or forgets (`None`) an API mapping, and with a NATS
/// backend tells the other servers; refused if NATS does not take it.
#[allow(clippy::result_large_err)]
async fn persist(
    state: &Arc<AppState>,
    uuid: &str,
    settings: Option<Settings>,
) -> Result<(), Response> {
    let shared = settings
        .as_ref()
        .map(serde_json::to_vec)
        .transpose()
        .map_err(|error| service_error(500, "ServiceException", &error.to_string()))?;
    persist_here(state, uuid, settings).await?;
    if let Some(cluster) = &state.nats {
        cluster
            .share_mapping(uuid, shared.as_deref())
            .await
            .map_err(|error| service_error(503, "ServiceException", &format!("{error:#}")))?;
    }
    Ok(())
}

/// Applies another server's change to the API mapping `uuid` (its settings
/// as JSON, or `None`: deleted): kept in this server's store, polled here
/// too (a stream's shards by whichever server holds their leases).
pub(crate) async fn apply_shared(state: &Arc<AppState>, uuid: &str, settings: Option<Value>) {
    let settings = match settings.map(serde_json::from_value::<Settings>).transpose() {
        Ok(settings) => settings,
        Err(error) => {
            tracing::warn!("wasm-lambda: unreadable shared mapping {uuid}: {error}");
            return;
        }
    };
    if state
        .sources
        .lock()
        .get(uuid)
        .is_some_and(|mapping| mapping.from_file)
    {
        return;
    }
    if persist_here(state, uuid, settings.clone()).await.is_err() {
        tracing::warn!("wasm-lambda: failed to keep shared mapping {uuid} in this server's store");
    }
    let mut mappings = state.sources.lock();
    match settings {
        Some(settings) => match mappings.get_mut(uuid) {
            Some(mapping) => apply_settings(state, uuid, mapping, settings),
            None => {
                let mut mapping = Mapping::new(settings, false);
                state.sources.start(state, uuid, &mut mapping);
                mappings.insert(uuid.to_string(), mapping);
                tracing::info!(
                    "wasm-lambda: event source mapping {uuid} was made on another server; it runs here too"
                );
            }
        },
        None => {
            if let Some(mut mapping) = mappings.remove(uuid) {
                mapping.stop();
                tracing::info!(
                    "wasm-lambda: event source mapping {uuid} was deleted on another server; deleted here"
                );
            }
        }
    }
}

/// Gives `mapping` new settings: its poller reads them before its next
/// poll, starts if it was disabled, or stops if it is now.
fn apply_settings(state: &Arc<AppState>, uuid: &str, mapping: &mut Mapping, settings: Settings) {
    mapping.settings = settings.clone();
    mapping.last_modified = SystemTime::now();
    if settings.enabled {
        match &mapping.poller {
            Some(poller) => {
                poller.settings.send_replace(Arc::new(settings));
            }
            None => state.sources.start(state, uuid, mapping),
        }
        mapping.state = "Enabled";
    } else {
        mapping.stop();
        mapping.state = "Disabled";
    }
}

/// Stores (`Some`) or forgets (`None`) an API mapping in this server's
/// store, off the async threads.
#[allow(clippy::result_large_err)]
async fn persist_here(
    state: &Arc<AppState>,
    uuid: &str,
    settings: Option<Settings>,
) -> Result<(), Response> {
    let store = state.store.clone();
    let uuid = uuid.to_string();
    let written = tokio::task::spawn_blocking(move || -> Result<()> {
        let write = store.db.begin_write()?;
        {
            let mut table = write.open_table(MAPPINGS)?;
            match settings {
                Some(settings) => {
                    table.insert(uuid.as_str(), serde_json::to_vec(&settings)?.as_slice())?;
                }
                None => {
                    table.remove(uuid.as_str())?;
                }
            }
        }
        write.commit()?;
        Ok(())
    })
    .await;
    match written {
        Ok(Ok(())) => Ok(()),
        Ok(Err(error)) => Err(service_error(
            500,
            "ServiceException",
            &format!("failed to store the event source mapping: {error:#}"),
        )),
        Err(error) => Err(service_error(500, "ServiceException", &error.to_string())),
    }
}

/// The control plane's event-source-mapping routes.
pub(crate) fn routes() -> Router<Arc<AppState>> {
    Router::new()
        .route(
            "/2015-03-31/event-source-mappings",
            get(list_mappings).post(create_mapping),
        )
        .route(
            "/2015-03-31/event-source-mappings/",
            get(list_mappings).post(create_mapping),
        )
        .route(
            "/2015-03-31/event-source-mappings/{uuid}",
            get(get_mapping).put(update_mapping).delete(delete_mapping),
        )
}

/// What Get answers for a mapping, with `state` in place of its settled state
/// (Create, Update and Delete answer with the transition they start).
fn configuration(state: &AppState, uuid: &str, mapping: &Mapping, shown: &str) -> Value {
    let settings = &mapping.settings;
    let (name, qualifier) = super::reply::parse_function_name(&settings.function_name);
    let mut function_arn = super::reply::function_arn(state, &name);
    if let Some(qualifier) = qualifier {
        function_arn = format!("{function_arn}:{qualifier}");
    }
    let seconds = mapping
        .last_modified
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap_or_default()
        .as_millis() as f64
        / 1000.0;
    let last_result = mapping
        .last_result
        .lock()
        .map(|result| result.clone())
        .unwrap_or_default();
    let mut answer = json!({
        "UUID": uuid,
        "BatchSize": settings.batch_size,
        "MaximumBatchingWindowInSeconds": settings.window_seconds,
        "EventSourceArn": settings.event_source_arn,
        "EventSourceMappingArn": format!(
            "arn:aws:lambda:{}:000000000000:event-source-mapping:{uuid}",
            state.region
        ),
        "FunctionArn": function_arn,
        "LastModified": seconds,
        "LastProcessingResult": last_result,
        "State": shown,
        "StateTransitionReason": "USER_INITIATED",
        "FunctionResponseTypes": if settings.report_item_failures {
            json!(["ReportBatchItemFailures"])
        } else {
            json!([])
        },
    });
    if !settings.filter_patterns.is_empty() {
        answer["FilterCriteria"] = json!({
            "Filters": settings
                .filter_patterns
                .iter()
                .map(|pattern| json!({ "Pattern": pattern }))
                .collect::<Vec<_>>()
        });
    }
    if let Some(concurrency) = settings.maximum_concurrency {
        answer["ScalingConfig"] = json!({ "MaximumConcurrency": concurrency });
    }
    if let Some(position) = &settings.starting_position {
        answer["StartingPosition"] = json!(position);
        if let Some(timestamp) = settings.starting_position_timestamp {
            answer["StartingPositionTimestamp"] = json!(timestamp);
        }
        answer["MaximumRetryAttempts"] = json!(settings.maximum_retry_attempts);
        answer["MaximumRecordAgeInSeconds"] = json!(settings.maximum_record_age_seconds);
        answer["BisectBatchOnFunctionError"] = json!(settings.bisect);
        answer["ParallelizationFactor"] = json!(settings.parallelization_factor);
        answer["TumblingWindowInSeconds"] = json!(settings.tumbling_window_seconds);
        answer["DestinationConfig"] = match &settings.on_failure {
            Some(destination) => json!({ "OnFailure": { "Destination": destination } }),
            None => json!({ "OnFailure": {} }),
        };
    }
    answer
}

fn mapping_not_found() -> Response {
    service_error(
        404,
        "ResourceNotFoundException",
        "The resource you requested does not exist.",
    )
}

fn answer(status: StatusCode, body: Value) -> Response {
    (status, axum::Json(body)).into_response()
}

async fn create_mapping(State(state): State<Arc<AppState>>, body: Bytes) -> Response {
    let body = or_answer!(body_object(&body));
    let settings = or_answer!(Settings::create(&body));
    let (name, qualifier) = super::reply::parse_function_name(&settings.function_name);
    or_answer!(super::versions::resolve(
        &state,
        &name,
        qualifier.as_deref(),
        false
    ));
    let uuid = uuid::Uuid::new_v4().to_string();
    {
        let mappings = state.sources.lock();
        if let Some((existing, _)) = mappings.iter().find(|(_, mapping)| {
            mapping.settings.event_source_arn == settings.event_source_arn
                && super::reply::parse_function_name(&mapping.settings.function_name).0 == name
        }) {
            return service_error(
                409,
                "ResourceConflictException",
                &format!(
                    "An event source mapping with {} arn (\" {} \") and function (\" {name} \") already exists. Please update or delete the existing mapping with UUID {existing}",
                    match source_kind(&settings.event_source_arn) {
                        Some(filter::SourceKind::Kinesis) => "Kinesis",
                        Some(filter::SourceKind::DynamoDb) => "DynamoDB",
                        _ => "SQS",
                    },
                    settings.event_source_arn
                ),
            );
        }
    }
    or_answer!(persist(&state, &uuid, Some(settings.clone())).await);
    let mut mappings = state.sources.lock();
    let mut mapping = Mapping::new(settings, false);
    state.sources.start(&state, &uuid, &mut mapping);
    let body = configuration(&state, &uuid, &mapping, "Creating");
    mappings.insert(uuid, mapping);
    answer(StatusCode::ACCEPTED, body)
}

async fn get_mapping(State(state): State<Arc<AppState>>, Path(uuid): Path<String>) -> Response {
    let mappings = state.sources.lock();
    match mappings.get(&uuid) {
        Some(mapping) => answer(
            StatusCode::OK,
            configuration(&state, &uuid, mapping, mapping.state),
        ),
        None => mapping_not_found(),
    }
}

async fn update_mapping(
    State(state): State<Arc<AppState>>,
    Path(uuid): Path<String>,
    body: Bytes,
) -> Response {
    let body = or_answer!(body_object(&body));
    let Some(mut settings) = state
        .sources
        .lock()
        .get(&uuid)
        .map(|mapping| mapping.settings.clone())
    else {
        return mapping_not_found();
    };
    if state
        .sources
        .lock()
        .get(&uuid)
        .is_some_and(|mapping| mapping.from_file)
    {
        return invalid(
            "This event source mapping comes from the server's configuration file; change it there.",
        );
    }
    or_answer!(settings.apply(&body));
    if body.contains_key("FunctionName") {
        let (name, qualifier) = super::reply::parse_function_name(&settings.function_name);
        or_answer!(super::versions::resolve(
            &state,
            &name,
            qualifier.as_deref(),
            false
        ));
    }
    or_answer!(persist(&state, &uuid, Some(settings.clone())).await);
    let mut mappings = state.sources.lock();
    let Some(mapping) = mappings.get_mut(&uuid) else {
        return mapping_not_found();
    };
    apply_settings(&state, &uuid, mapping, settings);
    answer(
        StatusCode::ACCEPTED,
        configuration(&state, &uuid, mapping, "Updating"),
    )
}

async fn delete_mapping(State(state): State<Arc<AppState>>, Path(uuid): Path<String>) -> Response {
    let from_file = match state.sources.lock().get(&uuid) {
        Some(mapping) => mapping.from_file,
        None => return mapping_not_found(),
    };
    if from_file {
        return invalid(
            "This event source mapping comes from the server's configuration file; remove it there.",
        );
    }
    or_answer!(persist(&state, &uuid, None).await);
    let Some(mut mapping) = state.sources.lock().remove(&uuid) else {
        return mapping_not_found();
    };
    mapping.stop();
    let store = state.store.clone();
    let forgotten = uuid.clone();
    if let Ok(Err(error)) =
        tokio::task::spawn_blocking(move || stream::forget_checkpoints(&store, &forgotten)).await
    {
        tracing::warn!(
            "wasm-lambda: event source mapping {uuid}: failed to forget its checkpoints: {error:#}"
        );
    }
    if let Some(cluster) = &state.nats {
        for kind in ["checkpoint", "window"] {
            if let Err(error) = cluster
                .forget_source_values(&format!("{kind}/{uuid}/"))
                .await
            {
                tracing::warn!(
                    "wasm-lambda: event source mapping {uuid}: failed to forget its {kind}s in NATS: {error:#}"
                );
            }
        }
    }
    answer(
        StatusCode::ACCEPTED,
        configuration(&state, &uuid, &mapping, "Deleting"),
    )
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct ListQuery {
    event_source_arn: Option<String>,
    function_name: Option<String>,
    marker: Option<String>,
    max_items: Option<usize>,
}

async fn list_mappings(
    State(state): State<Arc<AppState>>,
    Query(query): Query<ListQuery>,
) -> Response {
    let wanted_function = query
        .function_name
        .as_deref()
        .map(|name| super::reply::parse_function_name(name).0);
    let mappings = state.sources.lock();
    let matching: Vec<(&String, &Mapping)> = mappings
        .iter()
        .filter(|(_, mapping)| {
            query
                .event_source_arn
                .as_ref()
                .is_none_or(|arn| *arn == mapping.settings.event_source_arn)
                && wanted_function.as_ref().is_none_or(|name| {
                    super::reply::parse_function_name(&mapping.settings.function_name).0 == *name
                })
        })
        .filter(|(uuid, _)| query.marker.as_ref().is_none_or(|marker| *uuid > marker))
        .collect();
    let most = query.max_items.unwrap_or(100).clamp(1, 10_000);
    let page: Vec<Value> = matching
        .iter()
        .take(most)
        .map(|(uuid, mapping)| configuration(&state, uuid, mapping, mapping.state))
        .collect();
    let mut body = json!({ "EventSourceMappings": page });
    if matching.len() > most
        && let Some((last, _)) = matching.get(most - 1)
    {
        body["NextMarker"] = json!(last);
    }
    answer(StatusCode::OK, body)
}

/// Invokes the function a mapping names with `event` as any invocation is
/// made (its qualifier resolved, waiting for a slot under its reserved
/// concurrency as Lambda's pollers scale down to it). `Err` says why it did
/// not run.
pub(crate) async fn invoke_batch(
    state: &Arc<AppState>,
    function_name: &str,
    event: String,
    trace: Option<String>,
) -> Result<wasm_lambda_core::Invocation, String> {
    let Ok(target) = super::api::find(state, function_name, None) else {
        return Err(format!(
            "function {function_name} is not served or not ready"
        ));
    };
    let _permit = match &target.deployed.concurrency {
        Some(slots) => slots.clone().acquire_owned().await.ok(),
        None => None,
    };
    let request = wasm_lambda_core::InvokeRequest {
        invoked_function_arn: Some(target.invoked_arn.clone()),
        trace_id: trace,
        ..wasm_lambda_core::InvokeRequest::new(event)
    };
    target.deployed.invoke(request).await.map_err(|error| {
        format!(
            "invoking {function_name} failed ({}: {error})",
            error.error_code()
        )
    })
}

/// The trace header of one more run of `function_name` in the chain that
/// `header` (a message's `AWSTraceHeader`) belongs to, its `Lineage`
/// counted as the Invoke API counts it; `None` when recursive loop
/// detection stops the run (`recursion.rs`).
pub(crate) fn next_run_of(
    state: &Arc<AppState>,
    function_name: &str,
    header: &str,
) -> Option<String> {
    let allowed = super::api::find(state, function_name, None)
        .is_ok_and(|target| target.deployed.recursion_allowed);
    let unqualified = super::reply::parse_function_name(function_name).0;
    super::recursion::next_run(
        header,
        &super::reply::function_arn(state, &unqualified),
        allowed,
    )
}

/// The ids (SQS message ids, stream sequence numbers) a
/// `ReportBatchItemFailures` response names. An empty or `null`
/// list, `null`, `{}` or an object without the key mean every message
/// succeeded; anything else that is not Lambda's shape, an empty id or an
/// id not in the batch fail the whole batch, as Lambda does.
pub(crate) fn batch_item_failures(
    payload: &str,
    ids: &HashSet<&str>,
) -> Result<HashSet<String>, String> {
    let payload = payload.trim();
    if payload.is_empty() {
        return Ok(HashSet::new());
    }
    let value: Value = serde_json::from_str(payload)
        .map_err(|_| "its ReportBatchItemFailures response is not JSON".to_string())?;
    let failures = match &value {
        Value::Null => return Ok(HashSet::new()),
        Value::Object(object) => match object.get("batchItemFailures") {
            None | Some(Value::Null) => return Ok(HashSet::new()),
            Some(Value::Array(items)) => items,
            Some(_) => return Err("its batchItemFailures is not a list".into()),
        },
        _ => return Err("its ReportBatchItemFailures response is not an object".into()),
    };
    let mut failed = HashSet::new();
    for item in failures {
        let Some(id) = item.get("itemIdentifier").and_then(Value::as_str) else {
            return Err(format!(
                "the batch item failure {item} has no itemIdentifier string"
            ));
        };
        if id.is_empty() || !ids.contains(id) {
            return Err(format!(
                "the batch item failure names {id:?}, which is not a record of the batch"
            ));
        }
        failed.insert(id.to_string());
    }
    Ok(failed)
}

/// A JSON object of `(key, JSON text)` pairs in the order given.
pub(crate) fn ordered(fields: &[(&str, String)]) -> String {
    let mut text = String::from("{");
    for (index, (key, value)) in fields.iter().enumerate() {
        if index > 0 {
            text.push(',');
        }
        text.push_str(&json!(key).to_string());
        text.push(':');
        text.push_str(value);
    }
    text.push('}');
    text
}

/// The event of a batch: Lambda's `{"Records":[...]}` around the records'
/// JSON texts.
pub(crate) fn batch_event<'a>(records: impl IntoIterator<Item = &'a str>) -> String {
    let records: Vec<&str> = records.into_iter().collect();
    format!("{{\"Records\":[{}]}}", records.join(","))
}

/// The bytes of a batch's event besides its records (each record adds its
/// length and a comma, one too many for the last).
pub(crate) const EVENT_FRAME_BYTES: usize = "{\"Records\":[]}".len();

/// Sets a mapping's `LastProcessingResult`.
pub(crate) fn set_result(last_result: &Mutex<String>, result: impl Into<String>) {
    if let Ok(mut last) = last_result.lock() {
        *last = result.into();
    }
}

/// A pause that grows with each failure in a row, up to a minute, so that an
/// unreachable queue costs little.
pub(crate) fn backoff(failures: u32) -> Duration {
    Duration::from_millis(500u64.saturating_mul(1 << failures.min(7))).min(Duration::from_secs(60))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids<'a>(list: &[&'a str]) -> HashSet<&'a str> {
        list.iter().copied().collect()
    }

    #[test]
    fn batch_item_failures_follow_lambdas_rules() {
        let batch = ids(&["a", "b", "c"]);
        for success in [
            "",
            "null",
            "{}",
            r#"{"batchItemFailures": []}"#,
            r#"{"batchItemFailures": null}"#,
        ] {
            assert_eq!(
                batch_item_failures(success, &batch),
                Ok(HashSet::new()),
                "{success}"
            );
        }
        assert_eq!(
            batch_item_failures(
                r#"{"batchItemFailures": [{"itemIdentifier": "b"}, {"itemIdentifier": "c"}]}"#,
                &batch
            ),
            Ok(["b".to_string(), "c".to_string()].into_iter().collect())
        );
        for whole_batch in [
            "not json",
            r#""ok""#,
            r#"{"batchItemFailures": "b"}"#,
            r#"{"batchItemFailures": [{"itemIdentifier": "z"}]}"#,
            r#"{"batchItemFailures": [{"itemIdentifier": ""}]}"#,
            r#"{"batchItemFailures": [{"itemIdentifier": null}]}"#,
            r#"{"batchItemFailures": [{"id": "a"}]}"#,
        ] {
            assert!(
                batch_item_failures(whole_batch, &batch).is_err(),
                "{whole_batch}"
            );
        }
    }

    fn body(value: Value) -> Map<String, Value> {
        value.as_object().unwrap().clone()
    }

    const QUEUE: &str = "arn:aws:sqs:us-east-1:000000000000:orders";

    #[test]
    fn create_takes_lambdas_defaults_and_checks_ranges() {
        let settings = Settings::create(&body(json!({
            "EventSourceArn": QUEUE, "FunctionName": "worker"
        })))
        .unwrap();
        assert_eq!(settings.batch_size, 10);
        assert_eq!(settings.window_seconds, 0);
        assert!(settings.enabled);
        assert_eq!(settings.pollers(), DEFAULT_POLLERS);
        for bad in [
            json!({"EventSourceArn": QUEUE, "FunctionName": "f", "BatchSize": 0}),
            json!({"EventSourceArn": QUEUE, "FunctionName": "f", "BatchSize": 10_001, "MaximumBatchingWindowInSeconds": 1}),
            json!({"EventSourceArn": QUEUE, "FunctionName": "f", "BatchSize": 11}),
            json!({"EventSourceArn": QUEUE, "FunctionName": "f", "MaximumBatchingWindowInSeconds": 301}),
            json!({"EventSourceArn": QUEUE, "FunctionName": "f", "FunctionResponseTypes": ["Other"]}),
            json!({"EventSourceArn": QUEUE, "FunctionName": "f", "ScalingConfig": {"MaximumConcurrency": 1}}),
            json!({"EventSourceArn": QUEUE, "FunctionName": "f", "FilterCriteria": {"Filters": [{"Pattern": "not json"}]}}),
            json!({"EventSourceArn": "arn:aws:sqs:us-east-1:000000000000:o.fifo", "FunctionName": "f", "BatchSize": 20, "MaximumBatchingWindowInSeconds": 1}),
            json!({"EventSourceArn": "queue", "FunctionName": "f"}),
            json!({"FunctionName": "f"}),
        ] {
            assert!(Settings::create(&body(bad.clone())).is_err(), "{bad}");
        }
        let large = Settings::create(&body(json!({
            "EventSourceArn": QUEUE, "FunctionName": "f", "BatchSize": 1000,
            "MaximumBatchingWindowInSeconds": 2, "ScalingConfig": {"MaximumConcurrency": 3},
            "FunctionResponseTypes": ["ReportBatchItemFailures"]
        })))
        .unwrap();
        assert_eq!((large.batch_size, large.window_seconds), (1000, 2));
        assert_eq!(large.pollers(), 3);
        assert!(large.report_item_failures);
    }

    #[test]
    fn streams_need_a_starting_position_and_take_their_own_settings() {
        const STREAM: &str = "arn:aws:kinesis:us-east-1:000000000000:stream/clicks";
        const TABLE: &str =
            "arn:aws:dynamodb:us-east-1:000000000000:table/orders/stream/2026-12-04T00:00:00.000";
        let settings = Settings::create(&body(json!({
            "EventSourceArn": STREAM, "FunctionName": "f", "StartingPosition": "LATEST",
            "MaximumRetryAttempts": 3, "MaximumRecordAgeInSeconds": 60,
            "BisectBatchOnFunctionError": true, "ParallelizationFactor": 4,
            "TumblingWindowInSeconds": 120,
            "DestinationConfig": {"OnFailure": {"Destination": "arn:aws:sqs:us-east-1:000000000000:dlq"}}
        })))
        .unwrap();
        assert_eq!(settings.batch_size, 100, "streams' default batch");
        assert_eq!(settings.parallelization_factor, 4);
        assert_eq!(settings.tumbling_window_seconds, 120);
        assert_eq!(settings.starting_position.as_deref(), Some("LATEST"));
        assert_eq!(settings.maximum_retry_attempts, 3);
        assert_eq!(settings.maximum_record_age_seconds, 60);
        assert!(settings.bisect);
        assert!(settings.on_failure.is_some());
        let table = Settings::create(&body(json!({
            "EventSourceArn": TABLE, "FunctionName": "f", "StartingPosition": "TRIM_HORIZON",
            "BatchSize": 500
        })))
        .unwrap();
        assert_eq!(
            table.batch_size, 500,
            "no batching window needed for streams"
        );
        assert_eq!(table.maximum_retry_attempts, -1);
        for bad in [
            json!({"EventSourceArn": STREAM, "FunctionName": "f"}),
            json!({"EventSourceArn": STREAM, "FunctionName": "f", "StartingPosition": "NOW"}),
            json!({"EventSourceArn": STREAM, "FunctionName": "f", "StartingPosition": "AT_TIMESTAMP"}),
            json!({"EventSourceArn": TABLE, "FunctionName": "f", "StartingPosition": "AT_TIMESTAMP", "StartingPositionTimestamp": 1}),
            json!({"EventSourceArn": STREAM, "FunctionName": "f", "StartingPosition": "LATEST", "MaximumRetryAttempts": -2}),
            json!({"EventSourceArn": STREAM, "FunctionName": "f", "StartingPosition": "LATEST", "MaximumRecordAgeInSeconds": 59}),
            json!({"EventSourceArn": STREAM, "FunctionName": "f", "StartingPosition": "LATEST", "ParallelizationFactor": 11}),
            json!({"EventSourceArn": STREAM, "FunctionName": "f", "StartingPosition": "LATEST", "ParallelizationFactor": 0}),
            json!({"EventSourceArn": STREAM, "FunctionName": "f", "StartingPosition": "LATEST", "TumblingWindowInSeconds": 901}),
            json!({"EventSourceArn": QUEUE, "FunctionName": "f", "TumblingWindowInSeconds": 60}),
            json!({"EventSourceArn": STREAM, "FunctionName": "f", "StartingPosition": "LATEST", "ScalingConfig": {"MaximumConcurrency": 2}}),
            json!({"EventSourceArn": STREAM, "FunctionName": "f", "StartingPosition": "LATEST", "DestinationConfig": {"OnFailure": {"Destination": "arn:aws:s3:::bucket"}}}),
            json!({"EventSourceArn": QUEUE, "FunctionName": "f", "StartingPosition": "LATEST"}),
            json!({"EventSourceArn": QUEUE, "FunctionName": "f", "MaximumRetryAttempts": 1}),
            json!({"EventSourceArn": "arn:aws:kinesis:us-east-1:000000000000:clicks", "FunctionName": "f", "StartingPosition": "LATEST"}),
        ] {
            assert!(Settings::create(&body(bad.clone())).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_table_of_the_file_is_the_apis_body_in_snake_case() {
        let table: toml::Table = toml::from_str(
            r#"
            function_name = "worker"
            event_source_arn = "arn:aws:sqs:us-east-1:000000000000:orders"
            batch_size = 100
            maximum_batching_window_in_seconds = 5
            function_response_types = ["ReportBatchItemFailures"]
            filter_criteria = { filters = [{ pattern = '{"body": {"kind": ["order"]}}' }] }
            scaling_config = { maximum_concurrency = 4 }
            event_source_endpoint = "http://127.0.0.1:5000/"
            "#,
        )
        .unwrap();
        let settings = Settings::create(&body_of_table(&table)).unwrap();
        assert_eq!(settings.batch_size, 100);
        assert_eq!(settings.window_seconds, 5);
        assert!(settings.report_item_failures);
        assert_eq!(
            settings.filter_patterns,
            [r#"{"body": {"kind": ["order"]}}"#]
        );
        assert_eq!(settings.maximum_concurrency, Some(4));
        assert_eq!(settings.endpoint.as_deref(), Some("http://127.0.0.1:5000"));
    }

    #[test]
    fn file_mappings_keep_their_uuid() {
        let settings = Settings::create(&body(json!({
            "EventSourceArn": QUEUE, "FunctionName": "worker"
        })))
        .unwrap();
        let uuid = file_uuid(&settings);
        assert_eq!(uuid, file_uuid(&settings.clone()));
        assert!(uuid::Uuid::parse_str(&uuid).is_ok(), "{uuid}");
        let other = Settings {
            function_name: "other".into(),
            ..settings
        };
        assert_ne!(uuid, file_uuid(&other));
    }

    #[test]
    fn backoff_grows_to_a_minute() {
        assert_eq!(backoff(0), Duration::from_millis(500));
        assert_eq!(backoff(1), Duration::from_secs(1));
        assert!(backoff(3) > backoff(2));
        assert_eq!(backoff(30), Duration::from_secs(60));
    }
}
