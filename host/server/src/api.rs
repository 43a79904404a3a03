//! The Lambda API routes: Invoke and InvokeWithResponseStream, function URLs
//! and API Gateway routes; the control plane's are in `control.rs`.

use std::collections::HashMap;
use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{ConnectInfo, MatchedPath};
use axum::extract::{DefaultBodyLimit, Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::http::{Method, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get, post};
use serde_json::Value;
use std::net::SocketAddr;

use super::events;
use super::front_door::{self, PayloadFormat};
use super::queue::StoredEvent;
use super::reply::{
    function_arn, header_value, parse_function_name, service_error, throttle_error,
};
use super::streaming::{self, NotStarted};
use super::{AppState, Deployed, log_tail};
use crate::http_event::{self, HttpRequest};
use wasm_lambda_core::{CognitoIdentity, InvokeError, InvokeRequest, MAX_REQUEST_BYTES};

/// Lambda's limit on an asynchronous (`Event`) payload.
pub(crate) const MAX_EVENT_BYTES: usize = 1_048_576;
/// Lambda's limit on the decoded client context.
const MAX_CLIENT_CONTEXT_BYTES: usize = 3583;

pub(crate) fn router(state: Arc<AppState>) -> Router {
    Router::new()
        .route("/2015-03-31/functions/{name}/invocations", post(invoke))
        .route(STREAMING_INVOCATIONS, post(invoke))
        .route(QUEUE_PATH, get(queue_counts))
        .route(LIVE_PATH, get(live))
        .route(READY_PATH, get(ready))
        .route("/lambda-url/{function}", any(function_url))
        // The URL's root, which the wildcard below does not match.
        .route("/lambda-url/{function}/", any(function_url))
        .route("/lambda-url/{function}/{*path}", any(function_url))
        .merge(super::control::routes())
        .merge(super::sources::routes())
        .merge(super::versions::routes())
        .merge(super::function_settings::routes())
        .fallback(api_gateway)
        // Payloads over Lambda's limits get Lambda's 413 from the handler,
        // which needs to see them; far larger bodies are cut off here, and
        // the plain-text 413 that the cut-off produces is answered as
        // Lambda's service error instead.
        .layer(DefaultBodyLimit::max(4 * MAX_REQUEST_BYTES))
        .layer(axum::middleware::map_response(as_service_errors))
        .with_state(state)
}

/// Rewrites the framework's own rejections (a body over the cut-off) into
/// Lambda's service-error shape, which every client expects.
async fn as_service_errors(response: Response) -> Response {
    if response.status() == StatusCode::PAYLOAD_TOO_LARGE
        && !response.headers().contains_key("x-amzn-errortype")
    {
        return from_invoke_error(&InvokeError::RequestEntityTooLarge {
            limit: MAX_REQUEST_BYTES,
        });
    }
    response
}

/// The admin view of the `Event` queue: pending, retrying, failed and
/// succeeded counts, as JSON.
pub const QUEUE_PATH: &str = "/wasm-lambda/queue";

async fn queue_counts(State(state): State<Arc<AppState>>) -> Response {
    if let Some(queue) = &state.nats {
        return match queue.counts().await {
            Ok(counts) => axum::Json(counts).into_response(),
            Err(error) => service_error(503, "ServiceException", &format!("{error:#}")),
        };
    }
    let store = state.store.clone();
    match tokio::task::spawn_blocking(move || store.counts()).await {
        Ok(Ok(counts)) => axum::Json(counts).into_response(),
        Ok(Err(error)) => from_invoke_error(&InvokeError::Service(format!("{error:#}"))),
        Err(error) => from_invoke_error(&InvokeError::Service(error.to_string())),
    }
}

/// The liveness probe: 200 while the server answers HTTP.
pub const LIVE_PATH: &str = "/wasm-lambda/live";
/// The readiness probe: 200 when the server can take every kind of
/// invocation (its functions are loaded before it listens; with a NATS
/// backend, NATS must be connected), else 503 with the reason.
pub const READY_PATH: &str = "/wasm-lambda/ready";

async fn live() -> Response {
    (StatusCode::OK, "live\n").into_response()
}

async fn ready(State(state): State<Arc<AppState>>) -> Response {
    match &state.nats {
        Some(queue) if !queue.connected() => (
            StatusCode::SERVICE_UNAVAILABLE,
            "not ready: NATS is not connected\n",
        )
            .into_response(),
        _ => (StatusCode::OK, "ready\n").into_response(),
    }
}

/// The Invoke API's answer when reserved concurrency is taken.
fn throttled() -> Response {
    throttle_error(
        429,
        "TooManyRequestsException",
        "Rate Exceeded.",
        Some("ReservedFunctionConcurrentInvocationLimitExceeded"),
    )
}

fn from_invoke_error(error: &InvokeError) -> Response {
    // No sandbox free on this host is Lambda's account-level throttle.
    let reason = matches!(error, InvokeError::TooManyRequests)
        .then_some("ConcurrentInvocationLimitExceeded");
    throttle_error(
        error.http_status(),
        error.error_code(),
        &error.to_string(),
        reason,
    )
}

/// The code an Invoke API call names: a function, at a version or alias.
pub(crate) struct Target {
    pub(crate) deployed: Arc<Deployed>,
    /// The registry key of the code (`NAME` or `NAME:N`): what a stored
    /// `Event` invocation runs.
    pub(crate) key: String,
    /// `X-Amz-Executed-Version`: `$LATEST` or the version number.
    pub(crate) version: String,
    /// The ARN the caller used (qualified when it gave a qualifier), as the
    /// handler's context reports it.
    pub(crate) invoked_arn: String,
}

/// Finds the code a call names (its qualifier, from the query or the ARN:
/// `$LATEST`, a version, an alias), or answers `ResourceNotFoundException`
/// (no such function or qualifier) or `ResourceConflictException` (its
/// code is not ready).
#[allow(clippy::result_large_err)]
pub(crate) fn find(
    state: &AppState,
    name: &str,
    query_qualifier: Option<&String>,
) -> Result<Target, Response> {
    let (name, arn_qualifier) = parse_function_name(name);
    let qualifier = query_qualifier.cloned().or(arn_qualifier);
    let resolved = super::versions::resolve(state, &name, qualifier.as_deref(), true)?;
    let deployed = match state.functions.serving(&resolved.key) {
        Some(Ok(deployed)) => deployed,
        Some(Err(state_name)) => return Err(super::reply::not_ready(&state_name)),
        None => return Err(super::reply::not_found(state, &name)),
    };
    let invoked_arn = match &qualifier {
        Some(qualifier) => format!("{}:{qualifier}", function_arn(state, &name)),
        None => function_arn(state, &name),
    };
    Ok(Target {
        deployed,
        key: resolved.key,
        version: resolved.version,
        invoked_arn,
    })
}

fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|value| value.to_str().ok())
}

