//! Sample events: what the AWS services that invoke Lambda functions send,
//! for `wasm-lambda event <kind>` and `invoke --event-kind` (like `sam local
//! generate-event` and `cargo lambda invoke --data-example`).
//!
//! The HTTP kinds are built by the same code that builds `serve`'s HTTP
//! events, so a sample is exactly what the front door would send.
//!
//! ```
//! use wasm_lambda::samples::{SampleOptions, sample};
//!
//! let options = SampleOptions { message: Some("hello".into()), ..SampleOptions::default() };
//! let event = sample("sqs", &options).unwrap();
//! assert_eq!(event["Records"][0]["body"], "hello");
//! ```

use std::io::Write as _;
use std::net::SocketAddr;

use anyhow::{Result, bail};
use serde_json::{Value, json};

use crate::server::http_event::{self, HttpRequest};

/// Every kind, in the order `wasm-lambda event --help` lists them.
pub const KINDS: &[&str] = &[
    "apigw-rest",
    "apigw-http",
    "function-url",
    "alb",
    "sqs",
    "sns",
    "s3-put",
    "dynamodb-stream",
    "kinesis",
    "eventbridge",
    "cloudwatch-logs",
    "scheduled",
];

/// The fields users change most; `None` keeps the sample's own.
#[derive(Debug, Clone, Default)]
pub struct SampleOptions {
    /// The HTTP body (HTTP kinds).
    pub body: Option<String>,
    /// The request path (HTTP kinds), with an optional `?query`.
    pub path: Option<String>,
    /// The HTTP method (HTTP kinds).
    pub method: Option<String>,
    /// The bucket (`s3-put`).
    pub bucket: Option<String>,
    /// The object key (`s3-put`).
    pub key: Option<String>,
    /// The message: SQS body, SNS message, Kinesis data, log line,
    /// EventBridge detail's `message`.
    pub message: Option<String>,
}

const REGION: &str = "us-east-1";
const ACCOUNT: &str = "123456789012";
const TIME: &str = "2026-11-27T12:00:00.000Z";
const EPOCH_SECONDS: u64 = 1_795_780_800;

