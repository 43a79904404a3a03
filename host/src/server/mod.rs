//! `wasm-lambda serve`: a local Lambda that speaks the Invoke API, so boto3,
//! the AWS CLI and the other SDKs work unchanged with `--endpoint-url`.
//!
//! Function logs (`START`, output, `END`, `REPORT`) go to the host's log
//! sink as they are written; `wasm-lambda serve` streams them to stderr.
//!
//! The server does no authentication: requests are accepted with any or no
//! SigV4 signature. It listens on loopback unless told otherwise.

use std::collections::BTreeMap;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use anyhow::{Context as _, Result};
use tokio::net::TcpListener;
use tokio::sync::{Semaphore, mpsc};
use tokio_util::task::TaskTracker;

use crate::function::Function;
use crate::host::Host;

mod api;
mod config;
mod events;

pub use config::{DEFAULT_LISTEN, FunctionSpec, ServerConfig};

/// A deployed function with its limits and what `GetFunction` reports.
pub(crate) struct Deployed {
    pub(crate) function: Function,
    /// Reserved concurrency: a permit per running invocation.
    pub(crate) concurrency: Option<Arc<Semaphore>>,
    pub(crate) code_size: u64,
    pub(crate) code_sha256: String,
    pub(crate) last_modified: SystemTime,
}

/// What every request handler shares.
pub(crate) struct AppState {
    pub(crate) functions: BTreeMap<String, Deployed>,
    pub(crate) region: String,
    pub(crate) events: mpsc::Sender<events::QueuedEvent>,
}

/// A server bound to its address, ready to run.
pub struct Server {
    listener: TcpListener,
    state: Arc<AppState>,
    events: mpsc::Receiver<events::QueuedEvent>,
    retry_delay: Duration,
}

/// How many `Event` invocations may wait in the queue.
const EVENT_QUEUE_LENGTH: usize = 10_000;

impl Server {
    /// Loads every function (compiling or loading cached artifacts) and
    /// binds the listening socket.
    pub async fn bind(host: &Host, config: &ServerConfig) -> Result<Server> {
        let region = config.region();
        let mut functions = BTreeMap::new();
        for spec in &config.functions {
            let library_config = spec.to_function_config(&region)?;
            let host = host.clone();
            let function = tokio::task::spawn_blocking(move || host.load(library_config))
                .await
                .context("the loading task failed")?
                .with_context(|| format!("failed to deploy function {}", spec.name))?;
            let metadata = std::fs::metadata(&spec.component)?;
            let bytes = std::fs::read(&spec.component)?;
            let deployed = Deployed {
                function,
                concurrency: spec
                    .reserved_concurrency
                    .map(|limit| Arc::new(Semaphore::new(limit as usize))),
                code_size: metadata.len(),
                code_sha256: base64_encode(blake3::hash(&bytes).as_bytes()),
                last_modified: metadata.modified().unwrap_or_else(|_| SystemTime::now()),
            };
            if functions.insert(spec.name.clone(), deployed).is_some() {
                anyhow::bail!("function {} is deployed twice", spec.name);
            }
        }
        let listen = config
            .listen
            .unwrap_or_else(|| DEFAULT_LISTEN.parse().expect("the default address parses"));
        let listener = TcpListener::bind(listen)
            .await
            .with_context(|| format!("failed to listen on {listen}"))?;
        let (sender, receiver) = mpsc::channel(EVENT_QUEUE_LENGTH);
        Ok(Server {
            listener,
            state: Arc::new(AppState {
                functions,
                region,
                events: sender,
            }),
            events: receiver,
            retry_delay: Duration::from_secs_f64(config.event_retry_delay.unwrap_or(1.0).max(0.0)),
        })
    }

    /// The address the server listens on.
    pub fn local_addr(&self) -> Result<SocketAddr> {
        Ok(self.listener.local_addr()?)
    }

    /// The names of the deployed functions.
    pub fn function_names(&self) -> Vec<String> {
        self.state.functions.keys().cloned().collect()
    }

    /// Serves until `shutdown` completes, then stops accepting requests,
    /// lets in-flight invocations finish and drains the queued `Event`
    /// invocations before returning.
    pub async fn run(self, shutdown: impl Future<Output = ()> + Send + 'static) -> Result<()> {
        let tracker = TaskTracker::new();
        let dispatcher = tokio::spawn(events::dispatch(
            self.events,
            tracker.clone(),
            self.retry_delay,
        ));
        let app = api::router(self.state);
        axum::serve(self.listener, app)
            .with_graceful_shutdown(shutdown)
            .await
            .context("the server failed")?;
        // The router (and with it the queue's sender) is gone: the
        // dispatcher ends once the queue is empty.
        dispatcher.await.context("the event dispatcher failed")?;
        tracker.close();
        tracker.wait().await;
        Ok(())
    }
}

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
