//! A handler for the host's tests. The event's `action` picks what it does.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use serde_json::{Value, json};
use wasm_lambda_sdk::{Context, Error};

static INVOCATIONS: AtomicU64 = AtomicU64::new(0);

fn handler(event: Value, context: Context) -> Result<Value, Error> {
    let count = INVOCATIONS.fetch_add(1, Ordering::SeqCst) + 1;
    let action = event["action"].as_str().unwrap_or("echo");
    match action {
        "echo" => Ok(event),
        "context" => {
            let first = context.remaining_time_in_millis();
            std::thread::sleep(Duration::from_millis(30));
            let second = context.remaining_time_in_millis();
            Ok(json!({ "context": context, "remaining": [first, second] }))
        }
        "env" => Ok(json!(
            std::env::vars().collect::<std::collections::BTreeMap<_, _>>()
        )),
        "count" => Ok(json!(count)),
        "print" => {
            println!("to stdout");
            eprintln!("to stderr");
            Ok(json!("printed"))
        }
        "error" => Err(Error::new("ProbeError", "the probe failed on purpose")
            .with_stack_trace(vec!["frame one".into(), "frame two".into()])),
        "sleep" => {
            let millis = event["millis"].as_u64().unwrap_or(10_000);
            std::thread::sleep(Duration::from_millis(millis));
            Ok(json!("slept"))
        }
        "loop" => {
            let mut spins: u64 = 0;
            loop {
                spins = std::hint::black_box(spins.wrapping_add(1));
            }
        }
        "alloc" => {
            let mut blocks = Vec::new();
            loop {
                blocks.push(std::hint::black_box(vec![1u8; 1 << 20]));
            }
        }
        "trap" => core::arch::wasm32::unreachable(),
        "panic" => panic!("the probe panicked on purpose"),
        "big" => {
            let bytes = event["bytes"].as_u64().unwrap_or(0) as usize;
            Ok(json!("x".repeat(bytes)))
        }
        other => Err(Error::new(
            "UnknownAction",
            format!("unknown action {other}"),
        )),
    }
}

wasm_lambda_sdk::handler!(handler);
