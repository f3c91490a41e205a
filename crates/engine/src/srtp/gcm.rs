//! The AEAD_AES_128_GCM / AEAD_AES_256_GCM transforms of RFC 7714: IVs (§8.1, §9.1), associated data
//! (§8.2, §9.2, §17) and session keys from the RFC 3711 KDF with a 96-bit salt (§11).

use ring::aead::{AES_128_GCM, AES_256_GCM, Aad, LessSafeKey, Nonce, Tag, UnboundKey};

use super::SrtpError;
use super::context::roc_of;
use super::kdf::{Label, derive};
use super::profile::SRTCP_INDEX_LEN;

/// GCM tag length used by both profiles.
pub(crate) const GCM_TAG_LEN: usize = 16;

/// Session keys of one direction for an AES-GCM profile, prepared once (key schedule and GHASH table).
///
/// The cipher is ring's (AES-NI + PCLMULQDQ/AVX code paths picked at run time); the key length (16 or 32
/// bytes) selects AEAD_AES_128_GCM or AEAD_AES_256_GCM.
#[derive(Clone)]
pub(crate) struct GcmTransform {
    rtp: LessSafeKey,
    rtp_salt: [u8; 12],
    rtcp: LessSafeKey,
    rtcp_salt: [u8; 12],
}

impl GcmTransform {
    /// Derives the four session keys (RFC 7714 §11: no authentication keys) from a master key (16 or 32
    /// bytes) and a 12-byte master salt.
    pub(crate) fn new(master_key: &[u8], master_salt: &[u8]) -> Self {
        let mut key = [0u8; 32];
        let key = &mut key[..master_key.len()];
        let mut rtp_salt = [0u8; 12];
        let mut rtcp_salt = [0u8; 12];
        derive(master_key, master_salt, Label::RtpEncryption, key);
        let rtp = cipher(key);
        derive(master_key, master_salt, Label::RtpSalt, &mut rtp_salt);
        derive(master_key, master_salt, Label::RtcpEncryption, key);
        let rtcp = cipher(key);
        derive(master_key, master_salt, Label::RtcpSalt, &mut rtcp_salt);
        key.fill(0);
        GcmTransform {
            rtp,
            rtp_salt,
            rtcp,
            rtcp_salt,
        }
    }

    /// Uses the given session keys as they are (RFC 7714 §16/§17 publish session keys, not master keys).
    #[cfg(test)]
    pub(crate) fn from_session_keys(key: &[u8], salt: [u8; 12]) -> Self {
        GcmTransform {
            rtp: cipher(key),
            rtp_salt: salt,
            rtcp: cipher(key),
            rtcp_salt: salt,
        }
    }

    /// Protects `buf[..len]` (an RTP packet whose header is `header_len` bytes) with packet `index`,
    /// appending the tag; returns the new length. The caller checked there is room.
    pub(crate) fn protect_rtp(
        &self,
        buf: &mut [u8],
        header_len: usize,
        len: usize,
        ssrc: u32,
        index: u64,
    ) -> usize {
        let (header, rest) = buf.split_at_mut(header_len);
        let (payload, trailer) = rest.split_at_mut(len - header_len);
        let tag = self.seal_rtp(header, payload, ssrc, roc_of(index), index as u16);
        trailer[..GCM_TAG_LEN].copy_from_slice(&tag);
        len + GCM_TAG_LEN
    }

    /// Authenticates and decrypts the SRTP packet `buf` in place; returns the plaintext length.
    pub(crate) fn unprotect_rtp(
        &self,
        buf: &mut [u8],
        header_len: usize,
        ssrc: u32,
        index: u64,
    ) -> Result<usize, SrtpError> {
        let len = buf.len() - GCM_TAG_LEN;
        let (header, rest) = buf.split_at_mut(header_len);
        let (payload, tag) = rest.split_at_mut(len - header_len);
        self.open_rtp(header, payload, tag, ssrc, roc_of(index), index as u16)?;
        Ok(len)
    }

