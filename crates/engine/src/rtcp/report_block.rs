//! [`ReportBlock`]: one reception report block of an SR or RR (RFC 3550 §6.4.1), 24 bytes.
//!
//! ```text
//! | SSRC_n (source identifier)                                    |
//! | fraction lost |       cumulative number of packets lost       |
//! |           extended highest sequence number received           |
//! |                      interarrival jitter                      |
//! |                         last SR (LSR)                         |
//! |                   delay since last SR (DLSR)                  |
//! ```

use super::header::{put_u32, u32_at};

/// Size of one report block.
pub(crate) const REPORT_BLOCK_LEN: usize = 24;

/// One reception report block.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct ReportBlock {
    /// The source this block reports on.
    pub ssrc: u32,
    /// Fraction of packets lost since the previous report, in 1/256.
    pub fraction_lost: u8,
    /// Cumulative packets lost: a signed 24-bit value (duplicates can make it negative).
    pub cumulative_lost: i32,
    /// Extended highest sequence number received (cycles in the high 16 bits).
    pub extended_highest_seq: u32,
    /// Interarrival jitter, in timestamp units.
    pub jitter: u32,
    /// Middle 32 bits of the last SR's NTP timestamp (0 if none yet).
    pub last_sr: u32,
    /// Delay since the last SR, in 1/65536 s.
    pub delay_since_last_sr: u32,
}

impl ReportBlock {
    /// Reads a block from 24 bytes.
    pub(crate) fn read(b: &[u8]) -> Self {
        // Sign-extend the 24-bit count by placing it in the high bytes and shifting back.
        let lost = i32::from_be_bytes([b[5], b[6], b[7], 0]) >> 8;
        Self {
            ssrc: u32_at(b, 0),
            fraction_lost: b[4],
            cumulative_lost: lost,
            extended_highest_seq: u32_at(b, 8),
            jitter: u32_at(b, 12),
            last_sr: u32_at(b, 16),
            delay_since_last_sr: u32_at(b, 20),
        }
    }

    /// Writes the block into 24 bytes; the cumulative count is clamped to 24-bit signed range.
    pub(crate) fn write(&self, out: &mut [u8]) {
        put_u32(out, 0, self.ssrc);
        let lost = self
            .cumulative_lost
            .clamp(-0x80_0000, 0x7F_FFFF)
            .to_be_bytes();
        out[4] = self.fraction_lost;
        out[5..8].copy_from_slice(&lost[1..]);
        put_u32(out, 8, self.extended_highest_seq);
        put_u32(out, 12, self.jitter);
        put_u32(out, 16, self.last_sr);
        put_u32(out, 20, self.delay_since_last_sr);
    }
}

/// The report blocks of an SR or RR.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReportBlocks<'a> {
    bytes: &'a [u8],
}

impl<'a> ReportBlocks<'a> {
    /// The blocks in `bytes`, a multiple of 24 bytes.
    pub(crate) fn new(bytes: &'a [u8]) -> Self {
        Self { bytes }
    }
}

impl Iterator for ReportBlocks<'_> {
    type Item = ReportBlock;

    fn next(&mut self) -> Option<ReportBlock> {
        if self.bytes.len() < REPORT_BLOCK_LEN {
            return None;
        }
        let (block, rest) = self.bytes.split_at(REPORT_BLOCK_LEN);
        self.bytes = rest;
        Some(ReportBlock::read(block))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let n = self.bytes.len() / REPORT_BLOCK_LEN;
        (n, Some(n))
    }
}

impl ExactSizeIterator for ReportBlocks<'_> {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_sign() {
        for lost in [0, 1, -1, 0x7F_FFFF, -0x80_0000] {
            let block = ReportBlock {
                ssrc: 0x0102_0304,
                fraction_lost: 0x40,
                cumulative_lost: lost,
                extended_highest_seq: 0x0001_FFFF,
                jitter: 17,
                last_sr: 0xB705_2030,
                delay_since_last_sr: 0x0005_4000,
            };
            let mut b = [0u8; 24];
            block.write(&mut b);
            assert_eq!(ReportBlock::read(&b), block);
        }
        let mut b = [0u8; 24];
        ReportBlock {
            cumulative_lost: i32::MAX,
            ..Default::default()
        }
        .write(&mut b);
        assert_eq!(&b[5..8], &[0x7F, 0xFF, 0xFF]);
        b[5..8].copy_from_slice(&[0xFF, 0xFF, 0xFE]);
        assert_eq!(ReportBlock::read(&b).cumulative_lost, -2);
    }
}
