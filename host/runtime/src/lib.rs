//! Custom-runtime mode: wasm-lambda as the `bootstrap` of a `provided.al2023`
//! Lambda function. It polls the Runtime API and runs the WASM handler for
//! each event through the same invoke path as the CLI and the server.
//!
//! This crate owns the Runtime API client and loop and the reading of a
//! custom runtime's environment (Lambda's variables and the
//! `WASM_LAMBDA_*` settings); it depends on `wasm-lambda-core` alone and
//! must not depend on the server, the builders or the command line.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context as _, Result, bail};
use serde_json::json;

use wasm_lambda_core::{
    AwsCredentials, Function, FunctionConfig, FunctionSettings, Host, HostConfig, LogFormat,
    LogLevel, LogSink, RESERVED_VARIABLES, SettingsSource, Snapshots, error_types,
};

mod client;

pub use client::{NextEvent, RuntimeClient};

/// Where `wasm-lambda package` puts precompiled artifacts, relative to the
/// task root; the runtime looks there before compiling.
pub const ARTIFACTS_DIR: &str = "artifacts";

/// The file in [`ARTIFACTS_DIR`] that records the environment a packaged
/// snapshot was made in (a JSON object), so a runtime started in another
/// can say which variables differ.
pub const SNAPSHOT_ENVIRONMENT_FILE: &str = "snapshot-environment.json";

/// Variables Lambda sets in every execution environment besides its
/// reserved ones, with the values it gives them: they reach the function
/// (its init phase included) like its own, so a snapshot made ahead has to
/// be made with them.
pub const LAMBDA_PLATFORM_VARIABLES: &[(&str, &str)] = &[
    ("AWS_XRAY_CONTEXT_MISSING", "LOG_ERROR"),
    ("AWS_XRAY_DAEMON_ADDRESS", "169.254.79.129:2000"),
    ("_AWS_XRAY_DAEMON_ADDRESS", "169.254.79.129"),
    ("_AWS_XRAY_DAEMON_PORT", "2000"),
];

/// The process environment Lambda gives the runtime of a function with
/// this configuration, with placeholder credentials and without the values
/// that are new in every execution environment (the log stream): what
/// `wasm-lambda package` makes the snapshot with, read back through
/// [`RuntimeSettings::from_env`] as the runtime on Lambda reads its own.
pub fn lambda_environment(
    name: &str,
    region: &str,
    memory_mb: u32,
    version: &str,
    handler: &str,
    variables: &BTreeMap<String, String>,
) -> BTreeMap<String, String> {
    let mut env: BTreeMap<String, String> = variables.clone();
    for (key, value) in LAMBDA_PLATFORM_VARIABLES {
        env.insert(key.to_string(), value.to_string());
    }
    for (key, value) in [
        // Lambda always gives the execution role's credentials. Their values
        // never reach the init phase, but their presence does (the
        // credentials endpoint's variable): placeholders stand in for them.
        ("AWS_ACCESS_KEY_ID", "ASIAPACKAGETIMEONLY"),
        ("AWS_SECRET_ACCESS_KEY", "package-time-placeholder"),
        ("AWS_SESSION_TOKEN", "package-time-placeholder"),
        ("AWS_LAMBDA_RUNTIME_API", "127.0.0.1:9001"),
        ("LAMBDA_TASK_ROOT", "/var/task"),
        ("LAMBDA_RUNTIME_DIR", "/var/runtime"),
        ("_HANDLER", handler),
        ("AWS_LAMBDA_FUNCTION_NAME", name),
        ("AWS_LAMBDA_FUNCTION_VERSION", version),
        ("AWS_REGION", region),
        ("AWS_DEFAULT_REGION", region),
    ] {
        env.insert(key.to_string(), value.to_string());
    }
    env.insert(
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE".to_string(),
        memory_mb.to_string(),
    );
    env
}

/// Variables of the runtime's own process that are not the function's
/// (Lambda sets them for the runtime, or they describe this machine).
const PROCESS_ONLY_VARIABLES: &[&str] = &[
    "PATH",
    "LD_LIBRARY_PATH",
    "LANG",
    "HOME",
    "PWD",
    "OLDPWD",
    "SHLVL",
    "_",
    "TERM",
    "HOSTNAME",
    // This process's temporary folder; a sandbox's `/tmp` is its own.
    "TMPDIR",
];

