//! The on-disk cache of precompiled components.
//!
//! Compiling a 20 MB Python component with Cranelift takes seconds; loading
//! its precompiled artifact takes milliseconds. Entries are keyed by the
//! component's content hash and the engine's compatibility hash, so a changed
//! component or engine setting never loads a stale artifact.
//!
//! Entries are written to a temporary file and renamed into place, so
//! concurrent writers (two hosts loading the same component) never expose a
//! half-written file: the last rename wins and both files are valid.
//!
//! Loading an artifact trusts it with the host's memory (wasmtime runs its
//! machine code as it is), so an entry is used only when all of these hold:
//! - it records the BLAKE3 hash of the component it was compiled from, and
//!   that is the component being loaded (an artifact of another component
//!   copied under this one's name is refused);
//! - its checksum (BLAKE3 over the recorded hash and the artifact) matches,
//!   so a truncated file or a flipped bit is refused;
//! - nobody but this user (or root) could have written it: the entry and its
//!   folder belong to one of them and are not group- or world-writable. The
//!   writable cache folder is created private (0700).
//!
//! A refused entry is deleted (from the writable cache) and rebuilt.
//!
//! A loaded component stays resident while a function uses it ([`Resident`]):
//! a second load of the same bytes by the same host (another version of the
//! function, another function of the same code, a `--watch` reload of an
//! unchanged build) shares its compiled code and memory images rather than
//! reading and mapping a copy of its own.
//!
//! The cache holds at most a budget of bytes ([`default_cache_budget`]):
//! after each compile, the entries used longest ago (artifacts, snapshots and
//! compiled functions alike; a hit marks an entry used) are removed until the
//! rest fit. Nothing else would ever remove an artifact of a component that
//! no longer exists, and an interpreter's is tens of megabytes.

use std::collections::HashMap;
use std::hash::{Hash, Hasher};
use std::io::{Read as _, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, Weak};

use anyhow::{Context as _, Result};
use wasmtime::Engine;
use wasmtime::component::Component;

/// An entry: `checksum | component hash | artifact`, each hash 32 bytes;
/// the checksum covers the component hash and the artifact.
const HASH_LEN: usize = 32;
const HEADER_LEN: usize = 2 * HASH_LEN;

/// Where precompiled components live, by default: `$WASM_LAMBDA_CACHE_DIR`,
/// else `$XDG_CACHE_HOME/wasm-lambda`, else `~/.cache/wasm-lambda`, else a
/// folder under the system's temporary directory.
pub fn default_cache_dir() -> PathBuf {
    crate::paths::user_folder(
        "WASM_LAMBDA_CACHE_DIR",
        "XDG_CACHE_HOME",
        &[".cache"],
        "wasm-lambda-cache",
    )
}

/// How many bytes the cache may hold, by default: `$WASM_LAMBDA_CACHE_MAX_MB`
/// megabytes, else 8 GiB (about a hundred Python or JavaScript functions with
/// their snapshots).
pub fn default_cache_budget() -> u64 {
    std::env::var("WASM_LAMBDA_CACHE_MAX_MB")
        .ok()
        .and_then(|value| value.trim().parse::<u64>().ok())
        .map_or(8 << 30, |megabytes| megabytes.saturating_mul(1 << 20))
}

/// The cache's folder of load-time snapshots and their artifacts
/// (`snapshot.rs`).
pub(crate) const SNAPSHOTS_FOLDER: &str = "snapshots";

/// The cache's folder of Cranelift's compiled functions ([`FunctionCache`]).
const FUNCTIONS_FOLDER: &str = "functions";

/// The cache's size limit, shared by the artifact caches of one host.
#[derive(Debug)]
pub(crate) struct Budget {
    root: PathBuf,
    bytes: u64,
    /// Set while an eviction runs, so compiles finishing together start one.
    running: Arc<std::sync::atomic::AtomicBool>,
    /// The running eviction, waited for when the host goes (a command that
    /// compiled and exits at once still trims the cache).
    eviction: std::sync::Mutex<Option<std::thread::JoinHandle<()>>>,
}

