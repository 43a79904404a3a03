//! The `Event` queue on NATS JetStream (`serve --backend nats://...`), so
//! that several servers share one queue.
//!
//! With the embedded store (`queue.rs`) an event accepted by a server waits
//! for that server; if it dies, the event waits until it starts again. Here
//! an accepted event is published to a JetStream stream before its 202, and
//! every server pulls from one durable consumer of that stream:
//!
//! - The stream ([`STREAM`], subject [`SUBJECT`]) has work-queue retention:
//!   an event leaves it when a server acknowledges it, which a server does
//!   once the event has succeeded or gone to its failure destination (as
//!   the embedded store removes it).
//! - A server holds the events it runs, telling JetStream every third of
//!   the ack wait that it is still working on them (a retry's pause
//!   included). A server that stops telling (killed, or cut off) loses them
//!   after the ack wait, and JetStream gives them to another server.
//! - The event's request id is the message id, so a publish that is retried
//!   within JetStream's duplicate window stores the event once.
//! - An event given again after its server was lost counts the runs it had
//!   as attempts (JetStream's delivery count), so `maximum_retry_attempts`
//!   holds across servers; a run cut short by the loss counts as one.
//! - Each server runs at most [`NODE_EVENT_SLOTS`] events at once and pulls
//!   only when it has room, so events spread over the servers that have it.
//!
//! The stream and the consumer are created by the first server that
//! connects, and kept by JetStream (file storage): a restarted NATS server
//! with the same store directory still has every accepted event.
//!
//! The functions created through the control plane are shared the same way
//! ([`Cluster::share`], [`Cluster::watch_functions`]): each change a server
//! makes is put in the key/value bucket [`FUNCTIONS_BUCKET`] (the entry as
//! the server's own store keeps it, and which server wrote it), code zips in
//! the object store [`CODE_BUCKET`] under their SHA-256, and every server
//! watches the bucket, loading a changed function's code itself (each
//! compiles a given component at most once, into its own artifact cache).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use anyhow::{Context as _, Result, bail};
use async_nats::jetstream::consumer::{AckPolicy, PullConsumer, pull};
use async_nats::jetstream::kv::Operation;
use async_nats::jetstream::message::PublishMessage;
use async_nats::jetstream::stream::{RetentionPolicy, StorageType};
use async_nats::jetstream::{self, AckKind, Message, kv, object_store};
use futures_util::StreamExt as _;
use tokio::io::AsyncReadExt as _;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::task::JoinHandle;

use super::queue::{Outcome, QueueCounts, StoredEvent};
use super::registry::{Entry, Registry};
use super::{AppState, lifecycle};

/// The JetStream stream that holds accepted `Event` invocations.
pub(crate) const STREAM: &str = "WASM_LAMBDA_EVENTS";
/// The subject events are published on.
pub(crate) const SUBJECT: &str = "wasm-lambda.events";
/// The durable consumer every server pulls from.
pub(crate) const CONSUMER: &str = "wasm-lambda-events";
/// How long a server may hold an event without a sign of life before
/// JetStream gives it to another (`event_ack_wait`).
pub(crate) const DEFAULT_ACK_WAIT: Duration = Duration::from_secs(30);
/// The key/value bucket of the functions created through the control plane.
pub(crate) const FUNCTIONS_BUCKET: &str = "wasm-lambda-functions";
/// The key/value bucket of event source mappings' checkpoints, open
/// tumbling windows and shard leases.
pub(crate) const SOURCES_BUCKET: &str = "wasm-lambda-sources";
/// The object store of their code zips, by SHA-256 (hex).
pub(crate) const CODE_BUCKET: &str = "wasm-lambda-code";
/// How many events one server runs at once.
pub(crate) const NODE_EVENT_SLOTS: usize = 64;
/// How many events one pull asks for at most.
const PULL_BATCH: usize = 16;
/// How long a pull waits for events before it is made again.
const PULL_EXPIRES: Duration = Duration::from_secs(1);
/// How long JetStream waits for a publish to be stored before the Invoke
/// API answers 503.
const PUBLISH_TIMEOUT: Duration = Duration::from_secs(3);
/// When this server does not serve an event's function, it hands the event
/// back for this long, for a server that does.
const NOT_SERVED_DELAY: Duration = Duration::from_secs(5);

/// The `backend` setting: where accepted `Event` invocations are kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Backend {
    /// The embedded store in the state folder (`queue.rs`).
    Embedded,
    /// NATS servers (`nats://HOST:PORT`), any of which may be used.
    Nats(Vec<String>),
}

