//! The host: one engine, one linker and one artifact cache, shared by every
//! function it loads.

use std::path::PathBuf;
use std::sync::{Arc, OnceLock};

use anyhow::{Context as _, Result};
use wasmtime::component::{HasSelf, Linker};

use crate::bindings::Handler;
use crate::cache::{ArtifactCache, default_cache_dir};
use crate::engine::{Allocator, EngineConfig, SharedEngine};
use crate::logs::LogSink;
use crate::state::{State, link_runtime_0_1};

/// How to set up a [`Host`].
#[derive(Clone)]
pub struct HostConfig {
    /// Engine settings: instance pool size and allocator.
    pub engine: EngineConfig,
    /// Where precompiled components are cached; `None` compiles every load
    /// of a component that no function of this host holds (one a function
    /// holds is shared, [`LoadSource::Resident`](crate::LoadSource::Resident)).
    pub cache_dir: Option<PathBuf>,
    /// How many bytes the cache may hold before the entries used longest
    /// ago are removed ([`default_cache_budget`](crate::default_cache_budget)).
    pub cache_budget: u64,
    /// Where function logs are streamed while invocations run, besides being
    /// captured in each [`Invocation`](crate::Invocation).
    pub log_sink: Option<LogSink>,
    /// Folders of precompiled artifacts to look in before `cache_dir`,
    /// never written to (a deployment package's `artifacts/`).
    pub read_only_cache_dirs: Vec<PathBuf>,
    /// Whether the sink also gets the `START`, `END` and `REPORT` lines.
    /// Off in custom-runtime mode, where Lambda writes them itself; they are
    /// always in the captured log.
    pub platform_lines: bool,
    /// A PEM file of CA certificates that handlers' HTTPS requests trust
    /// besides the system's trust store (a local test CA, a corporate proxy).
    pub extra_ca_file: Option<PathBuf>,
    /// Whether a load may run the init phase to make a snapshot, or only
    /// uses one made before.
    pub snapshots: Snapshots,
    /// Whether a function that does not reuse instances has the sandbox of
    /// its next invocation made ahead, off the request path, once its
    /// running invocations have ended (see [`Function::sandbox_ready`]).
    /// Each such invocation is still a cold start in a fresh sandbox, with
    /// its `Init Duration` (the time the sandbox took to make); what moves
    /// is when the instance is made. A waiting sandbox holds a pool slot
    /// and a `/tmp` folder until it is used, taken back by a full pool, or
    /// idle for two minutes. `serve` and the custom runtime turn it on.
    ///
    /// [`Function::sandbox_ready`]: crate::Function::sandbox_ready
    pub ready_sandboxes: bool,
}

/// When a function with an init phase is snapshotted (`snapshot.rs`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Snapshots {
    /// A load uses the snapshot cached for the function's component and
    /// environment, or runs the init phase once and snapshots it.
    #[default]
    Make,
    /// A load uses a snapshot found in the read-only folders or the cache
    /// (one a deployment package carries) and otherwise runs the init phase
    /// in every sandbox: making a snapshot compiles the component again,
    /// seconds that a custom runtime's cold start cannot spend.
    ExistingOnly,
}

impl Default for HostConfig {
    fn default() -> Self {
        HostConfig {
            engine: EngineConfig::default(),
            cache_dir: Some(default_cache_dir()),
            cache_budget: crate::default_cache_budget(),
            log_sink: None,
            read_only_cache_dirs: Vec::new(),
            platform_lines: true,
            extra_ca_file: None,
            snapshots: Snapshots::Make,
            ready_sandboxes: false,
        }
    }
}

/// Runs handler components. Create one per process and load functions from it.
///
/// Cloning is cheap: clones share the engine, linker and cache.
#[derive(Clone)]
pub struct Host {
    pub(crate) shared: Arc<HostShared>,
}

pub(crate) struct HostShared {
    pub(crate) engine: SharedEngine,
    pub(crate) linker: Linker<State>,
    pub(crate) cache: ArtifactCache,
    pub(crate) log_sink: Option<LogSink>,
    pub(crate) platform_lines: bool,
    pub(crate) snapshots: Snapshots,
    pub(crate) ready_sandboxes: bool,
    /// The TLS settings of outbound HTTPS: built at start when an extra CA
    /// file is given (so a bad file is an error at once), else on the first
    /// request, since reading the system's trust store takes milliseconds.
    tls: OnceLock<Arc<rustls::ClientConfig>>,
    /// Each sandbox's `/tmp`.
    pub(crate) scratch: crate::scratch::ScratchPool,
    /// Every function's idle sandbox.
    pub(crate) warm: crate::sandbox::WarmPool,
    /// The resident snapshots, by snapshot key, with what each one's init
    /// phase printed and kept: a load that shares a snapshot need not read
    /// its entry for them.
    pub(crate) snapshots_resident:
        crate::cache::Resident<blake3::Hash, crate::snapshot::EntryFacts>,
}

