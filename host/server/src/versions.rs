//! Versions and aliases: `PublishVersion`, `ListVersionsByFunction` and
//! the alias operations, and how a `Qualifier` picks the code that runs.
//!
//! A published version is an entry of its own in the registry, named
//! `NAME:N`, with a copy of `$LATEST`'s configuration (`Version: "N"`, the
//! qualified ARN) and the same code zip; it is loaded with `N` as its
//! version, so that its context, logs and `AWS_LAMBDA_FUNCTION_VERSION` say
//! so. Aliases live in the `$LATEST` entry. Both are kept in the store with
//! the function.

use std::sync::Arc;
use std::time::SystemTime;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::{Map, Value, json};

use super::AppState;
use super::lifecycle::activate;
use super::registry::Entry;
use super::reply::{
    body_object, conflict, function_arn, invalid, not_found, parse_function_name, persist,
    revision_id, service_error, timestamp,
};

pub(crate) fn routes() -> Router<Arc<AppState>> {
    Router::new()
        .route(
            "/2015-03-31/functions/{name}/versions",
            post(publish_version).get(list_versions),
        )
        .route(
            "/2015-03-31/functions/{name}/aliases",
            post(create_alias).get(list_aliases),
        )
        .route(
            "/2015-03-31/functions/{name}/aliases/{alias}",
            get(get_alias).put(update_alias).delete(delete_alias),
        )
}

/// The registry key of version `version` of `name`.
pub(crate) fn version_key(name: &str, version: &str) -> String {
    format!("{name}:{version}")
}

/// Whether `qualifier` names a published version (digits) rather than an
/// alias.
fn is_version(qualifier: &str) -> bool {
    !qualifier.is_empty() && qualifier.chars().all(|c| c.is_ascii_digit())
}

/// What a qualifier resolves to: the registry key of the code to run, and
/// the version that reports (`X-Amz-Executed-Version`).
pub(crate) struct Resolved {
    pub(crate) key: String,
    pub(crate) version: String,
}

/// Resolves `qualifier` of function `name` (`None` or `$LATEST`, a version,
/// an alias), or gives the 404 Lambda answers. An alias names its own
/// version; with `routing` (an invocation), a weighted alias picks one of
/// its two versions at random.
#[allow(clippy::result_large_err)]
pub(crate) fn resolve(
    state: &AppState,
    name: &str,
    qualifier: Option<&str>,
    routing: bool,
) -> Result<Resolved, Response> {
    let unknown = |qualifier: &str| not_found(state, &format!("{name}:{qualifier}"));
    if !state.functions.contains(name) {
        return Err(not_found(state, name));
    }
    let version = match qualifier {
        None | Some("$LATEST") => "$LATEST".to_string(),
        Some(version) if is_version(version) => version.to_string(),
        Some(alias) => {
            let Some(alias_configuration) = state.functions.alias(name, alias) else {
                return Err(unknown(alias));
            };
            pick(&alias_configuration, routing)
        }
    };
    if version == "$LATEST" {
        return Ok(Resolved {
            key: name.to_string(),
            version,
        });
    }
    let key = version_key(name, &version);
    if !state.functions.contains(&key) {
        return Err(unknown(qualifier.unwrap_or_default()));
    }
    Ok(Resolved { key, version })
}

/// The version an alias names: when `routing` an invocation, its
/// additional version with that version's weight, else its own.
fn pick(alias: &Map<String, Value>, routing: bool) -> String {
    let main = alias
        .get("FunctionVersion")
        .and_then(Value::as_str)
        .unwrap_or("$LATEST")
        .to_string();
    let weights = alias
        .get("RoutingConfig")
        .and_then(|routing| routing.get("AdditionalVersionWeights"))
        .and_then(Value::as_object);
    if routing
        && let Some((other, weight)) = weights.and_then(|weights| weights.iter().next())
        && uniform() < weight.as_f64().unwrap_or(0.0)
    {
        return other.clone();
    }
    main
}

