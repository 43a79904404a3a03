//! The HTTP front door through real clients (Python's http.client and
//! curl) against a real `wasm-lambda serve`: function URLs (payload 2.0)
//! with a Node handler, API Gateway routes (1.0 and 2.0) with a Python
//! handler, both written in the shapes published samples use.

use std::path::PathBuf;
use std::process::Command;

use serde_json::Value;

use crate::common::{guest, json, raw_http, repo_root, text};
use crate::server::{Serve, python, toml_path};

fn start() -> Serve {
    Serve::start(&format!(
        r#"
[[function]]
name = "site"
component = {url}

[[function]]
name = "locked"
component = {url}
url_auth = "AWS_IAM"

[[function]]
name = "api"
component = {apigw}

[[route]]
method = "GET"
path = "/items/{{id}}"
function = "api"
payload_format = "1.0"
stage = "prod"

[[route]]
method = "ANY"
path = "/files/{{proxy+}}"
function = "api"
payload_format = "1.0"
stage = "prod"

[[route]]
method = "ANY"
path = "/prod/malformed"
function = "api"
payload_format = "1.0"

[[route]]
method = "POST"
path = "/v2/orders/{{id}}"
function = "api"

[[route]]
method = "ANY"
path = "/v2/{{proxy+}}"
function = "api"
"#,
        url = toml_path(guest("host/tests/guests/js/url")),
        apigw = toml_path(guest("host/tests/guests/python/apigw")),
    ))
}

/// One request through Python's http.client; `headers` are `name:value`,
/// or `--chunks` to read the body as it arrives (see http_client.py).
pub(crate) fn request(
    serve: &Serve,
    method: &str,
    path: &str,
    headers: &[&str],
    body: Option<&[u8]>,
) -> Value {
    use base64::Engine as _;
    let mut command = Command::new(python());
    command
        .arg(repo_root().join("host/tests/clients/http_client.py"))
        .arg(format!("{}{path}", serve.endpoint))
        .arg(method)
        .args(headers);
    if let Some(body) = body {
        command
            .arg("--body-base64")
            .arg(base64::engine::general_purpose::STANDARD.encode(body));
    }
    let output = command.output().unwrap();
    assert!(
        output.status.success(),
        "{}\n{}",
        text(&output.stderr),
        serve.log()
    );
    json(&text(&output.stdout))
}

pub(crate) fn header<'a>(answer: &'a Value, name: &str) -> Vec<&'a str> {
    answer["headers"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|pair| pair[0] == name)
        .filter_map(|pair| pair[1].as_str())
        .collect()
}

fn body_json(answer: &Value) -> Value {
    json(answer["body"].as_str().unwrap())
}