/// The sample event of `kind`.
pub fn sample(kind: &str, options: &SampleOptions) -> Result<Value> {
    let message = options
        .message
        .clone()
        .unwrap_or_else(|| "Hello from wasm-lambda".into());
    Ok(match kind {
        "apigw-rest" | "apigw-http" | "function-url" | "alb" => http(kind, options)?,
        "sqs" => json!({ "Records": [{
            "messageId": "059f36b4-87a3-44ab-83d2-661975830a7d",
            "receiptHandle": "AQEBwJnKyrHigUMZj6rYigCgxlaS3SLy0a",
            "body": message,
            "attributes": {
                "ApproximateReceiveCount": "1",
                "SentTimestamp": (EPOCH_SECONDS * 1000).to_string(),
                "SenderId": "AIDAIENQZJOLO23YVJ4VO",
                "ApproximateFirstReceiveTimestamp": (EPOCH_SECONDS * 1000 + 2).to_string()
            },
            "messageAttributes": {},
            // An example digest: samples are not signed or checked.
            "md5OfBody": "e4e68fb7bd0e697a0ae8f1bb342846b3",
            "eventSource": "aws:sqs",
            "eventSourceARN": format!("arn:aws:sqs:{REGION}:{ACCOUNT}:my-queue"),
            "awsRegion": REGION
        }]}),
        "sns" => json!({ "Records": [{
            "EventVersion": "1.0",
            "EventSubscriptionArn": format!("arn:aws:sns:{REGION}:{ACCOUNT}:my-topic:2bcfbf39-05c3-41de-beaa-fcfcc21c8f55"),
            "EventSource": "aws:sns",
            "Sns": {
                "SignatureVersion": "1",
                "Timestamp": TIME,
                "Signature": "EXAMPLE",
                "SigningCertUrl": "https://sns.us-east-1.amazonaws.com/SimpleNotificationService-0000000000000000000000.pem",
                "MessageId": "95df01b4-ee98-5cb9-9903-4c221d41eb5e",
                "Message": message,
                "MessageAttributes": {},
                "Type": "Notification",
                "UnsubscribeUrl": format!("https://sns.{REGION}.amazonaws.com/?Action=Unsubscribe"),
                "TopicArn": format!("arn:aws:sns:{REGION}:{ACCOUNT}:my-topic"),
                "Subject": "example subject"
            }
        }]}),
        "s3-put" => {
            let bucket = options.bucket.clone().unwrap_or_else(|| "my-bucket".into());
            // S3 sends the key URL-encoded (a space as `+`), as handlers
            // expect when they decode it with unquote_plus/decodeURIComponent.
            let key = s3_event_key(options.key.as_deref().unwrap_or("uploads/photo.jpg"));
            json!({ "Records": [{
                "eventVersion": "2.1",
                "eventSource": "aws:s3",
                "awsRegion": REGION,
                "eventTime": TIME,
                "eventName": "ObjectCreated:Put",
                "userIdentity": { "principalId": "EXAMPLE" },
                "requestParameters": { "sourceIPAddress": "127.0.0.1" },
                "responseElements": {
                    "x-amz-request-id": "EXAMPLE123456789",
                    "x-amz-id-2": "EXAMPLE123/5678abcdefghijklambdaisawesome/mnopqrstuvwxyzABCDEFGH"
                },
                "s3": {
                    "s3SchemaVersion": "1.0",
                    "configurationId": "testConfigRule",
                    "bucket": {
                        "name": bucket,
                        "ownerIdentity": { "principalId": "EXAMPLE" },
                        "arn": format!("arn:aws:s3:::{bucket}")
                    },
                    "object": {
                        "key": key,
                        "size": 1024,
                        "eTag": "0123456789abcdef0123456789abcdef",
                        "sequencer": "0A1B2C3D4E5F678901"
                    }
                }
            }]})
        }
        "dynamodb-stream" => json!({ "Records": [{
            "eventID": "c4ca4238a0b923820dcc509a6f75849b",
            "eventName": "INSERT",
            "eventVersion": "1.1",
            "eventSource": "aws:dynamodb",
            "awsRegion": REGION,
            "dynamodb": {
                "ApproximateCreationDateTime": EPOCH_SECONDS,
                "Keys": { "Id": { "N": "101" } },
                "NewImage": { "Message": { "S": message }, "Id": { "N": "101" } },
                "SequenceNumber": "4421584500000000017450439091",
                "SizeBytes": 26,
                "StreamViewType": "NEW_AND_OLD_IMAGES"
            },
            "eventSourceARN": format!("arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/my-table/stream/2026-11-27T00:00:00.000")
        }]}),
        "kinesis" => json!({ "Records": [{
            "kinesis": {
                "kinesisSchemaVersion": "1.0",
                "partitionKey": "1",
                "sequenceNumber": "49590338271490256608559692538361571095921575989136588898",
                "data": base64_encode(message.as_bytes()),
                "approximateArrivalTimestamp": EPOCH_SECONDS as f64 + 0.5
            },
            "eventSource": "aws:kinesis",
            "eventVersion": "1.0",
            "eventID": "shardId-000000000006:49590338271490256608559692538361571095921575989136588898",
            "eventName": "aws:kinesis:record",
            "invokeIdentityArn": format!("arn:aws:iam::{ACCOUNT}:role/lambda-role"),
            "awsRegion": REGION,
            "eventSourceARN": format!("arn:aws:kinesis:{REGION}:{ACCOUNT}:stream/my-stream")
        }]}),
        "eventbridge" => json!({
            "version": "0",
            "id": "fe8d3c65-xmpl-c5c3-2c87-81584709a377",
            "detail-type": "Order Placed",
            "source": "com.example.orders",
            "account": ACCOUNT,
            "time": "2026-11-27T12:00:00Z",
            "region": REGION,
            "resources": [],
            "detail": { "orderId": "1234", "message": message }
        }),
        "scheduled" => json!({
            "version": "0",
            "id": "53dc4d37-cffa-4f76-80c9-8b7d4a4d2eaa",
            "detail-type": "Scheduled Event",
            "source": "aws.events",
            "account": ACCOUNT,
            "time": "2026-11-27T12:00:00Z",
            "region": REGION,
            "resources": [format!("arn:aws:events:{REGION}:{ACCOUNT}:rule/my-schedule")],
            "detail": {}
        }),
        "cloudwatch-logs" => {
            let batch = json!({
                "messageType": "DATA_MESSAGE",
                "owner": ACCOUNT,
                "logGroup": "/aws/lambda/my-function",
                "logStream": "2026/11/27/[$LATEST]0123456789abcdef0123456789abcdef",
                "subscriptionFilters": ["my-filter"],
                "logEvents": [
                    { "id": "37801226744484574690463633211937716466934493218014494720", "timestamp": EPOCH_SECONDS * 1000, "message": message },
                    { "id": "37801226744484574690463633211937716466934493218014494721", "timestamp": EPOCH_SECONDS * 1000 + 1, "message": "[ERROR] second line" }
                ]
            });
            let mut gzip =
                flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
            gzip.write_all(batch.to_string().as_bytes())?;
            json!({ "awslogs": { "data": base64_encode(&gzip.finish()?) } })
        }
        other => bail!(
            "unknown event kind {other:?}; the kinds are {}",
            KINDS.join(", ")
        ),
    })
}

