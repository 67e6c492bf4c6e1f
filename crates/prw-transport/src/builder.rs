//! [`HttpTransportBuilder`]: every option of the HTTP transport, validated in
//! [`build`](HttpTransportBuilder::build).

use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use http::header::{self, HeaderName};
use http::{HeaderMap, HeaderValue, Uri};

use crate::auth::{Authenticate, BasicAuth, BearerToken};
use crate::proxy::{Proxy, Route};
use crate::secret::{Secret, SecretError};
use crate::tls::{TlsOptions, TlsVersion};
use crate::transport::HttpTransport;

/// The request timeout when none is set: 30 s, as Prometheus' `remote_timeout`.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);

/// The multi-tenancy header of Cortex, Mimir, Loki and Tempo, set by
/// [`HttpTransportBuilder::tenant_id`].
pub const TENANT_HEADER: &str = "X-Scope-OrgID";

/// The remote-write protocol headers: set by the exporter, never by extra headers.
const RESERVED: [&str; 4] =
    ["content-encoding", "content-type", "x-prometheus-remote-write-version", "user-agent"];

/// Headers that describe the connection or the message framing; the HTTP client sets them.
const CONNECTION: [&str; 9] = [
    "host",
    "content-length",
    "transfer-encoding",
    "connection",
    "keep-alive",
    "proxy-connection",
    "te",
    "trailer",
    "upgrade",
];

