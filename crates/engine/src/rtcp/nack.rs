//! [`Nack`]: the generic NACK (RFC 4585 §6.2.1), PT 205 FMT 1, and its compression from a list of lost
//! sequence numbers.
//!
//! ```text
//! |V=2|P|  FMT=1  |   PT=205      |          length               |
//! |                  SSRC of packet sender                        |
//! |                  SSRC of media source                         |
//! |            PID                |             BLP               |   FCI, one or more
//! ```
//! PID is a lost sequence number; bit `i` (least significant first) of BLP reports `PID + i + 1` lost.

use super::header::{need, put_u32, start_packet, u32_at};
use super::{BuildError, PT_RTPFB, RtcpError};

/// The feedback message type of the generic NACK.
pub const FMT_NACK: u8 = 1;

/// A generic NACK.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Nack<'a> {
    body: &'a [u8],
}

impl<'a> Nack<'a> {
    pub(crate) fn parse(body: &'a [u8]) -> Result<Self, RtcpError> {
        need(PT_RTPFB, body, 8)?;
        if body.len() < 12 {
            return Err(RtcpError::MissingFci {
                packet_type: PT_RTPFB,
                fmt: FMT_NACK,
            });
        }
        Ok(Self { body })
    }

    /// SSRC of the packet's sender.
    pub fn sender_ssrc(&self) -> u32 {
        u32_at(self.body, 0)
    }

    /// SSRC of the media source whose packets are lost.
    pub fn media_ssrc(&self) -> u32 {
        u32_at(self.body, 4)
    }

    /// The PID/BLP pairs.
    pub fn pairs(&self) -> NackPairs<'a> {
        NackPairs {
            bytes: &self.body[8..],
        }
    }

    /// Every sequence number reported lost, pair by pair.
    pub fn lost(&self) -> impl Iterator<Item = u16> + 'a {
        self.pairs().flat_map(NackPair::lost)
    }
}

/// One FCI entry of a generic NACK.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct NackPair {
    /// A lost packet's sequence number.
    pub pid: u16,
    /// Bitmask of the following 16 packets lost: bit `i` is `pid + i + 1`.
    pub blp: u16,
}

impl NackPair {
    /// The sequence numbers this pair reports lost, ascending (modulo 2^16).
    pub fn lost(self) -> NackPairLost {
        NackPairLost {
            pair: self,
            next: 0,
        }
    }
}

/// The sequence numbers one [`NackPair`] reports lost.
#[derive(Debug, Clone)]
pub struct NackPairLost {
    pair: NackPair,
    /// 0 for the PID, `i + 1` for BLP bit `i`, 17 when done.
    next: u8,
}

impl Iterator for NackPairLost {
    type Item = u16;

    fn next(&mut self) -> Option<u16> {
        if self.next == 0 {
            self.next = 1;
            return Some(self.pair.pid);
        }
        while self.next <= 16 {
            let i = self.next;
            self.next += 1;
            if self.pair.blp & (1 << (i - 1)) != 0 {
                return Some(self.pair.pid.wrapping_add(u16::from(i)));
            }
        }
        None
    }
}

/// The PID/BLP pairs of a NACK packet.
#[derive(Debug, Clone)]
pub struct NackPairs<'a> {
    bytes: &'a [u8],
}

impl Iterator for NackPairs<'_> {
    type Item = NackPair;

    fn next(&mut self) -> Option<NackPair> {
        let (&[a, b, c, d], rest) = self.bytes.split_first_chunk::<4>()?;
        self.bytes = rest;
        Some(NackPair {
            pid: u16::from_be_bytes([a, b]),
            blp: u16::from_be_bytes([c, d]),
        })
    }
}

/// Compresses lost sequence numbers into PID/BLP pairs, without allocating.
///
/// Each number within 16 after the current PID joins its BLP; any other starts a new pair. Every input
/// number is covered whatever the order; ascending input (modulo 2^16) gives the fewest pairs.
#[derive(Debug, Clone)]
pub struct NackPairsFromLost<'a> {
    lost: &'a [u16],
}

impl<'a> NackPairsFromLost<'a> {
    /// The pairs covering `lost`.
    pub fn new(lost: &'a [u16]) -> Self {
        Self { lost }
    }
}

impl Iterator for NackPairsFromLost<'_> {
    type Item = NackPair;

    fn next(&mut self) -> Option<NackPair> {
        let (&pid, mut rest) = self.lost.split_first()?;
        let mut blp = 0u16;
        while let Some((&seq, tail)) = rest.split_first() {
            match seq.wrapping_sub(pid) {
                0 => {}
                d @ 1..=16 => blp |= 1 << (d - 1),
                _ => break,
            }
            rest = tail;
        }
        self.lost = rest;
        Some(NackPair { pid, blp })
    }
}