impl Backend {
    /// Parses `embedded` or `nats://HOST:PORT[,HOST:PORT...]` (every
    /// address after the first may leave out `nats://`).
    pub(crate) fn parse(text: &str) -> Result<Self> {
        if text == "embedded" {
            return Ok(Backend::Embedded);
        }
        let Some(rest) = text.strip_prefix("nats://") else {
            bail!("backend must be `embedded` or `nats://HOST:PORT[,HOST:PORT...]`, got {text:?}");
        };
        let mut servers = Vec::new();
        for address in rest.split(',') {
            let address = address.trim();
            let address = address.strip_prefix("nats://").unwrap_or(address);
            if address.is_empty() || address.contains('/') {
                bail!("backend {text:?}: {address:?} is not a HOST:PORT");
            }
            let url = format!("nats://{address}");
            url.parse::<async_nats::ServerAddr>()
                .with_context(|| format!("backend {text:?}: {url} is not a NATS address"))?;
            servers.push(url);
        }
        Ok(Backend::Nats(servers))
    }
}

/// What servers sharing a NATS share, as one server sees it: the `Event`
/// queue and the functions created through the control plane.
pub(crate) struct Cluster {
    jetstream: jetstream::Context,
    functions: kv::Store,
    /// Event source mappings' checkpoints, tumbling windows and leases.
    sources: kv::Store,
    code: object_store::ObjectStore,
    /// This server, in what it writes to the bucket, so that its watch
    /// skips its own changes.
    node: String,
    consumer: PullConsumer,
    ack_wait: Duration,
    /// Room for the events this server runs.
    slots: Arc<Semaphore>,
    /// Events this server settled, each way, since it started.
    succeeded: AtomicU64,
    failed: AtomicU64,
    /// Events this server holds that failed at least once.
    retrying: AtomicU64,
}

impl Cluster {
    /// Connects to `servers`, creating the stream and the consumer if no
    /// server has yet. An unreachable NATS is an error here; once connected,
    /// the client reconnects by itself.
    pub(crate) async fn connect(
        servers: &[String],
        ack_wait: Duration,
        replicas: usize,
    ) -> Result<Arc<Self>> {
        let addresses: Vec<async_nats::ServerAddr> = servers
            .iter()
            .map(|url| url.parse())
            .collect::<Result<_, _>>()?;
        let joined = servers.join(",");
        let client = async_nats::ConnectOptions::new()
            .name("wasm-lambda serve")
            .connection_timeout(Duration::from_secs(5))
            .connect(addresses)
            .await
            .with_context(|| format!("failed to connect to NATS at {joined}"))?;
        let mut jetstream = jetstream::new(client);
        jetstream.set_timeout(PUBLISH_TIMEOUT);
        let stream = jetstream
            .get_or_create_stream(jetstream::stream::Config {
                name: STREAM.to_string(),
                subjects: vec![SUBJECT.to_string()],
                retention: RetentionPolicy::WorkQueue,
                storage: StorageType::File,
                num_replicas: replicas,
                ..Default::default()
            })
            .await
            .with_context(|| {
                format!(
                    "failed to open the JetStream stream {STREAM} at {joined} (is JetStream enabled: `nats-server -js`?)"
                )
            })?;
        let consumer: PullConsumer = stream
            .get_or_create_consumer(
                CONSUMER,
                pull::Config {
                    durable_name: Some(CONSUMER.to_string()),
                    ack_policy: AckPolicy::Explicit,
                    ack_wait,
                    max_deliver: -1,
                    num_replicas: replicas,
                    ..Default::default()
                },
            )
            .await
            .with_context(|| format!("failed to open the JetStream consumer {CONSUMER}"))?;
        let functions = open_bucket(&jetstream, FUNCTIONS_BUCKET, replicas).await?;
        let sources = open_bucket(&jetstream, SOURCES_BUCKET, replicas).await?;
        let code = match jetstream.get_object_store(CODE_BUCKET).await {
            Ok(store) => store,
            Err(_) => jetstream
                .create_object_store(object_store::Config {
                    bucket: CODE_BUCKET.to_string(),
                    storage: StorageType::File,
                    num_replicas: replicas,
                    ..Default::default()
                })
                .await
                .with_context(|| format!("failed to open the NATS object store {CODE_BUCKET}"))?,
        };
        // The first server made the consumer; its ack wait is everyone's.
        let ack_wait = match consumer.cached_info().config.ack_wait {
            shared if shared != ack_wait && !shared.is_zero() => {
                tracing::warn!(
                    "wasm-lambda: the shared event consumer has an ack wait of {shared:?}, not the {ack_wait:?} asked for; it is kept"
                );
                shared
            }
            _ => ack_wait,
        };
        Ok(Arc::new(Cluster {
            jetstream,
            functions,
            sources,
            code,
            node: uuid::Uuid::new_v4().to_string(),
            consumer,
            ack_wait,
            slots: Arc::new(Semaphore::new(NODE_EVENT_SLOTS)),
            succeeded: AtomicU64::new(0),
            failed: AtomicU64::new(0),
            retrying: AtomicU64::new(0),
        }))
    }

