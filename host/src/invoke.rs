//! Running one invocation: a fresh sandbox (or the warm one), the handler
//! call under a deadline and a memory cap, and the outcome in Lambda's shapes.

use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use tokio::sync::OwnedSemaphorePermit;
use wasmtime::component::ResourceTable;
use wasmtime::{Store, Trap, UpdateDeadline};
use wasmtime_wasi::{FsPerms, WasiCtxBuilder};
use wasmtime_wasi_http::WasiHttpCtx;

use crate::bindings::{self, Handler};
use crate::environment;
use crate::error::{ErrorStyle, FunctionError, InvokeError};
use crate::function::Function;
use crate::host::State;
use crate::limits::MemoryLimiter;
use crate::logs::{self, LogPipe, Report, ReportStatus};
use crate::stream::{MAX_STREAMED_BYTES, ResponseSender, Stream};

/// Lambda's limit on a synchronous request payload.
pub const MAX_REQUEST_BYTES: usize = 6_291_456;
/// Lambda's limit on a synchronous response payload.
pub const MAX_RESPONSE_BYTES: usize = 6_291_556;

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

/// An instance kept between invocations when a function reuses instances.
pub(crate) struct WarmInstance {
    store: Store<State>,
    handler: Handler,
    log: LogPipe,
    /// Holds the instance's slot in the pool while it is idle.
    _slot: OwnedSemaphorePermit,
}

/// How the handler call ended, before it is put in Lambda's terms.
enum CallEnd {
    Returned(Result<String, bindings::HandlerError>),
    Trapped(wasmtime::Error),
    TimedOut,
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
        if request.payload.len() > MAX_REQUEST_BYTES {
            return Err(InvokeError::RequestEntityTooLarge {
                limit: MAX_REQUEST_BYTES,
            });
        }
        // Lambda hands an invocation without a payload to the handler as `{}`.
        let payload = if request.payload.is_empty() {
            b"{}".to_vec()
        } else {
            std::mem::take(&mut request.payload)
        };
        let event = String::from_utf8(payload)
            .map_err(|error| InvokeError::InvalidRequestContent(error.to_string()))?;
        serde_json::from_str::<serde::de::IgnoredAny>(&event)
            .map_err(|error| InvokeError::InvalidRequestContent(error.to_string()))?;

        let inner = &self.inner;
        let config = &inner.config;
        let request_id = request
            .request_id
            .take()
            .unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
        let started = Instant::now();
        let now = SystemTime::now();
        let mut deadline = started + config.timeout;
        if let Some(requested) = request.deadline {
            let left = requested.duration_since(now).unwrap_or(Duration::ZERO);
            deadline = deadline.min(started + left);
        }
        let timeout = deadline - started;
        let deadline_ms = now
            .checked_add(timeout)
            .and_then(|at| at.duration_since(UNIX_EPOCH).ok())
            .map_or(0, |since| since.as_millis() as u64);
        let sink = inner.host.shared.log_sink.clone();

        let stream = request.stream.take();
        let context = self.handler_context(request_id.clone(), deadline_ms, request);

        let warm = if config.reuse_instances {
            inner.warm.lock().unwrap_or_else(|e| e.into_inner()).take()
        } else {
            None
        };
        let cold = warm.is_none();
        let log = match &warm {
            Some(instance) => {
                instance.log.set_sink(sink.clone());
                instance.log.clone()
            }
            None => LogPipe::new(sink.clone()),
        };
        let platform_lines = inner.host.shared.platform_lines;
        log.write_platform(
            logs::start_line(&request_id, &config.version).as_bytes(),
            platform_lines,
        );

        let slot_wait = Instant::now();
        let prepared = match warm {
            Some(mut instance) => {
                let state = instance.store.data_mut();
                state.deadline = deadline;
                state.timed_out = false;
                state.limiter.reset_peak();
                state.slices.reset();
                Ok(instance)
            }
            None => {
                self.instantiate(&log, deadline, context.trace_id.as_deref())
                    .await
            }
        };
        let init_duration = cold.then(|| {
            let unreported = inner
                .unreported_load
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .take();
            slot_wait.elapsed() + unreported.unwrap_or_default()
        });

