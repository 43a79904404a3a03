//! The `wasm-lambda` command: stdout, stderr and exit status.

use std::path::Path;

use crate::common::{Native, assert_in_order, guest, json, repo_root, text, wasm_lambda};

fn path(path: &Path) -> &str {
    path.to_str().unwrap()
}

#[test]
fn invoke_prints_the_payload_and_logs_the_invocation() {
    let output = wasm_lambda(
        &[
            "invoke",
            path(guest("examples/rust/hello")),
            "--event",
            r#"{"first_name":"John","last_name":"Smith"}"#,
        ],
        None,
    );
    assert_eq!(output.status.code(), Some(0), "{}", text(&output.stderr));
    assert_eq!(
        text(&output.stdout),
        "{\"message\":\"Hello John Smith!\"}\n"
    );
    assert_in_order(
        &text(&output.stderr),
        &[
            "START RequestId: ",
            " Version: $LATEST",
            "END RequestId: ",
            "REPORT RequestId: ",
        ],
    );
}

#[test]
fn invoke_reads_the_event_from_stdin_or_a_file() {
    let event = r#"{"action":"increment","number":3}"#;
    let output = wasm_lambda(
        &["invoke", path(guest("examples/rust/calculator"))],
        Some(event),
    );
    assert_eq!(text(&output.stdout), "{\"result\":4}\n");

    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("event.json");
    std::fs::write(&file, event).unwrap();
    let output = wasm_lambda(
        &[
            "invoke",
            path(guest("examples/rust/calculator")),
            "--event-file",
            path(&file),
        ],
        None,
    );
    assert_eq!(text(&output.stdout), "{\"result\":4}\n");
}

#[test]
fn invoke_passes_settings_to_the_function() {
    let output = wasm_lambda(
        &[
            "invoke",
            path(guest("host/tests/guests/probe")),
            "--event",
            r#"{"action":"env"}"#,
            "--env",
            "STAGE=test",
            "--memory",
            "256",
            "--function-name",
            "my-func",
            "--region",
            "ap-south-1",
        ],
        None,
    );
    assert_eq!(output.status.code(), Some(0), "{}", text(&output.stderr));
    let env = json(&text(&output.stdout));
    assert_eq!(env["STAGE"], "test");
    assert_eq!(env["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"], "256");
    assert_eq!(env["AWS_LAMBDA_FUNCTION_NAME"], "my-func");
    assert_eq!(env["AWS_REGION"], "ap-south-1");
    assert!(text(&output.stderr).contains("Memory Size: 256 MB"));
}

#[test]
fn a_function_error_exits_1_with_the_error_json_on_stdout() {
    let output = wasm_lambda(
        &[
            "invoke",
            path(guest("host/tests/guests/probe")),
            "--event",
            r#"{"action":"error"}"#,
        ],
        None,
    );
    assert_eq!(output.status.code(), Some(1));
    assert_eq!(json(&text(&output.stdout))["errorType"], "ProbeError");
}

#[test]
fn a_timeout_exits_1_with_sandbox_timedout() {
    let output = wasm_lambda(
        &[
            "invoke",
            path(guest("host/tests/guests/probe")),
            "--event",
            r#"{"action":"loop"}"#,
            "--timeout",
            "0.3",
        ],
        None,
    );
    assert_eq!(output.status.code(), Some(1));
    let error = json(&text(&output.stdout));
    assert_eq!(error["errorType"], "Sandbox.Timedout");
    assert!(
        error["errorMessage"]
            .as_str()
            .unwrap()
            .ends_with("Task timed out after 0.30 seconds")
    );
}

#[test]
fn usage_and_load_errors_exit_2_with_one_line() {
    let bad_event = wasm_lambda(
        &[
            "invoke",
            path(guest("examples/rust/hello")),
            "--event",
            "nope",
        ],
        None,
    );
    assert_eq!(bad_event.status.code(), Some(2));
    assert!(bad_event.stdout.is_empty());
    let stderr = text(&bad_event.stderr);
    assert!(
        stderr.starts_with("error: InvalidRequestContentException: "),
        "{stderr}"
    );
    assert_eq!(stderr.lines().count(), 1, "{stderr}");

    let not_wasm = wasm_lambda(&["invoke", path(&repo_root().join("Cargo.toml"))], None);
    assert_eq!(not_wasm.status.code(), Some(2));
    assert!(text(&not_wasm.stderr).contains("is not a WebAssembly component"));

    let other_world = wasm_lambda(&["invoke", path(guest("host/tests/guests/command"))], None);
    assert_eq!(other_world.status.code(), Some(2));
    assert!(text(&other_world.stderr).contains(wasm_lambda::WORLD));

    let usage = wasm_lambda(&["invoke"], None);
    assert_eq!(usage.status.code(), Some(2));
}

