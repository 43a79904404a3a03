//! A client of the Lambda Runtime API (`$AWS_LAMBDA_RUNTIME_API/2018-06-01`).

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::{Context as _, Result, bail};
use ureq::Agent;
use ureq::http::HeaderMap;

use wasm_lambda_core::{CognitoIdentity, InvokeRequest};

/// The Runtime API's version prefix.
const VERSION: &str = "2018-06-01";
/// The largest event or response the Runtime API carries, with room for
/// the 6 MB payload limit.
const MAX_BODY_BYTES: u64 = 7 << 20;

/// Talks to the Runtime API at one base address.
pub struct RuntimeClient {
    agent: Agent,
    base: String,
}

/// One event from `GET /runtime/invocation/next`.
#[derive(Debug)]
pub struct NextEvent {
    /// The event's request id.
    pub request_id: String,
    /// The invocation it asks for.
    pub request: InvokeRequest,
}

impl RuntimeClient {
    /// `api` is `$AWS_LAMBDA_RUNTIME_API`: `host:port`, optionally with a
    /// path prefix (`127.0.0.1:9000/.rt`) or a scheme.
    pub fn new(api: &str) -> Self {
        let api = api.trim_end_matches('/');
        let base = if api.starts_with("http://") || api.starts_with("https://") {
            format!("{api}/{VERSION}")
        } else {
            format!("http://{api}/{VERSION}")
        };
        // Non-2xx answers are read, not raised; `next` long-polls with no timeout.
        let agent: Agent = Agent::config_builder()
            .http_status_as_error(false)
            // The Runtime API is local to the execution environment: never
            // through a proxy from the environment.
            .proxy(None)
            .build()
            .into();
        RuntimeClient { agent, base }
    }

    /// Waits for the next event. The outer error is the Runtime API failing
    /// (the runtime should exit); the inner one an event too malformed to
    /// run or answer (the runtime should log it and carry on).
    pub(crate) fn next(&self) -> Result<Result<NextEvent, String>> {
        let url = format!("{}/runtime/invocation/next", self.base);
        let mut response = self
            .agent
            .get(&url)
            .call()
            .with_context(|| format!("failed to reach the Runtime API at {url}"))?;
        let status = response.status();
        let body = response
            .body_mut()
            .with_config()
            .limit(MAX_BODY_BYTES)
            .read_to_vec()
            .context("failed to read the event")?;
        if !status.is_success() {
            bail!(
                "the Runtime API answered {status} to the next-event request: {}",
                String::from_utf8_lossy(&body)
            );
        }
        Ok(parse_event(response.headers(), body, SystemTime::now())
            .map_err(|error| error.to_string()))
    }

    /// Posts the handler's response.
    pub(crate) fn respond(&self, request_id: &str, payload: &str) -> Result<()> {
        let url = format!("{}/runtime/invocation/{request_id}/response", self.base);
        self.post(&url, None, payload)
    }

    /// Posts a function error.
    pub(crate) fn error(&self, request_id: &str, error_type: &str, body: &str) -> Result<()> {
        let url = format!("{}/runtime/invocation/{request_id}/error", self.base);
        self.post(&url, Some(error_type), body)
    }

    /// Posts a start-up failure.
    pub(crate) fn init_error(&self, error_type: &str, body: &str) -> Result<()> {
        let url = format!("{}/runtime/init/error", self.base);
        self.post(&url, Some(error_type), body)
    }

    fn post(&self, url: &str, error_type: Option<&str>, body: &str) -> Result<()> {
        let mut request = self
            .agent
            .post(url)
            .header("content-type", "application/json");
        if let Some(error_type) = error_type {
            request = request.header("lambda-runtime-function-error-type", error_type);
        }
        let mut response = request
            .send(body)
            .with_context(|| format!("failed to reach the Runtime API at {url}"))?;
        let status = response.status();
        if !status.is_success() {
            let text = response.body_mut().read_to_string().unwrap_or_default();
            bail!("the Runtime API answered {status} to {url}: {text}");
        }
        Ok(())
    }
}

fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get(name)
        .and_then(|value| value.to_str().ok())
        .filter(|value| !value.is_empty())
}

