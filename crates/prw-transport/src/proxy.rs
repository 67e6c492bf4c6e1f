//! HTTP proxies: which one (explicit or from the environment), and the CONNECT handshake.

use std::fmt;
use std::sync::Arc;

use http::{HeaderValue, Uri};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::auth::basic_header;
use crate::builder::BuildError;
use crate::secret::{Secret, SecretError};

/// `HTTPS_PROXY`: the proxy for `https://` endpoints (lower case `https_proxy` is read too).
pub const HTTPS_PROXY: &str = "HTTPS_PROXY";
/// `HTTP_PROXY`: the proxy for `http://` endpoints (lower case `http_proxy` is read too).
pub const HTTP_PROXY: &str = "HTTP_PROXY";
/// `NO_PROXY`: hosts, domains and networks reached directly (lower case `no_proxy` is read too).
pub const NO_PROXY: &str = "NO_PROXY";
/// `ALL_PROXY`: the proxy for both schemes when the scheme's own variable is unset.
pub const ALL_PROXY: &str = "ALL_PROXY";

/// A proxy to go through. Never prints its credentials.
#[derive(Clone)]
pub(crate) struct Proxy {
    /// `http://host:port/`, what the HTTP connector dials.
    pub(crate) uri: Uri,
    /// `host:port`, for messages.
    pub(crate) authority: String,
    credentials: Option<Credentials>,
}

#[derive(Clone)]
enum Credentials {
    Basic {
        username: String,
        password: Secret,
    },
    /// Already encoded (from a `user:password@` in an environment variable), sensitive.
    Header(HeaderValue),
}

impl fmt::Debug for Proxy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut debug = f.debug_struct("Proxy");
        debug.field("address", &self.authority);
        if self.credentials.is_some() {
            debug.field("credentials", &"***");
        }
        debug.finish()
    }
}

/// How requests reach the endpoint.
#[derive(Debug, Clone)]
pub(crate) enum Route {
    /// Straight to the endpoint.
    Direct,
    /// `http://` endpoint through an HTTP proxy: requests go to the proxy in absolute form.
    Forward(Arc<Proxy>),
    /// `https://` endpoint through an HTTP proxy: a CONNECT tunnel, then TLS inside it.
    Tunnel(Arc<Proxy>),
}

impl Route {
    pub(crate) fn proxy(&self) -> Option<&Arc<Proxy>> {
        match self {
            Route::Direct => None,
            Route::Forward(proxy) | Route::Tunnel(proxy) => Some(proxy),
        }
    }
}

/// Why the proxy did not carry the request. Names the proxy, never its credentials.
#[derive(Debug, thiserror::Error)]
pub(crate) enum ProxyError {
    #[error("cannot connect to the proxy {proxy}: {reason}")]
    Connect {
        proxy: String,
        /// The whole chain of causes ("tcp connect error: Connection refused").
        reason: String,
        source: crate::error::BoxError,
    },
    #[error("the proxy {proxy} failed during the CONNECT handshake: {source}")]
    Io { proxy: String, source: std::io::Error },
    #[error(
        "the proxy {proxy} refused to open a tunnel to {target}: {status}; check that the proxy allows CONNECT to this port"
    )]
    Refused { proxy: String, target: String, status: String },
    #[error("the proxy {proxy} requires authentication ({status}){}", if *had_credentials { "; it refused the configured proxy credentials" } else { "; set proxy credentials" })]
    AuthRequired { proxy: String, status: String, had_credentials: bool },
    #[error("the proxy {proxy} answered CONNECT with something that is not HTTP")]
    BadResponse { proxy: String },
    #[error("cannot read the proxy password: {source}")]
    Credentials { source: SecretError },
}

impl ProxyError {
    pub(crate) fn connect(proxy: &Proxy, source: impl Into<crate::error::BoxError>) -> ProxyError {
        let source = source.into();
        ProxyError::Connect {
            proxy: proxy.authority.clone(),
            reason: crate::error::chain_text(&*source),
            source,
        }
    }
}

