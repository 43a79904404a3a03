//! Fair sharing of the worker threads between guests that compute for long
//! and everything else.
//!
//! A running guest yields to the async executor at every epoch tick
//! ([`EPOCH_TICK`](crate::engine::EPOCH_TICK), 10 ms). Yielding alone is not
//! fair: the yielded guest goes straight back into the executor's run queue,
//! so three guests that loop keep both threads of a 2-core machine busy in
//! 10 ms slices, and every short invocation of another function (and every
//! HTTP poll it needs) waits behind them (measured: 4,129 → 108 requests/s).
//!
//! So a guest that has run for [`LONG_RUN_TICKS`] ticks in one invocation is
//! *long-running*, and from then on each of its slices needs a *turn*: there
//! are one fewer turns than worker threads (at least one), handed out in
//! arrival order. Long-running guests then share all but one thread among
//! themselves, waiting for their turn outside the run queue, and that one
//! thread always serves short invocations, the HTTP server and the timers.
//! A long-running guest still gets its time (its timeout keeps running while
//! it waits), and a short invocation never meets the gate at all.
//!
//! A turn is a lease of [`TURN_LEASE`]: a guest that stops running in its
//! slice (it waits for an HTTP answer, a timer, another function it
//! invoked) has no next tick to give the turn back at, so the lease ends
//! it. Without it, a long-running guest waiting on I/O held the only turn
//! of a 2-core machine, and a function that invoked itself waited for
//! itself (`fair::tests::a_turn_held_by_a_guest_that_stops_running_is_given_back`).

use std::sync::{Arc, Mutex};

use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use wasmtime::UpdateDeadline;

/// Ticks of one invocation after which its guest is long-running: 20 ms of
/// guest time, far more than a cold start plus a typical handler.
pub(crate) const LONG_RUN_TICKS: u32 = 2;

/// How many long-running guests may run at once by default: one fewer than
/// the machine's threads, and at least one.
pub(crate) fn default_long_running_slots() -> usize {
    std::thread::available_parallelism()
        .map_or(1, |threads| threads.get().saturating_sub(1))
        .max(1)
}

/// The turns long-running guests take, shared by every function of a host.
#[derive(Clone)]
pub(crate) struct Turns(Arc<Semaphore>);

impl Turns {
    pub(crate) fn new(slots: usize) -> Self {
        Turns(Arc::new(Semaphore::new(slots.max(1))))
    }
}

/// How long a turn lasts at most: two ticks, so a guest that keeps
/// running gives its turn back at its next tick first.
pub(crate) const TURN_LEASE: std::time::Duration = std::time::Duration::from_millis(20);

/// The turn a sandbox holds, and how many times a turn was given back: a
/// lease ends only the turn it was taken for.
#[derive(Default)]
struct Held {
    permit: Option<OwnedSemaphorePermit>,
    releases: u64,
}

/// One sandbox's place in the sharing: how long its current invocation has
/// run, and the turn it holds, if any.
#[derive(Default)]
pub(crate) struct Slices {
    ticks: u32,
    /// Filled by the yield future once a turn is granted; emptied (the turn
    /// given back) at the next tick, when the invocation ends, or when the
    /// lease runs out.
    turn: Arc<Mutex<Held>>,
}

impl Slices {
    /// Starts a new invocation on this sandbox: not long-running, no turn.
    pub(crate) fn reset(&mut self) {
        self.ticks = 0;
        self.release();
    }

    /// Gives back the turn, if one is held.
    pub(crate) fn release(&mut self) {
        release(&self.turn);
    }

    /// What to do at an epoch tick that is not past the deadline: yield, and
    /// for a long-running guest, wait for a turn before the next slice.
    pub(crate) fn at_tick(&mut self, turns: &Turns) -> UpdateDeadline {
        self.ticks = self.ticks.saturating_add(1);
        if self.ticks < LONG_RUN_TICKS {
            return UpdateDeadline::Yield(1);
        }
        // The last slice's turn goes back first, so that a guest waiting
        // for one gets it before this guest asks again.
        self.release();
        let slot = self.turn.clone();
        let turns = turns.0.clone();
        UpdateDeadline::YieldCustom(
            1,
            Box::pin(async move {
                let Ok(permit) = turns.acquire_owned().await else {
                    return;
                };
                let releases = {
                    let mut held = slot.lock().unwrap_or_else(|e| e.into_inner());
                    held.permit = Some(permit);
                    held.releases
                };
                // The lease holds the sandbox's turn weakly: a sandbox
                // dropped meanwhile gives its turn back with itself, even
                // when the runtime the lease waits on is blocked (a test
                // loading the next function, a load-time init phase
                // waiting for that turn:
                // `faults::out_of_memory_is_runtime_out_of_memory_in_every_language`).
                let lease = Arc::downgrade(&slot);
                drop(slot);
                tokio::spawn(async move {
                    tokio::time::sleep(TURN_LEASE).await;
                    let Some(slot) = lease.upgrade() else {
                        return;
                    };
                    let unreleased =
                        slot.lock().unwrap_or_else(|e| e.into_inner()).releases == releases;
                    if unreleased {
                        release(&slot);
                    }
                });
            }),
        )
    }
}

/// Gives back the turn in `held`, if one is held.
fn release(held: &Mutex<Held>) {
    let mut held = held.lock().unwrap_or_else(|e| e.into_inner());
    if held.permit.take().is_some() {
        held.releases += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn long_running_guests_take_turns() {
        let turns = Turns::new(1);
        let mut first = Slices::default();
        let mut second = Slices::default();
        // Short: plain yields.
        assert!(matches!(first.at_tick(&turns), UpdateDeadline::Yield(1)));
        // Long: a turn is needed, and granted while free.
        let UpdateDeadline::YieldCustom(1, wait) = first.at_tick(&turns) else {
            panic!("a long-running guest waits for a turn");
        };
        wait.await;
        assert_eq!(turns.0.available_permits(), 0, "the first holds the turn");
        second.at_tick(&turns);
        let UpdateDeadline::YieldCustom(1, blocked) = second.at_tick(&turns) else {
            panic!("a long-running guest waits for a turn");
        };
        let mut blocked = blocked;
        assert!(
            futures_poll_once(blocked.as_mut()).is_pending(),
            "no second turn while the first is held"
        );
        first.reset();
        assert!(futures_poll_once(blocked.as_mut()).is_ready());
    }

    #[tokio::test]
    async fn a_turn_held_by_a_guest_that_stops_running_is_given_back() {
        let turns = Turns::new(1);
        let (mut first, mut second) = (Slices::default(), Slices::default());
        first.at_tick(&turns);
        let UpdateDeadline::YieldCustom(1, wait) = first.at_tick(&turns) else {
            panic!("a long-running guest waits for a turn");
        };
        wait.await;
        // The first guest now waits on I/O: no tick of its own comes.
        second.at_tick(&turns);
        let UpdateDeadline::YieldCustom(1, mut blocked) = second.at_tick(&turns) else {
            panic!("a long-running guest waits for a turn");
        };
        assert!(futures_poll_once(blocked.as_mut()).is_pending());
        tokio::time::timeout(std::time::Duration::from_secs(10), blocked)
            .await
            .expect("the lease gives the turn to the second guest");
        assert_eq!(turns.0.available_permits(), 0, "the second holds it now");
    }

    fn futures_poll_once(
        future: std::pin::Pin<&mut (dyn std::future::Future<Output = ()> + Send)>,
    ) -> std::task::Poll<()> {
        let waker = std::task::Waker::noop();
        let mut context = std::task::Context::from_waker(waker);
        future.poll(&mut context)
    }
}
