//! `wasm-lambda package`: a deployment zip for a `provided.al2023` function.
//!
//! The zip holds `bootstrap` (the slim `wasm-lambda-bootstrap` built beside
//! this binary, which runs the Runtime API loop and nothing else; without
//! it, this very binary, which started under that name does the same), the
//! component, and its precompiled artifact
//! under `artifacts/`, so a cold start on Lambda loads machine code instead
//! of compiling. The runtime never makes a snapshot of an init phase
//! (Python, JavaScript) itself: that would compile the component again at a
//! cold start. It runs the init phase in every sandbox, unless the package
//! carries a snapshot (`--snapshot`): the init phase run here, in the
//! environment Lambda will give the function ([`PackageConfig`]), with its
//! artifact under `artifacts/snapshots/`. A runtime started in another
//! environment runs the init phase in every sandbox and says which
//! variables differ.
//!
//! The bootstrap goes in stripped of its symbols and debug information
//! (binutils' `strip`, or `$STRIP`): the host binary carries line tables
//! for readable backtraces, which make it several times larger than the
//! code. Every file is compressed at the best level, and the package is
//! checked against Lambda's limits: [`MAX_ZIPPED_BYTES`] for a direct
//! upload (`--zip-file`) and [`MAX_UNZIPPED_BYTES`] for any function.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{Context as _, Result, bail};
use zip::write::SimpleFileOptions;

use crate::Host;

/// The name of the slim bootstrap binary (`src/bootstrap.rs`) built beside
/// `wasm-lambda`.
pub const SLIM_BOOTSTRAP: &str = "wasm-lambda-bootstrap";

/// The slim bootstrap built beside the executable `this`, if there is one.
/// It runs the custom runtime only (the server, the builders and the
/// command line are left out when it is linked), so a package that ships it
/// is about half as large.
pub fn slim_bootstrap_beside(this: &Path) -> Option<PathBuf> {
    let slim = this.with_file_name(SLIM_BOOTSTRAP);
    slim.is_file().then_some(slim)
}
use crate::runtime_api::{ARTIFACTS_DIR, RuntimeSettings, SNAPSHOT_ENVIRONMENT_FILE};

/// Lambda's limit on a zip uploaded directly (`CreateFunction` with
/// `ZipFile`, `aws lambda create-function --zip-file`); a larger zip must
/// go through S3.
pub const MAX_ZIPPED_BYTES: u64 = 52_428_800;

/// Lambda's limit on a function's unzipped code (with its layers), however
/// it is uploaded.
pub const MAX_UNZIPPED_BYTES: u64 = 262_144_000;

/// A Lambda instruction set architecture (`Architectures` of a function).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Architecture {
    /// `x86_64`.
    X86_64,
    /// `arm64` (Graviton).
    Arm64,
}

impl Architecture {
    /// The architecture of the machine this binary runs on.
    pub fn this_machine() -> Architecture {
        if cfg!(target_arch = "aarch64") {
            Architecture::Arm64
        } else {
            Architecture::X86_64
        }
    }

    /// Lambda's name for it, as `--architectures` takes it.
    pub fn lambda_name(self) -> &'static str {
        match self {
            Architecture::X86_64 => "x86_64",
            Architecture::Arm64 => "arm64",
        }
    }

    /// Parses Lambda's name (`x86_64`, `arm64`); `aarch64` is taken too.
    pub fn parse(name: &str) -> Result<Architecture> {
        match name {
            "x86_64" => Ok(Architecture::X86_64),
            "arm64" | "aarch64" => Ok(Architecture::Arm64),
            _ => bail!("unknown architecture {name:?}: Lambda's are x86_64 and arm64"),
        }
    }

    /// Rust's target for the bootstrap built for it.
    pub fn rust_target(self) -> &'static str {
        match self {
            Architecture::X86_64 => "x86_64-unknown-linux-gnu",
            Architecture::Arm64 => "aarch64-unknown-linux-gnu",
        }
    }

    /// qemu's user-mode emulator of it (Debian's `qemu-user`), and the
    /// folder of Debian's cross C library it finds the bootstrap's loader
    /// and libraries in (`-L`).
    fn emulator(self) -> (&'static str, &'static str) {
        match self {
            Architecture::X86_64 => ("qemu-x86_64", "/usr/x86_64-linux-gnu"),
            Architecture::Arm64 => ("qemu-aarch64", "/usr/aarch64-linux-gnu"),
        }
    }

    /// binutils' `strip` for it, from Debian's cross toolchain: the machine's
    /// own `strip` reads only its own architecture.
    fn cross_strip(self) -> &'static str {
        match self {
            Architecture::X86_64 => "x86_64-linux-gnu-strip",
            Architecture::Arm64 => "aarch64-linux-gnu-strip",
        }
    }

    /// The architecture of the Linux executable at `path`, from its ELF
    /// header.
    pub fn of_executable(path: &Path) -> Result<Architecture> {
        use std::io::Read as _;
        let mut header = [0u8; 20];
        std::fs::File::open(path)
            .and_then(|mut file| file.read_exact(&mut header))
            .with_context(|| format!("failed to read {}", path.display()))?;
        // ELF magic, 64-bit, little-endian; e_machine is the u16 at 18.
        if &header[..4] != b"\x7fELF" || header[4] != 2 || header[5] != 1 {
            bail!(
                "{} is not a 64-bit little-endian Linux executable",
                path.display()
            );
        }
        match u16::from_le_bytes([header[18], header[19]]) {
            0x3e => Ok(Architecture::X86_64),
            0xb7 => Ok(Architecture::Arm64),
            machine => bail!(
                "{} is an executable for ELF machine {machine:#x}, neither x86_64 nor arm64",
                path.display()
            ),
        }
    }
}

