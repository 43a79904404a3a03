//! Lambda's control-plane API: the function operations the AWS CLI, boto3
//! and Terraform call (`CreateFunction`, `GetFunction`,
//! `GetFunctionConfiguration`, `ListFunctions`, `UpdateFunctionCode`,
//! `UpdateFunctionConfiguration`, `DeleteFunction`) and the reads their
//! tools make around them (`ListVersionsByFunction`,
//! `GetFunctionCodeSigningConfig`, tags, `GetAccountSettings`), with
//! botocore's routes and JSON shapes.
//!
//! A function is created `Pending` and becomes `Active` (or `Failed`, with
//! Lambda's `StateReasonCode`) once its component is loaded, off the
//! request path; an update is `InProgress` until the new code is loaded,
//! and the old code serves meanwhile. What the API holds is kept in the
//! server's store (`registry.rs`).

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::SystemTime;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use serde_json::{Map, Value, json};
use sha2::{Digest as _, Sha256};

use super::code_source::zip_of;
use super::lifecycle::activate;
use super::registry::{Entry, MAX_ZIP_BYTES, Registry, ZipError};
use super::reply::{
    body_object, conflict, function_arn, invalid, not_found, parse_function_name, persist,
    revision_id, service_error, timestamp, validation,
};
use super::{AppState, Deployed, base64_encode};

/// Lambda's limit on a control-plane request body (a base64 zip in JSON).
pub(crate) const MAX_CONTROL_REQUEST_BYTES: usize = 70_167_211;

/// Where `Code.Location` points: the function's zip, as uploaded.
const CODE_PATH: &str = "/wasm-lambda/code/{file}";

pub(crate) fn routes() -> Router<Arc<AppState>> {
    let large = || DefaultBodyLimit::max(MAX_CONTROL_REQUEST_BYTES);
    Router::new()
        .route(
            "/2015-03-31/functions",
            post(create_function).layer(large()).get(list_functions),
        )
        .route("/2015-03-31/functions/", get(list_functions))
        .route(
            "/2015-03-31/functions/{name}",
            get(get_function).delete(delete_function),
        )
        .route(
            "/2015-03-31/functions/{name}/configuration",
            get(get_configuration).put(update_configuration),
        )
        .route(
            "/2015-03-31/functions/{name}/code",
            put(update_code).layer(large()),
        )
        .route(
            "/2020-06-30/functions/{name}/code-signing-config",
            get(code_signing_config),
        )
        .route(
            "/2017-03-31/tags/{arn}",
            get(list_tags).post(tag_resource).delete(untag_resource),
        )
        .route("/2016-08-19/account-settings", get(account_settings))
        .route("/2016-08-19/account-settings/", get(account_settings))
        .route(CODE_PATH, get(code_zip))
}

/// The configuration object every function has, whatever made it.
pub(crate) fn base_configuration(
    region: &str,
    name: &str,
    runtime: &str,
    handler: &str,
) -> Map<String, Value> {
    let mut configuration = Map::new();
    let mut set = |key: &str, value: Value| {
        configuration.insert(key.to_string(), value);
    };
    set("FunctionName", json!(name));
    set(
        "FunctionArn",
        json!(format!(
            "arn:aws:lambda:{region}:000000000000:function:{name}"
        )),
    );
    set("Runtime", json!(runtime));
    set("Role", json!("arn:aws:iam::000000000000:role/wasm-lambda"));
    set("Handler", json!(handler));
    set("CodeSize", json!(0));
    set("Description", json!(""));
    set("Timeout", json!(3));
    set("MemorySize", json!(128));
    set("LastModified", json!(timestamp(SystemTime::now())));
    set("CodeSha256", json!(""));
    set("Version", json!("$LATEST"));
    set("Environment", json!({ "Variables": {} }));
    set("TracingConfig", json!({ "Mode": "PassThrough" }));
    set("RevisionId", json!(revision_id()));
    set("State", json!("Active"));
    set("LastUpdateStatus", json!("Successful"));
    set("PackageType", json!("Zip"));
    set("Architectures", json!(["x86_64"]));
    set("EphemeralStorage", json!({ "Size": 512 }));
    set(
        "SnapStart",
        json!({ "ApplyOn": "None", "OptimizationStatus": "Off" }),
    );
    set(
        "RuntimeVersionConfig",
        json!({ "RuntimeVersionArn": runtime_version_arn(region, runtime) }),
    );
    set(
        "LoggingConfig",
        json!({ "LogFormat": "Text", "LogGroup": format!("/aws/lambda/{name}") }),
    );
    configuration
}

