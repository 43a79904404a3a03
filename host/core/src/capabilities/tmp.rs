//! `/tmp`: the sandbox's own empty folder (`scratch.rs`), listed among its
//! preopened folders when the guest asks, and the cap on what it may store
//! there (`storage.rs`).

use anyhow::Context as _;
use wasmtime::component::Linker;

use super::{Capability, CapabilityViews, Equipment, Prepared};
use crate::storage::Storage;

pub(super) struct Tmp;

impl<T: CapabilityViews> Capability<T> for Tmp {
    fn link(&self, linker: &mut Linker<T>) -> anyhow::Result<()> {
        // The ephemeral-storage cap on writes to /tmp.
        crate::storage::add_to_linker(linker).context("failed to link the /tmp storage cap")?;
        // `/tmp` opened only for guests that ask for their folders.
        crate::scratch::add_to_linker(linker).context("failed to link /tmp")
    }

    fn equip(&self, prepared: &Prepared<'_>, sandbox: &mut Equipment<'_>) -> anyhow::Result<()> {
        sandbox.parts.storage = Some(Storage::new(
            sandbox.scratch.path(),
            prepared.ephemeral_storage_bytes,
        ));
        Ok(())
    }
}
