//! Write AWS-Lambda-style handlers in Rust and run them in the wasm-lambda host.
//!
//! A handler is an ordinary function from an event to a result, exactly as
//! with Lambda's Rust runtime. Any serde types work, and so does
//! [`serde_json::Value`]. One macro, [`handler!`], exports it as the
//! `wasm-lambda:handler` world of `guest-sdk/wit/handler.wit`.
//!
//! ```no_run
//! use serde::{Deserialize, Serialize};
//! use wasm_lambda_sdk::{Context, Error};
//!
//! #[derive(Deserialize)]
//! struct Request {
//!     first_name: String,
//!     last_name: String,
//! }
//!
//! #[derive(Serialize)]
//! struct Response {
//!     message: String,
//! }
//!
//! fn handler(event: Request, _context: Context) -> Result<Response, Error> {
//!     Ok(Response {
//!         message: format!("Hello {} {}!", event.first_name, event.last_name),
//!     })
//! }
//!
//! wasm_lambda_sdk::handler!(handler);
//! ```
//!
//! A handler that streams its response (Lambda's response streaming) takes a
//! [`ResponseStream`] and writes to it; [`streaming_handler!`] exports it.
//! What it writes reaches an `InvokeWithResponseStream` caller, or a
//! function URL in `RESPONSE_STREAM` mode, as it is written:
//!
//! ```no_run
//! use std::io::Write as _;
//! use wasm_lambda_sdk::{Context, Error, ResponseStream};
//!
//! fn handler(event: serde_json::Value, _context: Context, stream: &mut ResponseStream) -> Result<(), Error> {
//!     stream.http_head(&serde_json::json!({"statusCode": 200, "headers": {"content-type": "text/plain"}}))?;
//!     for n in 0..event["count"].as_u64().unwrap_or(3) {
//!         writeln!(stream, "line {n}")?;
//!     }
//!     Ok(())
//! }
//!
//! wasm_lambda_sdk::streaming_handler!(handler);
//! ```
//!
//! An `async fn` handler is exported with `handler!(async handler)` and runs
//! on [`wstd`]'s executor (re-exported here), which drives WASI 0.2's timers
//! and HTTP client.
//!
//! Build the crate as a `cdylib` for `wasm32-wasip2` (or run
//! `wasm-lambda build <dir>`), and invoke the component with
//! `wasm-lambda invoke`. Output written with `println!` and `eprintln!` becomes
//! the function's log.
#![deny(missing_docs)]

use std::fmt;
use std::time::Duration;

use serde::Serialize;
use serde::de::DeserializeOwned;

/// The async runtime async handlers run on: its timers, HTTP client and
/// `block_on`, for handlers that need them without a dependency of their
/// own.
pub use wstd;

/// Bindings generated from the one WIT contract. Used by [`handler!`]; a
/// handler never needs to touch them.
#[doc(hidden)]
pub mod bindings {
    wit_bindgen::generate!({
        path: "../wit",
        world: "handler",
        pub_export_macro: true,
        export_macro_name: "__export_handler_world",
        default_bindings_module: "::wasm_lambda_sdk::bindings",
    });
}

/// The caller's Cognito identity.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CognitoIdentity {
    /// The Cognito identity id.
    pub cognito_identity_id: String,
    /// The Cognito identity pool id.
    pub cognito_identity_pool_id: String,
}

/// What Lambda tells a handler about the invocation, as in Lambda's other
/// runtimes.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Context {
    /// The invocation's request id.
    pub aws_request_id: String,
    /// The function's name.
    pub function_name: String,
    /// The function's version (`$LATEST`).
    pub function_version: String,
    /// The ARN the caller used to invoke the function.
    pub invoked_function_arn: String,
    /// The function's memory size in MB.
    pub memory_limit_in_mb: u32,
    /// The function's log group.
    pub log_group_name: String,
    /// The execution environment's log stream.
    pub log_stream_name: String,
    /// When the invocation times out, in milliseconds since the Unix epoch.
    pub deadline_ms: u64,
    /// The X-Ray trace header, if the invocation carried one.
    pub xray_trace_id: Option<String>,
    /// The caller's Cognito identity, if any.
    pub identity: Option<CognitoIdentity>,
    /// The client context sent by a mobile SDK, if any.
    pub client_context: Option<serde_json::Value>,
    /// The tenant id of a multi-tenant function's invocation, if any.
    pub tenant_id: Option<String>,
}

impl Context {
    /// Time left before the invocation times out, asked of the host now.
    pub fn remaining_time(&self) -> Duration {
        Duration::from_millis(self.remaining_time_in_millis())
    }

    /// Milliseconds left before the invocation times out, like Python's
    /// `get_remaining_time_in_millis()`.
    pub fn remaining_time_in_millis(&self) -> u64 {
        bindings::wasm_lambda::handler::runtime::remaining_time_ms()
    }
}

