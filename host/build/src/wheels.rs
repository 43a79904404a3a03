//! Python packages published only as platform wheels whose Python code runs
//! without its compiled part (`zope.interface`, which `DateTime` pulls in,
//! keeps a pure-Python implementation beside its C speedups).
//!
//! A component runs no native extension, so the build asks pip for
//! pure-Python wheels only. When pip finds none for a requirement, the
//! requirement's Linux wheel is fetched (never its source: nothing of it
//! runs on the building machine), its compiled files are left out, and it
//! is offered to pip again as a pure-Python wheel. Whether the code runs
//! without them is the package's: the SDK imports every package the handler
//! imports at build time, and a package that needs its compiled part fails
//! there with the error its import raised.

use std::io::{Read as _, Write as _};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::{Context as _, Result, bail};

/// The Python versions whose Linux wheels are tried, newest first: their
/// Python code is the same, and a package may not have a wheel for the
/// newest yet.
const PYTHON_VERSIONS: &[&str] = &["3.14", "3.13", "3.12"];
/// Linux wheel platforms of x86_64 (the Python code is the same on every
/// architecture).
const PLATFORMS: &[&str] = &[
    "manylinux_2_17_x86_64",
    "manylinux2014_x86_64",
    "manylinux_2_28_x86_64",
    "musllinux_1_2_x86_64",
];

/// The requirements pip found no pure-Python wheel for, from its error
/// output (`No matching distribution found for NAME[SPEC]`).
pub(crate) fn unmatched(pip_stderr: &str) -> Vec<String> {
    let mut found: Vec<String> = pip_stderr
        .lines()
        .filter_map(|line| {
            line.split("No matching distribution found for ")
                .nth(1)
                .map(|spec| spec.trim().to_string())
        })
        .filter(|spec| !spec.is_empty())
        .collect();
    found.dedup();
    found
}

/// A wheel made pure by leaving its compiled files out.
pub(crate) struct Repacked {
    /// How many compiled files were left out.
    pub(crate) left_out: usize,
    /// The top-level modules and packages it installs.
    pub(crate) modules: Vec<String>,
    /// How many compiled files were replaced by the component's build of
    /// them (see `repack`).
    pub(crate) replaced: usize,
}

/// A pure-Python wheel made of `spec`'s Linux wheel, in `wheels`.
pub(crate) fn pure_wheel(python: &Path, spec: &str, wheels: &Path) -> Result<Repacked> {
    let download = tempfile::tempdir_in(wheels)?;
    let fetched = linux_wheel(python, spec, download.path())?;
    let Some(wheel) = fetched else {
        bail!(
            "{spec} has no pure-Python wheel and no Linux wheel to take its Python code from \
             (only pure-Python packages run in a component): pin a version that has one, or \
             use a pure-Python alternative"
        );
    };
    let (_, repacked, python_files) = repack(&wheel, wheels, None)?;
    if python_files == 0 {
        bail!(
            "{}",
            needs_compiled_part(spec, "its Linux wheel holds no Python code")
        );
    }
    Ok(repacked)
}

/// `python -m pip SUBCOMMAND` asking for the Linux wheels of CPython
/// `version` (x86_64), quietly: what Lambda's Linux would install.
pub(crate) fn linux_pip(python: &Path, subcommand: &str, version: &str) -> Command {
    let mut command = Command::new(python);
    command.args([
        "-m",
        "pip",
        subcommand,
        "--quiet",
        "--disable-pip-version-check",
        "--only-binary=:all:",
        "--implementation",
        "cp",
        "--python-version",
        version,
    ]);
    for platform in PLATFORMS {
        command.args(["--platform", platform]);
    }
    command
}

/// `spec`'s Linux wheel for CPython, downloaded into `into` (the newest
/// Python version that has one); `None` when there is none.
pub(crate) fn linux_wheel(python: &Path, spec: &str, into: &Path) -> Result<Option<PathBuf>> {
    for version in PYTHON_VERSIONS {
        let mut command = linux_pip(python, "download", version);
        command.arg("--no-deps");
        let status = command
            .arg("-d")
            .arg(into)
            .arg(spec)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .with_context(|| format!("failed to run {} -m pip download", python.display()))?;
        if status.success() {
            let found = std::fs::read_dir(into)?
                .flatten()
                .map(|entry| entry.path())
                .find(|path| path.extension().is_some_and(|ext| ext == "whl"));
            if found.is_some() {
                return Ok(found);
            }
        }
    }
    Ok(None)
}

