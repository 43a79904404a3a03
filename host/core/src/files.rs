//! The function's files: folders a component carries with it and every
//! sandbox sees read-only, as a Lambda function sees its code in `/var/task`.
//!
//! Some guests need files at run time, not only code compiled into the
//! component: a Python package imported lazily (botocore imports most of
//! itself on first use), data files packages read (`certifi/cacert.pem`,
//! botocore's service models), the handler's own files beside it
//! (`open(os.path.join(os.path.dirname(__file__), "data.json"))`).
//!
//! `wasm-lambda build` packs such folders into a zip archive in the custom
//! section `wasm-lambda:files`, with a manifest naming the guest paths each
//! folder is mounted at, so the component stays the one deployable unit. The
//! host unpacks an archive once per content hash into the cache folder (into
//! a private temporary folder when caching is off) and preopens each folder
//! read-only in every sandbox.
//!
//! In the cache, each folder of an archive is stored once per host by the
//! hash of its own contents (`files/folders/<hash>`), and the archive's
//! unpacking (`files/archives/<hash>`) links to it. The runtime's boto3 and
//! botocore, and the Python standard library the snapshot did not import,
//! are the same folders in every Python function built by one toolchain, so
//! a host keeps one copy of them however many functions (or rebuilds of one
//! function) it has loaded, and a rebuild whose code changed unpacks only
//! the code. The hash covers every entry's name, sizes and stored bytes, so
//! a folder is shared only with a folder of the same contents.
//!
//! Unpacking is defensive: entry names that would leave the folder,
//! symbolic links, and archives that unpack to more than Lambda's 250 MB are
//! refused, and a half-unpacked folder is never used (it is renamed into
//! place only when complete).

use std::collections::BTreeMap;
use std::io::{Cursor, Read as _, Write as _};
use std::path::{Component as PathComponent, Path, PathBuf};

use anyhow::{Context as _, Result, bail};
use serde::{Deserialize, Serialize};

/// The custom section holding the archive.
pub const SECTION_NAME: &str = "wasm-lambda:files";
/// The archive's manifest: which folder is mounted where.
const MANIFEST: &str = "wasm-lambda-mounts.json";
/// The folder of a cache (or of a package's artifacts) where archives are
/// unpacked, one folder per archive's hash.
pub(crate) const FILES_FOLDER: &str = "files";

/// Unpacks the files `component` carries into `dir/files/<hash>`, as a
/// load finds them in a read-only folder, with every folder the manifest
/// names (a read-only copy cannot have them created later); returns those
/// folders and the files written, relative to `dir` (none when the
/// component carries no files).
pub(crate) fn unpack_into(component: &[u8], dir: &Path) -> Result<(Vec<PathBuf>, Vec<PathBuf>)> {
    let Some(archive) = crate::marker::read_section(component, SECTION_NAME) else {
        return Ok((Vec::new(), Vec::new()));
    };
    let relative = Path::new(FILES_FOLDER).join(blake3::hash(archive).to_hex().as_str());
    let root = dir.join(&relative);
    extract(archive, &root)?;
    let mut folders = vec![relative.clone()];
    for entry in read_manifest(&root)? {
        std::fs::create_dir_all(root.join(&entry.folder))?;
        folders.push(relative.join(&entry.folder));
    }
    let written = list(&root, &|_| false)?
        .into_iter()
        .map(|file| relative.join(file))
        .collect();
    Ok((folders, written))
}

/// The manifest of the files unpacked at `root`, each folder's name checked.
fn read_manifest(root: &Path) -> Result<Vec<ManifestEntry>> {
    let manifest: Vec<ManifestEntry> = serde_json::from_slice(
        &std::fs::read(root.join(MANIFEST)).context("the function's files have no manifest")?,
    )
    .context("the function's files have a damaged manifest")?;
    for entry in &manifest {
        if entry.folder.is_empty() || !entry.folder.bytes().all(|b| b.is_ascii_digit()) {
            bail!("the function's files name a folder {:?}", entry.folder);
        }
    }
    Ok(manifest)
}

/// Lambda's limit on a function's unzipped code and layers.
pub const MAX_UNPACKED_BYTES: u64 = 250 * 1024 * 1024;

