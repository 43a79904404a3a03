//! The calculator handler of `examples/rust/calculator` as a native Rust
//! process, the baseline `wasm-lambda bench --vs-native` compares a Rust
//! component's cold start with: reads the event on stdin, prints the response.

use std::io::Read;

use serde_json::{Value, json};

fn main() {
    let mut event = String::new();
    std::io::stdin()
        .read_to_string(&mut event)
        .expect("the event on stdin");
    let event: Value = serde_json::from_str(&event).expect("the event is JSON");
    let result = match event["action"].as_str() {
        Some("increment") => Some(event["number"].as_i64().unwrap_or(0) + 1),
        _ => None,
    };
    println!("{}", json!({ "result": result }));
}
