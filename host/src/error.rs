//! Errors in Lambda's terms: the service errors of the Invoke API, and the
//! error JSON a failed invocation returns.

use serde::Serialize;

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
}

impl InvokeError {
    /// The AWS error code (`X-Amzn-ErrorType`) of this error.
    pub fn error_code(&self) -> &'static str {
        match self {
            InvokeError::InvalidRequestContent(_) => "InvalidRequestContentException",
            InvokeError::RequestEntityTooLarge { .. } => "RequestEntityTooLargeException",
            InvokeError::Service(_) => "ServiceException",
        }
    }

    /// The HTTP status Lambda answers this error with.
    pub fn http_status(&self) -> u16 {
        match self {
            InvokeError::InvalidRequestContent(_) => 400,
            InvokeError::RequestEntityTooLarge { .. } => 413,
            InvokeError::Service(_) => 500,
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
        request_id: &str,
        error_type: String,
        error_message: String,
        stack_trace: Vec<String>,
    ) -> Self {
        let payload = serde_json::to_string(&HandlerErrorJson {
            error_type: &error_type,
            error_message: &error_message,
            request_id,
            stack_trace: &stack_trace,
        })
        .expect("strings always serialise");
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
