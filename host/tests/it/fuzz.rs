//! A short fuzz pass, run in CI: damaged real components through the loader
//! and random requests through the Invoke API. Each case must end in a clear
//! error or a normal answer; the process and the server must survive.

use proptest::prelude::*;
use wasm_lambda::{FunctionConfig, Host, HostConfig, InvokeRequest};

use crate::common::{guest, raw_http};
use crate::server::{Serve, toml_path};

fn host() -> &'static Host {
    static HOST: std::sync::OnceLock<Host> = std::sync::OnceLock::new();
    HOST.get_or_init(|| {
        Host::new(HostConfig {
            cache_dir: None,
            engine: wasm_lambda::EngineConfig {
                max_instances: 4,
                ..wasm_lambda::EngineConfig::default()
            },
            ..HostConfig::default()
        })
        .unwrap()
    })
}

/// How many cases each property tries: a short pass in CI, more with
/// `WASM_LAMBDA_FUZZ_CASES=N` for a long run.
fn cases(short: u32) -> u32 {
    std::env::var("WASM_LAMBDA_FUZZ_CASES")
        .ok()
        .and_then(|cases| cases.parse().ok())
        .unwrap_or(short)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(48), failure_persistence: None, ..ProptestConfig::default() })]

    /// A real component, cut short and with bits flipped: loading it is an
    /// error or a component that runs; it never panics.
    #[test]
    fn damaged_components_never_panic_the_loader(
        // Half the cases keep the whole component, so that the flipped bits
        // reach the compiler and not only the validator.
        cut in prop_oneof![Just(1.0f64), 0.0f64..1.0],
        flips in prop::collection::vec((0.0f64..1.0, 0u8..8), 0..4),
    ) {
        let mut bytes = std::fs::read(guest("examples/rust/calculator")).unwrap();
        let keep = ((bytes.len() as f64) * cut) as usize;
        bytes.truncate(keep.max(1));
        for (at, bit) in flips {
            let last = bytes.len() - 1;
            let index = ((bytes.len() as f64) * at) as usize;
            bytes[index.min(last)] ^= 1 << bit;
        }
        let _ = wasm_lambda::marker::read_runtime(&bytes);
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("damaged.wasm");
        std::fs::write(&path, &bytes).unwrap();
        if let Ok(function) = host().load(FunctionConfig::new("damaged", &path)) {
            let runtime = tokio::runtime::Builder::new_current_thread().enable_time().build().unwrap();
            let _ = runtime.block_on(function.invoke(InvokeRequest::new(r#"{"action":"increment","number":1}"#)));
        }
    }

    /// Any bytes at all: the marker reader answers, never panics.
    #[test]
    fn the_marker_reader_takes_any_bytes(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
        let mut component = b"\0asm\x0d\0\x01\0".to_vec();
        component.extend_from_slice(&bytes);
        let _ = wasm_lambda::marker::read_runtime(&component);
        let _ = wasm_lambda::marker::read_runtime(&bytes);
    }
}

/// Header names and values a client might send, well-formed or not.
fn header() -> impl Strategy<Value = (String, String)> {
    let name = prop_oneof![
        Just("X-Amz-Invocation-Type".to_string()),
        Just("X-Amz-Log-Type".to_string()),
        Just("X-Amz-Client-Context".to_string()),
        Just("X-Amz-Cognito-Identity".to_string()),
        Just("X-Amzn-Trace-Id".to_string()),
        Just("Content-Type".to_string()),
        "[A-Za-z-]{1,20}",
    ];
    let value = prop_oneof![
        Just("Event".to_string()),
        Just("RequestResponse".to_string()),
        Just("DryRun".to_string()),
        Just("Tail".to_string()),
        Just("eyJjdXN0b20iOnt9fQ==".to_string()),
        Just(r#"{"cognitoIdentityId":"a"}"#.to_string()),
        "[ -~]{0,40}",
    ];
    (name, value)
}

fn body() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        Just(b"{}".to_vec()),
        Just(br#"{"action":"echo"}"#.to_vec()),
        Just(br#"{"action":"error"}"#.to_vec()),
        "[ -~]{0,64}".prop_map(String::into_bytes),
        prop::collection::vec(any::<u8>(), 0..256),
    ]
}

fn path() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("/2015-03-31/functions/probe/invocations".to_string()),
        Just("/2015-03-31/functions/probe/invocations?Qualifier=$LATEST".to_string()),
        Just("/2015-03-31/functions/arn:aws:lambda:us-east-1:000000000000:function:probe/invocations".to_string()),
        Just("/2015-03-31/functions/nobody/invocations".to_string()),
        Just("/2015-03-31/functions/".to_string()),
        Just("/wasm-lambda/queue".to_string()),
        "/[a-z0-9/%:$?=.-]{0,60}",
    ]
}

#[test]
fn random_requests_get_answers_and_the_server_survives() {
    let config = format!(
        "event_retry_delay = 0.01\n[[function]]\nname = \"probe\"\ncomponent = {}\nmaximum_retry_attempts = 0\n",
        toml_path(guest("host/tests/guests/probe"))
    );
    let serve = Serve::start(&config);
    let address = serve.endpoint.trim_start_matches("http://").to_string();
    let strategy = (
        prop_oneof![Just("POST"), Just("GET"), Just("PUT"), Just("DELETE")],
        path(),
        prop::collection::vec(header(), 0..5),
        body(),
    );
    let mut runner = proptest::test_runner::TestRunner::new(ProptestConfig {
        cases: cases(200),
        failure_persistence: None,
        ..ProptestConfig::default()
    });
    runner
        .run(&strategy, |(method, path, headers, body)| {
            let answer = raw_http(&address, method, &path, &headers, &body);
            // Every request gets an HTTP answer, and none is a 500.
            prop_assert!(answer.status != 0, "no answer to {method} {path}");
            prop_assert!(
                answer.status != 500,
                "{method} {path} {headers:?}: {}",
                answer.head
            );
            Ok(())
        })
        .unwrap();
    // Still serving.
    let answer = raw_http::<&str, &str>(
        &address,
        "POST",
        "/2015-03-31/functions/probe/invocations",
        &[],
        br#"{"n":1}"#,
    );
    assert_eq!(answer.status, 200, "{}", serve.log());
}
