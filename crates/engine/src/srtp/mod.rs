//! SRTP and SRTCP protection, in place and without allocation per packet.
//!
//! Owns: the SRTP protection profiles, key derivation from a master key and salt, the per-direction
//! [`SrtpSession`] with its per-SSRC state (rollover counter, highest sequence number, SRTCP index, replay
//! windows), and the split of DTLS-exported keying material into the two directions' keys. Plain
//! transports key sessions from SDES `srtpParameters` (`keyBase64` = master key || master salt); WebRTC
//! transports from the DTLS exporter through [`split_dtls_srtp_keying_material`].
//!
//! Must not: read the clock, log per packet, allocate per packet (only on the first sight of an SSRC, in a
//! map bounded by [`SrtpSessionOptions::max_ssrcs`]), or trust a packet before its tag is verified: the
//! per-SSRC state changes only after authentication succeeds.
//!
//! Implements: RFC 3711 §3.3 (SRTP packet processing, index estimation §3.3.1 with Appendix A, replay
//! protection §3.3.2), §3.4 (SRTCP with the E flag and 31-bit index), §4.1.1 (AES-CM), §4.2.1 (HMAC-SHA1),
//! §4.3 (key derivation with kdr = 0); RFC 5764 §4.1.2 (profiles, SRTCP keeps the 80-bit tag for
//! `_32`) and §4.2 (exported keying material layout); RFC 7714 §8–§9 (AES-GCM IVs and AAD), §11 (key
//! derivation with a 96-bit salt) and §17 (SRTCP AAD). Not implemented: MKI, key derivation rates other
//! than zero, RFC 6904 header-extension encryption, AES-256-CM and NULL ciphers.
//!
//! The cryptography sits behind this module's own types, so a provider can be swapped without touching
//! callers: AES-GCM is ring's (`LessSafeKey`, AES-NI + carry-less multiply, sealed and opened in place
//! with a separate tag), AES-CM + HMAC-SHA1 is RustCrypto's (`aes` with AES-NI, `ctr`, `hmac`, `sha1` with
//! SHA-NI, `subtle`; ring has no AES-CTR and a portable SHA-1). Measured on the 2-vCPU dev VM (release,
//! 1,200-byte RTP, fastest batch): ~0.28 µs per protect or unprotect for AES-128-GCM, ~0.30 µs for
//! AES-256-GCM, ~0.96 µs for either AES-CM profile (docs/decisions/0007-srtp-aead-ring.md).

mod cm;
mod context;
mod gcm;
mod kdf;
mod profile;
mod replay;

#[cfg(test)]
mod interop;
#[cfg(test)]
mod tests;

use std::collections::HashMap;
use std::fmt;

use thiserror::Error;

use cm::CmTransform;
use context::{MAX_RTCP_INDEX, RtcpContext, RtpContext};
use gcm::GcmTransform;
use replay::{Replay, ReplayWindow};

pub use profile::{MAX_TRAILER_LEN, SRTCP_INDEX_LEN, SrtpProfile};
pub use replay::MAX_REPLAY_WINDOW;

/// Replay window of a new session, in packets (as libwebrtc uses; RFC 3711 asks for at least 64).
pub const DEFAULT_REPLAY_WINDOW: u16 = 1024;

/// How many SSRCs a session tracks by default, per protocol (RTP and RTCP each).
pub const DEFAULT_MAX_SSRCS: usize = 1024;

/// Smallest RTP header.
const RTP_HEADER_LEN: usize = 12;

/// RTCP header bytes left in the clear (V/P/count, PT, length, sender SSRC).
const RTCP_HEADER_LEN: usize = 8;