/// A configuration mistake found by [`HttpTransportBuilder::build`]. Each message says how to
/// fix it and never contains a secret.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BuildError {
    /// No endpoint was given.
    #[error("no endpoint URL: call endpoint(\"https://host:port/api/v1/write\")")]
    MissingEndpoint,
    /// The endpoint is not a URL.
    #[error("the endpoint URL {url:?} is not valid ({reason}); write it as https://host:port/path")]
    InvalidEndpoint {
        /// The URL as given (credentials in it are replaced by `***`).
        url: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The endpoint's scheme is neither `http` nor `https`.
    #[error("the endpoint scheme {scheme:?} is not supported: use http:// or https://")]
    EndpointScheme {
        /// The scheme given.
        scheme: String,
    },
    /// The endpoint has no host.
    #[error("the endpoint URL has no host: write it as https://host:port/path")]
    EndpointWithoutHost,
    /// The endpoint carries `user:password@`.
    #[error(
        "the endpoint URL holds credentials (user:password@host): remove them and use basic_auth instead, which keeps them out of logs"
    )]
    EndpointCredentials,
    /// The timeout is zero.
    #[error("the request timeout is zero: give a positive duration (the default is 30s)")]
    ZeroTimeout,
    /// Basic auth with an empty username.
    #[error("the basic-auth username is empty: give the username the server expects")]
    EmptyUsername,
    /// Basic auth with a `:` in the username, which basic auth cannot carry.
    #[error("the basic-auth username contains ':', which HTTP basic authentication cannot carry")]
    UsernameWithColon,
    /// The basic-auth password is empty or its file cannot be read.
    #[error("basic-auth password: {source}")]
    Password {
        /// Why.
        source: SecretError,
    },
    /// The bearer token is empty or its file cannot be read.
    #[error("bearer token: {source}")]
    Token {
        /// Why.
        source: SecretError,
    },
    /// The bearer token cannot go in a header.
    #[error(
        "the bearer token holds characters not allowed in an HTTP header (only visible ASCII and spaces); check the token or its file"
    )]
    InvalidToken,
    /// Two ways of authenticating were configured.
    #[error("both {first} and {second} are set: a transport authenticates in one way, keep one")]
    ConflictingAuth {
        /// The first one.
        first: &'static str,
        /// The second one.
        second: &'static str,
    },
    /// An extra header name is not a valid HTTP header name.
    #[error("{name:?} is not a valid HTTP header name (letters, digits and !#$%&'*+-.^_`|~ only)")]
    InvalidHeaderName {
        /// The name given.
        name: String,
    },
    /// An extra header value is not valid in HTTP (the value is not repeated here: it may be secret).
    #[error(
        "the value of header {name} holds characters not allowed in HTTP (control characters or newlines)"
    )]
    InvalidHeaderValue {
        /// The header's name.
        name: String,
    },
    /// An extra header would override a remote-write protocol header.
    #[error(
        "the {name} header is part of the remote-write protocol and set by the exporter; it cannot be overridden"
    )]
    ReservedHeader {
        /// The header's name.
        name: String,
    },
    /// `Authorization` given as an extra header.
    #[error(
        "the Authorization header is set by authentication: use basic_auth, bearer_token or authenticator instead"
    )]
    AuthorizationHeader,
    /// `Proxy-Authorization` given as an extra header.
    #[error(
        "the Proxy-Authorization header is set by the proxy configuration: use proxy_basic_auth or credentials in the proxy URL"
    )]
    ProxyAuthorizationHeader,
    /// A connection-level header (Host, Content-Length, ...) given as an extra header.
    #[error("the {name} header is managed by the HTTP client and cannot be set")]
    ConnectionHeader {
        /// The header's name.
        name: String,
    },
    /// The same extra header given twice (tenant_id counts as X-Scope-OrgID).
    #[error("the header {name} is given twice: keep one")]
    DuplicateHeader {
        /// The header's name.
        name: String,
    },
    /// The tenant id is empty or not a valid header value.
    #[error("the tenant id (X-Scope-OrgID) is empty or holds characters not allowed in HTTP")]
    InvalidTenant,
    /// A TLS option was set for an `http://` endpoint.
    #[error(
        "{option} is set but the endpoint is http://: use an https:// endpoint or remove the TLS options"
    )]
    TlsWithoutHttps {
        /// The first TLS option found.
        option: &'static str,
    },
    /// The CA file cannot be used.
    #[error("the CA file {} cannot be used: {reason}", path.display())]
    CaFile {
        /// The file.
        path: PathBuf,
        /// Why.
        reason: String,
    },
    /// No usable certificate in the system trust store.
    #[error(
        "no trusted CA certificates found in the system trust store ({detail}): install the ca-certificates package or give tls_ca_file"
    )]
    NoSystemRoots {
        /// What the loader reported.
        detail: String,
    },
    /// A client certificate without its key.
    #[error("tls_client_cert_file is set without tls_client_key_file: give both or neither")]
    ClientCertWithoutKey,
    /// A client key without its certificate.
    #[error("tls_client_key_file is set without tls_client_cert_file: give both or neither")]
    ClientKeyWithoutCert,
    /// The client certificate file cannot be used.
    #[error("the client certificate file {} cannot be used: {reason}", path.display())]
    ClientCert {
        /// The file.
        path: PathBuf,
        /// Why.
        reason: String,
    },
    /// The client key file cannot be used (its content is never quoted).
    #[error("the client key file {} cannot be used: {reason}; it must hold one PEM private key (PKCS#8, PKCS#1 or SEC1)", path.display())]
    ClientKey {
        /// The file.
        path: PathBuf,
        /// Why.
        reason: String,
    },
    /// The client key does not belong to the client certificate.
    #[error("the client key {} does not match the certificate {}: give the key the certificate was issued for", key.display(), cert.display())]
    ClientKeyMismatch {
        /// The certificate file.
        cert: PathBuf,
        /// The key file.
        key: PathBuf,
    },
    /// The TLS server name override is not a DNS name or IP address.
    #[error("the TLS server name {name:?} is not a valid DNS name or IP address")]
    InvalidServerName {
        /// The name given.
        name: String,
    },
    /// `insecure_skip_verify` together with a CA file.
    #[error(
        "insecure_skip_verify and tls_ca_file are both set: verification with the CA file or none at all, keep one"
    )]
    InsecureWithCaFile,
    /// rustls refused the protocol versions (not expected with the built-in ring provider).
    #[error("the TLS configuration was refused: {reason}")]
    Tls {
        /// What rustls said.
        reason: String,
    },
    /// The proxy URL is not valid.
    #[error("the proxy URL is not valid ({reason}): write it as http://host:port")]
    InvalidProxy {
        /// Why.
        reason: String,
    },
    /// The proxy URL's scheme is not `http`.
    #[error(
        "proxy scheme {scheme:?} is not supported: only http:// proxies are (they carry https:// endpoints through CONNECT)"
    )]
    ProxyScheme {
        /// The scheme.
        scheme: String,
    },
    /// Credentials both in the proxy URL and given apart.
    #[error(
        "proxy credentials are given both in the proxy URL and with proxy_basic_auth: keep one"
    )]
    ProxyCredentialsTwice,
    /// Proxy credentials without a proxy.
    #[error("proxy_basic_auth is set without proxy: give the proxy URL too")]
    ProxyAuthWithoutProxy,
    /// Proxy username empty or with `:`.
    #[error("the proxy username is empty or contains ':'")]
    ProxyUsername,
    /// The proxy password is empty or its file cannot be read.
    #[error("proxy password: {source}")]
    ProxyPassword {
        /// Why.
        source: SecretError,
    },
    /// An explicit proxy and the environment's.
    #[error(
        "both proxy and proxy_from_env are set: use the explicit proxy or the environment variables, not both"
    )]
    ProxyAndProxyFromEnv,
    /// HTTP/2 over `http://` (prior knowledge) through a forwarding proxy, which speaks HTTP/1.1.
    #[error(
        "http2 over an http:// endpoint cannot go through a proxy (a forwarding proxy speaks HTTP/1.1): use an https:// endpoint, where HTTP/2 is negotiated inside the tunnel, or turn http2 off"
    )]
    Http2ThroughProxy,
}

