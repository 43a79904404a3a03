//! `Event` invocations as Lambda's asynchronous invocation runs them: stored
//! durably before the 202 (see [`queue`](super::queue)), run in the
//! background, retried after a function error up to the function's
//! `maximum_retry_attempts` with a growing pause, dropped past its
//! `maximum_event_age`, and sent to its `on_failure` destination when they
//! give up.

use std::io::Write as _;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Result, bail};
use serde_json::json;
use tokio::sync::{OwnedSemaphorePermit, mpsc};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use super::AppState;
use super::queue::{EventStore, Outcome, StoredEvent};
use wasm_lambda_core::{Invocation, InvokeError, InvokeRequest};

/// Lambda's default and largest number of retries after a function error.
pub(crate) const MAX_RETRY_ATTEMPTS: u32 = 2;
/// Lambda's range of maximum event ages, in seconds (default: the largest).
pub(crate) const EVENT_AGE_RANGE_SECS: std::ops::RangeInclusive<u64> = 60..=21_600;

/// Where events go that exhaust their retries or their age.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Destination {
    /// Another served function, invoked with Lambda's destination record.
    Function(String),
    /// A file the record is appended to, one JSON object per line.
    File(PathBuf),
}

impl Destination {
    /// Parses `function:NAME` or `file:PATH`.
    pub(crate) fn parse(text: &str) -> Result<Self> {
        match text.split_once(':') {
            Some(("function", name)) if !name.is_empty() => {
                Ok(Destination::Function(name.to_string()))
            }
            Some(("file", path)) if !path.is_empty() => Ok(Destination::File(PathBuf::from(path))),
            _ => bail!("on_failure must be `function:NAME` or `file:PATH`, got {text:?}"),
        }
    }
}

impl std::fmt::Display for Destination {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Destination::Function(name) => write!(f, "function:{name}"),
            Destination::File(path) => write!(f, "file:{}", path.display()),
        }
    }
}

/// A function's asynchronous invocation settings (`PutFunctionEventInvokeConfig`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct AsyncSettings {
    pub(crate) max_retry_attempts: u32,
    pub(crate) max_event_age: Duration,
    pub(crate) on_failure: Option<Destination>,
}

impl Default for AsyncSettings {
    fn default() -> Self {
        AsyncSettings {
            max_retry_attempts: MAX_RETRY_ATTEMPTS,
            max_event_age: Duration::from_secs(*EVENT_AGE_RANGE_SECS.end()),
            on_failure: None,
        }
    }
}

/// Why an event gave up, in the words of Lambda's destination record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum GiveUp {
    RetriesExhausted,
    EventAgeExceeded,
    /// Recursive loop detection stopped it before it ran.
    RecursiveLoop,
}

impl GiveUp {
    fn condition(self) -> &'static str {
        match self {
            GiveUp::RetriesExhausted => "RetriesExhausted",
            GiveUp::EventAgeExceeded => "EventAgeExceeded",
            // Named after the error a synchronous call gets.
            GiveUp::RecursiveLoop => "RecursiveInvocationException",
        }
    }
}

/// What to do with an event after `attempts` runs, the last of which
/// failed: run it again after a pause, or give up.
fn after_failure(
    settings: &AsyncSettings,
    attempts: u32,
    age: Duration,
    retry_delay: Duration,
) -> Result<Duration, GiveUp> {
    if attempts > settings.max_retry_attempts {
        return Err(GiveUp::RetriesExhausted);
    }
    // Lambda waits about one minute, then about two: the pause grows with
    // each attempt.
    let pause = retry_delay.saturating_mul(attempts);
    if age.saturating_add(pause) > settings.max_event_age {
        return Err(GiveUp::EventAgeExceeded);
    }
    Ok(pause)
}

/// Where an event being run is kept until it ends.
pub(crate) enum Ticket {
    /// Its sequence number in the embedded store.
    Stored(u64),
    /// Held in the NATS JetStream queue (`cluster.rs`).
    Nats(super::cluster::Held),
}

/// An event to run: where it is kept, its contents, and its place in this
/// server's bounded queue (for events accepted or pulled by this server),
/// held until it ends.
pub(crate) type Accepted = (Ticket, StoredEvent, Option<OwnedSemaphorePermit>);

