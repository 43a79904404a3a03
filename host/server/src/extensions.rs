//! Lambda's Extensions API for external extensions: processes that run
//! beside a function, as Lambda runs the executables of a layer's
//! `extensions/` folder, and learn of each of its invocations and of the
//! server's shutdown.
//!
//! Each function with extensions gets its own Extensions API on a loopback
//! port, named to its extension processes by `AWS_LAMBDA_RUNTIME_API`:
//! - `POST /2020-01-01/extension/register` (`Lambda-Extension-Name`, body
//!   `{"events": ["INVOKE", "SHUTDOWN"]}`) answers with the extension's
//!   `Lambda-Extension-Identifier` and the function's name, version and
//!   handler;
//! - `GET /2020-01-01/extension/event/next` waits for the extension's next
//!   event: `INVOKE` (`requestId`, `deadlineMs`, `invokedFunctionArn`,
//!   `tracing`) for every invocation of the function, and `SHUTDOWN`
//!   (`shutdownReason` `spindown`, `deadlineMs` 2,000 ms on) when the server
//!   stops;
//! - `POST /2020-01-01/extension/init/error` and `/exit/error` report an
//!   extension's failure.
//!
//! The function's init waits for every extension to register and ask for
//! its first event, as Lambda's init phase does (10 s at most); an
//! extension that exits first, reports an init error or does not finish
//! in time fails the function with `FunctionError.ExtensionInitError`.
//!
//! As on Lambda, what an extension writes to stdout and stderr belongs to
//! its function's log: each line goes to the server's function log and to
//! the Telemetry API's subscribers of `extension` records. Each registered
//! extension is announced with a `platform.extension` record. Extension
//! processes die with the server (`PR_SET_PDEATHSIG`), so a server killed
//! without its shutdown leaves none behind.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::{Value, json};
use tokio::sync::mpsc;

use super::telemetry::{self, Destination, Schema, Subscription};

/// How long the function's init waits for its extensions, as Lambda's init
/// phase is limited.
const INIT_LIMIT: Duration = Duration::from_secs(10);

/// How long extensions have after `SHUTDOWN`, as on Lambda.
const SHUTDOWN_BUDGET: Duration = Duration::from_millis(2000);

/// Events waiting for an extension that does not ask for them; beyond it
/// they are dropped, so a stuck extension cannot grow the server's memory.
const QUEUED_EVENTS: usize = 1024;

const ID_HEADER: &str = "lambda-extension-identifier";

/// The longest extension log line kept as one record (the Telemetry API's
/// smallest `maxBytes`); a longer one, or output with no line end, is cut
/// into records of this size rather than held in memory.
const LINE_LIMIT: u64 = 256 * 1024;

/// One registered extension.
struct Registered {
    name: String,
    events: Vec<String>,
    sender: mpsc::Sender<Value>,
    receiver: tokio::sync::Mutex<mpsc::Receiver<Value>>,
    /// How many times it asked for its next event.
    asked: AtomicU64,
    /// Which of its asks was answered with `SHUTDOWN` (0: none yet).
    shutdown_ask: AtomicU64,
}

/// What the Extensions API of one function shares.
struct Api {
    function_name: String,
    function_version: String,
    handler: String,
    account_id: String,
    registered: Mutex<HashMap<String, Arc<Registered>>>,
    init_error: Mutex<Option<String>>,
    /// Telemetry API subscriptions.
    subscriptions: Mutex<Vec<Arc<Subscription>>>,
}

impl Api {
    /// Hands records to every subscription.
    fn publish(&self, records: &[telemetry::Record]) {
        let subscriptions = self
            .subscriptions
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        for record in records {
            for subscription in &subscriptions {
                subscription.offer(record);
            }
        }
    }

    fn registered(&self) -> Vec<Arc<Registered>> {
        self.registered
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .values()
            .cloned()
            .collect()
    }

    fn send(&self, event_type: &str, event: Value) {
        for extension in self.registered() {
            if !extension.events.iter().any(|name| name == event_type) {
                continue;
            }
            if extension.sender.try_send(event.clone()).is_err() {
                tracing::warn!(
                    "wasm-lambda: extension {} of {} does not ask for its events: an {event_type} event was dropped",
                    extension.name,
                    self.function_name
                );
            }
        }
    }
}

/// The extensions of one function: their processes and their API.
pub(crate) struct Extensions {
    api: Arc<Api>,
    children: Mutex<Vec<(PathBuf, std::process::Child)>>,
    server: tokio::task::JoinHandle<()>,
}

impl Drop for Extensions {
    fn drop(&mut self) {
        self.server.abort();
        self.stop_children();
    }
}

