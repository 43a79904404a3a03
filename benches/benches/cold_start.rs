//! Where a cold start's time goes, per example language: loading the
//! precompiled artifact from the on-disk cache, instantiating into a fresh
//! store, the first call, a whole cold invocation (sequential, and two at a
//! time on two threads), and a call on a warm instance; the pooling
//! allocator against on-demand allocation; and the same cold start run by a
//! bare wasmtime embedder (`bare_wasmtime`), whose difference from
//! `invoke_cold` is the host's own overhead. Building and loading happen
//! outside the timed loops.
//!
//! Run with `cargo bench -p wasm-lambda-benches --bench cold_start`; a filter
//! argument (`-- python`) also skips building the languages it excludes.

use std::time::{Duration, Instant};

use criterion::{Criterion, criterion_group, criterion_main};
use wasm_lambda::bare::{Bare, BareWorld};
use wasm_lambda::bench::{ColdPhases, cold_phases};
use wasm_lambda::{EngineConfig, Function, FunctionConfig, Host, HostConfig, InvokeRequest};
use wasm_lambda_benches::{EXAMPLE_LANGUAGES, build_example, cache_dir, selected_by_filter};

/// Picks one phase's time out of a cold start's.
type PhaseShare = fn(&ColdPhases) -> Duration;

const CALCULATOR: &str = r#"{"action":"increment","number":3}"#;

fn host(pooling: bool) -> Host {
    Host::new(HostConfig {
        engine: EngineConfig {
            pooling,
            ..EngineConfig::default()
        },
        cache_dir: Some(cache_dir()),
        ..HostConfig::default()
    })
    .expect("the host starts")
}

fn load(host: &Host, component: &std::path::Path, reuse: bool) -> Function {
    let mut config = FunctionConfig::new("calculator", component);
    config.reuse_instances = reuse;
    host.load(config).expect("the example loads")
}

fn cold_start(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .unwrap();
    let two_threads = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_time()
        .build()
        .unwrap();
    let pooling = host(true);
    let on_demand = host(false);

    for language in EXAMPLE_LANGUAGES {
        if !selected_by_filter(language) {
            continue;
        }
        let component = build_example(language, "calculator");
        let mut group = c.benchmark_group(format!("cold_start/{language}"));
        // The big interpreters take milliseconds per run: fewer samples keep
        // a full run affordable without hurting the medians.
        if matches!(*language, "python" | "js" | "go") {
            group.sample_size(30);
        }

        group.bench_function("load_from_cache", |b| {
            b.iter(|| load(&pooling, &component, false))
        });

        for (allocator, host) in [("pooling", &pooling), ("on-demand", &on_demand)] {
            let function = load(host, &component, false);
            // Each run is a whole cold start; only the phase's share is timed.
            let phases: [(&str, PhaseShare); 2] = [
                ("instantiate", |phases| phases.instantiate),
                ("first_call", |phases| phases.first_call),
            ];
            for (phase, share) in phases {
                group.bench_function(format!("{phase}/{allocator}"), |b| {
                    b.iter_custom(|iters| {
                        (0..iters)
                            .map(|_| {
                                let phases = runtime
                                    .block_on(cold_phases(&function, CALCULATOR))
                                    .unwrap();
                                share(&phases)
                            })
                            .sum()
                    })
                });
            }
            group.bench_function(format!("invoke_cold/{allocator}"), |b| {
                b.iter(|| {
                    let invocation = runtime
                        .block_on(function.invoke(InvokeRequest::new(CALCULATOR)))
                        .unwrap();
                    assert!(invocation.function_error().is_none());
                })
            });
        }

        // The host's own overhead: the same compiled component on the same
        // engine, run by the least an embedder of wasmtime does (a store, an
        // instance, one call; `wasm_lambda::bare`), with an empty WASI
        // context and with the function's variables and a `/tmp` as the
        // guest finds them in the host. `invoke_cold/pooling` less
        // `bare_wasmtime_as_hosted/pooling` is what the host's code adds.
        let function = load(&pooling, &component, false);
        for (name, world) in [
            ("bare_wasmtime/pooling", BareWorld::Empty),
            ("bare_wasmtime_as_hosted/pooling", BareWorld::AsHosted),
        ] {
            match Bare::new(&function, world) {
                Ok(bare) => {
                    group.bench_function(name, |b| {
                        b.iter(|| runtime.block_on(bare.invoke(CALCULATOR)).unwrap())
                    });
                }
                // Python's and JavaScript's components import wasi:http,
                // which the bare linker does not provide.
                Err(error) => eprintln!("{language}: no bare wasmtime run: {error:#}"),
            }
        }

        // Two cold invocations at a time on two threads: the time per
        // invocation when both cores work (throughput, not latency).
        group.bench_function("invoke_cold/pooling/parallel-2", |b| {
            b.iter_custom(|iters| {
                let started = Instant::now();
                two_threads.block_on(async {
                    let tasks: Vec<_> = [iters.div_ceil(2), iters / 2]
                        .into_iter()
                        .map(|count| {
                            let function = function.clone();
                            tokio::spawn(async move {
                                for _ in 0..count {
                                    function
                                        .invoke(InvokeRequest::new(CALCULATOR))
                                        .await
                                        .unwrap();
                                }
                            })
                        })
                        .collect();
                    for task in tasks {
                        task.await.unwrap();
                    }
                });
                started.elapsed()
            })
        });

        let warm = load(&pooling, &component, true);
        group.bench_function("invoke_warm/pooling", |b| {
            b.iter(|| {
                runtime
                    .block_on(warm.invoke(InvokeRequest::new(CALCULATOR)))
                    .unwrap()
            })
        });
        group.finish();
    }
}

criterion_group!(benches, cold_start);
criterion_main!(benches);
