//! [`SenderReport`]: the SR packet (RFC 3550 §6.4.1), PT 200.
//!
//! ```text
//! |V=2|P|    RC   |   PT=SR=200   |             length            |
//! |                         SSRC of sender                        |
//! |              NTP timestamp, most significant word             |
//! |             NTP timestamp, least significant word             |
//! |                         RTP timestamp                         |
//! |                     sender's packet count                     |
//! |                      sender's octet count                     |
//! |                 report blocks (RC × 24 bytes)                 |
//! |                  profile-specific extensions                  |
//! ```

use super::header::{need, put_u32, start_packet, u32_at};
use super::report_block::{REPORT_BLOCK_LEN, ReportBlock, ReportBlocks};
use super::{BuildError, PT_SR, RtcpError};

/// Bytes of sender information (SSRC included) before the report blocks.
const SENDER_INFO_LEN: usize = 24;

/// The sender information of an SR.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct SenderInfo {
    /// SSRC of the sender.
    pub ssrc: u32,
    /// The 64-bit NTP timestamp of this report (see [`super::ntp`]).
    pub ntp_timestamp: u64,
    /// The RTP timestamp corresponding to the NTP timestamp.
    pub rtp_timestamp: u32,
    /// Packets sent since the start of transmission.
    pub packet_count: u32,
    /// Payload octets sent since the start of transmission.
    pub octet_count: u32,
}

/// A sender report.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SenderReport<'a> {
    body: &'a [u8],
    count: u8,
}

impl<'a> SenderReport<'a> {
    pub(crate) fn parse(count: u8, body: &'a [u8]) -> Result<Self, RtcpError> {
        need(
            PT_SR,
            body,
            SENDER_INFO_LEN + usize::from(count) * REPORT_BLOCK_LEN,
        )?;
        Ok(Self { body, count })
    }

    /// SSRC of the sender.
    pub fn ssrc(&self) -> u32 {
        u32_at(self.body, 0)
    }

    /// The sender information.
    pub fn info(&self) -> SenderInfo {
        SenderInfo {
            ssrc: self.ssrc(),
            ntp_timestamp: u64::from(u32_at(self.body, 4)) << 32 | u64::from(u32_at(self.body, 8)),
            rtp_timestamp: u32_at(self.body, 12),
            packet_count: u32_at(self.body, 16),
            octet_count: u32_at(self.body, 20),
        }
    }

    /// The reception report blocks.
    pub fn report_blocks(&self) -> ReportBlocks<'a> {
        let end = SENDER_INFO_LEN + usize::from(self.count) * REPORT_BLOCK_LEN;
        ReportBlocks::new(&self.body[SENDER_INFO_LEN..end])
    }
}

/// Writes an SR with up to 31 report blocks into `buf`; returns its length.
pub fn write_sender_report(
    buf: &mut [u8],
    info: &SenderInfo,
    blocks: &[ReportBlock],
) -> Result<usize, BuildError> {
    if blocks.len() > 31 {
        return Err(BuildError::TooMany {
            what: "report blocks",
            count: blocks.len(),
            max: 31,
        });
    }
    let len = 4 + SENDER_INFO_LEN + blocks.len() * REPORT_BLOCK_LEN;
    let out = start_packet(buf, len, blocks.len() as u8, PT_SR)?;
    put_u32(out, 4, info.ssrc);
    put_u32(out, 8, (info.ntp_timestamp >> 32) as u32);
    put_u32(out, 12, info.ntp_timestamp as u32);
    put_u32(out, 16, info.rtp_timestamp);
    put_u32(out, 20, info.packet_count);
    put_u32(out, 24, info.octet_count);
    for (i, block) in blocks.iter().enumerate() {
        let at = 28 + i * REPORT_BLOCK_LEN;
        block.write(&mut out[at..at + REPORT_BLOCK_LEN]);
    }
    Ok(len)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rtcp::{Compound, RtcpPacket};

    fn block(ssrc: u32) -> ReportBlock {
        ReportBlock {
            ssrc,
            fraction_lost: 1,
            cumulative_lost: -3,
            jitter: 9,
            ..Default::default()
        }
    }

    #[test]
    fn round_trip() {
        let info = SenderInfo {
            ssrc: 0xDEAD_BEEF,
            ntp_timestamp: 0xE1A2_B3C4_8000_0000,
            rtp_timestamp: 123_456,
            packet_count: 10,
            octet_count: 10_000,
        };
        for n in [0usize, 1, 31] {
            let blocks: Vec<_> = (0..n as u32).map(block).collect();
            let mut buf = [0u8; 1024];
            let len = write_sender_report(&mut buf, &info, &blocks).unwrap();
            assert_eq!(len, 28 + 24 * n);
            let mut c = Compound::new(&buf[..len]);
            let Some(Ok(RtcpPacket::SenderReport(sr))) = c.next() else {
                panic!("not an SR")
            };
            assert_eq!(sr.info(), info);
            assert_eq!(sr.report_blocks().collect::<Vec<_>>(), blocks);
            assert!(c.next().is_none());
            assert!(matches!(
                write_sender_report(&mut buf[..len - 1], &info, &blocks),
                Err(BuildError::BufferTooSmall { .. })
            ));
        }
        let blocks = [block(1); 32];
        assert!(matches!(
            write_sender_report(&mut [0u8; 1024], &info, &blocks),
            Err(BuildError::TooMany { .. })
        ));
    }

    #[test]
    fn count_beyond_length_is_truncated() {
        // RC = 1 but no report block.
        let mut bytes = [0u8; 28];
        bytes[..4].copy_from_slice(&[0x81, 200, 0, 6]);
        assert_eq!(
            Compound::new(&bytes).next(),
            Some(Err(RtcpError::Truncated {
                packet_type: 200,
                needed: 48,
                len: 24
            }))
        );
    }
}