/// Runs every stored event (those a previous server left), then every newly
/// accepted one, until `stopping` is cancelled; then starts what the
/// channel still holds and returns. The tasks it starts are on `tracker`.
pub(crate) async fn dispatch(
    state: Arc<AppState>,
    mut accepted: mpsc::UnboundedReceiver<Accepted>,
    tracker: TaskTracker,
    retry_delay: Duration,
    stopping: CancellationToken,
) {
    let store = state.store.clone();
    match tokio::task::spawn_blocking(move || store.events()).await {
        Ok(Ok(stored)) => {
            if !stored.is_empty() {
                tracing::info!(
                    "wasm-lambda: resuming {} stored Event invocations",
                    stored.len()
                );
            }
            for (id, event) in stored {
                tracker.spawn(run(
                    state.clone(),
                    (Ticket::Stored(id), event, None),
                    retry_delay,
                ));
            }
        }
        Ok(Err(error)) => tracing::warn!("wasm-lambda: failed to read the event store: {error:#}"),
        Err(error) => tracing::warn!("wasm-lambda: failed to read the event store: {error}"),
    }
    // With a NATS backend, events come from the shared stream: pulled while
    // this server has room, until it stops. What it has not pulled stays in
    // the stream for the other servers (or for its own next start).
    if let Some(queue) = state.nats.clone() {
        let pulling_state = state.clone();
        let pulling_tracker = tracker.clone();
        tracker.spawn(queue.pull(stopping.clone(), move |held, event, slot| {
            pulling_tracker.spawn(run(
                pulling_state.clone(),
                (Ticket::Nats(held), event, Some(slot)),
                retry_delay,
            ));
        }));
    }
    loop {
        tokio::select! {
            event = accepted.recv() => match event {
                Some(event) => {
                    tracker.spawn(run(state.clone(), event, retry_delay));
                }
                None => return,
            },
            () = stopping.cancelled() => break,
        }
    }
    accepted.close();
    while let Some(event) = accepted.recv().await {
        tracker.spawn(run(state.clone(), event, retry_delay));
    }
}

/// A blocking store operation, off the async threads; a failure is logged,
/// since the event itself goes on (at worst it runs again after a restart).
async fn in_store(
    store: &Arc<EventStore>,
    what: &str,
    operation: impl FnOnce(&EventStore) -> Result<()> + Send + 'static,
) {
    let store = store.clone();
    match tokio::task::spawn_blocking(move || operation(&store)).await {
        Ok(Ok(())) => {}
        Ok(Err(error)) => {
            tracing::warn!("wasm-lambda: failed to {what} in the event store: {error:#}")
        }
        Err(error) => tracing::warn!("wasm-lambda: failed to {what} in the event store: {error}"),
    }
}

/// Settles an event that ended: it leaves where it is kept, counted.
async fn settle(state: &Arc<AppState>, ticket: &Ticket, outcome: Outcome) {
    match ticket {
        Ticket::Stored(id) => {
            let id = *id;
            in_store(&state.store, "remove an event", move |store| {
                store.remove(id, outcome)
            })
            .await;
        }
        Ticket::Nats(held) => held.settle(outcome).await,
    }
}

