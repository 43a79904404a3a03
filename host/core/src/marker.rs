//! Custom sections `wasm-lambda build` appends to a component: the runtime
//! marker, which records the language runtime it was built from (`rust`,
//! `python3.14`, `nodejs24.x`, ...), and the function's files (see
//! [`crate::files`]). The host reads the marker to set `AWS_EXECUTION_ENV`
//! and to report the language; a component without one still runs.

use wasmparser::{Chunk, Parser, Payload};

/// The custom section's name.
pub const SECTION_NAME: &str = "wasm-lambda:runtime";

/// Returns `component` with a runtime marker section appended.
pub fn append_runtime(component: &[u8], runtime: &str) -> Vec<u8> {
    append_section(component, SECTION_NAME, runtime.as_bytes())
}

/// Returns `component` with the custom section `name` appended. Custom
/// sections may appear anywhere in a component, so appending keeps it valid.
pub(crate) fn append_section(component: &[u8], name: &str, data: &[u8]) -> Vec<u8> {
    let mut body = Vec::with_capacity(name.len() + data.len() + 5);
    write_leb128(&mut body, name.len() as u64);
    body.extend_from_slice(name.as_bytes());
    body.extend_from_slice(data);
    let mut out = Vec::with_capacity(component.len() + body.len() + 6);
    out.extend_from_slice(component);
    out.push(0); // custom section id
    write_leb128(&mut out, body.len() as u64);
    out.extend_from_slice(&body);
    out
}

fn write_leb128(out: &mut Vec<u8>, mut value: u64) {
    loop {
        let byte = (value & 0x7f) as u8;
        value >>= 7;
        if value == 0 {
            out.push(byte);
            return;
        }
        out.push(byte | 0x80);
    }
}

/// Reads the runtime marker of a component, looking only at its top-level
/// sections (nested modules are skipped, so a 20 MB component costs
/// microseconds). The last marker wins, so a rebuilt component can be marked
/// again. Any input is safe: a truncated or damaged component has no marker
/// (`None`), never a panic.
pub fn read_runtime(component: &[u8]) -> Option<String> {
    read_section(component, SECTION_NAME)
        .and_then(|data| std::str::from_utf8(data).ok())
        .map(str::to_string)
}

/// The data of the last top-level custom section called `name`, with the
/// same guarantees as [`read_runtime`].
pub(crate) fn read_section<'a>(component: &'a [u8], name: &str) -> Option<&'a [u8]> {
    let mut parser = Parser::new(0);
    let mut offset = 0;
    let mut found = None;
    loop {
        // A nested module's declared size may run past the end of a cut
        // file, so the offset is checked rather than sliced blindly.
        let rest = component.get(offset..)?;
        let (consumed, payload) = match parser.parse(rest, true).ok()? {
            Chunk::Parsed { consumed, payload } => (consumed, payload),
            Chunk::NeedMoreData(_) => return found,
        };
        offset += consumed;
        match payload {
            Payload::CustomSection(reader) if reader.name() == name => {
                found = Some(reader.data());
            }
            Payload::ModuleSection {
                unchecked_range, ..
            }
            | Payload::ComponentSection {
                unchecked_range, ..
            } => {
                // The parser already stepped over the nested module; the
                // input must be advanced past it too.
                offset += unchecked_range.len();
            }
            Payload::End(_) => return found,
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A component header followed by a nested module section whose
    /// declared size runs past the end of the input, as a cut file has.
    #[test]
    fn a_truncated_component_has_no_marker_and_no_panic() {
        let mut bytes = b"\0asm\x0d\0\x01\0".to_vec();
        let marked = append_runtime(&bytes, "rust");
        assert_eq!(read_runtime(&marked).as_deref(), Some("rust"));
        // Section 1 (a core module) claiming 1000 bytes, of which 10 exist.
        bytes.extend_from_slice(&[1, 0xe8, 0x07]);
        bytes.extend_from_slice(b"\0asm\x01\0\0\0\0\0");
        for cut in 0..=bytes.len() {
            assert_eq!(read_runtime(&bytes[..cut]), None, "cut at {cut}");
        }
        for cut in 0..marked.len() {
            let _ = read_runtime(&marked[..cut]);
        }
    }
}
