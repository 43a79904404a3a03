//! The host's modules form layers: no module of `host/src` imports one that
//! imports it back, directly or through others (ARCHITECTURE.md). Read from
//! the source: `crate::a::b` paths, and `super::x` in a folder's files, up to
//! a file's first `#[cfg(test)]` (tests come last and may reach anywhere).

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use crate::common::repo_root;

/// Module path (`server::api`) → the modules its code names.
fn imports() -> BTreeMap<String, BTreeSet<String>> {
    let src = repo_root().join("host/src");
    let mut files = Vec::new();
    collect(&src, &mut files);
    let module_of = |path: &Path| {
        let relative = path.strip_prefix(&src).unwrap().with_extension("");
        let text = relative.to_string_lossy().replace('/', "::");
        text.strip_suffix("::mod").unwrap_or(&text).to_string()
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
                named.insert(path_after(&line[at + "crate::".len()..]));
            }
            if let (Some(parent), false) = (&parent, is_folder_root) {
                for (at, _) in line.match_indices("super::") {
                    let rest = &line[at + "super::".len()..];
                    let names: Vec<String> = match rest.strip_prefix('{') {
                        Some(group) => group
                            .split('}')
                            .next()
                            .unwrap_or("")
                            .split(',')
                            .map(|name| path_after(name.trim()))
                            .collect(),
                        None => vec![path_after(rest)],
                    };
                    named.extend(names.into_iter().map(|name| format!("{parent}::{name}")));
                }
            }
        }
        let resolved: BTreeSet<String> = named
            .iter()
            .filter_map(|name| resolve(name))
            .filter(|name| *name != module)
            .collect();
        graph.insert(module, resolved);
    }
    graph
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

#[test]
fn no_module_of_the_host_imports_one_that_imports_it_back() {
    let graph = imports();
    assert!(graph.contains_key("invoke") && graph.contains_key("server::api"));
    assert!(graph["invoke"].contains("sandbox"), "{graph:?}");
    let mut circles = Vec::new();
    for (module, named) in &graph {
        for other in named {
            // A folder's root declares its files; they may use its items.
            if other.starts_with(&format!("{module}::"))
                || module.starts_with(&format!("{other}::"))
            {
                continue;
            }
            if reachable(&graph, other).contains(module) {
                circles.push(format!("{module} -> {other} -> ... -> {module}"));
            }
        }
    }
    assert!(
        circles.is_empty(),
        "import circles:\n{}",
        circles.join("\n")
    );
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
