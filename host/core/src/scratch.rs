//! Each sandbox's `/tmp`: an empty host folder that only that sandbox sees.
//!
//! Making and removing a folder costs tens of microseconds, more than a
//! whole Rust cold start, so neither happens on the invocation's path. Nor
//! does opening it, unless the guest asks for its preopened folders
//! (`wasi:filesystem/preopens`, the only way a guest gets a handle to any
//! folder): [`add_to_linker`] puts `/tmp` in that list when it is asked for,
//! and a sandbox that never asked cannot have touched its folder, which is
//! then ready again at once. Most small handlers never ask, and opening the
//! folder and `stat`ing its path were a fifth of a Rust cold start (about 3
//! µs of 14).
//!
//! When a sandbox that had the handle ends, one `fstat` of it tells whether
//! its folder was touched: a
//! folder's change time (ctime) moves with every entry made or removed in it
//! and with every change to its own metadata, and no guest can set it back.
//! An untouched folder is ready again at once; a touched one goes to a
//! background thread that removes it with everything in it and makes new
//! ones. Waking that thread for every sandbox cost more than the folder
//! itself (a p90 cold start of 55 µs instead of 12), hence the check: only
//! sandboxes that used `/tmp` wake it.

use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};

use anyhow::{Context as _, Result};
use wasmtime::component::{Linker, Resource};
use wasmtime_wasi::filesystem::{Descriptor, Dir, WasiFilesystemView as _};
use wasmtime_wasi::p2::bindings::filesystem::preopens::Host as _;
use wasmtime_wasi::{FsPerms, OpenMode, WasiView};

/// The `wasi:filesystem` version wasmtime-wasi 48 defines; components that
/// import older 0.2 versions are linked to it too.
const PREOPENS: &str = "wasi:filesystem/preopens@0.2.12";

/// How many empty folders the thread keeps ready.
const READY: usize = 16;
/// Fewer ready than this wakes the thread.
const LOW: usize = 4;

/// A folder, its change time when it was made, and when that was.
struct Folder {
    path: PathBuf,
    changed: (i64, i64),
    made: std::time::Instant,
}

/// How old a folder must be before its change time alone may say it is
/// untouched. A kernel before multigrain timestamps (Linux 6.13) keeps a
/// folder's ctime at clock-tick granularity (up to 10 ms): an entry made in
/// the tick the folder was made in leaves the ctime where it was. A folder
/// handed out younger than this is checked by reading it instead
/// (`scratch::tests::a_file_written_in_the_folders_first_tick_is_found`).
/// Reading costs about 6 µs, a third of a C cold start, so only the young
/// pay it.
const CTIME_TRUSTED_AFTER: std::time::Duration = std::time::Duration::from_millis(50);
/// The same, on a filesystem whose times have whole seconds only (a
/// creation ctime with no nanoseconds).
const CTIME_TRUSTED_AFTER_COARSE: std::time::Duration = std::time::Duration::from_secs(2);

/// A folder's change time, from its metadata.
fn ctime(metadata: &std::fs::Metadata) -> (i64, i64) {
    use std::os::unix::fs::MetadataExt;
    (metadata.ctime(), metadata.ctime_nsec())
}

fn change_time(path: &Path) -> Option<(i64, i64)> {
    std::fs::symlink_metadata(path).ok().as_ref().map(ctime)
}

#[derive(Default)]
struct Folders {
    ready: Vec<Folder>,
    used: Vec<PathBuf>,
}

/// The folders of one host.
pub(crate) struct ScratchPool {
    root: PathBuf,
    folders: Arc<Mutex<Folders>>,
    wake: mpsc::Sender<()>,
}

/// One sandbox's `/tmp`; handed back to the pool when dropped.
pub(crate) struct Scratch {
    folder: Option<Folder>,
    /// The folder, opened when the guest first asked for its preopened
    /// folders; `None` while it never did.
    directory: Option<Dir>,
    /// The preopened folders handed to the guest, by table index: what a
    /// snapshot may keep handles to (`snapshot.rs`).
    listed: Vec<Listed>,
    folders: Arc<Mutex<Folders>>,
    wake: mpsc::Sender<()>,
}

