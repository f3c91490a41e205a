//! The exported DTLS-SRTP keying material (RFC 5764 §4.2) and the library's profile names mapped to ours.
//!
//! Must not: show the key bytes in `Debug` or leave them in freed memory.

use std::fmt;

use zeroize::Zeroize;

use crate::srtp::SrtpProfile;

/// `client key || server key || client salt || server salt`, as exported with the label
/// "EXTRACTOR-dtls_srtp"; zeroed when dropped. Split it with [`crate::srtp::split_dtls_srtp_keying_material`].
pub struct SrtpKeyingMaterial(Vec<u8>);

impl SrtpKeyingMaterial {
    pub(super) fn new(material: &[u8]) -> Self {
        Self(material.to_vec())
    }

    /// The exported bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }
}

impl Drop for SrtpKeyingMaterial {
    fn drop(&mut self) {
        self.0.zeroize();
    }
}

impl fmt::Debug for SrtpKeyingMaterial {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SrtpKeyingMaterial({} bytes)", self.0.len())
    }
}

/// Our profile for the library's, if we implement it (all three it knows).
pub(super) fn profile_from_library(profile: dimpl::SrtpProfile) -> Option<SrtpProfile> {
    match profile {
        dimpl::SrtpProfile::AES128_CM_SHA1_80 => Some(SrtpProfile::AesCm128HmacSha1_80),
        dimpl::SrtpProfile::AEAD_AES_128_GCM => Some(SrtpProfile::AeadAes128Gcm),
        dimpl::SrtpProfile::AEAD_AES_256_GCM => Some(SrtpProfile::AeadAes256Gcm),
        #[allow(unreachable_patterns)]
        _ => None,
    }
}