    /// Whether the client is connected to NATS now (the readiness probe).
    pub(crate) fn connected(&self) -> bool {
        self.jetstream.client().connection_state() == async_nats::connection::State::Connected
    }

    /// Stores an accepted event; returns once JetStream has it.
    pub(crate) async fn publish(&self, event: &StoredEvent) -> Result<()> {
        let payload = serde_json::to_vec(event)?;
        let publish = PublishMessage::build()
            .payload(payload.into())
            .message_id(&event.request_id);
        self.jetstream
            .send_publish(SUBJECT, publish)
            .await
            .context("failed to publish the event to NATS")?
            .await
            .context("NATS did not store the event")?;
        Ok(())
    }

    /// The admin view: events waiting or held anywhere (`pending`), and
    /// what this server holds or settled.
    pub(crate) async fn counts(&self) -> Result<QueueCounts> {
        let info = self
            .consumer
            .get_info()
            .await
            .context("failed to read the event consumer from NATS")?;
        let retrying = self.retrying.load(Ordering::Relaxed);
        let queued = info.num_pending + info.num_ack_pending as u64;
        Ok(QueueCounts {
            pending: queued.saturating_sub(retrying),
            retrying,
            failed: self.failed.load(Ordering::Relaxed),
            succeeded: self.succeeded.load(Ordering::Relaxed),
        })
    }

    /// Pulls events while this server has room, handing each to `run`
    /// with its slot, until `stopping` is cancelled. Events pulled are
    /// started at once, so none waits unheld.
    pub(crate) async fn pull(
        self: Arc<Self>,
        stopping: tokio_util::sync::CancellationToken,
        mut run: impl FnMut(Held, StoredEvent, OwnedSemaphorePermit),
    ) {
        let mut failures = 0u32;
        loop {
            if stopping.is_cancelled() {
                return;
            }
            let first = tokio::select! {
                permit = self.slots.clone().acquire_owned() => {
                    permit.expect("the slots are never closed")
                }
                () = stopping.cancelled() => return,
            };
            let room = 1 + self.slots.available_permits().min(PULL_BATCH - 1);
            let pulled = tokio::select! {
                pulled = self
                    .consumer
                    .batch()
                    .max_messages(room)
                    .expires(PULL_EXPIRES)
                    .messages() => pulled,
                () = stopping.cancelled() => return,
            };
            let mut batch = match pulled {
                Ok(batch) => batch,
                Err(error) => {
                    failures += 1;
                    // Said once per outage, not once per second.
                    if failures == 1 {
                        tracing::warn!(
                            "wasm-lambda: cannot pull Event invocations from NATS: {error}; trying again every second"
                        );
                    }
                    drop(first);
                    tokio::select! {
                        () = tokio::time::sleep(Duration::from_secs(1)) => continue,
                        () = stopping.cancelled() => return,
                    }
                }
            };
            if failures > 0 {
                tracing::info!("wasm-lambda: pulling Event invocations from NATS again");
                failures = 0;
            }
            let mut first = Some(first);
            while let Some(message) = batch.next().await {
                let message = match message {
                    Ok(message) => message,
                    Err(error) => {
                        tracing::debug!("wasm-lambda: a pull from NATS ended: {error}");
                        break;
                    }
                };
                let permit = match first.take() {
                    Some(permit) => permit,
                    None => self
                        .slots
                        .clone()
                        .acquire_owned()
                        .await
                        .expect("the slots are never closed"),
                };
                if let Some((held, event)) = self.hold(message).await {
                    run(held, event, permit);
                }
            }
        }
    }