/// The runtime's own settings (`WASM_LAMBDA_CACHE_DIR`, `WASM_LAMBDA_CA_FILE`,
/// the function settings of `FunctionSettings`) are not the function's.
const PROCESS_ONLY_PREFIX: &str = "WASM_LAMBDA_";

/// On Lambda itself outbound traffic is allowed, so a handler deployed there
/// may reach anything unless `WASM_LAMBDA_ALLOWED_OUTBOUND_HOSTS` narrows it.
const RUNTIME_DEFAULT_GRANTS: &str = "*://*:*";

/// The function's settings, read from the environment Lambda gives a
/// custom runtime.
#[derive(Debug, Clone)]
pub struct RuntimeSettings {
    /// `AWS_LAMBDA_RUNTIME_API`.
    pub api: String,
    /// The component to run.
    pub component: PathBuf,
    /// The function's configuration.
    pub function: FunctionConfig,
    /// `$LAMBDA_TASK_ROOT/artifacts`, where packaged artifacts are found.
    pub artifacts: PathBuf,
    /// `WASM_LAMBDA_CA_FILE`: a CA to trust for HTTPS besides the system's.
    pub ca_file: Option<PathBuf>,
    /// `AWS_LAMBDA_MAX_CONCURRENCY` (Lambda Managed Instances): how many
    /// events the runtime takes at once, each in a sandbox of its own; 1
    /// when it is not set, one event at a time as in Lambda's usual
    /// execution environments.
    pub max_concurrency: usize,
}

fn variable(env: &BTreeMap<String, String>, name: &str) -> Option<String> {
    env.get(name).filter(|value| !value.is_empty()).cloned()
}

impl RuntimeSettings {
    /// Reads the settings from `env` (the process environment, in
    /// production). `component` overrides `_HANDLER`; `timeout` is used when
    /// an event's deadline is absent or already past.
    pub fn from_env(
        env: &BTreeMap<String, String>,
        component: Option<&Path>,
        timeout: Duration,
    ) -> Result<Self> {
        let Some(api) = variable(env, "AWS_LAMBDA_RUNTIME_API") else {
            bail!(
                "AWS_LAMBDA_RUNTIME_API is not set: `wasm-lambda runtime` runs as a Lambda custom runtime"
            );
        };
        let task_root =
            PathBuf::from(variable(env, "LAMBDA_TASK_ROOT").unwrap_or_else(|| ".".into()));
        let handler = variable(env, "_HANDLER");
        let component = match (component, &handler) {
            (Some(path), _) => path.to_path_buf(),
            (None, Some(handler)) => task_root.join(handler),
            (None, None) => bail!("no component: give it as an argument or set _HANDLER"),
        };
        let name = variable(env, "AWS_LAMBDA_FUNCTION_NAME").unwrap_or_else(|| {
            component
                .file_stem()
                .map(|stem| stem.to_string_lossy().into_owned())
                .unwrap_or_else(|| "function".into())
        });
        let mut function = FunctionConfig::new(name, &component);
        function.handler = handler;
        function.timeout = timeout;
        if let Some(memory) = variable(env, "AWS_LAMBDA_FUNCTION_MEMORY_SIZE") {
            function.memory_mb = memory.parse().with_context(|| {
                format!("AWS_LAMBDA_FUNCTION_MEMORY_SIZE is not a number: {memory:?}")
            })?;
        }
        if let Some(version) = variable(env, "AWS_LAMBDA_FUNCTION_VERSION") {
            function.version = version;
        }
        if let Some(region) =
            variable(env, "AWS_REGION").or_else(|| variable(env, "AWS_DEFAULT_REGION"))
        {
            function.region = region;
        }
        // The settings of `invoke` and `[[function]]`, as WASM_LAMBDA_*
        // variables (settings.rs); the runtime's `--timeout` reads the same
        // variable, and the credentials and environment are Lambda's.
        let mut settings = FunctionSettings::from_variables(|name| variable(env, name))?;
        settings.timeout = None;
        settings.aws_credentials = false;
        // The component is `_HANDLER`'s; a second handler setting could only
        // disagree with it.
        settings.handler = None;
        // On Lambda itself outbound traffic is allowed.
        if settings.allowed_outbound_hosts.is_none() {
            settings.allowed_outbound_hosts = Some(vec![RUNTIME_DEFAULT_GRANTS.to_string()]);
        }
        settings.apply(&mut function, SettingsSource::Environment)?;
        // Lambda gives a custom runtime the function's LoggingConfig as
        // these two variables; the handler sees them as on a managed runtime.
        if let Some(format) = variable(env, "AWS_LAMBDA_LOG_FORMAT")
            .and_then(|format| format.parse::<LogFormat>().ok())
        {
            function.logging.format = format;
        }
        if function.logging.is_json()
            && let Some(level) = variable(env, "AWS_LAMBDA_LOG_LEVEL")
                .and_then(|level| level.parse::<LogLevel>().ok())
        {
            function.logging.application_level = level;
        }
        // Lambda's credentials for the execution role go to the handler.
        function.aws_credentials =
            AwsCredentials::from_env(|name| env.get(name).map(String::as_str));
        // The function's own variables are the rest of the environment:
        // Lambda puts them there, next to its own.
        function.environment = env
            .iter()
            .filter(|(key, _)| {
                !RESERVED_VARIABLES.contains(&key.as_str())
                    && !PROCESS_ONLY_VARIABLES.contains(&key.as_str())
                    && !key.starts_with(PROCESS_ONLY_PREFIX)
            })
            .map(|(key, value)| (key.clone(), value.clone()))
            .collect();
        let max_concurrency = match variable(env, "AWS_LAMBDA_MAX_CONCURRENCY") {
            None => 1,
            Some(value) => value
                .trim()
                .parse::<usize>()
                .ok()
                .filter(|count| *count >= 1)
                .with_context(|| {
                    format!(
                        "AWS_LAMBDA_MAX_CONCURRENCY is not a whole number of at least 1: {value:?}"
                    )
                })?,
        };
        Ok(RuntimeSettings {
            api,
            component,
            function,
            artifacts: task_root.join(ARTIFACTS_DIR),
            ca_file: variable(env, "WASM_LAMBDA_CA_FILE").map(PathBuf::from),
            max_concurrency,
        })
    }
}

