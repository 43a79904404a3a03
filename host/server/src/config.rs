//! The server's configuration file (TOML) and `--function NAME=PATH` flags.

use anyhow::{Context as _, Result, bail};
use serde::Deserialize;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use super::events::{AsyncSettings, Destination, EVENT_AGE_RANGE_SECS, MAX_RETRY_ATTEMPTS};
use wasm_lambda_core::{FunctionConfig, FunctionSettings, SettingsSource, struct_fields};

/// The default address: loopback only, since the server does no authentication.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:9000";

/// `wasm-lambda serve --config FILE`:
///
/// ```toml
/// listen = "127.0.0.1:9000"
///
/// [[function]]
/// name = "hello"
/// component = "examples/rust/hello/build/hello.wasm"   # relative to this file
/// memory = 256                                          # MB, default 128
/// timeout = 10                                          # seconds, default 3
/// reserved_concurrency = 5                              # default: no limit
/// reuse_instances = false                               # default: fresh sandbox per invocation
/// environment = { STAGE = "dev" }
///
/// [[function]]
/// name = "orders"
/// component = "examples/python/hello"   # a folder: built at start
/// watch = true                          # rebuilt and swapped after each edit
/// ```
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServerConfig {
    /// Where to listen; `127.0.0.1:9000` by default.
    pub listen: Option<SocketAddr>,
    /// The region in ARNs and `AWS_REGION`; `us-east-1` by default.
    pub region: Option<String>,
    /// Seconds between retries of a failed `Event` invocation (Lambda waits
    /// about a minute; 1 s by default here).
    pub event_retry_delay: Option<f64>,
    /// Where accepted `Event` invocations are stored until they end
    /// ([`default_state_dir`](super::default_state_dir) by default). One
    /// server at a time may use a folder; a restarted server runs what the
    /// last one left.
    pub state_dir: Option<PathBuf>,
    /// Where accepted `Event` invocations are kept: `"embedded"` (the
    /// default: the store in `state_dir`) or
    /// `"nats://HOST:PORT[,HOST:PORT...]"`, a NATS JetStream queue that
    /// several servers share (docs/cluster.md).
    pub backend: Option<String>,
    /// With a NATS backend: seconds a server may hold an event without a
    /// sign of life before it goes to another server (30 by default). The
    /// first server to use a NATS sets it for all.
    pub event_ack_wait: Option<f64>,
    /// With a NATS backend: how many NATS servers of a JetStream cluster
    /// keep a copy of the events, functions and code (1 to 5, default 1;
    /// 3 for a three-node NATS cluster). The first server to use a NATS
    /// sets it for all.
    pub backend_replicas: Option<usize>,
    /// How many guests that compute for long (over 20 ms in one
    /// invocation) may run at once; default one fewer than the machine's
    /// threads, so that they cannot starve short invocations.
    pub long_running_slots: Option<usize>,
    /// Whether a function that does not reuse instances has its next
    /// sandbox made ahead once its invocations have ended (true by
    /// default; `HostConfig::ready_sandboxes`).
    pub ready_sandboxes: Option<bool>,
    /// A PEM file of CA certificates that handlers' HTTPS requests trust
    /// besides the system's (relative to this file).
    pub ca_file: Option<PathBuf>,
    /// The S3 endpoint the control plane fetches `Code.S3Bucket` /
    /// `Code.S3Key` from (path-style, e.g. moto's or LocalStack's server).
    pub s3_endpoint: Option<String>,
    /// The functions to deploy.
    #[serde(default, rename = "function")]
    pub functions: Vec<FunctionSpec>,
    /// API Gateway routes served on the same listener (`[[route]]`).
    #[serde(default, rename = "route")]
    pub routes: Vec<super::front_door::RouteSpec>,
    /// Event source mappings (`[[event_source]]`): the keys of
    /// `CreateEventSourceMapping` in snake case (`function_name`,
    /// `event_source_arn`, `batch_size`, `filter_criteria`, ...), plus
    /// `event_source_endpoint`.
    #[serde(default, rename = "event_source")]
    pub event_sources: Vec<toml::Table>,
    /// Where the services that event sources poll answer (e.g. moto's or
    /// LocalStack's server), for mappings that name no endpoint; by default
    /// `AWS_ENDPOINT_URL_SQS` or `AWS_ENDPOINT_URL` as the AWS SDKs read
    /// them, else AWS.
    pub event_source_endpoint: Option<String>,
}

