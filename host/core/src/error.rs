//! Errors in Lambda's terms: why a function could not be loaded, the service
//! errors of the Invoke API, and the error JSON a failed invocation returns.

use std::path::PathBuf;

use serde::Serialize;

use crate::bindings::{RUNTIME_INTERFACE, WORLD};

/// Lambda's error types for endings the host decides, in one place (the
/// handler's own errors carry their own types).
pub mod error_types {
    /// The invocation ran past its timeout.
    pub const TIMED_OUT: &str = "Sandbox.Timedout";
    /// The sandbox reached its memory size.
    pub const OUT_OF_MEMORY: &str = "Runtime.OutOfMemory";
    /// The guest trapped.
    pub const EXIT_ERROR: &str = "Runtime.ExitError";
    /// The response (or the error JSON, or the stream) is over Lambda's limit.
    pub const RESPONSE_TOO_LARGE: &str = "Function.ResponseSizeTooLarge";
    /// Custom-runtime mode: the engine could not be created.
    pub const ENGINE_ERROR: &str = "Runtime.EngineError";
    /// Custom-runtime mode: the component is not a handler.
    pub const INVALID_ENTRYPOINT: &str = "Runtime.InvalidEntrypoint";
    /// Custom-runtime mode: the configuration is outside Lambda's limits.
    pub const INVALID_CONFIGURATION: &str = "Runtime.InvalidConfiguration";
    /// Custom-runtime mode: the component could not be read or compiled.
    pub const INVALID_COMPONENT: &str = "Runtime.InvalidComponent";
}

/// Why a function could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// The configuration is outside Lambda's limits.
    #[error("invalid function configuration: {0}")]
    InvalidConfig(String),
    /// The component file could not be read.
    #[error("failed to read {path}")]
    Read {
        /// The component's path.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The file is not a WebAssembly component.
    #[error("{path} is not a WebAssembly component: {reason}")]
    NotAComponent {
        /// The component's path.
        path: PathBuf,
        /// What the file is instead.
        reason: String,
    },
    /// The component does not implement the handler world.
    #[error(
        "{path} does not implement the world {WORLD} (export `handle`, imports from WASI 0.2 and {RUNTIME_INTERFACE}): {reason}"
    )]
    UnknownWorld {
        /// The component's path.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// The files the component carries could not be unpacked.
    #[error("failed to unpack the files of {path}")]
    Files {
        /// The component's path.
        path: PathBuf,
        /// What went wrong.
        source: anyhow::Error,
    },
    /// The component needs more of an instance than the engine's pool
    /// gives one (memories, tables, core instances, initial sizes, an
    /// instance's context), so no invocation could instantiate it.
    #[error("{path} needs more than the host's instance pool allows: {limit}")]
    OverPoolLimits {
        /// The component's path.
        path: PathBuf,
        /// The limit, and what the component needs.
        limit: String,
    },
    /// Compiling or loading the component failed.
    #[error("failed to compile {path}")]
    Compile {
        /// The component's path.
        path: PathBuf,
        /// The compiler's error.
        source: anyhow::Error,
    },
}

/// Why an invocation could not start. Each variant is the exception that the
/// Lambda Invoke API raises for the same cause, so callers (and the HTTP
/// server) can answer as Lambda does.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InvokeError {
    /// The event is not JSON (`InvalidRequestContentException`, 400).
    #[error("Could not parse request body into json: {0}")]
    InvalidRequestContent(String),
    /// The event is larger than Lambda accepts (`RequestEntityTooLargeException`, 413).
    #[error("Request must be smaller than {limit} bytes for the InvokeFunction operation")]
    RequestEntityTooLarge {
        /// The limit that was exceeded, in bytes.
        limit: usize,
    },
    /// The host failed to run the invocation (`ServiceException`, 500).
    #[error("{0}")]
    Service(String),
    /// No sandbox was free before the invocation's deadline: every slot of
    /// the engine's pool stayed busy (`TooManyRequestsException`, 429, as
    /// Lambda throttles at its concurrency limit). The function never ran.
    #[error("Rate Exceeded.")]
    TooManyRequests,
}