/// Builds an [`HttpTransport`]. Setters take and return the builder; nothing is checked until
/// [`build`](HttpTransportBuilder::build), which reports the first mistake.
#[derive(Clone)]
pub struct HttpTransportBuilder {
    endpoint: Option<String>,
    timeout: Duration,
    basic_auth: Option<(String, Secret)>,
    bearer_token: Option<Secret>,
    authenticator: Option<Arc<dyn Authenticate>>,
    headers: Vec<(String, String)>,
    tenant_id: Option<String>,
    tls: TlsOptions,
    proxy: Option<String>,
    proxy_auth: Option<(String, Secret)>,
    proxy_from_env: bool,
    http2: bool,
}

impl Default for HttpTransportBuilder {
    fn default() -> Self {
        HttpTransportBuilder {
            endpoint: None,
            timeout: DEFAULT_TIMEOUT,
            basic_auth: None,
            bearer_token: None,
            authenticator: None,
            headers: Vec::new(),
            tenant_id: None,
            tls: TlsOptions::default(),
            proxy: None,
            proxy_auth: None,
            proxy_from_env: false,
            http2: false,
        }
    }
}

impl fmt::Debug for HttpTransportBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Header values, URLs with credentials in them and secrets stay out.
        f.debug_struct("HttpTransportBuilder")
            .field("endpoint", &self.endpoint.as_deref().map(redact_url))
            .field("timeout", &self.timeout)
            .field("basic_auth", &self.basic_auth.as_ref().map(|(user, password)| (user, password)))
            .field("bearer_token", &self.bearer_token)
            .field("authenticator", &self.authenticator)
            .field("headers", &self.headers.iter().map(|(name, _)| name).collect::<Vec<_>>())
            .field("tenant_id", &self.tenant_id)
            .field("tls", &self.tls)
            .field("proxy", &self.proxy.as_deref().map(redact_url))
            .field("proxy_auth", &self.proxy_auth.as_ref().map(|_| "***"))
            .field("proxy_from_env", &self.proxy_from_env)
            .field("http2", &self.http2)
            .finish()
    }
}

/// `scheme://***@host...` for a URL with credentials; the URL unchanged otherwise.
pub(crate) fn redact_url(url: &str) -> String {
    let (scheme, rest) = match url.split_once("://") {
        Some((scheme, rest)) => (Some(scheme), rest),
        None => (None, url),
    };
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(authority_end);
    let authority = match authority.rsplit_once('@') {
        Some((_, host)) => format!("***@{host}"),
        None => authority.to_owned(),
    };
    let tail = match tail.split_once('?') {
        Some((path, _)) => format!("{path}?***"),
        None => tail.to_owned(),
    };
    match scheme {
        Some(scheme) => format!("{scheme}://{authority}{tail}"),
        None => format!("{authority}{tail}"),
    }
}

