//! Streamed responses: `InvokeWithResponseStream` on the Invoke API and
//! function URLs in `RESPONSE_STREAM` mode.
//!
//! Both start the invocation with a [`ResponseSender`](crate::ResponseSender)
//! and wait for the first chunk (or the end), so that a request the Invoke
//! API refuses still gets its service error and a stream's content type is
//! known before the head is sent. Then the bytes go out as the handler
//! writes them: as `PayloadChunk` events of an AWS event stream and a final
//! `InvokeComplete`, or as the chunked body of the URL's HTTP response.

use std::sync::Arc;

use aws_smithy_types::event_stream::{Header, HeaderValue as EventHeader, Message};
use axum::body::{Body, Bytes};
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use super::front_door::{self, PayloadFormat};
use super::{AppState, Deployed};
use wasm_lambda_core::{
    HTTP_INTEGRATION_CONTENT_TYPE, Invocation, InvokeError, InvokeRequest, StreamEvent,
    response_stream,
};

/// What a stream's head is sent with when the handler names no type.
const DEFAULT_CONTENT_TYPE: &str = "application/octet-stream";

/// The eight NUL bytes between `HttpResponseStream.from`'s metadata and the
/// body.
const PRELUDE_END: [u8; 8] = [0; 8];

type Outcome = Result<Invocation, InvokeError>;

/// Why a streamed invocation did not start.
pub(crate) enum NotStarted {
    /// The function's reserved concurrency is taken.
    Throttled,
    /// The Invoke API refused the request.
    Refused(InvokeError),
}

/// A streamed invocation under way, after its first chunk (or its end).
struct Started {
    content_type: Option<String>,
    /// The chunk `start` waited for, not yet handed on.
    first: Option<Bytes>,
    rest: mpsc::UnboundedReceiver<StreamEvent>,
    finish: Finish,
}

/// How a started invocation ends.
enum Finish {
    Running(JoinHandle<Outcome>),
    /// It ended before writing anything (`start` had to know how).
    Ended(Box<Outcome>),
}

impl Started {
    /// The next chunk the handler wrote, `None` once the invocation ended.
    async fn next_chunk(&mut self) -> Option<Bytes> {
        if let Some(first) = self.first.take() {
            return Some(first);
        }
        // A content type set after the first write changes nothing.
        while let Some(event) = self.rest.recv().await {
            if let StreamEvent::Chunk(bytes) = event {
                return Some(bytes);
            }
        }
        None
    }

    /// How the invocation ended; call after [`Started::next_chunk`] gave
    /// `None`.
    async fn outcome(self) -> Outcome {
        match self.finish {
            Finish::Ended(outcome) => *outcome,
            Finish::Running(task) => joined(task.await),
        }
    }
}

/// The invocation task's outcome; a task that panicked is a service error.
fn joined(result: Result<Outcome, tokio::task::JoinError>) -> Outcome {
    result.unwrap_or_else(|error| Err(InvokeError::Service(error.to_string())))
}

/// Runs `request` on `deployed` in its own task (holding a concurrency
/// permit and the server's in-flight count) and waits for the first chunk.
async fn start(
    state: &Arc<AppState>,
    deployed: &Arc<Deployed>,
    mut request: InvokeRequest,
) -> Result<Started, NotStarted> {
    let permit = match &deployed.concurrency {
        Some(slots) => match slots.clone().try_acquire_owned() {
            Ok(permit) => Some(permit),
            Err(_) => return Err(NotStarted::Throttled),
        },
        None => None,
    };
    let (sender, mut events) = response_stream();
    request.stream = Some(sender);
    let deployed = deployed.clone();
    let in_flight = state.in_flight.token();
    let done = tokio::spawn(async move {
        let outcome = deployed.invoke(request).await;
        drop((permit, in_flight));
        outcome
    });
    let mut content_type = None;
    // The channel closes when the invocation ends.
    while let Some(event) = events.recv().await {
        match event {
            StreamEvent::ContentType(text) => content_type = Some(text),
            StreamEvent::Chunk(bytes) => {
                return Ok(Started {
                    content_type,
                    first: Some(bytes),
                    rest: events,
                    finish: Finish::Running(done),
                });
            }
        }
    }
    match joined(done.await) {
        Ok(invocation) => Ok(Started {
            content_type,
            first: None,
            rest: events,
            finish: Finish::Ended(Box::new(Ok(invocation))),
        }),
        Err(error) => Err(NotStarted::Refused(error)),
    }
}

/// One event of the AWS event stream the Lambda API answers with.
fn event_message(event_type: &'static str, content_type: &'static str, payload: Bytes) -> Bytes {
    let message = Message::new(payload)
        .add_header(Header::new(
            ":event-type",
            EventHeader::String(event_type.into()),
        ))
        .add_header(Header::new(
            ":content-type",
            EventHeader::String(content_type.into()),
        ))
        .add_header(Header::new(
            ":message-type",
            EventHeader::String("event".into()),
        ));
    let mut frame = Vec::new();
    aws_smithy_eventstream::frame::write_message_to(&message, &mut frame)
        .expect("string headers and a byte payload always encode");
    Bytes::from(frame)
}

fn payload_chunk(bytes: Bytes) -> Bytes {
    event_message("PayloadChunk", "application/octet-stream", bytes)
}

