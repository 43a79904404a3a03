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

/// Every language with examples, in the order the benchmarks report them.
pub const EXAMPLE_LANGUAGES: &[&str] =
    &["rust", "c", "zig", "assemblyscript", "go", "js", "python"];

/// Whether the filter given to criterion (its first positional argument,
/// as in `cargo bench -- python`) can select benchmarks of `language`, so
/// excluded languages are not even built. A filter that names no language
/// (or no filter) selects every language.
pub fn selected_by_filter(language: &str) -> bool {
    let filter = std::env::args().skip(1).find(|arg| !arg.starts_with('-'));
    let Some(filter) = filter else {
        return true;
    };
    let words: Vec<&str> = filter.split(|c: char| !c.is_ascii_alphanumeric()).collect();
    let names_a_language = words.iter().any(|word| EXAMPLE_LANGUAGES.contains(word));
    !names_a_language || words.contains(&language)
}

/// The precompiled-artifact cache the benchmarks share with the tests.
pub fn cache_dir() -> PathBuf {
    repo_root().join("target").join("test-artifact-cache")
}
