//! A guest that loops, exhausts memory, traps or fails ends as Lambda says,
//! and never takes the host or another invocation down.

use std::time::Duration;

use wasm_lambda::ReportStatus;

use crate::common::{assert_in_order, guest, invoke, json, load};

#[tokio::test]
async fn a_looping_guest_times_out_and_the_next_invocation_works() {
    let function = load("probe-loop", guest("host/tests/guests/probe"), |config| {
        config.timeout = Duration::from_secs(1);
    });
    let invocation = invoke(&function, r#"{"action":"loop"}"#).await;
    let error = invocation.function_error().expect("the loop times out");
    assert_eq!(error.error_type, "Sandbox.Timedout");
    assert_eq!(
        invocation.payload(),
        format!(
            r#"{{"errorType":"Sandbox.Timedout","errorMessage":"RequestId: {} Error: Task timed out after 1.00 seconds"}}"#,
            invocation.request_id
        )
    );
    assert_eq!(invocation.report.status, ReportStatus::Timeout);
    assert!(invocation.report.duration >= Duration::from_millis(900));
    assert_in_order(
        &invocation.log,
        &[
            &format!(
                "{} Task timed out after 1.00 seconds",
                invocation.request_id
            ),
            "END",
            "Status: timeout",
        ],
    );

    let next = invoke(&function, r#"{"action":"echo","n":2}"#).await;
    assert_eq!(next.payload(), r#"{"action":"echo","n":2}"#);
}

#[tokio::test]
async fn a_guest_blocked_in_a_host_call_times_out_too() {
    let function = load("probe-sleep", guest("host/tests/guests/probe"), |config| {
        config.timeout = Duration::from_millis(500);
    });
    let invocation = invoke(&function, r#"{"action":"sleep","millis":60000}"#).await;
    assert_eq!(
        invocation.function_error().unwrap().error_type,
        "Sandbox.Timedout"
    );
    assert!(invocation.report.duration < Duration::from_secs(10));
}

#[tokio::test]
async fn unbounded_allocation_hits_the_memory_cap() {
    let function = load("probe-alloc", guest("host/tests/guests/probe"), |_| {});
    let invocation = invoke(&function, r#"{"action":"alloc"}"#).await;
    let error = invocation.function_error().expect("allocation fails");
    assert_eq!(error.error_type, "Runtime.OutOfMemory");
    assert!(!error.handled);
    assert_eq!(
        error.error_message,
        format!(
            "RequestId: {} Error: Runtime exited with error: signal: killed",
            invocation.request_id
        )
    );
    assert!(invocation.report.max_memory_used_mb <= 128);
    assert!(
        invocation.report.max_memory_used_mb >= 100,
        "{:?}",
        invocation.report
    );
    assert!(
        invocation
            .log
            .contains("Status: error\tError Type: Runtime.OutOfMemory")
    );

    let next = invoke(&function, r#"{"action":"echo"}"#).await;
    assert!(next.function_error().is_none());
}

#[tokio::test]
async fn a_bigger_memory_size_allows_more() {
    let function = load(
        "probe-alloc-512",
        guest("host/tests/guests/probe"),
        |config| {
            config.memory_mb = 512;
        },
    );
    let invocation = invoke(&function, r#"{"action":"alloc"}"#).await;
    assert_eq!(
        invocation.function_error().unwrap().error_type,
        "Runtime.OutOfMemory"
    );
    assert!(
        invocation.report.max_memory_used_mb > 400,
        "{:?}",
        invocation.report
    );
}

#[tokio::test]
async fn a_trap_is_a_runtime_exit_error() {
    let function = load("probe-trap", guest("host/tests/guests/probe"), |_| {});
    let invocation = invoke(&function, r#"{"action":"trap"}"#).await;
    let error = invocation.function_error().unwrap();
    assert_eq!(error.error_type, "Runtime.ExitError");
    assert!(error.error_message.starts_with(&format!(
        "RequestId: {} Error: Runtime exited with error: wasm trap:",
        invocation.request_id
    )));
    assert!(
        error.error_message.contains("unreachable"),
        "{}",
        error.error_message
    );
    assert!(
        !error.error_message.contains("wasm trap: wasm trap"),
        "the cause is named once: {}",
        error.error_message
    );
    assert!(
        invocation
            .log
            .contains("Status: error\tError Type: Runtime.ExitError")
    );
}

#[tokio::test]
async fn a_panic_is_logged_and_is_a_runtime_exit_error() {
    let function = load("probe-panic", guest("host/tests/guests/probe"), |_| {});
    let invocation = invoke(&function, r#"{"action":"panic"}"#).await;
    assert_eq!(
        invocation.function_error().unwrap().error_type,
        "Runtime.ExitError"
    );
    assert_in_order(
        &invocation.log,
        &["START", "the probe panicked on purpose", "END", "REPORT"],
    );
}

#[tokio::test]
async fn a_handler_error_is_rendered_as_lambdas_error_json() {
    let function = load("probe", guest("host/tests/guests/probe"), |_| {});
    let invocation = invoke(&function, r#"{"action":"error"}"#).await;
    assert_eq!(
        invocation.payload(),
        format!(
            r#"{{"errorType":"ProbeError","errorMessage":"the probe failed on purpose","requestId":"{}","stackTrace":["frame one","frame two"]}}"#,
            invocation.request_id
        )
    );
    assert_eq!(invocation.report.status, ReportStatus::Success);
}

#[tokio::test]
async fn an_oversized_response_is_refused() {
    let function = load("probe", guest("host/tests/guests/probe"), |_| {});
    let invocation = invoke(&function, r#"{"action":"big","bytes":6400000}"#).await;
    let error = invocation.function_error().unwrap();
    assert_eq!(error.error_type, "Function.ResponseSizeTooLarge");
    assert!(error.error_message.contains("6291556"));
    let fits = invoke(&function, r#"{"action":"big","bytes":1000}"#).await;
    assert_eq!(fits.payload().len(), 1002);
}

#[tokio::test]
async fn output_is_captured_between_start_and_end() {
    let function = load("probe", guest("host/tests/guests/probe"), |_| {});
    let invocation = invoke(&function, r#"{"action":"print"}"#).await;
    let id = &invocation.request_id;
    assert_in_order(
        &invocation.log,
        &[
            &format!("START RequestId: {id} Version: $LATEST\n"),
            "to stdout\n",
            "to stderr\n",
            &format!("END RequestId: {id}\n"),
            &format!("REPORT RequestId: {id}\tDuration: "),
            "\tMemory Size: 128 MB\tMax Memory Used: ",
            "\tInit Duration: ",
        ],
    );
    assert_eq!(invocation.log.lines().count(), 5, "{}", invocation.log);
}

#[tokio::test]
async fn every_invocation_gets_a_fresh_sandbox_by_default() {
    let function = load("probe-fresh", guest("host/tests/guests/probe"), |_| {});
    for _ in 0..3 {
        let invocation = invoke(&function, r#"{"action":"count"}"#).await;
        assert_eq!(invocation.payload(), "1", "no state survives an invocation");
        assert!(invocation.report.init_duration.is_some());
    }
}

#[tokio::test]
async fn warm_mode_reuses_the_instance_until_it_crashes() {
    let function = load("probe-warm", guest("host/tests/guests/probe"), |config| {
        config.reuse_instances = true;
    });
    let first = invoke(&function, r#"{"action":"count"}"#).await;
    let second = invoke(&function, r#"{"action":"count"}"#).await;
    assert_eq!((first.payload(), second.payload()), ("1", "2"));
    assert!(
        first.report.init_duration.is_some(),
        "the first pays the cold start"
    );
    assert!(
        second.report.init_duration.is_none(),
        "a warm start has no Init Duration"
    );
    assert!(!second.log.contains("Init Duration"));

    // A handled error keeps the environment, as on Lambda.
    invoke(&function, r#"{"action":"error"}"#).await;
    assert_eq!(
        invoke(&function, r#"{"action":"count"}"#).await.payload(),
        "4"
    );

    // A crash discards it: the next invocation starts from scratch.
    invoke(&function, r#"{"action":"trap"}"#).await;
    let after_crash = invoke(&function, r#"{"action":"count"}"#).await;
    assert_eq!(after_crash.payload(), "1");
    assert!(after_crash.report.init_duration.is_some());
}

/// Two functions keep their warm sandboxes in a pool of two slots; a third
/// function's invocation takes back the slot the longest-idle one holds and
/// answers at once. Before, it waited for a slot until its deadline and was
/// throttled (with 64 such functions, every other invocation was).
#[tokio::test]
async fn warm_sandboxes_give_their_slots_to_invocations_that_need_them() {
    let host = wasm_lambda::Host::new(wasm_lambda::HostConfig {
        cache_dir: Some(crate::common::cache_dir()),
        engine: wasm_lambda::EngineConfig {
            max_instances: 2,
            ..wasm_lambda::EngineConfig::default()
        },
        ..wasm_lambda::HostConfig::default()
    })
    .unwrap();
    let load = |name: &str| {
        let mut config = wasm_lambda::FunctionConfig::new(name, guest("host/tests/guests/probe"));
        config.reuse_instances = true;
        config.timeout = Duration::from_secs(2);
        host.load(config).unwrap()
    };
    let (first, second, third) = (load("warm-a"), load("warm-b"), load("warm-c"));
    invoke(&first, r#"{"action":"count"}"#).await;
    invoke(&second, r#"{"action":"count"}"#).await;
    let started = std::time::Instant::now();
    let answered = third
        .invoke(wasm_lambda::InvokeRequest::new(r#"{"action":"count"}"#))
        .await
        .expect("the third function got a slot");
    assert_eq!(answered.payload(), "1");
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "it waited for its deadline"
    );
    // The one evicted was the longest idle: the first starts cold, the
    // second is still warm.
    assert_eq!(
        invoke(&second, r#"{"action":"count"}"#).await.payload(),
        "2"
    );
}

/// A host that makes sandboxes ahead (as `serve` and the custom runtime
/// do) makes the next invocation's after each one ends. That sandbox was
/// made before its invocation's request came, yet the handler sees that
/// invocation's own trace header, and it is fresh: never called, a cold
/// start with its `Init Duration`. On a runtime of two threads, as `serve`
/// runs, where the used sandbox is dropped by the same task.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sandbox_made_ahead_is_fresh_and_sees_its_own_invocations_trace_header() {
    let ahead = wasm_lambda::Host::new(wasm_lambda::HostConfig {
        cache_dir: Some(crate::common::cache_dir()),
        ready_sandboxes: true,
        ..wasm_lambda::HostConfig::default()
    })
    .unwrap();
    // The default host makes none.
    let plain = load("probe-not-ahead", guest("host/tests/guests/probe"), |_| {});
    invoke(&plain, r#"{"action":"count"}"#).await;
    assert!(!plain.sandbox_ready().await, "made ahead by default");

    let probe = ahead
        .load(wasm_lambda::FunctionConfig::new(
            "probe-ahead",
            guest("host/tests/guests/probe"),
        ))
        .unwrap();
    for round in 0..3 {
        let invocation = invoke(&probe, r#"{"action":"count"}"#).await;
        assert_eq!(invocation.payload(), "1", "round {round}: a fresh sandbox");
        assert!(invocation.report.init_duration.is_some(), "round {round}");
        assert!(
            probe.sandbox_ready().await,
            "round {round}: none made ahead"
        );
    }

    for project in [
        "host/tests/guests/probe",
        "host/tests/guests/python/probe",
        "host/tests/guests/js/probe",
        "host/tests/guests/go/probe",
    ] {
        let function = ahead
            .load(wasm_lambda::FunctionConfig::new(
                "trace-ahead",
                guest(project),
            ))
            .unwrap();
        let go = project.contains("/go/");
        let event = if go {
            r#"{"env":"_X_AMZN_TRACE_ID"}"#
        } else {
            r#"{"action":"env"}"#
        };
        let given = [
            "Root=1-67a0b1c2-0123456789abcdef01234567;Parent=0123456789abcdef;Sampled=1",
            "Root=1-67a0b1c3-fedcba9876543210fedcba98;Parent=fedcba9876543210;Sampled=0",
            "Root=1-67a0b1c4-00112233445566778899aabb;Parent=00112233aabbccdd;Sampled=1",
        ];
        for (index, trace_id) in given.into_iter().enumerate() {
            assert_eq!(
                function.sandbox_ready().await,
                index > 0,
                "{project}: a sandbox waits after invocation {index}"
            );
            let invocation = function
                .invoke(wasm_lambda::InvokeRequest {
                    trace_id: Some(trace_id.to_string()),
                    ..wasm_lambda::InvokeRequest::new(event)
                })
                .await
                .unwrap();
            assert!(invocation.report.init_duration.is_some(), "{project}");
            let payload = json(invocation.payload());
            let seen = if go {
                &payload["env"]
            } else {
                &payload["_X_AMZN_TRACE_ID"]
            };
            assert_eq!(seen, trace_id, "{project}: invocation {index}");
        }
    }
}

/// A sandbox made ahead holds a pool slot only while nobody needs it: with
/// one slot, held by one function's sandbox made ahead, another function's
/// invocation takes the slot back and answers at once.
#[tokio::test]
async fn a_sandbox_made_ahead_gives_its_slot_to_an_invocation_that_needs_it() {
    let host = wasm_lambda::Host::new(wasm_lambda::HostConfig {
        cache_dir: Some(crate::common::cache_dir()),
        engine: wasm_lambda::EngineConfig {
            max_instances: 1,
            ..wasm_lambda::EngineConfig::default()
        },
        ready_sandboxes: true,
        ..wasm_lambda::HostConfig::default()
    })
    .unwrap();
    let load = |name: &str| {
        let mut config = wasm_lambda::FunctionConfig::new(name, guest("host/tests/guests/probe"));
        config.timeout = Duration::from_secs(2);
        host.load(config).unwrap()
    };
    let (first, second) = (load("ahead-a"), load("ahead-b"));
    invoke(&first, r#"{"action":"count"}"#).await;
    assert!(first.sandbox_ready().await, "the first made one ahead");
    let started = std::time::Instant::now();
    let answered = second
        .invoke(wasm_lambda::InvokeRequest::new(r#"{"action":"count"}"#))
        .await
        .expect("the second function got the slot");
    assert_eq!(answered.payload(), "1");
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "it waited for its deadline"
    );
    // The second function's own sandbox made ahead now holds the slot.
    assert!(!first.sandbox_ready().await, "the first kept its sandbox");
    assert!(second.sandbox_ready().await);
}

/// A warm sandbox serves a bounded number of invocations; the next one
/// starts fresh, so what a guest leaks across calls cannot grow for ever.
#[tokio::test]
async fn a_warm_sandbox_is_replaced_after_its_reuse_limit() {
    let function = load(
        "probe-reuse-limit",
        guest("host/tests/guests/probe"),
        |config| {
            config.reuse_instances = true;
        },
    );
    let mut counts = Vec::new();
    for _ in 0..1001 {
        let invocation = invoke(&function, r#"{"action":"count"}"#).await;
        counts.push(invocation.payload().to_string());
    }
    assert_eq!(counts[999], "1000");
    assert_eq!(counts[1000], "1", "the 1,001st invocation starts fresh");
}

/// Both invocations on one thread (a current-thread runtime): the quick one
/// can only answer if the looping guest yields it the thread, at its epoch
/// ticks. On a multi-threaded runtime the quick call ran on the test's own
/// thread and answered even with no yielding at all.
#[tokio::test(flavor = "current_thread")]
async fn a_looping_function_does_not_block_another() {
    let looping = load("probe-busy", guest("host/tests/guests/probe"), |config| {
        config.timeout = Duration::from_secs(2);
    });
    let quick = load("calculator", guest("examples/rust/calculator"), |_| {});
    let busy = tokio::spawn(async move { invoke(&looping, r#"{"action":"loop"}"#).await });
    tokio::time::sleep(Duration::from_millis(100)).await;
    let answered = invoke(&quick, r#"{"action":"increment","number":41}"#).await;
    assert_eq!(answered.payload(), r#"{"result":42}"#);
    assert!(
        !busy.is_finished(),
        "the quick one answered while the loop still ran"
    );
    let timed_out = busy.await.unwrap();
    assert_eq!(
        timed_out.function_error().unwrap().error_type,
        "Sandbox.Timedout"
    );
}

#[tokio::test]
async fn many_invocations_in_parallel_all_answer() {
    let function = load("probe-parallel", guest("host/tests/guests/probe"), |_| {});
    let mut tasks = Vec::new();
    for n in 0..40 {
        let function = function.clone();
        tasks.push(tokio::spawn(async move {
            let event = format!(r#"{{"action":"echo","n":{n}}}"#);
            (
                n,
                function
                    .invoke(wasm_lambda::InvokeRequest::new(event))
                    .await
                    .unwrap(),
            )
        }));
    }
    for task in tasks {
        let (n, invocation) = task.await.unwrap();
        assert_eq!(json(invocation.payload())["n"], n);
    }
}

/// `handler!(async f)`: the SDK's executor drives the handler's awaits (two
/// of wstd's timers at once) to their end, and an error from an await is the
/// function's error. A wait past the timeout ends as any timeout does.
#[tokio::test]
async fn an_async_rust_handler_awaits_to_its_end_and_its_timeout() {
    let function = load(
        "async-handler",
        guest("host/tests/guests/async_handler"),
        |config| config.timeout = Duration::from_secs(3),
    );
    let invocation = invoke(&function, r#"{"wait_ms":1000}"#).await;
    let answer = json(invocation.payload());
    assert_eq!(answer["steps"], serde_json::json!(["first", "second"]));
    assert_eq!(answer["request_id"], invocation.request_id.as_str());
    let waited = answer["waited_ms"].as_u64().unwrap();
    // Both 1 s waits ran at once: at least one wait, well under two (one
    // after the other would take 2 s at the least).
    assert!((1000..1900).contains(&waited), "{answer}");

    let invocation = invoke(&function, r#"{"wait_ms":10,"fail":true}"#).await;
    let error = invocation.function_error().expect("the second step fails");
    assert_eq!(error.error_type, "StepFailed");
    assert_eq!(error.error_message, "second failed after waiting");

    let invocation = invoke(&function, r#"{"wait_ms":20000}"#).await;
    let error = invocation.function_error().expect("the wait times out");
    assert_eq!(error.error_type, "Sandbox.Timedout");
}
