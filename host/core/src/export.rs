//! What a deployment package carries of a function besides its component:
//! the component's precompiled artifact, the files it carries unpacked,
//! and, when asked and the function has an init phase that can be
//! snapshotted, the snapshot's artifact: a custom runtime's cold start on
//! Lambda then compiles nothing, writes nothing and runs no init phase.
//!
//! The files are cache entries laid out as the cache lays them out, so the
//! runtime reads the package's folder as a read-only cache
//! ([`HostConfig::read_only_cache_dirs`](crate::HostConfig)).

use std::path::{Path, PathBuf};

use anyhow::{Context as _, Result};

use crate::cache::{ArtifactCache, SNAPSHOTS_FOLDER};
use crate::config::FunctionConfig;
use crate::host::Host;

/// What [`Host::export`] wrote.
#[derive(Debug, Clone)]
pub struct Exported {
    /// The folders written (those a package must hold even when empty),
    /// relative to the folder.
    pub folders: Vec<PathBuf>,
    /// The files written, relative to the folder.
    pub files: Vec<PathBuf>,
    /// The environment the snapshot's init phase ran in (without the
    /// credentials and the log stream name, which it does not depend on),
    /// when there is a snapshot: a runtime with another environment has
    /// no snapshot and runs the init phase in every sandbox.
    pub snapshot_environment: Option<Vec<(String, String)>>,
}

impl Host {
    /// Loads the function of `config` (running and snapshotting its init
    /// phase when it has one and this host makes snapshots) and writes into
    /// `dir` what a runtime with this engine needs to start it without
    /// compiling or unpacking: the component's artifact, its files unpacked
    /// and, with `snapshot`, the snapshot's artifact.
    ///
    /// The host needs a cache folder: the artifacts are taken from it.
    pub fn export(&self, config: FunctionConfig, dir: &Path, snapshot: bool) -> Result<Exported> {
        let cache_dir = self
            .shared
            .cache
            .dir()
            .context("exporting a function needs a host with a cache folder")?
            .to_path_buf();
        let component = config.component.clone();
        let function = self.load(config)?;
        let bytes = std::fs::read(&component)
            .with_context(|| format!("failed to read {}", component.display()))?;
        let engine = &self.shared.engine.engine;
        let mut files = Vec::new();
        // The component's own artifact: the runtime's way in when its
        // environment is not the snapshot's. A load that found the snapshot
        // did not need it, so it may have to be compiled now.
        let hash = blake3::hash(&bytes);
        let name = PathBuf::from(format!("{}.cwasm", ArtifactCache::key(engine, &hash)));
        if !copy_if_present(&cache_dir.join(&name), &dir.join(&name))? {
            ArtifactCache::export(engine, &bytes, dir)?;
        }
        files.push(name);

        // The function's files, unpacked: a cold start then writes none.
        let (folders, unpacked) = crate::files::unpack_into(&bytes, dir)?;
        files.extend(unpacked);

        let mut snapshot_environment = None;
        if snapshot && function.load_info().snapshot.is_some() {
            let key = function.inner.snapshot_key;
            let snapshots = self.shared.cache.within(SNAPSHOTS_FOLDER);
            let (_, facts) = crate::snapshot::find(&snapshots, &key)
                .context("the snapshot just made is not in the cache")?;
            let artifact = Path::new(SNAPSHOTS_FOLDER)
                .join(format!("{}.cwasm", ArtifactCache::key(engine, &key)));
            std::fs::create_dir_all(dir.join(SNAPSHOTS_FOLDER))?;
            if !copy_if_present(&cache_dir.join(&artifact), &dir.join(&artifact))? {
                anyhow::bail!("the snapshot's artifact is not in the cache");
            }
            crate::snapshot::write_packaged(&dir.join(SNAPSHOTS_FOLDER), &key, &facts)?;
            files.push(artifact);
            files.push(crate::snapshot::entry_name(&key));
            snapshot_environment = Some(function.snapshot_environment());
        }
        Ok(Exported {
            folders,
            files,
            snapshot_environment,
        })
    }
}

/// Copies `from` to `to` when it exists; `false` when it does not.
fn copy_if_present(from: &Path, to: &Path) -> Result<bool> {
    match std::fs::copy(from, to) {
        Ok(_) => Ok(true),
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(false),
        Err(error) => Err(error)
            .with_context(|| format!("failed to copy {} to {}", from.display(), to.display())),
    }
}