impl std::fmt::Display for Architecture {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.lambda_name())
    }
}

/// Runs `wasm-lambda package` with `args` (this process's own arguments)
/// again, as `bootstrap` (a `wasm-lambda` built for `arch`, another
/// architecture than this machine's) under qemu's user-mode emulator: the
/// bootstrap then compiles the component for itself, with the engine that
/// will load the artifact on Lambda, and makes the snapshot (`--snapshot`)
/// by running the init phase as it will run there. Returns its exit code.
pub fn package_emulated(
    arch: Architecture,
    bootstrap: &Path,
    args: impl IntoIterator<Item = std::ffi::OsString>,
) -> Result<i32> {
    let (emulator, sysroot) = arch.emulator();
    let mut command = std::process::Command::new(emulator);
    if Path::new(sysroot).is_dir() {
        command.arg("-L").arg(sysroot);
    }
    // argv[0] "wasm-lambda": under the name `bootstrap` the binary runs the
    // Runtime API loop instead of the command.
    command
        .arg("-0")
        .arg("wasm-lambda")
        .arg(bootstrap)
        .args(args);
    if std::env::var_os("STRIP").is_none() {
        command.env("STRIP", arch.cross_strip());
    }
    let status = command.status().with_context(|| {
        format!(
            "failed to run {emulator}, which runs the {arch} bootstrap here to compile for it (Debian's qemu-user; scripts/setup-toolchains.sh installs it)"
        )
    })?;
    Ok(status.code().unwrap_or(1))
}

/// The function's configuration on Lambda, as far as its init phase can
/// see it: the snapshot made at package time is used on Lambda only when
/// these match the function's.
#[derive(Debug, Clone)]
pub struct PackageConfig {
    /// `AWS_LAMBDA_FUNCTION_NAME` (the log group's name follows from it).
    pub name: String,
    /// `AWS_REGION`.
    pub region: String,
    /// `AWS_LAMBDA_FUNCTION_MEMORY_SIZE`, in MB.
    pub memory_mb: u32,
    /// `AWS_LAMBDA_FUNCTION_VERSION`: `$LATEST`, or the number of the
    /// version the package will be published as.
    pub version: String,
    /// The function's own environment variables.
    pub variables: BTreeMap<String, String>,
    /// Whether to carry a snapshot of the init phase.
    pub snapshot: bool,
}

/// What went into a package.
#[derive(Debug, Clone)]
pub struct Package {
    /// The zip's path.
    pub zip: PathBuf,
    /// The handler setting to deploy with (`_HANDLER`): the component's file name.
    pub handler: String,
    /// The zip's size in bytes.
    pub size: u64,
    /// The size of its files unzipped, in bytes.
    pub unzipped: u64,
    /// Whether the bootstrap went in stripped (`false` when no `strip`
    /// could be run: the zip then carries the binary as it is).
    pub stripped: bool,
    /// Whether it carries a snapshot of the init phase.
    pub snapshot: bool,
}

impl Package {
    /// Whether the zip can be uploaded directly (`--zip-file`); above
    /// [`MAX_ZIPPED_BYTES`] it has to go through S3.
    pub fn fits_direct_upload(&self) -> bool {
        self.size <= MAX_ZIPPED_BYTES
    }