/// A stable runtime version ARN per runtime, as Lambda gives one.
fn runtime_version_arn(region: &str, runtime: &str) -> String {
    let hex = hex(&Sha256::digest(runtime.as_bytes()));
    format!("arn:aws:lambda:{region}::runtime:{hex}")
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}

/// The entry of a function from the configuration file: what its
/// component and settings would show on Lambda.
pub(crate) fn file_entry(
    region: &str,
    spec: &crate::FunctionSpec,
    function: wasm_lambda_core::Function,
    extensions: Option<Arc<crate::extensions::Extensions>>,
) -> anyhow::Result<Entry> {
    let config = function.config();
    let mut configuration = base_configuration(
        region,
        &spec.name,
        "provided.al2023",
        &config.handler_name(),
    );
    configuration.extend(component_fields(&spec.component)?);
    let mut set = |key: &str, value: Value| {
        configuration.insert(key.to_string(), value);
    };
    set(
        "Description",
        json!(format!(
            "wasm-lambda component {}",
            spec.component.display()
        )),
    );
    set("Timeout", json!(config.timeout.as_secs_f64().ceil() as u64));
    set("MemorySize", json!(config.memory_mb));
    set("Version", json!(config.version));
    set("Environment", json!({ "Variables": config.environment }));
    set(
        "EphemeralStorage",
        json!({ "Size": config.ephemeral_storage_mb }),
    );
    let logging = &config.logging;
    let mut logging_config = json!({
        "LogFormat": logging.format.to_string(),
        "LogGroup": config.log_group_name(),
    });
    if logging.is_json() {
        logging_config["ApplicationLogLevel"] = json!(logging.application_level.name());
        logging_config["SystemLogLevel"] = json!(logging.system_level.name());
    }
    set("LoggingConfig", logging_config);
    let reserved = spec.server.reserved_concurrency;
    let deployed = Deployed {
        function,
        concurrency: reserved.map(|limit| Arc::new(tokio::sync::Semaphore::new(limit as usize))),
        reserved,
        async_settings: spec.async_settings()?,
        url_needs_signature: spec.url_needs_signature()?,
        url_streams: spec.url_streams()?,
        recursion_allowed: spec.recursion_allowed()?,
        extensions,
    };
    Ok(Entry {
        configuration,
        live: Some(Arc::new(deployed)),
        ..Entry::default()
    })
}

/// What a configuration-file function's component shows as its code:
/// `CodeSize`, `CodeSha256` (of the component file) and `LastModified`
/// (the file's modification time).
pub(crate) fn component_fields(component: &std::path::Path) -> anyhow::Result<Map<String, Value>> {
    use anyhow::Context as _;
    let bytes = std::fs::read(component)
        .with_context(|| format!("failed to read {}", component.display()))?;
    let modified = std::fs::metadata(component)
        .and_then(|metadata| metadata.modified())
        .unwrap_or_else(|_| SystemTime::now());
    let mut fields = Map::new();
    fields.insert("CodeSize".into(), json!(bytes.len()));
    fields.insert(
        "CodeSha256".into(),
        json!(base64_encode(&Sha256::digest(&bytes))),
    );
    fields.insert("LastModified".into(), json!(timestamp(modified)));
    Ok(fields)
}

/// Checks a `Role` as Lambda's model does.
fn valid_role(role: &str) -> bool {
    let Some(rest) = role.strip_prefix("arn:") else {
        return false;
    };
    let Some((partition, rest)) = rest.split_once(":iam::") else {
        return false;
    };
    let partition_ok = partition.is_empty()
        || (partition.starts_with("aws")
            && partition
                .chars()
                .all(|c| c.is_ascii_alphabetic() || c == '-'));
    let Some((account, path)) = rest.split_once(":role") else {
        return false;
    };
    let path = path.strip_prefix('/').unwrap_or(path);
    partition_ok
        && account.len() == 12
        && account.chars().all(|c| c.is_ascii_digit())
        && !path.is_empty()
        && path
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "+=,.@-_/".contains(c))
}

