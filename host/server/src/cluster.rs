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

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use anyhow::{Context as _, Result, bail};
use async_nats::jetstream::consumer::{AckPolicy, PullConsumer, pull};
use async_nats::jetstream::message::PublishMessage;
use async_nats::jetstream::stream::{RetentionPolicy, StorageType};
use async_nats::jetstream::{self, AckKind, Message};
use futures_util::StreamExt as _;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::task::JoinHandle;

use super::queue::{Outcome, QueueCounts, StoredEvent};

/// The JetStream stream that holds accepted `Event` invocations.
pub(crate) const STREAM: &str = "WASM_LAMBDA_EVENTS";
/// The subject events are published on.
pub(crate) const SUBJECT: &str = "wasm-lambda.events";
/// The durable consumer every server pulls from.
pub(crate) const CONSUMER: &str = "wasm-lambda-events";
/// How long a server may hold an event without a sign of life before
/// JetStream gives it to another (`event_ack_wait`).
pub(crate) const DEFAULT_ACK_WAIT: Duration = Duration::from_secs(30);
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

/// The shared `Event` queue, as one server sees it.
pub(crate) struct NatsQueue {
    jetstream: jetstream::Context,
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

impl NatsQueue {
    /// Connects to `servers`, creating the stream and the consumer if no
    /// server has yet. An unreachable NATS is an error here; once connected,
    /// the client reconnects by itself.
    pub(crate) async fn connect(servers: &[String], ack_wait: Duration) -> Result<Arc<Self>> {
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
                    ..Default::default()
                },
            )
            .await
            .with_context(|| format!("failed to open the JetStream consumer {CONSUMER}"))?;
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
        Ok(Arc::new(NatsQueue {
            jetstream,
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

/// An event this server runs: held in JetStream until it is settled.
/// Dropped unsettled, it goes to another server after the ack wait.
pub(crate) struct Held {
    message: Arc<Message>,
    keep_alive: JoinHandle<()>,
    queue: Arc<NatsQueue>,
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
