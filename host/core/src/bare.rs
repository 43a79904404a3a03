//! The least an embedder of wasmtime does to run a handler, for measuring
//! what the host adds on top (`benches/benches/cold_start.rs`,
//! `host_overhead`).
//!
//! A [`Bare`] runs a loaded function's own compiled component on the host's
//! own engine (the same pooling allocator, the same compiled code), but
//! through a linker of its own with nothing but WASI 0.2 and the contract's
//! two interfaces: a store, an instance, one call of `handle`, and the store
//! dropped. No event check, request id, trace header, per-sandbox `/tmp`,
//! network or storage caps, deadline, memory cap, log lines, report or error
//! rendering: the host's cold invocation ([`Function::invoke`]) less this is
//! the host's own overhead.
//!
//! The store's WASI context is either empty ([`BareWorld::Empty`]: the
//! least there is to do) or holds what the guest finds in the host
//! ([`BareWorld::AsHosted`]: the function's environment variables and a
//! `/tmp` folder, one for every store). A guest whose start-up reads them
//! (Go's runtime, wasi-libc's) does more work with them; the second is
//! the fair baseline for the host's own code.
//!
//! ```no_run
//! # async fn example(function: &wasm_lambda_core::Function) -> anyhow::Result<()> {
//! use wasm_lambda_core::bare::{Bare, BareWorld};
//! let bare = Bare::new(function, BareWorld::AsHosted)?;
//! let answer = bare.invoke(r#"{"action":"increment","number":3}"#).await?;
//! # Ok(()) }
//! ```

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use anyhow::{Context as _, Result, bail};
use wasmtime::component::{HasSelf, Linker, ResourceTable};
use wasmtime::{Engine, Store};
use wasmtime_wasi::{FsPerms, WasiCtx, WasiCtxView, WasiView};

use crate::Function;
use crate::bindings::{Context, Handler, HandlerPre, wasm_lambda};

/// A store's data: WASI and its handle table, nothing else.
struct BareState {
    wasi: WasiCtx,
    table: ResourceTable,
    environment: Arc<Vec<(String, String)>>,
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
        self.environment.as_ref().clone()
    }
}

impl wasm_lambda::handler::response_stream::Host for BareState {
    fn set_content_type(&mut self, _content_type: String) {}

    fn write(&mut self, _chunk: Vec<u8>) {}
}

/// What a bare store's WASI context holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BareWorld {
    /// Nothing: no variables, no folders.
    Empty,
    /// The function's environment variables and a preopened `/tmp`.
    AsHosted,
}

/// A function's component, ready to be run the bare way.
pub struct Bare {
    engine: Engine,
    pre: HandlerPre<BareState>,
    context: Context,
    environment: Arc<Vec<(String, String)>>,
    /// The `/tmp` folder of [`BareWorld::AsHosted`], removed with the `Bare`.
    tmp: Option<PathBuf>,
}

impl Drop for Bare {
    fn drop(&mut self) {
        if let Some(tmp) = &self.tmp {
            let _ = std::fs::remove_dir_all(tmp);
        }
    }
}

impl Bare {
    /// Links `function`'s compiled component against WASI 0.2 and the
    /// contract's imports; fails for a component that imports more
    /// (wasi:http, the 0.1.0 contract).
    pub fn new(function: &Function, world: BareWorld) -> Result<Bare> {
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
        let (environment, tmp) = match world {
            BareWorld::Empty => (Arc::default(), None),
            BareWorld::AsHosted => {
                static MADE: AtomicUsize = AtomicUsize::new(0);
                let tmp = std::env::temp_dir().join(format!(
                    "wasm-lambda-bare-{}-{}",
                    std::process::id(),
                    MADE.fetch_add(1, Ordering::Relaxed)
                ));
                std::fs::create_dir_all(&tmp)
                    .with_context(|| format!("cannot create {}", tmp.display()))?;
                (inner.environment.clone(), Some(tmp))
            }
        };
        Ok(Bare {
            engine,
            pre: HandlerPre::new(pre).map_err(anyhow::Error::from)?,
            context,
            environment,
            tmp,
        })
    }

    /// One cold start: a fresh store and instance, one call of `handle`
    /// with `event`, and the store dropped. Answers the handler's payload.
    pub async fn invoke(&self, event: &str) -> Result<String> {
        let mut wasi = WasiCtx::builder();
        wasi.envs(&self.environment);
        if let Some(tmp) = &self.tmp {
            wasi.preopened_dir(tmp, "/tmp", FsPerms::ReadWrite)?;
        }
        let mut store = Store::new(
            &self.engine,
            BareState {
                wasi: wasi.build(),
                table: ResourceTable::new(),
                environment: self.environment.clone(),
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
