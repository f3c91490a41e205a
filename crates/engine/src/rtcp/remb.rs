//! [`Remb`]: receiver estimated maximum bitrate (draft-alvestrand-rmcat-remb-03 §2.2), an application
//! layer feedback message: PT 206 FMT 15 whose FCI starts with the unique identifier "REMB".
//!
//! ```text
//! |V=2|P| FMT=15  |   PT=206      |             length            |
//! |                  SSRC of packet sender                        |
//! |                  SSRC of media source (0)                     |
//! |  Unique identifier 'R' 'E' 'M' 'B'                            |
//! |  Num SSRC     | BR Exp    |  BR Mantissa (18 bits)            |
//! |   SSRC feedback (Num SSRC times)                              |
//! ```
//! The bitrate is `mantissa << exp` bits per second.

use super::header::{need, put_u32, start_packet, u32_at};
use super::ssrcs::Ssrcs;
use super::{BuildError, PT_PSFB, RtcpError};

/// The feedback message type of application layer feedback.
pub const FMT_AFB: u8 = 15;
/// REMB's unique identifier.
const REMB_ID: &[u8; 4] = b"REMB";

/// A receiver estimated maximum bitrate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Remb<'a> {
    body: &'a [u8],
}

impl<'a> Remb<'a> {
    /// Whether an application layer feedback body carries REMB.
    pub(crate) fn is_remb(body: &[u8]) -> bool {
        body.get(8..12) == Some(REMB_ID)
    }

    pub(crate) fn parse(body: &'a [u8]) -> Result<Self, RtcpError> {
        need(PT_PSFB, body, 16)?;
        need(PT_PSFB, body, 16 + 4 * usize::from(body[12]))?;
        Ok(Self { body })
    }

    /// SSRC of the packet's sender.
    pub fn sender_ssrc(&self) -> u32 {
        u32_at(self.body, 0)
    }

    /// The estimated maximum bitrate, in bits per second (saturating at `u64::MAX`).
    pub fn bitrate(&self) -> u64 {
        let exp = u32::from(self.body[13] >> 2);
        let mantissa = u64::from(u32::from_be_bytes([
            0,
            self.body[13] & 0x03,
            self.body[14],
            self.body[15],
        ]));
        if mantissa == 0 {
            0
        } else if exp > mantissa.leading_zeros() {
            u64::MAX
        } else {
            mantissa << exp
        }
    }

    /// The media sources the estimate applies to.
    pub fn ssrcs(&self) -> Ssrcs<'a> {
        Ssrcs::new(&self.body[16..16 + 4 * usize::from(self.body[12])])
    }
}

/// The exponent and 18-bit mantissa closest below `bitrate`.
fn encode_bitrate(bitrate: u64) -> (u8, u32) {
    let mut exp = 0u8;
    while bitrate >> exp > 0x3_FFFF {
        exp += 1;
    }
    (exp, (bitrate >> exp) as u32)
}

/// Writes a REMB for up to 255 media sources; returns its length. The bitrate is rounded down to an
/// 18-bit mantissa.
pub fn write_remb(
    buf: &mut [u8],
    sender_ssrc: u32,
    bitrate: u64,
    ssrcs: &[u32],
) -> Result<usize, BuildError> {
    if ssrcs.len() > 255 {
        return Err(BuildError::TooMany {
            what: "ssrcs",
            count: ssrcs.len(),
            max: 255,
        });
    }
    let len = 20 + 4 * ssrcs.len();
    let out = start_packet(buf, len, FMT_AFB, PT_PSFB)?;
    put_u32(out, 4, sender_ssrc);
    put_u32(out, 8, 0);
    out[12..16].copy_from_slice(REMB_ID);
    let (exp, mantissa) = encode_bitrate(bitrate);
    out[16] = ssrcs.len() as u8;
    out[17] = (exp << 2) | (mantissa >> 16) as u8;
    out[18..20].copy_from_slice(&(mantissa as u16).to_be_bytes());
    for (i, &ssrc) in ssrcs.iter().enumerate() {
        put_u32(out, 20 + 4 * i, ssrc);
    }
    Ok(len)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rtcp::{Compound, RtcpPacket};

    fn remb(bytes: &[u8]) -> Result<Remb<'_>, RtcpError> {
        match Compound::new(bytes).next() {
            Some(Ok(RtcpPacket::Remb(r))) => Ok(r),
            Some(Err(e)) => Err(e),
            other => panic!("not a REMB: {other:?}"),
        }
    }

    /// Layout of the draft's §2.2: one SSRC, exp 3, mantissa 0x3E8 = 8 000 bit/s.
    #[test]
    fn hand_laid() {
        let bytes = [
            0x8F, 206, 0x00, 0x05, // FMT 15, 5 words
            0x00, 0x00, 0x00, 0x01, // sender
            0x00, 0x00, 0x00, 0x00, // media source
            b'R', b'E', b'M', b'B', //
            0x01, 0x0C, 0x03, 0xE8, // 1 SSRC, exp 3, mantissa 1000
            0x11, 0x22, 0x33, 0x44, // SSRC
        ];
        let r = remb(&bytes).unwrap();
        assert_eq!(r.sender_ssrc(), 1);
        assert_eq!(r.bitrate(), 8000);
        assert_eq!(r.ssrcs().collect::<Vec<_>>(), vec![0x1122_3344]);
    }

    #[test]
    fn round_trip() {
        let mut buf = [0u8; 64];
        for bitrate in [0u64, 1, 0x3_FFFF, 0x4_0000, 1_500_000, 30_000_000, u64::MAX] {
            let len = write_remb(&mut buf, 5, bitrate, &[1, 2, 3]).unwrap();
            let r = remb(&buf[..len]).unwrap();
            let got = r.bitrate();
            assert!(
                got <= bitrate && got >= bitrate - (bitrate >> 17),
                "{bitrate} -> {got}"
            );
            assert_eq!(r.ssrcs().collect::<Vec<_>>(), vec![1, 2, 3]);
        }
    }

    #[test]
    fn saturates_and_truncation() {
        // exp 63, full mantissa.
        let mut bytes = [
            0x8F, 206, 0, 4, 0, 0, 0, 1, 0, 0, 0, 0, b'R', b'E', b'M', b'B', 0, 0xFF, 0xFF, 0xFF,
        ];
        assert_eq!(remb(&bytes).unwrap().bitrate(), u64::MAX);
        bytes[16] = 1; // announces one SSRC that is not there
        assert_eq!(
            remb(&bytes),
            Err(RtcpError::Truncated {
                packet_type: 206,
                needed: 20,
                len: 16
            })
        );
    }

    #[test]
    fn other_afb_is_not_remb() {
        let bytes = [
            0x8F, 206, 0, 3, 0, 0, 0, 1, 0, 0, 0, 0, b'G', b'O', b'O', b'G',
        ];
        assert!(matches!(
            Compound::new(&bytes).next(),
            Some(Ok(RtcpPacket::Other {
                packet_type: 206,
                count: 15,
                ..
            }))
        ));
    }
}
