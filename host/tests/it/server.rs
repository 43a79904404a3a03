//! `wasm-lambda serve` driven by real AWS clients: boto3 and the AWS CLI,
//! over real HTTP on loopback.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::common::{cache_dir, guest, guest_target_dir, json, repo_root};

/// A running `wasm-lambda serve`, stopped (with SIGINT) when dropped.
pub(crate) struct Serve {
    pub(crate) child: Child,
    pub(crate) endpoint: String,
    log: Arc<Mutex<String>>,
    _config_dir: tempfile::TempDir,
}

impl Serve {
    pub(crate) fn start(config: &str) -> Serve {
        let config_dir = tempfile::tempdir().unwrap();
        let state_dir = config_dir.path().join("state");
        Serve::start_with_state(config, config_dir, &state_dir)
    }

    /// Starts a server whose config file lives in `config_dir` and whose
    /// stored events live in `state_dir`, which may outlive it.
    pub(crate) fn start_with_state(
        config: &str,
        config_dir: tempfile::TempDir,
        state_dir: &Path,
    ) -> Serve {
        Serve::start_with_flags(config, config_dir, state_dir, &[])
    }

    /// [`Serve::start_with_state`], with more command-line flags.
    pub(crate) fn start_with_flags(
        config: &str,
        config_dir: tempfile::TempDir,
        state_dir: &Path,
        flags: &[&str],
    ) -> Serve {
        Serve::spawn(config, config_dir, state_dir, flags, &[])
    }

    /// [`Serve::start`] with more environment variables.
    pub(crate) fn start_with_env(config: &str, env: &[(&str, &str)]) -> Serve {
        let config_dir = tempfile::tempdir().unwrap();
        let state_dir = config_dir.path().join("state");
        Serve::spawn(config, config_dir, &state_dir, &[], env)
    }

    fn spawn(
        config: &str,
        config_dir: tempfile::TempDir,
        state_dir: &Path,
        flags: &[&str],
        env: &[(&str, &str)],
    ) -> Serve {
        let config_path = config_dir.path().join("functions.toml");
        std::fs::write(&config_path, config).unwrap();
        let mut child = Command::new(env!("CARGO_BIN_EXE_wasm-lambda"))
            .args(["serve", "--listen", "127.0.0.1:0", "--config"])
            .arg(&config_path)
            .arg("--state-dir")
            .arg(state_dir)
            .args(flags)
            .env("WASM_LAMBDA_CACHE_DIR", cache_dir())
            // Rust folders that `--watch` builds reuse the guests' compiled
            // dependencies.
            .env("CARGO_TARGET_DIR", guest_target_dir())
            .envs(env.iter().copied())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("the server starts");
        let stderr = BufReader::new(child.stderr.take().unwrap());
        let log = Arc::new(Mutex::new(String::new()));
        let (address_sender, address) = std::sync::mpsc::channel();
        let collected = log.clone();
        // Keep reading the server's log so it never blocks on a full pipe.
        std::thread::spawn(move || {
            for line in stderr.lines().map_while(Result::ok) {
                if let Some(address) = line.split(" on http://").nth(1) {
                    let _ = address_sender.send(address.to_string());
                }
                let mut log = collected.lock().unwrap();
                log.push_str(&line);
                log.push('\n');
            }
        });
        let address = address
            .recv_timeout(Duration::from_secs(120))
            .unwrap_or_else(|_| panic!("the server did not start:\n{}", log.lock().unwrap()));
        Serve {
            child,
            endpoint: format!("http://{address}"),
            log,
            _config_dir: config_dir,
        }
    }

    pub(crate) fn log(&self) -> String {
        self.log.lock().unwrap().clone()
    }