impl Budget {
    pub(crate) fn new(root: PathBuf, bytes: u64) -> Arc<Self> {
        Arc::new(Budget {
            root,
            bytes,
            running: Arc::default(),
            eviction: std::sync::Mutex::new(None),
        })
    }

    /// Removes the least recently used entries until the cache fits, on a
    /// thread of its own: walking the compiled functions' entries takes a
    /// while, and the load that wrote an entry need not wait for it.
    fn enforce(&self) {
        use std::sync::atomic::Ordering;
        if self.running.swap(true, Ordering::AcqRel) {
            return;
        }
        let (root, bytes, running) = (self.root.clone(), self.bytes, self.running.clone());
        let spawned = std::thread::Builder::new()
            .name("wasm-lambda-cache".into())
            .spawn(move || {
                evict(&root, bytes);
                running.store(false, Ordering::Release);
            });
        match spawned {
            Ok(handle) => {
                let mut eviction = self.eviction.lock().unwrap_or_else(|e| e.into_inner());
                // The one before has finished: `running` was clear.
                if let Some(finished) = eviction.replace(handle) {
                    let _ = finished.join();
                }
            }
            Err(_) => self.running.store(false, Ordering::Release),
        }
    }
}

impl Drop for Budget {
    fn drop(&mut self) {
        let eviction = self.eviction.get_mut().unwrap_or_else(|e| e.into_inner());
        if let Some(handle) = eviction.take() {
            let _ = handle.join();
        }
    }
}

/// The files the budget counts under `root`: the artifacts, the snapshots
/// folder and the compiled functions. Unpacked function files (`files/`)
/// are not among them: a loaded function runs with them mounted.
fn budgeted_files(root: &Path) -> Vec<(std::time::SystemTime, u64, PathBuf)> {
    let mut folders = vec![root.to_path_buf(), root.join(SNAPSHOTS_FOLDER)];
    if let Ok(entries) = std::fs::read_dir(root.join(FUNCTIONS_FOLDER)) {
        folders.extend(entries.flatten().map(|entry| entry.path()));
    }
    let mut files = Vec::new();
    for folder in folders {
        let Ok(entries) = std::fs::read_dir(&folder) else {
            continue;
        };
        files.extend(
            entries
                .flatten()
                // Temporary files being written start with a dot.
                .filter(|entry| !entry.file_name().to_string_lossy().starts_with('.'))
                .filter_map(|entry| {
                    let metadata = entry.metadata().ok()?;
                    let modified = metadata.modified().ok()?;
                    metadata
                        .is_file()
                        .then(|| (modified, metadata.len(), entry.path()))
                }),
        );
    }
    files
}

/// Removes the least recently used entries of the cache at `root` until it
/// holds at most `budget` bytes. A reader of a removed file still reads it
/// whole (the file lives until closed); one that comes after finds no entry
/// and compiles again.
pub(crate) fn evict(root: &Path, budget: u64) {
    let mut files = budgeted_files(root);
    let mut total: u64 = files.iter().map(|(_, size, _)| size).sum();
    if total <= budget {
        return;
    }
    files.sort();
    for (_, size, path) in files {
        if total <= budget {
            break;
        }
        if std::fs::remove_file(&path).is_ok() {
            total -= size;
        }
    }
}

/// Marks the entry at `path` used now, so eviction keeps it longest.
pub(crate) fn mark_used(path: &Path) {
    if let Ok(file) = std::fs::File::options().write(true).open(path) {
        let _ = file.set_modified(std::time::SystemTime::now());
    }
}

/// How a component was made ready to run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LoadSource {
    /// A valid artifact was found in the cache.
    Cache,
    /// The component was compiled (and the artifact stored).
    Compiled,
    /// This host had the component loaded already, for a function it still
    /// holds: the load shares it and reads nothing from the cache.
    Resident,
}

