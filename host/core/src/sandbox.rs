//! A sandbox: one store and instance of a function's component, with its own
//! WASI context, `/tmp`, memory cap, outbound checks and deadline. It is
//! created fresh for an invocation (or kept warm when the function reuses
//! instances), prepared for each call, called, and read afterwards.

use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, Instant};

use tokio::sync::OwnedSemaphorePermit;
use wasmtime::component::{Instance, Resource, ResourceTable, ResourceType};
use wasmtime::{Store, UpdateDeadline};
use wasmtime_wasi::WasiCtxBuilder;
use wasmtime_wasi::filesystem::Descriptor;
use wasmtime_wasi_http::WasiHttpCtx;

use crate::bindings::{self, Handler, HandlerPre};
use crate::capabilities::{self, Equipment, Parts, Prepared};
use crate::engine::SharedEngine;
use crate::environment::SandboxEnvironment;
use crate::logs::LogPipe;
use crate::scratch::{KeptPreopen, ScratchPool};
use crate::state::State;
use crate::stream::{ResponseSender, Stream};

/// How the handler call ended, before it is put in Lambda's terms
/// (`outcome.rs`).
pub(crate) enum CallEnd {
    Returned(Result<String, bindings::HandlerError>),
    /// The host could not make the sandbox (a mounted folder gone, no
    /// descriptor left): the host's failure, not the function's.
    HostFailure(String),
    /// The handler's answer (or error) was more than the host lifts out of
    /// a guest in one call ([`HOSTCALL_FUEL`]).
    Oversized,
    Trapped(wasmtime::Error),
    TimedOut,
}

/// The most data the guest may hand the host in one call, the handler's
/// answer included: wasmtime's hostcall fuel, counted in the bytes the host
/// allocates while lifting (24 per string, plus its text, a list's whole
/// length counted before any of it is copied). Every answer and error whose
/// JSON fits the payload limit needs at most nine times the limit (an error
/// of empty frames: 3 bytes of JSON, 24 of fuel each); an error of millions
/// of frames is refused before the host copies any of it, where the default
/// (128 MiB) let one take the host to 143 MB. Enforced by
/// `faults::an_error_of_millions_of_frames_is_refused_before_it_is_copied`.
pub(crate) const HOSTCALL_FUEL: usize = 9 * crate::limits::MAX_RESPONSE_BYTES;

/// Whether a trap is the guest handing the host more than [`HOSTCALL_FUEL`]
/// in one call (wasmtime's error type for it is private).
fn is_hostcall_fuel_exhausted(error: &wasmtime::Error) -> bool {
    error.chain().any(|cause| {
        cause
            .to_string()
            .contains("fuel allocated for hostcalls has been exhausted")
    })
}

/// How long a function's warm sandbox (`reuse_instances`) is kept idle
/// before it is dropped, with its pool slot, memory and `/tmp`.
pub(crate) const WARM_IDLE_TIMEOUT: Duration = Duration::from_secs(120);

/// How many invocations one warm sandbox serves before a fresh one takes
/// its place, so that what a guest leaks across calls stays bounded.
pub(crate) const WARM_REUSE_LIMIT: u32 = 1000;

/// A function's idle sandbox, kept for its next invocation.
pub(crate) struct Parked {
    sandbox: Sandbox,
    /// When it was parked: the sweeper drops it past the idle timeout,
    /// and a full pool takes back the longest idle first.
    since: Instant,
    /// Invocations it has served.
    uses: u32,
}

/// Where a function keeps its idle sandbox.
pub(crate) type WarmCell = Mutex<Option<Parked>>;

/// Every function's warm cell, so that a sandbox that finds the pool full
/// can take back the slot an idle one holds: idle sandboxes never make a
/// running invocation wait (with 64 functions each keeping one, every
/// other invocation was throttled). Enforced by
/// `sandbox::warm_sandboxes_give_their_slots_to_invocations_that_need_them`.
/// One sweeper task drops those idle past [`WARM_IDLE_TIMEOUT`].
#[derive(Default)]
pub(crate) struct WarmPool {
    cells: Arc<Mutex<Vec<Weak<WarmCell>>>>,
    /// The sweeper, started by the first park on the runtime parking (and
    /// again when that runtime has gone).
    sweeper: Mutex<Option<tokio::task::JoinHandle<()>>>,
}

