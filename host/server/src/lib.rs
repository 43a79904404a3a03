//! `wasm-lambda serve`: a local Lambda that speaks the Invoke API, so boto3,
//! the AWS CLI and the other SDKs work unchanged with `--endpoint-url`.
//!
//! Function logs (`START`, output, `END`, `REPORT`) go to the host's log
//! sink as they are written; `wasm-lambda serve` streams them to stderr.
//!
//! The server does no authentication: requests are accepted with any or no
//! SigV4 signature. It listens on loopback unless told otherwise.
//!
//! This crate owns everything that answers HTTP or keeps state across
//! invocations: the Invoke API (`api.rs`), function URLs and API Gateway
//! routes (`front_door.rs`, with the events made by [`http_event`]),
//! response streaming, and the durable `Event` queue (`queue.rs`,
//! `events.rs`). The control-plane API and event source mappings belong
//! here too. It invokes functions only through `wasm-lambda-core`'s
//! `Function::invoke`, and must not depend on the builders, the runtime or
//! the command line.

use std::future::Future;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context as _, Result};
use axum::serve::ListenerExt as _;
use tokio::net::TcpListener;
use tokio::sync::{Semaphore, mpsc};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use wasm_lambda_core::{Function, Host};

/// In a request handler: the `Ok` value, or the `Err` (the response that
/// refuses the request) returned from the handler, as `?` would in a
/// handler returning `Result<Response, Response>`.
macro_rules! or_answer {
    ($result:expr) => {
        match $result {
            Ok(value) => value,
            Err(response) => return response,
        }
    };
}

mod api;
mod aws;
mod cluster;
mod code_source;
mod config;
mod control;
mod events;
mod extensions;
mod front_door;
mod function_settings;
pub mod http_event;
mod lifecycle;
mod queue;
mod recursion;
mod registry;
mod reload;
mod reply;
mod sources;
mod streaming;
mod telemetry;
mod versions;

pub use config::{DEFAULT_LISTEN, FunctionSpec, ServerConfig, ServerOnly};
pub use front_door::{PayloadFormat, RouteSpec};
pub use queue::{QueueCounts, default_state_dir};
pub use reload::Reloader;

/// Builds components from source zips of Lambda's managed runtimes
/// (`python3.12`, `nodejs22.x`, ...) that the control plane is given. The
/// server does not depend on the builders; the command line hands it one
/// ([`Server::bind_with_builder`]).
pub trait SourceBuilder: Send + Sync {
    /// Builds the handler `handler` (`module.function`) of the source in
    /// `folder` for `runtime` into the component `output`. The folder is a
    /// copy the build may change.
    fn build(&self, folder: &Path, runtime: &str, handler: &str, output: &Path) -> Result<()>;
}

/// The code serving a function, with its limits.
pub(crate) struct Deployed {
    pub(crate) function: Function,
    /// Reserved concurrency: a permit per running invocation.
    pub(crate) concurrency: Option<Arc<Semaphore>>,
    /// The reserved concurrency, as `GetFunction` reports it.
    pub(crate) reserved: Option<u32>,
    /// How its `Event` invocations are retried and where they go on failure.
    pub(crate) async_settings: events::AsyncSettings,
    /// Its function URL needs a SigV4 signature (`url_auth = "AWS_IAM"`).
    pub(crate) url_needs_signature: bool,
    /// Its function URL streams (`invoke_mode = "RESPONSE_STREAM"`).
    pub(crate) url_streams: bool,
    /// It may run in a recursive loop (`recursive_loop = "Allow"`); loops
    /// are stopped otherwise (`recursion.rs`).
    pub(crate) recursion_allowed: bool,
    /// Its external extensions, told of each invocation.
    pub(crate) extensions: Option<Arc<extensions::Extensions>>,
}

