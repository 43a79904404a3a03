//! Finding the guest toolchains that `scripts/setup.sh` installs into
//! project-local folders, and staging a project's sources for them.

use std::path::{Path, PathBuf};

use anyhow::{Context as _, Result};

/// Finds an executable: first the environment variable `override_var`, then
/// `<ancestor>/<local_dir>/<name>` for the ancestors of the current folder
/// and of this executable (so a checkout's `.venv/bin` is found from
/// anywhere inside it), then `PATH`. An empty `local_dir` skips the
/// checkout search, for system tools.
pub(crate) fn find_tool(name: &str, override_var: &str, local_dir: &str) -> Option<PathBuf> {
    if let Some(path) = std::env::var_os(override_var) {
        return Some(PathBuf::from(path));
    }
    if !local_dir.is_empty()
        && let Some(found) = search_ancestors()
            .map(|ancestor| ancestor.join(local_dir).join(name))
            .find(|candidate| is_executable(candidate))
    {
        return Some(found);
    }
    on_path(name)
}

/// The executable `name` as `PATH` finds it.
pub(crate) fn on_path(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(name))
        .find(|candidate| is_executable(candidate))
}

/// Finds a folder of this checkout, e.g. `guest-sdk/js`, by looking for
/// `marker` inside it from the ancestors of the current folder and of this
/// executable; `override_var` names it explicitly.
pub(crate) fn find_checkout_dir(
    relative: &str,
    marker: &str,
    override_var: &str,
) -> Option<PathBuf> {
    if let Some(path) = std::env::var_os(override_var) {
        return Some(PathBuf::from(path));
    }
    search_ancestors()
        .map(|ancestor| ancestor.join(relative))
        .find(|dir| dir.join(marker).is_file())
}

fn is_executable(path: &Path) -> bool {
    path.is_file()
}

/// The folders a checkout's tools are looked for in: the current folder,
/// this executable's folder, and their ancestors.
fn search_ancestors() -> impl Iterator<Item = PathBuf> {
    let starts = [
        std::env::current_dir().ok(),
        std::env::current_exe()
            .ok()
            .and_then(|exe| exe.canonicalize().ok()),
    ];
    starts
        .into_iter()
        .flatten()
        .flat_map(|start| start.ancestors().map(Path::to_path_buf).collect::<Vec<_>>())
}

/// Copies the files under `from` whose names `keep` accepts into `to`,
/// skipping hidden entries and the folders in `skip_dirs`; returns the
/// copied files' paths relative to `from`, with `/` separators.
pub(crate) fn copy_sources(
    from: &Path,
    to: &Path,
    skip_dirs: &[&str],
    keep: &dyn Fn(&str) -> bool,
) -> Result<Vec<String>> {
    let mut copied = Vec::new();
    copy_into(from, to, "", skip_dirs, keep, &mut copied)?;
    copied.sort();
    Ok(copied)
}

fn copy_into(
    from: &Path,
    to: &Path,
    prefix: &str,
    skip_dirs: &[&str],
    keep: &dyn Fn(&str) -> bool,
    copied: &mut Vec<String>,
) -> Result<()> {
    let entries =
        std::fs::read_dir(from).with_context(|| format!("failed to read {}", from.display()))?;
    for entry in entries {
        let entry = entry?;
        let path = entry.path();
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.starts_with('.') {
            continue;
        }
        let target = to.join(&name);
        let relative = format!("{prefix}{name}");
        if path.is_dir() {
            if !skip_dirs.contains(&name.as_str()) {
                std::fs::create_dir_all(&target)?;
                copy_into(
                    &path,
                    &target,
                    &format!("{relative}/"),
                    skip_dirs,
                    keep,
                    copied,
                )?;
            }
        } else if keep(&name) {
            std::fs::copy(&path, &target)
                .with_context(|| format!("failed to copy {}", path.display()))?;
            copied.push(relative);
        }
    }
    Ok(())
}

/// Runs `command` to completion; on failure, the error holds `what` and the
/// tool's output (stderr, then stdout), with `staging` shown as `shown_as` so
/// messages name the user's files rather than a temporary folder.
pub(crate) fn run_tool(
    command: &mut std::process::Command,
    what: &str,
    staging: &Path,
    shown_as: &str,
) -> Result<()> {
    let output = command
        .stdin(std::process::Stdio::null())
        .output()
        .with_context(|| format!("failed to run {what}"))?;
    if output.status.success() {
        return Ok(());
    }
    let mut text = String::from_utf8_lossy(&output.stderr).into_owned();
    text.push_str(&String::from_utf8_lossy(&output.stdout));
    let staging = staging.to_string_lossy();
    let text = text.replace(staging.as_ref(), shown_as);
    anyhow::bail!("{what} failed:\n{}", text.trim_end())
}

/// Creates a staging folder for a build.
pub(crate) fn staging_dir(language: &str) -> Result<tempfile::TempDir> {
    tempfile::Builder::new()
        .prefix(&format!("wasm-lambda-{language}-"))
        .tempdir()
        .context("failed to create a staging folder")
}

/// Adds `hint` to a toolchain's failure when its message contains `needle`:
/// a message pointing into the SDK's glue, or a missing SDK symbol, means the
/// project's handler does not have the shape the SDK expects.
pub(crate) fn with_hint(result: Result<()>, needle: &str, hint: &str) -> Result<()> {
    result.map_err(|error| {
        if format!("{error:#}").contains(needle) {
            anyhow::anyhow!("{error:#}\nhint: {hint}")
        } else {
            error
        }
    })
}

/// Writes an SDK's files (compiled into the binary, so a build needs no
/// checkout) into `dir`, making the folders their names contain.
pub(crate) fn write_files(dir: &Path, files: &[(&str, &str)]) -> Result<()> {
    for (name, text) in files {
        let path = dir.join(name);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)?;
        }
        std::fs::write(&path, text)
            .with_context(|| format!("failed to write {}", path.display()))?;
    }
    Ok(())
}
