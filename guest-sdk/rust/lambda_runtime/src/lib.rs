//! `lambda_runtime`'s API for handlers that `wasm-lambda build` builds.
//!
//! A handler written for AWS's Rust runtime, as `cargo lambda new` makes it,
//! builds unchanged: `wasm-lambda build` replaces the project's
//! `lambda_runtime` dependency with this crate, builds `src/main.rs` as the
//! component, and exports `main` as its handler:
//!
//! ```no_run
//! use lambda_runtime::{run, service_fn, tracing, Error, LambdaEvent};
//! use serde::{Deserialize, Serialize};
//!
//! #[derive(Deserialize)]
//! struct Request {
//!     command: String,
//! }
//!
//! #[derive(Serialize)]
//! struct Response {
//!     req_id: String,
//!     msg: String,
//! }
//!
//! async fn function_handler(event: LambdaEvent<Request>) -> Result<Response, Error> {
//!     Ok(Response {
//!         req_id: event.context.request_id,
//!         msg: format!("Command {}.", event.payload.command),
//!     })
//! }
//!
//! #[tokio::main(flavor = "current_thread")]
//! async fn main() -> Result<(), Error> {
//!     tracing::init_default_subscriber();
//!     run(service_fn(function_handler)).await
//! }
//! ```
//!
//! How it runs: for each invocation the component calls `main`. [`run`]
//! takes that invocation, calls the service with it (in the
//! `Lambda runtime invoke` span, as AWS's runtime does), keeps its answer
//! and returns, so `main` returns and the answer goes back to the host. On
//! Lambda `run` loops over invocations instead; since every wasm-lambda
//! invocation gets a fresh sandbox, `main`'s set-up runs once per sandbox in
//! both. WASI has no threads, so tokio's runtime is the current-thread one:
//! the build runs a `#[tokio::main]` as `#[tokio::main(flavor =
//! "current_thread")]` and says which line to change.
//!
//! Kept from lambda_runtime: [`run`], [`service_fn`], [`Service`],
//! [`LambdaEvent`], [`Context`] (with Lambda's field names), [`Config`],
//! [`Error`], [`Diagnostic`] (the errorType of an error is the name of a
//! reference to its Rust type, `&` included, as there), [`tracing`] with `init_default_subscriber`, and
//! streamed responses ([`StreamResponse`], and [`streaming`]'s channel
//! for handlers that write chunks from a task of their own), which is what
//! `lambda_http` needs to run on this crate unchanged. Not kept: `Runtime` with custom
//! layers, and `spawn_graceful_shutdown_handler` (a sandbox gets no
//! signals).

use std::cell::RefCell;
use std::collections::HashMap;
use std::fmt::Debug;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use ::tracing::Instrument as _;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

pub use tower::{self, Service, service_fn};

#[doc(hidden)]
pub use wasm_lambda_sdk as __sdk;

mod deserializer;
pub mod diagnostic;
pub use diagnostic::Diagnostic;
pub mod streaming;

/// The error type handlers return: any error, boxed.
pub type Error = Box<dyn std::error::Error + Send + Sync>;

/// The function's settings, from Lambda's environment variables.
#[derive(Debug, Default, Clone, Eq, PartialEq, Serialize, Deserialize)]
pub struct Config {
    /// `AWS_LAMBDA_FUNCTION_NAME`.
    pub function_name: String,
    /// `AWS_LAMBDA_FUNCTION_MEMORY_SIZE`.
    pub memory: i32,
    /// `AWS_LAMBDA_FUNCTION_VERSION`.
    pub version: String,
    /// `AWS_LAMBDA_LOG_STREAM_NAME`.
    pub log_stream: String,
    /// `AWS_LAMBDA_LOG_GROUP_NAME`.
    pub log_group: String,
}

