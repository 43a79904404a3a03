//! The corpus: handlers written in the shapes people publish (SAM and
//! Serverless Framework layouts, boto3 at module level, Powertools,
//! requests, data files, every common event source), each built unchanged
//! and invoked as Lambda would invoke it.
//!
//! Each case is a folder under `host/tests/corpus/<language>/` with a
//! `case.json`: the project folder when it is not the case's own
//! (`"project": "functions/quote"` in a workspace), the handler setting, environment, settings as a
//! `[[function]]` table writes them (`"settings": {"log_format": "JSON"}`),
//! the AWS resources it needs, the invocations with what each must answer
//! (and what its log must and must not hold), and what the AWS endpoint
//! must hold afterwards. AWS is moto's server on loopback; HTTP
//! upstreams are an echo server here. The resources are made and read with
//! boto3 on the host (`host/tests/clients/moto_fixture.py`), never through
//! the handler under test. A Rust case also runs natively, against the real
//! lambda_runtime under cargo-lambda's emulator, and must answer the same.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use wasm_lambda::build::{BuildOptions, build};
use wasm_lambda::samples::{SampleOptions, sample};
use wasm_lambda::{AllowedHosts, AwsCredentials, FunctionConfig, FunctionSettings, SettingsSource};

use crate::common::{guest_target_dir, host, invoke, json, repo_root};

/// moto's server, started once per run on a free loopback port; its URL.
/// It dies with the test process (PR_SET_PDEATHSIG).
pub fn moto() -> &'static str {
    static URL: OnceLock<String> = OnceLock::new();
    URL.get_or_init(|| {
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let server = repo_root().join(".venv/bin/moto_server");
        assert!(
            server.is_file(),
            "moto_server is missing: run scripts/setup.sh (it installs moto[server] into .venv)"
        );
        let mut command = Command::new(server);
        command
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        // SAFETY: prctl is async-signal-safe; nothing else runs in the child
        // before exec.
        unsafe {
            use std::os::unix::process::CommandExt;
            command.pre_exec(|| {
                libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGTERM);
                Ok(())
            });
        }
        // The death signal follows the thread that spawned the child, so a
        // thread that lives as long as the process spawns it.
        let (spawned, started_server) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let child = command.spawn();
            let ok = child.is_ok();
            spawned.send(child.map(|_| ())).unwrap();
            if ok {
                loop {
                    std::thread::park();
                }
            }
        });
        started_server.recv().unwrap().expect("moto_server starts");
        let started = Instant::now();
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                started.elapsed() < Duration::from_secs(60),
                "moto_server did not listen on {port}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        format!("http://127.0.0.1:{port}")
    })
}

/// An HTTP server that answers every request with what it received, as JSON:
/// `{"method", "path", "headers" (lower-case names), "body"}`; its URL.
pub fn echo_server() -> &'static str {
    static URL: OnceLock<String> = OnceLock::new();
    URL.get_or_init(|| {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        std::thread::spawn(move || {
            for stream in listener.incoming().map_while(Result::ok) {
                std::thread::spawn(move || echo(stream));
            }
        });
        format!("http://127.0.0.1:{port}")
    })
}

fn echo(stream: TcpStream) {
    let mut writer = stream.try_clone().unwrap();
    let mut reader = BufReader::new(stream);
    loop {
        let mut request_line = String::new();
        if reader.read_line(&mut request_line).unwrap_or(0) == 0 {
            return;
        }
        let mut parts = request_line.split_whitespace();
        let method = parts.next().unwrap_or_default().to_string();
        let path = parts.next().unwrap_or_default().to_string();
        let mut headers = BTreeMap::new();
        loop {
            let mut line = String::new();
            if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                break;
            }
            if let Some((name, value)) = line.split_once(':') {
                headers.insert(name.trim().to_lowercase(), value.trim().to_string());
            }
        }
        let length: usize = headers
            .get("content-length")
            .and_then(|value| value.parse().ok())
            .unwrap_or(0);
        let mut body = vec![0; length];
        if reader.read_exact(&mut body).is_err() {
            return;
        }
        let answer = json!({
            "method": method,
            "path": path,
            "headers": headers,
            "body": String::from_utf8_lossy(&body),
        })
        .to_string();
        let written = write!(
            writer,
            "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{answer}",
            answer.len()
        );
        if written.is_err() {
            return;
        }
    }
}