/// A folder to pack: its files on the build machine, and the guest paths
/// sandboxes see it at (one folder may appear at several).
#[derive(Debug, Clone)]
pub struct Folder {
    /// The folder on this machine.
    pub source: PathBuf,
    /// Absolute guest paths, e.g. `/var/task`.
    pub guest_paths: Vec<String>,
}

#[derive(Debug, Serialize, Deserialize)]
struct ManifestEntry {
    /// The folder's name inside the archive.
    folder: String,
    paths: Vec<String>,
}

/// Packs `folders` into the section's archive. `skip` names entries (files
/// or folders, by their path relative to the folder) left out. Entries are
/// sorted and undated, so the same files give the same bytes (and the same
/// component hash, and a cached artifact).
pub fn pack(folders: &[Folder], skip: &dyn Fn(&Path) -> bool) -> Result<Vec<u8>> {
    let mut zip = zip::ZipWriter::new(Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated)
        .last_modified_time(zip::DateTime::default());
    let mut manifest = Vec::new();
    for (index, folder) in folders.iter().enumerate() {
        for path in &folder.guest_paths {
            check_guest_path(path)?;
        }
        let name = index.to_string();
        for relative in list(&folder.source, skip)? {
            let entry = format!("{name}/{}", relative.to_string_lossy());
            zip.start_file(entry, options)?;
            let bytes = std::fs::read(folder.source.join(&relative))
                .with_context(|| format!("failed to read {}", relative.display()))?;
            zip.write_all(&bytes)?;
        }
        manifest.push(ManifestEntry {
            folder: name,
            paths: folder.guest_paths.clone(),
        });
    }
    zip.start_file(MANIFEST, options)?;
    zip.write_all(&serde_json::to_vec(&manifest)?)?;
    Ok(zip.finish()?.into_inner())
}

/// The regular files under `root`, as sorted paths relative to it, leaving
/// out what `skip` names (by relative path). Symbolic links are followed
/// when they point at files or folders.
pub fn list(root: &Path, skip: &dyn Fn(&Path) -> bool) -> Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    walk(root, Path::new(""), skip, &mut files)?;
    files.sort();
    Ok(files)
}

fn walk(
    root: &Path,
    relative: &Path,
    skip: &dyn Fn(&Path) -> bool,
    out: &mut Vec<PathBuf>,
) -> Result<()> {
    let dir = root.join(relative);
    let entries =
        std::fs::read_dir(&dir).with_context(|| format!("failed to read {}", dir.display()))?;
    for entry in entries {
        let entry = entry?;
        let path = relative.join(entry.file_name());
        if skip(&path) {
            continue;
        }
        let full = entry.path();
        if full.is_dir() {
            walk(root, &path, skip, out)?;
        } else if full.is_file() {
            out.push(path);
        }
    }
    Ok(())
}

fn check_guest_path(path: &str) -> Result<()> {
    let parsed = Path::new(path);
    let plain = parsed
        .components()
        .all(|part| matches!(part, PathComponent::RootDir | PathComponent::Normal(_)));
    if !path.starts_with('/') || path == "/" || !plain || parsed.starts_with("/tmp") {
        bail!("the function's files cannot be mounted at {path:?}");
    }
    Ok(())
}

/// Returns `component` with `archive` (from [`pack`]) appended as its files.
pub fn append(component: &[u8], archive: &[u8]) -> Vec<u8> {
    crate::marker::append_section(component, SECTION_NAME, archive)
}

/// A function's unpacked files: host folders and their guest paths.
#[derive(Debug)]
pub(crate) struct Files {
    pub(crate) mounts: Vec<(PathBuf, String)>,
    /// Holds the unpacked folder when there is no cache to keep it in.
    _temporary: Option<tempfile::TempDir>,
}