impl Config {
    /// Reads the settings from the environment; panics, as lambda_runtime
    /// does, when the function's name, memory or version is missing.
    pub fn from_env() -> Self {
        let required =
            |name: &str| std::env::var(name).unwrap_or_else(|_| panic!("Missing {name} env var"));
        Config {
            function_name: required("AWS_LAMBDA_FUNCTION_NAME"),
            memory: required("AWS_LAMBDA_FUNCTION_MEMORY_SIZE")
                .parse()
                .expect("AWS_LAMBDA_FUNCTION_MEMORY_SIZE env var is not <i32>"),
            version: required("AWS_LAMBDA_FUNCTION_VERSION"),
            log_stream: std::env::var("AWS_LAMBDA_LOG_STREAM_NAME").unwrap_or_default(),
            log_group: std::env::var("AWS_LAMBDA_LOG_GROUP_NAME").unwrap_or_default(),
        }
    }
}

/// The mobile application that invoked the function.
#[derive(Serialize, Deserialize, Default, Clone, Debug, Eq, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ClientApplication {
    /// Its installation id.
    #[serde(alias = "installation_id")]
    pub installation_id: String,
    /// Its title.
    #[serde(alias = "app_title")]
    pub app_title: String,
    /// Its version name.
    #[serde(alias = "app_version_name")]
    pub app_version_name: String,
    /// Its version code.
    #[serde(alias = "app_version_code")]
    pub app_version_code: String,
    /// Its package name.
    #[serde(alias = "app_package_name")]
    pub app_package_name: String,
}

/// What a mobile SDK caller sends about itself.
#[derive(Serialize, Deserialize, Clone, Debug, Eq, PartialEq)]
pub struct ClientContext {
    /// The application.
    #[serde(default)]
    pub client: ClientApplication,
    /// Values the application set.
    #[serde(default)]
    pub custom: HashMap<String, String>,
    /// The environment the SDK reported.
    #[serde(default)]
    pub environment: HashMap<String, String>,
}

/// The caller's Amazon Cognito identity.
#[derive(Serialize, Deserialize, Clone, Debug, Eq, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct CognitoIdentity {
    /// The identity id.
    #[serde(alias = "cognitoIdentityId", alias = "identity_id")]
    pub identity_id: String,
    /// The identity pool id.
    #[serde(alias = "cognitoIdentityPoolId", alias = "identity_pool_id")]
    pub identity_pool_id: String,
}

/// What Lambda tells the handler about one invocation.
#[non_exhaustive]
#[derive(Clone, Debug, Deserialize, Eq, PartialEq, Serialize)]
pub struct Context {
    /// The request id.
    pub request_id: String,
    /// When the invocation times out, in milliseconds since the Unix epoch.
    pub deadline: u64,
    /// The ARN the function was invoked with.
    pub invoked_function_arn: String,
    /// The X-Ray trace header, when the invocation has one.
    pub xray_trace_id: Option<String>,
    /// A mobile caller's client context.
    pub client_context: Option<ClientContext>,
    /// The caller's Cognito identity.
    pub identity: Option<CognitoIdentity>,
    /// The function's settings.
    pub env_config: Arc<Config>,
}

impl Default for Context {
    fn default() -> Self {
        Context {
            request_id: String::new(),
            deadline: 0,
            invoked_function_arn: String::new(),
            xray_trace_id: None,
            client_context: None,
            identity: None,
            env_config: Arc::new(Config::default()),
        }
    }
}

impl Context {
    /// When the invocation times out.
    pub fn deadline(&self) -> SystemTime {
        SystemTime::UNIX_EPOCH + Duration::from_millis(self.deadline)
    }

    fn of_invocation(given: wasm_lambda_sdk::Context) -> Self {
        Context {
            request_id: given.aws_request_id,
            deadline: given.deadline_ms,
            invoked_function_arn: given.invoked_function_arn,
            xray_trace_id: given.xray_trace_id,
            client_context: given
                .client_context
                .and_then(|value| serde_json::from_value(value).ok()),
            identity: given.identity.map(|identity| CognitoIdentity {
                identity_id: identity.cognito_identity_id,
                identity_pool_id: identity.cognito_identity_pool_id,
            }),
            env_config: Arc::new(Config {
                function_name: given.function_name,
                memory: given.memory_limit_in_mb as i32,
                version: given.function_version,
                log_stream: given.log_stream_name,
                log_group: given.log_group_name,
            }),
        }
    }
}

