//! What a real backend cannot be made to do on demand, against in-process servers on loopback:
//! silence, early hang-ups, scripted Retry-After and Written headers, long bodies, and a look at
//! exactly what was sent (headers, HTTP version, connections).

mod common;

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use common::pki::{Pki, SERVER_NAME};
use common::server::{TestServer, respond, tls_config};
use http::{HeaderMap, HeaderValue};
use prw_transport::{
    AuthFuture, Authenticate, HttpTransport, HttpTransportBuilder, Request, RetryAfter, Secret,
    Transport, Written,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

fn builder(url: String) -> HttpTransportBuilder {
    HttpTransport::builder().endpoint(url).timeout(Duration::from_secs(5))
}

fn protocol_headers() -> HeaderMap {
    let mut headers = HeaderMap::new();
    headers.insert("content-encoding", HeaderValue::from_static("snappy"));
    headers.insert("content-type", HeaderValue::from_static("application/x-protobuf"));
    headers.insert("x-prometheus-remote-write-version", HeaderValue::from_static("0.1.0"));
    headers
}

#[tokio::test]
async fn sends_protocol_extra_and_auth_headers_with_the_body() {
    let server = TestServer::start(|_| respond(204, &[], "")).await;
    let transport = builder(server.url("http"))
        .bearer_token(Secret::new("tok-123"))
        .tenant_id("team-a")
        .header("X-Custom", "yes")
        .build()
        .unwrap();
    let body = Bytes::from_static(b"\x00compressed\xff");
    let response = transport.send(transport.post(protocol_headers(), body.clone())).await.unwrap();
    assert_eq!(response.status, 204);
    assert!(response.written.is_absent());

    let seen = server.recorded();
    assert_eq!(seen.len(), 1);
    let request = &seen[0];
    assert_eq!(request.method, http::Method::POST);
    assert_eq!(request.uri.path(), "/api/v1/write");
    assert_eq!(request.version, http::Version::HTTP_11);
    assert_eq!(request.body, body);
    let header = |name: &str| request.headers.get(name).map(|v| v.to_str().unwrap().to_owned());
    assert_eq!(header("content-encoding").as_deref(), Some("snappy"));
    assert_eq!(header("content-type").as_deref(), Some("application/x-protobuf"));
    assert_eq!(header("x-prometheus-remote-write-version").as_deref(), Some("0.1.0"));
    assert_eq!(header("user-agent"), Some(format!("prw/{}", env!("CARGO_PKG_VERSION"))));
    assert_eq!(header("authorization").as_deref(), Some("Bearer tok-123"));
    assert_eq!(header("x-scope-orgid").as_deref(), Some("team-a"));
    assert_eq!(header("x-custom").as_deref(), Some("yes"));
    assert!(!format!("{transport:?}").contains("tok-123"));
}

#[tokio::test]
async fn reads_retry_after_written_counts_and_keeps_1_kib_of_body() {
    let long_body: String = (0..5000).map(|i| char::from(b'a' + (i % 26) as u8)).collect();
    let expected = long_body[..1024].to_owned();
    let server = TestServer::start(move |request| match request.uri.path() {
        "/seconds" => respond(
            429,
            &[
                ("retry-after", "7"),
                ("x-prometheus-remote-write-samples-written", "3"),
                ("x-prometheus-remote-write-histograms-written", "0"),
                ("x-prometheus-remote-write-exemplars-written", "1"),
            ],
            long_body.clone(),
        ),
        _ => respond(503, &[("retry-after", "Wed, 21 Oct 2037 07:28:00 GMT")], "try later"),
    })
    .await;
    let transport = builder(server.url("http")).build().unwrap();

    let response = transport.send(common::get("/seconds")).await.unwrap();
    assert_eq!(response.status, 429);
    assert_eq!(response.retry_after, Some(RetryAfter::Delay(Duration::from_secs(7))));
    assert_eq!(
        response.written,
        Written { samples: Some(3), histograms: Some(0), exemplars: Some(1) }
    );
    assert_eq!(response.body.len(), 1024);
    assert_eq!(response.body_text(), expected);

    let response = transport.send(common::get("/date")).await.unwrap();
    assert_eq!(response.status, 503);
    let at = SystemTime::UNIX_EPOCH + Duration::from_secs(2_139_722_880);
    assert_eq!(response.retry_after, Some(RetryAfter::At(at)));
    assert_eq!(response.body_text(), "try later");

    // Both answers were read to the end, so one connection carried both.
    assert_eq!(server.connections.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn reuses_one_connection_for_sequential_requests() {
    let server = TestServer::start(|_| respond(200, &[], "x".repeat(3000))).await;
    let transport = builder(server.url("http")).build().unwrap();
    for _ in 0..5 {
        let response = transport
            .send(transport.post(protocol_headers(), Bytes::from_static(b"b")))
            .await
            .unwrap();
        assert_eq!(response.status, 200);
    }
    // Clones share the pool.
    let clone = transport.clone();
    clone.send(clone.post(protocol_headers(), Bytes::new())).await.unwrap();
    assert_eq!(server.recorded().len(), 6);
    assert_eq!(server.connections.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn a_server_that_never_answers_is_a_timeout() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    // Accepts and reads, never answers; keeps the sockets open.
    let silent = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((mut stream, _)) = listener.accept().await {
            let mut buf = [0u8; 1024];
            let _ = stream.read(&mut buf).await;
            held.push(stream);
        }
    });
    let transport = builder(format!("http://127.0.0.1:{port}/api/v1/write"))
        .timeout(Duration::from_millis(300))
        .build()
        .unwrap();
    let error = transport
        .send(transport.post(protocol_headers(), Bytes::from_static(b"body")))
        .await
        .unwrap_err();
    assert!(error.is_timeout(), "{error:?}");
    assert!(!error.is_connect() && !error.is_io());
    assert!(error.to_string().contains("300ms"), "{error}");
    silent.abort();
}

#[tokio::test]
async fn a_status_is_kept_even_when_the_body_stalls() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let stalling = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((mut stream, _)) = listener.accept().await {
            let mut buf = [0u8; 4096];
            let _ = stream.read(&mut buf).await;
            let head = b"HTTP/1.1 500 Internal Server Error\r\ncontent-length: 100\r\n\r\npartial";
            let _ = stream.write_all(head).await;
            held.push(stream);
        }
    });
    let transport = builder(format!("http://127.0.0.1:{port}/api/v1/write"))
        .timeout(Duration::from_millis(300))
        .build()
        .unwrap();
    let response = transport.send(transport.post(protocol_headers(), Bytes::new())).await.unwrap();
    assert_eq!(response.status, 500);
    assert_eq!(response.body_text(), "partial");
    stalling.abort();
}

