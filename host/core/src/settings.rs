//! A function's settings as people write them: the flags of `wasm-lambda
//! invoke`, the keys of a `[[function]]` table in `serve`'s TOML file, and
//! the `WASM_LAMBDA_*` variables of the custom runtime. Each setting is one
//! field of [`FunctionSettings`], and [`FunctionSettings::apply`] is the one
//! place it becomes part of a [`FunctionConfig`].
//!
//! Adding a setting is a field here (its doc comment is the flag's help, its
//! name the TOML key and, in capitals after `WASM_LAMBDA_`, the variable),
//! its line in [`FunctionSettings::apply`], and a line in
//! `examples/serve/functions.toml`, which
//! `settings::the_example_configuration_names_every_key` holds to naming
//! every key (`host/tests/it/settings.rs`).
//!
//! The command line derives its flags from the same struct with `clap`
//! (the `clap` feature, which only the CLI turns on).

use serde::Deserialize;
use serde::de::{self, Deserializer, IntoDeserializer as _};

use crate::config::{AwsCredentials, FunctionConfig, Mount, timeout_from_secs};
use crate::grants::AllowedHosts;
use crate::logging::{LogFormat, LogLevel};

/// The settings of one function, each optional: what is not given keeps the
/// value [`FunctionConfig::new`] starts with (Lambda's defaults).
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[cfg_attr(feature = "clap", derive(clap::Args))]
#[serde(default, deny_unknown_fields)]
pub struct FunctionSettings {
    /// The `_HANDLER` value [default: the component's file name].
    #[cfg_attr(feature = "clap", arg(long, env = "WASM_LAMBDA_HANDLER"))]
    pub handler: Option<String>,
    /// Memory size in MB, 128 to 10240 [default: 128].
    #[cfg_attr(
        feature = "clap",
        arg(long, value_name = "MB", env = "WASM_LAMBDA_MEMORY")
    )]
    pub memory: Option<u32>,
    /// Timeout in seconds, fractions allowed, up to 900 [default: 3].
    #[cfg_attr(
        feature = "clap",
        arg(long, value_name = "SECONDS", env = "WASM_LAMBDA_TIMEOUT")
    )]
    pub timeout: Option<f64>,
    /// A function environment variable; repeat for more.
    #[cfg_attr(
        feature = "clap",
        arg(long = "env", value_name = "KEY=VALUE", value_parser = parse_key_value)
    )]
    #[serde(deserialize_with = "pairs_from_table")]
    pub environment: Vec<(String, String)>,
    /// Reuse one sandbox for consecutive invocations, as Lambda reuses an
    /// execution environment [default: a fresh sandbox per invocation].
    #[cfg_attr(feature = "clap", arg(long, env = "WASM_LAMBDA_REUSE_INSTANCES"))]
    pub reuse_instances: bool,
    /// Let the handler connect to PATTERN (`scheme://host[:port]`, scheme
    /// http, https, tcp, udp or *); repeat for more [default: nothing].
    #[cfg_attr(
        feature = "clap",
        arg(
            long = "allow-outbound",
            value_name = "PATTERN",
            env = "WASM_LAMBDA_ALLOWED_OUTBOUND_HOSTS",
            value_delimiter = ','
        )
    )]
    #[serde(deserialize_with = "optional_list")]
    pub allowed_outbound_hosts: Option<Vec<String>>,
    /// At most this many outbound requests in flight per invocation
    /// [default: 16].
    #[cfg_attr(
        feature = "clap",
        arg(long, value_name = "N", env = "WASM_LAMBDA_MAX_OUTBOUND_CONNECTIONS")
    )]
    pub max_outbound_connections: Option<usize>,
    /// The size of /tmp in MB, 512 to 10240 [default: 512].
    #[cfg_attr(
        feature = "clap",
        arg(long, value_name = "MB", env = "WASM_LAMBDA_EPHEMERAL_STORAGE")
    )]
    pub ephemeral_storage: Option<u32>,
    /// Mount a host folder read-only, as a layer under /opt; repeat for more.
    #[cfg_attr(
        feature = "clap",
        arg(
            long = "mount",
            value_name = "HOST_DIR:GUEST_DIR",
            env = "WASM_LAMBDA_FILES",
            value_delimiter = ','
        )
    )]
    #[serde(deserialize_with = "list")]
    pub files: Vec<Mount>,
    /// Give the handler this process's AWS_ACCESS_KEY_ID,
    /// AWS_SECRET_ACCESS_KEY and AWS_SESSION_TOKEN (`"host"` in the TOML).
    #[cfg_attr(feature = "clap", arg(long, env = "WASM_LAMBDA_AWS_CREDENTIALS"))]
    #[serde(deserialize_with = "host_credentials")]
    pub aws_credentials: bool,
    /// The log format, Text or JSON (Lambda's LoggingConfig.LogFormat)
    /// [default: Text].
    #[cfg_attr(
        feature = "clap",
        arg(long, value_name = "FORMAT", env = "WASM_LAMBDA_LOG_FORMAT")
    )]
    #[serde(deserialize_with = "parsed")]
    pub log_format: Option<LogFormat>,
    /// With the JSON format: the lowest level of the function's own log
    /// records kept, TRACE, DEBUG, INFO, WARN, ERROR or FATAL [default: INFO].
    #[cfg_attr(
        feature = "clap",
        arg(long, value_name = "LEVEL", env = "WASM_LAMBDA_APPLICATION_LOG_LEVEL")
    )]
    #[serde(deserialize_with = "parsed")]
    pub application_log_level: Option<LogLevel>,
    /// With the JSON format: the lowest level of Lambda's system records
    /// kept, DEBUG, INFO or WARN [default: INFO].
    #[cfg_attr(
        feature = "clap",
        arg(long, value_name = "LEVEL", env = "WASM_LAMBDA_SYSTEM_LOG_LEVEL")
    )]
    #[serde(deserialize_with = "parsed")]
    pub system_log_level: Option<LogLevel>,
}

