//! Host bindings generated from the one WIT contract, `guest-sdk/wit/handler.wit`.

wasmtime::component::bindgen!({
    path: "../../guest-sdk/wit",
    world: "handler",
    // The export is called with `call_async` so a timeout can drop it at any
    // host call; the one import is a cheap clock read and stays synchronous.
    exports: { default: async },
});

/// The WIT package and world every handler component implements.
pub const WORLD: &str = "wasm-lambda:handler/handler@0.2.0";

/// The interface the host provides to handlers.
pub const RUNTIME_INTERFACE: &str = "wasm-lambda:handler/runtime@0.2.0";

/// Response streaming, new in 0.2.0.
pub const RESPONSE_STREAM_INTERFACE: &str = "wasm-lambda:handler/response-stream@0.2.0";

/// The optional export of the `handler-with-init` world that runs a
/// component's init phase (`snapshot.rs`):
/// `init: func() -> result<string, string>`, its output or its error.
pub(crate) const INIT_EXPORT: &str = "init";

/// The runtime interface of components built against 0.1.0, which the
/// host still links (the same functions as 0.2.0's).
pub const RUNTIME_INTERFACE_0_1: &str = "wasm-lambda:handler/runtime@0.1.0";

/// Every `wasm-lambda:handler` interface a component may import.
pub const KNOWN_INTERFACES: [&str; 3] = [
    RUNTIME_INTERFACE,
    RESPONSE_STREAM_INTERFACE,
    RUNTIME_INTERFACE_0_1,
];
