//! Response streaming: what a handler writes through the
//! `wasm-lambda:handler/response-stream` interface while it runs.
//!
//! A caller that wants the bytes as they are written (the Invoke API's
//! `InvokeWithResponseStream`, a function URL in `RESPONSE_STREAM` mode)
//! puts a [`ResponseSender`] in its [`InvokeRequest`](crate::InvokeRequest)
//! and reads [`StreamEvent`]s from the other end; the channel closes when
//! the invocation ends, before [`Function::invoke`](crate::Function::invoke)
//! returns. Without a sender the bytes are kept and put in front of the
//! payload the handler returns, as Lambda answers a plain `Invoke` of a
//! streaming function with the whole response at once.
//!
//! ```
//! let (sender, mut events) = wasm_lambda_core::response_stream();
//! let mut request = wasm_lambda_core::InvokeRequest::new(r#"{"n": 3}"#);
//! request.stream = Some(sender);
//! // `function.invoke(request)` runs while `events.recv()` yields
//! // `StreamEvent::Chunk`s; `None` once the invocation has ended.
//! # drop(request);
//! # assert!(events.try_recv().is_err());
//! ```

use bytes::Bytes;
use tokio::sync::mpsc;

/// Lambda's limit on a streamed response.
pub const MAX_STREAMED_BYTES: usize = 20 * 1024 * 1024;

/// The media type of a stream that opens with an HTTP status and headers
/// (Node's `awslambda.HttpResponseStream.from`).
pub const HTTP_INTEGRATION_CONTENT_TYPE: &str =
    "application/vnd.awslambda.http-integration-response";

/// What the caller of a streaming invocation receives, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StreamEvent {
    /// The handler set the response's media type (before its first write).
    ContentType(String),
    /// Bytes the handler wrote.
    Chunk(Bytes),
}

/// The sending end a caller hands to an invocation.
pub type ResponseSender = mpsc::UnboundedSender<StreamEvent>;

/// A channel for one streamed invocation: put the sender in the request,
/// read the receiver while the invocation runs.
pub fn response_stream() -> (ResponseSender, mpsc::UnboundedReceiver<StreamEvent>) {
    mpsc::unbounded_channel()
}

/// A sandbox's side of the stream during one invocation.
#[derive(Default)]
pub(crate) struct Stream {
    sender: Option<ResponseSender>,
    /// What was written when nobody listens as it happens.
    kept: Vec<u8>,
    written: usize,
    /// Set when a write went past [`MAX_STREAMED_BYTES`].
    pub(crate) overflowed: bool,
}

impl Stream {
    /// The stream of an invocation, forwarding to `sender` when there is one.
    pub(crate) fn new(sender: Option<ResponseSender>) -> Stream {
        Stream {
            sender,
            ..Stream::default()
        }
    }

    pub(crate) fn set_content_type(&mut self, content_type: String) {
        if self.written == 0
            && let Some(sender) = &self.sender
        {
            // A caller that went away stops listening; the handler carries on.
            let _ = sender.send(StreamEvent::ContentType(content_type));
        }
    }

    pub(crate) fn write(&mut self, chunk: Vec<u8>) {
        if self.overflowed || chunk.is_empty() {
            return;
        }
        if self.written + chunk.len() > MAX_STREAMED_BYTES {
            self.overflowed = true;
            return;
        }
        self.written += chunk.len();
        match &self.sender {
            Some(sender) => {
                let _ = sender.send(StreamEvent::Chunk(Bytes::from(chunk)));
            }
            None => self.kept.extend_from_slice(&chunk),
        }
    }

    /// Ends the invocation's stream: closes the caller's channel and gives
    /// back what was kept for a caller without one.
    pub(crate) fn finish(&mut self) -> Vec<u8> {
        self.sender = None;
        self.written = 0;
        std::mem::take(&mut self.kept)
    }
}
