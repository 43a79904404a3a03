//! Skipping a build whose inputs did not change.
//!
//! componentize-py and componentize-js take ten seconds or more whatever
//! changed, and Go, C, Zig and AssemblyScript builds from a few hundred
//! milliseconds to seconds, so a build of a project in any language but
//! Rust first fingerprints its inputs and, when they are those of the
//! component already at the output path, returns that component. (A Rust
//! crate's inputs include path dependencies and a workspace outside its
//! folder, which only cargo knows; cargo's own check is the cache there.)
//! The inputs are:
//! - the project's files (every file under its folder except `build/` and
//!   the folders no build reads: `.git`, `__pycache__`, `.venv`, `venv`,
//!   `target`; `node_modules` by npm's record of what it installed,
//!   `node_modules/.package-lock.json`), each by path, size and
//!   modification time: a stat per file, not a read;
//! - the layers' files, the same way;
//! - the toolchain's own inputs ([`Toolchain::cache_inputs`]: the
//!   componentize-py executable, the JavaScript SDK's folder, the pinned
//!   boto3, the Go, clang (with wasi-libc and cJSON), Zig and AssemblyScript
//!   compilers) and the variables that point the build at them;
//! - the build's options (handler, runtime, layers, output) and this
//!   executable (size and modification time: the SDK sources are built into
//!   it, so a new wasm-lambda rebuilds).
//!
//! The fingerprint is written next to the component (`.<name>.wasm.inputs`)
//! with the component's size and modification time, so a component changed
//! or replaced by hand since is rebuilt too.

use std::path::{Path, PathBuf};

use anyhow::{Context as _, Result};

/// Folders whose contents no build reads, wherever they are (besides the
/// project's top-level `build/`, where builds write); `--watch` ignores
/// changes there for the same reason.
pub const UNREAD_FOLDERS: &[&str] = &[".git", "__pycache__", ".venv", "venv", "target"];

/// The file npm rewrites whenever the packages in `node_modules` change:
/// what stands for `node_modules` in a build's inputs.
pub const NPM_INSTALL_RECORD: &str = ".package-lock.json";

/// What a toolchain reads besides the project and its layers.
#[derive(Debug, Default)]
pub(crate) struct ToolchainInputs {
    /// Files and folders (walked as the project is).
    pub(crate) paths: Vec<PathBuf>,
    /// Environment variables that choose the toolchain's parts.
    pub(crate) variables: &'static [&'static str],
}

/// The fingerprint of a build's inputs.
pub(crate) fn fingerprint(
    dir: &Path,
    layers: &[PathBuf],
    options: &[&str],
    toolchain: &ToolchainInputs,
) -> Result<blake3::Hash> {
    let mut hasher = blake3::Hasher::new();
    hasher.update(b"wasm-lambda build inputs v1\0");
    hasher.update(env!("CARGO_PKG_VERSION").as_bytes());
    if let Ok(exe) = std::env::current_exe() {
        stat(&mut hasher, "exe", &exe);
    }
    for option in options {
        field(&mut hasher, option);
    }
    for name in toolchain.variables {
        field(&mut hasher, name);
        field(&mut hasher, &std::env::var(name).unwrap_or_default());
    }
    walk(&mut hasher, dir, dir, true)
        .with_context(|| format!("failed to read {}", dir.display()))?;
    for path in layers.iter().chain(&toolchain.paths) {
        field(&mut hasher, &path.to_string_lossy());
        if path.is_dir() {
            walk(&mut hasher, path, path, false)
                .with_context(|| format!("failed to read {}", path.display()))?;
        } else {
            stat(&mut hasher, "", path);
        }
    }
    Ok(hasher.finalize())
}

fn field(hasher: &mut blake3::Hasher, text: &str) {
    hasher.update(&(text.len() as u64).to_le_bytes());
    hasher.update(text.as_bytes());
}

/// Hashes a file's name, size and modification time (or its absence).
fn stat(hasher: &mut blake3::Hasher, name: &str, path: &Path) {
    field(hasher, name);
    match std::fs::metadata(path) {
        Ok(metadata) => {
            use std::os::unix::fs::MetadataExt;
            hasher.update(&metadata.len().to_le_bytes());
            hasher.update(&metadata.mtime().to_le_bytes());
            hasher.update(&metadata.mtime_nsec().to_le_bytes());
        }
        Err(_) => {
            hasher.update(b"absent");
        }
    }
}

/// Hashes every file under `folder` in a stable order, skipping what no
/// build reads (and `build/` at the top of a project).
fn walk(hasher: &mut blake3::Hasher, root: &Path, folder: &Path, project: bool) -> Result<()> {
    let mut entries: Vec<_> = std::fs::read_dir(folder)?.collect::<Result<_, _>>()?;
    entries.sort_by_key(|entry| entry.file_name());
    for entry in entries {
        let path = entry.path();
        let name = entry.file_name();
        let name = name.to_string_lossy();
        let relative = path.strip_prefix(root).unwrap_or(&path).to_string_lossy();
        let kind = entry.file_type()?;
        if kind.is_dir() {
            if UNREAD_FOLDERS.contains(&name.as_ref())
                || (project && folder == root && name == "build")
            {
                continue;
            }
            if name == "node_modules" {
                // npm records what it installed; walking the packages
                // themselves would cost more than the check may.
                stat(
                    hasher,
                    &format!("{relative}/{NPM_INSTALL_RECORD}"),
                    &path.join(NPM_INSTALL_RECORD),
                );
                continue;
            }
            walk(hasher, root, &path, project)?;
        } else {
            stat(hasher, &relative, &path);
        }
    }
    Ok(())
}