fn http(kind: &str, options: &SampleOptions) -> Result<Value> {
    let method = options.method.clone().unwrap_or_else(|| {
        if options.body.is_some() {
            "POST"
        } else {
            "GET"
        }
        .to_string()
    });
    let method = http::Method::from_bytes(method.to_ascii_uppercase().as_bytes())
        .map_err(|_| anyhow::anyhow!("--method {method:?} is not an HTTP method"))?;
    let target = options
        .path
        .clone()
        .unwrap_or_else(|| "/items/42?color=red".into());
    let uri: http::Uri = target
        .parse()
        .map_err(|_| anyhow::anyhow!("--path {target:?} is not a path"))?;
    let mut headers = http::HeaderMap::new();
    for (name, value) in [
        ("host", "abcdefghij.lambda-url.us-east-1.on.aws"),
        ("user-agent", "curl/8.5.0"),
        ("accept", "*/*"),
    ] {
        headers.insert(name, value.parse().expect("a valid header"));
    }
    let body = options.body.clone().unwrap_or_default();
    if !body.is_empty() {
        headers.insert("content-type", "application/json".parse().expect("valid"));
    }
    let path = uri.path().to_string();
    let source: SocketAddr = "198.51.100.7:54321".parse().expect("a valid address");
    let request = HttpRequest::new(
        method.clone(),
        &uri,
        path.clone(),
        headers,
        body.into(),
        source,
    );
    let no_parameters = Default::default();
    Ok(match kind {
        "apigw-rest" => http_event::event_v1(&request, &path, "prod", &no_parameters, "1234567890"),
        "apigw-http" => http_event::event_v2(
            &request,
            &format!("{method} {path}"),
            "$default",
            None,
            "1234567890",
        ),
        "function-url" => {
            http_event::event_v2(&request, "$default", "$default", None, "abcdefghij")
        }
        _ => {
            // ALB: a 1.0-like event with the load balancer's context.
            let mut event = http_event::event_v1(&request, &path, "prod", &no_parameters, "alb");
            let object = event.as_object_mut().expect("an object");
            for field in [
                "resource",
                "multiValueHeaders",
                "multiValueQueryStringParameters",
                "pathParameters",
                "stageVariables",
            ] {
                object.remove(field);
            }
            object.insert(
                "requestContext".into(),
                json!({ "elb": { "targetGroupArn": format!("arn:aws:elasticloadbalancing:{REGION}:{ACCOUNT}:targetgroup/my-targets/73e2d6bc24d8a067") } }),
            );
            if object["queryStringParameters"].is_null() {
                object.insert("queryStringParameters".into(), json!({}));
            }
            if object["body"].is_null() {
                object.insert("body".into(), json!(""));
            }
            event
        }
    })
}

/// An object key as S3 writes it into event notifications: form-encoded
/// (space as `+`, other bytes outside letters, digits, `-_.~/*` as `%XX`).
fn s3_event_key(key: &str) -> String {
    let mut out = String::with_capacity(key.len());
    for byte in key.bytes() {
        match byte {
            b' ' => out.push('+'),
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b'/' | b'*' => {
                out.push(byte as char)
            }
            _ => out.push_str(&format!("%{byte:02X}")),
        }
    }
    out
}

fn base64_encode(bytes: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_has_a_sample_and_options_reach_it() {
        for kind in KINDS {
            let event = sample(kind, &SampleOptions::default()).unwrap();
            assert!(event.is_object(), "{kind}");
        }
        assert!(sample("carrier-pigeon", &SampleOptions::default()).is_err());
        let options = SampleOptions {
            bucket: Some("photos".into()),
            key: Some("a/b.png".into()),
            path: Some("/orders?x=1".into()),
            method: Some("put".into()),
            body: Some(r#"{"n":1}"#.into()),
            message: Some("custom".into()),
        };
        let s3 = sample("s3-put", &options).unwrap();
        assert_eq!(s3["Records"][0]["s3"]["bucket"]["name"], "photos");
        assert_eq!(s3["Records"][0]["s3"]["object"]["key"], "a/b.png");
        let spaced = SampleOptions {
            key: Some("q3 report+final (v2).csv".into()),
            ..SampleOptions::default()
        };
        assert_eq!(
            sample("s3-put", &spaced).unwrap()["Records"][0]["s3"]["object"]["key"],
            "q3+report%2Bfinal+%28v2%29.csv"
        );
        let url = sample("function-url", &options).unwrap();
        assert_eq!(url["rawPath"], "/orders");
        assert_eq!(url["rawQueryString"], "x=1");
        assert_eq!(url["requestContext"]["http"]["method"], "PUT");
        assert_eq!(url["body"], r#"{"n":1}"#);
        let rest = sample("apigw-rest", &options).unwrap();
        assert_eq!(rest["httpMethod"], "PUT");
        assert_eq!(
            sample("sns", &options).unwrap()["Records"][0]["Sns"]["Message"],
            "custom"
        );
    }

    #[test]
    fn cloudwatch_logs_are_gzip_and_base64_of_a_log_batch() {
        use base64::Engine as _;
        use std::io::Read as _;
        let event = sample("cloudwatch-logs", &SampleOptions::default()).unwrap();
        let data = base64::engine::general_purpose::STANDARD
            .decode(event["awslogs"]["data"].as_str().unwrap())
            .unwrap();
        let mut text = String::new();
        flate2::read::GzDecoder::new(&data[..])
            .read_to_string(&mut text)
            .unwrap();
        let batch: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(batch["messageType"], "DATA_MESSAGE");
        assert_eq!(batch["logEvents"].as_array().unwrap().len(), 2);
    }
}