/// What an extension process is started with.
pub(crate) struct Launch {
    /// The function's name, version and handler, as registration answers.
    pub(crate) function_name: String,
    pub(crate) function_version: String,
    pub(crate) handler: String,
    pub(crate) account_id: String,
    /// The function's environment (Lambda's variables and its own).
    pub(crate) environment: Vec<(String, String)>,
    /// The extensions' executables.
    pub(crate) executables: Vec<PathBuf>,
    /// How long the function's load took (`platform.initReport`).
    pub(crate) init_duration: Duration,
    /// The function log, where the extensions' output lines go.
    pub(crate) log_sink: Option<wasm_lambda_core::LogSink>,
    /// Components serving as extensions (`extension_components`), loaded.
    pub(crate) components: Vec<wasm_lambda_core::Function>,
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |since| since.as_millis() as u64)
}

fn error(status: StatusCode, error_type: &str, message: &str) -> Response {
    (
        status,
        axum::Json(json!({ "errorMessage": message, "errorType": error_type })),
    )
        .into_response()
}

fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|value| value.to_str().ok())
}

async fn register(State(api): State<Arc<Api>>, headers: HeaderMap, body: Bytes) -> Response {
    let Some(name) = header(&headers, "lambda-extension-name").filter(|name| !name.is_empty())
    else {
        return error(
            StatusCode::BAD_REQUEST,
            "InvalidRequest",
            "Lambda-Extension-Name is missing",
        );
    };
    let events: Vec<String> = serde_json::from_slice::<Value>(&body)
        .ok()
        .and_then(|body| body.get("events").cloned())
        .and_then(|events| serde_json::from_value(events).ok())
        .unwrap_or_default();
    if let Some(unknown) = events
        .iter()
        .find(|event| !["INVOKE", "SHUTDOWN"].contains(&event.as_str()))
    {
        return error(
            StatusCode::BAD_REQUEST,
            "InvalidRequest",
            &format!("unknown event {unknown}: external extensions take INVOKE and SHUTDOWN"),
        );
    }
    let id = uuid::Uuid::new_v4().to_string();
    let (sender, receiver) = mpsc::channel(QUEUED_EVENTS);
    api.registered
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .insert(
            id.clone(),
            Arc::new(Registered {
                name: name.to_string(),
                events,
                sender,
                receiver: tokio::sync::Mutex::new(receiver),
                asked: AtomicU64::new(0),
                shutdown_ask: AtomicU64::new(0),
            }),
        );
    let mut body = json!({
        "functionName": api.function_name,
        "functionVersion": api.function_version,
        "handler": api.handler,
    });
    if header(&headers, "lambda-extension-accept-feature").is_some_and(|features| {
        features
            .split(',')
            .any(|feature| feature.trim() == "accountId")
    }) {
        body["accountId"] = json!(api.account_id);
    }
    let mut response = axum::Json(body).into_response();
    if let Ok(value) = HeaderValue::from_str(&id) {
        response.headers_mut().insert(ID_HEADER, value);
    }
    response
}

#[allow(clippy::result_large_err)]
fn extension_of(api: &Api, headers: &HeaderMap) -> Result<Arc<Registered>, Response> {
    let id = header(headers, ID_HEADER).unwrap_or_default();
    api.registered
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .get(id)
        .cloned()
        .ok_or_else(|| {
            error(
                StatusCode::FORBIDDEN,
                "Extension.UnknownExtensionIdentifier",
                "Lambda-Extension-Identifier names no registered extension",
            )
        })
}

async fn next(State(api): State<Arc<Api>>, headers: HeaderMap) -> Response {
    let extension = match extension_of(&api, &headers) {
        Ok(extension) => extension,
        Err(response) => return response,
    };
    let ask = extension.asked.fetch_add(1, Ordering::AcqRel) + 1;
    // One waiting call at a time per extension, as Lambda allows.
    let mut receiver = extension.receiver.lock().await;
    match receiver.recv().await {
        Some(event) => {
            if event["eventType"] == "SHUTDOWN" {
                extension.shutdown_ask.store(ask, Ordering::Release);
            }
            let mut response = axum::Json(event).into_response();
            if let Ok(value) = HeaderValue::from_str(&uuid::Uuid::new_v4().to_string()) {
                response
                    .headers_mut()
                    .insert("lambda-extension-event-identifier", value);
            }
            response
        }
        None => StatusCode::GONE.into_response(),
    }
}

