//! Python packages whose compiled part is Rust (PyO3, built with maturin),
//! built for the component: `pydantic-core`, which pydantic 2, and so
//! Powertools for AWS Lambda 3's parser, cannot run without, and
//! `rpds-py`, which `jsonschema` (from 4.18, through `referencing`) needs.
//!
//! Before pip installs a function's requirements, the build asks pip what
//! it would install on Lambda's Linux (`--dry-run --report`). For each
//! package of `PACKAGES` in that answer, the Rust code of its source
//! distribution, at that version and with its own `Cargo.lock`, is
//! compiled for `wasm32-wasip2` as a shared library componentize-py links
//! beside CPython, and put into the package's Linux wheel in place of the
//! Linux extension module. pip is then offered that wheel, so the function
//! gets the versions Lambda's pip would give it.
//!
//! Stable Rust does this with the standard library it ships for
//! `wasm32-wasip2`: the crates are compiled with `-C relocation-model=pic`
//! and linked by rustc's own `rust-lld` with `-shared --experimental-pic`
//! (a small PyO3 extension linked and ran this way with and without LTO;
//! the build uses fat LTO, as pydantic-core's own release profile does).
//! The library links against nothing (`-C link-self-contained=no`, an
//! empty `libc.a`): its calls into libc and CPython stay imports, which
//! componentize-py resolves against its own `libc.so` and `libpython`.
//!
//! A built wheel is kept in the user's cache folder, one per package,
//! version and Rust compiler, so the compile (about a minute for
//! pydantic-core on two cores) happens once.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::{Context as _, Result, bail};

/// The packages built this way: Rust extensions known to build and run in
/// a component (each has a corpus case: `powertools-parser-pydantic2`,
/// `jsonschema-api`). Not here: `orjson`, whose build compiles C (yyjson)
/// and would need a WASI C sysroot.
pub(crate) const PACKAGES: &[&str] = &["pydantic-core", "rpds-py"];

/// The configuration PyO3 builds against: componentize-py's CPython 3.14,
/// a shared library on a 32-bit target; its symbols are imports.
const PYO3_CONFIG: &str = "implementation=CPython\nversion=3.14\nshared=true\nabi3=false\n\
lib_name=python3.14\npointer_width=32\nsuppress_build_script_link_lines=true\n";

/// The name in `PACKAGES` of the package `name` (as a requirement spells
/// it), if the build compiles it.
pub(crate) fn built_here(name: &str) -> Option<&'static str> {
    let name = normalized(name);
    PACKAGES.iter().copied().find(|known| *known == name)
}

/// A package name as pip compares them (PEP 503).
fn normalized(name: &str) -> String {
    name.to_ascii_lowercase().replace(['_', '.'], "-")
}

/// The `(name, version)` of each package of `PACKAGES` pip would install
/// for `requirements` on Lambda's Linux (x86_64, CPython 3.14). Empty when
/// pip cannot say (a requirement without a Linux wheel, no index): the
/// build then goes on as without this step.
pub(crate) fn planned(python: &Path, requirements: &Path) -> Result<Vec<(String, String)>> {
    let report = tempfile::NamedTempFile::new()?;
    let target = tempfile::tempdir()?;
    let mut command = super::wheels::linux_pip(python, "install", "3.14");
    command.args(["--dry-run", "--ignore-installed"]);
    let status = command
        .arg("--target")
        .arg(target.path())
        .arg("--report")
        .arg(report.path())
        .arg("-r")
        .arg(requirements)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .with_context(|| format!("failed to run {} -m pip", python.display()))?;
    if !status.success() {
        return Ok(Vec::new());
    }
    let text = std::fs::read_to_string(report.path()).unwrap_or_default();
    Ok(in_report(&text))
}

/// The packages of `PACKAGES` in pip's installation report.
fn in_report(text: &str) -> Vec<(String, String)> {
    let Ok(report) = serde_json::from_str::<serde_json::Value>(text) else {
        return Vec::new();
    };
    report["install"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|item| {
            let name = item["metadata"]["name"].as_str()?;
            let version = item["metadata"]["version"].as_str()?;
            PACKAGES
                .contains(&normalized(name).as_str())
                .then(|| (normalized(name), version.to_string()))
        })
        .collect()
}

