//! Load and fault runs against a real `wasm-lambda serve`, outside CI.
//!
//! ```sh
//! cargo run --release -p wasm-lambda-benches --bin stress -- mixed [REQUESTS] [CONCURRENCY]
//! cargo run --release -p wasm-lambda-benches --bin stress -- fairness [SECONDS] [CONCURRENCY]
//! cargo run --release -p wasm-lambda-benches --bin stress -- telemetry [INVOCATIONS]
//! cargo run --release -p wasm-lambda-benches --bin stress -- memory [SANDBOXES]
//! ```
//!
//! `mixed` sends REQUESTS invocations (default 30,000) at CONCURRENCY
//! (default 16), a quarter of them hostile (loops, memory bombs, traps,
//! panics, oversized responses and errors, malformed and oversized events),
//! and prints how many were answered, answered correctly, crossed (a
//! response that belongs to another request), lost, the throughput, and the
//! server's RSS before, right after, and after a quiet period of 15 s,
//! split into anonymous mappings (mostly the instance pool's slots, which
//! keep pages resident for reuse) and the rest (the main heap, files).
//!
//! `fairness` measures a short function's throughput alone, then while three
//! callers keep another function in an infinite loop (1 s timeout), and
//! prints both and their ratio.
//!
//! `telemetry` runs INVOCATIONS (default 10,000) of a short function one at
//! a time on two servers, taking turns by the thousand, whose function has
//! the same extension (`benches/extensions/unanswered-telemetry`): on one it
//! only waits for events, on the other it also subscribed the function's
//! records to a listener that never answers. It prints
//! both p50 latencies, their ratio, and the second server's RSS before and
//! after.
//!
//! `memory` measures, in this process and per example language (each
//! language's calculator, on a host of its own), the resident memory of a
//! loaded function and of a live sandbox: it loads the calculator
//! SANDBOXES times (default 32) with `reuse_instances`, invokes each load
//! once, so that each keeps its sandbox, and divides the growth of this
//! process's proportional resident memory (PSS). It prints both per
//! language, the time each of those loads took, and how many such
//! sandboxes the memory available now would hold.
//!
//! The server is `target/release/wasm-lambda` (build it first); the guest is
//! the tests' probe, built here through the library.

use std::io::Read as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use serde_json::Value;

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("benches/ has a parent")
        .to_path_buf()
}

fn build_probe() -> PathBuf {
    let root = repo_root();
    let options = wasm_lambda::build::BuildOptions {
        target_dir: Some(root.join("target").join("wasm-guests")),
        ..wasm_lambda::build::BuildOptions::new(root.join("host/tests/guests/probe"))
    };
    wasm_lambda::build::build(&options, &mut |_| {})
        .expect("the probe builds")
        .component
}

/// A running server, killed when dropped.
struct Server {
    child: Child,
    address: String,
    _dir: tempfile::TempDir,
}

impl Server {
    fn start(probe: &Path, settings: &str) -> Server {
        Server::start_with(probe, settings, "")
    }