    /// What the package leaves of Lambda's limits, in words: the room for
    /// more code (layers, data) under each.
    pub fn room(&self) -> String {
        let zipped = if self.fits_direct_upload() {
            format!(
                "{} zipped, {} left for a direct upload",
                megabytes(self.size),
                megabytes(MAX_ZIPPED_BYTES - self.size)
            )
        } else {
            format!(
                "{} zipped, {} over the {MAX_ZIPPED_BYTES}-byte limit of a direct upload: upload it to S3 and deploy with --code S3Bucket=...,S3Key=...",
                megabytes(self.size),
                megabytes(self.size - MAX_ZIPPED_BYTES)
            )
        };
        format!(
            "{zipped}; {} unzipped, {} left for layers and data",
            megabytes(self.unzipped),
            megabytes(MAX_UNZIPPED_BYTES.saturating_sub(self.unzipped))
        )
    }
}

fn megabytes(bytes: u64) -> String {
    format!("{:.1} MB", bytes as f64 / 1_000_000.0)
}

/// Checks an unzipped size against [`MAX_UNZIPPED_BYTES`]: an error that
/// says by how much it is over and what is largest.
fn check_unzipped(files: &[(String, u64)]) -> Result<u64> {
    let total: u64 = files.iter().map(|(_, size)| size).sum();
    if total > MAX_UNZIPPED_BYTES {
        let mut largest: Vec<_> = files.iter().collect();
        largest.sort_by_key(|(_, size)| std::cmp::Reverse(*size));
        let listed: Vec<String> = largest
            .iter()
            .map(|(name, size)| format!("{name} {}", megabytes(*size)))
            .collect();
        bail!(
            "the package would unzip to {total} bytes, {} over Lambda's limit of {MAX_UNZIPPED_BYTES} bytes for a function's code ({})",
            megabytes(total - MAX_UNZIPPED_BYTES),
            listed.join(", ")
        );
    }
    Ok(total)
}

/// `bootstrap` without symbols or debug information, in `scratch`; `None`
/// when `strip` cannot be run.
fn stripped(bootstrap: &Path, scratch: &Path) -> Option<PathBuf> {
    let output = scratch.join("bootstrap");
    let tool = std::env::var_os("STRIP").unwrap_or_else(|| "strip".into());
    let status = std::process::Command::new(&tool)
        .arg("--strip-all")
        .arg("-o")
        .arg(&output)
        .arg(bootstrap)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status();
    match status {
        Ok(status) if status.success() && output.is_file() => Some(output),
        _ => {
            tracing::warn!(
                "cannot run {} --strip-all (binutils): the bootstrap goes in with its debug information",
                tool.to_string_lossy()
            );
            None
        }
    }
}

