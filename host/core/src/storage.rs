//! The cap on what a sandbox may store in `/tmp` (Lambda's ephemeral
//! storage, 512 MB by default).
//!
//! `/tmp` is a host folder, and WASI writes go straight to its files, so
//! the cap is kept where the writes enter: the host's `wasi:filesystem`
//! functions that write (`descriptor.write`) or make a stream that writes
//! (`write-via-stream`, `append-via-stream`) are replaced by versions that
//! charge each write to the sandbox's [`Storage`] first; a stream is wrapped
//! in a [`CappedStream`] that does the same. Mounts are read-only, so every
//! write a handler can make lands in `/tmp`. A write that would pass the cap
//! fails inside the guest (`insufficient-space`, or a stream error), and
//! nothing of it reaches the host's disk.
//!
//! Charging counts what the filesystem allocates, conservatively: every
//! 4 KiB block a write touches (a one-byte write 4 KiB from the last takes
//! a block of its own), a block for each new file, folder, symbolic link
//! or hard link. When the count would pass the cap, the folder's real use
//! is measured (allocated blocks, at least a block per entry: an inode and
//! a small file's block) and the count restarts from it, so rewriting or
//! deleting files frees room as it should. The recount walks the tree
//! through folder handles, one level at a time (no path is ever built, so
//! no depth escapes it: past the path limit the old walk read 0 and lowered
//! the total), and runs only when something may have freed room (a
//! deletion, a truncation, a rename) or a megabyte has been charged since
//! the last one, so a guest sitting at the cap does not make every write a
//! full walk; from `descriptor.write` it runs on a blocking thread, off the
//! executor. Enforced by the `capabilities::tmp_cap_*` tests.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use anyhow::Result;
use bytes::Bytes;
use wasmtime::StoreContextMut;
use wasmtime::component::{Linker, Resource};
use wasmtime_wasi::WasiView;
use wasmtime_wasi::filesystem::{Descriptor, WasiFilesystemView as _};
use wasmtime_wasi::p2::bindings::filesystem::types::{self, ErrorCode, HostDescriptor};
use wasmtime_wasi::p2::{DynOutputStream, OutputStream, Pollable, StreamError, StreamResult};

/// The `wasi:filesystem` version wasmtime-wasi 48 defines; components that
/// import older 0.2 versions are linked to it too.
const FILESYSTEM_TYPES: &str = "wasi:filesystem/types@0.2.12";

/// The filesystem's block: what a write is charged per block it touches,
/// and what each new entry (file, folder, link) costs before any byte.
const BLOCK: u64 = 4096;

/// How much may be charged since the last recount before a write past the
/// cap earns another one (when nothing was freed meanwhile).
const RECOUNT_AFTER_BYTES: u64 = 1 << 20;

/// The blocks `[offset, offset + len)` touches, in bytes.
fn blocks_spanned(offset: u64, len: u64) -> u64 {
    if len == 0 {
        return 0;
    }
    let first = offset / BLOCK;
    let last = offset.saturating_add(len).div_ceil(BLOCK);
    (last - first) * BLOCK
}

/// The running count: authoritative between recounts.
struct Count {
    used: u64,
    /// Charged since the last recount.
    since_recount: u64,
    /// Something was deleted, truncated or renamed since the last recount.
    freed: bool,
}

/// One sandbox's `/tmp` budget.
pub(crate) struct Storage {
    root: PathBuf,
    cap: u64,
    count: Mutex<Count>,
}

impl Storage {
    pub(crate) fn new(root: &Path, cap: u64) -> Arc<Self> {
        Arc::new(Storage {
            root: root.to_path_buf(),
            cap,
            count: Mutex::new(Count {
                used: 0,
                since_recount: 0,
                // The first time the cap is reached, the folder is measured.
                freed: true,
            }),
        })
    }

    /// Counts `bytes` when they fit without a recount; `None` when only a
    /// recount can tell.
    fn charge_counted(&self, bytes: u64) -> Option<bool> {
        let mut count = self.count.lock().unwrap_or_else(|e| e.into_inner());
        if count.used.saturating_add(bytes) <= self.cap {
            count.used += bytes;
            count.since_recount = count.since_recount.saturating_add(bytes);
            return Some(true);
        }
        if !count.freed && count.since_recount < RECOUNT_AFTER_BYTES {
            return Some(false);
        }
        None
    }

