//! Capability grants against real servers on loopback: plain HTTP, HTTPS
//! with a CA made here, a server that never answers, raw TCP; and `/tmp`,
//! mounts and credentials. Each grant is tried both ways: reachable when
//! granted, refused (inside the guest, with a log line) when not.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;
use wasm_lambda::{AllowedHosts, AwsCredentials, FunctionConfig, Host, HostConfig, Mount};

use crate::common::{cache_dir, guest, invoke, json};

/// The capability test guest (`host/tests/guests/net`), built once.
fn net_guest() -> &'static PathBuf {
    guest("host/tests/guests/net")
}

/// A CA and a certificate it signed for `localhost` and `127.0.0.1`.
pub(crate) struct Pki {
    pub(crate) ca_pem: String,
    pub(crate) chain: Vec<rustls::pki_types::CertificateDer<'static>>,
    pub(crate) key: rustls::pki_types::PrivateKeyDer<'static>,
}

pub(crate) fn pki(name: &str) -> Pki {
    let ca_key = rcgen::KeyPair::generate().unwrap();
    let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(rcgen::DnType::CommonName, name);
    let ca = rcgen::CertifiedIssuer::self_signed(ca_params, ca_key).unwrap();
    let leaf_key = rcgen::KeyPair::generate().unwrap();
    let leaf_params =
        rcgen::CertificateParams::new(vec!["localhost".to_string(), "127.0.0.1".to_string()])
            .unwrap();
    let leaf = leaf_params.signed_by(&leaf_key, &ca).unwrap();
    Pki {
        ca_pem: ca.pem(),
        chain: vec![leaf.der().clone()],
        key: rustls::pki_types::PrivateKeyDer::Pkcs8(leaf_key.serialize_der().into()),
    }
}

/// Reads one request's head from `stream`.
fn read_head(stream: &mut impl Read) -> String {
    let mut reader = BufReader::new(stream);
    let mut head = String::new();
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
            return head;
        }
        head.push_str(&line);
    }
}

fn answer(stream: &mut impl Write, body: &str) {
    let _ = write!(
        stream,
        "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    let _ = stream.flush();
}

/// A plain HTTP server answering every request with `body`; its port.
fn http_server(body: &'static str) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for mut stream in listener.incoming().map_while(Result::ok) {
            read_head(&mut stream);
            answer(&mut stream, body);
        }
    });
    port
}

/// A TLS stream of a server below.
pub(crate) type TlsStream = rustls::StreamOwned<rustls::ServerConnection, std::net::TcpStream>;

/// A TLS server with `pki`'s certificate that runs `serve` on each
/// connection, on a thread of its own, then closes it; its port.
pub(crate) fn tls_server(pki: &Pki, serve: impl Fn(&mut TlsStream) + Send + Sync + 'static) -> u16 {
    let config = Arc::new(
        rustls::ServerConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(pki.chain.clone(), pki.key.clone_key())
        .unwrap(),
    );
    let serve = Arc::new(serve);
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for stream in listener.incoming().map_while(Result::ok) {
            let config = config.clone();
            let serve = serve.clone();
            std::thread::spawn(move || {
                let Ok(connection) = rustls::ServerConnection::new(config) else {
                    return;
                };
                let mut tls = rustls::StreamOwned::new(connection, stream);
                serve(&mut tls);
                tls.conn.send_close_notify();
                let _ = tls.flush();
            });
        }
    });
    port
}

/// An HTTPS server with `pki`'s certificate answering `body`; its port.
fn https_server(pki: &Pki, body: &'static str) -> u16 {
    tls_server(pki, move |tls| {
        read_head(tls);
        answer(tls, body);
    })
}

/// A server that accepts connections and never answers; its port.
fn silent_server() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for stream in listener.incoming().map_while(Result::ok) {
            held.push(stream);
        }
    });
    port
}

/// A TCP server that answers `pong` to whatever it reads; its port.
fn pong_server() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for mut stream in listener.incoming().map_while(Result::ok) {
            let mut buffer = [0u8; 16];
            let _ = stream.read(&mut buffer);
            let _ = stream.write_all(b"pong");
        }
    });
    port
}