/// Where settings came from, so that an error names the setting as its
/// writer wrote it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SettingsSource {
    /// Command-line flags (`--timeout`).
    Flags,
    /// A TOML table (`timeout`).
    Toml,
    /// `WASM_LAMBDA_*` variables (`WASM_LAMBDA_TIMEOUT`).
    Environment,
}

impl SettingsSource {
    /// How this source names the setting `key`.
    pub fn name(self, key: &str) -> String {
        match self {
            SettingsSource::Flags => format!("--{}", key.replace('_', "-")),
            SettingsSource::Toml => key.to_string(),
            SettingsSource::Environment => format!("WASM_LAMBDA_{}", key.to_ascii_uppercase()),
        }
    }
}

impl FunctionSettings {
    /// Every setting's key, as the TOML file writes it (`memory`,
    /// `allowed_outbound_hosts`, ...), in the order of the struct's fields.
    pub fn keys() -> &'static [&'static str] {
        struct_fields::<FunctionSettings>()
    }

    /// Reads the settings given as `WASM_LAMBDA_<KEY>` variables through
    /// `get` (the custom runtime's environment): numbers and booleans as
    /// written, lists comma-separated. The function's environment variables
    /// are not among them (the runtime's are the function's).
    pub fn from_variables(get: impl Fn(&str) -> Option<String>) -> anyhow::Result<Self> {
        let mut table = serde_json::Map::new();
        for key in Self::keys().iter().filter(|key| **key != "environment") {
            let name = SettingsSource::Environment.name(key);
            let Some(text) = get(&name).filter(|text| !text.is_empty()) else {
                continue;
            };
            // A number or a boolean as JSON reads it; anything else is text.
            let value = match serde_json::from_str::<serde_json::Value>(&text) {
                Ok(value @ (serde_json::Value::Number(_) | serde_json::Value::Bool(_))) => value,
                _ => serde_json::Value::String(text),
            };
            table.insert(key.to_string(), value);
        }
        serde_json::from_value(serde_json::Value::Object(table))
            .map_err(|error| anyhow::anyhow!("WASM_LAMBDA_* settings: {error}"))
    }

    /// Sets what is given on `config`, checked against Lambda's limits (the
    /// rest is checked when the function is loaded); an error names the
    /// setting as `source` writes it.
    pub fn apply(&self, config: &mut FunctionConfig, source: SettingsSource) -> anyhow::Result<()> {
        if let Some(handler) = &self.handler {
            config.handler = Some(handler.clone());
        }
        if let Some(memory) = self.memory {
            config.memory_mb = memory;
        }
        if let Some(timeout) = self.timeout {
            config.timeout =
                timeout_from_secs(timeout, &source.name("timeout")).map_err(anyhow::Error::msg)?;
        }
        config.environment.extend(self.environment.iter().cloned());
        if self.reuse_instances {
            config.reuse_instances = true;
        }
        if let Some(hosts) = &self.allowed_outbound_hosts {
            config.allowed_outbound_hosts =
                AllowedHosts::parse(hosts).map_err(anyhow::Error::msg)?;
        }
        if let Some(connections) = self.max_outbound_connections {
            config.max_outbound_connections = connections;
        }
        if let Some(storage) = self.ephemeral_storage {
            config.ephemeral_storage_mb = storage;
        }
        config.mounts.extend(self.files.iter().cloned());
        if self.aws_credentials {
            config.aws_credentials = Some(AwsCredentials::from_host().ok_or_else(|| {
                anyhow::anyhow!(
                    "{}: AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY are not both set",
                    source.name("aws_credentials")
                )
            })?);
        }
        if let Some(format) = self.log_format {
            config.logging.format = format;
        }
        for (key, level) in [
            ("application_log_level", self.application_log_level),
            ("system_log_level", self.system_log_level),
        ] {
            // Lambda refuses levels with the Text format too.
            if level.is_some() && !config.logging.is_json() {
                anyhow::bail!(
                    "{} needs the JSON log format ({} JSON): log levels filter JSON records only",
                    source.name(key),
                    source.name("log_format")
                );
            }
        }
        if let Some(level) = self.application_log_level {
            config.logging.application_level = level;
        }
        if let Some(level) = self.system_log_level {
            config.logging.system_level = level;
        }
        config
            .logging
            .validate()
            .map_err(|error| anyhow::anyhow!("{}: {error}", source.name("system_log_level")))?;
        Ok(())
    }

    /// Makes relative folders of `files` relative to `base` (a
    /// configuration file's folder).
    pub fn resolve_paths(&mut self, base: &std::path::Path) {
        for mount in &mut self.files {
            if mount.source.is_relative() {
                mount.source = base.join(&mount.source);
            }
        }
    }
}

