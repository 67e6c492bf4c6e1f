//! What the transport logs: the warning for `insecure_skip_verify`, one line per request, and
//! never a secret. Alone in its test binary, as it installs the global `tracing` subscriber.

mod common;

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use common::pki::Pki;
use common::server::{TestServer, respond, tls_config};
use http::{HeaderMap, HeaderValue};
use prw_transport::{HttpTransport, HttpTransportBuilder, Secret, Transport};

fn builder(url: String) -> HttpTransportBuilder {
    HttpTransport::builder().endpoint(url).timeout(Duration::from_secs(5))
}

fn protocol_headers() -> HeaderMap {
    let mut headers = HeaderMap::new();
    headers.insert("content-type", HeaderValue::from_static("application/x-protobuf"));
    headers
}

/// Collects everything logged through `tracing`.
#[derive(Clone, Default)]
struct Captured(Arc<std::sync::Mutex<Vec<u8>>>);

impl std::io::Write for Captured {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().expect("lock").extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Captured {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().expect("lock")).into_owned()
    }
}

#[tokio::test]
async fn insecure_skip_verify_warns_and_logs_hold_no_secret() {
    let captured = Captured::default();
    let writer = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .finish();
    // Global: a thread-scoped subscriber misses callsites that other threads saw first.
    tracing::subscriber::set_global_default(subscriber).expect("the only subscriber");

    let pki = Pki::new();
    let server = TestServer::start_tls(tls_config(&pki.server_cert, &pki.server_key), |_| {
        respond(401, &[], "no")
    })
    .await;
    let transport = builder(server.url("https"))
        .insecure_skip_verify(true)
        .basic_auth("user", Secret::new("LOGGED-PASSWORD?"))
        .build()
        .unwrap();
    let response = transport.send(transport.post(protocol_headers(), Bytes::new())).await.unwrap();
    assert_eq!(response.status, 401);
    let refused = builder(format!("http://127.0.0.1:{}/", common::free_port()))
        .bearer_token("LOGGED-TOKEN?")
        .build()
        .unwrap();
    refused.send(common::get("/")).await.unwrap_err();

    let logs = captured.text();
    assert!(logs.contains("WARN") && logs.contains("insecure_skip_verify is set"), "{logs}");
    assert!(logs.contains("remote-write request answered") && logs.contains("401"), "{logs}");
    assert!(logs.contains("remote-write request failed"), "{logs}");
    assert!(!logs.contains("LOGGED-"), "{logs}");
}
