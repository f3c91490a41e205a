//! SRTP protection profiles and their lengths (RFC 3711 §8.2, RFC 5764 §4.1.2, RFC 7714 §12 and §14.2).

use crate::transport_parameters::SrtpCryptoSuite;

/// Length of the SRTCP trailer word that carries the E flag and the 31-bit SRTCP index (RFC 3711 §3.4).
pub const SRTCP_INDEX_LEN: usize = 4;

/// Largest number of bytes any profile appends to a packet: GCM's 16-byte tag plus the SRTCP index word.
///
/// A buffer handed to `protect_rtp` / `protect_rtcp` needs this much room past the plaintext.
pub const MAX_TRAILER_LEN: usize = 16 + SRTCP_INDEX_LEN;

/// An SRTP protection profile: the cipher, the authentication and their key, salt and tag lengths.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SrtpProfile {
    /// AES-128 counter mode, HMAC-SHA1 truncated to 80 bits (RFC 3711; DTLS-SRTP id 0x0001).
    AesCm128HmacSha1_80,
    /// AES-128 counter mode, HMAC-SHA1 truncated to 32 bits for SRTP and 80 bits for SRTCP
    /// (RFC 5764 §4.1.2; DTLS-SRTP id 0x0002).
    AesCm128HmacSha1_32,
    /// AES-128-GCM with a 16-byte tag (RFC 7714; DTLS-SRTP id 0x0007).
    AeadAes128Gcm,
    /// AES-256-GCM with a 16-byte tag (RFC 7714; DTLS-SRTP id 0x0008).
    AeadAes256Gcm,
}

impl SrtpProfile {
    /// Every profile, in our order of preference (GCM first: it is cheaper per packet and authenticates more).
    pub const ALL: [SrtpProfile; 4] = [
        SrtpProfile::AeadAes128Gcm,
        SrtpProfile::AeadAes256Gcm,
        SrtpProfile::AesCm128HmacSha1_80,
        SrtpProfile::AesCm128HmacSha1_32,
    ];

    /// Master (and session) encryption key length in bytes.
    pub const fn key_len(self) -> usize {
        match self {
            SrtpProfile::AesCm128HmacSha1_80 | SrtpProfile::AesCm128HmacSha1_32 => 16,
            SrtpProfile::AeadAes128Gcm => 16,
            SrtpProfile::AeadAes256Gcm => 32,
        }
    }

    /// Master (and session) salt length in bytes: 14 for AES-CM, 12 for GCM.
    pub const fn salt_len(self) -> usize {
        match self {
            SrtpProfile::AesCm128HmacSha1_80 | SrtpProfile::AesCm128HmacSha1_32 => 14,
            SrtpProfile::AeadAes128Gcm | SrtpProfile::AeadAes256Gcm => 12,
        }
    }

    /// Authentication tag length of SRTP packets in bytes.
    pub const fn rtp_tag_len(self) -> usize {
        match self {
            SrtpProfile::AesCm128HmacSha1_80 => 10,
            SrtpProfile::AesCm128HmacSha1_32 => 4,
            SrtpProfile::AeadAes128Gcm | SrtpProfile::AeadAes256Gcm => 16,
        }
    }

    /// Authentication tag length of SRTCP packets in bytes (always 80 bits for the HMAC profiles).
    pub const fn rtcp_tag_len(self) -> usize {
        match self {
            SrtpProfile::AesCm128HmacSha1_80 | SrtpProfile::AesCm128HmacSha1_32 => 10,
            SrtpProfile::AeadAes128Gcm | SrtpProfile::AeadAes256Gcm => 16,
        }
    }

    /// Bytes that protecting an RTP packet appends.
    pub const fn rtp_overhead(self) -> usize {
        self.rtp_tag_len()
    }

    /// Bytes that protecting an RTCP packet appends (tag plus the SRTCP index word).
    pub const fn rtcp_overhead(self) -> usize {
        self.rtcp_tag_len() + SRTCP_INDEX_LEN
    }

    /// Length of `master key || master salt`, as carried by SDES `keyBase64`.
    pub const fn key_and_salt_len(self) -> usize {
        self.key_len() + self.salt_len()
    }

    /// Length of the DTLS exporter output this profile needs: two keys and two salts (RFC 5764 §4.2).
    pub const fn keying_material_len(self) -> usize {
        2 * self.key_and_salt_len()
    }

    /// Whether the profile is an AEAD (GCM) one.
    pub const fn is_aead(self) -> bool {
        matches!(
            self,
            SrtpProfile::AeadAes128Gcm | SrtpProfile::AeadAes256Gcm
        )
    }

    /// The DTLS `use_srtp` protection profile identifier (RFC 5764 §4.1.2, RFC 7714 §14.2).
    pub const fn dtls_id(self) -> u16 {
        match self {
            SrtpProfile::AesCm128HmacSha1_80 => 0x0001,
            SrtpProfile::AesCm128HmacSha1_32 => 0x0002,
            SrtpProfile::AeadAes128Gcm => 0x0007,
            SrtpProfile::AeadAes256Gcm => 0x0008,
        }
    }

    /// The profile with a DTLS `use_srtp` identifier, if we implement it.
    pub const fn from_dtls_id(id: u16) -> Option<SrtpProfile> {
        match id {
            0x0001 => Some(SrtpProfile::AesCm128HmacSha1_80),
            0x0002 => Some(SrtpProfile::AesCm128HmacSha1_32),
            0x0007 => Some(SrtpProfile::AeadAes128Gcm),
            0x0008 => Some(SrtpProfile::AeadAes256Gcm),
            _ => None,
        }
    }
}

impl From<SrtpCryptoSuite> for SrtpProfile {
    fn from(suite: SrtpCryptoSuite) -> Self {
        match suite {
            SrtpCryptoSuite::AEAD_AES_128_GCM => SrtpProfile::AeadAes128Gcm,
            SrtpCryptoSuite::AEAD_AES_256_GCM => SrtpProfile::AeadAes256Gcm,
            SrtpCryptoSuite::AES_CM_128_HMAC_SHA1_80 => SrtpProfile::AesCm128HmacSha1_80,
            SrtpCryptoSuite::AES_CM_128_HMAC_SHA1_32 => SrtpProfile::AesCm128HmacSha1_32,
        }
    }
}

impl From<SrtpProfile> for SrtpCryptoSuite {
    fn from(profile: SrtpProfile) -> Self {
        match profile {
            SrtpProfile::AeadAes128Gcm => SrtpCryptoSuite::AEAD_AES_128_GCM,
            SrtpProfile::AeadAes256Gcm => SrtpCryptoSuite::AEAD_AES_256_GCM,
            SrtpProfile::AesCm128HmacSha1_80 => SrtpCryptoSuite::AES_CM_128_HMAC_SHA1_80,
            SrtpProfile::AesCm128HmacSha1_32 => SrtpCryptoSuite::AES_CM_128_HMAC_SHA1_32,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crypto_suite_round_trips_and_lengths_agree() {
        for profile in SrtpProfile::ALL {
            let suite = SrtpCryptoSuite::from(profile);
            assert_eq!(SrtpProfile::from(suite), profile);
            assert_eq!(suite.key_length(), profile.key_and_salt_len());
            assert_eq!(SrtpProfile::from_dtls_id(profile.dtls_id()), Some(profile));
            assert!(profile.rtcp_overhead() <= MAX_TRAILER_LEN);
        }
        assert_eq!(SrtpProfile::from_dtls_id(0x0003), None);
    }
}
