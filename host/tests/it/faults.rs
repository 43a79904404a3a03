//! The fault suite: damaged components and caches, absurd settings, guests
//! that exhaust memory or return oversized errors, a guest looking for the
//! last invocation's data, and clients that misbehave. Each ends in a clear
//! error or Lambda's answer; none panics the host or reaches another
//! invocation.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use wasm_lambda::{
    EngineConfig, FunctionConfig, Host, HostConfig, InvokeError, InvokeRequest, LoadSource,
    MAX_RESPONSE_BYTES, ReportStatus,
};

use crate::common::{
    cache_dir, contains, files_under, guest, invoke, json, load, raw_http, text, wasm_lambda,
};
use crate::server::{Serve, toml_path};

fn host_without_cache() -> Host {
    Host::new(HostConfig {
        cache_dir: None,
        engine: EngineConfig {
            max_instances: 4,
            ..EngineConfig::default()
        },
        ..HostConfig::default()
    })
    .unwrap()
}

/// A small deterministic generator (xorshift), so that the damaged inputs
/// are the same on every run.
struct Xorshift(u64);

impl Xorshift {
    fn below(&mut self, bound: usize) -> usize {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 % bound as u64) as usize
    }
}

fn write_temp(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, bytes).unwrap();
    path
}

#[test]
fn truncated_and_bit_flipped_components_are_load_errors_not_panics() {
    let bytes = std::fs::read(guest("examples/rust/hello")).unwrap();
    let host = host_without_cache();
    let dir = tempfile::tempdir().unwrap();
    let mut random = Xorshift(0x9e37_79b9_7f4a_7c15);
    let mut cuts: Vec<usize> = vec![bytes.len() / 3, bytes.len() / 2, bytes.len() * 2 / 3];
    cuts.extend((0..40).map(|_| random.below(bytes.len())));
    for cut in cuts {
        let path = write_temp(dir.path(), "cut.wasm", &bytes[..cut]);
        let loaded = host.load(FunctionConfig::new("cut", &path));
        assert!(loaded.is_err(), "a component cut at {cut} bytes loaded");
    }
    // A flipped bit may still leave a valid component; whatever loads must
    // also invoke without taking the host down.
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .unwrap();
    for _ in 0..25 {
        let mut damaged = bytes.clone();
        let at = random.below(damaged.len());
        damaged[at] ^= 1 << random.below(8);
        let path = write_temp(dir.path(), "flipped.wasm", &damaged);
        if let Ok(function) = host.load(FunctionConfig::new("flipped", &path)) {
            let _ = runtime.block_on(function.invoke(InvokeRequest::new("{}")));
        }
    }
    // The host is still fine.
    let function = host
        .load(FunctionConfig::new("hello", guest("examples/rust/hello")))
        .unwrap();
    let invocation = runtime
        .block_on(function.invoke(InvokeRequest::new(r#"{"first_name":"A","last_name":"B"}"#)))
        .unwrap();
    assert_eq!(invocation.payload(), r#"{"message":"Hello A B!"}"#);
}

#[test]
fn the_cli_refuses_a_truncated_component_in_one_line() {
    let bytes = std::fs::read(guest("examples/rust/hello")).unwrap();
    let dir = tempfile::tempdir().unwrap();
    for fraction in [3, 2] {
        let path = write_temp(dir.path(), "cut.wasm", &bytes[..bytes.len() / fraction]);
        let zip = dir.path().join("cut.zip");
        for args in [
            vec!["invoke", path.to_str().unwrap()],
            vec![
                "package",
                path.to_str().unwrap(),
                "--output",
                zip.to_str().unwrap(),
            ],
        ] {
            let output = wasm_lambda(&args, Some("{}"));
            let stderr = text(&output.stderr);
            assert_eq!(output.status.code(), Some(2), "{args:?}: {stderr}");
            assert!(stderr.starts_with("error: "), "{stderr}");
            assert!(!stderr.contains("panicked"), "{stderr}");
            assert!(stderr.contains("cut.wasm"), "names the file: {stderr}");
        }
    }
}

/// Starts `serve` with `config` (written into `dir`), which it must refuse
/// in one line, exiting 2 without a panic; returns what it said.
fn refused_serve_config(dir: &Path, config: &str) -> String {
    let path = write_temp(dir, "functions.toml", config.as_bytes());
    let state = dir.join("state");
    let output = wasm_lambda(
        &[
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--state-dir",
            state.to_str().unwrap(),
            "--config",
            path.to_str().unwrap(),
        ],
        None,
    );
    let stderr = text(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{config}\n{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    stderr
}

#[test]
fn durations_no_duration_can_hold_are_clear_errors() {
    for timeout in ["1e300", "inf", "0", "NaN", "901"] {
        let output = wasm_lambda(
            &[
                "invoke",
                guest("examples/rust/hello").to_str().unwrap(),
                "--timeout",
                timeout,
            ],
            Some("{}"),
        );
        let stderr = text(&output.stderr);
        assert_eq!(
            output.status.code(),
            Some(2),
            "--timeout {timeout}: {stderr}"
        );
        assert!(stderr.contains("--timeout"), "{stderr}");
        assert!(!stderr.contains("panicked"), "{stderr}");
    }
    let output = Command::new(env!("CARGO_BIN_EXE_wasm-lambda"))
        .args(["runtime", "--timeout=1e300"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2), "{}", text(&output.stderr));
    assert!(!text(&output.stderr).contains("panicked"));

    let dir = tempfile::tempdir().unwrap();
    for (setting, needle) in [
        ("event_retry_delay = 1e300\n", "event_retry_delay"),
        ("event_retry_delay = -2\n", "event_retry_delay"),
        ("", "timeout 1e300 s is outside"),
    ] {
        let timeout = if setting.is_empty() {
            "timeout = 1e300\n"
        } else {
            ""
        };
        let config = format!(
            "{setting}[[function]]\nname = \"hello\"\ncomponent = {}\n{timeout}",
            toml_path(guest("examples/rust/hello"))
        );
        let stderr = refused_serve_config(dir.path(), &config);
        assert!(stderr.contains(needle), "{needle:?} in {stderr}");
    }
}

#[tokio::test]
async fn out_of_memory_is_runtime_out_of_memory_in_every_language() {
    for (name, component) in [
        ("rust", guest("host/tests/guests/probe")),
        ("python", guest("host/tests/guests/python/probe")),
        ("js", guest("host/tests/guests/js/probe")),
    ] {
        let function = load(&format!("oom-{name}"), component, |config| {
            config.timeout = Duration::from_secs(60);
        });
        let invocation = invoke(&function, r#"{"action":"alloc"}"#).await;
        let error = invocation
            .function_error()
            .unwrap_or_else(|| panic!("{name}: {}", invocation.payload()));
        assert_eq!(error.error_type, "Runtime.OutOfMemory", "{name}: {error:?}");
        assert_eq!(
            invocation.report.status,
            ReportStatus::Error("Runtime.OutOfMemory".into()),
            "{name}"
        );
        assert!(
            invocation
                .log
                .contains("Status: error\tError Type: Runtime.OutOfMemory"),
            "{name}: {}",
            invocation.log
        );
        // The next invocation gets a fresh sandbox and works.
        let next = invoke(&function, r#"{"action":"echo","n":1}"#).await;
        assert!(
            next.function_error().is_none(),
            "{name}: {}",
            next.payload()
        );
    }
}

#[tokio::test]
async fn error_payloads_are_bounded_like_responses() {
    let function = load("big-errors", guest("host/tests/guests/probe"), |config| {
        config.memory_mb = 512;
        config.timeout = Duration::from_secs(60);
    });
    for event in [
        r#"{"action":"big_error","bytes":7000000}"#,
        r#"{"action":"many_frames","frames":3000000}"#,
    ] {
        let invocation = invoke(&function, event).await;
        let error = invocation.function_error().expect("an error");
        assert_eq!(error.error_type, "Function.ResponseSizeTooLarge", "{event}");
        assert!(invocation.payload().len() < 1024, "{event}");
    }
    // Just under the limit, the handler's own error arrives whole.
    let invocation = invoke(&function, r#"{"action":"big_error","bytes":6000000}"#).await;
    let error = invocation.function_error().unwrap();
    assert_eq!(error.error_type, "BigError");
    assert!(invocation.payload().len() <= MAX_RESPONSE_BYTES);
}

/// An error of 3,000,000 stack frames is far over the payload limit: the
/// host refuses it before copying any of it (wasmtime's hostcall fuel
/// counts the whole list first), so what the process holds beyond the
/// guest's memory is what it holds for a small echo. Without the cap the
/// host copied the frames first and peaked about 70 MB higher. Both runs
/// use the warm artifact cache (the first run fills it), so compiling the
/// probe, which takes tens of megabytes of its own, is in neither peak.
#[test]
fn an_error_of_millions_of_frames_is_refused_before_it_is_copied() {
    invoke_measured(r#"{"action":"echo"}"#);
    let (_, echo_guest_mb, echo_peak_mb) = invoke_measured(r#"{"action":"echo"}"#);
    let (stdout, guest_mb, peak_mb) =
        invoke_measured(r#"{"action":"many_frames","frames":3000000}"#);
    let payload = json(stdout.trim());
    assert_eq!(
        payload["errorType"], "Function.ResponseSizeTooLarge",
        "{stdout}"
    );
    let host_mb = peak_mb - guest_mb;
    let echo_host_mb = echo_peak_mb - echo_guest_mb;
    assert!(
        host_mb - echo_host_mb < 40,
        "beyond the guest's memory, the process held {host_mb} MB for the error \
         and {echo_host_mb} MB for an echo"
    );
}

/// Runs the probe through the CLI with `event`; gives its stdout, the
/// guest's `Max Memory Used` and the process's peak resident size, in MB.
#[expect(
    clippy::zombie_processes,
    reason = "the child is reaped by wait4, which also gives its peak memory"
)]
fn invoke_measured(event: &str) -> (String, i64, i64) {
    let probe = guest("host/tests/guests/probe")
        .to_string_lossy()
        .into_owned();
    let mut child = Command::new(env!("CARGO_BIN_EXE_wasm-lambda"))
        .args([
            "invoke",
            &probe,
            "--memory",
            "512",
            "--timeout",
            "60",
            "--event",
            event,
        ])
        .env("WASM_LAMBDA_CACHE_DIR", cache_dir())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = String::new();
    let mut stderr = String::new();
    child
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut stdout)
        .unwrap();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    // wait4 gives this child's own peak resident size (in KiB).
    let mut status = 0;
    // SAFETY: an all-zero rusage is a valid value for wait4 to fill in.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: the pid is our unwaited child; both pointers are valid.
    let waited = unsafe { libc::wait4(child.id() as i32, &mut status, 0, &mut usage) };
    assert_eq!(waited, child.id() as i32);
    let guest_mb: i64 = stderr
        .split("Max Memory Used: ")
        .nth(1)
        .and_then(|rest| rest.split(" MB").next())
        .and_then(|number| number.parse().ok())
        .unwrap_or_else(|| panic!("no REPORT line: {stderr}"));
    (stdout, guest_mb, usage.ru_maxrss / 1024)
}

/// A function with credentials gets its load-time snapshot, written to the
/// cache like any other, and no file the host writes holds the secret key
/// or the session token: the init phase runs without them. Before, both were
/// in plain text in `snapshots/*.snapshot` and `*.cwasm`.
#[tokio::test]
async fn credentials_reach_no_file() {
    // The tests' shared host and cache: its compiled functions make the
    // snapshot's compile quick, and every file written from here on is read.
    let started = std::time::SystemTime::now() - Duration::from_secs(2);
    let host = crate::common::host();
    let secret = format!("secret-{}", uuid_like());
    let token = format!("token-{}", uuid_like());
    for probe in [
        "host/tests/guests/python/probe",
        "host/tests/guests/js/probe",
    ] {
        let mut config = FunctionConfig::new("credentialed", guest(probe));
        config.aws_credentials = Some(wasm_lambda::AwsCredentials {
            access_key_id: "AKIDTEST".into(),
            secret_access_key: secret.clone(),
            session_token: Some(token.clone()),
        });
        let function = host.load(config).unwrap();
        let answer = invoke(&function, r#"{"action":"env"}"#).await;
        assert_eq!(
            json(answer.payload())["AWS_SECRET_ACCESS_KEY"],
            secret,
            "{probe}"
        );
    }
    let written = files_under(&cache_dir()).into_iter().filter(|file| {
        std::fs::metadata(file)
            .and_then(|metadata| metadata.modified())
            .is_ok_and(|modified| modified >= started)
    });
    for file in written {
        // The cache's budget may remove an entry between the listing and
        // here: a file that is gone holds nothing for anyone to read.
        let Ok(bytes) = std::fs::read(&file) else {
            assert!(!file.exists(), "{} cannot be read", file.display());
            continue;
        };
        for value in [&secret, &token] {
            assert!(
                !contains(&bytes, value.as_bytes()),
                "{} holds a credential",
                file.display()
            );
        }
    }
}

/// A guest holding handles without end (here one `/tmp` file opened again
/// and again; UDP sockets count the same) is stopped at its sandbox's cap,
/// long before the process's descriptor limit: before the cap it held about
/// 20,000 and `serve` could accept no connection meanwhile.
#[tokio::test]
async fn a_sandbox_opening_files_without_end_stops_at_its_handle_cap() {
    let function = load("open-many", guest("host/tests/guests/net"), |config| {
        config.timeout = Duration::from_secs(60);
    });
    let invocation = invoke(&function, r#"{"action":"open_many","count":1000000}"#).await;
    let error = invocation
        .function_error()
        .unwrap_or_else(|| panic!("the guest kept going: {}", invocation.payload()));
    assert_eq!(error.error_type, "Runtime.OutOfMemory");
    assert!(
        error.error_message.contains("too many open handles"),
        "{}",
        error.error_message
    );
    // Its handles went with its sandbox: the next invocation opens files.
    let invocation = invoke(&function, r#"{"action":"open_many","count":10}"#).await;
    assert_eq!(json(invocation.payload())["opened"], 10);
}

#[test]
fn an_artifact_of_another_component_is_never_run() {
    let dir = tempfile::tempdir().unwrap();
    let cache_of = |name: &str| dir.path().join(name);
    let host_with = |cache: PathBuf| {
        Host::new(HostConfig {
            cache_dir: Some(cache),
            engine: EngineConfig {
                max_instances: 4,
                ..EngineConfig::default()
            },
            ..HostConfig::default()
        })
        .unwrap()
    };
    // One entry each, in two caches.
    host_with(cache_of("a"))
        .load(FunctionConfig::new("hello", guest("examples/rust/hello")))
        .unwrap();
    host_with(cache_of("b"))
        .load(FunctionConfig::new(
            "calculator",
            guest("examples/rust/calculator"),
        ))
        .unwrap();
    let entry = |cache: &Path| {
        let entries: Vec<PathBuf> = std::fs::read_dir(cache)
            .unwrap()
            .map(|entry| entry.unwrap().path())
            .filter(|path| path.is_file())
            .collect();
        assert_eq!(entries.len(), 1, "{entries:?}");
        entries.into_iter().next().unwrap()
    };
    // The calculator's artifact, put where the hello's belongs.
    std::fs::copy(entry(&cache_of("b")), entry(&cache_of("a"))).unwrap();
    let host = host_with(cache_of("a"));
    let function = host
        .load(FunctionConfig::new("hello", guest("examples/rust/hello")))
        .unwrap();
    assert_eq!(function.load_info().source, LoadSource::Compiled);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .unwrap();
    let invocation = runtime
        .block_on(function.invoke(InvokeRequest::new(r#"{"first_name":"A","last_name":"B"}"#)))
        .unwrap();
    assert_eq!(invocation.payload(), r#"{"message":"Hello A B!"}"#);

    // An entry others could have written is not trusted either.
    use std::os::unix::fs::PermissionsExt;
    let hello_entry = entry(&cache_of("a"));
    std::fs::set_permissions(&hello_entry, std::fs::Permissions::from_mode(0o666)).unwrap();
    let reloaded = host_with(cache_of("a"))
        .load(FunctionConfig::new("hello", guest("examples/rust/hello")))
        .unwrap();
    assert_eq!(reloaded.load_info().source, LoadSource::Compiled);
    let mode = std::fs::metadata(cache_of("a"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o700, "the cache folder is private");
}

/// With every slot of the pool busy until its deadline, an invocation is
/// throttled as Lambda throttles (`TooManyRequestsException`, 429) instead
/// of ending as the function's `Sandbox.Timedout`: it never started, so its
/// function logs nothing. Once the slot is free, the function answers.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_pool_throttles_instead_of_timing_out() {
    let logged = std::sync::Arc::new(std::sync::Mutex::new(Vec::<u8>::new()));
    let sink = logged.clone();
    let host = Host::new(HostConfig {
        cache_dir: Some(cache_dir()),
        engine: EngineConfig {
            max_instances: 1,
            ..EngineConfig::default()
        },
        log_sink: Some(std::sync::Arc::new(move |bytes: &[u8]| {
            sink.lock().unwrap().extend_from_slice(bytes)
        })),
        ..HostConfig::default()
    })
    .unwrap();
    let mut busy_config = FunctionConfig::new("busy", guest("host/tests/guests/probe"));
    busy_config.timeout = Duration::from_secs(30);
    let busy = host.load(busy_config).unwrap();
    let mut waiting_config = FunctionConfig::new("waiting", guest("examples/rust/hello"));
    waiting_config.timeout = Duration::from_millis(300);
    let waiting = host.load(waiting_config).unwrap();

    let holder = tokio::spawn(async move {
        busy.invoke(InvokeRequest::new(r#"{"action":"sleep","millis":1500}"#))
            .await
            .unwrap()
    });
    // The sleeping invocation holds the pool's one slot once it has logged START.
    let started = Instant::now();
    while !String::from_utf8_lossy(&logged.lock().unwrap()).contains("START") {
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "the holder never started"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let before = logged.lock().unwrap().len();
    let refused = waiting
        .invoke(InvokeRequest::new(r#"{"first_name":"A","last_name":"B"}"#))
        .await
        .unwrap_err();
    assert_eq!(refused, InvokeError::TooManyRequests);
    assert_eq!(refused.http_status(), 429);
    assert_eq!(refused.error_code(), "TooManyRequestsException");
    let after = String::from_utf8_lossy(&logged.lock().unwrap()[before..]).into_owned();
    assert!(
        !after.contains("START") && !after.contains("Timedout"),
        "{after}"
    );

    assert_eq!(holder.await.unwrap().payload(), r#""slept""#);
    let answered = waiting
        .invoke(InvokeRequest::new(r#"{"first_name":"A","last_name":"B"}"#))
        .await
        .unwrap();
    assert_eq!(answered.payload(), r#"{"message":"Hello A B!"}"#);
}

/// `serve` writes function logs through a queue and a thread of its own: a
/// reader of its stderr that reads nothing (a full pipe) makes no
/// invocation wait, and once it reads again it is told how many writes were
/// dropped. Each invocation logs about 300 bytes, so the 64 KiB pipe is full
/// long before the last of 2,000 (about 10,000 writes, past the queue's
/// 4,096); written in the invocation, as before, the
/// write blocked the executor and the requests after it never answered.
#[test]
fn a_reader_that_reads_no_output_stalls_no_invocation() {
    use std::io::BufRead as _;
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("functions.toml");
    std::fs::write(&config, probe_config()).unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_wasm-lambda"))
        .args(["serve", "--listen", "127.0.0.1:0", "--config"])
        .arg(&config)
        .arg("--state-dir")
        .arg(dir.path().join("state"))
        .env("WASM_LAMBDA_CACHE_DIR", cache_dir())
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Read only up to the address; then nothing, until the end.
    let mut stderr = std::io::BufReader::new(child.stderr.take().unwrap());
    let mut line = String::new();
    let address = loop {
        line.clear();
        assert!(stderr.read_line(&mut line).unwrap() > 0, "serve ended");
        if let Some(address) = line.trim().split(" on http://").nth(1) {
            break address.to_string();
        }
    };
    let print = || {
        raw_http(
            &address,
            "POST",
            "/2015-03-31/functions/probe/invocations",
            &[("Content-Type", "application/json")],
            br#"{"action":"print"}"#,
        )
    };
    for n in 0..2000 {
        let answer = print();
        assert_eq!(answer.status, 200, "invocation {n}: {}", answer.head);
        assert_eq!(answer.body, r#""printed""#, "invocation {n}");
    }
    // Reading again: the dropped writes are counted in the output, on the
    // writer's next line. The server stays up until the reader has seen it
    // (or a minute has passed, so a missing line fails instead of hanging).
    let (found, seen) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut all = String::new();
        for line in stderr.lines().map_while(Result::ok) {
            let dropped = line.contains("log writes dropped");
            all.push_str(&line);
            all.push('\n');
            if dropped {
                break;
            }
        }
        let _ = found.send(all);
    });
    assert_eq!(print().status, 200);
    let log = seen
        .recv_timeout(Duration::from_secs(60))
        .unwrap_or_else(|_| "the reader saw no count of dropped writes in a minute".into());
    let _ = child.kill();
    let _ = child.wait();
    assert!(
        log.contains("log writes dropped"),
        "{}",
        &log[log.len().saturating_sub(2000)..]
    );
}

/// `$TMPDIR/wasm-lambda-scratch-<uid>` is used only when it is this user's
/// own private folder: a symbolic link, a folder others may enter, or one
/// of another user's is refused with the reason, and nothing runs.
#[test]
fn a_scratch_root_that_is_not_ours_alone_is_refused() {
    use std::os::unix::fs::PermissionsExt;
    // SAFETY: geteuid has no preconditions and cannot fail.
    let uid = unsafe { libc::geteuid() };
    let invoke = |tmp: &std::path::Path| {
        Command::new(env!("CARGO_BIN_EXE_wasm-lambda"))
            .args(["invoke", guest("examples/rust/hello").to_str().unwrap()])
            .args(["--event", r#"{"first_name":"A","last_name":"B"}"#])
            .env("WASM_LAMBDA_CACHE_DIR", cache_dir())
            .env("TMPDIR", tmp)
            .output()
            .unwrap()
    };
    let root_in = |tmp: &std::path::Path| tmp.join(format!("wasm-lambda-scratch-{uid}"));

    let elsewhere = tempfile::tempdir().unwrap();
    let linked = tempfile::tempdir().unwrap();
    std::os::unix::fs::symlink(elsewhere.path(), root_in(linked.path())).unwrap();
    let open = tempfile::tempdir().unwrap();
    std::fs::create_dir(root_in(open.path())).unwrap();
    std::fs::set_permissions(root_in(open.path()), std::fs::Permissions::from_mode(0o777)).unwrap();
    let mut cases = vec![(linked.path(), "symbolic link"), (open.path(), "mode 777")];
    // Root may give the folder away; another user cannot make this case.
    let foreign = tempfile::tempdir().unwrap();
    if uid == 0 {
        std::fs::create_dir(root_in(foreign.path())).unwrap();
        std::fs::set_permissions(
            root_in(foreign.path()),
            std::fs::Permissions::from_mode(0o700),
        )
        .unwrap();
        std::os::unix::fs::chown(root_in(foreign.path()), Some(54_321), None).unwrap();
        cases.push((foreign.path(), "belongs to user 54321"));
    }
    for (tmp, reason) in cases {
        let output = invoke(tmp);
        let stderr = text(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{stderr}");
        assert!(
            stderr.contains("refusing to keep sandboxes' /tmp folders"),
            "{stderr}"
        );
        assert!(stderr.contains(reason), "{reason}: {stderr}");
        assert!(text(&output.stdout).is_empty());
    }
    assert_eq!(std::fs::read_dir(elsewhere.path()).unwrap().count(), 0);

    // The user's own private folder, made now or found, is used.
    let fresh = tempfile::tempdir().unwrap();
    for _ in 0..2 {
        let output = invoke(fresh.path());
        assert!(output.status.success(), "{}", text(&output.stderr));
    }
    let mode = std::fs::metadata(root_in(fresh.path()))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o700);
}

#[test]
fn a_trap_log_never_carries_the_hosts_backtrace() {
    let output = Command::new(env!("CARGO_BIN_EXE_wasm-lambda"))
        .args(["invoke", guest("host/tests/guests/probe").to_str().unwrap()])
        .args(["--event", r#"{"action":"trap"}"#])
        .env("WASM_LAMBDA_CACHE_DIR", cache_dir())
        .env("RUST_BACKTRACE", "1")
        .output()
        .unwrap();
    let stderr = text(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("Runtime.ExitError"), "{stderr}");
    assert!(stderr.contains("unreachable"), "{stderr}");
    for host_detail in [
        "Stack backtrace",
        "host/src/",
        "host/core/src/",
        "wasmtime::",
        ".cargo/registry",
    ] {
        assert!(
            !stderr.contains(host_detail),
            "{host_detail:?} in the function's log:\n{stderr}"
        );
    }
}

fn probe_config() -> String {
    format!(
        "[[function]]\nname = \"probe\"\ncomponent = {}\n",
        toml_path(guest("host/tests/guests/probe"))
    )
}

pub(crate) fn address(serve: &Serve) -> String {
    serve.endpoint.trim_start_matches("http://").to_string()
}

#[test]
fn a_body_over_the_cut_off_gets_lambdas_413() {
    let serve = Serve::start(&probe_config());
    let mut stream = TcpStream::connect(address(&serve)).unwrap();
    let length = 30 << 20;
    write!(
        stream,
        "POST /2015-03-31/functions/probe/invocations HTTP/1.1\r\nHost: x\r\nContent-Length: {length}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    // The server may answer and close before the whole body is sent.
    let chunk = vec![b' '; 1 << 20];
    for _ in 0..30 {
        if stream.write_all(&chunk).is_err() {
            break;
        }
    }
    let mut answer = Vec::new();
    let _ = stream.read_to_end(&mut answer);
    let answer = text(&answer);
    assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");
    let lower = answer.to_ascii_lowercase();
    assert!(
        lower.contains("x-amzn-errortype: requestentitytoolargeexception"),
        "{answer}"
    );
    let body = json(answer.split("\r\n\r\n").nth(1).unwrap_or_default());
    assert_eq!(body["Type"], "User");
    assert!(
        body["Message"]
            .as_str()
            .unwrap()
            .starts_with("Request must be smaller than 6291456 bytes")
    );
}

#[test]
fn a_client_stuck_mid_body_does_not_hold_up_shutdown() {
    let mut serve = Serve::start(&probe_config());
    let mut stream = TcpStream::connect(address(&serve)).unwrap();
    write!(
        stream,
        "POST /2015-03-31/functions/probe/invocations HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n{{\"a\":"
    )
    .unwrap();
    stream.flush().unwrap();
    std::thread::sleep(Duration::from_millis(200));
    let status = Command::new("kill")
        .args(["-TERM", &serve.child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    // Without the grace period's end the server waits for the client for
    // as long as it stays connected; this bound is far above the second it
    // takes, and far below forever.
    let started = Instant::now();
    loop {
        if let Some(status) = serve.child.try_wait().unwrap() {
            assert!(status.success(), "{status:?}\n{}", serve.log());
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "serve still runs after SIGTERM:\n{}",
            serve.log()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    drop(stream);
}

/// Whether a sandbox can read what the last invocation left in memory: the
/// probe writes a secret to its heap, static data and stack, then later
/// invocations search their whole linear memory for it.
async fn secret_survives(host: &Host, reuse_instances: bool) -> u64 {
    let mut config = FunctionConfig::new("secrets", guest("host/tests/guests/probe"));
    config.reuse_instances = reuse_instances;
    let function = host.load(config).unwrap();
    let secret = format!("secret-{}", uuid_like());
    let written = invoke(
        &function,
        &format!(r#"{{"action":"write_secret","secret":"{secret}"}}"#),
    )
    .await;
    assert_eq!(written.payload(), r#""written""#);
    let mut found = 0;
    for _ in 0..3 {
        let scan = invoke(
            &function,
            &format!(r#"{{"action":"find_secret","secret":"{secret}"}}"#),
        )
        .await;
        found += json(scan.payload()).as_u64().expect("a count");
    }
    found
}

/// Credentials never enter the init phase: it runs once at load without
/// them, so a load with other credentials reuses its snapshot (rotating
/// credentials costs no new one), and each sandbox still gets its own, as
/// variables and from the credentials endpoint its SDKs read.
#[tokio::test]
async fn credentials_never_enter_the_init_phase_and_one_snapshot_serves_every_set() {
    let setting = format!("credentials-{}", uuid_like());
    let load_with = |access_key_id: &str| {
        let mut config = FunctionConfig::new("rotated", guest("host/tests/guests/python/probe"));
        config
            .environment
            .insert("PROBE_SETTING".into(), setting.clone());
        config.aws_credentials = Some(wasm_lambda::AwsCredentials {
            access_key_id: access_key_id.into(),
            secret_access_key: format!("secret-of-{access_key_id}"),
            session_token: Some(format!("token-of-{access_key_id}")),
        });
        crate::common::host().load(config).unwrap()
    };
    let first = load_with("AKIDFIRST");
    assert_eq!(first.load_info().snapshot, Some(LoadSource::Compiled));
    let second = load_with("AKIDSECOND");
    // The first load's snapshot, still held, is shared.
    assert_eq!(second.load_info().snapshot, Some(LoadSource::Resident));
    let init = |answer: &wasm_lambda::Invocation| json(answer.payload())["init_id"].clone();
    let (a, b) = (
        invoke(&first, r#"{"action":"init"}"#).await,
        invoke(&second, r#"{"action":"init"}"#).await,
    );
    assert_eq!(init(&a), init(&b), "one init phase");
    assert_eq!(json(a.payload())["module_setting"], setting.as_str());
    for (function, key) in [(&first, "AKIDFIRST"), (&second, "AKIDSECOND")] {
        let env = json(invoke(function, r#"{"action":"env"}"#).await.payload());
        assert_eq!(env["AWS_ACCESS_KEY_ID"], key);
        assert_eq!(env["AWS_SECRET_ACCESS_KEY"], format!("secret-of-{key}"));
        assert_eq!(env["AWS_SESSION_TOKEN"], format!("token-of-{key}"));
        assert_eq!(
            env["AWS_CONTAINER_CREDENTIALS_FULL_URI"],
            "http://127.0.0.1:9001/2021-04-23/credentials"
        );
    }
}

/// The credentials endpoint (`AWS_CONTAINER_CREDENTIALS_FULL_URI`) is
/// answered by the host with the asking sandbox's credentials, in the
/// container credentials document the AWS SDKs read; a function without
/// credentials has no endpoint, and the address is refused as any other.
#[tokio::test]
async fn the_credentials_endpoint_answers_each_sandbox_with_its_own() {
    let event = r#"{"action":"http_get","url":"http://127.0.0.1:9001/2021-04-23/credentials"}"#;
    let with = load("endpoint", guest("host/tests/guests/net"), |config| {
        config.aws_credentials = Some(wasm_lambda::AwsCredentials {
            access_key_id: "AKIDENDPOINT".into(),
            secret_access_key: "endpoint-secret".into(),
            session_token: None,
        });
    });
    let answer = json(invoke(&with, event).await.payload());
    assert_eq!(answer["status"], 200, "{answer}");
    let document = json(answer["body"].as_str().unwrap());
    assert_eq!(document["AccessKeyId"], "AKIDENDPOINT");
    assert_eq!(document["SecretAccessKey"], "endpoint-secret");
    assert_eq!(document["Token"], "");
    let expiration = humantime::parse_rfc3339(document["Expiration"].as_str().unwrap()).unwrap();
    assert!(expiration > std::time::SystemTime::now() + Duration::from_secs(1800));

    let without = load("no-endpoint", guest("host/tests/guests/net"), |_| {});
    let invocation = invoke(&without, event).await;
    let answer = json(invocation.payload());
    // The host's refusal, as its log says it. What the guest reports
    // depends on wstd: `HttpRequestDenied` when it sees the failed response
    // first, "connection reset" when it first writes the request's body to
    // the stream the refusal closed (seen once in CI).
    assert!(
        answer["error"].is_string() && answer.get("status").is_none(),
        "{answer}"
    );
    assert!(
        invocation.log.contains(
            "wasm-lambda: refused an outbound request to http://127.0.0.1:9001: no allowed_outbound_hosts grant matches"
        ),
        "{answer}\n{}",
        invocation.log
    );
}

fn uuid_like() -> String {
    format!(
        "{:x}",
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos()
    )
}

#[tokio::test]
async fn a_fresh_sandbox_never_sees_the_last_invocations_memory() {
    for (name, engine) in [
        ("pooling, keep-resident", EngineConfig::default()),
        (
            "pooling, nothing kept resident",
            EngineConfig {
                keep_resident_bytes: 0,
                ..EngineConfig::default()
            },
        ),
        (
            "on-demand",
            EngineConfig {
                pooling: false,
                ..EngineConfig::default()
            },
        ),
    ] {
        let host = Host::new(HostConfig {
            cache_dir: Some(cache_dir()),
            engine: EngineConfig {
                max_instances: 2,
                ..engine
            },
            ..HostConfig::default()
        })
        .unwrap();
        // The scan finds the secret where it is there to find: in the same
        // instance, reused.
        assert!(
            secret_survives(&host, true).await >= 3 * 128,
            "{name}: the scan finds the secret's 128 scattered copies in a reused instance"
        );
        assert_eq!(
            secret_survives(&host, false).await,
            0,
            "{name}: a fresh sandbox saw the last invocation's secret"
        );
    }
}

/// Sends an `Event` invocation; returns its request id.
pub(crate) fn post_event(address: &str, function: &str, event: &str) -> String {
    let answer = raw_http(
        address,
        "POST",
        &format!("/2015-03-31/functions/{function}/invocations"),
        &[("X-Amz-Invocation-Type", "Event")],
        event.as_bytes(),
    );
    assert_eq!(answer.status, 202, "{}\n{}", answer.head, answer.body);
    answer
        .head
        .lines()
        .find_map(|line| line.strip_prefix("x-amzn-requestid: "))
        .expect("a request id")
        .trim()
        .to_string()
}

pub(crate) fn queue_counts(address: &str) -> serde_json::Value {
    let answer = raw_http::<&str, &str>(address, "GET", "/wasm-lambda/queue", &[], b"");
    assert_eq!(answer.status, 200, "{}", answer.body);
    json(&answer.body)
}

#[test]
fn accepted_events_survive_a_kill_and_run_after_a_restart() {
    let config = format!(
        "event_retry_delay = 0.05\n[[function]]\nname = \"slow\"\ncomponent = {}\nreserved_concurrency = 1\ntimeout = 10\n",
        toml_path(guest("host/tests/guests/probe"))
    );
    let state = tempfile::tempdir().unwrap();
    let mut serve = Serve::start_with_state(&config, tempfile::tempdir().unwrap(), state.path());
    let first = address(&serve);
    let ids: Vec<String> = (0..10)
        .map(|n| {
            post_event(
                &first,
                "slow",
                &format!(r#"{{"action":"sleep","millis":500,"n":{n}}}"#),
            )
        })
        .collect();
    // SIGKILL: no shutdown, no draining; only what is on disk survives.
    serve.child.kill().unwrap();
    serve.child.wait().unwrap();
    let before = serve.log();
    drop(serve);

    let serve = Serve::start_with_state(&config, tempfile::tempdir().unwrap(), state.path());
    for id in &ids {
        let needle = format!("Event invocation {id} of slow succeeded");
        if !before.contains(&needle) {
            serve.wait_for_log(&needle, Duration::from_secs(60));
        }
    }
    let counts = queue_counts(&address(&serve));
    assert_eq!(counts["pending"], 0, "{counts}");
    assert_eq!(counts["retrying"], 0, "{counts}");
    // Ten events of half a second each, one at a time: most were still
    // stored when the first server was killed.
    assert!(
        serve.log().contains("wasm-lambda: resuming"),
        "the restarted server resumed the stored events:\n{}",
        serve.log()
    );
}

#[test]
fn events_that_give_up_go_to_their_failure_destination() {
    events_give_up_to_their_failure_destination(&[]);
}

/// [`events_that_give_up_go_to_their_failure_destination`] on a server
/// started with `flags` (the NATS backend's test runs it there too).
pub(crate) fn events_give_up_to_their_failure_destination(flags: &[&str]) {
    let config_dir = tempfile::tempdir().unwrap();
    let dead_letters = config_dir.path().join("dlq.jsonl");
    let probe = toml_path(guest("host/tests/guests/probe"));
    let config = format!(
        r#"event_retry_delay = 0.05

[[function]]
name = "to-file"
component = {probe}
maximum_retry_attempts = 1
on_failure = "file:dlq.jsonl"

[[function]]
name = "to-function"
component = {probe}
maximum_retry_attempts = 0
maximum_event_age = 60
on_failure = "function:sink"

[[function]]
name = "sink"
component = {probe}
"#
    );
    let state_dir = config_dir.path().join("state");
    let serve = Serve::start_with_flags(&config, config_dir, &state_dir, flags);
    let address = address(&serve);

    let id = post_event(&address, "to-file", r#"{"action":"error"}"#);
    serve.wait_for_log(
        &format!("Event invocation {id} of to-file failed 2 times; sent to file:"),
        Duration::from_secs(30),
    );
    let lines = std::fs::read_to_string(&dead_letters).unwrap();
    assert_eq!(lines.lines().count(), 1, "{lines}");
    let record = json(lines.trim());
    assert_eq!(record["version"], "1.0");
    assert_eq!(record["requestContext"]["requestId"], id.as_str());
    assert_eq!(record["requestContext"]["condition"], "RetriesExhausted");
    assert_eq!(record["requestContext"]["approximateInvokeCount"], 2);
    assert_eq!(
        record["requestContext"]["functionArn"],
        "arn:aws:lambda:us-east-1:000000000000:function:to-file:$LATEST"
    );
    assert_eq!(record["requestPayload"]["action"], "error");
    assert_eq!(record["responseContext"]["functionError"], "Unhandled");
    assert_eq!(record["responsePayload"]["errorType"], "ProbeError");

    let id = post_event(&address, "to-function", r#"{"action":"error"}"#);
    let log = serve.wait_for_log(
        &format!("Event invocation {id} of to-function failed 1 times; sent to function:sink"),
        Duration::from_secs(30),
    );
    assert_eq!(log.matches(&format!("START RequestId: {id}")).count(), 1);
    let counts = queue_counts(&address);
    assert_eq!(counts["failed"], 2, "{counts}");
    assert_eq!(counts["pending"], 0, "{counts}");
}

#[test]
fn an_event_whose_retry_would_start_past_its_maximum_age_gives_up() {
    event_gives_up_past_its_maximum_age(&[]);
}

/// [`an_event_whose_retry_would_start_past_its_maximum_age_gives_up`] on a
/// server started with `flags` (the NATS backend's test runs it there too):
/// a retry pause of 61 s after the first failure would start past a
/// maximum age of 60 s, so the event gives up at once with Lambda's
/// `EventAgeExceeded`.
pub(crate) fn event_gives_up_past_its_maximum_age(flags: &[&str]) {
    let config_dir = tempfile::tempdir().unwrap();
    let dead_letters = config_dir.path().join("aged.jsonl");
    let config = format!(
        r#"event_retry_delay = 61

[[function]]
name = "aged"
component = {probe}
maximum_event_age = 60
on_failure = "file:aged.jsonl"
"#,
        probe = toml_path(guest("host/tests/guests/probe"))
    );
    let state_dir = config_dir.path().join("state");
    let serve = Serve::start_with_flags(&config, config_dir, &state_dir, flags);
    let id = post_event(&address(&serve), "aged", r#"{"action":"error"}"#);
    let log = serve.wait_for_log(
        &format!(
            "Event invocation {id} of aged is older than its maximum event age; sent to file:"
        ),
        Duration::from_secs(30),
    );
    assert_eq!(log.matches(&format!("START RequestId: {id}")).count(), 1);
    let record = json(std::fs::read_to_string(&dead_letters).unwrap().trim());
    assert_eq!(record["requestContext"]["condition"], "EventAgeExceeded");
    assert_eq!(record["requestContext"]["approximateInvokeCount"], 1);
    assert_eq!(record["requestPayload"]["action"], "error");
}

#[test]
fn async_settings_outside_lambdas_ranges_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    for (setting, needle) in [
        ("maximum_retry_attempts = 3", "maximum_retry_attempts 3"),
        ("maximum_event_age = 59", "maximum_event_age 59"),
        ("on_failure = \"sqs:queue\"", "on_failure must be"),
        ("on_failure = \"function:nobody\"", "function nobody"),
    ] {
        let config = format!(
            "[[function]]\nname = \"probe\"\ncomponent = {}\n{setting}\n",
            toml_path(guest("host/tests/guests/probe"))
        );
        let stderr = refused_serve_config(dir.path(), &config);
        assert!(stderr.contains(needle), "{needle:?} in {stderr}");
    }
}
