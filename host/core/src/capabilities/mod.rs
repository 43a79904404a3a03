//! A sandbox's capabilities: each kind of host access a sandbox has, as one
//! module behind one small trait, [`Capability`].
//!
//! A capability takes what it needs of the function from [`Prepared`] (made
//! once per function, at load, by `Function::recipe`), adds what it grants
//! to every new sandbox's WASI context and its part of the store's state
//! ([`Equipment`], in [`Capability::equip`]), and adds its host functions to
//! the host's linker once ([`Capability::link`]). `Sandbox::create` and
//! `Host::new` walk [`all`]; nothing else names a capability.
//!
//! | module | what the sandbox gets |
//! | --- | --- |
//! | `network.rs` | sockets and `wasi:http`, checked against the function's grants (`outbound.rs`, `grants.rs`) |
//! | `tmp.rs` | its own empty `/tmp` (`scratch.rs`) and the cap on what it may store there (`storage.rs`) |
//! | `mounts.rs` | the files the component carries and the configured folders, read-only |
//! | `memory.rs` | the memory cap and `Max Memory Used` (`limits.rs`) |
//!
//! AWS credentials reach a sandbox as environment variables, which the
//! function's environment carries (`environment.rs`), and through the
//! credentials endpoint the network capability answers itself
//! (`outbound.rs`), where SDK clients made in the init phase find them.
//!
//! Adding a capability is a module here implementing [`Capability`], its
//! line in [`all`], and, when it keeps state in the store, a field of
//! [`Parts`] and of `State` (`state.rs`).

use std::sync::Arc;

use wasmtime::component::Linker;
use wasmtime_wasi::WasiCtxBuilder;

use crate::config::Mount;
use crate::files::Files;
use crate::grants::AllowedHosts;
use crate::limits::MemoryLimiter;
use crate::logs::LogPipe;
use crate::outbound::Outbound;
use crate::scratch::{Scratch, ScratchView};
use crate::storage::{Storage, StorageView};

mod memory;
mod mounts;
mod network;
mod tmp;

/// What the capabilities need of one function, made once when it is loaded.
#[derive(Clone)]
pub(crate) struct Prepared<'a> {
    /// Where the handler may connect.
    pub(crate) grants: &'a Arc<AllowedHosts>,
    /// The TLS client settings of its HTTPS requests (the host's).
    pub(crate) tls: Arc<rustls::ClientConfig>,
    /// How many outbound requests one invocation may have in flight.
    pub(crate) max_outbound_connections: usize,
    /// The files the component carries, mounted read-only.
    pub(crate) files: Option<&'a Files>,
    /// Folders the configuration mounts read-only (layers, data).
    pub(crate) mounts: &'a [Mount],
    /// The memory cap.
    pub(crate) memory_bytes: usize,
    /// The `/tmp` cap.
    pub(crate) ephemeral_storage_bytes: u64,
}

/// A sandbox being made: its WASI context, its log, its `/tmp` folder, and
/// the parts of its state the capabilities fill.
pub(crate) struct Equipment<'a> {
    pub(crate) wasi: &'a mut WasiCtxBuilder,
    /// The sandbox's environment.
    pub(crate) environment: &'a [(String, String)],
    pub(crate) log: &'a LogPipe,
    pub(crate) scratch: &'a Scratch,
    pub(crate) parts: Parts,
}

/// The capabilities' parts of a sandbox's state (`State`), each filled by
/// the capability that owns it.
#[derive(Default)]
pub(crate) struct Parts {
    pub(crate) outbound: Option<Outbound>,
    pub(crate) storage: Option<Arc<Storage>>,
    pub(crate) limiter: Option<MemoryLimiter>,
}

/// One kind of host access a sandbox has, for stores whose data is `T`.
pub(crate) trait Capability<T>: Sync {
    /// Adds its host functions to the linker every sandbox is made with;
    /// once per host.
    fn link(&self, _linker: &mut Linker<T>) -> anyhow::Result<()> {
        Ok(())
    }

    /// Gives a new sandbox what this capability grants it; an error is the
    /// host's (a folder that cannot be mounted), not the handler's.
    fn equip(&self, prepared: &Prepared<'_>, sandbox: &mut Equipment<'_>) -> anyhow::Result<()>;
}

/// What a store's data must offer every capability.
pub(crate) trait CapabilityViews:
    StorageView + ScratchView + wasmtime_wasi_http::WasiHttpView
{
}

impl<T: StorageView + ScratchView + wasmtime_wasi_http::WasiHttpView> CapabilityViews for T {}

/// Every capability, in the order sandboxes are equipped and the linker is
/// extended.
pub(crate) fn all<T: CapabilityViews>() -> [&'static dyn Capability<T>; 4] {
    [
        &network::Network,
        &tmp::Tmp,
        &mounts::Mounts,
        &memory::Memory,
    ]
}
