//! Running one invocation, phase by phase: accept the event, set the
//! deadline, take the warm sandbox or create a fresh one (`sandbox.rs`),
//! call the handler, settle the outcome (`outcome.rs`), write the log lines
//! and keep the sandbox when it may serve again.

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use crate::bindings;
use crate::environment::{self, SandboxEnvironment};
use crate::error::{ErrorStyle, FunctionError, InvokeError};
use crate::function::Function;
use crate::logs::{self, LineTap, LogPipe, Report};
use crate::outcome::{self, Circumstances};
use crate::sandbox::{CallEnd, NotReserved, Reserved, Sandbox};
use crate::stream::ResponseSender;

pub use crate::outcome::MAX_RESPONSE_BYTES;

/// Lambda's limit on a synchronous request payload.
pub const MAX_REQUEST_BYTES: usize = 6_291_456;

/// The caller's Cognito identity, passed to the handler's context.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CognitoIdentity {
    /// The identity id.
    pub identity_id: String,
    /// The identity pool id.
    pub identity_pool_id: String,
}

impl CognitoIdentity {
    /// Parses the identity JSON that Lambda's headers carry
    /// (`{"cognitoIdentityId": ..., "cognitoIdentityPoolId": ...}`); `None`
    /// when it is malformed or has no identity id.
    pub fn from_header_json(text: &str) -> Option<Self> {
        let value: serde_json::Value = serde_json::from_str(text).ok()?;
        Some(CognitoIdentity {
            identity_id: value["cognitoIdentityId"].as_str()?.to_string(),
            identity_pool_id: value["cognitoIdentityPoolId"]
                .as_str()
                .unwrap_or("")
                .to_string(),
        })
    }
}

/// One invocation's input: the event and what the caller says about it.
#[derive(Debug, Clone, Default)]
pub struct InvokeRequest {
    /// The event, JSON text; empty means `{}`, as with Lambda.
    pub payload: Vec<u8>,
    /// The request id; a new UUID when `None`.
    pub request_id: Option<String>,
    /// A deadline set by the caller (the Runtime API's); the function's
    /// timeout applies when it is earlier or absent.
    pub deadline: Option<SystemTime>,
    /// The ARN the caller used; the function's own ARN when `None`.
    pub invoked_function_arn: Option<String>,
    /// The X-Ray trace header.
    pub trace_id: Option<String>,
    /// The caller's Cognito identity.
    pub identity: Option<CognitoIdentity>,
    /// The client context, JSON text.
    pub client_context: Option<String>,
    /// The tenant id.
    pub tenant_id: Option<String>,
    /// Where to send what the handler streams as it writes it (see
    /// [`crate::response_stream`]); without it, streamed bytes come first in
    /// the payload.
    pub stream: Option<ResponseSender>,
    /// Where the invocation's own lines go as they are written, besides the
    /// host's sink (see [`crate::LineTap`]).
    pub log_tap: Option<LineTap>,
}

impl InvokeRequest {
    /// A request with this event and nothing else.
    pub fn new(payload: impl Into<Vec<u8>>) -> Self {
        InvokeRequest {
            payload: payload.into(),
            ..InvokeRequest::default()
        }
    }
}

/// What an invocation produced.
#[derive(Debug, Clone)]
pub struct Invocation {
    /// The request id.
    pub request_id: String,
    /// The response (JSON text), or the function error.
    pub result: Result<String, FunctionError>,
    /// The function's log: `START`, the guest's output, `END`, `REPORT`.
    pub log: String,
    /// The figures of the `REPORT` line.
    pub report: Report,
}

impl Invocation {
    /// The response payload exactly as Lambda returns it: the handler's
    /// response, or the error JSON.
    pub fn payload(&self) -> &str {
        match &self.result {
            Ok(response) => response,
            Err(error) => &error.payload,
        }
    }

    /// The function error, if the invocation failed.
    pub fn function_error(&self) -> Option<&FunctionError> {
        self.result.as_ref().err()
    }
}