    /// Protects the RTCP packet `buf[..len]` with SRTCP `index`: encrypts after the first 8 bytes, appends
    /// the tag, then E || index (RFC 7714 §9, §17); returns the new length.
    pub(crate) fn protect_rtcp(&self, buf: &mut [u8], len: usize, ssrc: u32, index: u32) -> usize {
        let word = (index | 0x8000_0000).to_be_bytes();
        let aad = rtcp_aad(&buf[..8], word);
        let (payload, trailer) = buf[8..].split_at_mut(len - 8);
        let tag = self.seal_rtcp(&aad, payload, ssrc, index);
        trailer[..GCM_TAG_LEN].copy_from_slice(&tag);
        trailer[GCM_TAG_LEN..GCM_TAG_LEN + SRTCP_INDEX_LEN].copy_from_slice(&word);
        len + GCM_TAG_LEN + SRTCP_INDEX_LEN
    }

    /// Authenticates the SRTCP packet `buf` and decrypts it in place if its E flag is set; returns the
    /// RTCP length. `buf` holds at least the header, the tag and the index word.
    ///
    /// Unencrypted (E = 0) packets authenticate the whole packet followed by the index word (RFC 7714
    /// §17.1): the word is moved next to the packet, over the tag copied aside, so the AAD is one slice.
    pub(crate) fn unprotect_rtcp(&self, buf: &mut [u8], ssrc: u32) -> Result<usize, SrtpError> {
        let word_start = buf.len() - SRTCP_INDEX_LEN;
        let tag_start = word_start - GCM_TAG_LEN;
        let word: [u8; 4] = buf[word_start..].try_into().expect("4 bytes");
        let index = u32::from_be_bytes(word) & 0x7fff_ffff;
        if word[0] & 0x80 != 0 {
            let aad = rtcp_aad(&buf[..8], word);
            let (payload, rest) = buf[8..word_start].split_at_mut(tag_start - 8);
            self.open_rtcp(&aad, payload, rest, ssrc, index)?;
        } else {
            let mut tag = [0u8; GCM_TAG_LEN];
            tag.copy_from_slice(&buf[tag_start..word_start]);
            buf.copy_within(word_start.., tag_start);
            self.open_rtcp(
                &buf[..tag_start + SRTCP_INDEX_LEN],
                &mut [],
                &tag,
                ssrc,
                index,
            )?;
        }
        Ok(tag_start)
    }

    /// Encrypts `payload` in place with `header` as associated data; returns the tag.
    pub(crate) fn seal_rtp(
        &self,
        header: &[u8],
        payload: &mut [u8],
        ssrc: u32,
        roc: u32,
        seq: u16,
    ) -> [u8; GCM_TAG_LEN] {
        let iv = rtp_iv(&self.rtp_salt, ssrc, roc, seq);
        seal(&self.rtp, iv, header, payload)
    }

    /// Authenticates, then decrypts `payload` in place. On failure `payload` is zeroed (ring decrypts and
    /// authenticates in one pass, then wipes the unauthenticated plaintext).
    pub(crate) fn open_rtp(
        &self,
        header: &[u8],
        payload: &mut [u8],
        tag: &[u8],
        ssrc: u32,
        roc: u32,
        seq: u16,
    ) -> Result<(), SrtpError> {
        let iv = rtp_iv(&self.rtp_salt, ssrc, roc, seq);
        open(&self.rtp, iv, header, payload, tag)
    }

    /// Encrypts an RTCP `payload` in place; `aad` is the 8-byte header followed by the E || index word
    /// (or, unencrypted, the whole packet followed by that word). Returns the tag.
    pub(crate) fn seal_rtcp(
        &self,
        aad: &[u8],
        payload: &mut [u8],
        ssrc: u32,
        index: u32,
    ) -> [u8; GCM_TAG_LEN] {
        let iv = rtcp_iv(&self.rtcp_salt, ssrc, index);
        seal(&self.rtcp, iv, aad, payload)
    }

    /// Authenticates, then decrypts an RTCP `payload` in place (zeroed on failure).
    pub(crate) fn open_rtcp(
        &self,
        aad: &[u8],
        payload: &mut [u8],
        tag: &[u8],
        ssrc: u32,
        index: u32,
    ) -> Result<(), SrtpError> {
        let iv = rtcp_iv(&self.rtcp_salt, ssrc, index);
        open(&self.rtcp, iv, aad, payload, tag)
    }
}

/// An AES-GCM key of 16 or 32 bytes.
fn cipher(key: &[u8]) -> LessSafeKey {
    let algorithm = if key.len() == 32 {
        &AES_256_GCM
    } else {
        &AES_128_GCM
    };
    LessSafeKey::new(UnboundKey::new(algorithm, key).expect("16- or 32-byte key"))
}

