//! Streamed answers in the form lambda_runtime's `streaming` module gives
//! them: a handler makes a [`channel`], hands the [`Body`] back as
//! `Response::from(body)` and writes chunks into the [`Sender`] from a task
//! it spawned. Each chunk reaches the caller as it is sent: a sender waits
//! until the previous chunk has been taken.
//!
//! ```no_run
//! use lambda_runtime::streaming::{Body, Response, channel};
//! use lambda_runtime::{Error, LambdaEvent};
//!
//! async fn handler(_event: LambdaEvent<serde_json::Value>) -> Result<Response<Body>, Error> {
//!     let (mut tx, rx) = channel();
//!     tokio::spawn(async move {
//!         for word in ["Hello", "from", "Lambda"] {
//!             tx.send_data(format!("{word}\n").into()).await.unwrap();
//!         }
//!     });
//!     Ok(Response::from(rx))
//! }
//! ```

use std::borrow::Cow;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use futures_core::Stream;

use crate::Error;
pub use crate::StreamResponse as Response;

/// Makes a streamed body and the sender that writes it.
pub fn channel() -> (Sender, Body) {
    Body::channel()
}

/// A response body: bytes known up front, or a channel's chunks.
#[derive(Debug)]
pub struct Body(Inner);

#[derive(Debug)]
enum Inner {
    Full(Option<Bytes>),
    Channel(futures_channel::mpsc::Receiver<Result<Bytes, Error>>),
}

impl Body {
    /// An empty body.
    pub fn empty() -> Self {
        Body(Inner::Full(None))
    }

    /// A body fed through the returned [`Sender`].
    pub fn channel() -> (Sender, Body) {
        // No buffer beyond the sender's own slot: a chunk is sent when the
        // previous one has been taken, so chunks go out as they are made.
        let (data, body) = futures_channel::mpsc::channel(0);
        (
            Sender {
                data,
                trailers_sent: false,
            },
            Body(Inner::Channel(body)),
        )
    }
}

impl Default for Body {
    fn default() -> Self {
        Self::empty()
    }
}

macro_rules! body_from {
    ($($source:ty),* $(,)?) => {
        $(
            impl From<$source> for Body {
                fn from(bytes: $source) -> Self {
                    let bytes = Bytes::from(bytes);
                    Body(Inner::Full((!bytes.is_empty()).then_some(bytes)))
                }
            }
        )*
    };
}

body_from!(&'static [u8], Vec<u8>, &'static str, String, Bytes);

impl From<Cow<'static, [u8]>> for Body {
    fn from(bytes: Cow<'static, [u8]>) -> Self {
        match bytes {
            Cow::Borrowed(bytes) => bytes.into(),
            Cow::Owned(bytes) => bytes.into(),
        }
    }
}

impl From<Cow<'static, str>> for Body {
    fn from(text: Cow<'static, str>) -> Self {
        match text {
            Cow::Borrowed(text) => text.into(),
            Cow::Owned(text) => text.into(),
        }
    }
}

impl Stream for Body {
    type Item = Result<Bytes, Error>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        match &mut self.0 {
            Inner::Full(bytes) => Poll::Ready(bytes.take().map(Ok)),
            Inner::Channel(chunks) => Pin::new(chunks).poll_next(cx),
        }
    }
}

impl http_body::Body for Body {
    type Data = Bytes;
    type Error = Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Bytes>, Error>>> {
        self.poll_next(cx)
            .map(|chunk| chunk.map(|chunk| chunk.map(http_body::Frame::data)))
    }

    fn is_end_stream(&self) -> bool {
        matches!(&self.0, Inner::Full(None))
    }
}

/// Writes a [`Body`] made by [`channel`].
#[must_use = "Sender does nothing unless sent on"]
pub struct Sender {
    data: futures_channel::mpsc::Sender<Result<Bytes, Error>>,
    trailers_sent: bool,
}

impl Sender {
    /// Ready when the body can take another chunk; an error once the body
    /// has been dropped.
    pub fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        self.data
            .poll_ready(cx)
            .map_err(|_| Error::from(SenderError::ChannelClosed))
    }

    /// Sends a chunk once the body has taken the previous one.
    pub async fn send_data(&mut self, chunk: Bytes) -> Result<(), Error> {
        std::future::poll_fn(|cx| self.poll_ready(cx)).await?;
        self.data
            .try_send(Ok(chunk))
            .map_err(|_| SenderError::ChannelClosed.into())
    }

    /// Sends a chunk if the body can take it now; gives it back if not.
    pub fn try_send_data(&mut self, chunk: Bytes) -> Result<(), Bytes> {
        self.data
            .try_send(Ok(chunk))
            .map_err(|error| error.into_inner().expect("the chunk just sent is an Ok"))
    }

    /// Trailers: a streamed Lambda response has none to send, so they are
    /// accepted once and dropped, as lambda_runtime's stream drops them.
    pub async fn send_trailers(&mut self, _trailers: http::HeaderMap) -> Result<(), Error> {
        if std::mem::replace(&mut self.trailers_sent, true) {
            return Err(SenderError::ChannelClosed.into());
        }
        Ok(())
    }

    /// Ends the body with an error: the invocation fails after the chunks
    /// already sent.
    pub fn send_error(&mut self, error: Error) {
        // A clone has a slot of its own, so this sends even when the body
        // has not taken the last chunk yet.
        let _ = self.data.clone().try_send(Err(error));
    }

    /// Ends the body with the error "user body write aborted".
    pub fn abort(mut self) {
        self.send_error(SenderError::BodyWriteAborted.into());
    }
}

#[derive(Debug)]
enum SenderError {
    ChannelClosed,
    BodyWriteAborted,
}

impl std::fmt::Display for SenderError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            SenderError::ChannelClosed => "channel closed",
            SenderError::BodyWriteAborted => "user body write aborted",
        })
    }
}

impl std::error::Error for SenderError {}