/// The components a host has loaded, by key, while something still holds
/// them, each with a value of `V` that lives as long (for a snapshot, what
/// its init phase printed and kept: `load.rs`).
///
/// Each load of an artifact maps a copy of its machine code and builds the
/// memory images of its modules: tens of megabytes for an interpreter and
/// its snapshot, the same for every copy. The map holds only weak
/// references, so a component is unmapped once the last function using it
/// is dropped, as before. Enforced by
/// `load::a_second_load_of_the_same_component_shares_the_first_ones_memory`.
pub(crate) struct Resident<K, V = ()>(Mutex<HashMap<K, (Weak<Component>, V)>>);

impl<K, V> Default for Resident<K, V> {
    fn default() -> Self {
        Resident(Mutex::default())
    }
}

impl<K, V> std::fmt::Debug for Resident<K, V> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let map = self.0.lock().unwrap_or_else(|e| e.into_inner());
        f.debug_struct("Resident")
            .field("keys", &map.len())
            .finish()
    }
}

impl<K: std::hash::Hash + Eq, V: Clone> Resident<K, V> {
    /// The component under `key` and its value, while something holds it.
    pub(crate) fn get(&self, key: &K) -> Option<(Arc<Component>, V)> {
        let map = self.0.lock().unwrap_or_else(|e| e.into_inner());
        let (component, value) = map.get(key)?;
        Some((component.upgrade()?, value.clone()))
    }

    /// Keeps `component` and `value` under `key`, or returns the component
    /// a concurrent load kept first, so that both share it; forgets the
    /// components nothing holds any more.
    pub(crate) fn keep(&self, key: K, component: Arc<Component>, value: V) -> Arc<Component> {
        let mut map = self.0.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(kept) = map.get(&key).and_then(|(kept, _)| kept.upgrade()) {
            return kept;
        }
        map.retain(|_, (kept, _)| kept.strong_count() > 0);
        map.insert(key, (Arc::downgrade(&component), value));
        component
    }
}

/// A folder of precompiled components for one engine configuration.
#[derive(Debug, Clone)]
pub(crate) struct ArtifactCache {
    dir: Option<PathBuf>,
    read_only: Vec<PathBuf>,
    budget: Option<Arc<Budget>>,
    /// Shared by this cache and those [`within`](Self::within) it: keys are
    /// hashes of different things in each (a component's bytes, a
    /// snapshot's component and environment), so they never meet.
    resident: Arc<Resident<String>>,
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
    /// A cache in `dir` (no caching at all with `None`) holding at most
    /// `budget` bytes, which first looks in the `read_only` folders.
    pub(crate) fn new(dir: Option<PathBuf>, read_only: Vec<PathBuf>, budget: u64) -> Self {
        let budget = dir.clone().map(|root| Budget::new(root, budget));
        ArtifactCache {
            dir,
            read_only,
            budget,
            resident: Arc::default(),
        }
    }

    /// The cache of this one's folder `name` (such as the snapshots'), in
    /// its writable folder and in each read-only one, counted in this
    /// cache's budget.
    pub(crate) fn within(&self, name: &str) -> Self {
        ArtifactCache {
            dir: self.dir.as_ref().map(|dir| dir.join(name)),
            read_only: self.read_only.iter().map(|dir| dir.join(name)).collect(),
            budget: self.budget.clone(),
            resident: self.resident.clone(),
        }
    }

    /// The read-only folders, looked in first.
    pub(crate) fn read_only(&self) -> &[PathBuf] {
        &self.read_only
    }

    /// The component with this hash when this host has it loaded already,
    /// or its artifact is cached (in a read-only folder or the writable
    /// one); never compiles.
    pub(crate) fn load_existing(
        &self,
        engine: &Engine,
        component_hash: &blake3::Hash,
    ) -> Option<(Arc<Component>, LoadSource)> {
        let key = Self::key(engine, component_hash);
        if let Some((component, ())) = self.resident.get(&key) {
            // Its entry is in use, so eviction keeps it longest: a held
            // function's entry is the one its next reload reads
            // (`a_compile_enforces_the_budget_and_a_hit_marks_its_entry`).
            if let Some(path) = self.entry_path(&key) {
                mark_used(&path);
            }
            return Some((component, LoadSource::Resident));
        }
        let component = self.read_existing(engine, &key, component_hash)?;
        let component = self.resident.keep(key, Arc::new(component), ());
        Some((component, LoadSource::Cache))
    }