/// Packages `component` with `bootstrap` (the executable at `bootstrap`)
/// into `output`, for a function configured as `config`. The component is
/// loaded first, so a broken one or one of another world is refused here
/// rather than on Lambda; a package over Lambda's unzipped limit is refused
/// before anything is written.
pub fn package(
    host: &Host,
    component: &Path,
    bootstrap: &Path,
    output: &Path,
    config: &PackageConfig,
) -> Result<Package> {
    let handler = component
        .file_name()
        .context("the component path has no file name")?
        .to_string_lossy()
        .into_owned();
    // The function as the runtime on Lambda will read it from its
    // environment, so the snapshot's environment is the one it will have.
    let environment = crate::runtime_api::lambda_environment(
        &config.name,
        &config.region,
        config.memory_mb,
        &config.version,
        &handler,
        &config.variables,
    );
    let settings = RuntimeSettings::from_env(
        &environment,
        Some(component),
        std::time::Duration::from_secs(3),
    )?;
    let scratch = tempfile::tempdir().context("failed to create a temporary folder")?;
    let artifacts = scratch.path().join(ARTIFACTS_DIR);
    std::fs::create_dir(&artifacts)?;
    let exported = host.export(settings.function, &artifacts, config.snapshot)?;
    let mut artifact_files: Vec<(String, PathBuf)> = exported
        .files
        .iter()
        .map(|file| {
            (
                format!("{ARTIFACTS_DIR}/{}", file.to_string_lossy()),
                artifacts.join(file),
            )
        })
        .collect();
    if let Some(environment) = &exported.snapshot_environment {
        let recorded: BTreeMap<&str, &str> = environment
            .iter()
            .map(|(name, value)| (name.as_str(), value.as_str()))
            .collect();
        let path = artifacts.join(SNAPSHOT_ENVIRONMENT_FILE);
        std::fs::write(&path, serde_json::to_vec_pretty(&recorded)?)?;
        artifact_files.push((format!("{ARTIFACTS_DIR}/{SNAPSHOT_ENVIRONMENT_FILE}"), path));
    }
    let stripped_bootstrap = stripped(bootstrap, scratch.path());
    let bootstrap_path = stripped_bootstrap.as_deref().unwrap_or(bootstrap);

    let mut files = vec![
        ("bootstrap".to_string(), bootstrap_path.to_path_buf(), 0o755),
        (handler.clone(), component.to_path_buf(), 0o644),
    ];
    files.extend(
        artifact_files
            .into_iter()
            .map(|(name, path)| (name, path, 0o644)),
    );
    let sizes = files
        .iter()
        .map(|(name, path, _)| {
            let size = std::fs::metadata(path)
                .with_context(|| format!("failed to read {}", path.display()))?
                .len();
            Ok((name.clone(), size))
        })
        .collect::<Result<Vec<_>>>()?;
    let unzipped = check_unzipped(&sizes)?;

    let file = std::fs::File::create(output)
        .with_context(|| format!("failed to create {}", output.display()))?;
    let mut zip = zip::ZipWriter::new(file);
    // The unpacked files' folders, empty ones included: the task root is
    // read-only on Lambda, so the runtime could not create them.
    for folder in &exported.folders {
        zip.add_directory(
            format!("{ARTIFACTS_DIR}/{}/", folder.to_string_lossy()),
            SimpleFileOptions::default().unix_permissions(0o755),
        )?;
    }
    for (name, path, mode) in &files {
        let options = SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Deflated)
            .compression_level(Some(9))
            .unix_permissions(*mode);
        zip.start_file(name.as_str(), options)?;
        zip.write_all(
            &std::fs::read(path).with_context(|| format!("failed to read {}", path.display()))?,
        )?;
    }
    zip.finish().context("failed to finish the zip")?;
    Ok(Package {
        zip: output.to_path_buf(),
        handler,
        size: std::fs::metadata(output)?.len(),
        unzipped,
        stripped: stripped_bootstrap.is_some(),
        snapshot: exported.snapshot_environment.is_some(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn architectures_are_read_from_lambdas_names_and_from_elf_headers() {
        assert_eq!(Architecture::parse("arm64").unwrap(), Architecture::Arm64);
        assert_eq!(Architecture::parse("x86_64").unwrap(), Architecture::X86_64);
        assert!(Architecture::parse("arm").is_err());
        let this = std::env::current_exe().unwrap();
        assert_eq!(
            Architecture::of_executable(&this).unwrap(),
            Architecture::this_machine()
        );
        let dir = tempfile::tempdir().unwrap();
        let mut header = b"\x7fELF\x02\x01\x01".to_vec();
        header.resize(18, 0);
        header.extend_from_slice(&0xb7u16.to_le_bytes());
        let arm64 = dir.path().join("arm64");
        std::fs::write(&arm64, &header).unwrap();
        assert_eq!(
            Architecture::of_executable(&arm64).unwrap(),
            Architecture::Arm64
        );
        let script = dir.path().join("script");
        std::fs::write(&script, "#!/bin/sh\necho not elf\n").unwrap();
        let error = Architecture::of_executable(&script)
            .unwrap_err()
            .to_string();
        assert!(
            error.contains("not a 64-bit little-endian Linux executable"),
            "{error}"
        );
    }

    #[test]
    fn an_unzipped_size_over_lambdas_limit_is_refused_with_the_excess_and_the_largest_file() {
        let files = vec![
            ("bootstrap".to_string(), 30_000_000),
            ("artifacts/a.cwasm".to_string(), 200_000_000),
            ("python.wasm".to_string(), 40_000_000),
        ];
        let error = check_unzipped(&files).unwrap_err().to_string();
        assert!(error.contains("7.9 MB over"), "{error}");
        assert!(error.contains("262144000"), "{error}");
        assert!(
            error.contains("artifacts/a.cwasm 200.0 MB, python.wasm 40.0 MB"),
            "{error}"
        );
        let fits = vec![("bootstrap".to_string(), MAX_UNZIPPED_BYTES)];
        assert_eq!(check_unzipped(&fits).unwrap(), MAX_UNZIPPED_BYTES);
    }

    #[test]
    fn the_room_left_names_a_zip_too_large_to_upload_directly() {
        let package = Package {
            zip: PathBuf::from("function.zip"),
            handler: "hello.wasm".into(),
            size: MAX_ZIPPED_BYTES + 1_000_000,
            unzipped: 100_000_000,
            stripped: true,
            snapshot: false,
        };
        assert!(!package.fits_direct_upload());
        let room = package.room();
        assert!(room.contains("1.0 MB over"), "{room}");
        assert!(room.contains("S3Bucket"), "{room}");
        assert!(room.contains("162.1 MB left"), "{room}");
        let small = Package {
            size: 12_000_000,
            ..package
        };
        assert!(small.fits_direct_upload());
        assert!(small.room().contains("40.4 MB left for a direct upload"));
    }
}
