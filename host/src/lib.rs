//! The `wasm-lambda` command line, and one library over the layers it is
//! made of, for its tests and benchmarks.
//!
//! A program that embeds wasm-lambda to load and invoke components depends
//! on [`wasm_lambda_core`] alone; this crate adds everything the command
//! line does with it:
//! - the core's items, re-exported at the root ([`Host`], [`Function`],
//!   [`InvokeRequest`], ...);
//! - [`build`] (`wasm-lambda-build`): turns a handler project into a component;
//! - [`server`] (`wasm-lambda-server`): `wasm-lambda serve`;
//! - [`runtime_api`] (`wasm-lambda-runtime`): custom-runtime mode
//!   (`wasm-lambda runtime`, `bootstrap`), and [`package`]: its deployment zip;
//! - [`bench`]: cold-start and warm-invoke measurements (`wasm-lambda bench`);
//! - [`deploy`]: builds a handler and creates or updates it on a control
//!   plane (`wasm-lambda deploy`);
//! - [`samples`]: Lambda's sample events (`wasm-lambda event`);
//! - [`sources`]: the builder `serve`'s control plane builds uploaded
//!   Python and Node.js source zips with.
//!
//! Nothing depends on this crate but the benchmarks: new behaviour belongs
//! in the layer that owns it (ARCHITECTURE.md), and this crate only parses
//! arguments and prints.
#![deny(missing_docs)]

pub mod bench;
pub mod deploy;
pub mod package;
pub mod samples;
pub mod sources;

/// What Lambda runs when it starts a `provided.al2023` function: the
/// custom runtime, configured from Lambda's environment (`_HANDLER`,
/// `AWS_LAMBDA_RUNTIME_API`, ...). `wasm-lambda` runs it when started under
/// the name `bootstrap`, and so does the slim `wasm-lambda-bootstrap`
/// binary that `wasm-lambda package` ships. An error is printed and ends
/// the process with status 1.
pub fn run_bootstrap() -> std::process::ExitCode {
    let env = std::env::vars().collect();
    let timeout = std::time::Duration::from_secs(3);
    let ran = runtime_api::RuntimeSettings::from_env(&env, None, timeout)
        .and_then(|settings| runtime_api::run(&settings, None));
    match ran {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error:#}");
            std::process::ExitCode::from(1)
        }
    }
}

pub use wasm_lambda_build as build;
pub use wasm_lambda_core::*;
pub use wasm_lambda_runtime as runtime_api;
pub use wasm_lambda_server as server;