/// A preopened folder handed to the guest: its table index, guest path and
/// the folder itself (to tell it from anything later given that index).
pub(crate) struct Listed {
    pub(crate) rep: u32,
    pub(crate) path: String,
    pub(crate) folder: Arc<std::fs::File>,
}

impl Scratch {
    /// The preopened folders handed to the guest so far.
    pub(crate) fn listed(&self) -> &[Listed] {
        &self.listed
    }

    pub(crate) fn path(&self) -> &Path {
        self.folder
            .as_ref()
            .map_or(Path::new(""), |folder| &folder.path)
    }

    /// The folder as a guest's read-write preopen, opened on first use.
    pub(crate) fn directory(&mut self) -> std::io::Result<Dir> {
        if let Some(directory) = &self.directory {
            return Ok(directory.clone());
        }
        use std::os::unix::fs::OpenOptionsExt;
        // As wasmtime-wasi opens a preopened folder: a path handle that
        // must be a folder.
        let file = std::fs::OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_DIRECTORY | libc::O_PATH)
            .open(self.path())?;
        let directory = Dir::new(
            file,
            FsPerms::ReadWrite,
            OpenMode::READ | OpenMode::WRITE,
            false,
        );
        self.directory = Some(directory.clone());
        Ok(directory)
    }
}

/// A store's data that holds a sandbox's [`Scratch`] (the sandbox's `State`).
pub(crate) trait ScratchView: WasiView {
    fn scratch(&mut self) -> &mut Scratch;
}

/// A handle to a preopened folder that the guest held when its init phase
/// ended: wasi-libc lists the preopens at its first file access and keeps
/// their handles, whose indices are in the snapshot's memory. A sandbox
/// made from the snapshot gets a new handle to the same folder at the same
/// index before its first call (`Sandbox::create`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct KeptPreopen {
    /// Where the handle is: the component's instance and resource table
    /// type, and the index the guest holds.
    pub(crate) instance: u32,
    pub(crate) table: u32,
    pub(crate) handle: u32,
    /// The folder's path as the guest sees it.
    pub(crate) path: String,
}

impl KeptPreopen {
    /// The handle, to be put back standing for a new table index.
    pub(crate) fn owned_handle(&self) -> wasmtime::component::OwnedHandle {
        wasmtime::component::OwnedHandle {
            instance: self.instance,
            table: self.table,
            handle: self.handle,
            rep: 0,
            ty: wasmtime::component::ResourceType::host::<wasmtime_wasi::filesystem::Descriptor>(),
        }
    }
}

/// A preopened folder as `get-directories` lists it: handle and guest path.
type Preopen = (Resource<Descriptor>, String);

/// Replaces `get-directories` of `wasi:filesystem/preopens` in `linker`
/// with a version that lists the sandbox's `/tmp` first, opening it then,
/// and then the preopens of its WASI context (the read-only mounts).
pub(crate) fn add_to_linker<T: ScratchView>(linker: &mut Linker<T>) -> Result<()> {
    linker.allow_shadowing(true);
    let mut preopens = linker.instance(PREOPENS)?;
    preopens.func_wrap(
        "get-directories",
        |mut store: wasmtime::StoreContextMut<'_, T>,
         (): ()|
         -> wasmtime::Result<(Vec<Preopen>,)> { Ok((get_directories(store.data_mut())?,)) },
    )?;
    linker.allow_shadowing(false);
    Ok(())
}

/// Lists the preopened folders into the sandbox's table, `/tmp` first
/// (opening it then).
fn list_preopens<T: ScratchView>(state: &mut T) -> wasmtime::Result<Vec<Preopen>> {
    let tmp = state.scratch().directory().map_err(|error| {
        wasmtime::Error::msg(format!("failed to open the sandbox's /tmp: {error}"))
    })?;
    let tmp = state.ctx().table.push(Descriptor::Dir(tmp))?;
    let mut directories = vec![(tmp, "/tmp".to_string())];
    directories.extend(state.filesystem().get_directories()?);
    Ok(directories)
}