/// The wheel of `name` `version` with its extension built for the
/// component, copied into `into` (from the cache, or built first).
pub(crate) fn wheel(
    python: &Path,
    name: &str,
    version: &str,
    into: &Path,
    progress: &mut dyn FnMut(&str),
) -> Result<PathBuf> {
    let rustc = rustc_facts()?;
    let cache = wasm_lambda_core::default_cache_dir()
        .join("python-rust-wheels")
        .join(&rustc.key);
    let file_name = format!("{}-{version}-py3-none-any.whl", name.replace('-', "_"));
    let cached = cache.join(&file_name);
    if !cached.is_file() {
        std::fs::create_dir_all(&cache)
            .with_context(|| format!("failed to create {}", cache.display()))?;
        // Builds of functions that need the same wheel at once wait for
        // the first to make it rather than make it again.
        let lock = std::fs::File::create(cache.join(format!(".{file_name}.lock")))?;
        lock.lock()
            .with_context(|| format!("failed to lock {}", cache.display()))?;
        if !cached.is_file() {
            progress(&format!(
                "building {name} {version}'s Rust extension for the component (once per version)"
            ));
            let work = tempfile::Builder::new()
                .prefix(".building-")
                .tempdir_in(&cache)?;
            let built = build(python, name, version, &rustc, work.path())
                .with_context(|| format!("failed to build {name} {version} for the component"))?;
            std::fs::rename(&built, &cached)?;
        }
    }
    let copy = into.join(&file_name);
    std::fs::copy(&cached, &copy)
        .with_context(|| format!("failed to copy {}", cached.display()))?;
    Ok(copy)
}

/// Packages of `PACKAGES` installed into the function's folder itself
/// (`pip install -t .` on Linux, as published deployment packages are
/// made): each one's Linux extension module in `code` is replaced by the
/// component's build of the same version. Returns the extension modules
/// written, relative to `code`.
pub(crate) fn replace_vendored(
    python: &Path,
    code: &Path,
    progress: &mut dyn FnMut(&str),
) -> Result<Vec<String>> {
    let mut written = Vec::new();
    let Ok(entries) = std::fs::read_dir(code) else {
        return Ok(written);
    };
    for entry in entries.flatten() {
        let folder = entry.file_name().to_string_lossy().into_owned();
        let Some((name, version)) = folder
            .strip_suffix(".dist-info")
            .and_then(|stem| stem.split_once('-'))
        else {
            continue;
        };
        let name = normalized(name);
        if !PACKAGES.contains(&name.as_str()) {
            continue;
        }
        let record = std::fs::read_to_string(entry.path().join("RECORD")).unwrap_or_default();
        let linux: Vec<&str> = record
            .lines()
            .filter_map(|line| line.split(',').next())
            .filter(|path| path.ends_with(".so") && !path.contains(".."))
            .filter(|path| !is_webassembly_file(&code.join(path)))
            .collect();
        if linux.is_empty() {
            continue;
        }
        progress(&format!(
            "{folder} holds a Linux extension module: using the component's build of it"
        ));
        let made = tempfile::tempdir()?;
        let wheel = wheel(python, &name, version, made.path(), progress)?;
        let mut archive = zip::ZipArchive::new(std::fs::File::open(&wheel)?)?;
        for index in 0..archive.len() {
            let mut file = archive.by_index(index)?;
            let path = file.name().to_string();
            if !path.ends_with(".so") || path.contains("..") {
                continue;
            }
            let mut bytes = Vec::new();
            std::io::Read::read_to_end(&mut file, &mut bytes)?;
            std::fs::write(code.join(&path), bytes)?;
            written.push(path);
        }
        for path in linux {
            let _ = std::fs::remove_file(code.join(path));
        }
    }
    written.sort();
    Ok(written)
}

/// Whether the file at `path` starts as a WebAssembly module does.
pub(crate) fn is_webassembly_file(path: &Path) -> bool {
    let mut magic = [0; 4];
    std::fs::File::open(path)
        .and_then(|mut file| std::io::Read::read_exact(&mut file, &mut magic))
        .is_ok_and(|()| magic == *b"\0asm")
}

/// What the build needs to know of the Rust compiler.
struct Rustc {
    /// Its `release` and `commit-hash`, naming the cache folder.
    key: String,
    /// Its own `rust-lld`, which links WebAssembly shared libraries.
    lld: PathBuf,
}

