//! TLS, basic auth and mutual TLS against a real Prometheus (`--web.config.file`), with a CA
//! and certificates made at test time. Each test runs one Prometheus and checks in turn.

mod common;

use std::time::Duration;

use common::pki::{Pki, SERVER_NAME};
use common::{Prometheus, WebConfig, now_ms, unique_run, write_request};
use prw_transport::{
    HttpTransport, HttpTransportBuilder, Secret, TlsFailure, TlsVersion, Transport,
};

const USER: &str = "prw-user";
const PASSWORD: &str = "correct-horse-battery-staple";

fn builder(prometheus: &Prometheus) -> HttpTransportBuilder {
    HttpTransport::builder().endpoint(prometheus.write_url()).timeout(Duration::from_secs(10))
}

/// Sends one sample and checks that Prometheus has it afterwards.
async fn write_and_query(prometheus: &Prometheus, transport: &HttpTransport, what: &str) {
    let at = now_ms();
    let run = unique_run(what);
    let response = transport
        .send(write_request(transport, "prw_transport_test", &run, 42.5, at))
        .await
        .unwrap_or_else(|error| panic!("{what}: not sent: {error}"));
    assert_eq!(response.status, 204, "{what}: {}", response.body_text());
    let found = prometheus.query(&format!("prw_transport_test{{run=\"{run}\"}}"), at).await;
    assert_eq!(found.len(), 1, "{what}: {found:?}");
    assert_eq!(found[0].0["__name__"], "prw_transport_test");
    assert_eq!(found[0].0["run"], run.as_str());
    assert_eq!(found[0].1, "42.5");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_and_basic_auth() {
    let pki = Pki::new();
    let web = WebConfig {
        tls: Some((pki.server_cert.clone(), pki.server_key.clone())),
        client_ca: None,
        basic_auth: Some((USER.to_owned(), PASSWORD.to_owned())),
    };
    let Some(prometheus) = Prometheus::start(web, |b| {
        b.tls_ca_file(&pki.ca).tls_server_name(SERVER_NAME).basic_auth(USER, Secret::new(PASSWORD))
    })
    .await
    else {
        return;
    };
    let trusted = || builder(&prometheus).tls_ca_file(&pki.ca).tls_server_name(SERVER_NAME);

    // Accepted, and the series can be queried back.
    let password_file = pki.dir.path().join("password");
    std::fs::write(&password_file, format!("{PASSWORD}\n")).unwrap();
    let transport = trusted().basic_auth(USER, Secret::from_file(&password_file)).build().unwrap();
    write_and_query(&prometheus, &transport, "tls-basic").await;

    // The password file is read again: a rotation to a wrong password shows at once, and so
    // does the fix, on the same transport.
    std::fs::write(&password_file, "not-the-password\n").unwrap();
    let response = transport
        .send(write_request(&transport, "prw_transport_test", "rotated", 1.0, now_ms()))
        .await
        .unwrap();
    assert_eq!(response.status, 401, "{}", response.body_text());
    std::fs::write(&password_file, PASSWORD).unwrap();
    write_and_query(&prometheus, &transport, "tls-basic-rotated-back").await;

    // A wrong password is an answer (401), not a transport error, and the body is kept.
    let wrong = trusted().basic_auth(USER, Secret::new("wrong-password")).build().unwrap();
    let response = wrong
        .send(write_request(&wrong, "prw_transport_test", "wrong", 1.0, now_ms()))
        .await
        .unwrap();
    assert_eq!(response.status, 401);
    assert!(response.body_text().contains("Unauthorized"), "{}", response.body_text());

    // No credentials at all: 401 too.
    let anonymous = trusted().build().unwrap();
    let response = anonymous.send(common::get("/-/ready")).await.unwrap();
    assert_eq!(response.status, 401);

    // Unknown CA: the system roots (the default) do not hold the test CA.
    let system_roots = builder(&prometheus)
        .tls_server_name(SERVER_NAME)
        .basic_auth(USER, Secret::new(PASSWORD))
        .build()
        .unwrap();
    let error = system_roots.send(common::get("/-/ready")).await.unwrap_err();
    assert!(error.is_tls(), "{error:?}");
    assert_eq!(error.tls_failure(), Some(TlsFailure::UnknownIssuer), "{error}");
    assert!(error.to_string().contains("not signed by a trusted CA"), "{error}");
    // ... nor does a CA file holding another CA.
    let other_ca = builder(&prometheus)
        .tls_ca_file(&pki.other_ca)
        .tls_server_name(SERVER_NAME)
        .build()
        .unwrap();
    let error = other_ca.send(common::get("/-/ready")).await.unwrap_err();
    assert_eq!(error.tls_failure(), Some(TlsFailure::UnknownIssuer), "{error}");

    // Wrong server name: the certificate is only for prometheus.test, we connect to 127.0.0.1.
    let by_address = builder(&prometheus).tls_ca_file(&pki.ca).build().unwrap();
    let error = by_address.send(common::get("/-/ready")).await.unwrap_err();
    assert!(error.is_tls(), "{error:?}");
    assert_eq!(error.tls_failure(), Some(TlsFailure::NameMismatch), "{error}");
    let text = error.to_string();
    assert!(
        text.contains("not valid for the name \"127.0.0.1\" (it is valid for prometheus.test)"),
        "{text}"
    );
    let other_name =
        builder(&prometheus).tls_ca_file(&pki.ca).tls_server_name("other.test").build().unwrap();
    let error = other_name.send(common::get("/-/ready")).await.unwrap_err();
    assert_eq!(error.tls_failure(), Some(TlsFailure::NameMismatch), "{error}");
    assert!(error.to_string().contains("other.test"), "{error}");

    // insecure_skip_verify connects to the server nobody vouches for (untrusted CA, wrong name).
    let insecure = builder(&prometheus)
        .insecure_skip_verify(true)
        .basic_auth(USER, Secret::new(PASSWORD))
        .build()
        .unwrap();
    write_and_query(&prometheus, &insecure, "insecure").await;

    // TLS 1.3 only, and HTTP/2 negotiated with ALPN, both work with Prometheus.
    let modern = trusted()
        .basic_auth(USER, Secret::new(PASSWORD))
        .tls_min_version(TlsVersion::Tls13)
        .http2(true)
        .build()
        .unwrap();
    write_and_query(&prometheus, &modern, "tls13-h2").await;

    // No secret in any of the errors or Debug output seen here.
    for shown in [
        format!("{transport:?}"),
        format!("{wrong:?}"),
        format!("{insecure:?}"),
        format!("{modern:?}"),
    ] {
        assert!(!shown.contains(PASSWORD) && !shown.contains("wrong-password"), "{shown}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mutual_tls() {
    let pki = Pki::new();
    let web = WebConfig {
        tls: Some((pki.server_cert.clone(), pki.server_key.clone())),
        client_ca: Some(pki.ca.clone()),
        basic_auth: None,
    };
    let Some(prometheus) = Prometheus::start(web, |b| {
        b.tls_ca_file(&pki.ca)
            .tls_server_name(SERVER_NAME)
            .tls_client_cert_file(&pki.client_cert)
            .tls_client_key_file(&pki.client_key)
    })
    .await
    else {
        return;
    };
    let trusted = || builder(&prometheus).tls_ca_file(&pki.ca).tls_server_name(SERVER_NAME);

    // With the client certificate: accepted and queried back.
    let transport = trusted()
        .tls_client_cert_file(&pki.client_cert)
        .tls_client_key_file(&pki.client_key)
        .build()
        .unwrap();
    write_and_query(&prometheus, &transport, "mtls").await;

    // Without one: a TLS error that says a client certificate is required.
    let without = trusted().build().unwrap();
    let error = without
        .send(write_request(&without, "prw_transport_test", "no-cert", 1.0, now_ms()))
        .await
        .unwrap_err();
    assert!(error.is_tls(), "{error:?}");
    assert_eq!(error.tls_failure(), Some(TlsFailure::ClientCertRequired), "{error}");
    assert!(error.to_string().contains("requires a client certificate"), "{error}");

    // With a certificate from a CA the server does not trust: rejected, and said so.
    let stranger = trusted()
        .tls_client_cert_file(&pki.stranger_cert)
        .tls_client_key_file(&pki.stranger_key)
        .build()
        .unwrap();
    let error = stranger.send(common::get("/-/ready")).await.unwrap_err();
    assert!(error.is_tls(), "{error:?}");
    assert_eq!(error.tls_failure(), Some(TlsFailure::ClientCertRejected), "{error}");
    assert!(error.to_string().contains("rejected our client certificate"), "{error}");
}
