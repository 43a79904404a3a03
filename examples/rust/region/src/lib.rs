//! Parsing a response: the second example of Lambda's Python handler guide, in Rust.
//!
//! Returns an API-Gateway-style response whose body names the `AWS_REGION`
//! the function runs in. Any event is accepted.

use serde::Serialize;
use serde_json::{Value, json};
use wasm_lambda_sdk::{Context, Error};

#[derive(Serialize)]
struct Headers {
    #[serde(rename = "Content-Type")]
    content_type: &'static str,
}

#[derive(Serialize)]
struct Response {
    #[serde(rename = "statusCode")]
    status_code: u16,
    headers: Headers,
    body: String,
}

fn handler(_event: Value, _context: Context) -> Result<Response, Error> {
    let region = std::env::var("AWS_REGION").map_err(|_| Error::new("KeyError", "'AWS_REGION'"))?;
    Ok(Response {
        status_code: 200,
        headers: Headers {
            content_type: "application/json",
        },
        body: json!({ "Region ": region }).to_string(),
    })
}

wasm_lambda_sdk::handler!(handler);