/// `get-directories`: lists the preopened folders and notes each for
/// [`Scratch::listed`].
fn get_directories<T: ScratchView>(state: &mut T) -> wasmtime::Result<Vec<Preopen>> {
    let directories = list_preopens(state)?;
    let mut listed = Vec::with_capacity(directories.len());
    for (handle, path) in &directories {
        if let Ok(Descriptor::Dir(dir)) = state.ctx().table.get(handle) {
            listed.push(Listed {
                rep: handle.rep(),
                path: path.clone(),
                folder: dir.dir.clone(),
            });
        }
    }
    state.scratch().listed.extend(listed);
    Ok(directories)
}

/// New handles to the preopened folders a snapshot's guest kept, one per
/// entry of `kept`, in its order (for `Sandbox::create`). The folders are
/// listed once, and again only for a folder the guest held twice; the
/// handles left over are dropped.
pub(crate) fn reopen<T: ScratchView>(
    state: &mut T,
    kept: &[KeptPreopen],
) -> wasmtime::Result<Vec<u32>> {
    let mut reps = Vec::with_capacity(kept.len());
    let mut spare: Vec<Preopen> = Vec::new();
    for kept in kept {
        let at = |spare: &[Preopen]| spare.iter().position(|(_, path)| *path == kept.path);
        let found = match at(&spare) {
            Some(found) => found,
            None => {
                spare.extend(list_preopens(state)?);
                at(&spare).ok_or_else(|| {
                    wasmtime::Error::msg(format!("no preopened folder {} to reopen", kept.path))
                })?
            }
        };
        reps.push(spare.swap_remove(found).0.rep());
    }
    for (handle, _) in spare {
        state.ctx().table.delete(handle)?;
    }
    Ok(reps)
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let Some(folder) = self.folder.take() else {
            return;
        };
        // Without a handle the guest had no way to the folder; with one, the
        // handle's own `fstat` is cheaper than a `stat` of the path.
        let untouched = match &self.directory {
            None => true,
            Some(directory) => {
                directory.dir.metadata().ok().as_ref().map(ctime) == Some(folder.changed)
                    && (folder.made.elapsed() >= folder.trusted_after() || is_empty(&directory.dir))
            }
        };
        let mut folders = self.folders.lock().unwrap_or_else(|e| e.into_inner());
        if untouched && folders.ready.len() < READY {
            folders.ready.push(folder);
            return;
        }
        folders.used.push(folder.path);
        drop(folders);
        let _ = self.wake.send(());
    }
}

impl Folder {
    /// How long after it was made its change time alone is trusted.
    fn trusted_after(&self) -> std::time::Duration {
        if self.changed.1 == 0 {
            CTIME_TRUSTED_AFTER_COARSE
        } else {
            CTIME_TRUSTED_AFTER
        }
    }
}

/// Whether the folder behind `handle` has no entries (a read error counts
/// as not empty: the folder is then removed, never reused).
fn is_empty(handle: &std::fs::File) -> bool {
    use rustix::fs::{Mode, OFlags};
    // The handle is a path handle (O_PATH), which cannot be read: open the
    // folder for reading through it.
    let flags = OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC;
    let Ok(folder) = rustix::fs::openat(handle, c".", flags, Mode::empty()) else {
        return false;
    };
    let Ok(entries) = rustix::fs::Dir::new(folder) else {
        return false;
    };
    for entry in entries {
        match entry {
            Ok(entry) if entry.file_name() == c"." || entry.file_name() == c".." => {}
            _ => return false,
        }
    }
    true
}

fn make_folder(root: &Path) -> Result<Folder> {
    let path = tempfile::Builder::new()
        .prefix("sandbox-")
        .tempdir_in(root)
        .with_context(|| format!("failed to make a /tmp folder in {}", root.display()))?
        .keep();
    let changed = change_time(&path).context("failed to read a /tmp folder's times")?;
    Ok(Folder {
        path,
        changed,
        made: std::time::Instant::now(),
    })
}

