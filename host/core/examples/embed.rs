//! A program that embeds wasm-lambda: load a handler component and invoke it
//! once, with nothing but `wasm-lambda-core` (no server, builder or command
//! line is compiled into it).
//!
//! ```sh
//! cargo run --release -p wasm-lambda-core --example embed -- \
//!     examples/rust/hello/build/hello.wasm '{"first_name":"John","last_name":"Smith"}'
//! ```
//!
//! It prints the payload on stdout and the function's log on stderr, and
//! exits 1 if the handler failed.

use anyhow::{Context as _, Result};
use wasm_lambda_core::{FunctionConfig, Host, HostConfig, InvokeRequest};

#[tokio::main]
async fn main() -> Result<()> {
    let mut args = std::env::args().skip(1);
    let component = args.next().context("usage: embed COMPONENT [EVENT]")?;
    let event = args.next().unwrap_or_else(|| "{}".to_string());
    let host = Host::new(HostConfig::default())?;
    let function = host.load(FunctionConfig::new("embedded", component))?;
    let invocation = function.invoke(InvokeRequest::new(event)).await?;
    eprint!("{}", invocation.log);
    println!("{}", invocation.payload());
    if invocation.function_error().is_some() {
        std::process::exit(1);
    }
    Ok(())
}
