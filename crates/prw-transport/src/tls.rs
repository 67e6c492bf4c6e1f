//! The rustls client configuration: trust roots, client certificate, minimum version, and the
//! explicitly requested `insecure_skip_verify`. ring is the one crypto provider.

use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::{ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};

use crate::builder::BuildError;

/// The lowest TLS version the transport accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default)]
#[non_exhaustive]
pub enum TlsVersion {
    /// TLS 1.2 (the default): TLS 1.2 and 1.3 are offered.
    #[default]
    Tls12,
    /// TLS 1.3 only.
    Tls13,
}

/// A TLS version name that is not one of `TLS12`, `TLS1.2`, `1.2`, `TLS13`, `TLS1.3`, `1.3`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown TLS version {0:?}: use TLS12 or TLS13")]
pub struct ParseTlsVersionError(String);

impl FromStr for TlsVersion {
    type Err = ParseTlsVersionError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match text.trim().to_ascii_uppercase().as_str() {
            "TLS12" | "TLS1.2" | "TLSV1.2" | "1.2" => Ok(TlsVersion::Tls12),
            "TLS13" | "TLS1.3" | "TLSV1.3" | "1.3" => Ok(TlsVersion::Tls13),
            _ => Err(ParseTlsVersionError(text.to_owned())),
        }
    }
}

impl fmt::Display for TlsVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            TlsVersion::Tls12 => "TLS12",
            TlsVersion::Tls13 => "TLS13",
        })
    }
}

/// The TLS inputs of the builder.
#[derive(Debug, Clone, Default)]
pub(crate) struct TlsOptions {
    pub(crate) ca_file: Option<PathBuf>,
    pub(crate) client_cert_file: Option<PathBuf>,
    pub(crate) client_key_file: Option<PathBuf>,
    pub(crate) server_name: Option<String>,
    pub(crate) min_version: Option<TlsVersion>,
    pub(crate) insecure_skip_verify: bool,
}

impl TlsOptions {
    /// The first option set, by its builder name (for "TLS options on an http:// endpoint").
    pub(crate) fn first_set(&self) -> Option<&'static str> {
        if self.ca_file.is_some() {
            Some("tls_ca_file")
        } else if self.client_cert_file.is_some() {
            Some("tls_client_cert_file")
        } else if self.client_key_file.is_some() {
            Some("tls_client_key_file")
        } else if self.server_name.is_some() {
            Some("tls_server_name")
        } else if self.min_version.is_some() {
            Some("tls_min_version")
        } else if self.insecure_skip_verify {
            Some("insecure_skip_verify")
        } else {
            None
        }
    }
}

/// The built client configuration and what error messages need to know about it.
pub(crate) struct Tls {
    pub(crate) config: ClientConfig,
    pub(crate) server_name: Option<ServerName<'static>>,
    pub(crate) has_client_cert: bool,
    pub(crate) summary: String,
}

fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// A configuration for `http://` endpoints, which never use it (requests stay on the endpoint).
pub(crate) fn unused() -> Result<ClientConfig, BuildError> {
    Ok(ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .map_err(|error| BuildError::Tls { reason: error.to_string() })?
        .with_root_certificates(RootCertStore::empty())
        .with_no_client_auth())
}

