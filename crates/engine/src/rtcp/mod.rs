//! RTCP: typed zero-copy views over the packets of a compound datagram, and builders that write packets
//! into a caller's buffer.
//!
//! Owns: the common header and compound walk (RFC 3550 §6.1, §6.4.1; RFC 5506 reduced-size RTCP, so a
//! compound need not start with SR/RR), SR/RR report blocks (§6.4.1–6.4.2), SDES chunks and CNAME (§6.5),
//! BYE (§6.6), RTPFB generic NACK (RFC 4585 §6.2.1) and transport-cc feedback, read and built
//! (draft-holmer-rmcat-transport-wide-cc-extensions-01 §3.1), PSFB PLI (RFC 4585 §6.3.1), FIR
//! (RFC 5104 §4.3.1) and REMB (draft-alvestrand-rmcat-remb-03 §2.2); NTP timestamp arithmetic for LSR/DLSR
//! ([`ntp`]).
//!
//! Must not: allocate, read the clock (times are inputs) or panic on any input. A malformed packet stops the
//! compound walk with an [`RtcpError`]; the caller drops the rest of the datagram and counts it. Packet types
//! and feedback formats not listed above are yielded as [`RtcpPacket::Other`], not refused.
//!
//! Each view validates its packet when the compound walk creates it, so its accessors and iterators are
//! infallible. Builders return the written length, always a multiple of 4, so a compound is written by
//! calling them one after another on the rest of the buffer.

mod bye;
mod compound;
mod fir;
mod header;
mod nack;
pub mod ntp;
mod pli;
mod receiver_report;
mod remb;
mod report_block;
mod sdes;
mod sender_report;
mod ssrcs;
mod transport_cc;

pub use bye::{Bye, write_bye};
pub use compound::Compound;
pub use fir::{Fir, FirEntries, FirEntry, write_fir};
pub use nack::{Nack, NackPair, NackPairLost, NackPairs, NackPairsFromLost, write_nack};
pub use pli::{Pli, write_pli};
pub use receiver_report::{ReceiverReport, write_receiver_report};
pub use remb::{Remb, write_remb};
pub use report_block::{ReportBlock, ReportBlocks};
pub use sdes::{Sdes, SdesChunk, SdesChunks, SdesItems, write_sdes_cname};
pub use sender_report::{SenderInfo, SenderReport, write_sender_report};
pub use ssrcs::Ssrcs;
pub use transport_cc::{
    MAX_STATUSES as TRANSPORT_CC_MAX_STATUSES, PacketStatus, PacketStatuses, TransportCc,
    TransportCcFeedback,
};

/// Packet type of a sender report.
pub const PT_SR: u8 = 200;
/// Packet type of a receiver report.
pub const PT_RR: u8 = 201;
/// Packet type of source description.
pub const PT_SDES: u8 = 202;
/// Packet type of goodbye.
pub const PT_BYE: u8 = 203;
/// Packet type of application-defined packets.
pub const PT_APP: u8 = 204;
/// Packet type of transport layer feedback (RFC 4585 §6.2).
pub const PT_RTPFB: u8 = 205;
/// Packet type of payload-specific feedback (RFC 4585 §6.3).
pub const PT_PSFB: u8 = 206;

/// One packet of a compound RTCP datagram.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RtcpPacket<'a> {
    /// Sender report (PT 200).
    SenderReport(SenderReport<'a>),
    /// Receiver report (PT 201).
    ReceiverReport(ReceiverReport<'a>),
    /// Source description (PT 202).
    Sdes(Sdes<'a>),
    /// Goodbye (PT 203).
    Bye(Bye<'a>),
    /// Generic NACK (PT 205, FMT 1).
    Nack(Nack<'a>),
    /// Transport-wide congestion control feedback (PT 205, FMT 15); [`TransportCc::statuses`] reads it.
    TransportCc(TransportCc<'a>),
    /// Picture loss indication (PT 206, FMT 1).
    Pli(Pli),
    /// Full intra request (PT 206, FMT 4).
    Fir(Fir<'a>),
    /// Receiver estimated maximum bitrate (PT 206, FMT 15, "REMB").
    Remb(Remb<'a>),
    /// A well-framed packet of another type or format (APP, XR, SLI, other AFB…).
    Other {
        /// The packet type.
        packet_type: u8,
        /// The 5-bit count / feedback message type field.
        count: u8,
        /// The bytes after the 4-byte header, padding excluded.
        body: &'a [u8],
    },
}

/// Why an RTCP datagram's walk stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum RtcpError {
    /// Fewer than 4 bytes left for a common header.
    #[error("{len} bytes left, fewer than an rtcp header")]
    TooShort {
        /// Bytes left in the datagram.
        len: usize,
    },
    /// The version field is not 2.
    #[error("rtcp version {0} is not 2")]
    Version(u8),
    /// The length field runs past the end of the datagram.
    #[error("packet of {declared} bytes exceeds the {available} bytes left")]
    LengthOverflow {
        /// Bytes announced by the length field.
        declared: usize,
        /// Bytes left in the datagram.
        available: usize,
    },
    /// The P bit is set but the padding count is zero or larger than the packet's body.
    #[error("padding of {padding} bytes in a {body}-byte body")]
    Padding {
        /// The padding count.
        padding: u8,
        /// Bytes after the header.
        body: usize,
    },
    /// The body is shorter than its type's fixed part, count or FCI require.
    #[error("packet type {packet_type} needs {needed} bytes, has {len}")]
    Truncated {
        /// The packet type.
        packet_type: u8,
        /// Bytes needed.
        needed: usize,
        /// Bytes in the body.
        len: usize,
    },
    /// A feedback message without the FCI entries its format requires (NACK, FIR).
    #[error("feedback format {fmt} of packet type {packet_type} has no fci entry")]
    MissingFci {
        /// The packet type.
        packet_type: u8,
        /// The feedback message type.
        fmt: u8,
    },
    /// A transport-cc packet chunk holds the reserved status symbol `11`.
    #[error("transport-cc chunk with a reserved symbol at body offset {offset}")]
    MalformedTransportCc {
        /// Offset of the chunk in the body.
        offset: usize,
    },
    /// An SDES chunk or item runs past the body, or a chunk lacks its null terminator.
    #[error("sdes chunk malformed at body offset {offset}")]
    MalformedSdes {
        /// Offset in the body where the walk failed.
        offset: usize,
    },
}

/// Why a builder wrote nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum BuildError {
    /// The buffer is smaller than the packet.
    #[error("buffer of {available} bytes is smaller than the {needed}-byte packet")]
    BufferTooSmall {
        /// Bytes the packet needs.
        needed: usize,
        /// Bytes the buffer has.
        available: usize,
    },
    /// More items than the packet's count or length field can carry.
    #[error("{count} {what}, at most {max}")]
    TooMany {
        /// What was counted.
        what: &'static str,
        /// How many were given.
        count: usize,
        /// How many fit.
        max: usize,
    },
    /// A text (CNAME, BYE reason) over 255 bytes.
    #[error("text of {0} bytes, at most 255")]
    TextTooLong(usize),
    /// A feedback message without entries (NACK without sequence numbers, FIR without requests).
    #[error("nothing to write")]
    Empty,
}
