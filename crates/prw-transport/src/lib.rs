//! prw-transport (being written). The trait below is the agreed interface.
#![warn(missing_docs)]

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use bytes::Bytes;

/// A prepared request: everything the transport needs to send one remote-write body.
#[derive(Debug, Clone)]
pub struct Request {
    /// Usually POST.
    pub method: http::Method,
    /// The endpoint.
    pub uri: http::Uri,
    /// Protocol headers (Content-Type, Content-Encoding, version, ...). Auth and the
    /// user's extra headers are added by the transport.
    pub headers: http::HeaderMap,
    /// The encoded, compressed body.
    pub body: Bytes,
}

/// When the server asked us to retry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RetryAfter {
    /// `Retry-After: <seconds>`.
    Delay(Duration),
    /// `Retry-After: <HTTP date>`.
    At(std::time::SystemTime),
}

/// The RW 2.0 `X-Prometheus-Remote-Write-*-Written` counts; `None` when absent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Written {
    /// `X-Prometheus-Remote-Write-Samples-Written`.
    pub samples: Option<i64>,
    /// `X-Prometheus-Remote-Write-Histograms-Written`.
    pub histograms: Option<i64>,
    /// `X-Prometheus-Remote-Write-Exemplars-Written`.
    pub exemplars: Option<i64>,
}

/// What the server answered.
#[derive(Debug, Clone)]
pub struct Response {
    /// The HTTP status.
    pub status: http::StatusCode,
    /// `Retry-After`, when present and valid.
    pub retry_after: Option<RetryAfter>,
    /// The RW 2.0 written counts.
    pub written: Written,
    /// At most the first 1 KiB of the body (for error messages).
    pub body: Bytes,
}

/// A boxed `Send` future returned by [`Transport::send`].
pub type SendFuture<'a> = Pin<Box<dyn Future<Output = Result<Response, Error>> + Send + 'a>>;

/// Carries one request to one endpoint and reports exactly what happened.
pub trait Transport: std::fmt::Debug + Send + Sync + 'static {
    /// Send the request. Runs on a tokio runtime.
    fn send(&self, request: Request) -> SendFuture<'_>;
}

/// A transport failure (no HTTP status was received). Opaque; ask it with the predicates.
#[derive(Debug)]
pub struct Error {
    _private: (),
}
