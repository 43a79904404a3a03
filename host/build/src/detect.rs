//! Which language a handler project is written in: every rule in one place.
//!
//! A folder is read once, at its top level, for two kinds of evidence:
//! - markers, which name a language by themselves: a `Cargo.toml` (Rust), a
//!   `go.mod` (Go), a `build.zig` (Zig), an `asconfig.json` or a
//!   `package.json` that uses AssemblyScript (AssemblyScript), a
//!   `tsconfig.json` (Node.js TypeScript, built as JavaScript), a
//!   `package.json` (JavaScript), and the Python module the handler setting
//!   names (`lambda_function.py` by default);
//! - source files, when there is no marker: `.go`, `.zig`, `.c`, `.ts`
//!   (AssemblyScript: a bare `index.ts` is how its SDK's projects look), `.mjs`
//!   `.js` `.cjs`, and `.py` (Python, also in subfolders).
//!
//! One language found is the answer. Two are an error that names both and the
//! `--language` flag, with one exception users expect: a Python module that
//! is the handler wins over a `package.json` or `tsconfig.json`, which
//! Serverless Framework projects keep beside `handler.py` for their plugins.

use std::path::Path;

use anyhow::{Result, bail};

use super::Language;

/// One piece of evidence: the language, and the file that says so, as the
/// ambiguity error names it.
struct Found {
    language: Language,
    what: String,
    /// A Node.js project's configuration, which a Python handler beside it
    /// outranks (Serverless Framework projects).
    node_configuration: bool,
}

fn found(language: Language, what: impl Into<String>) -> Found {
    Found {
        language,
        what: what.into(),
        node_configuration: false,
    }
}

/// What detection looks for, as the error for a folder with none says it.
pub(crate) const LOOKS_FOR: &str = "a Cargo.toml (Rust), a go.mod or .go files (Go), an \
    asconfig.json or .ts files (AssemblyScript), a build.zig or .zig files (Zig), .c files (C), \
    a package.json, a tsconfig.json or .mjs/.js/.cjs files (JavaScript), or .py files (Python)";

/// The language of the project in `dir`, for the handler setting `handler`
/// (`$_HANDLER` or the language's default when `None`).
pub(crate) fn detect(dir: &Path, handler: Option<&str>) -> Result<Language> {
    if !dir.is_dir() {
        bail!("{} is not a folder", dir.display());
    }
    let names: Vec<String> = std::fs::read_dir(dir)?
        .flatten()
        .filter(|entry| entry.file_type().is_ok_and(|kind| !kind.is_dir()))
        .map(|entry| entry.file_name().to_string_lossy().into_owned())
        .collect();
    let has = |name: &str| names.iter().any(|present| present == name);

    let mut markers = Vec::new();
    if has("Cargo.toml") {
        markers.push(found(Language::Rust, "a Cargo.toml"));
    }
    if has("go.mod") {
        markers.push(found(Language::Go, "a go.mod"));
    }
    if has("build.zig") {
        markers.push(found(Language::Zig, "a build.zig"));
    }
    let package = has("package.json")
        .then(|| std::fs::read_to_string(dir.join("package.json")).ok())
        .flatten();
    if has("asconfig.json") {
        markers.push(found(Language::AssemblyScript, "an asconfig.json"));
    } else if package.as_deref().is_some_and(uses_assemblyscript) {
        markers.push(found(
            Language::AssemblyScript,
            "a package.json that uses AssemblyScript",
        ));
    } else if has("tsconfig.json") || package.is_some() {
        let what = if has("tsconfig.json") {
            "a tsconfig.json (Node.js TypeScript)"
        } else {
            "a package.json"
        };
        markers.push(Found {
            node_configuration: true,
            ..found(Language::JavaScript, what)
        });
    }
    if let Some(module) = super::python::defining_module(dir, handler) {
        markers.push(found(
            Language::Python,
            format!("{}, the handler's Python module", module.display()),
        ));
    }
    if markers
        .iter()
        .any(|marker| marker.language == Language::Python)
    {
        markers.retain(|marker| !marker.node_configuration);
    }
    if let Some(language) = one_language(dir, &markers)? {
        return Ok(language);
    }

    let with_extension = |extensions: &[&str]| {
        names.iter().find(|name| {
            // Type declarations (`index.d.ts`) come with JavaScript packages.
            !name.ends_with(".d.ts")
                && extensions
                    .iter()
                    .any(|extension| name.ends_with(&format!(".{extension}")))
        })
    };
    let mut sources = Vec::new();
    for (language, extensions) in [
        (Language::Go, &["go"][..]),
        (Language::Zig, &["zig"]),
        (Language::C, &["c"]),
        (Language::AssemblyScript, &["ts"]),
        (Language::JavaScript, &["mjs", "js", "cjs"]),
        (Language::Python, &["py"]),
    ] {
        if let Some(name) = with_extension(extensions) {
            sources.push(found(language, name.as_str()));
        }
    }
    if let Some(language) = one_language(dir, &sources)? {
        return Ok(language);
    }
    // Python packages keep their modules in folders (`src/app/handler.py`).
    if super::python::has_python(dir, 3) {
        return Ok(Language::Python);
    }
    bail!(
        "cannot tell the language of {}: expected {LOOKS_FOR}",
        dir.display()
    )
}