/// One function of the configuration file: its name and component, the
/// settings every way of running a function shares ([`FunctionSettings`]:
/// `handler`, `memory`, `timeout`, `environment`, `allowed_outbound_hosts`,
/// `files`, ...), and the keys only a server has.
#[derive(Debug, Clone, Deserialize)]
#[serde(try_from = "toml::Table")]
pub struct FunctionSpec {
    /// The function's name.
    pub name: String,
    /// The component; relative paths are relative to the configuration file.
    pub component: PathBuf,
    /// What the function is given and allowed, as `invoke`'s flags and the
    /// custom runtime's variables say it too.
    pub settings: FunctionSettings,
    /// The keys only `serve` has.
    pub server: ServerOnly,
}

/// The keys of a `[[function]]` table that only `serve` has.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServerOnly {
    /// At most this many invocations at once; more get `TooManyRequestsException`.
    pub reserved_concurrency: Option<u32>,
    /// `Event` invocations: retries after a function error (0 to 2, default 2).
    pub maximum_retry_attempts: Option<u32>,
    /// `Event` invocations: seconds an event may wait to run (60 to 21,600,
    /// default 21,600).
    pub maximum_event_age: Option<u64>,
    /// `Event` invocations that give up go here: `function:NAME` (a served
    /// function, invoked with Lambda's destination record) or `file:PATH`
    /// (the record appended as one JSON line).
    pub on_failure: Option<String>,
    /// The function URL's auth type: `"NONE"` (default) or `"AWS_IAM"`.
    pub url_auth: Option<String>,
    /// The function URL's invoke mode: `"BUFFERED"` (default) or
    /// `"RESPONSE_STREAM"` (the response is sent as the handler writes it).
    pub invoke_mode: Option<String>,
    /// External extensions to run beside the function (executables,
    /// relative to this file), as Lambda runs a layer's `extensions/`
    /// folder; the executables of `extensions/` in a `files` folder mounted
    /// at `/opt` run too (docs/observability.md).
    pub extensions: Option<Vec<PathBuf>>,
    /// Components serving as extensions (relative to this file): each gets
    /// the function's telemetry records (platform, function and extension,
    /// Lambda's default buffering) as the events of its own invocations, a
    /// batch per invocation, sandboxed and with no process
    /// (docs/observability.md).
    pub extension_components: Option<Vec<PathBuf>>,
    /// What a recursive loop through the Invoke API does: `"Terminate"`
    /// (the default: the chain is stopped when it would run the function a
    /// 17th time) or `"Allow"`, as Lambda's `RecursiveLoop`.
    pub recursive_loop: Option<String>,
    /// Rebuild the function when its source folder (or component file)
    /// changes and swap the new code in, as `serve --watch` does for every
    /// function; `component` may then name the handler's folder.
    pub watch: Option<bool>,
}

/// The keys of the table itself.
const IDENTITY_KEYS: &[&str] = &["name", "component"];

impl FunctionSpec {
    /// Every key a `[[function]]` table may have.
    pub fn keys() -> Vec<&'static str> {
        let mut keys = IDENTITY_KEYS.to_vec();
        keys.extend(FunctionSettings::keys());
        keys.extend(struct_fields::<ServerOnly>());
        keys
    }

    /// A function with only its name and component.
    pub fn new(name: impl Into<String>, component: impl Into<PathBuf>) -> Self {
        FunctionSpec {
            name: name.into(),
            component: component.into(),
            settings: FunctionSettings::default(),
            server: ServerOnly::default(),
        }
    }
}

impl TryFrom<toml::Table> for FunctionSpec {
    type Error = String;

