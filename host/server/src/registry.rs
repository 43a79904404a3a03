//! The functions a server serves, and what the control plane knows of each.
//!
//! Every function has an [`Entry`]: the configuration that
//! `GetFunctionConfiguration` answers (kept as the JSON object itself, so
//! that a restarted server answers byte for byte what it answered before),
//! its tags, and the code serving now ([`Deployed`]). A function created
//! through the API is `Pending` until its component is loaded (compiled, or
//! found in the artifact cache, and its load-time snapshot made); an update
//! leaves the old code serving until the new code is loaded.
//!
//! Functions created through the API are kept in the server's store (the
//! `functions` table beside the `Event` queue's) with their code zips under
//! `<state-dir>/code`; functions from the configuration file are not
//! persisted, and the API refuses to change them (the file is their source).

use std::collections::BTreeMap;
use std::io::{Read as _, Write as _};
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};

use anyhow::{Context as _, Result};
use redb::{ReadableDatabase, ReadableTable, TableDefinition};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::Deployed;
use super::queue::EventStore;

/// Functions created through the API, by name; the value is a [`Persisted`]
/// as JSON.
const FUNCTIONS: TableDefinition<&str, &[u8]> = TableDefinition::new("functions");

/// Lambda's limit on a zip uploaded directly.
pub(crate) const MAX_ZIP_BYTES: usize = 52_428_800;
/// Lambda's limit on a function's unzipped code.
pub(crate) const MAX_UNZIPPED_BYTES: u64 = 262_144_000;

/// One function, or one published version of a function (named
/// `NAME:N`, see `versions.rs`).
#[derive(Clone, Default)]
pub(crate) struct Entry {
    /// What `GetFunctionConfiguration` answers.
    pub(crate) configuration: Map<String, Value>,
    pub(crate) tags: BTreeMap<String, String>,
    /// The code serving now; `None` until the function is first loaded.
    pub(crate) live: Option<Arc<Deployed>>,
    /// The SHA-256 (hex) of its code zip; `None` for a function from the
    /// configuration file.
    pub(crate) code: Option<String>,
    /// The code zip `live` was loaded from (while an update is in progress,
    /// `code` is the new one).
    pub(crate) serving: Option<String>,
    /// Counts changes, so that a load that finishes after a newer change
    /// does not apply.
    pub(crate) generation: u64,
    /// Its aliases, by name (`AliasConfiguration` objects).
    pub(crate) aliases: BTreeMap<String, Map<String, Value>>,
    /// The number the next published version gets (from 1).
    pub(crate) next_version: u64,
    /// Whether `$LATEST` changed since the last published version.
    pub(crate) changed_since_publish: bool,
    /// Reserved concurrency, `Event` settings and function URL
    /// (`function_settings.rs`).
    pub(crate) settings: Map<String, Value>,
}

impl Entry {
    /// A string field of the configuration.
    pub(crate) fn field(&self, name: &str) -> Option<&str> {
        self.configuration.get(name).and_then(Value::as_str)
    }

    /// Whether the API may change it (it was not deployed from the file).
    pub(crate) fn made_by_api(&self) -> bool {
        self.code.is_some()
    }

    /// The entry as stored (and as servers sharing a NATS backend tell
    /// each other of it), JSON; `None` for a function from the file.
    pub(crate) fn to_json(&self) -> Option<Vec<u8>> {
        let persisted = Persisted {
            configuration: self.configuration.clone(),
            tags: self.tags.clone(),
            code: self.code.clone()?,
            aliases: self.aliases.clone(),
            next_version: self.next_version,
            changed_since_publish: self.changed_since_publish,
            settings: self.settings.clone(),
        };
        serde_json::to_vec(&persisted).ok()
    }

    /// An entry read back from [`Entry::to_json`], with no code serving.
    pub(crate) fn from_json(bytes: &[u8]) -> Result<Entry> {
        let persisted: Persisted = serde_json::from_slice(bytes)?;
        Ok(Entry {
            configuration: persisted.configuration,
            tags: persisted.tags,
            code: Some(persisted.code),
            aliases: persisted.aliases,
            next_version: persisted.next_version,
            changed_since_publish: persisted.changed_since_publish,
            settings: persisted.settings,
            ..Entry::default()
        })
    }
}

/// An entry as stored.
#[derive(Serialize, Deserialize)]
struct Persisted {
    configuration: Map<String, Value>,
    tags: BTreeMap<String, String>,
    code: String,
    #[serde(default)]
    aliases: BTreeMap<String, Map<String, Value>>,
    #[serde(default)]
    next_version: u64,
    #[serde(default)]
    changed_since_publish: bool,
    #[serde(default)]
    settings: Map<String, Value>,
}