    /// Whether `bytes` more may be stored; if so they are counted. May walk
    /// the folder (see the module's notes): call it where blocking is fine.
    pub(crate) fn charge(&self, bytes: u64) -> bool {
        if let Some(fits) = self.charge_counted(bytes) {
            return fits;
        }
        let measured = disk_use(&self.root);
        let mut count = self.count.lock().unwrap_or_else(|e| e.into_inner());
        // An unreadable tree keeps the count: it is never lowered blindly.
        if let Some(measured) = measured {
            count.used = measured;
        }
        count.since_recount = 0;
        count.freed = false;
        if count.used.saturating_add(bytes) > self.cap {
            return false;
        }
        count.used += bytes;
        true
    }

    /// [`Storage::charge`], with any recount on a blocking thread.
    pub(crate) async fn charge_off_executor(self: &Arc<Self>, bytes: u64) -> bool {
        if let Some(fits) = self.charge_counted(bytes) {
            return fits;
        }
        let storage = self.clone();
        tokio::task::spawn_blocking(move || storage.charge(bytes))
            .await
            .unwrap_or(false)
    }

    /// Notes that something may have freed room (a deletion, a truncation,
    /// a rename over a file): the next write past the cap recounts.
    pub(crate) fn freed(&self) {
        self.count.lock().unwrap_or_else(|e| e.into_inner()).freed = true;
    }
}

/// What a folder's tree takes on disk: each entry's allocated blocks (so
/// sparse files count what they really hold), at least a block per entry.
/// Walked through folder handles, one level at a time; `None` when a folder
/// cannot be read.
fn disk_use(root: &Path) -> Option<u64> {
    use rustix::fs::{AtFlags, FileType, Mode, OFlags};
    let flags = OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC;
    let mut current = Arc::new(rustix::fs::open(root, flags, Mode::empty()).ok()?);
    // Folders still to read, each with a handle on its parent: a folder's
    // handle lives only while some of its children wait.
    let mut pending: Vec<(Arc<rustix::fd::OwnedFd>, std::ffi::CString)> = Vec::new();
    let mut total: u64 = 0;
    loop {
        for entry in rustix::fs::Dir::read_from(&*current).ok()? {
            let entry = entry.ok()?;
            let name = entry.file_name();
            if name == c"." || name == c".." {
                continue;
            }
            let stat = rustix::fs::statat(&*current, name, AtFlags::SYMLINK_NOFOLLOW).ok()?;
            let blocks = u64::try_from(stat.st_blocks)
                .unwrap_or(0)
                .saturating_mul(512);
            total = total.saturating_add(blocks.max(BLOCK));
            if FileType::from_raw_mode(stat.st_mode) == FileType::Directory {
                pending.push((current.clone(), name.to_owned()));
            }
        }
        let Some((parent, name)) = pending.pop() else {
            return Some(total);
        };
        current = Arc::new(rustix::fs::openat(&*parent, &name, flags, Mode::empty()).ok()?);
    }
}

/// A file's output stream whose writes are charged to the sandbox's budget,
/// by the blocks they reach that the stream has not charged yet.
pub(crate) struct CappedStream {
    inner: DynOutputStream,
    storage: Arc<Storage>,
    /// Where the next byte lands (an append stream counts from 0: at most
    /// one block off).
    position: u64,
    /// The end of the last block this stream has charged.
    charged_to: u64,
}

#[wasmtime_wasi::async_trait]
impl Pollable for CappedStream {
    async fn ready(&mut self) {
        self.inner.ready().await;
    }
}

#[wasmtime_wasi::async_trait]
impl OutputStream for CappedStream {
    fn write(&mut self, bytes: Bytes) -> StreamResult<()> {
        let end = self.position.saturating_add(bytes.len() as u64);
        let from = self.charged_to.max(self.position / BLOCK * BLOCK);
        let to = end.div_ceil(BLOCK) * BLOCK;
        if to > from && !self.storage.charge(to - from) {
            return Err(StreamError::LastOperationFailed(wasmtime::Error::msg(
                "no space left in /tmp: the function's ephemeral storage is full",
            )));
        }
        self.charged_to = self.charged_to.max(to);
        self.position = end;
        self.inner.write(bytes)
    }