/// Why SRTP keying or packet protection failed.
///
/// On any error from `protect_*` / `unprotect_*` the buffer's content is unspecified and the session state
/// is unchanged (except that `protect_*` may have registered a new SSRC).
#[derive(Clone, Copy, Debug, Error, PartialEq, Eq)]
pub enum SrtpError {
    /// The master key does not have the profile's key length.
    #[error("master key of {actual} bytes, {profile:?} needs {expected}")]
    InvalidKeyLength {
        /// Profile being keyed.
        profile: SrtpProfile,
        /// Length the profile needs.
        expected: usize,
        /// Length given.
        actual: usize,
    },
    /// The master salt does not have the profile's salt length.
    #[error("master salt of {actual} bytes, {profile:?} needs {expected}")]
    InvalidSaltLength {
        /// Profile being keyed.
        profile: SrtpProfile,
        /// Length the profile needs.
        expected: usize,
        /// Length given.
        actual: usize,
    },
    /// Concatenated key material (SDES key || salt, or DTLS-exported material) has the wrong length.
    #[error("keying material of {actual} bytes, {profile:?} needs {expected}")]
    InvalidKeyingMaterialLength {
        /// Profile being keyed.
        profile: SrtpProfile,
        /// Length the profile needs.
        expected: usize,
        /// Length given.
        actual: usize,
    },
    /// The configured replay window is larger than [`MAX_REPLAY_WINDOW`].
    #[error("replay window of {size} packets exceeds {MAX_REPLAY_WINDOW}")]
    InvalidReplayWindow {
        /// Window asked for.
        size: u16,
    },
    /// The packet is shorter than its header plus the profile's trailer.
    #[error("packet of {len} bytes, at least {min} needed")]
    TooShort {
        /// Packet length.
        len: usize,
        /// Minimum length for this profile.
        min: usize,
    },
    /// The buffer given to `protect_*` cannot hold the packet plus its trailer, or `len` exceeds it.
    #[error("buffer of {capacity} bytes, {needed} needed")]
    BufferTooSmall {
        /// Bytes needed: packet length plus trailer.
        needed: usize,
        /// Buffer length.
        capacity: usize,
    },
    /// Not a version-2 RTP/RTCP packet, or its CSRC list or header extension runs past its end.
    #[error("malformed rtp/rtcp header")]
    MalformedHeader,
    /// The authentication tag did not verify: wrong key, tampering, or a wrong rollover-counter guess.
    #[error("authentication failed")]
    AuthenticationFailed,
    /// The packet index was already received, is older than the replay window, or precedes the stream.
    #[error("replayed or too old packet, ssrc {ssrc} index {index}")]
    ReplayDetected {
        /// SSRC of the packet.
        ssrc: u32,
        /// Estimated packet index (48-bit SRTP index or 31-bit SRTCP index; 0 if none could be estimated).
        index: u64,
    },
    /// A new SSRC arrived while the session already tracks its maximum.
    #[error("ssrc {ssrc} refused: session tracks its maximum of {limit} ssrcs")]
    UnknownSsrcLimit {
        /// SSRC that was refused.
        ssrc: u32,
        /// The session's limit.
        limit: usize,
    },
    /// No packet index is left (48-bit SRTP or 31-bit SRTCP space used up), or an outbound sequence number
    /// falls before the stream's first one: the session must be rekeyed or the stream restarted.
    #[error("no packet index left for ssrc {ssrc}")]
    IndexExhausted {
        /// SSRC of the packet.
        ssrc: u32,
    },
}

/// Tunables of an [`SrtpSession`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SrtpSessionOptions {
    /// Replay window for inbound packets, in packets; 0 disables replay protection. At most
    /// [`MAX_REPLAY_WINDOW`]. Ignored by `protect_*`.
    pub replay_window: u16,
    /// Most SSRCs tracked, per protocol; a packet of a further SSRC is refused with
    /// [`SrtpError::UnknownSsrcLimit`] until [`SrtpSession::remove_ssrc`] frees a slot.
    pub max_ssrcs: usize,
}

impl Default for SrtpSessionOptions {
    fn default() -> Self {
        SrtpSessionOptions {
            replay_window: DEFAULT_REPLAY_WINDOW,
            max_ssrcs: DEFAULT_MAX_SSRCS,
        }
    }
}

/// The prepared ciphers of one profile.
#[derive(Clone)]
enum Transform {
    Cm(Box<CmTransform>),
    Gcm(Box<GcmTransform>),
}

/// One direction of SRTP/SRTCP: session keys derived from one master key, and the state of each SSRC seen.
///
/// Use one session to protect (outbound) and another to unprotect (inbound); the per-SSRC state of the two
/// directions must not be mixed in one session.
#[derive(Clone)]
pub struct SrtpSession {
    profile: SrtpProfile,
    options: SrtpSessionOptions,
    transform: Transform,
    rtp: HashMap<u32, RtpContext>,
    rtcp: HashMap<u32, RtcpContext>,
}

impl fmt::Debug for SrtpSession {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Never the keys.
        f.debug_struct("SrtpSession")
            .field("profile", &self.profile)
            .field("options", &self.options)
            .field("rtp_ssrcs", &self.rtp.len())
            .field("rtcp_ssrcs", &self.rtcp.len())
            .finish_non_exhaustive()
    }
}