impl Proxy {
    /// An explicit proxy URL, optionally with credentials given apart.
    pub(crate) fn parse(
        url: &str,
        credentials: Option<(String, Secret)>,
    ) -> Result<Proxy, BuildError> {
        let uri: Uri = url.parse().map_err(|error: http::uri::InvalidUri| {
            BuildError::InvalidProxy { reason: error.to_string() }
        })?;
        match uri.scheme_str() {
            Some("http") => {}
            Some(other) => {
                return Err(BuildError::ProxyScheme { scheme: other.to_owned() });
            }
            None => {
                return Err(BuildError::InvalidProxy {
                    reason: "it has no scheme; write it as http://host:port".to_owned(),
                });
            }
        }
        let authority = uri
            .authority()
            .ok_or_else(|| BuildError::InvalidProxy { reason: "it has no host".to_owned() })?;
        let (userinfo, host_port) = match authority.as_str().rsplit_once('@') {
            Some((userinfo, host_port)) => (Some(userinfo), host_port),
            None => (None, authority.as_str()),
        };
        let in_url = userinfo.map(|userinfo| {
            let (user, password) = userinfo.split_once(':').unwrap_or((userinfo, ""));
            (percent_decode(user), Secret::new(percent_decode(password)))
        });
        let credentials = match (in_url, credentials) {
            (Some(_), Some(_)) => return Err(BuildError::ProxyCredentialsTwice),
            (Some(pair), None) | (None, Some(pair)) => Some(pair),
            (None, None) => None,
        };
        let credentials = match credentials {
            Some((username, password)) => {
                if username.is_empty() || username.contains(':') {
                    return Err(BuildError::ProxyUsername);
                }
                password.expose().map_err(|source| BuildError::ProxyPassword { source })?;
                Some(Credentials::Basic { username, password })
            }
            None => None,
        };
        Proxy::new(host_port, credentials)
    }

    fn new(host_port: &str, credentials: Option<Credentials>) -> Result<Proxy, BuildError> {
        let authority: http::uri::Authority =
            host_port.parse().map_err(|error: http::uri::InvalidUri| BuildError::InvalidProxy {
                reason: error.to_string(),
            })?;
        if authority.host().is_empty() {
            return Err(BuildError::InvalidProxy { reason: "it has no host".to_owned() });
        }
        let port = authority.port_u16().unwrap_or(80);
        let host = authority.host();
        let uri = Uri::builder()
            .scheme("http")
            .authority(format!("{host}:{port}"))
            .path_and_query("/")
            .build()
            .map_err(|error| BuildError::InvalidProxy { reason: error.to_string() })?;
        Ok(Proxy { uri, authority: format!("{host}:{port}"), credentials })
    }

    /// The proxy the environment names for `endpoint`, if any (`NO_PROXY` applied).
    pub(crate) fn from_env(endpoint: &Uri) -> Result<Option<Proxy>, BuildError> {
        let matcher = hyper_util::client::proxy::matcher::Matcher::from_env();
        let Some(intercept) = matcher.intercept(endpoint) else {
            return Ok(None);
        };
        let uri = intercept.uri();
        match uri.scheme_str() {
            Some("http") | None => {}
            Some(other) => {
                return Err(BuildError::ProxyScheme { scheme: other.to_owned() });
            }
        }
        let host_port = uri.authority().map(|a| a.as_str()).unwrap_or_default();
        let credentials = intercept.basic_auth().map(|value| {
            let mut value = value.clone();
            value.set_sensitive(true);
            Credentials::Header(value)
        });
        Proxy::new(host_port, credentials).map(Some)
    }

    /// `Proxy-Authorization`, read now (a password file may have changed).
    pub(crate) fn authorization(&self) -> Result<Option<HeaderValue>, ProxyError> {
        match &self.credentials {
            None => Ok(None),
            Some(Credentials::Header(value)) => Ok(Some(value.clone())),
            Some(Credentials::Basic { username, password }) => {
                let password =
                    password.expose().map_err(|source| ProxyError::Credentials { source })?;
                Ok(Some(basic_header(username, &password)))
            }
        }
    }

    /// Asks the proxy, over `stream`, for a tunnel to `host:port`.
    pub(crate) async fn connect_tunnel(
        &self,
        stream: &mut TcpStream,
        host: &str,
        port: u16,
    ) -> Result<(), ProxyError> {
        let target =
            if host.contains(':') { format!("[{host}]:{port}") } else { format!("{host}:{port}") };
        let mut head = format!("CONNECT {target} HTTP/1.1\r\nHost: {target}\r\n").into_bytes();
        let authorization = self.authorization()?;
        if let Some(value) = &authorization {
            head.extend_from_slice(b"Proxy-Authorization: ");
            head.extend_from_slice(value.as_bytes());
            head.extend_from_slice(b"\r\n");
        }
        head.extend_from_slice(b"\r\n");
        let io = |source| ProxyError::Io { proxy: self.authority.clone(), source };
        stream.write_all(&head).await.map_err(io)?;

        // The proxy says nothing after its answer until we speak (TLS starts with our
        // ClientHello), so reading past the blank line would mean it is not an HTTP proxy.
        let mut answer = Vec::with_capacity(256);
        let mut chunk = [0u8; 1024];
        let end = loop {
            let read = stream.read(&mut chunk).await.map_err(io)?;
            if read == 0 {
                return Err(io(std::io::Error::new(
                    std::io::ErrorKind::UnexpectedEof,
                    "the proxy closed the connection",
                )));
            }
            answer.extend_from_slice(&chunk[..read]);
            if let Some(end) = find_blank_line(&answer) {
                break end;
            }
            if answer.len() > 16 * 1024 {
                return Err(ProxyError::BadResponse { proxy: self.authority.clone() });
            }
        };
        let (code, status) = parse_status_line(&answer)
            .ok_or_else(|| ProxyError::BadResponse { proxy: self.authority.clone() })?;
        match code {
            200..=299 if end == answer.len() => Ok(()),
            200..=299 => Err(ProxyError::BadResponse { proxy: self.authority.clone() }),
            // 407 is the standard answer; some proxies (tinyproxy) answer 401 to a CONNECT.
            401 | 407 => Err(ProxyError::AuthRequired {
                proxy: self.authority.clone(),
                status,
                had_credentials: authorization.is_some(),
            }),
            _ => Err(ProxyError::Refused { proxy: self.authority.clone(), target, status }),
        }
    }
}