/// Parses `KEY=VALUE`.
pub fn parse_key_value(text: &str) -> Result<(String, String), String> {
    match text.split_once('=') {
        Some((key, value)) if !key.is_empty() => Ok((key.to_string(), value.to_string())),
        _ => Err(format!("expected KEY=VALUE, got {text:?}")),
    }
}

/// The field names serde's derive gives a struct: it passes them to the
/// deserializer, which this one records and then refuses.
pub fn struct_fields<'de, T: Deserialize<'de>>() -> &'static [&'static str] {
    struct Fields(Option<&'static [&'static str]>);

    #[derive(Debug)]
    struct Stop;
    impl std::fmt::Display for Stop {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("fields recorded")
        }
    }
    impl std::error::Error for Stop {}
    impl de::Error for Stop {
        fn custom<M: std::fmt::Display>(_: M) -> Self {
            Stop
        }
    }

    impl<'de> Deserializer<'de> for &mut Fields {
        type Error = Stop;

        fn deserialize_any<V: de::Visitor<'de>>(self, _: V) -> Result<V::Value, Stop> {
            Err(Stop)
        }

        fn deserialize_struct<V: de::Visitor<'de>>(
            self,
            _: &'static str,
            fields: &'static [&'static str],
            _: V,
        ) -> Result<V::Value, Stop> {
            self.0 = Some(fields);
            Err(Stop)
        }

        serde::forward_to_deserialize_any! {
            bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string
            bytes byte_buf option unit unit_struct newtype_struct seq tuple
            tuple_struct map enum identifier ignored_any
        }
    }

    let mut fields = Fields(None);
    let _ = T::deserialize(&mut fields);
    fields.0.unwrap_or(&[])
}

/// `{ KEY = "value" }` as pairs.
fn pairs_from_table<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Vec<(String, String)>, D::Error> {
    let table = std::collections::BTreeMap::<String, String>::deserialize(deserializer)?;
    Ok(table.into_iter().collect())
}

/// A list, or one text of comma-separated items (as a variable holds it).
fn list<'de, D: Deserializer<'de>, T: Deserialize<'de>>(
    deserializer: D,
) -> Result<Vec<T>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum OneOrMany<T> {
        Text(String),
        Many(Vec<T>),
    }
    match OneOrMany::<T>::deserialize(deserializer)? {
        OneOrMany::Many(items) => Ok(items),
        OneOrMany::Text(text) => text
            .split(',')
            .map(str::trim)
            .filter(|item| !item.is_empty())
            .map(|item| T::deserialize(item.to_string().into_deserializer()))
            .collect(),
    }
}

fn optional_list<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<Vec<String>>, D::Error> {
    list(deserializer).map(Some)
}