/// A sink that writes guest output to this process's stdout, where Lambda
/// collects a runtime's logs for CloudWatch.
fn stdout_sink() -> LogSink {
    std::sync::Arc::new(|bytes: &[u8]| {
        use std::io::Write;
        let mut stdout = std::io::stdout().lock();
        let _ = stdout.write_all(bytes);
        let _ = stdout.flush();
    })
}

/// Reports a start-up failure to the Runtime API as Lambda's runtimes do.
fn report_init_error(client: &RuntimeClient, error_type: &str, message: &str) {
    let body =
        json!({ "errorType": error_type, "errorMessage": message, "stackTrace": [] }).to_string();
    if let Err(error) = client.init_error(error_type, &body) {
        tracing::warn!("wasm-lambda: failed to report the init error: {error:#}");
    }
}

/// Loads the function; a failure is reported to `/runtime/init/error`.
pub fn start(settings: &RuntimeSettings) -> Result<(RuntimeClient, Function)> {
    let client = RuntimeClient::new(&settings.api);
    let host = Host::new(HostConfig {
        read_only_cache_dirs: vec![settings.artifacts.clone()],
        extra_ca_file: settings.ca_file.clone(),
        log_sink: Some(stdout_sink()),
        // Lambda writes START, END and REPORT itself.
        platform_lines: false,
        // A snapshot made here would compile the component again, seconds
        // of a cold start; the package carries one made ahead.
        snapshots: Snapshots::ExistingOnly,
        // The next event's sandbox is made before the process asks for
        // it (`work`). Not with several workers: each drives its own
        // runtime only while it has an event, so one would wait on a
        // sandbox another's runtime was making.
        ready_sandboxes: settings.max_concurrency <= 1,
        ..HostConfig::default()
    });
    let host = match host {
        Ok(host) => host,
        Err(error) => {
            report_init_error(&client, error_types::ENGINE_ERROR, &format!("{error:#}"));
            return Err(error);
        }
    };
    match host.load(settings.function.clone()) {
        Ok(function) => {
            if function.load_info().snapshot.is_none() {
                explain_missing_snapshot(&settings.artifacts, &function);
            }
            Ok((client, function))
        }
        Err(error) => {
            let error_type = match error {
                wasm_lambda_core::LoadError::UnknownWorld { .. } => error_types::INVALID_ENTRYPOINT,
                wasm_lambda_core::LoadError::InvalidConfig(_) => error_types::INVALID_CONFIGURATION,
                _ => error_types::INVALID_COMPONENT,
            };
            // The message names the causes too, as the CLI prints them.
            let error = anyhow::Error::from(error);
            report_init_error(&client, error_type, &format!("{error:#}"));
            Err(error)
        }
    }
}