fn find_blank_line(bytes: &[u8]) -> Option<usize> {
    bytes.windows(4).position(|window| window == b"\r\n\r\n").map(|at| at + 4)
}

/// `HTTP/1.1 403 Forbidden` → `(403, "403 Forbidden")`.
fn parse_status_line(answer: &[u8]) -> Option<(u16, String)> {
    let line_end = answer.windows(2).position(|w| w == b"\r\n")?;
    let line = std::str::from_utf8(&answer[..line_end]).ok()?;
    let rest = line.strip_prefix("HTTP/1.")?;
    let mut parts = rest.splitn(2, ' ');
    let _minor = parts.next()?;
    let status = parts.next()?.trim();
    let code = status.get(..3)?.parse::<u16>().ok()?;
    let status: String = status.chars().filter(|c| !c.is_control()).take(100).collect();
    Some((code, status))
}

fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let byte = bytes[i];
        if byte == b'%' && i + 2 < bytes.len() {
            let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).ok();
            if let Some(value) = hex.and_then(|hex| u8::from_str_radix(hex, 16).ok()) {
                out.push(value);
                i += 3;
                continue;
            }
        }
        out.push(byte);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_lines() {
        assert_eq!(
            parse_status_line(b"HTTP/1.1 200 Connection established\r\n\r\n"),
            Some((200, "200 Connection established".to_owned()))
        );
        assert_eq!(
            parse_status_line(b"HTTP/1.0 403 Forbidden\r\n"),
            Some((403, "403 Forbidden".to_owned()))
        );
        assert_eq!(parse_status_line(b"HTTP/1.1 407\r\n"), Some((407, "407".to_owned())));
        assert_eq!(parse_status_line(b"SSH-2.0-OpenSSH\r\n"), None);
        assert_eq!(parse_status_line(b"HTTP/1.1 20\r\n"), None);
    }

    #[test]
    fn percent_decoding() {
        assert_eq!(percent_decode("a%40b%3Ac"), "a@b:c");
        assert_eq!(percent_decode("100%"), "100%");
        assert_eq!(percent_decode("%4"), "%4");
        assert_eq!(percent_decode("%zz"), "%zz");
    }

    #[test]
    fn explicit_proxy_urls() {
        let proxy = Proxy::parse("http://proxy.test:3128", None).unwrap();
        assert_eq!(proxy.uri, "http://proxy.test:3128/");
        assert!(proxy.authorization().unwrap().is_none());

        let proxy = Proxy::parse("http://us%40er:p%3Ass@proxy.test", None).unwrap();
        assert_eq!(proxy.authority, "proxy.test:80");
        let header = proxy.authorization().unwrap().unwrap();
        assert!(header.is_sensitive());
        assert_eq!(header, basic_header("us@er", "p:ss"));
        let debug = format!("{proxy:?}");
        assert!(
            !debug.contains("p:ss") && !debug.contains("p%3Ass") && !debug.contains("us"),
            "{debug}"
        );

        let proxy =
            Proxy::parse("http://proxy.test:3128", Some(("u".into(), Secret::new("pw")))).unwrap();
        assert_eq!(proxy.authorization().unwrap().unwrap(), basic_header("u", "pw"));
    }

    proptest::proptest! {
        #[test]
        fn proxy_parsing_never_panics_nor_echoes_passwords(url in "\\PC*", password in "[a-zA-Z0-9]{12}") {
            if let Err(error) = Proxy::parse(&url, Some(("user".into(), Secret::new(password.clone())))) {
                proptest::prop_assert!(!error.to_string().contains(&password));
            }
            let _ = parse_status_line(url.as_bytes());
            let _ = percent_decode(&url);
        }
    }
}