/// Decodes `X-Amz-Client-Context`: base64 of a JSON object.
fn client_context(headers: &HeaderMap) -> Result<Option<String>, InvokeError> {
    use base64::Engine as _;
    let Some(encoded) = header(headers, "x-amz-client-context") else {
        return Ok(None);
    };
    let invalid = || {
        InvokeError::InvalidRequestContent(
            "Client context must be a valid Base64-encoded JSON object.".into(),
        )
    };
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded)
        .map_err(|_| invalid())?;
    if decoded.len() > MAX_CLIENT_CONTEXT_BYTES {
        return Err(InvokeError::InvalidRequestContent(format!(
            "Client context must be at most {MAX_CLIENT_CONTEXT_BYTES} bytes."
        )));
    }
    let text = String::from_utf8(decoded).map_err(|_| invalid())?;
    match serde_json::from_str::<Value>(&text) {
        Ok(Value::Object(_)) => Ok(Some(text)),
        _ => Err(invalid()),
    }
}

/// The deployed function and the request an Invoke API call names, and
/// whether recursive loop detection stops it; or the service error that
/// refuses it.
#[allow(clippy::result_large_err)]
fn api_request(
    state: &AppState,
    name: &str,
    query: &HashMap<String, String>,
    headers: &HeaderMap,
    body: Bytes,
) -> Result<(Target, InvokeRequest, bool), Response> {
    let target = find(state, name, query.get("Qualifier"))?;
    let client_context = client_context(headers).map_err(|error| from_invoke_error(&error))?;
    let identity =
        header(headers, "x-amz-cognito-identity").and_then(CognitoIdentity::from_header_json);
    // Made here rather than at the call, so an `Event` invocation keeps its
    // trace header through retries and restarts of the queue; its Lineage
    // counts the runs of this function in the chain, and a chain that
    // already ran it 16 times is stopped
    // (`server::a_function_that_invokes_itself_is_stopped_at_the_sixteenth_hop`).
    let trace = header(headers, "x-amzn-trace-id")
        .map_or_else(wasm_lambda_core::new_trace_header, str::to_string);
    let unqualified = parse_function_name(name).0;
    let next = super::recursion::next_run(
        &trace,
        &function_arn(state, &unqualified),
        target.deployed.recursion_allowed,
    );
    let stopped = next.is_none();
    let trace = next.unwrap_or(trace);
    let request = InvokeRequest {
        payload: body.to_vec(),
        request_id: Some(uuid::Uuid::new_v4().to_string()),
        invoked_function_arn: Some(target.invoked_arn.clone()),
        trace_id: Some(trace),
        identity,
        client_context,
        tenant_id: header(headers, "x-amz-tenant-id").map(str::to_string),
        ..InvokeRequest::default()
    };
    Ok((target, request, stopped))
}