/// A sandbox an invocation runs in: the function's warm one, or a fresh one
/// to create in its reserved slot and `/tmp`.
enum Ready {
    Warm(Sandbox),
    Reserved(Reserved),
}

/// When an invocation must end.
struct Deadline {
    at: Instant,
    /// How long the invocation may run.
    timeout: Duration,
    /// The same instant for the handler's context, in Unix milliseconds.
    unix_ms: u64,
}

impl Deadline {
    /// The function's timeout from now, or the caller's deadline when it is
    /// earlier (the Runtime API's).
    fn new(timeout: Duration, requested: Option<SystemTime>) -> Deadline {
        let started = Instant::now();
        let now = SystemTime::now();
        let mut at = started + timeout;
        if let Some(requested) = requested {
            let left = requested.duration_since(now).unwrap_or(Duration::ZERO);
            at = at.min(started + left);
        }
        let timeout = at - started;
        let unix_ms = now
            .checked_add(timeout)
            .and_then(|at| at.duration_since(UNIX_EPOCH).ok())
            .map_or(0, |since| since.as_millis() as u64);
        Deadline {
            at,
            timeout,
            unix_ms,
        }
    }
}

/// The event as the handler gets it: JSON text within Lambda's limit, `{}`
/// for an empty payload.
fn accept_event(payload: Vec<u8>) -> Result<String, InvokeError> {
    if payload.len() > MAX_REQUEST_BYTES {
        return Err(InvokeError::RequestEntityTooLarge {
            limit: MAX_REQUEST_BYTES,
        });
    }
    let payload = if payload.is_empty() {
        b"{}".to_vec()
    } else {
        payload
    };
    let event = String::from_utf8(payload)
        .map_err(|error| InvokeError::InvalidRequestContent(error.to_string()))?;
    serde_json::from_str::<serde::de::IgnoredAny>(&event)
        .map_err(|error| InvokeError::InvalidRequestContent(error.to_string()))?;
    Ok(event)
}

