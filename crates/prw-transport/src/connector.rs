//! The TCP connector under hyper-rustls: straight to the endpoint, or through the proxy.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use http::Uri;
use hyper_util::client::legacy::connect::{Connected, Connection, HttpConnector};
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;

use crate::error::BoxError;
use crate::proxy::{ProxyError, Route};

/// Dials the endpoint along its [`Route`]. hyper-rustls wraps it and adds TLS for `https://`.
#[derive(Debug, Clone)]
pub(crate) struct RouteConnector {
    pub(crate) http: HttpConnector,
    pub(crate) route: Route,
}

type Connecting = Pin<Box<dyn Future<Output = Result<Conn, BoxError>> + Send>>;

impl tower_service::Service<Uri> for RouteConnector {
    type Response = Conn;
    type Error = BoxError;
    type Future = Connecting;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        tower_service::Service::<Uri>::poll_ready(&mut self.http, cx).map_err(Into::into)
    }

    fn call(&mut self, dst: Uri) -> Self::Future {
        match &self.route {
            Route::Direct => {
                let connecting = self.http.call(dst);
                Box::pin(async move {
                    let io = connecting.await?;
                    Ok(Conn { io, proxied: false })
                })
            }
            Route::Forward(proxy) => {
                let connecting = self.http.call(proxy.uri.clone());
                let proxy = proxy.clone();
                Box::pin(async move {
                    let io =
                        connecting.await.map_err(|source| ProxyError::connect(&proxy, source))?;
                    // Marked as proxied, hyper sends the request line in absolute form.
                    Ok(Conn { io, proxied: true })
                })
            }
            Route::Tunnel(proxy) => {
                let connecting = self.http.call(proxy.uri.clone());
                let proxy = proxy.clone();
                Box::pin(async move {
                    let host = dst.host().unwrap_or_default().trim_matches(['[', ']']).to_owned();
                    let port = dst.port_u16().unwrap_or(443);
                    let io =
                        connecting.await.map_err(|source| ProxyError::connect(&proxy, source))?;
                    let mut stream = io.into_inner();
                    proxy.connect_tunnel(&mut stream, &host, port).await?;
                    Ok(Conn { io: TokioIo::new(stream), proxied: false })
                })
            }
        }
    }
}

/// A TCP connection that knows whether requests on it go to a forwarding proxy.
#[derive(Debug)]
pub(crate) struct Conn {
    io: TokioIo<TcpStream>,
    proxied: bool,
}

impl Connection for Conn {
    fn connected(&self) -> Connected {
        self.io.connected().proxy(self.proxied)
    }
}

impl hyper::rt::Read for Conn {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: hyper::rt::ReadBufCursor<'_>,
    ) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.io).poll_read(cx, buf)
    }
}

impl hyper::rt::Write for Conn {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.io).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.io).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.io).poll_shutdown(cx)
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.io).poll_write_vectored(cx, bufs)
    }
}