/// Unpacks the files of `component`, if it carries any, under `cache_dir`
/// (reusing an earlier unpacking of the same archive), or into a temporary
/// folder that lives as long as the returned value.
pub(crate) fn unpack(
    component: &[u8],
    cache_dir: Option<&Path>,
    read_only: &[PathBuf],
) -> Result<Option<Files>> {
    let Some(archive) = crate::marker::read_section(component, SECTION_NAME) else {
        return Ok(None);
    };
    let hash = blake3::hash(archive).to_hex();
    // Unpacked ahead (a deployment package's `artifacts/files/`): nothing
    // to write at a cold start.
    let packaged = read_only
        .iter()
        .map(|dir| dir.join(FILES_FOLDER).join(hash.as_str()))
        .find(|root| root.join(MANIFEST).is_file());
    // A cache folder that cannot be written (a read-only image) is no
    // reason to fail: the files go to a temporary folder instead.
    let cached = packaged
        .or_else(|| cache_dir.and_then(|cache_dir| unpack_cached(archive, cache_dir, &hash).ok()));
    let (root, temporary) = match cached {
        Some(root) => (root, None),
        None => {
            let temporary = tempfile::Builder::new()
                .prefix("wasm-lambda-files-")
                .tempdir()?;
            extract(archive, temporary.path())?;
            (temporary.path().to_path_buf(), Some(temporary))
        }
    };
    let mut mounts = Vec::new();
    for entry in read_manifest(&root)? {
        let source = root.join(&entry.folder);
        // A folder with no files is not in the archive at all.
        std::fs::create_dir_all(&source)?;
        for path in entry.paths {
            check_guest_path(&path)?;
            mounts.push((source.clone(), path));
        }
    }
    Ok(Some(Files {
        mounts,
        _temporary: temporary,
    }))
}

/// The folder of a cache's [`FILES_FOLDER`] holding each folder of the
/// archives once, by the hash of its contents ([`folder_hashes`]).
const SHARED_FOLDERS: &str = "folders";
/// The folder of a cache's [`FILES_FOLDER`] holding each archive's
/// unpacking, by the archive's hash: its manifest and links into
/// [`SHARED_FOLDERS`]. (Earlier versions unpacked whole archives into
/// `files/<hash>`; those folders are no longer read.)
const ARCHIVES: &str = "archives";

/// Unpacks `archive` under `cache_dir/files/archives/<hash>`, unless an
/// earlier unpacking is complete there; returns the folder. Each folder the
/// manifest names is a link to `files/folders/<contents hash>`, unpacked
/// there only if no archive unpacked the same contents before.
fn unpack_cached(archive: &[u8], cache_dir: &Path, hash: &str) -> Result<PathBuf> {
    let parent = cache_dir.join(FILES_FOLDER).join(ARCHIVES);
    let root = parent.join(hash);
    if root.join(MANIFEST).is_file() {
        return Ok(root);
    }
    std::fs::create_dir_all(&parent)
        .with_context(|| format!("failed to create {}", parent.display()))?;
    let shared = cache_dir.join(FILES_FOLDER).join(SHARED_FOLDERS);
    std::fs::create_dir_all(&shared)
        .with_context(|| format!("failed to create {}", shared.display()))?;
    let mut zip = open(archive)?;
    // Lambda's limit is on the whole function: folders unpacked before
    // count too, by the sizes the archive declares (part of their hash,
    // and checked by the unpacking that wrote them).
    let mut declared = 0u64;
    for index in 0..zip.len() {
        declared = declared.saturating_add(zip.by_index_raw(index)?.size());
    }
    if declared > MAX_UNPACKED_BYTES {
        bail!(too_large());
    }
    let hashes = folder_hashes(&mut zip)?;
    let staging = tempfile::Builder::new()
        .prefix(".unpacking-")
        .tempdir_in(&parent)?;
    for (folder, contents) in &hashes {
        let target = shared.join(contents);
        if !target.is_dir() {
            let unpacking = tempfile::Builder::new()
                .prefix(".unpacking-")
                .tempdir_in(&shared)?;
            extract_from(&mut zip, unpacking.path(), Entries::Folder(folder))?;
            // Another host may have unpacked the same folder meanwhile:
            // either complete copy will do.
            place(unpacking.keep(), &target, &|target| target.is_dir())?;
        }
        // Relative, so that a cache folder moved or mounted elsewhere
        // still holds complete unpackings.
        let link = Path::new("../..").join(SHARED_FOLDERS).join(contents);
        std::os::unix::fs::symlink(&link, staging.path().join(folder))?;
    }
    extract_from(&mut zip, staging.path(), Entries::Outside(&hashes))?;
    // Another host may have unpacked the same archive meanwhile: either
    // complete unpacking will do.
    place(staging.keep(), &root, &|root| root.join(MANIFEST).is_file())?;
    Ok(root)
}