/// Sets the invocation's trace header in the environment, as Lambda's
/// runtimes do for each invocation, and removes it when there is none. A
/// sandbox's environment holds its first invocation's header, so only the
/// later invocations of a reused sandbox change it: touching the
/// environment makes wasi-libc read all of it from the host, a cost every
/// cold start would otherwise pay.
fn set_trace_variable(trace_id: Option<&str>) {
    use std::sync::atomic::{AtomicBool, Ordering};
    const NAME: &str = "_X_AMZN_TRACE_ID";
    static CALLED_BEFORE: AtomicBool = AtomicBool::new(false);
    if !CALLED_BEFORE.swap(true, Ordering::Relaxed) {
        return;
    }
    // SAFETY: a component runs on one thread, so nothing reads the
    // environment while it changes.
    unsafe {
        match trace_id {
            Some(trace_id) => std::env::set_var(NAME, trace_id),
            None => std::env::remove_var(NAME),
        }
    }
}

impl From<bindings::Context> for Context {
    fn from(context: bindings::Context) -> Self {
        set_trace_variable(context.trace_id.as_deref());
        Context {
            aws_request_id: context.aws_request_id,
            function_name: context.function_name,
            function_version: context.function_version,
            invoked_function_arn: context.invoked_function_arn,
            memory_limit_in_mb: context.memory_limit_in_mb,
            log_group_name: context.log_group_name,
            log_stream_name: context.log_stream_name,
            deadline_ms: context.deadline_ms,
            xray_trace_id: context.trace_id,
            identity: context.identity.map(|identity| CognitoIdentity {
                cognito_identity_id: identity.cognito_identity_id,
                cognito_identity_pool_id: identity.cognito_identity_pool_id,
            }),
            // The host validated the client context as JSON; a guest still
            // keeps going if it somehow is not.
            client_context: context
                .client_context
                .and_then(|text| serde_json::from_str(&text).ok()),
            tenant_id: context.tenant_id,
        }
    }
}

/// An error a handler returns. The host renders it as Lambda's error JSON
/// (`errorType`, `errorMessage`, `stackTrace`, `requestId`).
///
/// Any `std::error::Error` converts into it with `?`; its `errorType` is then
/// the error's Rust type name, as with Lambda's Rust runtime.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error {
    error_type: String,
    message: String,
    stack_trace: Vec<String>,
}

impl Error {
    /// An error with the given `errorType` and `errorMessage`.
    pub fn new(error_type: impl Into<String>, message: impl Into<String>) -> Self {
        Error {
            error_type: error_type.into(),
            message: message.into(),
            stack_trace: Vec::new(),
        }
    }

    /// Adds stack frames to report as `stackTrace`.
    pub fn with_stack_trace(mut self, frames: Vec<String>) -> Self {
        self.stack_trace = frames;
        self
    }

    /// The error's `errorType`.
    pub fn error_type(&self) -> &str {
        &self.error_type
    }

    /// The error's `errorMessage`.
    pub fn message(&self) -> &str {
        &self.message
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.error_type, self.message)
    }
}

impl<E: std::error::Error> From<E> for Error {
    fn from(error: E) -> Self {
        Error::new(std::any::type_name::<E>(), error.to_string())
    }
}

impl From<Error> for bindings::HandlerError {
    fn from(error: Error) -> Self {
        bindings::HandlerError {
            error_type: error.error_type,
            error_message: error.message,
            stack_trace: error.stack_trace,
        }
    }
}

/// The event as the handler's type, or Lambda's `Runtime.UnmarshalError`.
fn decode<E: DeserializeOwned>(event: &str) -> Result<E, Error> {
    serde_json::from_str(event).map_err(|error| {
        Error::new(
            "Runtime.UnmarshalError",
            format!("Unable to unmarshal input: {error}"),
        )
    })
}

/// Runs `handler` on one invocation: decodes the event, calls the handler
/// and encodes its result. Called by the code [`handler!`] generates.
#[doc(hidden)]
pub fn run<E, R, F>(
    event: &str,
    context: bindings::Context,
    handler: F,
) -> Result<String, bindings::HandlerError>
where
    E: DeserializeOwned,
    R: Serialize,
    F: FnOnce(E, Context) -> Result<R, Error>,
{
    let event: E = decode(event)?;
    let response = handler(event, context.into())?;
    serde_json::to_string(&response).map_err(|error| {
        Error::new(
            "Runtime.MarshalError",
            format!("Unable to marshal response: {error}"),
        )
        .into()
    })
}

/// Runs an async `handler` on one invocation to its end, on wstd's executor
/// (the Bytecode Alliance's async runtime for WASI 0.2: its timers and
/// `wasi:http` client wake the handler). Called by the code
/// `handler!(async f)` generates.
#[doc(hidden)]
pub fn run_async<E, R, F, Fut>(
    event: &str,
    context: bindings::Context,
    handler: F,
) -> Result<String, bindings::HandlerError>
where
    E: DeserializeOwned,
    R: Serialize,
    F: FnOnce(E, Context) -> Fut,
    Fut: std::future::Future<Output = Result<R, Error>>,
{
    run(event, context, |event, context| {
        wstd::runtime::block_on(handler(event, context))
    })
}