/// The Invoke API's two invoking operations, told apart by their path.
const STREAMING_INVOCATIONS: &str = "/2021-11-15/functions/{name}/response-streaming-invocations";

/// `Invoke` (`RequestResponse`, `Event` or `DryRun`) and
/// `InvokeWithResponseStream` (`RequestResponse` or `DryRun`, answered by
/// `streaming.rs`).
async fn invoke(
    State(state): State<Arc<AppState>>,
    operation: MatchedPath,
    Path(name): Path<String>,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let (target, request, stopped) = match api_request(&state, &name, &query, &headers, body) {
        Ok(found) => found,
        Err(response) => return response,
    };
    let request_id = request.request_id.clone().unwrap_or_default();
    let streaming = operation.as_str() == STREAMING_INVOCATIONS;
    let invocation_type = header(&headers, "x-amz-invocation-type").unwrap_or("RequestResponse");
    // A stopped loop: a synchronous call is refused; an `Event` is accepted
    // and never runs, as Lambda stops it (`events::stop_loop`).
    if stopped && (streaming || invocation_type != "Event") {
        return service_error(
            400,
            "RecursiveInvocationException",
            &super::recursion::stopped_message(&parse_function_name(&name).0),
        );
    }
    match invocation_type {
        "RequestResponse" if streaming => {
            let tail = header(&headers, "x-amz-log-type") == Some("Tail");
            let response = match streaming::invoke_with_response_stream(
                &state,
                &target.deployed,
                request,
                tail,
            )
            .await
            {
                Ok(mut response) => {
                    // The version the qualifier picked, as for Invoke.
                    response
                        .headers_mut()
                        .insert("x-amz-executed-version", header_value(&target.version));
                    response
                }
                Err(NotStarted::Refused(error)) => from_invoke_error(&error),
                Err(NotStarted::Throttled) => throttled(),
            };
            with_request_id(response, &request_id)
        }
        "RequestResponse" => {
            // Counted as in flight, so that a shutdown waits for it.
            let _in_flight = state.in_flight.token();
            request_response(&target, request, &headers).await
        }
        "Event" if !streaming => queue_event(&state, &target, request, stopped).await,
        "DryRun" => with_request_id(StatusCode::NO_CONTENT.into_response(), &request_id),
        other => service_error(
            400,
            "InvalidParameterValueException",
            &format!("Unsupported invocation type {other}"),
        ),
    }
}

fn with_request_id(mut response: Response, request_id: &str) -> Response {
    response
        .headers_mut()
        .insert("x-amzn-requestid", header_value(request_id));
    response
}

async fn request_response(
    target: &Target,
    request: InvokeRequest,
    headers: &HeaderMap,
) -> Response {
    let deployed = &target.deployed;
    let _permit = match &deployed.concurrency {
        Some(slots) => match slots.clone().try_acquire_owned() {
            Ok(permit) => Some(permit),
            Err(_) => return throttled(),
        },
        None => None,
    };
    let invocation = match deployed.invoke(request).await {
        Ok(invocation) => invocation,
        Err(error) => return from_invoke_error(&error),
    };
    let mut response = (StatusCode::OK, invocation.payload().to_string()).into_response();
    let response_headers = response.headers_mut();
    response_headers.insert("content-type", HeaderValue::from_static("application/json"));
    response_headers.insert("x-amz-executed-version", header_value(&target.version));
    if invocation.function_error().is_some() {
        response_headers.insert(
            "x-amz-function-error",
            HeaderValue::from_static("Unhandled"),
        );
    }
    if header(headers, "x-amz-log-type") == Some("Tail") {
        response_headers.insert("x-amz-log-result", header_value(&log_tail(&invocation.log)));
    }
    with_request_id(response, &invocation.request_id)
}

