//! The seed document's three functions, in Rust, answer as the document says.

use crate::common::{assert_in_order, guest, invoke, json, load};

#[tokio::test]
async fn hello_returns_the_message() {
    let function = load("hello", guest("examples/rust/hello"), |_| {});
    let invocation = invoke(&function, r#"{"first_name":"John","last_name":"Smith"}"#).await;
    assert_eq!(invocation.payload(), r#"{"message":"Hello John Smith!"}"#);
    assert!(invocation.function_error().is_none());
}

#[tokio::test]
async fn hello_without_names_is_a_function_error() {
    let function = load("hello", guest("examples/rust/hello"), |_| {});
    let invocation = invoke(&function, r#"{"first_name":"John"}"#).await;
    let error = invocation.function_error().expect("a missing name fails");
    assert!(error.handled);
    assert_eq!(error.error_type, "Runtime.UnmarshalError");
    assert!(
        error.error_message.contains("last_name"),
        "{}",
        error.error_message
    );
    let payload = json(invocation.payload());
    assert_eq!(payload["requestId"], invocation.request_id.as_str());
    assert_eq!(payload["errorType"], "Runtime.UnmarshalError");
}

#[tokio::test]
async fn region_reports_the_configured_region() {
    let function = load("region", guest("examples/rust/region"), |config| {
        config.region = "eu-west-1".into();
    });
    let invocation = invoke(
        &function,
        r#"{"key1":"value1","key2":"value2","key3":"value3"}"#,
    )
    .await;
    assert_eq!(
        invocation.payload(),
        r#"{"statusCode":200,"headers":{"Content-Type":"application/json"},"body":"{\"Region \":\"eu-west-1\"}"}"#
    );
}

#[tokio::test]
async fn calculator_increments() {
    let function = load("calculator", guest("examples/rust/calculator"), |_| {});
    let invocation = invoke(&function, r#"{"action":"increment","number":3}"#).await;
    assert_eq!(invocation.payload(), r#"{"result":4}"#);
    assert_in_order(
        &invocation.log,
        &["START", "Calculated result of 4", "END", "REPORT"],
    );
}

#[tokio::test]
async fn calculator_logs_an_unknown_action_and_returns_null() {
    let function = load("calculator", guest("examples/rust/calculator"), |_| {});
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