/// A setting written as text and parsed (`log_format = "JSON"`).
fn parsed<'de, D, T>(deserializer: D) -> Result<Option<T>, D::Error>
where
    D: Deserializer<'de>,
    T: std::str::FromStr<Err = String>,
{
    let text = String::deserialize(deserializer)?;
    text.parse().map(Some).map_err(de::Error::custom)
}

/// `aws_credentials = "host"` (the TOML's word) or a boolean.
fn host_credentials<'de, D: Deserializer<'de>>(deserializer: D) -> Result<bool, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Credentials {
        Flag(bool),
        Word(String),
    }
    match Credentials::deserialize(deserializer)? {
        Credentials::Flag(flag) => Ok(flag),
        Credentials::Word(word) if word == "host" => Ok(true),
        Credentials::Word(other) => Err(de::Error::custom(format!(
            "aws_credentials must be \"host\", got {other:?}"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_keys_are_the_fields_as_the_toml_writes_them() {
        let keys = FunctionSettings::keys();
        assert_eq!(keys.first(), Some(&"handler"));
        assert!(keys.contains(&"allowed_outbound_hosts"), "{keys:?}");
        assert!(keys.contains(&"files"), "{keys:?}");
        assert_eq!(keys.len(), 13, "{keys:?}");
    }

    #[test]
    fn variables_read_numbers_booleans_and_lists() {
        let settings = FunctionSettings::from_variables(|name| {
            Some(
                match name {
                    "WASM_LAMBDA_MEMORY" => "256",
                    "WASM_LAMBDA_TIMEOUT" => "1.5",
                    "WASM_LAMBDA_REUSE_INSTANCES" => "true",
                    "WASM_LAMBDA_ALLOWED_OUTBOUND_HOSTS" => "https://a.example, http://b:80",
                    "WASM_LAMBDA_FILES" => "layer:/opt,data:/mnt/data",
                    _ => return None,
                }
                .to_string(),
            )
        })
        .unwrap();
        assert_eq!(settings.memory, Some(256));
        assert_eq!(settings.timeout, Some(1.5));
        assert!(settings.reuse_instances);
        assert_eq!(
            settings.allowed_outbound_hosts.as_deref(),
            Some(&["https://a.example".to_string(), "http://b:80".to_string()][..])
        );
        assert_eq!(settings.files.len(), 2);
        assert_eq!(settings.files[1].destination, "/mnt/data");
        let error = FunctionSettings::from_variables(|name| {
            (name == "WASM_LAMBDA_MEMORY").then(|| "lots".to_string())
        })
        .unwrap_err();
        assert!(error.to_string().contains("WASM_LAMBDA_"), "{error}");
    }

    #[test]
    fn errors_name_the_setting_as_its_source_writes_it() {
        let settings = FunctionSettings {
            timeout: Some(1e300),
            ..FunctionSettings::default()
        };
        let mut config = FunctionConfig::new("f", "f.wasm");
        for (source, name) in [
            (SettingsSource::Flags, "--timeout"),
            (SettingsSource::Toml, "timeout 1e300 s"),
            (SettingsSource::Environment, "WASM_LAMBDA_TIMEOUT"),
        ] {
            let error = settings.apply(&mut config, source).unwrap_err().to_string();
            assert!(error.contains(name), "{error}");
        }
    }

    #[test]
    fn log_levels_need_the_json_format_as_on_lambda() {
        let toml = |text: &str| -> anyhow::Result<FunctionConfig> {
            let settings: FunctionSettings = toml_like(text);
            let mut config = FunctionConfig::new("f", "f.wasm");
            settings.apply(&mut config, SettingsSource::Toml)?;
            Ok(config)
        };
        let config = toml(r#"{"log_format": "json", "application_log_level": "warn"}"#).unwrap();
        assert_eq!(config.logging.format, LogFormat::Json);
        assert_eq!(config.logging.application_level, LogLevel::Warn);
        assert_eq!(config.logging.system_level, LogLevel::Info);
        let error = toml(r#"{"application_log_level": "DEBUG"}"#).unwrap_err();
        assert!(
            error
                .to_string()
                .contains("application_log_level needs the JSON log format"),
            "{error}"
        );
        let error = toml(r#"{"log_format": "JSON", "system_log_level": "ERROR"}"#).unwrap_err();
        assert!(error.to_string().contains("DEBUG, INFO or WARN"), "{error}");
        assert!(serde_json::from_str::<FunctionSettings>(r#"{"log_format": "XML"}"#).is_err());
    }

    fn toml_like(text: &str) -> FunctionSettings {
        serde_json::from_str(text).unwrap()
    }
}