        let call_started = Instant::now();
        let (end, mut instance) = match prepared {
            Ok(mut instance) => {
                instance.store.data_mut().stream = Stream::new(stream);
                let call = instance
                    .handler
                    .call_handle(&mut instance.store, &event, &context);
                let end = match tokio::time::timeout_at(deadline.into(), call).await {
                    Ok(Ok(returned)) => CallEnd::Returned(returned),
                    Ok(Err(trap)) => CallEnd::Trapped(trap),
                    Err(_elapsed) => CallEnd::TimedOut,
                };
                (end, Some(instance))
            }
            Err(end) => (end, None),
        };
        let duration = call_started.elapsed();
        // The caller's channel closes here; what a caller without one was
        // not sent goes in front of the returned payload.
        let (streamed, stream_overflowed) = match instance {
            Some(ref mut instance) => {
                let stream = &mut instance.store.data_mut().stream;
                (stream.finish(), stream.overflowed)
            }
            None => (Vec::new(), false),
        };
        let end = match end {
            CallEnd::Returned(Ok(_)) if stream_overflowed => {
                CallEnd::Returned(Err(bindings::HandlerError {
                    error_type: "Function.ResponseSizeTooLarge".into(),
                    error_message: format!(
                        "Response payload size exceeded maximum allowed payload size ({MAX_STREAMED_BYTES} bytes)."
                    ),
                    stack_trace: Vec::new(),
                }))
            }
            CallEnd::Returned(Ok(response)) if !streamed.is_empty() => {
                let mut whole = String::from_utf8_lossy(&streamed).into_owned();
                whole.push_str(&response);
                CallEnd::Returned(Ok(whole))
            }
            other => other,
        };

        let timed_out = matches!(end, CallEnd::TimedOut)
            || instance.as_ref().is_some_and(|i| i.store.data().timed_out);
        let out_of_memory = instance
            .as_ref()
            .is_some_and(|i| i.store.data().limiter.exceeded())
            || matches!(&end, CallEnd::Trapped(e) if is_out_of_memory_error(e));
        let max_memory_bytes = instance
            .as_ref()
            .map_or(0, |i| i.store.data().limiter.peak_bytes());