    /// [`Server::start`], with `good_settings` added to `good`'s table.
    fn start_with(probe: &Path, settings: &str, good_settings: &str) -> Server {
        let dir = tempfile::tempdir().unwrap();
        let config = dir.path().join("functions.toml");
        let probe = serde_json::to_string(probe.to_str().unwrap()).unwrap();
        std::fs::write(
            &config,
            format!(
                "{settings}\n[[function]]\nname = \"good\"\ncomponent = {probe}\n{good_settings}\n\n\
                 [[function]]\nname = \"hostile\"\ncomponent = {probe}\ntimeout = 1\n\
                 maximum_retry_attempts = 0\n\n\
                 [[function]]\nname = \"heavy\"\ncomponent = {probe}\ntimeout = 60\nmemory = 512\n"
            ),
        )
        .unwrap();
        let binary = repo_root().join("target/release/wasm-lambda");
        let mut child = Command::new(&binary)
            .args(["serve", "--listen", "127.0.0.1:0", "--config"])
            .arg(&config)
            .arg("--state-dir")
            .arg(dir.path().join("state"))
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|error| panic!("{}: {error} (build it first)", binary.display()));
        // Read the address, then keep draining the log.
        let mut stderr = child.stderr.take().unwrap();
        let mut seen = Vec::new();
        let address = loop {
            let mut byte = [0u8; 1];
            if stderr.read(&mut byte).unwrap() == 0 {
                panic!("serve exited: {}", String::from_utf8_lossy(&seen));
            }
            seen.push(byte[0]);
            let text = String::from_utf8_lossy(&seen);
            if text.ends_with('\n')
                && let Some(address) = text
                    .lines()
                    .last()
                    .and_then(|l| l.split(" on http://").nth(1))
            {
                break address.trim().to_string();
            }
        };
        std::thread::spawn(move || std::io::copy(&mut stderr, &mut std::io::sink()));
        Server {
            child,
            address,
            _dir: dir,
        }
    }

    /// The resident kilobytes of the server's anonymous mappings, from
    /// `/proc/PID/smaps`: the instance pool's slots (each keeps up to 16 MiB
    /// of its last instance's pages for the next), thread stacks and the
    /// allocator's arenas; the rest is the main heap and the files mapped.
    fn anonymous_rss_kb(&self) -> u64 {
        let Ok(smaps) = std::fs::read_to_string(format!("/proc/{}/smaps", self.child.id())) else {
            return 0;
        };
        let mut total = 0;
        let mut anonymous = false;
        for line in smaps.lines() {
            let words: Vec<&str> = line.split_whitespace().collect();
            match words.as_slice() {
                [range, _, _, _, _, rest @ ..] if range.contains('-') => {
                    anonymous = rest.is_empty();
                }
                [range, _, _, _, _] if range.contains('-') => anonymous = true,
                ["Rss:", kb, ..] if anonymous => total += kb.parse::<u64>().unwrap_or(0),
                _ => {}
            }
        }
        total
    }

    fn rss_kb(&self) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))
            .unwrap_or_default();
        kb_field(&status, "VmRSS:")
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(60)))
        .build()
        .into()
}

/// One invocation: the status, the function-error header and the body.
fn invoke(
    agent: &ureq::Agent,
    address: &str,
    function: &str,
    body: &[u8],
) -> Result<(u16, bool, String), ureq::Error> {
    let url = format!("http://{address}/2015-03-31/functions/{function}/invocations");
    let mut response = agent.post(&url).send(body)?;
    let status = response.status().as_u16();
    let function_error = response.headers().contains_key("x-amz-function-error");
    let text = response
        .body_mut()
        .with_config()
        .limit(64 << 20)
        .read_to_string()?;
    Ok((status, function_error, text))
}

/// Whether an answer (status, function-error header, body) is the right one.
type Check = Box<dyn Fn(u16, bool, &str) -> bool + Send>;

/// The request that invocation number `n` sends, and what a right answer is.
fn request(n: u64) -> (&'static str, Vec<u8>, Check) {
    let error_type = |expected: &'static str| -> Check {
        Box::new(move |status, function_error, body| {
            status == 200
                && function_error
                && serde_json::from_str::<Value>(body)
                    .is_ok_and(|value| value["errorType"] == expected)
        })
    };
    match n % 16 {
        0 => (
            "hostile",
            br#"{"action":"loop"}"#.to_vec(),
            error_type("Sandbox.Timedout"),
        ),
        // Under load a memory bomb may meet its timeout before the cap.
        1 => (
            "hostile",
            br#"{"action":"alloc"}"#.to_vec(),
            Box::new(|status, function_error, body| {
                status == 200
                    && function_error
                    && serde_json::from_str::<Value>(body).is_ok_and(|value| {
                        value["errorType"] == "Runtime.OutOfMemory"
                            || value["errorType"] == "Sandbox.Timedout"
                    })
            }),
        ),
        2 => (
            "hostile",
            br#"{"action":"trap"}"#.to_vec(),
            error_type("Runtime.ExitError"),
        ),
        3 => (
            "heavy",
            br#"{"action":"many_frames","frames":3000000}"#.to_vec(),
            error_type("Function.ResponseSizeTooLarge"),
        ),
        4 => (
            "hostile",
            b"{not json".to_vec(),
            Box::new(|status, _, _| status == 400),
        ),
        5 if n % 64 == 5 => (
            "hostile",
            vec![b' '; 7 << 20],
            Box::new(|status, _, _| status == 413),
        ),
        _ => {
            let body = format!(r#"{{"action":"echo","n":{n}}}"#);
            let expected = body.clone();
            (
                "good",
                body.into_bytes(),
                Box::new(move |status, function_error, text| {
                    status == 200 && !function_error && text == expected
                }),
            )
        }
    }
}

