//! Cold start of the examples: a fresh sandbox plus the first call,
//! against a warm (reused) instance, with the pooling allocator against
//! on-demand allocation. Loading happens outside the timed loops.
//!
//! Run with `cargo bench -p wasm-lambda-benches`.

use criterion::{Criterion, criterion_group, criterion_main};
use wasm_lambda::{EngineConfig, Function, FunctionConfig, Host, HostConfig, InvokeRequest};
use wasm_lambda_benches::{build_example, cache_dir};

const HELLO: &str = r#"{"first_name":"John","last_name":"Smith"}"#;
const CALCULATOR: &str = r#"{"action":"increment","number":3}"#;

/// (language, example, event)
const EXAMPLES: &[(&str, &str, &str)] = &[
    ("rust", "hello", HELLO),
    ("rust", "region", r#"{"key1":"value1"}"#),
    ("rust", "calculator", CALCULATOR),
    ("python", "hello", HELLO),
    ("python", "calculator", CALCULATOR),
    ("js", "hello", HELLO),
    ("js", "calculator", CALCULATOR),
];

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

fn load(host: &Host, language: &str, name: &str, reuse: bool) -> Function {
    let mut config = FunctionConfig::new(name, build_example(language, name));
    config.reuse_instances = reuse;
    host.load(config).expect("the example loads")
}

fn cold_start(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .unwrap();
    let pooling = host(true);
    let on_demand = host(false);
    let mut group = c.benchmark_group("cold_start");
    for (language, example, event) in EXAMPLES {
        let name = format!("{language}/{example}");
        for (allocator, host) in [("pooling", &pooling), ("on-demand", &on_demand)] {
            let function = load(host, language, example, false);
            group.bench_function(format!("{name}/cold/{allocator}"), |b| {
                b.iter(|| {
                    let invocation = runtime
                        .block_on(function.invoke(InvokeRequest::new(*event)))
                        .unwrap();
                    assert!(invocation.function_error().is_none());
                })
            });
        }
        let warm = load(&pooling, language, example, true);
        group.bench_function(format!("{name}/warm/pooling"), |b| {
            b.iter(|| {
                runtime
                    .block_on(warm.invoke(InvokeRequest::new(*event)))
                    .unwrap()
            })
        });
    }
    group.finish();
}

criterion_group!(benches, cold_start);
criterion_main!(benches);
