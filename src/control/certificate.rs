//! The server's DTLS certificate: generated at start (ECDSA P-256) or loaded from PEM files, and the
//! fingerprints every WebRTC transport announces in its `dtlsParameters`.

use std::path::Path;
use std::sync::Arc;

use base64::Engine as _;
use mediagate_engine::dtls::DtlsCertificate;
use mediagate_engine::transport_parameters::{DtlsFingerprint, FingerprintAlgorithm};
use sha2::{Digest, Sha256};

/// Why the certificate could not be made or loaded.
#[derive(Debug, thiserror::Error)]
pub enum CertificateError {
    /// Generation failed.
    #[error("cannot generate a certificate: {0}")]
    Generate(#[from] rcgen::Error),
    /// A file could not be read.
    #[error("cannot read {path}: {source}")]
    Read {
        /// The file.
        path: String,
        /// Why.
        source: std::io::Error,
    },
    /// The certificate file holds no PEM certificate.
    #[error("{0} holds no PEM certificate")]
    NoCertificate(String),
    /// The key file holds no PKCS#8 (`BEGIN PRIVATE KEY`) key.
    #[error("{0} holds no PKCS#8 PEM private key")]
    NoPrivateKey(String),
    /// The DTLS layer refused the certificate or key.
    #[error("unusable dtls certificate: {0}")]
    Unusable(String),
}

/// The DTLS certificate and key in PEM, with the certificate's fingerprint.
#[derive(Clone)]
pub struct Certificate {
    /// Certificate, PEM.
    pub certificate_pem: String,
    /// Private key, PEM.
    pub private_key_pem: String,
    /// SHA-256 over the certificate's DER.
    pub fingerprint: DtlsFingerprint,
    /// The certificate and key as every WebRTC transport's DTLS uses them.
    pub dtls: Arc<DtlsCertificate>,
}

impl std::fmt::Debug for Certificate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Certificate")
            .field("fingerprint", &self.fingerprint)
            .finish_non_exhaustive()
    }
}

impl Certificate {
    /// A fresh self-signed ECDSA P-256 certificate.
    pub fn generate() -> Result<Self, CertificateError> {
        let certified = rcgen::generate_simple_self_signed(vec!["mediagate".to_owned()])?;
        let dtls = DtlsCertificate::from_der(
            certified.cert.der().to_vec(),
            certified.signing_key.serialize_der(),
        )
        .map_err(|e| CertificateError::Unusable(e.to_string()))?;
        Ok(Self {
            certificate_pem: certified.cert.pem(),
            private_key_pem: certified.signing_key.serialize_pem(),
            fingerprint: sha256_fingerprint(certified.cert.der()),
            dtls: Arc::new(dtls),
        })
    }

    /// A certificate and key from PEM files.
    pub fn load(certificate: &Path, private_key: &Path) -> Result<Self, CertificateError> {
        let read = |path: &Path| {
            std::fs::read_to_string(path).map_err(|source| CertificateError::Read {
                path: path.display().to_string(),
                source,
            })
        };
        let certificate_pem = read(certificate)?;
        let private_key_pem = read(private_key)?;
        let der = first_pem_block(&certificate_pem, "CERTIFICATE")
            .ok_or_else(|| CertificateError::NoCertificate(certificate.display().to_string()))?;
        let key_der = first_pem_block(&private_key_pem, "PRIVATE KEY")
            .ok_or_else(|| CertificateError::NoPrivateKey(private_key.display().to_string()))?;
        let dtls = DtlsCertificate::from_der(der.clone(), key_der)
            .map_err(|e| CertificateError::Unusable(e.to_string()))?;
        Ok(Self {
            fingerprint: sha256_fingerprint(&der),
            certificate_pem,
            private_key_pem,
            dtls: Arc::new(dtls),
        })
    }
}

/// Upper-case colon-separated SHA-256 of a DER certificate (RFC 8122 §5).
pub fn sha256_fingerprint(der: &[u8]) -> DtlsFingerprint {
    let digest = Sha256::digest(der);
    let value = digest
        .iter()
        .map(|b| format!("{b:02X}"))
        .collect::<Vec<_>>()
        .join(":");
    DtlsFingerprint {
        algorithm: FingerprintAlgorithm::Sha256,
        value,
    }
}

fn first_pem_block(pem: &str, label: &str) -> Option<Vec<u8>> {
    let begin = format!("-----BEGIN {label}-----");
    let end = format!("-----END {label}-----");
    let start = pem.find(&begin)? + begin.len();
    let stop = start + pem[start..].find(&end)?;
    let body: String = pem[start..stop].split_whitespace().collect();
    base64::engine::general_purpose::STANDARD.decode(body).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_certificate_round_trips_through_files() {
        let generated = Certificate::generate().unwrap();
        assert_eq!(generated.fingerprint.value.len(), 32 * 3 - 1);
        let dir = std::env::temp_dir().join(format!("mediagate-cert-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let (cert, key) = (dir.join("cert.pem"), dir.join("key.pem"));
        std::fs::write(&cert, &generated.certificate_pem).unwrap();
        std::fs::write(&key, &generated.private_key_pem).unwrap();
        let loaded = Certificate::load(&cert, &key).unwrap();
        assert_eq!(loaded.fingerprint, generated.fingerprint);
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn fingerprint_format() {
        // SHA-256 of the empty input.
        let f = sha256_fingerprint(b"");
        assert!(f.value.starts_with("E3:B0:C4:42:98:FC:1C:14"));
    }
}
