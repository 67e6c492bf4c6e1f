//! Proxies against a real tinyproxy and Prometheus: forwarding for http:// endpoints, CONNECT
//! tunnels for https:// ones, proxy authentication, refusals, and the environment variables.

mod common;

use std::process::Command;
use std::time::Duration;

use common::pki::{Pki, SERVER_NAME};
use common::{Prometheus, Tinyproxy, WebConfig, now_ms, unique_run, write_request};
use prw_transport::{HttpTransport, HttpTransportBuilder, Secret, Transport};

fn builder(url: String) -> HttpTransportBuilder {
    HttpTransport::builder().endpoint(url).timeout(Duration::from_secs(10))
}

async fn plain_prometheus() -> Option<Prometheus> {
    Prometheus::start(WebConfig::default(), |b| b).await
}

async fn tls_prometheus(pki: &Pki) -> Option<Prometheus> {
    let web = WebConfig {
        tls: Some((pki.server_cert.clone(), pki.server_key.clone())),
        ..WebConfig::default()
    };
    Prometheus::start(web, |b| b.tls_ca_file(&pki.ca).tls_server_name(SERVER_NAME)).await
}

/// Sends one sample through `transport`, checks it was accepted and is in Prometheus.
async fn accepted(prometheus: &Prometheus, transport: &HttpTransport, what: &str) {
    let at = now_ms();
    let run = unique_run(what);
    let response = transport
        .send(write_request(transport, "prw_proxy_test", &run, 7.0, at))
        .await
        .unwrap_or_else(|error| panic!("{what}: {error}"));
    assert_eq!(response.status, 204, "{what}: {}", response.body_text());
    let found = prometheus.query(&format!("prw_proxy_test{{run=\"{run}\"}}"), at).await;
    assert_eq!(found.len(), 1, "{what}: {found:?}");
    assert_eq!(found[0].1, "7");
}

