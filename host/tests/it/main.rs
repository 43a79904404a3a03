//! Integration tests: real components built by the real toolchains, invoked
//! through the library and the CLI. One test binary, so the guests are built
//! once per run and linking happens once.

mod architecture;
mod build_cache;
mod build_isolation;
mod capabilities;
mod cli;
mod cluster;
mod common;
mod context;
mod control_plane;
mod corpus;
mod event_sources;
mod examples;
mod extensions;
mod faults;
mod fuzz;
mod http;
mod js;
mod load;
mod logging;
mod native;
mod python;
mod requests;
mod runtime;
mod sandbox;
mod server;
mod settings;
mod streaming;
mod watch;
