//! Python handlers run unchanged and behave as on Lambda's Python runtime.

use std::time::Duration;

use wasm_lambda::build::{BuildOptions, build};
use wasm_lambda::{CognitoIdentity, InvokeRequest};

use crate::common::{assert_in_order, guest, guest_with_handler, json, load};

#[tokio::test]
async fn the_seed_examples_answer_as_lambdas_python_runtime() {
    let hello = load("hello", guest("examples/python/hello"), |_| {});
    let invocation =
        crate::common::invoke(&hello, r#"{"first_name":"John","last_name":"Smith"}"#).await;
    assert_eq!(invocation.payload(), r#"{"message": "Hello John Smith!"}"#);

    let region = load("region", guest("examples/python/region"), |config| {
        config.region = "eu-west-1".into()
    });
    let invocation = crate::common::invoke(&region, r#"{"key1":"value1"}"#).await;
    assert_eq!(
        invocation.payload(),
        r#"{"statusCode": 200, "headers": {"Content-Type": "application/json"}, "body": "{\"Region \": \"eu-west-1\"}"}"#
    );

    let calculator = load("calculator", guest("examples/python/calculator"), |_| {});
    let invocation =
        crate::common::invoke(&calculator, r#"{"action":"increment","number":3}"#).await;
    assert_eq!(invocation.payload(), r#"{"result": 4}"#);
    let id = invocation.request_id.clone();
    assert_in_order(
        &invocation.log,
        &["[INFO]\t", &format!("Z\t{id}\tCalculated result of 4\n")],
    );

    let invocation = crate::common::invoke(&calculator, r#"{"action":"divide","number":3}"#).await;
    assert_eq!(invocation.payload(), r#"{"result": null}"#);
    assert!(invocation.log.contains("[ERROR]\t"), "{}", invocation.log);
    assert!(
        invocation.log.contains("\tdivide is not a valid action.\n"),
        "{}",
        invocation.log
    );
}

#[tokio::test]
async fn an_unhandled_exception_is_lambdas_error_json() {
    let function = load("error", guest("examples/python/error"), |_| {});
    let invocation = crate::common::invoke(&function, r#"{"number":3}"#).await;
    let id = &invocation.request_id;
    let frame = "  File \\\"/var/task/lambda_function.py\\\", line 8, in lambda_handler\\n    result = ACTIONS[event['action']](event['number'])\\n";
    let payload = invocation.payload();
    let expected_start = format!(
        r#"{{"errorMessage": "'action'", "errorType": "KeyError", "requestId": "{id}", "stackTrace": ["{frame}"#
    );
    assert!(payload.starts_with(&expected_start), "{payload}");
    assert!(payload.ends_with("\"]}"), "{payload}");
    // Python itself is the oracle for the bytes: Lambda's runtime sends
    // json.dumps of this dict, in this key order, with its spacing and escapes.
    let mut oracle = std::process::Command::new(crate::server::python())
        .args([
            "-c",
            "import json, sys\n\
             d = json.loads(sys.stdin.read())\n\
             keys = ('errorMessage', 'errorType', 'requestId', 'stackTrace')\n\
             print(json.dumps({k: d[k] for k in keys}), end='')",
        ])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write as _;
    oracle
        .stdin
        .take()
        .unwrap()
        .write_all(payload.as_bytes())
        .unwrap();
    let dumped = oracle.wait_with_output().unwrap();
    assert!(dumped.status.success());
    assert_eq!(payload, String::from_utf8(dumped.stdout).unwrap());
    assert_in_order(
        &invocation.log,
        &[
            "[ERROR] KeyError: 'action'\nTraceback (most recent call last):\n",
            "/var/task/lambda_function.py",
        ],
    );
}

#[tokio::test]
async fn stack_traces_name_every_file_line_and_function() {
    let function = load("probe", guest("host/tests/guests/python/probe"), |_| {});
    let invocation = crate::common::invoke(&function, r#"{"action":"raise"}"#).await;
    let error = invocation.function_error().unwrap();
    assert_eq!(error.error_type, "ValueError");
    assert_eq!(error.error_message, "bad value");
    assert_eq!(error.stack_trace.len(), 2, "{:?}", error.stack_trace);
    assert!(error.stack_trace[0].starts_with("  File \"/var/task/lambda_function.py\", line "));
    assert!(
        error.stack_trace[0].contains(", in lambda_handler\n    return helper.fail(\"bad value\")")
    );
    assert!(error.stack_trace[1].starts_with(
        "  File \"/var/task/helper.py\", line 9, in fail\n    raise ValueError(message)"
    ));
}

#[tokio::test]
async fn return_values_are_serialised_as_lambdas_encoder_does() {
    let function = load("probe", guest("host/tests/guests/python/probe"), |_| {});
    let cases = [
        (r#"{"action":"none"}"#, "null"),
        (r#"{"action":"decimal"}"#, r#"{"price": 1.5}"#),
        (r#"{"action":"unicode"}"#, r#"{"text": "café ☕"}"#),
        (r#"{"action":"bytes"}"#, "raw bytes"),
        (r#"{"action":"json"}"#, r#"{"a": [1, 2.5, null]}"#),
        (r#"[1, "two"]"#, r#"[1, "two"]"#),
    ];
    for (event, expected) in cases {
        let invocation = crate::common::invoke(&function, event).await;
        assert_eq!(invocation.payload(), expected, "for {event}");
    }
}

#[tokio::test]
async fn a_value_json_cannot_serialise_is_a_marshal_error() {
    let function = load("probe", guest("host/tests/guests/python/probe"), |_| {});
    let invocation = crate::common::invoke(&function, r#"{"action":"marshal"}"#).await;
    let error = invocation.function_error().unwrap();
    assert_eq!(error.error_type, "Runtime.MarshalError");
    assert_eq!(
        error.error_message,
        "Unable to marshal response: Object of type set is not JSON serializable"
    );
}

#[tokio::test]
async fn the_context_has_every_attribute_of_lambdas() {
    let function = load(
        "probe-ctx",
        guest("host/tests/guests/python/probe"),
        |config| {
            config.memory_mb = 512;
            config.timeout = Duration::from_secs(7);
        },
    );
    let invocation = function
        .invoke(InvokeRequest {
            request_id: Some("11111111-2222-4333-8444-555555555555".into()),
            identity: Some(CognitoIdentity {
                identity_id: "id-1".into(),
                identity_pool_id: "pool-1".into(),
            }),
            client_context: Some(
                r#"{"client":{"installation_id":"inst","app_title":"Probe"},"custom":{"a":"b"},"env":{"locale":"en"}}"#.into(),
            ),
            tenant_id: Some("tenant-1".into()),
            ..InvokeRequest::new(r#"{"action":"context"}"#)
        })
        .await
        .unwrap();
    let seen = json(invocation.payload());
    assert_eq!(
        seen["aws_request_id"],
        "11111111-2222-4333-8444-555555555555"
    );
    assert_eq!(seen["function_name"], "probe-ctx");
    assert_eq!(seen["function_version"], "$LATEST");
    assert_eq!(
        seen["invoked_function_arn"],
        "arn:aws:lambda:us-east-1:000000000000:function:probe-ctx"
    );
    assert_eq!(seen["memory_limit_in_mb"], "512");
    assert_eq!(seen["log_group_name"], "/aws/lambda/probe-ctx");
    assert_eq!(seen["log_stream_name"], function.log_stream_name());
    assert_eq!(seen["identity"], serde_json::json!(["id-1", "pool-1"]));
    assert_eq!(seen["client_context"]["app_title"], "Probe");
    assert_eq!(seen["client_context"]["installation_id"], "inst");
    assert_eq!(seen["client_context"]["custom"]["a"], "b");
    assert_eq!(seen["client_context"]["env"]["locale"], "en");
    assert_eq!(seen["tenant_id"], "tenant-1");
    let remaining: Vec<u64> = serde_json::from_value(seen["remaining"].clone()).unwrap();
    assert!(
        remaining[0] <= 7_000 && remaining[0] > 5_000,
        "{remaining:?}"
    );
    assert!(
        remaining[1] + 25 <= remaining[0],
        "live remaining time: {remaining:?}"
    );
}

#[tokio::test]
async fn the_context_without_identity_or_client_context() {
    let function = load("probe", guest("host/tests/guests/python/probe"), |_| {});
    let seen = json(
        crate::common::invoke(&function, r#"{"action":"context"}"#)
            .await
            .payload(),
    );
    assert_eq!(seen["identity"], serde_json::json!([null, null]));
    assert!(seen["client_context"].is_null());
    assert!(seen["tenant_id"].is_null());
}

#[tokio::test]
async fn logging_and_print_go_to_the_functions_log_as_on_lambda() {
    let function = load("probe", guest("host/tests/guests/python/probe"), |_| {});
    let invocation = crate::common::invoke(&function, r#"{"action":"log"}"#).await;
    let id = &invocation.request_id;
    let log = &invocation.log;
    assert_in_order(
        log,
        &[
            "printed line\n",
            "[INFO]\t",
            &format!("\t{id}\tinfo line\n"),
            "[WARNING]\t",
            &format!("\t{id}\twarning line\n"),
        ],
    );
    assert!(
        !log.contains("debug line"),
        "DEBUG is below the root level: {log}"
    );
    let info = log.lines().find(|line| line.starts_with("[INFO]")).unwrap();
    let timestamp = info.split('\t').nth(1).unwrap();
    assert_eq!(
        timestamp.len(),
        "2026-11-26T22:49:17.392Z".len(),
        "{timestamp}"
    );
    assert!(
        timestamp.ends_with('Z') && timestamp.as_bytes()[10] == b'T',
        "{timestamp}"
    );
}

#[tokio::test]
async fn os_environ_is_the_invocations_even_at_module_level() {
    let function = load(
        "probe-env",
        guest("host/tests/guests/python/probe"),
        |config| {
            config.region = "sa-east-1".into();
            config.environment.insert("STAGE".into(), "prod".into());
        },
    );
    let seen = json(
        crate::common::invoke(&function, r#"{"action":"module_env"}"#)
            .await
            .payload(),
    );
    assert_eq!(
        seen["module"], "sa-east-1",
        "module-level code runs with the invocation's environment"
    );
    assert_eq!(seen["now"], "sa-east-1");
    let env = json(
        crate::common::invoke(&function, r#"{"action":"env"}"#)
            .await
            .payload(),
    );
    assert_eq!(env["STAGE"], "prod");
    assert_eq!(env["AWS_EXECUTION_ENV"], "AWS_Lambda_python3.14");
    assert_eq!(env["AWS_LAMBDA_FUNCTION_NAME"], "probe-env");
    assert!(env.get("PATH").is_none() && env.get("HOME").is_none());
}

#[tokio::test]
async fn local_modules_dependencies_and_imports_inside_functions_work() {
    let function = load("probe", guest("host/tests/guests/python/probe"), |_| {});
    let greet = crate::common::invoke(&function, r#"{"action":"helper","name":"Ada"}"#).await;
    assert_eq!(greet.payload(), r#""Hello, Ada""#);
    let dependency = crate::common::invoke(&function, r#"{"action":"dependency"}"#).await;
    assert_eq!(
        dependency.payload(),
        r#""1.16.0""#,
        "six from requirements.txt"
    );
    let lazy = crate::common::invoke(&function, r#"{"action":"lazy_import"}"#).await;
    assert_eq!(lazy.payload(), r#""00000000-0000-0000-0000-000000000001""#);
}

#[tokio::test]
async fn a_handler_in_a_package_is_named_with_a_path() {
    let function = load(
        "custom",
        guest_with_handler("host/tests/guests/python/custom_handler", "src/app.handle"),
        |config| {
            config.handler = Some("src/app.handle".into());
        },
    );
    let invocation = crate::common::invoke(&function, r#"{"name":"Ada"}"#).await;
    assert_eq!(
        invocation.payload(),
        r#"{"greeting": "Howdy Ada", "handler": "src.app"}"#
    );
}

#[tokio::test]
async fn a_module_that_fails_to_import_is_an_import_module_error() {
    let function = load(
        "import-error",
        guest("host/tests/guests/python/import_error"),
        |_| {},
    );
    let invocation = crate::common::invoke(&function, "{}").await;
    let error = invocation.function_error().unwrap();
    assert_eq!(error.error_type, "Runtime.ImportModuleError");
    assert_eq!(
        error.error_message,
        "Unable to import module 'lambda_function': No module named 'not_a_real_module'"
    );
    let again = crate::common::invoke(&function, "{}").await;
    assert_eq!(
        again.function_error().unwrap().error_type,
        "Runtime.ImportModuleError"
    );
}

fn build_error(files: &[(&str, &str)], handler: Option<&str>) -> String {
    let dir = tempfile::tempdir().unwrap();
    for (name, text) in files {
        std::fs::write(dir.path().join(name), text).unwrap();
    }
    let options = BuildOptions {
        handler: handler.map(str::to_string),
        ..BuildOptions::new(dir.path())
    };
    match build(&options, &mut |_| {}) {
        Ok(output) => panic!(
            "expected the build to fail, got {}",
            output.component.display()
        ),
        Err(error) => format!("{error:#}"),
    }
}

#[test]
fn a_missing_handler_function_fails_the_build() {
    let error = build_error(
        &[(
            "lambda_function.py",
            "def other(event, context):\n    pass\n",
        )],
        None,
    );
    assert_eq!(
        error,
        "Runtime.HandlerNotFound: Handler 'lambda_handler' missing on module 'lambda_function'"
    );
}

#[test]
fn a_missing_module_and_a_syntax_error_fail_the_build() {
    let error = build_error(&[("app.py", "def handler(e, c):\n    pass\n")], None);
    assert_eq!(
        error,
        "Runtime.ImportModuleError: Unable to import module 'lambda_function': No module named 'lambda_function'"
    );
    let error = build_error(
        &[(
            "lambda_function.py",
            "def lambda_handler(event, context)\n    pass\n",
        )],
        None,
    );
    assert!(
        error
            .starts_with("Runtime.UserCodeSyntaxError: Syntax error in module 'lambda_function': "),
        "{error}"
    );
    let error = build_error(&[("app.py", "x = 1\n")], Some("app"));
    assert!(error.contains("module.function"), "{error}");
}

#[test]
fn a_package_that_needs_its_compiled_part_fails_the_build_naming_it() {
    // orjson is published as platform wheels holding a Rust extension and
    // no Python code, so there is nothing to run without it.
    let error = build_error(
        &[
            ("requirements.txt", "orjson==3.10.12\n"),
            (
                "lambda_function.py",
                "import orjson\n\ndef lambda_handler(event, context):\n    return orjson.dumps(event).decode()\n",
            ),
        ],
        None,
    );
    assert!(
        error.contains("orjson==3.10.12 needs its compiled part")
            && error.contains("use a pure-Python alternative"),
        "{error}"
    );
}

#[test]
fn a_pydantic_core_older_than_the_interpreter_fails_the_build_asking_for_a_newer_pin() {
    // pydantic 2.5.3 requires pydantic-core 2.14.6, which has no release for
    // CPython 3.14: the build cannot compile it (rust_extensions.rs), and
    // says what to pin rather than to drop pydantic.
    let error = build_error(
        &[
            ("requirements.txt", "pydantic==2.5.3\n"),
            (
                "lambda_function.py",
                "from pydantic import BaseModel\n\nclass Item(BaseModel):\n    id: int\n\ndef lambda_handler(event, context):\n    return Item(**event).model_dump()\n",
            ),
        ],
        None,
    );
    assert!(
        error.contains("pydantic-core==2.14.6 needs its compiled part")
            && error.contains("pin a newer release")
            && !error.contains("pure-Python alternative"),
        "{error}"
    );
}

/// The SAM-style namespace-package guest beside a package.json, built once
/// through the library (so its warnings can be read).
fn namespace_build() -> &'static wasm_lambda::build::BuildOutput {
    static BUILT: std::sync::OnceLock<Result<wasm_lambda::build::BuildOutput, String>> =
        std::sync::OnceLock::new();
    crate::common::once(&BUILT, || {
        let options = wasm_lambda::build::BuildOptions {
            target_dir: Some(crate::common::guest_target_dir()),
            handler: Some("src/orders/app.lambda_handler".into()),
            ..wasm_lambda::build::BuildOptions::new(
                crate::common::repo_root().join("host/tests/guests/python/namespace"),
            )
        };
        wasm_lambda::build::build(&options, &mut |_| {}).map_err(|error| format!("{error:#}"))
    })
}

#[test]
fn a_python_handler_beside_a_package_json_builds_as_python() {
    let built = namespace_build();
    assert_eq!(built.language, wasm_lambda::build::Language::Python);
}

#[test]
fn unresolvable_imports_are_warnings_naming_the_file_and_line() {
    let warnings = &namespace_build().warnings;
    assert_eq!(
        warnings,
        &["cannot import ujson_is_not_installed_here (src/orders/app.py, line 11): it will be missing at run time".to_string()],
    );
}

#[tokio::test]
async fn namespace_packages_import_as_on_lambda_and_the_tenant_id_arrives() {
    let function = load("orders", &namespace_build().component, |config| {
        config.handler = Some("src/orders/app.lambda_handler".into());
    });
    let request = wasm_lambda::InvokeRequest {
        tenant_id: Some("tenant-7".into()),
        ..wasm_lambda::InvokeRequest::new(r#"{"items":[{"price":3,"quantity":2},{"price":1}]}"#)
    };
    let invocation = function.invoke(request).await.unwrap();
    let answer = json(invocation.payload());
    assert_eq!(answer["statusCode"], 200, "{answer}");
    assert_eq!(
        json(answer["body"].as_str().unwrap()),
        serde_json::json!({ "total": 7, "tenant": "tenant-7" })
    );
}

#[test]
fn invoke_and_serve_pass_the_tenant_id() {
    let component = namespace_build().component.to_str().unwrap().to_string();
    let output = crate::common::wasm_lambda(
        &[
            "invoke",
            &component,
            "--handler",
            "src/orders/app.lambda_handler",
            "--tenant-id",
            "from-cli",
            "--event",
            "{}",
        ],
        None,
    );
    let answer = json(&crate::common::text(&output.stdout));
    assert!(
        answer["body"].as_str().unwrap().contains("from-cli"),
        "{answer}"
    );

    let serve = crate::server::Serve::start(&format!(
        "[[function]]\nname = \"orders\"\ncomponent = {}\nhandler = \"src/orders/app.lambda_handler\"\n",
        crate::server::toml_path(&namespace_build().component)
    ));
    let answer = crate::common::raw_http(
        serve.endpoint.trim_start_matches("http://"),
        "POST",
        "/2015-03-31/functions/orders/invocations",
        &[("X-Amz-Tenant-Id", "from-header")],
        b"{}",
    );
    assert_eq!(answer.status, 200, "{}", answer.body);
    assert!(answer.body.contains("from-header"), "{}", answer.body);
}

#[tokio::test]
async fn the_init_phase_runs_once_at_load_with_the_functions_environment() {
    let configure = |setting: &str| {
        let setting = setting.to_string();
        move |config: &mut wasm_lambda::FunctionConfig| {
            config
                .environment
                .insert("PROBE_SETTING".to_string(), setting);
        }
    };
    let function = load(
        "probe-init",
        guest("host/tests/guests/python/probe"),
        configure("first"),
    );
    let first = crate::common::invoke(&function, r#"{"action":"init"}"#).await;
    let second = crate::common::invoke(&function, r#"{"action":"init"}"#).await;
    let (a, b) = (json(first.payload()), json(second.payload()));
    // Module-level code saw the function's environment.
    assert_eq!(a["module_setting"], "first", "{}", first.log);
    // Both fresh sandboxes start from the one init phase run at load...
    assert_eq!(a["init_id"], b["init_id"]);
    // ...whose output is logged once, before the first START.
    let init_line = format!("probe init {}\n", a["init_id"].as_str().unwrap());
    assert_in_order(&first.log, &[&init_line, "START RequestId: "]);
    assert!(!second.log.contains("probe init"), "{}", second.log);
    // What must differ per sandbox does.
    assert_ne!(a["random"], b["random"]);
    assert_eq!(a["stream"], function.log_stream_name());

    // Another environment is another init phase.
    let other = load(
        "probe-init",
        guest("host/tests/guests/python/probe"),
        configure("second"),
    );
    let c = json(
        crate::common::invoke(&other, r#"{"action":"init"}"#)
            .await
            .payload(),
    );
    assert_eq!(c["module_setting"], "second");
    assert_ne!(c["init_id"], a["init_id"]);

    // Loading the first configuration again takes its snapshot from the
    // cache: the same init phase, the new load's log stream.
    let again = load(
        "probe-init",
        guest("host/tests/guests/python/probe"),
        configure("first"),
    );
    let d = json(
        crate::common::invoke(&again, r#"{"action":"init"}"#)
            .await
            .payload(),
    );
    assert_eq!(d["init_id"], a["init_id"]);
    assert_eq!(d["stream"], again.log_stream_name());
    assert_ne!(again.log_stream_name(), function.log_stream_name());
}

#[tokio::test]
async fn an_init_phase_that_keeps_a_file_open_runs_in_every_sandbox() {
    let function = load(
        "open-file",
        guest("host/tests/guests/python/open_file"),
        |_| {},
    );
    for n in 0..2 {
        let invocation = crate::common::invoke(&function, &format!(r#"{{"n": {n}}}"#)).await;
        // Each sandbox has its own /tmp and ran the init phase itself.
        assert_eq!(
            json(invocation.payload()),
            serde_json::json!(["init in open-file", format!("call {n}")]),
            "{}",
            invocation.log
        );
    }
}

/// A boto3 client made at module level leaves wasi-libc holding handles to
/// the preopened folders after the init phase: the snapshot is still taken
/// (and reused by a load with other credentials), each sandbox gets the
/// folders back (a client made in the handler reads its service's files
/// through them), and every client signs with the sandbox's own
/// credentials, not with none as the init phase saw.
#[tokio::test]
async fn a_boto3_client_made_at_module_level_is_snapshotted_and_signs_with_the_sandboxs_credentials()
 {
    let load_with = |access_key_id: &str| {
        load(
            "boto3-client",
            guest("host/tests/guests/python/boto3_client"),
            |config| {
                config.aws_credentials = Some(wasm_lambda::AwsCredentials {
                    access_key_id: access_key_id.into(),
                    secret_access_key: format!("secret-of-{access_key_id}"),
                    session_token: None,
                });
            },
        )
    };
    let first = load_with("AKIDBOTOFIRST");
    let second = load_with("AKIDBOTOSECOND");
    assert!(
        first.load_info().snapshot.is_some() && second.load_info().snapshot.is_some(),
        "the init phase was snapshotted"
    );
    for (function, key) in [(&first, "AKIDBOTOFIRST"), (&second, "AKIDBOTOSECOND")] {
        for _ in 0..2 {
            let invocation = crate::common::invoke(function, "{}").await;
            assert_eq!(
                json(invocation.payload()),
                serde_json::json!({"s3": key, "dynamodb": key, "service": "dynamodb"}),
                "{}",
                invocation.log
            );
        }
    }
}

/// Makes an IAM user with an access key in moto (`argv[1]`) for each name
/// that follows; prints each name's key id and secret as JSON.
const MAKE_USERS: &str = "
import boto3, json, sys
iam = boto3.client('iam', endpoint_url=sys.argv[1], region_name='us-east-1',
                   aws_access_key_id='test', aws_secret_access_key='test')
keys = {}
for name in sys.argv[2:]:
    iam.create_user(UserName=name)
    key = iam.create_access_key(UserName=name)['AccessKey']
    keys[name] = [key['AccessKeyId'], key['SecretAccessKey']]
print(json.dumps(keys))
";

/// Clients made at module level and restored from one snapshot make real
/// signed requests with each sandbox's credentials: moto's STS answers
/// `GetCallerIdentity` with the IAM user that owns the signing key, and
/// two loads with two users' keys share the snapshot yet are told apart.
#[tokio::test]
async fn a_restored_boto3_client_signs_its_requests_to_moto_with_the_sandboxs_credentials() {
    let moto = crate::corpus::moto();
    let suffix = std::process::id();
    let users = [format!("sandbox-a-{suffix}"), format!("sandbox-b-{suffix}")];
    let made = std::process::Command::new(crate::server::python())
        .args(["-c", MAKE_USERS, moto, &users[0], &users[1]])
        .output()
        .unwrap();
    assert!(
        made.status.success(),
        "{}",
        String::from_utf8_lossy(&made.stderr)
    );
    let keys = json(&String::from_utf8_lossy(&made.stdout));
    let load_as = |user: &str| {
        let key = &keys[user];
        load(
            "boto3-whoami",
            guest("host/tests/guests/python/boto3_client"),
            |config| {
                config
                    .environment
                    .insert("AWS_ENDPOINT_URL_STS".into(), moto.into());
                config.allowed_outbound_hosts = wasm_lambda::AllowedHosts::parse([moto]).unwrap();
                config.aws_credentials = Some(wasm_lambda::AwsCredentials {
                    access_key_id: key[0].as_str().unwrap().into(),
                    secret_access_key: key[1].as_str().unwrap().into(),
                    session_token: None,
                });
            },
        )
    };
    let functions = [load_as(&users[0]), load_as(&users[1])];
    assert!(
        functions
            .iter()
            .all(|function| function.load_info().snapshot.is_some()),
        "the init phase, with both clients, was snapshotted"
    );
    assert_eq!(
        functions[1].load_info().snapshot,
        Some(wasm_lambda::LoadSource::Resident),
        "the second load restores the first one's snapshot"
    );
    for (function, user) in functions.iter().zip(&users) {
        let invocation = crate::common::invoke(function, r#"{"whoami": true}"#).await;
        let answer = json(invocation.payload());
        assert!(
            answer["arn"]
                .as_str()
                .is_some_and(|arn| arn.ends_with(&format!(":user/{user}"))),
            "{answer} {}",
            invocation.log
        );
    }
}

/// The runtime's boto3 and botocore (and the standard library the snapshot
/// did not import) are the same files in every Python function: the host
/// keeps one copy of them, which every function's sandboxes mount, and
/// which a sandbox cannot write to. How an archive's folders are shared is
/// `files::tests::a_folder_two_archives_hold_is_unpacked_once_per_cache`.
#[tokio::test]
async fn the_runtimes_boto3_is_one_folder_on_the_host_that_sandboxes_cannot_write() {
    let client = load(
        "boto3-shared",
        guest("host/tests/guests/python/boto3_client"),
        |_| {},
    );
    let net = load("net-shared", guest("host/tests/guests/python/net"), |_| {});
    let folder = |function: &wasm_lambda::Function, holding: &str| {
        let (source, guest_path) = function
            .files()
            .into_iter()
            .find(|(source, _)| source.join(holding).is_file())
            .unwrap_or_else(|| panic!("no folder holds {holding}: {:?}", function.files()));
        (std::fs::canonicalize(source).unwrap(), guest_path)
    };
    // The standard library is the second folder of a function without
    // boto3 and the third of one with it.
    let probe = load(
        "probe-shared",
        guest("host/tests/guests/python/probe"),
        |_| {},
    );
    assert_eq!(
        folder(&client, "_aix_support.py").0,
        folder(&probe, "_aix_support.py").0,
        "one copy of the standard library"
    );
    let (botocore, guest_path) = folder(&client, "botocore/__init__.py");
    assert_eq!(
        botocore,
        folder(&net, "botocore/__init__.py").0,
        "one copy of botocore"
    );
    assert_ne!(
        folder(&client, "lambda_function.py").0,
        folder(&net, "lambda_function.py").0,
        "each function's own code"
    );

    let invocation = crate::common::invoke(&client, r#"{"write": "written-by-a-sandbox"}"#).await;
    let answer = json(invocation.payload());
    assert_eq!(
        answer["path"],
        format!("{guest_path}/botocore/written-by-a-sandbox"),
        "{answer} {}",
        invocation.log
    );
    assert!(answer["refused"].is_string(), "{answer} {}", invocation.log);
    assert!(!botocore.join("botocore/written-by-a-sandbox").exists());
}

/// A mounted folder's contents are not part of the snapshot's key, so an
/// init phase that read files while one was mounted (wasi-libc then holds
/// a handle to it, as to every preopen) is not snapshotted: the handler
/// still works, its init phase in each sandbox.
#[tokio::test]
async fn an_init_phase_that_reads_files_with_a_folder_mounted_runs_in_every_sandbox() {
    let layer = tempfile::tempdir().unwrap();
    let function = load(
        "boto3-mounted",
        guest("host/tests/guests/python/boto3_client"),
        |config| {
            config.mounts = vec![wasm_lambda::Mount {
                source: layer.path().to_path_buf(),
                destination: "/opt".into(),
            }];
            config.aws_credentials = Some(wasm_lambda::AwsCredentials {
                access_key_id: "AKIDMOUNTED".into(),
                secret_access_key: "secret".into(),
                session_token: None,
            });
        },
    );
    assert_eq!(function.load_info().snapshot, None);
    let invocation = crate::common::invoke(&function, "{}").await;
    assert_eq!(
        json(invocation.payload()),
        serde_json::json!({"s3": "AKIDMOUNTED", "dynamodb": "AKIDMOUNTED", "service": "dynamodb"}),
        "{}",
        invocation.log
    );
}
