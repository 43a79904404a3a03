//! A function's configuration, as Lambda's `CreateFunction` takes it, and
//! Lambda's limits on it.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use crate::error::LoadError;
use crate::grants::AllowedHosts;
use crate::logging::LoggingConfig;

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
    /// Lambda's `LoggingConfig`: the log format (Text by default) and, with
    /// JSON, the application and system log levels.
    pub logging: LoggingConfig,
}

/// A read-only host folder in the sandbox.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mount {
    /// The folder on the host.
    pub source: PathBuf,
    /// Where the handler sees it (an absolute path, such as `/opt`).
    pub destination: String,
}

impl<'de> serde::Deserialize<'de> for Mount {
    /// `{ source = "layer", destination = "/opt" }`, or `"layer:/opt"` as
    /// the flag and the variable write it.
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        #[derive(serde::Deserialize)]
        #[serde(deny_unknown_fields)]
        struct Table {
            source: PathBuf,
            destination: String,
        }
        #[derive(serde::Deserialize)]
        #[serde(untagged)]
        enum Form {
            Text(String),
            Table(Table),
        }
        match Form::deserialize(deserializer)? {
            Form::Text(text) => text.parse().map_err(serde::de::Error::custom),
            Form::Table(Table {
                source,
                destination,
            }) => Ok(Mount {
                source,
                destination,
            }),
        }
    }
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
            logging: LoggingConfig::default(),
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

    /// Checks the settings against Lambda's limits (the environment is
    /// checked by [`crate::environment`]).
    pub(crate) fn validate(&self) -> Result<(), LoadError> {
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
        self.logging.validate().map_err(LoadError::InvalidConfig)?;
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
        Ok(())
    }
}
