//! The host is five crates, one per layer (ARCHITECTURE.md): the core
//! (`host/core`), the builders (`host/build`), the server (`host/server`),
//! the custom runtime (`host/runtime`) and the command line (`host`). Cargo
//! refuses a circle between crates; these tests keep what it cannot: that
//! the layers point one way, that an embedder of the core compiles none of
//! the other layers' dependencies, and that no module inside a crate imports
//! one that imports it back.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::process::Command;

use serde_json::Value;

use crate::common::{guest, repo_root};

/// The crates of the host, by folder, and the host crates each may use.
const LAYERS: &[(&str, &str, &[&str])] = &[
    ("host/core", "wasm-lambda-core", &[]),
    ("host/build", "wasm-lambda-build", &["wasm-lambda-core"]),
    ("host/server", "wasm-lambda-server", &["wasm-lambda-core"]),
    ("host/runtime", "wasm-lambda-runtime", &["wasm-lambda-core"]),
    (
        "host",
        "wasm-lambda",
        &[
            "wasm-lambda-core",
            "wasm-lambda-build",
            "wasm-lambda-server",
            "wasm-lambda-runtime",
        ],
    ),
];

/// What `cargo ARGS` prints, run in the repository; the test fails with
/// cargo's error when it does.
fn cargo(args: &[&str]) -> Vec<u8> {
    let output = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
        .current_dir(repo_root())
        .args(args)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "cargo {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    output.stdout
}

/// Each crate's dependencies among the host's crates, from `cargo metadata`.
#[test]
fn each_layer_depends_only_on_the_layers_below_it() {
    let output = cargo(&[
        "metadata",
        "--format-version",
        "1",
        "--no-deps",
        "--offline",
    ]);
    let metadata: Value = serde_json::from_slice(&output).unwrap();
    let host_crates: BTreeSet<&str> = LAYERS.iter().map(|(_, name, _)| *name).collect();
    let mut found = BTreeMap::new();
    for package in metadata["packages"].as_array().unwrap() {
        let name = package["name"].as_str().unwrap();
        let uses: BTreeSet<&str> = package["dependencies"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|dependency| dependency["kind"].is_null())
            .map(|dependency| dependency["name"].as_str().unwrap())
            .filter(|dependency| host_crates.contains(dependency))
            .collect();
        found.insert(name.to_string(), uses);
    }
    for (folder, name, allowed) in LAYERS {
        assert!(
            repo_root().join(folder).join("Cargo.toml").is_file(),
            "{name} lives in {folder}"
        );
        let allowed: BTreeSet<&str> = allowed.iter().copied().collect();
        assert_eq!(found[*name], allowed, "{name}'s host dependencies");
    }
}

/// What a program that embeds the core compiles: `cargo tree` of
/// `wasm-lambda-core`'s normal dependencies names no HTTP server, database,
/// builder, HTTP client of the runtime API, or command-line crate.
#[test]
fn an_embedder_of_the_core_compiles_no_server_database_builder_or_command_line() {
    let output = cargo(&[
        "tree",
        "--offline",
        "--locked",
        "-p",
        "wasm-lambda-core",
        "--edges",
        "normal",
        "--prefix",
        "none",
        "--format",
        "{p}",
    ]);
    let tree = String::from_utf8(output).unwrap();
    let crates: BTreeSet<&str> = tree
        .lines()
        .filter_map(|line| line.split_whitespace().next())
        .collect();
    assert!(crates.contains("wasmtime"), "{crates:?}");
    let other_layers = [
        "wasm-lambda-build",
        "wasm-lambda-server",
        "wasm-lambda-runtime",
        "wasm-lambda",
    ];
    // wit-component and wasm-encoder are compiled for wasmtime's own
    // `bindgen!` macro, which the core uses; the builders' stack on top of
    // them (wit-bindgen's C generator) is not.
    let heavy = [
        "axum",
        "redb",
        "ureq",
        "wit-bindgen-c",
        "wit-bindgen-core",
        "wasi-preview1-component-adapter-provider",
        "aws-smithy-eventstream",
        "toml",
        "clap",
        "indicatif",
        "plotters",
    ];
    for name in other_layers.iter().chain(&heavy) {
        assert!(!crates.contains(name), "wasm-lambda-core compiles {name}");
    }
}

