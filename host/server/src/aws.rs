//! Requests the server itself makes to AWS services (S3 for `Code.S3Bucket`,
//! SQS, Kinesis and DynamoDB Streams for event source mappings, SQS and SNS
//! for their on-failure destinations): signed with SigV4 and the credentials
//! of the server's environment, as the AWS SDKs sign them, over HTTP or
//! HTTPS.

use std::sync::{Arc, OnceLock};
use std::time::Duration;

/// An HTTP client for AWS endpoints whose calls may take `timeout`: plain
/// HTTP for local endpoints, HTTPS with the system's trust store (as the
/// AWS SDKs and the core's outbound requests trust it) for AWS's own.
/// Status codes are answers, not errors.
pub(crate) fn agent(timeout: Duration) -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(timeout))
        .tls_config(tls().clone())
        .build()
        .new_agent()
}

/// The TLS settings every agent shares; the system's certificates are read
/// once.
fn tls() -> &'static ureq::tls::TlsConfig {
    static TLS: OnceLock<ureq::tls::TlsConfig> = OnceLock::new();
    TLS.get_or_init(|| {
        // Unreadable system certificates are skipped, as the core does.
        let roots: Vec<ureq::tls::Certificate<'static>> = rustls_native_certs::load_native_certs()
            .certs
            .iter()
            .map(|certificate| ureq::tls::Certificate::from_der(certificate.as_ref()).to_owned())
            .collect();
        ureq::tls::TlsConfig::builder()
            .provider(ureq::tls::TlsProvider::Rustls)
            .root_certs(ureq::tls::RootCerts::new_with_certs(&roots))
            .unversioned_rustls_crypto_provider(Arc::new(rustls::crypto::ring::default_provider()))
            .build()
    })
}

/// How a service wants its requests signed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Rules {
    /// S3's: the path is encoded once and never normalised, and the
    /// payload's hash is sent as a header.
    S3,
    /// Every other service's defaults.
    Standard,
}

/// Signs `request` (whose body is `body`) for `service` in `region`, with
/// `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY` and `AWS_SESSION_TOKEN` from
/// the environment, or the placeholder `test`/`test` that local AWS servers
/// take: an unsigned request counts as anonymous there, and private
/// resources refuse it.
pub(crate) fn sign<B>(
    request: &mut http::Request<B>,
    body: &[u8],
    region: &str,
    service: &str,
    rules: Rules,
) -> Result<(), String> {
    use aws_sigv4::http_request::{
        PayloadChecksumKind, PercentEncodingMode, SignableBody, SignableRequest, SigningSettings,
        UriPathNormalizationMode,
    };
    let variable = |name: &str| std::env::var(name).ok().filter(|value| !value.is_empty());
    let identity = aws_credential_types::Credentials::new(
        variable("AWS_ACCESS_KEY_ID").unwrap_or_else(|| "test".into()),
        variable("AWS_SECRET_ACCESS_KEY").unwrap_or_else(|| "test".into()),
        variable("AWS_SESSION_TOKEN"),
        None,
        "environment",
    )
    .into();
    let mut settings = SigningSettings::default();
    if rules == Rules::S3 {
        settings.percent_encoding_mode = PercentEncodingMode::Single;
        settings.uri_path_normalization_mode = UriPathNormalizationMode::Disabled;
        settings.payload_checksum_kind = PayloadChecksumKind::XAmzSha256;
    }
    let failed = |error: &dyn std::fmt::Display| format!("Could not sign the request: {error}");
    let params = aws_sigv4::sign::v4::SigningParams::builder()
        .identity(&identity)
        .region(region)
        .name(service)
        .time(std::time::SystemTime::now())
        .settings(settings)
        .build()
        .map_err(|error| failed(&error))?
        .into();
    let uri = request.uri().to_string();
    let method = request.method().to_string();
    let headers: Vec<(String, String)> = request
        .headers()
        .iter()
        .filter_map(|(name, value)| Some((name.to_string(), value.to_str().ok()?.to_string())))
        .collect();
    let signable = SignableRequest::new(
        &method,
        &uri,
        headers
            .iter()
            .map(|(name, value)| (name.as_str(), value.as_str())),
        SignableBody::Bytes(body),
    )
    .map_err(|error| failed(&error))?;
    let (instructions, _) = aws_sigv4::http_request::sign(signable, &params)
        .map_err(|error| failed(&error))?
        .into_parts();
    instructions.apply_to_request_http1x(request);
    Ok(())
}

