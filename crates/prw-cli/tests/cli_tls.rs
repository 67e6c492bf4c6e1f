//! `prw send` over HTTPS to a real Prometheus that demands a client certificate and basic auth:
//! the TLS and auth flags reach the wire, and each way of getting them wrong ends in exit 1 (the
//! server refused) with the data counted as dropped.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failure

mod common;

use std::path::{Path, PathBuf};

use common::{fixture, run};
use prw_integration::Prometheus;
use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair, KeyUsagePurpose};

/// The only name in the server certificate: the tests connect to 127.0.0.1 and name it with
/// --tls-server-name.
const SERVER_NAME: &str = "prometheus.test";
const USER: &str = "alice";
const PASSWORD: &str = "correct horse battery";

struct Pki {
    _dir: tempfile::TempDir,
    ca: PathBuf,
    server_cert: PathBuf,
    server_key: PathBuf,
    client_cert: PathBuf,
    client_key: PathBuf,
    password: PathBuf,
    wrong_password: PathBuf,
}

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

impl Pki {
    fn new() -> Pki {
        let dir = tempfile::tempdir().unwrap();
        let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
        ca_params.distinguished_name.push(DnType::CommonName, "prw-cli test CA");
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca_params.key_usages =
            vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::DigitalSignature];
        let ca_key = KeyPair::generate().unwrap();
        let ca_pem = ca_params.self_signed(&ca_key).unwrap().pem();
        let issuer = Issuer::from_params(&ca_params, &ca_key);
        let leaf = |name: &str| {
            let mut params = CertificateParams::new(vec![name.to_owned()]).unwrap();
            params.distinguished_name.push(DnType::CommonName, name);
            let key = KeyPair::generate().unwrap();
            let cert = params.signed_by(&key, &issuer).unwrap();
            (cert.pem(), key.serialize_pem())
        };
        let (server_cert, server_key) = leaf(SERVER_NAME);
        let (client_cert, client_key) = leaf("client.test");
        let d = dir.path();
        Pki {
            ca: write(d, "ca.pem", &ca_pem),
            server_cert: write(d, "server.pem", &server_cert),
            server_key: write(d, "server-key.pem", &server_key),
            client_cert: write(d, "client.pem", &client_cert),
            client_key: write(d, "client-key.pem", &client_key),
            // a trailing newline, as editors write it, is not part of the password
            password: write(d, "password", &format!("{PASSWORD}\n")),
            wrong_password: write(d, "wrong-password", "hunter2\n"),
            _dir: dir,
        }
    }
}

fn send(prometheus: &Prometheus, extra: &[&str]) -> common::Run {
    let file = fixture("single-request.json");
    let mut args = vec!["send", "--endpoint"];
    let url = prometheus.write_url();
    args.push(&url);
    args.extend(["--max-retry-duration", "1s", "--timeout", "2s"]);
    args.extend(extra);
    args.push(file.to_str().unwrap());
    run(&args)
}

#[test]
fn https_with_client_certificate_and_basic_auth() {
    prw_integration::require!(Prometheus);
    let pki = Pki::new();
    let prometheus = Prometheus::builder()
        .tls(&pki.server_cert, &pki.server_key)
        .client_ca(&pki.ca, "RequireAndVerifyClientCert")
        .basic_auth(USER, PASSWORD)
        .start()
        .unwrap();
    assert!(prometheus.write_url().starts_with("https://"));
    let s = |p: &PathBuf| p.to_str().unwrap().to_owned();
    let (ca, cert, key, password, wrong) = (
        s(&pki.ca),
        s(&pki.client_cert),
        s(&pki.client_key),
        s(&pki.password),
        s(&pki.wrong_password),
    );
    let tls =
        ["--tls-ca", &ca, "--tls-server-name", SERVER_NAME, "--tls-cert", &cert, "--tls-key", &key];
    let auth = ["--basic-auth-user", USER, "--basic-auth-password-file", &password];

    let ok = send(&prometheus, &[&tls[..], &auth[..]].concat());
    assert_eq!(ok.code, 0, "{}\n{}", ok.stderr, prometheus.log());
    assert_eq!(ok.stdout, "sent 1 request, 5 series, 5 samples; 0 retried, 0 dropped\n");

    // the password on the command line works too, and never shows in the output
    let inline = format!("{USER}:{PASSWORD}");
    let ok = send(&prometheus, &[&tls[..], &["--basic-auth", &inline]].concat());
    assert_eq!(ok.code, 0, "{}", ok.stderr);

    // a wrong password: 401, not retried, exit 1, the password never echoed
    let refused = send(
        &prometheus,
        &[&tls[..], &["--basic-auth-user", USER, "--basic-auth-password-file", &wrong]].concat(),
    );
    assert_eq!(refused.code, 1, "{}\n{}", refused.stdout, refused.stderr);
    assert!(refused.stderr.contains("rejected by the endpoint"), "{}", refused.stderr);
    assert!(refused.stdout.ends_with("; 0 retried, 5 dropped\n"), "{}", refused.stdout);
    for output in [&refused.stdout, &refused.stderr] {
        assert!(
            !output.contains("hunter2") && !output.contains(PASSWORD),
            "a secret leaked: {output}"
        );
    }

    // without a client certificate the handshake fails: retried until --max-retry-duration
    let no_cert = ["--tls-ca", &ca, "--tls-server-name", SERVER_NAME];
    let failed = send(&prometheus, &[&no_cert[..], &auth[..]].concat());
    assert_eq!(failed.code, 1, "{}", failed.stderr);
    assert!(failed.stderr.contains("retries ran out"), "{}", failed.stderr);

    // without our CA (or with the wrong name) the server is not trusted
    let untrusted =
        send(&prometheus, &[&["--tls-cert", &cert, "--tls-key", &key][..], &auth[..]].concat());
    assert_eq!(untrusted.code, 1, "{}", untrusted.stderr);
    let wrong_name = send(
        &prometheus,
        &[&["--tls-ca", &ca, "--tls-cert", &cert, "--tls-key", &key][..], &auth[..]].concat(),
    );
    assert_eq!(wrong_name.code, 1, "127.0.0.1 is not in the certificate: {}", wrong_name.stderr);

    // unless verification is switched off
    let insecure = send(
        &prometheus,
        &[&["--insecure-skip-verify", "--tls-cert", &cert, "--tls-key", &key][..], &auth[..]]
            .concat(),
    );
    assert_eq!(insecure.code, 0, "{}", insecure.stderr);
}
