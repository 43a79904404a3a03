//! How an invocation ended, in Lambda's terms: a pure function from the way
//! the call ended (and what the sandbox saw) to the response or error JSON,
//! the `REPORT` status, the log line the host adds, and whether the sandbox
//! may serve another invocation.

use std::time::Duration;

use crate::bindings;
use crate::error::{ErrorStyle, FunctionError, error_types};
use crate::logs::{self, ReportStatus};
use crate::sandbox::{CallEnd, CallFacts};
use crate::stream::MAX_STREAMED_BYTES;

pub use crate::limits::MAX_RESPONSE_BYTES;

/// What the outcome depends on besides the call.
pub(crate) struct Circumstances<'a> {
    pub(crate) request_id: &'a str,
    pub(crate) memory_mb: u32,
    pub(crate) timeout: Duration,
    pub(crate) style: ErrorStyle,
}

/// An invocation's outcome.
pub(crate) struct Settled {
    pub(crate) result: Result<String, FunctionError>,
    pub(crate) status: ReportStatus,
    /// Whether the sandbox may serve another invocation.
    pub(crate) reusable: bool,
    /// The line the host adds to the function's log, for endings it reports.
    pub(crate) log_line: Option<String>,
}

impl Settled {
    fn ok(result: Result<String, FunctionError>) -> Settled {
        Settled {
            result,
            status: ReportStatus::Success,
            reusable: true,
            log_line: None,
        }
    }

    fn killed(error_type: &str, message: String, log_line: String) -> Settled {
        let status = if error_type == error_types::TIMED_OUT {
            ReportStatus::Timeout
        } else {
            ReportStatus::Error(error_type.into())
        };
        Settled {
            result: Err(FunctionError::sandbox(error_type, message)),
            status,
            reusable: false,
            log_line: Some(log_line),
        }
    }
}