pub(crate) fn build(options: &TlsOptions) -> Result<Tls, BuildError> {
    let provider = provider();
    let versions: &[&'static rustls::SupportedProtocolVersion] =
        match options.min_version.unwrap_or_default() {
            TlsVersion::Tls12 => &[&rustls::version::TLS13, &rustls::version::TLS12],
            TlsVersion::Tls13 => &[&rustls::version::TLS13],
        };
    let builder = ClientConfig::builder_with_provider(provider.clone())
        .with_protocol_versions(versions)
        .map_err(|error| BuildError::Tls { reason: error.to_string() })?;

    let (builder, trust) = if options.insecure_skip_verify {
        if options.ca_file.is_some() {
            return Err(BuildError::InsecureWithCaFile);
        }
        tracing::warn!(
            "insecure_skip_verify is set: the server's TLS certificate is NOT verified, so anyone \
             on the network path can read and change the metrics and credentials sent"
        );
        let verifier = Arc::new(AcceptAnyCertificate { provider });
        (
            builder.dangerous().with_custom_certificate_verifier(verifier),
            "insecure_skip_verify".to_owned(),
        )
    } else {
        let (roots, trust) = match &options.ca_file {
            Some(path) => (roots_from_file(path)?, format!("CA file {}", path.display())),
            None => (system_roots()?, "system roots".to_owned()),
        };
        (builder.with_root_certificates(roots), trust)
    };

    let (config, has_client_cert) = match (&options.client_cert_file, &options.client_key_file) {
        (None, None) => (builder.with_no_client_auth(), false),
        (Some(_), None) => return Err(BuildError::ClientCertWithoutKey),
        (None, Some(_)) => return Err(BuildError::ClientKeyWithoutCert),
        (Some(cert), Some(key)) => {
            let chain = client_chain(cert)?;
            let key_der = client_key(key)?;
            let config =
                builder.with_client_auth_cert(chain, key_der).map_err(|error| match error {
                    rustls::Error::InconsistentKeys(_) => {
                        BuildError::ClientKeyMismatch { cert: cert.clone(), key: key.clone() }
                    }
                    other => BuildError::ClientKey {
                        path: key.clone(),
                        reason: format!("rustls refused it: {other}"),
                    },
                })?;
            (config, true)
        }
    };

    let server_name = match &options.server_name {
        None => None,
        Some(name) => {
            let trimmed = name.trim_start_matches('[').trim_end_matches(']');
            Some(
                ServerName::try_from(trimmed.to_owned())
                    .map_err(|_| BuildError::InvalidServerName { name: name.clone() })?,
            )
        }
    };

    let mut summary = format!("{trust}, min {}", options.min_version.unwrap_or_default());
    if has_client_cert {
        summary.push_str(", client certificate");
    }
    if let Some(name) = &server_name {
        summary.push_str(&format!(", server name {}", name.to_str()));
    }
    Ok(Tls { config, server_name, has_client_cert, summary })
}

fn roots_from_file(path: &Path) -> Result<RootCertStore, BuildError> {
    let read_error = |error: rustls_pki_types::pem::Error| BuildError::CaFile {
        path: path.to_owned(),
        reason: pem_reason(error),
    };
    let mut roots = RootCertStore::empty();
    for cert in CertificateDer::pem_file_iter(path).map_err(read_error)? {
        roots.add(cert.map_err(read_error)?).map_err(|error| BuildError::CaFile {
            path: path.to_owned(),
            reason: format!("a certificate in it is not usable as a CA: {error}"),
        })?;
    }
    if roots.is_empty() {
        return Err(BuildError::CaFile {
            path: path.to_owned(),
            reason: "it holds no PEM certificate (-----BEGIN CERTIFICATE-----)".to_owned(),
        });
    }
    Ok(roots)
}

fn system_roots() -> Result<RootCertStore, BuildError> {
    let found = rustls_native_certs::load_native_certs();
    let mut roots = RootCertStore::empty();
    let (added, _ignored) = roots.add_parsable_certificates(found.certs);
    if added == 0 {
        let errors = found.errors.iter().map(ToString::to_string).collect::<Vec<_>>().join("; ");
        return Err(BuildError::NoSystemRoots { detail: errors });
    }
    Ok(roots)
}

fn client_chain(path: &Path) -> Result<Vec<CertificateDer<'static>>, BuildError> {
    let error = |error| BuildError::ClientCert { path: path.to_owned(), reason: pem_reason(error) };
    let chain = CertificateDer::pem_file_iter(path)
        .map_err(error)?
        .collect::<Result<Vec<_>, _>>()
        .map_err(error)?;
    if chain.is_empty() {
        return Err(BuildError::ClientCert {
            path: path.to_owned(),
            reason: "it holds no PEM certificate (-----BEGIN CERTIFICATE-----)".to_owned(),
        });
    }
    Ok(chain)
}

fn client_key(path: &Path) -> Result<PrivateKeyDer<'static>, BuildError> {
    PrivateKeyDer::from_pem_file(path)
        .map_err(|error| BuildError::ClientKey { path: path.to_owned(), reason: pem_reason(error) })
}

/// Why a PEM file is unusable, without quoting any of it (it may be a private key).
fn pem_reason(error: rustls_pki_types::pem::Error) -> String {
    use rustls_pki_types::pem::Error as E;
    match error {
        E::Io(io) => format!("cannot read it: {io}"),
        E::NoItemsFound => "it holds no PEM section of the expected kind".to_owned(),
        _ => "it is not valid PEM".to_owned(),
    }
}

/// Accepts any server certificate, but still checks that the server holds its key (handshake
/// signatures), so that `insecure_skip_verify` skips trust, not cryptography.
#[derive(Debug)]
struct AcceptAnyCertificate {
    provider: Arc<CryptoProvider>,
}

impl ServerCertVerifier for AcceptAnyCertificate {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider.signature_verification_algorithms.supported_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tls_version_names() {
        for text in ["TLS12", "tls1.2", "1.2", " TLSv1.2 "] {
            assert_eq!(text.parse::<TlsVersion>(), Ok(TlsVersion::Tls12), "{text}");
        }
        for text in ["TLS13", "TLS1.3", "1.3"] {
            assert_eq!(text.parse::<TlsVersion>(), Ok(TlsVersion::Tls13), "{text}");
        }
        let error = "TLS11".parse::<TlsVersion>().unwrap_err();
        assert_eq!(error.to_string(), "unknown TLS version \"TLS11\": use TLS12 or TLS13");
        assert_eq!(TlsVersion::Tls13.to_string(), "TLS13");
    }

    #[test]
    fn system_roots_load_here() {
        // The machines this runs on have ca-certificates; the default must work there.
        let tls = build(&TlsOptions::default()).unwrap();
        assert!(!tls.has_client_cert);
        assert!(tls.summary.starts_with("system roots"));
    }
}