#[test]
fn build_prints_where_the_component_went() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("calc.wasm");
    let example = repo_root().join("examples/rust/calculator");
    let output = wasm_lambda(&["build", path(&example), "-o", path(&out)], None);
    assert_eq!(output.status.code(), Some(0), "{}", text(&output.stderr));
    assert_eq!(text(&output.stdout).trim_end(), path(&out));
    assert!(text(&output.stderr).contains("built rust component"));
    let invoked = wasm_lambda(
        &[
            "invoke",
            path(&out),
            "--event",
            r#"{"action":"increment","number":3}"#,
        ],
        None,
    );
    assert_eq!(text(&invoked.stdout), "{\"result\":4}\n");
}

#[test]
fn build_refuses_a_folder_it_cannot_read() {
    let dir = tempfile::tempdir().unwrap();
    let output = wasm_lambda(&["build", path(dir.path())], None);
    assert_eq!(output.status.code(), Some(2));
    assert!(text(&output.stderr).contains("cannot tell the language"));
}

/// A folder whose files name two languages is refused with both named and
/// the flag to choose; `--language` then builds it as the one chosen.
#[test]
fn build_of_a_two_language_folder_asks_for_language_and_builds_the_chosen_one() {
    let dir = tempfile::tempdir().unwrap();
    let root = crate::common::repo_root();
    std::fs::copy(
        root.join("examples/c/hello/handler.c"),
        dir.path().join("handler.c"),
    )
    .unwrap();
    std::fs::copy(
        root.join("examples/js/hello/index.mjs"),
        dir.path().join("index.mjs"),
    )
    .unwrap();
    let refused = wasm_lambda(&["build", path(dir.path())], None);
    assert_eq!(refused.status.code(), Some(2));
    let stderr = text(&refused.stderr);
    assert!(
        stderr.contains("handler.c (C) and index.mjs (JavaScript)"),
        "{stderr}"
    );
    assert!(stderr.contains("--language c|javascript"), "{stderr}");

    let component = dir.path().join("chosen.wasm");
    let built = wasm_lambda(
        &[
            "build",
            path(dir.path()),
            "--language",
            "c",
            "-o",
            path(&component),
        ],
        None,
    );
    assert!(built.status.success(), "{}", text(&built.stderr));
    let invoked = wasm_lambda(
        &[
            "invoke",
            path(&component),
            "--event",
            r#"{"first_name":"John","last_name":"Smith"}"#,
        ],
        None,
    );
    assert_eq!(
        text(&invoked.stdout),
        "{\"message\":\"Hello John Smith!\"}\n"
    );
}

/// Every language's hello through `invoke`: the payload as its Lambda
/// runtime serialises it (Python's `json.dumps` spacing, compact otherwise).
#[test]
fn every_hello_prints_the_message_as_its_runtime_serialises_it() {
    let compact = "{\"message\":\"Hello John Smith!\"}\n";
    let mut table = vec![
        (
            "examples/python/hello".to_string(),
            "{\"message\": \"Hello John Smith!\"}\n",
        ),
        ("examples/js/hello".to_string(), compact),
    ];
    table.extend(
        Native::ALL.map(|language| (format!("examples/{}/hello", language.dir()), compact)),
    );
    for (project, expected) in table {
        let output = wasm_lambda(
            &[
                "invoke",
                path(guest(&project)),
                "--event",
                r#"{"first_name":"John","last_name":"Smith"}"#,
            ],
            None,
        );
        assert_eq!(
            output.status.code(),
            Some(0),
            "{project}: {}",
            text(&output.stderr)
        );
        assert_eq!(text(&output.stdout), expected, "{project}");
    }
}

#[test]
fn every_native_calculator_answers_through_invoke() {
    for language in Native::ALL {
        let calculator = language.example("calculator");
        let output = wasm_lambda(
            &[
                "invoke",
                path(calculator),
                "--event",
                r#"{"action":"increment","number":3}"#,
            ],
            None,
        );
        assert_eq!(
            output.status.code(),
            Some(0),
            "{language:?}: {}",
            text(&output.stderr)
        );
        assert_eq!(text(&output.stdout), "{\"result\":4}\n", "{language:?}");
    }
}

#[test]
fn build_detects_each_native_language() {
    for (language, runtime) in [
        (Native::C, "c"),
        (Native::Go, "go"),
        (Native::Zig, "zig"),
        (Native::AssemblyScript, "assemblyscript"),
    ] {
        let dir = repo_root()
            .join("examples")
            .join(language.dir())
            .join("hello");
        assert_eq!(
            wasm_lambda::build::detect_language(&dir).unwrap().runtime(),
            runtime
        );
    }
}