impl WarmPool {
    /// A new cell for a function, known to the pool.
    pub(crate) fn cell(&self) -> Arc<WarmCell> {
        let cell = Arc::new(Mutex::new(None));
        let mut cells = self.cells.lock().unwrap_or_else(|e| e.into_inner());
        cells.retain(|cell| cell.strong_count() > 0);
        cells.push(Arc::downgrade(&cell));
        cell
    }

    fn parked_cells(cells: &Mutex<Vec<Weak<WarmCell>>>) -> Vec<Arc<WarmCell>> {
        cells
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .filter_map(Weak::upgrade)
            .collect()
    }

    /// Drops the idle sandbox parked longest ago; false when none is.
    pub(crate) fn evict_one(&self) -> bool {
        let cells = Self::parked_cells(&self.cells);
        let oldest = cells
            .iter()
            .filter_map(|cell| {
                let parked = cell.lock().unwrap_or_else(|e| e.into_inner());
                parked.as_ref().map(|parked| (parked.since, cell))
            })
            .min_by_key(|(since, _)| *since);
        let Some((_, cell)) = oldest else {
            return false;
        };
        // Dropped outside the lock: the store's teardown takes a while.
        let taken = cell.lock().unwrap_or_else(|e| e.into_inner()).take();
        taken.is_some()
    }

    /// Parks `sandbox` in `cell` for the next invocation (unless one is
    /// parked already, or it has served [`WARM_REUSE_LIMIT`] invocations).
    pub(crate) fn park(&self, cell: &WarmCell, mut sandbox: Sandbox, uses: u32) {
        if uses >= WARM_REUSE_LIMIT {
            return;
        }
        sandbox.park();
        {
            let mut slot = cell.lock().unwrap_or_else(|e| e.into_inner());
            if slot.is_some() {
                return;
            }
            *slot = Some(Parked {
                sandbox,
                since: Instant::now(),
                uses,
            });
        }
        self.start_sweeper();
    }

    fn start_sweeper(&self) {
        let mut sweeper = self.sweeper.lock().unwrap_or_else(|e| e.into_inner());
        if sweeper.as_ref().is_some_and(|task| !task.is_finished()) {
            return;
        }
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return;
        };
        let cells = Arc::downgrade(&self.cells);
        *sweeper = Some(runtime.spawn(async move {
            loop {
                tokio::time::sleep(WARM_IDLE_TIMEOUT / 4).await;
                let Some(cells) = cells.upgrade() else {
                    return;
                };
                for cell in Self::parked_cells(&cells) {
                    let expired = {
                        let mut slot = cell.lock().unwrap_or_else(|e| e.into_inner());
                        match &*slot {
                            Some(parked) if parked.since.elapsed() >= WARM_IDLE_TIMEOUT => {
                                slot.take()
                            }
                            _ => None,
                        }
                    };
                    drop(expired);
                }
            }
        }));
    }
}

/// Takes the warm sandbox out of `cell`, counting the use.
pub(crate) fn unpark(cell: &WarmCell) -> Option<(Sandbox, u32)> {
    let parked = cell.lock().unwrap_or_else(|e| e.into_inner()).take()?;
    Some((parked.sandbox, parked.uses + 1))
}

/// What a fresh sandbox is made of: the host's engine and pools, and the
/// function's pre-linked component and what its capabilities need.
#[derive(Clone)]
pub(crate) struct Recipe<'a> {
    pub(crate) engine: &'a SharedEngine,
    pub(crate) scratch: &'a ScratchPool,
    /// Every function's idle sandboxes, which give up their slots when the
    /// pool is full.
    pub(crate) warm: &'a WarmPool,
    pub(crate) pre: &'a HandlerPre<State>,
    pub(crate) capabilities: Prepared<'a>,
    /// The handles to preopened folders a snapshot's guest kept.
    pub(crate) preopens: &'a [KeptPreopen],
}

