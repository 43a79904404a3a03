//! A streaming handler: writes `count` numbered lines, opens them with an
//! HTTP head when `http` is set, and fails after writing when `fail` is set.

use std::io::Write as _;

use serde_json::{Value, json};
use wasm_lambda_sdk::{Context, Error, ResponseStream};

fn handler(event: Value, context: Context, stream: &mut ResponseStream) -> Result<(), Error> {
    if event["http"].as_bool() == Some(true) {
        stream.http_head(&json!({
            "statusCode": 202,
            "headers": {"content-type": "text/plain", "x-streamed-by": "rust"},
        }))?;
    } else {
        stream.set_content_type("text/plain");
    }
    println!("streaming for {}", context.aws_request_id);
    for n in 0..event["count"].as_u64().unwrap_or(3) {
        writeln!(stream, "line {n}")?;
    }
    if event["fail"].as_bool() == Some(true) {
        return Err(Error::new("StreamBroken", "failed after writing"));
    }
    Ok(())
}

wasm_lambda_sdk::streaming_handler!(handler);