/// Why `spec` cannot run in a component, and what to do.
pub(crate) fn needs_compiled_part(spec: &str, why: &str) -> String {
    let name = spec
        .split(|c: char| !(c.is_ascii_alphanumeric() || "-_.".contains(c)))
        .next()
        .unwrap_or_default();
    if let Some(built) = super::rust_extensions::built_here(name) {
        // The build makes this one's compiled part, but only of a release
        // that supports the interpreter (rust_extensions::planned).
        return format!(
            "{spec} needs its compiled part ({why}); the build compiles {built} for the \
             component from releases published for CPython 3.14, the interpreter here, and \
             this one is older: pin a newer release (of the package that requires it)"
        );
    }
    format!(
        "{spec} needs its compiled part ({why}), and a component runs no native extension: \
         use a pure-Python alternative"
    )
}

/// Whether a wheel's file is compiled code (or the shared libraries
/// auditwheel vendors beside it, in `NAME.libs/`).
fn compiled(name: &str) -> bool {
    let file = name.rsplit('/').next().unwrap_or(name);
    file.ends_with(".so")
        || file.contains(".so.")
        || file.ends_with(".pyd")
        || file.ends_with(".dylib")
        || name
            .split('/')
            .next()
            .is_some_and(|top| top.ends_with(".libs"))
}

/// Writes `wheel` again as `NAME-VERSION-py3-none-any.whl` in `into`,
/// without its compiled files, tagged pure; the new wheel, what was left
/// out and what it installs, and how many `.py` files it holds. With
/// `extension`, its extension modules (`.so` files of its packages) are
/// that build for the component instead, named as CPython on WASI looks
/// for them (`wasi_extension_name`).
pub(crate) fn repack(
    wheel: &Path,
    into: &Path,
    extension: Option<&[u8]>,
) -> Result<(PathBuf, Repacked, usize)> {
    let file_name = wheel
        .file_name()
        .and_then(|name| name.to_str())
        .context("a wheel without a name")?;
    let mut parts = file_name.split('-');
    let (Some(name), Some(version)) = (parts.next(), parts.next()) else {
        bail!("{file_name} is not a wheel's name");
    };
    let output = into.join(format!("{name}-{version}-py3-none-any.whl"));
    let mut archive = zip::ZipArchive::new(std::fs::File::open(wheel)?)
        .with_context(|| format!("{file_name} is not a zip"))?;
    let mut writer = zip::ZipWriter::new(std::fs::File::create(&output)?);
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    let mut left_out = 0;
    let mut replaced = 0;
    let mut python_files = 0;
    let mut modules: Vec<String> = Vec::new();
    for index in 0..archive.len() {
        let mut entry = archive.by_index(index)?;
        let entry_name = entry.name().to_string();
        if entry.is_dir() {
            continue;
        }
        if compiled(&entry_name) {
            if let Some(bytes) = extension
                && let Some(renamed) = wasi_extension_name(&entry_name)
            {
                writer.start_file(renamed, options)?;
                writer.write_all(bytes)?;
                replaced += 1;
            } else {
                left_out += 1;
            }
            continue;
        }
        if entry_name.ends_with(".py") {
            python_files += 1;
        }
        let top = entry_name.split('/').next().unwrap_or_default();
        if !top.ends_with(".dist-info") && !top.ends_with(".data") {
            let module = if entry_name.contains('/') {
                top
            } else {
                top.trim_end_matches(".py")
            };
            if !modules.iter().any(|known| known == module) {
                modules.push(module.to_string());
            }
        }
        let mut bytes = Vec::new();
        entry.read_to_end(&mut bytes)?;
        let in_dist_info = entry_name
            .split('/')
            .next()
            .is_some_and(|top| top.ends_with(".dist-info"));
        if in_dist_info && entry_name.ends_with("/WHEEL") {
            bytes = pure_metadata(&String::from_utf8_lossy(&bytes)).into_bytes();
        } else if in_dist_info && entry_name.ends_with("/RECORD") {
            // The record lists every file with its hash: the left-out ones
            // go, and the changed WHEEL is listed without one.
            let text = String::from_utf8_lossy(&bytes);
            bytes = text
                .lines()
                .filter_map(|line| {
                    let path = line.split(',').next().unwrap_or_default();
                    if !compiled(path) {
                        return Some(line.to_string());
                    }
                    let renamed = extension.and(wasi_extension_name(path))?;
                    Some(format!("{renamed},,"))
                })
                .map(|line| {
                    let path = line.split(',').next().unwrap_or_default();
                    if path.ends_with(".dist-info/WHEEL") {
                        format!("{path},,\n")
                    } else {
                        format!("{line}\n")
                    }
                })
                .collect::<String>()
                .into_bytes();
        }
        writer.start_file(entry_name, options)?;
        writer.write_all(&bytes)?;
    }
    writer.finish()?;
    let repacked = Repacked {
        left_out,
        modules,
        replaced,
    };
    Ok((output, repacked, python_files))
}

