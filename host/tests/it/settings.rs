//! One struct, `FunctionSettings`, is `invoke`'s flags, the keys of a
//! `[[function]]` table and the custom runtime's `WASM_LAMBDA_*` variables.

use std::collections::BTreeSet;

use clap::{Args as _, FromArgMatches as _};
use wasm_lambda::server::{FunctionSpec, RouteSpec, ServerConfig};
use wasm_lambda::{FunctionConfig, FunctionSettings, SettingsSource, struct_fields};

use crate::common::repo_root;

/// The keys `examples/serve/functions.toml` sets, or shows in a comment as
/// `# key = ...`, in its top level and its `[[function]]` tables.
fn example_keys() -> (BTreeSet<String>, BTreeSet<String>, BTreeSet<String>) {
    let text = std::fs::read_to_string(repo_root().join("examples/serve/functions.toml")).unwrap();
    let table: toml::Table = toml::from_str(&text).unwrap();
    let mut top: BTreeSet<String> = table.keys().cloned().collect();
    let routes = table["route"].as_array().unwrap().iter();
    let route_keys: BTreeSet<String> = routes
        .flat_map(|entry| entry.as_table().unwrap().keys().cloned())
        .collect();
    let mut function: BTreeSet<String> = table["function"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|entry| entry.as_table().unwrap().keys().cloned())
        .collect();
    // A commented-out line names a key too; which table it belongs to is
    // where it stands (before the first `[[function]]`: the top level).
    let mut in_function = false;
    for line in text.lines() {
        if line.starts_with("[[") {
            in_function = line.starts_with("[[function]]");
        }
        if let Some(rest) = line.strip_prefix("# ")
            && let Some((key, _)) = rest.split_once(" = ")
            && key
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        {
            if in_function { &mut function } else { &mut top }.insert(key.to_string());
        }
    }
    (top, function, route_keys)
}

#[test]
fn the_example_configuration_names_every_key() {
    let (top, function, route) = example_keys();
    for key in struct_fields::<RouteSpec>() {
        assert!(
            route.contains(*key),
            "examples/serve/functions.toml does not show `{key}` in a [[route]]"
        );
    }
    for key in struct_fields::<ServerConfig>() {
        assert!(
            top.contains(*key),
            "examples/serve/functions.toml does not show `{key}`"
        );
    }
    for key in FunctionSpec::keys() {
        assert!(
            function.contains(key),
            "examples/serve/functions.toml does not show `{key}` in a [[function]]"
        );
    }
    assert!(FunctionSpec::keys().contains(&"allowed_outbound_hosts"));
}

/// Each setting's flag reads `WASM_LAMBDA_<KEY>` when it is not given (the
/// function's environment excepted: `--env` is repeated pairs), and every
/// field of the struct is a flag.
#[test]
fn every_setting_is_a_flag_that_reads_its_variable() {
    let command = FunctionSettings::augment_args(clap::Command::new("settings"));
    let ids: BTreeSet<&str> = command
        .get_arguments()
        .map(|argument| argument.get_id().as_str())
        .collect();
    let keys: BTreeSet<&str> = FunctionSettings::keys().iter().copied().collect();
    assert_eq!(ids, keys);
    for argument in command.get_arguments() {
        let key = argument.get_id().as_str();
        let expected = (key != "environment").then(|| SettingsSource::Environment.name(key));
        let variable = argument
            .get_env()
            .map(|name| name.to_string_lossy().into_owned());
        assert_eq!(variable, expected, "the variable of --{key}");
    }
}

/// The same settings written as flags, as a `[[function]]` table and as
/// variables are the same settings and make the same configuration.
#[test]
fn flags_toml_and_variables_are_the_same_settings() {
    let command = FunctionSettings::augment_args(clap::Command::new("settings"));
    let matches = command
        .try_get_matches_from([
            "settings",
            "--handler",
            "app.handler",
            "--memory",
            "256",
            "--timeout",
            "2.5",
            "--reuse-instances",
            "--allow-outbound",
            "https://*.amazonaws.com",
            "--allow-outbound",
            "tcp://db:5432",
            "--max-outbound-connections",
            "4",
            "--ephemeral-storage",
            "1024",
            "--mount",
            "layer:/opt",
        ])
        .unwrap();
    let flags = FunctionSettings::from_arg_matches(&matches).unwrap();
    let spec: FunctionSpec = toml::from_str(
        r#"
name = "f"
component = "f.wasm"
handler = "app.handler"
memory = 256
timeout = 2.5
reuse_instances = true
allowed_outbound_hosts = ["https://*.amazonaws.com", "tcp://db:5432"]
max_outbound_connections = 4
ephemeral_storage = 1024
files = [{ source = "layer", destination = "/opt" }]
"#,
    )
    .unwrap();
    let variables = FunctionSettings::from_variables(|name| {
        Some(
            match name {
                "WASM_LAMBDA_HANDLER" => "app.handler",
                "WASM_LAMBDA_MEMORY" => "256",
                "WASM_LAMBDA_TIMEOUT" => "2.5",
                "WASM_LAMBDA_REUSE_INSTANCES" => "true",
                "WASM_LAMBDA_ALLOWED_OUTBOUND_HOSTS" => "https://*.amazonaws.com,tcp://db:5432",
                "WASM_LAMBDA_MAX_OUTBOUND_CONNECTIONS" => "4",
                "WASM_LAMBDA_EPHEMERAL_STORAGE" => "1024",
                "WASM_LAMBDA_FILES" => "layer:/opt",
                _ => return None,
            }
            .to_string(),
        )
    })
    .unwrap();
    assert_eq!(flags, spec.settings);
    assert_eq!(flags, variables);
    let mut config = FunctionConfig::new("f", "f.wasm");
    flags.apply(&mut config, SettingsSource::Flags).unwrap();
    assert_eq!(config.memory_mb, 256);
    assert_eq!(config.timeout, std::time::Duration::from_millis(2500));
    assert!(config.reuse_instances);
    assert!(config.allowed_outbound_hosts.allows_name("tcp", "db", 5432));
    assert!(!config.allowed_outbound_hosts.allows_name("tcp", "db", 5433));
    assert_eq!(config.max_outbound_connections, 4);
    assert_eq!(config.ephemeral_storage_mb, 1024);
    assert_eq!(config.mounts[0].destination, "/opt");
    assert_eq!(config.handler.as_deref(), Some("app.handler"));
}

#[test]
fn an_unknown_key_of_a_function_is_refused_by_name() {
    let error =
        toml::from_str::<ServerConfig>("[[function]]\nname='a'\ncomponent='a.wasm'\nmemroy=5\n")
            .unwrap_err()
            .to_string();
    assert!(error.contains("unknown field `memroy`"), "{error}");
    assert!(error.contains("`memory`"), "{error}");
}