/// Renames the complete folder `from` to `to`; when another process put
/// one there first (`complete` says whether it is whole), keeps that.
fn place(from: PathBuf, to: &Path, complete: &dyn Fn(&Path) -> bool) -> Result<()> {
    if std::fs::rename(&from, to).is_err() {
        let _ = std::fs::remove_dir_all(&from);
        if !complete(to) {
            bail!("failed to move the function's files to {}", to.display());
        }
    }
    Ok(())
}

/// The hash of each top-level folder's contents in `zip` (the folders
/// [`pack`] names `0`, `1`, ...), by folder name: every entry's name in the
/// folder, how it is stored (method, checksum, sizes) and its stored bytes,
/// so that equal hashes mean equal files once unpacked.
fn folder_hashes(zip: &mut zip::ZipArchive<Cursor<&[u8]>>) -> Result<BTreeMap<String, String>> {
    let mut hashers = BTreeMap::<String, blake3::Hasher>::new();
    for index in 0..zip.len() {
        let mut entry = zip.by_index_raw(index)?;
        let Some((folder, inside)) = entry.name().split_once('/') else {
            continue;
        };
        let hasher = hashers.entry(folder.to_string()).or_default();
        // The name inside the folder: one folder is `1/` in one archive
        // and `2/` in another (a function with a layer before it).
        let name = inside.as_bytes();
        hasher.update(&(name.len() as u64).to_le_bytes());
        hasher.update(name);
        let method = format!("{:?}", entry.compression());
        hasher.update(&(method.len() as u64).to_le_bytes());
        hasher.update(method.as_bytes());
        hasher.update(&entry.crc32().to_le_bytes());
        hasher.update(&entry.size().to_le_bytes());
        hasher.update(&entry.compressed_size().to_le_bytes());
        std::io::copy(&mut entry, hasher)?;
    }
    Ok(hashers
        .into_iter()
        .map(|(folder, hasher)| (folder, hasher.finalize().to_hex().to_string()))
        .collect())
}

fn open(archive: &[u8]) -> Result<zip::ZipArchive<Cursor<&[u8]>>> {
    zip::ZipArchive::new(Cursor::new(archive))
        .context("the function's files are not a valid archive")
}

fn too_large() -> String {
    format!(
        "the function's files unpack to more than {} MB, Lambda's limit",
        MAX_UNPACKED_BYTES >> 20
    )
}

/// Writes every entry of `archive` under `into`, refusing entries that
/// would land outside it, links, and more than [`MAX_UNPACKED_BYTES`].
fn extract(archive: &[u8], into: &Path) -> Result<()> {
    extract_from(&mut open(archive)?, into, Entries::All)
}

