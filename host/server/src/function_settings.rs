//! The settings Terraform's `aws_lambda_function` and its neighbours keep
//! beside a function: reserved concurrency (`Put/Get/DeleteFunctionConcurrency`),
//! asynchronous invocation (`Put/Get/Update/DeleteFunctionEventInvokeConfig`)
//! and the function URL (`Create/Get/Update/DeleteFunctionUrlConfig`).
//!
//! Each is kept in the function's entry (`Entry::settings`, stored with
//! it) and applied to the code serving at once, without loading it again:
//! the same limits and `Event` settings the TOML file's keys set.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::{Map, Value, json};
use tokio::sync::Semaphore;

use super::events::{AsyncSettings, Destination, EVENT_AGE_RANGE_SECS, MAX_RETRY_ATTEMPTS};
use super::registry::{Entry, Registry};
use super::reply::{
    body_object, function_arn, invalid, not_found, parse_function_name, persist, service_error,
    timestamp, validation,
};
use super::{AppState, Deployed};
use wasm_lambda_core::Function;

const CONCURRENCY: &str = "ReservedConcurrentExecutions";
const EVENT_INVOKE: &str = "EventInvokeConfig";
const URL: &str = "FunctionUrlConfig";
const RECURSION: &str = "RecursiveLoop";

/// The setting that holds the URL configuration of `name`'s alias `alias`
/// (`FunctionUrlConfig:<alias>`); `$LATEST`'s is [`URL`].
pub(crate) fn alias_url_key(alias: &str) -> String {
    format!("{URL}:{alias}")
}

/// What an alias's URL does with a request: whether it needs a signature
/// and whether it streams.
pub(crate) fn url_behaviour(config: &Value) -> (bool, bool) {
    let field = |name: &str| config.get(name).and_then(Value::as_str);
    (
        field("AuthType") == Some("AWS_IAM"),
        field("InvokeMode") == Some("RESPONSE_STREAM"),
    )
}

pub(crate) fn routes() -> Router<Arc<AppState>> {
    Router::new()
        .route(
            "/2017-10-31/functions/{name}/concurrency",
            axum::routing::put(put_concurrency).delete(delete_concurrency),
        )
        .route(
            "/2019-09-30/functions/{name}/concurrency",
            get(get_concurrency),
        )
        .route(
            "/2019-09-25/functions/{name}/event-invoke-config",
            get(get_event_invoke)
                .put(put_event_invoke)
                .post(update_event_invoke)
                .delete(delete_event_invoke),
        )
        .route(
            "/2024-08-31/functions/{name}/recursion-config",
            get(get_recursion).put(put_recursion),
        )
        .route(
            "/2021-10-31/functions/{name}/url",
            get(get_url)
                .post(create_url)
                .put(update_url)
                .delete(delete_url),
        )
}

/// The code `function` serving with `entry`'s settings.
pub(crate) fn deployed_with(entry: &Entry, function: Function) -> Deployed {
    let reserved = entry
        .settings
        .get(CONCURRENCY)
        .and_then(Value::as_u64)
        .map(|limit| limit as u32);
    let (url_needs_signature, url_streams) = entry
        .settings
        .get(URL)
        .map(url_behaviour)
        .unwrap_or_default();
    Deployed {
        function,
        concurrency: reserved.map(|limit| Arc::new(Semaphore::new(limit as usize))),
        reserved,
        async_settings: async_settings(entry.settings.get(EVENT_INVOKE)),
        url_needs_signature,
        url_streams,
        recursion_allowed: entry.settings.get(RECURSION).and_then(Value::as_str)
            == Some(super::recursion::ALLOW),
        // Functions of the control plane have no external extensions yet.
        extensions: None,
    }
}

/// The `Event` settings an `EventInvokeConfig` object gives.
fn async_settings(config: Option<&Value>) -> AsyncSettings {
    let mut settings = AsyncSettings::default();
    let Some(config) = config else {
        return settings;
    };
    if let Some(retries) = config.get("MaximumRetryAttempts").and_then(Value::as_u64) {
        settings.max_retry_attempts = retries as u32;
    }
    if let Some(age) = config
        .get("MaximumEventAgeInSeconds")
        .and_then(Value::as_u64)
    {
        settings.max_event_age = Duration::from_secs(age);
    }
    settings.on_failure = config
        .pointer("/DestinationConfig/OnFailure/Destination")
        .and_then(Value::as_str)
        .map(|arn| Destination::Function(parse_function_name(arn).0));
    settings
}

