//! What a handler sees: the context, the environment, the remaining time.

use std::collections::BTreeSet;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use wasm_lambda::{CognitoIdentity, InvokeRequest};

use crate::common::{assert_trace_header, guest, json, load};

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64
}

#[tokio::test]
async fn context_carries_every_lambda_field() {
    let function = load(
        "probe-context",
        guest("host/tests/guests/probe"),
        |config| {
            config.memory_mb = 256;
            config.timeout = Duration::from_secs(5);
            config.region = "eu-central-1".into();
        },
    );
    let before = now_ms();
    let invocation = function
        .invoke(InvokeRequest {
            request_id: Some("c0ffee00-0000-4000-8000-000000000001".into()),
            trace_id: Some("Root=1-5759e988-bd862e3fe1be46a994272793;Sampled=1".into()),
            identity: Some(CognitoIdentity {
                identity_id: "us-east-1:abc".into(),
                identity_pool_id: "us-east-1:pool".into(),
            }),
            client_context: Some(
                r#"{"client":{"app_title":"probe"},"custom":{"k":"v"},"env":{}}"#.into(),
            ),
            tenant_id: Some("tenant-7".into()),
            ..InvokeRequest::new(r#"{"action":"context"}"#)
        })
        .await
        .unwrap();
    let seen = json(invocation.payload());
    let context = &seen["context"];
    assert_eq!(
        context["aws_request_id"],
        "c0ffee00-0000-4000-8000-000000000001"
    );
    assert_eq!(
        invocation.request_id,
        "c0ffee00-0000-4000-8000-000000000001"
    );
    assert_eq!(context["function_name"], "probe-context");
    assert_eq!(context["function_version"], "$LATEST");
    assert_eq!(
        context["invoked_function_arn"],
        "arn:aws:lambda:eu-central-1:000000000000:function:probe-context"
    );
    assert_eq!(context["memory_limit_in_mb"], 256);
    assert_eq!(context["log_group_name"], "/aws/lambda/probe-context");
    assert_eq!(context["log_stream_name"], function.log_stream_name());
    assert_eq!(
        context["xray_trace_id"],
        "Root=1-5759e988-bd862e3fe1be46a994272793;Sampled=1"
    );
    assert_eq!(context["identity"]["cognito_identity_id"], "us-east-1:abc");
    assert_eq!(
        context["identity"]["cognito_identity_pool_id"],
        "us-east-1:pool"
    );
    assert_eq!(context["client_context"]["client"]["app_title"], "probe");
    assert_eq!(context["client_context"]["custom"]["k"], "v");
    assert_eq!(context["tenant_id"], "tenant-7");

    let deadline = context["deadline_ms"].as_u64().unwrap();
    assert!(
        deadline >= before + 4_900 && deadline <= now_ms() + 5_000,
        "deadline {deadline}"
    );

    let remaining: Vec<u64> = serde_json::from_value(seen["remaining"].clone()).unwrap();
    assert!(remaining[0] <= 5_000, "{remaining:?}");
    assert!(
        remaining[1] + 25 <= remaining[0],
        "remaining time is live, not a snapshot: {remaining:?}"
    );
}

#[tokio::test]
async fn optional_context_fields_are_absent_when_not_given() {
    let function = load("probe", guest("host/tests/guests/probe"), |_| {});
    let invocation = function
        .invoke(InvokeRequest::new(r#"{"action":"context"}"#))
        .await
        .unwrap();
    let context = &json(invocation.payload())["context"];
    // Lambda makes a trace header up when the caller sent none.
    assert_trace_header(&context["xray_trace_id"]);
    assert!(context["identity"].is_null());
    assert!(context["client_context"].is_null());
    assert!(context["tenant_id"].is_null());
    assert_eq!(context["aws_request_id"], invocation.request_id.as_str());
    assert_eq!(invocation.request_id.len(), 36, "a UUID is generated");
}

#[tokio::test]
async fn environment_is_exactly_lambdas_plus_the_functions() {
    let function = load("probe-env", guest("host/tests/guests/probe"), |config| {
        config
            .environment
            .insert("TABLE_NAME".into(), "orders".into());
        config.handler = Some("probe.handler".into());
    });
    let invocation = function
        .invoke(InvokeRequest {
            trace_id: Some("Root=1-abc".into()),
            ..InvokeRequest::new(r#"{"action":"env"}"#)
        })
        .await
        .unwrap();
    let env = json(invocation.payload());
    let keys: BTreeSet<&str> = env
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    let expected: BTreeSet<&str> = [
        "_HANDLER",
        "_X_AMZN_TRACE_ID",
        "AWS_REGION",
        "AWS_DEFAULT_REGION",
        "AWS_EXECUTION_ENV",
        "AWS_LAMBDA_FUNCTION_NAME",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE",
        "AWS_LAMBDA_FUNCTION_VERSION",
        "AWS_LAMBDA_INITIALIZATION_TYPE",
        "AWS_LAMBDA_LOG_GROUP_NAME",
        "AWS_LAMBDA_LOG_STREAM_NAME",
        "LAMBDA_TASK_ROOT",
        "TZ",
        "TABLE_NAME",
    ]
    .into();
    assert_eq!(
        keys, expected,
        "nothing of the host's environment (PATH, HOME, CARGO_*) leaks in"
    );
    assert_eq!(env["_HANDLER"], "probe.handler");
    assert_eq!(env["_X_AMZN_TRACE_ID"], "Root=1-abc");
    assert_eq!(env["AWS_REGION"], "us-east-1");
    assert_eq!(env["AWS_EXECUTION_ENV"], "AWS_Lambda_rust");
    assert_eq!(env["AWS_LAMBDA_FUNCTION_NAME"], "probe-env");
    assert_eq!(env["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"], "128");
    assert_eq!(env["AWS_LAMBDA_FUNCTION_VERSION"], "$LATEST");
    assert_eq!(env["AWS_LAMBDA_INITIALIZATION_TYPE"], "on-demand");
    assert_eq!(env["AWS_LAMBDA_LOG_GROUP_NAME"], "/aws/lambda/probe-env");
    assert_eq!(
        env["AWS_LAMBDA_LOG_STREAM_NAME"],
        function.log_stream_name()
    );
    assert_eq!(env["LAMBDA_TASK_ROOT"], "/var/task");
    assert_eq!(env["TZ"], "UTC");
    assert_eq!(env["TABLE_NAME"], "orders");
}

/// Lambda gives every invocation a trace header, made up when the caller
/// sent none, and each runtime sets the invocation's own in the environment:
/// a reused sandbox must not keep its first invocation's.
#[tokio::test]
async fn each_invocation_sees_its_own_trace_header_in_a_reused_sandbox() {
    for project in [
        "host/tests/guests/probe",
        "host/tests/guests/python/probe",
        "host/tests/guests/js/probe",
        "host/tests/guests/go/probe",
    ] {
        let function = load("probe-trace", guest(project), |config| {
            config.reuse_instances = true;
        });
        let go = project.contains("/go/");
        let event = if go {
            r#"{"env":"_X_AMZN_TRACE_ID"}"#
        } else {
            r#"{"action":"env"}"#
        };
        let seen = |payload: &str| {
            let payload = json(payload);
            if go {
                payload["env"].clone()
            } else {
                payload["_X_AMZN_TRACE_ID"].clone()
            }
        };
        let given = [
            "Root=1-67a0b1c2-0123456789abcdef01234567;Parent=0123456789abcdef;Sampled=1",
            "Root=1-67a0b1c3-fedcba9876543210fedcba98;Parent=fedcba9876543210;Sampled=0",
        ];
        let mut made = Vec::new();
        for (index, trace_id) in [Some(given[0]), None, Some(given[1]), None]
            .into_iter()
            .enumerate()
        {
            let invocation = function
                .invoke(InvokeRequest {
                    trace_id: trace_id.map(str::to_string),
                    ..InvokeRequest::new(event)
                })
                .await
                .unwrap();
            assert_eq!(
                invocation.report.init_duration.is_some(),
                index == 0,
                "{project}: one sandbox answers all four"
            );
            let variable = seen(invocation.payload());
            match trace_id {
                Some(trace_id) => assert_eq!(variable, trace_id, "{project}"),
                None => {
                    assert_trace_header(&variable);
                    made.push(variable);
                }
            }
        }
        assert_ne!(made[0], made[1], "{project}: a new header per invocation");
    }
}

#[tokio::test]
async fn a_caller_deadline_earlier_than_the_timeout_wins() {
    let function = load("probe", guest("host/tests/guests/probe"), |config| {
        config.timeout = Duration::from_secs(60);
    });
    let invocation = function
        .invoke(InvokeRequest {
            deadline: Some(SystemTime::now() + Duration::from_secs(2)),
            ..InvokeRequest::new(r#"{"action":"context"}"#)
        })
        .await
        .unwrap();
    let remaining: Vec<u64> =
        serde_json::from_value(json(invocation.payload())["remaining"].clone()).unwrap();
    assert!(remaining[0] <= 2_000, "{remaining:?}");
}