#[tokio::test]
async fn nothing_listening_is_a_connect_error() {
    let port = common::free_port();
    let transport = builder(format!("http://127.0.0.1:{port}/api/v1/write")).build().unwrap();
    let error = transport.send(common::get("/")).await.unwrap_err();
    assert!(error.is_connect(), "{error:?}");
    assert!(
        error.to_string().starts_with(&format!("cannot connect to 127.0.0.1:{port}: ")),
        "{error}"
    );
}

#[tokio::test]
async fn a_server_hanging_up_is_an_io_error() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let rude = tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            let mut buf = [0u8; 4096];
            let _ = stream.read(&mut buf).await;
            drop(stream);
        }
    });
    let transport = builder(format!("http://127.0.0.1:{port}/api/v1/write")).build().unwrap();
    let error = transport.send(transport.post(protocol_headers(), Bytes::new())).await.unwrap_err();
    assert!(error.is_io(), "{error:?}");
    assert!(error.to_string().contains("failed during the request"), "{error}");
    rude.abort();
}

/// Signs what it sees: method, URI, a header set before it and the body length.
#[derive(Debug)]
struct Signer;

impl Authenticate for Signer {
    fn authenticate<'a>(&'a self, request: &'a mut http::Request<Bytes>) -> AuthFuture<'a> {
        Box::pin(async move {
            let signature = format!(
                "{} {} ua={} len={}",
                request.method(),
                request.uri(),
                request.headers().get("user-agent").is_some(),
                request.body().len()
            );
            let mut value = HeaderValue::try_from(signature)?;
            value.set_sensitive(true);
            request.headers_mut().insert("x-signature", value);
            Ok(())
        })
    }
}