/// Changes `name`'s settings with `change` and puts them into the code
/// serving it, then stores them.
async fn change_settings(
    state: &Arc<AppState>,
    name: &str,
    change: impl FnOnce(&mut Map<String, Value>),
) -> Result<(), Response> {
    let updated = state.functions.update(name, |entry| {
        change(&mut entry.settings);
        if let Some(live) = &entry.live {
            entry.live = Some(Arc::new(deployed_with(entry, live.function.clone())));
        }
    });
    if updated.is_none() {
        return Err(not_found(state, name));
    }
    share_concurrency(&state.functions, name);
    persist(state, name).await
}

/// Gives every published version of `name` the function's reserved
/// concurrency (the same permits): on Lambda it limits the function, all
/// its versions and aliases together.
pub(crate) fn share_concurrency(functions: &Registry, name: &str) {
    let Some(base) = functions.live(name) else {
        return;
    };
    for (number, _) in functions.versions_of(name) {
        functions.update(&format!("{name}:{number}"), |version| {
            if let Some(live) = &version.live {
                let mut deployed = deployed_with(version, live.function.clone());
                deployed.concurrency = base.concurrency.clone();
                deployed.reserved = base.reserved;
                deployed.recursion_allowed = base.recursion_allowed;
                version.live = Some(Arc::new(deployed));
            }
        });
    }
}

/// Removes one of `name`'s settings: 204, as Lambda's Delete calls answer.
async fn remove_setting(state: &Arc<AppState>, name: &str, key: &str) -> Response {
    match change_settings(state, name, |settings| {
        settings.remove(key);
    })
    .await
    {
        Ok(()) => StatusCode::NO_CONTENT.into_response(),
        Err(response) => response,
    }
}

/// The function a request names, made through the API.
#[allow(clippy::result_large_err)]
fn api_function(state: &AppState, name: &str) -> Result<(String, Entry), Response> {
    let name = parse_function_name(name).0;
    let Some(entry) = state.functions.get(&name) else {
        return Err(not_found(state, &name));
    };
    if !entry.made_by_api() {
        return Err(invalid(&format!(
            "Function {name} is deployed from the server's configuration file; set reserved_concurrency, maximum_retry_attempts, maximum_event_age, on_failure, url_auth and invoke_mode there."
        )));
    }
    Ok((name, entry))
}

/// `PUT /2017-10-31/functions/{name}/concurrency`.
async fn put_concurrency(
    State(state): State<Arc<AppState>>,
    Path(name): Path<String>,
    body: Bytes,
) -> Response {
    let (name, _) = or_answer!(api_function(&state, &name));
    let request = or_answer!(body_object(&body));
    let Some(limit) = request.get(CONCURRENCY).and_then(Value::as_u64) else {
        return invalid("ReservedConcurrentExecutions must be a number from 0.");
    };
    put_setting(&state, &name, CONCURRENCY, json!(limit)).await
}

/// Stores one setting of `name` and answers with it, as Lambda's Put calls
/// answer.
async fn put_setting(state: &Arc<AppState>, name: &str, key: &str, value: Value) -> Response {
    let stored = value.clone();
    if let Err(response) = change_settings(state, name, |settings| {
        settings.insert(key.into(), stored);
    })
    .await
    {
        return response;
    }
    axum::Json(json!({ key: value })).into_response()
}

/// `PUT /2024-08-31/functions/{name}/recursion-config`:
/// `{"RecursiveLoop": "Allow" | "Terminate"}`.
async fn put_recursion(
    State(state): State<Arc<AppState>>,
    Path(name): Path<String>,
    body: Bytes,
) -> Response {
    use super::recursion::{ALLOW, TERMINATE};
    let (name, _) = or_answer!(api_function(&state, &name));
    let request = or_answer!(body_object(&body));
    let value = request
        .get(RECURSION)
        .and_then(Value::as_str)
        .unwrap_or_default();
    if ![ALLOW, TERMINATE].contains(&value) {
        return validation(
            &value,
            "recursiveLoop",
            "Member must satisfy enum value set: [Allow, Terminate]",
        );
    }
    put_setting(&state, &name, RECURSION, json!(value)).await
}