/// An invocation's event and context.
#[derive(Clone, Debug)]
pub struct LambdaEvent<T> {
    /// The event.
    pub payload: T,
    /// The invocation's context.
    pub context: Context,
}

impl<T> LambdaEvent<T> {
    /// An event with its context.
    pub fn new(payload: T, context: Context) -> Self {
        LambdaEvent { payload, context }
    }

    /// The event and the context, apart.
    pub fn into_parts(self) -> (T, Context) {
        (self.payload, self.context)
    }
}

thread_local! {
    /// The invocation `main` is called for, until `run` takes it.
    static PENDING: RefCell<Option<(String, wasm_lambda_sdk::Context)>> = const { RefCell::new(None) };
    /// The answer `run` leaves for the export.
    static ANSWER: RefCell<Option<Result<String, Diagnostic>>> = const { RefCell::new(None) };
}

/// The status, headers and cookies that open a streamed HTTP response.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct MetadataPrelude {
    /// The status code.
    pub status_code: http::StatusCode,
    /// The headers.
    pub headers: http::HeaderMap,
    /// The cookies (`Set-Cookie` values).
    pub cookies: Vec<String>,
}

/// A response streamed to the caller: its HTTP prelude, then the stream's
/// chunks as the handler makes them.
pub struct StreamResponse<S> {
    /// The prelude.
    pub metadata_prelude: MetadataPrelude,
    /// The body's chunks.
    pub stream: S,
}

/// A stream answered as it is, with the default prelude (status 200, no
/// headers): `Response::from(body)` in [`streaming`]'s form.
impl<S, D, E> From<S> for StreamResponse<S>
where
    S: futures_core::Stream<Item = Result<D, E>> + Unpin + Send + 'static,
    D: Into<bytes::Bytes> + Send,
    E: Into<Error> + Send + Debug,
{
    fn from(stream: S) -> Self {
        StreamResponse {
            metadata_prelude: MetadataPrelude::default(),
            stream,
        }
    }
}

/// A handler's answer: buffered and serialised whole, or streamed.
pub enum FunctionResponse<B, S> {
    /// Sent as its JSON.
    BufferedResponse(B),
    /// Sent chunk by chunk.
    StreamingResponse(StreamResponse<S>),
}

/// What a handler may answer with: any serialisable value, or a
/// [`StreamResponse`].
pub trait IntoFunctionResponse<B, S> {
    /// The answer as a [`FunctionResponse`].
    fn into_response(self) -> FunctionResponse<B, S>;
}

impl<B, S> IntoFunctionResponse<B, S> for FunctionResponse<B, S> {
    fn into_response(self) -> FunctionResponse<B, S> {
        self
    }
}

impl<B: Serialize> IntoFunctionResponse<B, NoStream> for B {
    fn into_response(self) -> FunctionResponse<B, NoStream> {
        FunctionResponse::BufferedResponse(self)
    }
}

impl<S, D, E> IntoFunctionResponse<(), S> for StreamResponse<S>
where
    S: futures_core::Stream<Item = Result<D, E>> + Unpin + Send + 'static,
    D: Into<bytes::Bytes> + Send,
    E: Into<Error> + Send + Debug,
{
    fn into_response(self) -> FunctionResponse<(), S> {
        FunctionResponse::StreamingResponse(self)
    }
}

/// The stream type of a buffered answer, which has none.
#[doc(hidden)]
pub struct NoStream;

impl futures_core::Stream for NoStream {
    type Item = Result<bytes::Bytes, Error>;