/// Makes the folder every sandbox's `/tmp` is made in, or checks the one
/// that is there: a folder (not a symbolic link to one) of this user's that
/// no other user may enter. A folder of that name made by someone else, or
/// a link to another user's folder, would put every sandbox's `/tmp` where
/// others can read or replace it, so it is refused with the reason
/// (`faults::a_scratch_root_that_is_not_ours_alone_is_refused`).
pub(crate) fn create_root(root: &Path) -> Result<()> {
    use std::os::unix::fs::{DirBuilderExt, MetadataExt, PermissionsExt};
    if let Some(parent) = root.parent() {
        std::fs::create_dir_all(parent)
            .with_context(|| format!("failed to create {}", parent.display()))?;
    }
    match std::fs::DirBuilder::new().mode(0o700).create(root) {
        Ok(()) => return Ok(()),
        Err(error) if error.kind() == std::io::ErrorKind::AlreadyExists => {}
        Err(error) => {
            return Err(error).with_context(|| format!("failed to create {}", root.display()));
        }
    }
    let refuse = |why: String| {
        anyhow::anyhow!(
            "refusing to keep sandboxes' /tmp folders in {}: {why}; remove it, or set TMPDIR \
             to a folder of your own",
            root.display()
        )
    };
    let metadata = std::fs::symlink_metadata(root)
        .with_context(|| format!("failed to read {}", root.display()))?;
    if metadata.file_type().is_symlink() {
        return Err(refuse("it is a symbolic link".into()));
    }
    if !metadata.is_dir() {
        return Err(refuse("it is not a folder".into()));
    }
    // SAFETY: geteuid has no preconditions and cannot fail.
    let uid = unsafe { libc::geteuid() };
    if metadata.uid() != uid {
        return Err(refuse(format!(
            "it belongs to user {}, not to this user ({uid})",
            metadata.uid()
        )));
    }
    let mode = metadata.permissions().mode() & 0o777;
    if mode & 0o077 != 0 {
        return Err(refuse(format!(
            "other users may enter it (mode {mode:o}, not 700)"
        )));
    }
    Ok(())
}

/// Removes the folder `root` and everything in it, however deep, with one
/// folder handle open at a time and no recursion: a guest can build a chain
/// of tens of thousands of folders through folder handles (no path ever
/// gets long), and `std::fs::remove_dir_all` takes a stack frame per level,
/// which overflowed the thread's stack and aborted the whole host
/// (`scratch::tests::a_folder_chain_deeper_than_any_stack_is_removed`).
/// Symbolic links are removed, never followed.
pub(crate) fn remove_tree(root: &Path) -> std::io::Result<()> {
    use rustix::fs::{AtFlags, Mode, OFlags};
    let flags = OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC;
    let mut folder = rustix::fs::open(root, flags, Mode::empty())?;
    // The names from `root` down to `folder`.
    let mut names: Vec<std::ffi::CString> = Vec::new();
    loop {
        // Unlink what is not a folder; step into the first folder found.
        let mut child = None;
        for entry in rustix::fs::Dir::read_from(&folder)? {
            let entry = entry?;
            let name = entry.file_name();
            if name == c"." || name == c".." {
                continue;
            }
            match rustix::fs::unlinkat(&folder, name, AtFlags::empty()) {
                Ok(()) => {}
                Err(rustix::io::Errno::ISDIR) => {
                    child = Some(name.to_owned());
                    break;
                }
                // Gone already, or not ours to remove: what is left is reported below.
                Err(_) => {}
            }
        }
        if let Some(name) = child {
            folder = rustix::fs::openat(&folder, &name, flags, Mode::empty())?;
            names.push(name);
            continue;
        }
        // `folder` is empty: remove it from its parent and go on there.
        let Some(name) = names.pop() else {
            break;
        };
        let parent = rustix::fs::openat(&folder, c"..", flags, Mode::empty())?;
        rustix::fs::unlinkat(&parent, &name, AtFlags::REMOVEDIR)?;
        folder = parent;
    }
    drop(folder);
    std::fs::remove_dir(root)
}