/// `GET /2024-08-31/functions/{name}/recursion-config`.
async fn get_recursion(State(state): State<Arc<AppState>>, Path(name): Path<String>) -> Response {
    let name = parse_function_name(&name).0;
    let Some(entry) = state.functions.get(&name) else {
        return not_found(&state, &name);
    };
    let allowed = entry
        .live
        .as_ref()
        .is_some_and(|deployed| deployed.recursion_allowed);
    let value = if allowed {
        super::recursion::ALLOW
    } else {
        super::recursion::TERMINATE
    };
    axum::Json(json!({ RECURSION: value })).into_response()
}

/// `GET /2019-09-30/functions/{name}/concurrency`: `{}` when none is set.
async fn get_concurrency(State(state): State<Arc<AppState>>, Path(name): Path<String>) -> Response {
    let name = parse_function_name(&name).0;
    let Some(entry) = state.functions.get(&name) else {
        return not_found(&state, &name);
    };
    let reserved = entry.live.as_ref().and_then(|deployed| deployed.reserved);
    match reserved {
        Some(limit) => axum::Json(json!({ CONCURRENCY: limit })).into_response(),
        None => axum::Json(json!({})).into_response(),
    }
}

/// `DELETE /2017-10-31/functions/{name}/concurrency`.
async fn delete_concurrency(
    State(state): State<Arc<AppState>>,
    Path(name): Path<String>,
) -> Response {
    let (name, _) = or_answer!(api_function(&state, &name));
    remove_setting(&state, &name, CONCURRENCY).await
}

/// The stored `EventInvokeConfig` merged with a Put (which replaces it) or
/// an Update (which changes the fields given), checked against Lambda's
/// ranges.
#[allow(clippy::result_large_err)]
fn event_invoke_config(
    state: &AppState,
    name: &str,
    current: Option<&Value>,
    request: &Map<String, Value>,
    replace: bool,
) -> Result<Value, Response> {
    let mut config = match (current, replace) {
        (Some(Value::Object(current)), false) => current.clone(),
        _ => Map::new(),
    };
    for key in [
        "MaximumRetryAttempts",
        "MaximumEventAgeInSeconds",
        "DestinationConfig",
    ] {
        if let Some(value) = request.get(key) {
            config.insert(key.into(), value.clone());
        }
    }
    if let Some(retries) = config.get("MaximumRetryAttempts")
        && retries
            .as_u64()
            .is_none_or(|retries| retries > u64::from(MAX_RETRY_ATTEMPTS))
    {
        return Err(service_error(
            400,
            "ValidationException",
            &format!(
                "1 validation error detected: Value '{retries}' at 'maximumRetryAttempts' failed to satisfy constraint: Member must have value less than or equal to 2"
            ),
        ));
    }
    if let Some(age) = config.get("MaximumEventAgeInSeconds")
        && age
            .as_u64()
            .is_none_or(|age| !EVENT_AGE_RANGE_SECS.contains(&age))
    {
        return Err(service_error(
            400,
            "ValidationException",
            &format!(
                "1 validation error detected: Value '{age}' at 'maximumEventAgeInSeconds' failed to satisfy constraint: Member must have value between 60 and 21600"
            ),
        ));
    }
    for (kind, destination) in config
        .get("DestinationConfig")
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
    {
        let arn = destination
            .get("Destination")
            .and_then(Value::as_str)
            .unwrap_or_default();
        if kind != "OnFailure" || !arn.contains(":function:") {
            return Err(invalid(&format!(
                "This server sends {kind} records to Lambda functions only: OnFailure with a function ARN, not {arn:?}."
            )));
        }
    }
    config.insert(
        "LastModified".into(),
        json!(
            SystemTime::now()
                .duration_since(SystemTime::UNIX_EPOCH)
                .map_or(0.0, |since| since.as_secs_f64())
        ),
    );
    config.insert(
        "FunctionArn".into(),
        json!(format!("{}:$LATEST", function_arn(state, name))),
    );
    Ok(Value::Object(config))
}

