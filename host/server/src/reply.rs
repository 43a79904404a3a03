//! What the Lambda API's operations share in their answers: service errors
//! in AWS's shape, and function names and ARNs.

use std::sync::Arc;
use std::time::SystemTime;

use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};

use super::AppState;

/// A service error as Lambda sends it: the code in `X-Amzn-ErrorType`, the
/// message in a JSON body.
pub(crate) fn service_error(status: u16, code: &str, message: &str) -> Response {
    throttle_error(status, code, message, None)
}

/// [`service_error`] with a throttle's `Reason`.
pub(crate) fn throttle_error(
    status: u16,
    code: &str,
    message: &str,
    reason: Option<&str>,
) -> Response {
    let kind = if status >= 500 { "Service" } else { "User" };
    let mut body = json!({ "Type": kind, "Message": message });
    if let Some(reason) = reason {
        body["Reason"] = json!(reason);
    }
    let mut response = (
        StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
        axum::Json(body),
    )
        .into_response();
    response
        .headers_mut()
        .insert("x-amzn-errortype", header_value(code));
    response
}

pub(crate) fn header_value(text: &str) -> HeaderValue {
    HeaderValue::from_str(text).unwrap_or_else(|_| HeaderValue::from_static("invalid"))
}

/// Splits a FunctionName parameter (a name, `name:qualifier`, a partial ARN
/// `ACCOUNT:function:NAME[:QUALIFIER]` or a full ARN) into name and qualifier.
pub(crate) fn parse_function_name(text: &str) -> (String, Option<String>) {
    let parts: Vec<&str> = text.split(':').collect();
    let after_function = parts
        .iter()
        .position(|part| *part == "function")
        .map(|index| &parts[index + 1..]);
    match after_function {
        Some([name, rest @ ..]) => (name.to_string(), rest.first().map(|q| q.to_string())),
        _ => match parts.as_slice() {
            [name, qualifier] => (name.to_string(), Some(qualifier.to_string())),
            _ => (text.to_string(), None),
        },
    }
}

pub(crate) fn function_arn(state: &AppState, name: &str) -> String {
    format!(
        "arn:aws:lambda:{}:000000000000:function:{name}",
        state.region
    )
}

/// The 400 every malformed parameter gets.
pub(crate) fn invalid(message: &str) -> Response {
    service_error(400, "InvalidParameterValueException", message)
}

/// Lambda's 400 for a value outside its model's constraints.
pub(crate) fn validation(value: &dyn std::fmt::Display, field: &str, constraint: &str) -> Response {
    service_error(
        400,
        "ValidationException",
        &format!(
            "1 validation error detected: Value '{value}' at '{field}' failed to satisfy constraint: {constraint}"
        ),
    )
}

pub(crate) fn not_found(state: &AppState, name: &str) -> Response {
    service_error(
        404,
        "ResourceNotFoundException",
        &format!("Function not found: {}", function_arn(state, name)),
    )
}

pub(crate) fn conflict(message: &str) -> Response {
    service_error(409, "ResourceConflictException", message)
}

/// The answer to invoking a function that has no code serving yet.
pub(crate) fn not_ready(state_name: &str) -> Response {
    conflict(&format!(
        "The operation cannot be performed at this time. The function is currently in the following state: {state_name}"
    ))
}

/// `LastModified` as Lambda writes it: `2026-12-02T13:40:01.123+0000`.
pub(crate) fn timestamp(time: SystemTime) -> String {
    humantime::format_rfc3339_millis(time)
        .to_string()
        .replace('Z', "+0000")
}

pub(crate) fn revision_id() -> String {
    uuid::Uuid::new_v4().to_string()
}

/// The JSON body of a control-plane request, as an object.
#[allow(clippy::result_large_err)]
pub(crate) fn body_object(body: &[u8]) -> Result<Map<String, Value>, Response> {
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(object)) => Ok(object),
        _ => Err(invalid("The request body is not a JSON object.")),
    }
}

/// Stores `name`'s entry; a failure is the service's.
/// With a NATS backend, tells the other servers of `name` as it is now
/// (or that it is gone); the change is refused if NATS does not take it.
pub(crate) async fn share(state: &Arc<AppState>, name: &str) -> Result<(), Response> {
    let Some(cluster) = &state.nats else {
        return Ok(());
    };
    let entry = state.functions.get(name);
    cluster
        .share(name, entry.as_ref())
        .await
        .map_err(|error| service_error(503, "ServiceException", &format!("{error:#}")))
}

pub(crate) async fn persist(state: &Arc<AppState>, name: &str) -> Result<(), Response> {
    let task_state = state.clone();
    let name = name.to_string();
    let shared_name = name.to_string();
    match tokio::task::spawn_blocking(move || {
        task_state.functions.persist(&task_state.store, &name)
    })
    .await
    {
        Ok(Ok(())) => share(state, &shared_name).await,
        Ok(Err(error)) => Err(service_error(
            500,
            "ServiceException",
            &format!("failed to store the function: {error:#}"),
        )),
        Err(error) => Err(service_error(500, "ServiceException", &error.to_string())),
    }
}
