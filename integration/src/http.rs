//! A minimal blocking HTTP/1.1 client for plain `http://` on loopback, and the message parsing
//! that the [`ScriptedReceiver`](crate::ScriptedReceiver) shares with it.
//!
//! The harness must not depend on the transport crate it helps to test, and a full HTTP stack is
//! far more than querying a backend on 127.0.0.1 needs: one request per connection
//! (`Connection: close`), bodies by `Content-Length`, chunked or until the peer closes.

use std::fmt::Write as _;
use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::time::Duration;

use base64::Engine as _;

/// How long one exchange may take before the client gives up.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);

/// Largest head (status line plus headers) accepted, in bytes.
const MAX_HEAD: usize = 64 * 1024;
/// Largest body accepted, in bytes.
const MAX_BODY: usize = 256 * 1024 * 1024;

/// What went wrong in an HTTP exchange.
#[derive(Debug, thiserror::Error)]
pub enum HttpError {
    /// The URL is not `http://host:port/...`.
    #[error("invalid URL {url:?}: {reason}")]
    InvalidUrl {
        /// The URL as given.
        url: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// The URL names a host that is not on this machine.
    #[error("refusing to connect to {url}: the test harness only talks to loopback addresses")]
    NotLoopback {
        /// The URL as given.
        url: String,
    },
    /// The TCP connection failed.
    #[error("cannot connect to {addr}: {source}")]
    Connect {
        /// Where to.
        addr: SocketAddr,
        /// The underlying error.
        source: io::Error,
    },
    /// Reading or writing failed (including timeouts).
    #[error("I/O error talking to {addr}: {source}")]
    Io {
        /// The peer.
        addr: SocketAddr,
        /// The underlying error.
        source: io::Error,
    },
    /// The peer sent something that is not HTTP/1.x.
    #[error("malformed HTTP message from {addr}: {reason}")]
    Malformed {
        /// The peer.
        addr: SocketAddr,
        /// What was wrong.
        reason: String,
    },
}

/// A parsed `http://` URL pointing at loopback.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpUrl {
    /// The resolved address.
    pub addr: SocketAddr,
    /// The `host:port` part as written (sent as the `Host` header).
    pub authority: String,
    /// Path and query, starting with `/`.
    pub path_and_query: String,
}

impl HttpUrl {
    /// Parses `http://host:port/path?query`; the host must resolve to a loopback address.
    ///
    /// # Errors
    ///
    /// [`HttpError::InvalidUrl`] for anything but plain `http` with a port, and
    /// [`HttpError::NotLoopback`] for hosts off this machine.
    pub fn parse(url: &str) -> Result<Self, HttpError> {
        let invalid = |reason| HttpError::InvalidUrl { url: url.to_owned(), reason };
        let rest = url
            .strip_prefix("http://")
            .ok_or_else(|| invalid("only http:// URLs are supported"))?;
        let (authority, path) = match rest.find('/') {
            Some(i) => (&rest[..i], &rest[i..]),
            None => (rest, "/"),
        };
        if authority.is_empty() || authority.contains('@') {
            return Err(invalid("the URL needs host:port and no credentials"));
        }
        let addr = authority
            .to_socket_addrs()
            .map_err(|_| invalid("the host:port does not resolve (is the port missing?)"))?
            .next()
            .ok_or_else(|| invalid("the host resolves to no address"))?;
        if !addr.ip().is_loopback() {
            return Err(HttpError::NotLoopback { url: url.to_owned() });
        }
        Ok(HttpUrl { addr, authority: authority.to_owned(), path_and_query: path.to_owned() })
    }
}

/// A complete HTTP response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpResponse {
    /// The status code.
    pub status: u16,
    /// Headers in the order received, names as sent.
    pub headers: Vec<(String, String)>,
    /// The body, de-chunked.
    pub body: Vec<u8>,
}

impl HttpResponse {
    /// The first header with this name (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        find_header(&self.headers, name)
    }

    /// The body as text (invalid UTF-8 replaced).
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// Whether the status is 2xx.
    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }
}

/// One request to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpRequest {
    /// `GET`, `POST`, ...
    pub method: String,
    /// The URL (`http://127.0.0.1:port/path?query`).
    pub url: String,
    /// Extra headers; `Host`, `Content-Length` and `Connection` are added by the client.
    pub headers: Vec<(String, String)>,
    /// The body (sent with `Content-Length`, even when empty for `POST`).
    pub body: Vec<u8>,
    /// Read and write timeout for the exchange.
    pub timeout: Duration,
}

