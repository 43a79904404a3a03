//! The control plane of `wasm-lambda serve`, driven by boto3 and the AWS
//! CLI as deployment tools drive Lambda's: functions created from the zip
//! `wasm-lambda package` makes, their lifecycle, exact fields, errors, and
//! what survives a `kill -9`.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::{Value, json};

use crate::common::{cache_dir, guest, json, repo_root};
use crate::server::{Serve, aws_cli, python};

pub(crate) const ROLE: &str = "arn:aws:iam::123456789012:role/lambda-role";

/// The fields every configuration carries (lambda-contract.md); a Get that
/// omits one makes Terraform plan a change for ever.
const CONFIGURATION_FIELDS: &[&str] = &[
    "Architectures",
    "CodeSha256",
    "CodeSize",
    "Description",
    "Environment",
    "EphemeralStorage",
    "FunctionArn",
    "FunctionName",
    "Handler",
    "LastModified",
    "LastUpdateStatus",
    "LoggingConfig",
    "MemorySize",
    "PackageType",
    "RevisionId",
    "Role",
    "Runtime",
    "RuntimeVersionConfig",
    "SnapStart",
    "State",
    "Timeout",
    "TracingConfig",
    "Version",
];

/// One boto3 call through `control_client.py`.
pub(crate) fn boto3(serve: &Serve, operation: &str, arguments: Value) -> Value {
    client(serve, &["call", operation, &arguments.to_string()])
}

fn client(serve: &Serve, args: &[&str]) -> Value {
    let output = Command::new(python())
        .arg(repo_root().join("host/tests/clients/control_client.py"))
        .arg(&serve.endpoint)
        .args(args)
        .output()
        .expect("the boto3 client runs");
    assert!(
        output.status.success(),
        "boto3 client failed: {}\nserver log:\n{}",
        String::from_utf8_lossy(&output.stderr),
        serve.log()
    );
    json(&String::from_utf8_lossy(&output.stdout))
}

/// Waits with botocore's own waiter; fails the test if it gives up.
fn wait(serve: &Serve, waiter: &str, function: &str) {
    let waited = client(serve, &["wait", waiter, function]);
    assert!(waited.get("waited").is_some(), "{waiter}: {waited}");
}

/// The deployment zip of the Rust hello, made by `wasm-lambda package`.
fn packaged_hello(dir: &Path) -> PathBuf {
    let zip = dir.join("hello.zip");
    let packaged = Command::new(env!("CARGO_BIN_EXE_wasm-lambda"))
        .arg("package")
        .arg(guest("examples/rust/hello"))
        .arg("-o")
        .arg(&zip)
        .env("WASM_LAMBDA_CACHE_DIR", cache_dir())
        .output()
        .unwrap();
    assert!(
        packaged.status.success(),
        "{}",
        String::from_utf8_lossy(&packaged.stderr)
    );
    zip
}

/// A zip of the given entries.
fn zip_of(path: &Path, entries: &[(&str, &[u8])]) -> PathBuf {
    let mut zip = zip::ZipWriter::new(std::fs::File::create(path).unwrap());
    for (name, bytes) in entries {
        zip.start_file(*name, zip::write::SimpleFileOptions::default())
            .unwrap();
        zip.write_all(bytes).unwrap();
    }
    zip.finish().unwrap();
    path.to_path_buf()
}

/// A zip holding the probe component as `probe.wasm`.
pub(crate) fn probe_zip(dir: &Path) -> PathBuf {
    let probe = std::fs::read(guest("host/tests/guests/probe")).unwrap();
    zip_of(&dir.join("probe.zip"), &[("probe.wasm", &probe)])
}

pub(crate) fn create(serve: &Serve, name: &str, zip: &Path, handler: &str) -> Value {
    boto3(
        serve,
        "create_function",
        json!({
            "FunctionName": name,
            "Runtime": "provided.al2023",
            "Role": ROLE,
            "Handler": handler,
            "Code": { "ZipFile": format!("@{}", zip.display()) },
        }),
    )
}

/// Lambda's CodeSha256 of a file, computed by Python's hashlib.
fn sha256_base64(path: &Path) -> String {
    let output = Command::new(python())
        .args([
            "-c",
            "import base64, hashlib, sys; print(base64.b64encode(hashlib.sha256(open(sys.argv[1], 'rb').read()).digest()).decode())",
        ])
        .arg(path)
        .output()
        .unwrap();
    assert!(output.status.success());
    String::from_utf8(output.stdout).unwrap().trim().to_string()
}

fn hello_event() -> Value {
    json!({ "first_name": "John", "last_name": "Smith" })
}

fn invoke(serve: &Serve, name: &str, event: &Value) -> Value {
    boto3(
        serve,
        "invoke",
        json!({ "FunctionName": name, "Payload": event.to_string() }),
    )
}