const ROLE_PATTERN: &str = r"arn:(aws[a-zA-Z-]*)?:iam::\d{12}:role/?[a-zA-Z_0-9+=,.@\-_/]+";

fn valid_name(name: &str) -> bool {
    (1..=64).contains(&name.len())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

/// The `LoggingConfig` after a request's: its fields over the current
/// ones, checked as Lambda checks them. Choosing JSON sets both levels to
/// INFO unless the request gives them; going back to Text removes them, and
/// a level with Text is refused.
#[allow(clippy::result_large_err)]
fn logging_config(
    mut current: Map<String, Value>,
    request: &Map<String, Value>,
) -> Result<Map<String, Value>, Response> {
    const LEVELS: [&str; 2] = ["ApplicationLogLevel", "SystemLogLevel"];
    let text_of = |key: &str| {
        request
            .get(key)
            .map(|value| value.as_str().unwrap_or_default())
    };
    if let Some(format) = text_of("LogFormat") {
        if !["JSON", "Text"].contains(&format) {
            return Err(validation(
                &format,
                "loggingConfig.logFormat",
                "Member must satisfy enum value set: [JSON, Text]",
            ));
        }
        if format == "Text" && current.get("LogFormat").and_then(Value::as_str) == Some("JSON") {
            for key in LEVELS {
                current.remove(key);
            }
        }
        current.insert("LogFormat".into(), json!(format));
    }
    for (key, field, allowed) in [
        (
            "ApplicationLogLevel",
            "applicationLogLevel",
            &["TRACE", "DEBUG", "INFO", "WARN", "ERROR", "FATAL"][..],
        ),
        (
            "SystemLogLevel",
            "systemLogLevel",
            &["DEBUG", "INFO", "WARN"][..],
        ),
    ] {
        let Some(level) = text_of(key) else { continue };
        if !allowed.contains(&level) {
            return Err(validation(
                &level,
                &format!("loggingConfig.{field}"),
                &format!(
                    "Member must satisfy enum value set: [{}]",
                    allowed.join(", ")
                ),
            ));
        }
        current.insert(key.into(), json!(level));
    }
    let json_format = current.get("LogFormat").and_then(Value::as_str) == Some("JSON");
    if !json_format && LEVELS.iter().any(|key| current.contains_key(*key)) {
        return Err(invalid(
            "LogLevel is not supported when LogFormat is set to \"Text\". Remove LogLevel from \
             your request or change the LogFormat to \"JSON\" and try again.",
        ));
    }
    if json_format {
        for key in LEVELS {
            current.entry(key).or_insert_with(|| json!("INFO"));
        }
    }
    if let Some(group) = text_of("LogGroup") {
        current.insert("LogGroup".into(), json!(group));
    }
    Ok(current)
}

/// Applies the settable fields of a Create or UpdateFunctionConfiguration
/// request to `configuration`, refusing values Lambda refuses.
#[allow(clippy::result_large_err)]
fn apply_settings(
    region: &str,
    request: &Map<String, Value>,
    configuration: &mut Map<String, Value>,
) -> Result<(), Response> {
    if let Some(role) = request.get("Role") {
        let role = role.as_str().unwrap_or_default();
        if !valid_role(role) {
            return Err(validation(
                &role,
                "role",
                &format!("Member must satisfy regular expression pattern: {ROLE_PATTERN}"),
            ));
        }
        configuration.insert("Role".into(), json!(role));
    }
    for (key, field, range) in [
        ("Timeout", "timeout", 1..=900),
        ("MemorySize", "memorySize", 128..=10_240),
    ] {
        if let Some(value) = request.get(key) {
            let number = value.as_i64().unwrap_or(-1);
            if !range.contains(&number) {
                let bound = if number < *range.start() {
                    format!("greater than or equal to {}", range.start())
                } else {
                    format!("less than or equal to {}", range.end())
                };
                return Err(validation(
                    value,
                    field,
                    &format!("Member must have value {bound}"),
                ));
            }
            configuration.insert(key.into(), json!(number));
        }
    }
    if let Some(storage) = request.get("EphemeralStorage") {
        let size = storage.get("Size").and_then(Value::as_i64).unwrap_or(-1);
        if !(512..=10_240).contains(&size) {
            return Err(validation(
                &size,
                "ephemeralStorage.size",
                "Member must have value between 512 and 10240",
            ));
        }
        configuration.insert("EphemeralStorage".into(), json!({ "Size": size }));
    }
    for key in ["Handler", "Description", "Runtime"] {
        if let Some(value) = request.get(key) {
            let Some(text) = value.as_str() else {
                return Err(invalid(&format!("{key} must be a string.")));
            };
            configuration.insert(key.into(), json!(text));
        }
    }
    if let Some(environment) = request.get("Environment") {
        let variables = environment
            .get("Variables")
            .cloned()
            .unwrap_or_else(|| json!({}));
        let Some(variables) = variables.as_object() else {
            return Err(invalid("Environment.Variables must be a map of strings."));
        };
        if variables.values().any(|value| !value.is_string()) {
            return Err(invalid("Environment.Variables must be a map of strings."));
        }
        let environment: BTreeMap<String, String> = variables
            .iter()
            .map(|(key, value)| (key.clone(), value.as_str().unwrap_or_default().into()))
            .collect();
        if let Err(message) = wasm_lambda_core::validate_environment(&environment) {
            return Err(invalid(&message));
        }
        configuration.insert("Environment".into(), json!({ "Variables": variables }));
    }
    if let Some(tracing) = request.get("TracingConfig") {
        let mode = tracing
            .get("Mode")
            .and_then(Value::as_str)
            .unwrap_or("PassThrough");
        if !["Active", "PassThrough"].contains(&mode) {
            return Err(validation(
                &mode,
                "tracingConfig.mode",
                "Member must satisfy enum value set: [Active, PassThrough]",
            ));
        }
        configuration.insert("TracingConfig".into(), json!({ "Mode": mode }));
    }
    if let Some(logging) = request.get("LoggingConfig").and_then(Value::as_object) {
        let current = configuration
            .get("LoggingConfig")
            .and_then(Value::as_object)
            .cloned()
            .unwrap_or_default();
        configuration.insert(
            "LoggingConfig".into(),
            Value::Object(logging_config(current, logging)?),
        );
    }
    if let Some(architectures) = request.get("Architectures") {
        let valid = architectures.as_array().is_some_and(|list| {
            list.len() == 1 && ["x86_64", "arm64"].contains(&list[0].as_str().unwrap_or_default())
        });
        if !valid {
            return Err(validation(
                architectures,
                "architectures",
                "Member must have length less than or equal to 1",
            ));
        }
        configuration.insert("Architectures".into(), architectures.clone());
    }
    if let Some(runtime) = request.get("Runtime").and_then(Value::as_str) {
        // Other runtimes of Lambda's list are taken and end `Failed` with
        // `InvalidRuntime`, as a function Lambda cannot run would.
        if runtime.is_empty()
            || !runtime
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '.')
        {
            return Err(validation(
                &runtime,
                "runtime",
                "Member must satisfy enum value set",
            ));
        }
        configuration.insert(
            "RuntimeVersionConfig".into(),
            json!({ "RuntimeVersionArn": runtime_version_arn(region, runtime) }),
        );
    }
    Ok(())
}

