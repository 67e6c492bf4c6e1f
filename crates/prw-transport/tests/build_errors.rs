//! Every configuration mistake `build()` reports, with a message that says how to fix it, and
//! no secret in any `Debug` or error string.

mod common;

use std::path::Path;
use std::process::Command;

use common::pki::Pki;
use prw_transport::{BuildError, HttpTransport, HttpTransportBuilder, Secret, TlsVersion};

const HTTPS: &str = "https://prometheus.test:9090/api/v1/write";
const HTTP: &str = "http://prometheus.test:9090/api/v1/write";

fn https() -> HttpTransportBuilder {
    HttpTransport::builder().endpoint(HTTPS)
}

fn http() -> HttpTransportBuilder {
    HttpTransport::builder().endpoint(HTTP)
}

fn error(builder: HttpTransportBuilder) -> BuildError {
    builder.build().expect_err("the configuration should be refused")
}

fn file(dir: &Path, name: &str, content: &str) -> std::path::PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, content).expect("write test file");
    path
}

/// Each case: the builder, a check of the variant, and words the message must hold.
#[test]
fn every_mistake_is_its_own_error_with_a_fix() {
    let pki = Pki::new();
    let dir = pki.dir.path();
    let empty = file(dir, "empty", "");
    let garbage =
        file(dir, "garbage.pem", "-----BEGIN CERTIFICATE-----\n!!!!\n-----END CERTIFICATE-----\n");
    let missing = dir.join("missing.pem");

    type Check = fn(&BuildError) -> bool;
    let cases: Vec<(HttpTransportBuilder, Check, &[&str])> = vec![
        (
            HttpTransport::builder(),
            |e| matches!(e, BuildError::MissingEndpoint),
            &["call endpoint("],
        ),
        (
            HttpTransport::builder().endpoint("not a url"),
            |e| matches!(e, BuildError::InvalidEndpoint { .. }),
            &["https://host:port/path"],
        ),
        (
            HttpTransport::builder().endpoint("prometheus:9090"),
            |e| matches!(e, BuildError::InvalidEndpoint { .. }),
            &["no scheme"],
        ),
        (
            HttpTransport::builder().endpoint("/api/v1/write"),
            |e| matches!(e, BuildError::InvalidEndpoint { .. }),
            &["no scheme"],
        ),
        (
            HttpTransport::builder().endpoint("ftp://h/x"),
            |e| matches!(e, BuildError::EndpointScheme { .. }),
            &["\"ftp\"", "use http:// or https://"],
        ),
        (
            HttpTransport::builder().endpoint("http://:9090/x"),
            |e| matches!(e, BuildError::EndpointWithoutHost),
            &["has no host"],
        ),
        (
            HttpTransport::builder().endpoint("https://user:pw@h/x"),
            |e| matches!(e, BuildError::EndpointCredentials),
            &["use basic_auth"],
        ),
        (
            http().timeout(std::time::Duration::ZERO),
            |e| matches!(e, BuildError::ZeroTimeout),
            &["positive duration"],
        ),
        (
            http().basic_auth("", "pw"),
            |e| matches!(e, BuildError::EmptyUsername),
            &["username is empty"],
        ),
        (
            http().basic_auth("a:b", "pw"),
            |e| matches!(e, BuildError::UsernameWithColon),
            &["contains ':'"],
        ),
        (
            http().basic_auth("u", ""),
            |e| matches!(e, BuildError::Password { .. }),
            &["password", "empty"],
        ),
        (
            http().basic_auth("u", Secret::from_file(&missing)),
            |e| matches!(e, BuildError::Password { .. }),
            &["cannot read secret file", "missing.pem"],
        ),
        (
            http().bearer_token(Secret::from_file(&empty)),
            |e| matches!(e, BuildError::Token { .. }),
            &["bearer token", "empty"],
        ),
        (
            http().bearer_token("line\nbreak"),
            |e| matches!(e, BuildError::InvalidToken),
            &["not allowed in an HTTP header"],
        ),
        (
            http().basic_auth("u", "p").bearer_token("t"),
            |e| {
                matches!(
                    e,
                    BuildError::ConflictingAuth { first: "basic_auth", second: "bearer_token" }
                )
            },
            &["keep one"],
        ),
        (
            http()
                .bearer_token("t")
                .authenticator(prw_transport::BearerToken::new(Secret::new("x")).unwrap()),
            |e| {
                matches!(
                    e,
                    BuildError::ConflictingAuth { first: "bearer_token", second: "authenticator" }
                )
            },
            &["keep one"],
        ),
        (
            http().header("bad header", "v"),
            |e| matches!(e, BuildError::InvalidHeaderName { .. }),
            &["\"bad header\"", "not a valid HTTP header name"],
        ),
        (
            http().header("X-Api-Key", "a\nb"),
            |e| matches!(e, BuildError::InvalidHeaderValue { .. }),
            &["X-Api-Key", "not allowed"],
        ),
        (
            http().header("Content-Encoding", "gzip"),
            |e| matches!(e, BuildError::ReservedHeader { .. }),
            &["Content-Encoding", "cannot be overridden"],
        ),
        (
            http().header("content-type", "x"),
            |e| matches!(e, BuildError::ReservedHeader { .. }),
            &["content-type"],
        ),
        (
            http().header("X-Prometheus-Remote-Write-Version", "2.0.0"),
            |e| matches!(e, BuildError::ReservedHeader { .. }),
            &["remote-write protocol"],
        ),
        (
            http().header("User-Agent", "me"),
            |e| matches!(e, BuildError::ReservedHeader { .. }),
            &["User-Agent"],
        ),
        (
            http().header("Authorization", "Bearer x"),
            |e| matches!(e, BuildError::AuthorizationHeader),
            &["use basic_auth, bearer_token or authenticator"],
        ),
        (
            http().header("Proxy-Authorization", "Basic x"),
            |e| matches!(e, BuildError::ProxyAuthorizationHeader),
            &["proxy_basic_auth"],
        ),
        (
            http().header("Host", "h"),
            |e| matches!(e, BuildError::ConnectionHeader { .. }),
            &["managed by the HTTP client"],
        ),
        (
            http().header("Content-Length", "3"),
            |e| matches!(e, BuildError::ConnectionHeader { .. }),
            &["Content-Length"],
        ),
        (
            http().header("X-A", "1").header("x-a", "2"),
            |e| matches!(e, BuildError::DuplicateHeader { .. }),
            &["given twice"],
        ),
        (
            http().header("X-Scope-OrgID", "a").tenant_id("b"),
            |e| matches!(e, BuildError::DuplicateHeader { .. }),
            &["X-Scope-OrgID"],
        ),
        (http().tenant_id(" "), |e| matches!(e, BuildError::InvalidTenant), &["tenant id"]),
        (http().tenant_id("a\u{0}b"), |e| matches!(e, BuildError::InvalidTenant), &["tenant id"]),
        (
            http().tls_ca_file(&pki.ca),
            |e| matches!(e, BuildError::TlsWithoutHttps { option: "tls_ca_file" }),
            &["use an https:// endpoint"],
        ),
        (
            http().insecure_skip_verify(true),
            |e| matches!(e, BuildError::TlsWithoutHttps { option: "insecure_skip_verify" }),
            &["http://"],
        ),
        (
            https().tls_ca_file(&missing),
            |e| matches!(e, BuildError::CaFile { .. }),
            &["missing.pem", "cannot read it"],
        ),
        (
            https().tls_ca_file(&empty),
            |e| matches!(e, BuildError::CaFile { .. }),
            &["holds no PEM certificate"],
        ),
        (
            https().tls_ca_file(&garbage),
            |e| matches!(e, BuildError::CaFile { .. }),
            &["garbage.pem"],
        ),
        (
            https().tls_client_cert_file(&pki.client_cert),
            |e| matches!(e, BuildError::ClientCertWithoutKey),
            &["give both or neither"],
        ),
        (
            https().tls_client_key_file(&pki.client_key),
            |e| matches!(e, BuildError::ClientKeyWithoutCert),
            &["give both or neither"],
        ),
        (
            https().tls_client_cert_file(&empty).tls_client_key_file(&pki.client_key),
            |e| matches!(e, BuildError::ClientCert { .. }),
            &["client certificate file", "no PEM certificate"],
        ),
        (
            https().tls_client_cert_file(&missing).tls_client_key_file(&pki.client_key),
            |e| matches!(e, BuildError::ClientCert { .. }),
            &["cannot read it"],
        ),
        (
            https().tls_client_cert_file(&pki.client_cert).tls_client_key_file(&pki.client_cert),
            |e| matches!(e, BuildError::ClientKey { .. }),
            &["client key file", "one PEM private key"],
        ),
        (
            https().tls_client_cert_file(&pki.client_cert).tls_client_key_file(&pki.stranger_key),
            |e| matches!(e, BuildError::ClientKeyMismatch { .. }),
            &["does not match", "stranger-key.pem", "client.pem"],
        ),
        (
            https().tls_server_name("not a name!"),
            |e| matches!(e, BuildError::InvalidServerName { .. }),
            &["\"not a name!\"", "DNS name or IP address"],
        ),
        (
            https().insecure_skip_verify(true).tls_ca_file(&pki.ca),
            |e| matches!(e, BuildError::InsecureWithCaFile),
            &["keep one"],
        ),
        (
            http().proxy("http://"),
            |e| matches!(e, BuildError::InvalidProxy { .. }),
            &["http://host:port"],
        ),
        (
            http().proxy("proxy:3128"),
            |e| matches!(e, BuildError::InvalidProxy { .. }),
            &["no scheme"],
        ),
        (
            http().proxy("socks5://proxy:1080"),
            |e| matches!(e, BuildError::ProxyScheme { .. }),
            &["\"socks5\"", "only http:// proxies"],
        ),
        (
            http().proxy("https://proxy:443"),
            |e| matches!(e, BuildError::ProxyScheme { .. }),
            &["\"https\""],
        ),
        (
            http().proxy("http://u:p@proxy:3128").proxy_basic_auth("u", "p"),
            |e| matches!(e, BuildError::ProxyCredentialsTwice),
            &["keep one"],
        ),
        (
            http().proxy_basic_auth("u", "p"),
            |e| matches!(e, BuildError::ProxyAuthWithoutProxy),
            &["give the proxy URL too"],
        ),
        (
            http().proxy("http://proxy:3128").proxy_basic_auth("", "p"),
            |e| matches!(e, BuildError::ProxyUsername),
            &["proxy username"],
        ),
        (
            http().proxy("http://proxy:3128").proxy_basic_auth("u", Secret::from_file(&missing)),
            |e| matches!(e, BuildError::ProxyPassword { .. }),
            &["proxy password", "missing.pem"],
        ),
        (
            http().proxy("http://proxy:3128").proxy_from_env(true),
            |e| matches!(e, BuildError::ProxyAndProxyFromEnv),
            &["not both"],
        ),
        (
            http().proxy("http://proxy:3128").http2(true),
            |e| matches!(e, BuildError::Http2ThroughProxy),
            &["turn http2 off"],
        ),
    ];

    let mut messages = std::collections::HashMap::new();
    for (builder, check, words) in cases {
        let shown = format!("{builder:?}");
        let error = error(builder);
        assert!(check(&error), "{shown}\ngave {error:?}");
        let message = error.to_string();
        for word in words {
            assert!(message.contains(word), "{message:?} should say {word:?}");
        }
        // Different mistakes read differently.
        let variant = std::mem::discriminant(&error);
        if let Some((other, _)) = messages.iter().find(|(v, m)| **v != variant && **m == message) {
            panic!("{other:?} and {error:?} read the same: {message}");
        }
        messages.insert(variant, message);
    }
}

