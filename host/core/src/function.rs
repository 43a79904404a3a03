//! A loaded function: its configuration, its pre-linked component and the
//! sandbox it keeps warm when it reuses instances. Loading is `load.rs`,
//! running an invocation `invoke.rs`.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::bindings::HandlerPre;
use crate::cache::LoadSource;
use crate::capabilities::Prepared;
use crate::config::FunctionConfig;
use crate::environment::SandboxEnvironment;
use crate::grants::AllowedHosts;
use crate::host::Host;
use crate::logs::LogPipe;
use crate::sandbox::{Recipe, Reserved, Sandbox, WarmCell};
use crate::state::State;

/// How a function's component was made ready.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LoadInfo {
    /// Cache hit, fresh compile, or shared with a function this host holds.
    pub source: LoadSource,
    /// Time to read, verify and load (or compile) the component and link it.
    pub duration: Duration,
    /// Whether the init phase ran at load and sandboxes start from its
    /// snapshot: `Cache` when an earlier snapshot (of this component in
    /// this environment, credentials aside) was reused, `Resident` when a
    /// function this host still holds has it loaded, `Compiled` when it
    /// was taken now; `None` when the init phase runs in each sandbox.
    pub snapshot: Option<LoadSource>,
}

/// A loaded function. Cheap to clone; clones share the loaded component and
/// the warm instance.
#[derive(Clone)]
pub struct Function {
    pub(crate) inner: Arc<FunctionInner>,
}

pub(crate) struct FunctionInner {
    pub(crate) host: Host,
    pub(crate) config: FunctionConfig,
    pub(crate) pre: HandlerPre<State>,
    /// The component `pre` was linked from, held so that a later load of
    /// the same bytes shares it (`cache::Resident`).
    pub(crate) component: Arc<wasmtime::component::Component>,
    /// The handles to preopened folders that `pre`'s snapshot kept.
    pub(crate) preopens: Vec<crate::scratch::KeptPreopen>,
    pub(crate) runtime: Option<String>,
    /// The files the component carries, unpacked, mounted read-only.
    pub(crate) files: Option<crate::files::Files>,
    pub(crate) log_stream_name: String,
    /// Computed once at load, not per invocation: the function's ARN, log
    /// group and environment (without `_X_AMZN_TRACE_ID`, which varies).
    pub(crate) arn: String,
    pub(crate) log_group_name: String,
    pub(crate) environment: Arc<Vec<(String, String)>>,
    /// The key of a snapshot of this function's init phase: its
    /// component's hash and its environment without the credentials.
    pub(crate) snapshot_key: blake3::Hash,
    /// The outbound grants, shared by the function's sandboxes.
    pub(crate) grants: Arc<AllowedHosts>,
    pub(crate) load: LoadInfo,
    /// Load time not yet reported: the first cold start pays it in its
    /// `Init Duration`, as Lambda's first invocation pays the runtime's init.
    pub(crate) unreported_load: Mutex<Option<Duration>>,
    /// What the load-time init phase printed, not yet logged: the first cold
    /// start's log shows it before its `START` line, as Lambda's does.
    pub(crate) unreported_init_output: Mutex<Option<String>>,
    /// The idle sandbox kept for the next invocation: the last one used
    /// (`reuse_instances`), or one made ahead and never called.
    pub(crate) warm: Arc<WarmCell>,
    /// The task making a sandbox ahead for the next invocation
    /// ([`Function::finish`]).
    pub(crate) making: Mutex<Option<tokio::task::JoinHandle<()>>>,
    /// Invocations running now.
    pub(crate) running: AtomicUsize,
    /// Invocations started so far.
    pub(crate) started: AtomicUsize,
}

/// An invocation counted as running; see [`Function::enter`].
pub(crate) struct Running<'a> {
    function: &'a Function,
    left: bool,
}

impl Running<'_> {
    /// Whether it was the function's last running invocation.
    fn leave(mut self) -> bool {
        self.left = true;
        self.function.inner.running.fetch_sub(1, Ordering::AcqRel) == 1
    }
}

/// An invocation that ends early (refused, throttled) is no longer running.
impl Drop for Running<'_> {
    fn drop(&mut self) {
        if !self.left {
            self.function.inner.running.fetch_sub(1, Ordering::AcqRel);
        }
    }
}

