//! `wasm-lambda package`: a deployment zip for a `provided.al2023` function.
//!
//! The zip holds `bootstrap` (this very binary: started under that name it
//! runs the Runtime API loop), the component, and its precompiled artifact
//! under `artifacts/`, so a cold start on Lambda loads machine code instead
//! of compiling.
//!
//! The bootstrap goes in stripped of its symbols and debug information
//! (binutils' `strip`, or `$STRIP`): the host binary carries line tables
//! for readable backtraces, which make it several times larger than the
//! code. Every file is compressed at the best level, and the package is
//! checked against Lambda's limits: [`MAX_ZIPPED_BYTES`] for a direct
//! upload (`--zip-file`) and [`MAX_UNZIPPED_BYTES`] for any function.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{Context as _, Result, bail};
use zip::write::SimpleFileOptions;

use crate::FunctionConfig;
use crate::Host;
use crate::runtime_api::ARTIFACTS_DIR;

/// Lambda's limit on a zip uploaded directly (`CreateFunction` with
/// `ZipFile`, `aws lambda create-function --zip-file`); a larger zip must
/// go through S3.
pub const MAX_ZIPPED_BYTES: u64 = 52_428_800;

/// Lambda's limit on a function's unzipped code (with its layers), however
/// it is uploaded.
pub const MAX_UNZIPPED_BYTES: u64 = 262_144_000;

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
/// into `output`. The component is loaded first, so a broken one or one of
/// another world is refused here rather than on Lambda; a package over
/// Lambda's unzipped limit is refused before anything is written.
pub fn package(host: &Host, component: &Path, bootstrap: &Path, output: &Path) -> Result<Package> {
    let handler = component
        .file_name()
        .context("the component path has no file name")?
        .to_string_lossy()
        .into_owned();
    host.load(FunctionConfig::new("package", component))?;
    let bytes = std::fs::read(component)
        .with_context(|| format!("failed to read {}", component.display()))?;
    let scratch = tempfile::tempdir().context("failed to create a temporary folder")?;
    let artifact = host.export_artifact(&bytes, scratch.path())?;
    let artifact_name = artifact
        .file_name()
        .expect("the artifact has a file name")
        .to_string_lossy()
        .into_owned();
    let stripped_bootstrap = stripped(bootstrap, scratch.path());
    let bootstrap_path = stripped_bootstrap.as_deref().unwrap_or(bootstrap);

    let files = [
        ("bootstrap".to_string(), bootstrap_path.to_path_buf(), 0o755),
        (handler.clone(), component.to_path_buf(), 0o644),
        (format!("{ARTIFACTS_DIR}/{artifact_name}"), artifact, 0o644),
    ];
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
    })
}

#[cfg(test)]
mod tests {
    use super::*;

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
