//! Returning a calculation: the third example of Lambda's Python handler guide, in Rust.
//!
//! `{"action": "increment", "number": 3}` → `{"result":4}`. Any other action
//! is logged as an error and answered with `{"result":null}`.

use serde::{Deserialize, Serialize};
use wasm_lambda_sdk::{Context, Error};

#[derive(Deserialize)]
struct Request {
    action: Option<String>,
    #[serde(default)]
    number: i64,
}

#[derive(Serialize)]
struct Response {
    result: Option<i64>,
}

fn handler(event: Request, context: Context) -> Result<Response, Error> {
    let request_id = &context.aws_request_id;
    let result = match event.action.as_deref() {
        Some("increment") => {
            let result = event.number + 1;
            println!("[INFO]\t{request_id}\tCalculated result of {result}");
            Some(result)
        }
        other => {
            let action = other.unwrap_or("None");
            eprintln!("[ERROR]\t{request_id}\t{action} is not a valid action.");
            None
        }
    };
    Ok(Response { result })
}

wasm_lambda_sdk::handler!(handler);