/// The background thread's work: remove used folders, top up the ready.
fn tidy(root: &Path, folders: &Mutex<Folders>) {
    let used = std::mem::take(&mut folders.lock().unwrap_or_else(|e| e.into_inner()).used);
    for path in used {
        if let Err(error) = remove_tree(&path) {
            tracing::warn!(
                "failed to remove the used /tmp folder {}: {error}",
                path.display()
            );
        }
    }
    loop {
        let missing = READY.saturating_sub(
            folders
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .ready
                .len(),
        );
        if missing == 0 {
            return;
        }
        match make_folder(root) {
            Ok(path) => folders
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .ready
                .push(path),
            Err(_) => return,
        }
    }
}

impl ScratchPool {
    /// A pool whose folders live in `root` (created private to this user).
    pub(crate) fn new(root: PathBuf) -> Self {
        let folders = Arc::new(Mutex::new(Folders::default()));
        let (wake, woken) = mpsc::channel::<()>();
        let thread_root = root.clone();
        let thread_folders = folders.clone();
        // If the thread cannot start, folders are made on the spot and the
        // used ones stay listed until the pool is dropped.
        let _ = std::thread::Builder::new()
            .name("wasm-lambda-scratch".into())
            .spawn(move || {
                while woken.recv().is_ok() {
                    tidy(&thread_root, &thread_folders);
                }
                // The host and all its sandboxes are gone.
                let folders =
                    std::mem::take(&mut *thread_folders.lock().unwrap_or_else(|e| e.into_inner()));
                let ready = folders.ready.into_iter().map(|folder| folder.path);
                for path in ready.chain(folders.used) {
                    let _ = remove_tree(&path);
                }
            });
        ScratchPool {
            root,
            folders,
            wake,
        }
    }

    /// A pool without the thread: folders are made on the spot and the used
    /// ones stay where they are, so what `take` returns is only what was
    /// given back.
    #[cfg(test)]
    fn unattended(root: PathBuf) -> Self {
        let (wake, _) = mpsc::channel::<()>();
        ScratchPool {
            root,
            folders: Arc::default(),
            wake,
        }
    }