/// Turns the next-event answer into an invocation request. The request id is
/// required; every other header is optional, and a malformed one is ignored
/// rather than failing the event.
pub(crate) fn parse_event(
    headers: &HeaderMap,
    body: Vec<u8>,
    now: SystemTime,
) -> Result<NextEvent> {
    let Some(request_id) = header(headers, "lambda-runtime-aws-request-id") else {
        bail!("the Runtime API sent an event without Lambda-Runtime-Aws-Request-Id");
    };
    // Some emulators send deadlines that are not epoch times (or are already
    // past): then the function's configured timeout applies instead.
    let deadline = header(headers, "lambda-runtime-deadline-ms")
        .and_then(|text| text.parse::<u64>().ok())
        .map(|millis| UNIX_EPOCH + Duration::from_millis(millis))
        .filter(|deadline| *deadline > now);
    let identity = header(headers, "lambda-runtime-cognito-identity")
        .and_then(CognitoIdentity::from_header_json);
    let client_context = header(headers, "lambda-runtime-client-context")
        .filter(|text| serde_json::from_str::<serde_json::Value>(text).is_ok_and(|v| v.is_object()))
        .map(str::to_string);
    Ok(NextEvent {
        request_id: request_id.to_string(),
        request: InvokeRequest {
            payload: body,
            request_id: Some(request_id.to_string()),
            deadline,
            invoked_function_arn: header(headers, "lambda-runtime-invoked-function-arn")
                .map(str::to_string),
            trace_id: header(headers, "lambda-runtime-trace-id").map(str::to_string),
            identity,
            client_context,
            tenant_id: header(headers, "lambda-runtime-aws-tenant-id").map(str::to_string),
            stream: None,
            log_tap: None,
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use ureq::http::HeaderValue;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.insert(*name, HeaderValue::from_str(value).unwrap());
        }
        map
    }

    #[test]
    fn every_header_reaches_the_request() {
        let now = UNIX_EPOCH + Duration::from_secs(1_000);
        let event = parse_event(
            &headers(&[
                ("lambda-runtime-aws-request-id", "req-1"),
                ("lambda-runtime-deadline-ms", "1003000"),
                (
                    "lambda-runtime-invoked-function-arn",
                    "arn:aws:lambda:eu-west-1:1:function:f",
                ),
                ("lambda-runtime-trace-id", "Root=1-abc"),
                ("lambda-runtime-client-context", r#"{"custom":{"a":"b"}}"#),
                (
                    "lambda-runtime-cognito-identity",
                    r#"{"cognitoIdentityId":"i","cognitoIdentityPoolId":"p"}"#,
                ),
                ("lambda-runtime-aws-tenant-id", "t-1"),
            ]),
            b"{}".to_vec(),
            now,
        )
        .unwrap();
        assert_eq!(event.request_id, "req-1");
        let request = event.request;
        assert_eq!(
            request.deadline,
            Some(UNIX_EPOCH + Duration::from_millis(1_003_000))
        );
        assert_eq!(
            request.invoked_function_arn.as_deref(),
            Some("arn:aws:lambda:eu-west-1:1:function:f")
        );
        assert_eq!(request.trace_id.as_deref(), Some("Root=1-abc"));
        assert_eq!(
            request.client_context.as_deref(),
            Some(r#"{"custom":{"a":"b"}}"#)
        );
        assert_eq!(request.identity.unwrap().identity_pool_id, "p");
        assert_eq!(request.tenant_id.as_deref(), Some("t-1"));
    }

    #[test]
    fn past_or_malformed_deadlines_and_headers_are_ignored() {
        let now = UNIX_EPOCH + Duration::from_secs(1_000);
        for deadline in ["600000", "soon", ""] {
            let event = parse_event(
                &headers(&[
                    ("lambda-runtime-aws-request-id", "req-2"),
                    ("lambda-runtime-deadline-ms", deadline),
                    ("lambda-runtime-client-context", "not json"),
                    ("lambda-runtime-cognito-identity", "{"),
                ]),
                Vec::new(),
                now,
            )
            .unwrap();
            assert_eq!(event.request.deadline, None, "{deadline:?}");
            assert_eq!(event.request.client_context, None);
            assert!(event.request.identity.is_none());
        }
    }

    #[test]
    fn an_event_without_a_request_id_is_an_error() {
        let error = parse_event(&HeaderMap::new(), Vec::new(), SystemTime::now()).unwrap_err();
        assert!(error.to_string().contains("Lambda-Runtime-Aws-Request-Id"));
    }

    #[test]
    fn the_api_address_may_carry_a_prefix_or_scheme() {
        assert_eq!(
            RuntimeClient::new("127.0.0.1:9001").base,
            "http://127.0.0.1:9001/2018-06-01"
        );
        assert_eq!(
            RuntimeClient::new("127.0.0.1:9000/.rt").base,
            "http://127.0.0.1:9000/.rt/2018-06-01"
        );
        assert_eq!(
            RuntimeClient::new("http://[::1]:9000/.rt/").base,
            "http://[::1]:9000/.rt/2018-06-01"
        );
    }
}
