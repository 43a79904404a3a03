//! C handlers: every `.c` file of the project, compiled with clang and
//! wasi-libc into a reactor module together with the C SDK (its glue and the
//! vendored cJSON), then wrapped into a component by [`super::core`].

use std::path::Path;
use std::process::Command;

use anyhow::Result;

use super::tools::{copy_sources, find_tool, run_tool, staging_dir, with_hint};

/// The SDK's files, compiled into the binary so a build needs no checkout.
const SDK_FILES: &[(&str, &str)] = &[
    (
        "wasm_lambda.h",
        include_str!("../../../guest-sdk/c/wasm_lambda.h"),
    ),
    (
        "wasm_lambda.c",
        include_str!("../../../guest-sdk/c/wasm_lambda.c"),
    ),
    (
        "cJSON.h",
        include_str!("../../../guest-sdk/c/vendor/cjson/cJSON.h"),
    ),
    (
        "cJSON.c",
        include_str!("../../../guest-sdk/c/vendor/cjson/cJSON.c"),
    ),
];

/// Whether `dir` looks like a C handler project.
pub(super) fn detect(dir: &Path) -> bool {
    super::tools::has_file_with_extension(dir, &["c"])
}

/// Compiles the project in `dir`; returns the core module's bytes.
pub(super) fn build(dir: &Path, progress: &mut dyn FnMut(&str)) -> Result<Vec<u8>> {
    let clang = find_tool("clang", "WASM_LAMBDA_CLANG", "").ok_or_else(|| {
        anyhow::anyhow!(
            "clang is not installed: run scripts/setup.sh (it installs Debian's clang, lld and \
             wasi-libc), or set WASM_LAMBDA_CLANG"
        )
    })?;
    let staging = staging_dir("c")?;
    let code = staging.path().join("code");
    let sdk = staging.path().join("sdk");
    std::fs::create_dir_all(&code)?;
    std::fs::create_dir_all(&sdk)?;
    progress("collecting the function's code");
    let copied = copy_sources(dir, &code, &["build"], &|name| {
        name.ends_with(".c") || name.ends_with(".h")
    })?;
    for (name, text) in SDK_FILES {
        std::fs::write(sdk.join(name), text)?;
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
            super::core::INITIAL_MEMORY_BYTES
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
        .arg(sdk.join("cJSON.c"));
    with_hint(
        run_tool(&mut command, "clang", &code, dir.to_string_lossy().as_ref()),
        "undefined symbol: wasm_lambda_user_handler",
        "name the handler function with WASM_LAMBDA_HANDLER(function) in one of the project's \
         .c files",
    )?;
    Ok(std::fs::read(&module)?)
}
