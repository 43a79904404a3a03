//! The per-invocation memory cap, which also measures `Max Memory Used`.

use wasmtime::ResourceLimiter;

/// Caps the sum of an instance's linear memories at the function's memory
/// size, remembers the peak for the `REPORT` line, and notes when the guest
/// asked for more than it may have, so that the trap that usually follows is
/// reported as `Runtime.OutOfMemory` rather than a generic crash.
#[derive(Debug)]
pub(crate) struct MemoryLimiter {
    limit_bytes: usize,
    current_bytes: usize,
    peak_bytes: usize,
    exceeded: bool,
}

/// More table elements than any real guest uses, while still bounding a guest
/// that grows a table in a loop.
const MAX_TABLE_ELEMENTS: usize = 10_000_000;

impl MemoryLimiter {
    pub(crate) fn new(limit_bytes: usize) -> Self {
        MemoryLimiter {
            limit_bytes,
            current_bytes: 0,
            peak_bytes: 0,
            exceeded: false,
        }
    }

    /// The most linear memory the instance has held, in bytes.
    pub(crate) fn peak_bytes(&self) -> usize {
        self.peak_bytes
    }

    /// Whether the guest was refused memory since the last reset.
    pub(crate) fn exceeded(&self) -> bool {
        self.exceeded
    }

    /// Starts a new invocation on a reused instance: the peak restarts from
    /// what the instance holds now.
    pub(crate) fn reset_peak(&mut self) {
        self.peak_bytes = self.current_bytes;
        self.exceeded = false;
    }
}

impl ResourceLimiter for MemoryLimiter {
    fn memory_growing(
        &mut self,
        current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        let total = self.current_bytes - current.min(self.current_bytes) + desired;
        if total > self.limit_bytes {
            self.exceeded = true;
            return Ok(false);
        }
        self.current_bytes = total;
        self.peak_bytes = self.peak_bytes.max(total);
        Ok(true)
    }

    fn table_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        Ok(desired <= MAX_TABLE_ELEMENTS)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sums_memories_and_refuses_growth_past_the_limit() {
        let mut limiter = MemoryLimiter::new(100);
        assert!(limiter.memory_growing(0, 40, None).unwrap());
        assert!(limiter.memory_growing(0, 50, None).unwrap());
        assert_eq!(limiter.peak_bytes(), 90);
        assert!(!limiter.memory_growing(40, 60, None).unwrap());
        assert!(limiter.exceeded());
        assert!(limiter.memory_growing(40, 50, None).unwrap());
        assert_eq!(limiter.peak_bytes(), 100);
        limiter.reset_peak();
        assert!(!limiter.exceeded());
        assert_eq!(limiter.peak_bytes(), 100);
    }
}