    fn poll_next(
        self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Self::Item>> {
        std::task::Poll::Ready(None)
    }
}

/// Sends a streamed response through the component's response stream, as
/// Lambda's HTTP integration expects it: the SDK's HTTP prelude (the
/// status, headers and cookies), then the body's chunks as they come.
async fn stream<S, D, E>(response: StreamResponse<S>) -> Result<String, Diagnostic>
where
    S: futures_core::Stream<Item = Result<D, E>> + Unpin,
    D: Into<bytes::Bytes>,
    E: Into<Error>,
{
    use std::io::Write as _;
    let prelude = &response.metadata_prelude;
    let mut headers = serde_json::Map::new();
    for (name, value) in &prelude.headers {
        headers.insert(
            name.as_str().to_string(),
            serde_json::Value::String(String::from_utf8_lossy(value.as_bytes()).into_owned()),
        );
    }
    let head = serde_json::json!({
        "statusCode": prelude.status_code.as_u16(),
        "headers": headers,
        "cookies": prelude.cookies,
    });
    let mut out = wasm_lambda_sdk::ResponseStream::for_invocation();
    out.http_head(&head)?;
    let mut body = response.stream;
    while let Some(chunk) =
        std::future::poll_fn(|cx| std::pin::Pin::new(&mut body).poll_next(cx)).await
    {
        let bytes: bytes::Bytes = chunk
            .map_err(|error| Diagnostic::from(error.into()))?
            .into();
        out.write_all(&bytes)?;
    }
    Ok(String::new())
}

/// Runs `handler` for the invocation the component was called with and
/// returns once it has answered (see the crate's documentation).
pub async fn run<A, F, R, B, S, D, E>(mut handler: F) -> Result<(), Error>
where
    F: Service<LambdaEvent<A>, Response = R>,
    F::Error: Into<Diagnostic> + Debug,
    A: DeserializeOwned,
    R: IntoFunctionResponse<B, S>,
    B: Serialize,
    S: futures_core::Stream<Item = Result<D, E>> + Unpin + Send + 'static,
    D: Into<bytes::Bytes> + Send,
    E: Into<Error> + Send + Debug,
{
    let Some((event, given)) = PENDING.with(|pending| pending.borrow_mut().take()) else {
        return Err("lambda_runtime::run was called twice in one invocation".into());
    };
    let context = Context::of_invocation(given);
    let span = match &context.xray_trace_id {
        Some(trace) => ::tracing::info_span!(
            "Lambda runtime invoke",
            requestId = &context.request_id,
            xrayTraceId = trace
        ),
        None => ::tracing::info_span!("Lambda runtime invoke", requestId = &context.request_id),
    };
    let answer = async {
        let event = deserializer::deserialize::<A>(event.as_bytes(), context)?;
        std::future::poll_fn(|cx| handler.poll_ready(cx))
            .await
            .map_err(Into::into)?;
        let response = handler.call(event).await.map_err(Into::into)?;
        match response.into_response() {
            FunctionResponse::BufferedResponse(body) => {
                serde_json::to_string(&body).map_err(|error| Diagnostic {
                    error_type: std::any::type_name_of_val(&error).to_string(),
                    error_message: error.to_string(),
                })
            }
            FunctionResponse::StreamingResponse(response) => stream(response).await,
        }
    }
    .instrument(span)
    .await;
    ANSWER.with(|slot| *slot.borrow_mut() = Some(answer));
    Ok(())
}

/// What `main` may return.
#[doc(hidden)]
pub trait __MainResult {
    /// Why `main` failed, if it did.
    fn failure(self) -> Option<String>;
}

impl __MainResult for () {
    fn failure(self) -> Option<String> {
        None
    }
}

impl<E: Debug> __MainResult for Result<(), E> {
    fn failure(self) -> Option<String> {
        self.err().map(|error| format!("{error:?}"))
    }
}

/// Calls `main` for one invocation and returns what `run` answered. Called
/// by the export [`__export_main!`] writes.
#[doc(hidden)]
pub fn __invoke<M: __MainResult>(
    event: String,
    context: wasm_lambda_sdk::bindings::Context,
    main: impl FnOnce() -> M,
) -> Result<String, wasm_lambda_sdk::bindings::HandlerError> {
    let context = wasm_lambda_sdk::Context::from(context);
    PENDING.with(|pending| *pending.borrow_mut() = Some((event, context)));
    ANSWER.with(|answer| *answer.borrow_mut() = None);
    let failure = main().failure();
    PENDING.with(|pending| *pending.borrow_mut() = None);
    let error = |error_type: &str, error_message: String| wasm_lambda_sdk::bindings::HandlerError {
        error_type: error_type.to_string(),
        error_message,
        stack_trace: Vec::new(),
    };
    match ANSWER.with(|answer| answer.borrow_mut().take()) {
        Some(Ok(payload)) => Ok(payload),
        Some(Err(diagnostic)) => Err(error(&diagnostic.error_type, diagnostic.error_message)),
        None => Err(error(
            "Runtime.ExitError",
            match failure {
                Some(reason) => {
                    format!("main returned an error before it handled the invocation: {reason}")
                }
                None => "main returned without calling lambda_runtime::run".to_string(),
            },
        )),
    }
}

/// Exports `main` as the component's handler. `wasm-lambda build` appends
/// it to the handler's `src/main.rs`.
#[doc(hidden)]
#[macro_export]
macro_rules! __export_main {
    ($main:path) => {
        struct __LambdaRuntimeMain;

        impl $crate::__sdk::bindings::Guest for __LambdaRuntimeMain {
            fn handle(
                event: ::std::string::String,
                context: $crate::__sdk::bindings::Context,
            ) -> ::std::result::Result<::std::string::String, $crate::__sdk::bindings::HandlerError>
            {
                $crate::__invoke(event, context, $main)
            }
        }

        $crate::__sdk::bindings::__export_handler_world!(
            __LambdaRuntimeMain with_types_in $crate::__sdk::bindings
        );
    };
}

/// Logging as lambda_runtime sets it up: `tracing`'s macros, and the
/// subscriber Lambda's Rust functions use.
pub mod tracing {
    pub use ::tracing::*;
    pub use tracing_subscriber as subscriber;

