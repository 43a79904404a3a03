//! Where a stream mapping sends the records of a batch it gives up on
//! (`DestinationConfig.OnFailure.Destination`): an SQS queue or an SNS topic
//! of the source's endpoint, as on Lambda, or, as an `Event` invocation's
//! `on_failure` may, a function this server serves (`function:NAME`) or a
//! JSON-lines file (`file:PATH`).

use std::sync::Arc;
use std::time::Duration;

use serde_json::{Value, json};

use super::super::AppState;
use super::super::aws;
use super::super::events;
use super::Settings;

/// How long sending one record may take.
const SEND_TIMEOUT: Duration = Duration::from_secs(30);

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Destination {
    Sqs { arn: String, name: String },
    Sns { arn: String },
    Local(events::Destination),
}

impl Destination {
    pub(crate) fn parse(text: &str) -> Result<Destination, String> {
        let parts: Vec<&str> = text.split(':').collect();
        match parts.as_slice() {
            ["arn", _, "sqs", region, account, name]
                if !region.is_empty() && !account.is_empty() && !name.is_empty() =>
            {
                Ok(Destination::Sqs {
                    arn: text.to_string(),
                    name: name.to_string(),
                })
            }
            ["arn", _, "sns", region, account, name]
                if !region.is_empty() && !account.is_empty() && !name.is_empty() =>
            {
                Ok(Destination::Sns {
                    arn: text.to_string(),
                })
            }
            _ => events::Destination::parse(text)
                .map(Destination::Local)
                .map_err(|_| {
                    format!(
                        "The on-failure destination {text} is not an SQS queue or SNS topic ARN, function:NAME or file:PATH."
                    )
                }),
        }
    }

    /// Sends `record` (JSON) to the destination.
    pub(crate) async fn send(
        &self,
        state: &Arc<AppState>,
        settings: &Settings,
        record: &Value,
    ) -> Result<(), String> {
        match self {
            Destination::Local(local) => events::send(state, local, record)
                .await
                .map_err(|error| format!("{error:#}")),
            Destination::Sqs { arn, name } => {
                let region = super::arn_region(arn).to_string();
                let endpoint = state.sources.endpoint(settings, "sqs", &region);
                let name = name.clone();
                let account = arn.split(':').nth(4).unwrap_or_default().to_string();
                let body = record.to_string();
                blocking(move || {
                    let sqs = aws::JsonService::sqs(&endpoint, &region, SEND_TIMEOUT);
                    let url = sqs.call(
                        "GetQueueUrl",
                        &json!({ "QueueName": name, "QueueOwnerAWSAccountId": account }),
                    )?;
                    let url = url["QueueUrl"].as_str().unwrap_or_default();
                    sqs.call(
                        "SendMessage",
                        &json!({ "QueueUrl": url, "MessageBody": body }),
                    )
                    .map(|_| ())
                })
                .await
            }
            Destination::Sns { arn } => {
                let region = super::arn_region(arn).to_string();
                let endpoint = state.sources.endpoint(settings, "sns", &region);
                let arn = arn.clone();
                let body = record.to_string();
                blocking(move || publish(&endpoint, &region, &arn, &body)).await
            }
        }
    }
}

async fn blocking(
    call: impl FnOnce() -> Result<(), String> + Send + 'static,
) -> Result<(), String> {
    tokio::task::spawn_blocking(call)
        .await
        .map_err(|error| format!("the sending task failed: {error}"))?
}

/// SNS `Publish`, which SNS takes only in its query protocol (a form).
fn publish(endpoint: &str, region: &str, topic: &str, message: &str) -> Result<(), String> {
    let failed = |why: String| format!("Error occurred while Publish. {why}");
    let form = serde_urlencoded::to_string([
        ("Action", "Publish"),
        ("Version", "2010-03-31"),
        ("TopicArn", topic),
        ("Message", message),
    ])
    .map_err(|error| failed(error.to_string()))?;
    let mut request = http::Request::post(format!("{}/", endpoint.trim_end_matches('/')))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(form.clone())
        .map_err(|error| failed(format!("The endpoint {endpoint} is not a URL: {error}")))?;
    aws::sign(
        &mut request,
        form.as_bytes(),
        region,
        "sns",
        aws::Rules::Standard,
    )
    .map_err(failed)?;
    let agent = aws::agent(SEND_TIMEOUT);
    let mut response = agent
        .run(request)
        .map_err(|error| failed(format!("Could not reach {endpoint}: {error}")))?;
    if response.status().is_success() {
        return Ok(());
    }
    let text = response.body_mut().read_to_string().unwrap_or_default();
    Err(failed(format!(
        "SNS answered {}: {}",
        response.status().as_u16(),
        text.chars().take(500).collect::<String>()
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn destinations_parse() {
        assert!(matches!(
            Destination::parse("arn:aws:sqs:us-east-1:123456789012:failures"),
            Ok(Destination::Sqs { name, .. }) if name == "failures"
        ));
        assert!(matches!(
            Destination::parse("arn:aws:sns:us-east-1:123456789012:alerts"),
            Ok(Destination::Sns { .. })
        ));
        assert!(matches!(
            Destination::parse("function:sink"),
            Ok(Destination::Local(events::Destination::Function(name))) if name == "sink"
        ));
        assert!(matches!(
            Destination::parse("file:/tmp/failures.jsonl"),
            Ok(Destination::Local(events::Destination::File(_)))
        ));
        for bad in ["arn:aws:s3:::bucket", "queue", "arn:aws:sqs:us-east-1::q"] {
            assert!(Destination::parse(bad).is_err(), "{bad}");
        }
    }
}