impl FunctionInner {
    /// What a fresh sandbox of this function is made of.
    pub(crate) fn recipe(&self) -> Recipe<'_> {
        Recipe {
            engine: self.host.engine(),
            scratch: self.host.scratch(),
            warm: self.host.warm(),
            pre: &self.pre,
            preopens: &self.preopens,
            capabilities: Prepared {
                grants: &self.grants,
                tls: self.host.tls(),
                max_outbound_connections: self.config.max_outbound_connections,
                files: self.files.as_ref(),
                mounts: &self.config.mounts,
                memory_bytes: self.config.memory_mb as usize * (1 << 20),
                ephemeral_storage_bytes: u64::from(self.config.ephemeral_storage_mb) << 20,
            },
        }
    }
}

impl Function {
    /// The function's configuration.
    pub fn config(&self) -> &FunctionConfig {
        &self.inner.config
    }

    /// The language runtime the component was built with (`rust`,
    /// `python3.14`, ...), when its build recorded one.
    pub fn runtime(&self) -> Option<&str> {
        self.inner.runtime.as_deref()
    }

    /// How the component was loaded.
    pub fn load_info(&self) -> LoadInfo {
        self.inner.load
    }

    /// The files the component carries, as this host mounts them read-only
    /// in every sandbox: each folder on this host and the guest path it is
    /// mounted at (a folder mounted at several paths appears once per path).
    /// In a host's cache, a folder is stored once by the hash of its
    /// contents and shared by every function that carries it
    /// ([`crate::files`]).
    pub fn files(&self) -> Vec<(std::path::PathBuf, String)> {
        self.inner
            .files
            .as_ref()
            .map(|files| files.mounts.clone())
            .unwrap_or_default()
    }

    /// The environment the function's init phase runs in, as a snapshot of
    /// it is keyed: the function's variables without the credentials (each
    /// sandbox gets its own) and the log stream name (new at every load).
    pub fn snapshot_environment(&self) -> Vec<(String, String)> {
        crate::environment::without_credentials(&self.inner.environment)
            .into_iter()
            .filter(|(name, _)| name != crate::snapshot::PER_LOAD_VARIABLE)
            .collect()
    }

    /// The log stream name of this function's execution environment.
    pub fn log_stream_name(&self) -> &str {
        &self.inner.log_stream_name
    }

