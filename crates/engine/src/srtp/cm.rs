//! The AES_CM_128_HMAC_SHA1 transforms: AES counter-mode encryption (RFC 3711 §4.1.1) and HMAC-SHA1
//! authentication (RFC 3711 §4.2.1), with session keys from §4.3.

use aes::Aes128Enc;
use ctr::cipher::{InnerIvInit, KeyInit, StreamCipher};
use ctr::{Ctr128BE, CtrCore};
use hmac::{Hmac, Mac};
use sha1::Sha1;
use subtle::ConstantTimeEq;

use super::SrtpError;
use super::context::roc_of;
use super::kdf::{Label, derive};
use super::profile::SRTCP_INDEX_LEN;

/// SRTCP tag length of both HMAC-SHA1 profiles (RFC 5764 §4.1.2: 80 bits even for the _32 profile).
pub(crate) const RTCP_TAG_LEN: usize = 10;

type HmacSha1 = Hmac<Sha1>;

/// Session keys of one direction for AES-CM + HMAC-SHA1, prepared once: the AES key schedules and the
/// HMAC inner/outer states are cloned onto the stack per packet.
#[derive(Clone)]
pub(crate) struct CmTransform {
    rtp_cipher: Aes128Enc,
    rtp_salt: [u8; 14],
    rtp_mac: HmacSha1,
    rtcp_cipher: Aes128Enc,
    rtcp_salt: [u8; 14],
    rtcp_mac: HmacSha1,
}

impl CmTransform {
    /// Derives the six session keys from a 16-byte master key and 14-byte master salt.
    pub(crate) fn new(master_key: &[u8], master_salt: &[u8]) -> Self {
        let mut enc = [0u8; 16];
        let mut auth = [0u8; 20];
        let mut rtp_salt = [0u8; 14];
        let mut rtcp_salt = [0u8; 14];

        derive(master_key, master_salt, Label::RtpEncryption, &mut enc);
        let rtp_cipher = Aes128Enc::new(&enc.into());
        derive(master_key, master_salt, Label::RtpAuthentication, &mut auth);
        let rtp_mac =
            <HmacSha1 as Mac>::new_from_slice(&auth).expect("HMAC takes keys of any length");
        derive(master_key, master_salt, Label::RtpSalt, &mut rtp_salt);

        derive(master_key, master_salt, Label::RtcpEncryption, &mut enc);
        let rtcp_cipher = Aes128Enc::new(&enc.into());
        derive(
            master_key,
            master_salt,
            Label::RtcpAuthentication,
            &mut auth,
        );
        let rtcp_mac =
            <HmacSha1 as Mac>::new_from_slice(&auth).expect("HMAC takes keys of any length");
        derive(master_key, master_salt, Label::RtcpSalt, &mut rtcp_salt);

        enc.fill(0);
        auth.fill(0);
        CmTransform {
            rtp_cipher,
            rtp_salt,
            rtp_mac,
            rtcp_cipher,
            rtcp_salt,
            rtcp_mac,
        }
    }

    /// Protects `buf[..len]` (an RTP packet whose header is `header_len` bytes) with packet `index`,
    /// appending a `tag_len`-byte tag; returns the new length. The caller checked there is room.
    pub(crate) fn protect_rtp(
        &self,
        buf: &mut [u8],
        header_len: usize,
        len: usize,
        tag_len: usize,
        ssrc: u32,
        index: u64,
    ) -> usize {
        self.crypt_rtp(&mut buf[header_len..len], ssrc, index);
        let tag = self.rtp_tag(&buf[..len], roc_of(index));
        buf[len..len + tag_len].copy_from_slice(&tag[..tag_len]);
        len + tag_len
    }

    /// Checks the tag of the SRTP packet `buf`, then decrypts it in place; returns the plaintext length.
    pub(crate) fn unprotect_rtp(
        &self,
        buf: &mut [u8],
        header_len: usize,
        tag_len: usize,
        ssrc: u32,
        index: u64,
    ) -> Result<usize, SrtpError> {
        let len = buf.len() - tag_len;
        let tag = self.rtp_tag(&buf[..len], roc_of(index));
        if !Self::tag_matches(&tag, &buf[len..]) {
            return Err(SrtpError::AuthenticationFailed);
        }
        self.crypt_rtp(&mut buf[header_len..len], ssrc, index);
        Ok(len)
    }

    /// Protects the RTCP packet `buf[..len]` with SRTCP `index`: encrypts after the first 8 bytes, appends
    /// E || index and the tag (RFC 3711 §3.4); returns the new length.
    pub(crate) fn protect_rtcp(&self, buf: &mut [u8], len: usize, ssrc: u32, index: u32) -> usize {
        self.crypt_rtcp(&mut buf[8..len], ssrc, index);
        let word_end = len + SRTCP_INDEX_LEN;
        buf[len..word_end].copy_from_slice(&(index | 0x8000_0000).to_be_bytes());
        let tag = self.rtcp_tag(&buf[..word_end]);
        buf[word_end..word_end + RTCP_TAG_LEN].copy_from_slice(&tag[..RTCP_TAG_LEN]);
        word_end + RTCP_TAG_LEN
    }

