//! What the Lambda API's operations share in their answers: service errors
//! in AWS's shape, and function names and ARNs.

use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::json;

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