/// Keeps `zip` in the code store; gives its SHA-256 as hex and as base64.
async fn store_zip(state: &Arc<AppState>, zip: Vec<u8>) -> Result<(String, String), Response> {
    let digest = Sha256::digest(&zip);
    let hex = hex(&digest);
    let sha = hex.clone();
    let registry = state.clone();
    let zip = Arc::new(zip);
    let shared_zip = zip.clone();
    let stored = tokio::task::spawn_blocking(move || registry.functions.store_code(&zip, &sha))
        .await
        .map_err(|error| service_error(500, "ServiceException", &error.to_string()))?;
    if let (Ok(()), Some(cluster)) = (&stored, &state.nats) {
        // Before any entry names it, so that another server that reads the
        // entry finds the code.
        cluster
            .share_code(&hex, &shared_zip)
            .await
            .map_err(|error| service_error(503, "ServiceException", &format!("{error:#}")))?;
    }
    match stored {
        Ok(()) => Ok((hex, base64_encode(&digest))),
        Err(ZipError::Unzip) => Err(invalid(
            "Could not unzip uploaded file. Please check your file, then try to upload again.",
        )),
        Err(ZipError::Escapes(entry)) => Err(invalid(&format!(
            "Could not unzip uploaded file: the entry {entry:?} would be outside the function's folder (an absolute path, .. or a symbolic link)."
        ))),
        Err(ZipError::Io(error)) => Err(service_error(
            500,
            "ServiceException",
            &format!("failed to keep the uploaded code: {error}"),
        )),
    }
}