    /// Splits the table among the settings and the server's keys; a key of
    /// neither is refused by name, as `deny_unknown_fields` would.
    fn try_from(mut table: toml::Table) -> Result<Self, String> {
        let keys = FunctionSpec::keys();
        if let Some(unknown) = table.keys().find(|key| !keys.contains(&key.as_str())) {
            return Err(format!(
                "unknown field `{unknown}`, expected one of {}",
                keys.iter()
                    .map(|key| format!("`{key}`"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        }
        let take = |table: &mut toml::Table, keys: &[&str]| -> toml::Table {
            keys.iter()
                .filter_map(|key| table.remove_entry(*key))
                .collect()
        };
        let identity = take(&mut table, IDENTITY_KEYS);
        let settings = take(&mut table, FunctionSettings::keys());
        #[derive(Deserialize)]
        struct Identity {
            name: String,
            component: PathBuf,
        }
        let Identity { name, component } =
            Identity::deserialize(identity).map_err(|error| error.to_string())?;
        let settings = FunctionSettings::deserialize(settings)
            .map_err(|error| format!("function {name}: {error}"))?;
        let server =
            ServerOnly::deserialize(table).map_err(|error| format!("function {name}: {error}"))?;
        Ok(FunctionSpec {
            name,
            component,
            settings,
            server,
        })
    }
}

impl ServerConfig {
    /// Reads a configuration file.
    pub fn from_file(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("failed to read {}", path.display()))?;
        let mut config: ServerConfig = toml::from_str(&text)
            .with_context(|| format!("invalid configuration {}", path.display()))?;
        let base = path.parent().unwrap_or(Path::new("."));
        for function in &mut config.functions {
            if function.component.is_relative() {
                function.component = base.join(&function.component);
            }
            function.settings.resolve_paths(base);
            for extension in function
                .server
                .extensions
                .iter_mut()
                .flatten()
                .chain(function.server.extension_components.iter_mut().flatten())
            {
                if extension.is_relative() {
                    *extension = base.join(&*extension);
                }
            }
            // A dead-letter file, like a component, is relative to the file.
            if let Some(target) = function.server.on_failure.as_mut()
                && let Some(file) = target.strip_prefix("file:")
                && Path::new(file).is_relative()
            {
                *target = format!("file:{}", base.join(file).display());
            }
        }
        for dir in [config.state_dir.as_mut(), config.ca_file.as_mut()]
            .into_iter()
            .flatten()
        {
            if dir.is_relative() {
                *dir = base.join(&*dir);
            }
        }
        Ok(config)
    }

    /// Adds a function given as `NAME=PATH`.
    pub fn add_function_flag(&mut self, flag: &str) -> Result<()> {
        let Some((name, path)) = flag.split_once('=') else {
            bail!("expected NAME=PATH, got {flag:?}");
        };
        self.functions.push(FunctionSpec::new(name, path));
        Ok(())
    }

    /// The region functions report.
    pub fn region(&self) -> String {
        self.region.clone().unwrap_or_else(|| "us-east-1".into())
    }

    /// The `backend` setting, checked.
    pub(crate) fn backend(&self) -> Result<super::cluster::Backend> {
        match &self.backend {
            None => Ok(super::cluster::Backend::Embedded),
            Some(text) => super::cluster::Backend::parse(text),
        }
    }

    /// The `backend_replicas` setting, checked.
    pub(crate) fn backend_replicas(&self) -> Result<usize> {
        match self.backend_replicas {
            None => Ok(1),
            Some(replicas @ 1..=5) => Ok(replicas),
            Some(other) => {
                bail!("backend_replicas must be 1 to 5 (JetStream's range), not {other}")
            }
        }
    }

    /// The `event_ack_wait` setting, checked (at least a second: a server
    /// tells NATS it still holds an event every third of it).
    pub(crate) fn event_ack_wait(&self) -> Result<std::time::Duration> {
        let Some(seconds) = self.event_ack_wait else {
            return Ok(super::cluster::DEFAULT_ACK_WAIT);
        };
        match wasm_lambda_core::duration_from_secs(seconds) {
            Some(wait) if wait >= std::time::Duration::from_secs(1) => Ok(wait),
            _ => bail!("event_ack_wait must be a number of seconds of at least 1, not {seconds}"),
        }
    }
}

impl FunctionSpec {
    /// Whether the function URL needs a SigV4 `Authorization` header.
    pub(crate) fn url_needs_signature(&self) -> Result<bool> {
        match self.server.url_auth.as_deref() {
            None | Some("NONE") => Ok(false),
            Some("AWS_IAM") => Ok(true),
            Some(other) => bail!(
                "function {}: url_auth must be \"NONE\" or \"AWS_IAM\", got {other:?}",
                self.name
            ),
        }
    }

    /// Whether the function URL streams its response (`invoke_mode`).
    pub(crate) fn url_streams(&self) -> Result<bool> {
        match self.server.invoke_mode.as_deref() {
            None | Some("BUFFERED") => Ok(false),
            Some("RESPONSE_STREAM") => Ok(true),
            Some(other) => bail!(
                "function {}: invoke_mode must be \"BUFFERED\" or \"RESPONSE_STREAM\", got {other:?}",
                self.name
            ),
        }
    }

    /// Whether the function may run in a recursive loop.
    pub(crate) fn recursion_allowed(&self) -> Result<bool> {
        match self.server.recursive_loop.as_deref() {
            None | Some(super::recursion::TERMINATE) => Ok(false),
            Some(super::recursion::ALLOW) => Ok(true),
            Some(other) => bail!(
                "function {}: recursive_loop must be \"Allow\" or \"Terminate\", got {other:?}",
                self.name
            ),
        }
    }

    /// The function's `Event` invocation settings, checked against Lambda's ranges.
    pub(crate) fn async_settings(&self) -> Result<AsyncSettings> {
        let mut settings = AsyncSettings::default();
        if let Some(retries) = self.server.maximum_retry_attempts {
            if retries > MAX_RETRY_ATTEMPTS {
                bail!(
                    "function {}: maximum_retry_attempts {retries} is outside Lambda's range of 0 to 2",
                    self.name
                );
            }
            settings.max_retry_attempts = retries;
        }
        if let Some(age) = self.server.maximum_event_age {
            if !EVENT_AGE_RANGE_SECS.contains(&age) {
                bail!(
                    "function {}: maximum_event_age {age} is outside Lambda's range of 60 to 21600 seconds",
                    self.name
                );
            }
            settings.max_event_age = std::time::Duration::from_secs(age);
        }
        if let Some(target) = &self.server.on_failure {
            settings.on_failure = Some(
                Destination::parse(target).with_context(|| format!("function {}", self.name))?,
            );
        }
        Ok(settings)
    }

    /// The library configuration of this function.
    /// The function's external extensions: those `extensions` lists, then
    /// the files of `extensions/` in each folder mounted at `/opt`, by
    /// name, as Lambda finds them in its layers.
    pub fn extension_executables(&self) -> Vec<PathBuf> {
        let mut executables = self.server.extensions.clone().unwrap_or_default();
        for mount in &self.settings.files {
            if mount.destination.trim_end_matches('/') != "/opt" {
                continue;
            }
            let Ok(entries) = std::fs::read_dir(mount.source.join("extensions")) else {
                continue;
            };
            let mut found: Vec<PathBuf> = entries
                .filter_map(|entry| entry.ok().map(|entry| entry.path()))
                .filter(|path| path.is_file())
                .collect();
            found.sort();
            executables.extend(found);
        }
        executables
    }

    pub fn to_function_config(&self, region: &str) -> Result<FunctionConfig> {
        let mut config = FunctionConfig::new(&self.name, &self.component);
        config.region = region.to_string();
        self.settings
            .apply(&mut config, SettingsSource::Toml)
            .with_context(|| format!("function {}", self.name))?;
        Ok(config)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn reads_the_documented_example() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("functions.toml");
        std::fs::write(
            &path,
            r#"
listen = "127.0.0.1:9100"
[[function]]
name = "hello"
component = "hello.wasm"
memory = 256
timeout = 10
reserved_concurrency = 5
environment = { STAGE = "dev" }
"#,
        )
        .unwrap();
        let config = ServerConfig::from_file(&path).unwrap();
        assert_eq!(config.listen.unwrap().port(), 9100);
        let function = &config.functions[0];
        assert_eq!(function.component, dir.path().join("hello.wasm"));
        assert_eq!(function.server.reserved_concurrency, Some(5));
        let library = function.to_function_config("eu-west-1").unwrap();
        assert_eq!(library.memory_mb, 256);
        assert_eq!(library.timeout, Duration::from_secs(10));
        assert_eq!(library.environment["STAGE"], "dev");
        assert_eq!(library.region, "eu-west-1");
    }

    #[test]
    fn extensions_are_the_listed_ones_then_a_layers_at_opt() {
        let dir = tempfile::tempdir().unwrap();
        let layer = dir.path().join("layer/extensions");
        std::fs::create_dir_all(&layer).unwrap();
        for name in ["telemetry-shipper", "agent"] {
            std::fs::write(layer.join(name), "").unwrap();
        }
        let path = dir.path().join("functions.toml");
        std::fs::write(
            &path,
            r#"
[[function]]
name = "hello"
component = "hello.wasm"
extensions = ["bin/recorder"]
files = [{ source = "layer", destination = "/opt" }, { source = "layer", destination = "/mnt/other" }]
"#,
        )
        .unwrap();
        let config = ServerConfig::from_file(&path).unwrap();
        assert_eq!(
            config.functions[0].extension_executables(),
            [
                dir.path().join("bin/recorder"),
                layer.join("agent"),
                layer.join("telemetry-shipper"),
            ]
        );
    }

    #[test]
    fn unknown_keys_are_refused() {
        let error = toml::from_str::<ServerConfig>(
            "[[function]]\nname='a'\ncomponent='a.wasm'\nmemroy=5\n",
        )
        .unwrap_err();
        assert!(error.to_string().contains("memroy"), "{error}");
    }
}