fn host_with_ca(ca_pem: &str) -> Host {
    let dir = tempfile::tempdir().unwrap();
    let ca_file = dir.path().join("ca.pem");
    std::fs::write(&ca_file, ca_pem).unwrap();
    let host = Host::new(HostConfig {
        cache_dir: Some(cache_dir()),
        extra_ca_file: Some(ca_file),
        engine: wasm_lambda::EngineConfig {
            max_instances: 4,
            ..wasm_lambda::EngineConfig::default()
        },
        ..HostConfig::default()
    })
    .unwrap();
    drop(dir);
    host
}

fn load_with(
    host: &Host,
    grants: &[&str],
    configure: impl FnOnce(&mut FunctionConfig),
) -> wasm_lambda::Function {
    let mut config = FunctionConfig::new("net", net_guest());
    config.allowed_outbound_hosts = AllowedHosts::parse(grants).unwrap();
    configure(&mut config);
    host.load(config).unwrap()
}

fn load(grants: &[&str]) -> wasm_lambda::Function {
    load_with(crate::common::host(), grants, |_| {})
}

async fn get(function: &wasm_lambda::Function, url: &str) -> (Value, String) {
    let invocation = invoke(
        function,
        &serde_json::json!({ "action": "http_get", "url": url }).to_string(),
    )
    .await;
    assert!(
        invocation.function_error().is_none(),
        "{}\n{}",
        invocation.payload(),
        invocation.log
    );
    (json(invocation.payload()), invocation.log)
}

/// Asserts that the guest saw `wasi:http`'s refusal, and no answer.
fn assert_denied(answer: &Value, what: &str) {
    let error = answer["error"].as_str().unwrap_or_default();
    assert!(error.contains("HttpRequestDenied"), "{what}: {answer}");
    assert!(answer.get("status").is_none(), "{what}: {answer}");
}

/// A request fails in a task of its own while the guest may still be
/// writing its body. Four MiB is more than the host buffers, so the guest
/// is mid-body when the host refuses (or fails to connect): had the host
/// dropped the body, the guest's client would report the closed stream,
/// not the reason.
#[tokio::test]
async fn a_refused_request_with_a_large_body_is_reported_as_refused() {
    let port = http_server("never reached");
    let post = |function: wasm_lambda::Function, url: String| async move {
        let event = serde_json::json!({ "action": "http_post", "url": url, "bytes": 4 << 20 });
        let invocation = invoke(&function, &event.to_string()).await;
        (json(invocation.payload()), invocation.log)
    };
    let (answer, log) = post(load(&[]), format!("http://127.0.0.1:{port}/upload")).await;
    assert_denied(&answer, "an ungranted POST");
    assert!(log.contains("refused an outbound request"), "{log}");

    // A granted port nobody listens on: the connection's own error.
    let closed = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let granted = load(&[&format!("http://127.0.0.1:{closed}")]);
    let (answer, _) = post(granted, format!("http://127.0.0.1:{closed}/upload")).await;
    let error = answer["error"].as_str().unwrap_or_default();
    assert!(error.contains("ConnectionRefused"), "{answer}");
}

