//! Turning a core WebAssembly module into a handler component.
//!
//! The C, Go, Zig and AssemblyScript toolchains emit core modules whose
//! exports follow the canonical ABI of `guest-sdk/wit/handler.wit` (C's glue
//! is generated from the WIT by wit-bindgen at each build; the Go, Zig and
//! AssemblyScript SDKs' glue is written by hand against it). This step records the world in the
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

/// The linear memory the C, Zig and AssemblyScript builds start with: room
/// for a handler's first allocations without `memory.grow`. Growing costs a
/// fresh instance two `mprotect` calls (one to grow, one to shrink the
/// pooled slot back for the next instance), each flushing TLBs on every
/// core: more than the rest of a small handler's cold start. Untouched pages
/// cost nothing (copy-on-write, and only dirtied pages are reset).
pub(crate) const INITIAL_MEMORY_BYTES: u64 = 2 << 20;

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

/// Raises the initial size of the module's memories to at least
/// `min_bytes`, for toolchains whose linker offers no flag for it (Go): a
/// runtime that finds room in its initial memory does not call
/// `memory.grow` while it starts (see [`INITIAL_MEMORY_BYTES`]).
pub(crate) fn with_initial_memory(module: &[u8], min_bytes: u64) -> Result<Vec<u8>> {
    use wasm_encoder::Encode as _;

    // Walk the section headers (id, LEB128 size) to find the memory section.
    let mut at = 8;
    while at < module.len() {
        let mut reader = wasmparser::BinaryReader::new(&module[at + 1..], at + 1);
        let size = reader.read_var_u32()? as usize;
        let contents_start = reader.original_position();
        let contents_end = contents_start + size;
        if module[at] != wasm_encoder::SectionId::Memory as u8 {
            at = contents_end;
            continue;
        }
        let memories = wasmparser::MemorySectionReader::new(wasmparser::BinaryReader::new(
            &module[contents_start..contents_end],
            contents_start,
        ))?;
        let mut section = wasm_encoder::MemorySection::new();
        for memory in memories {
            let memory = memory?;
            section.memory(wasm_encoder::MemoryType {
                minimum: memory.initial.max(min_bytes.div_ceil(1 << 16)),
                maximum: memory.maximum,
                memory64: memory.memory64,
                shared: memory.shared,
                page_size_log2: memory.page_size_log2,
            });
        }
        // A section encodes as its size and contents; the id goes first.
        let mut patched = module[..at].to_vec();
        patched.push(wasm_encoder::SectionId::Memory as u8);
        section.encode(&mut patched);
        patched.extend_from_slice(&module[contents_end..]);
        return Ok(patched);
    }
    Ok(module.to_vec())
}