    /// What a fresh sandbox of this function is made of.
    pub(crate) fn recipe(&self) -> Recipe<'_> {
        self.inner.recipe()
    }

    /// The idle sandbox and how many invocations it will have served with
    /// this one: the warm one of a function that reuses instances, or one
    /// made ahead (1: never called before).
    pub(crate) fn take_warm(&self) -> Option<(Sandbox, u32)> {
        crate::sandbox::unpark(&self.inner.warm)
    }

    /// Counts an invocation of the function as running until
    /// [`Function::finish`].
    pub(crate) fn enter(&self) -> Running<'_> {
        self.inner.running.fetch_add(1, Ordering::AcqRel);
        self.inner.started.fetch_add(1, Ordering::AcqRel);
        Running {
            function: self,
            left: false,
        }
    }

    /// Ends an invocation that ran in a fresh sandbox, `used` (`None` when
    /// the sandbox was kept warm or never made).
    ///
    /// After the function's last running invocation, when the host makes
    /// sandboxes ahead ([`HostConfig::ready_sandboxes`]) and the function
    /// does not reuse instances, a task drops `used` and makes the next
    /// invocation's sandbox, both off the request path: the answer is not
    /// held up by the teardown, and the next cold start finds its instance
    /// made. At most one is made or waiting per function; it takes only a
    /// free pool slot, never waits for one, and gives its slot back to a
    /// full pool as a warm sandbox does. While other invocations of the
    /// function run, or another starts before the task's turn comes, the
    /// host is busy and nothing is made ahead: under load the work would
    /// only move to a task of its own, and a sandbox made on one thread and
    /// called on another cost more than it saved (`benches/README.md`, "A
    /// sandbox made ahead").
    ///
    /// [`HostConfig::ready_sandboxes`]: crate::HostConfig::ready_sandboxes
    pub(crate) fn finish(&self, running: Running<'_>, used: Option<Sandbox>) {
        let last = running.leave();
        let inner = &self.inner;
        if !last || inner.config.reuse_instances || !inner.host.ready_sandboxes() {
            return;
        }
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return;
        };
        let mut making = inner.making.lock().unwrap_or_else(|e| e.into_inner());
        if making.as_ref().is_some_and(|task| !task.is_finished())
            || inner
                .warm
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .is_some()
        {
            return;
        }
        // On a runtime of one thread the task runs only while the caller
        // drives the runtime (as `sandbox_ready` does): `used` is dropped
        // here, so that no pool slot waits on a runtime nobody drives.
        let used = match runtime.runtime_flavor() {
            tokio::runtime::RuntimeFlavor::CurrentThread => {
                drop(used);
                None
            }
            _ => used,
        };
        let function = self.clone();
        let started = inner.started.load(Ordering::Acquire);
        *making = Some(runtime.spawn(async move {
            // Whatever else is ready to run goes first: when that starts
            // another invocation, the host is busy, and the next cold
            // start is left to make its own sandbox.
            tokio::task::yield_now().await;
            let busy = function.inner.started.load(Ordering::Acquire) != started;
            // Before the new one, so that it can have the slot this frees
            // (wasmtime's pool gives a module the slot it last used).
            drop(used);
            if !busy {
                function.make_ahead().await;
            }
        }));
    }

    /// Makes a sandbox for the next invocation and parks it, unless no
    /// pool slot is free.
    async fn make_ahead(&self) {
        let inner = &self.inner;
        let recipe = inner.recipe();
        let Some(reserved) = Reserved::try_take(&recipe) else {
            return;
        };
        // The trace header is the invocation's: it is set when the
        // sandbox is taken (`invoke.rs`).
        let environment = SandboxEnvironment::new(inner.environment.clone());
        let log = LogPipe::with_logging(None, inner.config.logging);
        let deadline = Instant::now() + inner.config.timeout;
        // A sandbox that cannot be made now is made by the invocation, which
        // reports why.
        if let Ok(sandbox) = Sandbox::create(&recipe, reserved, environment, &log, deadline).await {
            inner.host.warm().park(&inner.warm, sandbox, 0);
        }
    }

    /// Waits until the sandbox being made ahead for the next invocation
    /// (see [`HostConfig::ready_sandboxes`]) is made; whether one waits.
    ///
    /// A custom runtime calls it after posting an answer and before asking
    /// for the next event, so the sandbox is made while the process waits.
    ///
    /// ```no_run
    /// # async fn run(function: wasm_lambda_core::Function) -> anyhow::Result<()> {
    /// let invocation = function.invoke(wasm_lambda_core::InvokeRequest::new("{}")).await?;
    /// // ... answer with invocation.payload() ...
    /// let ready = function.sandbox_ready().await;
    /// # Ok(()) }
    /// ```
    ///
    /// [`HostConfig::ready_sandboxes`]: crate::HostConfig::ready_sandboxes
    pub async fn sandbox_ready(&self) -> bool {
        let making = self
            .inner
            .making
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take();
        if let Some(task) = making {
            let _ = task.await;
        }
        !self.inner.config.reuse_instances
            && self
                .inner
                .warm
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .is_some()
    }

    /// Keeps `sandbox` (which has served `uses` invocations) for the next
    /// invocation of a function that reuses instances (the caller checks);
    /// see [`crate::sandbox::WarmPool::park`].
    pub(crate) fn keep_warm(&self, sandbox: Sandbox, uses: u32) {
        self.inner.host.warm().park(&self.inner.warm, sandbox, uses);
    }

    /// What the load-time init phase printed, for the first cold start's
    /// log; `None` after that.
    pub(crate) fn take_unreported_init_output(&self) -> Option<String> {
        self.inner
            .unreported_init_output
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take()
    }

    /// The load time the first cold start reports in its `Init Duration`;
    /// zero after that.
    pub(crate) fn take_unreported_load(&self) -> Duration {
        self.inner
            .unreported_load
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take()
            .unwrap_or_default()
    }
}