impl SrtpSession {
    /// A session with default options from a master key and master salt of `profile`'s lengths.
    pub fn new(
        profile: SrtpProfile,
        master_key: &[u8],
        master_salt: &[u8],
    ) -> Result<Self, SrtpError> {
        Self::with_options(
            profile,
            master_key,
            master_salt,
            SrtpSessionOptions::default(),
        )
    }

    /// A session from `master key || master salt`, the layout of SDES `keyBase64` once decoded.
    pub fn from_key_and_salt(
        profile: SrtpProfile,
        key_and_salt: &[u8],
        options: SrtpSessionOptions,
    ) -> Result<Self, SrtpError> {
        if key_and_salt.len() != profile.key_and_salt_len() {
            return Err(SrtpError::InvalidKeyingMaterialLength {
                profile,
                expected: profile.key_and_salt_len(),
                actual: key_and_salt.len(),
            });
        }
        let (key, salt) = key_and_salt.split_at(profile.key_len());
        Self::with_options(profile, key, salt, options)
    }

    /// A session with explicit options.
    pub fn with_options(
        profile: SrtpProfile,
        master_key: &[u8],
        master_salt: &[u8],
        options: SrtpSessionOptions,
    ) -> Result<Self, SrtpError> {
        if master_key.len() != profile.key_len() {
            return Err(SrtpError::InvalidKeyLength {
                profile,
                expected: profile.key_len(),
                actual: master_key.len(),
            });
        }
        if master_salt.len() != profile.salt_len() {
            return Err(SrtpError::InvalidSaltLength {
                profile,
                expected: profile.salt_len(),
                actual: master_salt.len(),
            });
        }
        if options.replay_window > MAX_REPLAY_WINDOW {
            return Err(SrtpError::InvalidReplayWindow {
                size: options.replay_window,
            });
        }
        let transform = match profile {
            SrtpProfile::AesCm128HmacSha1_80 | SrtpProfile::AesCm128HmacSha1_32 => {
                Transform::Cm(Box::new(CmTransform::new(master_key, master_salt)))
            }
            SrtpProfile::AeadAes128Gcm | SrtpProfile::AeadAes256Gcm => {
                Transform::Gcm(Box::new(GcmTransform::new(master_key, master_salt)))
            }
        };
        Ok(Self::from_transform(profile, transform, options))
    }

    fn from_transform(
        profile: SrtpProfile,
        transform: Transform,
        options: SrtpSessionOptions,
    ) -> Self {
        SrtpSession {
            profile,
            options,
            transform,
            rtp: HashMap::new(),
            rtcp: HashMap::new(),
        }
    }

    /// The session's profile.
    pub fn profile(&self) -> SrtpProfile {
        self.profile
    }

    /// The session's options.
    pub fn options(&self) -> SrtpSessionOptions {
        self.options
    }

    /// Number of SSRCs with RTP state and with RTCP state.
    pub fn ssrc_counts(&self) -> (usize, usize) {
        (self.rtp.len(), self.rtcp.len())
    }

    /// Forgets an SSRC's RTP and RTCP state (its stream closed), freeing its slot.
    pub fn remove_ssrc(&mut self, ssrc: u32) {
        self.rtp.remove(&ssrc);
        self.rtcp.remove(&ssrc);
    }

    /// Encrypts the RTP packet `buf[..len]` in place and appends its tag; returns the SRTP length.
    ///
    /// `buf` must have room for the trailer: `buf.len() >= len + profile.rtp_overhead()` (at most
    /// [`MAX_TRAILER_LEN`]). The rollover counter follows the sequence numbers given (RFC 3711 §3.3.1).
    pub fn protect_rtp(&mut self, buf: &mut [u8], len: usize) -> Result<usize, SrtpError> {
        let tag_len = self.profile.rtp_tag_len();
        check_room(buf, len, tag_len)?;
        let (header_len, ssrc, seq) = rtp_header(&buf[..len])?;

        let index = match self.rtp.get_mut(&ssrc) {
            Some(context) => {
                let index = context
                    .estimate(seq)
                    .ok_or(SrtpError::IndexExhausted { ssrc })?;
                context.window.accept(index);
                index
            }
            None => {
                ensure_room(self.rtp.len(), self.options.max_ssrcs, ssrc)?;
                let index = u64::from(seq);
                self.rtp.insert(ssrc, RtpContext::new(index));
                index
            }
        };

        Ok(match &self.transform {
            Transform::Cm(cm) => cm.protect_rtp(buf, header_len, len, tag_len, ssrc, index),
            Transform::Gcm(gcm) => gcm.protect_rtp(buf, header_len, len, ssrc, index),
        })
    }