    fn read_existing(
        &self,
        engine: &Engine,
        key: &str,
        component_hash: &blake3::Hash,
    ) -> Option<Component> {
        for dir in &self.read_only {
            if trusted_folder(dir)
                && let Some(component) = load_entry(
                    engine,
                    &dir.join(format!("{key}.cwasm")),
                    component_hash,
                    false,
                )
            {
                return Some(component);
            }
        }
        let path = self.entry_path(key)?;
        if !path.parent().is_some_and(trusted_folder) {
            return None;
        }
        load_entry(engine, &path, component_hash, true)
    }

    /// Writes the artifact of `component` into `dir` as a cache entry, as
    /// `wasm-lambda package` ships it; returns the entry's path.
    pub(crate) fn export(engine: &Engine, component: &[u8], dir: &Path) -> Result<PathBuf> {
        let artifact = engine
            .precompile_component(component)
            .map_err(anyhow::Error::from)
            .context("failed to compile the component")?;
        let component_hash = blake3::hash(component);
        let path = dir.join(format!("{}.cwasm", Self::key(engine, &component_hash)));
        store_entry(&path, &component_hash, &artifact)?;
        Ok(path)
    }

    /// Marks the writable entry of the component with this hash used now,
    /// so eviction keeps it longest.
    pub(crate) fn mark_used(&self, engine: &Engine, component_hash: &blake3::Hash) {
        if let Some(path) = self.entry_path(&Self::key(engine, component_hash)) {
            mark_used(&path);
        }
    }

    /// The cache key of the component with this hash for `engine`, as hex.
    pub(crate) fn key(engine: &Engine, component_hash: &blake3::Hash) -> String {
        let mut hasher = blake3::Hasher::new();
        engine
            .precompile_compatibility_hash()
            .hash(&mut Blake3Hasher(&mut hasher));
        hasher.update(b"wasm-lambda artifact v2");
        hasher.update(component_hash.as_bytes());
        hasher.finalize().to_hex().to_string()
    }

    /// The writable cache folder, if caching is on.
    pub(crate) fn dir(&self) -> Option<&Path> {
        self.dir.as_deref()
    }

    fn entry_path(&self, key: &str) -> Option<PathBuf> {
        self.dir
            .as_ref()
            .map(|dir| dir.join(format!("{key}.cwasm")))
    }

    /// Loads `component`, whose BLAKE3 hash is `component_hash`, from the
    /// cache, or compiles it and stores the artifact. A failure to write the
    /// cache is not an error: the component still runs, it will just be
    /// compiled again next time.
    pub(crate) fn load(
        &self,
        engine: &Engine,
        component: &[u8],
        component_hash: &blake3::Hash,
    ) -> Result<(Arc<Component>, LoadSource)> {
        if let Some(found) = self.load_existing(engine, component_hash) {
            return Ok(found);
        }
        let key = Self::key(engine, component_hash);
        let path = self.entry_path(&key).filter(|path| {
            let private = path.parent().is_some_and(private_folder);
            if !private {
                tracing::warn!(
                    "wasm-lambda: not using the cache at {}: others could write to it",
                    path.parent().unwrap_or(path).display()
                );
            }
            private
        });
        let artifact = engine
            .precompile_component(component)
            .map_err(anyhow::Error::from)
            .context("failed to compile the component")?;
        if let Some(path) = &path {
            if let Err(error) = store_entry(path, component_hash, &artifact) {
                tracing::warn!(
                    "wasm-lambda: failed to cache the compiled component at {}: {error:#}",
                    path.display()
                );
            }
            // The compile wrote this entry and its functions' entries.
            if let Some(budget) = &self.budget {
                budget.enforce();
            }
        }
        // SAFETY: the artifact was produced by this engine just now.
        let component = unsafe { Component::deserialize(engine, &artifact) }
            .map_err(anyhow::Error::from)
            .context("failed to load the compiled component")?;
        let component = self.resident.keep(key, Arc::new(component), ());
        Ok((component, LoadSource::Compiled))
    }
}

