//! External extensions beside a function in `serve`: a real extension
//! written with the `lambda-extension` crate (`host/tests/extensions/
//! recorder`), run as a separate process, registers through the Extensions
//! API, gets an `INVOKE` for every invocation and `SHUTDOWN` when `serve`
//! stops; one that fails its init fails its function.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde_json::Value;

use crate::common::{guest, json, once, repo_root};
use crate::server::{Serve, aws_cli, toml_path};

/// The recorder extension, built once per run.
fn recorder() -> &'static PathBuf {
    static BUILT: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    once(&BUILT, || {
        let project = repo_root().join("host/tests/extensions/recorder");
        let target = repo_root().join("target/test-extensions");
        let output = Command::new("cargo")
            .args(["build", "--release", "--locked", "--manifest-path"])
            .arg(project.join("Cargo.toml"))
            .arg("--target-dir")
            .arg(&target)
            .output()
            .map_err(|error| format!("cargo did not run: {error}"))?;
        if !output.status.success() {
            return Err(format!(
                "the recorder extension did not build:\n{}",
                String::from_utf8_lossy(&output.stderr)
            ));
        }
        Ok(target.join("release/recorder"))
    })
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64
}

/// The records the extension wrote, whole lines only: the extension may
/// be writing one while the test reads, and a reader of a regular file can
/// see part of a write (it happened: a record cut at its 148th byte).
fn records(file: &Path) -> Vec<Value> {
    let text = std::fs::read_to_string(file).unwrap_or_default();
    let whole = text.rfind('\n').map_or("", |end| &text[..end]);
    whole.lines().map(json).collect()
}

