//! The environment variables a function sees: Lambda's own, then the
//! function's configured ones. Nothing of the host's environment leaks in.

use std::collections::BTreeMap;
use std::sync::Arc;

use anyhow::Result;
use wasmtime::component::Linker;

use crate::config::FunctionConfig;
use crate::outbound::{CREDENTIALS_URI, CREDENTIALS_URI_VARIABLE};

/// The variable that holds the invocation's X-Ray trace header.
pub(crate) const TRACE_VARIABLE: &str = "_X_AMZN_TRACE_ID";

/// A sandbox's environment: the function's variables, made once at load,
/// and the invocation's trace header where Lambda puts it. The list the
/// guest sees is put together only when the guest reads it
/// (`wasi:cli/environment`'s `get-environment`, or the contract's
/// `environment`): most cold starts never read it, and copying the twenty
/// or so variables into every sandbox, twice, was about a third of the
/// host's own overhead on a small handler's cold start (the `bare_wasmtime`
/// benchmarks of `benches/benches/cold_start.rs`, in `benches/README.md`).
#[derive(Clone)]
pub(crate) struct SandboxEnvironment {
    variables: Arc<Vec<(String, String)>>,
    /// The trace header, and the index of the variable it goes before.
    trace: Option<(usize, String)>,
}

impl SandboxEnvironment {
    /// Exactly `variables`.
    pub(crate) fn new(variables: Arc<Vec<(String, String)>>) -> SandboxEnvironment {
        SandboxEnvironment {
            variables,
            trace: None,
        }
    }

    /// `variables` with [`TRACE_VARIABLE`] set to `header`, placed before
    /// the last `configured` of them (the function's own).
    pub(crate) fn with_trace(
        variables: Arc<Vec<(String, String)>>,
        configured: usize,
        header: &str,
    ) -> SandboxEnvironment {
        let at = variables.len().saturating_sub(configured);
        SandboxEnvironment {
            variables,
            trace: Some((at, header.to_string())),
        }
    }

    /// The function's variables, without the trace header.
    pub(crate) fn variables(&self) -> &[(String, String)] {
        &self.variables
    }

    /// The whole list, in the order the guest sees it.
    pub(crate) fn to_vec(&self) -> Vec<(String, String)> {
        let Some((at, header)) = &self.trace else {
            return self.variables.as_ref().clone();
        };
        let mut list = Vec::with_capacity(self.variables.len() + 1);
        list.extend_from_slice(&self.variables[..*at]);
        list.push((TRACE_VARIABLE.to_string(), header.clone()));
        list.extend_from_slice(&self.variables[*at..]);
        list
    }
}

/// A store's data that holds a sandbox's environment.
pub(crate) trait EnvironmentView: Send + 'static {
    fn sandbox_environment(&self) -> &SandboxEnvironment;
}

/// The `wasi:cli/environment` interface the host links (`wasmtime-wasi`'s).
const CLI_ENVIRONMENT: &str = "wasi:cli/environment@0.2.12";

/// Replaces `get-environment` of `wasi:cli/environment` in `linker` with one
/// that answers the sandbox's [`SandboxEnvironment`], so that the WASI
/// context holds no copy of it.
pub(crate) fn add_to_linker<T: EnvironmentView>(linker: &mut Linker<T>) -> Result<()> {
    linker.allow_shadowing(true);
    let mut environment = linker.instance(CLI_ENVIRONMENT)?;
    environment.func_wrap(
        "get-environment",
        |store: wasmtime::StoreContextMut<'_, T>,
         (): ()|
         -> wasmtime::Result<(Vec<(String, String)>,)> {
            Ok((store.data().sandbox_environment().to_vec(),))
        },
    )?;
    linker.allow_shadowing(false);
    Ok(())
}