/// The one language `evidence` names, none, or the error naming each.
fn one_language(dir: &Path, evidence: &[Found]) -> Result<Option<Language>> {
    let Some(first) = evidence.first() else {
        return Ok(None);
    };
    let others: Vec<&Found> = evidence
        .iter()
        .filter(|other| other.language != first.language)
        .collect();
    if others.is_empty() {
        return Ok(Some(first.language));
    }
    let mut named = vec![first];
    named.extend(others);
    let list: Vec<String> = named
        .iter()
        .map(|found| format!("{} ({})", found.what, found.language.name()))
        .collect();
    let flags: Vec<&str> = named.iter().map(|found| found.language.flag()).collect();
    bail!(
        "cannot tell the language of {}: it has {}; choose one with --language {}",
        dir.display(),
        list.join(" and "),
        flags.join("|")
    )
}

/// Whether a `package.json` names the AssemblyScript compiler (a dependency,
/// or `asc` in a script).
fn uses_assemblyscript(package: &str) -> bool {
    let Ok(package) = serde_json::from_str::<serde_json::Value>(package) else {
        return false;
    };
    let depends = ["dependencies", "devDependencies"]
        .iter()
        .any(|field| package[field].get("assemblyscript").is_some());
    let scripts = package["scripts"].as_object().is_some_and(|scripts| {
        scripts.values().any(|script| {
            script
                .as_str()
                .is_some_and(|script| script.split_whitespace().any(|word| word == "asc"))
        })
    });
    depends || scripts
}

#[cfg(test)]
mod tests {
    use super::*;

    fn folder(files: &[(&str, &str)]) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        for (name, text) in files {
            let path = dir.path().join(name);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, text).unwrap();
        }
        dir
    }

    fn language(files: &[(&str, &str)]) -> Result<Language> {
        detect(folder(files).path(), None)
    }

    #[test]
    fn each_marker_names_its_language() {
        let cases: &[(&[(&str, &str)], Language)] = &[
            (&[("Cargo.toml", ""), ("build.rs", "")], Language::Rust),
            (
                &[("go.mod", ""), ("main.go", ""), ("cgo.c", "")],
                Language::Go,
            ),
            (&[("build.zig", ""), ("handler.zig", "")], Language::Zig),
            (&[("handler.c", ""), ("handler.h", "")], Language::C),
            (&[("index.ts", "")], Language::AssemblyScript),
            (
                &[("asconfig.json", "{}"), ("index.ts", "")],
                Language::AssemblyScript,
            ),
            (
                &[
                    (
                        "package.json",
                        r#"{"devDependencies":{"assemblyscript":"0.28"}}"#,
                    ),
                    ("index.ts", ""),
                ],
                Language::AssemblyScript,
            ),
            (
                &[(
                    "package.json",
                    r#"{"scripts":{"build":"asc index.ts -o x.wasm"}}"#,
                )],
                Language::AssemblyScript,
            ),
            (
                &[
                    ("tsconfig.json", "{}"),
                    ("app.ts", ""),
                    ("package.json", "{}"),
                ],
                Language::JavaScript,
            ),
            (
                &[("tsconfig.json", "{}"), ("app.ts", "")],
                Language::JavaScript,
            ),
            (
                &[("package.json", "{}"), ("index.d.ts", "")],
                Language::JavaScript,
            ),
            (
                &[("index.js", ""), ("index.d.ts", "")],
                Language::JavaScript,
            ),
            (&[("index.mjs", "")], Language::JavaScript),
            (&[("lambda_function.py", "")], Language::Python),
            (&[("src/app/handler.py", "")], Language::Python),
            // Serverless Framework: plugins in package.json, the handler in Python.
            (
                &[("package.json", "{}"), ("lambda_function.py", "")],
                Language::Python,
            ),
            // A Node.js project with a Python script that is not the handler.
            (
                &[("package.json", "{}"), ("index.mjs", ""), ("tool.py", "")],
                Language::JavaScript,
            ),
        ];
        for (files, expected) in cases {
            assert_eq!(language(files).unwrap(), *expected, "{files:?}");
        }
    }

    #[test]
    fn a_folder_of_two_languages_is_an_error_naming_both_and_the_flag() {
        let error = language(&[("Cargo.toml", ""), ("go.mod", "")])
            .unwrap_err()
            .to_string();
        assert!(
            error.contains("a Cargo.toml (Rust) and a go.mod (Go)"),
            "{error}"
        );
        assert!(error.contains("--language rust|go"), "{error}");
        let error = language(&[("handler.c", ""), ("index.mjs", "")])
            .unwrap_err()
            .to_string();
        assert!(
            error.contains("handler.c (C) and index.mjs (JavaScript)"),
            "{error}"
        );
        let error = language(&[("Cargo.toml", ""), ("lambda_function.py", "")])
            .unwrap_err()
            .to_string();
        assert!(error.contains("--language rust|python"), "{error}");
    }

    #[test]
    fn a_folder_of_no_language_says_what_it_looks_for() {
        let error = language(&[("README.md", "")]).unwrap_err().to_string();
        assert!(error.contains("expected a Cargo.toml (Rust)"), "{error}");
    }
}