impl HttpRequest {
    /// A request with no headers and no body.
    pub fn new(method: &str, url: impl Into<String>) -> Self {
        HttpRequest {
            method: method.to_owned(),
            url: url.into(),
            headers: Vec::new(),
            body: Vec::new(),
            timeout: DEFAULT_TIMEOUT,
        }
    }

    /// Adds a header.
    #[must_use]
    pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }

    /// Adds `Authorization: Basic ...`.
    #[must_use]
    pub fn basic_auth(self, user: &str, password: &str) -> Self {
        let token = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
        self.header("Authorization", format!("Basic {token}"))
    }

    /// Sets the body.
    #[must_use]
    pub fn body(mut self, body: impl Into<Vec<u8>>) -> Self {
        self.body = body.into();
        self
    }

    /// Sets the read and write timeout.
    #[must_use]
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Sends it straight to the URL's host.
    ///
    /// # Errors
    ///
    /// See [`HttpError`]; any status code is a successful exchange.
    pub fn send(&self) -> Result<HttpResponse, HttpError> {
        let url = HttpUrl::parse(&self.url)?;
        self.exchange(url.addr, &url.authority, &url.path_and_query)
    }

    /// Sends it through an HTTP proxy (`http://host:port`), in absolute form as proxies expect
    /// for plain-http targets.
    ///
    /// # Errors
    ///
    /// See [`HttpError`].
    pub fn send_via_proxy(&self, proxy_url: &str) -> Result<HttpResponse, HttpError> {
        let proxy = HttpUrl::parse(proxy_url)?;
        let target = HttpUrl::parse(&self.url)?;
        let absolute = format!("http://{}{}", target.authority, target.path_and_query);
        self.exchange(proxy.addr, &target.authority, &absolute)
    }

    fn exchange(
        &self,
        addr: SocketAddr,
        host: &str,
        target: &str,
    ) -> Result<HttpResponse, HttpError> {
        let io_err = |source| HttpError::Io { addr, source };
        let stream = TcpStream::connect_timeout(&addr, self.timeout)
            .map_err(|source| HttpError::Connect { addr, source })?;
        stream.set_read_timeout(Some(self.timeout)).map_err(io_err)?;
        stream.set_write_timeout(Some(self.timeout)).map_err(io_err)?;

        let mut head =
            format!("{} {target} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n", self.method);
        for (name, value) in &self.headers {
            let _ = write!(head, "{name}: {value}\r\n");
        }
        if !self.body.is_empty() || self.method != "GET" {
            let _ = write!(head, "Content-Length: {}\r\n", self.body.len());
        }
        head.push_str("\r\n");
        let mut writer = &stream;
        writer.write_all(head.as_bytes()).map_err(io_err)?;
        writer.write_all(&self.body).map_err(io_err)?;
        writer.flush().map_err(io_err)?;

        let mut reader = BufReader::new(&stream);
        loop {
            let head = read_head(&mut reader).map_err(|e| e.into_http(addr))?.ok_or_else(|| {
                HttpError::Malformed { addr, reason: "connection closed before a response".into() }
            })?;
            let status =
                parse_status_line(&head.start_line).ok_or_else(|| HttpError::Malformed {
                    addr,
                    reason: format!("bad status line {:?}", head.start_line),
                })?;
            if (100..200).contains(&status) {
                // An interim response (100 Continue); the real one follows.
                continue;
            }
            let body = if self.method == "HEAD" || status == 204 || status == 304 {
                Vec::new()
            } else {
                read_body(&mut reader, &head.headers, true).map_err(|e| e.into_http(addr))?
            };
            return Ok(HttpResponse { status, headers: head.headers, body });
        }
    }
}

/// `GET url`.
///
/// # Errors
///
/// See [`HttpError`]; any status code is a successful exchange.
pub fn get(url: &str) -> Result<HttpResponse, HttpError> {
    HttpRequest::new("GET", url).send()
}

/// `POST url` with these headers and body.
///
/// # Errors
///
/// See [`HttpError`]; any status code is a successful exchange.
pub fn post(
    url: &str,
    headers: &[(&str, &str)],
    body: impl Into<Vec<u8>>,
) -> Result<HttpResponse, HttpError> {
    let mut request = HttpRequest::new("POST", url).body(body);
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    request.send()
}

/// Encodes pairs as `application/x-www-form-urlencoded` (for query strings and form bodies).
pub fn encode_form(pairs: &[(&str, &str)]) -> String {
    let mut out = String::new();
    for (i, (key, value)) in pairs.iter().enumerate() {
        if i > 0 {
            out.push('&');
        }
        percent_encode_into(&mut out, key);
        out.push('=');
        percent_encode_into(&mut out, value);
    }
    out
}

