//! The least an embedder of wasmtime does to run a handler, for measuring
//! what the host adds on top (`benches/benches/cold_start.rs`,
//! `host_overhead`).
//!
//! A [`Bare`] runs a loaded function's own compiled component on the host's
//! own engine (the same pooling allocator, the same compiled code), but
//! through a linker of its own with nothing but WASI 0.2 and the contract's
//! two interfaces answered by constants: a store with an empty WASI context,
//! an instance, one call of `handle`, and the store dropped. No event check,
//! request id, trace header, capabilities, deadline, memory cap, log lines,
//! report or error rendering: the host's cold invocation
//! ([`Function::invoke`]) less this is the host's own overhead.
//!
//! ```no_run
//! # async fn example(function: &wasm_lambda_core::Function) -> anyhow::Result<()> {
//! let bare = wasm_lambda_core::bare::Bare::new(function)?;
//! let answer = bare.invoke(r#"{"action":"increment","number":3}"#).await?;
//! # Ok(()) }
//! ```

use anyhow::{Context as _, Result, bail};
use wasmtime::component::{HasSelf, Linker, ResourceTable};
use wasmtime::{Engine, Store};
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};

use crate::Function;
use crate::bindings::{Context, Handler, HandlerPre, wasm_lambda};

/// A store's data: WASI and its handle table, nothing else.
struct BareState {
    wasi: WasiCtx,
    table: ResourceTable,
}

impl WasiView for BareState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

impl wasm_lambda::handler::runtime::Host for BareState {
    fn remaining_time_ms(&mut self) -> u64 {
        3_000
    }

    fn environment(&mut self) -> Vec<(String, String)> {
        Vec::new()
    }
}

impl wasm_lambda::handler::response_stream::Host for BareState {
    fn set_content_type(&mut self, _content_type: String) {}

    fn write(&mut self, _chunk: Vec<u8>) {}
}

/// A function's component, ready to be run the bare way.
pub struct Bare {
    engine: Engine,
    pre: HandlerPre<BareState>,
    context: Context,
}

impl Bare {
    /// Links `function`'s compiled component against WASI 0.2 and constant
    /// contract imports; fails for a component that imports more (wasi:http,
    /// the 0.1.0 contract).
    pub fn new(function: &Function) -> Result<Bare> {
        let inner = &function.inner;
        let engine = inner.host.engine().engine.clone();
        let mut linker = Linker::new(&engine);
        wasmtime_wasi::p2::add_to_linker_async(&mut linker).map_err(anyhow::Error::from)?;
        Handler::add_to_linker::<BareState, HasSelf<BareState>>(&mut linker, |state| state)
            .map_err(anyhow::Error::from)?;
        let component = inner.pre.instance_pre().component();
        let pre = linker
            .instantiate_pre(component)
            .map_err(anyhow::Error::from)
            .context("the component imports more than WASI 0.2 and the contract")?;
        let context = function.handler_context(
            "00000000-0000-4000-8000-000000000000".into(),
            0,
            crate::InvokeRequest::default(),
        );
        Ok(Bare {
            engine,
            pre: HandlerPre::new(pre).map_err(anyhow::Error::from)?,
            context,
        })
    }

    /// One cold start: a fresh store and instance, one call of `handle`
    /// with `event`, and the store dropped. Answers the handler's payload.
    pub async fn invoke(&self, event: &str) -> Result<String> {
        let mut store = Store::new(
            &self.engine,
            BareState {
                wasi: WasiCtx::builder().build(),
                table: ResourceTable::new(),
            },
        );
        // The engine interrupts on epochs; a deadline out of reach keeps
        // this store from being interrupted at all.
        store.set_epoch_deadline(u64::MAX / 2);
        let handler = self
            .pre
            .instantiate_async(&mut store)
            .await
            .map_err(anyhow::Error::from)?;
        let returned = handler
            .call_handle(&mut store, event, &self.context)
            .await
            .map_err(anyhow::Error::from)?;
        match returned {
            Ok(payload) => Ok(payload),
            Err(error) => bail!("the handler failed: {}", error.error_message),
        }
    }
}
