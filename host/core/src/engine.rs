//! The one wasmtime `Engine` of a process, with every setting in one place.

use std::path::Path;
use std::sync::Arc;
use std::thread;
use std::time::Duration;

use anyhow::{Context as _, Result};
use wasmtime::{Config, Engine, InstanceAllocationStrategy, PoolingAllocationConfig};

/// How often the engine's epoch advances. Each tick is a point where a running
/// guest checks its deadline and yields to the async executor, so this bounds
/// both how late a timeout fires and how long one busy guest can hold a worker
/// thread. 10 ms keeps the ticker's own cost negligible.
pub(crate) const EPOCH_TICK: Duration = Duration::from_millis(10);

/// Settings of the host's engine that a user may want to change.
#[derive(Debug, Clone)]
pub struct EngineConfig {
    /// How many instances may be alive at once across all functions: running
    /// invocations plus idle warm instances. The pooling allocator reserves
    /// this many slots up front, and invocations beyond it wait for a slot.
    pub max_instances: u32,
    /// Use the pooling allocator when the machine allows it. Turning it off
    /// gives on-demand allocation (slower instantiation, no up-front reservation).
    pub pooling: bool,
    /// How much of a reused pool slot's linear memory stays mapped between
    /// instances, reset by rewriting it rather than by unmapping (16 MiB by
    /// default; see `pooling_config`). Either way the next instance starts
    /// from the component's initial memory.
    pub keep_resident_bytes: usize,
    /// How many guests that have computed for more than 20 ms in one
    /// invocation may run at once (one fewer than the machine's threads by
    /// default, at least one), so that they cannot starve short invocations
    /// of other functions. See `fair.rs`.
    pub long_running_slots: usize,
}

impl Default for EngineConfig {
    fn default() -> Self {
        EngineConfig {
            max_instances: 64,
            pooling: true,
            keep_resident_bytes: 16 << 20,
            long_running_slots: crate::fair::default_long_running_slots(),
        }
    }
}

/// Which instance allocator the engine ended up with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Allocator {
    /// Pre-reserved slots with copy-on-write memory images: the fast path.
    Pooling,
    /// Memory mapped per instance: used when pooling is off or the machine
    /// cannot reserve the pool's virtual memory.
    OnDemand,
}

/// The largest linear memory a function may have. wasm32 cannot address more
/// than 4 GiB, which is below Lambda's 10,240 MB maximum; the per-function cap
/// (its memory size) is enforced by the store's limiter, not by the pool.
const MAX_MEMORY_BYTES: usize = 4 << 30;

fn base_config(function_cache: Option<&Path>) -> Config {
    let mut config = Config::new();
    if let Some(cache) = function_cache.and_then(crate::cache::FunctionCache::new) {
        config
            .enable_incremental_compilation(Arc::new(cache))
            .expect("the compiler is enabled");
    }
    config.wasm_component_model(true);
    portable_code(&mut config);
    // Deadlines: each store gets an epoch deadline and a callback that checks
    // the wall clock, so a looping guest ends with `Sandbox.Timedout`.
    config.epoch_interruption(true);
    // Python's interpreter recurses deeply; 1 MiB of wasm stack matches what
    // its components need, and the async fiber stack must be larger still.
    config.max_wasm_stack(1 << 20);
    config.async_stack_size(2 << 20);
    // Copy-on-write images of each component's initial memory make a fresh
    // instance cost page-table work instead of copying megabytes of data
    // (componentize-py snapshots are ~20 MB).
    config.memory_init_cow(true);
    config
}

