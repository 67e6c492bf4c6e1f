//! A scripted in-process HTTP server (HTTP/1.1 and HTTP/2, plain or TLS) that records what it
//! receives: for what a real backend cannot be made to do on demand.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

/// One request as the server saw it.
#[derive(Debug, Clone)]
pub struct Recorded {
    pub method: http::Method,
    pub uri: http::Uri,
    pub version: http::Version,
    pub headers: http::HeaderMap,
    pub body: Bytes,
}

type Respond = dyn Fn(&Recorded) -> http::Response<Full<Bytes>> + Send + Sync;

/// Stops serving on Drop.
pub struct TestServer {
    pub addr: SocketAddr,
    pub requests: Arc<Mutex<Vec<Recorded>>>,
    pub connections: Arc<AtomicUsize>,
    task: JoinHandle<()>,
}

impl TestServer {
    pub async fn start(
        respond: impl Fn(&Recorded) -> http::Response<Full<Bytes>> + Send + Sync + 'static,
    ) -> TestServer {
        TestServer::serve(None, Arc::new(respond)).await
    }

    pub async fn start_tls(
        config: rustls::ServerConfig,
        respond: impl Fn(&Recorded) -> http::Response<Full<Bytes>> + Send + Sync + 'static,
    ) -> TestServer {
        let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
        TestServer::serve(Some(acceptor), Arc::new(respond)).await
    }

    async fn serve(tls: Option<tokio_rustls::TlsAcceptor>, respond: Arc<Respond>) -> TestServer {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        let requests = Arc::new(Mutex::new(Vec::new()));
        let connections = Arc::new(AtomicUsize::new(0));
        let (recorded, counted) = (requests.clone(), connections.clone());
        let task = tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else { return };
                counted.fetch_add(1, Ordering::SeqCst);
                let (recorded, respond, tls) = (recorded.clone(), respond.clone(), tls.clone());
                tokio::spawn(async move {
                    let service =
                        hyper::service::service_fn(move |request: http::Request<Incoming>| {
                            let (recorded, respond) = (recorded.clone(), respond.clone());
                            async move {
                                let (parts, body) = request.into_parts();
                                let body =
                                    body.collect().await.map(|b| b.to_bytes()).unwrap_or_default();
                                let request = Recorded {
                                    method: parts.method,
                                    uri: parts.uri,
                                    version: parts.version,
                                    headers: parts.headers,
                                    body,
                                };
                                let response = respond(&request);
                                recorded.lock().expect("lock").push(request);
                                Ok::<_, Infallible>(response)
                            }
                        });
                    let builder =
                        hyper_util::server::conn::auto::Builder::new(TokioExecutor::new());
                    match tls {
                        None => {
                            let _ = builder.serve_connection(TokioIo::new(stream), service).await;
                        }
                        Some(acceptor) => {
                            if let Ok(stream) = acceptor.accept(stream).await {
                                let _ =
                                    builder.serve_connection(TokioIo::new(stream), service).await;
                            }
                        }
                    }
                });
            }
        });
        TestServer { addr, requests, connections, task }
    }

    pub fn url(&self, scheme: &str) -> String {
        format!("{scheme}://127.0.0.1:{}/api/v1/write", self.addr.port())
    }

    pub fn recorded(&self) -> Vec<Recorded> {
        self.requests.lock().expect("lock").clone()
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// A response with this status, headers and body.
pub fn respond(
    status: u16,
    headers: &[(&str, &str)],
    body: impl Into<Bytes>,
) -> http::Response<Full<Bytes>> {
    let mut response = http::Response::builder().status(status);
    for (name, value) in headers {
        response = response.header(*name, *value);
    }
    response.body(Full::new(body.into())).expect("response")
}

/// A rustls server configuration for `cert`/`key` offering HTTP/2 and HTTP/1.1.
pub fn tls_config(cert: &std::path::Path, key: &std::path::Path) -> rustls::ServerConfig {
    use rustls_pki_types::pem::PemObject;
    use rustls_pki_types::{CertificateDer, PrivateKeyDer};
    let chain = CertificateDer::pem_file_iter(cert)
        .expect("cert")
        .collect::<Result<Vec<_>, _>>()
        .expect("cert");
    let key = PrivateKeyDer::from_pem_file(key).expect("key");
    let mut config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .expect("versions")
    .with_no_client_auth()
    .with_single_cert(chain, key)
    .expect("server config");
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    config
}