/// Reads a verified entry of the component with `component_hash`; any
/// problem (missing, corrupt, of another component, from another engine,
/// writable by others) means "not cached", and a refused file is removed if
/// `writable`.
fn load_entry(
    engine: &Engine,
    path: &Path,
    component_hash: &blake3::Hash,
    writable: bool,
) -> Option<Component> {
    let entry = read_verified(path, component_hash);
    // SAFETY: `read_verified` checked that these are the bytes this cache
    // wrote for this very component, in a file only this user (or root)
    // could write; the key includes the engine's compatibility hash, and
    // wasmtime still checks the artifact's header against the engine.
    let component = entry
        .and_then(|entry| unsafe { Component::deserialize(engine, &entry[HEADER_LEN..]) }.ok());
    if writable {
        if component.is_none() {
            let _ = std::fs::remove_file(path);
        } else {
            mark_used(path);
        }
    }
    component
}

/// The payload of the entry at `path` written for `hash`, when the file is
/// trusted, whole and written for it.
pub(crate) fn read_entry(path: &Path, hash: &blake3::Hash) -> Option<Vec<u8>> {
    let mut bytes = read_verified(path, hash)?;
    bytes.drain(..HEADER_LEN);
    Some(bytes)
}

/// The entry at `path` written for `hash`, header included, when the file
/// is trusted and whole: a caller that only needs to look at the payload
/// slices it (`[HEADER_LEN..]`) instead of copying tens of megabytes.
fn read_verified(path: &Path, hash: &blake3::Hash) -> Option<Vec<u8>> {
    let mut file = std::fs::File::open(path).ok()?;
    // The opened file's own metadata: a link swapped in after a check of the
    // path could not point the read elsewhere.
    if !file
        .metadata()
        .is_ok_and(|metadata| trusted_metadata(&metadata))
    {
        return None;
    }
    let mut bytes = Vec::new();
    file.read_to_end(&mut bytes).ok()?;
    let valid = bytes.len() > HEADER_LEN && {
        let (checksum, rest) = bytes.split_at(HASH_LEN);
        blake3::hash(rest).as_bytes() == checksum && &rest[..HASH_LEN] == hash.as_bytes()
    };
    valid.then_some(bytes)
}

fn store_entry(path: &Path, component_hash: &blake3::Hash, artifact: &[u8]) -> Result<()> {
    write_entry(path, component_hash, artifact, true)
}

/// Writes an entry whole or not at all; `durable` waits for the disk.
pub(crate) fn write_entry(
    path: &Path,
    component_hash: &blake3::Hash,
    artifact: &[u8],
    durable: bool,
) -> Result<()> {
    let dir = path.parent().context("cache entry has no folder")?;
    create_private_folder(dir)?;
    let mut file =
        tempfile::NamedTempFile::new_in(dir).context("failed to create a temporary file")?;
    let mut checksum = blake3::Hasher::new();
    checksum.update(component_hash.as_bytes());
    checksum.update(artifact);
    file.write_all(checksum.finalize().as_bytes())?;
    file.write_all(component_hash.as_bytes())?;
    file.write_all(artifact)?;
    if durable {
        file.as_file().sync_data()?;
    }
    file.persist(path)
        .context("failed to move the entry into place")?;
    Ok(())
}

/// Creates `dir` (and missing parents) readable only by this user, and
/// narrows an existing folder of this user's to the same.
fn create_private_folder(dir: &Path) -> Result<()> {
    use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .with_context(|| format!("failed to create {}", dir.display()))?;
    let metadata = std::fs::metadata(dir)?;
    if is_own(&metadata) && metadata.permissions().mode() & 0o777 != 0o700 {
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))?;
    }
    Ok(())
}

/// Whether the writable cache folder is safe to use: absent (it will be
/// created private) or trusted.
fn private_folder(dir: &Path) -> bool {
    match std::fs::metadata(dir) {
        Ok(metadata) => trusted_metadata(&metadata),
        Err(error) => error.kind() == std::io::ErrorKind::NotFound,
    }
}