    /// Checks the tag of the SRTCP packet `buf`, then decrypts it if its E flag is set; returns the RTCP
    /// length. `buf` holds at least the header, the index word and the tag.
    pub(crate) fn unprotect_rtcp(&self, buf: &mut [u8], ssrc: u32) -> Result<usize, SrtpError> {
        let tag_start = buf.len() - RTCP_TAG_LEN;
        let word_start = tag_start - SRTCP_INDEX_LEN;
        let tag = self.rtcp_tag(&buf[..tag_start]);
        if !Self::tag_matches(&tag, &buf[tag_start..]) {
            return Err(SrtpError::AuthenticationFailed);
        }
        let word = u32::from_be_bytes(buf[word_start..tag_start].try_into().expect("4 bytes"));
        if word & 0x8000_0000 != 0 {
            self.crypt_rtcp(&mut buf[8..word_start], ssrc, word & 0x7fff_ffff);
        }
        Ok(word_start)
    }

    /// Encrypts or decrypts (the same operation) an RTP payload of packet `index` (48 bits) of `ssrc`.
    pub(crate) fn crypt_rtp(&self, payload: &mut [u8], ssrc: u32, index: u64) {
        apply_keystream(&self.rtp_cipher, &self.rtp_salt, payload, ssrc, index);
    }

    /// Encrypts or decrypts an RTCP payload (everything after the first 8 bytes) with SRTCP `index`.
    pub(crate) fn crypt_rtcp(&self, payload: &mut [u8], ssrc: u32, index: u32) {
        apply_keystream(
            &self.rtcp_cipher,
            &self.rtcp_salt,
            payload,
            ssrc,
            u64::from(index),
        );
    }

    /// The full 20-byte HMAC over `authenticated || ROC` (RFC 3711 §4.2); callers truncate.
    pub(crate) fn rtp_tag(&self, authenticated: &[u8], roc: u32) -> [u8; 20] {
        let mut mac = self.rtp_mac.clone();
        mac.update(authenticated);
        mac.update(&roc.to_be_bytes());
        mac.finalize().into_bytes().into()
    }

    /// The full 20-byte HMAC over `authenticated` (header, payload and E || SRTCP index).
    pub(crate) fn rtcp_tag(&self, authenticated: &[u8]) -> [u8; 20] {
        let mut mac = self.rtcp_mac.clone();
        mac.update(authenticated);
        mac.finalize().into_bytes().into()
    }

    /// Constant-time comparison of a received tag with the leading bytes of a computed one.
    pub(crate) fn tag_matches(computed: &[u8; 20], received: &[u8]) -> bool {
        received.len() <= computed.len() && bool::from(computed[..received.len()].ct_eq(received))
    }
}

/// The counter-mode IV of RFC 3711 §4.1.1: `(k_s * 2^16) XOR (SSRC * 2^64) XOR (i * 2^16)`.
pub(crate) fn cm_iv(salt: &[u8; 14], ssrc: u32, index: u64) -> [u8; 16] {
    let mut iv = [0u8; 16];
    iv[..14].copy_from_slice(salt);
    for (byte, s) in iv[4..8].iter_mut().zip(ssrc.to_be_bytes()) {
        *byte ^= s;
    }
    // The 48-bit index lands in bytes 8..14.
    for (byte, i) in iv[8..14].iter_mut().zip(&index.to_be_bytes()[2..]) {
        *byte ^= i;
    }
    iv
}

fn apply_keystream(cipher: &Aes128Enc, salt: &[u8; 14], data: &mut [u8], ssrc: u32, index: u64) {
    let iv = cm_iv(salt, ssrc, index);
    let mut ctr = Ctr128BE::from_core(CtrCore::inner_iv_init(cipher.clone(), &iv.into()));
    ctr.apply_keystream(data);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::srtp::tests::hex;

    /// RFC 3711 Appendix B.2: the keystream of session key 2B7E…, salt F0F1…FD, SSRC 0, index 0, whose
    /// last blocks coincide with NIST SP 800-38A F.5.1.
    #[test]
    fn rfc3711_b2_aes_cm_keystream() {
        let key: [u8; 16] = hex("2B7E151628AED2A6ABF7158809CF4F3C").try_into().unwrap();
        let salt: [u8; 14] = hex("F0F1F2F3F4F5F6F7F8F9FAFBFCFD").try_into().unwrap();
        let cipher = Aes128Enc::new(&key.into());
        assert_eq!(
            cm_iv(&salt, 0, 0)[..],
            hex("F0F1F2F3F4F5F6F7F8F9FAFBFCFD0000")[..]
        );

        let mut keystream = vec![0u8; 65282 * 16];
        apply_keystream(&cipher, &salt, &mut keystream, 0, 0);
        let block = |n: usize| &keystream[n * 16..(n + 1) * 16];
        assert_eq!(block(0), hex("E03EAD0935C95E80E166B16DD92B4EB4"));
        assert_eq!(block(1), hex("D23513162B02D0F72A43A2FE4A5F97AB"));
        assert_eq!(block(2), hex("41E95B3BB0A2E8DD477901E4FCA894C0"));
        assert_eq!(block(0xFEFF), hex("EC8CDF7398607CB0F2D21675EA9EA1E4"));
        assert_eq!(block(0xFF00), hex("362B7C3C6773516318A077D7FC5073AE"));
        assert_eq!(block(0xFF01), hex("6A2CC3787889374FBEB4C81B17BA6C44"));
    }

    #[test]
    fn the_iv_mixes_in_ssrc_and_index() {
        let salt = [0u8; 14];
        let iv = cm_iv(&salt, 0x0102_0304, 0x0000_aabb_ccdd_eeff);
        assert_eq!(
            iv,
            [
                0, 0, 0, 0, 1, 2, 3, 4, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff, 0, 0
            ]
        );
    }
}
