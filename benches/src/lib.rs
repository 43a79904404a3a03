//! Helpers shared by the criterion benchmarks in `benches/benches/`.
#![deny(missing_docs)]

use std::path::{Path, PathBuf};

use wasm_lambda::build::{BuildOptions, build};

/// The repository's root.
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("benches/ has a parent")
        .to_path_buf()
}

/// Builds the example handler `examples/<language>/<name>` (with the guest
/// target folder the tests use) and returns its component.
pub fn build_example(language: &str, name: &str) -> PathBuf {
    let options = BuildOptions {
        target_dir: Some(repo_root().join("target").join("wasm-guests")),
        ..BuildOptions::new(repo_root().join("examples").join(language).join(name))
    };
    match build(&options, &mut |_| {}) {
        Ok(output) => output.component,
        Err(error) => panic!("failed to build {language}/{name}: {error:#}"),
    }
}

/// The precompiled-artifact cache the benchmarks share with the tests.
pub fn cache_dir() -> PathBuf {
    repo_root().join("target").join("test-artifact-cache")
}