    /// Waits until the server's log contains `needle`.
    pub(crate) fn wait_for_log(&self, needle: &str, timeout: Duration) -> String {
        let started = Instant::now();
        loop {
            let log = self.log();
            if log.contains(needle) {
                return log;
            }
            assert!(
                started.elapsed() < timeout,
                "no {needle:?} in the log:\n{log}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    pub(crate) fn interrupt(&self) {
        let status = Command::new("kill")
            .args(["-INT", &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
    }

    pub(crate) fn boto3(&self, args: &[&str]) -> Value {
        let output = Command::new(python())
            .arg(repo_root().join("host/tests/clients/lambda_client.py"))
            .arg(&self.endpoint)
            .args(args)
            .output()
            .expect("the boto3 client runs");
        assert!(
            output.status.success(),
            "boto3 client failed: {}\nserver log:\n{}",
            String::from_utf8_lossy(&output.stderr),
            self.log()
        );
        json(&String::from_utf8_lossy(&output.stdout))
    }
}

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The AWS CLI against `endpoint` (the server's, or another service's such
/// as moto's S3): its standard output; a failure fails the test with the
/// server's log.
pub(crate) fn aws_cli(serve: &Serve, endpoint: &str, args: &[&str]) -> String {
    let output = Command::new(venv_bin("aws"))
        .args(args)
        .args(["--endpoint-url", endpoint])
        .env("AWS_ACCESS_KEY_ID", "test")
        .env("AWS_SECRET_ACCESS_KEY", "test")
        .env("AWS_DEFAULT_REGION", "us-east-1")
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "aws {args:?}: {}\nserver log:\n{}",
        String::from_utf8_lossy(&output.stderr),
        serve.log()
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn venv_bin(name: &str) -> PathBuf {
    let path = repo_root().join(".venv/bin").join(name);
    assert!(
        path.is_file(),
        "{} is missing: run scripts/setup.sh",
        path.display()
    );
    path
}

pub(crate) fn python() -> PathBuf {
    venv_bin("python")
}

pub(crate) fn toml_path(path: &Path) -> String {
    serde_json::to_string(path.to_str().unwrap()).unwrap()
}

pub(crate) fn standard_config() -> String {
    format!(
        r#"
event_retry_delay = 0.05

[[function]]
name = "hello"
component = {hello}

[[function]]
name = "probe"
component = {probe}
timeout = 10

[[function]]
name = "single"
component = {probe}
reserved_concurrency = 1
timeout = 10

[[function]]
name = "pyhello"
component = {pyhello}
"#,
        hello = toml_path(guest("examples/rust/hello")),
        probe = toml_path(guest("host/tests/guests/probe")),
        pyhello = toml_path(guest("examples/python/hello")),
    )
}

#[test]
fn boto3_invokes_each_invocation_type() {
    let serve = Serve::start(&standard_config());
    let sync = serve.boto3(&[
        "invoke",
        "hello",
        r#"{"first_name":"John","last_name":"Smith"}"#,
    ]);
    assert_eq!(sync["StatusCode"], 200);
    assert_eq!(sync["Payload"], r#"{"message":"Hello John Smith!"}"#);
    assert_eq!(sync["ExecutedVersion"], "$LATEST");
    assert!(sync["FunctionError"].is_null());

    let arn = "arn:aws:lambda:us-east-1:000000000000:function:hello";
    let by_arn = serve.boto3(&["invoke", arn, r#"{"first_name":"A","last_name":"B"}"#]);
    assert_eq!(by_arn["Payload"], r#"{"message":"Hello A B!"}"#);

    let event = serve.boto3(&["invoke", "probe", r#"{"action":"print"}"#, "Event"]);
    assert_eq!(event["StatusCode"], 202);
    assert_eq!(event["Payload"], "");
    let request_id = event["RequestId"].as_str().unwrap();
    serve.wait_for_log(
        &format!("Event invocation {request_id} of probe succeeded on attempt 1 of 3"),
        Duration::from_secs(30),
    );

    let dry_run = serve.boto3(&["invoke", "hello", "{}", "DryRun"]);
    assert_eq!(dry_run["StatusCode"], 204);
}

#[test]
fn boto3_sees_function_errors_tails_and_service_errors() {
    let serve = Serve::start(&standard_config());
    let failed = serve.boto3(&[
        "invoke",
        "probe",
        r#"{"action":"error"}"#,
        "RequestResponse",
        "--tail",
    ]);
    assert_eq!(failed["StatusCode"], 200);
    assert_eq!(failed["FunctionError"], "Unhandled");
    assert_eq!(
        json(failed["Payload"].as_str().unwrap())["errorType"],
        "ProbeError"
    );
    let log = failed["Log"].as_str().unwrap();
    assert!(log.starts_with("START RequestId: "), "{log}");
    assert!(log.contains("\nREPORT RequestId: "), "{log}");

    let python = serve.boto3(&["invoke", "pyhello", r#"{"first_name":"John"}"#]);
    assert_eq!(python["FunctionError"], "Unhandled");
    assert!(
        python["Payload"]
            .as_str()
            .unwrap()
            .starts_with(r#"{"errorMessage": "'last_name'", "errorType": "KeyError""#)
    );

    let missing = serve.boto3(&["invoke", "nope", "{}"]);
    assert_eq!(missing["error"], "ResourceNotFoundException");
    assert_eq!(
        missing["modeled"], "ResourceNotFoundException",
        "boto3 raised its typed exception"
    );
    assert_eq!(missing["status"], 404);
    assert_eq!(
        missing["message"],
        "Function not found: arn:aws:lambda:us-east-1:000000000000:function:nope"
    );

    // Payloads too big for a command line go through a file.
    let dir = tempfile::tempdir().unwrap();
    let big = dir.path().join("big.json");
    std::fs::write(&big, format!("\"{}\"", "x".repeat(6_291_457))).unwrap();
    let big = format!("@{}", big.display());
    let too_large = serve.boto3(&["invoke", "hello", &big]);
    assert_eq!(too_large["error"], "RequestEntityTooLargeException");
    assert_eq!(too_large["status"], 413);
    let big_event = dir.path().join("big-event.json");
    std::fs::write(&big_event, format!("\"{}\"", "x".repeat(1_048_577))).unwrap();
    let big_event = format!("@{}", big_event.display());
    let too_large_event = serve.boto3(&["invoke", "hello", &big_event, "Event"]);
    assert_eq!(too_large_event["error"], "RequestEntityTooLargeException");

    let not_json = serve.boto3(&["invoke", "hello", "not json"]);
    assert_eq!(not_json["error"], "InvalidRequestContentException");
    assert_eq!(not_json["modeled"], "InvalidRequestContentException");
    assert_eq!(not_json["status"], 400);
}

#[test]
fn boto3_passes_the_client_context() {
    let serve = Serve::start(&standard_config());
    let seen = serve.boto3(&[
        "invoke",
        "probe",
        r#"{"action":"context"}"#,
        "RequestResponse",
        "--client-context",
        r#"{"custom":{"tier":"gold"},"env":{},"client":{}}"#,
    ]);
    let context = &json(seen["Payload"].as_str().unwrap())["context"];
    assert_eq!(context["client_context"]["custom"]["tier"], "gold");
    assert_eq!(context["aws_request_id"], seen["RequestId"]);
    assert_eq!(
        context["invoked_function_arn"],
        "arn:aws:lambda:us-east-1:000000000000:function:probe"
    );
}

#[test]
fn event_invocations_are_retried_twice_on_a_function_error() {
    events_are_retried_twice(&Serve::start(&standard_config()));
}

/// [`event_invocations_are_retried_twice_on_a_function_error`] on a server
/// serving [`standard_config`] (the NATS backend's test runs it there too).
pub(crate) fn events_are_retried_twice(serve: &Serve) {
    let event = serve.boto3(&["invoke", "probe", r#"{"action":"error"}"#, "Event"]);
    assert_eq!(event["StatusCode"], 202);
    let id = event["RequestId"].as_str().unwrap();
    let log = serve.wait_for_log(
        &format!("Event invocation {id} of probe failed 3 times; dropped"),
        Duration::from_secs(30),
    );
    for attempt in 1..=3 {
        assert!(
            log.contains(&format!(
                "Event invocation {id} of probe failed on attempt {attempt} of 3: ProbeError"
            )),
            "{log}"
        );
    }
    assert_eq!(log.matches(&format!("START RequestId: {id}")).count(), 3);
}

#[test]
fn a_reserved_concurrency_of_one_throttles_the_second_caller() {
    let serve = Serve::start(&standard_config());
    let endpoint = serve.endpoint.clone();
    let slow = std::thread::spawn(move || {
        Command::new(python())
            .arg(repo_root().join("host/tests/clients/lambda_client.py"))
            .args([
                &endpoint,
                "invoke",
                "single",
                r#"{"action":"sleep","millis":3000}"#,
            ])
            .output()
            .unwrap()
    });
    serve.wait_for_log("START RequestId", Duration::from_secs(30));
    let throttled = serve.boto3(&["invoke", "single", r#"{"action":"echo"}"#]);
    assert_eq!(throttled["error"], "TooManyRequestsException");
    assert_eq!(throttled["status"], 429);
    assert_eq!(throttled["modeled"], "TooManyRequestsException");
    let slow = json(&String::from_utf8_lossy(&slow.join().unwrap().stdout));
    assert_eq!(slow["Payload"], r#""slept""#);
    let after = serve.boto3(&["invoke", "single", r#"{"action":"echo","n":1}"#]);
    assert_eq!(after["Payload"], r#"{"action":"echo","n":1}"#);
}

#[test]
fn hundreds_of_parallel_invocations_are_all_answered_correctly() {
    let serve = Serve::start(&standard_config());
    let summary = serve.boto3(&["parallel", "probe", "300", "16"]);
    assert_eq!(summary["count"], 300);
    assert_eq!(summary["mismatched"], serde_json::json!([]));
    assert_eq!(summary["distinct_request_ids"], 300);
}

#[test]
fn the_aws_cli_invokes_lists_and_gets_functions() {
    let serve = Serve::start(&standard_config());
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("response.json");
    let aws = |args: &[&str]| json(&aws_cli(&serve, &serve.endpoint, args));
    let invoked = aws(&[
        "lambda",
        "invoke",
        "--function-name",
        "hello",
        "--payload",
        r#"{"first_name":"John","last_name":"Smith"}"#,
        out.to_str().unwrap(),
    ]);
    assert_eq!(invoked["StatusCode"], 200);
    assert_eq!(
        std::fs::read_to_string(&out).unwrap(),
        r#"{"message":"Hello John Smith!"}"#
    );

    let listed = aws(&["lambda", "list-functions"]);
    let names: Vec<&str> = listed["Functions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|function| function["FunctionName"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["hello", "probe", "pyhello", "single"]);

    let got = aws(&["lambda", "get-function", "--function-name", "single"]);
    assert_eq!(got["Configuration"]["FunctionName"], "single");
    assert_eq!(got["Configuration"]["Timeout"], 10);
    assert_eq!(got["Configuration"]["MemorySize"], 128);
}

#[test]
fn ctrl_c_finishes_in_flight_invocations_and_queued_events() {
    ctrl_c_finishes_what_it_holds(&Serve::start(&standard_config()));
}

/// [`ctrl_c_finishes_in_flight_invocations_and_queued_events`] on a server
/// serving [`standard_config`] (the NATS backend's test runs it there too).
pub(crate) fn ctrl_c_finishes_what_it_holds(serve: &Serve) {
    let endpoint = serve.endpoint.clone();
    let in_flight = std::thread::spawn(move || {
        Command::new(python())
            .arg(repo_root().join("host/tests/clients/lambda_client.py"))
            .args([
                &endpoint,
                "invoke",
                "probe",
                r#"{"action":"sleep","millis":1500}"#,
            ])
            .output()
            .unwrap()
    });
    serve.wait_for_log("START RequestId", Duration::from_secs(30));
    let queued = serve.boto3(&[
        "invoke",
        "probe",
        r#"{"action":"sleep","millis":500}"#,
        "Event",
    ]);
    let queued_id = queued["RequestId"].as_str().unwrap().to_string();
    serve.interrupt();
    let answered = json(&String::from_utf8_lossy(&in_flight.join().unwrap().stdout));
    assert_eq!(
        answered["Payload"], r#""slept""#,
        "the in-flight invocation finished"
    );
    let log = serve.wait_for_log("wasm-lambda: stopped", Duration::from_secs(30));
    assert!(
        log.contains(&format!("Event invocation {queued_id} of probe succeeded")),
        "the queued event ran before exit:\n{log}"
    );
}

/// A boto3 handler that invokes itself through `serve` (botocore copies
/// `_X_AMZN_TRACE_ID` onto its call, as on Lambda): the chain runs it 16
/// times and its 16th hop gets `RecursiveInvocationException`, unless the
/// function's `recursive_loop` is `"Allow"`.
#[test]
fn a_function_that_invokes_itself_is_stopped_at_the_sixteenth_hop() {
    let component = toml_path(guest("host/tests/guests/python/net"));
    let dir = tempfile::tempdir().unwrap();
    let failures = dir.path().join("failures.jsonl");
    let serve = Serve::start(&format!(
        r#"
[[function]]
name = "looper"
component = {component}
timeout = 120
allowed_outbound_hosts = ["http://127.0.0.1:*"]
on_failure = "file:{failures}"

[[function]]
name = "allowed"
component = {component}
timeout = 120
allowed_outbound_hosts = ["http://127.0.0.1:*"]
recursive_loop = "Allow"
"#,
        failures = failures.display()
    ));
    let event = |hops: u32| {
        serde_json::json!({ "client": "lambda", "url": serve.endpoint, "hops": hops }).to_string()
    };
    let stopped = serve.boto3(&["invoke", "looper", &event(20)]);
    let answer = json(stopped["Payload"].as_str().unwrap());
    assert_eq!(
        answer,
        serde_json::json!({ "runs": 16, "stopped": "RecursiveInvocationException" }),
        "{}",
        serve.log()
    );

    // A chain shorter than the limit ends by itself; the handler saw its
    // count in the trace header's Lineage.
    let short = serve.boto3(&["invoke", "looper", &event(3)]);
    let answer = json(short["Payload"].as_str().unwrap());
    assert_eq!(answer["runs"], 4, "{answer}");
    let trace = answer["trace"].as_str().unwrap();
    assert!(
        trace.starts_with("Root=1-") && trace.contains(";Lineage=1:") && trace.ends_with(":3"),
        "{trace}"
    );

    // An `Event` invocation whose chain already ran the function 16 times
    // is accepted, as Lambda accepts it, never runs, and goes to the
    // function's on-failure destination.
    let full_chain = format!("{}:16", trace.rsplit_once(':').unwrap().0);
    let accepted = crate::http::request(
        &serve,
        "POST",
        "/2015-03-31/functions/looper/invocations",
        &[
            "X-Amz-Invocation-Type:Event",
            &format!("X-Amzn-Trace-Id:{full_chain}"),
        ],
        Some(br#"{"client":"lambda","hops":0}"#),
    );
    assert_eq!(accepted["status"], 202, "{accepted}");
    let request_id = crate::http::header(&accepted, "x-amzn-requestid")[0].to_string();
    let started = std::time::Instant::now();
    let record = loop {
        if let Ok(text) = std::fs::read_to_string(&failures)
            && let Some(line) = text.lines().next()
        {
            break json(line);
        }
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "no destination record:\n{}",
            serve.log()
        );
        std::thread::sleep(Duration::from_millis(20));
    };
    let context = &record["requestContext"];
    assert_eq!(context["requestId"], request_id.as_str(), "{record}");
    assert_eq!(context["condition"], "RecursiveInvocationException");
    assert_eq!(context["approximateInvokeCount"], 0);
    assert_eq!(record["requestPayload"]["hops"], 0);
    assert!(
        !serve
            .log()
            .contains(&format!("START RequestId: {request_id}")),
        "the stopped event ran:\n{}",
        serve.log()
    );
    // A synchronous call with the same chain is refused.
    let refused = crate::http::request(
        &serve,
        "POST",
        "/2015-03-31/functions/looper/invocations",
        &[&format!("X-Amzn-Trace-Id:{full_chain}")],
        Some(b"{}"),
    );
    assert_eq!(refused["status"], 400, "{refused}");

    let allowed = serve.boto3(&["invoke", "allowed", &event(20)]);
    let answer = json(allowed["Payload"].as_str().unwrap());
    assert_eq!(answer["runs"], 21, "{answer}");
    assert!(answer.get("stopped").is_none(), "{answer}");
}