impl Function {
    /// Runs one invocation.
    ///
    /// A malformed or oversized event is refused with an [`InvokeError`], as
    /// Lambda's Invoke API refuses it.
    ///
    /// Call it on a Tokio runtime with time enabled, and with I/O enabled too
    /// when the function has outbound grants (its sandbox's sockets and HTTP
    /// requests are Tokio I/O). Anything the handler does — return, raise,
    /// loop, exhaust memory, trap — ends in an [`Invocation`]: its failures are
    /// function errors, and the host and other invocations carry on.
    pub async fn invoke(&self, mut request: InvokeRequest) -> Result<Invocation, InvokeError> {
        let event = accept_event(std::mem::take(&mut request.payload))?;
        let config = self.config();
        let request_id = request
            .request_id
            .take()
            .unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
        let deadline = Deadline::new(config.timeout, request.deadline);
        let stream = request.stream.take();
        let tap = request.log_tap.take();
        // Lambda gives every invocation a trace header, made up when the
        // caller sent none
        // (`context::each_invocation_sees_its_own_trace_header_in_a_reused_sandbox`).
        request.trace_id = Some(
            request
                .trace_id
                .take()
                .unwrap_or_else(environment::new_trace_header),
        );
        let context = self.handler_context(request_id.clone(), deadline.unix_ms, request);
        let running = self.enter();

        // The warm sandbox, or a fresh one; a cold start's init duration
        // includes waiting for a pool slot and the load not yet reported.
        // A sandbox made ahead and never called (`uses` 1 with it) is a
        // cold start whose instantiation was done before the request.
        let mut warm = self.take_warm();
        let uses = warm.as_ref().map_or(1, |(_, uses)| *uses);
        let cold = uses == 1;
        let made_ahead = match &mut warm {
            Some((sandbox, 1)) => {
                sandbox.set_environment(self.environment_for(context.trace_id.as_deref()));
                Some(sandbox.made_in())
            }
            _ => None,
        };
        let sink = self.inner.host.log_sink();
        let log = match &warm {
            Some((sandbox, _)) => {
                sandbox.log().set_sink(sink, tap);
                sandbox.log().clone()
            }
            None => {
                let log = LogPipe::with_logging(None, config.logging);
                log.set_sink(sink, tap);
                log
            }
        };
        // Where START, END and REPORT go (a custom runtime leaves them to
        // Lambda), and in which format.
        let platform_lines = self.inner.host.platform_lines();
        let platform = logs::PlatformLines {
            logging: config.logging,
        };
        // A cold start first reserves its pool slot and `/tmp`: an
        // invocation that gets neither never starts, so it has no log lines
        // and is not the function's error
        // (`faults::a_full_pool_throttles_instead_of_timing_out`).
        let slot_wait = Instant::now();
        let ready = match warm {
            Some((sandbox, _)) => Ready::Warm(sandbox),
            None => match Reserved::take(&self.recipe(), deadline.at).await {
                Ok(reserved) => Ready::Reserved(reserved),
                Err(NotReserved::NoSlot) => {
                    return Err(InvokeError::TooManyRequests);
                }
                Err(NotReserved::Host(error)) => {
                    tracing::error!(
                        "wasm-lambda: invocation {request_id} of {}: {error}",
                        config.name
                    );
                    return Err(InvokeError::Service(error));
                }
            },
        };
        // A cold start is a new execution environment: with JSON its
        // `platform.initStart` comes first
        // (`logging::python_logging_writes_lambdas_json_records_and_system_records`).
        if cold && let Some(line) = platform.init_start(&config.name, &config.version) {
            log.write_platform(line.as_bytes(), platform_lines);
        }
        // The load-time init phase's output comes next, once, as Lambda
        // logs the init phase before the first `START`.
        if cold && let Some(output) = self.take_unreported_init_output() {
            log.write(output.as_bytes());
        }
        if let Some(line) = platform.start(&request_id, &self.inner.arn, &config.version) {
            log.write_platform(line.as_bytes(), platform_lines);
        }
        let sandbox = match ready {
            Ready::Warm(sandbox) => Ok(sandbox),
            Ready::Reserved(reserved) => {
                let environment = self.environment_for(context.trace_id.as_deref());
                Sandbox::create(&self.recipe(), reserved, environment, &log, deadline.at).await
            }
        };
        if let Err(CallEnd::HostFailure(error)) = &sandbox {
            tracing::error!(
                "wasm-lambda: invocation {request_id} of {}: the sandbox could not be made: {error}",
                config.name
            );
            return Err(InvokeError::Service(format!(
                "the sandbox could not be made: {error}"
            )));
        }
        let init_duration = cold.then(|| {
            made_ahead.unwrap_or_else(|| slot_wait.elapsed()) + self.take_unreported_load()
        });

        // The call.
        let call_started = Instant::now();
        let (end, mut sandbox) = match sandbox {
            Ok(mut sandbox) => {
                sandbox.prepare(deadline.at, stream);
                let end = sandbox.call(&event, &context, deadline.at).await;
                (end, Some(sandbox))
            }
            Err(end) => (end, None),
        };
        let duration = call_started.elapsed();
        let facts = sandbox.as_mut().map(Sandbox::facts);
        let max_memory_bytes = facts.as_ref().map_or(0, |facts| facts.peak_memory_bytes);

        // The outcome, the log lines and the report.
        let settled = outcome::settle(
            end,
            facts,
            &Circumstances {
                request_id: &request_id,
                memory_mb: config.memory_mb,
                timeout: deadline.timeout,
                style: ErrorStyle::for_runtime(self.runtime()),
            },
        );
        if let Some(line) = &settled.log_line {
            log.write_host(line.as_bytes());
        }
        let report = Report {
            request_id: request_id.clone(),
            duration,
            memory_size_mb: config.memory_mb,
            max_memory_used_mb: (max_memory_bytes as u64).div_ceil(1 << 20),
            init_duration,
            status: settled.status,
        };
        let produced_bytes = match &settled.result {
            Ok(payload) => payload.len(),
            Err(error) => error.payload.len(),
        };
        for line in [
            platform.end(&report, produced_bytes),
            platform.report(&report),
        ]
        .into_iter()
        .flatten()
        {
            log.write_platform(line.as_bytes(), platform_lines);
        }

        let sandbox = match sandbox {
            Some(sandbox) if settled.reusable && config.reuse_instances => {
                self.keep_warm(sandbox, uses);
                None
            }
            other => other,
        };
        self.finish(running, sandbox);
        Ok(Invocation {
            request_id,
            result: settled.result,
            log: log.take(),
            report,
        })
    }