/// Whether the core module exports a function named `name`.
pub(crate) fn exports_function(module: &[u8], name: &str) -> Result<bool> {
    for payload in wasmparser::Parser::new(0).parse_all(module) {
        if let wasmparser::Payload::ExportSection(reader) = payload? {
            for export in reader {
                let export = export?;
                if export.name == name && export.kind == wasmparser::ExternalKind::Func {
                    return Ok(true);
                }
            }
        }
    }
    Ok(false)
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

/// Where the hand-written Go, Zig and AssemblyScript glue reads the arguments
/// of `handle` (offsets from the argument buffer, wasm32) and writes its
/// result (C's glue is generated, see `c.rs`).
/// The glue files repeat these numbers; the test below derives them from the
/// WIT, so a WIT change that moves them fails a test that names the glue.
#[cfg(test)]
const GLUE_LAYOUT: &[(&str, usize)] = &[
    ("event", 0),
    ("context", 8),
    ("context.aws-request-id", 8),
    ("context.function-name", 16),
    ("context.function-version", 24),
    ("context.invoked-function-arn", 32),
    ("context.memory-limit-in-mb", 40),
    ("context.log-group-name", 44),
    ("context.log-stream-name", 52),
    ("context.deadline-ms", 64),
    ("context.trace-id", 72),
    ("context.identity", 84),
    ("context.client-context", 104),
    ("context.tenant-id", 116),
    ("params.size", 128),
    ("result.payload", 4),
    ("result.size", 28),
    ("handler-error.error-type", 4),
    ("handler-error.error-message", 12),
    ("handler-error.stack-trace", 20),
];

#[cfg(test)]
mod tests {
    use wit_parser::{SizeAlign, Type, TypeDefKind, WorldItem};

    use super::super::HANDLER_WIT as WIT;
    use super::*;

    /// The canonical-ABI layout of `handle`'s arguments and result, as
    /// (name, wasm32 offset) pairs in the order of [`GLUE_LAYOUT`].
    fn layout_from_wit() -> Vec<(String, usize)> {
        let mut resolve = Resolve::default();
        let package = resolve.push_source("handler.wit", WIT).unwrap();
        let world = resolve.select_world(&[package], Some("handler")).unwrap();
        let mut sizes = SizeAlign::default();
        sizes.fill(&resolve);
        let handle = resolve.worlds[world]
            .exports
            .values()
            .find_map(|item| match item {
                WorldItem::Function(function) if function.name == "handle" => Some(function),
                _ => None,
            })
            .expect("the world exports handle");
        let record_fields = |ty: &Type| match ty {
            Type::Id(id) => match &resolve.types[*id].kind {
                TypeDefKind::Record(record) => record.fields.clone(),
                other => panic!("expected a record, found {other:?}"),
            },
            other => panic!("expected a record, found {other:?}"),
        };

        let mut layout = Vec::new();
        let params: Vec<Type> = handle.params.iter().map(|param| param.ty).collect();
        let offsets = sizes.field_offsets(&params);
        for (param, (offset, _)) in handle.params.iter().zip(&offsets) {
            layout.push((param.name.clone(), offset.size_wasm32()));
        }
        let context_at = offsets[1].0.size_wasm32();
        let fields = record_fields(&params[1]);
        let field_types: Vec<Type> = fields.iter().map(|field| field.ty).collect();
        for (field, (offset, _)) in fields.iter().zip(sizes.field_offsets(&field_types)) {
            layout.push((
                format!("context.{}", field.name),
                context_at + offset.size_wasm32(),
            ));
        }
        let params_size = sizes.record(&params).size.size_wasm32();
        layout.push(("params.size".into(), params_size));

        let result = handle.result.expect("handle returns a result");
        let Type::Id(result_id) = result else {
            panic!("handle returns a result type")
        };
        let TypeDefKind::Result(result_type) = &resolve.types[result_id].kind else {
            panic!("handle returns a result")
        };
        let payload = sizes
            .payload_offset(
                wit_parser::Int::U8,
                [result_type.ok.as_ref(), result_type.err.as_ref()],
            )
            .size_wasm32();
        layout.push(("result.payload".into(), payload));
        layout.push(("result.size".into(), sizes.size(&result).size_wasm32()));
        let error = result_type.err.expect("handle's result has an error");
        let error_fields = record_fields(&error);
        let error_types: Vec<Type> = error_fields.iter().map(|field| field.ty).collect();
        for (field, (offset, _)) in error_fields.iter().zip(sizes.field_offsets(&error_types)) {
            layout.push((
                format!("handler-error.{}", field.name),
                payload + offset.size_wasm32(),
            ));
        }
        layout
    }

    #[test]
    fn the_glue_layout_matches_the_wit() {
        let expected: Vec<(String, usize)> = GLUE_LAYOUT
            .iter()
            .map(|(name, offset)| (name.to_string(), *offset))
            .collect();
        assert_eq!(
            layout_from_wit(),
            expected,
            "guest-sdk/wit/handler.wit moved the arguments or result of `handle`: update the \
             offsets in guest-sdk/{{c/wasm_lambda.c,go/abi.go,zig/main.zig,\
             assemblyscript/__wasm_lambda_main.ts}} and GLUE_LAYOUT"
        );
    }
}