    /// Verifies and decrypts the SRTP packet `buf` in place; returns the RTP length (a prefix of `buf`).
    ///
    /// Order: header parse, index estimate, replay check, tag check (constant time), decryption, and only
    /// then the SSRC's state (registered on first sight, ROC and window advanced).
    pub fn unprotect_rtp(&mut self, buf: &mut [u8]) -> Result<usize, SrtpError> {
        let tag_len = self.profile.rtp_tag_len();
        let min = RTP_HEADER_LEN + tag_len;
        if buf.len() < min {
            return Err(SrtpError::TooShort {
                len: buf.len(),
                min,
            });
        }
        let (header_len, ssrc, seq) = rtp_header(&buf[..buf.len() - tag_len])?;

        let known = self.rtp.get(&ssrc);
        let index = match known {
            Some(context) => {
                let index = context
                    .estimate(seq)
                    .ok_or(SrtpError::ReplayDetected { ssrc, index: 0 })?;
                check_replay(&context.window, index, self.options.replay_window, ssrc)?;
                index
            }
            None => {
                ensure_room(self.rtp.len(), self.options.max_ssrcs, ssrc)?;
                u64::from(seq)
            }
        };

        let len = match &self.transform {
            Transform::Cm(cm) => cm.unprotect_rtp(buf, header_len, tag_len, ssrc, index)?,
            Transform::Gcm(gcm) => gcm.unprotect_rtp(buf, header_len, ssrc, index)?,
        };

        match self.rtp.get_mut(&ssrc) {
            Some(context) => context.window.accept(index),
            None => {
                self.rtp.insert(ssrc, RtpContext::new(index));
            }
        }
        Ok(len)
    }

    /// Encrypts the RTCP packet `buf[..len]` in place (E flag set) and appends the SRTCP index and tag;
    /// returns the SRTCP length. `buf.len() >= len + profile.rtcp_overhead()` (at most [`MAX_TRAILER_LEN`]).
    pub fn protect_rtcp(&mut self, buf: &mut [u8], len: usize) -> Result<usize, SrtpError> {
        check_room(buf, len, self.profile.rtcp_overhead())?;
        let ssrc = rtcp_header(&buf[..len])?;

        let index = match self.rtcp.get_mut(&ssrc) {
            Some(context) => context.next_index(),
            None => {
                ensure_room(self.rtcp.len(), self.options.max_ssrcs, ssrc)?;
                self.rtcp.entry(ssrc).or_default().next_index()
            }
        }
        .ok_or(SrtpError::IndexExhausted { ssrc })?;

        Ok(match &self.transform {
            Transform::Cm(cm) => cm.protect_rtcp(buf, len, ssrc, index),
            Transform::Gcm(gcm) => gcm.protect_rtcp(buf, len, ssrc, index),
        })
    }

    /// Verifies the SRTCP packet `buf` and decrypts it in place when its E flag is set; returns the RTCP
    /// length (a prefix of `buf`). Replay-checked on the SRTCP index of the sender SSRC.
    pub fn unprotect_rtcp(&mut self, buf: &mut [u8]) -> Result<usize, SrtpError> {
        let overhead = self.profile.rtcp_overhead();
        let min = RTCP_HEADER_LEN + overhead;
        if buf.len() < min {
            return Err(SrtpError::TooShort {
                len: buf.len(),
                min,
            });
        }
        let ssrc = rtcp_header(buf)?;
        let word_start = if self.profile.is_aead() {
            buf.len() - SRTCP_INDEX_LEN
        } else {
            buf.len() - overhead
        };
        let word = u32::from_be_bytes(
            buf[word_start..word_start + SRTCP_INDEX_LEN]
                .try_into()
                .expect("4 bytes"),
        );
        let index = u64::from(word & MAX_RTCP_INDEX);

        match self.rtcp.get(&ssrc) {
            Some(context) => {
                if let Some(window) = &context.received {
                    check_replay(window, index, self.options.replay_window, ssrc)?;
                }
            }
            None => ensure_room(self.rtcp.len(), self.options.max_ssrcs, ssrc)?,
        }

        let len = match &self.transform {
            Transform::Cm(cm) => cm.unprotect_rtcp(buf, ssrc)?,
            Transform::Gcm(gcm) => gcm.unprotect_rtcp(buf, ssrc)?,
        };

        let context = self.rtcp.entry(ssrc).or_default();
        match &mut context.received {
            Some(window) => window.accept(index),
            None => context.received = Some(ReplayWindow::new(index)),
        }
        Ok(len)
    }
}

