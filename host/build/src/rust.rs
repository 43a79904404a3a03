//! Rust handlers: `cargo build --release --target wasm32-wasip2`, which emits
//! a component directly for a `cdylib` crate. Handlers written for AWS's
//! `lambda_runtime` are staged first (`rust_runtime`).

use std::io::{BufRead, BufReader, Read};
use std::path::Path;
use std::process::{Command, Stdio};

use super::{Job, Language, Made, Toolchain};
use anyhow::{Context as _, Result, bail};
use serde::Deserialize;

/// The parts of cargo's `--message-format=json` lines the build reads.
#[derive(Deserialize)]
struct CargoMessage {
    reason: String,
    #[serde(default)]
    manifest_path: Option<String>,
    #[serde(default)]
    target: Option<CargoTarget>,
    #[serde(default)]
    filenames: Vec<String>,
}

#[derive(Deserialize)]
struct CargoTarget {
    name: String,
}

/// Builds the crate in `dir`; returns its name and the component's bytes.
fn build(
    dir: &Path,
    target_dir: Option<&Path>,
    progress: &mut dyn FnMut(&str),
) -> Result<(String, Vec<u8>)> {
    let manifest = dir
        .join("Cargo.toml")
        .canonicalize()
        .with_context(|| format!("failed to find {}/Cargo.toml", dir.display()))?;
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut command = Command::new(cargo);
    if let Some(target_dir) = target_dir {
        command.env("CARGO_TARGET_DIR", target_dir);
    }
    let mut child = command
        .args(["build", "--release", "--target", "wasm32-wasip2"])
        .args(["--message-format", "json-render-diagnostics"])
        .arg("--manifest-path")
        .arg(&manifest)
        .current_dir(dir)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .context("failed to run cargo (is Rust installed?)")?;

    // Drain stderr on its own thread so a chatty build cannot block on a full pipe.
    let mut stderr = child.stderr.take().expect("stderr is piped");
    let stderr_reader = std::thread::spawn(move || {
        let mut text = String::new();
        let _ = stderr.read_to_string(&mut text);
        text
    });

    let mut artifact = None;
    let stdout = BufReader::new(child.stdout.take().expect("stdout is piped"));
    for line in stdout.lines() {
        let line = line.context("failed to read cargo's output")?;
        let Ok(message) = serde_json::from_str::<CargoMessage>(&line) else {
            continue;
        };
        if message.reason != "compiler-artifact" {
            continue;
        }
        let Some(target) = message.target else {
            continue;
        };
        progress(&format!("compiled {}", target.name));
        let ours = message
            .manifest_path
            .is_some_and(|path| Path::new(&path) == manifest);
        if let Some(wasm) = message.filenames.iter().find(|f| f.ends_with(".wasm"))
            && ours
        {
            artifact = Some((target.name, wasm.clone()));
        }
    }
    let status = child.wait().context("failed to wait for cargo")?;
    let stderr = stderr_reader.join().unwrap_or_default();
    if !status.success() {
        let hint =
            if stderr.contains("wasm32-wasip2") && stderr.contains("target may not be installed") {
                "\nhint: run `rustup target add wasm32-wasip2`"
            } else {
                ""
            };
        bail!("cargo build failed:\n{}{hint}", stderr.trim_end());
    }
    let Some((name, path)) = artifact else {
        bail!(
            "cargo built no .wasm for {}: is it a `cdylib` crate using the wasm-lambda-sdk?",
            manifest.display()
        );
    };
    let bytes = std::fs::read(&path).with_context(|| format!("failed to read {path}"))?;
    Ok((name, bytes))
}

/// Rust's row of the toolchain table.
pub(super) struct Rust;

impl Toolchain for Rust {
    fn language(&self) -> Language {
        Language::Rust
    }

    fn default_runtime(&self) -> &'static str {
        "rust"
    }

    fn build(&self, job: &Job<'_>, progress: &mut dyn FnMut(&str)) -> Result<Made> {
        // A handler written for AWS's lambda_runtime builds from a staged
        // copy (see `rust_runtime`); one of the SDK's own, in place.
        if let Some(staged) = super::rust_runtime::stage(job.dir)? {
            progress("building the lambda_runtime handler");
            let (name, bytes) = build(&staged.dir, job.target_dir, progress)?;
            return Ok(Made::Component {
                bytes,
                name: Some(name),
                warnings: staged.warnings,
            });
        }
        let (name, bytes) = build(job.dir, job.target_dir, progress)?;
        Ok(Made::Component {
            bytes,
            name: Some(name),
            warnings: Vec::new(),
        })
    }
}
