//! The opaque transport error and how a failure deep in hyper, rustls or the proxy becomes one.

use std::error::Error as StdError;
use std::fmt;
use std::time::Duration;

use rustls::{AlertDescription, CertificateError};

use crate::proxy::ProxyError;

/// A boxed error, as custom [`Authenticate`](crate::Authenticate) steps return them.
pub type BoxError = Box<dyn StdError + Send + Sync + 'static>;

/// A transport failure: no HTTP status was received.
///
/// Opaque; ask it with the predicates. Exactly one of [`is_timeout`](Error::is_timeout),
/// [`is_connect`](Error::is_connect), [`is_tls`](Error::is_tls), [`is_proxy`](Error::is_proxy),
/// [`is_auth`](Error::is_auth), [`is_invalid_request`](Error::is_invalid_request) and
/// [`is_io`](Error::is_io) is true. `Display` is a complete sentence for a log line, naming the
/// host and what to check; it never contains a secret. Don't parse it: it may change.
pub struct Error {
    inner: Box<Inner>,
}

struct Inner {
    kind: ErrorKind,
    message: String,
    source: Option<BoxError>,
}

/// What kind of failure an [`Error`] is; [`Error::kind`] returns it, the `is_*` predicates test it.
///
/// Public so that other [`Transport`](crate::Transport) implementations and test doubles can
/// build errors with [`Error::new`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ErrorKind {
    /// See [`Error::is_timeout`].
    Timeout,
    /// See [`Error::is_connect`].
    Connect,
    /// See [`Error::is_tls`].
    Tls(TlsFailure),
    /// See [`Error::is_proxy`].
    Proxy,
    /// See [`Error::is_auth`].
    Auth,
    /// See [`Error::is_invalid_request`].
    InvalidRequest,
    /// See [`Error::is_io`].
    Io,
}

/// Which TLS check failed, for [`Error::tls_failure`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum TlsFailure {
    /// The server's certificate is not signed by a CA we trust.
    UnknownIssuer,
    /// The server's certificate is not valid for the name we connected to (or the override).
    NameMismatch,
    /// The server's certificate has expired or is not valid yet.
    Expired,
    /// The server requires a client certificate and none is configured.
    ClientCertRequired,
    /// The server refused the client certificate we presented.
    ClientCertRejected,
    /// The server and we have no TLS version in common.
    ProtocolVersion,
    /// Any other TLS failure.
    Other,
}

impl Error {
    /// The request did not complete within the configured timeout.
    pub fn is_timeout(&self) -> bool {
        self.inner.kind == ErrorKind::Timeout
    }

    /// No TCP connection could be made to the server (refused, unreachable, DNS failure).
    pub fn is_connect(&self) -> bool {
        self.inner.kind == ErrorKind::Connect
    }

    /// The TLS handshake or session failed; [`tls_failure`](Error::tls_failure) says how.
    pub fn is_tls(&self) -> bool {
        matches!(self.inner.kind, ErrorKind::Tls(_))
    }

    /// The proxy could not be reached, refused the tunnel, or wants other credentials.
    pub fn is_proxy(&self) -> bool {
        self.inner.kind == ErrorKind::Proxy
    }

    /// The authentication step failed before anything was sent (e.g. a token file is unreadable).
    pub fn is_auth(&self) -> bool {
        self.inner.kind == ErrorKind::Auth
    }

    /// The request itself is unusable (e.g. its URI is not on the transport's endpoint); sending
    /// it again cannot succeed.
    pub fn is_invalid_request(&self) -> bool {
        self.inner.kind == ErrorKind::InvalidRequest
    }

    /// The connection failed while the request was under way (reset, closed early, not HTTP).
    pub fn is_io(&self) -> bool {
        self.inner.kind == ErrorKind::Io
    }

    /// Which TLS check failed, when [`is_tls`](Error::is_tls).
    pub fn tls_failure(&self) -> Option<TlsFailure> {
        match self.inner.kind {
            ErrorKind::Tls(failure) => Some(failure),
            _ => None,
        }
    }

    /// What kind of failure this is.
    pub fn kind(&self) -> ErrorKind {
        self.inner.kind
    }

    /// An error of this kind whose `Display` is `message` (for other transports and test
    /// doubles). Keep secrets out of the message.
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Error {
        Error::build(kind, message.into(), None)
    }

    /// As [`new`](Error::new), with the underlying error as its [`source`](StdError::source).
    pub fn with_source(
        kind: ErrorKind,
        message: impl Into<String>,
        source: impl Into<BoxError>,
    ) -> Error {
        Error::build(kind, message.into(), Some(source.into()))
    }

    fn build(kind: ErrorKind, message: String, source: Option<BoxError>) -> Error {
        Error { inner: Box::new(Inner { kind, message, source }) }
    }

    pub(crate) fn timeout(after: Duration, target: &str) -> Error {
        Error::build(
            ErrorKind::Timeout,
            format!("no complete response from {target} within the {after:?} timeout"),
            None,
        )
    }

    pub(crate) fn invalid_request(message: String) -> Error {
        Error::build(ErrorKind::InvalidRequest, message, None)
    }

