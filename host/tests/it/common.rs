//! What every test shares: the guests (built once per run), one host, and a
//! precompiled-artifact cache that persists across runs under `target/`.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::{Mutex, OnceLock};

use serde_json::Value;
use wasm_lambda::build::{BuildOptions, build};
use wasm_lambda::{Function, FunctionConfig, Host, HostConfig, Invocation, InvokeRequest};

/// The repository's root.
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("host/ has a parent")
        .to_path_buf()
}

/// One Cargo target folder for every guest, so wit-bindgen and serde compile once.
pub fn guest_target_dir() -> PathBuf {
    repo_root().join("target").join("wasm-guests")
}

/// The precompiled-artifact cache shared by all tests (and the CLI tests).
pub fn cache_dir() -> PathBuf {
    repo_root().join("target").join("test-artifact-cache")
}

/// The guests the tests use, built on first use and once per run: one
/// registry keyed by project folder (from the repository's root) and handler.
/// A failed build is remembered too, so every test that needs the guest fails
/// at once with the build's error instead of building again.
pub fn guest(project: &str) -> &'static PathBuf {
    built(project, None)
}

/// [`guest`], for a project whose handler is not its language's default.
pub fn guest_with_handler(project: &str, handler: &str) -> &'static PathBuf {
    built(project, Some(handler))
}

type Built = OnceLock<Result<PathBuf, String>>;

fn built(project: &str, handler: Option<&str>) -> &'static PathBuf {
    static REGISTRY: Mutex<BTreeMap<(String, Option<String>), &'static Built>> =
        Mutex::new(BTreeMap::new());
    let key = (project.to_string(), handler.map(str::to_string));
    // The lock covers only finding the entry: builds of different guests
    // run in parallel, and a second caller of one guest waits on its cell.
    let cell: &'static Built = REGISTRY
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
        .entry(key)
        .or_insert_with(|| Box::leak(Box::default()));
    once(cell, || build_guest(repo_root().join(project), handler))
}

fn build_guest(dir: PathBuf, handler: Option<&str>) -> Result<PathBuf, String> {
    let options = BuildOptions {
        target_dir: Some(guest_target_dir()),
        handler: handler.map(str::to_string),
        ..BuildOptions::new(&dir)
    };
    build(&options, &mut |_| {})
        .map(|output| output.component)
        .map_err(|error| format!("failed to build {}: {error:#}", dir.display()))
}

/// Computes a value once per run, into `cell`; a failure is remembered and
/// fails every later caller with the same message.
pub fn once<T>(
    cell: &'static OnceLock<Result<T, String>>,
    init: impl FnOnce() -> Result<T, String>,
) -> &'static T {
    match cell.get_or_init(init) {
        Ok(value) => value,
        Err(error) => panic!("{error}"),
    }
}

/// The host most tests share, as a process would.
pub fn host() -> &'static Host {
    static HOST: OnceLock<Host> = OnceLock::new();
    HOST.get_or_init(|| {
        Host::new(HostConfig {
            cache_dir: Some(cache_dir()),
            ..HostConfig::default()
        })
        .expect("the host starts")
    })
}

/// Loads `component` as function `name`, after `configure` adjusts its settings.
pub fn load(name: &str, component: &Path, configure: impl FnOnce(&mut FunctionConfig)) -> Function {
    let mut config = FunctionConfig::new(name, component);
    configure(&mut config);
    match host().load(config) {
        Ok(function) => function,
        Err(error) => panic!("failed to load {}: {error}", component.display()),
    }
}

/// Invokes with `event`; a service error fails the test.
pub async fn invoke(function: &Function, event: &str) -> Invocation {
    match function.invoke(InvokeRequest::new(event)).await {
        Ok(invocation) => invocation,
        Err(error) => panic!("invocation of {event} was refused: {error}"),
    }
}

/// Parses a payload as JSON, failing the test with the text when it is not.
pub fn json(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or_else(|error| panic!("not JSON ({error}): {text}"))
}

/// Asserts that `log` holds `needles` in this order, printing the log if not.
pub fn assert_in_order(log: &str, needles: &[&str]) {
    let mut from = 0;
    for needle in needles {
        match log[from..].find(needle) {
            Some(at) => from += at + needle.len(),
            None => panic!("expected {needle:?} (in order) in the log:\n{log}"),
        }
    }
}

/// The languages whose SDKs hand-write the canonical-ABI glue.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Native {
    C,
    Go,
    Zig,
    AssemblyScript,
}

impl Native {
    pub const ALL: [Native; 4] = [Native::C, Native::Go, Native::Zig, Native::AssemblyScript];