impl Deployed {
    /// Runs one invocation of the function, telling its extensions first
    /// (the request then carries the request id, deadline and trace header
    /// they were told).
    pub(crate) async fn invoke(
        &self,
        mut request: wasm_lambda_core::InvokeRequest,
    ) -> Result<wasm_lambda_core::Invocation, wasm_lambda_core::InvokeError> {
        if let Some(extensions) = &self.extensions {
            let config = self.function.config();
            let request_id = request
                .request_id
                .get_or_insert_with(|| uuid::Uuid::new_v4().to_string())
                .clone();
            let trace = request
                .trace_id
                .get_or_insert_with(wasm_lambda_core::new_trace_header)
                .clone();
            let deadline = *request
                .deadline
                .get_or_insert_with(|| std::time::SystemTime::now() + config.timeout);
            let deadline_ms = deadline
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |since| since.as_millis() as u64);
            let arn = request
                .invoked_function_arn
                .clone()
                .unwrap_or_else(|| config.arn());
            extensions.invoke(&request_id, deadline_ms, &arn, &trace);
            if extensions.has_subscriptions() {
                return self
                    .invoke_published(request, extensions, &request_id, &trace)
                    .await;
            }
        }
        self.function.invoke(request).await
    }

    /// Runs an invocation whose records go to Telemetry API subscribers
    /// while it runs: `platform.start` before its first line, a `function`
    /// record per line as the guest writes it, then `platform.runtimeDone`
    /// and `platform.report`
    /// (`extensions::a_telemetry_subscription_gets_each_line_while_the_invocation_runs`).
    /// An invocation refused before it ran (throttled) publishes nothing.
    async fn invoke_published(
        &self,
        mut request: wasm_lambda_core::InvokeRequest,
        extensions: &Arc<extensions::Extensions>,
        request_id: &str,
        trace: &str,
    ) -> Result<wasm_lambda_core::Invocation, wasm_lambda_core::InvokeError> {
        let config = self.function.config();
        let started = telemetry::start_record(
            std::time::SystemTime::now(),
            request_id,
            &config.version,
            trace,
        );
        // `platform.start` goes out once, first: with the first line, or
        // with the end. Each hand-over to the subscriptions is one call.
        let start = Arc::new(std::sync::Mutex::new(Some(started)));
        let with_start = |start: &std::sync::Mutex<Option<telemetry::Record>>,
                          more: Vec<telemetry::Record>| {
            let mut records: Vec<telemetry::Record> = start
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .take()
                .into_iter()
                .collect();
            records.extend(more);
            records
        };
        let tap = {
            let (start, extensions) = (start.clone(), extensions.clone());
            let logging = config.logging;
            move |lines: &[u8]| {
                extensions.publish(&with_start(
                    &start,
                    telemetry::function_records(lines, logging),
                ));
            }
        };
        request.log_tap = Some(wasm_lambda_core::LineTap(Arc::new(tap)));
        let outcome = self.function.invoke(request).await;
        if let Ok(invocation) = &outcome {
            extensions.publish(&with_start(
                &start,
                telemetry::end_records(invocation, trace),
            ));
        }
        outcome
    }
}

/// Loads the components a function's `extension_components` names, each
/// under its file's stem; `Err` says which did not load, and why.
async fn load_extension_components(
    host: &Host,
    spec: &FunctionSpec,
    region: &str,
) -> Result<Vec<Function>, String> {
    let mut loaded = Vec::new();
    for path in spec.server.extension_components.iter().flatten() {
        let name = path.file_stem().map_or_else(
            || "extension".into(),
            |stem| stem.to_string_lossy().into_owned(),
        );
        let mut config = wasm_lambda_core::FunctionConfig::new(&name, path);
        config.region = region.to_string();
        let task_host = host.clone();
        let function = tokio::task::spawn_blocking(move || task_host.load(config))
            .await
            .map_err(|error| {
                format!(
                    "extension component {} did not load: {error}",
                    path.display()
                )
            })?
            .map_err(|error| {
                format!(
                    "extension component {} did not load: {error:#}",
                    path.display()
                )
            })?;
        loaded.push(function);
    }
    Ok(loaded)
}

/// What every request handler shares.
pub(crate) struct AppState {
    /// Every function: the configuration file's and the control plane's.
    pub(crate) functions: registry::Registry,
    /// Loads the code the control plane is given.
    pub(crate) host: Host,
    /// Builds source zips of the managed runtimes, where one was given.
    pub(crate) builder: Option<Arc<dyn SourceBuilder>>,
    pub(crate) region: String,
    /// Where `Code.S3Bucket` objects come from (`s3_endpoint`).
    pub(crate) s3_endpoint: Option<String>,
    /// The API Gateway routes, parsed.
    pub(crate) routes: Vec<front_door::Route>,
    /// Accepted `Event` invocations are stored here before their 202 (with
    /// the embedded backend), as are the control plane's functions and the
    /// event sources' checkpoints.
    pub(crate) store: Arc<queue::EventStore>,
    /// With `backend = "nats://..."`: the shared queue accepted `Event`
    /// invocations are published to instead.
    pub(crate) nats: Option<Arc<cluster::Cluster>>,
    /// Hands stored events to the dispatcher.
    pub(crate) accepted: mpsc::UnboundedSender<events::Accepted>,
    /// Bounds how many accepted events may be waiting or running at once.
    pub(crate) queue_slots: Arc<Semaphore>,
    /// Synchronous invocations running now; a shutdown waits for them.
    pub(crate) in_flight: TaskTracker,
    /// The event source mappings and their pollers.
    pub(crate) sources: sources::Mappings,
}