/// Whether a read-only artifact folder exists and is trusted.
fn trusted_folder(dir: &Path) -> bool {
    std::fs::metadata(dir).is_ok_and(|metadata| trusted_metadata(&metadata))
}

/// Owned by this user or root, and writable by neither group nor others.
fn trusted_metadata(metadata: &std::fs::Metadata) -> bool {
    use std::os::unix::fs::MetadataExt;
    (is_own(metadata) || metadata.uid() == 0) && metadata.mode() & 0o022 == 0
}

fn is_own(metadata: &std::fs::Metadata) -> bool {
    use std::os::unix::fs::MetadataExt;
    // SAFETY: geteuid has no preconditions and cannot fail.
    metadata.uid() == unsafe { libc::geteuid() }
}

/// Cranelift's incremental compilation cache: compiled functions, keyed by
/// their body and settings, one entry each under `<cache>/functions/`, kept
/// and verified as the artifacts are (this user's files only, checksummed).
///
/// A load-time snapshot (`snapshot.rs`) has the same code as the component
/// it was taken from and differs in its data only, so compiling it finds
/// every function here: a Python snapshot compiles in a fraction of the
/// seconds the first compile takes.
#[derive(Debug)]
pub(crate) struct FunctionCache {
    dir: PathBuf,
}

impl FunctionCache {
    /// The cache in `dir`, or none when `dir` is not safe to use (another
    /// user's, or writable by others): its entries become machine code.
    pub(crate) fn new(dir: &Path) -> Option<Self> {
        private_folder(dir).then(|| FunctionCache {
            dir: dir.join(FUNCTIONS_FOLDER),
        })
    }

    fn entry(&self, key: &[u8]) -> (PathBuf, blake3::Hash) {
        let hash = blake3::hash(key);
        let name = hash.to_hex();
        (self.dir.join(&name[..2]).join(&name[2..]), hash)
    }
}