fn rustc_facts() -> Result<Rustc> {
    let rustc = std::env::var_os("RUSTC").unwrap_or_else(|| "rustc".into());
    let run = |args: &[&str]| -> Result<String> {
        let output = Command::new(&rustc)
            .args(args)
            .stdin(Stdio::null())
            .output()
            .context("failed to run rustc (is Rust installed? scripts/setup.sh installs it)")?;
        if !output.status.success() {
            bail!("rustc {args:?} failed");
        }
        Ok(String::from_utf8_lossy(&output.stdout).into_owned())
    };
    let facts = run(&["-vV"])?;
    let field = |name: &str| {
        facts
            .lines()
            .find_map(|line| line.strip_prefix(name))
            .map(|value| value.trim().to_string())
            .unwrap_or_default()
    };
    let host = field("host:");
    let key = format!(
        "{}-{}",
        field("release:"),
        &field("commit-hash:").get(..12).unwrap_or("unknown")
    );
    let sysroot = run(&["--print", "sysroot"])?;
    let lld = Path::new(sysroot.trim())
        .join("lib/rustlib")
        .join(host)
        .join("bin/rust-lld");
    if !lld.is_file() {
        bail!("rustc has no rust-lld at {}", lld.display());
    }
    Ok(Rustc { key, lld })
}

/// Builds the wheel in `work`; returns its path there.
fn build(python: &Path, name: &str, version: &str, rustc: &Rustc, work: &Path) -> Result<PathBuf> {
    let spec = format!("{name}=={version}");
    let downloads = work.join("downloads");
    std::fs::create_dir_all(&downloads)?;
    let linux = super::wheels::linux_wheel(python, &spec, &downloads)?
        .with_context(|| format!("{spec} has no Linux wheel to take its Python code from"))?;
    let source = source_tree(python, name, &spec, work)?;

    // The `libc` rustc names for WASI targets: empty, so that libc's
    // functions stay imports (see the module's documentation).
    let no_libc = work.join("no-libc");
    std::fs::create_dir_all(&no_libc)?;
    std::fs::write(no_libc.join("libc.a"), b"!<arch>\n")?;
    let pyo3_config = work.join("pyo3-config.txt");
    std::fs::write(&pyo3_config, PYO3_CONFIG)?;
    let rustflags = [
        "-Crelocation-model=pic".to_string(),
        "-Clink-self-contained=no".to_string(),
        format!("-Clinker={}", rustc.lld.display()),
        format!("-L{}", no_libc.display()),
        "-Clink-arg=-shared".to_string(),
        "-Clink-arg=--experimental-pic".to_string(),
    ]
    .join("\u{1f}");
    let target_dir = work.join("target");
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut command = Command::new(cargo);
    command
        .args(["build", "--release", "--lib", "--target", "wasm32-wasip2"])
        .arg("--manifest-path")
        .arg(source.join("Cargo.toml"));
    if source.join("Cargo.lock").is_file() {
        command.arg("--locked");
    }
    let output = command
        .current_dir(&source)
        .env("CARGO_TARGET_DIR", &target_dir)
        .env("CARGO_ENCODED_RUSTFLAGS", rustflags)
        .env_remove("RUSTFLAGS")
        .env("CARGO_PROFILE_RELEASE_LTO", "fat")
        .env("CARGO_PROFILE_RELEASE_STRIP", "true")
        .env("PYO3_CONFIG_FILE", &pyo3_config)
        .stdin(Stdio::null())
        .output()
        .context("failed to run cargo (is Rust installed? scripts/setup.sh installs it)")?;
    if !output.status.success() {
        let stderr = String::from_utf8_lossy(&output.stderr);
        let hint = if stderr.contains("wasm32-wasip2") && stderr.contains("may not be installed") {
            "\nhint: run `rustup target add wasm32-wasip2`"
        } else {
            ""
        };
        bail!("cargo build failed:\n{}{hint}", stderr.trim_end());
    }
    let release = target_dir.join("wasm32-wasip2/release");
    let library = std::fs::read_dir(&release)?
        .flatten()
        .map(|entry| entry.path())
        .find(|path| path.extension().is_some_and(|ext| ext == "wasm"))
        .with_context(|| format!("cargo built no .wasm in {}", release.display()))?;
    let bytes = std::fs::read(&library)?;
    if !is_shared_library(&bytes) {
        bail!(
            "{} is not a WebAssembly shared library (no dylink.0 section)",
            library.display()
        );
    }
    let (wheel, repacked, _) = super::wheels::repack(&linux, work, Some(&bytes))?;
    if repacked.replaced != 1 || repacked.left_out != 0 {
        bail!(
            "{spec}'s Linux wheel holds {} extension module(s) and {} other compiled file(s); \
             one extension module is what the build can replace",
            repacked.replaced,
            repacked.left_out
        );
    }
    Ok(wheel)
}

