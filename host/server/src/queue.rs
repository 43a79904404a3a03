//! The durable store behind `Event` invocations.
//!
//! Lambda's asynchronous invocation is at-least-once: an event it accepted
//! (202) runs even if the machine that accepted it fails. Here an event is
//! committed to an embedded database in the server's state folder before its
//! 202 is sent, removed once it has succeeded or gone to its failure
//! destination, and every event still in the store when a server starts (the
//! last one was killed mid-way) runs again.
//!
//! The store is [redb]: pure Rust (no C library to build), ACID, crash-safe
//! by default (a commit is on disk when `commit` returns), and one file. A
//! lock file keeps two servers from sharing a state folder, since each would
//! run the other's events.
//!
//! [redb]: https://docs.rs/redb

use std::fs::File;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::{Context as _, Result, bail};
use redb::{Database, ReadableDatabase, ReadableTable, TableDefinition};
use serde::{Deserialize, Serialize};

use wasm_lambda_core::{CognitoIdentity, InvokeRequest};

/// Events by sequence number; the value is a [`StoredEvent`] as JSON.
const EVENTS: TableDefinition<u64, &[u8]> = TableDefinition::new("events");
/// Counters: the next sequence number and how many events ended each way.
const COUNTERS: TableDefinition<&str, u64> = TableDefinition::new("counters");

const NEXT_ID: &str = "next_id";
const SUCCEEDED: &str = "succeeded";
const FAILED: &str = "failed";

/// An accepted `Event` invocation, as stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct StoredEvent {
    /// The function's name.
    pub(crate) function: String,
    /// The request id its 202 returned.
    pub(crate) request_id: String,
    /// The event (JSON text).
    pub(crate) payload: String,
    /// When it was accepted, in milliseconds since the epoch.
    pub(crate) accepted_ms: u64,
    /// How many times it has run so far.
    pub(crate) attempts: u32,
    /// The X-Ray trace header it came with.
    pub(crate) trace_id: Option<String>,
    /// The client context it came with.
    pub(crate) client_context: Option<String>,
    /// The caller's Cognito identity (id, pool id).
    pub(crate) identity: Option<(String, String)>,
    /// The tenant id it came with.
    #[serde(default)]
    pub(crate) tenant_id: Option<String>,
}

impl StoredEvent {
    /// The stored form of an accepted request.
    pub(crate) fn new(function: &str, request: &InvokeRequest) -> Self {
        StoredEvent {
            function: function.to_string(),
            request_id: request.request_id.clone().unwrap_or_default(),
            payload: String::from_utf8_lossy(&request.payload).into_owned(),
            accepted_ms: now_ms(),
            attempts: 0,
            trace_id: request.trace_id.clone(),
            client_context: request.client_context.clone(),
            identity: request.identity.as_ref().map(|identity| {
                (
                    identity.identity_id.clone(),
                    identity.identity_pool_id.clone(),
                )
            }),
            tenant_id: request.tenant_id.clone(),
        }
    }

    /// The request to run it with: the same request id on every attempt,
    /// as Lambda keeps it.
    pub(crate) fn request(&self, invoked_function_arn: String) -> InvokeRequest {
        InvokeRequest {
            payload: self.payload.clone().into_bytes(),
            request_id: Some(self.request_id.clone()),
            invoked_function_arn: Some(invoked_function_arn),
            trace_id: self.trace_id.clone(),
            identity: self
                .identity
                .clone()
                .map(|(identity_id, identity_pool_id)| CognitoIdentity {
                    identity_id,
                    identity_pool_id,
                }),
            client_context: self.client_context.clone(),
            tenant_id: self.tenant_id.clone(),
            ..InvokeRequest::default()
        }
    }

    /// How long ago it was accepted.
    pub(crate) fn age(&self) -> Duration {
        Duration::from_millis(now_ms().saturating_sub(self.accepted_ms))
    }
}

/// Milliseconds since the epoch, now.
pub(crate) fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |since| since.as_millis() as u64)
}

/// How an event left the store.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Outcome {
    Succeeded,
    Failed,
}

/// What the queue holds, for the admin view.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub struct QueueCounts {
    /// Accepted events that have not run yet.
    pub pending: u64,
    /// Events that failed at least once and will run again.
    pub retrying: u64,
    /// Events that exhausted their retries or their age (since the state
    /// folder was created).
    pub failed: u64,
    /// Events that succeeded (since the state folder was created).
    pub succeeded: u64,
}

/// The event store of one server.
pub(crate) struct EventStore {
    pub(crate) db: Database,
    /// Held (locked) for as long as the store is open.
    _lock: File,
}

impl EventStore {
    /// Opens (or creates) the store in `dir`, private to this user, and
    /// takes the folder's lock.
    pub(crate) fn open(dir: &Path) -> Result<Self> {
        use std::os::unix::fs::DirBuilderExt;
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
            .with_context(|| format!("failed to create the state folder {}", dir.display()))?;
        let lock_path = dir.join("serve.lock");
        let lock = File::create(&lock_path)
            .with_context(|| format!("failed to create {}", lock_path.display()))?;
        // SAFETY: flock on a descriptor this function owns; no memory is shared.
        let locked = unsafe {
            libc::flock(
                std::os::fd::AsRawFd::as_raw_fd(&lock),
                libc::LOCK_EX | libc::LOCK_NB,
            )
        };
        if locked != 0 {
            bail!(
                "the state folder {} is in use by another `wasm-lambda serve`; give each server its own --state-dir",
                dir.display()
            );
        }
        let path = dir.join("events.redb");
        let db = Database::create(&path)
            .with_context(|| format!("failed to open the event store {}", path.display()))?;
        // Create the tables, so that readers find them.
        let write = db.begin_write()?;
        write.open_table(EVENTS)?;
        write.open_table(COUNTERS)?;
        write.commit()?;
        Ok(EventStore { db, _lock: lock })
    }

