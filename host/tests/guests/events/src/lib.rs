//! Parses its event with `aws_lambda_events`' type for `$EVENT_KIND` and
//! answers with what it read, so the tests can check that every sample
//! event is one a real library accepts.

use aws_lambda_events::event::{alb, apigw, cloudwatch_logs, dynamodb, eventbridge, kinesis};
use aws_lambda_events::event::{lambda_function_urls, s3, sns, sqs};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};
use wasm_lambda_sdk::{Context, Error};

/// Parses `event` as `T`, from text as a runtime does (some of the types
/// borrow strings while parsing, which `from_value` cannot lend).
fn parse<T: DeserializeOwned>(event: &Value) -> Result<T, Error> {
    Ok(serde_json::from_str(&event.to_string())?)
}

/// Parses `event` as `T` and gives it back as JSON, as the type sees it.
fn through<T: DeserializeOwned + Serialize>(event: Value) -> Result<Value, Error> {
    let typed: T = parse(&event)?;
    Ok(serde_json::to_value(&typed)?)
}

fn handler(event: Value, _context: Context) -> Result<Value, Error> {
    let kind = std::env::var("EVENT_KIND").unwrap_or_default();
    let parsed = match kind.as_str() {
        "apigw-rest" => through::<apigw::ApiGatewayProxyRequest>(event)?,
        "apigw-http" => through::<apigw::ApiGatewayV2httpRequest>(event)?,
        "function-url" => through::<lambda_function_urls::LambdaFunctionUrlRequest>(event)?,
        "alb" => through::<alb::AlbTargetGroupRequest>(event)?,
        "sqs" => through::<sqs::SqsEvent>(event)?,
        "sns" => through::<sns::SnsEvent>(event)?,
        "s3-put" => through::<s3::S3Event>(event)?,
        "dynamodb-stream" => through::<dynamodb::Event>(event)?,
        "eventbridge" | "scheduled" => through::<eventbridge::EventBridgeEvent>(event)?,
        "kinesis" => {
            let typed: kinesis::KinesisEvent = parse(&event)?;
            let data = &typed.records[0].kinesis.data.0;
            json!({ "data": String::from_utf8_lossy(data) })
        }
        "cloudwatch-logs" => {
            let typed: cloudwatch_logs::LogsEvent = parse(&event)?;
            let batch = &typed.aws_logs.data;
            json!({
                "logGroup": batch.log_group,
                "messages": batch.log_events.iter().map(|entry| entry.message.clone()).collect::<Vec<_>>(),
            })
        }
        other => return Err(Error::new("UnknownKind", format!("no type for {other:?}"))),
    };
    Ok(json!({ "kind": kind, "parsed": parsed }))
}

wasm_lambda_sdk::handler!(handler);