impl HttpTransportBuilder {
    /// The remote-write URL, `http://` or `https://`, e.g. `https://prometheus:9090/api/v1/write`.
    /// Required. Credentials in it are refused: use [`basic_auth`](Self::basic_auth).
    pub fn endpoint(mut self, url: impl Into<String>) -> Self {
        self.endpoint = Some(url.into());
        self
    }

    /// The longest a request may take, from connecting to reading the answer (default 30 s).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// HTTP basic authentication. The password may be a file ([`Secret::from_file`]), re-read
    /// for every request.
    pub fn basic_auth(mut self, username: impl Into<String>, password: impl Into<Secret>) -> Self {
        self.basic_auth = Some((username.into(), password.into()));
        self
    }

    /// Bearer token authentication. The token may be a file ([`Secret::from_file`]), re-read for
    /// every request.
    pub fn bearer_token(mut self, token: impl Into<Secret>) -> Self {
        self.bearer_token = Some(token.into());
        self
    }

    /// A custom authentication step (e.g. request signing), instead of basic or bearer.
    pub fn authenticator(mut self, authenticator: impl Authenticate) -> Self {
        self.authenticator = Some(Arc::new(authenticator));
        self
    }

    /// An extra header sent with every request. The remote-write protocol headers
    /// (`Content-Encoding`, `Content-Type`, `X-Prometheus-Remote-Write-Version`, `User-Agent`),
    /// `Authorization` and connection headers are refused. Values are treated as sensitive.
    pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }

    /// Several extra headers; see [`header`](Self::header).
    pub fn headers<N, V>(mut self, headers: impl IntoIterator<Item = (N, V)>) -> Self
    where
        N: Into<String>,
        V: Into<String>,
    {
        self.headers.extend(headers.into_iter().map(|(name, value)| (name.into(), value.into())));
        self
    }

    /// The tenant for multi-tenant backends (Cortex, Mimir): sent as `X-Scope-OrgID`.
    pub fn tenant_id(mut self, tenant: impl Into<String>) -> Self {
        self.tenant_id = Some(tenant.into());
        self
    }

    /// Trust only the CAs in this PEM file, instead of the system trust store.
    pub fn tls_ca_file(mut self, path: impl Into<PathBuf>) -> Self {
        self.tls.ca_file = Some(path.into());
        self
    }

    /// The client certificate (PEM, leaf first) for mutual TLS; needs
    /// [`tls_client_key_file`](Self::tls_client_key_file).
    pub fn tls_client_cert_file(mut self, path: impl Into<PathBuf>) -> Self {
        self.tls.client_cert_file = Some(path.into());
        self
    }

    /// The client certificate's private key (PEM) for mutual TLS; needs
    /// [`tls_client_cert_file`](Self::tls_client_cert_file).
    pub fn tls_client_key_file(mut self, path: impl Into<PathBuf>) -> Self {
        self.tls.client_key_file = Some(path.into());
        self
    }

    /// Verify the server's certificate against this name instead of the endpoint's host (and
    /// send it as SNI).
    pub fn tls_server_name(mut self, name: impl Into<String>) -> Self {
        self.tls.server_name = Some(name.into());
        self
    }

    /// The lowest TLS version accepted (default TLS 1.2).
    pub fn tls_min_version(mut self, version: TlsVersion) -> Self {
        self.tls.min_version = Some(version);
        self
    }

    /// Do not verify the server's certificate. Anyone on the network path can then read and
    /// change what is sent, credentials included: for tests only. Logged as a warning.
    pub fn insecure_skip_verify(mut self, skip: bool) -> Self {
        self.tls.insecure_skip_verify = skip;
        self
    }

    /// Send through this HTTP proxy (`http://[user:password@]host:port`): `https://` endpoints
    /// through a CONNECT tunnel, `http://` endpoints by forwarding.
    ///
    /// A proxy that refuses a tunnel fails the request with [`Error::is_proxy`](crate::Error::is_proxy).
    /// A forwarding proxy answers in the server's place, so for `http://` endpoints its refusal
    /// (407, 403, 502) arrives as the response's status.
    pub fn proxy(mut self, url: impl Into<String>) -> Self {
        self.proxy = Some(url.into());
        self
    }

    /// Credentials for the [`proxy`](Self::proxy); the password may be a file.
    pub fn proxy_basic_auth(
        mut self,
        username: impl Into<String>,
        password: impl Into<Secret>,
    ) -> Self {
        self.proxy_auth = Some((username.into(), password.into()));
        self
    }

    /// Use the proxy named by `HTTPS_PROXY` / `HTTP_PROXY` (or `ALL_PROXY`) unless `NO_PROXY`
    /// matches the endpoint, as curl does. Read once, by [`build`](Self::build). Off by default:
    /// the environment is only obeyed when asked.
    pub fn proxy_from_env(mut self, enabled: bool) -> Self {
        self.proxy_from_env = enabled;
        self
    }

    /// Offer HTTP/2. Over `https://` it is negotiated with ALPN (HTTP/1.1 if the server declines);
    /// over `http://` there is nothing to negotiate, so the transport speaks HTTP/2 from the start
    /// (prior knowledge, "h2c"), which the server must support. Default: HTTP/1.1 only.
    pub fn http2(mut self, enabled: bool) -> Self {
        self.http2 = enabled;
        self
    }

    /// Checks every option, reads the files once (CA, client certificate and key, password and
    /// token files) and builds the transport. Needs no runtime; sending does.
    ///
    /// # Errors
    /// The first mistake found, as a [`BuildError`] variant that says how to fix it.
    pub fn build(self) -> Result<HttpTransport, BuildError> {
        let endpoint =
            parse_endpoint(self.endpoint.as_deref().ok_or(BuildError::MissingEndpoint)?)?;
        if self.timeout.is_zero() {
            return Err(BuildError::ZeroTimeout);
        }
        let authenticator = self.build_authenticator()?;
        let headers = self.extra_headers()?;

        let https = endpoint.scheme() == Some(&http::uri::Scheme::HTTPS);
        if !https {
            if let Some(option) = self.tls.first_set() {
                return Err(BuildError::TlsWithoutHttps { option });
            }
        }
        let tls = if https { Some(crate::tls::build(&self.tls)?) } else { None };

        let proxy = match (&self.proxy, &self.proxy_auth, self.proxy_from_env) {
            (Some(_), _, true) => return Err(BuildError::ProxyAndProxyFromEnv),
            (None, Some(_), _) => return Err(BuildError::ProxyAuthWithoutProxy),
            (Some(url), auth, false) => Some(Proxy::parse(url, auth.clone())?),
            (None, None, true) => Proxy::from_env(&endpoint)?,
            (None, None, false) => None,
        };
        let route = match proxy {
            None => Route::Direct,
            Some(proxy) if https => Route::Tunnel(Arc::new(proxy)),
            Some(_) if self.http2 => return Err(BuildError::Http2ThroughProxy),
            Some(proxy) => Route::Forward(Arc::new(proxy)),
        };
        match route.proxy() {
            Some(proxy) => tracing::debug!(
                ?proxy,
                from_env = self.proxy_from_env,
                "remote write goes through a proxy"
            ),
            None if self.proxy_from_env => {
                tracing::debug!("no proxy in the environment for this endpoint")
            }
            None => {}
        }

        HttpTransport::new(crate::transport::Parts {
            endpoint,
            timeout: self.timeout,
            headers,
            authenticator,
            tls,
            route,
            http2: self.http2,
        })
    }

    fn build_authenticator(&self) -> Result<Option<Arc<dyn Authenticate>>, BuildError> {
        let set: Vec<&'static str> = [
            self.basic_auth.as_ref().map(|_| "basic_auth"),
            self.bearer_token.as_ref().map(|_| "bearer_token"),
            self.authenticator.as_ref().map(|_| "authenticator"),
        ]
        .into_iter()
        .flatten()
        .collect();
        if let [first, second, ..] = set[..] {
            return Err(BuildError::ConflictingAuth { first, second });
        }
        if let Some((username, password)) = &self.basic_auth {
            return Ok(Some(Arc::new(BasicAuth::new(username.clone(), password.clone())?)));
        }
        if let Some(token) = &self.bearer_token {
            return Ok(Some(Arc::new(BearerToken::new(token.clone())?)));
        }
        Ok(self.authenticator.clone())
    }

    fn extra_headers(&self) -> Result<HeaderMap, BuildError> {
        let mut headers = HeaderMap::new();
        let tenant = match &self.tenant_id {
            None => None,
            Some(tenant) if tenant.trim().is_empty() => return Err(BuildError::InvalidTenant),
            Some(tenant) => Some((
                TENANT_HEADER.to_owned(),
                HeaderName::from_static("x-scope-orgid"),
                HeaderValue::try_from(tenant.trim()).map_err(|_| BuildError::InvalidTenant)?,
            )),
        };
        let given = self.headers.iter().map(|(name, value)| {
            let name = name.trim().to_owned();
            let header = HeaderName::from_bytes(name.as_bytes())
                .map_err(|_| BuildError::InvalidHeaderName { name: name.clone() })?;
            let value = HeaderValue::try_from(value.trim())
                .map_err(|_| BuildError::InvalidHeaderValue { name: name.clone() })?;
            Ok((name, header, value))
        });
        for entry in given.chain(tenant.map(Ok)) {
            let (name, header, mut value) = entry?;
            if RESERVED.contains(&header.as_str()) {
                return Err(BuildError::ReservedHeader { name });
            }
            if header == header::AUTHORIZATION {
                return Err(BuildError::AuthorizationHeader);
            }
            if header == header::PROXY_AUTHORIZATION {
                return Err(BuildError::ProxyAuthorizationHeader);
            }
            if CONNECTION.contains(&header.as_str()) {
                return Err(BuildError::ConnectionHeader { name });
            }
            if headers.contains_key(&header) {
                return Err(BuildError::DuplicateHeader { name });
            }
            // Extra headers often carry API keys: keep them out of Debug and HPACK tables.
            value.set_sensitive(true);
            headers.insert(header, value);
        }
        Ok(headers)
    }
}

