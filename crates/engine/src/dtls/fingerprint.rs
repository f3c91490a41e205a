//! Certificate fingerprints (RFC 8122 §5): a hash of the DER certificate in upper-case colon-separated hex,
//! and the check of a peer's certificate against the fingerprints signalled for it.
//!
//! Must not: accept a certificate when no signalled fingerprint uses an algorithm we can compute.

use sha1::Sha1;
use sha2::{Digest, Sha224, Sha256, Sha384, Sha512};

use crate::transport_parameters::{DtlsFingerprint, FingerprintAlgorithm};

/// The fingerprint of a DER certificate with `algorithm`, upper-case colon-separated hex.
pub fn fingerprint_of(certificate_der: &[u8], algorithm: FingerprintAlgorithm) -> DtlsFingerprint {
    let digest: Vec<u8> = match algorithm {
        FingerprintAlgorithm::Sha1 => Sha1::digest(certificate_der).to_vec(),
        FingerprintAlgorithm::Sha224 => Sha224::digest(certificate_der).to_vec(),
        FingerprintAlgorithm::Sha256 => Sha256::digest(certificate_der).to_vec(),
        FingerprintAlgorithm::Sha384 => Sha384::digest(certificate_der).to_vec(),
        FingerprintAlgorithm::Sha512 => Sha512::digest(certificate_der).to_vec(),
    };
    let mut value = String::with_capacity(digest.len() * 3);
    for (i, byte) in digest.iter().enumerate() {
        if i > 0 {
            value.push(':');
        }
        value.push(char::from(HEX[usize::from(byte >> 4)]));
        value.push(char::from(HEX[usize::from(byte & 0x0f)]));
    }
    DtlsFingerprint { algorithm, value }
}

const HEX: &[u8; 16] = b"0123456789ABCDEF";

/// Whether the DER certificate matches any of `expected` (hex compared case-insensitively, surrounding
/// whitespace ignored). Every signalled algorithm (SHA-1, SHA-224, SHA-256, SHA-384, SHA-512) is computable,
/// so one matching fingerprint of any of them is enough; an empty list matches nothing.
pub fn matches_any(certificate_der: &[u8], expected: &[DtlsFingerprint]) -> bool {
    expected.iter().any(|fingerprint| {
        let actual = fingerprint_of(certificate_der, fingerprint.algorithm);
        actual.value.eq_ignore_ascii_case(fingerprint.value.trim())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digests_of_the_empty_input_in_colon_hex() {
        // FIPS 180-4 digests of the empty message.
        let cases = [
            (FingerprintAlgorithm::Sha1, "DA:39:A3:EE:5E:6B:4B:0D"),
            (FingerprintAlgorithm::Sha224, "D1:4A:02:8C:2A:3A:2B:C9"),
            (FingerprintAlgorithm::Sha256, "E3:B0:C4:42:98:FC:1C:14"),
            (FingerprintAlgorithm::Sha384, "38:B0:60:A7:51:AC:96:38"),
            (FingerprintAlgorithm::Sha512, "CF:83:E1:35:7E:EF:B8:BD"),
        ];
        for (algorithm, prefix) in cases {
            let fingerprint = fingerprint_of(b"", algorithm);
            assert!(fingerprint.value.starts_with(prefix), "{fingerprint:?}");
            assert_eq!(fingerprint.algorithm, algorithm);
        }
        assert_eq!(
            fingerprint_of(b"", FingerprintAlgorithm::Sha256)
                .value
                .len(),
            32 * 3 - 1
        );
        assert_eq!(
            fingerprint_of(b"", FingerprintAlgorithm::Sha512)
                .value
                .len(),
            64 * 3 - 1
        );
    }

    #[test]
    fn matching_ignores_case_and_needs_one_hit() {
        let der = b"not really a certificate";
        let good = fingerprint_of(der, FingerprintAlgorithm::Sha256);
        let lower = DtlsFingerprint {
            algorithm: FingerprintAlgorithm::Sha256,
            value: good.value.to_ascii_lowercase(),
        };
        let wrong = fingerprint_of(b"another", FingerprintAlgorithm::Sha1);
        assert!(matches_any(der, std::slice::from_ref(&good)));
        assert!(matches_any(der, &[wrong.clone(), lower]));
        assert!(!matches_any(der, std::slice::from_ref(&wrong)));
        assert!(!matches_any(der, &[]));
        // Right hex under the wrong algorithm label does not match.
        let mislabelled = DtlsFingerprint {
            algorithm: FingerprintAlgorithm::Sha384,
            value: good.value,
        };
        assert!(!matches_any(der, &[mislabelled]));
    }
}