/// `POST /2015-03-31/functions`.
async fn create_function(State(state): State<Arc<AppState>>, body: Bytes) -> Response {
    let request = or_answer!(body_object(&body));
    let name = request
        .get("FunctionName")
        .and_then(Value::as_str)
        .map(|text| parse_function_name(text).0)
        .unwrap_or_default();
    if !valid_name(&name) {
        return validation(
            &name,
            "functionName",
            "Member must satisfy regular expression pattern: [a-zA-Z0-9-_]+",
        );
    }
    for required in ["Role", "Code", "Runtime", "Handler"] {
        if !request.contains_key(required) {
            return invalid(&format!("{required} is required for a Zip function."));
        }
    }
    if request.get("PackageType").and_then(Value::as_str) == Some("Image") {
        return invalid("This server deploys Zip functions only.");
    }
    let mut configuration = base_configuration(&state.region, &name, "", "");
    if let Err(response) = apply_settings(&state.region, &request, &mut configuration) {
        return response;
    }
    if state.functions.contains(&name) {
        return conflict(&format!("Function already exist: {name}"));
    }
    let code = request
        .get("Code")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    let zip = or_answer!(zip_of(&state.region, state.s3_endpoint.as_deref(), &code).await);
    let size = zip.len();
    let (hex, sha256) = or_answer!(store_zip(&state, zip).await);
    configuration.insert("CodeSize".into(), json!(size));
    configuration.insert("CodeSha256".into(), json!(sha256));
    configuration.insert("State".into(), json!("Pending"));
    configuration.insert(
        "StateReason".into(),
        json!("The function is being created."),
    );
    configuration.insert("StateReasonCode".into(), json!("Creating"));
    configuration.remove("LastUpdateStatus");
    let tags = request
        .get("Tags")
        .and_then(Value::as_object)
        .map(|tags| {
            tags.iter()
                .map(|(key, value)| (key.clone(), value.as_str().unwrap_or_default().into()))
                .collect()
        })
        .unwrap_or_default();
    let entry = Entry {
        configuration: configuration.clone(),
        tags,
        code: Some(hex.clone()),
        changed_since_publish: true,
        ..Entry::default()
    };
    if !state.functions.insert_new(&name, entry) {
        state.functions.forget_code(&hex);
        return conflict(&format!("Function already exist: {name}"));
    }
    if let Err(response) = persist(&state, &name).await {
        state.functions.remove(&name);
        state.functions.forget_code(&hex);
        return response;
    }
    tokio::spawn(activate(state.clone(), name, 0));
    (
        StatusCode::CREATED,
        axum::Json(Value::Object(configuration)),
    )
        .into_response()
}

/// An API function that may be changed now, or the answer that refuses it.
#[allow(clippy::result_large_err)]
fn changeable(
    state: &AppState,
    name: &str,
    request: &Map<String, Value>,
) -> Result<Entry, Response> {
    let Some(entry) = state.functions.get(name) else {
        return Err(not_found(state, name));
    };
    if !entry.made_by_api() {
        return Err(invalid(&format!(
            "Function {name} is deployed from the server's configuration file; change it there and restart the server."
        )));
    }
    if entry.field("State") == Some("Pending")
        || entry.field("LastUpdateStatus") == Some("InProgress")
    {
        return Err(conflict(&format!(
            "The operation cannot be performed at this time. An update is in progress for resource: {}",
            function_arn(state, name)
        )));
    }
    if let Some(revision) = request.get("RevisionId").and_then(Value::as_str)
        && Some(revision) != entry.field("RevisionId")
    {
        return Err(service_error(
            412,
            "PreconditionFailedException",
            "The Revision Id provided does not match the latest Revision Id. Call the GetFunction/GetAlias API to retrieve the latest Revision Id",
        ));
    }
    Ok(entry)
}

