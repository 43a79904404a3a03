//! `Event` invocations: queued, run in the background, retried up to two
//! more times on a function error, as Lambda's asynchronous invocation does.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{Semaphore, mpsc};
use tokio_util::task::TaskTracker;

use crate::function::Function;
use crate::invoke::InvokeRequest;

/// Lambda runs an asynchronous invocation at most three times.
const ATTEMPTS: u32 = 3;

/// An accepted `Event` invocation.
pub(crate) struct QueuedEvent {
    pub(crate) function: Function,
    pub(crate) concurrency: Option<Arc<Semaphore>>,
    pub(crate) request: InvokeRequest,
}

/// Starts every queued event on the tracker until the queue closes and is empty.
pub(crate) async fn dispatch(
    mut queue: mpsc::Receiver<QueuedEvent>,
    tracker: TaskTracker,
    retry_delay: Duration,
) {
    while let Some(event) = queue.recv().await {
        tracker.spawn(run(event, retry_delay));
    }
}

async fn run(event: QueuedEvent, retry_delay: Duration) {
    let name = event.function.config().name.clone();
    let request_id = event.request.request_id.clone().unwrap_or_default();
    for attempt in 1..=ATTEMPTS {
        // Queued events wait for a slot under the reserved concurrency
        // instead of being throttled.
        let _permit = match &event.concurrency {
            Some(slots) => slots.clone().acquire_owned().await.ok(),
            None => None,
        };
        match event.function.invoke(event.request.clone()).await {
            Ok(invocation) => match invocation.function_error() {
                None => {
                    eprintln!(
                        "wasm-lambda: Event invocation {request_id} of {name} succeeded on attempt {attempt} of {ATTEMPTS}"
                    );
                    return;
                }
                Some(error) => eprintln!(
                    "wasm-lambda: Event invocation {request_id} of {name} failed on attempt {attempt} of {ATTEMPTS}: {}: {}",
                    error.error_type, error.error_message
                ),
            },
            Err(error) => {
                eprintln!(
                    "wasm-lambda: Event invocation {request_id} of {name} was refused: {}: {error}",
                    error.error_code()
                );
                return;
            }
        }
        if attempt < ATTEMPTS {
            tokio::time::sleep(retry_delay).await;
        }
    }
    eprintln!(
        "wasm-lambda: Event invocation {request_id} of {name} failed {ATTEMPTS} times; dropped"
    );
}
