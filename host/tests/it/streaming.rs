//! Response streaming: boto3's `invoke_with_response_stream` and function
//! URLs in `RESPONSE_STREAM` mode against a real `wasm-lambda serve`, with a
//! Node handler in the shape Lambda's samples use
//! (`awslambda.streamifyResponse`, `HttpResponseStream.from`), the Rust
//! SDK's streaming form and lambda_runtime's `streaming::channel`; and components of the 0.1.0 contract, which has no
//! streaming, still running.

use std::path::PathBuf;

use serde_json::Value;
use wasm_lambda::{InvokeRequest, StreamEvent, response_stream};

use crate::common::{guest, invoke, json, load};
use crate::server::{Serve, toml_path};

fn js_stream() -> &'static PathBuf {
    guest("host/tests/guests/js/stream")
}

fn rust_stream() -> &'static PathBuf {
    guest("host/tests/guests/stream")
}

/// A project written for lambda_runtime that streams through its channel.
fn lambda_runtime_stream() -> &'static PathBuf {
    guest("host/tests/guests/lambda_stream")
}

/// A project written for lambda_http that streams a function URL's body.
fn lambda_http_stream() -> &'static PathBuf {
    guest("host/tests/guests/lambda_http_stream")
}

fn contract_v0_1() -> &'static PathBuf {
    guest("host/tests/guests/contract_v0_1")
}

fn start() -> Serve {
    Serve::start(&format!(
        r#"
[[function]]
name = "js"
component = {js}
invoke_mode = "RESPONSE_STREAM"

[[function]]
name = "rs"
component = {rs}
invoke_mode = "RESPONSE_STREAM"

[[function]]
name = "hello"
component = {hello}
"#,
        js = toml_path(js_stream()),
        rs = toml_path(rust_stream()),
        hello = toml_path(guest("examples/rust/hello")),
    ))
}