        let (result, status, reusable) = match end {
            CallEnd::Returned(Ok(response)) if response.len() > MAX_RESPONSE_BYTES => {
                (Err(response_too_large()), ReportStatus::Success, true)
            }
            CallEnd::Returned(Ok(response)) => (Ok(response), ReportStatus::Success, true),
            // A guest refused memory at the cap usually reports it in its own
            // words (Python's `MemoryError`, JavaScript's "out of memory") or
            // traps; either way Lambda would have killed it at the cap.
            CallEnd::Trapped(_) | CallEnd::Returned(Err(_)) if out_of_memory => {
                log.write(
                    format!(
                        "RequestId: {request_id} Error: Runtime exited with error: memory limit of {} MB reached\n",
                        config.memory_mb
                    )
                    .as_bytes(),
                );
                (
                    Err(FunctionError::sandbox(
                        "Runtime.OutOfMemory",
                        format!(
                            "RequestId: {request_id} Error: Runtime exited with error: signal: killed"
                        ),
                    )),
                    ReportStatus::Error("Runtime.OutOfMemory".into()),
                    false,
                )
            }
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
                        ErrorStyle::for_runtime(inner.runtime.as_deref()),
                        &request_id,
                        error.error_type,
                        error.error_message,
                        error.stack_trace,
                    )
                });
                let error = rendered
                    .filter(|error| error.payload.len() <= MAX_RESPONSE_BYTES)
                    .unwrap_or_else(response_too_large);
                (Err(error), ReportStatus::Success, true)
            }
            _ if timed_out => {
                log.write(logs::timeout_line(&request_id, timeout).as_bytes());
                (
                    Err(FunctionError::sandbox(
                        "Sandbox.Timedout",
                        format!(
                            "RequestId: {request_id} Error: Task timed out after {:.2} seconds",
                            timeout.as_secs_f64()
                        ),
                    )),
                    ReportStatus::Timeout,
                    false,
                )
            }
            CallEnd::Trapped(error) => {
                let cause = trap_message(&error);
                log.write(
                    format!(
                        "RequestId: {request_id} Error: Runtime exited with error: {}\nRuntime.ExitError\n",
                        trap_log(&error)
                    )
                    .as_bytes(),
                );
                (
                    Err(FunctionError::sandbox(
                        "Runtime.ExitError",
                        format!(
                            "RequestId: {request_id} Error: Runtime exited with error: {cause}"
                        ),
                    )),
                    ReportStatus::Error("Runtime.ExitError".into()),
                    false,
                )
            }
            CallEnd::TimedOut => unreachable!("timeouts are handled above"),
        };

        let report = Report {
            request_id: request_id.clone(),
            duration,
            memory_size_mb: config.memory_mb,
            max_memory_used_mb: (max_memory_bytes as u64).div_ceil(1 << 20),
            init_duration,
            status,
        };
        log.write_platform(logs::end_line(&request_id).as_bytes(), platform_lines);
        log.write_platform(format!("{report}\n").as_bytes(), platform_lines);

        if reusable
            && config.reuse_instances
            && let Some(mut instance) = instance
        {
            // An idle instance holds no turn.
            instance.store.data_mut().slices.release();
            instance.log.set_sink(None);
            let mut warm = inner.warm.lock().unwrap_or_else(|e| e.into_inner());
            if warm.is_none() {
                *warm = Some(instance);
            }
        }
        Ok(Invocation {
            request_id,
            result,
            log: log.take(),
            report,
        })
    }

    /// The context the handler gets: the function's settings, and what the
    /// caller said in `request` (whose payload, request id and deadline the
    /// caller has already settled; they are not read here).
    fn handler_context(
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
    pub(crate) async fn time_cold_start(
        &self,
        event: &str,
    ) -> anyhow::Result<(Duration, Duration)> {
        let context = self.handler_context(
            "00000000-0000-4000-8000-000000000000".into(),
            0,
            InvokeRequest::default(),
        );
        let log = LogPipe::new(None);
        let deadline = Instant::now() + self.inner.config.timeout;
        let started = Instant::now();
        let mut instance = match self.instantiate(&log, deadline, None).await {
            Ok(instance) => instance,
            Err(CallEnd::Trapped(error)) => return Err(error.into()),
            Err(_) => anyhow::bail!("instantiation timed out"),
        };
        let instantiated = started.elapsed();
        let called = Instant::now();
        instance
            .handler
            .call_handle(&mut instance.store, event, &context)
            .await?
            .map_err(|error| anyhow::anyhow!("the handler failed: {}", error.error_message))?;
        Ok((instantiated, called.elapsed()))
    }

    /// Creates a fresh sandbox: a pool slot, a store with exactly Lambda's
    /// environment, and an instance of the pre-linked component.
    async fn instantiate(
        &self,
        log: &LogPipe,
        deadline: Instant,
        trace_id: Option<&str>,
    ) -> Result<WarmInstance, CallEnd> {
        let inner = &self.inner;
        let shared = &inner.host.shared;
        let slot = tokio::time::timeout_at(
            deadline.into(),
            shared.engine.instance_slots.clone().acquire_owned(),
        )
        .await
        .map_err(|_| CallEnd::TimedOut)?
        .expect("the instance semaphore is never closed");

        // Sockets only as far as the grants go; every connection is checked
        // against them (`outbound.rs`).
        let grants = &inner.grants;
        let tcp = grants.any_for_scheme("tcp");
        let udp = grants.any_for_scheme("udp");
        let mut wasi = WasiCtxBuilder::new();
        // Creating a socket is always allowed (libraries create theirs at
        // import, as the X-Ray SDK does its UDP one); binding, connecting and
        // sending are checked against the grants.
        wasi.stdout(log.clone())
            .stderr(log.clone())
            .allow_tcp(true)
            .allow_udp(true)
            .allow_ip_name_lookup(tcp || udp)
            .socket_addr_check(crate::outbound::socket_check(grants.clone(), log.clone()));
        // `/tmp`, empty and the sandbox's own; layers and data read-only.
        let scratch = shared
            .scratch
            .take()
            .map_err(|error| CallEnd::Trapped(wasmtime::Error::msg(format!("{error:#}"))))?;
        wasi.preopened_dir(scratch.path(), "/tmp", FsPerms::ReadWrite)
            .map_err(CallEnd::Trapped)?;
        for (source, path) in inner.files.iter().flat_map(|files| &files.mounts) {
            wasi.preopened_dir(source, path, FsPerms::ReadOnly)
                .map_err(CallEnd::Trapped)?;
        }
        for mount in &inner.config.mounts {
            wasi.preopened_dir(&mount.source, &mount.destination, FsPerms::ReadOnly)
                .map_err(CallEnd::Trapped)?;
        }
        // The environment computed at load, plus the trace header when the
        // invocation has one.
        let variables = match trace_id {
            None => inner.environment.clone(),
            Some(trace_id) => Arc::new(environment::variables(
                &inner.config,
                &inner.log_stream_name,
                inner.runtime.as_deref(),
                Some(trace_id),
            )),
        };
        wasi.envs(&variables);
        let memory_limit = inner.config.memory_mb as usize * (1 << 20);
        let mut store = Store::new(
            &shared.engine.engine,
            State {
                wasi: wasi.build(),
                table: ResourceTable::new(),
                limiter: MemoryLimiter::new(memory_limit),
                deadline,
                timed_out: false,
                environment: variables,
                slices: crate::fair::Slices::default(),
                http: WasiHttpCtx::new(),
                outbound: crate::outbound::Outbound {
                    grants: grants.clone(),
                    tls: shared.tls(),
                    connections: Arc::new(tokio::sync::Semaphore::new(
                        inner.config.max_outbound_connections,
                    )),
                    log: log.clone(),
                },
                storage: crate::storage::Storage::new(
                    scratch.path(),
                    u64::from(inner.config.ephemeral_storage_mb) << 20,
                ),
                _scratch: scratch,
                stream: Stream::default(),
            },
        );
        store.limiter(|state| &mut state.limiter);
        // Every epoch tick checks the wall clock: past the deadline the guest
        // is interrupted, otherwise it yields so other invocations (and the
        // async timeout) get to run; a guest that computes for long takes
        // turns with the others (see `fair.rs`).
        store.set_epoch_deadline(1);
        let turns = shared.engine.turns.clone();
        store.epoch_deadline_callback(move |mut store| {
            let state = store.data_mut();
            if Instant::now() >= state.deadline {
                state.timed_out = true;
                Ok(UpdateDeadline::Interrupt)
            } else {
                Ok(state.slices.at_tick(&turns))
            }
        });

        let instantiated =
            tokio::time::timeout_at(deadline.into(), inner.pre.instantiate_async(&mut store)).await;
        let handler = match instantiated {
            Err(_elapsed) => return Err(CallEnd::TimedOut),
            Ok(Err(error)) => return Err(CallEnd::Trapped(error)),
            Ok(Ok(handler)) => handler,
        };
        Ok(WarmInstance {
            store,
            handler,
            log: log.clone(),
            _slot: slot,
        })
    }
}

/// Lambda's answer to a response, or an error JSON, over the payload limit.
fn response_too_large() -> FunctionError {
    FunctionError::sandbox(
        "Function.ResponseSizeTooLarge",
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
    match error.downcast_ref::<Trap>() {
        // A trap's own text already reads "wasm trap: ...".
        Some(trap) => trap.to_string(),
        None => error.root_cause().to_string(),
    }
}