/// Every function of a server.
pub(crate) struct Registry {
    entries: RwLock<BTreeMap<String, Entry>>,
    /// Where code zips and their unpacked files are kept.
    code_dir: PathBuf,
}

impl Registry {
    pub(crate) fn new(state_dir: &Path) -> Self {
        Registry {
            entries: RwLock::new(BTreeMap::new()),
            code_dir: state_dir.join("code"),
        }
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, BTreeMap<String, Entry>> {
        self.entries
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, BTreeMap<String, Entry>> {
        self.entries
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The code serving `name` now, if it has any.
    pub(crate) fn live(&self, name: &str) -> Option<Arc<Deployed>> {
        self.read().get(name).and_then(|entry| entry.live.clone())
    }

    /// The code serving `name`, or the state that says why none does
    /// (`Pending`, `Failed`); `None` if there is no such entry. For the
    /// invocation path: it copies no configuration.
    pub(crate) fn serving(&self, name: &str) -> Option<Result<Arc<Deployed>, String>> {
        let entries = self.read();
        let entry = entries.get(name)?;
        Some(match &entry.live {
            Some(deployed) => Ok(deployed.clone()),
            None => Err(entry.field("State").unwrap_or("Pending").to_string()),
        })
    }

    /// `name`'s alias `alias`, if both exist.
    pub(crate) fn alias(&self, name: &str, alias: &str) -> Option<Map<String, Value>> {
        self.read().get(name)?.aliases.get(alias).cloned()
    }

    /// One of `name`'s settings (`Entry::settings`), copied alone.
    pub(crate) fn setting(&self, name: &str, key: &str) -> Option<Value> {
        self.read().get(name)?.settings.get(key).cloned()
    }

    /// A copy of `name`'s entry.
    pub(crate) fn get(&self, name: &str) -> Option<Entry> {
        self.read().get(name).cloned()
    }

    pub(crate) fn contains(&self, name: &str) -> bool {
        self.read().contains_key(name)
    }

    /// The functions' names (not their versions').
    pub(crate) fn names(&self) -> Vec<String> {
        self.read()
            .keys()
            .filter(|name| !name.contains(':'))
            .cloned()
            .collect()
    }

    /// Every function's `$LATEST` entry, in name order.
    pub(crate) fn entries(&self) -> Vec<(String, Entry)> {
        self.read()
            .iter()
            .filter(|(name, _)| !name.contains(':'))
            .map(|(name, entry)| (name.clone(), entry.clone()))
            .collect()
    }

    /// The published versions of `name`, in order.
    pub(crate) fn versions_of(&self, name: &str) -> Vec<(u64, Entry)> {
        let prefix = format!("{name}:");
        let mut versions: Vec<(u64, Entry)> = self
            .read()
            .iter()
            .filter_map(|(key, entry)| {
                let number = key.strip_prefix(&prefix)?.parse().ok()?;
                Some((number, entry.clone()))
            })
            .collect();
        versions.sort_by_key(|(number, _)| *number);
        versions
    }

    /// Adds `name` unless it exists; false if it does.
    pub(crate) fn insert_new(&self, name: &str, entry: Entry) -> bool {
        let mut entries = self.write();
        if entries.contains_key(name) {
            return false;
        }
        entries.insert(name.to_string(), entry);
        true
    }

    /// Changes `name`'s entry with `change` if it still exists; gives the
    /// entry as changed.
    pub(crate) fn update(&self, name: &str, change: impl FnOnce(&mut Entry)) -> Option<Entry> {
        let mut entries = self.write();
        let entry = entries.get_mut(name)?;
        change(entry);
        Some(entry.clone())
    }

    pub(crate) fn remove(&self, name: &str) -> Option<Entry> {
        self.write().remove(name)
    }

    /// Removes `name` (a deleted function or version), and its code once
    /// no other function uses it.
    pub(crate) fn remove_with_code(&self, name: &str) {
        if let Some(entry) = self.remove(name) {
            for sha in [entry.code, entry.serving].into_iter().flatten() {
                self.forget_code(&sha);
            }
        }
    }

    /// Whether any function still uses the code zip `sha`.
    pub(crate) fn uses_code(&self, sha: &str) -> bool {
        self.read().values().any(|entry| {
            entry.code.as_deref() == Some(sha) || entry.serving.as_deref() == Some(sha)
        })
    }

    /// The zip of code `sha`.
    pub(crate) fn zip_path(&self, sha: &str) -> PathBuf {
        self.code_dir.join(format!("{sha}.zip"))
    }

    /// The unpacked files of code `sha`.
    pub(crate) fn files_path(&self, sha: &str) -> PathBuf {
        self.code_dir.join(sha)
    }

    /// Where the component built from code `sha` for `runtime` and
    /// `handler` is kept.
    pub(crate) fn build_path(&self, sha: &str, runtime: &str, handler: &str) -> PathBuf {
        let key = blake3::hash(format!("{runtime}\0{handler}").as_bytes()).to_hex();
        self.code_dir
            .join("builds")
            .join(format!("{sha}-{}.wasm", &key[..16]))
    }

    /// Builds code `sha` into `output` with `build` (given a copy of the
    /// unpacked code and where to write), so that a failed or interrupted
    /// build leaves nothing behind and the code's folder stays as uploaded.
    pub(crate) fn build(
        &self,
        sha: &str,
        output: &Path,
        build: impl FnOnce(&Path, &Path) -> Result<()>,
    ) -> Result<()> {
        let builds = self.code_dir.join("builds");
        std::fs::create_dir_all(&builds)?;
        let staging = tempfile::Builder::new()
            .prefix(".build-")
            .tempdir_in(&builds)?;
        let source = staging.path().join("source");
        copy_tree(&self.files_path(sha), &source)?;
        let built = staging.path().join("function.wasm");
        build(&source, &built)?;
        std::fs::rename(&built, output)?;
        Ok(())
    }

    /// Keeps a code zip (durably, before any record names it) and unpacks
    /// it, refusing what Lambda refuses. Gives the zip's SHA-256 in hex.
    pub(crate) fn store_code(&self, zip: &[u8], sha: &str) -> Result<(), ZipError> {
        std::fs::create_dir_all(&self.code_dir).map_err(ZipError::Io)?;
        let files = self.files_path(sha);
        if !files.is_dir() {
            let staging = self
                .code_dir
                .join(format!(".{sha}.{}", uuid::Uuid::new_v4()));
            let unpacked = unpack(zip, &staging);
            if let Err(error) = unpacked {
                let _ = std::fs::remove_dir_all(&staging);
                return Err(error);
            }
            if let Err(error) = std::fs::rename(&staging, &files) {
                let _ = std::fs::remove_dir_all(&staging);
                if !files.is_dir() {
                    return Err(ZipError::Io(error));
                }
            }
        }
        let path = self.zip_path(sha);
        if !path.is_file() {
            write_durably(&path, zip).map_err(ZipError::Io)?;
        }
        Ok(())
    }

    /// Removes code `sha` (its zip, files and builds) once no function
    /// uses it.
    pub(crate) fn forget_code(&self, sha: &str) {
        if !self.uses_code(sha) {
            let _ = std::fs::remove_file(self.zip_path(sha));
            let _ = std::fs::remove_dir_all(self.files_path(sha));
            let builds = std::fs::read_dir(self.code_dir.join("builds"));
            for entry in builds.into_iter().flatten().flatten() {
                if entry.file_name().to_string_lossy().starts_with(sha) {
                    let _ = std::fs::remove_file(entry.path());
                }
            }
        }
    }

    /// Stores `name`'s entry (an API function) so that it survives a restart.
    pub(crate) fn persist(&self, store: &EventStore, name: &str) -> Result<()> {
        Self::persist_entry(store, name, self.get(name))
    }

    /// Stores `entry` as `name`'s, if it is an API function.
    pub(crate) fn persist_entry(
        store: &EventStore,
        name: &str,
        entry: Option<Entry>,
    ) -> Result<()> {
        let Some(persisted) = entry.as_ref().and_then(Entry::to_json) else {
            return Ok(());
        };
        let write = store.db.begin_write()?;
        write
            .open_table(FUNCTIONS)?
            .insert(name, persisted.as_slice())?;
        write.commit()?;
        Ok(())
    }

    /// Removes `name` from the store.
    pub(crate) fn unpersist(store: &EventStore, name: &str) -> Result<()> {
        let write = store.db.begin_write()?;
        write.open_table(FUNCTIONS)?.remove(name)?;
        write.commit()?;
        Ok(())
    }

    /// The functions a previous server created through the API: their
    /// entries, with no code serving yet.
    pub(crate) fn stored(store: &EventStore) -> Result<Vec<(String, Entry)>> {
        let write = store.db.begin_write()?;
        write.open_table(FUNCTIONS)?;
        write.commit()?;
        let read = store.db.begin_read()?;
        let table = read.open_table(FUNCTIONS)?;
        let mut stored = Vec::new();
        for row in table.iter()? {
            let (name, value) = row?;
            let entry = Entry::from_json(value.value())
                .with_context(|| format!("the stored function {} is unreadable", name.value()))?;
            stored.push((name.value().to_string(), entry));
        }
        Ok(stored)
    }
}

/// Why an uploaded zip is refused.
#[derive(Debug)]
pub(crate) enum ZipError {
    /// Not a zip, or over the unzipped limit: Lambda's "Could not unzip".
    Unzip,
    /// An entry that would land outside the function's folder.
    Escapes(String),
    Io(std::io::Error),
}

/// Writes `bytes` to `path` through a temporary file, synced before it is
/// renamed into place, so that a crash leaves the whole file or none.
fn write_durably(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let staging = path.with_extension(format!("tmp-{}", uuid::Uuid::new_v4()));
    let mut file = std::fs::File::create(&staging)?;
    file.write_all(bytes)?;
    file.sync_all()?;
    drop(file);
    std::fs::rename(&staging, path)?;
    if let Some(parent) = path.parent() {
        std::fs::File::open(parent)?.sync_all()?;
    }
    Ok(())
}

/// Copies the folder `from` (unpacked code: files and folders only) to `to`.
fn copy_tree(from: &Path, to: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(to)?;
    for entry in std::fs::read_dir(from)? {
        let entry = entry?;
        let target = to.join(entry.file_name());
        if entry.file_type()?.is_dir() {
            copy_tree(&entry.path(), &target)?;
        } else {
            std::fs::copy(entry.path(), &target)?;
        }
    }
    Ok(())
}

/// Unpacks `zip` into `into`, refusing entries that escape it (`..`,
/// absolute paths, symbolic links) and more than Lambda's unzipped limit
/// (counted as written, not as the zip declares).
fn unpack(zip: &[u8], into: &Path) -> Result<(), ZipError> {
    let mut archive =
        zip::ZipArchive::new(std::io::Cursor::new(zip)).map_err(|_| ZipError::Unzip)?;
    std::fs::create_dir_all(into).map_err(ZipError::Io)?;
    let mut budget = MAX_UNZIPPED_BYTES;
    for index in 0..archive.len() {
        let mut entry = archive.by_index(index).map_err(|_| ZipError::Unzip)?;
        let name = entry.name().to_string();
        let Some(relative) = entry.enclosed_name() else {
            return Err(ZipError::Escapes(name));
        };
        if entry.is_symlink() {
            return Err(ZipError::Escapes(name));
        }
        let path = into.join(relative);
        if entry.is_dir() {
            std::fs::create_dir_all(&path).map_err(ZipError::Io)?;
            continue;
        }
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(ZipError::Io)?;
        }
        let mut file = std::fs::File::create(&path).map_err(ZipError::Io)?;
        let copied = std::io::copy(&mut (&mut entry).take(budget + 1), &mut file)
            .map_err(|_| ZipError::Unzip)?;
        if copied > budget {
            return Err(ZipError::Unzip);
        }
        budget -= copied;
        if let Some(mode) = entry.unix_mode() {
            use std::os::unix::fs::PermissionsExt as _;
            let _ = std::fs::set_permissions(
                &path,
                std::fs::Permissions::from_mode(mode & 0o755 | 0o400),
            );
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use zip::write::SimpleFileOptions;

    fn zip_of(entries: &[(&str, &[u8])]) -> Vec<u8> {
        let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
        for (name, bytes) in entries {
            zip.start_file(*name, SimpleFileOptions::default()).unwrap();
            zip.write_all(bytes).unwrap();
        }
        zip.finish().unwrap().into_inner()
    }

    #[test]
    fn entries_that_escape_the_folder_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        for name in ["../outside", "/etc/passwd-copy", "a/../../outside"] {
            let zip = zip_of(&[(name, b"x")]);
            let unpacked = unpack(&zip, &dir.path().join("into"));
            assert!(matches!(unpacked, Err(ZipError::Escapes(_))), "{name}");
        }
        assert!(!dir.path().join("outside").exists());
        let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
        zip.add_symlink("link", "/etc", SimpleFileOptions::default())
            .unwrap();
        let zip = zip.finish().unwrap().into_inner();
        assert!(matches!(
            unpack(&zip, &dir.path().join("links")),
            Err(ZipError::Escapes(_))
        ));
    }

    #[test]
    fn what_is_not_a_zip_cannot_be_unzipped() {
        let dir = tempfile::tempdir().unwrap();
        assert!(matches!(
            unpack(b"not a zip at all", dir.path()),
            Err(ZipError::Unzip)
        ));
    }

    #[test]
    fn a_zip_within_the_limits_unpacks_whole() {
        let dir = tempfile::tempdir().unwrap();
        let zip = zip_of(&[("hello.wasm", b"bytes"), ("lib/deep/file.txt", b"deep")]);
        unpack(&zip, dir.path()).unwrap();
        assert_eq!(
            std::fs::read(dir.path().join("hello.wasm")).unwrap(),
            b"bytes"
        );
        assert_eq!(
            std::fs::read(dir.path().join("lib/deep/file.txt")).unwrap(),
            b"deep"
        );
    }
}