async fn write_event_invoke(
    state: Arc<AppState>,
    name: String,
    body: Bytes,
    replace: bool,
) -> Response {
    let (name, entry) = match api_function(&state, &name) {
        Ok(found) => found,
        Err(response) => return response,
    };
    let request = or_answer!(body_object(&body));
    let current = entry.settings.get(EVENT_INVOKE);
    if !replace && current.is_none() {
        return service_error(
            404,
            "ResourceNotFoundException",
            &format!(
                "The function {} doesn't have an EventInvokeConfig",
                function_arn(&state, &name)
            ),
        );
    }
    let config = or_answer!(event_invoke_config(
        &state, &name, current, &request, replace
    ));
    let stored = config.clone();
    if let Err(response) = change_settings(&state, &name, |settings| {
        settings.insert(EVENT_INVOKE.into(), stored);
    })
    .await
    {
        return response;
    }
    axum::Json(config).into_response()
}

/// `PUT .../event-invoke-config`: replaces the settings.
async fn put_event_invoke(
    State(state): State<Arc<AppState>>,
    Path(name): Path<String>,
    body: Bytes,
) -> Response {
    write_event_invoke(state, name, body, true).await
}

/// `POST .../event-invoke-config`: changes the fields given.
async fn update_event_invoke(
    State(state): State<Arc<AppState>>,
    Path(name): Path<String>,
    body: Bytes,
) -> Response {
    write_event_invoke(state, name, body, false).await
}

/// `GET .../event-invoke-config`.
async fn get_event_invoke(
    State(state): State<Arc<AppState>>,
    Path(name): Path<String>,
) -> Response {
    let name = parse_function_name(&name).0;
    let Some(entry) = state.functions.get(&name) else {
        return not_found(&state, &name);
    };
    match entry.settings.get(EVENT_INVOKE) {
        Some(config) => axum::Json(config.clone()).into_response(),
        None => service_error(
            404,
            "ResourceNotFoundException",
            &format!(
                "The function {} doesn't have an EventInvokeConfig",
                function_arn(&state, &name)
            ),
        ),
    }
}

/// `DELETE .../event-invoke-config`.
async fn delete_event_invoke(
    State(state): State<Arc<AppState>>,
    Path(name): Path<String>,
) -> Response {
    let (name, _) = or_answer!(api_function(&state, &name));
    remove_setting(&state, &name, EVENT_INVOKE).await
}

/// The URL a function's URL configuration answers: `serve`'s own
/// `/lambda-url/<name>/` (`/lambda-url/<name>:<alias>/` for an alias's), on
/// the address the caller used.
fn function_url(headers: &HeaderMap, name: &str) -> String {
    let authority = headers
        .get("host")
        .and_then(|value| value.to_str().ok())
        .unwrap_or("127.0.0.1");
    format!("http://{authority}/lambda-url/{name}/")
}

/// Checks `AuthType` and `InvokeMode` and fills in the rest of a URL
/// configuration.
#[allow(clippy::result_large_err)]
fn url_config(
    state: &AppState,
    name: &str,
    headers: &HeaderMap,
    current: Option<&Value>,
    request: &Map<String, Value>,
) -> Result<Map<String, Value>, Response> {
    let mut config = current
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    for key in ["AuthType", "Cors", "InvokeMode"] {
        if let Some(value) = request.get(key) {
            config.insert(key.into(), value.clone());
        }
    }
    let auth = config.get("AuthType").and_then(Value::as_str);
    if !matches!(auth, Some("NONE" | "AWS_IAM")) {
        return Err(service_error(
            400,
            "ValidationException",
            "1 validation error detected: Value at 'authType' failed to satisfy constraint: Member must satisfy enum value set: [NONE, AWS_IAM]",
        ));
    }
    let mode = config
        .get("InvokeMode")
        .and_then(Value::as_str)
        .unwrap_or("BUFFERED")
        .to_string();
    if !["BUFFERED", "RESPONSE_STREAM"].contains(&mode.as_str()) {
        return Err(service_error(
            400,
            "ValidationException",
            "1 validation error detected: Value at 'invokeMode' failed to satisfy constraint: Member must satisfy enum value set: [BUFFERED, RESPONSE_STREAM]",
        ));
    }
    let now = timestamp(SystemTime::now());
    config.insert("InvokeMode".into(), json!(mode));
    config.insert("FunctionUrl".into(), json!(function_url(headers, name)));
    config.insert("FunctionArn".into(), json!(function_arn(state, name)));
    config
        .entry("CreationTime")
        .or_insert_with(|| json!(now.clone()));
    config.insert("LastModifiedTime".into(), json!(now));
    Ok(config)
}

