//! `wasm-lambda runtime` and `package` against a real Runtime API peer
//! (cargo-lambda's emulator), and the loop against an in-process mock for
//! answers the emulator never gives.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::common::{cache_dir, contains, files_under, guest, json, repo_root};

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// cargo-lambda's emulator serving only the Lambda APIs, stopped on drop.
pub(crate) struct Emulator {
    child: Child,
    port: u16,
    _dir: tempfile::TempDir,
}

impl Emulator {
    pub(crate) fn start() -> Emulator {
        let cargo_lambda = repo_root().join(".venv/bin/cargo-lambda");
        assert!(
            cargo_lambda.is_file(),
            "{} is missing: run scripts/setup.sh",
            cargo_lambda.display()
        );
        // The emulator reads a Cargo manifest even when it builds nothing.
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("Cargo.toml"),
            "[package]\nname = \"emulated\"\nversion = \"0.1.0\"\nedition = \"2021\"\n[workspace]\n",
        )
        .unwrap();
        std::fs::create_dir(dir.path().join("src")).unwrap();
        std::fs::write(dir.path().join("src/main.rs"), "fn main() {}\n").unwrap();
        let port = free_port();
        let child = Command::new(cargo_lambda)
            .args([
                "lambda",
                "watch",
                "--only-lambda-apis",
                "--invoke-port",
                &port.to_string(),
            ])
            .current_dir(dir.path())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("the emulator starts");
        let started = Instant::now();
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                started.elapsed() < Duration::from_secs(60),
                "the emulator did not listen"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        Emulator {
            child,
            port,
            _dir: dir,
        }
    }

    pub(crate) fn runtime_api(&self) -> String {
        format!("127.0.0.1:{}/.rt", self.port)
    }

    /// Invokes function `_` (the emulator's default) and returns the status and body.
    pub(crate) fn invoke(&self, event: &str) -> (u16, String) {
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(Duration::from_secs(60)))
            .build()
            .into();
        let mut response = agent
            .post(&format!(
                "http://127.0.0.1:{}/2015-03-31/functions/_/invocations",
                self.port
            ))
            .send(event)
            .expect("the emulator answers");
        let status = response.status().as_u16();
        (status, response.body_mut().read_to_string().unwrap())
    }
}

impl Drop for Emulator {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A `wasm-lambda runtime` (or a packaged `bootstrap`) with exactly the
/// environment Lambda would give it.
fn start_runtime(program: &Path, args: &[&str], api: &str, extra_env: &[(&str, &str)]) -> Child {
    let mut command = Command::new(program);
    command
        .args(args)
        .env_clear()
        .env("AWS_LAMBDA_RUNTIME_API", api)
        .env("AWS_LAMBDA_FUNCTION_NAME", "_")
        .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "256")
        .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        .env("AWS_REGION", "eu-west-3")
        .env("AWS_DEFAULT_REGION", "eu-west-3")
        .env("LAMBDA_RUNTIME_DIR", "/var/runtime")
        .envs(
            wasm_lambda::runtime_api::LAMBDA_PLATFORM_VARIABLES
                .iter()
                .copied(),
        )
        .env("WASM_LAMBDA_CACHE_DIR", cache_dir())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (key, value) in extra_env {
        command.env(key, value);
    }
    command.spawn().expect("the runtime starts")
}

fn wasm_lambda() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_wasm-lambda"))
}

