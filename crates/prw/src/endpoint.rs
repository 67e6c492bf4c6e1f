//! One remote-write destination as the user configures it: URL, authentication, headers, TLS,
//! proxy, or a transport of their own.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use http::{HeaderName, HeaderValue, Uri};
use prw_transport::{
    Authenticate, HttpTransport, HttpTransportBuilder, Secret, TlsVersion, Transport,
};

use crate::error::BuildError;
use crate::persistent_queue::PersistentQueueConfig;
use crate::protocol::Protocol;

/// A remote-write endpoint and how to reach it.
///
/// The exporter builder configures its first endpoint directly
/// ([`endpoint`](crate::PrometheusRemoteWriteExporterBuilder::endpoint),
/// [`basic_auth`](crate::PrometheusRemoteWriteExporterBuilder::basic_auth), ...); further
/// endpoints (replication, migration) are built with this type and added with
/// [`add_endpoint`](crate::PrometheusRemoteWriteExporterBuilder::add_endpoint). Each endpoint
/// has its own queue, retries and failures.
///
/// ```
/// # fn main() -> Result<(), prw::BuildError> {
/// let mirror = prw::Endpoint::new("https://vm.example.com/api/v1/write")?
///     .bearer_token("s3cr3t")
///     .header("X-Team", "checkout")?;
/// # let _ = mirror; Ok(()) }
/// ```
#[derive(Debug)]
pub struct Endpoint {
    pub(crate) url: Option<Uri>,
    pub(crate) http: HttpTransportBuilder,
    pub(crate) custom: Option<Arc<dyn Transport>>,
    /// The first HTTP option set, for the error when a custom transport makes it meaningless.
    http_option: Option<&'static str>,
    pub(crate) protocol: Option<Protocol>,
    pub(crate) persistent: Option<PersistentQueueConfig>,
}

impl Endpoint {
    pub(crate) fn unset() -> Endpoint {
        Endpoint {
            url: None,
            http: HttpTransport::builder(),
            custom: None,
            http_option: None,
            protocol: None,
            persistent: None,
        }
    }

    /// An endpoint at `url` (`http://` or `https://`, e.g. `http://localhost:9090/api/v1/write`).
    pub fn new(url: &str) -> Result<Endpoint, BuildError> {
        let mut e = Endpoint::unset();
        e.set_url(url)?;
        Ok(e)
    }

    /// An endpoint at `url` reached through your own [`Transport`] (a test double, another
    /// HTTP stack, a request-signing wrapper). HTTP options do not apply to it.
    pub fn with_transport(
        url: &str,
        transport: Arc<dyn Transport>,
    ) -> Result<Endpoint, BuildError> {
        let mut e = Endpoint::new(url)?;
        e.custom = Some(transport);
        Ok(e)
    }

    pub(crate) fn set_url(&mut self, url: &str) -> Result<(), BuildError> {
        let uri = check_url(url)?;
        self.http = std::mem::take(&mut self.http).endpoint(url.trim());
        self.url = Some(uri);
        Ok(())
    }

    pub(crate) fn has_options(&self) -> bool {
        self.http_option.is_some()
            || self.custom.is_some()
            || self.protocol.is_some()
            || self.persistent.is_some()
    }

    fn http(
        mut self,
        option: &'static str,
        f: impl FnOnce(HttpTransportBuilder) -> HttpTransportBuilder,
    ) -> Self {
        self.http_option.get_or_insert(option);
        self.http = f(self.http);
        self
    }

    /// The protocol for this endpoint, instead of the exporter's.
    pub fn protocol(mut self, protocol: Protocol) -> Self {
        self.protocol = Some(protocol);
        self
    }

