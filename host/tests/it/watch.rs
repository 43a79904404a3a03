//! `--watch`: `serve` rebuilds a function after an edit and swaps the new
//! code in while it serves; `invoke` runs the same event again. Real
//! builds by the real toolchains, real inotify events, real HTTP.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::common::{cache_dir, guest, guest_target_dir, json, raw_http, repo_root};
use crate::server::{Serve, aws_cli, toml_path};

/// How long a rebuild (componentize-py's included) and load may take on a
/// busy 2-core machine.
const REBUILD: Duration = Duration::from_secs(300);

const EVENT: &str = r#"{"first_name":"Ada","last_name":"Lovelace"}"#;

/// One synchronous invocation over HTTP: the status, whether the function
/// failed, and the payload.
fn invoke(serve: &Serve, name: &str) -> (u16, bool, String) {
    let address = serve.endpoint.trim_start_matches("http://");
    let answer = raw_http::<&str, &str>(
        address,
        "POST",
        &format!("/2015-03-31/functions/{name}/invocations"),
        &[],
        EVENT.as_bytes(),
    );
    let failed = answer.head.contains("x-amz-function-error");
    (answer.status, failed, answer.body)
}

/// `GetFunctionConfiguration`, as the AWS CLI reads it.
fn configuration(serve: &Serve, name: &str) -> Value {
    json(&aws_cli(
        serve,
        &serve.endpoint,
        &[
            "lambda",
            "get-function-configuration",
            "--function-name",
            name,
        ],
    ))
}

