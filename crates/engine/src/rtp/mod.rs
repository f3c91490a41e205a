//! RTP packets as zero-copy views over received bytes, and their in-place rewriting.
//!
//! Owns: validation and reading of the RTP fixed header, CSRC list, header extension block and padding
//! (RFC 3550 §5.1, §5.3.1); RFC 8285 header extensions in the one-byte (`0xBEDE`, §4.2) and two-byte
//! (`0x100X`, §4.3) forms; in-place rewriting of the fields an SFU changes when forwarding (payload type,
//! marker, sequence number, timestamp, SSRC, extension ids and values); typed readers of the extensions it
//! reads (`sdes:mid` RFC 8843 §15.2, `rtp-stream-id`/`repaired-rtp-stream-id` RFC 8852 §3, abs-send-time,
//! transport-wide-cc sequence number, ssrc-audio-level RFC 6464 §3, video-orientation 3GPP TS 26.114
//! §7.4.5); keyframe detection per codec ([`codec`]); RTX unwrapping (RFC 4588 §4, [`unwrap_rtx`]); a
//! builder for tests and benches ([`write_rtp`]).
//!
//! Must not: allocate, copy a packet, or change a packet's length (rewrites are in place, so an SRTP
//! context can encrypt the same buffer afterwards) — except RTX unwrapping, which moves the payload two
//! bytes down inside the same buffer. Per-stream state (sequence tracking, NACK) lives in `stream/`, not
//! here.
//!
//! Validation is done once, in [`RtpPacket::parse`]/[`RtpPacketMut::parse`], including a walk of the
//! RFC 8285 extension elements: a packet whose extension elements overrun their block is refused as a whole
//! (forwarding it with partly remapped ids would confuse the receiver). After that, every accessor and
//! iterator is infallible.

pub mod codec;
pub mod ext;
mod extensions;
mod id_map;
mod packet;
mod packet_mut;
mod rtx;
mod write;

pub use extensions::{ExtensionForm, Extensions};
pub use id_map::ExtensionIdMap;
pub use packet::{Csrcs, RtpPacket};
pub use packet_mut::RtpPacketMut;
pub use rtx::{RtxError, Unwrapped, unwrap_rtx};
pub use write::{RtpHeader, WriteError, write_rtp};

/// The RTP version this module accepts (RFC 3550 §5.1).
pub const RTP_VERSION: u8 = 2;

/// Size of the RTP fixed header, without CSRCs or extension.
pub const FIXED_HEADER_LEN: usize = 12;

/// Why bytes are not a well-formed RTP packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum RtpError {
    /// Fewer bytes than the 12-byte fixed header.
    #[error("rtp packet too short: {len} bytes")]
    TooShort {
        /// Length of the datagram.
        len: usize,
    },
    /// The version field is not 2.
    #[error("rtp version {0} is not 2")]
    Version(u8),
    /// The CSRC list announced by the CC field runs past the end of the packet.
    #[error("{count} csrcs do not fit in {len} bytes")]
    CsrcsTruncated {
        /// The CC field.
        count: u8,
        /// Length of the datagram.
        len: usize,
    },
    /// The X bit is set but the 4-byte extension header does not fit.
    #[error("extension header does not fit in {len} bytes")]
    ExtensionHeaderTruncated {
        /// Length of the datagram.
        len: usize,
    },
    /// The extension block's length field runs past the end of the packet.
    #[error("extension block of {declared} bytes exceeds the {available} bytes left")]
    ExtensionTruncated {
        /// Bytes announced by the length field.
        declared: usize,
        /// Bytes left after the extension header.
        available: usize,
    },
    /// An RFC 8285 extension element runs past the end of its block.
    #[error("extension element at block offset {offset} overruns the block")]
    MalformedExtension {
        /// Offset of the element inside the extension block.
        offset: usize,
    },
    /// The P bit is set but the padding count is zero (it counts itself, so it is at least 1).
    #[error("padding count is zero")]
    ZeroPadding,
    /// The padding count is larger than the bytes after the header.
    #[error("padding of {padding} bytes exceeds the {available} bytes after the header")]
    PaddingOverflow {
        /// The padding count (the packet's last byte).
        padding: u8,
        /// Bytes after the header.
        available: usize,
    },
}