    /// Keep this endpoint's requests in a persistent queue on disk until they are delivered:
    /// a directory (`"/var/lib/myapp/prw-queue"`), or a
    /// [`PersistentQueueConfig`] with its bounds and fsync policy. Each endpoint needs its own
    /// directory. See [`persistent_queue`](crate::persistent_queue) for what it guarantees.
    pub fn persistent_queue(mut self, queue: impl Into<PersistentQueueConfig>) -> Self {
        self.persistent = Some(queue.into());
        self
    }

    /// Request timeout. Default: 30 s.
    pub fn timeout(self, timeout: Duration) -> Self {
        self.http("timeout", |h| h.timeout(timeout))
    }

    /// HTTP basic authentication. The password may be [`Secret::from_file`], re-read when
    /// the file changes.
    pub fn basic_auth(self, username: impl Into<String>, password: impl Into<Secret>) -> Self {
        self.http("basic_auth", |h| h.basic_auth(username, password))
    }

    /// `Authorization: Bearer <token>`; the token may be [`Secret::from_file`].
    pub fn bearer_token(self, token: impl Into<Secret>) -> Self {
        self.http("bearer_token", |h| h.bearer_token(token))
    }

    /// A custom authentication step (request signing, e.g. AWS SigV4).
    pub fn authenticator(self, authenticator: impl Authenticate) -> Self {
        self.http("authenticator", |h| h.authenticator(authenticator))
    }

    /// An extra header on every request (not the remote-write protocol headers).
    pub fn header(self, name: &str, value: &str) -> Result<Self, BuildError> {
        check_header(name, value)?;
        Ok(self.http("header", |h| h.header(name, value)))
    }

    /// Several extra headers.
    pub fn headers<'a>(
        mut self,
        headers: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) -> Result<Self, BuildError> {
        for (name, value) in headers {
            self = self.header(name, value)?;
        }
        Ok(self)
    }

    /// `X-Scope-OrgID: <tenant>` for multi-tenant backends (Mimir, Cortex).
    pub fn tenant_id(self, tenant: impl Into<String>) -> Self {
        self.http("tenant_id", |h| h.tenant_id(tenant))
    }

    /// Trust only the CAs in this PEM file instead of the system store.
    pub fn tls_ca_file(self, path: impl Into<PathBuf>) -> Self {
        self.http("tls_ca_file", |h| h.tls_ca_file(path))
    }

    /// Client certificate (PEM) for mutual TLS; needs [`tls_client_key_file`](Self::tls_client_key_file).
    pub fn tls_client_cert_file(self, path: impl Into<PathBuf>) -> Self {
        self.http("tls_client_cert_file", |h| h.tls_client_cert_file(path))
    }

    /// Client private key (PEM) for mutual TLS.
    pub fn tls_client_key_file(self, path: impl Into<PathBuf>) -> Self {
        self.http("tls_client_key_file", |h| h.tls_client_key_file(path))
    }

    /// The name to verify the server certificate against, instead of the URL's host.
    pub fn tls_server_name(self, name: impl Into<String>) -> Self {
        self.http("tls_server_name", |h| h.tls_server_name(name))
    }

    /// The lowest TLS version accepted. Default: 1.2.
    pub fn tls_min_version(self, version: TlsVersion) -> Self {
        self.http("tls_min_version", |h| h.tls_min_version(version))
    }

    /// Skip server certificate verification (logged as a warning). For tests only.
    pub fn insecure_skip_verify(self, skip: bool) -> Self {
        self.http("insecure_skip_verify", |h| h.insecure_skip_verify(skip))
    }

    /// Send through this HTTP proxy (CONNECT for https endpoints).
    pub fn proxy(self, url: impl Into<String>) -> Self {
        self.http("proxy", |h| h.proxy(url))
    }

    /// Credentials for the proxy.
    pub fn proxy_basic_auth(
        self,
        username: impl Into<String>,
        password: impl Into<Secret>,
    ) -> Self {
        self.http("proxy_basic_auth", |h| h.proxy_basic_auth(username, password))
    }

    /// Use `HTTPS_PROXY` / `HTTP_PROXY` / `NO_PROXY` from the environment. Default: off.
    pub fn proxy_from_env(self, enabled: bool) -> Self {
        self.http("proxy_from_env", |h| h.proxy_from_env(enabled))
    }

    /// Use HTTP/2 (prior knowledge for http, ALPN for https). Default: HTTP/1.1.
    pub fn http2(self, enabled: bool) -> Self {
        self.http("http2", |h| h.http2(enabled))
    }

    /// The transport and the URI requests go to.
    pub(crate) fn build(self) -> Result<(Arc<dyn Transport>, Uri), BuildError> {
        let Some(uri) = self.url else {
            return Err(BuildError::MissingEndpoint);
        };
        if let Some(custom) = self.custom {
            if let Some(option) = self.http_option {
                return Err(BuildError::OptionWithCustomTransport { option });
            }
            return Ok((custom, uri));
        }
        let url = crate::delivery::display_url(&uri);
        let transport =
            self.http.build().map_err(|source| BuildError::Transport { url, source })?;
        let uri = transport.endpoint().clone();
        Ok((Arc::new(transport), uri))
    }
}