/// The URL configuration a request's `Qualifier` names: its setting's key
/// and the name its URL and ARN carry (`NAME` or `NAME:ALIAS`). Lambda
/// gives URLs to `$LATEST` and to aliases, not to versions.
#[allow(clippy::result_large_err)]
fn url_target(
    state: &AppState,
    name: &str,
    query: &HashMap<String, String>,
) -> Result<(String, String), Response> {
    match query.get("Qualifier").map(String::as_str) {
        None | Some("$LATEST") => Ok((URL.to_string(), name.to_string())),
        Some(qualifier) if qualifier.bytes().all(|byte| byte.is_ascii_digit()) => Err(validation(
            &qualifier,
            "qualifier",
            "Member must satisfy regular expression pattern: ((?!^\\d+$)^[0-9a-zA-Z-_]+$)",
        )),
        Some(alias) => match state.functions.alias(name, alias) {
            Some(_) => Ok((alias_url_key(alias), format!("{name}:{alias}"))),
            None => Err(not_found(state, &format!("{name}:{alias}"))),
        },
    }
}

/// `POST /2021-10-31/functions/{name}/url`: 201, or 409 when it has one.
async fn create_url(
    State(state): State<Arc<AppState>>,
    Path(name): Path<String>,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let (name, entry) = or_answer!(api_function(&state, &name));
    let (key, url_name) = or_answer!(url_target(&state, &name, &query));
    if entry.settings.contains_key(&key) {
        return service_error(
            409,
            "ResourceConflictException",
            &format!(
                "Failed to create function url config for [functionArn = {}]. Error message:  FunctionUrlConfig exists for this Lambda function",
                function_arn(&state, &url_name)
            ),
        );
    }
    let request = or_answer!(body_object(&body));
    let config = or_answer!(url_config(&state, &url_name, &headers, None, &request));
    let stored = Value::Object(config.clone());
    if let Err(response) = change_settings(&state, &name, |settings| {
        settings.insert(key, stored);
    })
    .await
    {
        return response;
    }
    let mut answer = config;
    answer.remove("LastModifiedTime");
    (StatusCode::CREATED, axum::Json(Value::Object(answer))).into_response()
}

fn no_url(state: &AppState, name: &str) -> Response {
    service_error(
        404,
        "ResourceNotFoundException",
        &format!(
            "The resource you requested does not exist. (Function URL config for {})",
            function_arn(state, name)
        ),
    )
}

/// `GET /2021-10-31/functions/{name}/url`.
async fn get_url(
    State(state): State<Arc<AppState>>,
    Path(name): Path<String>,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    let name = parse_function_name(&name).0;
    if !state.functions.contains(&name) {
        return not_found(&state, &name);
    }
    let (key, url_name) = or_answer!(url_target(&state, &name, &query));
    match state
        .functions
        .setting(&name, &key)
        .as_ref()
        .and_then(Value::as_object)
    {
        Some(config) => {
            let mut config = config.clone();
            config.insert(
                "FunctionUrl".into(),
                json!(function_url(&headers, &url_name)),
            );
            axum::Json(Value::Object(config)).into_response()
        }
        None => no_url(&state, &url_name),
    }
}

/// `PUT /2021-10-31/functions/{name}/url`.
async fn update_url(
    State(state): State<Arc<AppState>>,
    Path(name): Path<String>,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let (name, entry) = or_answer!(api_function(&state, &name));
    let (key, url_name) = or_answer!(url_target(&state, &name, &query));
    let Some(current) = entry.settings.get(&key) else {
        return no_url(&state, &url_name);
    };
    let request = or_answer!(body_object(&body));
    let config = or_answer!(url_config(
        &state,
        &url_name,
        &headers,
        Some(current),
        &request
    ));
    let stored = Value::Object(config.clone());
    if let Err(response) = change_settings(&state, &name, |settings| {
        settings.insert(key, stored);
    })
    .await
    {
        return response;
    }
    axum::Json(Value::Object(config)).into_response()
}

/// `DELETE /2021-10-31/functions/{name}/url`.
async fn delete_url(
    State(state): State<Arc<AppState>>,
    Path(name): Path<String>,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    let (name, entry) = or_answer!(api_function(&state, &name));
    let (key, url_name) = or_answer!(url_target(&state, &name, &query));
    if !entry.settings.contains_key(&key) {
        return no_url(&state, &url_name);
    }
    remove_setting(&state, &name, &key).await
}