/// The CPU features compiled code may use, as Cranelift's flags: a fixed
/// level per architecture instead of every feature this machine has.
///
/// Compiled code, and with it the cache key of every artifact (it includes
/// the engine's compatibility hash), depends on the features it may use. With
/// this machine's own, a package made here was compiled again at its first
/// start on a Lambda host with another processor (20 s and more for Python):
/// Lambda's hosts of one architecture do not all have the same. With a level
/// that all of them have (x86-64-v3: AVX2, BMI1/2, FMA, LZCNT; on arm64 the
/// Graviton2 level, LSE atomics), an artifact made on any machine with that
/// level is used as it is on any other.
/// `runtime::a_package_made_here_starts_without_compiling_on_another_x86_64_cpu`
/// runs a package under an emulated CPU without AVX-512 to check it.
#[cfg(target_arch = "x86_64")]
pub const CODE_LEVEL: &str = "x86-64-v3";
/// See the x86_64 variant.
#[cfg(target_arch = "aarch64")]
pub const CODE_LEVEL: &str = "armv8.1-a (LSE)";

#[cfg(target_arch = "x86_64")]
const CODE_LEVEL_FLAGS: &[&str] = &[
    "has_sse3",
    "has_ssse3",
    "has_cmpxchg16b",
    "has_sse41",
    "has_sse42",
    "has_popcnt",
    "has_avx",
    "has_avx2",
    "has_fma",
    "has_bmi1",
    "has_bmi2",
    "has_lzcnt",
];
#[cfg(target_arch = "aarch64")]
const CODE_LEVEL_FLAGS: &[&str] = &["has_lse"];

/// Whether this machine has every feature of [`CODE_LEVEL`].
pub fn has_code_level() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        std::is_x86_feature_detected!("sse3")
            && std::is_x86_feature_detected!("ssse3")
            && std::is_x86_feature_detected!("cmpxchg16b")
            && std::is_x86_feature_detected!("sse4.1")
            && std::is_x86_feature_detected!("sse4.2")
            && std::is_x86_feature_detected!("popcnt")
            && std::is_x86_feature_detected!("avx")
            && std::is_x86_feature_detected!("avx2")
            && std::is_x86_feature_detected!("fma")
            && std::is_x86_feature_detected!("bmi1")
            && std::is_x86_feature_detected!("bmi2")
            && std::is_x86_feature_detected!("lzcnt")
    }
    #[cfg(target_arch = "aarch64")]
    {
        std::arch::is_aarch64_feature_detected!("lse")
    }
}

/// Compiles for [`CODE_LEVEL`] when this machine has it; otherwise leaves
/// wasmtime to use this machine's features (the artifacts are then this
/// processor's alone, which `wasm-lambda package` says).
fn portable_code(config: &mut Config) {
    if !has_code_level() {
        return;
    }
    // An explicit target stops wasmtime from inferring the host's features;
    // the flags then name the level's.
    config
        .target(&target_lexicon::Triple::host().to_string())
        .expect("the host's own triple is a known target");
    for flag in CODE_LEVEL_FLAGS {
        // SAFETY: each flag names a feature `has_code_level` found on this
        // processor, and wasmtime checks them against the processor again
        // before it runs code compiled with them.
        unsafe {
            config.cranelift_flag_enable(flag);
        }
    }
}

fn pooling_config(settings: &EngineConfig) -> PoolingAllocationConfig {
    let max_instances = settings.max_instances;
    let mut pool = PoolingAllocationConfig::new();
    // One slot per live instance: the host's instance semaphore has the same size.
    pool.total_component_instances(max_instances);
    pool.total_stacks(max_instances);
    // componentize-py links libc, libpython, the adapter and a dozen shims
    // into one component: room for 50 core instances, 10 memories and 20
    // tables per component covers it and the smaller toolchains.
    pool.max_core_instances_per_component(50);
    pool.max_memories_per_component(10);
    pool.max_tables_per_component(20);
    pool.total_core_instances(max_instances * 20);
    pool.total_memories(max_instances * 2);
    pool.total_tables(max_instances * 4);
    pool.max_memory_size(MAX_MEMORY_BYTES);
    // CPython's function table holds tens of thousands of entries.
    pool.table_elements(100_000);
    // Big interpreters have large vmctx structures (many imports and globals).
    pool.max_core_instance_size(4 << 20);
    pool.max_component_instance_size(4 << 20);
    // A reused slot keeps the pages its last instance dirtied (up to 16 MiB)
    // resident, restoring their contents by copy, so the next instance does
    // not fault them in again: Go's runtime dirties a few MiB at start-up
    // (cold start 440 -> 330 µs). The cost is RSS: at most 16 MiB per slot
    // that has been used.
    pool.linear_memory_keep_resident(settings.keep_resident_bytes);
    pool.table_keep_resident(1 << 20);
    // With PAGEMAP_SCAN (Linux 6.7+) a reused slot is reset by rewriting only
    // the pages the last instance dirtied, instead of the whole resident
    // region: a small handler touches a few pages of its 1 MiB. The patched
    // wasmtime (host/patches/wasmtime-pagemap-scan.patch) also finds dirty
    // pages that are swapped out or under migration and resets them, so the
    // scan is safe with swap: wasmtime 48 looked at present pages only, and
    // a dirty page out of memory kept its contents into the next instance.
    pool.pagemap_scan(wasmtime::Enabled::Auto);
    pool
}