/// Runs `moto_fixture.py COMMAND` against the moto server.
fn fixture(command: &str, resources: &Value) -> Value {
    let output = Command::new(repo_root().join(".venv/bin/python3"))
        .arg(repo_root().join("host/tests/clients/moto_fixture.py"))
        .args([command, moto(), &resources.to_string()])
        .stdin(Stdio::null())
        .output()
        .expect("the fixture script runs");
    assert!(
        output.status.success(),
        "moto_fixture.py {command} failed:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    json(&String::from_utf8_lossy(&output.stdout))
}

/// Whether `actual` holds everything `expected` names: objects by their
/// named keys, arrays element by element (same length), numbers by value.
fn contains(actual: &Value, expected: &Value) -> bool {
    match (actual, expected) {
        (Value::Object(actual), Value::Object(expected)) => expected
            .iter()
            .all(|(key, value)| actual.get(key).is_some_and(|found| contains(found, value))),
        (Value::Array(actual), Value::Array(expected)) => {
            actual.len() == expected.len()
                && actual
                    .iter()
                    .zip(expected)
                    .all(|(found, value)| contains(found, value))
        }
        (Value::Number(actual), Value::Number(expected)) => actual.as_f64() == expected.as_f64(),
        _ => actual == expected,
    }
}

/// A sample event from `wasm-lambda event`'s generator: `[kind, --flag,
/// value, ...]`.
fn sample_event(arguments: &[Value]) -> Value {
    let words: Vec<&str> = arguments.iter().filter_map(Value::as_str).collect();
    let (kind, flags) = words.split_first().expect("event_kind names a kind");
    let mut options = SampleOptions::default();
    for pair in flags.chunks(2) {
        let value = Some(pair[1].to_string());
        match pair[0] {
            "--body" => options.body = value,
            "--path" => options.path = value,
            "--method" => options.method = value,
            "--bucket" => options.bucket = value,
            "--key" => options.key = value,
            "--message" => options.message = value,
            other => panic!("unknown sample flag {other}"),
        }
    }
    sample(kind, &options).unwrap()
}

fn substitute(text: &str) -> String {
    text.replace("${MOTO}", moto())
        .replace("${ECHO}", echo_server())
}

/// Builds, loads and invokes the case in `host/tests/corpus/<path>`, checking
/// every answer and what moto holds afterwards.
pub async fn run_case(path: &str) {
    let dir = repo_root().join("host/tests/corpus").join(path);
    run_case_in(path, &dir, &dir.join("case.json")).await;
}

/// The folder built, relative to the case's: its own, or its `project` (a
/// member of the workspace the case folder holds).
fn project_of(case: &Value) -> &str {
    case["project"].as_str().unwrap_or(".")
}

/// A copy of the case folder `dir`, for tools that write into a project
/// (npm's node_modules, cargo's Cargo.lock).
fn copy_of(path: &str, dir: &Path) -> tempfile::TempDir {
    let copy = tempfile::tempdir().unwrap();
    let copied = Command::new("cp")
        .arg("-R")
        .arg(dir.join("."))
        .arg(copy.path())
        .status()
        .unwrap();
    assert!(copied.success(), "{path}: copying the project failed");
    copy
}

/// Runs the case described by `case_file` on the handler project in `dir`.
async fn run_case_in(path: &str, dir: &Path, case_file: &Path) {
    let case = json(&std::fs::read_to_string(case_file).unwrap());
    let handler = case["handler"].as_str().map(str::to_string);
    // `vendored`: a requirements file pip installs into (a copy of) the
    // folder on this machine first, Linux wheels and all, as published
    // deployment packages carry their packages.
    let vendored = case["vendored"].as_str().map(|file| {
        let copy = copy_of(path, dir);
        let installed = Command::new(repo_root().join(".venv/bin/python3"))
            .args([
                "-m",
                "pip",
                "install",
                "--quiet",
                "--disable-pip-version-check",
            ])
            .arg("--target")
            .arg(copy.path())
            .arg("-r")
            .arg(copy.path().join(file))
            .stdin(Stdio::null())
            .output()
            .expect("pip runs");
        assert!(
            installed.status.success(),
            "{path}: pip install -t failed:\n{}",
            String::from_utf8_lossy(&installed.stderr)
        );
        copy
    });
    let project = vendored.as_ref().map_or(dir, |copy| copy.path());
    // The component lives as long as the case: each is tens of megabytes.
    let output = tempfile::tempdir().unwrap();
    let options = BuildOptions {
        runtime: case["runtime"].as_str().map(str::to_string),
        layers: case["layers"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|layer| dir.join(layer.as_str().unwrap()))
            .collect(),
        target_dir: Some(guest_target_dir()),
        handler: handler.clone(),
        output: Some(output.path().join("handler.wasm")),
        ..BuildOptions::new(project.join(project_of(&case)))
    };
    let built = build(&options, &mut |_| {})
        .unwrap_or_else(|error| panic!("{path}: the build failed: {error:#}"));
    // `build_warnings`: the start of each warning the build must give.
    let expected_warnings: Vec<&str> = case["build_warnings"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .collect();
    assert!(
        built.warnings.len() == expected_warnings.len()
            && expected_warnings
                .iter()
                .zip(&built.warnings)
                .all(|(expected, warning)| warning.starts_with(expected)),
        "{path}: build warnings {:?}, expected {expected_warnings:?}",
        built.warnings
    );

    let resources = case.get("resources").cloned().unwrap_or(json!({}));
    if resources.as_object().is_some_and(|map| !map.is_empty()) {
        fixture("create", &resources);
    }

    let mut config = FunctionConfig::new(path.replace('/', "-"), &built.component);
    // Generous: the machine is shared and first calls load botocore's models.
    config.timeout = Duration::from_secs(60);
    config
        .environment
        .insert("AWS_ENDPOINT_URL".into(), moto().into());
    if let Some(environment) = case["environment"].as_object() {
        for (name, value) in environment {
            config
                .environment
                .insert(name.clone(), substitute(value.as_str().unwrap()));
        }
    }
    config.allowed_outbound_hosts = AllowedHosts::parse([moto(), echo_server()]).unwrap();
    config.aws_credentials = Some(AwsCredentials {
        access_key_id: "testing".into(),
        secret_access_key: "testing".into(),
        session_token: None,
    });
    // The settings of a `[[function]]` table (`log_format`, ...).
    if let Some(settings) = case.get("settings") {
        let settings: FunctionSettings = serde_json::from_value(settings.clone())
            .unwrap_or_else(|error| panic!("{path}: settings: {error}"));
        settings.apply(&mut config, SettingsSource::Toml).unwrap();
    }
    let environment = config.environment.clone();
    let function = host()
        .load(config)
        .unwrap_or_else(|error| panic!("{path}: failed to load: {error}"));

    // A case that sets `"node": true` must answer as the same handler does
    // under this machine's Node.js (`host/tests/clients/node_lambda.mjs`).
    // A project with a lock file and no packages gets them as the build
    // does, in a copy.
    let compare_with_node = case["node"].as_bool() == Some(true);
    let mut node_copy = None;
    let node_dir = if compare_with_node
        && dir.join("package-lock.json").is_file()
        && !dir.join("node_modules").exists()
    {
        let node_copy = node_copy.insert(copy_of(path, dir));
        let installed = Command::new("npm")
            .args([
                "ci",
                "--omit=dev",
                "--ignore-scripts",
                "--no-audit",
                "--no-fund",
            ])
            .current_dir(node_copy.path())
            .stdin(Stdio::null())
            .output()
            .expect("npm runs (scripts/setup.sh installs it)");
        assert!(
            installed.status.success(),
            "{path}: npm ci failed:\n{}",
            String::from_utf8_lossy(&installed.stderr)
        );
        node_copy.path().to_path_buf()
    } else {
        dir.to_path_buf()
    };
    let node_answer = |event: &Value| -> Value {
        let handler = handler
            .as_deref()
            .expect("a Node.js case names its handler");
        let mut command = Command::new("node");
        command
            .arg(repo_root().join("host/tests/clients/node_lambda.mjs"))
            .args([node_dir.to_str().unwrap(), handler, &event.to_string()])
            .stdin(Stdio::null());
        for (name, value) in &environment {
            command.env(name, value);
        }
        let output = command
            .output()
            .expect("node runs (scripts/setup.sh installs it)");
        assert!(
            output.status.success(),
            "{path}: the handler failed under Node.js:\n{}",
            String::from_utf8_lossy(&output.stderr)
        );
        // The answer is the last line: the handler may log to stdout.
        let stdout = String::from_utf8_lossy(&output.stdout);
        json(
            stdout
                .lines()
                .rfind(|line| !line.trim().is_empty())
                .unwrap_or("null"),
        )
    };

    // Every Rust case runs natively too: built for this machine with the
    // real lambda_runtime and run under cargo-lambda's emulator, it must
    // answer each invocation as the component does and log each needle.
    let native = path
        .starts_with("rust/")
        .then(|| NativeRust::start(path, dir, &case, &environment));

    let mut answers: Vec<Value> = Vec::new();
    for (index, step) in case["invocations"].as_array().unwrap().iter().enumerate() {
        let event = if let Some(file) = step["event_file"].as_str() {
            json(&std::fs::read_to_string(dir.join(file)).unwrap())
        } else if let Some(kind) = step["event_kind"].as_array() {
            sample_event(kind)
        } else {
            // `${ECHO}` and `${MOTO}` may stand in an event too (a pre-signed
            // URL to answer).
            json(&substitute(&step["event"].to_string()))
        };
        let invocation = invoke(&function, &event.to_string()).await;
        let what = format!("{path}, invocation {index}");
        if let Some(error_type) = step["error_type"].as_str() {
            let error = invocation.function_error().unwrap_or_else(|| {
                panic!(
                    "{what}: expected {error_type}, got {}",
                    invocation.payload()
                )
            });
            assert_eq!(error.error_type, error_type, "{what}: {}", error.payload);
            if let Some(message) = step["error_message"].as_str() {
                assert_eq!(error.error_message, message, "{what}");
            }
            if compare_with_node {
                let node = node_answer(&event);
                assert_eq!(
                    (error.error_type.as_str(), error.error_message.as_str()),
                    (
                        node["errorType"].as_str().unwrap_or_default(),
                        node["errorMessage"].as_str().unwrap_or_default()
                    ),
                    "{what}: Node.js answered {node}"
                );
            }
            if let Some(native) = &native {
                let (status, body) = native.emulator.invoke(&event.to_string());
                let body = json(&body);
                assert_eq!(
                    (error.error_type.as_str(), error.error_message.as_str()),
                    (
                        body["errorType"].as_str().unwrap_or_default(),
                        body["errorMessage"].as_str().unwrap_or_default()
                    ),
                    "{what}: natively, lambda_runtime answered {status} {body}"
                );
            }
            answers.push(Value::Null);
            continue;
        }
        assert!(
            invocation.function_error().is_none(),
            "{what}: {}\n{}",
            invocation.payload(),
            invocation.log
        );
        let answer = json(invocation.payload());
        if compare_with_node {
            assert_eq!(
                answer,
                node_answer(&event),
                "{what}: not what Node.js answers"
            );
        }
        if let Some(native) = &native {
            let (status, body) = native.emulator.invoke(&event.to_string());
            assert_eq!(
                status, 200,
                "{what}: natively, lambda_runtime answered {body}"
            );
            assert_eq!(
                without_request_ids(&answer.to_string()),
                without_request_ids(&json(&body).to_string()),
                "{what}: not what lambda_runtime answers natively"
            );
        }
        // The same answer as an earlier invocation (an idempotent handler
        // answering a repeated event from its record).
        if let Some(earlier) = step["same_as"].as_u64() {
            assert_eq!(answer, answers[earlier as usize], "{what}");
        }
        if let Some(expected) = step.get("expect") {
            assert!(
                contains(&answer, expected),
                "{what}: expected {expected}\ngot {answer}\n{}",
                invocation.log
            );
        }
        if let Some(expected) = step.get("expect_body") {
            let body = json(answer["body"].as_str().unwrap_or("null"));
            assert!(
                contains(&body, expected),
                "{what}: expected the body {expected}\ngot {body}"
            );
        }
        answers.push(answer.clone());
        for needle in step["expect_no_log"].as_array().into_iter().flatten() {
            let needle = needle.as_str().unwrap();
            assert!(
                !invocation.log.contains(needle),
                "{what}: {needle:?} in the log:\n{}",
                invocation.log
            );
        }
        for needle in step["expect_log"].as_array().into_iter().flatten() {
            let needle = needle.as_str().unwrap();
            assert!(
                invocation.log.contains(needle),
                "{what}: expected {needle:?} in the log:\n{}",
                invocation.log
            );
            if let Some(native) = &native {
                let log = native.log();
                assert!(
                    log.contains(needle),
                    "{what}: expected {needle:?} in the native log:\n{log}"
                );
            }
        }
    }

    if let Some(expected) = case.get("after") {
        let state = fixture("state", &resources);
        assert!(
            contains(&state, expected),
            "{path}: expected moto to hold {expected}\nit holds {state}"
        );
    }
    let _ = std::fs::remove_file(&built.component);
}

/// A Rust case's project built for this machine against the crates it
/// names (lambda_runtime, lambda_http, aws_lambda_events from crates.io, as
/// its Cargo.toml asks) and run under cargo-lambda's Runtime API emulator:
/// the answers Lambda itself gives. Stopped on drop.
struct NativeRust {
    emulator: crate::runtime::Emulator,
    process: std::process::Child,
    log: tempfile::NamedTempFile,
}

impl NativeRust {
    fn start(
        path: &str,
        dir: &Path,
        case: &Value,
        environment: &BTreeMap<String, String>,
    ) -> NativeRust {
        // Built in a copy (with its whole workspace): cargo writes a
        // Cargo.lock beside the manifest.
        let project = copy_of(path, dir);
        let project_dir = project_of(case);
        let manifest: toml::Table =
            std::fs::read_to_string(dir.join(project_dir).join("Cargo.toml"))
                .unwrap()
                .parse()
                .unwrap();
        let name = manifest["package"]["name"].as_str().unwrap();
        // One folder for every case, so the crates they share build once;
        // unoptimised and without debug info, the quickest to build.
        let target = repo_root().join("target/native-corpus");
        let built = Command::new("cargo")
            .args(["build", "--quiet"])
            .current_dir(project.path().join(project_dir))
            .env("CARGO_TARGET_DIR", &target)
            .env("CARGO_PROFILE_DEV_DEBUG", "0")
            .stdin(Stdio::null())
            .output()
            .expect("cargo runs");
        assert!(
            built.status.success(),
            "{path}: the native build failed:\n{}",
            String::from_utf8_lossy(&built.stderr)
        );

        let emulator = crate::runtime::Emulator::start();
        let log = tempfile::NamedTempFile::new().unwrap();
        let mut command = Command::new(target.join("debug").join(name));
        command
            .env_clear()
            .env(
                "AWS_LAMBDA_RUNTIME_API",
                format!("http://{}", emulator.runtime_api()),
            )
            // The component's name and memory; the emulator invokes its
            // one process as `_` whatever the name.
            .env("AWS_LAMBDA_FUNCTION_NAME", path.replace('/', "-"))
            .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128")
            .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
            .env("AWS_LAMBDA_LOG_GROUP_NAME", "/aws/lambda/_")
            .env("AWS_LAMBDA_LOG_STREAM_NAME", "native")
            .env("AWS_REGION", "us-east-1")
            .envs(environment)
            .stdin(Stdio::null())
            .stdout(log.reopen().unwrap())
            .stderr(log.reopen().unwrap());
        // What Lambda sets from the function's LoggingConfig.
        if let Some(format) = case["settings"]["log_format"].as_str() {
            command.env("AWS_LAMBDA_LOG_FORMAT", format);
        }
        if let Some(level) = case["settings"]["application_log_level"].as_str() {
            command.env("AWS_LAMBDA_LOG_LEVEL", level);
        }
        let process = command.spawn().expect("the native handler starts");
        NativeRust {
            emulator,
            process,
            log,
        }
    }

    /// What the handler has written so far.
    fn log(&self) -> String {
        std::fs::read_to_string(self.log.path()).unwrap()
    }
}

impl Drop for NativeRust {
    fn drop(&mut self) {
        let _ = self.process.kill();
        let _ = self.process.wait();
    }
}

/// `text` with each request id (a UUID: 8-4-4-4-12 hexadecimal digits)
/// replaced, since two runs of an invocation get different ones.
fn without_request_ids(text: &str) -> String {
    let is_request_id = |candidate: &str| {
        candidate.len() == 36
            && candidate.char_indices().all(|(index, c)| match index {
                8 | 13 | 18 | 23 => c == '-',
                _ => c.is_ascii_hexdigit(),
            })
    };
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(c) = rest.chars().next() {
        if rest.get(..36).is_some_and(is_request_id) {
            out.push_str("<request id>");
            rest = &rest[36..];
        } else {
            out.push(c);
            rest = &rest[c.len_utf8()..];
        }
    }
    out
}

/// Every case folder of `language`, to check that none is left out of the
/// list of tests below.
fn case_folders(language: &str) -> Vec<String> {
    let mut names: Vec<String> =
        std::fs::read_dir(repo_root().join("host/tests/corpus").join(language))
            .unwrap()
            .flatten()
            .filter(|entry| entry.path().join("case.json").is_file())
            .map(|entry| entry.file_name().to_string_lossy().into_owned())
            .collect();
    names.sort();
    names
}

/// One test per case folder of a language, and a test that no folder of
/// that language is left without one.
macro_rules! cases {
    ($language:literal, $every:ident, $($name:ident => $folder:literal),* $(,)?) => {
        $(
            #[tokio::test]
            async fn $name() {
                run_case(concat!($language, "/", $folder)).await;
            }
        )*

        #[test]
        fn $every() {
            let mut listed = vec![$($folder.to_string()),*];
            listed.sort();
            assert_eq!(listed, case_folders($language));
        }
    };
}

cases! {
    "js",
    every_js_case_has_a_test,
    js_cjs_apigw_dynamodb => "cjs-apigw-dynamodb",
    js_esm_s3_copy => "esm-s3-copy",
    js_cjs_s3_body_node_stream => "cjs-s3-body-node-stream",
    js_cjs_sns_to_sqs => "cjs-sns-to-sqs",
    js_kinesis_buffer => "kinesis-buffer",
    js_cloudwatch_logs_zlib => "cloudwatch-logs-zlib",
    js_authorizer_callback => "authorizer-callback",
    js_webhook_hmac => "webhook-hmac",
    js_node_modules_dependency => "node-modules-dependency",
    js_npm_lockfile => "npm-lockfile",
    js_layer_dependency => "layer-dependency",
    js_sqs_batch_dynamodb => "sqs-batch-dynamodb",
    js_intl_invoice => "intl-invoice",
    js_esm_template_files => "esm-template-files",
    js_cjs_tmp_report_s3 => "cjs-tmp-report-s3",
    js_esm_sam_module_config => "esm-sam-module-config",
    js_async_context_middleware => "async-context-middleware",
    js_cjs_promisify_timers => "cjs-promisify-timers",
    js_express_serverless_http => "express-serverless-http",
    js_cfn_custom_resource_http => "cfn-custom-resource-http",
    js_esm_ssm_secrets_config => "esm-ssm-secrets-config",
    js_cjs_sfn_order_workflow => "cjs-sfn-order-workflow",
    js_cjs_http2_status_constants => "cjs-http2-status-constants",
    js_koa_serverless_http => "koa-serverless-http",
    js_powertools_middy_logger => "powertools-middy-logger",
}

cases! {
    "python",
    every_python_case_has_a_test,
    python_sam_api_crud => "sam-api-crud",
    python_sqs_partial_batch => "sqs-partial-batch",
    python_sns_to_sqs => "sns-to-sqs",
    python_s3_transform => "s3-transform",
    python_kinesis_aggregate => "kinesis-aggregate",
    python_eventbridge_scheduled => "eventbridge-scheduled",
    python_cloudwatch_logs_filter => "cloudwatch-logs-filter",
    python_serverless_http_api => "serverless-http-api",
    python_powertools_rest_api => "powertools-rest-api",
    python_powertools_sqs_batch => "powertools-sqs-batch",
    python_powertools_idempotency => "powertools-idempotency",
    python_powertools_json_logs => "powertools-json-logs",
    python_requests_upstream => "requests-upstream",
    python_urllib_webhook => "urllib-webhook",
    python_data_files => "data-files",
    python_token_authorizer => "token-authorizer",
    python_dynamodb_stream_presign => "dynamodb-stream-presign",
    python_layer_shared_utils => "layer-shared-utils",
    python_boto3_pinned_1_26 => "boto3-pinned-1-26",
    python_boto3_pinned_1_34 => "boto3-pinned-1-34",
    python_threads_s3_transfer => "threads-s3-transfer",
    python_python311_pkg_resources => "python311-pkg-resources",
    python_datetime_zope_interface => "datetime-zope-interface",
    python_powertools_parser_pydantic2 => "powertools-parser-pydantic2",
    python_powertools_api_validation => "powertools-api-validation",
    python_vendored_pydantic2 => "vendored-pydantic2",
    python_jsonschema_api => "jsonschema-api",
}

cases! {
    "go",
    every_go_case_has_a_test,
    go_start_signatures => "start-signatures",
    go_errors_and_panics => "errors-and-panics",
    go_context_and_slog => "context-and-slog",
    go_apigw_rest_orders => "apigw-rest-orders",
    go_http_api_v2_cookies => "http-api-v2-cookies",
    go_function_url_echo => "function-url-echo",
    go_sqs_partial_batch => "sqs-partial-batch",
    go_s3_object_created => "s3-object-created",
    go_dynamodb_stream_audit => "dynamodb-stream-audit",
    go_kinesis_telemetry => "kinesis-telemetry",
    go_eventbridge_scheduled => "eventbridge-scheduled",
    go_cloudwatch_logs_errors => "cloudwatch-logs-errors",
    go_cognito_pre_signup => "cognito-pre-signup",
    go_token_authorizer => "token-authorizer",
    go_sns_fanout => "sns-fanout",
}

cases! {
    "rust",
    every_rust_case_has_a_test,
    rust_cargo_lambda_basic => "cargo-lambda-basic",
    rust_sqs_batch_events => "sqs-batch-events",
    rust_errors_and_json_logs => "errors-and-json-logs",
    rust_lambda_http_api => "lambda-http-api",
    rust_workspace_members => "workspace-members",
}

/// The Python example that uses boto3 (`examples/python/orders`), against
/// moto as its README runs it.
#[tokio::test]
async fn python_example_orders() {
    let root = repo_root();
    run_case_in(
        "examples-python-orders",
        &root.join("examples/python/orders"),
        &root.join("host/tests/corpus/examples/python-orders.json"),
    )
    .await;
}
