//! Events Lambda's Invoke API refuses are refused the same way.

use wasm_lambda::{InvokeError, InvokeRequest, MAX_REQUEST_BYTES};

use crate::common::{guest, invoke, load};

#[tokio::test]
async fn a_non_json_event_is_invalid_request_content() {
    let function = load("probe", guest("host/tests/guests/probe"), |_| {});
    let error = function
        .invoke(InvokeRequest::new("{not json"))
        .await
        .unwrap_err();
    assert!(matches!(error, InvokeError::InvalidRequestContent(_)));
    assert_eq!(error.error_code(), "InvalidRequestContentException");
    assert_eq!(error.http_status(), 400);
    assert!(
        error
            .to_string()
            .starts_with("Could not parse request body into json")
    );
}

#[tokio::test]
async fn an_event_over_6_mb_is_too_large() {
    let function = load("probe", guest("host/tests/guests/probe"), |_| {});
    let event = format!("\"{}\"", "x".repeat(MAX_REQUEST_BYTES));
    let error = function
        .invoke(InvokeRequest::new(event))
        .await
        .unwrap_err();
    assert_eq!(
        error,
        InvokeError::RequestEntityTooLarge { limit: 6_291_456 }
    );
    assert_eq!(
        error.to_string(),
        "Request must be smaller than 6291456 bytes for the InvokeFunction operation"
    );
    assert_eq!(error.http_status(), 413);
}

#[tokio::test]
async fn any_json_value_is_an_event_and_empty_means_an_empty_object() {
    let function = load("probe", guest("host/tests/guests/probe"), |_| {});
    for event in ["[1,2,3]", "\"text\"", "42", "true", "null"] {
        assert_eq!(invoke(&function, event).await.payload(), event);
    }
    assert_eq!(invoke(&function, "").await.payload(), "{}");
}
