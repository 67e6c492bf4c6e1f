//! The debug receiver: accepts Remote Write 1.0 and 2.0 and reports what arrived.
//!
//! It is what `prw receive` runs and what the sample app embeds: an HTTP server that takes
//! `POST`s on any path, detects the protocol from `Content-Type`, snappy- and protobuf-decodes
//! the body, resolves RW 2.0 symbol references, and checks the request against the specs:
//! headers, framed snappy, label sorting and uniqueness, empty names and values, missing
//! `__name__`, invalid names, the RW 2.0 symbol table, samples and histograms mixed in a series,
//! inconsistent native histograms, and samples out of order per series — within a request and
//! across requests. Each finding is a [`Problem`] of a [`Severity`].
//!
//! It answers like a real backend: 204 (RW 2.0 with the
//! `X-Prometheus-Remote-Write-{Samples,Histograms,Exemplars}-Written` headers), 415 for an
//! unsupported content type or encoding, 400 for a body that does not decode (or uses framed
//! snappy), 413 for one that is too large, 405 for other methods. Spec violations are accepted
//! with a warning unless [`ReceiverBuilder::reject_invalid`] is set.
//!
//! # Example
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> std::io::Result<()> {
//! use prw::receiver::Receiver;
//!
//! let mut receiver = Receiver::bind("127.0.0.1:0").await?;
//! let endpoint = receiver.endpoint(); // point a sender here
//! # drop(endpoint);
//! while let Some(request) = receiver.try_recv() {
//!     for series in &request.series {
//!         println!("{series}"); // http_requests_total{code="200"} 42 1700000000000
//!     }
//!     for problem in &request.problems {
//!         eprintln!("{problem}"); // error [unsorted-labels] series 0: ...
//!     }
//! }
//! receiver.shutdown().await;
//! # Ok(())
//! # }
//! ```
//!
//! Without a tokio runtime, use [`BlockingReceiver`], which serves from a thread of its own.

mod check;
mod decode;
mod exposition;
mod inspect;
mod problem;
mod request;
mod server;

pub use exposition::{
    HistogramBucket, format_histogram, format_value, histogram_buckets, metric_type_name,
    write_series_name,
};
pub use inspect::{Inspection, inspect};
pub use problem::{Problem, ProblemKind, Severity};
pub use request::{
    Exemplar, MetricMetadata, ReceivedRequest, RemoteWriteVersion, Response, Series, WireMessage,
};
pub use server::{
    BlockingReceiver, DEFAULT_MAX_BODY_BYTES, DEFAULT_QUEUE_CAPACITY, Receiver, ReceiverBuilder,
};
