//! `wasm-lambda deploy`: build a handler, zip its component and create or
//! update the function on a Lambda control plane (`wasm-lambda serve`'s),
//! then wait until it serves, for people without the AWS CLI.
//!
//! The calls are the ones `aws lambda` makes: `GetFunctionConfiguration`,
//! then `CreateFunction` (runtime `provided.al2023`, handler the
//! component's file) or `UpdateFunctionCode`, then the configuration is
//! polled as `aws lambda wait function-active-v2` / `function-updated-v2`
//! poll it.
//!
//! ```no_run
//! use wasm_lambda::deploy::{DeployOptions, deploy};
//!
//! let options = DeployOptions::new("examples/python/hello", "hello");
//! let deployed = deploy(&options, &mut |status| eprintln!("{status}"))?;
//! println!("{}", deployed.configuration["FunctionArn"]);
//! # anyhow::Ok(())
//! ```

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context as _, Result, bail};
use serde_json::{Value, json};

use crate::build::{BuildOptions, build};

/// The endpoint `wasm-lambda serve` listens on by default.
pub const DEFAULT_ENDPOINT: &str = "http://127.0.0.1:9000";

/// The role a created function gets unless one is given: the control plane
/// checks its shape only.
pub const DEFAULT_ROLE: &str = "arn:aws:iam::123456789012:role/wasm-lambda";

/// How long a function may take to become ready before `deploy` gives up.
const READY_TIMEOUT: Duration = Duration::from_secs(600);

/// What to deploy, and where.
#[derive(Debug, Clone)]
pub struct DeployOptions {
    /// A handler project's folder (built first) or a component (`.wasm`).
    pub path: PathBuf,
    /// The function's name.
    pub name: String,
    /// The control plane's base URL (`http://host:port`).
    pub endpoint: String,
    /// The execution role of a function that does not exist yet.
    pub role: String,
    /// How the folder is built (`handler`, `runtime`, `layers`, ...); its
    /// `dir` and `output` are set by `deploy`.
    pub build: BuildOptions,
}

impl DeployOptions {
    /// Deploys `path` as `name` to [`DEFAULT_ENDPOINT`] with [`DEFAULT_ROLE`].
    pub fn new(path: impl Into<PathBuf>, name: impl Into<String>) -> Self {
        let path = path.into();
        DeployOptions {
            build: BuildOptions::new(&path),
            path,
            name: name.into(),
            endpoint: DEFAULT_ENDPOINT.into(),
            role: DEFAULT_ROLE.into(),
        }
    }
}

/// A finished deployment.
#[derive(Debug, Clone)]
pub struct Deployed {
    /// Whether the function was created (else its code was updated).
    pub created: bool,
    /// The function's configuration once it serves the new code.
    pub configuration: Value,
}

/// Builds (for a folder), zips, creates or updates, and waits until the
/// function is `Active` with its last update `Successful`. A build error, a
/// refused request or a function that ends `Failed` is an error that says
/// why, in the control plane's words.
pub fn deploy(options: &DeployOptions, progress: &mut dyn FnMut(&str)) -> Result<Deployed> {
    let scratch = tempfile::tempdir().context("failed to create a temporary folder")?;
    let component = if options.path.is_dir() {
        let name = options
            .path
            .canonicalize()
            .ok()
            .and_then(|dir| dir.file_name().map(|name| name.to_owned()))
            .unwrap_or_else(|| "function".into());
        // Built beside the zip rather than into the project's `build/`, so a
        // deploy never rewrites a component another command is reading.
        let mut build_options = options.build.clone();
        build_options.dir = options.path.clone();
        build_options.output = Some(scratch.path().join(name).with_extension("wasm"));
        progress(&format!("building {}", options.path.display()));
        build(&build_options, &mut |status| progress(status))?.component
    } else {
        options.path.clone()
    };
    let control = Control::new(&options.endpoint);
    let name = &options.name;
    let created = match control.call("GET", &format!("functions/{name}/configuration"), None)? {
        (404, _) => {
            let (zip, handler) = zip_component(&component, None)?;
            progress(&format!("creating {name}"));
            let request = json!({
                "FunctionName": name,
                "Role": options.role,
                "Runtime": "provided.al2023",
                "Handler": handler,
                "Code": { "ZipFile": base64_encode(&zip) },
            });
            control.expect(201, "POST", "functions", Some(&request))?;
            true
        }
        (200, _) => {
            // An update still running would refuse this one (409): wait
            // for it as `aws lambda wait function-updated-v2` would.
            let current = control.settled(name)?;
            let runtime = current["Runtime"].as_str().unwrap_or_default();
            if !runtime.starts_with("provided") {
                bail!(
                    "{name} runs {runtime} from source; deploy replaces code with a component, which needs a provided.al2023 function (delete {name}, or deploy under another name)"
                );
            }
            // The code is replaced, not the configuration: the component
            // goes in under the file name the function's handler names.
            let (zip, _) = zip_component(&component, current["Handler"].as_str())?;
            progress(&format!("updating {name}"));
            let code = json!({ "ZipFile": base64_encode(&zip) });
            control.expect(200, "PUT", &format!("functions/{name}/code"), Some(&code))?;
            false
        }
        (status, body) => bail!("GetFunctionConfiguration answered {status}: {body}"),
    };
    progress(&format!("waiting for {name} to be ready"));
    let configuration = control.ready(name)?;
    Ok(Deployed {
        created,
        configuration,
    })
}

