//! AssemblyScript handlers: the project's `index.ts` (and the files next to
//! it), compiled by `asc` together with the SDK's `wasm-lambda.ts` and its
//! glue, then wrapped into a component by [`super::core_module`].

use std::path::Path;
use std::process::Command;

use anyhow::{Context as _, Result, bail};

use super::tools::{
    copy_sources, find_checkout_dir, run_tool, staging_dir, with_hint, write_files,
};

/// The SDK's files, compiled into the binary; only the compiler comes from
/// the checkout (`npm ci` in `guest-sdk/assemblyscript`).
const SDK_FILES: &[(&str, &str)] = &[
    (
        "wasm-lambda.ts",
        include_str!("../../../guest-sdk/assemblyscript/wasm-lambda.ts"),
    ),
    (
        "__wasm_lambda_main.ts",
        include_str!("../../../guest-sdk/assemblyscript/__wasm_lambda_main.ts"),
    ),
];

/// Compiles the project in `dir`; returns the core module's bytes.
fn build(dir: &Path, progress: &mut dyn FnMut(&str)) -> Result<Vec<u8>> {
    if !dir.join("index.ts").is_file() {
        bail!(
            "{} has no index.ts: an AssemblyScript handler project exports `handler` from it",
            dir.display()
        );
    }
    let sdk = sdk_dir().context(
        "the AssemblyScript compiler is not installed: run scripts/setup.sh (it runs `npm ci` \
         in guest-sdk/assemblyscript), or set WASM_LAMBDA_AS_SDK to a folder with it",
    )?;
    let staging = staging_dir("assemblyscript")?;
    let code = staging.path();
    progress("collecting the function's code");
    copy_sources(dir, code, &["build", "node_modules"], &|name| {
        name.ends_with(".ts")
    })?;
    write_files(code, SDK_FILES)?;

    progress("compiling with asc");
    let mut command = Command::new("node");
    command
        .current_dir(code)
        .arg(sdk.join("node_modules/assemblyscript/bin/asc.js"))
        .args(["__wasm_lambda_main.ts", "-o", "module.wasm", "-O3"])
        // Aborts report on stderr and trap, instead of importing `env.abort`.
        .args(["--use", "abort=wasm-lambda/abort"])
        .arg("--initialMemory")
        .arg((super::core_module::INITIAL_MEMORY_BYTES >> 16).to_string());
    with_hint(
        run_tool(&mut command, "asc", code, dir.to_string_lossy().as_ref()),
        "__wasm_lambda_main.ts",
        "index.ts must export `function handler(event: JSONValue, context: Context): Result`, \
         importing them from \"./wasm-lambda\"",
    )?;
    Ok(std::fs::read(code.join("module.wasm"))?)
}

/// AssemblyScript's row of the toolchain table.
pub(super) const TOOLCHAIN: super::CoreModuleToolchain = super::CoreModuleToolchain {
    language: super::Language::AssemblyScript,
    runtime: "assemblyscript",
    build,
    inputs,
};

/// The compiler's folder (by npm's record of what it installed) and Node.
fn inputs() -> crate::build_cache::ToolchainInputs {
    crate::build_cache::ToolchainInputs {
        paths: sdk_dir()
            .into_iter()
            .chain(crate::tools::on_path("node"))
            .collect(),
        variables: &["WASM_LAMBDA_AS_SDK"],
    }
}

fn sdk_dir() -> Option<std::path::PathBuf> {
    find_checkout_dir(
        "guest-sdk/assemblyscript",
        "node_modules/assemblyscript/bin/asc.js",
        "WASM_LAMBDA_AS_SDK",
    )
}