#[tokio::test]
async fn http_reaches_exactly_what_is_granted() {
    let port = http_server("hello from the server");
    let url = format!("http://127.0.0.1:{port}/path?q=1");

    let (answer, log) = get(&load(&[]), &url).await;
    assert_denied(&answer, "");
    assert!(
        log.contains(&format!(
            "refused an outbound request to http://127.0.0.1:{port}: no allowed_outbound_hosts grant matches; allow it with --allow-outbound http://127.0.0.1:{port}"
        )),
        "{log}"
    );

    let granted = load(&[&format!("http://127.0.0.1:{port}")]);
    let (answer, _) = get(&granted, &url).await;
    assert_eq!(answer["status"], 200, "{answer}");
    assert_eq!(answer["body"], "hello from the server");

    // Another port, another host, another scheme: refused.
    let other_port = http_server("other");
    for refused in [
        format!("http://127.0.0.1:{other_port}/"),
        format!("http://localhost:{port}/"),
        format!("https://127.0.0.1:{port}/"),
    ] {
        let (answer, _) = get(&granted, &refused).await;
        assert_denied(&answer, &refused);
    }

    // A wildcard port on a named address reaches both servers.
    let wildcard = load(&["http://127.0.0.1:*"]);
    for reachable in [port, other_port] {
        let (answer, _) = get(&wildcard, &format!("http://127.0.0.1:{reachable}/")).await;
        assert_eq!(answer["status"], 200, "{answer}");
    }
    // A wildcard host never reaches the local network by itself.
    let (answer, log) = get(&load(&["http://*:*"]), &url).await;
    assert_denied(&answer, "");
    assert!(log.contains("local-network address"), "{log}");
    // localhost by name, granted by name.
    let (answer, _) = get(
        &load(&[&format!("http://localhost:{port}")]),
        &format!("http://localhost:{port}/"),
    )
    .await;
    assert_eq!(answer["status"], 200, "{answer}");
}

#[tokio::test]
async fn javascript_fetch_reaches_granted_hosts_and_catches_refusals() {
    let port = http_server("hello, fetch");
    let url = format!("http://127.0.0.1:{port}/");
    let event = serde_json::json!({ "url": url }).to_string();
    let load_js = |grants: &[&str]| {
        let mut config = FunctionConfig::new("fetch", guest("host/tests/guests/js/fetch"));
        config.allowed_outbound_hosts = AllowedHosts::parse(grants).unwrap();
        crate::common::host().load(config).unwrap()
    };

    let refused = invoke(&load_js(&[]), &event).await;
    let answer = json(refused.payload());
    assert!(
        answer["error"].as_str().unwrap().contains("TypeError"),
        "{answer}"
    );
    assert!(
        refused.log.contains("refused an outbound request"),
        "{}",
        refused.log
    );

    let granted = invoke(&load_js(&[&format!("http://127.0.0.1:{port}")]), &event).await;
    let answer = json(granted.payload());
    assert_eq!(answer["status"], 200, "{answer}");
    assert_eq!(answer["body"], "hello, fetch");
}

#[tokio::test]
async fn https_verifies_against_the_extra_ca_and_refuses_others() {
    let trusted = pki("wasm-lambda test CA");
    let stranger = pki("another CA");
    let host = host_with_ca(&trusted.ca_pem);
    let good = https_server(&trusted, "secret over TLS");
    let bad = https_server(&stranger, "should not arrive");
    let function = load_with(&host, &["https://localhost:*"], |_| {});

    let (answer, _) = get(&function, &format!("https://localhost:{good}/")).await;
    assert_eq!(answer["status"], 200, "{answer}");
    assert_eq!(answer["body"], "secret over TLS");

    let (answer, log) = get(&function, &format!("https://localhost:{bad}/")).await;
    assert!(answer["error"].is_string(), "{answer}");
    assert!(answer.get("body").is_none(), "{answer}");
    assert!(log.contains("TLS with localhost"), "{log}");

    // Without the extra CA, the system's roots do not know the test CA.
    let (answer, _) = get(
        &load(&["https://localhost:*"]),
        &format!("https://localhost:{good}/"),
    )
    .await;
    assert!(answer["error"].is_string(), "{answer}");
}

#[tokio::test]
async fn a_server_that_never_answers_ends_in_the_timeout() {
    let port = silent_server();
    let function = load_with(
        crate::common::host(),
        &[&format!("http://127.0.0.1:{port}")],
        |config| config.timeout = Duration::from_millis(800),
    );
    let invocation = invoke(
        &function,
        &serde_json::json!({ "action": "http_get", "url": format!("http://127.0.0.1:{port}/") })
            .to_string(),
    )
    .await;
    assert_eq!(
        invocation.function_error().map(|e| e.error_type.as_str()),
        Some("Sandbox.Timedout"),
        "{}",
        invocation.payload()
    );
}