/// Downloads and unpacks `spec`'s source distribution (of the package
/// `name`) in `work`; returns its folder.
fn source_tree(python: &Path, name: &str, spec: &str, work: &Path) -> Result<PathBuf> {
    let sdists = work.join("sdist");
    std::fs::create_dir_all(&sdists)?;
    // pip reads the source distribution's metadata in a build environment
    // of its build requirements (maturin): sources for the package alone,
    // since `--no-binary=:all:` reached them too and compiled maturin from
    // its sources, minutes on a new machine.
    let status = Command::new(python)
        .args([
            "-m",
            "pip",
            "download",
            "--quiet",
            "--disable-pip-version-check",
            "--no-deps",
        ])
        .arg(format!("--no-binary={name}"))
        .arg("-d")
        .arg(&sdists)
        .arg(spec)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .output()
        .with_context(|| format!("failed to run {} -m pip download", python.display()))?;
    let archive = std::fs::read_dir(&sdists)?
        .flatten()
        .map(|entry| entry.path())
        .find(|path| path.to_string_lossy().ends_with(".tar.gz"));
    let Some(archive) = archive else {
        bail!(
            "pip found no source distribution of {spec}:\n{}",
            String::from_utf8_lossy(&status.stderr).trim_end()
        );
    };
    let unpacked = work.join("source");
    std::fs::create_dir_all(&unpacked)?;
    let status = Command::new("tar")
        .arg("xzf")
        .arg(&archive)
        .arg("-C")
        .arg(&unpacked)
        .status()
        .context("failed to run tar")?;
    if !status.success() {
        bail!("failed to unpack {}", archive.display());
    }
    let folder = std::fs::read_dir(&unpacked)?
        .flatten()
        .map(|entry| entry.path())
        .find(|path| path.join("Cargo.toml").is_file())
        .with_context(|| format!("{} holds no Cargo.toml", archive.display()))?;
    Ok(folder)
}

/// Whether `bytes` is a WebAssembly module whose first section is
/// `dylink.0`, as a shared library's is.
fn is_shared_library(bytes: &[u8]) -> bool {
    let Some(rest) = bytes.strip_prefix(b"\0asm\x01\0\0\0") else {
        return false;
    };
    // Section id 0 (custom), its size (LEB128), then its name.
    let Some((&0, rest)) = rest.split_first() else {
        return false;
    };
    let after_size = rest
        .iter()
        .position(|byte| byte & 0x80 == 0)
        .map(|at| at + 1);
    let Some(rest) = after_size.and_then(|at| rest.get(at..)) else {
        return false;
    };
    rest.first() == Some(&8) && rest.get(1..9) == Some(b"dylink.0")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pips_report_names_the_packages_to_build() {
        let report = r#"{"install": [
            {"metadata": {"name": "pydantic", "version": "2.14.4"}},
            {"metadata": {"name": "pydantic_core", "version": "2.50.5"}},
            {"metadata": {"name": "typing_extensions", "version": "4.16.0"}}
        ]}"#;
        assert_eq!(
            in_report(report),
            [("pydantic-core".to_string(), "2.50.5".to_string())]
        );
        assert!(in_report("not json").is_empty());
        assert_eq!(built_here("Pydantic_Core"), Some("pydantic-core"));
        assert_eq!(built_here("pydantic"), None);
        assert!(in_report(r#"{"install": []}"#).is_empty());
    }

    #[test]
    fn a_shared_library_is_told_by_its_first_section() {
        let mut shared = b"\0asm\x01\0\0\0\x00\x10\x08dylink.0".to_vec();
        shared.extend([0; 7]);
        assert!(is_shared_library(&shared));
        assert!(!is_shared_library(b"\0asm\x01\0\0\0\x01\x04\x01\x60\0\0"));
        assert!(!is_shared_library(b"\x7fELF"));
        assert!(!is_shared_library(b"\0asm\x01\0\0\0\x00\x10\x08dylink.1"));
    }
}
