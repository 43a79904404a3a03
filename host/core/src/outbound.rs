//! Outbound traffic of a sandbox: `wasi:http` requests and `wasi:sockets`
//! connections, each checked against the function's [`AllowedHosts`].
//!
//! HTTP requests are sent by the host: it resolves the name, checks the
//! address it is about to connect to (so a name that resolves to the local
//! network needs a grant naming it), connects, and for `https` performs TLS,
//! verifying the server's certificate against the system's trust store plus
//! the host's extra CA file, if any. Verification is never skipped. Every
//! wait is bounded by the invocation's deadline: when it passes, the
//! invocation ends with `Sandbox.Timedout` and dropping the sandbox closes
//! its connections. At most `max_connections` requests of one sandbox are in
//! flight at once; more wait for one to finish.
//!
//! A refusal is an error the guest can handle (`HttpRequestDenied` for
//! `wasi:http`, access denied for sockets), and one line in the function's
//! log says what was refused and which setting would allow it.

use std::net::{IpAddr, SocketAddr};
use std::path::Path;
use std::pin::Pin;
use std::sync::Arc;

use anyhow::{Context as _, Result};
use http_body_util::BodyExt as _;
use tokio::net::TcpStream;
use tokio::sync::Semaphore;
use wasmtime_wasi::sockets::SocketAddrUse;
use wasmtime_wasi_http::io::TokioIo;
use wasmtime_wasi_http::{Error, RequestOptions, WasiBody, WasiHttpHooks};

use crate::grants::{AllowedHosts, default_port};
use crate::logs::LogPipe;

/// How many outbound requests one invocation may have in flight by default.
pub const DEFAULT_MAX_OUTBOUND_CONNECTIONS: usize = 16;

/// The TLS client settings every sandbox of a host shares: the system's
/// trust store plus an optional extra CA file (PEM).
pub(crate) fn tls_config(extra_ca_file: Option<&Path>) -> Result<Arc<rustls::ClientConfig>> {
    let mut roots = rustls::RootCertStore::empty();
    // Unreadable system certificates are skipped: one bad file in
    // /etc/ssl/certs must not take every other root with it.
    let native = rustls_native_certs::load_native_certs();
    for certificate in native.certs {
        let _ = roots.add(certificate);
    }
    if let Some(path) = extra_ca_file {
        use rustls::pki_types::pem::PemObject as _;
        let certificates = rustls::pki_types::CertificateDer::pem_file_iter(path)
            .with_context(|| format!("failed to read the CA file {}", path.display()))?;
        let mut added = 0;
        for certificate in certificates {
            let certificate = certificate
                .with_context(|| format!("the CA file {} is not PEM", path.display()))?;
            roots
                .add(certificate)
                .with_context(|| format!("a certificate in {} is not a CA", path.display()))?;
            added += 1;
        }
        if added == 0 {
            anyhow::bail!("the CA file {} holds no certificate", path.display());
        }
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .context("TLS setup failed")?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(Arc::new(config))
}

/// Where the AWS SDKs of a function with credentials fetch them
/// (`AWS_CONTAINER_CREDENTIALS_FULL_URI`), as Lambda's SnapStart functions
/// do: the host answers it itself (below), with the credentials of
/// the sandbox asking, and nothing leaves the sandbox. A client made in the
/// init phase, which runs without credentials, gets its credentials there
/// at its first call in a sandbox.
pub(crate) const CREDENTIALS_URI: &str = "http://127.0.0.1:9001/2021-04-23/credentials";

/// The variable naming [`CREDENTIALS_URI`].
pub(crate) const CREDENTIALS_URI_VARIABLE: &str = "AWS_CONTAINER_CREDENTIALS_FULL_URI";

/// The outbound side of one sandbox.
pub(crate) struct Outbound {
    pub(crate) grants: Arc<AllowedHosts>,
    pub(crate) tls: Arc<rustls::ClientConfig>,
    pub(crate) connections: Arc<Semaphore>,
    pub(crate) log: LogPipe,
    /// What the credentials endpoint answers this sandbox; `None` when the
    /// function has no credentials (the endpoint is then not there).
    pub(crate) credentials: Option<Arc<Credentials>>,
}

/// The execution role's credentials as a sandbox's environment holds them;
/// all empty in the init phase, which runs without them.
pub(crate) struct Credentials {
    access_key_id: String,
    secret_access_key: String,
    session_token: String,
}

impl Credentials {
    /// The credentials endpoint's answers for a sandbox with `environment`,
    /// when the function has credentials (it names the endpoint).
    pub(crate) fn for_environment(environment: &[(String, String)]) -> Option<Arc<Self>> {
        let value = |wanted: &str| {
            environment
                .iter()
                .find(|(name, _)| name == wanted)
                .map(|(_, value)| value.clone())
        };
        (value(CREDENTIALS_URI_VARIABLE).as_deref() == Some(CREDENTIALS_URI)).then(|| {
            Arc::new(Credentials {
                access_key_id: value("AWS_ACCESS_KEY_ID").unwrap_or_default(),
                secret_access_key: value("AWS_SECRET_ACCESS_KEY").unwrap_or_default(),
                session_token: value("AWS_SESSION_TOKEN").unwrap_or_default(),
            })
        })
    }

    /// The container credentials document the AWS SDKs read. In the init
    /// phase it holds placeholders that expired long ago: a client made
    /// there is made (its SDK fetches at once), and fetches again at its
    /// first call, which in a sandbox gets that sandbox's credentials. A
    /// call made in the init phase itself fails (the SDK finds the fetched
    /// credentials still expired), so that init phase is not snapshotted and
    /// runs in each sandbox, with credentials, instead.
    fn document(&self) -> String {
        let (access_key_id, secret_access_key, expiration) = if self.access_key_id.is_empty() {
            (
                "init-phase-no-credentials",
                "init-phase-no-credentials",
                "1970-01-01T00:00:00Z".to_string(),
            )
        } else {
            // The sandbox's credentials carry no expiry of their own; an
            // hour keeps the SDKs from fetching again within an invocation.
            let expiration = std::time::SystemTime::now() + std::time::Duration::from_secs(3600);
            (
                self.access_key_id.as_str(),
                self.secret_access_key.as_str(),
                humantime::format_rfc3339_seconds(expiration).to_string(),
            )
        };
        serde_json::json!({
            "AccessKeyId": access_key_id,
            "SecretAccessKey": secret_access_key,
            "Token": self.session_token,
            "Expiration": expiration,
        })
        .to_string()
    }
}

/// Whether `uri` is the credentials endpoint ([`CREDENTIALS_URI`]).
fn is_credentials_endpoint(uri: &http::Uri) -> bool {
    let endpoint: http::Uri = CREDENTIALS_URI.parse().expect("the endpoint is a URI");
    uri.scheme_str() == endpoint.scheme_str()
        && uri.authority() == endpoint.authority()
        && uri.path() == endpoint.path()
}

/// The credentials endpoint's answer, made by the host.
fn credentials_response(credentials: &Credentials) -> Response {
    let body = http_body_util::Full::new(bytes::Bytes::from(credentials.document()))
        .map_err(|never: std::convert::Infallible| match never {})
        .boxed_unsync();
    let mut response = http::Response::new(body);
    response.headers_mut().insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static("application/json"),
    );
    (response, Box::new(async { Ok(()) }))
}