/// Starts an update of `name` to `configuration` (and `code`): in progress
/// until the new code is loaded.
async fn start_update(
    state: &Arc<AppState>,
    name: &str,
    seen: &Entry,
    mut configuration: Map<String, Value>,
    code: Option<String>,
) -> Response {
    configuration.insert("LastModified".into(), json!(timestamp(SystemTime::now())));
    configuration.insert("RevisionId".into(), json!(revision_id()));
    configuration.insert("LastUpdateStatus".into(), json!("InProgress"));
    configuration.insert(
        "LastUpdateStatusReason".into(),
        json!("The function is being created."),
    );
    configuration.insert("LastUpdateStatusReasonCode".into(), json!("Creating"));
    let mut generation = None;
    let seen = seen.configuration.get("RevisionId");
    let updated = state.functions.update(name, |entry| {
        // Another change since `changeable` looked: this one lost the race.
        if entry.configuration.get("RevisionId") != seen {
            return;
        }
        entry.generation += 1;
        entry.changed_since_publish = true;
        generation = Some(entry.generation);
        entry.configuration = configuration.clone();
        if let Some(code) = code {
            entry.code = Some(code);
        }
    });
    if updated.is_none() {
        return not_found(state, name);
    }
    let Some(generation) = generation else {
        return conflict(&format!(
            "The operation cannot be performed at this time. An update is in progress for resource: {}",
            function_arn(state, name)
        ));
    };
    if let Err(response) = persist(state, name).await {
        return response;
    }
    tokio::spawn(activate(state.clone(), name.to_string(), generation));
    axum::Json(Value::Object(configuration)).into_response()
}

/// `PUT /2015-03-31/functions/{name}/code`.
async fn update_code(
    State(state): State<Arc<AppState>>,
    Path(name): Path<String>,
    body: Bytes,
) -> Response {
    let request = or_answer!(body_object(&body));
    let name = parse_function_name(&name).0;
    let entry = or_answer!(changeable(&state, &name, &request));
    let zip = or_answer!(zip_of(&state.region, state.s3_endpoint.as_deref(), &request).await);
    let size = zip.len();
    let (hex, sha256) = or_answer!(store_zip(&state, zip).await);
    let mut configuration = entry.configuration.clone();
    configuration.insert("CodeSize".into(), json!(size));
    configuration.insert("CodeSha256".into(), json!(sha256));
    if let Some(architectures) = request.get("Architectures") {
        configuration.insert("Architectures".into(), architectures.clone());
    }
    start_update(&state, &name, &entry, configuration, Some(hex)).await
}

/// `PUT /2015-03-31/functions/{name}/configuration`.
async fn update_configuration(
    State(state): State<Arc<AppState>>,
    Path(name): Path<String>,
    body: Bytes,
) -> Response {
    let request = or_answer!(body_object(&body));
    let name = parse_function_name(&name).0;
    let entry = or_answer!(changeable(&state, &name, &request));
    let mut configuration = entry.configuration.clone();
    if let Err(response) = apply_settings(&state.region, &request, &mut configuration) {
        return response;
    }
    start_update(&state, &name, &entry, configuration, None).await
}

/// `DELETE /2015-03-31/functions/{name}`: the function with its versions
/// and code, or (`Qualifier`) one published version.
async fn delete_function(
    State(state): State<Arc<AppState>>,
    Path(name): Path<String>,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    let (name, arn_qualifier) = parse_function_name(&name);
    let Some(entry) = state.functions.get(&name) else {
        return not_found(&state, &name);
    };
    let mut keys = vec![name.clone()];
    if let Some(qualifier) = query.get("Qualifier").or(arn_qualifier.as_ref()) {
        if qualifier == "$LATEST" {
            return invalid("$LATEST version cannot be deleted without deleting the function.");
        }
        let key = super::versions::version_key(&name, qualifier);
        if !state.functions.contains(&key) {
            return not_found(&state, &format!("{name}:{qualifier}"));
        }
        if let Some(alias) = super::versions::in_use_by_alias(&entry, qualifier) {
            return conflict(&format!(
                "Unable to delete version because the following aliases reference it: [{alias}]"
            ));
        }
        keys = vec![key];
    } else {
        keys.extend(
            state
                .functions
                .versions_of(&name)
                .into_iter()
                .map(|(number, _)| super::versions::version_key(&name, &number.to_string())),
        );
    }
    if !entry.made_by_api() {
        return invalid(&format!(
            "Function {name} is deployed from the server's configuration file; remove it there and restart the server."
        ));
    }
    let task_state = state.clone();
    let task_keys = keys.clone();
    let removed = tokio::task::spawn_blocking(move || {
        task_keys
            .iter()
            .try_for_each(|key| Registry::unpersist(&task_state.store, key))
    })
    .await;
    if !matches!(removed, Ok(Ok(()))) {
        return service_error(
            500,
            "ServiceException",
            "failed to delete the stored function",
        );
    }
    for key in keys {
        state.functions.remove_with_code(&key);
        if let Err(response) = super::reply::share(&state, &key).await {
            return response;
        }
    }
    StatusCode::NO_CONTENT.into_response()
}

