//! Returning a message: the first example of Lambda's Python handler guide, in Rust.
//!
//! `{"first_name": "John", "last_name": "Smith"}` → `{"message":"Hello John Smith!"}`.
//! An event without the names is a function error, as in the Python original.

use serde::{Deserialize, Serialize};
use wasm_lambda_sdk::{Context, Error};

#[derive(Deserialize)]
struct Request {
    first_name: String,
    last_name: String,
}

#[derive(Serialize)]
struct Response {
    message: String,
}

fn handler(event: Request, _context: Context) -> Result<Response, Error> {
    let message = format!("Hello {} {}!", event.first_name, event.last_name);
    Ok(Response { message })
}

wasm_lambda_sdk::handler!(handler);