/// A response and the rest of its connection's work.
type Response = (
    http::Response<WasiBody>,
    Box<dyn Future<Output = Result<(), Error>> + Send>,
);

/// The setting a refused destination would need, for the log line.
fn suggestion(scheme: &str, host: &str, port: u16) -> String {
    let grant = match default_port(scheme) {
        Some(default) if default == port => format!("{scheme}://{host}"),
        _ => format!("{scheme}://{host}:{port}"),
    };
    format!("allow it with --allow-outbound {grant} or allowed_outbound_hosts = [\"{grant}\"]")
}

fn refuse(log: &LogPipe, what: &str, why: &str, scheme: &str, host: &str, port: u16) {
    log.write_host(
        format!(
            "wasm-lambda: refused {what}: {why}; {}\n",
            suggestion(scheme, host, port)
        )
        .as_bytes(),
    );
}

type ResponseFuture = Box<
    dyn Future<
            Output = Result<
                (
                    http::Response<WasiBody>,
                    Box<dyn Future<Output = Result<(), Error>> + Send>,
                ),
                Error,
            >,
        > + Send,
>;

impl WasiHttpHooks for Outbound {
    fn send_request(
        &mut self,
        request: http::Request<WasiBody>,
        options: Option<RequestOptions>,
        _response_errors: Box<dyn Future<Output = Result<(), Error>> + Send>,
    ) -> ResponseFuture {
        let grants = self.grants.clone();
        let tls = self.tls.clone();
        let connections = self.connections.clone();
        let log = self.log.clone();
        if let Some(credentials) = &self.credentials
            && request.method() == http::Method::GET
            && is_credentials_endpoint(request.uri())
        {
            let response = credentials_response(credentials);
            return Box::new(async move {
                // The guest finishes its (empty) body after sending: take
                // it whole first, as a server would.
                discard(request.into_body()).await;
                Ok(response)
            });
        }
        Box::new(async move { send(request, options, &grants, tls, connections, &log).await })
    }
}