#[test]
fn boto3_creates_waits_for_invokes_updates_and_deletes_a_packaged_component() {
    let serve = Serve::start("");
    let dir = tempfile::tempdir().unwrap();
    let hello = packaged_hello(dir.path());
    let handler = "hello.wasm";

    let created = create(&serve, "greeter", &hello, handler);
    assert_eq!(created["status"], 201, "{created}");
    assert_eq!(created["State"], "Pending");
    assert_eq!(created["StateReasonCode"], "Creating");
    assert!(created.get("LastUpdateStatus").is_none(), "{created}");
    assert_eq!(created["CodeSha256"], sha256_base64(&hello));
    assert_eq!(
        created["CodeSize"],
        std::fs::metadata(&hello).unwrap().len()
    );

    wait(&serve, "function_active_v2", "greeter");
    let got = boto3(&serve, "get_function", json!({ "FunctionName": "greeter" }));
    let configuration = &got["Configuration"];
    for field in CONFIGURATION_FIELDS {
        assert!(configuration.get(field).is_some(), "no {field}: {got}");
    }
    assert_eq!(configuration["State"], "Active");
    assert_eq!(configuration["LastUpdateStatus"], "Successful");
    assert_eq!(configuration["Handler"], handler);
    assert_eq!(configuration["Role"], ROLE);
    assert_eq!(
        configuration["FunctionArn"],
        "arn:aws:lambda:us-east-1:000000000000:function:greeter"
    );
    assert_ne!(configuration["RevisionId"], created["RevisionId"]);
    // Code.Location gives back the uploaded zip, byte for byte.
    let location = got["Code"]["Location"].as_str().unwrap();
    let fetched = ureq::get(location)
        .call()
        .unwrap_or_else(|error| panic!("{location}: {error}"))
        .body_mut()
        .with_config()
        .limit(100 * 1024 * 1024)
        .read_to_vec()
        .unwrap();
    assert!(fetched == std::fs::read(&hello).unwrap(), "{location}");
    let alone = boto3(
        &serve,
        "get_function_configuration",
        json!({ "FunctionName": "greeter" }),
    );
    let mut without_status = alone.clone();
    without_status.as_object_mut().unwrap().remove("status");
    assert_eq!(&without_status, configuration);

    let invoked = invoke(&serve, "greeter", &hello_event());
    assert_eq!(invoked["Payload"], r#"{"message":"Hello John Smith!"}"#);

    // Configuration, then code, each waited for as Terraform does.
    let updated = boto3(
        &serve,
        "update_function_configuration",
        json!({
            "FunctionName": "greeter",
            "Timeout": 7,
            "Environment": { "Variables": { "STAGE": "test" } },
            "LoggingConfig": { "LogFormat": "JSON", "ApplicationLogLevel": "WARN" },
        }),
    );
    assert_eq!(updated["LastUpdateStatus"], "InProgress", "{updated}");
    wait(&serve, "function_updated_v2", "greeter");
    let after = boto3(
        &serve,
        "get_function_configuration",
        json!({ "FunctionName": "greeter" }),
    );
    assert_eq!(after["Timeout"], 7);
    assert_eq!(after["Environment"]["Variables"]["STAGE"], "test");
    assert_eq!(after["LastUpdateStatus"], "Successful");
    // JSON sets the system level to INFO too.
    assert_eq!(
        after["LoggingConfig"],
        json!({
            "LogFormat": "JSON",
            "ApplicationLogLevel": "WARN",
            "SystemLogLevel": "INFO",
            "LogGroup": "/aws/lambda/greeter",
        })
    );
    // The function now logs Lambda's system records, as `LogType: Tail`
    // shows them.
    let tailed = boto3(
        &serve,
        "invoke",
        json!({
            "FunctionName": "greeter",
            "Payload": hello_event().to_string(),
            "LogType": "Tail",
        }),
    );
    let tail = tailed["Log"].as_str().unwrap_or_else(|| panic!("{tailed}"));
    let types: Vec<String> = tail
        .lines()
        .map(|line| json(line)["type"].as_str().unwrap_or_default().to_string())
        .collect();
    assert_eq!(
        types,
        ["platform.initStart", "platform.start", "platform.report"],
        "{tail}"
    );

    // Recursive loops are stopped unless the function allows them.
    let recursion = json!({ "FunctionName": "greeter" });
    let config = boto3(&serve, "get_function_recursion_config", recursion.clone());
    assert_eq!(config["RecursiveLoop"], "Terminate", "{config}");
    let put = boto3(
        &serve,
        "put_function_recursion_config",
        json!({ "FunctionName": "greeter", "RecursiveLoop": "Allow" }),
    );
    assert_eq!(put["RecursiveLoop"], "Allow", "{put}");
    let config = boto3(&serve, "get_function_recursion_config", recursion);
    assert_eq!(config["RecursiveLoop"], "Allow", "{config}");
    let refused = boto3(
        &serve,
        "put_function_recursion_config",
        json!({ "FunctionName": "greeter", "RecursiveLoop": "Sometimes" }),
    );
    assert_eq!(refused["error"], "ValidationException", "{refused}");

    let stale = boto3(
        &serve,
        "update_function_code",
        json!({
            "FunctionName": "greeter",
            "ZipFile": format!("@{}", probe_zip(dir.path()).display()),
            "RevisionId": updated["RevisionId"],
        }),
    );
    assert_eq!(stale["error"], "PreconditionFailedException", "{stale}");
    assert_eq!(stale["status"], 412);

    let probe = probe_zip(dir.path());
    let swapped = boto3(
        &serve,
        "update_function_code",
        json!({
            "FunctionName": "greeter",
            "ZipFile": format!("@{}", probe.display()),
            "RevisionId": after["RevisionId"],
        }),
    );
    assert_eq!(swapped["status"], 200, "{swapped}");
    assert_eq!(swapped["CodeSha256"], sha256_base64(&probe));
    // The handler still names the old zip's file: the update fails (the
    // waiter stops on it) and the old code keeps serving.
    let waited = client(&serve, &["wait", "function_updated_v2", "greeter"]);
    assert!(
        waited["error"].as_str().unwrap().contains("Failed"),
        "{waited}"
    );
    let failed = boto3(
        &serve,
        "get_function_configuration",
        json!({ "FunctionName": "greeter" }),
    );
    assert_eq!(failed["LastUpdateStatus"], "Failed", "{failed}");
    assert_eq!(
        failed["LastUpdateStatusReasonCode"],
        "FunctionError.InvalidEntryPoint"
    );
    assert_eq!(failed["State"], "Active");
    let invoked = invoke(&serve, "greeter", &hello_event());
    assert_eq!(invoked["Payload"], r#"{"message":"Hello John Smith!"}"#);

    // Handler and code together: the probe answers.
    boto3(
        &serve,
        "update_function_configuration",
        json!({ "FunctionName": "greeter", "Handler": "probe.wasm" }),
    );
    wait(&serve, "function_updated_v2", "greeter");
    let probed = invoke(&serve, "greeter", &json!({ "action": "echo", "n": 5 }));
    assert!(
        probed["Payload"].as_str().unwrap().contains("\"n\":5"),
        "{probed}"
    );

    let tagged = boto3(
        &serve,
        "tag_resource",
        json!({ "Resource": configuration["FunctionArn"], "Tags": { "team": "core" } }),
    );
    assert_eq!(tagged["status"], 204, "{tagged}");
    let got = boto3(&serve, "get_function", json!({ "FunctionName": "greeter" }));
    assert_eq!(got["Tags"], json!({ "team": "core" }));
    let signing = boto3(
        &serve,
        "get_function_code_signing_config",
        json!({ "FunctionName": "greeter" }),
    );
    assert_eq!(signing["status"], 200, "{signing}");
    let versions = boto3(
        &serve,
        "list_versions_by_function",
        json!({ "FunctionName": "greeter" }),
    );
    assert_eq!(versions["Versions"][0]["Version"], "$LATEST", "{versions}");

    let deleted = boto3(
        &serve,
        "delete_function",
        json!({ "FunctionName": "greeter" }),
    );
    assert_eq!(deleted["status"], 204, "{deleted}");
    let gone = boto3(&serve, "get_function", json!({ "FunctionName": "greeter" }));
    assert_eq!(gone["error"], "ResourceNotFoundException");
    assert_eq!(gone["status"], 404);
    assert_eq!(
        gone["message"],
        "Function not found: arn:aws:lambda:us-east-1:000000000000:function:greeter"
    );
}

#[test]
fn the_aws_cli_deploys_a_package_and_waits_for_it() {
    let serve = Serve::start("");
    let dir = tempfile::tempdir().unwrap();
    let hello = packaged_hello(dir.path());
    let aws = |args: &[&str]| aws_cli(&serve, &serve.endpoint, args);
    let zip_arg = format!("fileb://{}", hello.display());
    let created = json(&aws(&[
        "lambda",
        "create-function",
        "--function-name",
        "cli-hello",
        "--runtime",
        "provided.al2023",
        "--handler",
        "hello.wasm",
        "--role",
        ROLE,
        "--zip-file",
        &zip_arg,
    ]));
    assert_eq!(created["State"], "Pending");
    aws(&[
        "lambda",
        "wait",
        "function-active-v2",
        "--function-name",
        "cli-hello",
    ]);
    let out = dir.path().join("out.json");
    aws(&[
        "lambda",
        "invoke",
        "--function-name",
        "cli-hello",
        "--payload",
        r#"{"first_name":"Ada","last_name":"Lovelace"}"#,
        out.to_str().unwrap(),
    ]);
    assert_eq!(
        std::fs::read_to_string(&out).unwrap(),
        r#"{"message":"Hello Ada Lovelace!"}"#
    );
    let listed = json(&aws(&["lambda", "list-functions"]));
    assert_eq!(listed["Functions"][0]["FunctionName"], "cli-hello");
    aws(&["lambda", "delete-function", "--function-name", "cli-hello"]);
    let listed = json(&aws(&["lambda", "list-functions"]));
    assert_eq!(listed["Functions"], json!([]));
}

#[test]
fn bad_requests_get_lambdas_errors_and_leave_nothing_behind() {
    let serve = Serve::start("");
    let dir = tempfile::tempdir().unwrap();
    let probe = probe_zip(dir.path());
    let with = |change: Value| {
        let mut request = json!({
            "FunctionName": "bad",
            "Runtime": "provided.al2023",
            "Role": ROLE,
            "Handler": "probe.wasm",
            "Code": { "ZipFile": format!("@{}", probe.display()) },
        });
        for (key, value) in change.as_object().unwrap() {
            request[key] = value.clone();
        }
        boto3(&serve, "create_function", request)
    };
    let not_a_zip = dir.path().join("not.zip");
    std::fs::write(&not_a_zip, b"this is not a zip").unwrap();
    let escaping = zip_of(&dir.path().join("escaping.zip"), &[("../outside", b"x")]);
    // Incompressible bytes, so that the zip itself is just over Lambda's
    // 50 MB (and its base64 still under the request limit).
    let big = dir.path().join("big.zip");
    {
        let mut noise = vec![0u8; 52_428_800 + 64 * 1024];
        let mut state = 0x9e37_79b9_7f4a_7c15u64;
        for chunk in noise.chunks_mut(8) {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            chunk.copy_from_slice(&state.to_le_bytes()[..chunk.len()]);
        }
        let mut zip = zip::ZipWriter::new(std::fs::File::create(&big).unwrap());
        zip.start_file(
            "noise",
            zip::write::SimpleFileOptions::default()
                .compression_method(zip::CompressionMethod::Stored),
        )
        .unwrap();
        zip.write_all(&noise).unwrap();
        zip.finish().unwrap();
    }
    let cases = [
        (
            json!({ "Role": "not-a-role" }),
            400,
            "ValidationException",
            "failed to satisfy constraint",
        ),
        (
            json!({ "Code": { "ZipFile": format!("@{}", not_a_zip.display()) } }),
            400,
            "InvalidParameterValueException",
            "Could not unzip uploaded file. Please check your file, then try to upload again.",
        ),
        (
            json!({ "Code": { "ZipFile": format!("@{}", escaping.display()) } }),
            400,
            "InvalidParameterValueException",
            "../outside",
        ),
        (
            json!({ "Code": { "ZipFile": format!("@{}", big.display()) } }),
            413,
            "RequestEntityTooLargeException",
            "52428800",
        ),
        (
            json!({ "LoggingConfig": { "ApplicationLogLevel": "DEBUG" } }),
            400,
            "InvalidParameterValueException",
            "LogLevel is not supported when LogFormat is set to \"Text\"",
        ),
        (
            json!({ "LoggingConfig": { "LogFormat": "XML" } }),
            400,
            "ValidationException",
            "[JSON, Text]",
        ),
        (
            json!({ "LoggingConfig": { "LogFormat": "JSON", "SystemLogLevel": "ERROR" } }),
            400,
            "ValidationException",
            "[DEBUG, INFO, WARN]",
        ),
        (
            json!({ "MemorySize": 64 }),
            400,
            "ValidationException",
            "greater than or equal to 128",
        ),
        (
            json!({ "Timeout": 901 }),
            400,
            "ValidationException",
            "less than or equal to 900",
        ),
    ];
    for (change, status, code, message) in cases {
        let answer = with(change.clone());
        assert_eq!(answer["status"], status, "{change}: {answer}");
        assert_eq!(answer["error"], code, "{change}: {answer}");
        assert!(
            answer["message"].as_str().unwrap().contains(message),
            "{change}: {answer}"
        );
    }
    // None of them left a function behind.
    let listed = boto3(&serve, "list_functions", json!({}));
    assert_eq!(listed["Functions"], json!([]), "{listed}");

    let created = with(json!({}));
    assert_eq!(created["status"], 201, "{created}");
    let again = with(json!({}));
    assert_eq!(again["error"], "ResourceConflictException", "{again}");
    assert_eq!(again["status"], 409);
    let missing = boto3(&serve, "delete_function", json!({ "FunctionName": "nope" }));
    assert_eq!(missing["error"], "ResourceNotFoundException");

    // A handler that is not in the zip: the function fails to become
    // active, and invoking it is refused with its state.
    let broken = boto3(
        &serve,
        "create_function",
        json!({
            "FunctionName": "no-entry",
            "Runtime": "provided.al2023",
            "Role": ROLE,
            "Handler": "missing.wasm",
            "Code": { "ZipFile": format!("@{}", probe.display()) },
        }),
    );
    assert_eq!(broken["status"], 201, "{broken}");
    let waited = client(&serve, &["wait", "function_active_v2", "no-entry"]);
    assert!(waited.get("error").is_some(), "{waited}");
    let failed = boto3(
        &serve,
        "get_function_configuration",
        json!({ "FunctionName": "no-entry" }),
    );
    assert_eq!(failed["State"], "Failed");
    assert_eq!(failed["StateReasonCode"], "FunctionError.InvalidEntryPoint");
    assert!(
        failed["StateReason"]
            .as_str()
            .unwrap()
            .contains("missing.wasm")
    );
    let refused = invoke(&serve, "no-entry", &json!({}));
    assert_eq!(refused["error"], "ResourceConflictException", "{refused}");
    assert_eq!(
        refused["message"],
        "The operation cannot be performed at this time. The function is currently in the following state: Failed"
    );
}

#[test]
fn functions_survive_kill_9_and_answer_the_same_after_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let state_dir = dir.path().join("state");
    let hello = packaged_hello(dir.path());
    let (before, before_list) = {
        let mut serve = Serve::start_with_state("", tempfile::tempdir().unwrap(), &state_dir);
        create(&serve, "kept", &hello, "hello.wasm");
        wait(&serve, "function_active_v2", "kept");
        boto3(
            &serve,
            "update_function_configuration",
            json!({ "FunctionName": "kept", "MemorySize": 256, "Description": "kept across" }),
        );
        wait(&serve, "function_updated_v2", "kept");
        boto3(
            &serve,
            "tag_resource",
            json!({
                "Resource": "arn:aws:lambda:us-east-1:000000000000:function:kept",
                "Tags": { "owner": "tests" },
            }),
        );
        let published = boto3(&serve, "publish_version", json!({ "FunctionName": "kept" }));
        assert_eq!(published["Version"], "1", "{published}");
        client(&serve, &["wait", "published_version_active", "kept", "1"]);
        let alias = boto3(
            &serve,
            "create_alias",
            json!({ "FunctionName": "kept", "Name": "prod", "FunctionVersion": "1" }),
        );
        assert_eq!(alias["status"], 201, "{alias}");
        let before = boto3(&serve, "get_function", json!({ "FunctionName": "kept" }));
        let list = boto3(&serve, "list_functions", json!({}));
        // SIGKILL: nothing is flushed on the way out.
        serve.child.kill().unwrap();
        serve.child.wait().unwrap();
        (before, list)
    };
    let serve = Serve::start_with_state("", tempfile::tempdir().unwrap(), &state_dir);
    let mut after = boto3(&serve, "get_function", json!({ "FunctionName": "kept" }));
    let mut before = before;
    // Code.Location names the server's address, which a restart on port 0
    // changes; everything else is the same.
    for answer in [&mut before, &mut after] {
        answer["Code"]["Location"] = json!(
            answer["Code"]["Location"]
                .as_str()
                .unwrap()
                .split("/wasm-lambda/")
                .nth(1)
        );
    }
    assert_eq!(after, before);
    assert_eq!(after["Configuration"]["MemorySize"], 256);
    assert_eq!(after["Configuration"]["State"], "Active");
    assert_eq!(boto3(&serve, "list_functions", json!({})), before_list);
    // It serves at once: no waiting for a state, and its alias and
    // version with it.
    let invoked = invoke(&serve, "kept", &hello_event());
    assert_eq!(invoked["Payload"], r#"{"message":"Hello John Smith!"}"#);
    let through_alias = invoke(&serve, "kept:prod", &hello_event());
    assert_eq!(through_alias["ExecutedVersion"], "1", "{through_alias}");
    assert_eq!(
        through_alias["Payload"],
        r#"{"message":"Hello John Smith!"}"#
    );
}

#[test]
fn list_functions_pages_with_marker_and_max_items() {
    let serve = Serve::start("");
    let dir = tempfile::tempdir().unwrap();
    let probe = probe_zip(dir.path());
    let mut names: Vec<String> = (0..5).map(|index| format!("fn-{index}")).collect();
    for name in &names {
        create(&serve, name, &probe, "probe.wasm");
    }
    let pages = client(&serve, &["pages", "2"]);
    names.sort();
    assert_eq!(
        pages,
        json!([[names[0], names[1]], [names[2], names[3]], [names[4]],])
    );
}

/// A zip of the folder `dir` as a user would upload it: every file, with
/// paths relative to the folder, leaving out what a build makes there.
fn zip_folder(dir: &Path, zip_path: &Path) -> PathBuf {
    fn add(zip: &mut zip::ZipWriter<std::fs::File>, root: &Path, dir: &Path) {
        let mut entries: Vec<_> = std::fs::read_dir(dir)
            .unwrap()
            .map(|entry| entry.unwrap().path())
            .collect();
        entries.sort();
        for path in entries {
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            if ["build", "node_modules", "__pycache__", "case.json"].contains(&name.as_str()) {
                continue;
            }
            if path.is_dir() {
                add(zip, root, &path);
            } else {
                let relative = path.strip_prefix(root).unwrap().to_string_lossy();
                zip.start_file(relative, zip::write::SimpleFileOptions::default())
                    .unwrap();
                zip.write_all(&std::fs::read(&path).unwrap()).unwrap();
            }
        }
    }
    let mut zip = zip::ZipWriter::new(std::fs::File::create(zip_path).unwrap());
    add(&mut zip, dir, dir);
    zip.finish().unwrap();
    zip_path.to_path_buf()
}

#[test]
fn source_zips_of_python_and_nodejs_are_built_by_the_server_as_lambda_takes_them() {
    let serve = Serve::start("");
    let dir = tempfile::tempdir().unwrap();
    let python = zip_folder(
        &repo_root().join("host/tests/guests/python/probe"),
        &dir.path().join("python.zip"),
    );
    let node = zip_folder(
        &repo_root().join("host/tests/corpus/js/npm-lockfile"),
        &dir.path().join("node.zip"),
    );
    let deploy = |name: &str, runtime: &str, handler: &str, zip: &Path| {
        let created = boto3(
            &serve,
            "create_function",
            json!({
                "FunctionName": name,
                "Runtime": runtime,
                "Role": ROLE,
                "Handler": handler,
                "Code": { "ZipFile": format!("@{}", zip.display()) },
            }),
        );
        assert_eq!(created["State"], "Pending", "{created}");
        assert_eq!(created["Runtime"], runtime);
    };
    // Python with a requirements.txt (six, imported by the handler).
    deploy(
        "py",
        "python3.12",
        "lambda_function.lambda_handler",
        &python,
    );
    // Node.js, CommonJS with a lock file and a handler in a subfolder.
    deploy("node", "nodejs20.x", "src/handler.report", &node);
    wait(&serve, "function_active_v2", "py");
    wait(&serve, "function_active_v2", "node");

    let echoed = invoke(&serve, "py", &json!({ "action": "echo", "from": "zip" }));
    assert_eq!(
        serde_json::from_str::<Value>(echoed["Payload"].as_str().unwrap()).unwrap(),
        json!({ "action": "echo", "from": "zip" }),
        "{echoed}"
    );
    let case: Value = serde_json::from_str(
        &std::fs::read_to_string(repo_root().join("host/tests/corpus/js/npm-lockfile/case.json"))
            .unwrap(),
    )
    .unwrap();
    let expected = &case["invocations"][0];
    let reported = invoke(&serve, "node", &expected["event"]);
    assert_eq!(
        serde_json::from_str::<Value>(reported["Payload"].as_str().unwrap()).unwrap(),
        expected["expect"],
        "{reported}"
    );

    // New source, built while the old code serves.
    let source = dir.path().join("v2");
    std::fs::create_dir(&source).unwrap();
    std::fs::write(
        source.join("app.py"),
        "def handler(event, context):\n    return {\"version\": 2, \"got\": event}\n",
    )
    .unwrap();
    let v2 = zip_folder(&source, &dir.path().join("v2.zip"));
    boto3(
        &serve,
        "update_function_configuration",
        json!({ "FunctionName": "py", "Handler": "app.handler" }),
    );
    // The new handler is not in the old source: that update fails (the
    // waiter stops on it), and the code it names arrives with the next one.
    let waited = client(&serve, &["wait", "function_updated_v2", "py"]);
    assert!(waited.get("error").is_some(), "{waited}");
    let after_handler = boto3(
        &serve,
        "get_function_configuration",
        json!({ "FunctionName": "py" }),
    );
    assert_eq!(
        after_handler["LastUpdateStatus"], "Failed",
        "{after_handler}"
    );
    boto3(
        &serve,
        "update_function_code",
        json!({ "FunctionName": "py", "ZipFile": format!("@{}", v2.display()) }),
    );
    wait(&serve, "function_updated_v2", "py");
    let answered = invoke(&serve, "py", &json!({ "n": 1 }));
    assert_eq!(
        serde_json::from_str::<Value>(answered["Payload"].as_str().unwrap()).unwrap(),
        json!({ "version": 2, "got": { "n": 1 } }),
        "{answered}"
    );

    // A build error fails the function, with the error as its reason.
    let broken = dir.path().join("broken");
    std::fs::create_dir(&broken).unwrap();
    std::fs::write(
        broken.join("index.js"),
        "exports.handler = async (event) => {\n",
    )
    .unwrap();
    let broken = zip_folder(&broken, &dir.path().join("broken.zip"));
    deploy("broken", "nodejs22.x", "index.handler", &broken);
    let waited = client(&serve, &["wait", "function_active_v2", "broken"]);
    assert!(waited.get("error").is_some(), "{waited}");
    let failed = boto3(
        &serve,
        "get_function_configuration",
        json!({ "FunctionName": "broken" }),
    );
    assert_eq!(failed["State"], "Failed", "{failed}");
    assert_eq!(failed["StateReasonCode"], "FunctionError.RuntimeInitError");
    assert!(
        failed["StateReason"].as_str().unwrap().contains("build"),
        "{failed}"
    );

    // A runtime Lambda has but this server cannot run.
    deploy("java", "java21", "example.Handler::handleRequest", &v2);
    let waited = client(&serve, &["wait", "function_active_v2", "java"]);
    assert!(waited.get("error").is_some(), "{waited}");
    let java = boto3(
        &serve,
        "get_function_configuration",
        json!({ "FunctionName": "java" }),
    );
    assert_eq!(java["StateReasonCode"], "InvalidRuntime", "{java}");
}

/// The hello component in a zip under the probe's file name, so that an
/// update of the code alone changes what answers.
fn hello_as_probe_zip(dir: &Path) -> PathBuf {
    let hello = std::fs::read(guest("examples/rust/hello")).unwrap();
    zip_of(&dir.join("hello-as-probe.zip"), &[("probe.wasm", &hello)])
}

#[test]
fn versions_and_weighted_aliases_run_the_code_they_name() {
    let serve = Serve::start("");
    let dir = tempfile::tempdir().unwrap();
    create(&serve, "v", &probe_zip(dir.path()), "probe.wasm");
    wait(&serve, "function_active_v2", "v");
    let published = boto3(&serve, "publish_version", json!({ "FunctionName": "v" }));
    assert_eq!(published["status"], 201, "{published}");
    assert_eq!(published["Version"], "1");
    assert_eq!(
        published["FunctionArn"],
        "arn:aws:lambda:us-east-1:000000000000:function:v:1"
    );
    client(&serve, &["wait", "published_version_active", "v", "1"]);
    // Nothing changed since: the same version comes back.
    let again = boto3(&serve, "publish_version", json!({ "FunctionName": "v" }));
    assert_eq!(again["Version"], "1", "{again}");

    boto3(
        &serve,
        "update_function_code",
        json!({
            "FunctionName": "v",
            "ZipFile": format!("@{}", hello_as_probe_zip(dir.path()).display()),
        }),
    );
    wait(&serve, "function_updated_v2", "v");
    // Version 1 still runs the first code, and says it is version 1.
    let first = boto3(
        &serve,
        "invoke",
        json!({
            "FunctionName": "v",
            "Qualifier": "1",
            "Payload": json!({ "action": "context" }).to_string(),
        }),
    );
    assert_eq!(first["ExecutedVersion"], "1", "{first}");
    let context: Value = serde_json::from_str(first["Payload"].as_str().unwrap()).unwrap();
    assert_eq!(context["context"]["function_version"], "1", "{context}");
    assert_eq!(
        context["context"]["invoked_function_arn"],
        "arn:aws:lambda:us-east-1:000000000000:function:v:1"
    );
    let streamed = boto3(
        &serve,
        "invoke_with_response_stream",
        json!({ "FunctionName": "v", "Qualifier": "1", "Payload": "{}" }),
    );
    assert_eq!(streamed["ExecutedVersion"], "1", "{streamed}");
    let latest = invoke(&serve, "v", &hello_event());
    assert_eq!(latest["ExecutedVersion"], "$LATEST");
    assert_eq!(latest["Payload"], r#"{"message":"Hello John Smith!"}"#);
    let second = boto3(&serve, "publish_version", json!({ "FunctionName": "v" }));
    assert_eq!(second["Version"], "2", "{second}");
    client(&serve, &["wait", "published_version_active", "v", "2"]);

    // Weights out of Lambda's range are refused.
    for routing in [json!({ "2": 1.0 }), json!({ "2": 0.1, "1": 0.1 })] {
        let refused = boto3(
            &serve,
            "create_alias",
            json!({
                "FunctionName": "v",
                "Name": "bad",
                "FunctionVersion": "1",
                "RoutingConfig": { "AdditionalVersionWeights": routing },
            }),
        );
        assert_eq!(
            refused["error"], "InvalidParameterValueException",
            "{refused}"
        );
    }
    let alias = boto3(
        &serve,
        "create_alias",
        json!({
            "FunctionName": "v",
            "Name": "live",
            "FunctionVersion": "1",
            "RoutingConfig": { "AdditionalVersionWeights": { "2": 0.2 } },
        }),
    );
    assert_eq!(alias["status"], 201, "{alias}");
    assert_eq!(
        alias["AliasArn"],
        "arn:aws:lambda:us-east-1:000000000000:function:v:live"
    );

    // 10,000 invocations of the alias: about a fifth run version 2, and
    // each answer is the code of the version its header names.
    let spread = client(
        &serve,
        &["spread", "v:live", "10000", &hello_event().to_string()],
    );
    let to_two = spread["counts"]["2"].as_u64().unwrap_or(0);
    let to_one = spread["counts"]["1"].as_u64().unwrap_or(0);
    assert_eq!(to_one + to_two, 10_000, "{spread}");
    assert!((1_880..=2_120).contains(&to_two), "{spread}");
    assert_eq!(
        spread["answers"]["2"],
        json!([r#"{"message":"Hello John Smith!"}"#]),
        "{spread}"
    );
    let echoed: Value = serde_json::from_str(spread["answers"]["1"][0].as_str().unwrap()).unwrap();
    assert_eq!(echoed, hello_event(), "{spread}");
    assert_eq!(spread["answers"]["1"].as_array().unwrap().len(), 1);

    // Reads through the alias and the versions.
    let through_alias = boto3(
        &serve,
        "get_function_configuration",
        json!({ "FunctionName": "v", "Qualifier": "live" }),
    );
    assert_eq!(through_alias["Version"], "1", "{through_alias}");
    let versions = boto3(
        &serve,
        "list_versions_by_function",
        json!({ "FunctionName": "v" }),
    );
    let numbers: Vec<&str> = versions["Versions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|version| version["Version"].as_str().unwrap())
        .collect();
    assert_eq!(numbers, ["$LATEST", "1", "2"]);
    let stale = boto3(
        &serve,
        "update_alias",
        json!({ "FunctionName": "v", "Name": "live", "FunctionVersion": "2", "RevisionId": "stale" }),
    );
    assert_eq!(stale["status"], 412, "{stale}");
    let in_use = boto3(
        &serve,
        "delete_function",
        json!({ "FunctionName": "v", "Qualifier": "2" }),
    );
    assert_eq!(in_use["error"], "ResourceConflictException", "{in_use}");
    let moved = boto3(
        &serve,
        "update_alias",
        json!({
            "FunctionName": "v",
            "Name": "live",
            "FunctionVersion": "2",
            "RoutingConfig": { "AdditionalVersionWeights": {} },
            "RevisionId": alias["RevisionId"],
        }),
    );
    assert_eq!(moved["FunctionVersion"], "2", "{moved}");
    let deleted = boto3(
        &serve,
        "delete_function",
        json!({ "FunctionName": "v", "Qualifier": "1" }),
    );
    assert_eq!(deleted["status"], 204, "{deleted}");
    let gone = invoke(&serve, "v:1", &hello_event());
    assert_eq!(gone["error"], "ResourceNotFoundException", "{gone}");
    let aliases = boto3(&serve, "list_aliases", json!({ "FunctionName": "v" }));
    assert_eq!(aliases["Aliases"][0]["Name"], "live", "{aliases}");
    // The function's name lists once, not once per version.
    let listed = boto3(&serve, "list_functions", json!({}));
    assert_eq!(listed["Functions"].as_array().unwrap().len(), 1, "{listed}");
}

#[test]
fn invocations_during_code_updates_all_succeed_with_the_old_or_the_new_code() {
    let serve = Serve::start("");
    let dir = tempfile::tempdir().unwrap();
    let probe = probe_zip(dir.path());
    let hello = hello_as_probe_zip(dir.path());
    create(&serve, "busy", &probe, "probe.wasm");
    wait(&serve, "function_active_v2", "busy");
    // 1,000 invocations from 8 threads while the code changes twice.
    let load = Command::new(python())
        .arg(repo_root().join("host/tests/clients/control_client.py"))
        .arg(&serve.endpoint)
        .args(["spread", "busy", "1000", &hello_event().to_string()])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    for zip in [&hello, &probe] {
        let updated = boto3(
            &serve,
            "update_function_code",
            json!({ "FunctionName": "busy", "ZipFile": format!("@{}", zip.display()) }),
        );
        assert_eq!(updated["status"], 200, "{updated}");
        wait(&serve, "function_updated_v2", "busy");
    }
    let output = load.wait_with_output().unwrap();
    assert!(
        output.status.success(),
        "an invocation failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let spread = json(&String::from_utf8_lossy(&output.stdout));
    assert_eq!(spread["counts"]["$LATEST"], 1000, "{spread}");
    let mut answers: Vec<Value> = spread["answers"]["$LATEST"]
        .as_array()
        .unwrap()
        .iter()
        .map(|answer| serde_json::from_str(answer.as_str().unwrap()).unwrap())
        .collect();
    answers.sort_by_key(|answer| answer.to_string());
    // Only the two codes answered (on this machine the updates land
    // mid-load and both do, but how the two overlap is up to the
    // scheduler, so only the errors and the answers are checked).
    let echo = hello_event();
    let greeting = json!({ "message": "Hello John Smith!" });
    for answer in &answers {
        assert!(*answer == echo || *answer == greeting, "{answer}");
    }
}

/// Terraform's `aws_lambda_function` (and its concurrency, event-invoke and
/// URL neighbours) as calls: create, find, wait, set concurrency, read,
/// update configuration then code with waits, publish, read again with no
/// field changed, delete, poll until gone.
#[test]
fn terraforms_call_sequence_runs_and_a_second_read_changes_nothing() {
    let serve = Serve::start("");
    let dir = tempfile::tempdir().unwrap();
    let probe = probe_zip(dir.path());
    let created = create(&serve, "tf", &probe, "probe.wasm");
    assert_eq!(created["status"], 201, "{created}");
    let found = boto3(&serve, "get_function", json!({ "FunctionName": "tf" }));
    assert_eq!(found["status"], 200, "{found}");
    wait(&serve, "function_active_v2", "tf");
    let concurrency = boto3(
        &serve,
        "put_function_concurrency",
        json!({ "FunctionName": "tf", "ReservedConcurrentExecutions": 5 }),
    );
    assert_eq!(
        concurrency["ReservedConcurrentExecutions"], 5,
        "{concurrency}"
    );
    let read = |serve: &Serve| {
        let mut function = boto3(serve, "get_function", json!({ "FunctionName": "tf" }));
        function.as_object_mut().unwrap().remove("status");
        let versions = boto3(
            serve,
            "list_versions_by_function",
            json!({ "FunctionName": "tf" }),
        );
        let signing = boto3(
            serve,
            "get_function_code_signing_config",
            json!({ "FunctionName": "tf" }),
        );
        let concurrency = boto3(
            serve,
            "get_function_concurrency",
            json!({ "FunctionName": "tf" }),
        );
        json!([function, versions, signing, concurrency])
    };
    let first = read(&serve);
    assert_eq!(
        first[0]["Concurrency"]["ReservedConcurrentExecutions"], 5,
        "{first}"
    );
    boto3(
        &serve,
        "update_function_configuration",
        json!({ "FunctionName": "tf", "Timeout": 9, "MemorySize": 192 }),
    );
    wait(&serve, "function_updated_v2", "tf");
    // New code (the same component, zipped again with a note beside it).
    let component = std::fs::read(guest("host/tests/guests/probe")).unwrap();
    let rezipped = zip_of(
        &dir.path().join("tf-v2.zip"),
        &[("probe.wasm", &component), ("NOTE.txt", b"second upload")],
    );
    boto3(
        &serve,
        "update_function_code",
        json!({ "FunctionName": "tf", "ZipFile": format!("@{}", rezipped.display()) }),
    );
    wait(&serve, "function_updated_v2", "tf");
    boto3(
        &serve,
        "put_function_concurrency",
        json!({ "FunctionName": "tf", "ReservedConcurrentExecutions": 3 }),
    );
    let published = boto3(&serve, "publish_version", json!({ "FunctionName": "tf" }));
    assert_eq!(published["Version"], "1", "{published}");
    client(&serve, &["wait", "published_version_active", "tf", "1"]);
    let second = read(&serve);
    let third = read(&serve);
    assert_eq!(second, third, "a read changed something");
    let configuration = &second[0]["Configuration"];
    assert_eq!(configuration["Timeout"], 9);
    assert_eq!(configuration["MemorySize"], 192);
    assert_eq!(configuration["CodeSha256"], sha256_base64(&rezipped));
    assert_eq!(second[3]["ReservedConcurrentExecutions"], 3);
    let versions: Vec<&str> = second[1]["Versions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|version| version["Version"].as_str().unwrap())
        .collect();
    assert_eq!(versions, ["$LATEST", "1"]);

    // The neighbours: Event settings and a function URL that answers.
    let async_config = boto3(
        &serve,
        "put_function_event_invoke_config",
        json!({ "FunctionName": "tf", "MaximumRetryAttempts": 0, "MaximumEventAgeInSeconds": 120 }),
    );
    assert_eq!(async_config["MaximumRetryAttempts"], 0, "{async_config}");
    let refused = boto3(
        &serve,
        "put_function_event_invoke_config",
        json!({ "FunctionName": "tf", "MaximumRetryAttempts": 5 }),
    );
    assert_eq!(refused["error"], "ValidationException", "{refused}");
    let url = boto3(
        &serve,
        "create_function_url_config",
        json!({ "FunctionName": "tf", "AuthType": "NONE" }),
    );
    assert_eq!(url["status"], 201, "{url}");
    let address = url["FunctionUrl"].as_str().unwrap();
    let answered = ureq::get(&format!("{address}orders?id=7"))
        .call()
        .unwrap_or_else(|error| panic!("{address}: {error}"))
        .body_mut()
        .read_to_string()
        .unwrap();
    // The probe echoes its event: the URL's request as Lambda's v2 HTTP event.
    let event: Value = serde_json::from_str(&answered).unwrap();
    assert_eq!(event["rawPath"], "/orders", "{answered}");
    assert_eq!(event["rawQueryString"], "id=7", "{answered}");
    let again = boto3(
        &serve,
        "create_function_url_config",
        json!({ "FunctionName": "tf", "AuthType": "NONE" }),
    );
    assert_eq!(again["error"], "ResourceConflictException", "{again}");

    boto3(&serve, "delete_function", json!({ "FunctionName": "tf" }));
    let gone = boto3(&serve, "get_function", json!({ "FunctionName": "tf" }));
    assert_eq!(gone["status"], 404, "{gone}");
}

/// Reserved concurrency limits the function with all its versions, as on
/// Lambda: a version published before or after it was set, and versions
/// loaded again after a restart.
#[test]
fn a_reserved_concurrency_set_through_the_api_throttles_the_function_and_its_versions() {
    let dir = tempfile::tempdir().unwrap();
    let state_dir = dir.path().join("state");
    let throttled = |serve: &Serve, name: &str| {
        let answer = invoke(serve, name, &json!({ "action": "echo" }));
        assert_eq!(
            answer["error"], "TooManyRequestsException",
            "{name}: {answer}"
        );
        assert_eq!(answer["status"], 429);
    };
    {
        let mut serve = Serve::start_with_state("", tempfile::tempdir().unwrap(), &state_dir);
        create(&serve, "limited", &probe_zip(dir.path()), "probe.wasm");
        wait(&serve, "function_active_v2", "limited");
        boto3(
            &serve,
            "publish_version",
            json!({ "FunctionName": "limited" }),
        );
        client(
            &serve,
            &["wait", "published_version_active", "limited", "1"],
        );
        boto3(
            &serve,
            "put_function_concurrency",
            json!({ "FunctionName": "limited", "ReservedConcurrentExecutions": 0 }),
        );
        throttled(&serve, "limited");
        throttled(&serve, "limited:1");
        // A version published under the limit is held to it too.
        boto3(
            &serve,
            "update_function_configuration",
            json!({ "FunctionName": "limited", "Description": "second" }),
        );
        wait(&serve, "function_updated_v2", "limited");
        boto3(
            &serve,
            "publish_version",
            json!({ "FunctionName": "limited" }),
        );
        client(
            &serve,
            &["wait", "published_version_active", "limited", "2"],
        );
        throttled(&serve, "limited:2");
        serve.child.kill().unwrap();
        serve.child.wait().unwrap();
    }
    let serve = Serve::start_with_state("", tempfile::tempdir().unwrap(), &state_dir);
    throttled(&serve, "limited:1");
    let deleted = boto3(
        &serve,
        "delete_function_concurrency",
        json!({ "FunctionName": "limited" }),
    );
    assert_eq!(deleted["status"], 204, "{deleted}");
    for name in ["limited", "limited:1", "limited:2"] {
        let answered = invoke(&serve, name, &json!({ "action": "echo" }));
        assert_eq!(answered["StatusCode"], 200, "{name}: {answered}");
    }
}

/// Code from an S3 object (moto's server, given to `serve` with
/// `--s3-endpoint`) and from a LocalStack hot-reload folder deploys as a
/// `ZipFile` does; a missing object is Lambda's error and leaves nothing.
#[test]
fn code_from_s3_and_from_a_hot_reload_folder_deploys_and_serves() {
    let s3 = crate::corpus::moto();
    let state = tempfile::tempdir().unwrap();
    let serve = Serve::start_with_flags(
        "",
        tempfile::tempdir().unwrap(),
        state.path(),
        &["--s3-endpoint", s3],
    );
    let dir = tempfile::tempdir().unwrap();
    let hello = packaged_hello(dir.path());
    // A key with a space, a plus and a non-ASCII letter: each must reach
    // S3 encoded once, under the signature.
    let key = "builds/hello v1+ü.zip";
    aws_cli(&serve, s3, &["s3", "mb", "s3://control-plane-code"]);
    aws_cli(
        &serve,
        s3,
        &[
            "s3",
            "cp",
            hello.to_str().unwrap(),
            &format!("s3://control-plane-code/{key}"),
        ],
    );
    let created = boto3(
        &serve,
        "create_function",
        json!({
            "FunctionName": "from-s3",
            "Runtime": "provided.al2023",
            "Role": ROLE,
            "Handler": "hello.wasm",
            "Code": { "S3Bucket": "control-plane-code", "S3Key": key },
        }),
    );
    assert_eq!(created["status"], 201, "{created}");
    assert_eq!(created["CodeSha256"], sha256_base64(&hello));
    wait(&serve, "function_active_v2", "from-s3");
    let invoked = invoke(&serve, "from-s3", &hello_event());
    assert_eq!(invoked["Payload"], r#"{"message":"Hello John Smith!"}"#);
    // GetFunction's Code.Location gives back the object's bytes.
    let function = boto3(&serve, "get_function", json!({ "FunctionName": "from-s3" }));
    let location = function["Code"]["Location"].as_str().unwrap();
    let fetched = ureq::get(location)
        .call()
        .unwrap()
        .body_mut()
        .with_config()
        .limit(1 << 30)
        .read_to_vec()
        .unwrap();
    assert_eq!(fetched, std::fs::read(&hello).unwrap());

    let missing = boto3(
        &serve,
        "create_function",
        json!({
            "FunctionName": "missing-object",
            "Runtime": "provided.al2023",
            "Role": ROLE,
            "Handler": "hello.wasm",
            "Code": { "S3Bucket": "control-plane-code", "S3Key": "no/such.zip" },
        }),
    );
    assert_eq!(
        missing["error"], "InvalidParameterValueException",
        "{missing}"
    );
    assert!(
        missing["message"].as_str().unwrap().contains("NoSuchKey"),
        "{missing}"
    );
    let listed = boto3(&serve, "list_functions", json!({}));
    let names: Vec<_> = listed["Functions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|function| function["FunctionName"].clone())
        .collect();
    assert_eq!(names, [json!("from-s3")]);

    // A hot-reload folder holding a component; changing the folder and
    // updating the code with the same S3Key deploys what it holds now.
    let folder = dir.path().join("live");
    std::fs::create_dir(&folder).unwrap();
    std::fs::copy(guest("examples/rust/hello"), folder.join("fn.wasm")).unwrap();
    let hot = json!({ "S3Bucket": "hot-reload", "S3Key": folder.to_str().unwrap() });
    let created = boto3(
        &serve,
        "create_function",
        json!({
            "FunctionName": "hot",
            "Runtime": "provided.al2023",
            "Role": ROLE,
            "Handler": "fn.wasm",
            "Code": hot,
        }),
    );
    assert_eq!(created["status"], 201, "{created}");
    wait(&serve, "function_active_v2", "hot");
    let invoked = invoke(&serve, "hot", &hello_event());
    assert_eq!(invoked["Payload"], r#"{"message":"Hello John Smith!"}"#);
    let mut update = hot.clone();
    update["FunctionName"] = json!("hot");
    let same = boto3(&serve, "update_function_code", update.clone());
    assert_eq!(same["CodeSha256"], created["CodeSha256"], "{same}");
    wait(&serve, "function_updated_v2", "hot");
    std::fs::copy(guest("host/tests/guests/probe"), folder.join("fn.wasm")).unwrap();
    let changed = boto3(&serve, "update_function_code", update);
    assert_ne!(changed["CodeSha256"], created["CodeSha256"], "{changed}");
    wait(&serve, "function_updated_v2", "hot");
    let probed = invoke(&serve, "hot", &json!({ "action": "echo", "n": 5 }));
    assert!(
        probed["Payload"].as_str().unwrap().contains("\"n\":5"),
        "{probed}"
    );
}

/// `wasm-lambda deploy` creates a function from a component, updates it
/// from a project folder it builds, and reports a failed update with the
/// control plane's reason while the old code keeps serving.
#[test]
fn wasm_lambda_deploy_creates_then_updates_and_reports_failures() {
    let serve = Serve::start("");
    let deploy = |path: &Path| {
        Command::new(env!("CARGO_BIN_EXE_wasm-lambda"))
            .arg("deploy")
            .arg(path)
            .args(["--name", "deployed", "--endpoint", &serve.endpoint])
            // The guests' shared target folder: the Rust build is the one
            // the tests made already.
            .env("CARGO_TARGET_DIR", crate::common::guest_target_dir())
            .env("WASM_LAMBDA_CACHE_DIR", cache_dir())
            .output()
            .unwrap()
    };
    let created = deploy(guest("host/tests/guests/probe"));
    let stderr = String::from_utf8_lossy(&created.stderr);
    assert!(created.status.success(), "{stderr}\n{}", serve.log());
    assert!(stderr.contains("created arn:aws:lambda:"), "{stderr}");
    let configuration = json(&String::from_utf8_lossy(&created.stdout));
    assert_eq!(configuration["State"], "Active");
    assert_eq!(configuration["Runtime"], "provided.al2023");
    let probed = invoke(&serve, "deployed", &json!({ "action": "echo", "n": 5 }));
    assert!(
        probed["Payload"].as_str().unwrap().contains("\"n\":5"),
        "{probed}"
    );

    let updated = deploy(&repo_root().join("examples/rust/hello"));
    let stderr = String::from_utf8_lossy(&updated.stderr);
    assert!(updated.status.success(), "{stderr}\n{}", serve.log());
    assert!(stderr.contains("updated arn:aws:lambda:"), "{stderr}");
    assert_eq!(
        json(&String::from_utf8_lossy(&updated.stdout))["LastUpdateStatus"],
        "Successful"
    );
    let invoked = invoke(&serve, "deployed", &hello_event());
    assert_eq!(invoked["Payload"], r#"{"message":"Hello John Smith!"}"#);

    // Bytes that are no component: the update fails as Lambda reports it.
    let dir = tempfile::tempdir().unwrap();
    let broken = dir.path().join("hello.wasm");
    std::fs::write(&broken, b"\0asm not really").unwrap();
    let failed = deploy(&broken);
    let stderr = String::from_utf8_lossy(&failed.stderr);
    assert!(!failed.status.success(), "{stderr}");
    assert!(stderr.contains("the update of deployed failed"), "{stderr}");
    assert!(stderr.contains("FunctionError."), "{stderr}");
    let invoked = invoke(&serve, "deployed", &hello_event());
    assert_eq!(invoked["Payload"], r#"{"message":"Hello John Smith!"}"#);
}

/// The status and body of a plain GET of a function URL.
fn get_url(address: &str) -> (u16, String) {
    let mut response = ureq::get(address)
        .config()
        .http_status_as_error(false)
        .build()
        .call()
        .unwrap_or_else(|error| panic!("{address}: {error}"));
    let status = response.status().as_u16();
    (status, response.body_mut().read_to_string().unwrap())
}

/// A URL configured with `Qualifier = <alias>` runs the alias's version
/// with its own auth type, apart from `$LATEST`'s URL, and goes with the
/// alias; versions get no URL.
#[test]
fn an_alias_function_url_runs_the_aliases_code_with_its_own_settings() {
    let serve = Serve::start("");
    let dir = tempfile::tempdir().unwrap();
    // Version 1 is the probe (it echoes the URL's event); $LATEST becomes
    // hello, which fails on an event without names.
    let probe = std::fs::read(guest("host/tests/guests/probe")).unwrap();
    let hello = std::fs::read(guest("examples/rust/hello")).unwrap();
    let probe_zip = zip_of(&dir.path().join("v1.zip"), &[("fn.wasm", &probe)]);
    let hello_zip = zip_of(&dir.path().join("v2.zip"), &[("fn.wasm", &hello)]);
    create(&serve, "urls", &probe_zip, "fn.wasm");
    wait(&serve, "function_active_v2", "urls");
    let published = boto3(&serve, "publish_version", json!({ "FunctionName": "urls" }));
    assert_eq!(published["Version"], "1", "{published}");
    boto3(
        &serve,
        "update_function_code",
        json!({ "FunctionName": "urls", "ZipFile": format!("@{}", hello_zip.display()) }),
    );
    wait(&serve, "function_updated_v2", "urls");
    boto3(
        &serve,
        "create_alias",
        json!({ "FunctionName": "urls", "Name": "live", "FunctionVersion": "1" }),
    );

    let latest = boto3(
        &serve,
        "create_function_url_config",
        json!({ "FunctionName": "urls", "AuthType": "NONE" }),
    );
    let live = boto3(
        &serve,
        "create_function_url_config",
        json!({ "FunctionName": "urls", "Qualifier": "live", "AuthType": "NONE" }),
    );
    assert_eq!(live["status"], 201, "{live}");
    assert!(
        live["FunctionArn"]
            .as_str()
            .unwrap()
            .ends_with(":function:urls:live"),
        "{live}"
    );
    let latest_url = latest["FunctionUrl"].as_str().unwrap();
    let live_url = live["FunctionUrl"].as_str().unwrap();
    assert_ne!(latest_url, live_url);
    let read = boto3(
        &serve,
        "get_function_url_config",
        json!({ "FunctionName": "urls", "Qualifier": "live" }),
    );
    assert_eq!(read["FunctionUrl"], live_url, "{read}");

    let (status, body) = get_url(&format!("{live_url}orders?id=7"));
    assert_eq!(status, 200, "{body}");
    let event: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(event["rawPath"], "/orders", "{body}");
    let (status, body) = get_url(&format!("{latest_url}orders"));
    assert_eq!(status, 502, "$LATEST (hello) fails on a URL event: {body}");

    // The alias URL's own auth type: AWS_IAM refuses an unsigned request
    // there while $LATEST's URL stays open.
    boto3(
        &serve,
        "update_function_url_config",
        json!({ "FunctionName": "urls", "Qualifier": "live", "AuthType": "AWS_IAM" }),
    );
    assert_eq!(get_url(live_url).0, 403);
    assert_eq!(get_url(latest_url).0, 502);

    let version = boto3(
        &serve,
        "create_function_url_config",
        json!({ "FunctionName": "urls", "Qualifier": "1", "AuthType": "NONE" }),
    );
    assert_eq!(version["error"], "ValidationException", "{version}");
    let unknown = boto3(
        &serve,
        "get_function_url_config",
        json!({ "FunctionName": "urls", "Qualifier": "nope" }),
    );
    assert_eq!(unknown["status"], 404, "{unknown}");

    boto3(
        &serve,
        "delete_alias",
        json!({ "FunctionName": "urls", "Name": "live" }),
    );
    assert_eq!(get_url(live_url).0, 404);
    boto3(
        &serve,
        "create_alias",
        json!({ "FunctionName": "urls", "Name": "live", "FunctionVersion": "1" }),
    );
    let recreated = boto3(
        &serve,
        "get_function_url_config",
        json!({ "FunctionName": "urls", "Qualifier": "live" }),
    );
    assert_eq!(
        recreated["status"], 404,
        "the URL went with its alias: {recreated}"
    );
}
