//! Requests the server itself makes to AWS services (S3 for `Code.S3Bucket`,
//! SQS for event source mappings): signed with SigV4 and the credentials of
//! the server's environment, as the AWS SDKs sign them.

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