/// Accepts an `Event` invocation: stored (or published to NATS) before the
/// 202; one whose loop is `stopped` is accepted and handed to
/// [`events::stop_loop`] instead.
async fn queue_event(
    state: &Arc<AppState>,
    target: &Target,
    request: InvokeRequest,
    stopped: bool,
) -> Response {
    if request.payload.len() > MAX_EVENT_BYTES {
        return service_error(
            413,
            "RequestEntityTooLargeException",
            &format!(
                "Request must be smaller than {MAX_EVENT_BYTES} bytes for the InvokeAsync operation"
            ),
        );
    }
    if !request.payload.is_empty()
        && serde_json::from_slice::<serde::de::IgnoredAny>(&request.payload).is_err()
    {
        return from_invoke_error(&InvokeError::InvalidRequestContent(
            "Could not parse request body into json".into(),
        ));
    }
    let request_id = request.request_id.clone().unwrap_or_default();
    if stopped {
        let event = StoredEvent::new(&target.key, &request);
        let settings = target.deployed.async_settings.clone();
        tokio::spawn(events::stop_loop(state.clone(), settings, event));
        return with_request_id(StatusCode::ACCEPTED.into_response(), &request_id);
    }
    // With a NATS backend, the 202 promises the same: JetStream has stored
    // it. Without NATS nothing is accepted (any server of the cluster may
    // run it; a synchronous invocation needs no NATS and still works).
    if let Some(queue) = &state.nats {
        let event = StoredEvent::new(&target.key, &request);
        return match queue.publish(&event).await {
            Ok(()) => with_request_id(StatusCode::ACCEPTED.into_response(), &request_id),
            Err(error) => service_error(
                503,
                "ServiceException",
                &format!("The event queue is unavailable: {error:#}"),
            ),
        };
    }
    let Ok(slot) = state.queue_slots.clone().try_acquire_owned() else {
        return throttle_error(
            429,
            "TooManyRequestsException",
            "The event queue is full.",
            Some("ReservedFunctionConcurrentInvocationLimitExceeded"),
        );
    };
    // The 202 promises the event will run: it is on disk before the answer.
    // Stored with the version it names (`NAME:N`), which its runs use.
    let event = StoredEvent::new(&target.key, &request);
    let store = state.store.clone();
    let stored = event.clone();
    let id = match tokio::task::spawn_blocking(move || store.insert(&stored)).await {
        Ok(Ok(id)) => id,
        Ok(Err(error)) => {
            return from_invoke_error(&InvokeError::Service(format!(
                "failed to store the event: {error:#}"
            )));
        }
        Err(error) => {
            return from_invoke_error(&InvokeError::Service(format!(
                "failed to store the event: {error}"
            )));
        }
    };
    // The dispatcher is gone only during shutdown; the stored event then
    // runs when the server starts again.
    let _ = state
        .accepted
        .send((events::Ticket::Stored(id), event, Some(slot)));
    with_request_id(StatusCode::ACCEPTED.into_response(), &request_id)
}

/// Runs an HTTP event through a function and answers as the HTTP service
/// would (`front_door.rs`).
async fn http_event(
    state: &AppState,
    deployed: &Deployed,
    event: Value,
    format: PayloadFormat,
) -> Response {
    let _in_flight = state.in_flight.token();
    let _permit = match &deployed.concurrency {
        Some(slots) => match slots.clone().try_acquire_owned() {
            Ok(permit) => Some(permit),
            Err(_) => return front_door::too_many_requests(),
        },
        None => None,
    };
    match deployed
        .function
        .invoke(front_door::invoke_request(&event))
        .await
    {
        Ok(invocation) if invocation.function_error().is_some() => front_door::bad_gateway(format),
        Ok(invocation) => match format {
            PayloadFormat::V1 => front_door::response_v1(invocation.payload()),
            PayloadFormat::V2 => front_door::response_v2(invocation.payload()),
        },
        Err(InvokeError::RequestEntityTooLarge { .. }) => front_door::payload_too_large(),
        Err(InvokeError::TooManyRequests) => front_door::too_many_requests(),
        Err(_) => front_door::bad_gateway(format),
    }
}

