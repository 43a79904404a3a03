//! `wasm-lambda package`: a deployment zip for a `provided.al2023` function.
//!
//! The zip holds `bootstrap` (this very binary: started under that name it
//! runs the Runtime API loop), the component, and its precompiled artifact
//! under `artifacts/`, so a cold start on Lambda loads machine code instead
//! of compiling.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{Context as _, Result};
use zip::write::SimpleFileOptions;

use crate::FunctionConfig;
use crate::Host;
use crate::runtime_api::ARTIFACTS_DIR;

/// What went into a package.
#[derive(Debug, Clone)]
pub struct Package {
    /// The zip's path.
    pub zip: PathBuf,
    /// The handler setting to deploy with (`_HANDLER`): the component's file name.
    pub handler: String,
    /// The zip's size in bytes.
    pub size: u64,
}

/// Packages `component` with `bootstrap` (the executable at `bootstrap`)
/// into `output`. The component is loaded first, so a broken one or one of
/// another world is refused here rather than on Lambda.
pub fn package(host: &Host, component: &Path, bootstrap: &Path, output: &Path) -> Result<Package> {
    let handler = component
        .file_name()
        .context("the component path has no file name")?
        .to_string_lossy()
        .into_owned();
    host.load(FunctionConfig::new("package", component))?;
    let bytes = std::fs::read(component)
        .with_context(|| format!("failed to read {}", component.display()))?;
    let artifacts = tempfile::tempdir().context("failed to create a temporary folder")?;
    let artifact = host.export_artifact(&bytes, artifacts.path())?;
    let bootstrap_bytes = std::fs::read(bootstrap)
        .with_context(|| format!("failed to read {}", bootstrap.display()))?;

    let file = std::fs::File::create(output)
        .with_context(|| format!("failed to create {}", output.display()))?;
    let mut zip = zip::ZipWriter::new(file);
    let executable = SimpleFileOptions::default().unix_permissions(0o755);
    let regular = SimpleFileOptions::default().unix_permissions(0o644);
    zip.start_file("bootstrap", executable)?;
    zip.write_all(&bootstrap_bytes)?;
    zip.start_file(&handler, regular)?;
    zip.write_all(&bytes)?;
    let artifact_name = artifact
        .file_name()
        .expect("the artifact has a file name")
        .to_string_lossy();
    zip.start_file(format!("{ARTIFACTS_DIR}/{artifact_name}"), regular)?;
    zip.write_all(&std::fs::read(&artifact)?)?;
    zip.finish().context("failed to finish the zip")?;
    Ok(Package {
        zip: output.to_path_buf(),
        handler,
        size: std::fs::metadata(output)?.len(),
    })
}