    /// Starts holding a pulled event; an unreadable one (only a bug, or
    /// another program publishing on the subject, writes one) is dropped
    /// from the stream.
    async fn hold(self: &Arc<Self>, message: Message) -> Option<(Held, StoredEvent)> {
        let delivered = message.info().map_or(1, |info| info.delivered);
        let mut event: StoredEvent = match serde_json::from_slice(&message.payload) {
            Ok(event) => event,
            Err(error) => {
                tracing::warn!("wasm-lambda: dropping an unreadable event from NATS: {error}");
                if let Err(error) = message.ack_with(AckKind::Term).await {
                    tracing::debug!("wasm-lambda: failed to drop it: {error}");
                }
                return None;
            }
        };
        // Each earlier delivery was a run on a server that was lost.
        let earlier = u32::try_from(delivered.saturating_sub(1)).unwrap_or(u32::MAX);
        if earlier > event.attempts {
            tracing::info!(
                "wasm-lambda: Event invocation {} of {} is given again after its server was lost ({earlier} earlier runs)",
                event.request_id,
                event.function
            );
            event.attempts = earlier;
        }
        let message = Arc::new(message);
        let alive = message.clone();
        let every = self.ack_wait / 3;
        let keep_alive = tokio::spawn(async move {
            loop {
                tokio::time::sleep(every).await;
                if let Err(error) = alive.ack_with(AckKind::Progress).await {
                    tracing::debug!("wasm-lambda: failed to hold an event in NATS: {error}");
                }
            }
        });
        Some((
            Held {
                message,
                keep_alive,
                queue: self.clone(),
                retrying: false,
            },
            event,
        ))
    }
}

/// A key/value bucket, made as the client's `create_key_value` makes it
/// but without the account query before it, whose answer from NATS servers
/// before 2.11 (Debian's is 2.9) the client cannot read.
async fn open_bucket(
    jetstream: &jetstream::Context,
    bucket: &str,
    replicas: usize,
) -> Result<kv::Store> {
    jetstream
        .get_or_create_stream(jetstream::stream::Config {
            name: format!("KV_{bucket}"),
            subjects: vec![format!("$KV.{bucket}.>")],
            max_messages_per_subject: 1,
            storage: StorageType::File,
            allow_rollup: true,
            deny_delete: true,
            allow_direct: true,
            discard: jetstream::stream::DiscardPolicy::New,
            num_replicas: replicas,
            ..Default::default()
        })
        .await
        .with_context(|| format!("failed to open the NATS bucket {bucket}"))?;
    jetstream
        .get_key_value(bucket)
        .await
        .with_context(|| format!("failed to open the NATS bucket {bucket}"))
}

/// A function's entry as the bucket holds it.
#[derive(serde::Serialize, serde::Deserialize)]
struct SharedEntry {
    /// The server that wrote it.
    node: String,
    /// [`Entry::to_json`].
    entry: serde_json::Value,
}

/// A function's (or a published version's, `NAME:N`) key in the bucket:
/// keys have no `:`, and names have no `.`.
fn key_of(name: &str) -> String {
    name.replace(':', ".")
}

fn name_of(key: &str) -> String {
    key.replace('.', ":")
}

/// The configuration keys that say how loading went on one server, which
/// each server finds out for itself.
const LOAD_STATE_KEYS: &[&str] = &[
    "State",
    "StateReason",
    "StateReasonCode",
    "LastUpdateStatus",
    "LastUpdateStatusReason",
    "LastUpdateStatusReasonCode",
    "RevisionId",
];

/// Whether `a` and `b` would load the same: the same code, settings and
/// configuration but for how loading went.
fn loads_the_same(a: &Entry, b: &Entry) -> bool {
    let without_state = |entry: &Entry| {
        let mut configuration = entry.configuration.clone();
        for key in LOAD_STATE_KEYS {
            configuration.remove(*key);
        }
        configuration
    };
    a.serving.is_some()
        && a.serving == b.code
        && a.settings == b.settings
        && without_state(a) == without_state(b)
}

impl Cluster {
    /// Tells the other servers of `name`'s entry as it is now (after a
    /// change through the control plane), or that it is gone (`None`).
    pub(crate) async fn share(&self, name: &str, entry: Option<&Entry>) -> Result<()> {
        let json = entry.and_then(Entry::to_json);
        self.put_shared(&self.functions, &key_of(name), json.as_deref())
            .await
            .with_context(|| format!("failed to share function {name} through NATS"))
    }

    /// Puts `json` under `key` in `bucket`, saying it is this server's
    /// (so that its own watch skips it), or deletes the key (`None`).
    async fn put_shared(&self, bucket: &kv::Store, key: &str, json: Option<&[u8]>) -> Result<()> {
        match json {
            Some(json) => {
                let shared = SharedEntry {
                    node: self.node.clone(),
                    entry: serde_json::from_slice(json)?,
                };
                bucket.put(key, serde_json::to_vec(&shared)?.into()).await?;
            }
            None => bucket.delete(key).await?,
        }
        Ok(())
    }