/// What the sandbox saw during a call, read after it.
#[derive(Default)]
pub(crate) struct CallFacts {
    /// The epoch callback interrupted the guest at the deadline.
    pub(crate) timed_out: bool,
    /// The memory limiter refused a growth.
    pub(crate) memory_exceeded: bool,
    pub(crate) peak_memory_bytes: usize,
    /// What was streamed while nobody listened as it happened.
    pub(crate) streamed: Vec<u8>,
    /// A write went past the streamed-response limit.
    pub(crate) stream_overflowed: bool,
}

/// What a sandbox needs before it can be made, taken before the invocation
/// starts: a slot of the engine's pool and an empty `/tmp`. Not getting one
/// is not the function's doing: no slot before the deadline is Lambda's
/// throttle (429), no folder a failure of the host (500).
pub(crate) struct Reserved {
    slot: OwnedSemaphorePermit,
    scratch: crate::scratch::Scratch,
}

/// Why no sandbox could be reserved.
pub(crate) enum NotReserved {
    /// Every slot of the pool stayed busy until the deadline.
    NoSlot,
    /// The host could not give the sandbox a `/tmp` folder.
    Host(String),
}

impl Reserved {
    /// Waits for a pool slot until `deadline`, then takes a `/tmp` folder.
    pub(crate) async fn take(
        recipe: &Recipe<'_>,
        deadline: Instant,
    ) -> Result<Reserved, NotReserved> {
        let slots = &recipe.engine.instance_slots;
        let slot = match slots.clone().try_acquire_owned() {
            Ok(slot) => slot,
            Err(_) => {
                // A full pool first takes back the slots idle sandboxes
                // hold, then waits for a running one to end.
                while slots.available_permits() == 0 && recipe.warm.evict_one() {}
                tokio::time::timeout_at(deadline.into(), slots.clone().acquire_owned())
                    .await
                    .map_err(|_| NotReserved::NoSlot)?
                    .expect("the instance semaphore is never closed")
            }
        };
        let scratch = recipe.scratch.take().map_err(|error| {
            NotReserved::Host(format!("no /tmp folder for the sandbox: {error:#}"))
        })?;
        Ok(Reserved { slot, scratch })
    }

    /// A free pool slot and a `/tmp` folder, without waiting and without
    /// taking a slot back from an idle sandbox; `None` when there is none.
    pub(crate) fn try_take(recipe: &Recipe<'_>) -> Option<Reserved> {
        let slot = recipe
            .engine
            .instance_slots
            .clone()
            .try_acquire_owned()
            .ok()?;
        let scratch = recipe.scratch.take().ok()?;
        Some(Reserved { slot, scratch })
    }
}

/// One instance of a function's component and its store.
pub(crate) struct Sandbox {
    store: Store<State>,
    /// Kept for the init phase's snapshot (`snapshot.rs`).
    instance: Instance,
    handler: Handler,
    log: LogPipe,
    /// How long making it took (a cold start's `Init Duration`).
    made_in: Duration,
    /// Holds the instance's slot in the pool, idle or not.
    _slot: OwnedSemaphorePermit,
}

