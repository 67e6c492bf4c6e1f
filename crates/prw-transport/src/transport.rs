//! [`HttpTransport`]: the default [`Transport`], on hyper 1, hyper-util's pooled client and
//! hyper-rustls.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use http::uri::{Authority, PathAndQuery, Scheme};
use http::{HeaderMap, HeaderValue, Uri};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper_rustls::{FixedServerNameResolver, HttpsConnector};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::{TokioExecutor, TokioTimer};
use tokio::time::Instant;

use crate::auth::Authenticate;
use crate::builder::{BuildError, HttpTransportBuilder, redact_url};
use crate::connector::RouteConnector;
use crate::error::{Context, Error};
use crate::proxy::{Proxy, Route};
use crate::response::{MAX_BODY, Response};
use crate::tls::Tls;
use crate::{Request, SendFuture, Transport};

/// `User-Agent` of every request that does not bring its own.
pub const USER_AGENT: &str = concat!("prw/", env!("CARGO_PKG_VERSION"));

/// How much of an unwanted response body is read (and dropped) so that the connection can be
/// reused; past this the connection is closed instead.
const DRAIN_LIMIT: usize = 64 * 1024;

/// The default [`Transport`]: HTTP/1.1 (HTTP/2 on request) over TCP or TLS (rustls with ring),
/// with pooled connections, authentication, extra headers, proxies and a request timeout.
///
/// Built with [`HttpTransport::builder`]. Cheap to clone: clones share the connection pool.
///
/// **The transport owns its endpoint.** Callers fill [`Request::uri`] with
/// [`endpoint`](HttpTransport::endpoint) (or with a path such as `/api/v1/query?...`, which is
/// sent to the endpoint's host); a request for any other scheme or host is refused with
/// [`Error::is_invalid_request`], so credentials, TLS settings and proxy routing, all chosen
/// for the endpoint, never go anywhere else.
#[derive(Clone)]
pub struct HttpTransport {
    inner: Arc<Inner>,
}

struct Inner {
    client: Client<HttpsConnector<RouteConnector>, Full<Bytes>>,
    endpoint: Uri,
    scheme: Scheme,
    authority: Authority,
    timeout: Duration,
    headers: HeaderMap,
    authenticator: Option<Arc<dyn Authenticate>>,
    route: Route,
    context: Context,
    tls_summary: Option<String>,
    http2: bool,
}

/// What the builder hands over, all checked.
pub(crate) struct Parts {
    pub(crate) endpoint: Uri,
    pub(crate) timeout: Duration,
    pub(crate) headers: HeaderMap,
    pub(crate) authenticator: Option<Arc<dyn Authenticate>>,
    pub(crate) tls: Option<Tls>,
    pub(crate) route: Route,
    pub(crate) http2: bool,
}

impl HttpTransport {
    /// Starts configuring a transport.
    pub fn builder() -> HttpTransportBuilder {
        HttpTransportBuilder::default()
    }

    pub(crate) fn new(parts: Parts) -> Result<HttpTransport, BuildError> {
        let Parts { endpoint, timeout, headers, authenticator, tls, route, http2 } = parts;
        let (scheme, authority) = match (endpoint.scheme(), endpoint.authority()) {
            (Some(scheme), Some(authority)) => (scheme.clone(), authority.clone()),
            _ => return Err(BuildError::EndpointWithoutHost),
        };
        let https = scheme == Scheme::HTTPS;

        let mut http = HttpConnector::new();
        // hyper-rustls hands https:// destinations down to this connector.
        http.enforce_http(false);
        http.set_nodelay(true);
        http.set_connect_timeout(Some(timeout));
        let connector = RouteConnector { http, route: route.clone() };

        let (config, server_name, has_client_cert, tls_summary) = match tls {
            Some(Tls { config, server_name, has_client_cert, summary }) => {
                (config, server_name, has_client_cert, Some(summary))
            }
            None => (crate::tls::unused()?, None, false, None),
        };
        let builder =
            hyper_rustls::HttpsConnectorBuilder::new().with_tls_config(config).https_or_http();
        let builder = match server_name {
            Some(name) => builder.with_server_name_resolver(FixedServerNameResolver::new(name)),
            None => builder,
        };
        let builder = builder.enable_http1();
        let connector = if http2 {
            builder.enable_http2().wrap_connector(connector)
        } else {
            builder.wrap_connector(connector)
        };

        let client = Client::builder(TokioExecutor::new())
            .timer(TokioTimer::new())
            .pool_timer(TokioTimer::new())
            .pool_idle_timeout(Duration::from_secs(90))
            // Without TLS there is no ALPN to agree on HTTP/2: it has to be prior knowledge.
            .http2_only(http2 && !https)
            .build(connector);

        let port = authority.port_u16().unwrap_or(if https { 443 } else { 80 });
        let context = Context { target: format!("{}:{port}", authority.host()), has_client_cert };
        Ok(HttpTransport {
            inner: Arc::new(Inner {
                client,
                endpoint,
                scheme,
                authority,
                timeout,
                headers,
                authenticator,
                route,
                context,
                tls_summary,
                http2,
            }),
        })
    }

    /// The endpoint every request goes to; put it in [`Request::uri`].
    pub fn endpoint(&self) -> &Uri {
        &self.inner.endpoint
    }

    /// The request timeout.
    pub fn timeout(&self) -> Duration {
        self.inner.timeout
    }