/// Waits until the extension recorded `count` events of `kind`.
fn wait_for(file: &Path, kind: &str, count: usize) -> Vec<Value> {
    let started = Instant::now();
    loop {
        let found: Vec<Value> = records(file)
            .into_iter()
            .filter(|record| record["event"] == kind)
            .collect();
        if found.len() >= count {
            return found;
        }
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "{count} {kind} records expected: {:?}",
            records(file)
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// `serve` with the Rust hello and the recorder extension writing to
/// `file`; `settings` are more lines of the function's table, and
/// `environment` more `, NAME = "value"` pairs of its environment.
fn serve_hello_with_recorder(file: &Path, settings: &str, environment: &str) -> Serve {
    Serve::start(&format!(
        r#"
[[function]]
name = "hello"
component = {hello}
{settings}
extensions = [{recorder}]
environment = {{ RECORDER_FILE = {file}{environment} }}
"#,
        hello = toml_path(guest("examples/rust/hello")),
        recorder = toml_path(recorder()),
        file = toml_path(file),
    ))
}

#[test]
fn an_extension_gets_every_invoke_and_shutdown_when_serve_stops() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("events.jsonl");
    let mut serve = serve_hello_with_recorder(&file, "timeout = 7", "");
    // The init waited for the extension: it started before serve listened.
    assert_eq!(records(&file)[0]["event"], "START");

    let mut invoked = Vec::new();
    for _ in 0..3 {
        let before = now_ms();
        let answer = serve.boto3(&["invoke", "hello", r#"{"first_name":"A","last_name":"B"}"#]);
        assert_eq!(answer["Payload"], r#"{"message":"Hello A B!"}"#, "{answer}");
        invoked.push((answer["RequestId"].as_str().unwrap().to_string(), before));
    }
    let events = wait_for(&file, "INVOKE", 3);
    assert_eq!(events.len(), 3, "{events:?}");
    for ((request_id, before), event) in invoked.iter().zip(&events) {
        assert_eq!(event["requestId"], request_id.as_str(), "{event}");
        assert_eq!(
            event["invokedFunctionArn"],
            "arn:aws:lambda:us-east-1:000000000000:function:hello"
        );
        // The deadline is the invocation's: its start plus the 7 s timeout.
        let deadline = event["deadlineMs"].as_u64().unwrap();
        assert!(
            deadline >= before + 7_000 && deadline <= now_ms() + 7_000,
            "{event}"
        );
        assert!(
            event["trace"].as_str().unwrap().starts_with("Root=1-"),
            "{event}"
        );
    }

    // SIGTERM: SHUTDOWN comes with Lambda's 2 s budget, and the extension
    // process is gone when serve has exited.
    let signalled = now_ms();
    // SAFETY: kill(2) on our own child's pid.
    unsafe { libc::kill(serve.child.id() as i32, libc::SIGTERM) };
    let status = serve.child.wait().unwrap();
    assert!(
        status.success(),
        "serve exited with {status}\n{}",
        serve.log()
    );
    let shutdown = wait_for(&file, "SHUTDOWN", 1);
    assert_eq!(shutdown[0]["reason"], "spindown");
    let deadline = shutdown[0]["deadlineMs"].as_u64().unwrap();
    assert!(
        deadline >= signalled + 2_000 && deadline <= now_ms() + 2_000,
        "{shutdown:?}"
    );
    let pid = records(&file)[0]["pid"].as_u64().unwrap();
    assert!(
        !Path::new(&format!("/proc/{pid}")).exists(),
        "the extension (pid {pid}) outlived serve"
    );
}

#[test]
fn an_extension_dies_with_a_killed_serve() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("events.jsonl");
    let mut serve = serve_hello_with_recorder(&file, "", r#", RECORDER_STAY = "1""#);
    let pid = records(&file)[0]["pid"].as_u64().unwrap();
    let running = |pid: u64| {
        // A zombie has exited: only its parent's wait is missing.
        std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|stat| {
            !stat
                .rsplit(')')
                .next()
                .unwrap_or("")
                .trim_start()
                .starts_with('Z')
        })
    };
    assert!(running(pid), "the extension (pid {pid}) runs beside serve");
    // SIGKILL: serve cannot send SHUTDOWN or stop its children, and the
    // extension (RECORDER_STAY) outlives the API it lost: only the
    // server's death signal ends it.
    serve.child.kill().unwrap();
    serve.child.wait().unwrap();
    let started = Instant::now();
    while running(pid) {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "the extension (pid {pid}) outlived a killed serve"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(
        !records(&file)
            .iter()
            .any(|record| record["event"] == "SHUTDOWN"),
        "a killed serve sent no SHUTDOWN"
    );
}

#[test]
fn an_extension_that_exits_during_init_fails_its_function() {
    let serve = Serve::start(&format!(
        r#"
[[function]]
name = "broken"
component = {hello}
extensions = ["/bin/false"]

[[function]]
name = "fine"
component = {hello}
"#,
        hello = toml_path(guest("examples/rust/hello")),
    ));
    let refused = serve.boto3(&["invoke", "broken", "{}"]);
    assert_eq!(refused["error"], "ResourceConflictException", "{refused}");
    assert!(
        refused["message"]
            .as_str()
            .unwrap()
            .ends_with("state: Failed"),
        "{refused}"
    );
    let got = json(&aws_cli(
        &serve,
        &serve.endpoint,
        &["lambda", "get-function", "--function-name", "broken"],
    ));
    let configuration = &got["Configuration"];
    assert_eq!(configuration["State"], "Failed", "{got}");
    assert_eq!(
        configuration["StateReasonCode"],
        "FunctionError.ExtensionInitError"
    );
    assert!(
        configuration["StateReason"]
            .as_str()
            .unwrap()
            .contains("/bin/false"),
        "{got}"
    );
    // The other function serves.
    let answer = serve.boto3(&["invoke", "fine", r#"{"first_name":"A","last_name":"B"}"#]);
    assert_eq!(answer["Payload"], r#"{"message":"Hello A B!"}"#);
}

/// The telemetry records the extension received, as the `lambda-extension`
/// crate's types read them (a record they could not read fails the whole
/// batch, which the extension then never records).
fn telemetry(file: &Path) -> Vec<Value> {
    records(file)
        .into_iter()
        .filter(|record| record["event"] == "TELEMETRY")
        .collect()
}

/// `serve` with the probe and the recorder extension, which subscribes
/// through the API that `port_variable` (`RECORDER_TELEMETRY_PORT` or
/// `RECORDER_LOGS_PORT`) names, listening on a free port; `settings` are
/// more lines of the function's table.
fn serve_probe_with_recorder(file: &Path, port_variable: &str, settings: &str) -> Serve {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    Serve::start(&format!(
        r#"
[[function]]
name = "probe"
component = {probe}
{settings}
extensions = [{recorder}]
environment = {{ RECORDER_FILE = {file}, {port_variable} = "{port}" }}
"#,
        probe = toml_path(guest("host/tests/guests/probe")),
        recorder = toml_path(recorder()),
        file = toml_path(file),
    ))
}

/// Two invocations of the probe's `print` (two lines each); their request
/// ids.
fn print_twice(serve: &Serve) -> Vec<String> {
    (0..2)
        .map(|_| {
            let answer = serve.boto3(&["invoke", "probe", r#"{"action":"print"}"#]);
            assert_eq!(answer["Payload"], "\"printed\"", "{answer}");
            answer["RequestId"].as_str().unwrap().to_string()
        })
        .collect()
}

#[test]
fn a_telemetry_subscription_gets_every_platform_record_and_each_log_line() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("events.jsonl");
    let serve = serve_probe_with_recorder(&file, "RECORDER_TELEMETRY_PORT", "");
    let ids = print_twice(&serve);
    let started = Instant::now();
    let received = loop {
        let received = telemetry(&file);
        let reported = received
            .iter()
            .filter(|record| record["telemetry"]["type"] == "platform.report")
            .count();
        if reported == 2 {
            break received;
        }
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "two platform.report records expected:\n{received:#?}\n{}",
            serve.log()
        );
        std::thread::sleep(Duration::from_millis(20));
    };
    let of_type = |kind: &str| -> Vec<&Value> {
        received
            .iter()
            .map(|record| &record["telemetry"])
            .filter(|telemetry| telemetry["type"] == kind)
            .collect()
    };
    // The init, once.
    for kind in [
        "platform.initStart",
        "platform.initRuntimeDone",
        "platform.initReport",
    ] {
        assert_eq!(of_type(kind).len(), 1, "{kind}: {received:#?}");
    }
    // Each invocation: start, its two lines, runtimeDone and report.
    for id in &ids {
        let of_request = |kind: &str| -> Vec<&Value> {
            of_type(kind)
                .into_iter()
                .filter(|telemetry| telemetry["record"]["requestId"] == id.as_str())
                .collect()
        };
        assert_eq!(of_request("platform.start").len(), 1, "{received:#?}");
        let done = of_request("platform.runtimeDone");
        assert_eq!(done.len(), 1, "{received:#?}");
        assert_eq!(done[0]["record"]["status"], "success");
        assert_eq!(done[0]["record"]["metrics"]["producedBytes"], 9);
        let report = of_request("platform.report");
        assert_eq!(report.len(), 1, "{received:#?}");
        let metrics = &report[0]["record"]["metrics"];
        assert_eq!(metrics["memorySizeMB"], 128);
        assert!(metrics["durationMs"].as_f64().unwrap() > 0.0, "{metrics}");
        assert!(
            metrics.get("initDurationMs").is_some(),
            "a cold start: {metrics}"
        );
    }
    let lines: Vec<&str> = of_type("function")
        .iter()
        .map(|telemetry| telemetry["record"].as_str().unwrap())
        .collect();
    assert_eq!(
        lines,
        ["to stdout", "to stderr", "to stdout", "to stderr"],
        "one function record per line, the platform's own and the extension's lines left out"
    );
    // The extension, announced once it registered.
    let announced = of_type("platform.extension");
    assert_eq!(announced.len(), 1, "{received:#?}");
    assert_eq!(announced[0]["record"]["name"], "recorder");
    assert_eq!(announced[0]["record"]["state"], "Ready");
    assert_eq!(
        announced[0]["record"]["events"],
        serde_json::json!(["INVOKE", "SHUTDOWN"])
    );
    // The extension's own output: a record per line it wrote after it
    // subscribed, and every line in the function's log. Its `started` line,
    // written just before it subscribes, may be read from its pipe after the
    // subscription is in place (one CI run on a loaded machine did): it is
    // then a record too, so it is left out of the comparison.
    let extension_lines = |received: &[Value]| -> Vec<String> {
        received
            .iter()
            .map(|record| &record["telemetry"])
            .filter(|telemetry| telemetry["type"] == "extension")
            .map(|telemetry| telemetry["record"].as_str().unwrap().to_string())
            .filter(|line| line != "recorder: started")
            .collect()
    };
    let expected: Vec<String> = ids
        .iter()
        .map(|id| format!("recorder: invoke {id}"))
        .collect();
    let started = Instant::now();
    while extension_lines(&telemetry(&file)) != expected {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "extension records {:?}, not {expected:?}",
            extension_lines(&telemetry(&file))
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let log = serve.log();
    for line in expected
        .iter()
        .map(String::as_str)
        .chain(["recorder: started"])
    {
        assert!(log.contains(line), "{line:?} is not in the log:\n{log}");
    }
    // No batch over the subscription's maxItems.
    assert!(
        received
            .iter()
            .all(|record| record["batch"].as_u64().unwrap() <= 1_000)
    );
}

#[test]
fn a_telemetry_subscription_gets_each_line_while_the_invocation_runs() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("events.jsonl");
    let serve = serve_probe_with_recorder(&file, "RECORDER_TELEMETRY_PORT", "timeout = 60");
    // The probe prints its two lines, then waits 20 s before it answers.
    let lines = |received: &[Value]| -> Vec<String> {
        received
            .iter()
            .map(|record| &record["telemetry"])
            .filter(|telemetry| telemetry["type"] == "function")
            .map(|telemetry| telemetry["record"].as_str().unwrap().to_string())
            .collect()
    };
    std::thread::scope(|scope| {
        let invocation = scope
            .spawn(|| serve.boto3(&["invoke", "probe", r#"{"action":"print","millis":20000}"#]));
        let started = Instant::now();
        loop {
            let received = telemetry(&file);
            if lines(&received) == ["to stdout", "to stderr"] {
                // Records published at the invocation's end could not be
                // here before its answer.
                assert!(
                    !invocation.is_finished(),
                    "the lines arrived only with the answer:\n{received:#?}"
                );
                let kinds: Vec<&str> = received
                    .iter()
                    .map(|record| record["telemetry"]["type"].as_str().unwrap())
                    .filter(|kind| {
                        [
                            "platform.start",
                            "function",
                            "platform.runtimeDone",
                            "platform.report",
                        ]
                        .contains(kind)
                    })
                    .collect();
                assert_eq!(
                    kinds,
                    ["platform.start", "function", "function"],
                    "the start first, nothing of the end yet: {received:#?}"
                );
                break;
            }
            assert!(
                !invocation.is_finished() && started.elapsed() < Duration::from_secs(30),
                "the two lines were not published while the invocation ran: {received:#?}\n{}",
                serve.log()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        let answer = invocation.join().unwrap();
        assert_eq!(answer["Payload"], "\"printed\"", "{answer}");
    });
    // The end follows.
    let started = Instant::now();
    while !telemetry(&file)
        .iter()
        .any(|record| record["telemetry"]["type"] == "platform.report")
    {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "no platform.report"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn a_logs_api_subscription_gets_the_2021_schemas_records() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("events.jsonl");
    let serve = serve_probe_with_recorder(&file, "RECORDER_LOGS_PORT", "");
    let answer = serve.boto3(&["invoke", "probe", r#"{"action":"print"}"#]);
    assert_eq!(answer["Payload"], "\"printed\"", "{answer}");
    let id = answer["RequestId"].as_str().unwrap().to_string();
    // The records as the `lambda-extension` crate's Logs API types read
    // them (a record they could not read fails its batch, never recorded).
    let logs = |file: &Path| -> Vec<Value> {
        records(file)
            .into_iter()
            .filter(|record| record["event"] == "LOGS")
            .collect()
    };
    let started = Instant::now();
    let received = loop {
        let received = logs(&file);
        if received
            .iter()
            .any(|record| record["type"] == "platform.report")
        {
            break received;
        }
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "a platform.report record expected:\n{received:#?}\n{}",
            serve.log()
        );
        std::thread::sleep(Duration::from_millis(20));
    };
    let kinds: Vec<&str> = received
        .iter()
        .map(|record| record["type"].as_str().unwrap())
        .collect();
    // The subscription first, the extension once registered, then the
    // invocation in the order Lambda sends it; no record of the Telemetry
    // API's schema (the init records), and none the crate could not name.
    assert_eq!(
        kinds,
        [
            "platform.logsSubscription",
            "platform.extension",
            "platform.start",
            "function",
            "function",
            "platform.runtimeDone",
            "platform.end",
            "platform.report",
        ],
        "{received:#?}"
    );
    assert_eq!(received[0]["record"]["state"], "Subscribed");
    assert_eq!(
        received[0]["record"]["types"],
        serde_json::json!(["platform", "function"])
    );
    assert_eq!(received[1]["record"]["name"], "recorder");
    assert_eq!(received[1]["record"]["state"], "Ready");
    for record in &received[2..] {
        if record["type"] != "function" {
            assert_eq!(record["record"]["requestId"], id.as_str(), "{record}");
        }
    }
    assert_eq!(received[3]["record"]["line"], "to stdout");
    assert_eq!(received[4]["record"]["line"], "to stderr");
    assert_eq!(received[5]["record"]["status"], "success");
    let report = &received[7]["record"];
    assert_eq!(report["memorySizeMB"], 128);
    assert!(report["durationMs"].as_f64().unwrap() > 0.0, "{report}");
    assert!(
        report["initDurationMs"].as_f64().is_some(),
        "a cold start: {report}"
    );
}

/// `serve` with the probe and the component built from `extension` as its
/// extension.
fn serve_probe_with_component(extension: &str) -> Serve {
    Serve::start(&format!(
        r#"
[[function]]
name = "probe"
component = {probe}
extension_components = [{extension}]
"#,
        probe = toml_path(guest("host/tests/guests/probe")),
        extension = toml_path(guest(extension)),
    ))
}

#[test]
fn a_component_extension_gets_the_functions_records_as_its_events() {
    let serve = serve_probe_with_component("host/tests/guests/python/telemetry_shipper");
    let ids = print_twice(&serve);
    // Lambda's default buffering sends a batch a second after its first
    // record; each batch is one invocation of the component.
    for id in &ids {
        serve.wait_for_log(
            &format!("shipped platform.report {id}"),
            Duration::from_secs(30),
        );
    }
    let log = serve.log();
    for id in &ids {
        for kind in ["platform.start", "platform.runtimeDone"] {
            assert!(
                log.contains(&format!("shipped {kind} {id}")),
                "{kind} of {id} was not shipped:\n{log}"
            );
        }
    }
    for line in [
        "shipped platform.telemetrySubscription",
        "shipped platform.initStart",
        "shipped platform.extension",
    ] {
        assert!(log.contains(line), "{line:?} is not in the log:\n{log}");
    }
    assert_eq!(
        log.matches("shipped function to stdout").count(),
        2,
        "one function record per line of each invocation:\n{log}"
    );
    // The shipper's own lines are its own: they are not records of the
    // function it observes, so nothing feeds back.
    assert!(!log.contains("shipped function shipped"), "{log}");
}

#[test]
fn a_component_extension_that_fails_harms_not_the_function_it_observes() {
    // The import fails: every batch is a failed invocation of the shipper.
    let serve = serve_probe_with_component("host/tests/guests/python/import_error");
    for _ in 0..3 {
        let answer = serve.boto3(&["invoke", "probe", r#"{"action":"print"}"#]);
        assert_eq!(answer["Payload"], "\"printed\"", "{answer}");
    }
    let log = serve.wait_for_log("failed on a telemetry batch", Duration::from_secs(30));
    assert!(log.contains("Runtime.ImportModuleError"), "{log}");
    let answer = serve.boto3(&["invoke", "probe", r#"{"action":"print"}"#]);
    assert_eq!(answer["Payload"], "\"printed\"", "{answer}");
}
