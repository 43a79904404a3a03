//! C handlers: every `.c` file of the project, compiled with clang and
//! wasi-libc into a reactor module together with the C SDK (`wasm_lambda.c`),
//! the canonical-ABI glue wit-bindgen's C generator writes from the WIT
//! (committed in `guest-sdk/c/generated/`, checked against the WIT by a
//! test), and cJSON (which `scripts/setup.sh` fetches from Debian's
//! sources), then wrapped into a component by [`super::core_module`].

use std::path::Path;
use std::process::Command;

use anyhow::{Context as _, Result};

use super::tools::{
    copy_sources, find_checkout_dir, find_tool, run_tool, staging_dir, with_hint, write_files,
};

/// The SDK's own files, compiled into the binary so a build needs no checkout
/// for them (cJSON is a dependency, found with [`cjson_dir`]).
const SDK_FILES: &[(&str, &str)] = &[
    (
        "wasm_lambda.h",
        include_str!("../../../guest-sdk/c/wasm_lambda.h"),
    ),
    (
        "wasm_lambda.c",
        include_str!("../../../guest-sdk/c/wasm_lambda.c"),
    ),
];

/// The folder holding cJSON's `cJSON.c` and `cJSON.h`: `guest-sdk/c/cjson` of
/// this checkout, where `scripts/setup.sh` puts Debian's pinned source, or
/// `WASM_LAMBDA_CJSON`.
fn cjson_dir() -> Result<std::path::PathBuf> {
    find_checkout_dir("guest-sdk/c/cjson", "cJSON.c", "WASM_LAMBDA_CJSON").ok_or_else(|| {
        anyhow::anyhow!(
            "cJSON is not installed: run scripts/setup.sh (it fetches Debian's pinned cJSON \
             source into guest-sdk/c/cjson), or set WASM_LAMBDA_CJSON to a folder with cJSON.c \
             and cJSON.h"
        )
    })
}

/// The generated glue's source file (its header is `handler.h`).
const GLUE_SOURCE: &str = "handler.c";

/// The canonical-ABI glue of the world `handler`, as wit-bindgen's C
/// generator (0.61.1, `no_object_file`) writes it from the WIT the host
/// speaks: the export `handle`, its post-return, `cabi_realloc`, the
/// imports. `wasm_lambda.c` adapts its types to the SDK's; the world's type
/// is embedded when the module becomes a component.
///
/// Generating it at each build took a second copy of the wasm-tools crates
/// (wit-bindgen's versions, not wasmtime's) into every build of the host;
/// `tests::the_committed_glue_is_what_the_generator_writes_from_the_wit`
/// regenerates it and fails when the WIT and the files part ways
/// (`WASM_LAMBDA_BLESS=1` rewrites them).
const GLUE_FILES: &[(&str, &str)] = &[
    (
        "handler.h",
        include_str!("../../../guest-sdk/c/generated/handler.h"),
    ),
    (
        GLUE_SOURCE,
        include_str!("../../../guest-sdk/c/generated/handler.c"),
    ),
];

/// Compiles the project in `dir`; returns the core module's bytes.
fn build(dir: &Path, progress: &mut dyn FnMut(&str)) -> Result<Vec<u8>> {
    let clang = clang().ok_or_else(|| {
        anyhow::anyhow!(
            "clang is not installed: run scripts/setup.sh (it installs Debian's clang, lld and \
             wasi-libc), or set WASM_LAMBDA_CLANG"
        )
    })?;
    let cjson = cjson_dir()?;
    let staging = staging_dir("c")?;
    let code = staging.path().join("code");
    let sdk = staging.path().join("sdk");
    std::fs::create_dir_all(&code)?;
    std::fs::create_dir_all(&sdk)?;
    progress("collecting the function's code");
    let copied = copy_sources(dir, &code, &["build"], &|name| {
        name.ends_with(".c") || name.ends_with(".h")
    })?;
    write_files(&sdk, SDK_FILES)?;
    write_files(&sdk, GLUE_FILES)?;
    for name in ["cJSON.h", "cJSON.c"] {
        std::fs::copy(cjson.join(name), sdk.join(name))
            .with_context(|| format!("failed to copy {}", cjson.join(name).display()))?;
    }

    progress("compiling with clang");
    let module = staging.path().join("module.wasm");
    let mut command = Command::new(clang);
    command
        .args([
            "--target=wasm32-wasi",
            "--sysroot=/usr",
            "-mexec-model=reactor",
        ])
        .args(["-O2", "-std=c11", "-Wall"])
        .arg(format!(
            "-Wl,--initial-memory={}",
            super::core_module::INITIAL_MEMORY_BYTES
        ))
        .arg("-I")
        .arg(&sdk)
        .arg("-o")
        .arg(&module)
        .args(
            copied
                .iter()
                .filter(|file| file.ends_with(".c"))
                .map(|file| code.join(file)),
        )
        .arg(sdk.join("wasm_lambda.c"))
        .arg(sdk.join(GLUE_SOURCE))
        .arg(sdk.join("cJSON.c"));
    with_hint(
        run_tool(&mut command, "clang", &code, dir.to_string_lossy().as_ref()),
        "undefined symbol: wasm_lambda_user_handler",
        "name the handler function with WASM_LAMBDA_HANDLER(function) in one of the project's \
         .c files",
    )?;
    Ok(std::fs::read(&module)?)
}

