//! The per-invocation memory cap, which also measures `Max Memory Used`.

use wasmtime::ResourceLimiter;

/// Lambda's limit on a synchronous response payload. It lives here, with the
/// other limits, because the sandbox's hostcall fuel is derived from it.
pub const MAX_RESPONSE_BYTES: usize = 6_291_556;

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

/// The most handles (files, folders, sockets, streams, pollables, HTTP
/// requests: every entry of its WASI resource table) one sandbox may hold:
/// four times Lambda's 1,024 descriptors, as one descriptor often comes
/// with a stream or two and a pollable.
pub(crate) const MAX_HANDLES_PER_SANDBOX: usize = 4096;

/// The fewest a sandbox gets however low the process's descriptor limit.
const MIN_HANDLES_PER_SANDBOX: usize = 64;

/// Descriptors a sandbox holds outside its table (its `/tmp` and mounted
/// folders, the scratch handle).
const HOST_DESCRIPTORS_PER_SANDBOX: u64 = 8;

/// How many handles each sandbox may hold so that every sandbox at once
/// cannot take the descriptors the host needs: the listener, connections,
/// the cache, the store. Every descriptor a guest holds sits behind at
/// least one handle, so `max_instances` sandboxes at their cap hold at most
/// the process's limit less a reserve of an eighth (at least 1,024). The
/// soft limit is raised to the hard one first, as servers do. A limit too
/// low to give every sandbox [`MIN_HANDLES_PER_SANDBOX`] is warned about.
/// Enforced by `faults::a_sandbox_opening_files_without_end_stops_at_its_handle_cap`.
pub(crate) fn handles_per_sandbox(max_instances: u32) -> usize {
    let limit = raise_descriptor_limit();
    let reserve = (limit / 8).max(1024);
    let instances = u64::from(max_instances.max(1));
    let each = (limit.saturating_sub(reserve) / instances)
        .saturating_sub(HOST_DESCRIPTORS_PER_SANDBOX) as usize;
    if each < MIN_HANDLES_PER_SANDBOX {
        tracing::warn!(
            "wasm-lambda: the descriptor limit ({limit}) leaves {each} per sandbox for {max_instances} \
             sandboxes; each gets {MIN_HANDLES_PER_SANDBOX}, and all of them at once could exhaust the \
             limit: raise `ulimit -n` or lower max_instances"
        );
    }
    each.clamp(MIN_HANDLES_PER_SANDBOX, MAX_HANDLES_PER_SANDBOX)
}

/// Raises the soft descriptor limit to the hard one; returns the limit now
/// in force (a generous guess when it cannot be read).
fn raise_descriptor_limit() -> u64 {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit writes the struct it is given and nothing else.
    if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) } != 0 {
        return 1 << 20;
    }
    if limit.rlim_cur < limit.rlim_max {
        let raised = libc::rlimit {
            rlim_cur: limit.rlim_max,
            rlim_max: limit.rlim_max,
        };
        // SAFETY: setrlimit reads the struct it is given; raising the soft
        // limit up to the hard one needs no privilege.
        if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &raised) } == 0 {
            limit = raised;
        }
    }
    limit.rlim_cur
}

/// Whether a trap is a sandbox's resource table refusing one more handle.
pub(crate) fn is_handle_cap_error(error: &wasmtime::Error) -> bool {
    error.chain().any(|cause| {
        matches!(
            cause.downcast_ref::<wasmtime::component::ResourceTableError>(),
            Some(wasmtime::component::ResourceTableError::Full)
        )
    })
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