/// A server bound to its address, ready to run.
pub struct Server {
    listener: TcpListener,
    state: Arc<AppState>,
    accepted: mpsc::UnboundedReceiver<events::Accepted>,
    retry_delay: Duration,
}

/// How many `Event` invocations accepted by one server may wait or run at
/// once; more get `TooManyRequestsException`.
const EVENT_QUEUE_LENGTH: usize = 10_000;

/// After a shutdown signal and the last in-flight invocation, how long
/// connections get to receive their responses before they are dropped. A
/// client that is still sending a request then (half a body, or nothing on
/// an idle keep-alive connection) does not hold the process up.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(1);

impl Server {
    /// Loads every function (compiling or loading cached artifacts) and
    /// binds the listening socket. The control plane takes component zips
    /// (`provided.al2023`) only.
    pub async fn bind(host: &Host, config: &ServerConfig) -> Result<Server> {
        Server::bind_with_builder(host, config, None).await
    }

    /// [`Server::bind`], with a builder for the source zips of the managed
    /// runtimes (`python3.x`, `nodejs*.x`) that `CreateFunction` and
    /// `UpdateFunctionCode` are given.
    pub async fn bind_with_builder(
        host: &Host,
        config: &ServerConfig,
        builder: Option<Arc<dyn SourceBuilder>>,
    ) -> Result<Server> {
        let region = config.region();
        let retry_delay = retry_delay(config.event_retry_delay)?;
        let state_dir = config.state_dir.clone().unwrap_or_else(default_state_dir);
        let nats = match config.backend()? {
            cluster::Backend::Embedded => None,
            cluster::Backend::Nats(servers) => {
                let ack_wait = config.event_ack_wait()?;
                let replicas = config.backend_replicas()?;
                Some(cluster::Cluster::connect(&servers, ack_wait, replicas).await?)
            }
        };
        let store_dir = state_dir.clone();
        let store = tokio::task::spawn_blocking(move || queue::EventStore::open(&store_dir))
            .await
            .context("the store task failed")??;
        let functions = registry::Registry::new(&state_dir);
        for spec in &config.functions {
            let library_config = spec.to_function_config(&region)?;
            let task_host = host.clone();
            let function = tokio::task::spawn_blocking(move || task_host.load(library_config))
                .await
                .context("the loading task failed")?
                .with_context(|| format!("failed to deploy function {}", spec.name))?;
            let executables = spec.extension_executables();
            let mut failed = None;
            let components = match load_extension_components(host, spec, &region).await {
                Ok(components) => components,
                Err(reason) => {
                    failed = Some(reason);
                    Vec::new()
                }
            };
            let extensions =
                if failed.is_some() || (executables.is_empty() && components.is_empty()) {
                    None
                } else {
                    let config = function.config();
                    let launch = extensions::Launch {
                        function_name: spec.name.clone(),
                        function_version: config.version.clone(),
                        handler: config.handler_name(),
                        account_id: config.account_id.clone(),
                        environment: extension_environment(config),
                        executables,
                        init_duration: function.load_info().duration,
                        log_sink: host.log_sink(),
                        components,
                    };
                    match extensions::Extensions::start(launch).await {
                        Ok(started) => Some(Arc::new(started)),
                        Err(reason) => {
                            failed = Some(reason);
                            None
                        }
                    }
                };
            let mut entry = control::file_entry(&region, spec, function, extensions)?;
            if let Some(reason) = failed {
                tracing::error!(
                    "wasm-lambda: function {} failed (FunctionError.ExtensionInitError): {reason}",
                    spec.name
                );
                // As Lambda marks a function whose extension failed its
                // init: Failed, and its invocations refused.
                entry.live = None;
                entry
                    .configuration
                    .insert("State".into(), serde_json::json!("Failed"));
                entry
                    .configuration
                    .insert("StateReason".into(), serde_json::json!(reason));
                entry.configuration.insert(
                    "StateReasonCode".into(),
                    serde_json::json!("FunctionError.ExtensionInitError"),
                );
            }
            if !functions.insert_new(&spec.name, entry) {
                anyhow::bail!("function {} is deployed twice", spec.name);
            }
        }
        // What the control plane created before: loaded again before the
        // server listens, so that it answers at once (from the artifact
        // cache when it holds the code's compiled form).
        let stored = registry::Registry::stored(&store)?;
        let store = Arc::new(store);
        let mut loaded_names = Vec::new();
        for (name, mut entry) in stored {
            if functions.contains(&name) {
                anyhow::bail!(
                    "function {name} is in the configuration and was also created through the API (kept in {}); rename one of them or delete it with DeleteFunction",
                    state_dir.display()
                );
            }
            let task_host = host.clone();
            let task_region = region.clone();
            let task_name = name.clone();
            let code_dir = state_dir.clone();
            let task_builder = builder.clone();
            let loaded = tokio::task::spawn_blocking(move || {
                let registry = registry::Registry::new(&code_dir);
                let loaded = lifecycle::load_entry(
                    &task_host,
                    task_builder.as_deref(),
                    &registry,
                    &task_region,
                    &task_name,
                    &entry,
                );
                lifecycle::settle(&mut entry, loaded);
                entry
            })
            .await
            .context("the loading task failed")?;
            functions.insert_new(&name, loaded);
            loaded_names.push(name.clone());
            let task_store = store.clone();
            let persisted = functions.get(&name);
            tokio::task::spawn_blocking(move || {
                registry::Registry::persist_entry(&task_store, &name, persisted)
            })
            .await
            .context("the store task failed")??;
        }
        // Versions load apart from their function: give each the function's
        // reserved concurrency.
        for name in loaded_names.iter().filter(|name| !name.contains(':')) {
            function_settings::share_concurrency(&functions, name);
        }
        let listen = config
            .listen
            .unwrap_or_else(|| DEFAULT_LISTEN.parse().expect("the default address parses"));
        let listener = TcpListener::bind(listen)
            .await
            .with_context(|| format!("failed to listen on {listen}"))?;
        for (name, entry) in functions.entries() {
            if let Some(deployed) = &entry.live
                && let Some(events::Destination::Function(target)) =
                    &deployed.async_settings.on_failure
                && !functions.contains(target)
            {
                anyhow::bail!(
                    "function {name}: on_failure names function {target}, which is not served"
                );
            }
        }
        let sources = sources::Mappings::new(
            &config.event_sources,
            config.event_source_endpoint.clone(),
            &store,
        )?;
        for name in sources.functions() {
            let (function, _) = reply::parse_function_name(&name);
            if !functions.contains(&function) {
                anyhow::bail!("an event_source names function {name}, which is not served");
            }
        }
        let mut routes = Vec::new();
        for spec in &config.routes {
            if !functions.contains(&spec.function) {
                anyhow::bail!(
                    "route {} {} names function {}, which is not served",
                    spec.method,
                    spec.path,
                    spec.function
                );
            }
            routes.push(front_door::Route::parse(spec.clone())?);
        }
        let (sender, receiver) = mpsc::unbounded_channel();
        Ok(Server {
            listener,
            state: Arc::new(AppState {
                functions,
                host: host.clone(),
                builder,
                region,
                s3_endpoint: config.s3_endpoint.clone(),
                routes,
                store,
                nats,
                accepted: sender,
                queue_slots: Arc::new(Semaphore::new(EVENT_QUEUE_LENGTH)),
                in_flight: TaskTracker::new(),
                sources,
            }),
            accepted: receiver,
            retry_delay,
        })
    }