    /// Stores an accepted event; returns its sequence number. Durable when
    /// this returns.
    pub(crate) fn insert(&self, event: &StoredEvent) -> Result<u64> {
        let write = self.db.begin_write()?;
        let id = {
            let mut counters = write.open_table(COUNTERS)?;
            let id = counters.get(NEXT_ID)?.map_or(0, |value| value.value());
            counters.insert(NEXT_ID, id + 1)?;
            let mut events = write.open_table(EVENTS)?;
            events.insert(id, serde_json::to_vec(event)?.as_slice())?;
            id
        };
        write.commit()?;
        Ok(id)
    }

    /// Records another attempt of event `id`.
    pub(crate) fn update(&self, id: u64, event: &StoredEvent) -> Result<()> {
        let write = self.db.begin_write()?;
        write
            .open_table(EVENTS)?
            .insert(id, serde_json::to_vec(event)?.as_slice())?;
        write.commit()?;
        Ok(())
    }

    /// Removes event `id`, counting how it ended.
    pub(crate) fn remove(&self, id: u64, outcome: Outcome) -> Result<()> {
        let write = self.db.begin_write()?;
        {
            write.open_table(EVENTS)?.remove(id)?;
            let mut counters = write.open_table(COUNTERS)?;
            let key = match outcome {
                Outcome::Succeeded => SUCCEEDED,
                Outcome::Failed => FAILED,
            };
            let count = counters.get(key)?.map_or(0, |value| value.value());
            counters.insert(key, count + 1)?;
        }
        write.commit()?;
        Ok(())
    }

    /// Every stored event, oldest first. An entry that cannot be read (the
    /// store is ours, so only a bug or a damaged disk writes one) is
    /// reported and skipped.
    pub(crate) fn events(&self) -> Result<Vec<(u64, StoredEvent)>> {
        let read = self.db.begin_read()?;
        let table = read.open_table(EVENTS)?;
        let mut events = Vec::new();
        for entry in table.iter()? {
            let (id, value) = entry?;
            match serde_json::from_slice(value.value()) {
                Ok(event) => events.push((id.value(), event)),
                Err(error) => tracing::warn!(
                    "wasm-lambda: skipping unreadable stored event {}: {error}",
                    id.value()
                ),
            }
        }
        Ok(events)
    }

    /// The admin view's counts.
    pub(crate) fn counts(&self) -> Result<QueueCounts> {
        let mut counts = QueueCounts::default();
        for (_, event) in self.events()? {
            if event.attempts == 0 {
                counts.pending += 1;
            } else {
                counts.retrying += 1;
            }
        }
        let read = self.db.begin_read()?;
        let counters = read.open_table(COUNTERS)?;
        counts.failed = counters.get(FAILED)?.map_or(0, |value| value.value());
        counts.succeeded = counters.get(SUCCEEDED)?.map_or(0, |value| value.value());
        Ok(counts)
    }
}

/// Where the server keeps its state by default: `$WASM_LAMBDA_STATE_DIR`,
/// else `$XDG_STATE_HOME/wasm-lambda`, else `~/.local/state/wasm-lambda`,
/// else a folder under the system's temporary directory.
pub fn default_state_dir() -> PathBuf {
    wasm_lambda_core::paths::user_folder(
        "WASM_LAMBDA_STATE_DIR",
        "XDG_STATE_HOME",
        &[".local", "state"],
        "wasm-lambda-state",
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(n: u32) -> StoredEvent {
        StoredEvent {
            function: "f".into(),
            request_id: format!("id-{n}"),
            payload: format!("{{\"n\":{n}}}"),
            accepted_ms: now_ms(),
            attempts: 0,
            trace_id: None,
            client_context: None,
            identity: Some(("id".into(), "pool".into())),
            tenant_id: None,
        }
    }

    #[test]
    fn events_survive_reopening_and_leave_by_outcome() {
        let dir = tempfile::tempdir().unwrap();
        let first;
        {
            let store = EventStore::open(dir.path()).unwrap();
            first = store.insert(&event(1)).unwrap();
            store.insert(&event(2)).unwrap();
            store.insert(&event(3)).unwrap();
            assert!(
                EventStore::open(dir.path()).is_err(),
                "a second server is refused the folder"
            );
        }
        let store = EventStore::open(dir.path()).unwrap();
        let events = store.events().unwrap();
        assert_eq!(events.len(), 3);
        assert_eq!(events[0].0, first);
        assert_eq!(events[0].1.request_id, "id-1");
        assert_eq!(events[2].1.payload, r#"{"n":3}"#);
        let mut retried = events[1].1.clone();
        retried.attempts = 1;
        store.update(events[1].0, &retried).unwrap();
        store.remove(events[0].0, Outcome::Succeeded).unwrap();
        store.remove(events[2].0, Outcome::Failed).unwrap();
        assert_eq!(
            store.counts().unwrap(),
            QueueCounts {
                pending: 0,
                retrying: 1,
                failed: 1,
                succeeded: 1
            }
        );
        let new = store.insert(&event(4)).unwrap();
        assert!(new > events[2].0, "sequence numbers are never reused");
    }
}