    /// Puts code `sha` in the object store, unless it is there.
    pub(crate) async fn share_code(&self, sha: &str, zip: &[u8]) -> Result<()> {
        if self.code.info(sha).await.is_ok() {
            return Ok(());
        }
        let mut reader = zip;
        self.code
            .put(sha, &mut reader)
            .await
            .with_context(|| format!("failed to share code {sha} through NATS"))?;
        Ok(())
    }

    /// Code `sha`'s zip, from the object store.
    async fn fetch_code(&self, sha: &str) -> Result<Vec<u8>> {
        let mut object = self
            .code
            .get(sha)
            .await
            .with_context(|| format!("code {sha} is not in NATS"))?;
        let mut zip = Vec::new();
        object
            .read_to_end(&mut zip)
            .await
            .with_context(|| format!("failed to read code {sha} from NATS"))?;
        Ok(zip)
    }

    /// Follows the functions' bucket from its current contents on,
    /// applying what other servers changed, until the server stops.
    pub(crate) async fn watch_functions(
        self: Arc<Self>,
        state: Arc<AppState>,
        stopping: tokio_util::sync::CancellationToken,
    ) {
        let mut changes = Follower::new(&self.functions, ">", "functions");
        while let Some(change) = changes.next(&stopping).await {
            let name = name_of(&change.key);
            let applied = match change.operation {
                Operation::Put => self.apply(&state, &name, &change.value).await,
                Operation::Delete | Operation::Purge => {
                    forget(&state, &name).await;
                    Ok(())
                }
            };
            if let Err(error) = applied {
                tracing::warn!(
                    "wasm-lambda: failed to apply another server's change to function {name}: {error:#}"
                );
            }
        }
    }

    /// Tells the other servers of an event source mapping made or changed
    /// through the API (its settings as the server's store keeps them), or
    /// that it is gone (`None`).
    pub(crate) async fn share_mapping(&self, uuid: &str, settings: Option<&[u8]>) -> Result<()> {
        self.put_shared(&self.sources, &format!("mapping.{uuid}"), settings)
            .await
            .with_context(|| format!("failed to share mapping {uuid} through NATS"))
    }

    /// Follows the mappings other servers make, change and delete through
    /// the API, until the server stops.
    pub(crate) async fn watch_mappings(
        self: Arc<Self>,
        state: Arc<AppState>,
        stopping: tokio_util::sync::CancellationToken,
    ) {
        let mut changes = Follower::new(&self.sources, "mapping.>", "event source mappings");
        while let Some(change) = changes.next(&stopping).await {
            let uuid = change.key.trim_start_matches("mapping.").to_string();
            let settings = match change.operation {
                Operation::Put => match serde_json::from_slice::<SharedEntry>(&change.value) {
                    Ok(shared) if shared.node == self.node => continue,
                    Ok(shared) => Some(shared.entry),
                    Err(error) => {
                        tracing::warn!("wasm-lambda: unreadable shared mapping {uuid}: {error}");
                        continue;
                    }
                },
                Operation::Delete | Operation::Purge => None,
            };
            super::sources::apply_shared(&state, &uuid, settings).await;
        }
    }