/// Says why a packaged snapshot was not used, when the package has one: the
/// names of the variables whose values differ from those it was made with
/// (the values are the function's configuration and stay out of the log).
fn explain_missing_snapshot(artifacts: &Path, function: &Function) {
    let Ok(text) = std::fs::read_to_string(artifacts.join(SNAPSHOT_ENVIRONMENT_FILE)) else {
        return;
    };
    let Ok(packaged) = serde_json::from_str::<BTreeMap<String, String>>(&text) else {
        return;
    };
    let here: BTreeMap<String, String> = function.snapshot_environment().into_iter().collect();
    let differing: Vec<&str> = packaged
        .keys()
        .chain(here.keys())
        .filter(|name| packaged.get(*name) != here.get(*name))
        .map(String::as_str)
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect();
    if differing.is_empty() {
        tracing::warn!(
            "wasm-lambda: the packaged snapshot was made by another version of wasm-lambda or of the component: the init phase runs in every sandbox"
        );
    } else {
        tracing::warn!(
            "wasm-lambda: the packaged snapshot was made for another configuration ({} differ): the init phase runs in every sandbox; package again with the function's settings",
            differing.join(", ")
        );
    }
}

/// Runs one event: invokes the function and posts the outcome.
pub async fn handle_event(
    client: &RuntimeClient,
    function: &Function,
    event: NextEvent,
) -> Result<()> {
    let request_id = event.request_id.clone();
    match function.invoke(event.request).await {
        Ok(invocation) => match invocation.function_error() {
            None => client.respond(&request_id, invocation.payload()),
            Some(error) => client.error(&request_id, &error.error_type, &error.payload),
        },
        // The event itself was refused (not JSON, too large).
        Err(error) => {
            let body =
                json!({ "errorType": error.error_code(), "errorMessage": error.to_string() })
                    .to_string();
            client.error(&request_id, error.error_code(), &body)
        }
    }
}

/// The Runtime API loop: start up, then fetch, run and answer events until
/// the Runtime API fails or `max_events` are done (`None`: forever).
///
/// With `max_concurrency` above 1, that many workers each keep a `next`
/// request outstanding and run their event in a sandbox of its own, as
/// Lambda Managed Instances expect of a runtime; the first Runtime API
/// failure ends the loop (the process exits, as one worker's would).
pub fn run(settings: &RuntimeSettings, max_events: Option<usize>) -> Result<()> {
    let (client, function) = start(settings)?;
    let workers = settings.max_concurrency.max(1);
    let claimed = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    if workers == 1 {
        return work(&client, &function, max_events, &claimed);
    }
    let client = std::sync::Arc::new(client);
    let (done, results) = std::sync::mpsc::channel();
    for index in 0..workers {
        let (client, function, claimed, done) = (
            client.clone(),
            function.clone(),
            claimed.clone(),
            done.clone(),
        );
        std::thread::Builder::new()
            .name(format!("wasm-lambda-worker-{index}"))
            .spawn(move || {
                let _ = done.send(work(&client, &function, max_events, &claimed));
            })
            .context("failed to start a worker")?;
    }
    drop(done);
    // Every worker's end, or the first failure; a worker still waiting on
    // `next` then ends with the process.
    for result in results {
        result?;
    }
    Ok(())
}