/// C's row of the toolchain table.
pub(super) const TOOLCHAIN: super::CoreModuleToolchain = super::CoreModuleToolchain {
    language: super::Language::C,
    runtime: "c",
    build,
    inputs,
};

/// clang, wasi-libc and cJSON's source.
fn inputs() -> crate::build_cache::ToolchainInputs {
    let mut paths: Vec<std::path::PathBuf> = clang().into_iter().collect();
    paths.extend(cjson_dir().ok());
    paths.push(WASI_LIBC.into());
    crate::build_cache::ToolchainInputs {
        paths,
        variables: &["WASM_LAMBDA_CLANG", "WASM_LAMBDA_CJSON"],
    }
}

/// Debian's wasi-libc, which `--sysroot=/usr` links.
const WASI_LIBC: &str = "/usr/lib/wasm32-wasi/libc.a";

fn clang() -> Option<std::path::PathBuf> {
    find_tool("clang", "WASM_LAMBDA_CLANG", "")
}

/// The wrapping of `core_module.rs` applied to the C glue, which uses every
/// import and export of the world.
#[cfg(test)]
mod tests {
    use std::path::Path;

    use anyhow::Result;

    use super::super::HANDLER_WIT as WIT;
    use super::super::core_module::{componentize, with_initial_memory};

    /// The C probe: its glue uses every import and export of the world.
    fn c_probe_module() -> Vec<u8> {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/guests/c/probe");
        super::build(&dir, &mut |_| {})
            .expect("the C toolchain is installed (scripts/setup.sh) and compiles the example")
    }

    #[test]
    fn the_initial_memory_grows_and_the_module_stays_valid() {
        let module = c_probe_module();
        let initial_pages = |module: &[u8]| {
            wasmparser::Parser::new(0)
                .parse_all(module)
                .find_map(|payload| match payload.unwrap() {
                    wasmparser::Payload::MemorySection(reader) => {
                        Some(reader.into_iter().next().unwrap().unwrap().initial)
                    }
                    _ => None,
                })
                .unwrap()
        };
        let before = initial_pages(&module);
        let patched = with_initial_memory(&module, (before + 100) << 16).unwrap();
        assert_eq!(initial_pages(&patched), before + 100);
        wasmparser::Validator::new().validate_all(&patched).unwrap();
        // Never shrinks.
        let unchanged = with_initial_memory(&module, 0).unwrap();
        assert_eq!(initial_pages(&unchanged), before);
        assert!(componentize(&patched, WIT).is_ok());
    }

    /// What wit-bindgen's C generator writes from the WIT today.
    fn generated_glue() -> Vec<(String, Vec<u8>)> {
        let mut resolve = wit_bindgen_core::wit_parser::Resolve::default();
        let package = resolve.push_str("handler.wit", WIT).unwrap();
        let world = resolve.select_world(&[package], Some("handler")).unwrap();
        let mut files = wit_bindgen_core::Files::default();
        let options = wit_bindgen_c::Opts {
            no_object_file: true,
            ..Default::default()
        };
        options
            .build()
            .generate(&mut resolve, world, &mut files)
            .unwrap();
        files
            .iter()
            .map(|(name, contents)| (name.to_string(), contents.to_vec()))
            .collect()
    }

    #[test]
    fn the_committed_glue_is_what_the_generator_writes_from_the_wit() {
        let generated = generated_glue();
        let folder = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../guest-sdk/c/generated");
        if std::env::var_os("WASM_LAMBDA_BLESS").is_some() {
            std::fs::create_dir_all(&folder).unwrap();
            for (name, contents) in &generated {
                std::fs::write(folder.join(name), contents).unwrap();
            }
        }
        let mut names: Vec<&str> = generated.iter().map(|(name, _)| name.as_str()).collect();
        let mut committed: Vec<&str> = super::GLUE_FILES.iter().map(|(name, _)| *name).collect();
        names.sort_unstable();
        committed.sort_unstable();
        assert_eq!(names, committed, "the generator writes other files");
        for (name, contents) in &generated {
            let (_, committed) = super::GLUE_FILES
                .iter()
                .find(|(committed, _)| committed == name)
                .unwrap();
            assert!(
                contents == committed.as_bytes(),
                "guest-sdk/c/generated/{name} is not what wit-bindgen writes from the WIT: \
                 run this test with WASM_LAMBDA_BLESS=1 and rebuild"
            );
        }
    }

    #[test]
    fn glue_that_matches_the_wit_becomes_a_component() {
        let component = componentize(&c_probe_module(), WIT).unwrap();
        assert!(wasmparser::Parser::is_component(&component));
    }

    fn refusal(result: Result<Vec<u8>>) -> String {
        match result {
            Ok(_) => panic!("the encoder accepted glue that does not follow the WIT"),
            Err(error) => format!("{error:#}"),
        }
    }

    #[test]
    fn a_signature_the_glue_does_not_follow_fails_the_build() {
        let changed = WIT.replace(
            "remaining-time-ms: func() -> u64;",
            "remaining-time-ms: func() -> u32;",
        );
        assert_ne!(changed, WIT, "the test's edit applies");
        let error = refusal(componentize(&c_probe_module(), &changed));
        assert!(error.contains("remaining-time-ms"), "{error}");

        let renamed = WIT.replace("export handle:", "export handle-event:");
        assert_ne!(renamed, WIT, "the test's edit applies");
        let error = refusal(componentize(&c_probe_module(), &renamed));
        assert!(error.contains("handle-event"), "{error}");
    }
}