    /// Makes `name` serve what another server's change says: its code
    /// fetched if this server lacks it, loaded here unless what serves
    /// here already loads the same.
    async fn apply(&self, state: &Arc<AppState>, name: &str, value: &[u8]) -> Result<()> {
        let shared: SharedEntry = serde_json::from_slice(value)?;
        if shared.node == self.node {
            return Ok(());
        }
        let mut incoming = Entry::from_json(&serde_json::to_vec(&shared.entry)?)?;
        let local = state.functions.get(name);
        if let Some(local) = &local {
            if !local.made_by_api() {
                anyhow::bail!("this server has a function {name} from its configuration file");
            }
            if loads_the_same(local, &incoming) {
                // Only what another server decided (tags, aliases, the
                // revision) changes; how loading went stays this server's.
                state.functions.update(name, |entry| {
                    let mut configuration = incoming.configuration.clone();
                    for key in LOAD_STATE_KEYS.iter().filter(|key| **key != "RevisionId") {
                        match entry.configuration.get(*key) {
                            Some(value) => configuration.insert(key.to_string(), value.clone()),
                            None => configuration.remove(*key),
                        };
                    }
                    entry.configuration = configuration;
                    entry.tags = incoming.tags.clone();
                    entry.aliases = incoming.aliases.clone();
                    entry.next_version = incoming.next_version;
                    entry.changed_since_publish = incoming.changed_since_publish;
                });
                return persist_here(state, name).await;
            }
        }
        let sha = incoming.code.clone().unwrap_or_default();
        if !state.functions.files_path(&sha).is_dir() {
            let zip = self.fetch_code(&sha).await?;
            let task_state = state.clone();
            let task_sha = sha.clone();
            tokio::task::spawn_blocking(move || task_state.functions.store_code(&zip, &task_sha))
                .await?
                .map_err(|error| anyhow::anyhow!("failed to keep code {sha}: {error:?}"))?;
        }
        let loaded = lifecycle::load_off_thread(state, name, incoming.clone()).await;
        // `incoming` serves nothing yet: there is no code for settle to
        // give back (what served here goes when the entry is replaced).
        lifecycle::settle(&mut incoming, loaded);
        let previous = local.as_ref().and_then(|local| local.serving.clone());
        incoming.generation = local.as_ref().map_or(0, |local| local.generation + 1);
        if state
            .functions
            .update(name, |entry| *entry = incoming.clone())
            .is_none()
        {
            state.functions.insert_new(name, incoming);
        }
        // A version takes its function's reserved concurrency, and a
        // function's versions take its new one.
        let function = name.split(':').next().unwrap_or(name);
        super::function_settings::share_concurrency(&state.functions, function);
        if let Some(old) = previous.filter(|old| *old != sha) {
            state.functions.forget_code(&old);
        }
        tracing::info!("wasm-lambda: function {name} changed on another server; serving it here");
        persist_here(state, name).await
    }
}

impl Cluster {
    /// A value of the event sources' bucket (`checkpoint/UUID/SHARD`,
    /// `window/UUID/SHARD/LANE`).
    pub(crate) async fn source_value(&self, key: &str) -> Result<Option<String>> {
        let value = self
            .sources
            .get(key)
            .await
            .with_context(|| format!("failed to read {key} from NATS"))?;
        Ok(value.map(|bytes| String::from_utf8_lossy(&bytes).into_owned()))
    }

    /// Sets (or, with `None`, deletes) a value of the event sources' bucket.
    pub(crate) async fn set_source_value(&self, key: &str, value: Option<&str>) -> Result<()> {
        match value {
            Some(value) => {
                self.sources
                    .put(key, value.to_string().into())
                    .await
                    .with_context(|| format!("failed to write {key} to NATS"))?;
            }
            None => self
                .sources
                .delete(key)
                .await
                .with_context(|| format!("failed to delete {key} from NATS"))?,
        }
        Ok(())
    }

    /// Deletes every value of the event sources' bucket under `prefix`.
    pub(crate) async fn forget_source_values(&self, prefix: &str) -> Result<()> {
        let mut keys = self
            .sources
            .keys()
            .await
            .context("failed to list the event sources' values in NATS")?;
        let mut doomed = Vec::new();
        while let Some(key) = keys.next().await {
            let key = key.context("failed to list the event sources' values in NATS")?;
            if key.starts_with(prefix) {
                doomed.push(key);
            }
        }
        for key in doomed {
            self.set_source_value(&key, None).await?;
        }
        Ok(())
    }

    /// Waits until this server holds the lease `key` (one poller per
    /// stream shard across the servers), or `stop` is cancelled (`None`).
    /// The lease is renewed every third of `event_ack_wait` and lapses after
    /// it: a server lost while holding one gives it up that long after its
    /// last renewal. The lease's `stop` is a child of `stop`, cancelled when
    /// the lease is lost.
    pub(crate) async fn lease(
        self: &Arc<Self>,
        key: &str,
        stop: &tokio_util::sync::CancellationToken,
    ) -> Option<Lease> {
        let mut said = false;
        loop {
            let held = self.try_lease(key).await;
            match held {
                Ok(Some(revision)) => {
                    return Some(Lease::start(self.clone(), key.to_string(), revision, stop));
                }
                Ok(None) => {
                    if !said {
                        tracing::info!(
                            "wasm-lambda: another server holds {key}; this one waits for it"
                        );
                        said = true;
                    }
                }
                Err(error) => tracing::debug!("wasm-lambda: failed to take {key}: {error:#}"),
            }
            tokio::select! {
                () = tokio::time::sleep(self.ack_wait / 3) => {}
                () = stop.cancelled() => return None,
            }
        }
    }

