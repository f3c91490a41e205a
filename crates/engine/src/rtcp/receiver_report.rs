//! [`ReceiverReport`]: the RR packet (RFC 3550 §6.4.2), PT 201: the reporter's SSRC, then RC report blocks.

use super::header::{need, put_u32, start_packet, u32_at};
use super::report_block::{REPORT_BLOCK_LEN, ReportBlock, ReportBlocks};
use super::{BuildError, PT_RR, RtcpError};

/// A receiver report.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReceiverReport<'a> {
    body: &'a [u8],
    count: u8,
}

impl<'a> ReceiverReport<'a> {
    pub(crate) fn parse(count: u8, body: &'a [u8]) -> Result<Self, RtcpError> {
        need(PT_RR, body, 4 + usize::from(count) * REPORT_BLOCK_LEN)?;
        Ok(Self { body, count })
    }

    /// SSRC of the packet's sender.
    pub fn ssrc(&self) -> u32 {
        u32_at(self.body, 0)
    }

    /// The reception report blocks.
    pub fn report_blocks(&self) -> ReportBlocks<'a> {
        ReportBlocks::new(&self.body[4..4 + usize::from(self.count) * REPORT_BLOCK_LEN])
    }
}

/// Writes an RR with up to 31 report blocks into `buf`; returns its length.
pub fn write_receiver_report(
    buf: &mut [u8],
    ssrc: u32,
    blocks: &[ReportBlock],
) -> Result<usize, BuildError> {
    if blocks.len() > 31 {
        return Err(BuildError::TooMany {
            what: "report blocks",
            count: blocks.len(),
            max: 31,
        });
    }
    let len = 8 + blocks.len() * REPORT_BLOCK_LEN;
    let out = start_packet(buf, len, blocks.len() as u8, PT_RR)?;
    put_u32(out, 4, ssrc);
    for (i, block) in blocks.iter().enumerate() {
        let at = 8 + i * REPORT_BLOCK_LEN;
        block.write(&mut out[at..at + REPORT_BLOCK_LEN]);
    }
    Ok(len)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rtcp::{Compound, RtcpPacket};

    /// RFC 3550 §6.4.2: an empty RR is the smallest valid (and compound-leading) RTCP packet.
    #[test]
    fn empty_receiver_report() {
        let bytes = [0x80, 201, 0x00, 0x01, 0x12, 0x34, 0x56, 0x78];
        let Some(Ok(RtcpPacket::ReceiverReport(rr))) = Compound::new(&bytes).next() else {
            panic!("not an RR")
        };
        assert_eq!(rr.ssrc(), 0x1234_5678);
        assert_eq!(rr.report_blocks().count(), 0);
        let mut buf = [0u8; 8];
        assert_eq!(write_receiver_report(&mut buf, 0x1234_5678, &[]), Ok(8));
        assert_eq!(buf, bytes);
    }

    #[test]
    fn round_trip() {
        let blocks = [
            ReportBlock {
                ssrc: 1,
                fraction_lost: 255,
                cumulative_lost: 100,
                ..Default::default()
            },
            ReportBlock {
                ssrc: 2,
                last_sr: 7,
                delay_since_last_sr: 8,
                ..Default::default()
            },
        ];
        let mut buf = [0u8; 64];
        let len = write_receiver_report(&mut buf, 99, &blocks).unwrap();
        assert_eq!(len, 56);
        let Some(Ok(RtcpPacket::ReceiverReport(rr))) = Compound::new(&buf[..len]).next() else {
            panic!("not an RR")
        };
        assert_eq!(rr.ssrc(), 99);
        assert_eq!(rr.report_blocks().collect::<Vec<_>>(), blocks);
    }
}
