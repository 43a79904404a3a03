//! `wasm-lambda-bootstrap`: the custom runtime alone, which `wasm-lambda
//! package` puts in a deployment zip as `bootstrap` (Lambda starts it with
//! no arguments). `wasm-lambda` started as `bootstrap` does the same; this
//! binary leaves out what the runtime never reaches, so packages are
//! smaller (`runtime::packaged_python_and_javascript_start_from_their_snapshot_without_compiling`
//! checks that a Python package with its snapshot fits Lambda's direct
//! upload).

fn main() -> std::process::ExitCode {
    // The runtime's own messages (a variable that differs from the
    // snapshot's) go to stderr as plain lines, as `wasm-lambda`'s do.
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .without_time()
        .with_level(false)
        .with_target(false)
        .with_ansi(false)
        .init();
    wasm_lambda::run_bootstrap()
}