/// Where a request goes: scheme, host as written, port.
fn destination(uri: &http::Uri) -> Result<(String, String, u16), Error> {
    let scheme = uri.scheme_str().unwrap_or("https").to_ascii_lowercase();
    let authority = uri.authority().ok_or(Error::HttpRequestUriInvalid)?;
    let host = authority.host().to_string();
    let port = match authority.port_u16() {
        Some(port) => port,
        None => default_port(&scheme).ok_or(Error::HttpRequestUriInvalid)?,
    };
    Ok((scheme, host, port))
}

async fn send(
    mut request: http::Request<WasiBody>,
    options: Option<RequestOptions>,
    grants: &AllowedHosts,
    tls: Arc<rustls::ClientConfig>,
    connections: Arc<Semaphore>,
    log: &LogPipe,
) -> Result<
    (
        http::Response<WasiBody>,
        Box<dyn Future<Output = Result<(), Error>> + Send>,
    ),
    Error,
> {
    // HTTP/1.1 sends the path only; the Host header already names the host.
    let path = request
        .uri()
        .path_and_query()
        .map_or("/", |path| path.as_str())
        .parse::<http::Uri>();
    let opened = match path {
        Ok(path) => open(request.uri(), options, grants, tls, connections, log)
            .await
            .map(|opened| (opened, path)),
        Err(_) => Err(Error::HttpRequestUriInvalid),
    };
    let ((connection, permit), path) = match opened {
        Ok(opened) => opened,
        Err(error) => {
            discard(request.into_body()).await;
            return Err(error);
        }
    };
    *request.uri_mut() = path;
    match connection {
        Connection::Plain(stream) => exchange(stream, request, permit).await,
        Connection::Tls(stream) => exchange(*stream, request, permit).await,
    }
}

/// How long a refused or failed request's body may pause before the host
/// stops waiting for the rest of it ([`discard`]).
const DISCARD_IDLE: std::time::Duration = std::time::Duration::from_secs(1);

/// Takes what the guest writes of a request's body until it finishes it,
/// pauses for [`DISCARD_IDLE`], or drops it; keeps none of it.
///
/// A request that is refused or cannot be sent fails in its own task,
/// while the guest may still be writing the body. Dropping the body at once
/// would fail those writes first, and the guest's client would report a
/// closed stream instead of the reason (`HttpRequestDenied`, a refused
/// connection). A server that answers early reads the body too. Enforced by
/// `capabilities::a_refused_request_with_a_large_body_is_reported_as_refused`.
async fn discard(mut body: WasiBody) {
    while let Ok(Some(Ok(_))) = tokio::time::timeout(DISCARD_IDLE, body.frame()).await {}
}

/// A connection ready for one exchange.
enum Connection {
    Plain(TcpStream),
    Tls(Box<tokio_rustls::client::TlsStream<TcpStream>>),
}

/// Checks the request's destination against the grants, resolves it,
/// checks the address, takes a connection permit and connects (with TLS
/// for `https`).
async fn open(
    uri: &http::Uri,
    options: Option<RequestOptions>,
    grants: &AllowedHosts,
    tls: Arc<rustls::ClientConfig>,
    connections: Arc<Semaphore>,
    log: &LogPipe,
) -> Result<(Connection, tokio::sync::OwnedSemaphorePermit), Error> {
    let (scheme, host, port) = destination(uri)?;
    let what = format!("an outbound request to {scheme}://{host}:{port}");
    if !grants.allows_name(&scheme, &host, port) {
        refuse(
            log,
            &what,
            "no allowed_outbound_hosts grant matches",
            &scheme,
            &host,
            port,
        );
        return Err(Error::HttpRequestDenied);
    }
    let lookup_host = host
        .trim_start_matches('[')
        .trim_end_matches(']')
        .to_string();
    let addresses: Vec<SocketAddr> = tokio::net::lookup_host((lookup_host.as_str(), port))
        .await
        .map_err(|_| Error::DnsError {
            rcode: Some("address not available".into()),
            info_code: None,
        })?
        .collect();
    // The address connected to is the one checked: a name whose answer
    // points into the local network is refused unless granted by name.
    let Some(address) = addresses
        .iter()
        .copied()
        .find(|address| grants.allows_address(&scheme, &host, address.ip(), port))
    else {
        refuse(
            log,
            &what,
            &format!(
                "it resolves to a local-network address ({}) that no grant names",
                addresses
                    .first()
                    .map_or_else(|| "none".to_string(), |a| a.ip().to_string())
            ),
            &scheme,
            &host,
            port,
        );
        return Err(Error::HttpRequestDenied);
    };
    let permit = connections
        .acquire_owned()
        .await
        .map_err(|_| Error::ConnectionLimitReached)?;
    let connect_timeout = options.and_then(|o| o.connect_timeout);
    let connect = TcpStream::connect(address);
    let stream = match connect_timeout {
        Some(limit) => tokio::time::timeout(limit, connect)
            .await
            .map_err(|_| Error::ConnectionTimeout)?,
        None => connect.await,
    }
    .map_err(Error::Connect)?;
    if scheme != "https" {
        return Ok((Connection::Plain(stream), permit));
    }
    let name = rustls::pki_types::ServerName::try_from(lookup_host)
        .map_err(|_| Error::HttpRequestUriInvalid)?;
    let stream = tokio_rustls::TlsConnector::from(tls)
        .connect(name, stream)
        .await
        .map_err(|error| {
            log.write_host(
                format!("wasm-lambda: TLS with {host}:{port} failed: {error}\n").as_bytes(),
            );
            Error::TlsCertificateError
        })?;
    Ok((Connection::Tls(Box::new(stream)), permit))
}

