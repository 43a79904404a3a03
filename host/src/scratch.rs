//! Each sandbox's `/tmp`: an empty host folder that only that sandbox sees.
//!
//! Making and removing a folder costs tens of microseconds, more than a
//! whole Rust cold start, so neither happens on the invocation's path. When
//! a sandbox ends, one `stat` tells whether its folder was touched: a
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

/// How many empty folders the thread keeps ready.
const READY: usize = 16;
/// Fewer ready than this wakes the thread.
const LOW: usize = 4;

/// A folder and its change time when it was made.
struct Folder {
    path: PathBuf,
    changed: (i64, i64),
}

fn change_time(path: &Path) -> Option<(i64, i64)> {
    use std::os::unix::fs::MetadataExt;
    let metadata = std::fs::symlink_metadata(path).ok()?;
    Some((metadata.ctime(), metadata.ctime_nsec()))
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
    folders: Arc<Mutex<Folders>>,
    wake: mpsc::Sender<()>,
}

impl Scratch {
    pub(crate) fn path(&self) -> &Path {
        self.folder
            .as_ref()
            .map_or(Path::new(""), |folder| &folder.path)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let Some(folder) = self.folder.take() else {
            return;
        };
        let untouched = change_time(&folder.path) == Some(folder.changed);
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

fn make_folder(root: &Path) -> Result<Folder> {
    let path = tempfile::Builder::new()
        .prefix("sandbox-")
        .tempdir_in(root)
        .with_context(|| format!("failed to make a /tmp folder in {}", root.display()))?
        .keep();
    let changed = change_time(&path).context("failed to read a /tmp folder's times")?;
    Ok(Folder { path, changed })
}

fn create_root(root: &Path) -> Result<()> {
    use std::os::unix::fs::DirBuilderExt;
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(root)
        .with_context(|| format!("failed to create {}", root.display()))
}

/// The background thread's work: remove used folders, top up the ready.
fn tidy(root: &Path, folders: &Mutex<Folders>) {
    let used = std::mem::take(&mut folders.lock().unwrap_or_else(|e| e.into_inner()).used);
    for path in used {
        let _ = std::fs::remove_dir_all(path);
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
                    let _ = std::fs::remove_dir_all(path);
                }
            });
        ScratchPool {
            root,
            folders,
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
            folders: self.folders.clone(),
            wake: self.wake.clone(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folders_are_empty_and_written_ones_are_removed_after_use() {
        let root = tempfile::tempdir().unwrap();
        let pool = ScratchPool::new(root.path().join("scratch"));
        let first = pool.take().unwrap();
        std::fs::write(first.path().join("file"), b"data").unwrap();
        let first_path = first.path().to_path_buf();
        drop(first);
        for _ in 0..(2 * READY) {
            let next = pool.take().unwrap();
            assert_eq!(std::fs::read_dir(next.path()).unwrap().count(), 0);
            assert_ne!(next.path(), first_path);
        }
        // A file made and removed again still retires the folder.
        let second = pool.take().unwrap();
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
}