#[test]
fn bench_reports_each_component_in_order_as_json() {
    let chart = tempfile::Builder::new().suffix(".svg").tempfile().unwrap();
    let calculator = Native::C.example("calculator");
    let output = wasm_lambda(
        &[
            "bench",
            path(guest("examples/rust/calculator")),
            path(calculator),
            "--event",
            r#"{"action":"increment","number":3}"#,
            "--iterations",
            "25",
            "--json",
            "--chart",
            path(chart.path()),
            "--vs-native",
            "cat",
            "--mixed",
        ],
        None,
    );
    assert_eq!(output.status.code(), Some(0), "{}", text(&output.stderr));
    let results = json(&text(&output.stdout));
    let results = results.as_array().expect("a JSON array");
    assert_eq!(results.len(), 2);
    assert_eq!(
        results[0]["component"],
        path(guest("examples/rust/calculator"))
    );
    assert_eq!(results[0]["language"], "rust");
    assert_eq!(results[1]["component"], path(calculator));
    assert_eq!(results[1]["language"], "c");
    for result in results {
        assert_eq!(result["iterations"], 25);
        for phase in ["cold", "warm", "native"] {
            let figure = |stat: &str| {
                result[format!("{phase}_{stat}_us")]
                    .as_f64()
                    .unwrap_or_else(|| panic!("{phase}_{stat}_us in {result}"))
            };
            if phase == "native" {
                assert!(
                    figure("p50") > 0.0 && figure("p50") <= figure("p99"),
                    "{result}"
                );
                continue;
            }
            assert!(figure("min") > 0.0, "{result}");
            assert!(figure("min") <= figure("p50"), "{result}");
            assert!(figure("p50") <= figure("p90"), "{result}");
            assert!(figure("p90") <= figure("p99"), "{result}");
        }
        let ratio = result["native_ratio"].as_f64().unwrap();
        let expected =
            result["native_p50_us"].as_f64().unwrap() / result["cold_p50_us"].as_f64().unwrap();
        assert!(
            (ratio - expected).abs() < 0.01 * expected.max(1.0),
            "{result}"
        );
        // The components' cold starts taken in turn, beside the back-to-back ones.
        let mixed = result["mixed_p50_us"].as_f64().unwrap();
        assert!(
            mixed > 0.0 && mixed <= result["mixed_p99_us"].as_f64().unwrap(),
            "{result}"
        );
        let expected = mixed / result["cold_p50_us"].as_f64().unwrap();
        let ratio = result["mixed_ratio"].as_f64().unwrap();
        assert!(
            (ratio - expected).abs() < 0.01 * expected.max(1.0),
            "{result}"
        );
    }
    let svg = std::fs::read_to_string(chart.path()).unwrap();
    assert!(svg.starts_with("<svg"), "{}", &svg[..svg.len().min(200)]);
    assert!(
        svg.contains("rust (calculator)"),
        "the chart labels the bars"
    );
    assert!(svg.contains("c (calculator)"));
    assert!(svg.contains("native process p50"));
}

#[test]
fn bench_prints_a_table_without_json() {
    let output = wasm_lambda(
        &[
            "bench",
            path(guest("examples/rust/hello")),
            "--event",
            r#"{"first_name":"John","last_name":"Smith"}"#,
            "-n",
            "5",
        ],
        None,
    );
    assert_eq!(output.status.code(), Some(0), "{}", text(&output.stderr));
    let table = text(&output.stdout);
    let lines: Vec<&str> = table.lines().collect();
    assert_eq!(lines.len(), 3, "{table}");
    assert!(
        lines[0].starts_with("component") && lines[0].contains("cold p50"),
        "{table}"
    );
    assert!(
        lines[2].contains("hello.wasm") && lines[2].contains("rust"),
        "{table}"
    );
}

#[test]
fn bench_refuses_mismatched_native_commands_and_bad_events() {
    let hello = path(guest("examples/rust/hello"));
    let output = wasm_lambda(
        &[
            "bench",
            hello,
            hello,
            hello,
            "--vs-native",
            "true",
            "--vs-native",
            "true",
        ],
        None,
    );
    assert_eq!(output.status.code(), Some(2));
    assert!(
        text(&output.stderr).contains("--vs-native"),
        "{}",
        text(&output.stderr)
    );

    let output = wasm_lambda(&["bench", hello, "--mixed"], None);
    assert_eq!(output.status.code(), Some(2));
    assert!(
        text(&output.stderr).contains("--mixed"),
        "{}",
        text(&output.stderr)
    );

    let output = wasm_lambda(&["bench", hello, "--event", "{not json"], None);
    assert_eq!(output.status.code(), Some(2));
    assert!(text(&output.stderr).contains("not valid JSON"));

    let output = wasm_lambda(&["bench", hello, "--vs-native", "false", "-n", "2"], None);
    assert_eq!(output.status.code(), Some(2));
    assert!(
        text(&output.stderr).contains("native command"),
        "{}",
        text(&output.stderr)
    );
}

/// A shell's start-up is not part of the native figure: the command's words
/// reach its program as they are. Through a shell, `$0` would be the
/// shell's name and `test` would fail.
#[test]
fn bench_runs_the_native_command_without_a_shell() {
    let hello = path(guest("examples/rust/hello"));
    let output = wasm_lambda(
        &["bench", hello, "--vs-native", "test $0 = '$0'", "-n", "2"],
        None,
    );
    assert_eq!(output.status.code(), Some(0), "{}", text(&output.stderr));
    let output = wasm_lambda(
        &[
            "bench",
            hello,
            "--vs-native",
            "sh -c 'test $0 = sh'",
            "-n",
            "2",
        ],
        None,
    );
    assert_eq!(output.status.code(), Some(0), "{}", text(&output.stderr));
}