    /// An empty folder that no running sandbox uses and no sandbox wrote to.
    pub(crate) fn take(&self) -> Result<Scratch> {
        let mut folders = self.folders.lock().unwrap_or_else(|e| e.into_inner());
        let ready = folders.ready.pop();
        let low = folders.ready.len() < LOW;
        drop(folders);
        if low {
            let _ = self.wake.send(());
        }
        let folder = match ready {
            Some(folder) => folder,
            None => {
                create_root(&self.root)?;
                make_folder(&self.root)?
            }
        };
        Ok(Scratch {
            folder: Some(folder),
            directory: None,
            listed: Vec::new(),
            folders: self.folders.clone(),
            wake: self.wake.clone(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A chain 30,000 folders deep, made through folder handles as a guest
    /// can, with a file at every level and a symbolic link out of the tree,
    /// is removed by a thread with a 64 KiB stack (where a frame per level
    /// would overflow at once), and the link's target survives.
    #[test]
    fn a_folder_chain_deeper_than_any_stack_is_removed() {
        use rustix::fs::{Mode, OFlags};
        let outside = tempfile::tempdir().unwrap();
        let keep = outside.path().join("keep");
        std::fs::write(&keep, "not the sandbox's").unwrap();
        let root = tempfile::tempdir().unwrap().keep();
        let flags = OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC;
        let mut folder = rustix::fs::open(&root, flags, Mode::empty()).unwrap();
        rustix::fs::symlinkat(&keep, &folder, c"link").unwrap();
        for _ in 0..30_000 {
            rustix::fs::mkdirat(&folder, c"a", Mode::RWXU).unwrap();
            let file = rustix::fs::openat(
                &folder,
                c"f",
                OFlags::WRONLY | OFlags::CREATE | OFlags::CLOEXEC,
                Mode::RUSR | Mode::WUSR,
            )
            .unwrap();
            drop(file);
            folder = rustix::fs::openat(&folder, c"a", flags, Mode::empty()).unwrap();
        }
        drop(folder);
        let path = root.clone();
        let removed = std::thread::Builder::new()
            .stack_size(64 * 1024)
            .spawn(move || remove_tree(&path))
            .unwrap()
            .join()
            .unwrap();
        removed.unwrap();
        assert!(!root.exists());
        assert_eq!(std::fs::read_to_string(&keep).unwrap(), "not the sandbox's");
    }

    /// A coarse clock, simulated: the folder's recorded change time is taken
    /// after a file was written into it, as a kernel with tick-granular
    /// ctime would leave it. The file is still found, and the folder is
    /// never handed out again.
    #[test]
    fn a_file_written_in_the_folders_first_tick_is_found() {
        let root = tempfile::tempdir().unwrap();
        let pool = ScratchPool::new(root.path().join("scratch"));
        let mut sandbox = pool.take().unwrap();
        let directory = sandbox.directory().unwrap();
        use rustix::fs::{Mode, OFlags};
        let file = rustix::fs::openat(
            &*directory.dir,
            c"left-behind",
            OFlags::WRONLY | OFlags::CREATE | OFlags::CLOEXEC,
            Mode::RUSR | Mode::WUSR,
        )
        .unwrap();
        rustix::io::write(&file, b"secret").unwrap();
        let folder = sandbox.folder.as_mut().unwrap();
        folder.changed = change_time(&folder.path).unwrap();
        let used = folder.path.clone();
        drop(sandbox);
        for _ in 0..(2 * READY) {
            let next = pool.take().unwrap();
            assert_ne!(next.path(), used, "a folder with a file in it came back");
            assert_eq!(std::fs::read_dir(next.path()).unwrap().count(), 0);
        }
    }

    #[test]
    fn folders_are_empty_and_written_ones_are_removed_after_use() {
        let root = tempfile::tempdir().unwrap();
        let pool = ScratchPool::new(root.path().join("scratch"));
        // A guest reaches its folder only through the handle.
        let mut first = pool.take().unwrap();
        first.directory().unwrap();
        std::fs::write(first.path().join("file"), b"data").unwrap();
        let first_path = first.path().to_path_buf();
        drop(first);
        for _ in 0..(2 * READY) {
            let next = pool.take().unwrap();
            assert_eq!(std::fs::read_dir(next.path()).unwrap().count(), 0);
            assert_ne!(next.path(), first_path);
        }
        // A file made and removed again still retires the folder.
        let mut second = pool.take().unwrap();
        second.directory().unwrap();
        let second_path = second.path().to_path_buf();
        std::fs::write(second_path.join("file"), b"data").unwrap();
        std::fs::remove_file(second_path.join("file")).unwrap();
        drop(second);
        for _ in 0..(2 * READY) {
            assert_ne!(pool.take().unwrap().path(), second_path);
        }
        // Removal happens in the background; wait for it, boundedly.
        for _ in 0..500 {
            if !first_path.exists() {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        assert!(!first_path.exists(), "a used folder is removed");
    }

    #[test]
    fn folders_that_were_never_opened_or_only_opened_are_used_again() {
        let root = tempfile::tempdir().unwrap();
        // No thread: one topping the ready list up could put a folder of
        // its own after the one given back (it did so on a CI run).
        let pool = ScratchPool::unattended(root.path().join("scratch"));
        let unopened = pool.take().unwrap();
        let path = unopened.path().to_path_buf();
        drop(unopened);
        let mut opened = pool.take().unwrap();
        assert_eq!(opened.path(), path, "a folder never opened is ready again");
        opened.directory().unwrap();
        drop(opened);
        let mut written = pool.take().unwrap();
        assert_eq!(written.path(), path, "a folder opened, not written, too");
        written.directory().unwrap();
        std::fs::create_dir(path.join("made")).unwrap();
        drop(written);
        assert_ne!(pool.take().unwrap().path(), path, "a written one is not");
    }
}