    /// A `POST` of `body` to the endpoint with these protocol headers: the usual request.
    pub fn post(&self, headers: HeaderMap, body: Bytes) -> Request {
        Request { method: http::Method::POST, uri: self.inner.endpoint.clone(), headers, body }
    }

    /// The request's URI on the endpoint's origin, or why not.
    fn target(&self, uri: Uri) -> Result<Uri, Error> {
        let inner = &self.inner;
        match (uri.scheme(), uri.authority()) {
            (Some(scheme), Some(authority))
                if *scheme == inner.scheme && *authority == inner.authority =>
            {
                Ok(uri)
            }
            (None, None) => {
                let path =
                    uri.path_and_query().cloned().unwrap_or_else(|| PathAndQuery::from_static("/"));
                Uri::builder()
                    .scheme(inner.scheme.clone())
                    .authority(inner.authority.clone())
                    .path_and_query(path)
                    .build()
                    .map_err(|error| {
                        Error::invalid_request(format!("cannot build the request URI: {error}"))
                    })
            }
            _ => Err(Error::invalid_request(format!(
                "the request is for {} but this transport only sends to its endpoint {}://{}",
                redact_url(&uri.to_string()),
                inner.scheme,
                inner.authority
            ))),
        }
    }

    /// Sends the request and waits for the response head.
    async fn exchange(&self, request: Request) -> Result<http::Response<Incoming>, Error> {
        let inner = &self.inner;
        let uri = self.target(request.uri)?;
        let mut outgoing = http::Request::new(request.body);
        *outgoing.method_mut() = request.method;
        *outgoing.uri_mut() = uri;
        *outgoing.headers_mut() = request.headers;
        let headers = outgoing.headers_mut();
        for (name, value) in &inner.headers {
            headers.insert(name, value.clone());
        }
        if !headers.contains_key(http::header::USER_AGENT) {
            headers.insert(http::header::USER_AGENT, HeaderValue::from_static(USER_AGENT));
        }

        if let Some(authenticator) = &inner.authenticator {
            authenticator.authenticate(&mut outgoing).await.map_err(Error::auth)?;
        }
        // After authentication: a signature covers what the server sees, not the proxy's header.
        if let Route::Forward(proxy) = &inner.route {
            add_proxy_authorization(proxy, outgoing.headers_mut(), &inner.context)?;
        }

        inner.client.request(outgoing.map(Full::new)).await.map_err(|error| {
            let connecting = error.is_connect();
            Error::from_http(Box::new(error), connecting, &inner.context)
        })
    }
}

/// Reads the first [`MAX_BODY`] bytes of the body, and drains a little more so that the
/// connection can be reused. The status is what counts: a body cut short by the deadline or a
/// broken connection still leaves a valid answer (resending an accepted write would duplicate
/// it), so this never fails.
async fn read_body(answer: http::Response<Incoming>, deadline: Instant) -> Response {
    let (parts, mut body) = answer.into_parts();
    let mut kept = BytesMut::new();
    let mut seen = 0usize;
    let reading = async {
        while let Some(frame) = body.frame().await {
            let Ok(data) = frame?.into_data() else { continue };
            seen += data.len();
            let room = MAX_BODY.saturating_sub(kept.len());
            kept.extend_from_slice(&data[..data.len().min(room)]);
            if seen > DRAIN_LIMIT {
                break;
            }
        }
        Ok::<(), hyper::Error>(())
    };
    match tokio::time::timeout_at(deadline, reading).await {
        Ok(Ok(())) => {}
        Ok(Err(error)) => {
            tracing::debug!(%error, status = %parts.status, "response body cut short")
        }
        Err(_) => {
            tracing::debug!(status = %parts.status, "response body not complete by the deadline")
        }
    }
    Response::from_parts(parts.status, &parts.headers, kept.freeze())
}

fn add_proxy_authorization(
    proxy: &Proxy,
    headers: &mut HeaderMap,
    context: &Context,
) -> Result<(), Error> {
    match proxy.authorization() {
        Ok(Some(value)) => {
            headers.insert(http::header::PROXY_AUTHORIZATION, value);
            Ok(())
        }
        Ok(None) => Ok(()),
        Err(error) => Err(Error::from_http(Box::new(error), true, context)),
    }
}

impl Transport for HttpTransport {
    fn send(&self, request: Request) -> SendFuture<'_> {
        Box::pin(async move {
            let started = Instant::now();
            let deadline = started + self.inner.timeout;
            let result = match tokio::time::timeout_at(deadline, self.exchange(request)).await {
                Ok(Ok(answer)) => Ok(read_body(answer, deadline).await),
                Ok(Err(error)) => Err(error),
                Err(_) => Err(Error::timeout(self.inner.timeout, &self.inner.context.target)),
            };
            match &result {
                Ok(response) => tracing::debug!(
                    status = %response.status,
                    elapsed = ?started.elapsed(),
                    "remote-write request answered"
                ),
                Err(error) => {
                    tracing::debug!(%error, elapsed = ?started.elapsed(), "remote-write request failed")
                }
            }
            result
        })
    }
}

impl fmt::Debug for HttpTransport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let inner = &self.inner;
        f.debug_struct("HttpTransport")
            .field("endpoint", &redact_url(&inner.endpoint.to_string()))
            .field("timeout", &inner.timeout)
            .field("authenticator", &inner.authenticator)
            .field("headers", &inner.headers.keys().collect::<Vec<_>>())
            .field("tls", &inner.tls_summary)
            .field("proxy", &inner.route.proxy())
            .field("http2", &inner.http2)
            .finish()
    }
}