async fn run(
    state: Arc<AppState>,
    (mut ticket, mut event, _slot): Accepted,
    retry_delay: Duration,
) {
    let name = event.function.clone();
    let request_id = event.request_id.clone();
    let Some(deployed) = state.functions.live(&name) else {
        match &ticket {
            Ticket::Stored(_) => tracing::warn!(
                "wasm-lambda: Event invocation {request_id} is for function {name}, which this server does not serve; it stays stored"
            ),
            Ticket::Nats(held) => {
                tracing::warn!(
                    "wasm-lambda: Event invocation {request_id} is for function {name}, which this server does not serve; it goes back to NATS"
                );
                held.hand_back().await;
            }
        }
        return;
    };
    let settings = &deployed.async_settings;
    let most = settings.max_retry_attempts + 1;
    let arn = super::reply::function_arn(&state, &name);
    loop {
        if event.age() > settings.max_event_age {
            give_up(
                &state,
                settings,
                &ticket,
                &event,
                GiveUp::EventAgeExceeded,
                None,
            )
            .await;
            return;
        }
        // Queued events wait for a slot under the reserved concurrency
        // instead of being throttled.
        let permit = match &deployed.concurrency {
            Some(slots) => slots.clone().acquire_owned().await.ok(),
            None => None,
        };
        event.attempts += 1;
        let attempt = event.attempts;
        let invocation = match deployed.invoke(event.request(arn.clone())).await {
            Ok(invocation) => invocation,
            // Lambda retries a throttled Event invocation until its maximum
            // age, without counting it as an attempt: the function never ran.
            Err(InvokeError::TooManyRequests) => {
                event.attempts -= 1;
                drop(permit);
                tracing::info!(
                    "wasm-lambda: Event invocation {request_id} of {name} was throttled; it waits {retry_delay:?} and tries again"
                );
                tokio::time::sleep(retry_delay).await;
                continue;
            }
            Err(error) => {
                // Accepted events were checked as the Invoke API checks
                // them, so this is a stored event the function refuses.
                tracing::warn!(
                    "wasm-lambda: Event invocation {request_id} of {name} was refused: {}: {error}",
                    error.error_code()
                );
                give_up(
                    &state,
                    settings,
                    &ticket,
                    &event,
                    GiveUp::RetriesExhausted,
                    None,
                )
                .await;
                return;
            }
        };
        let Some(error) = invocation.function_error() else {
            settle(&state, &ticket, Outcome::Succeeded).await;
            tracing::info!(
                "wasm-lambda: Event invocation {request_id} of {name} succeeded on attempt {attempt} of {most}"
            );
            return;
        };
        tracing::warn!(
            "wasm-lambda: Event invocation {request_id} of {name} failed on attempt {attempt} of {most}: {}: {}",
            error.error_type,
            error.error_message
        );
        match after_failure(settings, attempt, event.age(), retry_delay) {
            Ok(pause) => {
                match &mut ticket {
                    Ticket::Stored(id) => {
                        let id = *id;
                        let stored = event.clone();
                        in_store(&state.store, "record an attempt", move |store| {
                            store.update(id, &stored)
                        })
                        .await;
                    }
                    // Held through the pause; a server that takes it over
                    // counts the attempts from JetStream's deliveries.
                    Ticket::Nats(held) => held.failed_once(),
                }
                drop(permit);
                tokio::time::sleep(pause).await;
            }
            Err(reason) => {
                give_up(&state, settings, &ticket, &event, reason, Some(&invocation)).await;
                return;
            }
        }
    }
}

/// Sends a failed event to its function's destination (if any) and removes it.
async fn give_up(
    state: &Arc<AppState>,
    settings: &AsyncSettings,
    ticket: &Ticket,
    event: &StoredEvent,
    reason: GiveUp,
    last: Option<&Invocation>,
) {
    let sent = send_failure(state, settings, event, reason, last).await;
    // Settled in the store before it is said: whoever reads the line finds
    // the event counted as failed.
    settle(state, ticket, Outcome::Failed).await;
    say_given_up(event, reason, &sent);
}

/// The server log's line about an event that gave up.
fn say_given_up(event: &StoredEvent, reason: GiveUp, sent: &str) {
    let (name, request_id) = (&event.function, &event.request_id);
    match reason {
        GiveUp::RetriesExhausted => tracing::warn!(
            "wasm-lambda: Event invocation {request_id} of {name} failed {} times; {sent}",
            event.attempts
        ),
        GiveUp::EventAgeExceeded => tracing::warn!(
            "wasm-lambda: Event invocation {request_id} of {name} is older than its maximum event age; {sent}"
        ),
        GiveUp::RecursiveLoop => tracing::warn!(
            "wasm-lambda: Event invocation {request_id} of {name} was stopped: its chain already ran the function {} times; {sent}",
            super::recursion::MAX_RUNS
        ),
    }
}

/// An `Event` invocation that recursive loop detection stopped
/// (`recursion.rs`): accepted, as Lambda accepts it, never run, and sent to
/// the function's on-failure destination when it has one
/// (`server::a_function_that_invokes_itself_is_stopped_at_the_sixteenth_hop`).
pub(crate) async fn stop_loop(state: Arc<AppState>, settings: AsyncSettings, event: StoredEvent) {
    let sent = send_failure(&state, &settings, &event, GiveUp::RecursiveLoop, None).await;
    say_given_up(&event, GiveUp::RecursiveLoop, &sent);
}

