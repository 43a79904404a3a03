//! A function: its configuration and its loaded, pre-linked component.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use wasmtime::component::types::ComponentItem;
use wasmtime::component::{Component, InstancePre};

use crate::bindings::{HandlerPre, KNOWN_INTERFACES, RUNTIME_INTERFACE, WORLD};
use crate::cache::LoadSource;
use crate::environment;
use crate::grants::AllowedHosts;
use crate::host::{Host, State};
use crate::invoke::WarmInstance;
use crate::marker;

/// Lambda's default timeout.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(3);
/// Lambda's longest timeout.
pub const MAX_TIMEOUT: Duration = Duration::from_secs(900);
/// Lambda's default (and smallest) memory size, in MB.
pub const DEFAULT_MEMORY_MB: u32 = 128;
/// Lambda's memory sizes, in MB.
pub const MEMORY_RANGE_MB: std::ops::RangeInclusive<u32> = 128..=10240;

/// Converts a number of seconds, as flags and config files give it, into a
/// `Duration`: `None` for what no duration can be (negative, NaN, infinite,
/// or beyond `Duration`'s range, such as `1e300`). Range checks against
/// Lambda's limits come later, with the function's configuration.
pub fn duration_from_secs(seconds: f64) -> Option<Duration> {
    if seconds.is_sign_negative() {
        return None;
    }
    Duration::try_from_secs_f64(seconds).ok()
}

/// A timeout in seconds from a flag or a config file: positive, and within
/// Lambda's 900 s. `what` names the setting in the error.
pub fn timeout_from_secs(seconds: f64, what: &str) -> Result<Duration, String> {
    // 1e300 as a plain decimal is 300 digits long.
    let shown = if seconds < 1e9 {
        seconds.to_string()
    } else {
        format!("{seconds:e}")
    };
    match duration_from_secs(seconds) {
        Some(timeout) if !timeout.is_zero() && timeout <= MAX_TIMEOUT => Ok(timeout),
        Some(_) | None if seconds > 0.0 => Err(format!(
            "{what} {shown} s is outside Lambda's range of up to 900 s"
        )),
        _ => Err(format!("{what} must be a positive number of seconds")),
    }
}

/// A function's configuration, as in Lambda's `CreateFunction`.
#[derive(Debug, Clone, PartialEq)]
pub struct FunctionConfig {
    /// The function's name.
    pub name: String,
    /// The handler component (`.wasm`).
    pub component: PathBuf,
    /// The handler setting (`_HANDLER`); defaults to the component's file name.
    pub handler: Option<String>,
    /// Memory size in MB (128 to 10,240); caps the sandbox's linear memory.
    pub memory_mb: u32,
    /// How long an invocation may run.
    pub timeout: Duration,
    /// The function's own environment variables.
    pub environment: BTreeMap<String, String>,
    /// The region the function reports (`AWS_REGION`, the ARN).
    pub region: String,
    /// The account id in the function's ARN.
    pub account_id: String,
    /// The version reported in context, logs and environment.
    pub version: String,
    /// Reuse one instance for consecutive invocations, as Lambda reuses an
    /// execution environment. Off by default: every invocation gets a fresh
    /// sandbox, so no state leaks between invocations.
    pub reuse_instances: bool,
    /// Where the handler may connect over HTTP, HTTPS, TCP and UDP; nothing
    /// by default. See [`AllowedHosts`].
    pub allowed_outbound_hosts: AllowedHosts,
    /// How many outbound requests one invocation may have in flight; more
    /// wait for one to end.
    pub max_outbound_connections: usize,
    /// The size of `/tmp` in MB (Lambda's 512 to 10,240).
    pub ephemeral_storage_mb: u32,
    /// Host folders the handler may read, as Lambda layers under `/opt`.
    pub mounts: Vec<Mount>,
    /// The execution role's credentials, set as `AWS_ACCESS_KEY_ID`,
    /// `AWS_SECRET_ACCESS_KEY` and `AWS_SESSION_TOKEN`; absent by default.
    pub aws_credentials: Option<AwsCredentials>,
}

/// A read-only host folder in the sandbox.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mount {
    /// The folder on the host.
    pub source: PathBuf,
    /// Where the handler sees it (an absolute path, such as `/opt`).
    pub destination: String,
}

impl std::str::FromStr for Mount {
    type Err = String;

