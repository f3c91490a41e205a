//! The local DTLS certificate: an ECDSA P-256 certificate (DER) with its PKCS#8 private key (DER), shared
//! by every transport of a server through an `Arc`, and the announced fingerprints computed from it. The
//! key is loaded into both DTLS libraries once, here.
//!
//! Must not: generate certificates (the server does that at start, see `src/control/certificate.rs`) or
//! expose the private key through `Debug`.

use std::fmt;
use std::sync::{Arc, Mutex};

use thiserror::Error;

use super::fingerprint::fingerprint_of;
use super::rtc_server::RtcIdentity;
use crate::transport_parameters::{DtlsFingerprint, FingerprintAlgorithm};

/// Why [`DtlsCertificate::from_der`] refused a certificate and key.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum DtlsCertificateError {
    /// The certificate is empty or not a DER `SEQUENCE`.
    #[error("the certificate is not DER")]
    NotDer,
    /// The private key is not a PKCS#8 (or SEC1) ECDSA P-256/P-384 key.
    #[error("unusable private key: {0}")]
    PrivateKey(String),
}

/// The local certificate and private key, as the DTLS handshake uses them.
pub struct DtlsCertificate {
    certificate_der: Vec<u8>,
    private_key_der: Vec<u8>,
    /// The DTLS library's configuration for the last (role-independent) settings asked for: building
    /// one validates the crypto provider with known-answer tests, too slow to repeat per transport.
    pub(super) config_cache: Mutex<Option<(super::ConfigKey, Arc<dimpl::Config>)>>,
    /// The same certificate and key for the DTLS 1.2 server library, with its configurations.
    pub(super) rtc: RtcIdentity,
}

impl fmt::Debug for DtlsCertificate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Never the key.
        f.debug_struct("DtlsCertificate")
            .field(
                "sha256",
                &self.fingerprint(FingerprintAlgorithm::Sha256).value,
            )
            .finish_non_exhaustive()
    }
}

impl DtlsCertificate {
    /// A certificate (DER) and its PKCS#8 private key (DER). The key is loaded once here so that a bad key
    /// fails now rather than in every handshake.
    pub fn from_der(
        certificate_der: Vec<u8>,
        private_key_pkcs8_der: Vec<u8>,
    ) -> Result<Self, DtlsCertificateError> {
        if certificate_der.first() != Some(&0x30) {
            return Err(DtlsCertificateError::NotDer);
        }
        super::crypto_provider()
            .key_provider
            .load_private_key(&private_key_pkcs8_der)
            .map_err(|error| DtlsCertificateError::PrivateKey(format!("{error:?}")))?;
        let rtc = RtcIdentity::new(&certificate_der, &private_key_pkcs8_der)
            .map_err(DtlsCertificateError::PrivateKey)?;
        Ok(Self {
            rtc,
            certificate_der,
            private_key_der: private_key_pkcs8_der,
            config_cache: Mutex::new(None),
        })
    }

    /// The certificate's fingerprint with `algorithm` (upper-case colon-separated hex), as announced in
    /// the local `dtlsParameters`.
    pub fn fingerprint(&self, algorithm: FingerprintAlgorithm) -> DtlsFingerprint {
        fingerprint_of(&self.certificate_der, algorithm)
    }

    /// The certificate, DER.
    pub fn certificate_der(&self) -> &[u8] {
        &self.certificate_der
    }

    pub(super) fn to_dimpl(&self) -> dimpl::DtlsCertificate {
        dimpl::DtlsCertificate {
            certificate: self.certificate_der.clone(),
            private_key: self.private_key_der.clone(),
        }
    }
}
