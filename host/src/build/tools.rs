//! Finding the guest toolchains that `scripts/setup.sh` installs into
//! project-local folders.

use std::path::{Path, PathBuf};

/// Finds an executable: first the environment variable `override_var`, then
/// `<ancestor>/<local_dir>/<name>` for the ancestors of the current folder
/// and of this executable (so a checkout's `.venv/bin` or
/// `node_modules/.bin` is found from anywhere inside it), then `PATH`.
pub(crate) fn find_tool(name: &str, override_var: &str, local_dir: &str) -> Option<PathBuf> {
    if let Some(path) = std::env::var_os(override_var) {
        return Some(PathBuf::from(path));
    }
    let starts = [
        std::env::current_dir().ok(),
        std::env::current_exe()
            .ok()
            .and_then(|exe| exe.canonicalize().ok()),
    ];
    for start in starts.iter().flatten() {
        for ancestor in start.ancestors() {
            let candidate = ancestor.join(local_dir).join(name);
            if is_executable(&candidate) {
                return Some(candidate);
            }
        }
    }
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
    let starts = [
        std::env::current_dir().ok(),
        std::env::current_exe()
            .ok()
            .and_then(|exe| exe.canonicalize().ok()),
    ];
    starts
        .iter()
        .flatten()
        .flat_map(|start| start.ancestors())
        .map(|ancestor| ancestor.join(relative))
        .find(|dir| dir.join(marker).is_file())
}

fn is_executable(path: &Path) -> bool {
    path.is_file()
}
