//! How a function created or changed through the control plane gets code
//! that serves: its component (from the zip, or built from source),
//! loaded off the request path, and the state that records how it went
//! (`Pending` to `Active` or `Failed`, `InProgress` to `Successful` or
//! `Failed`).

use std::sync::Arc;

use serde_json::{Value, json};

use super::registry::{Entry, Registry};
use super::reply::{persist, revision_id};
use super::{AppState, Deployed};
use wasm_lambda_core::{FunctionConfig, LoadError};

/// The runtimes whose zip holds a component named by `Handler`.
const PROVIDED_RUNTIMES: &[&str] = &["provided.al2023", "provided.al2"];

/// The managed runtimes whose source zips the server builds (with the
/// builder the command line gives it).
const MANAGED_RUNTIMES: &[&str] = &[
    "python3.9",
    "python3.10",
    "python3.11",
    "python3.12",
    "python3.13",
    "python3.14",
    "nodejs18.x",
    "nodejs20.x",
    "nodejs22.x",
    "nodejs24.x",
];

/// Why a function's code could not be made ready, as Lambda reports it.
pub(crate) struct NotLoaded {
    pub(crate) code: &'static str,
    pub(crate) reason: String,
}

/// The component an API function runs: the zip's file that `Handler`
/// names (`provided.*`), or what its source builds to (managed runtimes;
/// kept, so that a restart does not build again).
fn component_of(
    builder: Option<&dyn super::SourceBuilder>,
    registry: &Registry,
    entry: &Entry,
) -> Result<std::path::PathBuf, NotLoaded> {
    let sha = entry.code.as_deref().unwrap_or_default();
    let handler = entry.field("Handler").unwrap_or_default();
    let runtime = entry.field("Runtime").unwrap_or_default();
    let files = registry.files_path(sha);
    if PROVIDED_RUNTIMES.contains(&runtime) {
        let component = files.join(handler);
        if handler.is_empty()
            || std::path::Path::new(handler).is_absolute()
            || handler.split('/').any(|part| part == "..")
            || !component.is_file()
        {
            return Err(NotLoaded {
                code: "FunctionError.InvalidEntryPoint",
                reason: format!(
                    "The handler {handler:?} is not a file of the function's zip: with {runtime} it names the component (.wasm) in the zip."
                ),
            });
        }
        return Ok(component);
    }
    if !MANAGED_RUNTIMES.contains(&runtime) {
        return Err(NotLoaded {
            code: "InvalidRuntime",
            reason: format!(
                "The runtime {runtime} is not supported by this server: it runs {} from source zips, and component zips with provided.al2023 or provided.al2.",
                MANAGED_RUNTIMES.join(", ")
            ),
        });
    }
    let Some(builder) = builder else {
        return Err(NotLoaded {
            code: "InvalidRuntime",
            reason: format!(
                "This server was started without a builder, so it cannot build {runtime} source: deploy a component zip with provided.al2023 (wasm-lambda build, then wasm-lambda package)."
            ),
        });
    };
    let output = registry.build_path(sha, runtime, handler);
    if output.is_file() {
        return Ok(output);
    }
    registry
        .build(sha, &output, |source, built| {
            builder.build(source, runtime, handler, built)
        })
        .map_err(|error| NotLoaded {
            code: "FunctionError.RuntimeInitError",
            reason: format!("The {runtime} build of the function's code failed: {error:#}"),
        })?;
    Ok(output)
}