    /// The address the server listens on.
    pub fn local_addr(&self) -> Result<SocketAddr> {
        Ok(self.listener.local_addr()?)
    }

    /// The names of the deployed functions.
    pub fn function_names(&self) -> Vec<String> {
        self.state.functions.names()
    }

    /// Serves until `shutdown` completes, then stops accepting requests,
    /// lets in-flight invocations finish and drains the queued `Event`
    /// invocations before returning. Connections that are not waiting for
    /// an invocation are closed [`SHUTDOWN_GRACE`] after the last one ends.
    pub async fn run(self, shutdown: impl Future<Output = ()> + Send + 'static) -> Result<()> {
        let tracker = TaskTracker::new();
        let stopping = CancellationToken::new();
        let dispatcher = tokio::spawn(events::dispatch(
            self.state.clone(),
            self.accepted,
            tracker.clone(),
            self.retry_delay,
            stopping.clone(),
        ));
        if let Some(cluster) = self.state.nats.clone() {
            tracker.spawn(
                cluster
                    .clone()
                    .watch_functions(self.state.clone(), stopping.clone()),
            );
            tracker.spawn(cluster.watch_mappings(self.state.clone(), stopping.clone()));
        }
        let in_flight = self.state.in_flight.clone();
        self.state.sources.start_all(&self.state);
        let sources_state = self.state.clone();
        let app = api::router(self.state);
        let signalled = stopping.clone();
        // The caller's address goes into HTTP events (`sourceIp`).
        let app = app.into_make_service_with_connect_info::<SocketAddr>();
        // A streamed response goes out in chunks as the handler writes them:
        // with Nagle's algorithm, a small chunk waits for the client's ACK of
        // the one before, which a delayed ACK can hold back for tens of
        // milliseconds.
        let listener = self.listener.tap_io(|tcp| {
            if let Err(error) = tcp.set_nodelay(true) {
                tracing::debug!("cannot set TCP_NODELAY on a connection: {error}");
            }
        });
        let serve = axum::serve(listener, app).with_graceful_shutdown(async move {
            shutdown.await;
            signalled.cancel();
        });
        let abandon = async {
            stopping.cancelled().await;
            in_flight.close();
            in_flight.wait().await;
            tokio::time::sleep(SHUTDOWN_GRACE).await;
        };
        tokio::select! {
            served = serve => served.context("the server failed")?,
            () = abandon => {}
        }
        // Connections may outlive the server future; the dispatcher stops
        // taking new events on the signal and drains what was accepted.
        stopping.cancel();
        // Pollers end their batches; a long poll in progress is abandoned
        // (what it receives is made visible again).
        sources_state.sources.stop_all().await;
        dispatcher.await.context("the event dispatcher failed")?;
        tracker.close();
        tracker.wait().await;
        // Extensions get SHUTDOWN once no invocation can start, and 2 s.
        let with_extensions: Vec<Arc<extensions::Extensions>> = sources_state
            .functions
            .entries()
            .into_iter()
            .filter_map(|(_, entry)| entry.live.as_ref()?.extensions.clone())
            .collect();
        futures_util::future::join_all(
            with_extensions
                .iter()
                .map(|extensions| extensions.shutdown()),
        )
        .await;
        Ok(())
    }
}