fn mixed(requests: u64, concurrency: usize) {
    let probe = build_probe();
    let server = Server::start(&probe, "");
    let rss_before = server.rss_kb();
    let next = Arc::new(AtomicU64::new(0));
    let answered = Arc::new(AtomicU64::new(0));
    let correct = Arc::new(AtomicU64::new(0));
    let crossed = Arc::new(AtomicU64::new(0));
    let lost = Arc::new(AtomicU64::new(0));
    let wrong = Arc::new(std::sync::Mutex::new(std::collections::BTreeMap::<
        String,
        u64,
    >::new()));
    let started = Instant::now();
    let workers: Vec<_> = (0..concurrency)
        .map(|_| {
            let (next, answered, correct, crossed, lost, wrong) = (
                next.clone(),
                answered.clone(),
                correct.clone(),
                crossed.clone(),
                lost.clone(),
                wrong.clone(),
            );
            let address = server.address.clone();
            std::thread::spawn(move || {
                let agent = agent();
                loop {
                    let n = next.fetch_add(1, Ordering::Relaxed);
                    if n >= requests {
                        return;
                    }
                    let (function, body, check) = request(n);
                    match invoke(&agent, &address, function, &body) {
                        Ok((status, function_error, text)) => {
                            answered.fetch_add(1, Ordering::Relaxed);
                            if check(status, function_error, &text) {
                                correct.fetch_add(1, Ordering::Relaxed);
                            } else {
                                if function == "good" && text.contains("\"echo\"") {
                                    crossed.fetch_add(1, Ordering::Relaxed);
                                }
                                // What the wrong answers were, by request kind.
                                let sent = String::from_utf8_lossy(&body[..body.len().min(40)])
                                    .into_owned();
                                let got = serde_json::from_str::<Value>(&text)
                                    .map(|value| value["errorType"].to_string())
                                    .unwrap_or_else(|_| text.chars().take(60).collect());
                                *wrong
                                    .lock()
                                    .unwrap()
                                    .entry(format!("{sent} -> {status} {got}"))
                                    .or_default() += 1;
                            }
                        }
                        Err(_) => {
                            lost.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                }
            })
        })
        .collect();
    for worker in workers {
        worker.join().unwrap();
    }
    let elapsed = started.elapsed();
    let rss_after = server.rss_kb();
    // What stays once the server has been idle: warm sandboxes, the
    // allocator's free pages, the pool's kept pages.
    std::thread::sleep(Duration::from_secs(15));
    let rss_quiet = server.rss_kb();
    let anonymous_quiet = server.anonymous_rss_kb();
    let alive = agent()
        .get(format!("http://{}/2015-03-31/functions", server.address))
        .call()
        .is_ok();
    println!(
        "mixed: {requests} requests at concurrency {concurrency} in {:.1} s: answered {}, correct {}, crossed {}, lost {}, {:.0} req/s; RSS {} MB before, {} MB after, {} MB after 15 s quiet ({} MB of it anonymous: the pool's slots, stacks, arenas; {} MB the heap and files); server alive: {alive}",
        elapsed.as_secs_f64(),
        answered.load(Ordering::Relaxed),
        correct.load(Ordering::Relaxed),
        crossed.load(Ordering::Relaxed),
        lost.load(Ordering::Relaxed),
        requests as f64 / elapsed.as_secs_f64(),
        rss_before / 1024,
        rss_after / 1024,
        rss_quiet / 1024,
        anonymous_quiet / 1024,
        rss_quiet.saturating_sub(anonymous_quiet) / 1024,
    );
    for (answer, count) in wrong.lock().unwrap().iter() {
        println!("  wrong x{count}: {answer}");
    }
}

/// Requests per second of `good` echoes at `concurrency` for `seconds`.
fn throughput(address: &str, seconds: f64, concurrency: usize) -> f64 {
    let done = Arc::new(AtomicUsize::new(0));
    let deadline = Instant::now() + Duration::from_secs_f64(seconds);
    let workers: Vec<_> = (0..concurrency)
        .map(|_| {
            let done = done.clone();
            let address = address.to_string();
            std::thread::spawn(move || {
                let agent = agent();
                while Instant::now() < deadline {
                    if let Ok((200, false, _)) =
                        invoke(&agent, &address, "good", br#"{"action":"echo"}"#)
                    {
                        done.fetch_add(1, Ordering::Relaxed);
                    }
                }
            })
        })
        .collect();
    for worker in workers {
        worker.join().unwrap();
    }
    done.load(Ordering::Relaxed) as f64 / seconds
}

fn fairness(seconds: f64, concurrency: usize) {
    let probe = build_probe();
    // Side by side: the default sharing, and none (every guest may run on
    // every thread, as before the long-running gate).
    for (name, settings) in [
        ("fair sharing", ""),
        ("no sharing", "long_running_slots = 1000000"),
    ] {
        let server = Server::start(&probe, settings);
        // Warm up the artifact cache and the pool.
        throughput(&server.address, 1.0, concurrency);
        let alone = throughput(&server.address, seconds, concurrency);
        let stop = Arc::new(AtomicBool::new(false));
        let loopers: Vec<_> = (0..3)
            .map(|_| {
                let stop = stop.clone();
                let address = server.address.clone();
                std::thread::spawn(move || {
                    let agent = agent();
                    while !stop.load(Ordering::Relaxed) {
                        let _ = invoke(&agent, &address, "hostile", br#"{"action":"loop"}"#);
                    }
                })
            })
            .collect();
        std::thread::sleep(Duration::from_millis(500));
        let loaded = throughput(&server.address, seconds, concurrency);
        stop.store(true, Ordering::Relaxed);
        for looper in loopers {
            looper.join().unwrap();
        }
        println!(
            "fairness ({name}): `good` at concurrency {concurrency} for {seconds} s: {alone:.0} req/s alone, {loaded:.0} req/s beside 3 callers looping in `hostile`: {:.2}x",
            loaded / alone
        );
    }
}

/// `good`'s echo, `count` times one after another: each latency.
fn latencies(agent: &ureq::Agent, address: &str, count: usize) -> Vec<Duration> {
    (0..count)
        .map(|_| {
            let started = Instant::now();
            let answer = invoke(agent, address, "good", br#"{"action":"echo"}"#);
            assert!(
                matches!(answer, Ok((200, false, _))),
                "a failed echo: {answer:?}"
            );
            started.elapsed()
        })
        .collect()
}

fn p50(mut latencies: Vec<Duration>) -> Duration {
    latencies.sort();
    latencies[latencies.len() / 2]
}

fn telemetry(invocations: u64) {
    let probe = build_probe();
    let extension = repo_root().join("benches/extensions/unanswered-telemetry");
    // The same extension in both, so only the subscription differs.
    // STRESS_EVENTS=SHUTDOWN: the extension takes no INVOKE, so it does not
    // wake for every invocation.
    let events = std::env::var("STRESS_EVENTS").unwrap_or_else(|_| "INVOKE,SHUTDOWN".into());
    let with_extension = |subscribe: &str| {
        Server::start_with(
            &probe,
            "",
            &format!(
                "extensions = [{}]\nenvironment = {{ SUBSCRIBE = \"{subscribe}\", EVENTS = \"{events}\" }}",
                serde_json::to_string(extension.to_str().unwrap()).unwrap()
            ),
        )
    };
    let plain = with_extension("no");
    // STRESS_CONTROL=1: the second server unsubscribed too, to see the
    // spread of two identical servers taking turns.
    let control = std::env::var_os("STRESS_CONTROL").is_some();
    let subscribed = with_extension(if control { "no" } else { "yes" });
    let agent = agent();
    // Warm up the artifact cache and the pools.
    for server in [&plain, &subscribed] {
        latencies(&agent, &server.address, 200);
    }
    let rss_before = subscribed.rss_kb();
    let (mut without, mut with) = (Vec::new(), Vec::new());
    let rounds = (invocations / 1_000).max(1);
    for _ in 0..rounds {
        without.extend(latencies(&agent, &plain.address, 1_000));
        with.extend(latencies(&agent, &subscribed.address, 1_000));
    }
    let rss_after = subscribed.rss_kb();
    let (without, with) = (p50(without), p50(with));
    println!(
        "telemetry to a destination that never answers, {} invocations each: p50 {:.1} µs with the extension unsubscribed, {:.1} µs subscribed: {:.3}x; RSS of the subscribed server {} KB before, {} KB after",
        rounds * 1_000,
        without.as_secs_f64() * 1e6,
        with.as_secs_f64() * 1e6,
        with.as_secs_f64() / without.as_secs_f64(),
        rss_before,
        rss_after,
    );
}

/// This process's proportional resident memory (PSS: a page mapped twice,
/// as an artifact loaded twice maps its file, counts once) and the
/// machine's available memory, in KiB.
fn own_pss_and_available_kb() -> (u64, u64) {
    let rollup = std::fs::read_to_string("/proc/self/smaps_rollup").unwrap_or_default();
    let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
    (
        kb_field(&rollup, "Pss:"),
        kb_field(&meminfo, "MemAvailable:"),
    )
}

/// The number after `name` in a `/proc` file of `Name:   123 kB` lines (0
/// when it is missing).
fn kb_field(text: &str, name: &str) -> u64 {
    text.lines()
        .find_map(|line| line.strip_prefix(name))
        .and_then(|value| value.split_whitespace().next()?.parse().ok())
        .unwrap_or(0)
}

fn memory(sandboxes: usize) {
    use wasm_lambda::{EngineConfig, FunctionConfig, Host, HostConfig, InvokeRequest};
    use wasm_lambda_benches::{EXAMPLE_LANGUAGES, build_example, cache_dir};
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    let event = r#"{"action":"increment","number":3}"#;
    println!(
        "{:<16} {:>10} {:>12} {:>14} {:>16} {:>26}",
        "language",
        "sandboxes",
        "ms per load",
        "MiB per load",
        "MiB per sandbox",
        "sandboxes in MemAvailable"
    );
    for language in EXAMPLE_LANGUAGES {
        let component = build_example(language, "calculator");
        // A host of its own: a pool whose slots no other language used
        // (a used slot keeps pages resident).
        let host = Host::new(HostConfig {
            engine: EngineConfig {
                max_instances: sandboxes as u32 + 1,
                ..EngineConfig::default()
            },
            cache_dir: Some(cache_dir()),
            ..HostConfig::default()
        })
        .expect("the host starts");
        let load = || {
            let mut config = FunctionConfig::new("calculator", &component);
            config.reuse_instances = true;
            host.load(config).expect("the calculator loads")
        };
        // The first load compiles or reads the artifact and the snapshot;
        // the measured loads share them, as a server's functions do.
        let first = load();
        runtime
            .block_on(first.invoke(InvokeRequest::new(event)))
            .expect("the first invocation");
        let (before, _) = own_pss_and_available_kb();
        let loading = std::time::Instant::now();
        let functions: Vec<_> = (0..sandboxes).map(|_| load()).collect();
        let load_ms = loading.elapsed().as_secs_f64() * 1e3 / sandboxes as f64;
        let (loaded, _) = own_pss_and_available_kb();
        for function in &functions {
            let invocation = runtime
                .block_on(function.invoke(InvokeRequest::new(event)))
                .expect("an invocation");
            assert!(invocation.function_error().is_none(), "{language}");
        }
        let (live, available) = own_pss_and_available_kb();
        let per_load = loaded.saturating_sub(before) as f64 / sandboxes as f64;
        let per_sandbox = live.saturating_sub(loaded) as f64 / sandboxes as f64;
        println!(
            "{:<16} {:>10} {:>12.2} {:>14.2} {:>16.2} {:>26.0}",
            language,
            sandboxes,
            load_ms,
            per_load / 1024.0,
            per_sandbox / 1024.0,
            available as f64 / per_sandbox.max(1.0),
        );
        drop(functions);
        drop(first);
    }
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let number = |index: usize, default: f64| {
        args.get(index)
            .map(|text| text.parse::<f64>().expect("a number"))
            .unwrap_or(default)
    };
    match args.first().map(String::as_str) {
        Some("mixed") => mixed(number(1, 30_000.0) as u64, number(2, 16.0) as usize),
        Some("fairness") => fairness(number(1, 5.0), number(2, 8.0) as usize),
        Some("telemetry") => telemetry(number(1, 10_000.0) as u64),
        Some("memory") => memory(number(1, 32.0) as usize),
        _ => {
            eprintln!(
                "usage: stress mixed [REQUESTS] [CONCURRENCY] | stress fairness [SECONDS] [CONCURRENCY] | stress telemetry [INVOCATIONS] | stress memory [SANDBOXES]"
            );
            std::process::exit(2);
        }
    }
}