/// The variables Lambda sets itself; a function's configuration may not
/// override them (Lambda refuses such a configuration too).
pub const RESERVED_VARIABLES: &[&str] = &[
    "_HANDLER",
    "_X_AMZN_TRACE_ID",
    "AWS_REGION",
    "AWS_DEFAULT_REGION",
    "AWS_EXECUTION_ENV",
    "AWS_LAMBDA_FUNCTION_NAME",
    "AWS_LAMBDA_FUNCTION_MEMORY_SIZE",
    "AWS_LAMBDA_FUNCTION_VERSION",
    "AWS_LAMBDA_INITIALIZATION_TYPE",
    "AWS_LAMBDA_LOG_GROUP_NAME",
    "AWS_LAMBDA_LOG_STREAM_NAME",
    // The logging controls: `log_format` and `application_log_level`.
    "AWS_LAMBDA_LOG_FORMAT",
    "AWS_LAMBDA_LOG_LEVEL",
    "AWS_LAMBDA_RUNTIME_API",
    "LAMBDA_TASK_ROOT",
    "LAMBDA_RUNTIME_DIR",
    "TZ",
    // The execution role's credentials: `aws_credentials`, not `environment`.
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
];

/// The execution role's credentials as variables: each sandbox's own, never
/// in the init phase's environment (`without_credentials`).
pub(crate) const CREDENTIAL_VARIABLES: [&str; 3] = [
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
];

/// The environment the init phase runs in: the function's, without the
/// credentials. What the init phase leaves behind is snapshotted, written to
/// the cache and keyed by this environment, so rotated credentials need no
/// new snapshot and no credential is ever written
/// (`faults::credentials_never_enter_the_init_phase_and_one_snapshot_serves_every_set`).
pub(crate) fn without_credentials(variables: &[(String, String)]) -> Vec<(String, String)> {
    variables
        .iter()
        .filter(|(name, _)| !CREDENTIAL_VARIABLES.contains(&name.as_str()))
        .cloned()
        .collect()
}

/// Lambda's limit on the total size of a function's configured variables.
pub const MAX_CONFIGURED_BYTES: usize = 4096;

/// Checks a function's configured variables the way Lambda does.
pub fn validate(configured: &BTreeMap<String, String>) -> Result<(), String> {
    let mut total = 0;
    for (key, value) in configured {
        if RESERVED_VARIABLES.contains(&key.as_str()) {
            return Err(format!(
                "environment variable {key} is reserved by Lambda and cannot be configured"
            ));
        }
        if key.is_empty() || key.contains('=') || key.contains('\0') || value.contains('\0') {
            return Err(format!("invalid environment variable name {key:?}"));
        }
        total += key.len() + value.len();
    }
    if total > MAX_CONFIGURED_BYTES {
        return Err(format!(
            "environment variables take {total} bytes, more than Lambda's limit of {MAX_CONFIGURED_BYTES}"
        ));
    }
    Ok(())
}

/// The function's whole environment, in the order Lambda's variables are
/// documented, then the configured ones. Each invocation adds its trace
/// header ([`TRACE_VARIABLE`]) before the configured ones.
pub(crate) fn variables(
    config: &FunctionConfig,
    log_stream_name: &str,
    runtime: Option<&str>,
) -> Vec<(String, String)> {
    let mut vars: Vec<(String, String)> = vec![
        ("_HANDLER".into(), config.handler_name()),
        ("AWS_REGION".into(), config.region.clone()),
        ("AWS_DEFAULT_REGION".into(), config.region.clone()),
    ];
    if let Some(runtime) = runtime {
        vars.push(("AWS_EXECUTION_ENV".into(), format!("AWS_Lambda_{runtime}")));
    }
    vars.extend([
        ("AWS_LAMBDA_FUNCTION_NAME".into(), config.name.clone()),
        (
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE".into(),
            config.memory_mb.to_string(),
        ),
        ("AWS_LAMBDA_FUNCTION_VERSION".into(), config.version.clone()),
        ("AWS_LAMBDA_INITIALIZATION_TYPE".into(), "on-demand".into()),
        ("AWS_LAMBDA_LOG_GROUP_NAME".into(), config.log_group_name()),
        ("AWS_LAMBDA_LOG_STREAM_NAME".into(), log_stream_name.into()),
    ]);
    vars.extend(config.logging.variables());
    vars.extend([
        ("LAMBDA_TASK_ROOT".into(), "/var/task".into()),
        ("TZ".into(), "UTC".into()),
    ]);
    if let Some(credentials) = &config.aws_credentials {
        vars.push((
            "AWS_ACCESS_KEY_ID".into(),
            credentials.access_key_id.clone(),
        ));
        vars.push((
            "AWS_SECRET_ACCESS_KEY".into(),
            credentials.secret_access_key.clone(),
        ));
        if let Some(token) = &credentials.session_token {
            vars.push(("AWS_SESSION_TOKEN".into(), token.clone()));
        }
        vars.push((CREDENTIALS_URI_VARIABLE.into(), CREDENTIALS_URI.into()));
    }
    vars.extend(
        config
            .environment
            .iter()
            .map(|(key, value)| (key.clone(), value.clone())),
    );
    vars
}