    /// The context the handler gets: the function's settings, and what the
    /// caller said in `request` (whose payload, request id and deadline the
    /// caller has already settled; they are not read here).
    pub(crate) fn handler_context(
        &self,
        request_id: String,
        deadline_ms: u64,
        request: InvokeRequest,
    ) -> bindings::Context {
        let inner = &self.inner;
        bindings::Context {
            aws_request_id: request_id,
            function_name: inner.config.name.clone(),
            function_version: inner.config.version.clone(),
            invoked_function_arn: request
                .invoked_function_arn
                .unwrap_or_else(|| inner.arn.clone()),
            memory_limit_in_mb: inner.config.memory_mb,
            log_group_name: inner.log_group_name.clone(),
            log_stream_name: inner.log_stream_name.clone(),
            deadline_ms,
            trace_id: request.trace_id,
            identity: request.identity.map(|identity| bindings::CognitoIdentity {
                cognito_identity_id: identity.identity_id,
                cognito_identity_pool_id: identity.identity_pool_id,
            }),
            client_context: request.client_context,
            tenant_id: request.tenant_id,
        }
    }

    /// One cold start split in two, for benchmarks: the time to create a
    /// fresh sandbox (slot, store, WASI context, instance) and the time of
    /// the first call. No log lines, no error rendering.
    pub async fn time_cold_start(&self, event: &str) -> anyhow::Result<(Duration, Duration)> {
        let context = self.handler_context(
            "00000000-0000-4000-8000-000000000000".into(),
            0,
            InvokeRequest::default(),
        );
        let log = LogPipe::new(None);
        let deadline = Instant::now() + self.config().timeout;
        let started = Instant::now();
        let environment = self.environment_for(None);
        let reserved = match Reserved::take(&self.recipe(), deadline).await {
            Ok(reserved) => reserved,
            Err(NotReserved::NoSlot) => anyhow::bail!("no pool slot was free"),
            Err(NotReserved::Host(error)) => anyhow::bail!(error),
        };
        let mut sandbox =
            match Sandbox::create(&self.recipe(), reserved, environment, &log, deadline).await {
                Ok(sandbox) => sandbox,
                Err(CallEnd::Trapped(error)) => return Err(error.into()),
                Err(CallEnd::HostFailure(error)) => anyhow::bail!(error),
                Err(_) => anyhow::bail!("instantiation timed out"),
            };
        let instantiated = started.elapsed();
        let called = Instant::now();
        match sandbox.call(event, &context, deadline).await {
            CallEnd::Returned(Ok(_)) => Ok((instantiated, called.elapsed())),
            CallEnd::Returned(Err(error)) => {
                anyhow::bail!("the handler failed: {}", error.error_message)
            }
            CallEnd::Oversized => anyhow::bail!("the handler's answer is over the payload limit"),
            CallEnd::HostFailure(error) => anyhow::bail!(error),
            CallEnd::Trapped(error) => Err(error.into()),
            CallEnd::TimedOut => anyhow::bail!("the handler timed out"),
        }
    }

    /// The sandbox's environment: the one computed at load, plus the trace
    /// header when the invocation has one, where Lambda's order puts it
    /// (before the configured variables).
    fn environment_for(&self, trace_id: Option<&str>) -> SandboxEnvironment {
        let inner = &self.inner;
        match trace_id {
            Some(header) => SandboxEnvironment::with_trace(
                inner.environment.clone(),
                inner.config.environment.len(),
                header,
            ),
            None => SandboxEnvironment::new(inner.environment.clone()),
        }
    }
}