async fn init_error(State(api): State<Arc<Api>>, headers: HeaderMap) -> Response {
    let extension = match extension_of(&api, &headers) {
        Ok(extension) => extension,
        Err(response) => return response,
    };
    let error_type = header(&headers, "lambda-extension-function-error-type").unwrap_or("Unknown");
    *api.init_error.lock().unwrap_or_else(|e| e.into_inner()) = Some(format!(
        "extension {} reported an init error: {error_type}",
        extension.name
    ));
    (StatusCode::ACCEPTED, axum::Json(json!({ "status": "OK" }))).into_response()
}

/// `PUT /2022-07-01/telemetry`: subscribes the extension to the function's
/// records.
async fn subscribe_telemetry(
    State(api): State<Arc<Api>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    subscribe(&api, Schema::Telemetry, &headers, &body)
}

/// `PUT /2020-08-15/logs`: the Logs API, which the Telemetry API replaced
/// and extensions still use.
async fn subscribe_logs(State(api): State<Arc<Api>>, headers: HeaderMap, body: Bytes) -> Response {
    subscribe(&api, Schema::Logs, &headers, &body)
}

fn subscribe(api: &Api, schema: Schema, headers: &HeaderMap, body: &[u8]) -> Response {
    let extension = match extension_of(api, headers) {
        Ok(extension) => extension,
        Err(response) => return response,
    };
    let Ok(request) = serde_json::from_slice::<Value>(body) else {
        return error(
            StatusCode::BAD_REQUEST,
            "ValidationError",
            "the subscription is not JSON",
        );
    };
    let types: Vec<String> = request
        .get("types")
        .and_then(|types| serde_json::from_value(types.clone()).ok())
        .unwrap_or_default();
    if types.is_empty()
        || types
            .iter()
            .any(|kind| !["platform", "function", "extension"].contains(&kind.as_str()))
    {
        return error(
            StatusCode::BAD_REQUEST,
            "ValidationError",
            "types must name platform, function or extension",
        );
    }
    // Both APIs name the protocol; only HTTP destinations are served (the
    // Logs API's TCP one is not).
    let protocol = request
        .pointer("/destination/protocol")
        .and_then(Value::as_str)
        .unwrap_or("HTTP");
    if protocol != "HTTP" {
        return error(
            StatusCode::BAD_REQUEST,
            "ValidationError",
            &format!("destination.protocol {protocol} is not served here: use HTTP"),
        );
    }
    let announced = schema.subscribed(&extension.name, &types);
    let subscribed =
        telemetry::Buffering::from_request(request.get("buffering")).and_then(|buffering| {
            let uri = request
                .pointer("/destination/URI")
                .and_then(Value::as_str)
                .ok_or_else(|| "destination.URI is missing".to_string())?;
            Subscription::start(schema, types, buffering, Destination::Http(uri.to_string()))
        });
    match subscribed {
        Ok(subscription) => {
            subscription.offer(&announced);
            api.subscriptions
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .push(Arc::new(subscription));
            tracing::debug!(
                "wasm-lambda: extension {} of {} subscribed to telemetry",
                extension.name,
                api.function_name
            );
            (StatusCode::OK, "OK").into_response()
        }
        Err(message) => error(StatusCode::BAD_REQUEST, "ValidationError", message.as_ref()),
    }
}

async fn exit_error(State(api): State<Arc<Api>>, headers: HeaderMap) -> Response {
    let extension = match extension_of(&api, &headers) {
        Ok(extension) => extension,
        Err(response) => return response,
    };
    let error_type = header(&headers, "lambda-extension-function-error-type").unwrap_or("Unknown");
    tracing::warn!(
        "wasm-lambda: extension {} of {} reported an exit error: {error_type}",
        extension.name,
        api.function_name
    );
    (StatusCode::ACCEPTED, axum::Json(json!({ "status": "OK" }))).into_response()
}