fn chunks(answer: &Value) -> Vec<&str> {
    answer["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|event| event["chunk"].as_str())
        .collect()
}

/// The `InvokeComplete` event, which must be the last.
fn completion(answer: &Value) -> &Value {
    let events = answer["events"].as_array().unwrap();
    let last = events.last().expect("at least the completion event");
    assert!(
        last.get("complete").is_some(),
        "the stream does not end with InvokeComplete: {answer}"
    );
    let completions = events.iter().filter(|e| e.get("complete").is_some());
    assert_eq!(completions.count(), 1, "{answer}");
    &last["complete"]
}

#[test]
fn boto3_reads_payload_chunks_as_written_and_one_completion() {
    let serve = start();

    let answer = serve.boto3(&["stream", "js", r#"{"count": 3}"#, "--tail"]);
    assert_eq!(answer["StatusCode"], 200, "{answer}");
    assert_eq!(answer["ContentType"], "text/plain", "{answer}");
    assert_eq!(answer["ExecutedVersion"], "$LATEST");
    assert_eq!(
        chunks(&answer),
        ["chunk 0\n", "chunk 1\n", "chunk 2\n", "bye\n"]
    );
    let complete = completion(&answer);
    assert!(complete.get("ErrorCode").is_none(), "{answer}");
    let log = complete["Log"].as_str().unwrap();
    let request_id = answer["RequestId"].as_str().unwrap();
    assert!(log.contains("streaming /"), "{log}");
    assert!(
        log.contains(&format!("REPORT RequestId: {request_id}")),
        "{log}"
    );

    // The Rust SDK's streaming form: one chunk per `writeln!`.
    let answer = serve.boto3(&["stream", "rs", r#"{"count": 2}"#]);
    assert_eq!(chunks(&answer), ["line 0\n", "line 1\n"], "{answer}");
    assert_eq!(answer["ContentType"], "text/plain", "{answer}");
    let complete = completion(&answer);
    assert!(complete.get("ErrorCode").is_none(), "{answer}");
    assert!(complete.get("Log").is_none(), "no tail was asked: {answer}");

    // A handler that returns instead of streaming: its payload in one chunk.
    let answer = serve.boto3(&[
        "stream",
        "hello",
        r#"{"first_name": "Ada", "last_name": "L"}"#,
    ]);
    assert_eq!(
        chunks(&answer),
        [r#"{"message":"Hello Ada L!"}"#],
        "{answer}"
    );
    assert_eq!(answer["ContentType"], "application/octet-stream");
    assert!(completion(&answer).get("ErrorCode").is_none());

    // Unknown functions and malformed events are the Invoke API's errors.
    let answer = serve.boto3(&["stream", "nope", "{}"]);
    assert_eq!(answer["error"], "ResourceNotFoundException", "{answer}");
    assert_eq!(answer["status"], 404);
    let answer = serve.boto3(&["stream", "js", "{not json"]);
    assert_eq!(
        answer["error"], "InvalidRequestContentException",
        "{answer}"
    );
}

#[test]
fn an_error_mid_stream_ends_it_with_the_error_in_the_completion() {
    let serve = start();
    let answer = serve.boto3(&["stream", "js", r#"{"path": "/fail"}"#, "--tail"]);
    assert_eq!(chunks(&answer), ["partial\n"], "{answer}");
    let complete = completion(&answer);
    assert_eq!(complete["ErrorCode"], "Error", "{answer}");
    let details = json(complete["ErrorDetails"].as_str().unwrap());
    assert_eq!(details["errorMessage"], "the stream broke");
    assert!(complete["Log"].as_str().unwrap().contains("Invoke Error"));

    let answer = serve.boto3(&["stream", "rs", r#"{"count": 1, "fail": true}"#]);
    assert_eq!(chunks(&answer), ["line 0\n"], "{answer}");
    let complete = completion(&answer);
    assert_eq!(complete["ErrorCode"], "StreamBroken", "{answer}");
    let details = json(complete["ErrorDetails"].as_str().unwrap());
    assert_eq!(details["errorMessage"], "failed after writing");
}

/// A GET through Python's http.client, reading the body as it comes.
fn url_request(serve: &Serve, path: &str) -> Value {
    crate::http::request(serve, "GET", path, &["--chunks"], None)
}

/// The first value of a response header.
fn header<'a>(answer: &'a Value, name: &str) -> Option<&'a str> {
    crate::http::header(answer, name).first().copied()
}

#[test]
fn streaming_function_urls_send_bytes_while_the_handler_still_runs() {
    let serve = start();

    // The handler writes, sleeps 500 ms and writes again: the first chunk
    // must be at the client well before the second is written.
    let answer = url_request(&serve, "/lambda-url/js/slow");
    assert_eq!(answer["status"], 200, "{answer}");
    assert_eq!(header(&answer, "transfer-encoding"), Some("chunked"));
    assert_eq!(answer["body"], "first\nsecond\n");
    assert_eq!(answer["complete"], true);
    let pieces = answer["chunks"].as_array().unwrap();
    let first = pieces
        .iter()
        .find(|piece| piece["data"].as_str().unwrap().contains("first"))
        .unwrap();
    let second = pieces
        .iter()
        .find(|piece| piece["data"].as_str().unwrap().contains("second"))
        .unwrap();
    assert!(
        !first["data"].as_str().unwrap().contains("second"),
        "both lines came together: {answer}"
    );
    let gap = second["at"].as_f64().unwrap() - first["at"].as_f64().unwrap();
    assert!(
        gap >= 0.3,
        "the first chunk came only {gap} s before the second: {answer}"
    );

    // HttpResponseStream.from: status, headers and cookies from the metadata.
    let answer = url_request(&serve, "/lambda-url/js/created");
    assert_eq!(answer["status"], 201, "{answer}");
    assert_eq!(header(&answer, "content-type"), Some("text/plain"));
    assert_eq!(header(&answer, "set-cookie"), Some("streamed=yes"));
    assert!(header(&answer, "x-request").is_some_and(|id| id.len() == 36));
    assert_eq!(answer["body"], "chunk 0\nchunk 1\nchunk 2\nbye\n");

    // The Rust SDK's head, and a stream without one.
    let answer = url_request(&serve, "/lambda-url/rs/plain");
    assert_eq!(answer["status"], 200, "{answer}");
    assert_eq!(header(&answer, "content-type"), Some("text/plain"));
    assert_eq!(answer["body"], "line 0\nline 1\nline 2\n");

    // A failure after the head cuts the response short.
    let answer = url_request(&serve, "/lambda-url/js/fail");
    assert_eq!(answer["status"], 200, "{answer}");
    assert_eq!(answer["body"], "partial\n");
    assert_eq!(answer["complete"], false, "{answer}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_plain_invoke_gets_the_streamed_bytes_at_once_and_a_caller_with_a_channel_as_written() {
    let function = load("rs", rust_stream(), |_| {});
    let invocation = invoke(&function, r#"{"count": 2}"#).await;
    assert_eq!(invocation.result.as_deref(), Ok("line 0\nline 1\n"));

    let (sender, mut events) = response_stream();
    let request = InvokeRequest {
        stream: Some(sender),
        ..InvokeRequest::new(r#"{"count": 2}"#)
    };
    let invocation = function.invoke(request).await.unwrap();
    assert_eq!(invocation.result.as_deref(), Ok(""));
    let mut received = Vec::new();
    while let Some(event) = events.recv().await {
        received.push(event);
    }
    assert_eq!(
        received,
        [
            StreamEvent::ContentType("text/plain".into()),
            StreamEvent::Chunk("line 0\n".into()),
            StreamEvent::Chunk("line 1\n".into()),
        ]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lambda_runtime_channel_sends_each_chunk_as_the_spawned_task_writes_it() {
    let function = load("lr", lambda_runtime_stream(), |_| {});
    let (sender, mut events) = response_stream();
    let request = InvokeRequest {
        stream: Some(sender),
        ..InvokeRequest::new(r#"{"count": 3}"#)
    };
    let invocation = function.invoke(request).await.unwrap();
    assert_eq!(invocation.result.as_deref(), Ok(""), "{}", invocation.log);
    let mut received = Vec::new();
    while let Some(event) = events.recv().await {
        received.push(event);
    }
    // lambda_runtime opens every stream with its HTTP prelude (status 200,
    // no headers); then one chunk per `send_data`.
    let body: Vec<_> = received
        .iter()
        .skip_while(
            |event| !matches!(event, StreamEvent::Chunk(chunk) if chunk.starts_with(b"part")),
        )
        .collect();
    assert_eq!(
        body,
        [
            &StreamEvent::Chunk("part 0\n".into()),
            &StreamEvent::Chunk("part 1\n".into()),
            &StreamEvent::Chunk("part 2\n".into()),
        ],
        "{received:?}"
    );
    // A spawned task is outside the invocation's span, as under
    // lambda_runtime on Lambda.
    assert!(
        invocation
            .log
            .lines()
            .any(|line| line == " INFO sending n=2"),
        "the task's tracing is in the log: {}",
        invocation.log
    );

    // Through a function URL: the prelude is the response's head, and a
    // body ended by `send_error` cuts the response short after its chunks.
    let serve = Serve::start(&format!(
        "[[function]]\nname = \"lr\"\ncomponent = {}\ninvoke_mode = \"RESPONSE_STREAM\"\n",
        toml_path(lambda_runtime_stream())
    ));
    let answer = url_request(&serve, "/lambda-url/lr/");
    assert_eq!(answer["status"], 200, "{answer}");
    assert_eq!(
        answer["body"],
        "part 0\npart 1\npart 2\n",
        "{answer}\n{}",
        serve.log()
    );
    assert_eq!(answer["complete"], true, "{answer}");
    let answer = url_request(&serve, "/lambda-url/lr/fail");
    assert_eq!(answer["body"], "part 0\npart 1\npart 2\n", "{answer}");
    assert_eq!(answer["complete"], false, "{answer}");

    // boto3's InvokeWithResponseStream: the error in the completion event.
    let answer = serve.boto3(&["stream", "lr", r#"{"count": 1, "fail": true}"#]);
    let complete = completion(&answer);
    let details = json(complete["ErrorDetails"].as_str().unwrap_or("null"));
    assert_eq!(details["errorMessage"], "the producer failed", "{answer}");
}

#[test]
fn lambda_http_streams_a_function_url_with_the_head_of_its_http_response() {
    let serve = Serve::start(&format!(
        "[[function]]\nname = \"lh\"\ncomponent = {}\ninvoke_mode = \"RESPONSE_STREAM\"\n",
        toml_path(lambda_http_stream())
    ));
    let answer = url_request(&serve, "/lambda-url/lh/?words=one%20two%20three%20four");
    assert_eq!(answer["status"], 206, "{answer}\n{}", serve.log());
    assert_eq!(
        header(&answer, "content-type"),
        Some("text/plain; charset=utf-8"),
        "{answer}"
    );
    assert_eq!(header(&answer, "x-words"), Some("4"), "{answer}");
    assert_eq!(answer["body"], "one\ntwo\nthree\nfour\n", "{answer}");
    assert_eq!(answer["complete"], true, "{answer}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn components_built_against_the_0_1_0_contract_still_run() {
    let function = load("old-contract", contract_v0_1(), |_| {});
    let invocation = invoke(&function, r#"{"n": 1}"#).await;
    let payload = json(invocation.result.as_ref().unwrap());
    assert_eq!(payload["event"]["n"], 1);
    assert_eq!(payload["name"], "old-contract");
    assert_eq!(
        payload["request_id"].as_str(),
        Some(invocation.request_id.as_str())
    );
    assert_eq!(payload["time_left"], true);

    let invocation = invoke(&function, r#"{"fail": 1}"#).await;
    let error = invocation.function_error().unwrap();
    assert_eq!(error.error_type, "OldContractError");
    assert_eq!(error.error_message, "failed as asked");
}