    /// The folder name under `examples/` and `host/tests/guests/`.
    pub fn dir(self) -> &'static str {
        match self {
            Native::C => "c",
            Native::Go => "go",
            Native::Zig => "zig",
            Native::AssemblyScript => "assemblyscript",
        }
    }
}

impl Native {
    /// The language's example `name` (`hello`, `calculator`, `error`), built.
    pub fn example(self, name: &str) -> &'static PathBuf {
        guest(&format!("examples/{}/{name}", self.dir()))
    }

    /// The language's probe (`host/tests/guests/<language>/probe`), built.
    pub fn probe(self) -> &'static PathBuf {
        guest(&format!("host/tests/guests/{}/probe", self.dir()))
    }
}

/// Runs the `wasm-lambda` binary with the tests' shared cache, feeding it
/// `stdin` when given.
pub fn wasm_lambda(args: &[&str], stdin: Option<&str>) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_wasm-lambda"))
        .args(args)
        .env("WASM_LAMBDA_CACHE_DIR", cache_dir())
        .env(
            "WASM_LAMBDA_STATE_DIR",
            repo_root().join("target").join("test-state"),
        )
        .env("CARGO_TARGET_DIR", guest_target_dir())
        .env_remove("AWS_REGION")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the binary runs");
    let mut input = child.stdin.take().unwrap();
    if let Some(text) = stdin {
        input.write_all(text.as_bytes()).unwrap();
    }
    drop(input);
    child.wait_with_output().unwrap()
}

/// Bytes as text, for assertions and messages.
pub fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// An HTTP answer read off a raw connection: the status (0 when none came),
/// the head lower-cased, and the body.
pub struct RawAnswer {
    pub status: u16,
    pub head: String,
    pub body: String,
}

/// One HTTP/1.1 request on a fresh connection to `address`, written byte
/// by byte as given (any header, any body), for tests of the server's own
/// parsing. Waits at most 30 s for the answer.
pub fn raw_http<N: AsRef<str>, V: AsRef<str>>(
    address: &str,
    method: &str,
    path: &str,
    headers: &[(N, V)],
    body: &[u8],
) -> RawAnswer {
    use std::io::Read;
    let mut stream = std::net::TcpStream::connect(address).unwrap();
    stream
        .set_read_timeout(Some(std::time::Duration::from_secs(30)))
        .unwrap();
    let mut request = format!(
        "{method} {path} HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (name, value) in headers {
        request.push_str(&format!("{}: {}\r\n", name.as_ref(), value.as_ref()));
    }
    request.push_str("\r\n");
    let mut bytes = request.into_bytes();
    bytes.extend_from_slice(body);
    // The server may answer (and close) before reading everything.
    let _ = stream.write_all(&bytes);
    let mut answer = Vec::new();
    let _ = stream.read_to_end(&mut answer);
    let answer = text(&answer);
    let (head, body) = answer.split_once("\r\n\r\n").unwrap_or((&answer, ""));
    let status = head
        .strip_prefix("HTTP/1.1 ")
        .and_then(|rest| rest.get(..3))
        .and_then(|code| code.parse().ok())
        .unwrap_or(0);
    RawAnswer {
        status,
        head: head.to_ascii_lowercase(),
        body: body.to_string(),
    }
}

/// Every file under `dir`, recursively (links are not followed).
pub fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    let mut folders = vec![dir.to_path_buf()];
    while let Some(folder) = folders.pop() {
        for entry in std::fs::read_dir(&folder).into_iter().flatten().flatten() {
            let path = entry.path();
            if entry.file_type().is_ok_and(|kind| kind.is_dir()) {
                folders.push(path);
            } else {
                files.push(path);
            }
        }
    }
    files
}

/// Whether `needle` occurs in `haystack`.
pub fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack
        .windows(needle.len())
        .any(|window| window == needle)
}

/// Asserts that `value` is an X-Ray trace header in the form Lambda makes
/// one: `Root=1-<8 hex>-<24 hex>;Parent=<16 hex>;Sampled=0`.
#[track_caller]
pub fn assert_trace_header(value: &serde_json::Value) {
    let text = value
        .as_str()
        .unwrap_or_else(|| panic!("a trace header, not {value}"));
    let hex = |part: &str, length: usize| {
        part.len() == length && part.bytes().all(|byte| byte.is_ascii_hexdigit())
    };
    let shaped = text
        .strip_prefix("Root=1-")
        .and_then(|rest| rest.strip_suffix(";Sampled=0"))
        .and_then(|rest| rest.split_once(";Parent="))
        .is_some_and(|(root, parent)| {
            hex(parent, 16)
                && root
                    .split_once('-')
                    .is_some_and(|(time, random)| hex(time, 8) && hex(random, 24))
        });
    assert!(shaped, "not a trace header in Lambda's form: {text}");
}