#[test]
fn valid_configurations_build() {
    let pki = Pki::new();
    let transports = [
        http().build(),
        https().build(),
        https()
            .tls_ca_file(&pki.ca)
            .tls_client_cert_file(&pki.client_cert)
            .tls_client_key_file(&pki.client_key)
            .tls_server_name("prometheus.test")
            .tls_min_version(TlsVersion::Tls13)
            .build(),
        https().tls_server_name("127.0.0.1").build(),
        https().tls_server_name("[::1]").build(),
        https().insecure_skip_verify(true).build(),
        http().header("X-Api-Key", "k").tenant_id("t").basic_auth("u", "p").build(),
        http().proxy("http://proxy:3128").build(),
        https().proxy("http://u:p@proxy").build(),
        https().proxy("http://proxy:3128").http2(true).build(),
        http().proxy_from_env(true).build(),
        http().http2(true).timeout(std::time::Duration::from_millis(1)).build(),
    ];
    for transport in transports {
        transport.unwrap();
    }
}

#[test]
fn no_secret_in_debug_or_errors() {
    const PASSWORD: &str = "PW-hunter2-secret";
    const TOKEN: &str = "TOKEN-0123456789";
    const PROXY_PASSWORD: &str = "PROXY-pw-secret";
    const API_KEY: &str = "APIKEY-secret-value";
    let dir = tempfile::tempdir().unwrap();
    let token_file = file(dir.path(), "token", TOKEN);

    let builders = [
        http()
            .basic_auth("user", PASSWORD)
            .header("X-Api-Key", API_KEY)
            .proxy(format!("http://pu:{PROXY_PASSWORD}@proxy:3128")),
        http()
            .bearer_token(Secret::from_file(&token_file))
            .proxy("http://proxy:3128")
            .proxy_basic_auth("pu", PROXY_PASSWORD),
        http().bearer_token(TOKEN),
    ];
    let mut shown = Vec::new();
    for builder in builders {
        shown.push(format!("{builder:?}"));
        let transport = builder.build().unwrap();
        shown.push(format!("{transport:?}"));
        shown.push(format!("{transport:#?}"));
    }
    // Errors around secrets: the endpoint or proxy URL with credentials, a token that cannot
    // be a header, conflicting settings holding secrets.
    let errors = [
        HttpTransport::builder()
            .endpoint(format!("https://user:{PASSWORD}@h/x"))
            .build()
            .unwrap_err(),
        HttpTransport::builder()
            .endpoint(format!("https://user:{PASSWORD}@h /x"))
            .build()
            .unwrap_err(),
        http()
            .bearer_token(format!("{TOKEN}\n"))
            .header("X", "y")
            .bearer_token(format!("{TOKEN}\u{1}"))
            .build()
            .unwrap_err(),
        http().basic_auth("u", PASSWORD).bearer_token(TOKEN).build().unwrap_err(),
        http().header("X-Api-Key", format!("{API_KEY}\u{1}")).build().unwrap_err(),
        http()
            .proxy(format!("http://u:{PROXY_PASSWORD}@proxy:3128"))
            .proxy_basic_auth("u", PROXY_PASSWORD)
            .build()
            .unwrap_err(),
        http().proxy(format!("socks5://u:{PROXY_PASSWORD}@proxy:1080")).build().unwrap_err(),
        http().proxy(format!("http://u:{PROXY_PASSWORD}@")).build().unwrap_err(),
    ];
    for error in &errors {
        shown.push(error.to_string());
        shown.push(format!("{error:?}"));
    }
    assert_eq!(Secret::new(PASSWORD).expose().unwrap().as_ref(), PASSWORD);
    shown.push(format!("{:?}", Secret::new(PASSWORD)));
    for text in &shown {
        for secret in [PASSWORD, TOKEN, PROXY_PASSWORD, API_KEY] {
            assert!(!text.contains(secret), "{secret} leaked in {text}");
        }
    }
    assert!(shown.iter().any(|text| text.contains("Secret(***)")));
}

