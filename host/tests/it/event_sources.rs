//! Event source mappings of `wasm-lambda serve`: SQS queues in moto's
//! server polled as Lambda's pollers poll them, with boto3 sending and
//! reading the messages (`host/tests/clients/sqs_client.py`) and the
//! mappings made by the configuration file or by boto3's Lambda client. The
//! consumers are written as published SQS consumers are; each prints a line
//! per processed record, which the tests read in the server's log.

use std::collections::{BTreeMap, BTreeSet};
use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::common::{guest, json, repo_root};
use crate::corpus::moto;
use crate::server::{Serve, python, toml_path};

const PYTHON_CONSUMER: &str = "host/tests/guests/python/sqs_consumer";
const JS_CONSUMER: &str = "host/tests/guests/js/sqs_consumer";

/// One command of a boto3 client script in `host/tests/clients/` against
/// moto; what it printed.
fn client(script: &str, args: &[&str]) -> Value {
    let output = Command::new(python())
        .arg(repo_root().join("host/tests/clients").join(script))
        .arg(moto())
        .args(args)
        .output()
        .expect("the boto3 client runs");
    assert!(
        output.status.success(),
        "{script} {args:?} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    json(&String::from_utf8_lossy(&output.stdout))
}

/// One `sqs_client.py` command.
fn sqs(args: &[&str]) -> Value {
    client("sqs_client.py", args)
}

/// A queue of its own for each test (moto is shared by the whole run).
fn make_queue(name: &str, settings: &[&str]) -> Value {
    let unique = format!("{name}-{}", std::process::id());
    let unique = match name.strip_suffix(".fifo") {
        Some(stem) => format!("{stem}-{}.fifo", std::process::id()),
        None => unique,
    };
    let mut args = vec!["make", unique.as_str()];
    args.extend_from_slice(settings);
    sqs(&args)
}

fn send(queue: &Value, bodies: &[Value]) {
    let sent = sqs(&[
        "send",
        queue["url"].as_str().unwrap(),
        &Value::Array(bodies.to_vec()).to_string(),
    ]);
    assert_eq!(sent["sent"], bodies.len());
}

fn count(queue: &Value) -> (u64, u64) {
    let counted = sqs(&["count", queue["url"].as_str().unwrap()]);
    (
        counted["visible"].as_u64().unwrap(),
        counted["in_flight"].as_u64().unwrap(),
    )
}

/// Waits until the queue holds nothing, visible or in flight.
fn wait_empty(serve: &Serve, queue: &Value, timeout: Duration) -> Duration {
    wait_count(serve, queue, (0, 0), timeout)
}

/// Waits until the queue holds `expected` (visible, in flight) messages.
fn wait_count(serve: &Serve, queue: &Value, expected: (u64, u64), timeout: Duration) -> Duration {
    let started = Instant::now();
    loop {
        let counted = count(queue);
        if counted == expected {
            return started.elapsed();
        }
        assert!(
            started.elapsed() < timeout,
            "the queue holds {counted:?}, not {expected:?}, after {timeout:?}; server log:\n{}",
            serve.log()
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// Waits (up to a minute) until the queue at `url` holds messages; takes
/// and returns their bodies.
fn wait_for_messages(serve: &Serve, url: &str, what: &str) -> Vec<Value> {
    let started = Instant::now();
    loop {
        let drained = sqs(&["drain", url]);
        let bodies = drained["bodies"].as_array().unwrap().clone();
        if !bodies.is_empty() {
            return bodies;
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "{what}; log:\n{}",
            serve.log()
        );
        std::thread::sleep(Duration::from_millis(300));
    }
}

/// The `processed n=N ...` lines of the log, as (n, rest of the line).
fn processed(log: &str) -> Vec<(u64, String)> {
    log.lines()
        .filter_map(|line| {
            let rest = &line[line.find("processed n=")? + "processed n=".len()..];
            let (number, tail) = rest.split_once(' ').unwrap_or((rest, ""));
            Some((number.parse().ok()?, tail.to_string()))
        })
        .collect()
}

/// Waits until `n` records have been processed; returns them.
fn wait_processed(serve: &Serve, n: usize, timeout: Duration) -> Vec<(u64, String)> {
    let started = Instant::now();
    loop {
        let done = processed(&serve.log());
        if done.len() >= n {
            return done;
        }
        assert!(
            started.elapsed() < timeout,
            "{} of {n} records processed after {timeout:?}; server log:\n{}",
            done.len(),
            serve.log()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// `serve` with the Python consumer and a mapping from `queue` to it;
/// `more` is more lines of the mapping's table.
fn serve_consumer_of(queue: &Value, more: &str) -> Serve {
    Serve::start(&config(
        "consumer",
        PYTHON_CONSUMER,
        &format!(
            "[[event_source]]\nfunction_name = \"consumer\"\nevent_source_arn = \"{}\"\n{more}",
            queue["arn"].as_str().unwrap()
        ),
    ))
}

fn config(function: &str, component: &str, mappings: &str) -> String {
    format!(
        r#"
event_source_endpoint = "{moto}"

[[function]]
name = "{function}"
component = {component}
timeout = 10

{mappings}
"#,
        moto = moto(),
        component = toml_path(guest(component)),
    )
}

#[test]
fn a_thousand_messages_are_each_processed_once_and_the_queue_empties() {
    let queue = make_queue("thousand", &[]);
    let serve = serve_consumer_of(&queue, "");
    let bodies: Vec<Value> = (0..1000).map(|n| json!({ "n": n })).collect();
    send(&queue, &bodies);
    let took = wait_empty(&serve, &queue, Duration::from_secs(60));
    let done = processed(&serve.log());
    let numbers: BTreeSet<u64> = done.iter().map(|(n, _)| *n).collect();
    assert_eq!(numbers.len(), 1000, "every message is processed");
    let mut seen = BTreeSet::new();
    let twice: Vec<&(u64, String)> = done.iter().filter(|(n, _)| !seen.insert(*n)).collect();
    assert!(twice.is_empty(), "no message is processed twice: {twice:?}");
    assert!(
        done.iter().all(|(_, rest)| rest.contains("source=aws:sqs")),
        "records carry Lambda's eventSource"
    );
    let batches: Vec<u64> = serve
        .log()
        .lines()
        .filter_map(|line| line.split("batch size=").nth(1)?.trim().parse().ok())
        .collect();
    assert!(
        batches.iter().all(|size| (1..=10).contains(size)),
        "batches of the default BatchSize 10 at most: {batches:?}"
    );
    eprintln!("1,000 messages processed in {took:?}");
}

#[test]
fn batches_hold_at_most_batch_size_and_a_lone_message_waits_only_the_window() {
    let queue = make_queue("window", &[]);
    let serve = serve_consumer_of(
        &queue,
        "batch_size = 25\nmaximum_batching_window_in_seconds = 2\nscaling_config = { maximum_concurrency = 2 }\n",
    );
    let bodies: Vec<Value> = (0..100).map(|n| json!({ "n": n })).collect();
    send(&queue, &bodies);
    wait_processed(&serve, 100, Duration::from_secs(60));
    let batches: Vec<u64> = serve
        .log()
        .lines()
        .filter_map(|line| line.split("batch size=").nth(1)?.trim().parse().ok())
        .collect();
    assert!(
        batches.iter().all(|size| *size <= 25),
        "no batch over BatchSize: {batches:?}"
    );
    assert!(
        batches.iter().any(|size| *size > 10),
        "the window gathers more than one ReceiveMessage brings: {batches:?}"
    );
    let sent = Instant::now();
    send(&queue, &[json!({ "n": 1000 })]);
    let started = Instant::now();
    loop {
        if processed(&serve.log()).iter().any(|(n, _)| *n == 1000) {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "the lone message was not processed; log:\n{}",
            serve.log()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    // The window (2 s) plus a second, plus slack for a shared machine.
    let waited = sent.elapsed();
    assert!(
        waited < Duration::from_secs(6),
        "a lone message waited {waited:?}, not about the 2 s window"
    );
}

#[test]
fn batches_of_large_messages_stay_within_an_invocations_6_mb() {
    let queue = make_queue("large", &[]);
    // 80 messages of 250 KiB (20 MB) wait in the queue before the server
    // starts, so its two pollers each gather far more than one invocation
    // may carry.
    let bodies: Vec<Value> = (0..80).map(|n| json!({ "n": n, "pad_kb": 250 })).collect();
    send(&queue, &bodies);
    let serve = serve_consumer_of(
        &queue,
        "batch_size = 100\nmaximum_batching_window_in_seconds = 2\nscaling_config = { maximum_concurrency = 2 }\n",
    );
    wait_processed(&serve, 80, Duration::from_secs(60));
    let done = processed(&serve.log());
    assert_eq!(
        done.iter().map(|(n, _)| *n).collect::<BTreeSet<_>>().len(),
        80,
        "every message was processed"
    );
    assert!(
        !serve.log().contains("RequestTooLarge"),
        "no batch was over the limit"
    );
    wait_empty(&serve, &queue, Duration::from_secs(30));
}

#[test]
fn reported_failures_come_back_and_a_poison_message_reaches_the_dead_letter_queue() {
    // Visibility 1 s so failures come back quickly; two receives, then the
    // dead-letter queue.
    let queue = make_queue("partial", &["1", "2"]);
    let serve = serve_consumer_of(
        &queue,
        "function_response_types = [\"ReportBatchItemFailures\"]\n",
    );
    let mut bodies: Vec<Value> = (0..9).map(|n| json!({ "n": n })).collect();
    bodies.push(json!({ "n": 99, "fail": true }));
    send(&queue, &bodies);
    let dead = wait_for_messages(
        &serve,
        queue["dlq_url"].as_str().unwrap(),
        "nothing reached the dead-letter queue",
    );
    assert_eq!(dead.len(), 1, "only the poison message: {dead:?}");
    assert_eq!(json(dead[0].as_str().unwrap())["n"], 99);
    let log = serve.log();
    let done = processed(&log);
    let numbers: Vec<u64> = done.iter().map(|(n, _)| *n).collect();
    assert_eq!(
        numbers.iter().copied().collect::<BTreeSet<_>>(),
        (0..9).collect::<BTreeSet<_>>(),
        "every other message was processed"
    );
    assert_eq!(
        numbers.len(),
        9,
        "messages that succeeded were deleted, not received again"
    );
    assert_eq!(
        log.matches("failed n=99 ").count(),
        2,
        "the reported message came back once after the visibility timeout, then went to the DLQ:\n{log}"
    );
    wait_empty(&serve, &queue, Duration::from_secs(30));
}

/// The `Lineage` entry of a function that ran `runs` times in a chain:
/// `1:<first 4 bytes of the SHA-256 of its ARN, in hex>:<runs>`.
fn lineage_entry(function: &str, runs: u32) -> String {
    let arn = format!("arn:aws:lambda:us-east-1:000000000000:function:{function}");
    let output = Command::new(python())
        .args([
            "-c",
            "import hashlib, sys; print(hashlib.sha256(sys.argv[1].encode()).hexdigest()[:8])",
            &arn,
        ])
        .output()
        .unwrap();
    assert!(output.status.success());
    format!(
        "1:{}:{runs}",
        String::from_utf8(output.stdout).unwrap().trim()
    )
}

#[test]
fn a_message_whose_chain_ran_the_function_sixteen_times_is_not_delivered() {
    // Visibility 1 s and two receives: a message that is not delivered
    // reaches the dead-letter queue quickly.
    let queue = make_queue("looping", &["1", "2"]);
    let serve = serve_consumer_of(&queue, "");
    let root = "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=0";
    send(
        &queue,
        &[
            json!({ "body": { "n": 1 }, "trace": format!("{root};Lineage={}", lineage_entry("consumer", 16)) }),
            json!({ "body": { "n": 2 }, "trace": format!("{root};Lineage={}", lineage_entry("consumer", 3)) }),
            json!({ "n": 3 }),
        ],
    );
    let dead = wait_for_messages(
        &serve,
        queue["dlq_url"].as_str().unwrap(),
        "the stopped message did not reach the dead-letter queue",
    );
    assert_eq!(dead.len(), 1, "only the stopped message: {dead:?}");
    assert_eq!(json(dead[0].as_str().unwrap())["n"], 1);
    wait_empty(&serve, &queue, Duration::from_secs(30));
    let log = serve.log();
    let numbers: BTreeSet<u64> = processed(&log).iter().map(|(n, _)| *n).collect();
    assert_eq!(numbers, BTreeSet::from([2, 3]), "{log}");
    assert!(log.contains("stopped as a recursive loop"), "{log}");
}

#[test]
fn a_failed_invocation_returns_the_whole_batch_to_the_queue() {
    let queue = make_queue("crash", &["1"]);
    let serve = serve_consumer_of(&queue, "scaling_config = { maximum_concurrency = 2 }\n");
    send(&queue, &[json!({ "n": 1, "crash": true })]);
    // The function error fails the batch; the message comes back after
    // the visibility timeout and fails again, as Lambda leaves it to the
    // queue.
    let started = Instant::now();
    while serve.log().matches("PoisonMessage").count() < 2 {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "the failed message did not come back; log:\n{}",
            serve.log()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(
        serve
            .log()
            .contains("return to the queue after its visibility timeout"),
        "the server says what happened to the batch"
    );
}

#[test]
fn fifo_message_groups_arrive_in_order() {
    let queue = make_queue("ordered.fifo", &[]);
    let serve = Serve::start(&config(
        "consumer",
        JS_CONSUMER,
        &format!(
            "[[event_source]]\nfunction_name = \"consumer\"\nevent_source_arn = \"{}\"\nbatch_size = 3\n",
            queue["arn"].as_str().unwrap()
        ),
    ));
    let mut bodies = Vec::new();
    for n in 0..20 {
        for group in ["a", "b", "c"] {
            bodies.push(json!({ "body": { "n": n, "group": group }, "group": group }));
        }
    }
    send(&queue, &bodies);
    let done = wait_processed(&serve, 60, Duration::from_secs(60));
    let mut by_group: BTreeMap<String, Vec<u64>> = BTreeMap::new();
    for (n, rest) in done {
        let group = rest
            .split_whitespace()
            .find_map(|word| word.strip_prefix("group="))
            .unwrap()
            .to_string();
        by_group.entry(group).or_default().push(n);
    }
    assert_eq!(by_group.len(), 3, "{by_group:?}");
    for (group, numbers) in by_group {
        assert_eq!(
            numbers,
            (0..20).collect::<Vec<_>>(),
            "group {group} was processed in order, each message once"
        );
    }
}

#[test]
fn filters_invoke_only_matching_messages_and_delete_the_others() {
    let queue = make_queue("filtered", &[]);
    let serve = Serve::start(&config(
        "consumer",
        JS_CONSUMER,
        &format!(
            "[[event_source]]\nfunction_name = \"consumer\"\nevent_source_arn = \"{}\"\nfilter_criteria = {{ filters = [{{ pattern = '{{\"body\": {{\"kind\": [\"order\"], \"total\": [{{\"numeric\": [\">\", 10]}}]}}}}' }}, {{ pattern = '{{\"body\": {{\"kind\": [{{\"prefix\": \"refund-\"}}]}}}}' }}] }}\n",
            queue["arn"].as_str().unwrap()
        ),
    ));
    let bodies = vec![
        json!({ "n": 1, "kind": "order", "total": 50 }),
        json!({ "n": 2, "kind": "order", "total": 5 }),
        json!({ "n": 3, "kind": "refund-full" }),
        json!({ "n": 4, "kind": "ping" }),
        json!("plain text, not JSON"),
        json!({ "n": 6, "kind": "order", "total": 11 }),
    ];
    send(&queue, &bodies);
    wait_empty(&serve, &queue, Duration::from_secs(30));
    // Whatever matched was invoked before its deletion emptied the queue.
    let numbers: BTreeSet<u64> = processed(&serve.log()).iter().map(|(n, _)| *n).collect();
    assert_eq!(
        numbers,
        [1, 3, 6].into_iter().collect(),
        "only matching messages invoke; log:\n{}",
        serve.log()
    );
}

/// One boto3 Lambda call through `control_client.py`.
fn lambda(serve: &Serve, operation: &str, arguments: Value) -> Value {
    let output = Command::new(python())
        .arg(repo_root().join("host/tests/clients/control_client.py"))
        .arg(&serve.endpoint)
        .args(["call", operation, &arguments.to_string()])
        .output()
        .expect("the boto3 client runs");
    assert!(
        output.status.success(),
        "boto3 {operation} failed: {}\nlog:\n{}",
        String::from_utf8_lossy(&output.stderr),
        serve.log()
    );
    json(&String::from_utf8_lossy(&output.stdout))
}

#[test]
fn mappings_made_through_the_api_are_updated_disabled_deleted_and_survive_a_restart() {
    // A short visibility timeout: a long poll the killed server left open
    // in moto may take a message, which comes back after it.
    let queue = make_queue("managed", &["2"]);
    let arn = queue["arn"].as_str().unwrap().to_string();
    let config_dir = tempfile::tempdir().unwrap();
    let state = tempfile::tempdir().unwrap();
    let file = config("consumer", JS_CONSUMER, "");
    let serve = Serve::start_with_state(&file, config_dir, state.path());

    let created = lambda(
        &serve,
        "create_event_source_mapping",
        json!({ "EventSourceArn": arn, "FunctionName": "consumer", "BatchSize": 5 }),
    );
    assert_eq!(created["status"], 202, "{created}");
    assert_eq!(created["State"], "Creating");
    assert_eq!(created["BatchSize"], 5);
    let uuid = created["UUID"].as_str().unwrap().to_string();
    assert!(
        created["EventSourceMappingArn"]
            .as_str()
            .unwrap()
            .ends_with(&format!(":event-source-mapping:{uuid}")),
        "{created}"
    );
    let got = lambda(&serve, "get_event_source_mapping", json!({ "UUID": uuid }));
    assert_eq!(got["State"], "Enabled", "{got}");
    assert!(
        got["FunctionArn"]
            .as_str()
            .unwrap()
            .ends_with(":function:consumer")
    );

    let duplicate = lambda(
        &serve,
        "create_event_source_mapping",
        json!({ "EventSourceArn": arn, "FunctionName": "consumer" }),
    );
    assert_eq!(
        duplicate["error"], "ResourceConflictException",
        "{duplicate}"
    );
    let missing = lambda(
        &serve,
        "create_event_source_mapping",
        json!({ "EventSourceArn": arn, "FunctionName": "nobody" }),
    );
    assert_eq!(missing["error"], "ResourceNotFoundException", "{missing}");

    send(&queue, &[json!({ "n": 1 })]);
    wait_processed(&serve, 1, Duration::from_secs(30));

    // Disabled: polling stops within one poll, and messages stay queued.
    let disabled = lambda(
        &serve,
        "update_event_source_mapping",
        json!({ "UUID": uuid, "Enabled": false }),
    );
    assert_eq!(disabled["State"], "Updating", "{disabled}");
    let got = lambda(&serve, "get_event_source_mapping", json!({ "UUID": uuid }));
    assert_eq!(got["State"], "Disabled", "{got}");
    serve.wait_for_log("stopped polling", Duration::from_secs(30));
    send(&queue, &[json!({ "n": 2 }), json!({ "n": 3 })]);
    std::thread::sleep(Duration::from_secs(2));
    assert_nothing_received(&serve, &queue, &[2, 3]);

    // Enabled again with new settings: they apply to the next poll.
    let enabled = lambda(
        &serve,
        "update_event_source_mapping",
        json!({ "UUID": uuid, "Enabled": true, "BatchSize": 2 }),
    );
    assert_eq!(enabled["BatchSize"], 2, "{enabled}");
    wait_processed(&serve, 3, Duration::from_secs(30));

    let listed = lambda(
        &serve,
        "list_event_source_mappings",
        json!({ "FunctionName": "consumer" }),
    );
    let listed = listed["EventSourceMappings"].as_array().unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0]["UUID"], uuid.as_str());

    // A restart (kill -9) polls the stored mapping again.
    let mut serve = serve;
    serve.child.kill().unwrap();
    serve.child.wait().unwrap();
    drop(serve);
    let serve = Serve::start_with_state(&file, tempfile::tempdir().unwrap(), state.path());
    let got = lambda(&serve, "get_event_source_mapping", json!({ "UUID": uuid }));
    assert_eq!(got["State"], "Enabled", "{got}");
    assert_eq!(got["BatchSize"], 2);
    send(&queue, &[json!({ "n": 4 })]);
    wait_processed(&serve, 1, Duration::from_secs(60));

    let deleted = lambda(
        &serve,
        "delete_event_source_mapping",
        json!({ "UUID": uuid }),
    );
    assert_eq!(deleted["State"], "Deleting", "{deleted}");
    let gone = lambda(&serve, "get_event_source_mapping", json!({ "UUID": uuid }));
    assert_eq!(gone["error"], "ResourceNotFoundException", "{gone}");
    serve.wait_for_log("stopped polling", Duration::from_secs(30));
    send(&queue, &[json!({ "n": 5 })]);
    std::thread::sleep(Duration::from_secs(2));
    assert_nothing_received(&serve, &queue, &[5]);
}

/// None of the records numbered `sent` reached the stopped mapping's
/// function, and the queue ends up holding them all, visible. A long poll
/// that a stopped poller (or the killed server) left open in moto can still
/// take a message after the stop; the server sends it back at once, moto
/// after the visibility timeout, so the count is awaited rather than read
/// once.
fn assert_nothing_received(serve: &Serve, queue: &Value, sent: &[u64]) {
    wait_count(
        serve,
        queue,
        (sent.len() as u64, 0),
        Duration::from_secs(40),
    );
    let reached: Vec<u64> = processed(&serve.log())
        .iter()
        .map(|(n, _)| *n)
        .filter(|n| sent.contains(n))
        .collect();
    assert!(reached.is_empty(), "a stopped mapping received {reached:?}");
}

#[test]
fn bad_mappings_are_refused_with_lambdas_errors() {
    let serve = Serve::start(&config("consumer", JS_CONSUMER, ""));
    let queue = "arn:aws:sqs:us-east-1:123456789012:anything";
    for (arguments, code) in [
        (
            json!({ "EventSourceArn": queue, "FunctionName": "consumer", "BatchSize": 0 }),
            "ValidationException",
        ),
        (
            json!({ "EventSourceArn": queue, "FunctionName": "consumer", "BatchSize": 50 }),
            "InvalidParameterValueException",
        ),
        (
            json!({ "EventSourceArn": queue, "FunctionName": "consumer",
                    "FilterCriteria": { "Filters": [{ "Pattern": "{\"body\": \"not a list\"}" }] } }),
            "InvalidParameterValueException",
        ),
        (
            json!({ "EventSourceArn": "arn:aws:kinesis:us-east-1:123456789012:stream/s",
                    "FunctionName": "consumer" }),
            "InvalidParameterValueException",
        ),
    ] {
        let answer = lambda(&serve, "create_event_source_mapping", arguments.clone());
        assert_eq!(answer["error"], code, "{arguments}: {answer}");
    }
    let listed = lambda(&serve, "list_event_source_mappings", json!({}));
    assert_eq!(
        listed["EventSourceMappings"],
        json!([]),
        "refused mappings leave nothing behind"
    );
    let unknown = lambda(
        &serve,
        "get_event_source_mapping",
        json!({ "UUID": "00000000-0000-4000-8000-000000000000" }),
    );
    assert_eq!(unknown["error"], "ResourceNotFoundException");
}

#[test]
fn an_unreachable_queue_is_reported_and_retried_without_harm() {
    let serve = Serve::start(&config(
        "consumer",
        JS_CONSUMER,
        "[[event_source]]\nfunction_name = \"consumer\"\nevent_source_arn = \"arn:aws:sqs:us-east-1:123456789012:no-such-queue-here\"\n",
    ));
    serve.wait_for_log("QueueDoesNotExist", Duration::from_secs(30));
    let listed = lambda(&serve, "list_event_source_mappings", json!({}));
    let result = listed["EventSourceMappings"][0]["LastProcessingResult"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(result.starts_with("PROBLEM:"), "{result}");
    // The server still answers invocations.
    let answer = lambda(
        &serve,
        "invoke",
        json!({ "FunctionName": "consumer", "Payload": "{\"Records\": []}" }),
    );
    assert_eq!(answer["StatusCode"], 200, "{answer}");
}

#[test]
fn powertools_batch_processor_reports_a_bad_record_which_reaches_the_dead_letter_queue() {
    // The corpus's Powertools consumer: BatchProcessor with
    // process_partial_response answers batchItemFailures for records whose
    // handler raised.
    let queue = make_queue("payments", &["1", "1"]);
    let serve = Serve::start(&config(
        "payments",
        "host/tests/corpus/python/powertools-sqs-batch",
        &format!(
            "[[event_source]]\nfunction_name = \"payments\"\nevent_source_arn = \"{}\"\nfunction_response_types = [\"ReportBatchItemFailures\"]\n",
            queue["arn"].as_str().unwrap()
        ),
    ));
    let bodies: Vec<Value> = (0..5)
        .map(|n| json!({ "id": format!("p-{n}"), "amount": if n == 2 { 0 } else { 10 * n + 1 } }))
        .collect();
    send(&queue, &bodies);
    let dead = wait_for_messages(
        &serve,
        queue["dlq_url"].as_str().unwrap(),
        "nothing reached the dead-letter queue",
    );
    assert_eq!(dead.len(), 1, "{dead:?}");
    assert_eq!(json(dead[0].as_str().unwrap())["id"], "p-2");
    let log = serve.log();
    for id in ["p-0", "p-1", "p-3", "p-4"] {
        assert_eq!(
            log.matches(&format!("\"payment_id\":\"{id}\"")).count(),
            1,
            "{id} was accepted once; log:\n{log}"
        );
    }
    assert!(!log.contains("\"payment_id\":\"p-2\""), "{log}");
    wait_empty(&serve, &queue, Duration::from_secs(30));
}

#[test]
fn serve_stops_at_once_while_its_pollers_wait_on_an_empty_queue() {
    let queue = make_queue("idle", &[]);
    let mut serve = Serve::start(&config(
        "consumer",
        JS_CONSUMER,
        &format!(
            "[[event_source]]\nfunction_name = \"consumer\"\nevent_source_arn = \"{}\"\n",
            queue["arn"].as_str().unwrap()
        ),
    ));
    serve.wait_for_log("polls arn:aws:sqs:", Duration::from_secs(30));
    // Every poller is inside its 20 s ReceiveMessage by now.
    std::thread::sleep(Duration::from_secs(2));
    let signalled = Instant::now();
    serve.interrupt();
    let status = serve.child.wait().unwrap();
    let took = signalled.elapsed();
    assert!(status.success(), "{status:?}\n{}", serve.log());
    assert!(
        took < Duration::from_secs(10),
        "serve took {took:?} to stop, waiting on a long poll"
    );
}

const STREAM_CONSUMER: &str = "host/tests/guests/python/stream_consumer";

/// One `stream_client.py` command.
fn streams(args: &[&str]) -> Value {
    client("stream_client.py", args)
}

/// A Kinesis stream of its own for each test; its name and ARN.
fn kinesis_stream(name: &str, shards: u32) -> (String, String) {
    let name = format!("{name}-{}", std::process::id());
    let made = streams(&["kinesis", &name, &shards.to_string()]);
    (name, made["arn"].as_str().unwrap().to_string())
}

fn put_records(stream: &str, records: &[Value]) -> Value {
    streams(&["put", stream, &Value::Array(records.to_vec()).to_string()])
}

/// The `processed n=N at=WHERE seq=S key=K` lines: (n, and the values of
/// the two fields named).
fn processed_fields(log: &str, first: &str, second: &str) -> Vec<(u64, String, String)> {
    processed(log)
        .into_iter()
        .map(|(n, rest)| {
            let field = |name: &str| {
                rest.split_whitespace()
                    .find_map(|word| word.strip_prefix(name))
                    .unwrap_or_default()
                    .to_string()
            };
            (n, field(first), field(second))
        })
        .collect()
}

/// (n, where, sequence number) of each processed stream record.
fn stream_processed(log: &str) -> Vec<(u64, String, String)> {
    processed_fields(log, "at=", "seq=")
}

/// Sequence numbers are decimal strings longer than any integer type.
fn sequence_order(a: &str, b: &str) -> std::cmp::Ordering {
    a.len().cmp(&b.len()).then_with(|| a.cmp(b))
}

fn batches_of(log: &str) -> usize {
    log.lines()
        .filter(|line| line.contains("batch size="))
        .count()
}

#[test]
fn kinesis_records_of_each_shard_arrive_in_order_across_invocations() {
    let (stream, arn) = kinesis_stream("ordered", 2);
    let serve = Serve::start(&config(
        "consumer",
        STREAM_CONSUMER,
        &format!(
            "[[event_source]]\nfunction_name = \"consumer\"\nevent_source_arn = \"{arn}\"\nstarting_position = \"TRIM_HORIZON\"\nbatch_size = 40\n"
        ),
    ));
    let records: Vec<Value> = (0..500)
        .map(|n| json!({ "data": { "n": n }, "key": format!("customer-{}", n % 17) }))
        .collect();
    let put = put_records(&stream, &records);
    let shards: BTreeSet<&str> = put["shards"]
        .as_array()
        .unwrap()
        .iter()
        .map(|shard| shard.as_str().unwrap())
        .collect();
    assert_eq!(shards.len(), 2, "the records went to both shards");
    let done = {
        let started = Instant::now();
        loop {
            let done = stream_processed(&serve.log());
            if done.len() >= 500 {
                break done;
            }
            assert!(
                started.elapsed() < Duration::from_secs(90),
                "{} of 500 records processed; log:\n{}",
                done.len(),
                serve.log()
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    };
    assert_eq!(
        done.iter()
            .map(|(n, _, _)| *n)
            .collect::<BTreeSet<_>>()
            .len(),
        500,
        "every record once"
    );
    assert_eq!(done.len(), 500, "no record twice");
    for shard in shards {
        let sequences: Vec<&str> = done
            .iter()
            .filter(|(_, at, _)| at == shard)
            .map(|(_, _, sequence)| sequence.as_str())
            .collect();
        assert!(!sequences.is_empty());
        assert!(
            sequences
                .windows(2)
                .all(|pair| sequence_order(pair[0], pair[1]).is_lt()),
            "shard {shard}'s sequence numbers strictly increase across invocations: {sequences:?}"
        );
    }
    assert!(
        serve
            .log()
            .lines()
            .filter_map(|line| line.split("batch size=").nth(1)?.trim().parse::<u64>().ok())
            .all(|size| size <= 40),
        "no batch over BatchSize"
    );
}

/// (n, partition key, sequence number) of each processed stream record.
fn keyed(log: &str) -> Vec<(u64, String, String)> {
    processed_fields(log, "key=", "seq=")
}

#[test]
fn a_parallelization_factor_runs_batches_of_one_shard_at_once_and_keeps_each_keys_order() {
    let (stream, arn) = kinesis_stream("parallel", 1);
    let records: Vec<Value> = (0..120)
        .map(|n| json!({ "data": { "n": n }, "key": format!("device-{}", n % 12) }))
        .collect();
    // The records are there before the server starts, so every lane has a
    // backlog from its first read.
    put_records(&stream, &records);
    let serve = Serve::start(
        &config(
            "consumer",
            STREAM_CONSUMER,
            &format!(
                "[[event_source]]\nfunction_name = \"consumer\"\nevent_source_arn = \"{arn}\"\nstarting_position = \"TRIM_HORIZON\"\nbatch_size = 5\nparallelization_factor = 4\n"
            ),
        )
        .replace(
            "timeout = 10",
            "timeout = 10\nenvironment = { SLOW_SECONDS = \"0.5\" }",
        ),
    );
    wait_processed(&serve, 120, Duration::from_secs(120));
    let log = serve.log();
    let done = keyed(&log);
    assert_eq!(
        done.iter()
            .map(|(n, _, _)| *n)
            .collect::<BTreeSet<_>>()
            .len(),
        120,
        "every record once"
    );
    assert_eq!(done.len(), 120, "no record twice");
    let mut by_key: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for (_, key, sequence) in &done {
        by_key.entry(key).or_default().push(sequence);
    }
    assert_eq!(by_key.len(), 12, "{by_key:?}");
    for (key, sequences) in &by_key {
        assert!(
            sequences
                .windows(2)
                .all(|pair| sequence_order(pair[0], pair[1]).is_lt()),
            "the records of {key} arrive in order: {sequences:?}"
        );
    }
    // The consumer prints `batch size=N`, sleeps, then one line per record:
    // more records started than one batch holds means two batches of the
    // one shard were running at once.
    let (mut outstanding, mut most) = (0i64, 0i64);
    for line in log.lines() {
        if let Some(size) = line
            .split("batch size=")
            .nth(1)
            .and_then(|size| size.trim().parse::<i64>().ok())
        {
            outstanding += size;
            most = most.max(outstanding);
        } else if line.contains("processed n=") {
            outstanding -= 1;
        }
    }
    assert!(
        most > 5,
        "batches of the shard ran one at a time (at most {most} records in flight); log:\n{log}"
    );
}

const WINDOW_AGGREGATOR: &str = "host/tests/guests/python/stream_window";

/// Seconds since midnight of a `YYYY-MM-DDTHH:MM:SSZ` time.
fn time_of_day(text: &str) -> u64 {
    let clock = text.split('T').nth(1).unwrap().trim_end_matches('Z');
    clock
        .split(':')
        .map(|part| part.parse::<u64>().unwrap())
        .fold(0, |seconds, part| seconds * 60 + part)
}

/// The aggregator's `window total` lines: (start, end, count, sum).
fn window_totals(log: &str) -> Vec<(String, String, u64, u64)> {
    log.lines()
        .filter_map(|line| {
            let rest = line.split("window total ").nth(1)?;
            let field = |name: &str| {
                rest.split_whitespace()
                    .find_map(|word| word.strip_prefix(name))
                    .unwrap_or_default()
                    .to_string()
            };
            Some((
                field("start="),
                field("end="),
                field("count=").parse().ok()?,
                field("sum=").parse().ok()?,
            ))
        })
        .collect()
}

fn wait_window_count(serve: &Serve, count: u64) -> Vec<(String, String, u64, u64)> {
    let started = Instant::now();
    loop {
        let totals = window_totals(&serve.log());
        if totals.iter().map(|total| total.2).sum::<u64>() >= count {
            return totals;
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "the windows' totals never reached {count}: {totals:?}; log:\n{}",
            serve.log()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn a_tumbling_window_carries_its_state_across_batches_and_ends_with_a_final_invocation() {
    let (stream, arn) = kinesis_stream("tumbling", 1);
    let serve = Serve::start(&config(
        "aggregator",
        WINDOW_AGGREGATOR,
        &format!(
            "[[event_source]]\nfunction_name = \"aggregator\"\nevent_source_arn = \"{arn}\"\nstarting_position = \"TRIM_HORIZON\"\nbatch_size = 5\ntumbling_window_in_seconds = 3\n"
        ),
    ));
    let record = |n: u64| json!({ "data": { "n": n }, "key": format!("k{}", n % 3) });
    put_records(&stream, &(0..23).map(record).collect::<Vec<_>>());
    wait_window_count(&serve, 23);
    // Later records fall in a later window.
    put_records(&stream, &(23..40).map(record).collect::<Vec<_>>());
    let totals = wait_window_count(&serve, 40);
    let log = serve.log();
    assert!(
        !log.contains("outside n="),
        "every record's arrival lies in its event's window:\n{log}"
    );
    assert_eq!(
        totals.iter().map(|total| total.2).sum::<u64>(),
        40,
        "each record counted in one window once: {totals:?}"
    );
    assert_eq!(
        totals.iter().map(|total| total.3).sum::<u64>(),
        (0..40).sum::<u64>(),
        "{totals:?}"
    );
    assert!(totals.len() >= 2, "two bursts, two windows: {totals:?}");
    for (start, end, _, _) in &totals {
        let (start, end) = (time_of_day(start), time_of_day(end));
        assert_eq!(start % 3, 0, "windows are aligned on their length");
        assert_eq!((end + 86_400 - start) % 86_400, 3, "a window lasts 3 s");
    }
    let starts: BTreeSet<&str> = totals.iter().map(|total| total.0.as_str()).collect();
    assert_eq!(
        starts.len(),
        totals.len(),
        "each window ends once: {totals:?}"
    );
    assert!(
        totals.iter().any(|total| total.2 > 5),
        "a window's state grew past one batch (BatchSize 5), so it was carried across invocations: {totals:?}"
    );
    let batches: Vec<(u64, bool)> = log
        .lines()
        .filter_map(|line| {
            let rest = line.split("window start=").nth(1)?;
            let records = rest
                .split("records=")
                .nth(1)?
                .split(' ')
                .next()?
                .parse()
                .ok()?;
            Some((records, rest.contains("final=True")))
        })
        .collect();
    assert!(
        batches.iter().all(|(records, last)| if *last {
            *records == 0
        } else {
            (1..=5).contains(records)
        }),
        "batches of at most 5 records, and last invocations with none: {batches:?}"
    );
}

/// A TLS front for a plain HTTP server on `port`, with `pki`'s certificate:
/// each connection carries one request, as `Connection: close` tells the
/// client. Its port.
fn tls_front(pki: &crate::capabilities::Pki, port: u16) -> u16 {
    use std::io::{BufRead, BufReader, Read, Write};
    use std::net::TcpStream;
    crate::capabilities::tls_server(pki, move |tls| {
        let mut reader = BufReader::new(&mut *tls);
        let mut head = Vec::new();
        let mut length = 0;
        loop {
            let mut line = String::new();
            if reader.read_line(&mut line).unwrap_or(0) == 0 {
                return;
            }
            if line == "\r\n" {
                break;
            }
            let lower = line.to_ascii_lowercase();
            if let Some(value) = lower.strip_prefix("content-length:") {
                length = value.trim().parse().unwrap_or(0);
            }
            if !lower.starts_with("connection:") {
                head.extend_from_slice(line.as_bytes());
            }
        }
        let mut body = vec![0; length];
        if reader.read_exact(&mut body).is_err() {
            return;
        }
        let Ok(mut upstream) = TcpStream::connect(("127.0.0.1", port)) else {
            return;
        };
        head.extend_from_slice(b"Connection: close\r\n\r\n");
        let _ = upstream.write_all(&head);
        let _ = upstream.write_all(&body);
        let mut answer = Vec::new();
        let _ = upstream.read_to_end(&mut answer);
        let split = answer
            .windows(4)
            .position(|window| window == b"\r\n\r\n")
            .unwrap_or(answer.len());
        let mut out: Vec<u8> = String::from_utf8_lossy(&answer[..split])
            .lines()
            .filter(|line| !line.to_ascii_lowercase().starts_with("connection:"))
            .flat_map(|line| format!("{line}\r\n").into_bytes())
            .collect();
        out.extend_from_slice(b"Connection: close\r\n");
        out.extend_from_slice(answer.get(split + 2..).unwrap_or_default());
        let _ = tls.write_all(&out);
    })
}

#[test]
fn a_queue_behind_https_is_polled_with_the_systems_trust_store() {
    let queue = make_queue("https", &[]);
    send(
        &queue,
        &(0..3).map(|n| json!({ "n": n })).collect::<Vec<_>>(),
    );
    let pki = crate::capabilities::pki("event source test CA");
    let moto_port: u16 = moto().rsplit(':').next().unwrap().parse().unwrap();
    let front = tls_front(&pki, moto_port);
    let roots = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(roots.path(), &pki.ca_pem).unwrap();
    let file = config(
        "consumer",
        PYTHON_CONSUMER,
        &format!(
            "[[event_source]]\nfunction_name = \"consumer\"\nevent_source_arn = \"{}\"\n",
            queue["arn"].as_str().unwrap()
        ),
    )
    .replace(moto(), &format!("https://localhost:{front}"));
    // The server trusts the test's CA as it would the system's store
    // (SSL_CERT_FILE is where that store is read from).
    let serve = Serve::start_with_env(&file, &[("SSL_CERT_FILE", roots.path().to_str().unwrap())]);
    wait_processed(&serve, 3, Duration::from_secs(60));
    wait_empty(&serve, &queue, Duration::from_secs(30));
    assert!(
        serve
            .log()
            .contains(&format!("at https://localhost:{front}")),
        "the mapping polled the HTTPS endpoint:\n{}",
        serve.log()
    );
}

#[test]
fn bisect_isolates_a_poison_record_and_sends_one_on_failure_record() {
    let (stream, arn) = kinesis_stream("bisect", 1);
    let failures = make_queue("bisect-failures", &[]);
    let records: Vec<Value> = (0..64)
        .map(|n| {
            let data = if n == 37 {
                json!({ "n": n, "poison": true })
            } else {
                json!({ "n": n })
            };
            json!({ "data": data, "key": "one" })
        })
        .collect();
    let put = put_records(&stream, &records);
    let poison_sequence = put["sequences"][37].as_str().unwrap().to_string();
    // The records are in the stream before the server starts, so the first
    // batch holds all 64.
    let serve = Serve::start(&config(
        "consumer",
        STREAM_CONSUMER,
        &format!(
            "[[event_source]]\nfunction_name = \"consumer\"\nevent_source_arn = \"{arn}\"\nstarting_position = \"TRIM_HORIZON\"\nbatch_size = 64\nbisect_batch_on_function_error = true\nmaximum_retry_attempts = 0\ndestination_config = {{ on_failure = {{ destination = \"{}\" }} }}\n",
            failures["arn"].as_str().unwrap()
        ),
    ));
    let sent = wait_for_messages(
        &serve,
        failures["url"].as_str().unwrap(),
        "no on-failure record",
    );
    let done = wait_processed(&serve, 63, Duration::from_secs(30));
    let numbers: BTreeSet<u64> = done.iter().map(|(n, _)| *n).collect();
    assert_eq!(numbers.len(), 63, "every other record was processed");
    assert!(!numbers.contains(&37));
    assert_eq!(done.len(), 63, "none of them twice");
    let log = serve.log();
    let invocations = batches_of(&log);
    assert!(
        invocations <= 13,
        "bisecting 64 records to the poison takes at most 13 invocations, not {invocations}:\n{log}"
    );
    std::thread::sleep(Duration::from_millis(500));
    let more = sqs(&["drain", failures["url"].as_str().unwrap()]);
    assert_eq!(sent.len(), 1, "{sent:?}");
    assert_eq!(more["bodies"], json!([]), "exactly one on-failure record");
    let record = json(sent[0].as_str().unwrap());
    let info = &record["KinesisBatchInfo"];
    assert_eq!(info["batchSize"], 1, "{record}");
    assert_eq!(info["startSequenceNumber"], poison_sequence.as_str());
    assert_eq!(info["endSequenceNumber"], poison_sequence.as_str());
    assert_eq!(info["streamArn"], arn.as_str());
    assert_eq!(
        record["requestContext"]["condition"],
        "RetryAttemptsExhausted"
    );
    assert_eq!(record["responseContext"]["functionError"], "Unhandled");
}

#[test]
fn reported_failures_restart_a_stream_batch_from_the_lowest_failed_record() {
    let (stream, arn) = kinesis_stream("partial", 1);
    // On failure, an SNS topic; a queue subscribed to it shows what came.
    let inbox = make_queue("partial-inbox", &[]);
    let topic = sqs(&[
        "topic",
        &format!("partial-failures-{}", std::process::id()),
        inbox["arn"].as_str().unwrap(),
    ]);
    let records: Vec<Value> = (0..10)
        .map(|n| {
            let data = if n == 5 {
                json!({ "n": n, "fail": true })
            } else {
                json!({ "n": n })
            };
            json!({ "data": data, "key": "one" })
        })
        .collect();
    let put = put_records(&stream, &records);
    let serve = Serve::start(&config(
        "consumer",
        STREAM_CONSUMER,
        &format!(
            "[[event_source]]\nfunction_name = \"consumer\"\nevent_source_arn = \"{arn}\"\nstarting_position = \"TRIM_HORIZON\"\nbatch_size = 10\nfunction_response_types = [\"ReportBatchItemFailures\"]\nmaximum_retry_attempts = 1\ndestination_config = {{ on_failure = {{ destination = \"{}\" }} }}\n",
            topic["arn"].as_str().unwrap()
        ),
    ));
    let sent = wait_for_messages(
        &serve,
        inbox["url"].as_str().unwrap(),
        "no on-failure record reached the topic",
    );
    assert_eq!(sent.len(), 1, "{sent:?}");
    let record = json(sent[0].as_str().unwrap());
    let info = &record["KinesisBatchInfo"];
    assert_eq!(
        info["startSequenceNumber"], put["sequences"][5],
        "the retry started at the failed record: {record}"
    );
    assert_eq!(info["endSequenceNumber"], put["sequences"][9]);
    assert_eq!(info["batchSize"], 5);
    let log = serve.log();
    let times = |n: u64| processed(&log).iter().filter(|(m, _)| *m == n).count();
    for n in 0..5 {
        assert_eq!(
            times(n),
            1,
            "record {n}, before the failure, ran once:\n{log}"
        );
    }
    for n in 6..10 {
        assert_eq!(
            times(n),
            2,
            "record {n}, after the failure, ran in the batch and its one retry:\n{log}"
        );
    }
}

#[test]
fn a_stream_resumes_after_its_checkpoint_when_serve_is_killed() {
    let (stream, arn) = kinesis_stream("resume", 1);
    let records: Vec<Value> = (0..100)
        .map(|n| json!({ "data": { "n": n }, "key": "one" }))
        .collect();
    put_records(&stream, &records);
    let file = config(
        "consumer",
        STREAM_CONSUMER,
        &format!(
            "[[event_source]]\nfunction_name = \"consumer\"\nevent_source_arn = \"{arn}\"\nstarting_position = \"TRIM_HORIZON\"\nbatch_size = 10\n"
        ),
    )
    .replace("timeout = 10", "timeout = 10\nenvironment = { SLOW_SECONDS = \"0.3\" }");
    let state = tempfile::tempdir().unwrap();
    let mut first = Serve::start_with_state(&file, tempfile::tempdir().unwrap(), state.path());
    wait_processed(&first, 30, Duration::from_secs(60));
    first.child.kill().unwrap();
    first.child.wait().unwrap();
    let before: BTreeSet<u64> = processed(&first.log()).iter().map(|(n, _)| *n).collect();
    drop(first);
    let second = Serve::start_with_state(&file, tempfile::tempdir().unwrap(), state.path());
    let started = Instant::now();
    let after = loop {
        let after: BTreeSet<u64> = processed(&second.log()).iter().map(|(n, _)| *n).collect();
        if before.union(&after).count() == 100 {
            break after;
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "records are missing after the restart; log:\n{}",
            second.log()
        );
        std::thread::sleep(Duration::from_millis(200));
    };
    let again = before.intersection(&after).count();
    assert!(
        again <= 10,
        "at most the batch in flight runs again, not {again} records"
    );
    assert!(
        after.len() < 100,
        "the restarted server went on from its checkpoint"
    );
}

#[test]
fn dynamodb_stream_changes_reach_the_function_through_a_filter_made_by_the_api() {
    let table = format!("orders-{}", std::process::id());
    let stream_arn = streams(&["table", &table])["stream_arn"]
        .as_str()
        .unwrap()
        .to_string();
    let serve = Serve::start(&config("consumer", STREAM_CONSUMER, ""));
    let refused = lambda(
        &serve,
        "create_event_source_mapping",
        json!({ "EventSourceArn": stream_arn, "FunctionName": "consumer" }),
    );
    assert_eq!(
        refused["error"], "InvalidParameterValueException",
        "a stream needs a StartingPosition: {refused}"
    );
    let created = lambda(
        &serve,
        "create_event_source_mapping",
        json!({
            "EventSourceArn": stream_arn,
            "FunctionName": "consumer",
            "StartingPosition": "TRIM_HORIZON",
            "FilterCriteria": { "Filters": [
                { "Pattern": "{\"dynamodb\": {\"NewImage\": {\"status\": {\"S\": [\"active\"]}}}}" }
            ] },
        }),
    );
    assert_eq!(created["State"], "Creating", "{created}");
    assert_eq!(created["BatchSize"], 100, "streams' default");
    assert_eq!(created["StartingPosition"], "TRIM_HORIZON");
    assert_eq!(created["MaximumRetryAttempts"], -1);
    assert_eq!(created["BisectBatchOnFunctionError"], false);
    streams(&[
        "put-items",
        &table,
        &json!([
            { "n": 1, "status": "active" },
            { "n": 2, "status": "inactive" },
            { "n": 3, "status": "active" },
        ])
        .to_string(),
    ]);
    wait_processed(&serve, 2, Duration::from_secs(60));
    std::thread::sleep(Duration::from_secs(2));
    let done: Vec<(u64, String, String)> = stream_processed(&serve.log());
    assert_eq!(
        done.iter().map(|(n, _, _)| *n).collect::<Vec<_>>(),
        [1, 3],
        "only matching changes, in order: {done:?}"
    );
    assert!(done.iter().all(|(_, event, _)| event == "INSERT"));
}

/// Two nodes sharing NATS with the same mapping: each shard is polled by
/// one of them (its lease), every record once; when that node is killed the
/// other takes its shards over from their checkpoints after the lease
/// lapses (`event_ack_wait`).
#[test]
fn each_kinesis_shard_is_polled_by_one_node_sharing_nats_and_taken_over_when_it_dies() {
    use crate::cluster::{Nats, node};

    let (stream, arn) = kinesis_stream("leased", 2);
    let store = tempfile::tempdir().unwrap();
    let nats = Nats::start(store.path());
    let batch = 10;
    let config = format!(
        "event_ack_wait = 2\n{}",
        config(
            "consumer",
            STREAM_CONSUMER,
            &format!(
                "[[event_source]]\nfunction_name = \"consumer\"\nevent_source_arn = \"{arn}\"\nstarting_position = \"TRIM_HORIZON\"\nbatch_size = {batch}\n"
            ),
        )
    );
    let mut nodes = vec![node(&config, &nats), node(&config, &nats)];
    let records = |range: std::ops::Range<u64>| -> Vec<Value> {
        range
            .map(|n| json!({ "data": { "n": n }, "key": format!("customer-{}", n % 13) }))
            .collect()
    };
    put_records(&stream, &records(0..100));
    let wait_for = |logs: &dyn Fn() -> Vec<String>, wanted: std::ops::Range<u64>| {
        let started = Instant::now();
        loop {
            let seen: BTreeSet<u64> = logs()
                .iter()
                .flat_map(|log| stream_processed(log))
                .map(|(n, _, _)| n)
                .collect();
            if wanted.clone().all(|n| seen.contains(&n)) {
                return;
            }
            assert!(
                started.elapsed() < Duration::from_secs(90),
                "records {wanted:?} not all processed; logs:\n{}",
                logs().join("\n----\n")
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    };
    wait_for(&|| nodes.iter().map(Serve::log).collect(), 0..100);
    // Each shard went to one node, and each record once.
    let mut shard_nodes: BTreeMap<String, BTreeSet<usize>> = BTreeMap::new();
    let mut counts: BTreeMap<u64, usize> = BTreeMap::new();
    for (index, log) in nodes.iter().map(Serve::log).enumerate() {
        for (n, shard, _) in stream_processed(&log) {
            shard_nodes.entry(shard).or_default().insert(index);
            *counts.entry(n).or_default() += 1;
        }
    }
    assert_eq!(shard_nodes.len(), 2, "{shard_nodes:?}");
    assert!(
        shard_nodes.values().all(|nodes| nodes.len() == 1),
        "a shard was polled by both nodes: {shard_nodes:?}"
    );
    assert!(counts.values().all(|count| *count == 1), "{counts:?}");

    // A node holding a shard dies; the other takes its shards.
    let holder = shard_nodes
        .values()
        .next()
        .unwrap()
        .iter()
        .next()
        .copied()
        .unwrap();
    let alive = nodes.remove(1 - holder);
    let mut dead = nodes.remove(0);
    let held = shard_nodes
        .values()
        .filter(|nodes| nodes.contains(&holder))
        .count();
    dead.child.kill().unwrap();
    dead.child.wait().unwrap();
    let dead_log = dead.log();
    put_records(&stream, &records(100..200));
    wait_for(&|| vec![alive.log()], 100..200);
    let log = alive.log();
    // It says so for each shard it polls: its own and the dead node's.
    let taken = log.matches("this server polls shard").count();
    assert_eq!(
        taken, 2,
        "the living node took over the {held} shard(s) of the dead one:\n{log}"
    );
    // A record runs again only if its batch ended with the node, before its
    // checkpoint: at most one batch per shard.
    let mut again = 0;
    let mut counts: BTreeMap<u64, usize> = BTreeMap::new();
    for log in [&dead_log, &log] {
        for (n, _, _) in stream_processed(log) {
            *counts.entry(n).or_default() += 1;
        }
    }
    for (n, count) in counts {
        assert!(count <= 2, "record {n} ran {count} times");
        if count == 2 {
            again += 1;
        }
    }
    assert!(again <= 2 * batch, "{again} records ran twice");
}

/// A mapping made through the API on one node sharing NATS is on the
/// others too: after the node that made it is killed, another polls its
/// queue; deleted on that one, it is gone from a third.
#[test]
fn a_mapping_made_through_the_api_on_one_node_runs_on_the_others() {
    use crate::cluster::{Nats, node};

    let queue = make_queue("shared", &["2"]);
    let arn = queue["arn"].as_str().unwrap().to_string();
    let store = tempfile::tempdir().unwrap();
    let nats = Nats::start(store.path());
    let file = config("consumer", PYTHON_CONSUMER, "");
    let mut maker = node(&file, &nats);
    let others = [node(&file, &nats), node(&file, &nats)];
    let created = lambda(
        &maker,
        "create_event_source_mapping",
        json!({ "EventSourceArn": arn, "FunctionName": "consumer", "BatchSize": 5 }),
    );
    assert_eq!(created["status"], 202, "{created}");
    let uuid = created["UUID"].as_str().unwrap().to_string();
    for other in &others {
        other.wait_for_log(
            &format!("event source mapping {uuid} was made on another server"),
            Duration::from_secs(30),
        );
        let got = lambda(other, "get_event_source_mapping", json!({ "UUID": uuid }));
        assert_eq!(got["BatchSize"], 5, "{got}");
    }
    maker.child.kill().unwrap();
    maker.child.wait().unwrap();

    let bodies: Vec<Value> = (0..20).map(|n| json!({ "n": n })).collect();
    send(&queue, &bodies);
    wait_empty(&others[0], &queue, Duration::from_secs(60));
    let numbers: BTreeSet<u64> = others
        .iter()
        .flat_map(|other| processed(&other.log()))
        .map(|(n, _)| n)
        .collect();
    assert_eq!(
        numbers.len(),
        20,
        "every message is processed by the others"
    );

    let deleted = lambda(
        &others[0],
        "delete_event_source_mapping",
        json!({ "UUID": uuid }),
    );
    assert_eq!(deleted["status"], 202, "{deleted}");
    others[1].wait_for_log(
        &format!("event source mapping {uuid} was deleted on another server"),
        Duration::from_secs(30),
    );
    let gone = lambda(
        &others[1],
        "get_event_source_mapping",
        json!({ "UUID": uuid }),
    );
    assert_eq!(gone["error"], "ResourceNotFoundException", "{gone}");
}