/// A service spoken in AWS's JSON protocol (`X-Amz-Target`), as SQS,
/// Kinesis and DynamoDB Streams are. Calls block: run them on tokio's
/// blocking threads.
pub(crate) struct JsonService {
    endpoint: String,
    region: String,
    /// The name in the signature's scope (`sqs`, `kinesis`, `dynamodb`).
    signing_name: &'static str,
    /// What goes before the operation in `X-Amz-Target`.
    target_prefix: &'static str,
    /// `application/x-amz-json-1.0` or `-1.1`.
    content_type: &'static str,
    /// The service's name in error messages.
    label: &'static str,
    agent: ureq::Agent,
}

impl JsonService {
    /// SQS at `endpoint`; calls may take `timeout` (a long poll's 20 s and more).
    pub(crate) fn sqs(endpoint: &str, region: &str, timeout: std::time::Duration) -> JsonService {
        JsonService::new(
            endpoint,
            region,
            ("sqs", "AmazonSQS", "application/x-amz-json-1.0", "SQS"),
            timeout,
        )
    }

    /// Kinesis Data Streams at `endpoint`.
    pub(crate) fn kinesis(
        endpoint: &str,
        region: &str,
        timeout: std::time::Duration,
    ) -> JsonService {
        JsonService::new(
            endpoint,
            region,
            (
                "kinesis",
                "Kinesis_20131202",
                "application/x-amz-json-1.1",
                "Kinesis",
            ),
            timeout,
        )
    }

    /// DynamoDB Streams at `endpoint`.
    pub(crate) fn dynamodb_streams(
        endpoint: &str,
        region: &str,
        timeout: std::time::Duration,
    ) -> JsonService {
        JsonService::new(
            endpoint,
            region,
            (
                "dynamodb",
                "DynamoDBStreams_20120810",
                "application/x-amz-json-1.0",
                "DynamoDB Streams",
            ),
            timeout,
        )
    }

    fn new(
        endpoint: &str,
        region: &str,
        (signing_name, target_prefix, content_type, label): (
            &'static str,
            &'static str,
            &'static str,
            &'static str,
        ),
        timeout: std::time::Duration,
    ) -> JsonService {
        let agent = agent(timeout);
        JsonService {
            endpoint: endpoint.trim_end_matches('/').to_string(),
            region: region.to_string(),
            signing_name,
            target_prefix,
            content_type,
            label,
            agent,
        }
    }

    /// One call: the answer's JSON, or the service's error as
    /// `Error occurred while OPERATION. <Service> Error Code: …. … Error Message: …`
    /// (the words Lambda uses for a poller's errors).
    pub(crate) fn call(
        &self,
        operation: &str,
        body: &serde_json::Value,
    ) -> Result<serde_json::Value, String> {
        let body = body.to_string();
        let failed = |why: String| format!("Error occurred while {operation}. {why}");
        let mut request = http::Request::post(format!("{}/", self.endpoint))
            .header("content-type", self.content_type)
            .header(
                "x-amz-target",
                format!("{}.{operation}", self.target_prefix),
            )
            .body(body.clone())
            .map_err(|error| {
                failed(format!(
                    "The endpoint {} is not a URL: {error}",
                    self.endpoint
                ))
            })?;
        sign(
            &mut request,
            body.as_bytes(),
            &self.region,
            self.signing_name,
            Rules::Standard,
        )
        .map_err(failed)?;
        let mut response = self
            .agent
            .run(request)
            .map_err(|error| failed(format!("Could not reach {}: {error}", self.endpoint)))?;
        let text = response
            .body_mut()
            .with_config()
            .limit(64 << 20)
            .read_to_string()
            .map_err(|error| failed(error.to_string()))?;
        let value: serde_json::Value = serde_json::from_str(&text).unwrap_or_default();
        if response.status().is_success() {
            return Ok(value);
        }
        let code = value["__type"]
            .as_str()
            .map(|kind| kind.rsplit('#').next().unwrap_or(kind).to_string())
            .unwrap_or_else(|| response.status().as_u16().to_string());
        let message = value["message"]
            .as_str()
            .or(value["Message"].as_str())
            .unwrap_or("no message");
        Err(failed(format!(
            "{label} Error Code: {code}. {label} Error Message: {message}",
            label = self.label
        )))
    }
}