    /// Parses `HOST_DIR:GUEST_DIR`.
    fn from_str(text: &str) -> Result<Self, String> {
        let (source, destination) = text
            .rsplit_once(':')
            .ok_or_else(|| format!("expected HOST_DIR:GUEST_DIR, got {text:?}"))?;
        Ok(Mount {
            source: PathBuf::from(source),
            destination: destination.to_string(),
        })
    }
}

/// AWS credentials, as Lambda gives a function its execution role's.
#[derive(Clone, PartialEq, Eq)]
pub struct AwsCredentials {
    /// `AWS_ACCESS_KEY_ID`.
    pub access_key_id: String,
    /// `AWS_SECRET_ACCESS_KEY`.
    pub secret_access_key: String,
    /// `AWS_SESSION_TOKEN`, for temporary credentials.
    pub session_token: Option<String>,
}

impl std::fmt::Debug for AwsCredentials {
    // The secret stays out of logs and panics.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AwsCredentials")
            .field("access_key_id", &self.access_key_id)
            .finish_non_exhaustive()
    }
}

impl AwsCredentials {
    /// The credentials in an environment (the host's, or Lambda's in a
    /// custom runtime): `None` unless both the key id and the secret are set.
    pub fn from_env<'a>(mut get: impl FnMut(&str) -> Option<&'a str>) -> Option<Self> {
        let mut read = |name: &str| {
            get(name)
                .filter(|value| !value.is_empty())
                .map(str::to_string)
        };
        Some(AwsCredentials {
            access_key_id: read("AWS_ACCESS_KEY_ID")?,
            secret_access_key: read("AWS_SECRET_ACCESS_KEY")?,
            session_token: read("AWS_SESSION_TOKEN"),
        })
    }

    /// The host process's own credentials.
    pub fn from_host() -> Option<Self> {
        let values: BTreeMap<String, String> = [
            "AWS_ACCESS_KEY_ID",
            "AWS_SECRET_ACCESS_KEY",
            "AWS_SESSION_TOKEN",
        ]
        .iter()
        .filter_map(|name| Some((name.to_string(), std::env::var(name).ok()?)))
        .collect();
        AwsCredentials::from_env(|name| values.get(name).map(String::as_str))
    }
}

/// Lambda's range of `/tmp` sizes, in MB.
pub const EPHEMERAL_STORAGE_RANGE_MB: std::ops::RangeInclusive<u32> = 512..=10240;

impl FunctionConfig {
    /// A configuration with Lambda's defaults: 128 MB, 3 s, `us-east-1`,
    /// `$LATEST`, a fresh sandbox per invocation.
    pub fn new(name: impl Into<String>, component: impl Into<PathBuf>) -> Self {
        FunctionConfig {
            name: name.into(),
            component: component.into(),
            handler: None,
            memory_mb: DEFAULT_MEMORY_MB,
            timeout: DEFAULT_TIMEOUT,
            environment: BTreeMap::new(),
            region: "us-east-1".into(),
            account_id: "000000000000".into(),
            version: "$LATEST".into(),
            reuse_instances: false,
            allowed_outbound_hosts: AllowedHosts::default(),
            max_outbound_connections: crate::outbound::DEFAULT_MAX_OUTBOUND_CONNECTIONS,
            ephemeral_storage_mb: *EPHEMERAL_STORAGE_RANGE_MB.start(),
            mounts: Vec::new(),
            aws_credentials: None,
        }
    }

    /// The function's ARN, `arn:aws:lambda:REGION:ACCOUNT:function:NAME`.
    pub fn arn(&self) -> String {
        format!(
            "arn:aws:lambda:{}:{}:function:{}",
            self.region, self.account_id, self.name
        )
    }

    /// The function's log group, `/aws/lambda/NAME`.
    pub fn log_group_name(&self) -> String {
        format!("/aws/lambda/{}", self.name)
    }

    /// The `_HANDLER` value.
    pub fn handler_name(&self) -> String {
        self.handler.clone().unwrap_or_else(|| {
            self.component
                .file_name()
                .map(|name| name.to_string_lossy().into_owned())
                .unwrap_or_default()
        })
    }

