//! Turning a core WebAssembly module into a handler component.
//!
//! The C, Go, Zig and AssemblyScript toolchains emit core modules whose
//! exports follow the canonical ABI of `guest-sdk/wit/handler.wit` (C's glue
//! is generated from the WIT by wit-bindgen at each build; the Go, Zig and
//! AssemblyScript SDKs' glue is written by hand against it). This step records
//! the world in the module, wraps it in a component and, when the module calls
//! WASI preview 1 (`wasi_snapshot_preview1`), links the reactor adapter that
//! maps those calls onto WASI 0.2. The encoder validates every export and
//! import against the WIT, so glue that no longer matches the contract fails
//! here, at build time, with the encoder's explanation. It cannot see the
//! offsets at which hand-written glue reads the arguments and writes the
//! result: each glue file names them in a block of `abi` constants, which
//! `tests::the_glue_offsets_match_the_wit` compares with the WIT's layout.

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

#[cfg(test)]
mod tests {
    use wit_parser::{Field, Int, SizeAlign, Type, TypeDefKind, WorldItem};

    use super::super::HANDLER_WIT as WIT;
    use super::*;

    /// The canonical-ABI layout of `handle`'s arguments (offsets from the
    /// buffer they arrive in) and result (offsets from the buffer handed
    /// back) on wasm32, as (name, offset) pairs: the numbers the
    /// hand-written glue uses.
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
        let kind = |ty: &Type| match ty {
            Type::Id(id) => Some(&resolve.types[*id].kind),
            _ => None,
        };
        let record_fields = |ty: &Type| match kind(ty) {
            Some(TypeDefKind::Record(record)) => record.fields.clone(),
            other => panic!("expected a record, found {other:?}"),
        };
        // Each field of a record at `at` as `prefix.<field>`, its offset and type.
        let fields_at = |prefix: &str, at: usize, fields: &[Field]| {
            let types: Vec<Type> = fields.iter().map(|field| field.ty).collect();
            let offsets = sizes.field_offsets(&types);
            let names = fields
                .iter()
                .map(|field| format!("{prefix}.{}", field.name));
            names
                .zip(offsets)
                .map(|(name, (offset, ty))| (name, at + offset.size_wasm32(), *ty))
                .collect::<Vec<_>>()
        };

        let params: Vec<Type> = handle.params.iter().map(|param| param.ty).collect();
        let offsets = sizes.field_offsets(&params);
        let mut layout = vec![("event".to_string(), offsets[0].0.size_wasm32())];
        let context_at = offsets[1].0.size_wasm32();
        for (name, at, ty) in fields_at("context", context_at, &record_fields(&params[1])) {
            layout.push((name.clone(), at));
            // An optional record (the identity): its fields follow the tag.
            if let Some(TypeDefKind::Option(inner)) = kind(&ty)
                && let Some(TypeDefKind::Record(record)) = kind(inner)
            {
                let payload = sizes.payload_offset(Int::U8, [None, Some(inner)]);
                let fields = fields_at(&name, at + payload.size_wasm32(), &record.fields);
                layout.extend(fields.into_iter().map(|(name, at, _)| (name, at)));
            }
        }

