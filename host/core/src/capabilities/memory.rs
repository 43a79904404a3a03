//! The memory cap: the sum of the sandbox's linear memories stays within
//! the function's memory size, and its peak is `Max Memory Used`
//! (`limits.rs`).

use super::{Capability, CapabilityViews, Equipment, Prepared};
use crate::limits::MemoryLimiter;

pub(super) struct Memory;

impl<T: CapabilityViews> Capability<T> for Memory {
    fn equip(&self, prepared: &Prepared<'_>, sandbox: &mut Equipment<'_>) -> anyhow::Result<()> {
        sandbox.parts.limiter = Some(MemoryLimiter::new(prepared.memory_bytes));
        Ok(())
    }
}