    use tracing_subscriber::filter::{EnvFilter, LevelFilter};
    use tracing_subscriber::fmt::MakeWriter;

    /// Writes `tracing` events to stdout without times or targets, in the
    /// function's log format (`AWS_LAMBDA_LOG_FORMAT` JSON, else text) and
    /// level (`AWS_LAMBDA_LOG_LEVEL`, else `RUST_LOG`, else INFO).
    pub fn init_default_subscriber() {
        init_default_subscriber_with_writer(std::io::stdout);
    }

    /// [`init_default_subscriber`] with another writer.
    pub fn init_default_subscriber_with_writer<Writer>(writer: Writer)
    where
        Writer: for<'writer> MakeWriter<'writer> + Send + Sync + 'static,
    {
        let format = std::env::var("AWS_LAMBDA_LOG_FORMAT").unwrap_or_default();
        let level = std::env::var("AWS_LAMBDA_LOG_LEVEL")
            .or_else(|_| std::env::var("RUST_LOG"))
            .ok()
            .and_then(|level| level.parse::<LevelFilter>().ok())
            .unwrap_or(LevelFilter::INFO);
        let builder = tracing_subscriber::fmt()
            .with_target(false)
            .without_time()
            .with_env_filter(
                EnvFilter::builder()
                    .with_default_directive(level.into())
                    .from_env_lossy(),
            )
            .with_writer(writer);
        // A sandbox that runs `main` again keeps its first subscriber.
        let _ = if format.eq_ignore_ascii_case("json") {
            builder.json().try_init()
        } else {
            builder.try_init()
        };
    }
}