#[derive(Debug)]
struct Broken;

impl Authenticate for Broken {
    fn authenticate<'a>(&'a self, _request: &'a mut http::Request<Bytes>) -> AuthFuture<'a> {
        Box::pin(async { Err("credentials service unreachable".into()) })
    }
}

#[tokio::test]
async fn a_custom_authenticator_sees_the_finished_request() {
    let server = TestServer::start(|_| respond(204, &[], "")).await;
    let transport = builder(server.url("http")).authenticator(Signer).build().unwrap();
    transport.send(transport.post(protocol_headers(), Bytes::from_static(b"12345"))).await.unwrap();
    let seen = server.recorded();
    let signature = seen[0].headers["x-signature"].to_str().unwrap();
    assert_eq!(
        signature,
        format!("POST http://127.0.0.1:{}/api/v1/write ua=true len=5", server.addr.port())
    );

    // A failing step stops the request before anything is sent.
    let broken = builder(server.url("http")).authenticator(Broken).build().unwrap();
    let error = broken.send(broken.post(protocol_headers(), Bytes::new())).await.unwrap_err();
    assert!(error.is_auth(), "{error:?}");
    assert!(error.to_string().contains("credentials service unreachable"), "{error}");
    assert_eq!(server.recorded().len(), 1);
}

#[tokio::test]
async fn http2_is_opt_in_with_prior_knowledge_over_http() {
    let server = TestServer::start(|_| respond(204, &[], "")).await;
    let h1 = builder(server.url("http")).build().unwrap();
    let h2 = builder(server.url("http")).http2(true).build().unwrap();
    h1.send(common::get("/")).await.unwrap();
    h2.send(common::get("/")).await.unwrap();
    let versions: Vec<_> = server.recorded().iter().map(|r| r.version).collect();
    assert_eq!(versions, [http::Version::HTTP_11, http::Version::HTTP_2]);
}

#[tokio::test]
async fn http2_is_negotiated_over_tls() {
    let pki = Pki::new();
    let server = TestServer::start_tls(tls_config(&pki.server_cert, &pki.server_key), |_| {
        respond(204, &[], "")
    })
    .await;
    let tls = || builder(server.url("https")).tls_ca_file(&pki.ca).tls_server_name(SERVER_NAME);
    let h1 = tls().build().unwrap();
    let h2 = tls().http2(true).build().unwrap();
    h1.send(common::get("/")).await.unwrap();
    for _ in 0..3 {
        h2.send(common::get("/")).await.unwrap();
    }
    let versions: Vec<_> = server.recorded().iter().map(|r| r.version).collect();
    assert_eq!(versions[0], http::Version::HTTP_11);
    assert_eq!(versions[1..], [http::Version::HTTP_2; 3]);
    // One connection each: HTTP/2 multiplexes on the one it negotiated.
    assert_eq!(server.connections.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn requests_go_only_to_the_endpoint() {
    let server = TestServer::start(|_| respond(204, &[], "")).await;
    let transport: Arc<dyn Transport> = Arc::new(builder(server.url("http")).build().unwrap());
    for uri in ["http://elsewhere.test/api/v1/write", "https://127.0.0.1/api/v1/write"] {
        let request = Request {
            method: http::Method::POST,
            uri: uri.parse().unwrap(),
            headers: HeaderMap::new(),
            body: Bytes::new(),
        };
        let error = transport.send(request).await.unwrap_err();
        assert!(error.is_invalid_request(), "{error:?}");
        assert!(error.to_string().contains("only sends to its endpoint"), "{error}");
    }
    assert!(server.recorded().is_empty());
}