fn percent_encode_into(out: &mut String, text: &str) {
    for byte in text.bytes() {
        match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(char::from(byte))
            }
            _ => {
                let _ = write!(out, "%{byte:02X}");
            }
        }
    }
}

pub(crate) fn find_header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
}

/// A message head: the first line and the headers.
#[derive(Debug)]
pub(crate) struct Head {
    pub(crate) start_line: String,
    pub(crate) headers: Vec<(String, String)>,
}

/// Why a message could not be read; turned into [`HttpError`] by the client, and into a 400
/// or a dropped connection by the receiver.
#[derive(Debug)]
pub(crate) enum ReadError {
    Io(io::Error),
    Malformed(String),
}

impl ReadError {
    fn into_http(self, addr: SocketAddr) -> HttpError {
        match self {
            ReadError::Io(source) => HttpError::Io { addr, source },
            ReadError::Malformed(reason) => HttpError::Malformed { addr, reason },
        }
    }
}

impl From<io::Error> for ReadError {
    fn from(e: io::Error) -> Self {
        ReadError::Io(e)
    }
}

fn read_line(reader: &mut impl BufRead, budget: &mut usize) -> Result<Option<String>, ReadError> {
    let mut line = Vec::new();
    let n = reader.take(*budget as u64 + 1).read_until(b'\n', &mut line)?;
    if n == 0 {
        return Ok(None);
    }
    if n > *budget {
        return Err(ReadError::Malformed("message head too large".into()));
    }
    *budget -= n;
    if line.last() != Some(&b'\n') {
        return Err(ReadError::Malformed("connection closed in the middle of a line".into()));
    }
    line.pop();
    if line.last() == Some(&b'\r') {
        line.pop();
    }
    String::from_utf8(line).map(Some).map_err(|_| ReadError::Malformed("head is not UTF-8".into()))
}

/// Reads a head; `None` when the peer closed cleanly before sending anything.
pub(crate) fn read_head(reader: &mut impl BufRead) -> Result<Option<Head>, ReadError> {
    let mut budget = MAX_HEAD;
    let start_line = loop {
        match read_line(reader, &mut budget)? {
            None => return Ok(None),
            // Tolerate stray empty lines between messages (RFC 9112 section 2.2).
            Some(line) if line.is_empty() => continue,
            Some(line) => break line,
        }
    };
    let mut headers = Vec::new();
    loop {
        let line = read_line(reader, &mut budget)?
            .ok_or_else(|| ReadError::Malformed("connection closed inside the headers".into()))?;
        if line.is_empty() {
            break;
        }
        let (name, value) = line
            .split_once(':')
            .ok_or_else(|| ReadError::Malformed(format!("bad header line {line:?}")))?;
        headers.push((name.trim().to_owned(), value.trim().to_owned()));
    }
    Ok(Some(Head { start_line, headers }))
}

/// Reads a body framed by the headers. Without `Content-Length` or chunking, a response body
/// runs to the end of the connection (`until_eof`) and a request body is empty.
pub(crate) fn read_body(
    reader: &mut impl BufRead,
    headers: &[(String, String)],
    until_eof: bool,
) -> Result<Vec<u8>, ReadError> {
    let chunked = find_header(headers, "Transfer-Encoding").is_some_and(|te| {
        te.rsplit(',').next().is_some_and(|last| last.trim().eq_ignore_ascii_case("chunked"))
    });
    if chunked {
        return read_chunked(reader);
    }
    if let Some(length) = find_header(headers, "Content-Length") {
        let length: usize = length
            .parse()
            .map_err(|_| ReadError::Malformed(format!("bad Content-Length {length:?}")))?;
        if length > MAX_BODY {
            return Err(ReadError::Malformed(format!("body of {length} bytes is too large")));
        }
        let mut body = vec![0; length];
        reader.read_exact(&mut body)?;
        return Ok(body);
    }
    let mut body = Vec::new();
    if until_eof {
        reader.take(MAX_BODY as u64).read_to_end(&mut body)?;
    }
    Ok(body)
}

fn read_chunked(reader: &mut impl BufRead) -> Result<Vec<u8>, ReadError> {
    let mut body = Vec::new();
    let mut budget = MAX_HEAD;
    loop {
        let line = read_line(reader, &mut budget)?
            .ok_or_else(|| ReadError::Malformed("connection closed in a chunk".into()))?;
        let size = line.split(';').next().unwrap_or_default().trim();
        let size = usize::from_str_radix(size, 16)
            .map_err(|_| ReadError::Malformed(format!("bad chunk size {line:?}")))?;
        if size == 0 {
            // Trailers, up to the empty line.
            while read_line(reader, &mut budget)?.is_some_and(|l| !l.is_empty()) {}
            return Ok(body);
        }
        if body.len() + size > MAX_BODY {
            return Err(ReadError::Malformed("chunked body too large".into()));
        }
        let start = body.len();
        body.resize(start + size, 0);
        reader.read_exact(&mut body[start..])?;
        let mut crlf = [0; 2];
        reader.read_exact(&mut crlf)?;
        if &crlf != b"\r\n" {
            return Err(ReadError::Malformed("chunk not followed by CRLF".into()));
        }
    }
}