    fn validate(&self) -> Result<(), LoadError> {
        if self.name.is_empty() {
            return Err(LoadError::InvalidConfig(
                "the function name is empty".into(),
            ));
        }
        if !MEMORY_RANGE_MB.contains(&self.memory_mb) {
            return Err(LoadError::InvalidConfig(format!(
                "memory size {} MB is outside Lambda's range of 128 to 10240 MB",
                self.memory_mb
            )));
        }
        if self.timeout.is_zero() || self.timeout > MAX_TIMEOUT {
            return Err(LoadError::InvalidConfig(format!(
                "timeout {:.2} s is outside Lambda's range of up to 900 s",
                self.timeout.as_secs_f64()
            )));
        }
        if !EPHEMERAL_STORAGE_RANGE_MB.contains(&self.ephemeral_storage_mb) {
            return Err(LoadError::InvalidConfig(format!(
                "ephemeral storage {} MB is outside Lambda's range of 512 to 10240 MB",
                self.ephemeral_storage_mb
            )));
        }
        if self.max_outbound_connections == 0 {
            return Err(LoadError::InvalidConfig(
                "max_outbound_connections must be at least 1".into(),
            ));
        }
        for mount in &self.mounts {
            if !mount.destination.starts_with('/') || mount.destination == "/tmp" {
                return Err(LoadError::InvalidConfig(format!(
                    "mount destination {:?} must be an absolute path other than /tmp",
                    mount.destination
                )));
            }
            if !mount.source.is_dir() {
                return Err(LoadError::InvalidConfig(format!(
                    "mount source {} is not a folder",
                    mount.source.display()
                )));
            }
        }
        environment::validate(self).map_err(LoadError::InvalidConfig)
    }
}

/// Why a function could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// The configuration is outside Lambda's limits.
    #[error("invalid function configuration: {0}")]
    InvalidConfig(String),
    /// The component file could not be read.
    #[error("failed to read {path}: {source}")]
    Read {
        /// The component's path.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The file is not a WebAssembly component.
    #[error("{path} is not a WebAssembly component: {reason}")]
    NotAComponent {
        /// The component's path.
        path: PathBuf,
        /// What the file is instead.
        reason: String,
    },
    /// The component does not implement the handler world.
    #[error(
        "{path} does not implement the world {WORLD} (export `handle`, imports from WASI 0.2 and {RUNTIME_INTERFACE}): {reason}"
    )]
    UnknownWorld {
        /// The component's path.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// The files the component carries could not be unpacked.
    #[error("failed to unpack the files of {path}: {reason}")]
    Files {
        /// The component's path.
        path: PathBuf,
        /// What went wrong.
        reason: String,
    },
    /// Compiling or loading the component failed.
    #[error("failed to compile {path}: {reason}")]
    Compile {
        /// The component's path.
        path: PathBuf,
        /// The compiler's error.
        reason: String,
    },
}

/// How a function's component was made ready.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LoadInfo {
    /// Cache hit or fresh compile.
    pub source: LoadSource,
    /// Time to read, verify and load (or compile) the component and link it.
    pub duration: Duration,
}

/// A loaded function. Cheap to clone; clones share the loaded component and
/// the warm instance.
#[derive(Clone)]
pub struct Function {
    pub(crate) inner: Arc<FunctionInner>,
}

pub(crate) struct FunctionInner {
    pub(crate) host: Host,
    pub(crate) config: FunctionConfig,
    pub(crate) pre: HandlerPre<State>,
    pub(crate) runtime: Option<String>,
    /// The files the component carries, unpacked, mounted read-only.
    pub(crate) files: Option<crate::files::Files>,
    pub(crate) log_stream_name: String,
    /// Computed once at load, not per invocation: the function's ARN, log
    /// group and environment (without `_X_AMZN_TRACE_ID`, which varies).
    pub(crate) arn: String,
    pub(crate) log_group_name: String,
    pub(crate) environment: Arc<Vec<(String, String)>>,
    /// The outbound grants, shared by the function's sandboxes.
    pub(crate) grants: Arc<AllowedHosts>,
    pub(crate) load: LoadInfo,
    /// Load time not yet reported: the first cold start pays it in its
    /// `Init Duration`, as Lambda's first invocation pays the runtime's init.
    pub(crate) unreported_load: Mutex<Option<Duration>>,
    pub(crate) warm: Mutex<Option<WarmInstance>>,
}

impl Function {
    /// The function's configuration.
    pub fn config(&self) -> &FunctionConfig {
        &self.inner.config
    }

    /// The language runtime the component was built with (`rust`,
    /// `python3.14`, ...), when its build recorded one.
    pub fn runtime(&self) -> Option<&str> {
        self.inner.runtime.as_deref()
    }

