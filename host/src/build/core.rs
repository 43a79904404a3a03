//! Turning a core WebAssembly module into a handler component.
//!
//! The C, Go, Zig and AssemblyScript toolchains emit core modules whose
//! exports follow the canonical ABI of `guest-sdk/wit/handler.wit` (the SDKs'
//! glue is written by hand against it). This step records the world in the
//! module, wraps it in a component and, when the module calls WASI preview 1
//! (`wasi_snapshot_preview1`), links the reactor adapter that maps those
//! calls onto WASI 0.2. The encoder validates every export and import
//! against the WIT, so glue that no longer matches the contract fails here,
//! at build time, with the encoder's explanation.

use anyhow::{Context as _, Result};
use wasi_preview1_component_adapter_provider::{
    WASI_SNAPSHOT_PREVIEW1_ADAPTER_NAME, WASI_SNAPSHOT_PREVIEW1_REACTOR_ADAPTER,
};
use wit_component::{ComponentEncoder, StringEncoding};
use wit_parser::Resolve;

/// The contract every SDK's glue follows.
pub(crate) const WIT: &str = include_str!("../../../guest-sdk/wit/handler.wit");

/// Wraps `module` into a component of the `handler` world of `wit`.
pub(crate) fn componentize(module: &[u8], wit: &str) -> Result<Vec<u8>> {
    let mut resolve = Resolve::default();
    let package = resolve
        .push_source("handler.wit", wit)
        .context("failed to parse the handler WIT")?;
    let world = resolve.select_world(&[package], Some("handler"))?;
    let mut module = module.to_vec();
    wit_component::embed_component_metadata(&mut module, &resolve, world, StringEncoding::UTF8)
        .context("failed to record the handler world in the module")?;
    let mut encoder = ComponentEncoder::default()
        .validate(true)
        .module(&module)
        .context("the module does not implement the handler world")?;
    if imports_module(&module, WASI_SNAPSHOT_PREVIEW1_ADAPTER_NAME)? {
        encoder = encoder.adapter(
            WASI_SNAPSHOT_PREVIEW1_ADAPTER_NAME,
            WASI_SNAPSHOT_PREVIEW1_REACTOR_ADAPTER,
        )?;
    }
    encoder
        .encode()
        .context("the module does not implement the handler world")
}

/// Whether the core module imports anything from `module_name`.
fn imports_module(module: &[u8], module_name: &str) -> Result<bool> {
    for payload in wasmparser::Parser::new(0).parse_all(module) {
        if let wasmparser::Payload::ImportSection(reader) = payload? {
            for import in reader.into_imports() {
                if import?.module == module_name {
                    return Ok(true);
                }
            }
        }
    }
    Ok(false)
}