fn parse_status_line(line: &str) -> Option<u16> {
    let mut parts = line.splitn(3, ' ');
    let version = parts.next()?;
    if !version.starts_with("HTTP/1.") {
        return None;
    }
    parts.next()?.parse().ok()
}

/// The reason phrase for the status codes the harness uses.
pub(crate) fn reason_phrase(status: u16) -> &'static str {
    match status {
        200 => "OK",
        204 => "No Content",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        408 => "Request Timeout",
        413 => "Content Too Large",
        415 => "Unsupported Media Type",
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        _ => "Status",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_loopback_urls() {
        let url = HttpUrl::parse("http://127.0.0.1:9090/api/v1/query?query=up").unwrap();
        assert_eq!(url.addr, "127.0.0.1:9090".parse().unwrap());
        assert_eq!(url.authority, "127.0.0.1:9090");
        assert_eq!(url.path_and_query, "/api/v1/query?query=up");
        assert_eq!(HttpUrl::parse("http://127.0.0.1:1").unwrap().path_and_query, "/");
    }

    #[test]
    fn refuses_what_it_cannot_do() {
        for bad in [
            "https://127.0.0.1:1/",
            "127.0.0.1:1",
            "http://127.0.0.1/",
            "http://u:p@127.0.0.1:1/",
            "http:///x",
        ] {
            assert!(matches!(HttpUrl::parse(bad), Err(HttpError::InvalidUrl { .. })), "{bad}");
        }
        assert!(matches!(
            HttpUrl::parse("http://192.0.2.1:80/"),
            Err(HttpError::NotLoopback { .. })
        ));
    }

    #[test]
    fn form_encoding() {
        assert_eq!(
            encode_form(&[("query", "up{job=\"a b\"}"), ("x", "é~")]),
            "query=up%7Bjob%3D%22a%20b%22%7D&x=%C3%A9~"
        );
        assert_eq!(encode_form(&[]), "");
    }

    #[test]
    fn reads_chunked_and_sized_bodies() {
        let raw = b"4\r\nWiki\r\n5;ext=1\r\npedia\r\n0\r\nTrailer: x\r\n\r\n";
        let headers = vec![("Transfer-Encoding".to_owned(), "chunked".to_owned())];
        assert_eq!(read_body(&mut &raw[..], &headers, true).unwrap(), b"Wikipedia");

        let headers = vec![("content-length".to_owned(), "3".to_owned())];
        assert_eq!(read_body(&mut &b"abcdef"[..], &headers, true).unwrap(), b"abc");
        assert_eq!(read_body(&mut &b"rest"[..], &[], true).unwrap(), b"rest");
        assert_eq!(read_body(&mut &b"rest"[..], &[], false).unwrap(), b"");
        assert!(matches!(read_body(&mut &b"ab"[..], &headers, true), Err(ReadError::Io(_))));
        let bad = vec![("Content-Length".to_owned(), "-1".to_owned())];
        assert!(matches!(read_body(&mut &b""[..], &bad, true), Err(ReadError::Malformed(_))));
    }

    #[test]
    fn reads_heads() {
        let raw = b"\r\nHTTP/1.1 204 No Content\r\nX-A:  1 \r\nx-b: two\r\n\r\nrest";
        let mut reader = &raw[..];
        let head = read_head(&mut reader).unwrap().unwrap();
        assert_eq!(head.start_line, "HTTP/1.1 204 No Content");
        assert_eq!(head.headers, vec![("X-A".into(), "1".into()), ("x-b".into(), "two".into())]);
        assert_eq!(find_header(&head.headers, "X-B"), Some("two"));
        assert_eq!(parse_status_line(&head.start_line), Some(204));
        assert_eq!(reader, b"rest");
        assert!(read_head(&mut &b""[..]).unwrap().is_none());
        assert!(matches!(
            read_head(&mut &b"HTTP/1.1 200 OK\r\nnocolon\r\n\r\n"[..]),
            Err(ReadError::Malformed(_))
        ));
        assert!(matches!(
            read_head(&mut &b"HTTP/1.1 200 OK\r\n"[..]),
            Err(ReadError::Malformed(_))
        ));
        assert_eq!(parse_status_line("SSH-2.0"), None);
    }
}