fn parse_endpoint(url: &str) -> Result<Uri, BuildError> {
    let url = url.trim();
    let uri: Uri = url.parse().map_err(|error: http::uri::InvalidUri| {
        BuildError::InvalidEndpoint { url: redact_url(url), reason: error.to_string() }
    })?;
    match uri.scheme_str() {
        Some("http" | "https") => {}
        Some(other) => {
            return Err(BuildError::EndpointScheme { scheme: other.to_owned() });
        }
        None => {
            return Err(BuildError::InvalidEndpoint {
                url: redact_url(url),
                reason: "it has no scheme".to_owned(),
            });
        }
    }
    let authority = uri.authority().ok_or(BuildError::EndpointWithoutHost)?;
    if authority.as_str().contains('@') {
        return Err(BuildError::EndpointCredentials);
    }
    if authority.host().is_empty() {
        return Err(BuildError::EndpointWithoutHost);
    }
    Ok(uri)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_are_redacted() {
        let cases = [
            ("https://user:pw@host:1/path?key=v", "https://***@host:1/path?***"),
            ("http://host/path", "http://host/path"),
            ("host:1@x", "***@x"),
            ("http://u@h", "http://***@h"),
            ("http://h/a@b", "http://h/a@b"),
        ];
        for (url, want) in cases {
            assert_eq!(redact_url(url), want, "{url}");
        }
    }

    #[test]
    fn endpoints() {
        assert!(matches!(parse_endpoint("http://:9090/x"), Err(BuildError::EndpointWithoutHost)));
        assert!(matches!(parse_endpoint("https://:0"), Err(BuildError::EndpointWithoutHost)));
        assert!(matches!(parse_endpoint("http:///x"), Err(BuildError::InvalidEndpoint { .. })));
        let uri = parse_endpoint("  https://[::1]:9090/api/v1/write \n").unwrap();
        assert_eq!(uri.host(), Some("[::1]"));
    }

    proptest::proptest! {
        #[test]
        fn endpoint_parsing_never_panics_nor_echoes_passwords(url in "\\PC*", password in "[a-z]{16}") {
            let with_password = format!("https://user:{password}@{url}");
            for candidate in [url.as_str(), with_password.as_str()] {
                if let Err(error) = parse_endpoint(candidate) {
                    proptest::prop_assert!(!error.to_string().contains(&password));
                }
            }
        }
    }
}
