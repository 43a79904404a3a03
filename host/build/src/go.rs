//! Go handlers: the project's `main` package, built by Go for
//! `GOOS=wasip1 GOARCH=wasm` as a reactor (`-buildmode=c-shared`) together
//! with the Go SDK (`wasm-lambda.local/lambda`, joined through a `go.work`),
//! then wrapped into a component by [`super::core_module`].

use std::path::Path;
use std::process::Command;

use anyhow::{Context as _, Result, bail};

use super::tools::{copy_sources, find_tool, run_tool, staging_dir, write_files};

/// The SDK's files, compiled into the binary so a build needs no checkout.
const SDK_FILES: &[(&str, &str)] = &[
    ("go.mod", include_str!("../../../guest-sdk/go/go.mod")),
    ("lambda.go", include_str!("../../../guest-sdk/go/lambda.go")),
    ("abi.go", include_str!("../../../guest-sdk/go/abi.go")),
];

/// The linear memory a Go module starts with. Go's linker sizes it to the
/// data alone, and the runtime's start-up then grows it by a 4 MiB heap
/// arena and more; starting with room for them saves those `memory.grow`s
/// (cold start 327 -> 266 µs in one `wasm-lambda bench` run).
const INITIAL_MEMORY_BYTES: u64 = 8 << 20;

/// The Go release the SDK is written for.
const GO_VERSION: &str = "1.27";

/// Compiles the project in `dir`; returns the core module's bytes.
fn build(dir: &Path, progress: &mut dyn FnMut(&str)) -> Result<Vec<u8>> {
    let go = go().context(
        "Go is not installed: run scripts/setup.sh (it installs Go into .venv), or set \
         WASM_LAMBDA_GO",
    )?;
    let staging = staging_dir("go")?;
    let function = staging.path().join("function");
    let sdk = staging.path().join("sdk");
    std::fs::create_dir_all(&function)?;
    std::fs::create_dir_all(&sdk)?;
    progress("collecting the function's code");
    copy_sources(dir, &function, &["build"], &|name| {
        name.ends_with(".go") || name == "go.mod" || name == "go.sum"
    })?;
    if !function.join("go.mod").is_file() {
        std::fs::write(
            function.join("go.mod"),
            format!("module function\n\ngo {GO_VERSION}\n"),
        )?;
    }
    write_files(&sdk, SDK_FILES)?;
    std::fs::write(
        staging.path().join("go.work"),
        format!("go {GO_VERSION}\n\nuse (\n\t./function\n\t./sdk\n)\n"),
    )?;

    progress("compiling with go");
    let module = staging.path().join("module.wasm");
    let mut command = Command::new(go);
    command
        .current_dir(&function)
        .env("GOOS", "wasip1")
        .env("GOARCH", "wasm")
        // Everything the build needs is local: never reach for a proxy or
        // another toolchain.
        .env("GOTOOLCHAIN", "local")
        .env("GOPROXY", "off")
        .env("GOFLAGS", "")
        .args(["build", "-buildmode=c-shared", "-trimpath"])
        // The SDK's allocator reaches runtime.sbrk and main.main (see abi.go).
        .arg("-ldflags=-checklinkname=0 -s")
        .arg("-o")
        .arg(&module)
        .arg(".");
    run_tool(
        &mut command,
        "go build",
        &function,
        dir.to_string_lossy().as_ref(),
    )?;
    let module = std::fs::read(&module)?;
    // Go links only what `main` reaches: without the SDK there is no glue.
    if !super::core_module::exports_function(&module, "handle")? {
        bail!(
            "the Go program never reaches the SDK (the module exports no `handle`): import \
             \"wasm-lambda.local/lambda\" and call lambda.Start(handler) from main"
        );
    }
    super::core_module::with_initial_memory(&module, INITIAL_MEMORY_BYTES)
}

/// Go's row of the toolchain table.
pub(super) const TOOLCHAIN: super::CoreModuleToolchain = super::CoreModuleToolchain {
    language: super::Language::Go,
    runtime: "go",
    build,
    inputs,
};

/// The Go toolchain the build runs (its version is its executable).
fn inputs() -> crate::build_cache::ToolchainInputs {
    crate::build_cache::ToolchainInputs {
        paths: go().into_iter().collect(),
        variables: &["WASM_LAMBDA_GO"],
    }
}

fn go() -> Option<std::path::PathBuf> {
    find_tool("go", "WASM_LAMBDA_GO", ".venv/bin")
}
