//! An `async fn` handler exported with `handler!(async handler)`: it awaits
//! two of wstd's timers at once and an async step that fails on request, so
//! the tests see that the executor drives timers to their end, that the
//! futures run concurrently, and that an error from an await reaches the
//! caller as the function's error.

use serde::{Deserialize, Serialize};
use std::time::Instant;

use wasm_lambda_sdk::wstd::time::Duration;
use wasm_lambda_sdk::{Context, Error, wstd};

#[derive(Deserialize)]
struct Request {
    wait_ms: u64,
    #[serde(default)]
    fail: bool,
}

#[derive(Serialize)]
struct Response {
    waited_ms: u64,
    steps: Vec<String>,
    request_id: String,
}

async fn step(name: &str, wait: Duration, fail: bool) -> Result<String, Error> {
    wstd::task::sleep(wait).await;
    if fail {
        return Err(Error::new(
            "StepFailed",
            format!("{name} failed after waiting"),
        ));
    }
    Ok(name.to_string())
}

async fn handler(request: Request, context: Context) -> Result<Response, Error> {
    let started = Instant::now();
    let wait = Duration::from_millis(request.wait_ms);
    // Both waits at once: the whole takes about one wait, not two.
    let (first, second) = futures_join(
        step("first", wait, false),
        step("second", wait, request.fail),
    )
    .await;
    Ok(Response {
        waited_ms: started.elapsed().as_millis() as u64,
        steps: vec![first?, second?],
        request_id: context.aws_request_id,
    })
}

/// Polls two futures together until both are done.
async fn futures_join<A: std::future::Future, B: std::future::Future>(
    a: A,
    b: B,
) -> (A::Output, B::Output) {
    let mut a = std::pin::pin!(a);
    let mut b = std::pin::pin!(b);
    let (mut a_out, mut b_out) = (None, None);
    std::future::poll_fn(|cx| {
        if a_out.is_none() {
            if let std::task::Poll::Ready(out) = a.as_mut().poll(cx) {
                a_out = Some(out);
            }
        }
        if b_out.is_none() {
            if let std::task::Poll::Ready(out) = b.as_mut().poll(cx) {
                b_out = Some(out);
            }
        }
        if a_out.is_some() && b_out.is_some() {
            std::task::Poll::Ready(())
        } else {
            std::task::Poll::Pending
        }
    })
    .await;
    (a_out.unwrap(), b_out.unwrap())
}

wasm_lambda_sdk::handler!(async handler);