/// The endpoint checks that can be made before `build()`, so `.endpoint(url)?` fails early.
fn check_url(url: &str) -> Result<Uri, BuildError> {
    let url = url.trim();
    let invalid =
        |reason: &str| BuildError::InvalidEndpoint { url: redact(url), reason: reason.to_owned() };
    if !url.contains("://") {
        return Err(invalid("it has no scheme, start it with http:// or https://"));
    }
    let uri: Uri = url.parse().map_err(|e: http::uri::InvalidUri| invalid(&e.to_string()))?;
    match uri.scheme_str() {
        Some("http" | "https") => {}
        Some(other) => {
            return Err(invalid(&format!(
                "the scheme {other:?} is not supported, use http or https"
            )));
        }
        None => return Err(invalid("it has no scheme, start it with http:// or https://")),
    }
    if uri.host().is_none_or(str::is_empty) {
        return Err(invalid("it has no host"));
    }
    if uri.authority().is_some_and(|a| a.as_str().contains('@')) {
        return Err(BuildError::EndpointCredentials);
    }
    Ok(uri)
}

/// The URL with any `user:password@` replaced, for error messages.
fn redact(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    match rest[..authority_end].rfind('@') {
        Some(at) => format!("{scheme}://***@{}", &rest[at + 1..]),
        None => url.to_owned(),
    }
}