        let result = handle.result.expect("handle returns a result");
        let Some(TypeDefKind::Result(result_type)) = kind(&result) else {
            panic!("handle returns a result")
        };
        let payload = sizes
            .payload_offset(Int::U8, [result_type.ok.as_ref(), result_type.err.as_ref()])
            .size_wasm32();
        layout.push(("result.payload".into(), payload));
        layout.push(("result.size".into(), sizes.size(&result).size_wasm32()));
        let error = result_type.err.expect("handle's result has an error");
        let fields = fields_at("handler-error", payload, &record_fields(&error));
        layout.extend(fields.into_iter().map(|(name, at, _)| (name, at)));
        layout
    }

    /// How a glue file spells the constant of a layout entry.
    type ConstantName = fn(&str) -> String;

    /// The glue written by hand, and how each file spells the constant of a
    /// layout entry. C's glue is generated from the WIT by wit-bindgen at each
    /// build (see `c.rs`), and `wasm_lambda.c` uses no offset.
    const GLUE: [(&str, &str, ConstantName); 3] = [
        (
            "guest-sdk/go/abi.go",
            include_str!("../../../guest-sdk/go/abi.go"),
            |entry| {
                // abiContextAwsRequestID: Go's camel case, initialisms in capitals.
                let words = entry.split(['.', '-']).map(|word| match word {
                    "id" | "mb" => word.to_uppercase(),
                    _ => word[..1].to_uppercase() + &word[1..],
                });
                "abi".to_string() + &words.collect::<String>()
            },
        ),
        (
            "guest-sdk/zig/main.zig",
            include_str!("../../../guest-sdk/zig/main.zig"),
            |entry| format!("abi_{}", entry.replace(['.', '-'], "_")),
        ),
        (
            "guest-sdk/assemblyscript/__wasm_lambda_main.ts",
            include_str!("../../../guest-sdk/assemblyscript/__wasm_lambda_main.ts"),
            |entry| format!("ABI_{}", entry.replace(['.', '-'], "_").to_uppercase()),
        ),
    ];

    /// The `abi` constants a glue file defines, one a line (`abiX = 4` in a
    /// Go `const` block, `const abi_x = 4;`, `const ABI_X: usize = 4;`), as
    /// (line number, name, value).
    fn abi_constants(source: &str) -> Vec<(usize, &str, &str)> {
        source
            .lines()
            .enumerate()
            .filter_map(|(index, line)| {
                let line = line.trim();
                let (name, value) = line
                    .strip_prefix("const ")
                    .unwrap_or(line)
                    .split_once('=')?;
                let name = name.split(':').next()?.trim();
                let is_identifier = name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
                (name.to_lowercase().starts_with("abi") && is_identifier)
                    .then(|| (index + 1, name, value.trim().trim_end_matches(';').trim()))
            })
            .collect()
    }

    /// The integer literals of a line of code, outside strings and comments.
    fn numbers(line: &str) -> Vec<&str> {
        let mut numbers = Vec::new();
        let (mut in_string, mut previous, mut chars) = (false, ' ', line.char_indices());
        while let Some((at, c)) = chars.next() {
            match c {
                '\\' if in_string => _ = chars.next(),
                '"' => in_string = !in_string,
                '/' if !in_string && line[at + 1..].starts_with('/') => break,
                '0'..='9'
                    if !(in_string || previous.is_ascii_alphanumeric() || previous == '_') =>
                {
                    let end = line[at..]
                        .find(|c: char| !c.is_ascii_digit())
                        .map_or(line.len(), |length| at + length);
                    numbers.push(&line[at..end]);
                }
                _ => {}
            }
            previous = c;
        }
        numbers
    }

    #[test]
    fn the_glue_offsets_match_the_wit() {
        let layout = layout_from_wit();
        let mut problems = Vec::new();
        for (path, source, constant_name) in GLUE {
            let constants = abi_constants(source);
            for (entry, offset) in &layout {
                let name = constant_name(entry);
                let found: Vec<_> = constants.iter().filter(|c| c.1 == name).collect();
                match found[..] {
                    [] => problems.push(format!("{path}: no {name}, {entry} is at {offset}")),
                    [(line, _, value)] if *value != offset.to_string() => problems.push(format!(
                        "{path}:{line}: {name} is {value}, the WIT puts {entry} at {offset}"
                    )),
                    [_] => {}
                    _ => problems.push(format!("{path}: {name} is defined more than once")),
                }
            }
            let names: Vec<String> = layout
                .iter()
                .map(|(entry, _)| constant_name(entry))
                .collect();
            for (line, name, _) in &constants {
                if !names.iter().any(|known| known == name) {
                    problems.push(format!("{path}:{line}: {name} is no entry of the layout"));
                }
            }
            // Past the constants, any number but a tag, a count or a
            // string's length after its pointer is an offset left unnamed.
            let after = constants.last().map_or(0, |(line, _, _)| *line);
            for (index, line) in source.lines().enumerate().skip(after) {
                for number in numbers(line) {
                    if !["0", "1", "2", "4"].contains(&number) {
                        problems.push(format!(
                            "{path}:{}: {number} is written as a number: name the offset \
                             with an abi constant",
                            index + 1
                        ));
                    }
                }
            }
        }
        assert!(
            problems.is_empty(),
            "the hand-written glue disagrees with the layout guest-sdk/wit/handler.wit gives \
             `handle`'s arguments and result:\n{}",
            problems.join("\n")
        );
    }
}