/// The name CPython on WASI imports an extension module of a Linux wheel
/// by (`pkg/_core.cpython-314-x86_64-linux-gnu.so` is
/// `pkg/_core.cpython-314-wasm32-wasi.so`); `None` for files that are not
/// an extension module of a package (the shared libraries vendored in
/// `NAME.libs/`).
fn wasi_extension_name(path: &str) -> Option<String> {
    let (folder, file) = path.rsplit_once('/').unwrap_or(("", path));
    if !file.ends_with(".so") || folder.split('/').next()?.ends_with(".libs") {
        return None;
    }
    let module = file.split('.').next().filter(|name| !name.is_empty())?;
    let renamed = format!("{module}.cpython-314-wasm32-wasi.so");
    Some(if folder.is_empty() {
        renamed
    } else {
        format!("{folder}/{renamed}")
    })
}

/// A wheel's `WHEEL` file, saying it is pure Python for any platform.
fn pure_metadata(text: &str) -> String {
    let mut lines: Vec<String> = text
        .lines()
        .filter(|line| !line.starts_with("Tag:") && !line.starts_with("Root-Is-Purelib:"))
        .map(str::to_string)
        .collect();
    lines.push("Root-Is-Purelib: true".to_string());
    lines.push("Tag: py3-none-any".to_string());
    lines.join("\n") + "\n"
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pips_unmatched_requirements_are_found_in_its_errors() {
        let stderr = "ERROR: Could not find a version that satisfies the requirement zope.interface (from datetime) (from versions: 5.5.0.dev0)\nERROR: No matching distribution found for zope.interface\n";
        assert_eq!(unmatched(stderr), ["zope.interface"]);
        assert_eq!(
            unmatched("ERROR: No matching distribution found for simplejson>=3.19\n"),
            ["simplejson>=3.19"]
        );
        assert!(unmatched("ERROR: HTTP error 500\n").is_empty());
    }

    #[test]
    fn compiled_files_are_told_from_python_code() {
        for name in [
            "zope/interface/_zope_interface_coptimizations.cpython-314-x86_64-linux-gnu.so",
            "pkg/_speedups.abi3.so",
            "zope.interface.libs/libfoo-1a2b3c.so.1.0",
            "pkg/native.pyd",
        ] {
            assert!(compiled(name), "{name}");
        }
        for name in [
            "zope/interface/declarations.py",
            "zope/interface/_zope_interface_coptimizations.c",
            "zope.interface-8.7.dist-info/RECORD",
            "pkg/song.sonnet",
        ] {
            assert!(!compiled(name), "{name}");
        }
    }

    /// The text of the entry `name` of `archive`.
    fn read_entry(archive: &mut zip::ZipArchive<std::fs::File>, name: &str) -> String {
        let mut text = String::new();
        archive
            .by_name(name)
            .unwrap()
            .read_to_string(&mut text)
            .unwrap();
        text
    }

    /// A Linux wheel of `demo_pkg` 1.2 with one extension module, in `dir`.
    fn demo_wheel(dir: &Path) -> PathBuf {
        let wheel = dir.join("demo_pkg-1.2-cp314-cp314-manylinux_2_17_x86_64.whl");
        {
            let mut writer = zip::ZipWriter::new(std::fs::File::create(&wheel).unwrap());
            let options = zip::write::SimpleFileOptions::default();
            for (name, text) in [
                ("demo_pkg/__init__.py", "VALUE = 1\n"),
                ("demo_pkg/_fast.cpython-314-x86_64-linux-gnu.so", "\x7fELF"),
                (
                    "demo_pkg-1.2.dist-info/WHEEL",
                    "Wheel-Version: 1.0\nRoot-Is-Purelib: false\nTag: cp314-cp314-manylinux_2_17_x86_64\n",
                ),
                (
                    "demo_pkg-1.2.dist-info/RECORD",
                    "demo_pkg/__init__.py,sha256=abc,10\ndemo_pkg/_fast.cpython-314-x86_64-linux-gnu.so,sha256=def,4\ndemo_pkg-1.2.dist-info/WHEEL,sha256=ghi,80\ndemo_pkg-1.2.dist-info/RECORD,,\n",
                ),
            ] {
                writer.start_file(name, options).unwrap();
                writer.write_all(text.as_bytes()).unwrap();
            }
            writer.finish().unwrap();
        }
        wheel
    }

    #[test]
    fn a_repacked_wheel_is_pure_and_lists_no_compiled_file() {
        let dir = tempfile::tempdir().unwrap();
        let wheel = demo_wheel(dir.path());
        let out = tempfile::tempdir().unwrap();
        let (repacked, made, python_files) = repack(&wheel, out.path(), None).unwrap();
        assert_eq!(python_files, 1);
        assert_eq!(made.modules, ["demo_pkg"]);
        let left_out = made.left_out;
        assert_eq!(
            repacked.file_name().unwrap(),
            "demo_pkg-1.2-py3-none-any.whl"
        );
        assert_eq!(left_out, 1);
        let mut archive = zip::ZipArchive::new(std::fs::File::open(&repacked).unwrap()).unwrap();
        let names: Vec<String> = archive.file_names().map(str::to_string).collect();
        assert!(!names.iter().any(|name| name.ends_with(".so")), "{names:?}");
        let mut read = |name: &str| read_entry(&mut archive, name);
        assert_eq!(
            read("demo_pkg-1.2.dist-info/WHEEL"),
            "Wheel-Version: 1.0\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
        );
        assert_eq!(
            read("demo_pkg-1.2.dist-info/RECORD"),
            "demo_pkg/__init__.py,sha256=abc,10\ndemo_pkg-1.2.dist-info/WHEEL,,\ndemo_pkg-1.2.dist-info/RECORD,,\n"
        );
        assert_eq!(read("demo_pkg/__init__.py"), "VALUE = 1\n");
    }

    #[test]
    fn a_wheel_given_the_components_build_holds_it_under_the_wasi_name() {
        let dir = tempfile::tempdir().unwrap();
        let wheel = demo_wheel(dir.path());
        let out = tempfile::tempdir().unwrap();
        let (repacked, made, _) = repack(&wheel, out.path(), Some(b"\0asm-built")).unwrap();
        assert_eq!((made.replaced, made.left_out), (1, 0));
        let mut archive = zip::ZipArchive::new(std::fs::File::open(&repacked).unwrap()).unwrap();
        let mut read = |name: &str| read_entry(&mut archive, name);
        assert_eq!(
            read("demo_pkg/_fast.cpython-314-wasm32-wasi.so"),
            "\0asm-built"
        );
        assert_eq!(
            read("demo_pkg-1.2.dist-info/RECORD"),
            "demo_pkg/__init__.py,sha256=abc,10\ndemo_pkg/_fast.cpython-314-wasm32-wasi.so,,\ndemo_pkg-1.2.dist-info/WHEEL,,\ndemo_pkg-1.2.dist-info/RECORD,,\n"
        );
        assert_eq!(
            wasi_extension_name("top.cpython-313-x86_64-linux-gnu.so").as_deref(),
            Some("top.cpython-314-wasm32-wasi.so")
        );
        assert_eq!(wasi_extension_name("pkg.libs/libz-1a2b.so"), None);
        assert_eq!(wasi_extension_name("pkg/native.pyd"), None);
    }
}