/// The header checks that can be made before `build()`.
fn check_header(name: &str, value: &str) -> Result<(), BuildError> {
    let invalid = |reason: &str| BuildError::InvalidHeader {
        name: name.to_owned(),
        reason: reason.to_owned(),
    };
    let parsed = HeaderName::from_bytes(name.as_bytes()).map_err(|_| {
        invalid("not a valid HTTP header name (letters, digits and !#$%&'*+-.^_`|~ only)")
    })?;
    if HeaderValue::from_str(value).is_err() {
        return Err(invalid(
            "its value holds characters not allowed in HTTP (control characters or newlines)",
        ));
    }
    match parsed.as_str() {
        "content-encoding"
        | "content-type"
        | "x-prometheus-remote-write-version"
        | "user-agent" => {
            Err(invalid("it is part of the remote-write protocol and set by the exporter"))
        }
        "authorization" => {
            Err(invalid("set authentication with basic_auth, bearer_token or authenticator"))
        }
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_are_checked_early_with_a_fix_in_the_message() {
        assert!(Endpoint::new("http://localhost:9090/api/v1/write").is_ok());
        assert!(Endpoint::new(" https://mimir.example.com/api/v1/push ").is_ok());
        for (url, want) in [
            ("localhost:9090/api/v1/write", "it has no scheme, start it with http:// or https://"),
            ("ftp://x/api", "the scheme \"ftp\" is not supported, use http or https"),
            ("http://", "is not valid"),
            ("http://exa mple.com/", "is not valid"),
        ] {
            let err = Endpoint::new(url).unwrap_err().to_string();
            assert!(err.contains(want), "{url}: {err}");
            assert!(err.contains("write it as http://host:port/path"), "{err}");
        }
    }

    #[test]
    fn credentials_in_the_url_are_refused_and_never_echoed() {
        let err = Endpoint::new("http://user:hunter2@localhost:9090/api/v1/write").unwrap_err();
        assert!(matches!(err, BuildError::EndpointCredentials));
        assert!(!err.to_string().contains("hunter2"));
        let err = Endpoint::new("ftp://user:hunter2@localhost/x").unwrap_err().to_string();
        assert!(!err.contains("hunter2"), "{err}");
        assert_eq!(redact("http://a:b@h:1/p@q"), "http://***@h:1/p@q");
    }

    #[test]
    fn headers_are_checked_early() {
        let e = || Endpoint::new("http://localhost:9090/api/v1/write").unwrap();
        assert!(e().header("X-Scope-OrgID", "tenant-1").is_ok());
        for (name, value, want) in [
            ("Bad Name", "v", "not a valid HTTP header name"),
            ("X-Ok", "line\nbreak", "not allowed in HTTP"),
            ("Content-Type", "text/plain", "part of the remote-write protocol"),
            ("x-prometheus-remote-write-version", "9", "part of the remote-write protocol"),
            ("Authorization", "Bearer x", "basic_auth, bearer_token or authenticator"),
        ] {
            let err = e().header(name, value).unwrap_err().to_string();
            assert!(err.contains(want), "{name}: {err}");
            assert!(
                !err.contains("Bearer x") && !err.contains("line\nbreak"),
                "value leaked: {err}"
            );
        }
    }

    #[test]
    fn http_options_on_a_custom_transport_are_a_mistake() {
        let fake = crate::testing::FakeTransport::scripted(vec![]);
        let e = Endpoint::with_transport("http://localhost:1/w", fake)
            .unwrap()
            .timeout(Duration::from_secs(1));
        assert!(matches!(
            e.build(),
            Err(BuildError::OptionWithCustomTransport { option: "timeout" })
        ));
    }
}

#[cfg(test)]
mod props {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// Whatever a user types as an endpoint: no panic; accepted only as http(s) with a
        /// host; a password in it never shows in the error.
        #[test]
        fn any_endpoint_string_is_accepted_or_refused_cleanly(
            scheme in prop::sample::select(vec!["http", "https", "ftp", "", "HTTP", "unix"]),
            user in "[a-z]{0,3}",
            host in "[a-z0-9.\\-\\[\\]:]{0,12}",
            rest in ".{0,20}",
        ) {
            let secret = "pw9f3k2q";
            let auth = if user.is_empty() { String::new() } else { format!("{user}:{secret}@") };
            let url = format!("{scheme}://{auth}{host}{rest}");
            match Endpoint::new(&url) {
                Ok(e) => {
                    let uri = e.url.expect("a url");
                    prop_assert!(matches!(uri.scheme_str(), Some("http" | "https")));
                    prop_assert!(uri.host().is_some_and(|h| !h.is_empty()));
                    prop_assert!(!uri.authority().is_some_and(|a| a.as_str().contains('@')));
                }
                Err(err) => prop_assert!(!err.to_string().contains(secret), "{err}"),
            }
        }

        /// Any header name and value: no panic, and the value is never repeated in the error.
        #[test]
        fn any_header_is_accepted_or_refused_without_echoing_the_value(
            name in ".{0,12}",
            value in "[ -~\\n\\r\\t]{0,12}zq7xv",
        ) {
            let e = Endpoint::new("http://localhost:9090/api/v1/write").expect("valid");
            if let Err(err) = e.header(&name, &value) {
                prop_assert!(!err.to_string().contains(&value), "{err}");
            }
        }
    }
}