fn seal(key: &LessSafeKey, iv: [u8; 12], aad: &[u8], payload: &mut [u8]) -> [u8; GCM_TAG_LEN] {
    let tag = key
        .seal_in_place_separate_tag(Nonce::assume_unique_for_key(iv), Aad::from(aad), payload)
        .expect("an RTP/RTCP payload is far below GCM's length limit");
    let mut out = [0u8; GCM_TAG_LEN];
    out.copy_from_slice(tag.as_ref());
    out
}

fn open(
    key: &LessSafeKey,
    iv: [u8; 12],
    aad: &[u8],
    payload: &mut [u8],
    tag: &[u8],
) -> Result<(), SrtpError> {
    let tag = Tag::try_from(tag).map_err(|_| SrtpError::AuthenticationFailed)?;
    key.open_in_place_separate_tag(
        Nonce::assume_unique_for_key(iv),
        Aad::from(aad),
        tag,
        payload,
        0..,
    )
    .map(|_| ())
    .map_err(|_| SrtpError::AuthenticationFailed)
}

/// RFC 7714 §17: the SRTCP AAD of an encrypted packet is the first 8 bytes followed by E || index.
fn rtcp_aad(header: &[u8], word: [u8; 4]) -> [u8; 12] {
    let mut aad = [0u8; 12];
    aad[..8].copy_from_slice(header);
    aad[8..].copy_from_slice(&word);
    aad
}

/// RFC 7714 §8.1: `(00 00 || SSRC || ROC || SEQ) XOR salt`.
pub(crate) fn rtp_iv(salt: &[u8; 12], ssrc: u32, roc: u32, seq: u16) -> [u8; 12] {
    let mut iv = [0u8; 12];
    iv[2..6].copy_from_slice(&ssrc.to_be_bytes());
    iv[6..10].copy_from_slice(&roc.to_be_bytes());
    iv[10..12].copy_from_slice(&seq.to_be_bytes());
    xor_salt(iv, salt)
}

/// RFC 7714 §9.1: `(00 00 || SSRC || 00 00 || 0 || SRTCP index) XOR salt`.
pub(crate) fn rtcp_iv(salt: &[u8; 12], ssrc: u32, index: u32) -> [u8; 12] {
    let mut iv = [0u8; 12];
    iv[2..6].copy_from_slice(&ssrc.to_be_bytes());
    iv[8..12].copy_from_slice(&(index & 0x7fff_ffff).to_be_bytes());
    xor_salt(iv, salt)
}

fn xor_salt(mut iv: [u8; 12], salt: &[u8; 12]) -> [u8; 12] {
    for (byte, s) in iv.iter_mut().zip(salt) {
        *byte ^= s;
    }
    iv
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::srtp::tests::hex;

    const SALT: &str = "517569642070726f2071756f";

    fn salt() -> [u8; 12] {
        hex(SALT).try_into().unwrap()
    }

    /// RFC 7714 §16 and §17 print the IVs of their examples.
    #[test]
    fn rfc7714_ivs() {
        assert_eq!(
            rtp_iv(&salt(), 0x5501a0b2, 0, 0xf17b)[..],
            hex("51753c6580c2726f20718414")[..]
        );
        assert_eq!(
            rtcp_iv(&salt(), 0x4d617273, 0x5d4)[..],
            hex("517524055203726f207170bb")[..]
        );
    }

    #[test]
    fn a_wrong_tag_is_refused_and_no_plaintext_is_left_behind() {
        let gcm = GcmTransform::from_session_keys(&hex("000102030405060708090a0b0c0d0e0f"), salt());
        let header = [0x80, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 9];
        let mut payload = *b"payload bytes";
        let tag = gcm.seal_rtp(&header, &mut payload, 9, 0, 1);
        let sealed = payload;
        let mut bad = tag;
        bad[0] ^= 1;
        assert_eq!(
            gcm.open_rtp(&header, &mut payload, &bad, 9, 0, 1),
            Err(SrtpError::AuthenticationFailed)
        );
        assert_eq!(payload, [0; 13], "the unauthenticated plaintext is wiped");
        payload = sealed;
        gcm.open_rtp(&header, &mut payload, &tag, 9, 0, 1).unwrap();
        assert_eq!(&payload, b"payload bytes");
    }
}