/// A uniform number in [0, 1), from a v4 UUID's 48 low bits (all random).
fn uniform() -> f64 {
    let bits = uuid::Uuid::new_v4().as_u128() & ((1 << 48) - 1);
    bits as f64 / (1u64 << 48) as f64
}

/// The `$LATEST` entry of an API function, or the answer that refuses.
#[allow(clippy::result_large_err)]
fn api_function(state: &AppState, name: &str) -> Result<Entry, Response> {
    let Some(entry) = state.functions.get(name) else {
        return Err(not_found(state, name));
    };
    if !entry.made_by_api() {
        return Err(invalid(&format!(
            "Function {name} is deployed from the server's configuration file, which has no versions or aliases."
        )));
    }
    Ok(entry)
}

/// `POST /2015-03-31/functions/{name}/versions`: publishes `$LATEST` as
/// the next version, unless it did not change since the last one, whose
/// configuration is then the answer.
async fn publish_version(
    State(state): State<Arc<AppState>>,
    Path(name): Path<String>,
    body: Bytes,
) -> Response {
    let request = if body.is_empty() {
        Map::new()
    } else {
        match body_object(&body) {
            Ok(request) => request,
            Err(response) => return response,
        }
    };
    let name = parse_function_name(&name).0;
    let latest = match api_function(&state, &name) {
        Ok(entry) => entry,
        Err(response) => return response,
    };
    if latest.field("State") != Some("Active")
        || latest.field("LastUpdateStatus") != Some("Successful")
    {
        return conflict(&format!(
            "The operation cannot be performed at this time. An update is in progress for resource: {}",
            function_arn(&state, &name)
        ));
    }
    let precondition = |field: &str| {
        request
            .get(field)
            .and_then(Value::as_str)
            .is_some_and(|given| Some(given) != latest.field(field))
    };
    if precondition("RevisionId") || precondition("CodeSha256") {
        return service_error(
            412,
            "PreconditionFailedException",
            "The Revision Id or CodeSha256 provided does not match the latest ones. Call the GetFunction API to retrieve them.",
        );
    }
    if !latest.changed_since_publish
        && let Some(last) = latest.next_version.checked_sub(1).filter(|last| *last > 0)
        && let Some(published) = state.functions.get(&version_key(&name, &last.to_string()))
    {
        return (
            StatusCode::CREATED,
            axum::Json(Value::Object(published.configuration)),
        )
            .into_response();
    }
    let mut number = 0;
    let published = state.functions.update(&name, |entry| {
        entry.next_version = entry.next_version.max(1);
        number = entry.next_version;
        entry.next_version += 1;
        entry.changed_since_publish = false;
    });
    if published.is_none() {
        return not_found(&state, &name);
    }
    let version = number.to_string();
    let mut configuration = latest.configuration.clone();
    configuration.insert("Version".into(), json!(version));
    configuration.insert(
        "FunctionArn".into(),
        json!(format!("{}:{version}", function_arn(&state, &name))),
    );
    configuration.insert("LastModified".into(), json!(timestamp(SystemTime::now())));
    configuration.insert("RevisionId".into(), json!(revision_id()));
    if let Some(description) = request.get("Description").and_then(Value::as_str) {
        configuration.insert("Description".into(), json!(description));
    }
    configuration.insert("State".into(), json!("Pending"));
    configuration.insert("StateReasonCode".into(), json!("Creating"));
    configuration.insert(
        "StateReason".into(),
        json!("The function is being created."),
    );
    configuration.remove("LastUpdateStatus");
    let key = version_key(&name, &version);
    let entry = Entry {
        configuration: configuration.clone(),
        code: latest.code.clone(),
        ..Entry::default()
    };
    state.functions.insert_new(&key, entry);
    for stored in [&name, &key] {
        if let Err(response) = persist(&state, stored).await {
            return response;
        }
    }
    tokio::spawn(activate(state.clone(), key, 0));
    (
        StatusCode::CREATED,
        axum::Json(Value::Object(configuration)),
    )
        .into_response()
}

