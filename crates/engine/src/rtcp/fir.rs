//! [`Fir`]: full intra request (RFC 5104 §4.3.1), PT 206 FMT 4.
//!
//! ```text
//! |V=2|P|  FMT=4  |   PT=206      |          length               |
//! |                  SSRC of packet sender                        |
//! |             SSRC of media source (unused, 0)                  |
//! |                              SSRC                             |   FCI, one or more
//! | Seq nr.       |    Reserved                                   |
//! ```

use super::header::{need, put_u32, start_packet, u32_at};
use super::{BuildError, PT_PSFB, RtcpError};

/// The feedback message type of FIR.
pub const FMT_FIR: u8 = 4;

/// A full intra request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Fir<'a> {
    body: &'a [u8],
}

impl<'a> Fir<'a> {
    pub(crate) fn parse(body: &'a [u8]) -> Result<Self, RtcpError> {
        need(PT_PSFB, body, 8)?;
        if body.len() < 16 {
            return Err(RtcpError::MissingFci {
                packet_type: PT_PSFB,
                fmt: FMT_FIR,
            });
        }
        Ok(Self { body })
    }

    /// SSRC of the packet's sender.
    pub fn sender_ssrc(&self) -> u32 {
        u32_at(self.body, 0)
    }

    /// The requests: which media sender should send a decoder refresh point, with its command sequence
    /// number.
    pub fn entries(&self) -> FirEntries<'a> {
        FirEntries {
            bytes: &self.body[8..],
        }
    }
}

/// One FIR request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct FirEntry {
    /// SSRC of the media sender asked for a decoder refresh point.
    pub ssrc: u32,
    /// Command sequence number: a repeated request keeps it, a new one increments it.
    pub seq_nr: u8,
}

/// The requests of a FIR.
#[derive(Debug, Clone)]
pub struct FirEntries<'a> {
    bytes: &'a [u8],
}

impl Iterator for FirEntries<'_> {
    type Item = FirEntry;

    fn next(&mut self) -> Option<FirEntry> {
        let (entry, rest) = self.bytes.split_first_chunk::<8>()?;
        self.bytes = rest;
        Some(FirEntry {
            ssrc: u32_at(entry, 0),
            seq_nr: entry[4],
        })
    }
}

/// Writes a FIR with one or more requests; returns its length.
pub fn write_fir(
    buf: &mut [u8],
    sender_ssrc: u32,
    entries: &[FirEntry],
) -> Result<usize, BuildError> {
    if entries.is_empty() {
        return Err(BuildError::Empty);
    }
    let len = 12 + 8 * entries.len();
    let out = start_packet(buf, len, FMT_FIR, PT_PSFB)?;
    put_u32(out, 4, sender_ssrc);
    put_u32(out, 8, 0);
    for (i, e) in entries.iter().enumerate() {
        let at = 12 + 8 * i;
        put_u32(out, at, e.ssrc);
        out[at + 4] = e.seq_nr;
        out[at + 5..at + 8].fill(0);
    }
    Ok(len)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rtcp::{Compound, RtcpPacket};

    fn fir(bytes: &[u8]) -> Result<Fir<'_>, RtcpError> {
        match Compound::new(bytes).next() {
            Some(Ok(RtcpPacket::Fir(f))) => Ok(f),
            Some(Err(e)) => Err(e),
            other => panic!("not a FIR: {other:?}"),
        }
    }

    #[test]
    fn hand_laid_and_round_trip() {
        let bytes = [
            0x84, 206, 0x00, 0x04, // FMT 4, 4 words
            0x00, 0x00, 0x00, 0x01, // sender
            0x00, 0x00, 0x00, 0x00, // media source: unused
            0x12, 0x34, 0x56, 0x78, 0x2A, 0x00, 0x00, 0x00, // SSRC, seq nr 42
        ];
        let f = fir(&bytes).unwrap();
        assert_eq!(f.sender_ssrc(), 1);
        assert_eq!(
            f.entries().collect::<Vec<_>>(),
            vec![FirEntry {
                ssrc: 0x1234_5678,
                seq_nr: 42
            }]
        );
        let mut buf = [0u8; 20];
        assert_eq!(
            write_fir(
                &mut buf,
                1,
                &[FirEntry {
                    ssrc: 0x1234_5678,
                    seq_nr: 42
                }]
            ),
            Ok(20)
        );
        assert_eq!(buf, bytes);

        let many = [
            FirEntry { ssrc: 1, seq_nr: 1 },
            FirEntry {
                ssrc: 2,
                seq_nr: 255,
            },
        ];
        let mut buf = [0u8; 64];
        let len = write_fir(&mut buf, 9, &many).unwrap();
        assert_eq!(
            fir(&buf[..len]).unwrap().entries().collect::<Vec<_>>(),
            many
        );
    }

    #[test]
    fn errors() {
        assert_eq!(write_fir(&mut [0u8; 64], 1, &[]), Err(BuildError::Empty));
        assert_eq!(
            fir(&[0x84, 206, 0, 2, 0, 0, 0, 1, 0, 0, 0, 0]),
            Err(RtcpError::MissingFci {
                packet_type: 206,
                fmt: 4
            })
        );
    }
}