/// Puts a call's end in Lambda's terms. `facts` is `None` when no sandbox
/// was made (instantiation failed or timed out).
pub(crate) fn settle(
    end: CallEnd,
    facts: Option<CallFacts>,
    circumstances: &Circumstances<'_>,
) -> Settled {
    let Circumstances {
        request_id,
        memory_mb,
        timeout,
        style,
    } = *circumstances;
    let facts = facts.unwrap_or_default();
    let timed_out = matches!(end, CallEnd::TimedOut) || facts.timed_out;
    let out_of_memory = facts.memory_exceeded
        || matches!(&end, CallEnd::Trapped(error) if is_out_of_memory_error(error));
    // What was streamed to nobody comes first in the payload; past the
    // stream's limit the invocation fails.
    let end = match end {
        CallEnd::Returned(Ok(_)) if facts.stream_overflowed => {
            CallEnd::Returned(Err(bindings::HandlerError {
                error_type: error_types::RESPONSE_TOO_LARGE.into(),
                error_message: format!(
                    "Response payload size exceeded maximum allowed payload size ({MAX_STREAMED_BYTES} bytes)."
                ),
                stack_trace: Vec::new(),
            }))
        }
        CallEnd::Returned(Ok(response)) if !facts.streamed.is_empty() => {
            let mut whole = String::from_utf8_lossy(&facts.streamed).into_owned();
            whole.push_str(&response);
            CallEnd::Returned(Ok(whole))
        }
        other => other,
    };
    match end {
        CallEnd::Oversized => Settled::ok(Err(response_too_large())),
        CallEnd::Returned(Ok(response)) if response.len() > MAX_RESPONSE_BYTES => {
            Settled::ok(Err(response_too_large()))
        }
        CallEnd::Returned(Ok(response)) => Settled::ok(Ok(response)),
        // A guest refused memory at the cap usually reports it in its own
        // words (Python's `MemoryError`, JavaScript's "out of memory") or
        // traps; either way Lambda would have killed it at the cap.
        // Past its handle cap a guest is stopped as one past its memory:
        // what it held is host memory and descriptors.
        CallEnd::Trapped(error) if crate::limits::is_handle_cap_error(&error) => Settled::killed(
            error_types::OUT_OF_MEMORY,
            format!(
                "RequestId: {request_id} Error: Runtime exited with error: too many open handles (files, sockets, streams)"
            ),
            format!(
                "RequestId: {request_id} Error: Runtime exited with error: too many open handles (files, sockets, streams)\n"
            ),
        ),
        CallEnd::Trapped(_) | CallEnd::Returned(Err(_)) if out_of_memory => Settled::killed(
            error_types::OUT_OF_MEMORY,
            format!("RequestId: {request_id} Error: Runtime exited with error: signal: killed"),
            format!(
                "RequestId: {request_id} Error: Runtime exited with error: memory limit of {memory_mb} MB reached\n"
            ),
        ),
        CallEnd::Returned(Err(error)) => {
            // The error JSON is a response payload and has its limit; the
            // size is checked before the JSON is built, so a guest cannot
            // make the host render megabytes of frames.
            let size = error.error_type.len()
                + error.error_message.len()
                + error
                    .stack_trace
                    .iter()
                    .map(|frame| frame.len() + 3)
                    .sum::<usize>();
            let rendered = (size <= MAX_RESPONSE_BYTES).then(|| {
                FunctionError::from_handler(
                    style,
                    request_id,
                    error.error_type,
                    error.error_message,
                    error.stack_trace,
                )
            });
            let error = rendered
                .filter(|error| error.payload.len() <= MAX_RESPONSE_BYTES)
                .unwrap_or_else(response_too_large);
            Settled::ok(Err(error))
        }
        _ if timed_out => Settled::killed(
            error_types::TIMED_OUT,
            format!(
                "RequestId: {request_id} Error: Task timed out after {:.2} seconds",
                timeout.as_secs_f64()
            ),
            logs::timeout_line(request_id, timeout),
        ),
        CallEnd::Trapped(error) => Settled::killed(
            error_types::EXIT_ERROR,
            format!(
                "RequestId: {request_id} Error: Runtime exited with error: {}",
                trap_message(&error)
            ),
            format!(
                "RequestId: {request_id} Error: Runtime exited with error: {}\nRuntime.ExitError\n",
                trap_log(&error)
            ),
        ),
        // Turned into a service error before the outcome is settled.
        CallEnd::HostFailure(error) => Settled::killed(
            error_types::EXIT_ERROR,
            format!("RequestId: {request_id} Error: {error}"),
            format!("RequestId: {request_id} Error: {error}\n"),
        ),
        CallEnd::TimedOut => unreachable!("timeouts are handled above"),
    }
}

/// Lambda's answer to a response, or an error JSON, over the payload limit.
fn response_too_large() -> FunctionError {
    FunctionError::sandbox(
        error_types::RESPONSE_TOO_LARGE,
        format!(
            "Response payload size exceeded maximum allowed payload size ({MAX_RESPONSE_BYTES} bytes)."
        ),
    )
}

/// A trap for the function's log: the error and its causes (the trap, the
/// guest's wasm backtrace), never the host's own Rust backtrace, which
/// `{:?}` would add (and resolve, at the cost of loading the host's debug
/// information) when `RUST_BACKTRACE` is set.
fn trap_log(error: &wasmtime::Error) -> String {
    let mut text = error.to_string();
    for cause in error.chain().skip(1) {
        text.push_str("\n\nCaused by:\n    ");
        text.push_str(&cause.to_string());
    }
    text
}

/// Instantiation refused by the limiter fails with an error rather than a
/// guest trap; its message says so.
fn is_out_of_memory_error(error: &wasmtime::Error) -> bool {
    let text = format!("{error:#}");
    text.contains("memory minimum size") || text.contains("exceeds memory limits")
}

/// The short cause of a trap for `errorMessage`: the trap itself (e.g. "wasm
/// `unreachable` instruction executed"), without the backtrace, which goes to
/// the log.
fn trap_message(error: &wasmtime::Error) -> String {
    match error.downcast_ref::<wasmtime::Trap>() {
        // A trap's own text already reads "wasm trap: ...".
        Some(trap) => trap.to_string(),
        None => error.root_cause().to_string(),
    }
}