/// `ANY /lambda-url/<function>/<path>`: the function's URL.
async fn function_url(
    State(state): State<Arc<AppState>>,
    ConnectInfo(source): ConnectInfo<SocketAddr>,
    Path(parameters): Path<HashMap<String, String>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let name = parameters.get("function").cloned().unwrap_or_default();
    // `NAME:ALIAS` is an alias's URL: its own settings, the alias's code
    // (with its weights).
    let (deployed, needs_signature, streams) = match name.split_once(':') {
        Some((function, alias)) => {
            let key = super::function_settings::alias_url_key(alias);
            let Some(config) = state.functions.setting(function, &key) else {
                return front_door::not_found();
            };
            let (needs_signature, streams) = super::function_settings::url_behaviour(&config);
            let target = match find(&state, function, Some(&alias.to_string())) {
                Ok(target) => target,
                Err(response) => return response,
            };
            (target.deployed, needs_signature, streams)
        }
        None => {
            let Some(deployed) = state.functions.live(&name) else {
                return front_door::not_found();
            };
            let (needs_signature, streams) = (deployed.url_needs_signature, deployed.url_streams);
            (deployed, needs_signature, streams)
        }
    };
    if needs_signature
        && !header(&headers, "authorization")
            .is_some_and(|value| value.starts_with("AWS4-HMAC-SHA256"))
    {
        return front_door::forbidden();
    }
    let path = format!("/{}", parameters.get("path").map_or("", String::as_str));
    let request = HttpRequest::new(method, &uri, path, headers, body, source);
    if front_door::too_large(&request) {
        return front_door::payload_too_large();
    }
    let api_id = url_id(&name);
    let event = http_event::event_v2(&request, "$default", "$default", None, &api_id);
    if streams {
        return super::streaming::function_url(
            &state,
            &deployed,
            front_door::invoke_request(&event),
        )
        .await;
    }
    http_event(&state, &deployed, event, PayloadFormat::V2).await
}

/// A stable, URL-id-like name for a function's URL or API.
fn url_id(name: &str) -> String {
    blake3::hash(name.as_bytes()).to_hex()[..10].to_string()
}

/// Every other path: the configured API Gateway routes, else 404.
async fn api_gateway(
    State(state): State<Arc<AppState>>,
    ConnectInfo(source): ConnectInfo<SocketAddr>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let Some((route, parameters)) = front_door::find_route(&state.routes, &method, uri.path())
    else {
        return front_door::not_found();
    };
    let Some(deployed) = state.functions.live(&route.spec.function) else {
        return front_door::not_found();
    };
    let stage = route
        .spec
        .stage
        .clone()
        .unwrap_or_else(|| "$default".into());
    let path = match &route.spec.stage {
        Some(stage) => uri
            .path()
            .strip_prefix(&format!("/{stage}"))
            .unwrap_or(uri.path())
            .to_string(),
        None => uri.path().to_string(),
    };
    let request = HttpRequest::new(method, &uri, path, headers, body, source);
    if front_door::too_large(&request) {
        return front_door::payload_too_large();
    }
    let api_id = url_id(&format!("api:{}", route.spec.function));
    let event = match route.spec.payload_format {
        PayloadFormat::V1 => {
            http_event::event_v1(&request, &route.spec.path, &stage, &parameters, &api_id)
        }
        PayloadFormat::V2 => http_event::event_v2(
            &request,
            &route.route_key(),
            &stage,
            Some(&parameters),
            &api_id,
        ),
    };
    http_event(&state, &deployed, event, route.spec.payload_format).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn function_names_in_every_form() {
        let cases = [
            ("hello", ("hello", None)),
            ("hello:$LATEST", ("hello", Some("$LATEST"))),
            ("123456789012:function:hello", ("hello", None)),
            (
                "arn:aws:lambda:us-east-1:123456789012:function:hello",
                ("hello", None),
            ),
            (
                "arn:aws:lambda:us-east-1:123456789012:function:hello:7",
                ("hello", Some("7")),
            ),
        ];
        for (text, (name, qualifier)) in cases {
            let (parsed, parsed_qualifier) = parse_function_name(text);
            assert_eq!(parsed, name, "{text}");
            assert_eq!(parsed_qualifier.as_deref(), qualifier, "{text}");
        }
    }
}