fn count(log: &str, needle: &str) -> usize {
    log.matches(needle).count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn explicit_proxy_forwards_and_tunnels() {
    let pki = Pki::new();
    let Some(plain) = plain_prometheus().await else { return };
    let Some(tls) = tls_prometheus(&pki).await else { return };
    let Some(proxy) = Tinyproxy::start(&[tls.port], None).await else { return };

    // http:// endpoint: the request goes to the proxy in absolute form.
    let forwarded = builder(plain.write_url()).proxy(proxy.url()).build().unwrap();
    accepted(&plain, &forwarded, "forward").await;
    let line = format!("POST http://127.0.0.1:{}/api/v1/write", plain.port);
    assert_eq!(count(&proxy.log(), &line), 1, "{}", proxy.log());

    // https:// endpoint: a CONNECT tunnel, TLS inside it (verified end to end).
    let tunneled = builder(tls.write_url())
        .tls_ca_file(&pki.ca)
        .tls_server_name(SERVER_NAME)
        .proxy(proxy.url())
        .build()
        .unwrap();
    accepted(&tls, &tunneled, "tunnel").await;
    let line = format!("CONNECT 127.0.0.1:{}", tls.port);
    assert_eq!(count(&proxy.log(), &line), 1, "{}", proxy.log());

    // The tunnel is kept and reused: a second request opens no second CONNECT.
    accepted(&tls, &tunneled, "tunnel-again").await;
    assert_eq!(count(&proxy.log(), &line), 1, "{}", proxy.log());

    // A CONNECT to a port the proxy does not allow: refused, and the error says by whom.
    let refused = builder(format!("https://127.0.0.1:{}/api/v1/write", plain.port))
        .proxy(proxy.url())
        .build()
        .unwrap();
    let error = refused.send(common::get("/-/ready")).await.unwrap_err();
    assert!(error.is_proxy(), "{error:?}");
    let text = error.to_string();
    assert!(text.contains("refused to open a tunnel") && text.contains("403"), "{text}");
    assert!(text.contains(&format!("127.0.0.1:{}", proxy.port)), "{text}");

    // A proxy that is not there.
    let nowhere = format!("http://127.0.0.1:{}", common::free_port());
    let absent = builder(tls.write_url())
        .tls_ca_file(&pki.ca)
        .tls_server_name(SERVER_NAME)
        .proxy(nowhere)
        .build()
        .unwrap();
    let error = absent.send(common::get("/-/ready")).await.unwrap_err();
    assert!(error.is_proxy(), "{error:?}");
    let text = error.to_string();
    assert!(text.contains("cannot connect to the proxy") && text.contains("refused"), "{text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn proxy_authentication() {
    const PROXY_PASSWORD: &str = "proxy-pass-123";
    let pki = Pki::new();
    let Some(plain) = plain_prometheus().await else { return };
    let Some(tls) = tls_prometheus(&pki).await else { return };
    let Some(proxy) = Tinyproxy::start(&[tls.port], Some(("proxyuser", PROXY_PASSWORD))).await
    else {
        return;
    };
    let tunnel = || builder(tls.write_url()).tls_ca_file(&pki.ca).tls_server_name(SERVER_NAME);

    // CONNECT without credentials: the proxy wants them, and the error says so.
    let anonymous = tunnel().proxy(proxy.url()).build().unwrap();
    let error = anonymous.send(common::get("/-/ready")).await.unwrap_err();
    assert!(error.is_proxy(), "{error:?}");
    let text = error.to_string();
    assert!(
        text.contains("requires authentication (407") && text.ends_with("; set proxy credentials"),
        "{text}"
    );

    // Wrong credentials: refused, and the password is not in the error.
    let wrong = tunnel()
        .proxy(proxy.url())
        .proxy_basic_auth("proxyuser", Secret::new("not-it-456"))
        .build()
        .unwrap();
    let error = wrong.send(common::get("/-/ready")).await.unwrap_err();
    assert!(error.is_proxy(), "{error:?}");
    assert!(error.to_string().contains("refused the configured proxy credentials"), "{error}");
    assert!(!format!("{error} {error:?} {wrong:?}").contains("not-it-456"));

    // Right credentials, given apart (from a file) or in the URL.
    let password_file = pki.dir.path().join("proxy-password");
    std::fs::write(&password_file, PROXY_PASSWORD).unwrap();
    let apart = tunnel()
        .proxy(proxy.url())
        .proxy_basic_auth("proxyuser", Secret::from_file(&password_file))
        .build()
        .unwrap();
    accepted(&tls, &apart, "proxy-auth-apart").await;
    let in_url = format!("http://proxyuser:{PROXY_PASSWORD}@127.0.0.1:{}", proxy.port);
    let in_url = tunnel().proxy(in_url).build().unwrap();
    accepted(&tls, &in_url, "proxy-auth-in-url").await;
    assert!(!format!("{in_url:?} {apart:?}").contains(PROXY_PASSWORD));

    // Forwarding an http:// request carries Proxy-Authorization on the request itself; without
    // it, the proxy's 407 is the answer (a forwarding proxy answers in the server's place).
    let forwarded = builder(plain.write_url())
        .proxy(proxy.url())
        .proxy_basic_auth("proxyuser", Secret::new(PROXY_PASSWORD))
        .build()
        .unwrap();
    accepted(&plain, &forwarded, "proxy-auth-forward").await;
    let no_credentials = builder(plain.write_url()).proxy(proxy.url()).build().unwrap();
    let response = no_credentials.send(common::get("/-/ready")).await.unwrap();
    assert_eq!(response.status, 407);
}

/// Runs `child_sends_with_proxy_from_env` in a child process with these proxy variables.
fn run_child(endpoint: &str, run: &str, variables: &[(&str, String)]) {
    let mut command = Command::new(std::env::current_exe().expect("test binary"));
    command.args(["child_sends_with_proxy_from_env", "--exact", "--ignored", "--nocapture"]);
    for name in [
        "HTTPS_PROXY",
        "https_proxy",
        "HTTP_PROXY",
        "http_proxy",
        "ALL_PROXY",
        "all_proxy",
        "NO_PROXY",
        "no_proxy",
        "REQUEST_METHOD",
    ] {
        command.env_remove(name);
    }
    command.env("PRW_CHILD_ENDPOINT", endpoint).env("PRW_CHILD_RUN", run);
    for (name, value) in variables {
        command.env(name, value);
    }
    let output = command.output().expect("run the child test");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success() && stdout.contains("1 passed"),
        "child failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn environment_proxy_and_no_proxy() {
    let Some(plain) = plain_prometheus().await else { return };
    let Some(proxy) = Tinyproxy::start(&[], None).await else { return };
    let line = format!("POST http://127.0.0.1:{}/api/v1/write", plain.port);
    let endpoint = plain.write_url();

    // HTTP_PROXY is obeyed when asked: the request goes through the proxy.
    let through = unique_run("env-proxy");
    run_child(&endpoint, &through, &[("HTTP_PROXY", proxy.url())]);
    assert_eq!(count(&proxy.log(), &line), 1, "{}", proxy.log());
    let found = plain.query(&format!("prw_env_test{{run=\"{through}\"}}"), now_ms()).await;
    assert_eq!(found.len(), 1, "{found:?}");

    // NO_PROXY naming the host bypasses it: the sample arrives, the proxy sees nothing more.
    let bypass = unique_run("no-proxy");
    run_child(
        &endpoint,
        &bypass,
        &[("HTTP_PROXY", proxy.url()), ("NO_PROXY", "localhost,127.0.0.1".to_owned())],
    );
    assert_eq!(count(&proxy.log(), &line), 1, "{}", proxy.log());
    let found = plain.query(&format!("prw_env_test{{run=\"{bypass}\"}}"), now_ms()).await;
    assert_eq!(found.len(), 1, "{found:?}");
}

#[tokio::test]
#[ignore = "a child process of environment_proxy_and_no_proxy, with proxy variables set"]
async fn child_sends_with_proxy_from_env() {
    let (Ok(endpoint), Ok(run)) =
        (std::env::var("PRW_CHILD_ENDPOINT"), std::env::var("PRW_CHILD_RUN"))
    else {
        eprintln!("only meaningful as a child of environment_proxy_and_no_proxy");
        return;
    };
    let transport = builder(endpoint).proxy_from_env(true).build().unwrap();
    let response = transport
        .send(write_request(&transport, "prw_env_test", &run, 1.0, now_ms()))
        .await
        .unwrap();
    assert_eq!(response.status, 204, "{}", response.body_text());
}
