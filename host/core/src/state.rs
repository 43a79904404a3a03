//! The data of one sandbox's `Store`, and the host functions of the
//! contract (`wasm-lambda:handler/runtime` and `response-stream`) that read
//! and write it.

use std::sync::Arc;
use std::time::Instant;

use anyhow::Result;
use wasmtime::component::{Linker, ResourceTable};
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};
use wasmtime_wasi_http::{WasiHttpCtx, WasiHttpCtxView, WasiHttpView};

use crate::bindings::wasm_lambda;
use crate::environment::{EnvironmentView, SandboxEnvironment};
use crate::limits::MemoryLimiter;

/// The data of one sandbox's `Store`: its WASI context, memory cap and
/// deadline.
pub(crate) struct State {
    pub(crate) wasi: WasiCtx,
    pub(crate) table: ResourceTable,
    pub(crate) limiter: MemoryLimiter,
    /// When the current invocation times out.
    pub(crate) deadline: Instant,
    /// Set by the epoch callback when it interrupted the guest for the deadline.
    pub(crate) timed_out: bool,
    /// The sandbox's environment, which WASI's `get-environment` and the
    /// contract's `environment` answer.
    pub(crate) environment: SandboxEnvironment,
    /// Its share of the worker threads when it computes for long.
    pub(crate) slices: crate::fair::Slices,
    /// `wasi:http` state and the sandbox's outbound checks.
    pub(crate) http: WasiHttpCtx,
    pub(crate) outbound: crate::outbound::Outbound,
    /// The sandbox's `/tmp` on the host, handed back with the sandbox.
    pub(crate) scratch: crate::scratch::Scratch,
    /// What `/tmp` may still take (Lambda's ephemeral storage).
    pub(crate) storage: Arc<crate::storage::Storage>,
    /// Where the current invocation's streamed response goes.
    pub(crate) stream: crate::stream::Stream,
}

impl WasiHttpView for State {
    fn http(&mut self) -> WasiHttpCtxView<'_> {
        WasiHttpCtxView {
            ctx: &mut self.http,
            table: &mut self.table,
            hooks: &mut self.outbound,
        }
    }
}

impl crate::storage::StorageView for State {
    fn storage(&self) -> &Arc<crate::storage::Storage> {
        &self.storage
    }
}

impl crate::scratch::ScratchView for State {
    fn scratch(&mut self) -> &mut crate::scratch::Scratch {
        &mut self.scratch
    }
}

impl EnvironmentView for State {
    fn sandbox_environment(&self) -> &SandboxEnvironment {
        &self.environment
    }
}

impl WasiView for State {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

impl wasm_lambda::handler::runtime::Host for State {
    fn remaining_time_ms(&mut self) -> u64 {
        let remaining = self.deadline.saturating_duration_since(Instant::now());
        u64::try_from(remaining.as_millis()).unwrap_or(u64::MAX)
    }

    fn environment(&mut self) -> Vec<(String, String)> {
        self.environment.to_vec()
    }
}

impl wasm_lambda::handler::response_stream::Host for State {
    fn set_content_type(&mut self, content_type: String) {
        self.stream.set_content_type(content_type);
    }

    fn write(&mut self, chunk: Vec<u8>) {
        self.stream.write(chunk);
    }
}

/// Links `wasm-lambda:handler/runtime@0.1.0` for components built against
/// the first version of the contract: the same two functions as 0.2.0's
/// (0.x versions are not semver-compatible, so the linker does not map one
/// onto the other by itself).
pub(crate) fn link_runtime_0_1(linker: &mut Linker<State>) -> Result<()> {
    use wasm_lambda::handler::runtime::Host as _;
    let mut runtime = linker.instance(crate::bindings::RUNTIME_INTERFACE_0_1)?;
    runtime.func_wrap("remaining-time-ms", |mut store, (): ()| {
        Ok((store.data_mut().remaining_time_ms(),))
    })?;
    runtime.func_wrap("environment", |mut store, (): ()| {
        Ok((store.data_mut().environment(),))
    })?;
    Ok(())
}