    /// How the component was loaded.
    pub fn load_info(&self) -> LoadInfo {
        self.inner.load
    }

    /// The log stream name of this function's execution environment.
    pub fn log_stream_name(&self) -> &str {
        &self.inner.log_stream_name
    }
}

impl Host {
    /// Loads a function: reads its component, compiles it or loads the cached
    /// artifact, and links it once into a pre-instance that every invocation
    /// instantiates from.
    ///
    /// This does CPU-heavy work (compiling takes seconds for large
    /// components); from async code, call it in `spawn_blocking`.
    pub fn load(&self, config: FunctionConfig) -> Result<Function, LoadError> {
        config.validate()?;
        let started = Instant::now();
        let path = config.component.clone();
        let bytes = std::fs::read(&path).map_err(|source| LoadError::Read {
            path: path.clone(),
            source,
        })?;
        check_is_component(&path, &bytes)?;
        let engine = &self.shared.engine.engine;
        let (component, source) =
            self.shared
                .cache
                .load(engine, &bytes)
                .map_err(|error| LoadError::Compile {
                    path: path.clone(),
                    reason: format!("{error:#}"),
                })?;
        // Read only once the component has been validated by compiling it
        // (or matched to a cached artifact of these exact bytes).
        let runtime = marker::read_runtime(&bytes);
        let files = crate::files::unpack(&bytes, self.shared.cache.dir()).map_err(|error| {
            LoadError::Files {
                path: path.clone(),
                reason: format!("{error:#}"),
            }
        })?;
        let pre = self.link(&path, &component)?;
        let duration = started.elapsed();
        let log_stream_name = environment::new_log_stream_name(&config.version);
        Ok(Function {
            inner: Arc::new(FunctionInner {
                host: self.clone(),
                arn: config.arn(),
                log_group_name: config.log_group_name(),
                environment: Arc::new(environment::variables(
                    &config,
                    &log_stream_name,
                    runtime.as_deref(),
                    None,
                )),
                log_stream_name,
                grants: Arc::new(config.allowed_outbound_hosts.clone()),
                config,
                pre,
                runtime,
                files,
                load: LoadInfo { source, duration },
                unreported_load: Mutex::new(Some(duration)),
                warm: Mutex::new(None),
            }),
        })
    }

    fn link(&self, path: &Path, component: &Component) -> Result<HandlerPre<State>, LoadError> {
        let unknown_world = |reason: String| LoadError::UnknownWorld {
            path: path.to_path_buf(),
            reason,
        };
        let engine = &self.shared.engine.engine;
        let component_type = component.component_type();
        // A component built against another version of the contract says so
        // in its import names: name the version rather than a missing import.
        for (name, _) in component_type.imports(engine) {
            if name.starts_with("wasm-lambda:handler/") && !KNOWN_INTERFACES.contains(&name) {
                return Err(unknown_world(format!(
                    "it imports `{name}`, from a contract version this host does not speak"
                )));
            }
        }
        let exports: Vec<String> = component_type
            .exports(engine)
            .filter(|(_, item)| matches!(item.ty, ComponentItem::ComponentFunc(_)))
            .map(|(name, _)| format!("`{name}`"))
            .collect();
        if !exports.iter().any(|name| name == "`handle`") {
            let found = if exports.is_empty() {
                "no functions".to_string()
            } else {
                exports.join(", ")
            };
            return Err(unknown_world(format!(
                "it exports {found} instead of `handle`"
            )));
        }
        let instance_pre: InstancePre<State> = self
            .shared
            .linker
            .instantiate_pre(component)
            .map_err(|error| unknown_world(format!("{error:#}")))?;
        HandlerPre::new(instance_pre).map_err(|error| unknown_world(format!("{error:#}")))
    }
}

/// Tells a component from a core module or a file that is not WebAssembly.
fn check_is_component(path: &Path, bytes: &[u8]) -> Result<(), LoadError> {
    let not_a_component = |reason: &str| LoadError::NotAComponent {
        path: path.to_path_buf(),
        reason: reason.to_string(),
    };
    if wasmparser::Parser::is_component(bytes) {
        Ok(())
    } else if wasmparser::Parser::is_core_wasm(bytes) {
        Err(not_a_component(
            "it is a core WebAssembly module; build it as a component \
             (`wasm-lambda build`, or `--target wasm32-wasip2` for Rust)",
        ))
    } else {
        Err(not_a_component("it is not WebAssembly at all"))
    }
}
