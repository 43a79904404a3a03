//! Swapping the code of a configuration-file function while the server
//! runs (`wasm-lambda serve --watch`).
//!
//! Whoever rebuilt the code loads it ([`Host::load`](wasm_lambda_core::Host::load)
//! compiles and snapshots it) off the request path, then hands the loaded
//! [`Function`] to [`Reloader::replace`]. The swap is one write of the
//! registry entry: an invocation holds the code it started with until it
//! ends, and every invocation that looks the function up afterwards gets
//! the new code. The function keeps its limits across the swap (the same
//! reserved-concurrency permits, `Event` settings and function URL).
//!
//! The configuration the control plane shows follows, as `UpdateFunctionCode`
//! would make it: `LastUpdateStatus` is `InProgress` from [`Reloader::begin`]
//! until the swap (`Successful`, with the new `CodeSha256`, `CodeSize`,
//! `LastModified` and `RevisionId`) or the failure ([`Reloader::fail`]:
//! `Failed` with the reason, the old code still serving), so
//! `aws lambda wait function-updated-v2` waits for a reload.

use std::path::Path;
use std::sync::Arc;

use anyhow::{Result, bail};
use serde_json::{Value, json};

use wasm_lambda_core::Function;

use super::reply::{revision_id, timestamp};
use super::{AppState, Deployed, Server};

/// Replaces the code of the server's configuration-file functions; cheap
/// to clone, usable from any thread.
#[derive(Clone)]
pub struct Reloader {
    state: Arc<AppState>,
}

impl Server {
    /// A handle that swaps the code of this server's configuration-file
    /// functions while it runs.
    pub fn reloader(&self) -> Reloader {
        Reloader {
            state: self.state.clone(),
        }
    }
}

impl Reloader {
    /// Says that new code for `name` is being built: `LastUpdateStatus`
    /// becomes `InProgress`; the current code keeps serving.
    pub fn begin(&self, name: &str) -> Result<()> {
        self.change(name, |configuration| {
            configuration.insert("LastUpdateStatus".into(), json!("InProgress"));
            configuration.insert(
                "LastUpdateStatusReason".into(),
                json!("The function is being updated."),
            );
            configuration.insert("LastUpdateStatusReasonCode".into(), json!("Updating"));
        })
    }

    /// Makes `function`, loaded from `component`, serve as `name`:
    /// invocations that started keep the old code, later ones get this.
    pub fn replace(&self, name: &str, function: Function, component: &Path) -> Result<()> {
        let fields = super::control::component_fields(component)?;
        let mut replaced = None;
        let mut missing = false;
        self.state.functions.update(name, |entry| {
            let Some(old) = entry.live.as_ref() else {
                missing = true;
                return;
            };
            let deployed = Deployed {
                function,
                concurrency: old.concurrency.clone(),
                reserved: old.reserved,
                async_settings: old.async_settings.clone(),
                url_needs_signature: old.url_needs_signature,
                url_streams: old.url_streams,
                recursion_allowed: old.recursion_allowed,
                extensions: old.extensions.clone(),
            };
            replaced = entry.live.replace(Arc::new(deployed));
            entry.generation += 1;
            let configuration = &mut entry.configuration;
            configuration.extend(fields);
            clear_reason(configuration);
            configuration.insert("LastUpdateStatus".into(), json!("Successful"));
            configuration.insert("RevisionId".into(), json!(revision_id()));
        });
        if missing {
            bail!("function {name} has no code serving to replace");
        }
        // The old code ends when its last running invocation lets it go.
        drop(replaced);
        Ok(())
    }

    /// Says that the rebuild of `name` made the code already serving:
    /// `LastUpdateStatus` is `Successful` again, nothing else changes.
    pub fn keep(&self, name: &str) -> Result<()> {
        self.change(name, |configuration| {
            clear_reason(configuration);
            configuration.insert("LastUpdateStatus".into(), json!("Successful"));
        })
    }

    /// Says that the new code for `name` could not be built or loaded:
    /// `LastUpdateStatus` becomes `Failed` with `reason`; the current code
    /// keeps serving.
    pub fn fail(&self, name: &str, reason: &str) -> Result<()> {
        self.change(name, |configuration| {
            clear_reason(configuration);
            configuration.insert("LastUpdateStatus".into(), json!("Failed"));
            configuration.insert("LastUpdateStatusReason".into(), json!(reason));
            configuration.insert(
                "LastUpdateStatusReasonCode".into(),
                json!("FunctionError.RuntimeInitError"),
            );
            configuration.insert(
                "LastModified".into(),
                json!(timestamp(std::time::SystemTime::now())),
            );
            configuration.insert("RevisionId".into(), json!(revision_id()));
        })
    }

    /// Changes the configuration `name` shows.
    fn change(
        &self,
        name: &str,
        change: impl FnOnce(&mut serde_json::Map<String, Value>),
    ) -> Result<()> {
        let updated = self.state.functions.update(name, |entry| {
            change(&mut entry.configuration);
        });
        match updated {
            Some(_) => Ok(()),
            None => bail!("no function {name} is served"),
        }
    }
}

/// Removes the reason of the last update.
fn clear_reason(configuration: &mut serde_json::Map<String, Value>) {
    for key in ["LastUpdateStatusReason", "LastUpdateStatusReasonCode"] {
        configuration.remove(key);
    }
}