/// Waits until the log contains `needle` `count` times.
fn wait_for_count(serve: &Serve, needle: &str, count: usize) {
    let started = Instant::now();
    while serve.log().matches(needle).count() < count {
        assert!(
            started.elapsed() < REBUILD,
            "{needle:?} not {count} times in the log:\n{}",
            serve.log()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Replaces `path` with `with` in one step (a rename), as builds and
/// editors that save atomically do.
fn replace(path: &Path, with: &[u8]) {
    let staged = path.with_extension("staged");
    std::fs::write(&staged, with).unwrap();
    std::fs::rename(&staged, path).unwrap();
}

/// Two versions of a function answering `EVENT` differently (hello's
/// message, probe's echo), and a component file `name` in a new folder
/// holding the first.
fn two_versions(name: &str) -> (tempfile::TempDir, std::path::PathBuf, Vec<u8>, Vec<u8>) {
    let dir = tempfile::tempdir().unwrap();
    let component = dir.path().join(name);
    let hello = std::fs::read(guest("examples/rust/hello")).unwrap();
    let probe = std::fs::read(guest("host/tests/guests/probe")).unwrap();
    std::fs::write(&component, &hello).unwrap();
    (dir, component, hello, probe)
}

#[test]
fn a_thousand_invocations_across_ten_swaps_all_succeed() {
    let (_dir, component, hello, probe) = two_versions("swapped.wasm");
    let config = format!(
        "[[function]]\nname = \"swapped\"\ncomponent = {}\n",
        toml_path(&component)
    );
    let state = tempfile::tempdir().unwrap();
    let serve = Serve::start_with_flags(
        &config,
        tempfile::tempdir().unwrap(),
        state.path(),
        &["--watch"],
    );
    serve.wait_for_log("function swapped watches", Duration::from_secs(30));

    let done = Arc::new(AtomicUsize::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let workers: Vec<_> = (0..4)
        .map(|_| {
            let (done, stop) = (done.clone(), stop.clone());
            let address = serve.endpoint.trim_start_matches("http://").to_string();
            std::thread::spawn(move || {
                let mut failures = Vec::new();
                let mut answers = std::collections::BTreeSet::new();
                while !(stop.load(Ordering::SeqCst) && done.load(Ordering::SeqCst) >= 1000) {
                    let answer = raw_http::<&str, &str>(
                        &address,
                        "POST",
                        "/2015-03-31/functions/swapped/invocations",
                        &[],
                        EVENT.as_bytes(),
                    );
                    if answer.status != 200 || answer.head.contains("x-amz-function-error") {
                        failures.push(format!("{} {}", answer.status, answer.body));
                    }
                    answers.insert(answer.body);
                    done.fetch_add(1, Ordering::SeqCst);
                }
                (failures, answers)
            })
        })
        .collect();

    let mut shas = Vec::new();
    for swap in 1..=10 {
        let before = done.load(Ordering::SeqCst);
        // Invocations run against each version before the next swap.
        while done.load(Ordering::SeqCst) < before + 50 {
            std::thread::sleep(Duration::from_millis(5));
        }
        replace(&component, if swap % 2 == 1 { &probe } else { &hello });
        wait_for_count(&serve, "swapped: new code serves", swap);
        let shown = configuration(&serve, "swapped");
        assert_eq!(shown["LastUpdateStatus"], "Successful");
        shas.push(shown["CodeSha256"].as_str().unwrap().to_string());
    }
    stop.store(true, Ordering::SeqCst);
    let mut failures = Vec::new();
    let mut answers = std::collections::BTreeSet::new();
    for worker in workers {
        let (failed, seen) = worker.join().unwrap();
        failures.extend(failed);
        answers.extend(seen);
    }
    assert!(done.load(Ordering::SeqCst) >= 1000);
    assert_eq!(failures, Vec::<String>::new(), "failed invocations");
    // Both versions answered: hello's message and probe's echo.
    let hello_answer = r#"{"message":"Hello Ada Lovelace!"}"#;
    assert!(answers.contains(hello_answer), "{answers:?}");
    assert!(answers.contains(EVENT), "{answers:?}");
    assert_eq!(answers.len(), 2, "{answers:?}");
    // The code the control plane shows alternated with the file.
    for pair in shas.windows(2) {
        assert_ne!(pair[0], pair[1]);
    }
    for pair in shas.windows(3) {
        assert_eq!(pair[0], pair[2]);
    }
}

/// A Rust handler project outside every workspace, answering `version`.
fn rust_project(dir: &Path, version: &str) {
    let sdk = repo_root().join("guest-sdk/rust");
    std::fs::create_dir_all(dir.join("src")).unwrap();
    // The guests' profile and lock file, so the shared target folder's
    // compiled dependencies serve this project too.
    std::fs::write(
        dir.join("Cargo.toml"),
        format!(
            "[package]\nname = \"edited\"\nversion = \"0.1.0\"\nedition = \"2024\"\n\n\
             [lib]\ncrate-type = [\"cdylib\"]\n\n\
             [dependencies]\nwasm-lambda-sdk = {{ path = {} }}\nserde_json = \"1\"\n\n\
             [workspace]\n\n\
             [profile.release]\nopt-level = \"s\"\npanic = \"abort\"\nstrip = true\n",
            toml_path(&sdk)
        ),
    )
    .unwrap();
    std::fs::copy(
        repo_root().join("host/tests/guests/Cargo.lock"),
        dir.join("Cargo.lock"),
    )
    .unwrap();
    write_rust_handler(dir, version);
}

fn write_rust_handler(dir: &Path, body: &str) {
    std::fs::write(
        dir.join("src/lib.rs"),
        format!(
            "use serde_json::{{Value, json}};\n\
             use wasm_lambda_sdk::{{Context, Error}};\n\n\
             fn handler(_event: Value, _context: Context) -> Result<Value, Error> {{\n\
             \x20   {body}\n\
             }}\n\n\
             wasm_lambda_sdk::handler!(handler);\n"
        ),
    )
    .unwrap();
}

#[test]
fn a_watched_rust_folder_answers_with_the_edit_and_the_aws_cli_waits_for_it() {
    let project = tempfile::tempdir().unwrap();
    rust_project(project.path(), r#"Ok(json!({"version": 1}))"#);
    let state = tempfile::tempdir().unwrap();
    let function = format!("edited={}", project.path().display());
    let serve = Serve::start_with_flags(
        "",
        tempfile::tempdir().unwrap(),
        state.path(),
        &["--watch", "--function", &function],
    );
    serve.wait_for_log("function edited watches", Duration::from_secs(30));
    assert_eq!(invoke(&serve, "edited").2, r#"{"version":1}"#);
    let before = configuration(&serve, "edited");

    write_rust_handler(project.path(), r#"Ok(json!({"version": 2}))"#);
    serve.wait_for_log("src/lib.rs changed", REBUILD);
    // Lambda's own waiter polls GetFunctionConfiguration until the update
    // is no longer in progress.
    aws_cli(
        &serve,
        &serve.endpoint,
        &[
            "lambda",
            "wait",
            "function-updated-v2",
            "--function-name",
            "edited",
        ],
    );
    assert_eq!(invoke(&serve, "edited").2, r#"{"version":2}"#);
    let after = configuration(&serve, "edited");
    assert_eq!(after["LastUpdateStatus"], "Successful");
    assert_ne!(after["CodeSha256"], before["CodeSha256"]);
    assert_ne!(after["RevisionId"], before["RevisionId"]);

    // A compile error: the old code keeps serving, the error is logged
    // with its file and line, and the update shows as failed.
    write_rust_handler(project.path(), r#"Ok(json!({"version": 3})) +"#);
    let log = serve.wait_for_log("the rebuild failed", REBUILD);
    // rustc points at the brace after the stray `+`.
    assert!(log.contains("--> src/lib.rs:6:1"), "{log}");
    assert_eq!(invoke(&serve, "edited").2, r#"{"version":2}"#);
    let failed = configuration(&serve, "edited");
    assert_eq!(failed["LastUpdateStatus"], "Failed");
    assert_eq!(failed["CodeSha256"], after["CodeSha256"]);
}

#[test]
fn a_watched_python_folder_answers_with_the_edit_and_keeps_its_code_through_a_syntax_error() {
    let project = tempfile::tempdir().unwrap();
    let handler = project.path().join("lambda_function.py");
    let write = |message: &str| {
        std::fs::write(
            &handler,
            format!("def lambda_handler(event, context):\n    return {{'said': '{message}'}}\n"),
        )
        .unwrap()
    };
    write("first");
    // `watch = true` in the file, without the flag.
    let config = format!(
        "[[function]]\nname = \"py\"\ncomponent = {}\nwatch = true\n",
        toml_path(project.path())
    );
    let state = tempfile::tempdir().unwrap();
    let serve = Serve::start_with_flags(&config, tempfile::tempdir().unwrap(), state.path(), &[]);
    serve.wait_for_log("function py watches", Duration::from_secs(30));
    assert_eq!(invoke(&serve, "py").2, r#"{"said": "first"}"#);

    write("second");
    serve.wait_for_log("py: new code serves", REBUILD);
    assert_eq!(invoke(&serve, "py").2, r#"{"said": "second"}"#);

    std::fs::write(
        &handler,
        "def lambda_handler(event, context)\n    return {'said': 'third'}\n",
    )
    .unwrap();
    let log = serve.wait_for_log("the rebuild failed", REBUILD);
    assert!(log.contains("lambda_function.py, line 1"), "{log}");
    let (status, failed, body) = invoke(&serve, "py");
    assert_eq!((status, failed), (200, false));
    assert_eq!(body, r#"{"said": "second"}"#);
    let shown = configuration(&serve, "py");
    assert_eq!(shown["LastUpdateStatus"], "Failed");
    assert!(
        shown["LastUpdateStatusReason"]
            .as_str()
            .unwrap()
            .contains("SyntaxError"),
        "{shown}"
    );
}

#[test]
fn invoke_watch_runs_the_same_event_again_once_per_burst_of_changes() {
    let (_dir, component, hello, probe) = two_versions("looped.wasm");
    let mut child = Command::new(env!("CARGO_BIN_EXE_wasm-lambda"))
        .args(["invoke", "--watch", "--debounce", "500", "--event", EVENT])
        .arg(&component)
        .env("WASM_LAMBDA_CACHE_DIR", cache_dir())
        .env("CARGO_TARGET_DIR", guest_target_dir())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    struct Kill(std::process::Child);
    impl Drop for Kill {
        fn drop(&mut self) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
    let stdout = BufReader::new(child.stdout.take().unwrap());
    let _child = Kill(child);
    let (sender, lines) = mpsc::channel();
    std::thread::spawn(move || {
        for line in stdout.lines().map_while(Result::ok) {
            let _ = sender.send(line);
        }
    });
    let next = || lines.recv_timeout(REBUILD).expect("another answer");
    assert_eq!(next(), r#"{"message":"Hello Ada Lovelace!"}"#);

    replace(&component, &probe);
    assert_eq!(next(), EVENT);

    // Three replacements within the debounce period: one run, of the last.
    replace(&component, &hello);
    replace(&component, &probe);
    replace(&component, &hello);
    assert_eq!(next(), r#"{"message":"Hello Ada Lovelace!"}"#);
    assert!(
        lines.recv_timeout(Duration::from_secs(2)).is_err(),
        "a burst of changes ran the event more than once"
    );
}