/// `GET /2015-03-31/functions/{name}/versions`: `$LATEST`, then every
/// published version in order.
async fn list_versions(State(state): State<Arc<AppState>>, Path(name): Path<String>) -> Response {
    let name = parse_function_name(&name).0;
    let Some(latest) = state.functions.get(&name) else {
        return not_found(&state, &name);
    };
    let mut versions = vec![Value::Object(latest.configuration)];
    versions.extend(
        state
            .functions
            .versions_of(&name)
            .into_iter()
            .map(|(_, entry)| Value::Object(entry.configuration)),
    );
    axum::Json(json!({ "Versions": versions })).into_response()
}

/// Checks an alias's version and routing against the published versions.
#[allow(clippy::result_large_err)]
fn check_alias(
    state: &AppState,
    name: &str,
    version: &str,
    routing: Option<&Value>,
) -> Result<(), Response> {
    let exists = |version: &str| {
        version == "$LATEST" || state.functions.contains(&version_key(name, version))
    };
    if !exists(version) {
        return Err(not_found(state, &format!("{name}:{version}")));
    }
    let Some(routing) = routing else {
        return Ok(());
    };
    let weights = routing
        .get("AdditionalVersionWeights")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    if weights.len() > 1 {
        return Err(invalid(
            "Number of items in AdditionalVersionWeights cannot be greater than 1",
        ));
    }
    for (other, weight) in &weights {
        let weight = weight.as_f64().unwrap_or(-1.0);
        if !(0.0..1.0).contains(&weight) {
            return Err(invalid(&format!(
                "Invalid weight {weight} for version {other}: it must be at least 0 and less than 1."
            )));
        }
        if other == version || !is_version(other) || !exists(other) {
            return Err(invalid(&format!(
                "Invalid function version {other} in AdditionalVersionWeights: a published version other than the alias's own."
            )));
        }
    }
    Ok(())
}

fn alias_arn(state: &AppState, name: &str, alias: &str) -> String {
    format!("{}:{alias}", function_arn(state, name))
}

/// `POST /2015-03-31/functions/{name}/aliases`.
async fn create_alias(
    State(state): State<Arc<AppState>>,
    Path(name): Path<String>,
    body: Bytes,
) -> Response {
    let request = or_answer!(body_object(&body));
    let name = parse_function_name(&name).0;
    let latest = or_answer!(api_function(&state, &name));
    let alias = request
        .get("Name")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    let valid = !alias.is_empty()
        && alias.len() <= 128
        && !is_version(&alias)
        && alias != "$LATEST"
        && alias
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if !valid {
        return invalid(&format!("Invalid alias name {alias:?}."));
    }
    if latest.aliases.contains_key(&alias) {
        return conflict(&format!(
            "Alias already exists: {}",
            alias_arn(&state, &name, &alias)
        ));
    }
    let version = request
        .get("FunctionVersion")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    if let Err(response) = check_alias(&state, &name, &version, request.get("RoutingConfig")) {
        return response;
    }
    let mut configuration = Map::new();
    configuration.insert("AliasArn".into(), json!(alias_arn(&state, &name, &alias)));
    configuration.insert("Name".into(), json!(alias));
    configuration.insert("FunctionVersion".into(), json!(version));
    configuration.insert(
        "Description".into(),
        request
            .get("Description")
            .cloned()
            .unwrap_or_else(|| json!("")),
    );
    if let Some(routing) = request.get("RoutingConfig") {
        configuration.insert("RoutingConfig".into(), routing.clone());
    }
    configuration.insert("RevisionId".into(), json!(revision_id()));
    let mut added = false;
    state.functions.update(&name, |entry| {
        added = !entry.aliases.contains_key(&alias);
        if added {
            entry.aliases.insert(alias.clone(), configuration.clone());
        }
    });
    if !added {
        return conflict(&format!(
            "Alias already exists: {}",
            alias_arn(&state, &name, &alias)
        ));
    }
    if let Err(response) = persist(&state, &name).await {
        return response;
    }
    (
        StatusCode::CREATED,
        axum::Json(Value::Object(configuration)),
    )
        .into_response()
}