    pub(crate) fn auth(source: BoxError) -> Error {
        Error::build(
            ErrorKind::Auth,
            format!("authentication failed before sending: {source}"),
            Some(source),
        )
    }

    /// Turns a failure of the HTTP client (or of reading the body) into an [`Error`], looking
    /// through the chain of causes for the proxy or TLS error at its root.
    pub(crate) fn from_http(source: BoxError, connecting: bool, context: &Context) -> Error {
        let mut tls = None;
        let mut proxy = None;
        for cause in causes(&*source) {
            if let Some(error) = cause.downcast_ref::<ProxyError>() {
                proxy = Some(error.to_string());
                break;
            }
            if let Some(error) = cause.downcast_ref::<rustls::Error>() {
                tls = Some(describe_tls(error, context));
                break;
            }
        }
        let root = root_cause(&*source);
        let (kind, message) = if let Some(message) = proxy {
            (ErrorKind::Proxy, message)
        } else if let Some((failure, message)) = tls {
            (ErrorKind::Tls(failure), format!("TLS with {}: {message}", context.target))
        } else if connecting {
            (ErrorKind::Connect, format!("cannot connect to {}: {root}", context.target))
        } else {
            (
                ErrorKind::Io,
                format!("the connection to {} failed during the request: {root}", context.target),
            )
        };
        Error::build(kind, message, Some(source))
    }
}

/// What an error message may say about where the request went.
#[derive(Debug, Clone)]
pub(crate) struct Context {
    /// `host:port` of the endpoint.
    pub(crate) target: String,
    /// Whether a client certificate is configured (tells "required" from "rejected").
    pub(crate) has_client_cert: bool,
}