/// Which entries of an archive [`extract_from`] writes.
enum Entries<'a> {
    /// Every entry, at its path.
    All,
    /// The entries of one top-level folder, without the folder's name.
    Folder(&'a str),
    /// Every entry but those of these top-level folders (the keys), at
    /// its path.
    Outside(&'a BTreeMap<String, String>),
}

/// [`extract`] of the `entries` of `zip`.
fn extract_from(
    zip: &mut zip::ZipArchive<Cursor<&[u8]>>,
    into: &Path,
    entries: Entries<'_>,
) -> Result<()> {
    let mut budget = MAX_UNPACKED_BYTES;
    for index in 0..zip.len() {
        let mut entry = zip.by_index(index)?;
        let Some(relative) = entry.enclosed_name() else {
            bail!(
                "the function's files hold an entry outside their folder: {:?}",
                entry.name()
            );
        };
        if entry.is_symlink() {
            bail!(
                "the function's files hold a symbolic link: {}",
                relative.display()
            );
        }
        let relative = match entries {
            Entries::All => relative,
            Entries::Folder(folder) => match relative.strip_prefix(folder) {
                Ok(inside) if inside != Path::new("") => inside.to_path_buf(),
                _ => continue,
            },
            Entries::Outside(folders) => match entry.name().split_once('/') {
                Some((top, _)) if folders.contains_key(top) => continue,
                _ => relative,
            },
        };
        let target = into.join(&relative);
        if entry.is_dir() {
            std::fs::create_dir_all(&target)?;
            continue;
        }
        if let Some(parent) = target.parent() {
            std::fs::create_dir_all(parent)?;
        }
        let mut file = std::fs::File::create(&target)
            .with_context(|| format!("failed to create {}", target.display()))?;
        // The declared size is not trusted: the copy itself is bounded.
        let mut limited = (&mut entry).take(budget + 1);
        let written = std::io::copy(&mut limited, &mut file)?;
        if written > budget {
            bail!(too_large());
        }
        // A folder is shared by its hash, which holds the declared sizes:
        // what is unpacked must be what the archive says.
        if written != entry.size() {
            bail!(
                "the function's files are damaged: {} holds {written} bytes, not the {} its \
                 archive declares",
                relative.display(),
                entry.size()
            );
        }
        budget -= written;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn folder_with(files: &[(&str, &str)]) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        for (name, text) in files {
            let path = dir.path().join(name);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, text).unwrap();
        }
        dir
    }

    #[test]
    fn packs_and_unpacks_folders_at_their_guest_paths() {
        let code = folder_with(&[
            ("app.py", "x = 1\n"),
            ("data/a.json", "{}"),
            ("skip/me", ""),
        ]);
        let folders = [Folder {
            source: code.path().to_path_buf(),
            guest_paths: vec!["/var/task".into(), "/1".into()],
        }];
        let skip = |path: &Path| path == Path::new("skip");
        let archive = pack(&folders, &skip).unwrap();
        assert_eq!(
            archive,
            pack(&folders, &skip).unwrap(),
            "packing is reproducible"
        );
        let component = append(b"\0asm\x0d\0\x01\0", &archive);
        let cache = tempfile::tempdir().unwrap();
        for _ in 0..2 {
            let files = unpack(&component, Some(cache.path()), &[])
                .unwrap()
                .unwrap();
            let paths: Vec<&str> = files.mounts.iter().map(|(_, path)| path.as_str()).collect();
            assert_eq!(paths, ["/var/task", "/1"]);
            let source = &files.mounts[0].0;
            assert_eq!(
                std::fs::read_to_string(source.join("data/a.json")).unwrap(),
                "{}"
            );
            assert!(!source.join("skip").exists());
        }
        let files = unpack(&component, None, &[]).unwrap().unwrap();
        assert!(files.mounts[0].0.join("app.py").is_file());
        // Unpacked ahead into a package's folder: used from there, with
        // nothing written to the cache.
        let package = tempfile::tempdir().unwrap();
        let (folders, written) = unpack_into(&component, package.path()).unwrap();
        assert!(
            written.iter().any(|path| path.ends_with("data/a.json")),
            "{written:?}"
        );
        assert!(folders.len() >= 2, "{folders:?}");
        let empty_cache = tempfile::tempdir().unwrap();
        let files = unpack(
            &component,
            Some(empty_cache.path()),
            &[package.path().to_path_buf()],
        )
        .unwrap()
        .unwrap();
        assert!(files.mounts[0].0.starts_with(package.path()));
        assert_eq!(std::fs::read_dir(empty_cache.path()).unwrap().count(), 0);
        // A cache folder that cannot be created: a temporary folder serves.
        let blocker = cache.path().join("a-file");
        std::fs::write(&blocker, "").unwrap();
        let files = unpack(&component, Some(&blocker.join("cache")), &[])
            .unwrap()
            .unwrap();
        assert!(files.mounts[0].0.join("app.py").is_file());
        assert!(unpack(b"\0asm\x0d\0\x01\0", None, &[]).unwrap().is_none());
    }

    #[test]
    fn refuses_entries_outside_the_folder_and_bad_guest_paths() {
        let mut zip = zip::ZipWriter::new(Cursor::new(Vec::new()));
        zip.start_file("../escape", zip::write::SimpleFileOptions::default())
            .unwrap();
        zip.write_all(b"x").unwrap();
        let archive = zip.finish().unwrap().into_inner();
        let component = append(b"\0asm\x0d\0\x01\0", &archive);
        let error = unpack(&component, None, &[]).unwrap_err();
        assert!(format!("{error:#}").contains("outside"), "{error:#}");

        for path in ["relative", "/", "/tmp", "/tmp/x", "/var/../etc"] {
            let folders = [Folder {
                source: std::env::temp_dir(),
                guest_paths: vec![path.into()],
            }];
            assert!(pack(&folders, &|_| true).is_err(), "{path}");
        }
    }

    #[test]
    fn a_folder_two_archives_hold_is_unpacked_once_per_cache() {
        let runtime = folder_with(&[
            ("botocore/__init__.py", "v = 1\n"),
            ("botocore/data/s3.json", "{}"),
        ]);
        let first = folder_with(&[("app.py", "a = 1\n")]);
        let second = folder_with(&[("app.py", "a = 2\n")]);
        let layer = folder_with(&[("layer.py", "")]);
        let folder = |dir: &tempfile::TempDir, path: &str| Folder {
            source: dir.path().to_path_buf(),
            guest_paths: vec![path.into()],
        };
        // The runtime is the second folder of one archive and the third of
        // the other, after a layer.
        let archive =
            |folders: &[Folder]| append(b"\0asm\x0d\0\x01\0", &pack(folders, &|_| false).unwrap());
        let first = archive(&[folder(&first, "/var/task"), folder(&runtime, "/2")]);
        let second = archive(&[
            folder(&second, "/var/task"),
            folder(&layer, "/2"),
            folder(&runtime, "/3"),
        ]);
        let cache = tempfile::tempdir().unwrap();
        let unpacked: Vec<Files> = [first, second]
            .iter()
            .map(|component| unpack(component, Some(cache.path()), &[]).unwrap().unwrap())
            .collect();
        let real =
            |files: &Files, index: usize| std::fs::canonicalize(&files.mounts[index].0).unwrap();
        assert_eq!(
            real(&unpacked[0], 1),
            real(&unpacked[1], 2),
            "one copy of the runtime"
        );
        assert_ne!(real(&unpacked[0], 0), real(&unpacked[1], 0));
        assert_eq!(
            std::fs::read_to_string(unpacked[1].mounts[0].0.join("app.py")).unwrap(),
            "a = 2\n"
        );
        assert_eq!(
            std::fs::read_to_string(unpacked[0].mounts[1].0.join("botocore/data/s3.json")).unwrap(),
            "{}"
        );
        let shared = cache.path().join(FILES_FOLDER).join(SHARED_FOLDERS);
        assert_eq!(
            std::fs::read_dir(&shared).unwrap().count(),
            4,
            "two code folders, the layer and the runtime"
        );
    }

    #[test]
    fn an_entry_larger_than_its_archive_declares_is_refused() {
        let mut zip = zip::ZipWriter::new(Cursor::new(Vec::new()));
        let stored = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Stored);
        zip.start_file("0/a", stored).unwrap();
        zip.write_all(b"hello").unwrap();
        zip.start_file(MANIFEST, stored).unwrap();
        zip.write_all(br#"[{"folder":"0","paths":["/var/task"]}]"#)
            .unwrap();
        let mut archive = zip.finish().unwrap().into_inner();
        // The central directory's record of `0/a`: its uncompressed size,
        // 24 bytes in, says 3 where the entry holds 5.
        let record = archive
            .windows(4)
            .position(|window| window == [0x50, 0x4b, 0x01, 0x02])
            .unwrap();
        archive[record + 24..record + 28].copy_from_slice(&3u32.to_le_bytes());
        let component = append(b"\0asm\x0d\0\x01\0", &archive);
        let cache = tempfile::tempdir().unwrap();
        let error = unpack(&component, Some(cache.path()), &[]).unwrap_err();
        assert!(format!("{error:#}").contains("damaged"), "{error:#}");
        let shared = cache.path().join(FILES_FOLDER).join(SHARED_FOLDERS);
        assert_eq!(
            std::fs::read_dir(&shared).unwrap().count(),
            0,
            "nothing half-unpacked stays"
        );
    }
}