/// Where the fingerprint of the component at `output` is kept.
fn record_path(output: &Path) -> PathBuf {
    let name = output
        .file_name()
        .map(|name| name.to_string_lossy().into_owned())
        .unwrap_or_default();
    output.with_file_name(format!(".{name}.inputs"))
}

/// What the record holds: the fingerprint, and the component's size and
/// modification time when it was written.
fn record_text(fingerprint: &blake3::Hash, output: &Path) -> Option<String> {
    use std::os::unix::fs::MetadataExt;
    let metadata = std::fs::metadata(output).ok()?;
    Some(format!(
        "{} {} {}.{}\n",
        fingerprint.to_hex(),
        metadata.len(),
        metadata.mtime(),
        metadata.mtime_nsec()
    ))
}

/// The warnings of the build that made the component at `output`, when it
/// was built from inputs with this fingerprint and is unchanged since;
/// `None` when it has to be built.
pub(crate) fn current(fingerprint: &blake3::Hash, output: &Path) -> Option<Vec<String>> {
    let recorded = std::fs::read_to_string(record_path(output)).ok()?;
    let (head, warnings) = recorded.split_once('\n')?;
    let now = record_text(fingerprint, output)?;
    if now.trim_end() != head {
        return None;
    }
    serde_json::from_str(warnings).ok()
}

/// Records that the component just written at `output` was built from
/// inputs with this fingerprint, with its warnings (a build that is skipped
/// says them again). A failure only costs a rebuild next time.
pub(crate) fn record(fingerprint: &blake3::Hash, output: &Path, warnings: &[String]) {
    let Some(head) = record_text(fingerprint, output) else {
        return;
    };
    let text = head + &serde_json::to_string(warnings).unwrap_or_else(|_| "[]".into());
    if let Err(error) = std::fs::write(record_path(output), text) {
        tracing::debug!("cannot record the build's inputs: {error}");
    }
}

/// Forgets the record of `output` (before a build that may fail halfway).
pub(crate) fn forget(output: &Path) {
    let _ = std::fs::remove_file(record_path(output));
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(path: &Path, text: &str) {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }

    fn of(dir: &Path, options: &[&str], toolchain: &ToolchainInputs) -> blake3::Hash {
        fingerprint(dir, &[], options, toolchain).unwrap()
    }

    /// The fingerprint changes with each kind of input and with nothing a
    /// build does not read.
    #[test]
    fn the_fingerprint_follows_every_input_and_nothing_else() {
        let project = tempfile::tempdir().unwrap();
        let sdk = tempfile::tempdir().unwrap();
        let dir = project.path();
        write(&dir.join("lambda_function.py"), "def handler(e, c): pass\n");
        write(&dir.join("requirements.txt"), "six\n");
        write(&dir.join("node_modules/.package-lock.json"), "{}");
        write(&dir.join("node_modules/left-pad/index.js"), "a");
        write(&sdk.path().join("bundle.mjs"), "export {}");
        let toolchain = ToolchainInputs {
            paths: vec![sdk.path().to_path_buf()],
            variables: &["WASM_LAMBDA_TEST_ONLY_VARIABLE"],
        };
        let base = of(dir, &["handler=a.b"], &toolchain);
        assert_eq!(base, of(dir, &["handler=a.b"], &toolchain), "stable");

        // Not read by a build: the output folder, caches, installed packages.
        write(&dir.join("build/hello.wasm"), "old");
        write(&dir.join("__pycache__/x.pyc"), "x");
        write(&dir.join(".git/HEAD"), "ref");
        write(&dir.join("node_modules/left-pad/index.js"), "changed");
        assert_eq!(base, of(dir, &["handler=a.b"], &toolchain));

        type Change<'a> = (&'a str, Box<dyn Fn() + 'a>);
        let changes: Vec<Change> = vec![
            (
                "a source file",
                Box::new(|| write(&dir.join("lambda_function.py"), "def handler(e, c): 1\n")),
            ),
            (
                "requirements.txt",
                Box::new(|| write(&dir.join("requirements.txt"), "six==1.16.0\n")),
            ),
            (
                "installed packages",
                Box::new(|| write(&dir.join("node_modules/.package-lock.json"), "{ }")),
            ),
            (
                "an SDK file",
                Box::new(|| write(&sdk.path().join("bundle.mjs"), "export { x }")),
            ),
            (
                "a new file",
                Box::new(|| write(&dir.join("data/table.json"), "[]")),
            ),
        ];
        let mut seen = vec![base];
        for (what, change) in changes {
            change();
            let now = of(dir, &["handler=a.b"], &toolchain);
            assert!(
                !seen.contains(&now),
                "{what} did not change the fingerprint"
            );
            seen.push(now);
        }
        let last = *seen.last().unwrap();
        assert_ne!(
            last,
            of(dir, &["handler=a.c"], &toolchain),
            "a build option"
        );
    }

    #[test]
    fn a_component_changed_since_its_record_is_not_current() {
        let dir = tempfile::tempdir().unwrap();
        let output = dir.path().join("hello.wasm");
        let fingerprint = blake3::hash(b"inputs");
        assert_eq!(current(&fingerprint, &output), None, "nothing built yet");
        std::fs::write(&output, "component").unwrap();
        record(&fingerprint, &output, &["line 3: no module x".to_string()]);
        assert_eq!(
            current(&fingerprint, &output),
            Some(vec!["line 3: no module x".to_string()])
        );
        assert_eq!(current(&blake3::hash(b"other"), &output), None);
        std::fs::write(&output, "replaced by hand").unwrap();
        assert_eq!(current(&fingerprint, &output), None);
        forget(&output);
        assert!(!record_path(&output).exists());
    }
}