#[test]
fn function_urls_turn_requests_into_payload_2_events_and_answers_into_responses() {
    let serve = start();
    // GET with a query string and repeated keys.
    let answer = request(
        &serve,
        "GET",
        "/lambda-url/site/shop/items?tag=a&tag=b&q=x%20y",
        &["X-Custom: one"],
        None,
    );
    assert_eq!(answer["status"], 200, "{answer}");
    assert_eq!(header(&answer, "access-control-allow-origin"), ["*"]);
    let seen = body_json(&answer);
    assert_eq!(seen["path"], "/shop/items");
    assert_eq!(seen["method"], "GET");
    assert_eq!(seen["query"]["tag"], "a,b");
    assert_eq!(seen["query"]["q"], "x y");
    assert_eq!(seen["rawQuery"], "tag=a&tag=b&q=x%20y");
    assert_eq!(seen["headers"]["x-custom"], "one");
    assert_eq!(seen["routeKey"], "$default");
    assert_eq!(seen["sourceIp"], "127.0.0.1");

    // POST JSON.
    let answer = request(
        &serve,
        "POST",
        "/lambda-url/site/orders",
        &["Content-Type: application/json"],
        Some(br#"{"sku":"x-1","qty":2}"#),
    );
    assert_eq!(answer["status"], 201, "{answer}");
    let seen = body_json(&answer);
    assert_eq!(seen["body"]["qty"], 2);
    assert_eq!(seen["base64"], false);
    assert_eq!(
        seen["query"],
        Value::Null,
        "no query, no queryStringParameters"
    );

    // POST binary: base64 in, base64 out, bytes round-trip.
    let bytes: Vec<u8> = (0u8..=255).collect();
    let answer = request(
        &serve,
        "POST",
        "/lambda-url/site/binary",
        &["Content-Type: application/octet-stream"],
        Some(&bytes),
    );
    assert_eq!(answer["status"], 200, "{answer}");
    use base64::Engine as _;
    let returned = base64::engine::general_purpose::STANDARD
        .decode(answer["body_base64"].as_str().unwrap())
        .unwrap();
    assert_eq!(returned, bytes.iter().rev().copied().collect::<Vec<u8>>());

    // A bare object is 200 JSON; an error is 502.
    let answer = request(&serve, "GET", "/lambda-url/site/bare", &[], None);
    assert_eq!(answer["status"], 200);
    assert_eq!(header(&answer, "content-type"), ["application/json"]);
    assert_eq!(
        body_json(&answer),
        serde_json::json!({ "hello": "world", "method": "GET" })
    );
    let answer = request(&serve, "GET", "/lambda-url/site/boom", &[], None);
    assert_eq!(answer["status"], 502, "{answer}");

    // Unknown functions are 404; AWS_IAM needs a signature.
    assert_eq!(
        request(&serve, "GET", "/lambda-url/nobody/x", &[], None)["status"],
        404
    );
    assert_eq!(
        request(&serve, "GET", "/lambda-url/locked/x", &[], None)["status"],
        403
    );
    let signed = request(
        &serve,
        "GET",
        "/lambda-url/locked/x",
        &[
            "Authorization: AWS4-HMAC-SHA256 Credential=AKID/20260101/us-east-1/lambda/aws4_request, SignedHeaders=host, Signature=00",
        ],
        None,
    );
    assert_eq!(signed["status"], 200, "{signed}");
}

/// The host frames every answer itself, as Lambda's function URLs do: a
/// handler's own `content-length` (0 before a body that is itself an HTTP
/// response, or a length counted in UTF-16 units) is dropped, so a client
/// on a kept-alive connection never reads part of one answer as the next.
#[test]
fn a_handlers_framing_headers_never_split_the_response() {
    let serve = start();
    let address = serve.endpoint.trim_start_matches("http://");
    let no_headers: &[(&str, &str)] = &[];
    let forged = raw_http(address, "GET", "/lambda-url/site/forged", no_headers, b"");
    assert_eq!(forged.status, 200, "{}", forged.head);
    assert_eq!(
        forged.body,
        "HTTP/1.1 200 OK\r\ncontent-length: 6\r\n\r\nforged"
    );
    assert!(
        forged
            .head
            .contains(&format!("content-length: {}", forged.body.len())),
        "{}",
        forged.head
    );
    let utf16 = raw_http(address, "GET", "/lambda-url/site/utf16", no_headers, b"");
    assert_eq!(json(&utf16.body)["greeting"], "h\u{e9}llo \u{1F44B}");
    assert!(
        utf16
            .head
            .contains(&format!("content-length: {}\r", utf16.body.len())),
        "{}",
        utf16.head
    );
    assert_eq!(
        utf16.head.matches("content-length").count(),
        1,
        "{}",
        utf16.head
    );
}

/// A function URL's root (`https://<id>.lambda-url.<region>.on.aws/`) is its
/// most common request: `rawPath` is `/`.
#[test]
fn a_function_urls_root_reaches_the_handler_with_raw_path_slash() {
    let serve = start();
    for path in ["/lambda-url/site/", "/lambda-url/site/?q=1"] {
        let answer = request(&serve, "GET", path, &[], None);
        assert_eq!(answer["status"], 200, "{path}: {answer}");
        assert_eq!(body_json(&answer)["path"], "/", "{path}");
    }
}

#[test]
fn cookies_go_in_as_an_array_and_out_as_set_cookie_with_curl() {
    let serve = start();
    let output = Command::new("curl")
        .args(["-s", "-i", "--cookie", "a=1; b=2"])
        .arg(format!("{}/lambda-url/site/cookies", serve.endpoint))
        .output()
        .expect("curl runs");
    let response = text(&output.stdout);
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    let lower = response.to_ascii_lowercase();
    assert!(
        lower.contains("set-cookie: session=abc; httponly"),
        "{response}"
    );
    assert!(lower.contains("set-cookie: theme=dark"), "{response}");
    let body = response.split("\r\n\r\n").nth(1).unwrap();
    assert_eq!(json(body)["received"], serde_json::json!(["a=1", "b=2"]));
}

#[test]
fn api_gateway_routes_send_rest_and_http_api_events() {
    let serve = start();
    // REST (1.0) with a stage and a path parameter.
    let answer = request(
        &serve,
        "GET",
        "/prod/items/42?color=red&color=blue",
        &[],
        None,
    );
    assert_eq!(answer["status"], 200, "{answer}\n{}", serve.log());
    let seen = body_json(&answer);
    assert_eq!(seen["route"], "GET /items/{id}");
    assert_eq!(seen["params"]["id"], "42");
    assert_eq!(seen["query"]["color"], "blue", "1.0 keeps the last value");
    assert_eq!(
        seen["multiQuery"]["color"],
        serde_json::json!(["red", "blue"])
    );
    assert_eq!(seen["stage"], "prod");
    assert_eq!(seen["sourceIp"], "127.0.0.1");
    assert_eq!(
        header(&answer, "access-control-allow-methods"),
        ["GET,POST,OPTIONS"]
    );

    // A greedy proxy on 1.0.
    let answer = request(&serve, "DELETE", "/prod/files/a/b/c.txt", &[], None);
    let seen = body_json(&answer);
    assert_eq!(seen["route"], "DELETE /files/{proxy+}");
    assert_eq!(seen["params"]["proxy"], "a/b/c.txt");

    // HTTP API (2.0): the most specific route wins over the proxy.
    let answer = request(
        &serve,
        "POST",
        "/v2/orders/7",
        &["Content-Type: application/json"],
        Some(br#"{"n":1}"#),
    );
    let seen = body_json(&answer);
    assert_eq!(seen["route"], "POST /v2/orders/{id}");
    assert_eq!(seen["params"]["id"], "7");
    assert_eq!(seen["body"]["n"], 1);
    let answer = request(&serve, "GET", "/v2/anything/else", &[], None);
    let seen = body_json(&answer);
    assert_eq!(seen["route"], "ANY /v2/{proxy+}");
    assert_eq!(seen["params"]["proxy"], "anything/else");

    // A malformed 1.0 answer and a handler error: 502; no route: 404.
    let answer = request(&serve, "GET", "/prod/malformed", &[], None);
    assert_eq!(answer["status"], 502);
    assert_eq!(body_json(&answer)["message"], "Internal server error");
    let answer = request(&serve, "GET", "/v2/boom", &[], None);
    assert_eq!(answer["status"], 502);
    let answer = request(&serve, "GET", "/nowhere", &[], None);
    assert_eq!(answer["status"], 404);
    assert_eq!(body_json(&answer)["message"], "Not Found");
}

/// The sample-event guest (`host/tests/guests/events`), built once.
fn events_guest() -> &'static PathBuf {
    guest("host/tests/guests/events")
}

#[test]
fn every_sample_event_parses_with_the_rust_ecosystems_event_types() {
    for kind in wasm_lambda::samples::KINDS {
        let output = crate::common::wasm_lambda(
            &[
                "invoke",
                events_guest().to_str().unwrap(),
                "--env",
                &format!("EVENT_KIND={kind}"),
                "--event-kind",
                kind,
                "--message",
                "hello there",
                "--bucket",
                "photos",
                "--path",
                "/orders/7?x=1",
            ],
            None,
        );
        let answer = json(&text(&output.stdout));
        assert_eq!(output.status.code(), Some(0), "{kind}: {answer}");
        assert_eq!(answer["kind"], *kind);
        let parsed = &answer["parsed"];
        match *kind {
            "sqs" => assert_eq!(parsed["Records"][0]["body"], "hello there"),
            "sns" => assert_eq!(parsed["Records"][0]["Sns"]["Message"], "hello there"),
            "s3-put" => assert_eq!(parsed["Records"][0]["s3"]["bucket"]["name"], "photos"),
            "kinesis" => assert_eq!(parsed["data"], "hello there"),
            "cloudwatch-logs" => assert_eq!(parsed["messages"][0], "hello there"),
            "eventbridge" => assert_eq!(parsed["detail"]["message"], "hello there"),
            "scheduled" => assert_eq!(parsed["detail-type"], "Scheduled Event"),
            "dynamodb-stream" => assert_eq!(parsed["Records"][0]["eventName"], "INSERT"),
            "apigw-rest" | "alb" => assert_eq!(parsed["path"], "/orders/7"),
            "apigw-http" | "function-url" => assert_eq!(parsed["rawPath"], "/orders/7"),
            other => panic!("no check for {other}"),
        }
    }
}

#[test]
fn the_event_command_prints_samples_and_refuses_unknown_kinds() {
    let output = crate::common::wasm_lambda(&["event", "s3-put", "--key", "a/b.txt"], None);
    assert_eq!(output.status.code(), Some(0));
    let event = json(&text(&output.stdout));
    assert_eq!(event["Records"][0]["s3"]["object"]["key"], "a/b.txt");
    let output = crate::common::wasm_lambda(&["event", "carrier-pigeon"], None);
    assert_eq!(output.status.code(), Some(2));
    assert!(text(&output.stderr).contains("sqs"), "lists the kinds");
}