/// The host's binary compiles one version of each wasm-tools crate, the
/// one wasmtime uses: wit-bindgen's C generator, which brings its own, is
/// only a dev-dependency (the C glue is committed, `c.rs`).
#[test]
fn the_host_compiles_one_wasm_tools_stack() {
    let output = cargo(&[
        "tree",
        "--offline",
        "--locked",
        "-p",
        "wasm-lambda",
        "--edges",
        "normal,build",
        "--prefix",
        "none",
        "--format",
        "{p}",
    ]);
    let tree = String::from_utf8(output).unwrap();
    let packages: BTreeSet<(&str, &str)> = tree
        .lines()
        .filter_map(|line| {
            let mut words = line.split_whitespace();
            Some((words.next()?, words.next()?))
        })
        .collect();
    for name in [
        "wasmparser",
        "wasm-encoder",
        "wasm-metadata",
        "wit-parser",
        "wit-component",
    ] {
        let versions: Vec<&str> = packages
            .iter()
            .filter(|(package, _)| *package == name)
            .map(|(_, version)| *version)
            .collect();
        assert!(versions.len() <= 1, "{name}: {versions:?}");
    }
    assert!(
        !packages
            .iter()
            .any(|(name, _)| name.starts_with("wit-bindgen-c")),
        "the host compiles wit-bindgen's C generator"
    );
}

/// The core's example (`host/core/examples/embed.rs`), built by `cargo test`
/// against `wasm-lambda-core` alone, loads a component and invokes it.
#[test]
fn the_core_alone_loads_and_invokes_a_component() {
    let test_binary = std::env::current_exe().unwrap();
    // target/<profile>/deps/it-<hash> -> target/<profile>/examples/embed
    let embed = test_binary
        .parent()
        .unwrap()
        .parent()
        .unwrap()
        .join("examples/embed");
    assert!(embed.is_file(), "cargo test builds {}", embed.display());
    let output = Command::new(&embed)
        .arg(guest("examples/rust/hello"))
        .arg(r#"{"first_name":"John","last_name":"Smith"}"#)
        .env("WASM_LAMBDA_CACHE_DIR", crate::common::cache_dir())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    assert_eq!(
        String::from_utf8_lossy(&output.stdout).trim(),
        r#"{"message":"Hello John Smith!"}"#
    );
    assert!(stderr.contains("REPORT RequestId:"), "{stderr}");
}

/// Module path (`api`, `front_door`) → the modules its code names, for the
/// crate whose sources are in `src`. Read from the source: `crate::a::b`
/// paths (grouped ones too: `crate::{a, b::c}`), and `super::x` in a
/// folder's files, up to a file's first `#[cfg(test)]` (tests come last and
/// may reach anywhere).
fn imports(src: &Path) -> BTreeMap<String, BTreeSet<String>> {
    let mut files = Vec::new();
    collect(src, &mut files);
    let module_of = |path: &Path| {
        let relative = path.strip_prefix(src).unwrap().with_extension("");
        let text = relative.to_string_lossy().replace('/', "::");
        let text = text.strip_suffix("::mod").unwrap_or(&text).to_string();
        if text == "lib" || text == "main" {
            String::new()
        } else {
            text
        }
    };
    let modules: BTreeSet<String> = files.iter().map(|path| module_of(path)).collect();
    // The longest module path that `path` starts with.
    let resolve = |path: &str| {
        let mut candidate = path.to_string();
        loop {
            if modules.contains(&candidate) {
                return Some(candidate);
            }
            candidate = candidate.rsplit_once("::")?.0.to_string();
        }
    };
    let mut graph = BTreeMap::new();
    for path in &files {
        let module = module_of(path);
        let parent = module
            .rsplit_once("::")
            .map(|(parent, _)| parent.to_string());
        let is_folder_root = path.ends_with("mod.rs");
        let mut named = BTreeSet::new();
        for line in std::fs::read_to_string(path).unwrap().lines() {
            let line = line.trim();
            // What follows is test code, which may reach anywhere.
            if line == "#[cfg(test)]" {
                break;
            }
            if line.starts_with("//") {
                continue;
            }
            for (at, _) in line.match_indices("crate::") {
                named.extend(paths_after(&line[at + "crate::".len()..]));
            }
            if let (Some(parent), false) = (&parent, is_folder_root) {
                for (at, _) in line.match_indices("super::") {
                    named.extend(
                        paths_after(&line[at + "super::".len()..])
                            .into_iter()
                            .map(|name| format!("{parent}::{name}")),
                    );
                }
            }
        }
        let resolved: BTreeSet<String> = named
            .iter()
            .filter_map(|name| resolve(name))
            .filter(|name| *name != module && !name.is_empty())
            .collect();
        graph.insert(module, resolved);
    }
    graph
}

/// The module paths at the start of `text`: `server::api::x(` →
/// `server::api::x`; `{a, b::c}` → `a`, `b::c`.
fn paths_after(text: &str) -> Vec<String> {
    match text.strip_prefix('{') {
        Some(group) => group
            .split('}')
            .next()
            .unwrap_or("")
            .split(',')
            .map(|name| path_after(name.trim()))
            .filter(|name| !name.is_empty())
            .collect(),
        None => vec![path_after(text)],
    }
}

/// The module path at the start of `text` (`server::api::x(` → `server::api::x`).
fn path_after(text: &str) -> String {
    text.chars()
        .take_while(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '_' || *c == ':')
        .collect::<String>()
        .trim_end_matches(':')
        .to_string()
}

fn collect(dir: &Path, files: &mut Vec<std::path::PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            collect(&path, files);
        } else if path.extension().is_some_and(|ext| ext == "rs") {
            files.push(path);
        }
    }
}