#[tokio::test]
async fn raw_tcp_needs_a_tcp_grant() {
    let port = pong_server();
    let address = format!("127.0.0.1:{port}");
    let event = serde_json::json!({ "action": "tcp", "address": address }).to_string();

    let refused = invoke(&load(&[]), &event).await;
    let answer = json(refused.payload());
    assert!(answer["error"].is_string(), "{answer}");

    let refused = invoke(&load(&[&format!("http://127.0.0.1:{port}")]), &event).await;
    let answer = json(refused.payload());
    assert!(
        answer["error"].is_string(),
        "an http grant is not a tcp grant: {answer}"
    );

    let granted = invoke(&load(&[&format!("tcp://127.0.0.1:{port}")]), &event).await;
    let answer = json(granted.payload());
    assert_eq!(answer["reply"], "pong", "{answer}\n{}", granted.log);

    let other = invoke(
        &load(&[&format!("tcp://127.0.0.1:{}", port.wrapping_add(1).max(1))]),
        &event,
    )
    .await;
    let answer = json(other.payload());
    assert!(answer["error"].is_string(), "{answer}");
    assert!(
        other.log.contains("refused a tcp connection"),
        "{}",
        other.log
    );
}

#[tokio::test]
async fn tmp_is_private_to_each_sandbox() {
    let function = load(&[]);
    let written = invoke(&function, r#"{"action":"write_tmp","bytes":3000000}"#).await;
    let answer = json(written.payload());
    assert_eq!(answer["read_back"], 3_000_000, "{answer}");
    let listed = invoke(&function, r#"{"action":"list_tmp"}"#).await;
    assert_eq!(
        json(listed.payload()),
        serde_json::json!([]),
        "the next sandbox's /tmp is empty"
    );
}

#[tokio::test]
async fn a_write_past_the_ephemeral_storage_fails_in_the_guest() {
    let function = load_with(crate::common::host(), &[], |config| {
        config.ephemeral_storage_mb = 512;
        config.timeout = Duration::from_secs(120);
    });
    // 600 MB into a 512 MB /tmp.
    let written = invoke(&function, r#"{"action":"write_tmp","bytes":629145600}"#).await;
    let answer = json(written.payload());
    let error = answer["error"]
        .as_str()
        .unwrap_or_else(|| panic!("{answer}"));
    assert!(!error.is_empty(), "{answer}");
    // The same write under a 1 GB cap works: the cap was the cause.
    let larger = load_with(crate::common::host(), &[], |config| {
        config.ephemeral_storage_mb = 1024;
        config.timeout = Duration::from_secs(120);
    });
    let written = invoke(&larger, r#"{"action":"write_tmp","bytes":629145600}"#).await;
    assert_eq!(json(written.payload())["read_back"], 629_145_600u64);
}

/// Fills a 512 MB `/tmp` one way (`fill_tmp` in the net guest) and returns
/// how many steps succeeded; the last one must have been refused for space.
async fn fill_tmp(how: &str, count: u64, depth: u64) -> u64 {
    let function = load_with(crate::common::host(), &[], |config| {
        config.ephemeral_storage_mb = 512;
        config.timeout = Duration::from_secs(300);
    });
    let event = serde_json::json!({
        "action": "fill_tmp", "how": how, "count": count, "depth": depth,
    });
    let answer = json(invoke(&function, &event.to_string()).await.payload());
    assert!(
        answer["error"]
            .as_str()
            .is_some_and(|error| error.contains("insufficient-space")),
        "{how}: {answer}"
    );
    answer["done"].as_u64().unwrap()
}

/// The cap a 512 MB `/tmp` holds, in 4 KiB blocks.
const TMP_BLOCKS: u64 = 512 * 1024 * 1024 / 4096;

/// One-byte writes 4 KiB apart each take a block: charged by bytes, they
/// put 664 MB on disk under a 512 MB cap.
#[tokio::test]
async fn tmp_cap_counts_blocks_not_bytes() {
    let done = fill_tmp("sparse", 2 * TMP_BLOCKS, 0).await;
    assert!(done <= TMP_BLOCKS, "{done} blocks written");
    assert!(done > TMP_BLOCKS * 3 / 4, "only {done} blocks written");
}

/// Each one-byte file takes a block: charged 512 bytes, they put 562 MB on
/// disk under a 512 MB cap.
#[tokio::test]
async fn tmp_cap_charges_a_block_per_file() {
    let done = fill_tmp("tiny_files", 2 * TMP_BLOCKS, 0).await;
    assert!(done <= TMP_BLOCKS, "{done} files made");
    assert!(done > TMP_BLOCKS * 3 / 4, "only {done} files made");
}

/// Symbolic links take an entry each: they were never charged.
#[tokio::test]
async fn tmp_cap_charges_symbolic_links() {
    let done = fill_tmp("symlinks", 2 * TMP_BLOCKS, 0).await;
    assert!(done <= TMP_BLOCKS, "{done} links made");
    assert!(done > TMP_BLOCKS * 3 / 4, "only {done} links made");
}

/// 2,100 nested folders put the bottom past the path limit: the recount
/// walked by path, read nothing there and lowered the total, and 708 MB
/// went to disk under a 512 MB cap. It walks through folder handles now.
#[tokio::test]
async fn tmp_cap_holds_past_the_path_limit() {
    let done = fill_tmp("deep", 700, 2_100).await;
    assert!(done < 512, "{done} MiB written at the bottom");
    assert!(done > 400, "only {done} MiB written at the bottom");
}

#[tokio::test]
async fn mounts_are_readable_and_nothing_else_is() {
    let layer = tempfile::tempdir().unwrap();
    std::fs::write(layer.path().join("data.txt"), "from the layer").unwrap();
    let function = load_with(crate::common::host(), &[], |config| {
        config.mounts = vec![Mount {
            source: layer.path().to_path_buf(),
            destination: "/opt".into(),
        }];
    });
    let read = invoke(
        &function,
        r#"{"action":"read_file","path":"/opt/data.txt"}"#,
    )
    .await;
    assert_eq!(json(read.payload())["content"], "from the layer");
    for outside in [
        "/etc/passwd",
        "/opt/../etc/passwd",
        "/var/task/x",
        "/proc/self/environ",
    ] {
        let read = invoke(
            &function,
            &serde_json::json!({ "action": "read_file", "path": outside }).to_string(),
        )
        .await;
        assert!(
            json(read.payload())["error"].is_string(),
            "{outside}: {}",
            read.payload()
        );
    }
    // Without the mount, the same path is not there.
    let unmounted = load(&[]);
    let read = invoke(
        &unmounted,
        r#"{"action":"read_file","path":"/opt/data.txt"}"#,
    )
    .await;
    assert!(json(read.payload())["error"].is_string());
}

/// A mounted folder removed after the load: the sandbox cannot be made,
/// which is the host's failure (`ServiceException`, 500), not the
/// handler's; before, it was `Runtime.ExitError`, blamed on the function.
#[tokio::test]
async fn a_mount_gone_after_load_is_the_hosts_failure() {
    let layer = tempfile::tempdir().unwrap();
    let function = load_with(crate::common::host(), &[], |config| {
        config.mounts = vec![Mount {
            source: layer.path().to_path_buf(),
            destination: "/opt".into(),
        }];
    });
    invoke(&function, r#"{"action":"list_tmp"}"#).await;
    drop(layer);
    match function
        .invoke(wasm_lambda::InvokeRequest::new(r#"{"action":"list_tmp"}"#))
        .await
    {
        Err(error @ wasm_lambda::InvokeError::Service(_)) => {
            assert_eq!(error.error_code(), "ServiceException");
            assert!(error.to_string().contains("could not be made"), "{error}");
        }
        Err(other) => panic!("another error: {other}"),
        Ok(invocation) => panic!("the invocation ran: {}", invocation.payload()),
    }
}

#[tokio::test]
async fn credentials_are_present_only_when_granted() {
    let without = invoke(&load(&[]), r#"{"action":"env"}"#).await;
    let env = json(without.payload());
    assert!(env.get("AWS_ACCESS_KEY_ID").is_none(), "{env}");

    let function = load_with(crate::common::host(), &[], |config| {
        config.aws_credentials = AwsCredentials::from_env(|name| match name {
            "AWS_ACCESS_KEY_ID" => Some("AKIDTEST"),
            "AWS_SECRET_ACCESS_KEY" => Some("secret"),
            "AWS_SESSION_TOKEN" => Some("token"),
            _ => None,
        });
    });
    let with = invoke(&function, r#"{"action":"env"}"#).await;
    let env = json(with.payload());
    assert_eq!(env["AWS_ACCESS_KEY_ID"], "AKIDTEST");
    assert_eq!(env["AWS_SECRET_ACCESS_KEY"], "secret");
    assert_eq!(env["AWS_SESSION_TOKEN"], "token");
}

#[test]
fn bad_grants_are_load_errors_naming_the_function_and_the_pattern() {
    for bad in ["http//x", "https://*.:", "http://x:70000"] {
        let output = crate::common::wasm_lambda(
            &[
                "invoke",
                crate::common::guest("examples/rust/hello")
                    .to_str()
                    .unwrap(),
                "--function-name",
                "greeter",
                "--allow-outbound",
                bad,
            ],
            Some("{}"),
        );
        let stderr = crate::common::text(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{stderr}");
        assert!(stderr.contains("function greeter"), "{stderr}");
        assert!(stderr.contains(&format!("{bad:?}")), "{stderr}");
    }
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("functions.toml");
    std::fs::write(
        &config,
        format!(
            "[[function]]\nname = \"caller\"\ncomponent = {}\nallowed_outbound_hosts = [\"https://*.:\"]\n",
            crate::server::toml_path(crate::common::guest("examples/rust/hello"))
        ),
    )
    .unwrap();
    let output = crate::common::wasm_lambda(
        &[
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--config",
            config.to_str().unwrap(),
        ],
        None,
    );
    let stderr = crate::common::text(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("function caller"), "{stderr}");
    assert!(stderr.contains("\"https://*.:\""), "{stderr}");
}

/// The Python HTTP clients test guest (`host/tests/guests/python/net`).
fn python_net_guest() -> &'static PathBuf {
    guest("host/tests/guests/python/net")
}

#[tokio::test]
async fn python_http_clients_reach_granted_hosts_and_catch_refusals() {
    let trusted = pki("wasm-lambda Python test CA");
    let host = host_with_ca(&trusted.ca_pem);
    let plain = http_server("plain hello");
    let secure = https_server(&trusted, "tls hello");
    let mut config = FunctionConfig::new("python-net", python_net_guest());
    config.allowed_outbound_hosts = AllowedHosts::parse([
        format!("http://127.0.0.1:{plain}"),
        format!("https://localhost:{secure}"),
    ])
    .unwrap();
    let function = host.load(config).unwrap();
    let call = |client: &str, url: String| {
        let event = serde_json::json!({ "client": client, "url": url }).to_string();
        let function = function.clone();
        async move {
            let invocation = invoke(&function, &event).await;
            (json(invocation.payload()), invocation.log)
        }
    };

    for client in ["requests", "urllib", "http.client"] {
        let (answer, log) = call(client, format!("http://127.0.0.1:{plain}/a")).await;
        assert_eq!(answer["status"], 200, "{client}: {answer}\n{log}");
        assert_eq!(answer["body"], "plain hello", "{client}");
        // HTTPS: the host does TLS, verifying against the extra CA.
        let (answer, log) = call(client, format!("https://localhost:{secure}/b")).await;
        assert_eq!(answer["status"], 200, "{client}: {answer}\n{log}");
        assert_eq!(answer["body"], "tls hello", "{client}");
    }

    // A host that is not granted: each library raises what it raises when a
    // connection is refused, and the handler catches it.
    let refused = http_server("never");
    for (client, error) in [
        ("requests", "ConnectionError"),
        ("urllib", "URLError"),
        ("http.client", "RequestRefused"),
        ("boto3", "EndpointConnectionError"),
    ] {
        let (answer, log) = call(client, format!("http://127.0.0.1:{refused}/")).await;
        assert_eq!(answer["error"], error, "{client}: {answer}");
        assert!(
            log.contains(&format!("--allow-outbound http://127.0.0.1:{refused}")),
            "{client}: {log}"
        );
    }
}
