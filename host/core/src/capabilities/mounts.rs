//! Read-only folders: the files the component carries (`files.rs`, at the
//! guest paths its build chose) and the folders the configuration mounts
//! (layers under `/opt`, data).

use wasmtime_wasi::FsPerms;

use super::{Capability, CapabilityViews, Equipment, Prepared};

pub(super) struct Mounts;

impl<T: CapabilityViews> Capability<T> for Mounts {
    fn equip(&self, prepared: &Prepared<'_>, sandbox: &mut Equipment<'_>) -> anyhow::Result<()> {
        for (source, path) in prepared.files.iter().flat_map(|files| &files.mounts) {
            sandbox
                .wasi
                .preopened_dir(source, path, FsPerms::ReadOnly)
                .map_err(anyhow::Error::from)?;
        }
        for mount in prepared.mounts {
            sandbox
                .wasi
                .preopened_dir(&mount.source, &mount.destination, FsPerms::ReadOnly)
                .map_err(anyhow::Error::from)?;
        }
        Ok(())
    }
}
