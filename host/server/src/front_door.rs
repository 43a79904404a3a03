//! The HTTP front door: function URLs and API Gateway routes.
//!
//! A browser's or curl's request becomes the event Lambda would send
//! (payload format 2.0 for function URLs and HTTP APIs, 1.0 for REST APIs),
//! and the handler's answer becomes the HTTP response by the same service's
//! rules. See `lambda-contract.md`, "HTTP events".
//!
//! - `ANY /lambda-url/<function>/<path>?<query>`: the function's URL
//!   (`url_auth = "NONE"` or `"AWS_IAM"` per function; with `AWS_IAM` a
//!   request without a SigV4 `Authorization` header is 403, and signatures
//!   are not verified).
//! - `[[route]]` entries of the config: `method` (or `ANY`), `path` with
//!   `{name}` and greedy `{name+}` parameters, `function`,
//!   `payload_format = "1.0" | "2.0"`, optional `stage` (then served under
//!   `/<stage>`).

use std::collections::BTreeMap;

use axum::http::{HeaderName, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Value, json};

use wasm_lambda_core::{InvokeRequest, MAX_REQUEST_BYTES};

use crate::http_event::HttpRequest;

/// Lambda's two event shapes for HTTP.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
pub enum PayloadFormat {
    /// REST APIs.
    #[serde(rename = "1.0")]
    V1,
    /// HTTP APIs and function URLs.
    #[serde(rename = "2.0")]
    V2,
}

/// One `[[route]]` of the server's configuration.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RouteSpec {
    /// `GET`, `POST`, ... or `ANY`.
    #[serde(default = "any_method")]
    pub method: String,
    /// `/items/{id}`, `/files/{proxy+}`, ...
    pub path: String,
    /// The function the route invokes.
    pub function: String,
    /// The event shape: `"2.0"` (HTTP API, the default) or `"1.0"` (REST API).
    #[serde(default = "default_format")]
    pub payload_format: PayloadFormat,
    /// The stage: its name prefixes the route's URL and is in the event.
    pub stage: Option<String>,
}

fn any_method() -> String {
    "ANY".into()
}

fn default_format() -> PayloadFormat {
    PayloadFormat::V2
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Segment {
    Literal(String),
    Parameter(String),
    Greedy(String),
}

/// A route, parsed.
#[derive(Debug, Clone)]
pub(crate) struct Route {
    pub(crate) spec: RouteSpec,
    segments: Vec<Segment>,
}

impl Route {
    pub(crate) fn parse(spec: RouteSpec) -> anyhow::Result<Self> {
        let invalid = |why: &str| anyhow::anyhow!("route {} {}: {why}", spec.method, spec.path);
        if !spec.path.starts_with('/') {
            return Err(invalid("the path must start with /"));
        }
        let method = spec.method.to_ascii_uppercase();
        if method != "ANY" && Method::from_bytes(method.as_bytes()).is_err() {
            return Err(invalid("unknown method"));
        }
        let parts: Vec<&str> = spec
            .path
            .split('/')
            .skip(1)
            .filter(|p| !p.is_empty())
            .collect();
        let mut segments = Vec::new();
        for (index, part) in parts.iter().enumerate() {
            let segment = match part.strip_prefix('{').and_then(|p| p.strip_suffix('}')) {
                Some(name) => match name.strip_suffix('+') {
                    Some(greedy) if index + 1 == parts.len() && !greedy.is_empty() => {
                        Segment::Greedy(greedy.to_string())
                    }
                    Some(_) => return Err(invalid("only the last segment may be greedy {name+}")),
                    None if !name.is_empty() => Segment::Parameter(name.to_string()),
                    None => return Err(invalid("empty parameter name")),
                },
                None => Segment::Literal((*part).to_string()),
            };
            segments.push(segment);
        }
        Ok(Route {
            spec: RouteSpec { method, ..spec },
            segments,
        })
    }

    /// The route key of a 2.0 event: `GET /items/{id}`.
    pub(crate) fn route_key(&self) -> String {
        format!("{} {}", self.spec.method, self.spec.path)
    }

    /// How specific the route is, for choosing among matches: literal
    /// segments first, then parameters, greedy last.
    fn specificity(&self) -> (usize, usize, bool) {
        let literals = self
            .segments
            .iter()
            .filter(|s| matches!(s, Segment::Literal(_)))
            .count();
        let greedy = self
            .segments
            .iter()
            .any(|s| matches!(s, Segment::Greedy(_)));
        (literals, self.segments.len(), !greedy)
    }

    /// The path parameters when `method` and `path` match this route.
    fn matches(&self, method: &Method, path: &str) -> Option<BTreeMap<String, String>> {
        if self.spec.method != "ANY" && self.spec.method != method.as_str() {
            return None;
        }
        let mut rest = path;
        if let Some(stage) = &self.spec.stage {
            rest = rest.strip_prefix('/')?.strip_prefix(stage.as_str())?;
            if !(rest.is_empty() || rest.starts_with('/')) {
                return None;
            }
        }
        let parts: Vec<&str> = rest.split('/').skip(1).filter(|p| !p.is_empty()).collect();
        let mut parameters = BTreeMap::new();
        for (index, segment) in self.segments.iter().enumerate() {
            match segment {
                Segment::Literal(literal) => {
                    if parts.get(index) != Some(&literal.as_str()) {
                        return None;
                    }
                }
                Segment::Parameter(name) => {
                    parameters.insert(name.clone(), percent_decode(parts.get(index)?));
                }
                Segment::Greedy(name) => {
                    if index >= parts.len() {
                        return None;
                    }
                    parameters.insert(name.clone(), percent_decode(&parts[index..].join("/")));
                    return Some(parameters);
                }
            }
        }
        (parts.len() == self.segments.len()).then_some(parameters)
    }
}

/// The most specific route matching the request, with its parameters.
pub(crate) fn find_route<'a>(
    routes: &'a [Route],
    method: &Method,
    path: &str,
) -> Option<(&'a Route, BTreeMap<String, String>)> {
    routes
        .iter()
        .filter_map(|route| route.matches(method, path).map(|found| (route, found)))
        .max_by_key(|(route, _)| route.specificity())
}

fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut index = 0;
    while index < bytes.len() {
        let hex = |at: usize| {
            bytes
                .get(at)
                .and_then(|byte| (*byte as char).to_digit(16))
                .map(|digit| digit as u8)
        };
        if bytes[index] == b'%'
            && let (Some(high), Some(low)) = (hex(index + 1), hex(index + 2))
        {
            out.push(high * 16 + low);
            index += 3;
        } else {
            out.push(bytes[index]);
            index += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The invocation request for an HTTP event.
pub(crate) fn invoke_request(event: &Value) -> InvokeRequest {
    InvokeRequest::new(event.to_string())
}

/// Whether a request body is over what an event may carry.
pub(crate) fn too_large(request: &HttpRequest) -> bool {
    // Base64 grows a body by a third; the event must stay within the limit.
    request.body.len() > MAX_REQUEST_BYTES * 3 / 4
}

fn json_response(status: StatusCode, body: Value) -> Response {
    let mut response = (status, body.to_string()).into_response();
    response
        .headers_mut()
        .insert("content-type", HeaderValue::from_static("application/json"));
    response
}

/// What a function URL or HTTP API answers for a request over the limit.
pub(crate) fn payload_too_large() -> Response {
    json_response(
        StatusCode::PAYLOAD_TOO_LARGE,
        json!({ "message": "Request Entity Too Large" }),
    )
}

/// A function error or an unusable answer, as the service reports it.
pub(crate) fn bad_gateway(format: PayloadFormat) -> Response {
    let message = match format {
        PayloadFormat::V1 => "Internal server error",
        PayloadFormat::V2 => "Internal Server Error",
    };
    json_response(StatusCode::BAD_GATEWAY, json!({ "message": message }))
}

/// 404 for a path no route serves.
/// A URL or route whose function's reserved concurrency is taken.
pub(crate) fn too_many_requests() -> Response {
    let mut response = (
        StatusCode::TOO_MANY_REQUESTS,
        axum::Json(json!({ "message": "Too Many Requests" })),
    )
        .into_response();
    response.headers_mut().insert(
        "x-amzn-errortype",
        HeaderValue::from_static("TooManyRequestsException"),
    );
    response
}

pub(crate) fn not_found() -> Response {
    json_response(StatusCode::NOT_FOUND, json!({ "message": "Not Found" }))
}

/// 403 for a function URL with `AWS_IAM` auth and no signature.
pub(crate) fn forbidden() -> Response {
    json_response(StatusCode::FORBIDDEN, json!({ "Message": "Forbidden" }))
}

fn body_bytes(body: &Value, base64: bool) -> Option<Vec<u8>> {
    let text = match body {
        Value::Null => return Some(Vec::new()),
        Value::String(text) => text.clone(),
        other => other.to_string(),
    };
    if base64 {
        use base64::Engine as _;
        base64::engine::general_purpose::STANDARD.decode(text).ok()
    } else {
        Some(text.into_bytes())
    }
}

/// Headers that frame the message or manage the connection: the host sets
/// them from the body it sends, as Lambda's function URLs and API Gateway
/// do, so a handler's own are dropped. Passing a handler's `content-length`
/// through let a body longer than it claimed be read as the next answer on
/// a kept-alive connection
/// (`http::a_handlers_framing_headers_never_split_the_response`).
const FRAMING_HEADERS: &[&str] = &[
    "content-length",
    "transfer-encoding",
    "connection",
    "keep-alive",
    "upgrade",
    "te",
    "trailer",
    "proxy-connection",
];

/// Adds a handler's header to `response`; false when the name or the value
/// is not valid HTTP. Framing headers are dropped ([`FRAMING_HEADERS`]).
fn insert_header(response: &mut Response, name: &str, value: &str) -> bool {
    if FRAMING_HEADERS
        .iter()
        .any(|framing| name.eq_ignore_ascii_case(framing))
    {
        return true;
    }
    match (
        HeaderName::from_bytes(name.as_bytes()),
        HeaderValue::from_str(value),
    ) {
        (Ok(name), Ok(value)) => {
            response.headers_mut().append(name, value);
            true
        }
        _ => false,
    }
}

/// The HTTP response for a 2.0 answer: `statusCode` & co. when the payload
/// has one, else 200 with the payload as JSON.
pub(crate) fn response_v2(payload: &str) -> Response {
    let value: Value = serde_json::from_str(payload).unwrap_or(Value::Null);
    let Some(status) = answer_status(&value) else {
        return json_response(StatusCode::OK, value_or_text(payload));
    };
    let base64 = value["isBase64Encoded"].as_bool().unwrap_or(false);
    let Some(body) = body_bytes(&value["body"], base64) else {
        return bad_gateway(PayloadFormat::V2);
    };
    let mut response = (status, body).into_response();
    head_v2(
        &mut response,
        &value,
        HeaderValue::from_static("application/json"),
    );
    response
}

/// Puts a 2.0 answer's `headers` and `cookies` on `response`, and
/// `default_type` as its content type when the answer names none. Streamed
/// responses take their head from the same fields
/// (`HttpResponseStream.from`'s metadata).
pub(crate) fn head_v2(response: &mut Response, value: &Value, default_type: HeaderValue) {
    let mut typed = false;
    if let Some(headers) = value["headers"].as_object() {
        for (name, header) in headers {
            let text = header
                .as_str()
                .map_or_else(|| header.to_string(), str::to_string);
            typed |= name.eq_ignore_ascii_case("content-type");
            insert_header(response, name, &text);
        }
    }
    if let Some(cookies) = value["cookies"].as_array() {
        for cookie in cookies.iter().filter_map(Value::as_str) {
            insert_header(response, "set-cookie", cookie);
        }
    }
    if !typed {
        response.headers_mut().insert("content-type", default_type);
    }
}

/// The status of a 2.0 answer or a stream's metadata, if it names one.
pub(crate) fn answer_status(value: &Value) -> Option<StatusCode> {
    value
        .as_object()
        .and_then(|object| object.get("statusCode"))
        .and_then(status_code)
}

fn value_or_text(payload: &str) -> Value {
    serde_json::from_str(payload).unwrap_or_else(|_| Value::String(payload.to_string()))
}

fn status_code(value: &Value) -> Option<StatusCode> {
    let number = value
        .as_u64()
        .or_else(|| value.as_str().and_then(|text| text.parse().ok()))?;
    StatusCode::from_u16(u16::try_from(number).ok()?).ok()
}

/// The HTTP response for a 1.0 answer, which must be exactly Lambda's
/// proxy shape; anything else is a 502.
pub(crate) fn response_v1(payload: &str) -> Response {
    const ALLOWED: [&str; 5] = [
        "statusCode",
        "headers",
        "multiValueHeaders",
        "body",
        "isBase64Encoded",
    ];
    let value: Value = serde_json::from_str(payload).unwrap_or(Value::Null);
    let Some(object) = value.as_object() else {
        return bad_gateway(PayloadFormat::V1);
    };
    let Some(status) = object.get("statusCode").and_then(status_code) else {
        return bad_gateway(PayloadFormat::V1);
    };
    if object.keys().any(|key| !ALLOWED.contains(&key.as_str()))
        || !matches!(
            object.get("body"),
            None | Some(Value::Null | Value::String(_))
        )
    {
        return bad_gateway(PayloadFormat::V1);
    }
    let base64 = object
        .get("isBase64Encoded")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    let Some(body) = body_bytes(object.get("body").unwrap_or(&Value::Null), base64) else {
        return bad_gateway(PayloadFormat::V1);
    };
    let mut response = (status, body).into_response();
    if let Some(headers) = object.get("headers").and_then(Value::as_object) {
        for (name, header) in headers {
            let text = header
                .as_str()
                .map_or_else(|| header.to_string(), str::to_string);
            if !insert_header(&mut response, name, &text) {
                return bad_gateway(PayloadFormat::V1);
            }
        }
    }
    if let Some(headers) = object.get("multiValueHeaders").and_then(Value::as_object) {
        for (name, values) in headers {
            for header in values.as_array().into_iter().flatten() {
                let text = header
                    .as_str()
                    .map_or_else(|| header.to_string(), str::to_string);
                if !insert_header(&mut response, name, &text) {
                    return bad_gateway(PayloadFormat::V1);
                }
            }
        }
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    fn route(method: &str, path: &str) -> Route {
        Route::parse(RouteSpec {
            method: method.into(),
            path: path.into(),
            function: "f".into(),
            payload_format: PayloadFormat::V2,
            stage: None,
        })
        .unwrap()
    }

    #[test]
    fn routes_match_by_specificity_with_parameters_and_greedy_paths() {
        let routes = vec![
            route("ANY", "/{proxy+}"),
            route("GET", "/items/{id}"),
            route("GET", "/items/special"),
        ];
        let (found, parameters) = find_route(&routes, &Method::GET, "/items/42").unwrap();
        assert_eq!(found.spec.path, "/items/{id}");
        assert_eq!(parameters["id"], "42");
        let (found, _) = find_route(&routes, &Method::GET, "/items/special").unwrap();
        assert_eq!(found.spec.path, "/items/special");
        let (found, parameters) = find_route(&routes, &Method::POST, "/items/42/a%20b").unwrap();
        assert_eq!(found.spec.path, "/{proxy+}");
        assert_eq!(parameters["proxy"], "items/42/a b");
        assert!(find_route(&routes[1..], &Method::POST, "/items/42").is_none());
        assert!(find_route(&routes[1..], &Method::GET, "/items").is_none());
        assert!(
            Route::parse(RouteSpec {
                path: "/{a+}/b".into(),
                ..route("GET", "/").spec
            })
            .is_err()
        );
    }

    #[test]
    fn malformed_rest_answers_are_502() {
        assert_eq!(
            response_v1(r#"{"statusCode":200,"body":"ok"}"#).status(),
            200
        );
        for bad in [
            r#"{"statusCode":200,"extra":1}"#,
            r#"{"body":"no status"}"#,
            r#""just a string""#,
            r#"{"statusCode":200,"body":{"not":"a string"}}"#,
        ] {
            assert_eq!(response_v1(bad).status(), 502, "{bad}");
        }
        assert_eq!(response_v2(r#"{"hello":"world"}"#).status(), 200);
        assert_eq!(
            response_v2(r#"{"statusCode":201,"body":"x"}"#).status(),
            201
        );
    }
}
