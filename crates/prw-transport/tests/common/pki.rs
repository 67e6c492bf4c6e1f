//! A throwaway PKI made at test time: a CA, a server certificate for one DNS name, a client
//! certificate, and a second CA that nobody trusts.

use std::path::{Path, PathBuf};

use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair, KeyUsagePurpose};

/// The only name in the server certificate; the tests connect to 127.0.0.1 and set it with
/// `tls_server_name`, so that leaving it out is a name mismatch.
pub const SERVER_NAME: &str = "prometheus.test";

/// PEM files in a temp dir.
pub struct Pki {
    pub dir: tempfile::TempDir,
    pub ca: PathBuf,
    pub server_cert: PathBuf,
    pub server_key: PathBuf,
    pub client_cert: PathBuf,
    pub client_key: PathBuf,
    /// A client certificate and key signed by another CA.
    pub stranger_cert: PathBuf,
    pub stranger_key: PathBuf,
    /// That other CA.
    pub other_ca: PathBuf,
}

struct Ca {
    params: CertificateParams,
    key: KeyPair,
    pem: String,
}

fn ca(name: &str) -> Ca {
    let mut params = CertificateParams::new(Vec::<String>::new()).expect("params");
    params.distinguished_name.push(DnType::CommonName, name);
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    let key = KeyPair::generate().expect("key");
    let pem = params.self_signed(&key).expect("self-signed").pem();
    Ca { params, key, pem }
}

fn leaf(names: &[&str], common_name: &str, issuer: &Ca) -> (String, String) {
    let mut params =
        CertificateParams::new(names.iter().map(|name| name.to_string()).collect::<Vec<_>>())
            .expect("params");
    params.distinguished_name.push(DnType::CommonName, common_name);
    let key = KeyPair::generate().expect("key");
    let issuer = Issuer::from_params(&issuer.params, &issuer.key);
    let cert = params.signed_by(&key, &issuer).expect("signed");
    (cert.pem(), key.serialize_pem())
}

fn write(dir: &Path, name: &str, pem: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, pem).expect("write pem");
    path
}

impl Pki {
    pub fn new() -> Pki {
        let dir = tempfile::tempdir().expect("temp dir");
        let root = ca("prw test CA");
        let other = ca("prw untrusted CA");
        let (server_cert, server_key) = leaf(&[SERVER_NAME], SERVER_NAME, &root);
        let (client_cert, client_key) = leaf(&["client.test"], "prw test client", &root);
        let (stranger_cert, stranger_key) = leaf(&["stranger.test"], "stranger", &other);
        let d = dir.path();
        Pki {
            ca: write(d, "ca.pem", &root.pem),
            server_cert: write(d, "server.pem", &server_cert),
            server_key: write(d, "server-key.pem", &server_key),
            client_cert: write(d, "client.pem", &client_cert),
            client_key: write(d, "client-key.pem", &client_key),
            stranger_cert: write(d, "stranger.pem", &stranger_cert),
            stranger_key: write(d, "stranger-key.pem", &stranger_key),
            other_ca: write(d, "other-ca.pem", &other.pem),
            dir,
        }
    }
}