/// A body fed by `frames` as they come; an `Err` item cuts the connection
/// short, which is how a stream that failed after its head ends.
///
/// The error is held back for one turn: hyper drops the connection with
/// whatever it has not flushed yet when a body fails, so chunks written just
/// before a failure (in the same turn of the executor) would never reach
/// the caller. Answering "not ready" once lets hyper flush them first
/// (`streaming::a_lambda_runtime_channel_sends_each_chunk_as_the_spawned_task_writes_it`
/// fails a response whose chunks and error come together).
fn body_from(frames: mpsc::UnboundedReceiver<Result<Bytes, std::io::Error>>) -> Body {
    Body::from_stream(futures_util::stream::unfold(frames, |mut frames| async {
        let item = frames.recv().await?;
        if item.is_err() {
            tokio::task::yield_now().await;
        }
        Some((item, frames))
    }))
}

/// `POST /2021-11-15/functions/{name}/response-streaming-invocations`:
/// `PayloadChunk` events as the handler writes (one with the whole payload
/// for a handler that returns instead), then `InvokeComplete` with the
/// error, if any, and the log's tail when `tail` is set.
pub(crate) async fn invoke_with_response_stream(
    state: &Arc<AppState>,
    deployed: &Arc<Deployed>,
    request: InvokeRequest,
    tail: bool,
) -> Result<Response, NotStarted> {
    let started = start(state, deployed, request).await?;
    let content_type = started
        .content_type
        .clone()
        .unwrap_or_else(|| DEFAULT_CONTENT_TYPE.into());
    let (frames, body) = mpsc::unbounded_channel();
    tokio::spawn(async move {
        let mut started = started;
        let send = |bytes| frames.send(Ok(bytes)).is_ok();
        // A caller that went away stops the forwarding, not the handler.
        while let Some(bytes) = started.next_chunk().await {
            if !send(payload_chunk(bytes)) {
                return;
            }
        }
        let outcome = started.outcome().await;
        let mut complete = serde_json::Map::new();
        match outcome {
            Ok(invocation) => {
                match &invocation.result {
                    Ok(payload) if !payload.is_empty() => {
                        send(payload_chunk(Bytes::from(payload.clone())));
                    }
                    Ok(_) => {}
                    Err(error) => {
                        complete.insert("ErrorCode".into(), json!(error.error_type));
                        complete.insert("ErrorDetails".into(), json!(error.payload));
                    }
                }
                if tail {
                    complete.insert("LogResult".into(), json!(super::log_tail(&invocation.log)));
                }
            }
            Err(error) => {
                complete.insert("ErrorCode".into(), json!(error.error_code()));
                complete.insert("ErrorDetails".into(), json!(error.to_string()));
            }
        }
        let complete = Value::Object(complete).to_string();
        send(event_message(
            "InvokeComplete",
            "application/json",
            Bytes::from(complete),
        ));
    });
    let mut response = (StatusCode::OK, body_from(body)).into_response();
    let headers = response.headers_mut();
    headers.insert(
        "content-type",
        HeaderValue::from_str(&content_type)
            .unwrap_or_else(|_| HeaderValue::from_static(DEFAULT_CONTENT_TYPE)),
    );
    headers.insert(
        "x-amz-executed-version",
        HeaderValue::from_static("$LATEST"),
    );
    Ok(response)
}

/// A function URL in `RESPONSE_STREAM` mode: the head comes from the
/// stream's metadata when the handler used `HttpResponseStream.from`, else
/// it is 200 with the stream's content type; the body is sent chunked as it
/// is written. A failure before the first byte is the buffered URL's 502; a
/// failure after it cuts the response short, as Lambda does.
pub(crate) async fn function_url(
    state: &Arc<AppState>,
    deployed: &Arc<Deployed>,
    request: InvokeRequest,
) -> Response {
    let mut started = match start(state, deployed, request).await {
        Ok(started) => started,
        Err(NotStarted::Refused(InvokeError::RequestEntityTooLarge { .. })) => {
            return front_door::payload_too_large();
        }
        Err(NotStarted::Throttled | NotStarted::Refused(InvokeError::TooManyRequests)) => {
            return front_door::too_many_requests();
        }
        Err(NotStarted::Refused(_)) => return front_door::bad_gateway(PayloadFormat::V2),
    };
    let content_type = started.content_type.take();
    let mut pending = Vec::new();
    let mut head = Value::Null;
    let framed = content_type.as_deref() == Some(HTTP_INTEGRATION_CONTENT_TYPE);
    if framed {
        // The metadata may arrive over several writes.
        while let Some(bytes) = started.next_chunk().await {
            pending.extend_from_slice(&bytes);
            if let Some(end) = pending
                .windows(PRELUDE_END.len())
                .position(|window| window == PRELUDE_END)
            {
                head = serde_json::from_slice(&pending[..end]).unwrap_or(Value::Null);
                pending.drain(..end + PRELUDE_END.len());
                break;
            }
        }
    }
    let (frames, body) = mpsc::unbounded_channel();
    let mut response = (
        front_door::answer_status(&head).unwrap_or(StatusCode::OK),
        body_from(body),
    )
        .into_response();
    // A framed stream's type describes the framing; its body's type is in
    // the metadata's headers.
    let default_type = content_type
        .filter(|_| !framed)
        .and_then(|text| HeaderValue::from_str(&text).ok())
        .unwrap_or(HeaderValue::from_static(DEFAULT_CONTENT_TYPE));
    front_door::head_v2(&mut response, &head, default_type);
    tokio::spawn(async move {
        let send = |bytes: Bytes| bytes.is_empty() || frames.send(Ok(bytes)).is_ok();
        if !send(Bytes::from(pending)) {
            return;
        }
        while let Some(bytes) = started.next_chunk().await {
            if !send(bytes) {
                return;
            }
        }
        match started.outcome().await {
            Ok(invocation) if invocation.function_error().is_none() => {
                let payload = invocation.result.unwrap_or_default();
                send(Bytes::from(payload));
            }
            _ => {
                let _ = frames.send(Err(std::io::Error::other("the function failed")));
            }
        }
    });
    response
}
