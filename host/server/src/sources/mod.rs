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

use std::collections::BTreeMap;
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

pub(crate) mod filter;
mod sqs;

/// Mappings made through the API, by UUID; the value is [`Settings`] as JSON.
const MAPPINGS: TableDefinition<&str, &[u8]> = TableDefinition::new("event_source_mappings");

/// Lambda's range of `BatchSize` for SQS, and its default.
const SQS_BATCH_SIZES: std::ops::RangeInclusive<u64> = 1..=10_000;
const SQS_DEFAULT_BATCH_SIZE: u32 = 10;
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
        let source = arn.split(':').nth(2).unwrap_or_default();
        if source == "kinesis" || source == "dynamodb" {
            return Err(invalid(&format!(
                "This server polls SQS queues; Kinesis and DynamoDB streams ({arn}) are not supported yet."
            )));
        }
        if QueueArn::parse(arn).is_none() {
            return Err(invalid(&format!(
                "Unrecognized event source: {arn}. An SQS queue's ARN is arn:aws:sqs:REGION:ACCOUNT:NAME."
            )));
        }
        let mut settings = Settings {
            function_name: function.to_string(),
            event_source_arn: arn.to_string(),
            enabled: true,
            batch_size: SQS_DEFAULT_BATCH_SIZE,
            window_seconds: 0,
            report_item_failures: false,
            filter_patterns: Vec::new(),
            maximum_concurrency: None,
            endpoint: None,
        };
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
        if let Some(size) = integer("BatchSize", SQS_BATCH_SIZES)? {
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
        self.tracker.spawn(sqs::run(
            state.clone(),
            uuid.to_string(),
            receiver,
            stop.clone(),
            mapping.last_result.clone(),
        ));
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

    /// The endpoint of the queue's service for `settings`: the mapping's,
    /// the server's, then `AWS_ENDPOINT_URL_SQS` and `AWS_ENDPOINT_URL` as
    /// the AWS SDKs read them, then AWS's own.
    pub(crate) fn endpoint(&self, settings: &Settings, region: &str) -> String {
        let variable = |name: &str| std::env::var(name).ok().filter(|value| !value.is_empty());
        settings
            .endpoint
            .clone()
            .or_else(|| self.default_endpoint.clone())
            .or_else(|| variable("AWS_ENDPOINT_URL_SQS"))
            .or_else(|| variable("AWS_ENDPOINT_URL"))
            .unwrap_or_else(|| format!("https://sqs.{region}.amazonaws.com"))
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

/// Stores (`Some`) or forgets (`None`) an API mapping, off the async threads.
#[allow(clippy::result_large_err)]
async fn persist(
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
                    "An event source mapping with SQS arn (\" {} \") and function (\" {name} \") already exists. Please update or delete the existing mapping with UUID {existing}",
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
    mapping.settings = settings.clone();
    mapping.last_modified = SystemTime::now();
    if settings.enabled {
        match &mapping.poller {
            // The poller reads its settings again before its next poll.
            Some(poller) => {
                poller.settings.send_replace(Arc::new(settings));
            }
            None => state.sources.start(&state, &uuid, mapping),
        }
        mapping.state = "Enabled";
    } else {
        mapping.stop();
        mapping.state = "Disabled";
    }
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

/// A pause that grows with each failure in a row, up to a minute, so that an
/// unreachable queue costs little.
pub(crate) fn backoff(failures: u32) -> Duration {
    Duration::from_millis(500u64.saturating_mul(1 << failures.min(7))).min(Duration::from_secs(60))
}

#[cfg(test)]
mod tests {
    use super::*;

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
            json!({"EventSourceArn": "arn:aws:kinesis:us-east-1:000000000000:stream/s", "FunctionName": "f"}),
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