/// A log stream name as Lambda makes them: `YYYY/MM/DD/[$LATEST]<32 hex>`.
pub(crate) fn new_log_stream_name(version: &str) -> String {
    let now = humantime::format_rfc3339(std::time::SystemTime::now()).to_string();
    let date = now[..10].replace('-', "/");
    format!("{date}/[{version}]{}", uuid::Uuid::new_v4().simple())
}

/// A new X-Ray trace header in the form Lambda gives an invocation that
/// arrives without one: `Root=1-<the time, 8 hex>-<96 random bits, 24
/// hex>;Parent=<64 random bits, 16 hex>;Sampled=0`.
pub fn new_trace_header() -> String {
    let seconds = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |since| since.as_secs());
    // A version 4 UUID has 122 random bits; the version (bits 76-79) and
    // variant (bits 62-63) are left out.
    let random = || {
        let bits = uuid::Uuid::new_v4().as_u128();
        ((bits >> 80) << 48) | (bits & ((1 << 48) - 1))
    };
    let (root, parent) = (random(), random());
    format!(
        "Root=1-{:08x}-{:024x};Parent={:016x};Sampled=0",
        seconds as u32, root, parent as u64
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_new_trace_header_has_lambdas_shape_and_is_new_each_time() {
        let header = new_trace_header();
        let parts: Vec<&str> = header.split(';').collect();
        assert_eq!(parts.len(), 3, "{header}");
        let root = parts[0].strip_prefix("Root=1-").expect(&header);
        let (time, random) = root.split_once('-').expect(&header);
        let hex = |text: &str, length: usize| {
            text.len() == length && text.bytes().all(|byte| byte.is_ascii_hexdigit())
        };
        assert!(hex(time, 8) && hex(random, 24), "{header}");
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs();
        assert!(now.abs_diff(u64::from_str_radix(time, 16).unwrap()) < 5);
        let parent = parts[1].strip_prefix("Parent=").expect(&header);
        assert!(hex(parent, 16), "{header}");
        assert_eq!(parts[2], "Sampled=0");
        assert_ne!(new_trace_header(), header);
    }

    #[test]
    fn log_stream_name_has_lambdas_shape() {
        let name = new_log_stream_name("$LATEST");
        let (date, rest) = name.split_at(10);
        assert_eq!(date.len(), 10);
        assert_eq!(&date[4..5], "/");
        assert!(rest.starts_with("/[$LATEST]"));
        assert_eq!(rest.len(), "/[$LATEST]".len() + 32);
    }

    #[test]
    fn reserved_and_oversized_variables_are_refused() {
        let mut config = FunctionConfig::new("f", "f.wasm");
        config.environment.insert("AWS_REGION".into(), "x".into());
        assert!(
            validate(&config.environment)
                .unwrap_err()
                .contains("reserved")
        );
        config.environment.clear();
        config.environment.insert("BIG".into(), "x".repeat(5000));
        assert!(validate(&config.environment).unwrap_err().contains("4096"));
        config.environment.clear();
        config.environment.insert("OK".into(), "yes".into());
        assert!(validate(&config.environment).is_ok());
    }
}
