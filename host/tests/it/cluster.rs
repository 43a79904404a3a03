//! Several `wasm-lambda serve` nodes sharing one NATS JetStream Event queue
//! (`--backend nats://...`): Debian's `nats-server`, started by each test on
//! a free loopback port with its store in a temporary folder.

use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::common::{guest, raw_http, text, wasm_lambda};
use crate::faults::{
    address, event_gives_up_past_its_maximum_age, events_give_up_to_their_failure_destination,
    post_event,
};
use crate::server::{
    Serve, ctrl_c_finishes_what_it_holds, events_are_retried_twice, standard_config, toml_path,
};

/// A running `nats-server -js`, killed when dropped.
pub(crate) struct Nats {
    child: Child,
    port: u16,
    store: PathBuf,
}

impl Nats {
    /// A new NATS server with JetStream, on a free port, storing in `store`.
    pub(crate) fn start(store: &Path) -> Nats {
        Nats::start_on(store, free_port())
    }

    /// A NATS server on `port`, storing in `store` (a restart finds what
    /// the last one stored there).
    fn start_on(store: &Path, port: u16) -> Nats {
        Nats::spawn(store, port, &[], "Server is ready", None)
    }

    /// Server `index` of a three-server JetStream cluster whose route ports
    /// are `routes`, ready when `ready` is in its log; every line of its log
    /// also goes to `log`.
    fn clustered(
        store: &Path,
        port: u16,
        routes: [u16; 3],
        index: usize,
        log: Arc<Mutex<String>>,
    ) -> Nats {
        let others: Vec<String> = (0..3)
            .filter(|other| *other != index)
            .map(|other| format!("nats://127.0.0.1:{}", routes[other]))
            .collect();
        let args = [
            "-n".to_string(),
            format!("n{index}"),
            "--cluster_name".to_string(),
            "wasm-lambda-test".to_string(),
            "--cluster".to_string(),
            format!("nats://127.0.0.1:{}", routes[index]),
            "--routes".to_string(),
            others.join(","),
        ];
        Nats::spawn(store, port, &args, "Server is ready", Some(log))
    }

    fn spawn(
        store: &Path,
        port: u16,
        args: &[String],
        ready_line: &str,
        shared_log: Option<Arc<Mutex<String>>>,
    ) -> Nats {
        let binary = which("nats-server");
        let mut child = Command::new(binary)
            .args(["-js", "-a", "127.0.0.1", "-p", &port.to_string(), "-sd"])
            .arg(store)
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("nats-server starts");
        let stderr = BufReader::new(child.stderr.take().unwrap());
        let (ready, is_ready) = std::sync::mpsc::channel();
        let ready_line = ready_line.to_string();
        std::thread::spawn(move || {
            let mut log = String::new();
            for line in stderr.lines().map_while(Result::ok) {
                log.push_str(&line);
                log.push('\n');
                if let Some(shared) = &shared_log {
                    let mut shared = shared.lock().unwrap();
                    shared.push_str(&line);
                    shared.push('\n');
                }
                if line.contains(&ready_line) {
                    let _ = ready.send(Ok(()));
                }
            }
            let _ = ready.send(Err(log));
        });
        match is_ready.recv_timeout(Duration::from_secs(30)) {
            Ok(Ok(())) => {}
            Ok(Err(log)) => panic!("nats-server stopped:\n{log}"),
            Err(_) => panic!("nats-server was not ready in 30 s"),
        }
        Nats {
            child,
            port,
            store: store.to_path_buf(),
        }
    }

    fn url(&self) -> String {
        format!("nats://127.0.0.1:{}", self.port)
    }

    fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Nats {
    fn drop(&mut self) {
        self.stop();
    }
}

/// A program the tests need, from `PATH` (scripts/setup.sh installs it).
fn which(name: &str) -> PathBuf {
    std::env::var_os("PATH")
        .into_iter()
        .flat_map(|path| std::env::split_paths(&path).collect::<Vec<_>>())
        .map(|dir| dir.join(name))
        .find(|path| path.is_file())
        .unwrap_or_else(|| panic!("{name} is missing: run scripts/setup.sh"))
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A node: `serve` with its own state folder, on the NATS backend.
pub(crate) fn node(config: &str, nats: &Nats) -> Serve {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state");
    Serve::start_with_flags(config, dir, &state, &["--backend", &nats.url()])
}

/// The probe as `slow`, one invocation at a time, and as `probe`; events
/// held by a lost node go to another after two seconds.
fn probe_config() -> String {
    format!(
        r#"event_retry_delay = 0.05
event_ack_wait = 2

[[function]]
name = "probe"
component = {probe}
timeout = 10

[[function]]
name = "slow"
component = {probe}
timeout = 10
reserved_concurrency = 1
"#,
        probe = toml_path(guest("host/tests/guests/probe")),
    )
}

/// How many times each request id succeeded in `logs`.
fn successes<'a>(
    logs: impl IntoIterator<Item = &'a str>,
    function: &str,
) -> HashMap<String, usize> {
    let mut counts = HashMap::new();
    let marker = "Event invocation ";
    let ending = format!(" of {function} succeeded");
    for log in logs {
        for line in log.lines() {
            if let Some(rest) = line.split(marker).nth(1)
                && let Some((id, _)) = rest.split_once(&ending)
            {
                *counts.entry(id.to_string()).or_insert(0) += 1;
            }
        }
    }
    counts
}

/// Calls `attempt` every `every` until it gives `Some`; fails the test
/// with `why()` after `timeout`.
fn eventually<T>(
    timeout: Duration,
    every: Duration,
    mut attempt: impl FnMut() -> Option<T>,
    why: impl Fn() -> String,
) -> T {
    let started = Instant::now();
    loop {
        if let Some(done) = attempt() {
            return done;
        }
        assert!(started.elapsed() < timeout, "{}", why());
        std::thread::sleep(every);
    }
}

/// Waits until every id in `ids` succeeded in one of `logs()`.
fn wait_for_all(ids: &[String], function: &str, logs: impl Fn() -> Vec<String>, timeout: Duration) {
    let missing = || {
        let done = successes(logs().iter().map(String::as_str), function);
        ids.iter().filter(|id| !done.contains_key(*id)).count()
    };
    eventually(
        timeout,
        Duration::from_millis(100),
        || (missing() == 0).then_some(()),
        || {
            format!(
                "{} of {} events never succeeded; logs:\n{}",
                missing(),
                ids.len(),
                logs().join("\n----\n")
            )
        },
    );
}

/// Sends an `Event` invocation until it is accepted (the node answers 503
/// while it has no NATS); its request id.
fn post_event_once_accepted(address: &str, event: &str, log: impl Fn() -> String) -> String {
    eventually(
        Duration::from_secs(60),
        Duration::from_millis(250),
        || {
            let answer = raw_http(
                address,
                "POST",
                "/2015-03-31/functions/probe/invocations",
                &[("X-Amz-Invocation-Type", "Event")],
                event.as_bytes(),
            );
            if answer.status != 202 {
                assert_eq!(answer.status, 503, "{}", answer.body);
                return None;
            }
            let id = answer
                .head
                .lines()
                .find_map(|line| line.strip_prefix("x-amzn-requestid: "))
                .expect("a request id");
            Some(id.trim().to_string())
        },
        || format!("the node never took the event again:\n{}", log()),
    )
}

#[test]
fn a_thousand_events_accepted_by_three_nodes_each_run_once() {
    let store = tempfile::tempdir().unwrap();
    let nats = Nats::start(store.path());
    let config = probe_config();
    let nodes: Vec<Serve> = (0..3).map(|_| node(&config, &nats)).collect();
    let addresses: Vec<String> = nodes.iter().map(address).collect();
    // Accepted in runs of ten by each node in turn (JetStream deals to
    // waiting pulls in turn: one event per node in turn would line up).
    let accepted_by = |n: usize| (n / 10) % 3;
    let ids: Vec<String> = (0..1000)
        .map(|n| {
            post_event(
                &addresses[accepted_by(n)],
                "probe",
                &format!(r#"{{"action":"echo","n":{n}}}"#),
            )
        })
        .collect();
    let logs = || nodes.iter().map(Serve::log).collect::<Vec<_>>();
    wait_for_all(&ids, "probe", logs, Duration::from_secs(120));
    let logs = logs();
    let done = successes(logs.iter().map(String::as_str), "probe");
    assert_eq!(done.len(), 1000);
    let twice: Vec<_> = done.iter().filter(|(_, count)| **count > 1).collect();
    assert!(
        twice.is_empty(),
        "no node was lost, yet these ran twice: {twice:?}"
    );
    // Events went to whichever node had room: every node ran some, and some
    // accepted by one node ran on another.
    for (node, log) in logs.iter().enumerate() {
        let ran = successes([log.as_str()], "probe").len();
        assert!(ran > 0, "node {node} ran no event");
    }
    let ran_elsewhere = ids
        .iter()
        .enumerate()
        .filter(|(n, id)| {
            !logs[accepted_by(*n)].contains(&format!("Event invocation {id} of probe succeeded"))
        })
        .count();
    assert!(
        ran_elsewhere > 0,
        "every event ran on the node that accepted it"
    );
}

#[test]
fn events_held_by_a_killed_node_run_on_another() {
    let store = tempfile::tempdir().unwrap();
    let nats = Nats::start(store.path());
    let config = probe_config();
    let mut first = node(&config, &nats);
    // `slow` runs one at a time, so the first node holds the rest waiting.
    let ids: Vec<String> = (0..12)
        .map(|n| {
            post_event(
                &address(&first),
                "slow",
                &format!(r#"{{"action":"sleep","millis":300,"n":{n}}}"#),
            )
        })
        .collect();
    first.wait_for_log(" of slow succeeded", Duration::from_secs(60));
    // SIGKILL: no settling, no handing back; NATS gives what the node held
    // to another after the ack wait.
    first.child.kill().unwrap();
    first.child.wait().unwrap();
    let before = first.log();
    let ran_before = successes([before.as_str()], "slow");
    assert!(
        ran_before.len() < ids.len(),
        "the first node ran everything before it was killed:\n{before}"
    );
    let second = node(&config, &nats);
    wait_for_all(
        &ids,
        "slow",
        || vec![before.clone(), second.log()],
        Duration::from_secs(120),
    );
    let log = second.log();
    assert!(
        log.contains("is given again after its server was lost"),
        "the second node took over events the first held:\n{log}"
    );
    // An event runs twice at most when its first run ended with the node.
    let both = successes([before.as_str(), log.as_str()], "slow");
    let twice = both.values().filter(|count| **count > 1).count();
    assert!(
        twice <= 1,
        "{twice} events ran twice:\n{before}\n----\n{log}"
    );
}

#[test]
fn a_lost_nats_refuses_events_keeps_synchronous_invocations_and_recovers() {
    let store = tempfile::tempdir().unwrap();
    let mut nats = Nats::start(store.path());
    let port = nats.port;
    let serve = node(&probe_config(), &nats);
    let address = address(&serve);
    let before = post_event(&address, "probe", r#"{"action":"echo","n":1}"#);
    serve.wait_for_log(
        &format!("Event invocation {before} of probe succeeded"),
        Duration::from_secs(30),
    );

    assert_eq!(probe(&address, "/wasm-lambda/ready"), 200);

    // Events the node holds (one at a time) while NATS goes: their
    // settling fails, and they run again once NATS is back; none is lost.
    let held: Vec<String> = (0..4)
        .map(|n| {
            post_event(
                &address,
                "slow",
                &format!(r#"{{"action":"sleep","millis":300,"n":{n}}}"#),
            )
        })
        .collect();
    serve.wait_for_log(
        &format!("START RequestId: {}", held[0]),
        Duration::from_secs(30),
    );
    nats.stop();
    wait_for_probe(&address, "/wasm-lambda/ready", 503);
    assert_eq!(probe(&address, "/wasm-lambda/live"), 200);
    let refused = raw_http(
        &address,
        "POST",
        "/2015-03-31/functions/probe/invocations",
        &[("X-Amz-Invocation-Type", "Event")],
        br#"{"action":"echo","n":2}"#,
    );
    assert_eq!(refused.status, 503, "{}\n{}", refused.head, refused.body);
    assert!(
        refused
            .head
            .to_ascii_lowercase()
            .contains("x-amzn-errortype: serviceexception"),
        "{}",
        refused.head
    );
    let answered = raw_http::<&str, &str>(
        &address,
        "POST",
        "/2015-03-31/functions/probe/invocations",
        &[],
        br#"{"action":"echo","n":3}"#,
    );
    assert_eq!(answered.status, 200, "{}", answered.body);
    assert_eq!(answered.body, r#"{"action":"echo","n":3}"#);

    // The same store: what was accepted is still there, and the node
    // reconnects by itself.
    let _nats = Nats::start_on(&nats.store, port);
    let after = post_event_once_accepted(&address, r#"{"action":"echo","n":4}"#, || serve.log());
    serve.wait_for_log(
        &format!("Event invocation {after} of probe succeeded"),
        Duration::from_secs(60),
    );
    wait_for_probe(&address, "/wasm-lambda/ready", 200);
    wait_for_all(&held, "slow", || vec![serve.log()], Duration::from_secs(60));
}

/// The status of a GET of `path`.
fn probe(address: &str, path: &str) -> u16 {
    raw_http::<&str, &str>(address, "GET", path, &[], b"").status
}

/// Waits until a GET of `path` answers `status` (the client notices a lost
/// connection a moment after it is lost).
fn wait_for_probe(address: &str, path: &str, status: u16) {
    eventually(
        Duration::from_secs(30),
        Duration::from_millis(100),
        || (probe(address, path) == status).then_some(()),
        || format!("{path} never answered {status}"),
    );
}

#[test]
fn the_event_queue_tests_pass_on_nats_too() {
    let store = tempfile::tempdir().unwrap();
    let nats = Nats::start(store.path());
    // Retries after a function error, as `server::` checks them.
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state");
    let serve =
        Serve::start_with_flags(&standard_config(), dir, &state, &["--backend", &nats.url()]);
    events_are_retried_twice(&serve);
    // Shutdown: what runs and what the node holds finishes before it exits.
    ctrl_c_finishes_what_it_holds(&serve);
    drop(serve);
    // Retries, maximum age and failure destinations, as `faults::` checks
    // them.
    events_give_up_to_their_failure_destination(&["--backend", &nats.url()]);
    event_gives_up_past_its_maximum_age(&["--backend", &nats.url()]);
}

#[test]
fn an_unreachable_or_malformed_backend_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state");
    let port = free_port();
    let url = format!("nats://127.0.0.1:{port}");
    for (backend, needle) in [
        (url.as_str(), format!("failed to connect to NATS at {url}")),
        (
            "redis://127.0.0.1:1",
            "backend must be `embedded` or `nats://HOST:PORT".to_string(),
        ),
    ] {
        let output = wasm_lambda(
            &[
                "serve",
                "--listen",
                "127.0.0.1:0",
                "--state-dir",
                state.to_str().unwrap(),
                "--backend",
                backend,
            ],
            None,
        );
        assert!(!output.status.success());
        let stderr = text(&output.stderr);
        assert!(stderr.contains(&needle), "{needle:?} in {stderr}");
    }
}

/// `deploy/`: the Kubernetes manifests pass Kubernetes' own schemas
/// (offline), the ConfigMap's functions.toml is a configuration `serve`
/// reads, and every flag the manifests and the systemd unit give `serve` is
/// one it has.
#[test]
fn the_deployment_files_are_valid_for_kubernetes_and_serve() {
    let root = crate::common::repo_root();
    let manifest = root.join("deploy/kubernetes/wasm-lambda.yaml");
    let venv = root.join(".venv/bin");
    let validated = Command::new(venv.join("kubernetes-validate"))
        .arg("--strict")
        .arg(&manifest)
        .output()
        .expect("kubernetes-validate runs (scripts/setup.sh installs it)");
    assert!(
        validated.status.success(),
        "{}{}",
        text(&validated.stdout),
        text(&validated.stderr)
    );

    let dir = tempfile::tempdir().unwrap();
    let toml_file = dir.path().join("functions.toml");
    let extracted = Command::new(venv.join("python"))
        .args([
            "-c",
            "import sys, yaml\n\
             for doc in yaml.safe_load_all(open(sys.argv[1])):\n\
             \x20   if doc['kind'] == 'ConfigMap':\n\
             \x20       open(sys.argv[2], 'w').write(doc['data']['functions.toml'])",
        ])
        .arg(&manifest)
        .arg(&toml_file)
        .output()
        .unwrap();
    assert!(extracted.status.success(), "{}", text(&extracted.stderr));
    let config = wasm_lambda::server::ServerConfig::from_file(&toml_file).unwrap();
    assert_eq!(config.backend.as_deref(), Some("nats://nats:4222"));
    assert_eq!(config.functions.len(), 1);

    let help = text(&wasm_lambda(&["serve", "--help"], None).stdout);
    let unit = std::fs::read_to_string(root.join("deploy/systemd/wasm-lambda.service")).unwrap();
    let manifest_text = std::fs::read_to_string(&manifest).unwrap();
    let flags: Vec<&str> = unit
        .lines()
        .chain(manifest_text.lines())
        .filter(|line| !line.trim_start().starts_with('#'))
        .flat_map(str::split_whitespace)
        .filter(|word| {
            word.strip_prefix("--")
                .is_some_and(|flag| flag.starts_with(|c: char| c.is_ascii_lowercase()))
        })
        .collect();
    assert!(flags.len() >= 6, "{flags:?}");
    for flag in flags {
        assert!(help.contains(flag), "serve has no {flag}:\n{help}");
    }
}

/// Invokes `function` on `address` with `event`: the status and body.
fn invoke_on(address: &str, function: &str, event: &str) -> (u16, String) {
    let answer = raw_http::<&str, &str>(
        address,
        "POST",
        &format!("/2015-03-31/functions/{function}/invocations"),
        &[],
        event.as_bytes(),
    );
    (answer.status, answer.body)
}

/// Waits until invoking `function` on `address` answers `status`; gives the
/// body.
fn wait_for_invoke(address: &str, function: &str, event: &str, status: u16) -> String {
    eventually(
        Duration::from_secs(30),
        Duration::from_millis(20),
        || {
            let (answered, body) = invoke_on(address, function, event);
            (answered == status).then_some(body)
        },
        || {
            let (answered, body) = invoke_on(address, function, event);
            format!("{function} on {address} still answers {answered}: {body}")
        },
    )
}

#[test]
fn a_function_created_on_one_node_serves_on_the_others_and_follows_its_changes() {
    use crate::control_plane::{boto3, create, probe_zip};
    use serde_json::json;

    let store = tempfile::tempdir().unwrap();
    let nats = Nats::start(store.path());
    let nodes: Vec<Serve> = (0..3).map(|_| node("", &nats)).collect();
    let addresses: Vec<String> = nodes.iter().map(address).collect();
    let dir = tempfile::tempdir().unwrap();
    let zip = probe_zip(dir.path());

    let created = create(&nodes[0], "shared", &zip, "probe.wasm");
    assert_eq!(created["status"], 201, "{created}");
    for address in &addresses[1..] {
        let body = wait_for_invoke(address, "shared", r#"{"action":"echo","n":1}"#, 200);
        assert_eq!(body, r#"{"action":"echo","n":1}"#);
    }
    let got = boto3(
        &nodes[2],
        "get_function",
        json!({ "FunctionName": "shared" }),
    );
    assert_eq!(got["Configuration"]["Handler"], "probe.wasm", "{got}");
    assert_eq!(got["Configuration"]["CodeSha256"], created["CodeSha256"]);

    // A change on another node reaches every node, the first one too.
    let updated = boto3(
        &nodes[1],
        "update_function_configuration",
        json!({
            "FunctionName": "shared",
            "Environment": { "Variables": { "STAGE": "cluster" } },
        }),
    );
    assert_eq!(updated["status"], 200, "{updated}");
    for address in [&addresses[0], &addresses[2]] {
        let environment = || {
            let (status, body) = invoke_on(address, "shared", r#"{"action":"env"}"#);
            assert_eq!(status, 200, "{body}");
            crate::common::json(&body)
        };
        eventually(
            Duration::from_secs(30),
            Duration::from_millis(20),
            || (environment()["STAGE"] == "cluster").then_some(()),
            || format!("{address} never saw the new environment: {}", environment()),
        );
    }

    // A node that starts later finds what the others made.
    let late = node("", &nats);
    let body = wait_for_invoke(&address(&late), "shared", r#"{"action":"echo","n":2}"#, 200);
    assert_eq!(body, r#"{"action":"echo","n":2}"#);

    let deleted = boto3(
        &nodes[2],
        "delete_function",
        json!({ "FunctionName": "shared" }),
    );
    assert_eq!(deleted["status"], 204, "{deleted}");
    for address in addresses.iter().chain([&address(&late)]) {
        wait_for_invoke(address, "shared", "{}", 404);
    }
}

/// Reserved concurrency is counted per node (docs/cluster.md says why): a
/// function with a reserved concurrency of one runs once at a time on each
/// node, so two nodes run it twice at once, and one node throttles the
/// second caller.
#[test]
fn reserved_concurrency_is_counted_per_node() {
    let store = tempfile::tempdir().unwrap();
    let nats = Nats::start(store.path());
    let config = probe_config();
    let nodes: Vec<Serve> = (0..2).map(|_| node(&config, &nats)).collect();
    let addresses: Vec<String> = nodes.iter().map(address).collect();
    let sleeper = |address: String| {
        std::thread::spawn(move || {
            invoke_on(&address, "slow", r#"{"action":"sleep","millis":2000}"#)
        })
    };
    let first = sleeper(addresses[0].clone());
    nodes[0].wait_for_log("START RequestId", Duration::from_secs(30));
    // The other node has its own slot...
    let (status, body) = invoke_on(&addresses[1], "slow", r#"{"action":"echo","n":1}"#);
    assert_eq!(status, 200, "{body}");
    // ...and the busy node's only slot is taken.
    let (status, body) = invoke_on(&addresses[0], "slow", r#"{"action":"echo","n":2}"#);
    assert_eq!(status, 429, "{body}");
    assert_eq!(first.join().unwrap(), (200, r#""slept""#.to_string()));
}

/// A node told to stop (SIGINT) finishes the events it holds before it
/// exits; what it has not pulled stays in NATS for the others.
#[test]
fn a_stopped_node_finishes_the_events_it_holds() {
    let store = tempfile::tempdir().unwrap();
    let nats = Nats::start(store.path());
    let config = probe_config();
    let first = node(&config, &nats);
    let ids: Vec<String> = (0..4)
        .map(|n| {
            post_event(
                &address(&first),
                "slow",
                &format!(r#"{{"action":"sleep","millis":400,"n":{n}}}"#),
            )
        })
        .collect();
    first.wait_for_log(
        &format!("START RequestId: {}", ids[0]),
        Duration::from_secs(30),
    );
    first.interrupt();
    let log = first.wait_for_log("wasm-lambda: stopped", Duration::from_secs(60));
    let ran = successes([log.as_str()], "slow");
    assert!(
        ran.contains_key(&ids[0]),
        "the running event finished before exit:\n{log}"
    );
    // Whatever the first node did not run, another node does; none twice.
    let second = node(&config, &nats);
    wait_for_all(
        &ids,
        "slow",
        || vec![log.clone(), second.log()],
        Duration::from_secs(60),
    );
    let both = successes([log.as_str(), second.log().as_str()], "slow");
    assert!(both.values().all(|count| *count == 1), "{both:?}");
}

/// With a three-server NATS cluster and `backend_replicas = 3`, the queue
/// outlives the NATS server the node was connected to: events accepted
/// before its loss run, and the node takes new ones through another.
#[test]
fn a_three_server_nats_cluster_keeps_the_queue_when_one_nats_server_dies() {
    let store = tempfile::tempdir().unwrap();
    let ports = [free_port(), free_port(), free_port()];
    let routes = [free_port(), free_port(), free_port()];
    let log = Arc::new(Mutex::new(String::new()));
    let mut servers: Vec<Nats> = (0..3)
        .map(|index| {
            Nats::clustered(
                &store.path().join(format!("n{index}")),
                ports[index],
                routes,
                index,
                log.clone(),
            )
        })
        .collect();
    // JetStream answers once the cluster has chosen its metadata leader.
    eventually(
        Duration::from_secs(60),
        Duration::from_millis(100),
        || {
            log.lock()
                .unwrap()
                .contains("metadata leader")
                .then_some(())
        },
        || format!("the NATS cluster chose no leader:\n{}", log.lock().unwrap()),
    );
    let backend = format!(
        "nats://127.0.0.1:{},127.0.0.1:{},127.0.0.1:{}",
        ports[0], ports[1], ports[2]
    );
    let config = format!("backend_replicas = 3\n{}", probe_config());
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state");
    let serve = Serve::start_with_flags(&config, dir, &state, &["--backend", &backend]);
    let address = address(&serve);
    let mut ids: Vec<String> = (0..10)
        .map(|n| {
            post_event(
                &address,
                "probe",
                &format!(r#"{{"action":"echo","n":{n}}}"#),
            )
        })
        .collect();

    // Whichever server the node is connected to, one of the three goes.
    servers[0].stop();
    for n in 10..20 {
        let event = format!(r#"{{"action":"echo","n":{n}}}"#);
        ids.push(post_event_once_accepted(&address, &event, || serve.log()));
    }
    wait_for_all(&ids, "probe", || vec![serve.log()], Duration::from_secs(60));
}

/// Three nodes share the queue; one is killed (SIGKILL) mid-run. Every
/// accepted event still succeeds, and an event succeeds twice only if the
/// killed node had started it and not finished it.
#[test]
fn a_node_killed_mid_run_loses_no_event_of_three_nodes() {
    let store = tempfile::tempdir().unwrap();
    let nats = Nats::start(store.path());
    let config = probe_config();
    let mut nodes: Vec<Serve> = (0..3).map(|_| node(&config, &nats)).collect();
    let addresses: Vec<String> = nodes.iter().map(address).collect();
    let ids: Vec<String> = (0..300)
        .map(|n| {
            post_event(
                &addresses[(n / 10) % 3],
                "probe",
                &format!(r#"{{"action":"sleep","millis":40,"n":{n}}}"#),
            )
        })
        .collect();
    nodes[0].wait_for_log(" of probe succeeded", Duration::from_secs(60));
    nodes[0].child.kill().unwrap();
    nodes[0].child.wait().unwrap();
    let dead = nodes[0].log();
    // Started on the killed node and not said to have succeeded there: some
    // may have succeeded and been settled in NATS just before the kill,
    // with the node gone before it wrote the line.
    let in_flight: Vec<&String> = ids
        .iter()
        .filter(|id| {
            dead.contains(&format!("START RequestId: {id}"))
                && !dead.contains(&format!("Event invocation {id} of probe succeeded"))
        })
        .collect();
    let logs = || {
        let mut logs = vec![dead.clone()];
        logs.extend(nodes[1..].iter().map(Serve::log));
        logs
    };
    // Done when NATS holds nothing (waiting or held by any node) and every
    // event succeeded somewhere, or was among the killed node's.
    let started = Instant::now();
    let done = loop {
        let logs = logs();
        let done = successes(logs.iter().map(String::as_str), "probe");
        let queued = crate::faults::queue_counts(&addresses[1])["pending"].clone();
        let unseen: Vec<&String> = ids.iter().filter(|id| !done.contains_key(*id)).collect();
        if queued == 0 && unseen.iter().all(|id| in_flight.contains(id)) {
            break done;
        }
        assert!(
            started.elapsed() < Duration::from_secs(120),
            "{} events never succeeded ({queued} in NATS); logs:\n{}",
            unseen.len(),
            logs.join("\n----\n")
        );
        std::thread::sleep(Duration::from_millis(100));
    };
    let twice = done.values().filter(|count| **count > 1).count();
    assert!(
        twice <= in_flight.len(),
        "{twice} events succeeded twice, but the killed node had {} in flight",
        in_flight.len()
    );
}