/// The response of a streaming handler: bytes written reach the caller as
/// they are written (up to Lambda's 20 MB; past it the invocation fails).
/// A plain `Invoke` of the function gets them all at once.
pub struct ResponseStream {
    written: bool,
}

impl ResponseStream {
    /// The invocation's response stream. Used by the SDK's streaming
    /// export and by crates built on the SDK (its `lambda_runtime`).
    #[doc(hidden)]
    pub fn for_invocation() -> Self {
        ResponseStream { written: false }
    }

    /// Sets the response's media type (`application/octet-stream` unless
    /// set); only before the first write.
    pub fn set_content_type(&mut self, content_type: &str) {
        if !self.written {
            bindings::wasm_lambda::handler::response_stream::set_content_type(content_type);
        }
    }

    /// Opens an HTTP response for a function URL, as Node's
    /// `awslambda.HttpResponseStream.from` does: `head` holds `statusCode`,
    /// `headers` and `cookies`; what is written next is the body.
    pub fn http_head(&mut self, head: &serde_json::Value) -> std::io::Result<()> {
        self.set_content_type("application/vnd.awslambda.http-integration-response");
        use std::io::Write as _;
        self.write_all(head.to_string().as_bytes())?;
        self.write_all(&[0; 8])
    }
}

impl std::io::Write for ResponseStream {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        if !bytes.is_empty() {
            self.written = true;
            bindings::wasm_lambda::handler::response_stream::write(bytes);
        }
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }

    /// One `write!` is one chunk for the caller, not one per formatted piece.
    fn write_fmt(&mut self, arguments: fmt::Arguments<'_>) -> std::io::Result<()> {
        match arguments.as_str() {
            Some(text) => self.write_all(text.as_bytes()),
            None => self.write_all(arguments.to_string().as_bytes()),
        }
    }
}

/// Runs a streaming `handler` on one invocation. Called by the code
/// [`streaming_handler!`] generates.
#[doc(hidden)]
pub fn run_streaming<E, F>(
    event: &str,
    context: bindings::Context,
    handler: F,
) -> Result<String, bindings::HandlerError>
where
    E: DeserializeOwned,
    F: FnOnce(E, Context, &mut ResponseStream) -> Result<(), Error>,
{
    let event: E = decode(event)?;
    let mut stream = ResponseStream::for_invocation();
    handler(event, context.into(), &mut stream)?;
    // Everything went through the stream; nothing follows it.
    Ok(String::new())
}

/// Exports a streaming handler function as the component's
/// `wasm-lambda:handler` world.
///
/// The function takes any deserialisable event, a [`Context`] and a
/// [`ResponseStream`] to write the response to, and returns
/// `Result<(), Error>`. Use it instead of [`handler!`], once per crate.
#[macro_export]
macro_rules! streaming_handler {
    ($handler:path) => {
        $crate::__export!($handler, $crate::run_streaming);
    };
}

/// Exports a handler function as the component's `wasm-lambda:handler` world.
///
/// The function takes any deserialisable event and a [`Context`], and returns
/// `Result<R, Error>` for any serialisable `R`. Use the macro once per crate.
///
/// An `async fn` is exported with `handler!(async name)`; it runs to its end
/// on [`wstd`]'s executor, so it may await wstd's timers and HTTP client:
///
/// ```no_run
/// use wasm_lambda_sdk::{Context, Error};
///
/// async fn handler(event: serde_json::Value, _context: Context) -> Result<String, Error> {
///     use wasm_lambda_sdk::wstd;
///     wstd::task::sleep(wstd::time::Duration::from_millis(5)).await;
///     Ok(format!("waited for {event}"))
/// }
///
/// wasm_lambda_sdk::handler!(async handler);
/// ```
#[macro_export]
macro_rules! handler {
    (async $handler:path) => {
        $crate::__export!($handler, $crate::run_async);
    };
    ($handler:path) => {
        $crate::__export!($handler, $crate::run);
    };
}

/// The export both macros write: `handle` runs `$handler` through `$runner`.
#[doc(hidden)]
#[macro_export]
macro_rules! __export {
    ($handler:path, $runner:path) => {
        struct __WasmLambdaHandler;

        impl $crate::bindings::Guest for __WasmLambdaHandler {
            fn handle(
                event: ::std::string::String,
                context: $crate::bindings::Context,
            ) -> ::std::result::Result<::std::string::String, $crate::bindings::HandlerError> {
                $runner(&event, context, $handler)
            }
        }

        $crate::bindings::__export_handler_world!(__WasmLambdaHandler with_types_in $crate::bindings);
    };
}