    fn flush(&mut self) -> StreamResult<()> {
        self.inner.flush()
    }

    fn check_write(&mut self) -> StreamResult<usize> {
        self.inner.check_write()
    }

    async fn cancel(&mut self) {
        self.inner.cancel().await;
    }
}

/// What the charging functions need of a store's data: WASI, and the
/// sandbox's [`Storage`].
pub(crate) trait StorageView: WasiView + 'static {
    /// The sandbox's `/tmp` allowance.
    fn storage(&self) -> &Arc<Storage>;
}

/// Replaces a freshly made file stream in the sandbox's table with a
/// capped one.
fn cap_stream<T: StorageView>(
    state: &mut T,
    stream: Resource<DynOutputStream>,
    position: u64,
) -> wasmtime::Result<Resource<DynOutputStream>> {
    let storage = state.storage().clone();
    let table = state.ctx().table;
    let inner = table.delete(stream)?;
    let capped: DynOutputStream = Box::new(CappedStream {
        inner,
        storage,
        position,
        charged_to: 0,
    });
    Ok(table.push(capped)?)
}

/// What a `wasi:filesystem` function answers: its value, or its error
/// code (a trap stays a trap), as wasmtime-wasi's own glue does.
fn answer<T: StorageView, V>(
    state: &mut T,
    result: Result<V, wasmtime_wasi::p2::FsError>,
) -> wasmtime::Result<(Result<V, ErrorCode>,)> {
    match result {
        Ok(value) => Ok((Ok(value),)),
        Err(error) => Ok((Err(types::Host::convert_error_code(
            &mut state.filesystem(),
            error,
        )?),)),
    }
}

fn stream_answer<T: StorageView>(
    state: &mut T,
    made: Result<Resource<DynOutputStream>, wasmtime_wasi::p2::FsError>,
    position: u64,
) -> wasmtime::Result<(Result<Resource<DynOutputStream>, ErrorCode>,)> {
    let made = match made {
        Ok(stream) => Ok(cap_stream(state, stream, position)?),
        Err(error) => Err(error),
    };
    answer(state, made)
}

/// Wraps a `wasi:filesystem` descriptor method that makes an entry (a
/// folder, a link): a block is charged first, and refused past the cap.
macro_rules! charging_a_block {
    ($filesystem:ident, $name:literal, $method:ident, ($($arg:ident: $ty:ty),*)) => {
        $filesystem.func_wrap_async(
            $name,
            |mut store: StoreContextMut<'_, T>, ($($arg,)*): ($($ty,)*)| {
                Box::new(async move {
                    let state = store.data_mut();
                    let storage = state.storage().clone();
                    if !storage.charge_off_executor(BLOCK).await {
                        return Ok((Err(ErrorCode::InsufficientSpace),));
                    }
                    let done = HostDescriptor::$method(&mut state.filesystem(), $($arg),*).await;
                    answer(state, done)
                })
            },
        )?;
    };
}

/// Wraps a `wasi:filesystem` descriptor method that may free room (a
/// deletion, a rename over a file, a truncation): the next write past the
/// cap recounts.
macro_rules! freeing {
    ($filesystem:ident, $name:literal, $method:ident, ($($arg:ident: $ty:ty),*)) => {
        $filesystem.func_wrap_async(
            $name,
            |mut store: StoreContextMut<'_, T>, ($($arg,)*): ($($ty,)*)| {
                Box::new(async move {
                    let state = store.data_mut();
                    state.storage().freed();
                    let done = HostDescriptor::$method(&mut state.filesystem(), $($arg),*).await;
                    answer(state, done)
                })
            },
        )?;
    };
}