/// One HTTP/1.1 exchange on a connected stream: waits for the response
/// while driving the connection, then hands back the response and the rest
/// of the connection's work, which holds the connection permit.
async fn exchange<S>(
    stream: S,
    request: http::Request<WasiBody>,
    permit: tokio::sync::OwnedSemaphorePermit,
) -> Result<
    (
        http::Response<WasiBody>,
        Box<dyn Future<Output = Result<(), Error>> + Send>,
    ),
    Error,
>
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Send + Unpin + 'static,
{
    let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .map_err(Error::from)?;
    let mut connection: Pin<Box<_>> = Box::pin(connection);
    let mut connection_done = false;
    let response = {
        let response = sender.send_request(request);
        tokio::pin!(response);
        loop {
            tokio::select! {
                response = &mut response => break response.map_err(Error::from)?,
                ended = &mut connection, if !connection_done => {
                    connection_done = true;
                    ended.map_err(Error::from)?;
                }
            }
        }
    };
    let rest = async move {
        let _permit = permit;
        if !connection_done {
            connection.await.map_err(Error::from)?;
        }
        Ok(())
    };
    Ok((
        response.map(|body| body.map_err(Error::from).boxed_unsync()),
        Box::new(rest),
    ))
}

/// The socket check of a sandbox: TCP and UDP by address, as granted.
/// Names in `tcp://` and `udp://` grants are resolved at the check, so a
/// grant for `tcp://db.example.com:5432` admits the addresses that name has
/// now. Binding (which every client does, implicitly) is allowed once the
/// protocol is granted at all; listening and accepting are never allowed.
pub(crate) fn socket_check(
    grants: Arc<AllowedHosts>,
    log: LogPipe,
) -> impl Fn(SocketAddr, SocketAddrUse) -> Pin<Box<dyn Future<Output = bool> + Send + Sync>>
+ Send
+ Sync
+ 'static {
    move |address, usage| {
        let grants = grants.clone();
        let log = log.clone();
        Box::pin(async move {
            let (scheme, connecting) = match usage {
                SocketAddrUse::TcpConnect => ("tcp", true),
                SocketAddrUse::TcpBind => ("tcp", false),
                SocketAddrUse::UdpBind => ("udp", false),
                SocketAddrUse::UdpSend => ("udp", true),
                _ => return false,
            };
            if !connecting {
                return grants.any_for_scheme(scheme);
            }
            let ip = address.ip();
            let host = match ip {
                IpAddr::V4(v4) => v4.to_string(),
                IpAddr::V6(v6) => format!("[{v6}]"),
            };
            if grants.allows_address(scheme, &host, ip, address.port()) {
                return true;
            }
            for name in grants.names_for(scheme, address.port()) {
                let Ok(resolved) = tokio::net::lookup_host((name.as_str(), address.port())).await
                else {
                    continue;
                };
                if resolved
                    .map(|candidate| candidate.ip())
                    .any(|candidate| candidate == ip)
                    && grants.allows_address(scheme, &name, ip, address.port())
                {
                    return true;
                }
            }
            refuse(
                &log,
                &format!("a {scheme} connection to {address}"),
                "no allowed_outbound_hosts grant matches",
                scheme,
                &host,
                address.port(),
            );
            false
        })
    }
}
