//! JavaScript handlers written for Lambda's Node.js runtime run unchanged.

use std::time::Duration;

use wasm_lambda::{CognitoIdentity, InvokeRequest};

use crate::common::{assert_in_order, guest, guest_with_handler, invoke, json, load};

#[tokio::test]
async fn the_seed_examples_answer_as_on_lambda() {
    let hello = load("hello", guest("examples/js/hello"), |_| {});
    let invocation = invoke(&hello, r#"{"first_name":"John","last_name":"Smith"}"#).await;
    assert_eq!(invocation.payload(), r#"{"message":"Hello John Smith!"}"#);

    let region = load("region", guest("examples/js/region"), |config| {
        config.region = "ap-northeast-1".into()
    });
    assert_eq!(
        invoke(&region, "{}").await.payload(),
        r#"{"statusCode":200,"headers":{"Content-Type":"application/json"},"body":"{\"Region \":\"ap-northeast-1\"}"}"#
    );

    let calculator = load("calculator", guest("examples/js/calculator"), |_| {});
    let invocation = invoke(&calculator, r#"{"action":"increment","number":3}"#).await;
    assert_eq!(invocation.payload(), r#"{"result":4}"#);
    let id = &invocation.request_id;
    assert_in_order(
        &invocation.log,
        &[&format!("Z\t{id}\tINFO\tCalculated result of 4\n")],
    );
    let invocation = invoke(&calculator, r#"{"action":"halve"}"#).await;
    assert_eq!(invocation.payload(), r#"{"result":null}"#);
    assert!(
        invocation
            .log
            .contains("\tERROR\thalve is not a valid action.\n"),
        "{}",
        invocation.log
    );
}

#[tokio::test]
async fn a_thrown_error_is_nodes_error_json_without_build_paths() {
    let function = load("error", guest("examples/js/error"), |_| {});
    let invocation = invoke(&function, r#"{"number":1}"#).await;
    assert_eq!(
        invocation.payload(),
        r#"{"errorType":"ReferenceError","errorMessage":"increment is not defined","trace":["ReferenceError: increment is not defined","    at handler (file:///var/task/index.mjs:3:12)"]}"#
    );
    assert!(
        !invocation.payload().contains("/tmp"),
        "{}",
        invocation.payload()
    );
    assert!(
        invocation
            .log
            .contains("\tERROR\tInvoke Error \t{\"errorType\":\"ReferenceError\"")
    );
}

#[tokio::test]
async fn errors_of_every_shape() {
    let function = load("probe", guest("host/tests/guests/js/probe"), |_| {});
    let error = invoke(&function, r#"{"action":"throw_error"}"#).await;
    let payload = json(error.payload());
    assert_eq!(payload["errorType"], "TypeError");
    assert_eq!(payload["errorMessage"], "wrong type");
    assert_eq!(payload["trace"][0], "TypeError: wrong type");
    assert!(
        payload["trace"][1]
            .as_str()
            .unwrap()
            .starts_with("    at handler (file:///var/task/index.mjs:")
    );
    assert!(payload.get("requestId").is_none());

    let string = invoke(&function, r#"{"action":"throw_string"}"#).await;
    assert_eq!(
        string.payload(),
        r#"{"errorType":"string","errorMessage":"just a string","trace":[]}"#
    );
    let number = invoke(&function, r#"{"action":"throw_number"}"#).await;
    assert_eq!(
        number.payload(),
        r#"{"errorType":"number","errorMessage":"42","trace":[]}"#
    );
    let rejected = invoke(&function, r#"{"action":"reject"}"#).await;
    assert_eq!(json(rejected.payload())["errorType"], "RangeError");
}

#[tokio::test]
async fn a_missing_export_is_handler_not_found() {
    let function = load(
        "missing",
        guest("host/tests/guests/js/missing_export"),
        |_| {},
    );
    let invocation = invoke(&function, "{}").await;
    assert_eq!(
        invocation.payload(),
        r#"{"errorType":"Runtime.HandlerNotFound","errorMessage":"index.handler is undefined or not exported","trace":[]}"#
    );
}

#[tokio::test]
async fn a_callback_handler_is_refused_as_by_nodejs_24() {
    let function = load("callback", guest("host/tests/guests/js/callback"), |_| {});
    let error = invoke(&function, "{}").await;
    let error = error.function_error().unwrap();
    assert_eq!(error.error_type, "Runtime.CallbackHandlerDeprecated");
    assert!(
        error
            .error_message
            .contains("callback-based function handlers"),
        "{}",
        error.error_message
    );
}

#[tokio::test]
async fn return_values_are_json_stringified() {
    let function = load("probe", guest("host/tests/guests/js/probe"), |_| {});
    assert_eq!(
        invoke(&function, r#"{"action":"undefined"}"#)
            .await
            .payload(),
        "null"
    );
    assert_eq!(
        invoke(&function, r#"{"action":"helper","name":"Ada"}"#)
            .await
            .payload(),
        r#""Hello, Ada""#
    );
    assert_eq!(
        invoke(&function, r#"{"n":[1,"two",null]}"#).await.payload(),
        r#"{"n":[1,"two",null]}"#
    );
}

#[tokio::test]
async fn an_awaited_timer_inside_the_handler_works() {
    let function = load("probe", guest("host/tests/guests/js/probe"), |_| {});
    let invocation = invoke(&function, r#"{"action":"timer","millis":50}"#).await;
    assert_eq!(invocation.payload(), r#""waited""#);
    assert!(
        invocation.report.duration >= Duration::from_millis(45),
        "{:?}",
        invocation.report
    );
}

#[tokio::test]
async fn the_context_has_nodes_names() {
    let function = load("probe-ctx", guest("host/tests/guests/js/probe"), |config| {
        config.memory_mb = 1024;
    });
    let invocation = function
        .invoke(InvokeRequest {
            request_id: Some("22222222-3333-4444-8555-666666666666".into()),
            identity: Some(CognitoIdentity {
                identity_id: "id-2".into(),
                identity_pool_id: "pool-2".into(),
            }),
            client_context: Some(
                r#"{"client":{"app_title":"JsProbe"},"custom":{},"env":{}}"#.into(),
            ),
            tenant_id: Some("tenant-js".into()),
            ..InvokeRequest::new(r#"{"action":"context"}"#)
        })
        .await
        .unwrap();
    let seen = json(invocation.payload());
    assert_eq!(seen["awsRequestId"], "22222222-3333-4444-8555-666666666666");
    assert_eq!(seen["functionName"], "probe-ctx");
    assert_eq!(seen["functionVersion"], "$LATEST");
    assert_eq!(
        seen["invokedFunctionArn"],
        "arn:aws:lambda:us-east-1:000000000000:function:probe-ctx"
    );
    assert_eq!(seen["memoryLimitInMB"], "1024");
    assert_eq!(seen["logGroupName"], "/aws/lambda/probe-ctx");
    assert_eq!(seen["logStreamName"], function.log_stream_name());
    assert_eq!(seen["identity"]["cognitoIdentityId"], "id-2");
    assert_eq!(seen["identity"]["cognitoIdentityPoolId"], "pool-2");
    assert_eq!(seen["clientContext"]["client"]["app_title"], "JsProbe");
    assert_eq!(seen["tenantId"], "tenant-js");
    assert_eq!(seen["callbackWaitsForEmptyEventLoop"], true);
    assert_eq!(seen["remainingType"], "number");
    let remaining: Vec<u64> = serde_json::from_value(seen["remaining"].clone()).unwrap();
    assert!(
        remaining[1] + 25 <= remaining[0],
        "live remaining time: {remaining:?}"
    );
}

#[tokio::test]
async fn process_env_is_the_functions_at_module_level_and_at_invocation_time() {
    let function = load("probe-env", guest("host/tests/guests/js/probe"), |config| {
        config.region = "eu-north-1".into();
        config.environment.insert("TABLE".into(), "users".into());
    });
    let env = json(invoke(&function, r#"{"action":"env"}"#).await.payload());
    assert_eq!(env["AWS_REGION"], "eu-north-1");
    assert_eq!(env["TABLE"], "users");
    assert_eq!(env["AWS_EXECUTION_ENV"], "AWS_Lambda_nodejs24.x");
    assert_eq!(env["AWS_LAMBDA_FUNCTION_NAME"], "probe-env");
    assert!(env.get("PATH").is_none());
    let module = json(
        invoke(&function, r#"{"action":"module_env"}"#)
            .await
            .payload(),
    );
    assert_eq!(module["now"], "eu-north-1");
    // Module level runs in the init phase, with the function's
    // environment, as on Lambda.
    assert_eq!(module["module"], "eu-north-1");
}

#[tokio::test]
async fn console_methods_write_lambdas_log_lines() {
    let function = load("probe", guest("host/tests/guests/js/probe"), |_| {});
    let invocation = invoke(&function, r#"{"action":"log"}"#).await;
    let id = &invocation.request_id;
    assert_in_order(
        &invocation.log,
        &[
            &format!("\t{id}\tINFO\tlog line {{ n: 1 }}\n"),
            &format!("\t{id}\tINFO\tinfo line\n"),
            &format!("\t{id}\tWARN\twarn line\n"),
            &format!("\t{id}\tERROR\terror line\n"),
        ],
    );
}

#[tokio::test]
async fn a_looping_js_handler_times_out() {
    let function = load(
        "probe-loop",
        guest("host/tests/guests/js/probe"),
        |config| {
            config.timeout = Duration::from_millis(500);
        },
    );
    let invocation = invoke(&function, r#"{"action":"loop"}"#).await;
    assert_eq!(
        invocation.function_error().unwrap().error_type,
        "Sandbox.Timedout"
    );
    assert_eq!(
        invoke(&function, r#"{"ok":1}"#).await.payload(),
        r#"{"ok":1}"#
    );
}

#[tokio::test]
async fn commonjs_handlers_require_files_json_and_packages() {
    let function = load("cjs", guest("host/tests/guests/js/cjs"), |_| {});
    let invocation = invoke(&function, r#"{"name":"Ada","x":1}"#).await;
    assert_eq!(
        json(invocation.payload()),
        serde_json::json!({
            "greeting": "Hello, Ada!",
            "described": "2 keys",
            "stage": "test",
            "requestIdLength": 36
        }),
        "{}",
        invocation.log
    );
}

#[tokio::test]
async fn module_exports_in_a_cjs_file_and_a_named_handler() {
    let function = load(
        "cjs-module",
        guest_with_handler("host/tests/guests/js/cjs_module", "app.handler"),
        |config| {
            config.handler = Some("app.handler".into());
        },
    );
    let invocation = invoke(&function, r#"{"n":21}"#).await;
    assert_eq!(invocation.payload(), r#"{"doubled":42}"#);
}

#[tokio::test]
async fn an_es_module_handler_imports_an_npm_package() {
    let function = load(
        "esm-package",
        guest("host/tests/guests/js/esm_package"),
        |_| {},
    );
    let invocation = invoke(&function, r#"{"text":"hi"}"#).await;
    assert_eq!(invocation.payload(), r#"{"loud":"HI!"}"#);
}

#[test]
fn a_node_built_in_fails_the_build_naming_it() {
    let dir = crate::common::repo_root().join("host/tests/guests/js/builtin");
    let options = wasm_lambda::build::BuildOptions {
        target_dir: Some(crate::common::guest_target_dir()),
        ..wasm_lambda::build::BuildOptions::new(&dir)
    };
    let error = wasm_lambda::build::build(&options, &mut |_| {}).unwrap_err();
    let message = format!("{error:#}");
    assert!(message.contains("index.js:2"), "{message}");
    assert!(message.contains("\"child_process\""), "{message}");
    assert!(message.contains("Node.js built-in module"), "{message}");
    assert!(!message.contains("platform: 'node'"), "{message}");
}

#[test]
fn an_aws_sdk_package_npm_does_not_have_fails_the_build_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("index.mjs"),
        "import { WidgetClient } from '@aws-sdk/client-no-such-service';\n\
         const client = new WidgetClient({});\n\
         export const handler = async () => typeof client;\n",
    )
    .unwrap();
    let options = wasm_lambda::build::BuildOptions {
        target_dir: Some(crate::common::guest_target_dir()),
        ..wasm_lambda::build::BuildOptions::new(dir.path())
    };
    let error = wasm_lambda::build::build(&options, &mut |_| {}).unwrap_err();
    let message = format!("{error:#}");
    assert!(
        message.contains("the handler imports @aws-sdk/client-no-such-service"),
        "{message}"
    );
    assert!(message.contains("npm install"), "{message}");
}

#[tokio::test]
async fn node_built_ins_answer_as_node_itself_does() {
    let function = load("builtins", guest("host/tests/guests/js/builtins"), |_| {});
    let invocation = invoke(&function, "{}").await;
    let in_sandbox = json(invocation.payload());
    assert!(in_sandbox.get("errorType").is_none(), "{in_sandbox}");
    // The same file, run by the machine's Node.js.
    let file = crate::common::repo_root().join("host/tests/guests/js/builtins/index.mjs");
    let script = format!(
        "const m = await import({}); console.log(JSON.stringify(await m.handler({{}})));",
        serde_json::to_string(&format!("file://{}", file.display())).unwrap()
    );
    let output = std::process::Command::new("node")
        .args(["--input-type=module", "-e", &script])
        .output()
        .expect("node runs");
    assert!(
        output.status.success(),
        "{}",
        crate::common::text(&output.stderr)
    );
    let in_node = json(&crate::common::text(&output.stdout));
    assert_eq!(in_sandbox, in_node);
    // And the values are the known ones, not only equal.
    assert_eq!(in_sandbox["md5"], "900150983cd24fb0d6963f7d28e17f72");
    assert_eq!(in_sandbox["record"], r#"{"order":42}"#);
    assert_eq!(in_sandbox["streamed"], "ABC");
}

fn build_authorizer(runtime: Option<&str>) -> std::path::PathBuf {
    let dir = crate::common::repo_root().join("host/tests/guests/js/authorizer");
    // Beside the other guests, where the next run overwrites it.
    let output = crate::common::guest_target_dir()
        .join(format!("authorizer-{}.wasm", runtime.unwrap_or("default")));
    std::fs::create_dir_all(output.parent().unwrap()).unwrap();
    let options = wasm_lambda::build::BuildOptions {
        target_dir: Some(crate::common::guest_target_dir()),
        runtime: runtime.map(str::to_string),
        output: Some(output),
        ..wasm_lambda::build::BuildOptions::new(&dir)
    };
    wasm_lambda::build::build(&options, &mut |_| {})
        .unwrap()
        .component
}

#[tokio::test]
async fn callback_handlers_run_on_nodejs_22_with_lambdas_semantics() {
    let component = build_authorizer(Some("nodejs22.x"));
    let function = load("authorizer", &component, |_| {});
    assert_eq!(function.runtime(), Some("nodejs22.x"));
    let event = |token: &str| {
        format!(
            r#"{{"type":"TOKEN","authorizationToken":"{token}","methodArn":"arn:aws:execute-api:us-east-1:123456789012:abc/prod/GET/"}}"#
        )
    };
    let allowed = json(invoke(&function, &event("allow")).await.payload());
    assert_eq!(allowed["policyDocument"]["Statement"][0]["Effect"], "Allow");
    assert_eq!(allowed["context"]["executionEnv"], "AWS_Lambda_nodejs22.x");
    let denied = json(invoke(&function, &event("deny")).await.payload());
    assert_eq!(denied["policyDocument"]["Statement"][0]["Effect"], "Deny");
    let unauthorized = invoke(&function, &event("unauthorized")).await;
    assert_eq!(
        unauthorized.payload(),
        r#"{"errorType":"string","errorMessage":"Unauthorized","trace":[]}"#
    );
    let succeeded = invoke(&function, &event("succeed")).await;
    assert_eq!(succeeded.payload(), r#"{"via":"context.succeed"}"#);
    let failed = invoke(&function, &event("bogus")).await;
    let error = failed.function_error().unwrap();
    assert_eq!(error.error_type, "Error");
    assert_eq!(error.error_message, "Invalid token");

    // The same handler on the default nodejs24.x is refused, as there.
    let component = build_authorizer(None);
    let function = load("authorizer-24", &component, |_| {});
    let refused = invoke(&function, &event("allow")).await;
    assert_eq!(
        refused.function_error().unwrap().error_type,
        "Runtime.CallbackHandlerDeprecated"
    );
}

/// `fs` reads the function's own files (at module level too, where the
/// build's embedded copies serve), writes /tmp, and fails as Node does.
#[tokio::test]
async fn fs_reads_the_functions_files_and_writes_tmp() {
    let component = guest("host/tests/guests/js/files");
    let function = load("files", component, |_| {});
    let invocation = invoke(&function, r#"{"name": "Ada"}"#).await;
    let answer = json(invocation.result.as_ref().unwrap());
    assert_eq!(answer["config"]["table"], "orders", "{answer}");
    assert_eq!(answer["dirname"], "/var/task");
    assert_eq!(answer["greeting"], "Hello, Ada!");
    assert_eq!(answer["tmp"], "written and appended");
    assert_eq!(answer["bytes"], 33);
    assert_eq!(
        answer["listing"],
        serde_json::json!(["data", "index.js", "templates"])
    );
    assert_eq!(answer["dirs"], serde_json::json!(["a"]));
    assert_eq!(answer["exists"], serde_json::json!([true, false, false]));
    assert_eq!(answer["size"], 33);
    assert_eq!(answer["isDirectory"], true);
    assert_eq!(answer["missing"]["code"], "ENOENT");
    assert_eq!(
        answer["missing"]["message"],
        "ENOENT: no such file or directory, open '/var/task/nope.json'"
    );
    assert_eq!(answer["readOnly"], "EROFS");
    assert_eq!(answer["outside"], "ENOENT");

    // A fresh sandbox has a fresh /tmp: the second invocation sees only its
    // own writes.
    let again = invoke(&function, r#"{"name": "Bo"}"#).await;
    let answer = json(again.result.as_ref().unwrap());
    assert_eq!(answer["tmp"], "written and appended");
    assert_eq!(answer["greeting"], "Hello, Bo!");
}

#[tokio::test]
async fn the_init_phase_runs_once_at_load_with_the_functions_environment() {
    let function = load(
        "probe-init",
        guest("host/tests/guests/js/probe"),
        |config| {
            config
                .environment
                .insert("PROBE_SETTING".to_string(), "first".to_string());
        },
    );
    let first = invoke(&function, r#"{"action":"init"}"#).await;
    let second = invoke(&function, r#"{"action":"init"}"#).await;
    let (a, b) = (json(first.payload()), json(second.payload()));
    // Module-level code saw the function's environment, and ran once for
    // both fresh sandboxes.
    assert_eq!(a["moduleSetting"], "first", "{}", first.log);
    assert_eq!(a["initId"], b["initId"]);
    // Its log line comes once, before the first START, with no request id
    // (as Lambda's init phase logs).
    let init_line = format!(
        "\tundefined\tINFO\tprobe init {}\n",
        a["initId"].as_str().unwrap()
    );
    assert_in_order(&first.log, &[&init_line, "START RequestId: "]);
    assert!(!second.log.contains("probe init"), "{}", second.log);
    // What must differ per sandbox does.
    assert_ne!(a["random"], b["random"]);
    assert_eq!(a["stream"], function.log_stream_name());
}

#[tokio::test]
async fn a_module_that_throws_in_its_init_phase_fails_each_invocation_as_node_does() {
    // Without its setting the module throws: the host keeps no snapshot, and
    // each invocation reports the module's error with Node's top-level frame.
    let function = load(
        "init-error",
        guest("host/tests/guests/js/init_error"),
        |_| {},
    );
    for _ in 0..2 {
        let invocation = invoke(&function, "{}").await;
        assert_eq!(
            invocation.payload(),
            r#"{"errorType":"Error","errorMessage":"TABLE_NAME is not set","trace":["Error: TABLE_NAME is not set","    at file:///var/task/index.mjs:5:9"]}"#,
            "{}",
            invocation.log
        );
    }
    // With it, the same component answers.
    let function = load(
        "init-error",
        guest("host/tests/guests/js/init_error"),
        |config| {
            config
                .environment
                .insert("TABLE_NAME".to_string(), "orders".to_string());
        },
    );
    let invocation = invoke(&function, "{}").await;
    assert_eq!(invocation.payload(), r#"{"table":"orders"}"#);
}

/// A Node.js TypeScript project in the shape of SAM's TypeScript template (a
/// `tsconfig.json` and a `package.json` beside `app.ts`, which imports types
/// and a module of its own) is detected as JavaScript, not AssemblyScript,
/// compiled by esbuild's TypeScript loader, and answers.
#[tokio::test]
async fn a_node_typescript_project_builds_as_javascript_and_answers() {
    use wasm_lambda::build::{Language, detect_language};
    let project = "host/tests/guests/js/typescript";
    let detected = detect_language(&crate::common::repo_root().join(project)).unwrap();
    assert_eq!(detected, Language::JavaScript);
    let function = load(
        "orders",
        guest_with_handler(project, "app.lambdaHandler"),
        |_| {},
    );
    let event = serde_json::json!({
        "httpMethod": "POST",
        "path": "/orders",
        "queryStringParameters": { "owner": "ana" },
        "body": r#"[{"id":"a","quantity":2,"unitPrice":3.5},{"id":"b","quantity":1,"unitPrice":10}]"#,
    });
    let invocation = invoke(&function, &event.to_string()).await;
    let answer = json(invocation.payload());
    assert_eq!(answer["statusCode"], 200, "{answer}");
    assert_eq!(
        json(answer["body"].as_str().unwrap()),
        serde_json::json!({
            "owner": "ana",
            "count": 2,
            "total": 17,
            "function": "orders",
            "typed": true,
        })
    );
}
