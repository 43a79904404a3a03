//! C, Go, Zig and AssemblyScript handlers: each SDK's hand-written glue
//! against the one WIT, through the library. The same tests run for every
//! language (one module each, so a failure names the language).

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use wasm_lambda::{CognitoIdentity, InvokeRequest};

use crate::common::{Native, assert_in_order, assert_trace_header, invoke, json, load};

async fn calculator_increments(language: Native) {
    let function = load("calculator", language.example("calculator"), |_| {});
    let invocation = invoke(&function, r#"{"action":"increment","number":3}"#).await;
    assert_eq!(invocation.payload(), r#"{"result":4}"#);
    assert_in_order(
        &invocation.log,
        &[
            "START",
            "[INFO]",
            &invocation.request_id,
            "Calculated result of 4",
            "END",
            "REPORT",
        ],
    );
}

async fn calculator_logs_an_unknown_action(language: Native) {
    let function = load("calculator", language.example("calculator"), |_| {});
    let invocation = invoke(&function, r#"{"action":"square","number":3}"#).await;
    assert_eq!(invocation.payload(), r#"{"result":null}"#);
    assert!(invocation.function_error().is_none());
    assert_in_order(
        &invocation.log,
        &[
            "[ERROR]",
            &invocation.request_id,
            "square is not a valid action.",
        ],
    );
}

async fn hello_returns_the_message(language: Native) {
    let function = load("hello", language.example("hello"), |_| {});
    let invocation = invoke(&function, r#"{"first_name":"John","last_name":"Smith"}"#).await;
    assert_eq!(invocation.payload(), r#"{"message":"Hello John Smith!"}"#);
}

async fn a_typed_error_becomes_lambdas_error_json(language: Native) {
    let function = load("error", language.example("error"), |_| {});
    let invocation = invoke(&function, r#"{"action":"square","number":3}"#).await;
    let error = invocation
        .function_error()
        .expect("an unknown action fails");
    let expected_type = match language {
        // Go reports the error's type name, as Lambda's Go runtime does.
        Native::Go => "InvalidActionError",
        _ => "InvalidAction",
    };
    assert_eq!(error.error_type, expected_type);
    assert_eq!(error.error_message, "unknown action: square");
    let payload = json(invocation.payload());
    assert_eq!(payload["errorType"], expected_type);
    assert_eq!(payload["errorMessage"], "unknown action: square");
    assert_eq!(payload["requestId"], invocation.request_id.as_str());
    assert!(payload["stackTrace"].is_array(), "{payload}");

    // The same instance's next answer is unaffected.
    let invocation = invoke(&function, r#"{"action":"increment","number":41}"#).await;
    assert_eq!(invocation.payload(), r#"{"result":42}"#);
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64
}

async fn the_probe_sees_every_context_field(language: Native) {
    let function = load("native-probe", language.probe(), |config| {
        config.memory_mb = 512;
        config.timeout = Duration::from_secs(7);
        config.region = "ap-southeast-2".into();
        config
            .environment
            .insert("GREETING".into(), "kia ora".into());
    });
    let before = now_ms();
    let invocation = function
        .invoke(InvokeRequest {
            request_id: Some("c0ffee00-0000-4000-8000-00000000000a".into()),
            trace_id: Some("Root=1-5759e988-bd862e3fe1be46a994272793;Sampled=1".into()),
            identity: Some(CognitoIdentity {
                identity_id: "ap-southeast-2:id".into(),
                identity_pool_id: "ap-southeast-2:pool".into(),
            }),
            client_context: Some(r#"{"client":{"app_title":"probe"},"custom":{},"env":{}}"#.into()),
            tenant_id: Some("tenant-3".into()),
            ..InvokeRequest::new(r#"{"env":"GREETING"}"#)
        })
        .await
        .unwrap();
    let seen = json(invocation.payload());
    assert_eq!(
        seen["aws_request_id"],
        "c0ffee00-0000-4000-8000-00000000000a"
    );
    assert_eq!(seen["function_name"], "native-probe");
    assert_eq!(seen["function_version"], "$LATEST");
    assert_eq!(
        seen["invoked_function_arn"],
        "arn:aws:lambda:ap-southeast-2:000000000000:function:native-probe"
    );
    assert_eq!(seen["memory_limit_in_mb"], 512);
    assert_eq!(seen["log_group_name"], "/aws/lambda/native-probe");
    assert_eq!(seen["log_stream_name"], function.log_stream_name());
    assert_eq!(
        seen["trace_id"],
        "Root=1-5759e988-bd862e3fe1be46a994272793;Sampled=1"
    );
    // The SDK's older name for the header still carries it.
    assert_eq!(seen["trace_id_older_name"], seen["trace_id"]);
    assert_eq!(seen["cognito_identity_id"], "ap-southeast-2:id");
    assert_eq!(seen["cognito_identity_pool_id"], "ap-southeast-2:pool");
    assert_eq!(
        json(
            seen["client_context"]
                .as_str()
                .expect("client context text")
        )["client"]["app_title"],
        "probe"
    );
    assert_eq!(seen["tenant_id"], "tenant-3");
    assert_eq!(seen["env"], "kia ora");
    let deadline = seen["deadline_ms"].as_u64().expect("deadline_ms");
    assert!(
        deadline >= before + 6_900 && deadline <= now_ms() + 7_000,
        "deadline {deadline}"
    );
    let remaining = seen["remaining_ms"].as_u64().expect("remaining_ms");
    assert!(remaining > 0 && remaining <= 7_000, "remaining {remaining}");
}

async fn absent_optional_fields_are_absent(language: Native) {
    let function = load("native-probe", language.probe(), |_| {});
    let invocation = invoke(&function, r#"{"env":"AWS_REGION"}"#).await;
    let seen = json(invocation.payload());
    // Lambda makes a trace header up when the caller sent none.
    assert_trace_header(&seen["trace_id"]);
    assert_eq!(seen["cognito_identity_id"], serde_json::Value::Null);
    assert_eq!(seen["client_context"], serde_json::Value::Null);
    assert_eq!(seen["tenant_id"], serde_json::Value::Null);
    assert_eq!(seen["env"], "us-east-1");
    assert_eq!(seen["aws_request_id"], invocation.request_id.as_str());
}

/// Every SDK fails an invocation with the same word: `fail(type, message)`.
async fn the_sdks_fail_function_sets_type_and_message(language: Native) {
    let function = load("native-probe", language.probe(), |_| {});
    let invocation = invoke(&function, r#"{"fail":"the probe was told to fail: 42%"}"#).await;
    let error = invocation.function_error().expect("the probe fails");
    assert_eq!(error.error_type, "ProbeFailure");
    assert_eq!(error.error_message, "the probe was told to fail: 42%");
    let payload = json(invocation.payload());
    assert_eq!(payload["errorType"], "ProbeFailure");
    assert_eq!(payload["requestId"], invocation.request_id.as_str());
}

async fn warm_instances_answer_many_times(language: Native) {
    let function = load("calculator", language.example("calculator"), |config| {
        config.reuse_instances = true;
    });
    for number in 0..20 {
        let invocation = invoke(
            &function,
            &format!(r#"{{"action":"increment","number":{number}}}"#),
        )
        .await;
        assert_eq!(
            invocation.payload(),
            format!(r#"{{"result":{}}}"#, number + 1)
        );
    }
}

async fn a_malformed_event_is_refused_not_crashed(language: Native) {
    let function = load("calculator", language.example("calculator"), |_| {});
    let refused = function.invoke(InvokeRequest::new("{not json")).await;
    assert!(
        refused.is_err(),
        "the host refuses an event that is not JSON"
    );
    let invocation = invoke(&function, r#"{"action":"increment","number":1}"#).await;
    assert_eq!(invocation.payload(), r#"{"result":2}"#);
}

async fn large_events_pass_through_the_glue(language: Native) {
    // 5 MB of event: more than every SDK's first arena or buffer, so the
    // allocators' growth paths run (Go's must not call WASI while the host
    // hands the arguments over). Twice on one instance: the space is reused.
    let function = load("calculator", language.example("calculator"), |config| {
        config.reuse_instances = true;
    });
    let padding = "x".repeat(5_000_000);
    for number in [41, 99] {
        let event = format!(r#"{{"action":"increment","number":{number},"padding":"{padding}"}}"#);
        let invocation = invoke(&function, &event).await;
        assert_eq!(
            invocation.payload(),
            format!(r#"{{"result":{}}}"#, number + 1),
            "{language:?}"
        );
    }
}

macro_rules! native_tests {
    ($($module:ident => $language:expr),* $(,)?) => {$(
        mod $module {
            use super::*;

            #[tokio::test]
            async fn calculator_increments() {
                super::calculator_increments($language).await;
            }

            #[tokio::test]
            async fn calculator_logs_an_unknown_action() {
                super::calculator_logs_an_unknown_action($language).await;
            }

            #[tokio::test]
            async fn hello_returns_the_message() {
                super::hello_returns_the_message($language).await;
            }

            #[tokio::test]
            async fn a_typed_error_becomes_lambdas_error_json() {
                super::a_typed_error_becomes_lambdas_error_json($language).await;
            }

            #[tokio::test]
            async fn the_probe_sees_every_context_field() {
                super::the_probe_sees_every_context_field($language).await;
            }

            #[tokio::test]
            async fn absent_optional_fields_are_absent() {
                super::absent_optional_fields_are_absent($language).await;
            }

            #[tokio::test]
            async fn the_sdks_fail_function_sets_type_and_message() {
                super::the_sdks_fail_function_sets_type_and_message($language).await;
            }

            #[tokio::test]
            async fn warm_instances_answer_many_times() {
                super::warm_instances_answer_many_times($language).await;
            }

            #[tokio::test]
            async fn large_events_pass_through_the_glue() {
                super::large_events_pass_through_the_glue($language).await;
            }

            #[tokio::test]
            async fn a_malformed_event_is_refused_not_crashed() {
                super::a_malformed_event_is_refused_not_crashed($language).await;
            }
        }
    )*};
}

native_tests! {
    c => Native::C,
    go => Native::Go,
    zig => Native::Zig,
    assemblyscript => Native::AssemblyScript,
}

#[tokio::test]
async fn cold_phases_split_a_cold_start() {
    for language in Native::ALL {
        let function = load("calculator", language.example("calculator"), |_| {});
        let phases =
            wasm_lambda::bench::cold_phases(&function, r#"{"action":"increment","number":3}"#)
                .await
                .unwrap_or_else(|error| panic!("{language:?}: {error:#}"));
        assert!(phases.instantiate > Duration::ZERO, "{language:?}");
        assert!(phases.first_call > Duration::ZERO, "{language:?}");
    }
}

/// The host-overhead benchmark's bare baselines (`wasm_lambda::bare`) run
/// each handler to the same answer as the host, so that the benchmark
/// compares the same work.
#[tokio::test]
async fn the_bare_wasmtime_baselines_answer_as_the_host_does() {
    use wasm_lambda::bare::{Bare, BareWorld};
    let event = r#"{"action":"increment","number":3}"#;
    for language in Native::ALL {
        let function = load("calculator", language.example("calculator"), |_| {});
        let hosted = function.invoke(InvokeRequest::new(event)).await.unwrap();
        assert!(hosted.function_error().is_none(), "{language:?}");
        for world in [BareWorld::Empty, BareWorld::AsHosted] {
            let bare = Bare::new(&function, world)
                .unwrap_or_else(|error| panic!("{language:?} {world:?}: {error:#}"));
            let answer = bare
                .invoke(event)
                .await
                .unwrap_or_else(|error| panic!("{language:?} {world:?}: {error:#}"));
            assert_eq!(answer, hosted.payload(), "{language:?} {world:?}");
        }
    }
}

/// A throwaway project folder holding `files`.
fn project(files: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for (name, text) in files {
        std::fs::write(dir.path().join(name), text).unwrap();
    }
    dir
}

/// Builds a throwaway project with `files`; returns the build's error text.
fn build_error(files: &[(&str, &str)]) -> String {
    let dir = project(files);
    match wasm_lambda::build::build(
        &wasm_lambda::build::BuildOptions::new(dir.path()),
        &mut |_| {},
    ) {
        Ok(output) => panic!("{} built", output.component.display()),
        Err(error) => format!("{error:#}"),
    }
}

#[test]
fn build_errors_name_the_users_files_and_say_what_is_missing() {
    let c_typo = build_error(&[(
        "handler.c",
        "#include \"wasm_lambda.h\"\nstatic cJSON *h(const cJSON *e, const wasm_lambda_context *c) { return oops; }\nWASM_LAMBDA_HANDLER(h)\n",
    )]);
    assert!(c_typo.contains("handler.c:2:"), "{c_typo}");
    assert!(c_typo.contains("oops"), "{c_typo}");
    assert!(
        !c_typo.contains("wasm-lambda-c-"),
        "no staging paths: {c_typo}"
    );

    let c_unnamed = build_error(&[(
        "handler.c",
        "#include \"wasm_lambda.h\"\ncJSON *h(const cJSON *e, const wasm_lambda_context *c) { return 0; }\n",
    )]);
    assert!(
        c_unnamed.contains("WASM_LAMBDA_HANDLER(function)"),
        "{c_unnamed}"
    );

    let go_without_sdk = build_error(&[
        ("go.mod", "module bad\n\ngo 1.27\n"),
        ("main.go", "package main\n\nfunc main() {}\n"),
    ]);
    assert!(
        go_without_sdk.contains("lambda.Start(handler)"),
        "{go_without_sdk}"
    );

    let zig_wrong_shape = build_error(&[(
        "handler.zig",
        "const lambda = @import(\"lambda.zig\");\npub fn handler(x: u32) !u32 { return x; }\n",
    )]);
    assert!(
        zig_wrong_shape.contains("pub fn handler(event: T"),
        "{zig_wrong_shape}"
    );

    let as_wrong_shape =
        build_error(&[("index.ts", "export function handler(): i32 { return 1; }\n")]);
    assert!(
        as_wrong_shape.contains("export `function handler(event: JSONValue"),
        "{as_wrong_shape}"
    );

    let zig_without_handler = build_error(&[("other.zig", "pub fn f() void {}\n")]);
    assert!(
        zig_without_handler.contains("no handler.zig"),
        "{zig_without_handler}"
    );
}

/// Builds a throwaway project with `files` and loads it.
fn build_and_load(files: &[(&str, &str)]) -> (tempfile::TempDir, wasm_lambda::Function) {
    let dir = project(files);
    let built = wasm_lambda::build::build(
        &wasm_lambda::build::BuildOptions::new(dir.path()),
        &mut |_| {},
    )
    .unwrap_or_else(|error| panic!("{error:#}"));
    let function = load("crash", &built.component, |_| {});
    (dir, function)
}

#[tokio::test]
async fn crashes_end_the_invocation_not_the_host() {
    // A Go panic is recovered by the SDK: a function error with Go's stack.
    let (_dir, go) = build_and_load(&[
        ("go.mod", "module crash\n\ngo 1.27\n"),
        (
            "main.go",
            "package main\n\nimport \"wasm-lambda.local/lambda\"\n\nfunc h() (int, error) { var m map[string]int; m[\"x\"] = 1; return 0, nil }\n\nfunc main() { lambda.Start(h) }\n",
        ),
    ]);
    let invocation = invoke(&go, "{}").await;
    let error = invocation
        .function_error()
        .expect("the panic fails the invocation");
    assert_eq!(error.error_type, "plainError");
    assert_eq!(error.error_message, "assignment to entry in nil map");
    assert!(
        invocation.payload().contains("\"stackTrace\":[\"goroutine"),
        "{}",
        invocation.payload()
    );

    // An AssemblyScript abort is reported in the log, then traps.
    let (_dir, assemblyscript) = build_and_load(&[(
        "index.ts",
        "import { Context, JSONValue, Result } from \"./wasm-lambda\";\nexport function handler(e: JSONValue, c: Context): Result { assert(false, \"boom\"); return Result.ok(e); }\n",
    )]);
    let invocation = invoke(&assemblyscript, "{}").await;
    assert_eq!(
        invocation.function_error().unwrap().error_type,
        "Runtime.ExitError"
    );
    assert_in_order(
        &invocation.log,
        &["abort: boom at index.ts:2:", "Runtime.ExitError"],
    );

    // A Zig panic traps the same way; C's abort() too.
    let (_dir, zig) = build_and_load(&[(
        "handler.zig",
        "const std = @import(\"std\");\nconst lambda = @import(\"lambda.zig\");\npub fn handler(e: std.json.Value, c: *lambda.Context) !u32 { _ = e; _ = c; @panic(\"boom\"); }\n",
    )]);
    let invocation = invoke(&zig, "{}").await;
    assert_eq!(
        invocation.function_error().unwrap().error_type,
        "Runtime.ExitError"
    );
    assert_in_order(&invocation.log, &["panic: boom"]);

    let (_dir, c) = build_and_load(&[(
        "handler.c",
        "#include <stdlib.h>\n#include \"wasm_lambda.h\"\nstatic cJSON *h(const cJSON *e, const wasm_lambda_context *c) { abort(); }\nWASM_LAMBDA_HANDLER(h)\n",
    )]);
    let invocation = invoke(&c, "{}").await;
    assert_eq!(
        invocation.function_error().unwrap().error_type,
        "Runtime.ExitError"
    );

    // The host goes on: the next function still answers.
    let calculator = load("calculator", Native::C.example("calculator"), |_| {});
    let invocation = invoke(&calculator, r#"{"action":"increment","number":1}"#).await;
    assert_eq!(invocation.payload(), r#"{"result":2}"#);
}

/// A Go project that requires a module the build does not provide (here the
/// AWS SDK for Go, as many published handlers do) fails before Go runs,
/// naming the module and its go.mod line; aws-lambda-go itself is provided.
#[test]
fn a_go_module_the_build_cannot_provide_fails_the_build_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("go.mod"),
        "module example.com/orders\n\ngo 1.22\n\nrequire (\n\tgithub.com/aws/aws-lambda-go v1.47.0\n\tgithub.com/aws/aws-sdk-go-v2/service/s3 v1.58.0\n)\n",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("main.go"),
        "package main\n\nimport (\n\t\"github.com/aws/aws-lambda-go/lambda\"\n\t_ \"github.com/aws/aws-sdk-go-v2/service/s3\"\n)\n\nfunc main() { lambda.Start(func() error { return nil }) }\n",
    )
    .unwrap();
    let options = wasm_lambda::build::BuildOptions::new(dir.path());
    let error = match wasm_lambda::build::build(&options, &mut |_| {}) {
        Ok(built) => panic!("the build succeeded: {}", built.component.display()),
        Err(error) => format!("{error:#}"),
    };
    assert!(
        error.contains(
            "go.mod requires github.com/aws/aws-sdk-go-v2/service/s3 v1.58.0 (go.mod line 7), which the build cannot provide"
        ),
        "{error}"
    );
    assert!(!error.contains("aws-lambda-go v1.47.0"), "{error}");
}