impl HostShared {
    /// The TLS client settings; see [`HostShared::tls`].
    pub(crate) fn tls(&self) -> Arc<rustls::ClientConfig> {
        self.tls
            .get_or_init(|| {
                // Without an extra CA file nothing can fail: unreadable system
                // certificates are skipped, and ring supports the default
                // protocol versions.
                crate::outbound::tls_config(None)
                    .expect("the system roots always make a TLS config")
            })
            .clone()
    }
}

impl Host {
    /// Creates the engine (pooling allocator when possible), links WASI 0.2
    /// and the `wasm-lambda:handler/runtime` interface, and starts the epoch
    /// ticker that enforces timeouts.
    pub fn new(config: HostConfig) -> Result<Host> {
        let engine = SharedEngine::new(&config.engine, config.cache_dir.as_deref())?;
        let mut linker = Linker::new(&engine.engine);
        wasmtime_wasi::p2::add_to_linker_async(&mut linker)
            .map_err(anyhow::Error::from)
            .context("failed to link WASI")?;
        crate::environment::add_to_linker(&mut linker)
            .context("failed to link the sandbox's environment")?;
        // What each capability adds (`capabilities/`): wasi:http, the /tmp
        // cap and the sandbox's /tmp among its preopened folders.
        for capability in crate::capabilities::all::<State>() {
            capability.link(&mut linker)?;
        }
        Handler::add_to_linker::<State, HasSelf<State>>(&mut linker, |state| state)
            .map_err(anyhow::Error::from)
            .context("failed to link the wasm-lambda runtime interface")?;
        link_runtime_0_1(&mut linker).context("failed to link the 0.1.0 runtime interface")?;
        let tls = OnceLock::new();
        if let Some(path) = &config.extra_ca_file {
            let _ = tls.set(crate::outbound::tls_config(Some(path))?);
        }
        // One folder per user: another user's folder of the same name is not
        // ours to write in.
        // SAFETY: geteuid has no preconditions and cannot fail.
        let uid = unsafe { libc::geteuid() };
        let scratch_root = std::env::temp_dir().join(format!("wasm-lambda-scratch-{uid}"));
        crate::scratch::create_root(&scratch_root)?;
        Ok(Host {
            shared: Arc::new(HostShared {
                engine,
                linker,
                cache: ArtifactCache::new(
                    config.cache_dir,
                    config.read_only_cache_dirs,
                    config.cache_budget,
                ),
                log_sink: config.log_sink,
                platform_lines: config.platform_lines,
                snapshots: config.snapshots,
                ready_sandboxes: config.ready_sandboxes,
                tls,
                scratch: crate::scratch::ScratchPool::new(scratch_root),
                warm: crate::sandbox::WarmPool::default(),
                snapshots_resident: Default::default(),
            }),
        })
    }

    /// The instance allocator the engine runs with.
    pub fn allocator(&self) -> Allocator {
        self.shared.engine.allocator
    }

    /// The engine every function's sandboxes run on.
    pub(crate) fn engine(&self) -> &SharedEngine {
        &self.shared.engine
    }

    /// The pool of sandboxes' `/tmp` folders.
    pub(crate) fn scratch(&self) -> &crate::scratch::ScratchPool {
        &self.shared.scratch
    }

    /// The TLS client settings of handlers' HTTPS requests.
    pub(crate) fn tls(&self) -> Arc<rustls::ClientConfig> {
        self.shared.tls()
    }

    /// Whether functions have their next sandbox made ahead.
    pub(crate) fn ready_sandboxes(&self) -> bool {
        self.shared.ready_sandboxes
    }

    /// Every function's idle sandbox.
    pub(crate) fn warm(&self) -> &crate::sandbox::WarmPool {
        &self.shared.warm
    }

    /// Where function logs are streamed while invocations run (what
    /// [`HostConfig::log_sink`] gave). A server writes what belongs in a
    /// function's log beside its invocations' lines through it, such as
    /// the output of the function's extensions.
    pub fn log_sink(&self) -> Option<LogSink> {
        self.shared.log_sink.clone()
    }

    /// Whether the sink gets the `START`, `END` and `REPORT` lines.
    pub(crate) fn platform_lines(&self) -> bool {
        self.shared.platform_lines
    }
}
