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
//! Charging counts bytes written; when the count would pass the cap, the
//! folder's real use (allocated blocks) is measured and the count restarts
//! from it, so rewriting or deleting files frees room as it should. Making
//! a folder is charged a block (4 KiB) and making a file [`ENTRY_BYTES`],
//! so that millions of empty entries cannot fill the host's disk either.

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

/// What a new file costs against the budget before any byte is written.
const ENTRY_BYTES: u64 = 512;
/// What a new folder costs: one block.
const FOLDER_BYTES: u64 = 4096;

/// One sandbox's `/tmp` budget.
pub(crate) struct Storage {
    root: PathBuf,
    cap: u64,
    used: Mutex<u64>,
}

impl Storage {
    pub(crate) fn new(root: &Path, cap: u64) -> Arc<Self> {
        Arc::new(Storage {
            root: root.to_path_buf(),
            cap,
            used: Mutex::new(0),
        })
    }

    /// Whether `bytes` more may be written; if so they are counted.
    pub(crate) fn charge(&self, bytes: u64) -> bool {
        let mut used = self.used.lock().unwrap_or_else(|e| e.into_inner());
        if used.saturating_add(bytes) > self.cap {
            *used = disk_use(&self.root);
        }
        if used.saturating_add(bytes) > self.cap {
            return false;
        }
        *used += bytes;
        true
    }
}

/// The bytes a folder's files take on disk (allocated blocks, so sparse
/// files count what they really hold).
fn disk_use(dir: &Path) -> u64 {
    use std::os::unix::fs::MetadataExt;
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    entries
        .filter_map(|entry| entry.ok())
        .map(|entry| match entry.metadata() {
            Ok(metadata) if metadata.is_dir() => {
                (metadata.blocks() * 512).max(FOLDER_BYTES) + disk_use(&entry.path())
            }
            Ok(metadata) => (metadata.blocks() * 512).max(ENTRY_BYTES),
            Err(_) => 0,
        })
        .sum()
}

/// A file's output stream whose writes are charged to the sandbox's budget.
pub(crate) struct CappedStream {
    inner: DynOutputStream,
    storage: Arc<Storage>,
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
        if !self.storage.charge(bytes.len() as u64) {
            return Err(StreamError::LastOperationFailed(wasmtime::Error::msg(
                "no space left in /tmp: the function's ephemeral storage is full",
            )));
        }
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
) -> wasmtime::Result<Resource<DynOutputStream>> {
    let storage = state.storage().clone();
    let table = state.ctx().table;
    let inner = table.delete(stream)?;
    let capped: DynOutputStream = Box::new(CappedStream { inner, storage });
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
) -> wasmtime::Result<(Result<Resource<DynOutputStream>, ErrorCode>,)> {
    let made = match made {
        Ok(stream) => Ok(cap_stream(state, stream)?),
        Err(error) => Err(error),
    };
    answer(state, made)
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
            stream_answer(state, made)
        },
    )?;
    filesystem.func_wrap(
        "[method]descriptor.append-via-stream",
        |mut store: StoreContextMut<'_, T>, (fd,): (Resource<Descriptor>,)| {
            let state = store.data_mut();
            let made = HostDescriptor::append_via_stream(&mut state.filesystem(), fd);
            stream_answer(state, made)
        },
    )?;
    filesystem.func_wrap_async(
        "[method]descriptor.write",
        |mut store: StoreContextMut<'_, T>,
         (fd, buffer, offset): (Resource<Descriptor>, Vec<u8>, u64)| {
            Box::new(async move {
                let state = store.data_mut();
                if !state.storage().charge(buffer.len() as u64) {
                    return Ok((Err(ErrorCode::InsufficientSpace),));
                }
                let written =
                    HostDescriptor::write(&mut state.filesystem(), fd, buffer, offset).await;
                answer(state, written)
            })
        },
    )?;
    filesystem.func_wrap_async(
        "[method]descriptor.create-directory-at",
        |mut store: StoreContextMut<'_, T>, (fd, path): (Resource<Descriptor>, String)| {
            Box::new(async move {
                let state = store.data_mut();
                if !state.storage().charge(FOLDER_BYTES) {
                    return Ok((Err(ErrorCode::InsufficientSpace),));
                }
                let made =
                    HostDescriptor::create_directory_at(&mut state.filesystem(), fd, path).await;
                answer(state, made)
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
                if open_flags.contains(types::OpenFlags::CREATE)
                    && !state.storage().charge(ENTRY_BYTES)
                {
                    return Ok((Err(ErrorCode::InsufficientSpace),));
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
        assert!(storage.charge(6_000));
    }
}