    /// Takes the lease `key` if it is free, lapsed or already this
    /// server's: its new revision, or `None` while another server holds it.
    async fn try_lease(&self, key: &str) -> Result<Option<u64>> {
        let value = self.lease_value()?;
        match self.sources.entry(key).await? {
            Some(entry) if entry.operation == Operation::Put => {
                let holder: LeaseValue = serde_json::from_slice(&entry.value)?;
                if holder.node != self.node && holder.until_ms > super::queue::now_ms() {
                    return Ok(None);
                }
                Ok(self.sources.update(key, value, entry.revision).await.ok())
            }
            _ => Ok(self.sources.create(key, value).await.ok()),
        }
    }

    fn lease_value(&self) -> Result<bytes::Bytes> {
        let value = LeaseValue {
            node: self.node.clone(),
            until_ms: super::queue::now_ms() + self.ack_wait.as_millis() as u64,
        };
        Ok(serde_json::to_vec(&value)?.into())
    }
}

/// Who holds a lease, and until when (milliseconds since the epoch, by the
/// holder's clock: servers' clocks should agree to well within
/// `event_ack_wait`).
#[derive(serde::Serialize, serde::Deserialize)]
struct LeaseValue {
    node: String,
    until_ms: u64,
}

/// A lease this server holds, renewed until it is dropped (then freed at
/// once) or lost.
pub(crate) struct Lease {
    /// Cancelled when the lease is lost (or its parent token is).
    pub(crate) stop: tokio_util::sync::CancellationToken,
    renewing: JoinHandle<()>,
    cluster: Arc<Cluster>,
    key: String,
}

impl Lease {
    fn start(
        cluster: Arc<Cluster>,
        key: String,
        mut revision: u64,
        parent: &tokio_util::sync::CancellationToken,
    ) -> Lease {
        let stop = parent.child_token();
        let lost = stop.clone();
        let renewer = cluster.clone();
        let renewed_key = key.clone();
        let renewing = tokio::spawn(async move {
            let mut held_until = tokio::time::Instant::now() + renewer.ack_wait;
            loop {
                tokio::time::sleep(renewer.ack_wait / 3).await;
                let renewed = match renewer.lease_value() {
                    Ok(value) => renewer.sources.update(&renewed_key, value, revision).await,
                    Err(_) => continue,
                };
                match renewed {
                    Ok(next) => {
                        revision = next;
                        held_until = tokio::time::Instant::now() + renewer.ack_wait;
                    }
                    Err(error) => {
                        // Another server's write (the lease lapsed and was
                        // taken), or NATS out of reach until the lease ran
                        // out: either way, stop polling.
                        let taken = error.kind() == kv::UpdateErrorKind::WrongLastRevision;
                        if taken || tokio::time::Instant::now() >= held_until {
                            tracing::warn!(
                                "wasm-lambda: lost {renewed_key} ({error}); its poller stops"
                            );
                            lost.cancel();
                            return;
                        }
                    }
                }
            }
        });
        Lease {
            stop,
            renewing,
            cluster,
            key,
        }
    }
}

impl Drop for Lease {
    fn drop(&mut self) {
        self.renewing.abort();
        // Freed at once, so that another server need not wait for it to
        // lapse; a lease another server took is left alone.
        let cluster = self.cluster.clone();
        let key = self.key.clone();
        if let Ok(handle) = tokio::runtime::Handle::try_current() {
            handle.spawn(async move {
                if let Ok(Some(entry)) = cluster.sources.entry(&key).await
                    && let Ok(holder) = serde_json::from_slice::<LeaseValue>(&entry.value)
                    && holder.node == cluster.node
                {
                    let _ = cluster.sources.delete(&key).await;
                }
            });
        }
    }
}

/// Follows the keys of a bucket that match a filter, from their current
/// values on; a watch that fails (NATS lost) is made again, from the
/// current values.
struct Follower<'a> {
    store: &'a kv::Store,
    filter: &'a str,
    what: &'a str,
    watch: Option<kv::Watch>,
}

impl<'a> Follower<'a> {
    fn new(store: &'a kv::Store, filter: &'a str, what: &'a str) -> Self {
        Follower {
            store,
            filter,
            what,
            watch: None,
        }
    }

