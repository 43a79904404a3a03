//! The on-disk cache of precompiled components.
//!
//! Compiling a 20 MB Python component with Cranelift takes seconds; loading
//! its precompiled artifact takes milliseconds. Entries are keyed by the
//! component's content hash and the engine's compatibility hash, so a changed
//! component or engine setting never loads a stale artifact.
//!
//! Entries are written to a temporary file and renamed into place, so
//! concurrent writers (two hosts loading the same component) never expose a
//! half-written file: the last rename wins and both files are valid. Each
//! entry starts with a BLAKE3 checksum of the artifact; an entry that fails
//! it (a truncated file, a flipped bit) is deleted and rebuilt, never handed
//! to wasmtime, which trusts artifacts it deserialises.

use std::hash::{Hash, Hasher};
use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{Context as _, Result};
use wasmtime::Engine;
use wasmtime::component::Component;

const CHECKSUM_LEN: usize = 32;

/// Where precompiled components live, by default: `$WASM_LAMBDA_CACHE_DIR`,
/// else `$XDG_CACHE_HOME/wasm-lambda`, else `~/.cache/wasm-lambda`, else a
/// folder under the system's temporary directory.
pub fn default_cache_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("WASM_LAMBDA_CACHE_DIR") {
        return PathBuf::from(dir);
    }
    if let Some(dir) = std::env::var_os("XDG_CACHE_HOME") {
        return PathBuf::from(dir).join("wasm-lambda");
    }
    if let Some(home) = std::env::var_os("HOME") {
        return PathBuf::from(home).join(".cache").join("wasm-lambda");
    }
    std::env::temp_dir().join("wasm-lambda-cache")
}

/// How a component was made ready to run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LoadSource {
    /// A valid artifact was found in the cache.
    Cache,
    /// The component was compiled (and the artifact stored).
    Compiled,
}

/// A folder of precompiled components for one engine configuration.
#[derive(Debug, Clone)]
pub(crate) struct ArtifactCache {
    dir: Option<PathBuf>,
    read_only: Vec<PathBuf>,
}

/// Feeds `Hash` output into BLAKE3, to fold the engine's compatibility hash
/// into the cache key.
struct Blake3Hasher<'a>(&'a mut blake3::Hasher);

impl Hasher for Blake3Hasher<'_> {
    fn finish(&self) -> u64 {
        unreachable!("only used to feed bytes")
    }

    fn write(&mut self, bytes: &[u8]) {
        self.0.update(bytes);
    }
}

impl ArtifactCache {
    /// A cache in `dir` (no caching at all with `None`), which first looks
    /// in the `read_only` folders.
    pub(crate) fn new(dir: Option<PathBuf>, read_only: Vec<PathBuf>) -> Self {
        ArtifactCache { dir, read_only }
    }

    /// Writes the artifact of `component` into `dir` as a cache entry, as
    /// `wasm-lambda package` ships it; returns the entry's path.
    pub(crate) fn export(engine: &Engine, component: &[u8], dir: &Path) -> Result<PathBuf> {
        let artifact = engine
            .precompile_component(component)
            .map_err(anyhow::Error::from)
            .context("failed to compile the component")?;
        let path = dir.join(format!("{}.cwasm", Self::key(engine, component)));
        store_entry(&path, &artifact)?;
        Ok(path)
    }

    /// The cache key of `component` for `engine`, as hex.
    pub(crate) fn key(engine: &Engine, component: &[u8]) -> String {
        let mut hasher = blake3::Hasher::new();
        engine
            .precompile_compatibility_hash()
            .hash(&mut Blake3Hasher(&mut hasher));
        hasher.update(b"wasm-lambda artifact v1");
        hasher.update(component);
        hasher.finalize().to_hex().to_string()
    }

    fn entry_path(&self, key: &str) -> Option<PathBuf> {
        self.dir
            .as_ref()
            .map(|dir| dir.join(format!("{key}.cwasm")))
    }

    /// Loads `component` from the cache, or compiles it and stores the
    /// artifact. A failure to write the cache is not an error: the component
    /// still runs, it will just be compiled again next time.
    pub(crate) fn load(
        &self,
        engine: &Engine,
        component: &[u8],
    ) -> Result<(Component, LoadSource)> {
        let key = Self::key(engine, component);
        for dir in &self.read_only {
            if let Some(component) = load_entry(engine, &dir.join(format!("{key}.cwasm")), false) {
                return Ok((component, LoadSource::Cache));
            }
        }
        let path = self.entry_path(&key);
        if let Some(path) = &path
            && let Some(component) = load_entry(engine, path, true)
        {
            return Ok((component, LoadSource::Cache));
        }
        let artifact = engine
            .precompile_component(component)
            .map_err(anyhow::Error::from)
            .context("failed to compile the component")?;
        if let Some(path) = &path
            && let Err(error) = store_entry(path, &artifact)
        {
            eprintln!(
                "wasm-lambda: failed to cache the compiled component at {}: {error:#}",
                path.display()
            );
        }
        // SAFETY: the artifact was produced by this engine just now.
        let component = unsafe { Component::deserialize(engine, &artifact) }
            .map_err(anyhow::Error::from)
            .context("failed to load the compiled component")?;
        Ok((component, LoadSource::Compiled))
    }
}

/// Reads a verified entry; any problem (missing, corrupt, from another
/// engine) means "not cached", and a corrupt file is removed if `writable`.
fn load_entry(engine: &Engine, path: &Path, writable: bool) -> Option<Component> {
    let bytes = std::fs::read(path).ok()?;
    let valid = bytes.len() > CHECKSUM_LEN && {
        let (checksum, artifact) = bytes.split_at(CHECKSUM_LEN);
        blake3::hash(artifact).as_bytes() == checksum
    };
    if !valid {
        if writable {
            let _ = std::fs::remove_file(path);
        }
        return None;
    }
    // SAFETY: the checksum proves these are the bytes this cache wrote, and
    // the key includes the engine's compatibility hash; wasmtime still checks
    // the artifact's header against the engine.
    match unsafe { Component::deserialize(engine, &bytes[CHECKSUM_LEN..]) } {
        Ok(component) => Some(component),
        Err(_) => {
            if writable {
                let _ = std::fs::remove_file(path);
            }
            None
        }
    }
}

fn store_entry(path: &Path, artifact: &[u8]) -> Result<()> {
    let dir = path.parent().context("cache entry has no folder")?;
    std::fs::create_dir_all(dir).with_context(|| format!("failed to create {}", dir.display()))?;
    let mut file =
        tempfile::NamedTempFile::new_in(dir).context("failed to create a temporary file")?;
    file.write_all(blake3::hash(artifact).as_bytes())?;
    file.write_all(artifact)?;
    file.as_file().sync_data()?;
    file.persist(path)
        .context("failed to move the entry into place")?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn corrupt_entries_are_rejected_and_removed() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("entry.cwasm");
        store_entry(&path, b"not really an artifact").unwrap();
        let mut bytes = std::fs::read(&path).unwrap();
        let last = bytes.len() - 1;
        bytes[last] ^= 1;
        std::fs::write(&path, &bytes).unwrap();
        let engine = Engine::default();
        assert!(load_entry(&engine, &path, true).is_none());
        assert!(!path.exists(), "a corrupt entry is deleted");
    }
}