/// Finds `name` (a name or an ARN) and its qualifier: `$LATEST`, a
/// published version, or an alias (its version's entry).
#[allow(clippy::result_large_err)]
fn entry_named(
    state: &AppState,
    name: &str,
    query: &HashMap<String, String>,
) -> Result<(String, Entry), Response> {
    let (name, arn_qualifier) = parse_function_name(name);
    let qualifier = query.get("Qualifier").or(arn_qualifier.as_ref());
    let resolved = super::versions::resolve(state, &name, qualifier.map(String::as_str), false)?;
    match state.functions.get(&resolved.key) {
        Some(entry) => Ok((name, entry)),
        None => Err(not_found(state, &name)),
    }
}

/// `GET /2015-03-31/functions/{name}/configuration`.
async fn get_configuration(
    State(state): State<Arc<AppState>>,
    Path(name): Path<String>,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    match entry_named(&state, &name, &query) {
        Ok((_, entry)) => axum::Json(Value::Object(entry.configuration)).into_response(),
        Err(response) => response,
    }
}

/// `GET /2015-03-31/functions/{name}`: the configuration, where the code
/// can be fetched, the tags and the reserved concurrency.
async fn get_function(
    State(state): State<Arc<AppState>>,
    Path(name): Path<String>,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    let (_, entry) = or_answer!(entry_named(&state, &name, &query));
    let location = match &entry.code {
        Some(sha) => {
            let authority = headers
                .get("host")
                .and_then(|value| value.to_str().ok())
                .unwrap_or("127.0.0.1");
            format!(
                "http://{authority}{}",
                CODE_PATH.replace("{file}", &format!("{sha}.zip"))
            )
        }
        None => entry
            .live
            .as_ref()
            .map(|deployed| format!("file://{}", deployed.function.config().component.display()))
            .unwrap_or_default(),
    };
    let mut answer = json!({
        "Configuration": entry.configuration,
        "Code": { "RepositoryType": "S3", "Location": location },
    });
    if !entry.tags.is_empty() {
        answer["Tags"] = json!(entry.tags);
    }
    if let Some(limit) = entry.live.as_ref().and_then(|deployed| deployed.reserved) {
        answer["Concurrency"] = json!({ "ReservedConcurrentExecutions": limit });
    }
    axum::Json(answer).into_response()
}

/// `GET /wasm-lambda/code/<sha>.zip`: an uploaded zip, byte for byte.
async fn code_zip(State(state): State<Arc<AppState>>, Path(file): Path<String>) -> Response {
    let Some(sha) = file.strip_suffix(".zip") else {
        return StatusCode::NOT_FOUND.into_response();
    };
    if sha.len() != 64 || !sha.chars().all(|c| c.is_ascii_hexdigit()) {
        return StatusCode::NOT_FOUND.into_response();
    }
    let path = state.functions.zip_path(sha);
    match tokio::task::spawn_blocking(move || std::fs::read(path)).await {
        Ok(Ok(bytes)) => ([("content-type", "application/zip")], bytes).into_response(),
        _ => StatusCode::NOT_FOUND.into_response(),
    }
}