impl InvokeError {
    /// The AWS error code (`X-Amzn-ErrorType`) of this error.
    pub fn error_code(&self) -> &'static str {
        match self {
            InvokeError::InvalidRequestContent(_) => "InvalidRequestContentException",
            InvokeError::RequestEntityTooLarge { .. } => "RequestEntityTooLargeException",
            InvokeError::Service(_) => "ServiceException",
            InvokeError::TooManyRequests => "TooManyRequestsException",
        }
    }

    /// The HTTP status Lambda answers this error with.
    pub fn http_status(&self) -> u16 {
        match self {
            InvokeError::InvalidRequestContent(_) => 400,
            InvokeError::RequestEntityTooLarge { .. } => 413,
            InvokeError::Service(_) => 500,
            InvokeError::TooManyRequests => 429,
        }
    }
}

/// A failed invocation: the function's own error, a timeout or a crash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FunctionError {
    /// `errorType`, e.g. `KeyError`, `Sandbox.Timedout`, `Runtime.ExitError`.
    pub error_type: String,
    /// `errorMessage`.
    pub error_message: String,
    /// `stackTrace`; empty for errors raised by the host.
    pub stack_trace: Vec<String>,
    /// Whether the handler itself reported the error (as opposed to the host
    /// ending the sandbox: timeout, out of memory, trap).
    pub handled: bool,
    /// The error JSON exactly as Lambda returns it as the response payload.
    pub payload: String,
}

/// The JSON of an error the handler returned, in the field order Lambda's
/// runtimes write it.
#[derive(Serialize)]
struct HandlerErrorJson<'a> {
    #[serde(rename = "errorType")]
    error_type: &'a str,
    #[serde(rename = "errorMessage")]
    error_message: &'a str,
    #[serde(rename = "requestId")]
    request_id: &'a str,
    #[serde(rename = "stackTrace")]
    stack_trace: &'a [String],
}

/// The field order of Lambda's Python runtime.
#[derive(Serialize)]
struct PythonErrorJson<'a> {
    #[serde(rename = "errorMessage")]
    error_message: &'a str,
    #[serde(rename = "errorType")]
    error_type: &'a str,
    #[serde(rename = "requestId")]
    request_id: &'a str,
    #[serde(rename = "stackTrace")]
    stack_trace: &'a [String],
}

/// The shape of Lambda's Node.js runtime: no request id, `trace`.
#[derive(Serialize)]
struct NodeErrorJson<'a> {
    #[serde(rename = "errorType")]
    error_type: &'a str,
    #[serde(rename = "errorMessage")]
    error_message: &'a str,
    trace: &'a [String],
}

/// How a language's Lambda runtime writes a handler's error JSON.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ErrorStyle {
    /// Compact JSON: `errorType`, `errorMessage`, `requestId`, `stackTrace`.
    Compact,
    /// Python's `json.dumps`: `errorMessage` first, `", "` and `": "`
    /// separators, non-ASCII escaped.
    Python,
    /// Node.js: `errorType`, `errorMessage`, `trace`, compact.
    Node,
}

impl ErrorStyle {
    /// The style of the runtime a component was built with.
    pub(crate) fn for_runtime(runtime: Option<&str>) -> Self {
        match runtime {
            Some(runtime) if runtime.starts_with("python") => ErrorStyle::Python,
            Some(runtime) if runtime.starts_with("nodejs") => ErrorStyle::Node,
            _ => ErrorStyle::Compact,
        }
    }
}

/// Formats JSON as Python's `json.dumps` does by default.
struct PythonFormatter;

impl serde_json::ser::Formatter for PythonFormatter {
    fn begin_array_value<W: ?Sized + std::io::Write>(
        &mut self,
        writer: &mut W,
        first: bool,
    ) -> std::io::Result<()> {
        if first {
            Ok(())
        } else {
            writer.write_all(b", ")
        }
    }

    fn begin_object_key<W: ?Sized + std::io::Write>(
        &mut self,
        writer: &mut W,
        first: bool,
    ) -> std::io::Result<()> {
        // Keys are separated like array items.
        self.begin_array_value(writer, first)
    }

    fn begin_object_value<W: ?Sized + std::io::Write>(
        &mut self,
        writer: &mut W,
    ) -> std::io::Result<()> {
        writer.write_all(b": ")
    }