    /// The next change, or `None` once `stopping` is cancelled.
    async fn next(&mut self, stopping: &tokio_util::sync::CancellationToken) -> Option<kv::Entry> {
        loop {
            let Some(watch) = self.watch.as_mut() else {
                let made = tokio::select! {
                    made = self.store.watch_with_history(self.filter) => made,
                    () = stopping.cancelled() => return None,
                };
                match made {
                    Ok(watch) => self.watch = Some(watch),
                    Err(error) => {
                        tracing::warn!(
                            "wasm-lambda: cannot follow the shared {} in NATS: {error}; trying again",
                            self.what
                        );
                        tokio::select! {
                            () = tokio::time::sleep(Duration::from_secs(1)) => {}
                            () = stopping.cancelled() => return None,
                        }
                    }
                }
                continue;
            };
            let change = tokio::select! {
                change = watch.next() => change,
                () = stopping.cancelled() => return None,
            };
            match change {
                Some(Ok(change)) => return Some(change),
                Some(Err(error)) => {
                    tracing::warn!(
                        "wasm-lambda: the watch of shared {} failed: {error}",
                        self.what
                    );
                    self.watch = None;
                }
                None => self.watch = None,
            }
        }
    }
}

/// Keeps `name`'s entry in this server's own store (so that it serves it
/// after a restart even before NATS answers), without sharing it again.
async fn persist_here(state: &Arc<AppState>, name: &str) -> Result<()> {
    let task_state = state.clone();
    let name = name.to_string();
    tokio::task::spawn_blocking(move || task_state.functions.persist(&task_state.store, &name))
        .await?
}

/// Another server deleted `name`: it goes here too.
async fn forget(state: &Arc<AppState>, name: &str) {
    let Some(entry) = state.functions.get(name) else {
        return;
    };
    if !entry.made_by_api() {
        return;
    }
    let task_state = state.clone();
    let task_name = name.to_string();
    let removed =
        tokio::task::spawn_blocking(move || Registry::unpersist(&task_state.store, &task_name))
            .await;
    if !matches!(removed, Ok(Ok(()))) {
        tracing::warn!("wasm-lambda: failed to delete function {name} from this server's store");
    }
    state.functions.remove_with_code(name);
    tracing::info!("wasm-lambda: function {name} was deleted on another server; deleted here");
}

/// An event this server runs: held in JetStream until it is settled.
/// Dropped unsettled, it goes to another server after the ack wait.
pub(crate) struct Held {
    message: Arc<Message>,
    keep_alive: JoinHandle<()>,
    queue: Arc<Cluster>,
    retrying: bool,
}

impl Held {
    /// The event failed an attempt and will run again.
    pub(crate) fn failed_once(&mut self) {
        if !self.retrying {
            self.retrying = true;
            self.queue.retrying.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// The event ended: it leaves the stream (acknowledged, and the ack
    /// confirmed). If the ack is lost, it runs again elsewhere: Lambda's
    /// asynchronous invocation is at-least-once too.
    pub(crate) async fn settle(&self, outcome: Outcome) {
        self.keep_alive.abort();
        let mut result = self.message.double_ack().await;
        if result.is_err() {
            tokio::time::sleep(Duration::from_millis(200)).await;
            result = self.message.double_ack().await;
        }
        if let Err(error) = result {
            tracing::warn!(
                "wasm-lambda: failed to settle an event in NATS ({error}); it may run again"
            );
        }
        let counter = match outcome {
            Outcome::Succeeded => &self.queue.succeeded,
            Outcome::Failed => &self.queue.failed,
        };
        counter.fetch_add(1, Ordering::Relaxed);
    }

    /// This server does not serve the event's function: give it back, for
    /// a server that does.
    pub(crate) async fn hand_back(&self) {
        self.keep_alive.abort();
        if let Err(error) = self
            .message
            .ack_with(AckKind::Nak(Some(NOT_SERVED_DELAY)))
            .await
        {
            tracing::debug!("wasm-lambda: failed to hand an event back to NATS: {error}");
        }
    }
}

impl Drop for Held {
    fn drop(&mut self) {
        self.keep_alive.abort();
        if self.retrying {
            self.queue.retrying.fetch_sub(1, Ordering::Relaxed);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backends_parse() {
        assert_eq!(Backend::parse("embedded").unwrap(), Backend::Embedded);
        assert_eq!(
            Backend::parse("nats://127.0.0.1:4222").unwrap(),
            Backend::Nats(vec!["nats://127.0.0.1:4222".into()])
        );
        assert_eq!(
            Backend::parse("nats://a:4222,b:4223, nats://c:4224").unwrap(),
            Backend::Nats(vec![
                "nats://a:4222".into(),
                "nats://b:4223".into(),
                "nats://c:4224".into()
            ])
        );
        for bad in ["redis://x:1", "nats://", "nats://a:1,", "nats://a:1/x", ""] {
            assert!(Backend::parse(bad).is_err(), "{bad}");
        }
    }
}