/// Writes a generic NACK reporting `lost` (compressed into PID/BLP pairs); returns its length.
pub fn write_nack(
    buf: &mut [u8],
    sender_ssrc: u32,
    media_ssrc: u32,
    lost: &[u16],
) -> Result<usize, BuildError> {
    if lost.is_empty() {
        return Err(BuildError::Empty);
    }
    let pairs = NackPairsFromLost::new(lost).count();
    let len = 12 + 4 * pairs;
    let out = start_packet(buf, len, FMT_NACK, PT_RTPFB)?;
    put_u32(out, 4, sender_ssrc);
    put_u32(out, 8, media_ssrc);
    for (i, pair) in NackPairsFromLost::new(lost).enumerate() {
        let at = 12 + 4 * i;
        out[at..at + 2].copy_from_slice(&pair.pid.to_be_bytes());
        out[at + 2..at + 4].copy_from_slice(&pair.blp.to_be_bytes());
    }
    Ok(len)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::net::noise::XorShift;
    use crate::rtcp::{Compound, RtcpPacket};

    fn nack(bytes: &[u8]) -> Result<Nack<'_>, RtcpError> {
        match Compound::new(bytes).next() {
            Some(Ok(RtcpPacket::Nack(n))) => Ok(n),
            Some(Err(e)) => Err(e),
            other => panic!("not a NACK: {other:?}"),
        }
    }

    /// RFC 4585 §6.2.1: PID 100 with BLP 0x0005 reports 100, 101 (bit 0) and 103 (bit 2) lost.
    #[test]
    fn rfc4585_blp_expansion() {
        let pair = NackPair {
            pid: 100,
            blp: 0b101,
        };
        assert_eq!(pair.lost().collect::<Vec<_>>(), vec![100, 101, 103]);
        let all = NackPair {
            pid: 65530,
            blp: 0xFFFF,
        };
        let lost: Vec<u16> = all.lost().collect();
        assert_eq!(lost.len(), 17);
        assert_eq!(lost[..7], [65530, 65531, 65532, 65533, 65534, 65535, 0]);
        assert_eq!(*lost.last().unwrap(), 10);
    }

    #[test]
    fn compression() {
        let pairs: Vec<_> = NackPairsFromLost::new(&[100, 101, 103, 116, 118, 200]).collect();
        assert_eq!(
            pairs,
            vec![
                NackPair {
                    pid: 100,
                    blp: 0b1000_0000_0000_0101
                },
                NackPair { pid: 118, blp: 0 },
                NackPair { pid: 200, blp: 0 },
            ]
        );
        // Across the wrap, duplicates folded.
        let pairs: Vec<_> = NackPairsFromLost::new(&[65535, 65535, 0, 15]).collect();
        assert_eq!(
            pairs,
            vec![NackPair {
                pid: 65535,
                blp: 0b1000_0000_0000_0001
            }]
        );
    }

    #[test]
    fn hand_laid_packet() {
        let bytes = [
            0x81, 205, 0x00, 0x03, // FMT 1, 3 words
            0x00, 0x00, 0x00, 0x01, // sender
            0x00, 0x00, 0x00, 0x02, // media
            0x00, 0x64, 0x00, 0x05, // PID 100, BLP 0x0005
        ];
        let n = nack(&bytes).unwrap();
        assert_eq!((n.sender_ssrc(), n.media_ssrc()), (1, 2));
        assert_eq!(n.lost().collect::<Vec<_>>(), vec![100, 101, 103]);
        let mut buf = [0u8; 16];
        assert_eq!(write_nack(&mut buf, 1, 2, &[100, 101, 103]), Ok(16));
        assert_eq!(buf, bytes);
    }

    #[test]
    fn round_trip_random_sets() {
        let mut rng = XorShift::new(4585);
        let mut buf = [0u8; 2048];
        for _ in 0..500 {
            let start = rng.next_u64() as u16;
            let mut lost: Vec<u16> = Vec::new();
            let mut s = start;
            for _ in 0..1 + rng.below(100) {
                s = s.wrapping_add(1 + rng.below(20) as u16);
                lost.push(s);
            }
            let len = write_nack(&mut buf, 7, 8, &lost).unwrap();
            let got: Vec<u16> = nack(&buf[..len]).unwrap().lost().collect();
            assert_eq!(got, lost);
        }
    }

    #[test]
    fn errors() {
        assert_eq!(
            write_nack(&mut [0u8; 16], 1, 2, &[]),
            Err(BuildError::Empty)
        );
        assert!(matches!(
            write_nack(&mut [0u8; 15], 1, 2, &[1]),
            Err(BuildError::BufferTooSmall { .. })
        ));
        assert_eq!(
            nack(&[0x81, 205, 0, 2, 0, 0, 0, 1, 0, 0, 0, 2]),
            Err(RtcpError::MissingFci {
                packet_type: 205,
                fmt: 1
            })
        );
        assert_eq!(
            nack(&[0x81, 205, 0, 1, 0, 0, 0, 1]),
            Err(RtcpError::Truncated {
                packet_type: 205,
                needed: 8,
                len: 4
            })
        );
    }
}