/// Stops the runtime; returns what it wrote to stdout and to stderr.
fn stop_with_stderr(mut child: Child) -> (String, String) {
    let _ = child.kill();
    let output = child.wait_with_output().unwrap();
    (
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

fn stop(mut child: Child) -> String {
    let _ = child.kill();
    let output = child.wait_with_output().unwrap();
    String::from_utf8_lossy(&output.stdout).into_owned()
}

#[test]
fn the_runtime_answers_events_in_sequence_under_the_emulator() {
    let emulator = Emulator::start();
    let probe = guest("host/tests/guests/probe")
        .to_str()
        .unwrap()
        .to_string();
    let runtime = start_runtime(
        &wasm_lambda(),
        &["runtime", &probe, "--timeout", "1"],
        &emulator.runtime_api(),
        &[("STAGE", "test")],
    );
    for n in 0..3 {
        let event = format!(r#"{{"action":"echo","n":{n}}}"#);
        assert_eq!(emulator.invoke(&event), (200, event.clone()));
    }
    let (status, body) = emulator.invoke(r#"{"action":"print"}"#);
    assert_eq!((status, body.as_str()), (200, r#""printed""#));

    let (status, body) = emulator.invoke(r#"{"action":"env"}"#);
    assert_eq!(status, 200);
    let env: Value = json(&body);
    assert_eq!(
        env["STAGE"], "test",
        "the function's own variables pass through"
    );
    assert_eq!(env["AWS_REGION"], "eu-west-3");
    assert_eq!(env["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"], "256");
    assert!(
        env["_X_AMZN_TRACE_ID"]
            .as_str()
            .unwrap()
            .starts_with("Root=")
    );
    assert!(env.get("AWS_LAMBDA_RUNTIME_API").is_none());
    assert!(env.get("WASM_LAMBDA_CACHE_DIR").is_none());

    let output = stop(runtime);
    assert!(
        output.contains("to stdout\nto stderr\n"),
        "guest output goes to stdout:\n{output}"
    );
    assert!(
        !output.contains("START RequestId"),
        "Lambda writes START/REPORT itself:\n{output}"
    );
}

#[test]
fn function_errors_and_timeouts_are_posted_as_errors() {
    let emulator = Emulator::start();
    let probe = guest("host/tests/guests/probe")
        .to_str()
        .unwrap()
        .to_string();
    let runtime = start_runtime(
        &wasm_lambda(),
        &["runtime", &probe, "--timeout", "0.5"],
        &emulator.runtime_api(),
        &[],
    );
    let (status, body) = emulator.invoke(r#"{"action":"error"}"#);
    assert_eq!(status, 500);
    let error = json(&body);
    assert_eq!(error["errorType"], "ProbeError");
    assert_eq!(
        error["stackTrace"],
        serde_json::json!(["frame one", "frame two"])
    );

    // The emulator's deadline header is not an epoch time: the configured
    // timeout applies.
    let (status, body) = emulator.invoke(r#"{"action":"loop"}"#);
    assert_eq!(status, 500);
    let error = json(&body);
    assert_eq!(error["errorType"], "Sandbox.Timedout");
    assert!(
        error["errorMessage"]
            .as_str()
            .unwrap()
            .ends_with("Task timed out after 0.50 seconds")
    );

    assert_eq!(
        emulator.invoke(r#"{"after":true}"#),
        (200, r#"{"after":true}"#.to_string())
    );
    stop(runtime);
}

#[test]
fn a_runtime_that_cannot_start_reports_and_exits() {
    let emulator = Emulator::start();
    let runtime = start_runtime(
        &wasm_lambda(),
        &["runtime", "/nonexistent/handler.wasm"],
        &emulator.runtime_api(),
        &[],
    );
    let output = runtime.wait_with_output().unwrap();
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("/nonexistent/handler.wasm"));

    let no_api = Command::new(wasm_lambda())
        .args(["runtime", "x.wasm"])
        .env_clear()
        .output()
        .unwrap();
    assert!(!no_api.status.success());
    assert!(String::from_utf8_lossy(&no_api.stderr).contains("AWS_LAMBDA_RUNTIME_API is not set"));
}

#[test]
fn a_packaged_bootstrap_runs_under_the_emulator_without_compiling() {
    let dir = tempfile::tempdir().unwrap();
    let zip_path = dir.path().join("function.zip");
    let hello = guest("examples/rust/hello").to_str().unwrap().to_string();
    let packaged = Command::new(wasm_lambda())
        .args(["package", &hello, "-o", zip_path.to_str().unwrap()])
        .env("WASM_LAMBDA_CACHE_DIR", cache_dir())
        .output()
        .unwrap();
    assert!(
        packaged.status.success(),
        "{}",
        String::from_utf8_lossy(&packaged.stderr)
    );

    let task_root = dir.path().join("task");
    let mut archive = zip::ZipArchive::new(std::fs::File::open(&zip_path).unwrap()).unwrap();
    let mut names: Vec<String> = archive.file_names().map(str::to_string).collect();
    names.sort();
    assert_eq!(names.len(), 3, "{names:?}");
    assert_eq!(
        names[0],
        "artifacts/".to_string() + names[0].trim_start_matches("artifacts/")
    );
    assert!(names[0].ends_with(".cwasm"));
    assert_eq!(&names[1..], ["bootstrap", "hello.wasm"]);
    archive.extract(&task_root).unwrap();
    let bootstrap = task_root.join("bootstrap");
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(
        std::fs::metadata(&bootstrap).unwrap().permissions().mode() & 0o111,
        0o111
    );
    // Stripped: no symbol table and no debug information, which made the
    // unstripped binary several times larger than its code.
    {
        use object::{Object as _, ObjectSection as _};
        let bytes = std::fs::read(&bootstrap).unwrap();
        let elf = object::File::parse(&*bytes).unwrap();
        let sections: Vec<&str> = elf
            .sections()
            .filter_map(|section| section.name().ok())
            .collect();
        assert!(elf.section_by_name(".text").is_some(), "{sections:?}");
        // (`.debug_gdb_scripts` is loaded data, a few bytes, and stays.)
        for gone in [
            ".symtab",
            ".strtab",
            ".debug_info",
            ".debug_line",
            ".debug_str",
        ] {
            assert!(!sections.contains(&gone), "{gone} in {sections:?}");
        }
    }
    // Within what Lambda takes as a direct upload, and said so.
    let zip_size = std::fs::metadata(&zip_path).unwrap().len();
    assert!(
        zip_size <= wasm_lambda::package::MAX_ZIPPED_BYTES,
        "{zip_size} bytes"
    );
    let said = String::from_utf8_lossy(&packaged.stderr);
    assert!(said.contains("left for a direct upload"), "{said}");

    let (answers, written, stderr) = answers_of_package(
        &bootstrap,
        &[],
        &task_root,
        &[r#"{"first_name":"John","last_name":"Smith"}"#],
    );
    assert_eq!(
        answers,
        [(200, r#"{"message":"Hello John Smith!"}"#.to_string())],
        "{stderr}"
    );
    assert!(
        written.is_empty(),
        "the packaged artifact was used: nothing was compiled into the cache, but {written:?}"
    );
}

/// A package made on this machine starts without compiling on an x86_64
/// host with another processor, as Lambda's hosts differ from the machine
/// that packaged: the bootstrap runs under `qemu-x86_64 -cpu Haswell`, which
/// has AVX2 but none of the AVX-512 features this class of machine has.
/// Compiled for the machine's own features, the artifact's cache key did not
/// match there and the component was compiled again into the cache.
#[cfg(target_arch = "x86_64")]
#[test]
fn a_package_made_here_starts_without_compiling_on_another_x86_64_cpu() {
    let qemu = std::env::var_os("PATH")
        .and_then(|path| {
            std::env::split_paths(&path)
                .map(|dir| dir.join("qemu-x86_64"))
                .find(|candidate| candidate.is_file())
        })
        .expect("qemu-x86_64 is missing: scripts/setup-toolchains.sh installs Debian's qemu-user");
    let dir = tempfile::tempdir().unwrap();
    let zip_path = dir.path().join("function.zip");
    let task_root = dir.path().join("task");
    let hello = guest("examples/rust/hello");
    let (_, said) = package_into(&[hello.to_str().unwrap()], &zip_path, &task_root);
    assert!(!said.contains("for this processor alone"), "{said}");

    let bootstrap = task_root.join("bootstrap");
    let (answers, written, stderr) = answers_of_package(
        &qemu,
        &["-cpu", "Haswell", bootstrap.to_str().unwrap()],
        &task_root,
        &[r#"{"first_name":"Ada","last_name":"Lovelace"}"#],
    );
    assert_eq!(
        answers,
        [(200, r#"{"message":"Hello Ada Lovelace!"}"#.to_string())],
        "{stderr}"
    );
    assert!(
        written.is_empty(),
        "the packaged artifact was not used on the other processor: {written:?}"
    );
}

/// `wasm-lambda package --arch arm64` on this x86_64 machine: the package
/// carries the arm64 bootstrap (built by `scripts/build-bootstrap.sh arm64
/// --profile cross-test`, which scripts/test.sh runs) and an artifact that
/// bootstrap compiled for itself under qemu; started as Lambda starts it,
/// under `qemu-aarch64` with cargo-lambda's emulator, it answers without
/// compiling. The bootstrap needs no glibc newer than `provided.al2023`'s
/// 2.34. Without `--bootstrap`, or with a bootstrap of the other
/// architecture, `package` refuses and says what to do.
#[cfg(target_arch = "x86_64")]
#[test]
fn an_arm64_package_answers_under_qemu_without_compiling() {
    let arm64_bootstrap =
        repo_root().join("target/aarch64-unknown-linux-gnu/cross-test/wasm-lambda");
    assert!(
        arm64_bootstrap.is_file(),
        "{} is missing: run `bash scripts/build-bootstrap.sh arm64 --profile cross-test` (scripts/test.sh does)",
        arm64_bootstrap.display()
    );
    let dir = tempfile::tempdir().unwrap();
    let zip_path = dir.path().join("function.zip");
    let hello = guest("examples/rust/hello");
    let hello = hello.to_str().unwrap();

    // Refused: no arm64 binary given, or an x86_64 one given as arm64.
    for args in [
        vec!["package", hello, "--arch", "arm64"],
        vec![
            "package",
            hello,
            "--arch",
            "arm64",
            "--bootstrap",
            env!("CARGO_BIN_EXE_wasm-lambda"),
        ],
    ] {
        let refused = Command::new(wasm_lambda())
            .args(&args)
            .arg("-o")
            .arg(&zip_path)
            .env("WASM_LAMBDA_CACHE_DIR", cache_dir())
            .output()
            .unwrap();
        let said = String::from_utf8_lossy(&refused.stderr);
        assert!(!refused.status.success(), "{args:?}: {said}");
        assert!(
            said.contains("scripts/build-bootstrap.sh arm64")
                || said.contains("built for x86_64, not arm64"),
            "{args:?}: {said}"
        );
        assert!(!zip_path.exists());
    }

    let task_root = dir.path().join("task");
    let (names, said) = package_into(
        &[
            hello,
            "--arch",
            "arm64",
            "--bootstrap",
            arm64_bootstrap.to_str().unwrap(),
        ],
        &zip_path,
        &task_root,
    );
    assert!(said.contains("for arm64"), "{said}");
    assert!(
        names
            .iter()
            .any(|name| name.starts_with("artifacts/") && name.ends_with(".cwasm")),
        "{names:?}"
    );
    let bootstrap = task_root.join("bootstrap");
    assert_eq!(
        wasm_lambda::package::Architecture::of_executable(&bootstrap).unwrap(),
        wasm_lambda::package::Architecture::Arm64
    );
    let bytes = std::fs::read(&bootstrap).unwrap();
    let newest_glibc = bytes
        .windows(8)
        .enumerate()
        .filter(|(_, window)| *window == b"GLIBC_2.")
        .filter_map(|(at, _)| {
            let digits: String = bytes[at + 8..]
                .iter()
                .take_while(|byte| byte.is_ascii_digit())
                .map(|&byte| byte as char)
                .collect();
            digits.parse::<u32>().ok()
        })
        .max()
        .expect("the bootstrap links glibc");
    assert!(
        newest_glibc <= 34,
        "the bootstrap needs glibc 2.{newest_glibc}"
    );

    let (answers, written, stderr) = answers_of_package(
        Path::new("/usr/bin/qemu-aarch64"),
        &["-L", "/usr/aarch64-linux-gnu", bootstrap.to_str().unwrap()],
        &task_root,
        &[
            r#"{"first_name":"Grace","last_name":"Hopper"}"#,
            r#"{"first_name":"Alan","last_name":"Turing"}"#,
        ],
    );
    assert_eq!(
        answers,
        [
            (200, r#"{"message":"Hello Grace Hopper!"}"#.to_string()),
            (200, r#"{"message":"Hello Alan Turing!"}"#.to_string())
        ],
        "{stderr}"
    );
    assert!(
        written.is_empty(),
        "the packaged arm64 artifact was not used: {written:?}"
    );
}

/// Starts the package unpacked in `task_root` as Lambda starts it, under
/// cargo-lambda's emulator with an empty cache folder: `program` with `args`
/// is the bootstrap itself, or an emulator running it. Sends `events` one
/// after the other; returns the answers, what the runtime wrote into the
/// cache folder (nothing when it compiled nothing) and what it wrote to
/// stderr.
fn answers_of_package(
    program: &Path,
    args: &[&str],
    task_root: &Path,
    events: &[&str],
) -> (Vec<(u16, String)>, Vec<PathBuf>, String) {
    let emulator = Emulator::start();
    let empty_cache = tempfile::tempdir().unwrap();
    let runtime = start_runtime(
        program,
        args,
        &emulator.runtime_api(),
        &[
            ("LAMBDA_TASK_ROOT", task_root.to_str().unwrap()),
            ("_HANDLER", "hello.wasm"),
            (
                "WASM_LAMBDA_CACHE_DIR",
                empty_cache.path().to_str().unwrap(),
            ),
        ],
    );
    let answers = events.iter().map(|event| emulator.invoke(event)).collect();
    let (_, stderr) = stop_with_stderr(runtime);
    let written = std::fs::read_dir(empty_cache.path())
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .collect();
    (answers, written, stderr)
}

/// Runs `command` (`wasm-lambda package ...`) and unpacks the zip into
/// `task`; returns the zip's entry names and what the command said.
fn package_into(args: &[&str], zip_path: &Path, task: &Path) -> (Vec<String>, String) {
    let packaged = Command::new(wasm_lambda())
        .arg("package")
        .args(args)
        .arg("-o")
        .arg(zip_path)
        .env("WASM_LAMBDA_CACHE_DIR", cache_dir())
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&packaged.stderr).into_owned();
    assert!(packaged.status.success(), "{said}");
    let mut archive = zip::ZipArchive::new(std::fs::File::open(zip_path).unwrap()).unwrap();
    let names: Vec<String> = archive.file_names().map(str::to_string).collect();
    archive.extract(task).unwrap();
    (names, said)
}

/// A Python and a JavaScript function packaged with `--snapshot` start as
/// Lambda starts them (Lambda's variables only, an empty temporary folder
/// and cache) and compile and unpack nothing: every event's fresh sandbox starts from
/// the one init phase run at package time, with credentials the package
/// never saw, and none of those credentials reaches a file. Started with
/// another memory size, the same package still answers without compiling,
/// runs the init phase in each sandbox, and says which variable differs.
#[test]
fn packaged_python_and_javascript_start_from_their_snapshot_without_compiling() {
    let emulator = Emulator::start();
    for (project, init_id) in [
        ("host/tests/guests/python/probe", "init_id"),
        ("host/tests/guests/js/probe", "initId"),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let zip_path = dir.path().join("function.zip");
        let task_root = dir.path().join("task");
        let component = guest(project).to_str().unwrap().to_string();
        let (names, said) = package_into(
            &[
                &component,
                "--snapshot",
                "--function-name",
                "_",
                "--memory",
                "256",
                "--region",
                "eu-west-3",
            ],
            &zip_path,
            &task_root,
        );
        for wanted in [".cwasm", ".snapshot"] {
            assert!(
                names
                    .iter()
                    .any(|name| name.starts_with("artifacts/snapshots/") && name.ends_with(wanted)),
                "{project}: no snapshot {wanted} in {names:?}"
            );
        }
        assert!(said.contains("the init phase's snapshot"), "{said}");
        let zip_size = std::fs::metadata(&zip_path).unwrap().len();
        assert!(
            zip_size <= wasm_lambda::package::MAX_ZIPPED_BYTES,
            "{project}: {zip_size} bytes"
        );
        let handler = Path::new(&component)
            .file_name()
            .unwrap()
            .to_str()
            .unwrap()
            .to_string();

        let start = |memory: &str, access_key: &str, cache: &Path, tmp: &Path| {
            start_runtime(
                &task_root.join("bootstrap"),
                &[],
                &emulator.runtime_api(),
                &[
                    ("LAMBDA_TASK_ROOT", task_root.to_str().unwrap()),
                    ("_HANDLER", &handler),
                    ("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", memory),
                    ("AWS_ACCESS_KEY_ID", access_key),
                    ("AWS_SECRET_ACCESS_KEY", &format!("{access_key}-secret")),
                    ("AWS_SESSION_TOKEN", &format!("{access_key}-token")),
                    ("WASM_LAMBDA_CACHE_DIR", cache.to_str().unwrap()),
                    ("TMPDIR", tmp.to_str().unwrap()),
                ],
            )
        };
        let init_ids = || {
            (0..2)
                .map(|_| {
                    let (status, body) = emulator.invoke(r#"{"action":"init"}"#);
                    assert_eq!(status, 200, "{project}: {body}");
                    json(&body)[init_id].as_str().unwrap().to_string()
                })
                .collect::<Vec<_>>()
        };
        // The package's configuration, with credentials of this run only.
        let access_key = format!("AKIDPACKAGED{}", std::process::id());
        let (cache, tmp) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
        let runtime = start("256", &access_key, cache.path(), tmp.path());
        let ids = init_ids();
        assert_eq!(
            ids[0], ids[1],
            "{project}: one init phase, made at package time"
        );
        let (status, body) = emulator.invoke(r#"{"action":"env"}"#);
        assert_eq!(status, 200);
        assert_eq!(json(&body)["AWS_ACCESS_KEY_ID"], access_key.as_str());
        let (_, stderr) = stop_with_stderr(runtime);
        assert!(!stderr.contains("differ"), "{project}: {stderr}");
        // Nothing compiled, snapshotted or unpacked: the package carries the
        // artifacts and the function's files unpacked.
        assert_eq!(
            files_under(cache.path()),
            Vec::<PathBuf>::new(),
            "{project}"
        );
        for root in [cache.path(), tmp.path(), task_root.as_path()] {
            for file in files_under(root) {
                let bytes = std::fs::read(&file).unwrap();
                assert!(
                    !contains(&bytes, access_key.as_bytes()),
                    "{project}: the credentials reached {}",
                    file.display()
                );
            }
        }

        // Another memory size: no snapshot for it, and nothing compiled.
        let (cache, tmp) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
        let runtime = start("512", &access_key, cache.path(), tmp.path());
        let ids = init_ids();
        assert_ne!(
            ids[0], ids[1],
            "{project}: the init phase runs in each sandbox"
        );
        let (_, stderr) = stop_with_stderr(runtime);
        assert!(
            stderr.contains("AWS_LAMBDA_FUNCTION_MEMORY_SIZE differ"),
            "{project}: {stderr}"
        );
        assert_eq!(
            files_under(cache.path()),
            Vec::<PathBuf>::new(),
            "{project}"
        );
    }
}

/// One request the mock received.
#[derive(Debug, Clone)]
struct Recorded {
    method: String,
    path: String,
    error_type: Option<String>,
    body: String,
}

type Recorder = Arc<Mutex<Vec<Recorded>>>;
/// A scripted answer to `next`: status, headers, body.
type NextAnswer = (u16, Vec<(&'static str, &'static str)>, &'static str);
type Scripted = Arc<Mutex<Vec<NextAnswer>>>;

/// A scripted Runtime API: answers `next` from a list, records every request.
struct MockApi {
    address: String,
    requests: Recorder,
    _runtime: tokio::runtime::Runtime,
}

impl MockApi {
    fn start(next: Vec<NextAnswer>, post_status: u16) -> MockApi {
        use axum::extract::{Request, State};
        use axum::response::IntoResponse;

        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        let requests = Arc::new(Mutex::new(Vec::new()));
        let scripted: Scripted = Arc::new(Mutex::new(next));
        let state = (requests.clone(), scripted);
        let app = axum::Router::new()
            .fallback(
                move |State((requests, scripted)): State<(Recorder, Scripted)>,
                      request: Request| async move {
                    let method = request.method().to_string();
                    let path = request.uri().path().to_string();
                    let error_type = request
                        .headers()
                        .get("lambda-runtime-function-error-type")
                        .map(|value| value.to_str().unwrap().to_string());
                    let body = axum::body::to_bytes(request.into_body(), usize::MAX)
                        .await
                        .unwrap();
                    requests.lock().unwrap().push(Recorded {
                        method,
                        path: path.clone(),
                        error_type,
                        body: String::from_utf8_lossy(&body).into_owned(),
                    });
                    if path.ends_with("/runtime/invocation/next") {
                        let next = {
                            let mut scripted = scripted.lock().unwrap();
                            if scripted.is_empty() {
                                None
                            } else {
                                Some(scripted.remove(0))
                            }
                        };
                        let Some((status, headers, body)) = next else {
                            return (axum::http::StatusCode::GONE, "no more events")
                                .into_response();
                        };
                        let mut response =
                            (axum::http::StatusCode::from_u16(status).unwrap(), body)
                                .into_response();
                        for (name, value) in headers {
                            response.headers_mut().insert(name, value.parse().unwrap());
                        }
                        response
                    } else {
                        (axum::http::StatusCode::from_u16(post_status).unwrap(), "").into_response()
                    }
                },
            )
            .with_state(state);
        let listener = runtime
            .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
            .unwrap();
        let address = listener.local_addr().unwrap().to_string();
        runtime.spawn(async move { axum::serve(listener, app).await.unwrap() });
        MockApi {
            address,
            requests,
            _runtime: runtime,
        }
    }

    fn requests(&self) -> Vec<Recorded> {
        self.requests.lock().unwrap().clone()
    }
}

fn settings(api: &str, component: &Path) -> wasm_lambda::runtime_api::RuntimeSettings {
    let env = [("AWS_LAMBDA_RUNTIME_API".to_string(), api.to_string())]
        .into_iter()
        .collect();
    wasm_lambda::runtime_api::RuntimeSettings::from_env(
        &env,
        Some(component),
        Duration::from_secs(2),
    )
    .unwrap()
}

#[test]
fn the_loop_skips_malformed_events_and_posts_error_types() {
    let mock = MockApi::start(
        vec![
            (200, vec![], "{}"),
            (
                200,
                vec![
                    ("lambda-runtime-aws-request-id", "r-1"),
                    ("lambda-runtime-deadline-ms", "garbage"),
                ],
                r#"{"action":"error"}"#,
            ),
            (
                200,
                vec![("lambda-runtime-aws-request-id", "r-2")],
                r#"{"action":"echo"}"#,
            ),
        ],
        202,
    );
    wasm_lambda::runtime_api::run(
        &settings(&mock.address, guest("host/tests/guests/probe")),
        Some(3),
    )
    .unwrap();
    let posts: Vec<_> = mock
        .requests()
        .into_iter()
        .filter(|request| request.method == "POST")
        .collect();
    assert_eq!(posts.len(), 2, "{posts:?}");
    assert_eq!(posts[0].path, "/2018-06-01/runtime/invocation/r-1/error");
    assert_eq!(posts[0].error_type.as_deref(), Some("ProbeError"));
    assert_eq!(json(&posts[0].body)["errorType"], "ProbeError");
    assert_eq!(posts[1].path, "/2018-06-01/runtime/invocation/r-2/response");
    assert_eq!(posts[1].body, r#"{"action":"echo"}"#);
}

#[test]
fn the_loop_stops_on_runtime_api_failures() {
    let failing_next = MockApi::start(vec![(500, vec![], "broken")], 202);
    let error = wasm_lambda::runtime_api::run(
        &settings(&failing_next.address, guest("host/tests/guests/probe")),
        None,
    )
    .unwrap_err();
    assert!(error.to_string().contains("500"), "{error:#}");

    let forbidden_post = MockApi::start(
        vec![(200, vec![("lambda-runtime-aws-request-id", "r-3")], "{}")],
        403,
    );
    let error = wasm_lambda::runtime_api::run(
        &settings(&forbidden_post.address, guest("host/tests/guests/probe")),
        None,
    )
    .unwrap_err();
    assert!(error.to_string().contains("403"), "{error:#}");
}

#[test]
fn an_invalid_component_is_reported_to_init_error() {
    let mock = MockApi::start(Vec::new(), 202);
    let error = wasm_lambda::runtime_api::run(
        &settings(&mock.address, guest("host/tests/guests/command")),
        None,
    )
    .unwrap_err();
    assert!(
        error.to_string().contains("does not implement the world"),
        "{error:#}"
    );
    let requests = mock.requests();
    assert_eq!(requests.len(), 1, "{requests:?}");
    assert_eq!(requests[0].path, "/2018-06-01/runtime/init/error");
    assert_eq!(
        requests[0].error_type.as_deref(),
        Some("Runtime.InvalidEntrypoint")
    );
    assert_eq!(
        json(&requests[0].body)["errorType"],
        "Runtime.InvalidEntrypoint"
    );
}

/// A Runtime API for Lambda Managed Instances: it hands out `events`
/// (each a call of `/barrier` on this server) only once `workers` `next`
/// requests wait together, and `/barrier` answers "together" only once
/// `workers` handlers are inside it. Either gives up after 30 s, so a
/// runtime that takes one event at a time fails instead of hanging.
struct ManagedApi {
    address: String,
    responses: Arc<Mutex<Vec<String>>>,
    _runtime: tokio::runtime::Runtime,
}

impl ManagedApi {
    fn start(workers: usize) -> ManagedApi {
        use axum::extract::{Path as UrlPath, State};
        use axum::http::StatusCode;
        use axum::response::IntoResponse;
        use axum::routing::{get, post};

        #[derive(Clone)]
        struct Shared {
            next: Arc<tokio::sync::Barrier>,
            inside: Arc<tokio::sync::Barrier>,
            issued: Arc<std::sync::atomic::AtomicUsize>,
            address: Arc<std::sync::OnceLock<String>>,
            responses: Arc<Mutex<Vec<String>>>,
        }
        const PATIENCE: Duration = Duration::from_secs(30);

        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        let shared = Shared {
            next: Arc::new(tokio::sync::Barrier::new(workers)),
            inside: Arc::new(tokio::sync::Barrier::new(workers)),
            issued: Arc::default(),
            address: Arc::default(),
            responses: Arc::default(),
        };
        let app =
            axum::Router::new()
                .route(
                    "/2018-06-01/runtime/invocation/next",
                    get(|State(shared): State<Shared>| async move {
                        if tokio::time::timeout(PATIENCE, shared.next.wait())
                            .await
                            .is_err()
                        {
                            return (StatusCode::GONE, "fewer next requests than workers")
                                .into_response();
                        }
                        let index = shared
                            .issued
                            .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                        let deadline = std::time::SystemTime::now()
                            .duration_since(std::time::UNIX_EPOCH)
                            .unwrap()
                            .as_millis()
                            + 60_000;
                        let event = serde_json::json!({
                            "action": "http_get",
                            "url": format!("http://{}/barrier", shared.address.get().unwrap()),
                        });
                        (
                            [
                                ("lambda-runtime-aws-request-id", format!("r-{index}")),
                                ("lambda-runtime-deadline-ms", deadline.to_string()),
                            ],
                            event.to_string(),
                        )
                            .into_response()
                    }),
                )
                .route(
                    "/barrier",
                    get(|State(shared): State<Shared>| async move {
                        match tokio::time::timeout(PATIENCE, shared.inside.wait()).await {
                            Ok(_) => "together",
                            Err(_) => "alone",
                        }
                    }),
                )
                .route(
                    "/2018-06-01/runtime/invocation/{id}/response",
                    post(
                        |State(shared): State<Shared>,
                         UrlPath(_id): UrlPath<String>,
                         body: String| async move {
                            shared.responses.lock().unwrap().push(body);
                            StatusCode::ACCEPTED
                        },
                    ),
                )
                .with_state(shared.clone());
        let listener = runtime
            .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
            .unwrap();
        let address = listener.local_addr().unwrap().to_string();
        shared.address.set(address.clone()).unwrap();
        runtime.spawn(async move { axum::serve(listener, app).await.unwrap() });
        ManagedApi {
            address,
            responses: shared.responses,
            _runtime: runtime,
        }
    }
}

/// `AWS_LAMBDA_MAX_CONCURRENCY = 8` (Lambda Managed Instances): the runtime
/// keeps eight `next` requests outstanding and runs the eight events at
/// once, each in a sandbox of its own (`ManagedApi` passes only then).
#[test]
fn with_a_max_concurrency_of_eight_eight_events_run_at_once() {
    let api = ManagedApi::start(8);
    let env = [
        ("AWS_LAMBDA_RUNTIME_API", api.address.clone()),
        ("AWS_LAMBDA_MAX_CONCURRENCY", "8".to_string()),
        (
            "WASM_LAMBDA_ALLOWED_OUTBOUND_HOSTS",
            format!("http://{}", api.address),
        ),
    ]
    .into_iter()
    .map(|(name, value)| (name.to_string(), value))
    .collect();
    let settings = wasm_lambda::runtime_api::RuntimeSettings::from_env(
        &env,
        Some(guest("host/tests/guests/net")),
        Duration::from_secs(2),
    )
    .unwrap();
    assert_eq!(settings.max_concurrency, 8);
    wasm_lambda::runtime_api::run(&settings, Some(8)).unwrap();
    let responses = api.responses.lock().unwrap().clone();
    assert_eq!(responses.len(), 8, "{responses:?}");
    for response in responses {
        assert_eq!(json(&response)["body"], "together", "{response}");
    }
}