/// `GET /2015-03-31/functions/{name}/aliases`.
async fn list_aliases(State(state): State<Arc<AppState>>, Path(name): Path<String>) -> Response {
    let name = parse_function_name(&name).0;
    let Some(latest) = state.functions.get(&name) else {
        return not_found(&state, &name);
    };
    let aliases: Vec<Value> = latest.aliases.into_values().map(Value::Object).collect();
    axum::Json(json!({ "Aliases": aliases })).into_response()
}

/// The alias `alias` of `name`, or the 404 Lambda answers.
#[allow(clippy::result_large_err)]
fn find_alias(state: &AppState, name: &str, alias: &str) -> Result<Map<String, Value>, Response> {
    let Some(latest) = state.functions.get(name) else {
        return Err(not_found(state, name));
    };
    latest.aliases.get(alias).cloned().ok_or_else(|| {
        service_error(
            404,
            "ResourceNotFoundException",
            &format!("Alias not found: {}", alias_arn(state, name, alias)),
        )
    })
}

/// `GET /2015-03-31/functions/{name}/aliases/{alias}`.
async fn get_alias(
    State(state): State<Arc<AppState>>,
    Path((name, alias)): Path<(String, String)>,
) -> Response {
    let name = parse_function_name(&name).0;
    match find_alias(&state, &name, &alias) {
        Ok(configuration) => axum::Json(Value::Object(configuration)).into_response(),
        Err(response) => response,
    }
}

/// `PUT /2015-03-31/functions/{name}/aliases/{alias}`.
async fn update_alias(
    State(state): State<Arc<AppState>>,
    Path((name, alias)): Path<(String, String)>,
    body: Bytes,
) -> Response {
    let request = or_answer!(body_object(&body));
    let name = parse_function_name(&name).0;
    let mut configuration = or_answer!(find_alias(&state, &name, &alias));
    if let Some(revision) = request.get("RevisionId").and_then(Value::as_str)
        && Some(revision) != configuration.get("RevisionId").and_then(Value::as_str)
    {
        return service_error(
            412,
            "PreconditionFailedException",
            "The Revision Id provided does not match the latest Revision Id. Call the GetFunction/GetAlias API to retrieve the latest Revision Id",
        );
    }
    for key in ["FunctionVersion", "Description", "RoutingConfig"] {
        if let Some(value) = request.get(key) {
            configuration.insert(key.into(), value.clone());
        }
    }
    let version = configuration
        .get("FunctionVersion")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    if let Err(response) = check_alias(&state, &name, &version, configuration.get("RoutingConfig"))
    {
        return response;
    }
    configuration.insert("RevisionId".into(), json!(revision_id()));
    state.functions.update(&name, |entry| {
        entry.aliases.insert(alias.clone(), configuration.clone());
    });
    if let Err(response) = persist(&state, &name).await {
        return response;
    }
    axum::Json(Value::Object(configuration)).into_response()
}

/// `DELETE /2015-03-31/functions/{name}/aliases/{alias}`.
async fn delete_alias(
    State(state): State<Arc<AppState>>,
    Path((name, alias)): Path<(String, String)>,
) -> Response {
    let name = parse_function_name(&name).0;
    if let Err(response) = find_alias(&state, &name, &alias) {
        return response;
    }
    // Its function URL goes with it, as on Lambda.
    state.functions.update(&name, |entry| {
        entry.aliases.remove(&alias);
        entry
            .settings
            .remove(&super::function_settings::alias_url_key(&alias));
    });
    if let Err(response) = persist(&state, &name).await {
        return response;
    }
    StatusCode::NO_CONTENT.into_response()
}

/// Whether an alias of `name` routes to `version`: such a version cannot
/// be deleted.
pub(crate) fn in_use_by_alias(latest: &Entry, version: &str) -> Option<String> {
    latest.aliases.iter().find_map(|(alias, configuration)| {
        let main = configuration.get("FunctionVersion").and_then(Value::as_str) == Some(version);
        let weighted = configuration
            .get("RoutingConfig")
            .and_then(|routing| routing.get("AdditionalVersionWeights"))
            .and_then(Value::as_object)
            .is_some_and(|weights| weights.contains_key(version));
        (main || weighted).then(|| alias.clone())
    })
}
