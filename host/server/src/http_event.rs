//! The mapping from an HTTP request to the event Lambda sends for it:
//! payload format 2.0 (function URLs, HTTP APIs) and 1.0 (REST APIs, and
//! the shape ALB events share). The front door (`front_door.rs`) uses it for
//! live requests, and the command line's sample events (`wasm-lambda event
//! apigw-http` and the rest) use it for made-up ones, so both are the same
//! shape by construction. See `lambda-contract.md`, "HTTP events".

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::time::{SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use http::{HeaderMap, Method, Uri};
use serde_json::{Map, Value, json};

/// What the front door knows of one HTTP request.
pub struct HttpRequest {
    /// The request's method.
    pub method: Method,
    /// The path the event reports (after `/lambda-url/<function>`).
    pub path: String,
    /// The query string, as sent (without `?`).
    pub raw_query: String,
    /// The request's headers.
    pub headers: HeaderMap,
    /// The request's body.
    pub body: Bytes,
    /// The caller's address (`sourceIp`).
    pub source: SocketAddr,
}

impl HttpRequest {
    /// A request to `uri`, whose event reports `path`.
    pub fn new(
        method: Method,
        uri: &Uri,
        path: String,
        headers: HeaderMap,
        body: Bytes,
        source: SocketAddr,
    ) -> Self {
        HttpRequest {
            method,
            path,
            raw_query: uri.query().unwrap_or_default().to_string(),
            headers,
            body,
            source,
        }
    }

    fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|value| value.to_str().ok())
    }

    /// Header names lower-cased, repeats joined with commas (cookies out).
    fn joined_headers(&self, with_cookies: bool) -> Map<String, Value> {
        let mut joined: BTreeMap<String, String> = BTreeMap::new();
        for (name, value) in &self.headers {
            if !with_cookies && name == "cookie" {
                continue;
            }
            let value = String::from_utf8_lossy(value.as_bytes()).into_owned();
            joined
                .entry(name.as_str().to_string())
                .and_modify(|existing| {
                    existing.push(',');
                    existing.push_str(&value);
                })
                .or_insert(value);
        }
        joined
            .into_iter()
            .map(|(k, v)| (k, Value::String(v)))
            .collect()
    }

    fn cookies(&self) -> Vec<Value> {
        self.headers
            .get_all("cookie")
            .iter()
            .filter_map(|value| value.to_str().ok())
            .flat_map(|value| value.split(';'))
            .map(str::trim)
            .filter(|cookie| !cookie.is_empty())
            .map(|cookie| Value::String(cookie.to_string()))
            .collect()
    }

    /// `(key, value)` pairs of the query string, decoded, in order.
    fn query_pairs(&self) -> Vec<(String, String)> {
        serde_urlencoded::from_str::<Vec<(String, String)>>(&self.raw_query).unwrap_or_default()
    }

    /// The body as the event carries it, and whether it is base64.
    fn event_body(&self) -> (Option<String>, bool) {
        if self.body.is_empty() {
            return (None, false);
        }
        let content_type = self
            .header("content-type")
            .unwrap_or("")
            .to_ascii_lowercase();
        let textual = content_type.is_empty()
            || content_type.starts_with("text/")
            || [
                "json",
                "xml",
                "javascript",
                "x-www-form-urlencoded",
                "yaml",
                "csv",
            ]
            .iter()
            .any(|kind| content_type.contains(kind));
        match std::str::from_utf8(&self.body) {
            Ok(text) if textual => (Some(text.to_string()), false),
            _ => (Some(crate::base64_encode(&self.body)), true),
        }
    }
}

/// `12/Mar/2020:19:03:58 +0000`, as API Gateway writes request times.
fn request_time(now: SystemTime) -> String {
    let seconds = now.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
    let (days, second_of_day) = (seconds / 86_400, seconds % 86_400);
    // Civil date from days since 1970-01-01 (proleptic Gregorian).
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let day_of_era = z - era * 146_097;
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_index = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * month_index + 2) / 5 + 1;
    let month = if month_index < 10 {
        month_index + 3
    } else {
        month_index - 9
    };
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    format!(
        "{day:02}/{}/{year}:{:02}:{:02}:{:02} +0000",
        MONTHS[(month - 1) as usize],
        second_of_day / 3600,
        second_of_day % 3600 / 60,
        second_of_day % 60
    )
}