/// The environment of a function's extension processes: Lambda's
/// variables that describe the function, and the function's own.
fn extension_environment(config: &wasm_lambda_core::FunctionConfig) -> Vec<(String, String)> {
    let mut variables = vec![
        ("AWS_REGION".to_string(), config.region.clone()),
        ("AWS_DEFAULT_REGION".to_string(), config.region.clone()),
        ("AWS_LAMBDA_FUNCTION_NAME".to_string(), config.name.clone()),
        (
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE".to_string(),
            config.memory_mb.to_string(),
        ),
        (
            "AWS_LAMBDA_FUNCTION_VERSION".to_string(),
            config.version.clone(),
        ),
        (
            "AWS_LAMBDA_INITIALIZATION_TYPE".to_string(),
            "on-demand".to_string(),
        ),
        ("_HANDLER".to_string(), config.handler_name()),
    ];
    variables.extend(
        config
            .environment
            .iter()
            .map(|(key, value)| (key.clone(), value.clone())),
    );
    variables
}

/// The pause between attempts of a failed `Event` invocation: one second
/// unless the config says otherwise.
fn retry_delay(seconds: Option<f64>) -> Result<Duration> {
    let Some(seconds) = seconds else {
        return Ok(Duration::from_secs(1));
    };
    wasm_lambda_core::duration_from_secs(seconds).with_context(|| {
        format!("event_retry_delay must be a number of seconds from 0 to 2^64, not {seconds:e}")
    })
}

/// What `LogType: Tail` returns: the log's last 4 KB, base64.
pub(crate) fn log_tail(log: &str) -> String {
    let log = log.as_bytes();
    base64_encode(&log[log.len().saturating_sub(LOG_TAIL_BYTES)..])
}

/// How much of the log `X-Amz-Log-Result` carries.
const LOG_TAIL_BYTES: usize = 4096;

pub(crate) fn base64_encode(bytes: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// Resolves once the process is asked to stop (Ctrl-C or SIGTERM).
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = terminate => {},
    }
}