#[test]
fn no_system_roots_is_reported_with_a_fix() {
    // rustls-native-certs reads SSL_CERT_FILE / SSL_CERT_DIR when set: point them at nothing,
    // in a child process (the test harness' own environment stays untouched).
    let dir = tempfile::tempdir().unwrap();
    let output = Command::new(std::env::current_exe().unwrap())
        .args(["child_builds_https_transport", "--exact", "--ignored", "--nocapture"])
        .env("SSL_CERT_FILE", dir.path().join("none.pem"))
        .env("SSL_CERT_DIR", dir.path())
        .env("PRW_CHILD_EXPECT", "no-system-roots")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success() && stdout.contains("1 passed"),
        "child failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
}

#[test]
#[ignore = "a child process of no_system_roots_is_reported_with_a_fix"]
fn child_builds_https_transport() {
    if std::env::var("PRW_CHILD_EXPECT").as_deref() != Ok("no-system-roots") {
        eprintln!("only meaningful as a child of no_system_roots_is_reported_with_a_fix");
        return;
    }
    let error = https().build().unwrap_err();
    assert!(matches!(error, BuildError::NoSystemRoots { .. }), "{error:?}");
    assert!(
        error.to_string().contains("install the ca-certificates package or give tls_ca_file"),
        "{error}"
    );
}
