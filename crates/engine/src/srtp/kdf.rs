//! The SRTP key derivation function: the AES-CM PRF of RFC 3711 §4.3.1 and §4.3.3 with a key derivation
//! rate of zero, which RFC 7714 §11 reuses for GCM with a 96-bit master salt.

use aes::{Aes128, Aes256};
use ctr::Ctr128BE;
use ctr::cipher::{KeyIvInit, StreamCipher};

/// Labels of RFC 3711 §4.3.1 / §4.3.2.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub(crate) enum Label {
    /// SRTP encryption key.
    RtpEncryption = 0x00,
    /// SRTP authentication key.
    RtpAuthentication = 0x01,
    /// SRTP salting key.
    RtpSalt = 0x02,
    /// SRTCP encryption key.
    RtcpEncryption = 0x03,
    /// SRTCP authentication key.
    RtcpAuthentication = 0x04,
    /// SRTCP salting key.
    RtcpSalt = 0x05,
}

/// Fills `out` with the session key of `label`.
///
/// The PRF input is `x * 2^16` where `x = (label || 0^48) XOR master_salt`, right-aligned in 112 bits. A
/// 96-bit (GCM) master salt takes the 96 most significant of those bits, the low 16 staying zero, as
/// libsrtp does and as RFC 7714's profiles are deployed. `master_key` is 16 or 32 bytes (AES-128 or AES-256
/// PRF); other lengths are rejected before this is called.
pub(crate) fn derive(master_key: &[u8], master_salt: &[u8], label: Label, out: &mut [u8]) {
    debug_assert!(master_salt.len() <= 14);
    let mut iv = [0u8; 16];
    iv[..master_salt.len()].copy_from_slice(master_salt);
    // key_id = label || r (48 bits) occupies bytes 7..14 of the 112-bit x; with kdr = 0, r = 0.
    iv[7] ^= label as u8;
    out.fill(0);
    match master_key.len() {
        16 => {
            let mut cipher = Ctr128BE::<Aes128>::new(master_key.into(), &iv.into());
            cipher.apply_keystream(out);
        }
        32 => {
            let mut cipher = Ctr128BE::<Aes256>::new(master_key.into(), &iv.into());
            cipher.apply_keystream(out);
        }
        other => unreachable!("master key length {other} was validated by the caller"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::srtp::tests::hex;

    /// RFC 3711 Appendix B.3.
    #[test]
    fn rfc3711_b3_key_derivation() {
        let master_key = hex("E1F97A0D3E018BE0D64FA32C06DE4139");
        let master_salt = hex("0EC675AD498AFEEBB6960B3AABE6");

        let mut key = [0u8; 16];
        derive(&master_key, &master_salt, Label::RtpEncryption, &mut key);
        assert_eq!(key[..], hex("C61E7A93744F39EE10734AFE3FF7A087")[..]);

        let mut salt = [0u8; 14];
        derive(&master_key, &master_salt, Label::RtpSalt, &mut salt);
        assert_eq!(salt[..], hex("30CBBC08863D8C85D49DB34A9AE1")[..]);

        // The RFC lists 94 bytes of the authentication keystream; HMAC-SHA1 uses the first 20.
        let mut auth = [0u8; 94];
        derive(
            &master_key,
            &master_salt,
            Label::RtpAuthentication,
            &mut auth,
        );
        assert_eq!(
            auth[..],
            hex(
                "CEBE321F6FF7716B6FD4AB49AF256A156D38BAA48F0A0ACF3C34E2359E6CDBCE\
                 E049646C43D9327AD175578EF72270986371C10C9A369AC2F94A8C5FBCDDDC25\
                 6D6E919A48B610EF17C2041E474035766B68642C59BBFC2F34DB60DBDFB2"
            )[..]
        );
    }
}