fn epoch_ms(now: SystemTime) -> u64 {
    now.duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

/// The domain the caller used (the `Host` header), and its first label.
fn domain(request: &HttpRequest) -> (String, String) {
    let host = request.header("host").unwrap_or("localhost").to_string();
    let prefix = host
        .split(['.', ':'])
        .next()
        .unwrap_or_default()
        .to_string();
    (host, prefix)
}

/// A payload-format-2.0 event.
pub fn event_v2(
    request: &HttpRequest,
    route_key: &str,
    stage: &str,
    path_parameters: Option<&BTreeMap<String, String>>,
    api_id: &str,
) -> Value {
    let now = SystemTime::now();
    let (domain_name, domain_prefix) = domain(request);
    let mut event = json!({
        "version": "2.0",
        "routeKey": route_key,
        "rawPath": request.path,
        "rawQueryString": request.raw_query,
    });
    let cookies = request.cookies();
    if !cookies.is_empty() {
        event["cookies"] = Value::Array(cookies);
    }
    event["headers"] = Value::Object(request.joined_headers(false));
    let pairs = request.query_pairs();
    if !pairs.is_empty() {
        let mut joined: BTreeMap<String, String> = BTreeMap::new();
        for (key, value) in pairs {
            joined
                .entry(key)
                .and_modify(|existing| {
                    existing.push(',');
                    existing.push_str(&value);
                })
                .or_insert(value);
        }
        event["queryStringParameters"] = json!(joined);
    }
    if let Some(parameters) = path_parameters.filter(|p| !p.is_empty()) {
        event["pathParameters"] = json!(parameters);
    }
    event["requestContext"] = json!({
        "accountId": "000000000000",
        "apiId": api_id,
        "domainName": domain_name,
        "domainPrefix": domain_prefix,
        "http": {
            "method": request.method.as_str(),
            "path": request.path,
            "protocol": "HTTP/1.1",
            "sourceIp": request.source.ip().to_string(),
            "userAgent": request.header("user-agent").unwrap_or_default(),
        },
        "requestId": uuid::Uuid::new_v4().to_string(),
        "routeKey": route_key,
        "stage": stage,
        "time": request_time(now),
        "timeEpoch": epoch_ms(now),
    });
    let (body, base64) = request.event_body();
    if let Some(body) = body {
        event["body"] = Value::String(body);
    }
    event["isBase64Encoded"] = Value::Bool(base64);
    event
}

/// A payload-format-1.0 (REST API) event.
pub fn event_v1(
    request: &HttpRequest,
    resource: &str,
    stage: &str,
    path_parameters: &BTreeMap<String, String>,
    api_id: &str,
) -> Value {
    let now = SystemTime::now();
    let (domain_name, _) = domain(request);
    let mut headers = Map::new();
    let mut multi_headers: BTreeMap<String, Vec<Value>> = BTreeMap::new();
    for (name, value) in &request.headers {
        let value = String::from_utf8_lossy(value.as_bytes()).into_owned();
        headers.insert(name.as_str().to_string(), Value::String(value.clone()));
        multi_headers
            .entry(name.as_str().to_string())
            .or_default()
            .push(Value::String(value));
    }
    let pairs = request.query_pairs();
    let (query, multi_query) = if pairs.is_empty() {
        (Value::Null, Value::Null)
    } else {
        let mut single = Map::new();
        let mut multi: BTreeMap<String, Vec<Value>> = BTreeMap::new();
        for (key, value) in pairs {
            single.insert(key.clone(), Value::String(value.clone()));
            multi.entry(key).or_default().push(Value::String(value));
        }
        (Value::Object(single), json!(multi))
    };
    let (body, base64) = request.event_body();
    let stage_path = if stage == "$default" {
        request.path.clone()
    } else {
        format!("/{stage}{}", request.path)
    };
    json!({
        "resource": resource,
        "path": request.path,
        "httpMethod": request.method.as_str(),
        "headers": headers,
        "multiValueHeaders": multi_headers,
        "queryStringParameters": query,
        "multiValueQueryStringParameters": multi_query,
        "pathParameters": if path_parameters.is_empty() { Value::Null } else { json!(path_parameters) },
        "stageVariables": Value::Null,
        "requestContext": {
            "accountId": "000000000000",
            "apiId": api_id,
            "domainName": domain_name,
            "httpMethod": request.method.as_str(),
            "identity": {
                "sourceIp": request.source.ip().to_string(),
                "userAgent": request.header("user-agent"),
            },
            "path": stage_path,
            "protocol": "HTTP/1.1",
            "requestId": uuid::Uuid::new_v4().to_string(),
            "requestTime": request_time(now),
            "requestTimeEpoch": epoch_ms(now),
            "resourcePath": resource,
            "stage": stage,
        },
        "body": body,
        "isBase64Encoded": base64,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_times_are_api_gateways() {
        let at = UNIX_EPOCH + std::time::Duration::from_secs(1_584_039_838);
        assert_eq!(request_time(at), "12/Mar/2020:19:03:58 +0000");
        assert_eq!(request_time(UNIX_EPOCH), "01/Jan/1970:00:00:00 +0000");
    }
}
