//! Where the host keeps its own files by default, following the XDG base
//! directory convention.

use std::path::PathBuf;

/// `$override_variable`, else `$xdg_variable/wasm-lambda`, else
/// `~/<home_relative>/wasm-lambda`, else `<temp>/<fallback>`.
pub fn user_folder(
    override_variable: &str,
    xdg_variable: &str,
    home_relative: &[&str],
    fallback: &str,
) -> PathBuf {
    if let Some(dir) = std::env::var_os(override_variable) {
        return PathBuf::from(dir);
    }
    if let Some(dir) = std::env::var_os(xdg_variable) {
        return PathBuf::from(dir).join("wasm-lambda");
    }
    if let Some(home) = std::env::var_os("HOME") {
        let mut dir = PathBuf::from(home);
        dir.extend(home_relative);
        return dir.join("wasm-lambda");
    }
    std::env::temp_dir().join(fallback)
}