impl Sandbox {
    /// Creates a fresh sandbox in what was `reserved` (its pool slot and
    /// `/tmp`): a store with exactly `environment`, and an instance of the
    /// pre-linked component.
    pub(crate) async fn create(
        recipe: &Recipe<'_>,
        reserved: Reserved,
        environment: SandboxEnvironment,
        log: &LogPipe,
        deadline: Instant,
    ) -> Result<Sandbox, CallEnd> {
        let started = Instant::now();
        let Reserved { slot, scratch } = reserved;
        let mut wasi = WasiCtxBuilder::new();
        wasi.stdout(log.clone()).stderr(log.clone());
        // Each capability adds what it grants (`capabilities/`); a failure
        // to equip is the host's (`ServiceException`), not the handler's
        // (`capabilities::a_mount_gone_after_load_is_the_hosts_failure`).
        let mut equipment = Equipment {
            wasi: &mut wasi,
            environment: environment.variables(),
            log,
            scratch: &scratch,
            parts: Parts::default(),
        };
        for capability in capabilities::all::<State>() {
            capability
                .equip(&recipe.capabilities, &mut equipment)
                .map_err(|error| CallEnd::HostFailure(format!("{error:#}")))?;
        }
        let Parts {
            outbound,
            storage,
            limiter,
        } = equipment.parts;
        // No `wasi.envs`: the guest reads its environment from the state
        // (`environment::add_to_linker`).
        // Every descriptor the guest holds sits behind a handle: the cap
        // keeps one sandbox from taking the process's descriptors.
        let mut table = ResourceTable::new();
        table.set_max_capacity(recipe.engine.max_handles);
        let mut store = Store::new(
            &recipe.engine.engine,
            State {
                wasi: wasi.build(),
                table,
                limiter: limiter.expect("the memory capability equips every sandbox"),
                deadline,
                timed_out: false,
                environment,
                slices: crate::fair::Slices::default(),
                http: WasiHttpCtx::new(),
                outbound: outbound.expect("the network capability equips every sandbox"),
                storage: storage.expect("the /tmp capability equips every sandbox"),
                scratch,
                stream: Stream::default(),
            },
        );
        store.limiter(|state| &mut state.limiter);
        store.set_hostcall_fuel(HOSTCALL_FUEL);
        // Every epoch tick checks the wall clock: past the deadline the guest
        // is interrupted, otherwise it yields so other invocations (and the
        // async timeout) get to run; a guest that computes for long takes
        // turns with the others (see `fair.rs`).
        store.set_epoch_deadline(1);
        let turns = recipe.engine.turns.clone();
        store.epoch_deadline_callback(move |mut store| {
            let state = store.data_mut();
            if Instant::now() >= state.deadline {
                state.timed_out = true;
                Ok(UpdateDeadline::Interrupt)
            } else {
                Ok(state.slices.at_tick(&turns))
            }
        });

        let instantiated = tokio::time::timeout_at(
            deadline.into(),
            recipe.pre.instance_pre().instantiate_async(&mut store),
        )
        .await;
        let instance = match instantiated {
            Err(_elapsed) => return Err(CallEnd::TimedOut),
            Ok(Err(error)) => return Err(CallEnd::Trapped(error)),
            Ok(Ok(instance)) => instance,
        };
        // A snapshot's guest holds handles to preopened folders in its
        // memory: each gets a new handle to the same folder at its index.
        let reps = crate::scratch::reopen(store.data_mut(), recipe.preopens)
            .map_err(|error| CallEnd::HostFailure(format!("{error:#}")))?;
        for (kept, rep) in recipe.preopens.iter().zip(reps) {
            instance
                .restore_owned_handle(&mut store, &kept.owned_handle(), rep)
                .map_err(|error| {
                    CallEnd::HostFailure(format!("cannot restore a snapshot's handle: {error:#}"))
                })?;
        }
        let handler = Handler::new(&mut store, &instance).map_err(CallEnd::Trapped)?;
        Ok(Sandbox {
            store,
            instance,
            handler,
            log: log.clone(),
            made_in: started.elapsed(),
            _slot: slot,
        })
    }

    /// How long making it took.
    pub(crate) fn made_in(&self) -> Duration {
        self.made_in
    }

    /// Gives a sandbox made ahead the environment of the invocation it
    /// serves (its trace header).
    pub(crate) fn set_environment(&mut self, environment: SandboxEnvironment) {
        self.store.data_mut().environment = environment;
    }

    /// The pipe its output goes to.
    pub(crate) fn log(&self) -> &LogPipe {
        &self.log
    }

