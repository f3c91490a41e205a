//! [`TransportCc`]: transport-wide congestion control feedback (PT 205, FMT 15,
//! draft-holmer-rmcat-transport-wide-cc-extensions-01 §3.1), recognised and framed but not parsed: its FCI
//! is handed to the congestion controller as bytes.

use super::header::{need, u32_at};
use super::{PT_RTPFB, RtcpError};

/// The feedback message type of transport-wide congestion control feedback.
pub const FMT_TRANSPORT_CC: u8 = 15;

/// A transport-wide congestion control feedback packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TransportCc<'a> {
    body: &'a [u8],
}

impl<'a> TransportCc<'a> {
    pub(crate) fn parse(body: &'a [u8]) -> Result<Self, RtcpError> {
        need(PT_RTPFB, body, 8)?;
        Ok(Self { body })
    }

    /// SSRC of the packet's sender.
    pub fn sender_ssrc(&self) -> u32 {
        u32_at(self.body, 0)
    }

    /// SSRC of the media source (unused by the format; usually the first media SSRC or 0).
    pub fn media_ssrc(&self) -> u32 {
        u32_at(self.body, 4)
    }

    /// The feedback control information: base sequence number, status count, chunks and deltas.
    pub fn fci(&self) -> &'a [u8] {
        &self.body[8..]
    }
}