/// Loads an API function's component from its unpacked code.
pub(crate) fn load_entry(
    host: &wasm_lambda_core::Host,
    builder: Option<&dyn super::SourceBuilder>,
    registry: &Registry,
    region: &str,
    name: &str,
    entry: &Entry,
) -> Result<Deployed, NotLoaded> {
    let handler = entry.field("Handler").unwrap_or_default();
    let component = component_of(builder, registry, entry)?;
    let number = |key: &str| entry.configuration.get(key).and_then(Value::as_u64);
    // A published version (`NAME:N`) runs as its function, reporting N.
    let function_name = name.split(':').next().unwrap_or(name);
    let mut config = FunctionConfig::new(function_name, &component);
    config.handler = Some(handler.to_string());
    if let Some(version) = entry.field("Version") {
        config.version = version.to_string();
    }
    config.region = region.to_string();
    if let Some(memory) = number("MemorySize") {
        config.memory_mb = memory as u32;
    }
    if let Some(timeout) = number("Timeout") {
        config.timeout = std::time::Duration::from_secs(timeout);
    }
    if let Some(size) = entry
        .configuration
        .get("EphemeralStorage")
        .and_then(|storage| storage.get("Size"))
        .and_then(Value::as_u64)
    {
        config.ephemeral_storage_mb = size as u32;
    }
    if let Some(logging) = entry.configuration.get("LoggingConfig") {
        let text = |key: &str| logging.get(key).and_then(Value::as_str);
        if let Some(format) = text("LogFormat").and_then(|format| format.parse().ok()) {
            config.logging.format = format;
        }
        if let Some(level) = text("ApplicationLogLevel").and_then(|level| level.parse().ok()) {
            config.logging.application_level = level;
        }
        if let Some(level) = text("SystemLogLevel").and_then(|level| level.parse().ok()) {
            config.logging.system_level = level;
        }
    }
    if let Some(variables) = entry
        .configuration
        .get("Environment")
        .and_then(|environment| environment.get("Variables"))
        .and_then(Value::as_object)
    {
        config.environment = variables
            .iter()
            .map(|(key, value)| (key.clone(), value.as_str().unwrap_or_default().into()))
            .collect();
    }
    let function = host.load(config).map_err(|error| NotLoaded {
        code: match &error {
            LoadError::Compile { .. } | LoadError::OverPoolLimits { .. } => {
                "FunctionError.RuntimeInitError"
            }
            _ => "FunctionError.InvalidEntryPoint",
        },
        reason: format!("{:#}", anyhow::Error::from(error)),
    })?;
    Ok(super::function_settings::deployed_with(entry, function))
}

/// [`load_entry`] for `name`'s `entry`, off the async threads.
pub(crate) async fn load_off_thread(
    state: &Arc<AppState>,
    name: &str,
    entry: Entry,
) -> Result<Deployed, NotLoaded> {
    let task_state = state.clone();
    let task_name = name.to_string();
    tokio::task::spawn_blocking(move || {
        load_entry(
            &task_state.host,
            task_state.builder.as_deref(),
            &task_state.functions,
            &task_state.region,
            &task_name,
            &entry,
        )
    })
    .await
    .unwrap_or_else(|error| {
        Err(NotLoaded {
            code: "FunctionError.RuntimeInitError",
            reason: error.to_string(),
        })
    })
}

/// Loads the code of `name`'s entry at `generation` and makes it serve,
/// unless a newer change came meanwhile.
pub(crate) async fn activate(state: Arc<AppState>, name: String, generation: u64) {
    let Some(entry) = state.functions.get(&name) else {
        return;
    };
    let previous = entry
        .serving
        .clone()
        .filter(|old| entry.code.as_ref() != Some(old));
    let loaded = load_off_thread(&state, &name, entry).await;
    let mut replaced = None;
    let updated = state.functions.update(&name, |entry| {
        if entry.generation == generation {
            replaced = settle(entry, loaded);
        }
    });
    if updated.is_some() {
        // A version just loaded takes the function's reserved concurrency.
        if let Some((function, _)) = name.split_once(':') {
            super::function_settings::share_concurrency(&state.functions, function);
        }
        let _ = persist(&state, &name).await;
    }
    // The code it replaced ends when its last invocation does; its zip goes
    // once no function uses it.
    drop(replaced);
    if let Some(old) = updated.and(previous) {
        state.functions.forget_code(&old);
    }
}

/// Records how loading an entry's code ended: the new code serves (and
/// the old one is given back), or the state says why it cannot.
pub(crate) fn settle(
    entry: &mut Entry,
    loaded: Result<Deployed, NotLoaded>,
) -> Option<Arc<Deployed>> {
    let creating = entry.field("State") == Some("Pending") || entry.live.is_none();
    let mut replaced = None;
    let before = entry.configuration.clone();
    let configuration = &mut entry.configuration;
    for key in [
        "StateReason",
        "StateReasonCode",
        "LastUpdateStatusReason",
        "LastUpdateStatusReasonCode",
    ] {
        configuration.remove(key);
    }
    match loaded {
        Ok(deployed) => {
            replaced = entry.live.replace(Arc::new(deployed));
            configuration.insert("State".into(), json!("Active"));
            configuration.insert("LastUpdateStatus".into(), json!("Successful"));
            entry.serving = entry.code.clone();
        }
        Err(failure) => {
            if creating {
                configuration.insert("State".into(), json!("Failed"));
                configuration.insert("StateReason".into(), json!(failure.reason));
                configuration.insert("StateReasonCode".into(), json!(failure.code));
            }
            configuration.insert("LastUpdateStatus".into(), json!("Failed"));
            configuration.insert("LastUpdateStatusReason".into(), json!(failure.reason));
            configuration.insert("LastUpdateStatusReasonCode".into(), json!(failure.code));
        }
    }
    // A restart that loads the code as before changes nothing a client sees.
    if *configuration != before {
        configuration.insert("RevisionId".into(), json!(revision_id()));
    }
    replaced
}