    /// Readies the sandbox for a call: a new deadline, counters reset, and
    /// where streamed bytes go.
    pub(crate) fn prepare(&mut self, deadline: Instant, stream: Option<ResponseSender>) {
        let state = self.store.data_mut();
        state.deadline = deadline;
        state.timed_out = false;
        state.limiter.reset_peak();
        state.slices.reset();
        state.stream = Stream::new(stream);
    }

    /// Calls the handler once, interrupted at `deadline`.
    pub(crate) async fn call(
        &mut self,
        event: &str,
        context: &bindings::Context,
        deadline: Instant,
    ) -> CallEnd {
        let call = self.handler.call_handle(&mut self.store, event, context);
        match tokio::time::timeout_at(deadline.into(), call).await {
            Ok(Ok(returned)) => CallEnd::Returned(returned),
            // An import call over the fuel is as rare as it is odd (WASI's
            // streams take at most what `check-write` allowed); the answer
            // is the common case and is named.
            Ok(Err(trap)) if is_hostcall_fuel_exhausted(&trap) => CallEnd::Oversized,
            Ok(Err(trap)) => CallEnd::Trapped(trap),
            Err(_elapsed) => CallEnd::TimedOut,
        }
    }

    /// Runs the component's init phase (`snapshot.rs`): its output, or the
    /// error it reports.
    pub(crate) async fn call_init(
        &mut self,
        deadline: Instant,
    ) -> Result<Result<String, String>, CallEnd> {
        let init = self
            .instance
            .get_typed_func::<(), (Result<String, String>,)>(&mut self.store, bindings::INIT_EXPORT)
            .map_err(CallEnd::Trapped)?;
        match tokio::time::timeout_at(deadline.into(), init.call_async(&mut self.store, ())).await {
            Ok(Ok((returned,))) => Ok(returned),
            Ok(Err(trap)) => Err(CallEnd::Trapped(trap)),
            Err(_elapsed) => Err(CallEnd::TimedOut),
        }
    }

    /// The handles the guest holds when they are all to preopened folders
    /// (wasi-libc keeps those once it has listed them), as a snapshot
    /// records them; `None` when it holds anything else: a file, a
    /// stream, a socket, a folder it opened itself.
    pub(crate) fn kept_preopens(&mut self) -> Option<Vec<KeptPreopen>> {
        let handles = self.instance.owned_handles(&mut self.store)?;
        let descriptor = ResourceType::host::<Descriptor>();
        let state = self.store.data_mut();
        let mut kept = Vec::with_capacity(handles.len());
        for handle in handles {
            if handle.ty != descriptor {
                return None;
            }
            // The table index must still hold the folder that was listed
            // (an index freed and reused by a file would not).
            let held = state
                .table
                .get(&Resource::<Descriptor>::new_borrow(handle.rep));
            let listed = state.scratch.listed().iter().find(|listed| {
                listed.rep == handle.rep
                    && matches!(held, Ok(Descriptor::Dir(dir)) if Arc::ptr_eq(&dir.dir, &listed.folder))
            })?;
            kept.push(KeptPreopen {
                instance: handle.instance,
                table: handle.table,
                handle: handle.handle,
                path: listed.path.clone(),
            });
        }
        Some(kept)
    }

    /// The store and the instance, for the snapshot.
    pub(crate) fn parts(&mut self) -> (&mut Store<State>, Instance) {
        (&mut self.store, self.instance)
    }

    /// What the last call left behind; closes a streaming caller's channel.
    pub(crate) fn facts(&mut self) -> CallFacts {
        let state = self.store.data_mut();
        CallFacts {
            timed_out: state.timed_out,
            memory_exceeded: state.limiter.exceeded(),
            peak_memory_bytes: state.limiter.peak_bytes(),
            streamed: state.stream.finish(),
            stream_overflowed: state.stream.overflowed,
        }
    }

    /// Puts the sandbox aside until the next call: an idle sandbox holds no
    /// turn and writes to no sink.
    pub(crate) fn park(&mut self) {
        self.store.data_mut().slices.release();
        self.log.set_sink(None, None);
    }
}