/// A zip holding only `component`, under `file_name` or its own name:
/// what a `provided.al2023` function on `serve` needs (`wasm-lambda
/// package` adds the `bootstrap` real Lambda needs).
fn zip_component(component: &Path, file_name: Option<&str>) -> Result<(Vec<u8>, String)> {
    let handler = match file_name {
        Some(name) => name.to_string(),
        None => component
            .file_name()
            .context("the component path has no file name")?
            .to_string_lossy()
            .into_owned(),
    };
    let bytes = std::fs::read(component)
        .with_context(|| format!("failed to read {}", component.display()))?;
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default().unix_permissions(0o644);
    zip.start_file(handler.as_str(), options)?;
    zip.write_all(&bytes)?;
    Ok((zip.finish()?.into_inner(), handler))
}

fn base64_encode(bytes: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// The control plane's REST API at one endpoint.
struct Control {
    base: String,
    agent: ureq::Agent,
}

impl Control {
    fn new(endpoint: &str) -> Self {
        let agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(Duration::from_secs(300)))
            .build()
            .new_agent();
        Control {
            base: format!("{}/2015-03-31", endpoint.trim_end_matches('/')),
            agent,
        }
    }

    /// One call: its status and JSON body (with the error type Lambda
    /// sends in `x-amzn-ErrorType` as `"Code"`).
    fn call(&self, method: &str, path: &str, body: Option<&Value>) -> Result<(u16, Value)> {
        let url = format!("{}/{path}", self.base);
        let request = http::Request::builder()
            .method(method)
            .uri(&url)
            .header("content-type", "application/json")
            .body(body.map(Value::to_string).unwrap_or_default())?;
        let mut response = self
            .agent
            .run(request)
            .with_context(|| format!("failed to reach the control plane at {url}"))?;
        let status = response.status().as_u16();
        let error_type = response
            .headers()
            .get("x-amzn-errortype")
            .and_then(|value| value.to_str().ok())
            .map(|kind| kind.split(':').next().unwrap_or(kind).to_string());
        let text = response
            .body_mut()
            .with_config()
            .limit(16 << 20)
            .read_to_string()
            .unwrap_or_default();
        let mut body = serde_json::from_str(&text).unwrap_or(Value::Null);
        if let (Some(kind), Value::Object(fields)) = (error_type, &mut body) {
            fields.insert("Code".into(), json!(kind));
        }
        Ok((status, body))
    }

    /// A call that must answer `status`; any other answer is an error with
    /// the service's own type and message.
    fn expect(&self, status: u16, method: &str, path: &str, body: Option<&Value>) -> Result<Value> {
        let (answered, body) = self.call(method, path, body)?;
        if answered != status {
            let kind = body["Code"].as_str().unwrap_or("error");
            let message = body["message"]
                .as_str()
                .or(body["Message"].as_str())
                .unwrap_or_default();
            bail!("{method} {path} answered {answered} {kind}: {message}");
        }
        Ok(body)
    }

    /// Polls the configuration until no change is in progress.
    fn settled(&self, name: &str) -> Result<Value> {
        let started = Instant::now();
        loop {
            let configuration =
                self.expect(200, "GET", &format!("functions/{name}/configuration"), None)?;
            let pending = configuration["State"] == "Pending"
                || configuration["LastUpdateStatus"] == "InProgress";
            if !pending {
                return Ok(configuration);
            }
            if started.elapsed() > READY_TIMEOUT {
                bail!("{name} was not ready after {} s", READY_TIMEOUT.as_secs());
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// [`Control::settled`], then an error when the function or its last
    /// update failed.
    fn ready(&self, name: &str) -> Result<Value> {
        let configuration = self.settled(name)?;
        let field = |key: &str| configuration[key].as_str().unwrap_or_default().to_string();
        if field("State") == "Failed" {
            bail!(
                "{name} failed: {} ({})",
                field("StateReason"),
                field("StateReasonCode")
            );
        }
        if field("LastUpdateStatus") == "Failed" {
            bail!(
                "the update of {name} failed: {} ({})",
                field("LastUpdateStatusReason"),
                field("LastUpdateStatusReasonCode")
            );
        }
        Ok(configuration)
    }
}