/// Splits DTLS-SRTP exported keying material (RFC 5764 §4.2: client key, server key, client salt, server
/// salt) into `((local_key, local_salt), (remote_key, remote_salt))`: the local pair keys our outbound
/// session, the remote pair our inbound one. `we_are_client` is our DTLS role.
pub fn split_dtls_srtp_keying_material(
    material: &[u8],
    profile: SrtpProfile,
    we_are_client: bool,
) -> Result<KeyPairs<'_>, SrtpError> {
    if material.len() != profile.keying_material_len() {
        return Err(SrtpError::InvalidKeyingMaterialLength {
            profile,
            expected: profile.keying_material_len(),
            actual: material.len(),
        });
    }
    let (keys, salts) = material.split_at(2 * profile.key_len());
    let (client_key, server_key) = keys.split_at(profile.key_len());
    let (client_salt, server_salt) = salts.split_at(profile.salt_len());
    let client = (client_key, client_salt);
    let server = (server_key, server_salt);
    Ok(if we_are_client {
        (client, server)
    } else {
        (server, client)
    })
}

/// `((local_key, local_salt), (remote_key, remote_salt))`, slices into the exported keying material.
pub type KeyPairs<'a> = ((&'a [u8], &'a [u8]), (&'a [u8], &'a [u8]));

fn check_room(buf: &[u8], len: usize, trailer: usize) -> Result<(), SrtpError> {
    let needed = len.saturating_add(trailer);
    if needed > buf.len() {
        return Err(SrtpError::BufferTooSmall {
            needed,
            capacity: buf.len(),
        });
    }
    Ok(())
}

fn ensure_room(tracked: usize, limit: usize, ssrc: u32) -> Result<(), SrtpError> {
    if tracked >= limit {
        return Err(SrtpError::UnknownSsrcLimit { ssrc, limit });
    }
    Ok(())
}

fn check_replay(window: &ReplayWindow, index: u64, size: u16, ssrc: u32) -> Result<(), SrtpError> {
    window.check(index, size).map_err(|refusal| {
        debug_assert!(matches!(refusal, Replay::Duplicate | Replay::TooOld));
        SrtpError::ReplayDetected { ssrc, index }
    })
}

/// Header length (CSRCs and extension included), SSRC and sequence number of an RTP packet.
fn rtp_header(packet: &[u8]) -> Result<(usize, u32, u16), SrtpError> {
    if packet.len() < RTP_HEADER_LEN {
        return Err(SrtpError::TooShort {
            len: packet.len(),
            min: RTP_HEADER_LEN,
        });
    }
    if packet[0] >> 6 != 2 {
        return Err(SrtpError::MalformedHeader);
    }
    let mut header_len = RTP_HEADER_LEN + 4 * usize::from(packet[0] & 0x0f);
    if packet[0] & 0x10 != 0 {
        let extension = packet
            .get(header_len..header_len + 4)
            .ok_or(SrtpError::MalformedHeader)?;
        header_len += 4 + 4 * usize::from(u16::from_be_bytes([extension[2], extension[3]]));
    }
    if header_len > packet.len() {
        return Err(SrtpError::MalformedHeader);
    }
    let seq = u16::from_be_bytes([packet[2], packet[3]]);
    let ssrc = u32::from_be_bytes([packet[8], packet[9], packet[10], packet[11]]);
    Ok((header_len, ssrc, seq))
}

/// Sender SSRC of an RTCP packet.
fn rtcp_header(packet: &[u8]) -> Result<u32, SrtpError> {
    if packet.len() < RTCP_HEADER_LEN {
        return Err(SrtpError::TooShort {
            len: packet.len(),
            min: RTCP_HEADER_LEN,
        });
    }
    if packet[0] >> 6 != 2 {
        return Err(SrtpError::MalformedHeader);
    }
    Ok(u32::from_be_bytes([
        packet[4], packet[5], packet[6], packet[7],
    ]))
}