/// Builds the engine: pooling when asked for and possible, on-demand otherwise.
///
/// With a cache folder, Cranelift keeps each compiled function there, so a
/// component that shares code with one compiled before (a load-time
/// snapshot) compiles fast.
pub(crate) fn new_engine(
    settings: &EngineConfig,
    function_cache: Option<&Path>,
) -> Result<(Engine, Allocator)> {
    if settings.pooling {
        let mut config = base_config(function_cache);
        config.allocation_strategy(InstanceAllocationStrategy::Pooling(pooling_config(
            settings,
        )));
        // Creating the engine reserves the pool's address space; on a machine
        // with a small `ulimit -v` or without overcommit this fails, and the
        // host still works with on-demand allocation.
        match Engine::new(&config) {
            Ok(engine) => return Ok((engine, Allocator::Pooling)),
            Err(error) => {
                tracing::warn!(
                    "wasm-lambda: pooling allocator unavailable ({error}); using on-demand allocation"
                );
            }
        }
    }
    let engine = Engine::new(&base_config(function_cache))
        .map_err(anyhow::Error::from)
        .context("failed to create the wasmtime engine")?;
    Ok((engine, Allocator::OnDemand))
}

/// Advances the engine's epoch every [`EPOCH_TICK`] for as long as the engine
/// lives. The thread holds only a weak reference, so dropping the last
/// `Engine` clone ends it.
pub(crate) fn start_epoch_ticker(engine: &Engine) {
    let weak = engine.weak();
    let started = thread::Builder::new()
        .name("wasm-lambda-epoch".into())
        .spawn(move || {
            while let Some(engine) = weak.upgrade() {
                engine.increment_epoch();
                drop(engine);
                thread::sleep(EPOCH_TICK);
            }
        });
    if let Err(error) = started {
        // Without a ticker only the async timeout ends a looping guest.
        tracing::warn!("wasm-lambda: failed to start the epoch ticker: {error}");
    }
}

/// The engine plus the allocator it got, shared by every function of a host.
#[derive(Clone)]
pub(crate) struct SharedEngine {
    pub(crate) engine: Engine,
    pub(crate) allocator: Allocator,
    pub(crate) instance_slots: Arc<tokio::sync::Semaphore>,
    /// The turns long-running guests take.
    pub(crate) turns: crate::fair::Turns,
    /// How many handles each sandbox's resource table may hold
    /// ([`crate::limits::handles_per_sandbox`]).
    pub(crate) max_handles: usize,
}

impl SharedEngine {
    pub(crate) fn new(settings: &EngineConfig, function_cache: Option<&Path>) -> Result<Self> {
        let (engine, allocator) = new_engine(settings, function_cache)?;
        start_epoch_ticker(&engine);
        Ok(SharedEngine {
            engine,
            allocator,
            instance_slots: Arc::new(tokio::sync::Semaphore::new(settings.max_instances as usize)),
            turns: crate::fair::Turns::new(settings.long_running_slots),
            max_handles: crate::limits::handles_per_sandbox(settings.max_instances),
        })
    }
}
