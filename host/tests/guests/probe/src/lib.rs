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
            // A wait after the lines, for a reader that must see them while
            // the invocation runs.
            let millis = event["millis"].as_u64().unwrap_or(0);
            std::thread::sleep(Duration::from_millis(millis));
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
        "big_error" => {
            let bytes = event["bytes"].as_u64().unwrap_or(0) as usize;
            Err(Error::new("BigError", "x".repeat(bytes)))
        }
        "many_frames" => {
            let frames = event["frames"].as_u64().unwrap_or(0) as usize;
            Err(Error::new("DeepError", "deep").with_stack_trace(vec![String::new(); frames]))
        }
        "write_secret" => {
            let secret = disguise(event["secret"].as_str().unwrap_or_default());
            write_secret(&secret);
            Ok(json!("written"))
        }
        "find_secret" => {
            let secret = disguise(event["secret"].as_str().unwrap_or_default());
            Ok(json!(find_in_memory(&secret)))
        }
        other => Err(Error::new(
            "UnknownAction",
            format!("unknown action {other}"),
        )),
    }
}

/// The bytes that `write_secret` leaves in memory: the event's secret with
/// every byte flipped, so that the event's own text (which is in memory too)
/// never matches.
fn disguise(secret: &str) -> Vec<u8> {
    secret.bytes().map(|byte| byte ^ 0xa5).collect()
}

/// Room in static data for a secret.
static mut STATIC_SECRET: [u8; 64] = [0; 64];

/// Leaves `secret` on the heap (leaked), in static data and on the stack,
/// and in every other page of a 1 MiB heap block: 128 dirtied pages with
/// clean ones between them, more separate runs than one scan of the host's
/// pool-slot reset reports (32), so the test also covers the runs after them.
fn write_secret(secret: &[u8]) {
    let heap: &'static mut Vec<u8> = Box::leak(Box::new(secret.to_vec()));
    std::hint::black_box(heap);
    const BLOCK: usize = 1 << 20;
    const STRIDE: usize = 2 * 4096;
    // Capacity only: the block's pages stay untouched but for the copies.
    let block: &'static mut Vec<u8> = Box::leak(Box::new(Vec::with_capacity(BLOCK)));
    let copy = secret.len().min(4096);
    for offset in (0..BLOCK).step_by(STRIDE) {
        // SAFETY: `offset + copy` is within the block's capacity; the bytes
        // are written, never read as the vector's contents.
        unsafe {
            std::ptr::copy_nonoverlapping(secret.as_ptr(), block.as_mut_ptr().add(offset), copy);
        }
    }
    std::hint::black_box(block);
    let length = secret.len().min(64);
    // SAFETY: the guest is single-threaded and nothing else uses the buffer.
    unsafe {
        let buffer = &mut *std::ptr::addr_of_mut!(STATIC_SECRET);
        buffer[..length].copy_from_slice(&secret[..length]);
        std::hint::black_box(buffer);
    }
    let mut stack = [0u8; 64];
    stack[..length].copy_from_slice(&secret[..length]);
    std::hint::black_box(&mut stack);
}

/// Counts the places in the whole linear memory that hold `needle`, other
/// than the needle itself.
fn find_in_memory(needle: &[u8]) -> usize {
    if needle.is_empty() {
        return 0;
    }
    let size = core::arch::wasm32::memory_size(0) * 65536;
    let own = needle.as_ptr() as usize;
    let mut found = 0;
    // Address 0 is skipped: reading it is undefined behaviour in Rust.
    for address in 8..size.saturating_sub(needle.len()) {
        if address == own {
            continue;
        }
        let matches = needle.iter().enumerate().all(|(offset, byte)| {
            // SAFETY: every address below the memory's size is readable.
            unsafe { std::ptr::read_volatile((address + offset) as *const u8) == *byte }
        });
        if matches {
            found += 1;
        }
    }
    found
}

wasm_lambda_sdk::handler!(handler);