impl Extensions {
    /// Starts the extensions of one function and waits for each to
    /// register and ask for its first event. The error is the reason the
    /// function fails (`FunctionError.ExtensionInitError`).
    pub(crate) async fn start(launch: Launch) -> Result<Extensions, String> {
        let api = Arc::new(Api {
            function_name: launch.function_name,
            function_version: launch.function_version,
            handler: launch.handler,
            account_id: launch.account_id,
            registered: Mutex::new(HashMap::new()),
            init_error: Mutex::new(None),
            subscriptions: Mutex::new(Vec::new()),
        });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .map_err(|error| format!("no loopback port for the Extensions API: {error}"))?;
        let address = listener
            .local_addr()
            .map_err(|error| format!("no loopback port for the Extensions API: {error}"))?;
        let router = Router::new()
            .route("/2020-01-01/extension/register", post(register))
            .route("/2020-01-01/extension/event/next", get(next))
            .route("/2020-01-01/extension/init/error", post(init_error))
            .route("/2020-01-01/extension/exit/error", post(exit_error))
            .route(
                "/2022-07-01/telemetry",
                axum::routing::put(subscribe_telemetry),
            )
            .route("/2020-08-15/logs", axum::routing::put(subscribe_logs))
            .with_state(api.clone());
        let server = tokio::spawn(async move {
            let _ = axum::serve(listener, router).await;
        });
        let extensions = Extensions {
            api: api.clone(),
            children: Mutex::new(Vec::new()),
            server,
        };
        let path = std::env::var("PATH").unwrap_or_else(|_| "/usr/bin:/bin".into());
        for executable in &launch.executables {
            let mut command = std::process::Command::new(executable);
            command
                .env_clear()
                .env("PATH", &path)
                .envs(launch.environment.iter().cloned())
                .env("AWS_LAMBDA_RUNTIME_API", address.to_string())
                .stdin(std::process::Stdio::null())
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped());
            die_with_server(&mut command);
            let mut child = command.spawn().map_err(|error| {
                format!("extension {} did not start: {error}", executable.display())
            })?;
            let outputs: [Option<Box<dyn Read + Send>>; 2] = [
                child.stdout.take().map(|out| Box::new(out) as _),
                child.stderr.take().map(|err| Box::new(err) as _),
            ];
            for output in outputs.into_iter().flatten() {
                let api = api.clone();
                let sink = launch.log_sink.clone();
                std::thread::Builder::new()
                    .name("extension-output".into())
                    .spawn(move || forward_lines(output, &api, sink.as_ref()))
                    .map_err(|error| format!("no thread for an extension's output: {error}"))?;
            }
            extensions
                .children
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .push((executable.clone(), child));
        }
        extensions.wait_for_init(launch.executables.len()).await?;
        // Components subscribe to every record type, with Lambda's default
        // buffering, as they start.
        let mut components = Vec::new();
        for function in launch.components {
            let name = function.config().name.clone();
            let types: Vec<String> = ["platform", "function", "extension"]
                .map(String::from)
                .to_vec();
            let announced = Schema::Telemetry.subscribed(&name, &types);
            let subscription = Subscription::start(
                Schema::Telemetry,
                types,
                telemetry::Buffering::from_request(None)?,
                Destination::Component {
                    function,
                    runtime: tokio::runtime::Handle::current(),
                },
            )?;
            subscription.offer(&announced);
            extensions
                .api
                .subscriptions
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .push(Arc::new(subscription));
            components.push(name);
        }
        // The function's init, as the runtime's init phase reports it (the
        // load before the extensions started).
        let init = json!({ "initializationType": "on-demand", "phase": "init" });
        let mut done = init.clone();
        done["status"] = json!("success");
        let mut report = done.clone();
        report["metrics"] =
            json!({ "durationMs": launch.init_duration.as_micros() as f64 / 1000.0 });
        let mut start = init;
        start["functionName"] = json!(extensions.api.function_name);
        start["functionVersion"] = json!(extensions.api.function_version);
        let mut records = vec![telemetry::record("platform.initStart", start)];
        let mut registered = extensions.api.registered();
        registered.sort_by(|a, b| a.name.cmp(&b.name));
        records.extend(registered.iter().map(|extension| {
            telemetry::record(
                "platform.extension",
                json!({ "name": extension.name, "state": "Ready", "events": extension.events }),
            )
        }));
        // A component gets no events: only the records.
        records.extend(components.iter().map(|name| {
            telemetry::record(
                "platform.extension",
                json!({ "name": name, "state": "Ready", "events": [] }),
            )
        }));
        records.push(telemetry::record("platform.initRuntimeDone", done));
        records.push(telemetry::record("platform.initReport", report));
        extensions.publish(&records);
        Ok(extensions)
    }

    /// Whether an extension subscribed to the Telemetry API.
    pub(crate) fn has_subscriptions(&self) -> bool {
        !self
            .api
            .subscriptions
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .is_empty()
    }

    /// Hands records to every subscription.
    pub(crate) fn publish(&self, records: &[telemetry::Record]) {
        self.api.publish(records);
    }

    /// Waits until `count` extensions have registered and asked for an
    /// event, or one of them failed.
    async fn wait_for_init(&self, count: usize) -> Result<(), String> {
        let started = Instant::now();
        loop {
            if let Some(error) = self
                .api
                .init_error
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .clone()
            {
                return Err(error);
            }
            let ready = self
                .api
                .registered()
                .iter()
                .filter(|extension| extension.asked.load(Ordering::Acquire) > 0)
                .count();
            if ready >= count {
                return Ok(());
            }
            if let Some(exited) = self.exited() {
                return Err(exited);
            }
            if started.elapsed() > INIT_LIMIT {
                return Err(format!(
                    "{ready} of {count} extensions were ready after {} s",
                    INIT_LIMIT.as_secs()
                ));
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    /// Tells the extensions of an invocation that starts.
    pub(crate) fn invoke(&self, request_id: &str, deadline_ms: u64, arn: &str, trace: &str) {
        self.api.send(
            "INVOKE",
            json!({
                "eventType": "INVOKE",
                "deadlineMs": deadline_ms,
                "requestId": request_id,
                "invokedFunctionArn": arn,
                "tracing": { "type": "X-Amzn-Trace-Id", "value": trace },
            }),
        );
    }

    /// Sends `SHUTDOWN` and gives the extensions [`SHUTDOWN_BUDGET`] to end
    /// (to exit, or to ask for another event); then stops what is left.
    pub(crate) async fn shutdown(&self) {
        let registered = self.api.registered();
        self.api.send(
            "SHUTDOWN",
            json!({
                "eventType": "SHUTDOWN",
                "shutdownReason": "spindown",
                "deadlineMs": now_ms() + SHUTDOWN_BUDGET.as_millis() as u64,
            }),
        );
        let until = Instant::now() + SHUTDOWN_BUDGET;
        while Instant::now() < until {
            let running = self
                .children
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .iter_mut()
                .filter_map(|(_, child)| child.try_wait().ok())
                .filter(Option::is_none)
                .count();
            // An extension that asked for another event after it got
            // SHUTDOWN is done.
            let done = registered.iter().all(|extension| {
                let shutdown_ask = extension.shutdown_ask.load(Ordering::Acquire);
                !extension.events.iter().any(|event| event == "SHUTDOWN")
                    || (shutdown_ask > 0 && extension.asked.load(Ordering::Acquire) > shutdown_ask)
            });
            if running == 0 || done {
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        self.stop_children();
    }

    /// The first extension that exited, said as an init failure.
    fn exited(&self) -> Option<String> {
        let mut children = self.children.lock().unwrap_or_else(|e| e.into_inner());
        children.iter_mut().find_map(|(executable, child)| {
            let status = child.try_wait().ok()??;
            Some(format!(
                "extension {} exited ({status}) before it asked for its first event",
                executable.display()
            ))
        })
    }

    /// Kills the extension processes still running and reaps them all.
    fn stop_children(&self) {
        let mut children = self.children.lock().unwrap_or_else(|e| e.into_inner());
        for (_, child) in children.iter_mut() {
            if matches!(child.try_wait(), Ok(None)) {
                let _ = child.kill();
            }
            let _ = child.wait();
        }
        children.clear();
    }
}

/// Has the extension process `command` starts get `SIGTERM` when the server
/// dies, even by `SIGKILL`, when it would otherwise never see `SHUTDOWN`.
/// The signal follows the thread that spawns the child: extensions are
/// spawned on the server's runtime threads, which live as long as it does.
fn die_with_server(command: &mut std::process::Command) {
    use std::os::unix::process::CommandExt;
    let server = std::process::id();
    // SAFETY: prctl and getppid are async-signal-safe, and nothing else
    // runs in the child before exec; the error is made without allocating.
    unsafe {
        command.pre_exec(move || {
            if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGTERM) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            // The server died before the signal was set up.
            if libc::getppid() as u32 != server {
                return Err(std::io::Error::from_raw_os_error(libc::ESRCH));
            }
            Ok(())
        });
    }
}

/// Copies an extension's output, line by line, to the function log and to
/// the subscribers of `extension` records, until the process closes it.
fn forward_lines(output: impl Read, api: &Api, sink: Option<&wasm_lambda_core::LogSink>) {
    let mut reader = BufReader::new(output);
    let mut line = Vec::new();
    loop {
        line.clear();
        match (&mut reader).take(LINE_LIMIT).read_until(b'\n', &mut line) {
            Ok(0) | Err(_) => return,
            Ok(_) => {}
        }
        if line.last() != Some(&b'\n') {
            line.push(b'\n');
        }
        if let Some(sink) = sink {
            sink(&line);
        }
        let text = String::from_utf8_lossy(&line[..line.len() - 1]);
        let text = text.strip_suffix('\r').unwrap_or(&text);
        api.publish(&[telemetry::record("extension", json!(text))]);
    }
}