/// Sends the destination record of an event that gave up to the function's
/// on-failure destination, if it has one; says what became of it.
async fn send_failure(
    state: &Arc<AppState>,
    settings: &AsyncSettings,
    event: &StoredEvent,
    reason: GiveUp,
    last: Option<&Invocation>,
) -> String {
    let record = destination_record(state, event, reason, last);
    match &settings.on_failure {
        None => "dropped".to_string(),
        Some(destination) => match send(state, destination, &record).await {
            Ok(()) => format!("sent to {destination}"),
            Err(error) => format!("dropped (sending to {destination} failed: {error:#})"),
        },
    }
}

/// Lambda's destination record for an event that gave up.
fn destination_record(
    state: &AppState,
    event: &StoredEvent,
    reason: GiveUp,
    last: Option<&Invocation>,
) -> serde_json::Value {
    let request_payload: serde_json::Value =
        serde_json::from_str(&event.payload).unwrap_or_else(|_| json!({}));
    let timestamp = humantime::format_rfc3339_millis(std::time::SystemTime::now()).to_string();
    // An event for a published version is stored as `NAME:N`, whose ARN
    // is already qualified.
    let arn = super::reply::function_arn(state, &event.function);
    let qualified = if event.function.contains(':') {
        arn
    } else {
        format!("{arn}:$LATEST")
    };
    let mut record = json!({
        "version": "1.0",
        "timestamp": timestamp,
        "requestContext": {
            "requestId": event.request_id,
            "functionArn": qualified,
            "condition": reason.condition(),
            "approximateInvokeCount": event.attempts,
        },
        "requestPayload": request_payload,
    });
    if let Some(invocation) = last {
        let mut context = json!({ "statusCode": 200, "executedVersion": "$LATEST" });
        if invocation.function_error().is_some() {
            context["functionError"] = json!("Unhandled");
        }
        record["responseContext"] = context;
        record["responsePayload"] = serde_json::from_str(invocation.payload())
            .unwrap_or_else(|_| json!(invocation.payload()));
    }
    record
}

pub(crate) async fn send(
    state: &Arc<AppState>,
    destination: &Destination,
    record: &serde_json::Value,
) -> Result<()> {
    match destination {
        Destination::Function(target) => {
            let Some(deployed) = state.functions.live(target) else {
                bail!("function {target} is not served");
            };
            let request = InvokeRequest::new(record.to_string());
            let invocation = deployed.invoke(request).await?;
            if let Some(error) = invocation.function_error() {
                bail!("{}: {}", error.error_type, error.error_message);
            }
            Ok(())
        }
        Destination::File(path) => {
            let path = path.clone();
            let line = format!("{record}\n");
            tokio::task::spawn_blocking(move || -> Result<()> {
                let mut file = std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(&path)?;
                file.write_all(line.as_bytes())?;
                file.sync_data()?;
                Ok(())
            })
            .await??;
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retries_follow_the_settings_and_the_age() {
        let delay = Duration::from_secs(60);
        let settings = AsyncSettings::default();
        assert_eq!(
            after_failure(&settings, 1, Duration::ZERO, delay),
            Ok(delay)
        );
        assert_eq!(
            after_failure(&settings, 2, Duration::ZERO, delay),
            Ok(2 * delay),
            "the pause grows"
        );
        assert_eq!(
            after_failure(&settings, 3, Duration::ZERO, delay),
            Err(GiveUp::RetriesExhausted)
        );
        let none = AsyncSettings {
            max_retry_attempts: 0,
            ..AsyncSettings::default()
        };
        assert_eq!(
            after_failure(&none, 1, Duration::ZERO, delay),
            Err(GiveUp::RetriesExhausted)
        );
        let short = AsyncSettings {
            max_event_age: Duration::from_secs(90),
            ..AsyncSettings::default()
        };
        assert_eq!(
            after_failure(&short, 1, Duration::from_secs(45), delay),
            Err(GiveUp::EventAgeExceeded),
            "a retry that would start past the age is not made"
        );
    }

    #[test]
    fn destinations_parse() {
        assert_eq!(
            Destination::parse("function:sink").unwrap(),
            Destination::Function("sink".into())
        );
        assert_eq!(
            Destination::parse("file:/tmp/dlq.jsonl").unwrap(),
            Destination::File("/tmp/dlq.jsonl".into())
        );
        for bad in ["sqs:queue", "function:", "dlq.jsonl"] {
            assert!(Destination::parse(bad).is_err(), "{bad}");
        }
    }
}