/// Puts the charging versions of the writing functions into `linker`, over
/// wasmtime-wasi's own (which they call).
pub(crate) fn add_to_linker<T: StorageView>(linker: &mut Linker<T>) -> Result<()> {
    linker.allow_shadowing(true);
    let mut filesystem = linker.instance(FILESYSTEM_TYPES)?;
    filesystem.func_wrap(
        "[method]descriptor.write-via-stream",
        |mut store: StoreContextMut<'_, T>, (fd, offset): (Resource<Descriptor>, u64)| {
            let state = store.data_mut();
            let made = HostDescriptor::write_via_stream(&mut state.filesystem(), fd, offset);
            stream_answer(state, made, offset)
        },
    )?;
    filesystem.func_wrap(
        "[method]descriptor.append-via-stream",
        |mut store: StoreContextMut<'_, T>, (fd,): (Resource<Descriptor>,)| {
            let state = store.data_mut();
            let made = HostDescriptor::append_via_stream(&mut state.filesystem(), fd);
            stream_answer(state, made, 0)
        },
    )?;
    filesystem.func_wrap_async(
        "[method]descriptor.write",
        |mut store: StoreContextMut<'_, T>,
         (fd, buffer, offset): (Resource<Descriptor>, Vec<u8>, u64)| {
            Box::new(async move {
                let state = store.data_mut();
                let storage = state.storage().clone();
                let bytes = blocks_spanned(offset, buffer.len() as u64);
                if !storage.charge_off_executor(bytes).await {
                    return Ok((Err(ErrorCode::InsufficientSpace),));
                }
                let written =
                    HostDescriptor::write(&mut state.filesystem(), fd, buffer, offset).await;
                answer(state, written)
            })
        },
    )?;
    filesystem.func_wrap_async(
        "[method]descriptor.open-at",
        |mut store: StoreContextMut<'_, T>,
         (fd, path_flags, path, open_flags, flags): (
            Resource<Descriptor>,
            types::PathFlags,
            String,
            types::OpenFlags,
            types::DescriptorFlags,
        )| {
            Box::new(async move {
                let state = store.data_mut();
                let storage = state.storage().clone();
                if open_flags.contains(types::OpenFlags::CREATE)
                    && !storage.charge_off_executor(BLOCK).await
                {
                    return Ok((Err(ErrorCode::InsufficientSpace),));
                }
                if open_flags.contains(types::OpenFlags::TRUNCATE) {
                    storage.freed();
                }
                let opened = HostDescriptor::open_at(
                    &mut state.filesystem(),
                    fd,
                    path_flags,
                    path,
                    open_flags,
                    flags,
                )
                .await;
                answer(state, opened)
            })
        },
    )?;
    charging_a_block!(
        filesystem,
        "[method]descriptor.create-directory-at",
        create_directory_at,
        (fd: Resource<Descriptor>, path: String)
    );
    charging_a_block!(
        filesystem,
        "[method]descriptor.symlink-at",
        symlink_at,
        (fd: Resource<Descriptor>, target: String, path: String)
    );
    charging_a_block!(
        filesystem,
        "[method]descriptor.link-at",
        link_at,
        (
            fd: Resource<Descriptor>,
            flags: types::PathFlags,
            old_path: String,
            new_fd: Resource<Descriptor>,
            new_path: String
        )
    );
    freeing!(
        filesystem,
        "[method]descriptor.unlink-file-at",
        unlink_file_at,
        (fd: Resource<Descriptor>, path: String)
    );
    freeing!(
        filesystem,
        "[method]descriptor.remove-directory-at",
        remove_directory_at,
        (fd: Resource<Descriptor>, path: String)
    );
    freeing!(
        filesystem,
        "[method]descriptor.rename-at",
        rename_at,
        (
            fd: Resource<Descriptor>,
            old_path: String,
            new_fd: Resource<Descriptor>,
            new_path: String
        )
    );
    freeing!(
        filesystem,
        "[method]descriptor.set-size",
        set_size,
        (fd: Resource<Descriptor>, size: u64)
    );
    linker.allow_shadowing(false);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn charges_until_the_cap_and_recounts_from_the_disk() {
        let dir = tempfile::tempdir().unwrap();
        let storage = Storage::new(dir.path(), 10_000);
        assert!(storage.charge(6_000));
        // Nothing was really written, so the recount frees the room.
        assert!(storage.charge(6_000));
        std::fs::write(dir.path().join("file"), vec![1u8; 9_000]).unwrap();
        assert!(!storage.charge(6_000), "9,000 bytes on disk leave no room");
        std::fs::remove_file(dir.path().join("file")).unwrap();
        assert!(
            !storage.charge(6_000),
            "no recount until something is freed"
        );
        storage.freed();
        assert!(storage.charge(6_000));
    }
}