    fn write_string_fragment<W: ?Sized + std::io::Write>(
        &mut self,
        writer: &mut W,
        fragment: &str,
    ) -> std::io::Result<()> {
        // `ensure_ascii`: everything outside printable ASCII becomes \uXXXX
        // (UTF-16 units, lowercase hex).
        for c in fragment.chars() {
            if (' '..='~').contains(&c) {
                writer.write_all(&[c as u8])?;
            } else {
                let mut units = [0u16; 2];
                for unit in c.encode_utf16(&mut units) {
                    write!(writer, "\\u{unit:04x}")?;
                }
            }
        }
        Ok(())
    }
}

fn python_json(value: &impl Serialize) -> String {
    let mut out = Vec::new();
    let mut serializer = serde_json::Serializer::with_formatter(&mut out, PythonFormatter);
    value
        .serialize(&mut serializer)
        .expect("strings always serialise");
    String::from_utf8(out).expect("the formatter writes ASCII")
}

/// The JSON of an error raised by the sandbox (timeout, crash), which Lambda
/// writes without a request id field or stack.
#[derive(Serialize)]
struct SandboxErrorJson<'a> {
    #[serde(rename = "errorType")]
    error_type: &'a str,
    #[serde(rename = "errorMessage")]
    error_message: &'a str,
}

impl FunctionError {
    /// An error the handler returned.
    pub(crate) fn from_handler(
        style: ErrorStyle,
        request_id: &str,
        error_type: String,
        error_message: String,
        stack_trace: Vec<String>,
    ) -> Self {
        let payload = match style {
            ErrorStyle::Compact => serde_json::to_string(&HandlerErrorJson {
                error_type: &error_type,
                error_message: &error_message,
                request_id,
                stack_trace: &stack_trace,
            })
            .expect("strings always serialise"),
            ErrorStyle::Node => serde_json::to_string(&NodeErrorJson {
                error_type: &error_type,
                error_message: &error_message,
                trace: &stack_trace,
            })
            .expect("strings always serialise"),
            ErrorStyle::Python => python_json(&PythonErrorJson {
                error_message: &error_message,
                error_type: &error_type,
                request_id,
                stack_trace: &stack_trace,
            }),
        };
        FunctionError {
            error_type,
            error_message,
            stack_trace,
            handled: true,
            payload,
        }
    }

    /// An error raised by the host about the sandbox.
    pub(crate) fn sandbox(error_type: &str, error_message: String) -> Self {
        let payload = serde_json::to_string(&SandboxErrorJson {
            error_type,
            error_message: &error_message,
        })
        .expect("strings always serialise");
        FunctionError {
            error_type: error_type.to_string(),
            error_message,
            stack_trace: Vec::new(),
            handled: false,
            payload,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn handler_error_json_has_lambda_field_order() {
        let error = FunctionError::from_handler(
            ErrorStyle::Compact,
            "id-1",
            "KeyError".into(),
            "'action'".into(),
            vec!["frame".into()],
        );
        assert_eq!(
            error.payload,
            r#"{"errorType":"KeyError","errorMessage":"'action'","requestId":"id-1","stackTrace":["frame"]}"#
        );
    }

    #[test]
    fn python_error_json_is_what_json_dumps_writes() {
        let error = FunctionError::from_handler(
            ErrorStyle::Python,
            "id-1",
            "KeyError".into(),
            "'café' \u{1F600}\u{7f}\n".into(),
            vec!["  File \"/var/task/lambda_function.py\", line 3, in lambda_handler\n".into()],
        );
        assert_eq!(
            error.payload,
            r#"{"errorMessage": "'caf\u00e9' \ud83d\ude00\u007f\n", "errorType": "KeyError", "requestId": "id-1", "stackTrace": ["  File \"/var/task/lambda_function.py\", line 3, in lambda_handler\n"]}"#
        );
    }

    #[test]
    fn timeout_json_is_lambdas() {
        let error = FunctionError::sandbox(
            "Sandbox.Timedout",
            "RequestId: id-1 Error: Task timed out after 3.00 seconds".into(),
        );
        assert_eq!(
            error.payload,
            r#"{"errorType":"Sandbox.Timedout","errorMessage":"RequestId: id-1 Error: Task timed out after 3.00 seconds"}"#
        );
        assert!(!error.handled);
    }
}
