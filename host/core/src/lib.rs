//! Run AWS-Lambda-style handlers compiled to WebAssembly components.
//!
//! A handler written as for Lambda (`def lambda_handler(event, context)`,
//! `export const handler = async (event, context) => ...`, or the same shape
//! in Rust, C, Go, ...) is built into a component of the
//! `wasm-lambda:handler` world (`guest-sdk/wit/handler.wit`). This crate
//! loads such components and invokes them the way Lambda does: a fresh
//! sandbox per invocation, Lambda's context and environment, a timeout and a
//! memory cap, and the response or Lambda's error JSON as the result.
//!
//! ```no_run
//! use wasm_lambda_core::{FunctionConfig, Host, HostConfig, InvokeRequest};
//!
//! # async fn run() -> anyhow::Result<()> {
//! let host = Host::new(HostConfig::default())?;
//! let function = host.load(FunctionConfig::new("hello", "hello.wasm"))?;
//! let invocation = function
//!     .invoke(InvokeRequest::new(r#"{"first_name":"John","last_name":"Smith"}"#))
//!     .await?;
//! assert_eq!(invocation.payload(), r#"{"message":"Hello John Smith!"}"#);
//! println!("{}", invocation.log); // START ... END ... REPORT ...
//! # Ok(())
//! # }
//! ```
//!
//! This crate is the engine and the invocation core. It compiles no HTTP
//! server, database, builder or command line: `wasm-lambda-build` turns
//! handler projects into components, `wasm-lambda-server` is `serve`,
//! `wasm-lambda-runtime` is the custom runtime, and the `wasm-lambda` package
//! is the command line over them (ARCHITECTURE.md draws the layers). It
//! must depend on none of them, nor on an HTTP server, a database or a
//! builder's crates: `host/tests/it/architecture.rs` checks both with cargo.
//!
//! The pieces:
//! - [`Host`]: one per process; owns the engine (pooling allocator, epoch
//!   timeouts), the linker and the cache of precompiled components.
//! - [`FunctionConfig`] and [`Function`]: a function's settings (memory,
//!   timeout, environment, instance reuse) and its loaded component.
//! - [`InvokeRequest`] and [`Invocation`]: one invocation's input and result,
//!   with its log and [`Report`].
//! - [`InvokeError`] and [`FunctionError`]: Lambda's service errors and
//!   function errors.
//! - [`files`] and [`marker`]: what a component carries besides its code
//!   (its files, its runtime), written by the builders and read at load.
//! - [`FunctionSettings`]: a function's settings as flags, TOML keys and
//!   `WASM_LAMBDA_*` variables, applied to a [`FunctionConfig`].
#![deny(missing_docs)]

// The host relies on Linux: the pool slots' reset uses the PAGEMAP_SCAN ioctl,
// sandboxes' /tmp folders are checked and removed through folder handles,
// and the engine's signal handling and memory layout are tested here only.
#[cfg(not(target_os = "linux"))]
compile_error!(
    "wasm-lambda's host runs on Linux only (x86_64 or aarch64); build it there, or in a Linux container"
);

pub mod bare;
mod bindings;
mod cache;
mod capabilities;
mod config;
mod engine;
mod environment;
mod error;
mod export;
mod fair;
pub mod files;
mod function;
mod grants;
mod host;
mod invoke;
mod limits;
mod load;
mod logging;
mod logs;
pub mod marker;
mod outbound;
mod outcome;
pub mod paths;
mod sandbox;
mod scratch;
mod settings;
mod snapshot;
mod state;
mod storage;
mod stream;

pub use bindings::{RESPONSE_STREAM_INTERFACE, RUNTIME_INTERFACE, WORLD};
pub use cache::{LoadSource, default_cache_budget, default_cache_dir};
pub use config::{
    AwsCredentials, DEFAULT_MEMORY_MB, DEFAULT_TIMEOUT, EPHEMERAL_STORAGE_RANGE_MB, FunctionConfig,
    MAX_TIMEOUT, MEMORY_RANGE_MB, Mount, duration_from_secs, timeout_from_secs,
};
pub use engine::{Allocator, CODE_LEVEL, EngineConfig, has_code_level};
pub use environment::{
    MAX_CONFIGURED_BYTES, RESERVED_VARIABLES, new_trace_header, validate as validate_environment,
};
pub use error::{FunctionError, InvokeError, LoadError, error_types};
pub use export::Exported;
pub use function::{Function, LoadInfo};
pub use grants::{AllowedHosts, OutboundGrant, is_local_address};
pub use host::{Host, HostConfig, Snapshots};
pub use invoke::{
    CognitoIdentity, Invocation, InvokeRequest, MAX_REQUEST_BYTES, MAX_RESPONSE_BYTES,
};
pub use logging::{LogFormat, LogLevel, LoggingConfig};
pub use logs::{LineTap, LogSink, QueuedSink, Report, ReportMetrics, ReportStatus, stderr_sink};
pub use outbound::DEFAULT_MAX_OUTBOUND_CONNECTIONS;
pub use settings::{FunctionSettings, SettingsSource, parse_key_value, struct_fields};
pub use stream::{
    HTTP_INTEGRATION_CONTENT_TYPE, MAX_STREAMED_BYTES, ResponseSender, StreamEvent, response_stream,
};