/// `GET /2015-03-31/functions` (`Marker`, `MaxItems`): every function's
/// configuration, in name order, 50 at most per page.
async fn list_functions(
    State(state): State<Arc<AppState>>,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    let most = match query.get("MaxItems").map(|text| text.parse::<usize>()) {
        None => 50,
        Some(Ok(most)) if (1..=10_000).contains(&most) => most.min(50),
        Some(_) => {
            return validation(
                &query["MaxItems"],
                "maxItems",
                "Member must have value between 1 and 10000",
            );
        }
    };
    let marker = query.get("Marker");
    let entries: Vec<(String, Entry)> = state
        .functions
        .entries()
        .into_iter()
        .filter(|(name, _)| marker.is_none_or(|marker| name > marker))
        .collect();
    let page: Vec<Value> = entries
        .iter()
        .take(most)
        .map(|(_, entry)| Value::Object(entry.configuration.clone()))
        .collect();
    let mut answer = json!({ "Functions": page });
    if entries.len() > most {
        answer["NextMarker"] = json!(entries[most - 1].0);
    }
    axum::Json(answer).into_response()
}

/// `GET /2020-06-30/functions/{name}/code-signing-config`: none.
async fn code_signing_config(
    State(state): State<Arc<AppState>>,
    Path(name): Path<String>,
) -> Response {
    match entry_named(&state, &name, &HashMap::new()) {
        Ok(_) => axum::Json(json!({})).into_response(),
        Err(response) => response,
    }
}

/// The function a tag operation's ARN names.
#[allow(clippy::result_large_err)]
fn tagged(state: &AppState, arn: &str) -> Result<String, Response> {
    let (name, _) = parse_function_name(arn);
    if state.functions.contains(&name) {
        Ok(name)
    } else {
        Err(not_found(state, &name))
    }
}

/// `GET /2017-03-31/tags/{arn}`.
async fn list_tags(State(state): State<Arc<AppState>>, Path(arn): Path<String>) -> Response {
    let name = match tagged(&state, &arn) {
        Ok(name) => name,
        Err(response) => return response,
    };
    let tags = state
        .functions
        .get(&name)
        .map(|entry| entry.tags)
        .unwrap_or_default();
    axum::Json(json!({ "Tags": tags })).into_response()
}

/// `POST /2017-03-31/tags/{arn}`.
async fn tag_resource(
    State(state): State<Arc<AppState>>,
    Path(arn): Path<String>,
    body: Bytes,
) -> Response {
    let name = or_answer!(tagged(&state, &arn));
    let request = or_answer!(body_object(&body));
    let Some(tags) = request.get("Tags").and_then(Value::as_object) else {
        return invalid("Tags is required.");
    };
    state.functions.update(&name, |entry| {
        for (key, value) in tags {
            entry
                .tags
                .insert(key.clone(), value.as_str().unwrap_or_default().into());
        }
    });
    if let Err(response) = persist(&state, &name).await {
        return response;
    }
    StatusCode::NO_CONTENT.into_response()
}

/// `DELETE /2017-03-31/tags/{arn}?tagKeys=...`.
async fn untag_resource(
    State(state): State<Arc<AppState>>,
    Path(arn): Path<String>,
    axum::extract::RawQuery(query): axum::extract::RawQuery,
) -> Response {
    let name = or_answer!(tagged(&state, &arn));
    let keys: Vec<String> =
        serde_urlencoded::from_str::<Vec<(String, String)>>(query.as_deref().unwrap_or(""))
            .unwrap_or_default()
            .into_iter()
            .filter(|(key, _)| key == "tagKeys")
            .map(|(_, value)| value)
            .collect();
    state.functions.update(&name, |entry| {
        for key in &keys {
            entry.tags.remove(key);
        }
    });
    if let Err(response) = persist(&state, &name).await {
        return response;
    }
    StatusCode::NO_CONTENT.into_response()
}

/// `GET /2016-08-19/account-settings`: Lambda's default quotas, with this
/// server's function count and code size.
async fn account_settings(State(state): State<Arc<AppState>>) -> Response {
    let entries = state.functions.entries();
    let code_size: u64 = entries
        .iter()
        .filter_map(|(_, entry)| entry.configuration.get("CodeSize").and_then(Value::as_u64))
        .sum();
    axum::Json(json!({
        "AccountLimit": {
            "TotalCodeSize": 80_530_636_800u64,
            "CodeSizeUnzipped": 262_144_000,
            "CodeSizeZipped": MAX_ZIP_BYTES,
            "ConcurrentExecutions": 1000,
            "UnreservedConcurrentExecutions": 1000,
        },
        "AccountUsage": {
            "TotalCodeSize": code_size,
            "FunctionCount": entries.len(),
        },
    }))
    .into_response()
}