/// One worker: claims an event (of `max_events`, shared with the other
/// workers), waits for it and answers it, until the claims run out.
fn work(
    client: &RuntimeClient,
    function: &Function,
    max_events: Option<usize>,
    claimed: &std::sync::atomic::AtomicUsize,
) -> Result<()> {
    use std::sync::atomic::Ordering;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("failed to start the async runtime")?;
    while max_events.is_none_or(|max| claimed.fetch_add(1, Ordering::AcqRel) < max) {
        match client.next()? {
            Ok(event) => {
                runtime.block_on(handle_event(client, function, event))?;
                // The answer is posted: make the next event's sandbox
                // before asking for it (Lambda may freeze the process
                // while it waits).
                runtime.block_on(function.sandbox_ready());
            }
            Err(malformed) => tracing::warn!("wasm-lambda: skipped an event: {malformed}"),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(key, value)| (key.to_string(), value.to_string()))
            .collect()
    }

    #[test]
    fn on_lambda_everything_is_reachable_and_lambdas_credentials_pass() {
        let base = [
            ("AWS_LAMBDA_RUNTIME_API", "127.0.0.1:9001"),
            ("_HANDLER", "hello.wasm"),
            ("AWS_ACCESS_KEY_ID", "ASIAEXAMPLE"),
            ("AWS_SECRET_ACCESS_KEY", "secret"),
            ("AWS_SESSION_TOKEN", "token"),
            ("STAGE", "prod"),
        ];
        let settings =
            RuntimeSettings::from_env(&env(&base), None, Duration::from_secs(3)).unwrap();
        let grants = &settings.function.allowed_outbound_hosts;
        assert!(grants.allows_name("https", "dynamodb.us-east-1.amazonaws.com", 443));
        assert!(grants.allows_name("tcp", "db.example.com", 5432));
        let credentials = settings.function.aws_credentials.as_ref().unwrap();
        assert_eq!(credentials.access_key_id, "ASIAEXAMPLE");
        assert_eq!(credentials.session_token.as_deref(), Some("token"));
        assert!(
            !settings
                .function
                .environment
                .contains_key("AWS_SECRET_ACCESS_KEY")
        );
        assert_eq!(settings.function.environment["STAGE"], "prod");

        let mut narrowed = base.to_vec();
        narrowed.push((
            "WASM_LAMBDA_ALLOWED_OUTBOUND_HOSTS",
            "https://*.amazonaws.com, http://10.0.0.5:8080",
        ));
        let settings =
            RuntimeSettings::from_env(&env(&narrowed), None, Duration::from_secs(3)).unwrap();
        let grants = &settings.function.allowed_outbound_hosts;
        assert!(grants.allows_name("https", "s3.amazonaws.com", 443));
        assert!(!grants.allows_name("https", "example.com", 443));
        assert!(grants.allows_name("http", "10.0.0.5", 8080));

        assert_eq!(settings.max_concurrency, 1);
        for (value, expected) in [("8", Some(8)), ("0", None), ("many", None)] {
            let mut managed = base.to_vec();
            managed.push(("AWS_LAMBDA_MAX_CONCURRENCY", value));
            let settings = RuntimeSettings::from_env(&env(&managed), None, Duration::from_secs(3));
            match expected {
                Some(count) => assert_eq!(settings.unwrap().max_concurrency, count),
                None => assert!(
                    format!("{:#}", settings.unwrap_err()).contains("AWS_LAMBDA_MAX_CONCURRENCY"),
                    "{value}"
                ),
            }
        }

        let mut bad = base.to_vec();
        bad.push(("WASM_LAMBDA_ALLOWED_OUTBOUND_HOSTS", "http//x"));
        let error =
            RuntimeSettings::from_env(&env(&bad), None, Duration::from_secs(3)).unwrap_err();
        assert!(format!("{error:#}").contains("\"http//x\""), "{error:#}");
    }

    #[test]
    fn lambdas_logging_variables_become_the_functions_logging_controls() {
        let base = [
            ("AWS_LAMBDA_RUNTIME_API", "127.0.0.1:9001"),
            ("_HANDLER", "hello.wasm"),
            ("AWS_LAMBDA_LOG_FORMAT", "JSON"),
            ("AWS_LAMBDA_LOG_LEVEL", "WARN"),
        ];
        let settings =
            RuntimeSettings::from_env(&env(&base), None, Duration::from_secs(3)).unwrap();
        let logging = settings.function.logging;
        assert_eq!(logging.format, LogFormat::Json);
        assert_eq!(logging.application_level, LogLevel::Warn);
        // They are Lambda's, not the function's own variables.
        assert!(
            !settings
                .function
                .environment
                .contains_key("AWS_LAMBDA_LOG_FORMAT")
        );
        let text = RuntimeSettings::from_env(
            &env(&[base[0], base[1], ("AWS_LAMBDA_LOG_FORMAT", "Text")]),
            None,
            Duration::from_secs(3),
        )
        .unwrap();
        assert_eq!(text.function.logging.format, LogFormat::Text);
    }
}
