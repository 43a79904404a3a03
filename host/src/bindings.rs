//! Host bindings generated from the one WIT contract, `guest-sdk/wit/handler.wit`.

wasmtime::component::bindgen!({
    path: "../guest-sdk/wit",
    world: "handler",
    // The export is called with `call_async` so a timeout can drop it at any
    // host call; the one import is a cheap clock read and stays synchronous.
    exports: { default: async },
});

/// The WIT package and world every handler component implements.
pub const WORLD: &str = "wasm-lambda:handler/handler@0.1.0";

/// The interface the host provides to handlers.
pub const RUNTIME_INTERFACE: &str = "wasm-lambda:handler/runtime@0.1.0";