impl wasmtime::CacheStore for FunctionCache {
    fn get(&self, key: &[u8]) -> Option<std::borrow::Cow<'_, [u8]>> {
        let (path, hash) = self.entry(key);
        let entry = read_entry(&path, &hash)?;
        mark_used(&path);
        Some(std::borrow::Cow::Owned(entry))
    }

    fn insert(&self, key: &[u8], value: Vec<u8>) -> bool {
        let (path, hash) = self.entry(key);
        // Not synced to disk: a lost entry is only compiled again.
        write_entry(&path, &hash, &value, false).is_ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, SystemTime};

    /// Writes `size` bytes at `path`, last modified `age` seconds after an
    /// old moment.
    fn entry_of(path: &Path, size: usize, age: u64) {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, vec![0u8; size]).unwrap();
        let file = std::fs::File::options().write(true).open(path).unwrap();
        file.set_modified(SystemTime::UNIX_EPOCH + Duration::from_secs(1_000 + age))
            .unwrap();
    }

    fn left(root: &Path) -> Vec<String> {
        let mut left: Vec<String> = walkdir(root)
            .into_iter()
            .map(|path| path.strip_prefix(root).unwrap().display().to_string())
            .collect();
        left.sort();
        left
    }

    fn walkdir(dir: &Path) -> Vec<PathBuf> {
        let mut files = Vec::new();
        for entry in std::fs::read_dir(dir).unwrap().flatten() {
            if entry.file_type().unwrap().is_dir() {
                files.extend(walkdir(&entry.path()));
            } else {
                files.push(entry.path());
            }
        }
        files
    }

    #[test]
    fn eviction_removes_the_least_recently_used_entries_of_every_kind() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        entry_of(&root.join("old.cwasm"), 100, 0);
        entry_of(&root.join("snapshots/old.snapshot"), 100, 1);
        entry_of(&root.join("functions/ab/old"), 100, 2);
        entry_of(&root.join("new.cwasm"), 100, 5);
        entry_of(&root.join("snapshots/new.snapshot"), 100, 6);
        entry_of(&root.join("functions/ab/new"), 100, 7);
        // Being written, and a function's unpacked files: never counted.
        entry_of(&root.join(".tmp-being-written"), 500, 0);
        entry_of(&root.join("files/abc/data.txt"), 500, 0);
        evict(root, 350);
        assert_eq!(
            left(root),
            [
                ".tmp-being-written",
                "files/abc/data.txt",
                "functions/ab/new",
                "new.cwasm",
                "snapshots/new.snapshot"
            ]
        );
    }

    #[test]
    fn an_entry_used_again_outlives_newer_ones() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        entry_of(&root.join("used.cwasm"), 100, 0);
        entry_of(&root.join("unused.cwasm"), 100, 5);
        mark_used(&root.join("used.cwasm"));
        evict(root, 150);
        assert_eq!(left(root), ["used.cwasm"]);
    }

    #[test]
    fn a_compile_enforces_the_budget_and_a_hit_marks_its_entry() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("cache");
        let engine = Engine::default();
        // An empty component: the magic number and the component layer's version.
        let component = b"\0asm\x0d\0\x01\0".to_vec();
        let hash = blake3::hash(&component);
        // Room for one artifact and the old entry, not for both beside it.
        let artifact = engine.precompile_component(&component).unwrap();
        let size = (HEADER_LEN + artifact.len()) as u64;
        let cache = ArtifactCache::new(Some(root.clone()), vec![], size + 50);
        entry_of(&root.join("stale.cwasm"), 100, 0);
        let (_, source) = cache.load(&engine, &component, &hash).unwrap();
        assert_eq!(source, LoadSource::Compiled);
        let budget = cache.budget.as_ref().unwrap();
        while budget.running.load(std::sync::atomic::Ordering::Acquire) {
            std::thread::sleep(Duration::from_millis(5));
        }
        let entry = root.join(format!("{}.cwasm", ArtifactCache::key(&engine, &hash)));
        assert_eq!(left(&root), [entry.file_name().unwrap().to_str().unwrap()]);
        // A hit marks the entry used now.
        let file = std::fs::File::options().write(true).open(&entry).unwrap();
        file.set_modified(SystemTime::UNIX_EPOCH).unwrap();
        let (held, source) = cache.load(&engine, &component, &hash).unwrap();
        assert_eq!(source, LoadSource::Cache);
        let modified = std::fs::metadata(&entry).unwrap().modified().unwrap();
        assert!(modified > SystemTime::UNIX_EPOCH + Duration::from_secs(86_400));
        // So does a load that shares the component a function still holds.
        file.set_modified(SystemTime::UNIX_EPOCH).unwrap();
        let (shared, source) = cache.load(&engine, &component, &hash).unwrap();
        assert_eq!(source, LoadSource::Resident);
        assert!(Arc::ptr_eq(&held, &shared));
        let modified = std::fs::metadata(&entry).unwrap().modified().unwrap();
        assert!(modified > SystemTime::UNIX_EPOCH + Duration::from_secs(86_400));
    }

    #[test]
    fn corrupt_entries_are_rejected_and_removed() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("entry.cwasm");
        let component_hash = blake3::hash(b"component");
        store_entry(&path, &component_hash, b"not really an artifact").unwrap();
        let mut bytes = std::fs::read(&path).unwrap();
        let last = bytes.len() - 1;
        bytes[last] ^= 1;
        std::fs::write(&path, &bytes).unwrap();
        let engine = Engine::default();
        assert!(load_entry(&engine, &path, &component_hash, true).is_none());
        assert!(!path.exists(), "a corrupt entry is deleted");
    }

    #[test]
    fn the_cache_folder_is_created_private() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let cache = dir.path().join("a").join("b");
        store_entry(&cache.join("entry.cwasm"), &blake3::hash(b"c"), b"x").unwrap();
        let mode = std::fs::metadata(&cache).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o700);
        assert!(private_folder(&cache));
        std::fs::set_permissions(&cache, std::fs::Permissions::from_mode(0o777)).unwrap();
        assert!(
            !private_folder(&cache),
            "a world-writable folder is not trusted"
        );
        assert!(!trusted_folder(&cache));
    }
}
