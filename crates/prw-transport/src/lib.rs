//! HTTP transport for Prometheus Remote Write: carries one encoded, compressed request to one
//! endpoint and reports exactly what happened. It knows nothing of metrics.
//!
//! # Overview
//!
//! - [`Transport`] is the seam: one async [`send`](Transport::send) of a prepared [`Request`]
//!   that returns the server's [`Response`] (status, [`RetryAfter`], the RW 2.0 [`Written`]
//!   counts, the first 1 KiB of the body) or an opaque [`Error`] with predicates
//!   ([`is_timeout`](Error::is_timeout), [`is_connect`](Error::is_connect),
//!   [`is_tls`](Error::is_tls), [`is_proxy`](Error::is_proxy), ...). Swap it for a test double
//!   or another HTTP stack.
//! - [`HttpTransport`] is the default: hyper 1 with hyper-util's pooled client and hyper-rustls
//!   (rustls with the ring provider; no OpenSSL). HTTP/1.1 by default, HTTP/2 on request,
//!   `User-Agent: prw/<version>`.
//! - [`HttpTransportBuilder`] holds every option and checks them all in
//!   [`build`](HttpTransportBuilder::build): each mistake is its own [`BuildError`] variant
//!   whose message says how to fix it.
//! - Authentication is one pluggable step, [`Authenticate`], that sees the finished request;
//!   [`BasicAuth`] and [`BearerToken`] implement it. Passwords and tokens are [`Secret`]s, given
//!   as values or files that are re-read for every request.
//! - TLS: the system trust store by default, or a CA file; client certificates (mTLS); a
//!   server name override; a minimum version; `insecure_skip_verify` only when asked, with a
//!   warning. Proxies: an explicit `http://` proxy (CONNECT for `https://` endpoints) or, when
//!   asked, `HTTPS_PROXY` / `HTTP_PROXY` / `NO_PROXY`.
//!
//! Secrets never appear in `Debug`, logs or errors; the `Authorization` header is marked
//! sensitive.
//!
//! # Example
//!
//! ```
//! use std::time::Duration;
//! use prw_transport::{HttpTransport, Secret, Transport};
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let transport = HttpTransport::builder()
//!     .endpoint("https://mimir.example:443/api/v1/push")
//!     .timeout(Duration::from_secs(10))
//!     .basic_auth("team-a", Secret::new("hunter2"))
//!     .tenant_id("team-a")
//!     .build()?;
//! assert_eq!(transport.endpoint(), "https://mimir.example:443/api/v1/push");
//! assert!(!format!("{transport:?}").contains("hunter2"));
//!
//! // What the exporter does with it (needs a tokio runtime and a server):
//! async fn push(transport: &dyn Transport, request: prw_transport::Request) {
//!     match transport.send(request).await {
//!         Ok(response) if response.status.is_success() => {}
//!         Ok(response) => eprintln!("{}: {}", response.status, response.body_text()),
//!         Err(error) if error.is_timeout() => eprintln!("retry later: {error}"),
//!         Err(error) => eprintln!("{error}"),
//!     }
//! }
//! let mut headers = http::HeaderMap::new();
//! headers.insert("content-type", http::HeaderValue::from_static("application/x-protobuf"));
//! let request = transport.post(headers, bytes::Bytes::from_static(b"snappy body"));
//! assert_eq!(request.uri, *transport.endpoint());
//! # let _ = push;
//! # Ok(())
//! # }
//! ```
//!
//! A misconfiguration is reported when built:
//!
//! ```
//! use prw_transport::{BuildError, HttpTransport, Secret};
//!
//! let error = HttpTransport::builder()
//!     .endpoint("https://prometheus:9090/api/v1/write")
//!     .basic_auth("me", Secret::new("pw"))
//!     .bearer_token(Secret::from_file("/run/secrets/token"))
//!     .build()
//!     .unwrap_err();
//! assert!(matches!(error, BuildError::ConflictingAuth { .. }));
//! assert_eq!(
//!     error.to_string(),
//!     "both basic_auth and bearer_token are set: a transport authenticates in one way, keep one"
//! );
//! ```
//!
//! # Endpoint ownership
//!
//! An [`HttpTransport`] is built for one endpoint and sends only there: fill [`Request::uri`]
//! from [`HttpTransport::endpoint`] (or use [`HttpTransport::post`]). See [`HttpTransport`].
//!
//! # Runtime
//!
//! Sending needs a tokio runtime (multi-threaded or current-thread); building does not.
//!
//! # Feature flags
//!
//! None: one implementation, one crypto provider (ring), nothing chosen by feature priority.
//!
//! # MSRV
//!
//! The workspace's `rust-version` (1.85).
#![warn(missing_docs)]