/// The modules reachable from `start`.
fn reachable(graph: &BTreeMap<String, BTreeSet<String>>, start: &str) -> BTreeSet<String> {
    let mut seen = BTreeSet::new();
    let mut stack: Vec<&String> = graph[start].iter().collect();
    while let Some(module) = stack.pop() {
        if seen.insert(module.clone()) {
            stack.extend(graph.get(module).into_iter().flatten());
        }
    }
    seen
}

/// The import circles in one crate's module graph.
fn circles(graph: &BTreeMap<String, BTreeSet<String>>) -> Vec<String> {
    let mut circles = Vec::new();
    for (module, named) in graph {
        for other in named {
            // A folder's root declares its files; they may use its items.
            if other.starts_with(&format!("{module}::"))
                || module.starts_with(&format!("{other}::"))
            {
                continue;
            }
            if reachable(graph, other).contains(module) {
                circles.push(format!("{module} -> {other} -> ... -> {module}"));
            }
        }
    }
    circles
}

#[test]
fn no_module_of_a_host_crate_imports_one_that_imports_it_back() {
    let core = imports(&repo_root().join("host/core/src"));
    assert!(core["invoke"].contains("sandbox"), "{core:?}");
    // The reader sees grouped imports: `use crate::{a, b}` names both.
    assert_eq!(
        paths_after("{config::FunctionConfig, host::Host};"),
        ["config", "host"]
    );
    for (folder, name, _) in LAYERS {
        let graph = imports(&repo_root().join(folder).join("src"));
        let found = circles(&graph);
        assert!(
            found.is_empty(),
            "import circles in {name}:\n{}",
            found.join("\n")
        );
    }
    // The reader finds a circle where there is one.
    let made_up = BTreeMap::from([
        ("a".to_string(), BTreeSet::from(["b".to_string()])),
        ("b".to_string(), BTreeSet::from(["a".to_string()])),
    ]);
    assert_eq!(circles(&made_up).len(), 2);
}

/// The languages come from one table (`build/mod.rs`): each has an example
/// `hello` that detection recognises as it, and no example is of a language
/// the table lacks.
#[test]
fn every_language_of_the_toolchain_table_has_a_hello_example_detected_as_it() {
    use wasm_lambda::build::{Language, detect_language};
    let mut detected = BTreeSet::new();
    for entry in std::fs::read_dir(repo_root().join("examples")).unwrap() {
        let hello = entry.unwrap().path().join("hello");
        if hello.is_dir() {
            let language = detect_language(&hello).unwrap();
            detected.insert(format!("{language:?}"));
        }
    }
    let table: BTreeSet<String> = Language::all().map(|l| format!("{l:?}")).collect();
    assert_eq!(table.len(), 7, "{table:?}");
    assert_eq!(detected, table);
}
