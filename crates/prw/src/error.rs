//! Configuration mistakes found while building the exporter or the pipeline.

use std::time::Duration;

use prw_convert::TranslationStrategy;

/// A setting that cannot work. Every message names the setting and says how to fix it; none
/// contains a secret.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BuildError {
    /// No endpoint was configured.
    #[error("no endpoint: call .endpoint(\"http://host:9090/api/v1/write\") (or add_endpoint)")]
    MissingEndpoint,
    /// The endpoint URL cannot be used.
    #[error(
        "the endpoint URL {url:?} is not valid: {reason}; write it as http://host:port/path or https://host:port/path"
    )]
    InvalidEndpoint {
        /// The URL, with any credentials replaced by `***`.
        url: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The endpoint URL carries `user:password@`.
    #[error(
        "the endpoint URL holds credentials (user:password@host): remove them and use .basic_auth(user, password), which keeps them out of logs"
    )]
    EndpointCredentials,
    /// The same endpoint URL was configured twice.
    #[error("the endpoint {url} is configured twice: keep one")]
    DuplicateEndpoint {
        /// The endpoint.
        url: String,
    },
    /// An extra header cannot be sent.
    #[error("header {name:?}: {reason}")]
    InvalidHeader {
        /// The header's name.
        name: String,
        /// What is wrong (the value is never repeated: it may be a secret).
        reason: String,
    },
    /// The HTTP transport refused its configuration (TLS files, auth, proxy, ...).
    #[error("endpoint {url}: {source}")]
    Transport {
        /// The endpoint, without credentials.
        url: String,
        /// The transport's own error, which says how to fix it.
        #[source]
        source: prw_transport::BuildError,
    },
    /// An HTTP option was set on an endpoint that uses a custom transport.
    #[error(
        "{option} has no effect on an endpoint with a custom transport: configure it on that transport instead"
    )]
    OptionWithCustomTransport {
        /// The option.
        option: &'static str,
    },
    /// The conversion options are inconsistent.
    #[error("conversion options: {0}")]
    Convert(#[from] prw_convert::OptionsError),
    /// A UTF-8 naming strategy together with a possible fallback to RW 1.0.
    #[error(
        "translation strategy {0:?} keeps UTF-8 names, which Remote Write 1.0 cannot carry, but this protocol may fall back to 1.0: use Protocol::V2 with .fallback_to_v1(false), or an UnderscoreEscaping strategy"
    )]
    Utf8WithFallback(TranslationStrategy),
    /// A setting that must be positive is zero.
    #[error("{setting} is zero: give it a positive value (the default is {default})")]
    Zero {
        /// The setting.
        setting: &'static str,
        /// Its default, for the message.
        default: &'static str,
    },
    /// `min_backoff` is above `max_backoff`.
    #[error(
        "min_backoff ({min:?}) is greater than max_backoff ({max:?}): lower min_backoff or raise max_backoff"
    )]
    BackoffOrder {
        /// The minimum given.
        min: Duration,
        /// The maximum given.
        max: Duration,
    },
    /// A request size limit too small for any request.
    #[error(
        "max_request_bytes ({0}) is below 1 KiB, too small for a single series: the default is 3 MiB"
    )]
    RequestBytesTooSmall(usize),
    /// The collection interval is zero.
    #[error("the collection interval is zero: give a positive interval such as 15s")]
    ZeroInterval,
    /// The exporter's runtime thread could not be started.
    #[error("could not start the exporter's runtime thread: {0}")]
    Runtime(#[source] std::io::Error),
    /// An endpoint's persistent queue cannot be opened (its settings, its directory in use
    /// by another process, or the file system); the message says which and how to fix it.
    #[error("endpoint {url}: {source}")]
    PersistentQueue {
        /// The endpoint, without credentials.
        url: String,
        /// Why the queue could not be opened.
        #[source]
        source: crate::persistent_queue::OpenError,
    },
    /// No exporter was given to the pipeline.
    #[error(
        "no exporter: call .with_exporter(PrometheusRemoteWriteExporter::builder()...build()?)"
    )]
    MissingExporter,
}