mod auth;
mod builder;
mod connector;
mod error;
mod proxy;
mod response;
mod secret;
mod tls;
mod transport;

use std::future::Future;
use std::pin::Pin;

use bytes::Bytes;

pub use auth::{AuthFuture, Authenticate, BasicAuth, BearerToken};
pub use builder::{BuildError, DEFAULT_TIMEOUT, HttpTransportBuilder, TENANT_HEADER};
pub use error::{BoxError, Error, ErrorKind, TlsFailure};
pub use proxy::{ALL_PROXY, HTTP_PROXY, HTTPS_PROXY, NO_PROXY};
pub use response::{
    EXEMPLARS_WRITTEN, HISTOGRAMS_WRITTEN, MAX_BODY, Response, RetryAfter, SAMPLES_WRITTEN, Written,
};
pub use secret::{Secret, SecretError};
pub use tls::{ParseTlsVersionError, TlsVersion};
pub use transport::{HttpTransport, USER_AGENT};

/// A prepared request: everything the transport needs to send one remote-write body.
#[derive(Debug, Clone)]
pub struct Request {
    /// Usually POST.
    pub method: http::Method,
    /// The endpoint: for [`HttpTransport`], its [`endpoint`](HttpTransport::endpoint) (or a
    /// path on it); other transports may accept any URI.
    pub uri: http::Uri,
    /// Protocol headers (Content-Type, Content-Encoding, version, ...). Auth and the
    /// user's extra headers are added by the transport.
    pub headers: http::HeaderMap,
    /// The encoded, compressed body.
    pub body: Bytes,
}

/// A boxed `Send` future returned by [`Transport::send`].
pub type SendFuture<'a> = Pin<Box<dyn Future<Output = Result<Response, Error>> + Send + 'a>>;

/// Carries one request to one endpoint and reports exactly what happened.
///
/// An implementation sends the request once: no retries (the exporter owns retries, backoff and
/// ordering), no interpretation of the status (a 500 is an `Ok(Response)`). `Err` means no HTTP
/// status was received.
///
/// A test double:
///
/// ```
/// use prw_transport::{Request, Response, SendFuture, Transport};
///
/// #[derive(Debug)]
/// struct AlwaysBusy;
///
/// impl Transport for AlwaysBusy {
///     fn send(&self, _request: Request) -> SendFuture<'_> {
///         Box::pin(async {
///             let mut response = Response::new(http::StatusCode::SERVICE_UNAVAILABLE);
///             response.retry_after = prw_transport::RetryAfter::parse("5");
///             Ok(response)
///         })
///     }
/// }
///
/// let shared: std::sync::Arc<dyn Transport> = std::sync::Arc::new(AlwaysBusy);
/// # let _ = shared;
/// ```
pub trait Transport: std::fmt::Debug + Send + Sync + 'static {
    /// Send the request. Runs on a tokio runtime.
    fn send(&self, request: Request) -> SendFuture<'_>;
}

impl<T: Transport + ?Sized> Transport for std::sync::Arc<T> {
    fn send(&self, request: Request) -> SendFuture<'_> {
        (**self).send(request)
    }
}

impl<T: Transport + ?Sized> Transport for Box<T> {
    fn send(&self, request: Request) -> SendFuture<'_> {
        (**self).send(request)
    }
}
