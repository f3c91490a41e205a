//! [`Pli`]: picture loss indication (RFC 4585 §6.3.1), PT 206 FMT 1: the common feedback header only.

use super::header::{need, put_u32, start_packet, u32_at};
use super::{BuildError, PT_PSFB, RtcpError};

/// The feedback message type of PLI.
pub const FMT_PLI: u8 = 1;

/// A picture loss indication.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Pli {
    /// SSRC of the packet's sender.
    pub sender_ssrc: u32,
    /// SSRC of the media source that should send a keyframe.
    pub media_ssrc: u32,
}

impl Pli {
    /// Reads a PLI; an FCI (which PLI does not have) is ignored.
    pub(crate) fn parse(body: &[u8]) -> Result<Self, RtcpError> {
        need(PT_PSFB, body, 8)?;
        Ok(Self {
            sender_ssrc: u32_at(body, 0),
            media_ssrc: u32_at(body, 4),
        })
    }
}

/// Writes a PLI (12 bytes); returns its length.
pub fn write_pli(buf: &mut [u8], sender_ssrc: u32, media_ssrc: u32) -> Result<usize, BuildError> {
    let out = start_packet(buf, 12, FMT_PLI, PT_PSFB)?;
    put_u32(out, 4, sender_ssrc);
    put_u32(out, 8, media_ssrc);
    Ok(12)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rtcp::{Compound, RtcpPacket};

    #[test]
    fn hand_laid_and_round_trip() {
        let bytes = [0x81, 206, 0x00, 0x02, 0, 0, 0, 1, 0xAB, 0xCD, 0xEF, 0x01];
        let mut buf = [0u8; 12];
        assert_eq!(write_pli(&mut buf, 1, 0xABCD_EF01), Ok(12));
        assert_eq!(buf, bytes);
        assert_eq!(
            Compound::new(&bytes).next(),
            Some(Ok(RtcpPacket::Pli(Pli {
                sender_ssrc: 1,
                media_ssrc: 0xABCD_EF01
            })))
        );
        assert_eq!(
            write_pli(&mut [0u8; 11], 1, 2),
            Err(BuildError::BufferTooSmall {
                needed: 12,
                available: 11
            })
        );
    }
}
