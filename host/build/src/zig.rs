//! Zig handlers: the project's `handler.zig` (and the files next to it),
//! compiled by Zig for `wasm32-wasi` together with the Zig SDK's
//! `lambda.zig` and its glue `main.zig`, then wrapped into a component by
//! [`super::core_module`].

use std::path::Path;
use std::process::Command;

use anyhow::{Context as _, Result, bail};

use super::tools::{copy_sources, find_tool, run_tool, staging_dir, with_hint, write_files};

/// The SDK's files, compiled into the binary so a build needs no checkout.
const SDK_FILES: &[(&str, &str)] = &[
    (
        "lambda.zig",
        include_str!("../../../guest-sdk/zig/lambda.zig"),
    ),
    ("main.zig", include_str!("../../../guest-sdk/zig/main.zig")),
];

/// Compiles the project in `dir`; returns the core module's bytes.
fn build(dir: &Path, progress: &mut dyn FnMut(&str)) -> Result<Vec<u8>> {
    if !dir.join("handler.zig").is_file() {
        bail!(
            "{} has no handler.zig: a Zig handler project keeps `pub fn handler` there",
            dir.display()
        );
    }
    // PyPI's ziglang package runs Zig as `python -m ziglang`.
    let python = python()
        .context("Zig is not installed: run scripts/setup.sh (it installs Zig into .venv)")?;
    let staging = staging_dir("zig")?;
    let code = staging.path();
    progress("collecting the function's code");
    copy_sources(dir, code, &["build", "zig-out", "zig-cache"], &|name| {
        name.ends_with(".zig") || name.ends_with(".zon")
    })?;
    write_files(code, SDK_FILES)?;

    progress("compiling with zig");
    let module = code.join("module.wasm");
    let mut command = Command::new(python);
    command
        .current_dir(code)
        .args(["-m", "ziglang", "build-exe", "main.zig"])
        .args(["-target", "wasm32-wasi", "-O", "ReleaseSmall"])
        // A reactor: no `_start`, and every `export fn` stays exported.
        .args(["-fno-entry", "-rdynamic"])
        // Zig's default 16 MiB stack makes every instance 16 MiB; 1 MiB is
        // what C and Rust guests get.
        .args(["--stack", "1048576"])
        .arg("-femit-bin=module.wasm");
    with_hint(
        run_tool(
            &mut command,
            "zig build-exe",
            code,
            dir.to_string_lossy().as_ref(),
        ),
        "main.zig",
        "handler.zig must declare `pub fn handler(event: T, context: *lambda.Context) !R`, \
         with `const lambda = @import(\"lambda.zig\");`",
    )?;
    Ok(std::fs::read(&module)?)
}

/// Zig's row of the toolchain table.
pub(super) const TOOLCHAIN: super::CoreModuleToolchain = super::CoreModuleToolchain {
    language: super::Language::Zig,
    runtime: "zig",
    build,
    inputs,
};

/// The Python that runs Zig, and Zig's executable in its `ziglang` package.
fn inputs() -> crate::build_cache::ToolchainInputs {
    let python = python();
    let zig = python.as_ref().and_then(|python| {
        let venv = python.parent()?.parent()?;
        std::fs::read_dir(venv.join("lib"))
            .ok()?
            .flatten()
            .map(|version| version.path().join("site-packages/ziglang/zig"))
            .find(|zig| zig.is_file())
    });
    crate::build_cache::ToolchainInputs {
        paths: python.into_iter().chain(zig).collect(),
        variables: &["WASM_LAMBDA_ZIG_PYTHON"],
    }
}

fn python() -> Option<std::path::PathBuf> {
    find_tool("python3", "WASM_LAMBDA_ZIG_PYTHON", ".venv/bin")
}