/// The chain of causes, looking inside `io::Error`s (whose `source()` skips the wrapped error).
fn causes<'a>(
    error: &'a (dyn StdError + 'static),
) -> impl Iterator<Item = &'a (dyn StdError + 'static)> {
    let mut next = Some(error);
    std::iter::from_fn(move || {
        let current = next?;
        next = match current.downcast_ref::<std::io::Error>() {
            Some(io) => match io.get_ref() {
                Some(inner) => Some(inner as &(dyn StdError + 'static)),
                None => current.source(),
            },
            None => current.source(),
        };
        Some(current)
    })
}

/// Every cause's text joined with ": ", leaving out a text its predecessor already holds.
pub(crate) fn chain_text(error: &(dyn StdError + 'static)) -> String {
    let mut text = String::new();
    for cause in causes(error) {
        let part = cause.to_string();
        if part.is_empty() || text.contains(&part) {
            continue;
        }
        if !text.is_empty() {
            text.push_str(": ");
        }
        text.push_str(&part);
    }
    text
}

fn root_cause(error: &(dyn StdError + 'static)) -> String {
    let mut last = error;
    for cause in causes(error) {
        last = cause;
    }
    last.to_string()
}

fn describe_tls(error: &rustls::Error, context: &Context) -> (TlsFailure, String) {
    use rustls::Error as E;
    match error {
        E::InvalidCertificate(CertificateError::UnknownIssuer) => (
            TlsFailure::UnknownIssuer,
            "the server's certificate is not signed by a trusted CA (unknown issuer); give the \
             CA that signed it with `tls_ca_file`, or check that this is the right server"
                .to_owned(),
        ),
        E::InvalidCertificate(CertificateError::NotValidForNameContext { expected, presented }) => {
            (
                TlsFailure::NameMismatch,
                format!(
                    "the server's certificate is not valid for the name {:?} (it is valid for {}); \
                 connect by a name the certificate holds or set `tls_server_name`",
                    expected.to_str(),
                    presented.iter().map(|name| plain_name(name)).collect::<Vec<_>>().join(", ")
                ),
            )
        }
        E::InvalidCertificate(CertificateError::NotValidForName) => (
            TlsFailure::NameMismatch,
            "the server's certificate is not valid for the name we connected to; connect by a \
             name the certificate holds or set `tls_server_name`"
                .to_owned(),
        ),
        E::InvalidCertificate(
            CertificateError::Expired
            | CertificateError::ExpiredContext { .. }
            | CertificateError::NotValidYet
            | CertificateError::NotValidYetContext { .. },
        ) => (
            TlsFailure::Expired,
            format!(
                "the server's certificate is outside its validity period ({error}); renew it or check the clocks"
            ),
        ),
        E::AlertReceived(AlertDescription::CertificateRequired) => client_cert_required(),
        E::AlertReceived(
            alert @ (AlertDescription::BadCertificate
            | AlertDescription::UnknownCA
            | AlertDescription::CertificateUnknown
            | AlertDescription::UnsupportedCertificate
            | AlertDescription::CertificateExpired
            | AlertDescription::CertificateRevoked
            | AlertDescription::AccessDenied),
        ) => {
            if context.has_client_cert {
                (
                    TlsFailure::ClientCertRejected,
                    format!(
                        "the server rejected our client certificate (alert {alert:?}); check that \
                         it is signed by a CA the server trusts and still valid"
                    ),
                )
            } else {
                client_cert_required()
            }
        }
        E::AlertReceived(AlertDescription::ProtocolVersion) | E::PeerIncompatible(_) => (
            TlsFailure::ProtocolVersion,
            format!(
                "the server and this client have no TLS version or cipher in common ({error}); check `tls_min_version`"
            ),
        ),
        other => (TlsFailure::Other, format!("TLS failed: {other}")),
    }
}

/// `DnsName("a.test")` (how rustls lists a certificate's names) → `a.test`.
fn plain_name(name: &str) -> &str {
    match (name.find('('), name.rfind(')')) {
        (Some(open), Some(close)) if open < close => name[open + 1..close].trim_matches('"'),
        _ => name,
    }
}

fn client_cert_required() -> (TlsFailure, String) {
    (
        TlsFailure::ClientCertRequired,
        "the server requires a client certificate and none is configured; set \
         `tls_client_cert_file` and `tls_client_key_file`"
            .to_owned(),
    )
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.inner.message)
    }
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Error")
            .field("kind", &self.inner.kind)
            .field("message", &self.inner.message)
            .finish()
    }
}

impl StdError for Error {
    fn source(&self) -> Option<&(dyn StdError + 'static)> {
        self.inner.source.as_ref().map(|source| &**source as &(dyn StdError + 'static))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn context(has_client_cert: bool) -> Context {
        Context { target: "example.test:443".to_owned(), has_client_cert }
    }

    fn wrapped(error: rustls::Error) -> BoxError {
        // As hyper-rustls and tokio-rustls hand it over: an io::Error inside an io::Error.
        let inner = std::io::Error::new(std::io::ErrorKind::InvalidData, error);
        Box::new(std::io::Error::other(inner))
    }

    #[test]
    fn tls_failures_are_found_inside_io_errors() {
        use rustls::Error as E;
        let name = rustls_pki_types::ServerName::try_from("wrong.test").unwrap();
        let cases = [
            (
                E::InvalidCertificate(CertificateError::UnknownIssuer),
                false,
                TlsFailure::UnknownIssuer,
                "tls_ca_file",
            ),
            (
                E::InvalidCertificate(CertificateError::NotValidForNameContext {
                    expected: name,
                    presented: vec!["DnsName(\"right.test\")".to_owned()],
                }),
                false,
                TlsFailure::NameMismatch,
                "(it is valid for right.test)",
            ),
            (
                E::InvalidCertificate(CertificateError::Expired),
                false,
                TlsFailure::Expired,
                "validity",
            ),
            (
                E::AlertReceived(AlertDescription::CertificateRequired),
                false,
                TlsFailure::ClientCertRequired,
                "tls_client_cert_file",
            ),
            (
                E::AlertReceived(AlertDescription::BadCertificate),
                false,
                TlsFailure::ClientCertRequired,
                "requires a client certificate",
            ),
            (
                E::AlertReceived(AlertDescription::BadCertificate),
                true,
                TlsFailure::ClientCertRejected,
                "rejected our client certificate",
            ),
            (
                E::AlertReceived(AlertDescription::ProtocolVersion),
                false,
                TlsFailure::ProtocolVersion,
                "tls_min_version",
            ),
            (E::DecryptError, false, TlsFailure::Other, "TLS failed"),
        ];
        for (error, has_cert, want, says) in cases {
            let error = Error::from_http(wrapped(error), true, &context(has_cert));
            assert!(error.is_tls(), "{error}");
            assert!(!error.is_connect() && !error.is_io() && !error.is_timeout());
            assert_eq!(error.tls_failure(), Some(want), "{error}");
            let text = error.to_string();
            assert!(text.contains(says), "{text:?} should say {says:?}");
            assert!(text.contains("example.test:443"), "{text}");
        }
    }

    #[test]
    fn other_failures_are_connect_or_io() {
        let refused = || -> BoxError {
            Box::new(std::io::Error::new(std::io::ErrorKind::ConnectionRefused, "refused!"))
        };
        let connect = Error::from_http(refused(), true, &context(false));
        assert!(connect.is_connect());
        assert_eq!(connect.tls_failure(), None);
        assert_eq!(connect.to_string(), "cannot connect to example.test:443: refused!");
        let io = Error::from_http(refused(), false, &context(false));
        assert!(io.is_io());
        assert!(io.to_string().contains("during the request"));
        assert!(io.source().is_some());
    }

    #[test]
    fn constructors_set_exactly_one_kind() {
        let errors = [
            Error::timeout(Duration::from_millis(1500), "h:1"),
            Error::invalid_request("bad".to_owned()),
            Error::auth("no token".into()),
        ];
        for error in &errors {
            let kinds = [
                error.is_timeout(),
                error.is_connect(),
                error.is_tls(),
                error.is_proxy(),
                error.is_auth(),
                error.is_invalid_request(),
                error.is_io(),
            ];
            assert_eq!(kinds.iter().filter(|k| **k).count(), 1, "{error:?}");
        }
        assert_eq!(errors[0].to_string(), "no complete response from h:1 within the 1.5s timeout");
        assert_eq!(errors[2].to_string(), "authentication failed before sending: no token");
    }
}
