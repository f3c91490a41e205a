//! [`unwrap_rtx`]: turns a retransmission packet (RFC 4588 §4) back into the packet it repairs, in place.
//!
//! ```text
//! | RTP header (RTX SSRC, RTX PT, RTX sequence number, the original's timestamp, extensions) |
//! |  OSN (original sequence number, 16 bits)  |  original payload …  | padding (P bit)       |
//! ```
//! Unwrapping takes the OSN as the sequence number, writes the original payload type (the RTX codec's
//! `apt`) and the original SSRC (both known from signalling, RFC 4588 §8.6), and moves the rest of the
//! packet (payload and any padding) two bytes down, so the result is two bytes shorter. Header fields
//! other than these three (marker, timestamp, CSRCs, extensions) are the original's by RFC 4588 §4.
//!
//! Must not: allocate, or touch anything past the packet's bytes. A packet without the two OSN bytes (an
//! RTX padding-only packet, which senders use for bandwidth probing) is refused, not unwrapped.

use super::{RtpError, RtpPacket, RtpPacketMut};

/// Why an RTX packet was not unwrapped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum RtxError {
    /// Not a well-formed RTP packet.
    #[error("malformed rtx packet: {0}")]
    Malformed(#[from] RtpError),
    /// The payload is shorter than the 2-byte original sequence number (padding-only probe).
    #[error("rtx payload of {0} bytes has no original sequence number")]
    NoOriginalSequenceNumber(usize),
}

/// What [`unwrap_rtx`] made of the packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Unwrapped {
    /// Length of the original packet, now at the start of the buffer.
    pub len: usize,
    /// Its sequence number (the OSN).
    pub sequence_number: u16,
}

/// Unwraps the RTX packet in `buf` in place into the original with `payload_type` and `ssrc`.
pub fn unwrap_rtx(buf: &mut [u8], payload_type: u8, ssrc: u32) -> Result<Unwrapped, RtxError> {
    let packet = RtpPacket::parse(buf)?;
    let header_len = packet.header_len();
    let payload_len = packet.payload().len();
    if payload_len < 2 {
        return Err(RtxError::NoOriginalSequenceNumber(payload_len));
    }
    let osn = u16::from_be_bytes([buf[header_len], buf[header_len + 1]]);
    let len = buf.len();
    buf.copy_within(header_len + 2..len, header_len);
    let len = len - 2;
    let mut packet = RtpPacketMut::parse(&mut buf[..len])?;
    packet.set_sequence_number(osn);
    packet.set_payload_type(payload_type);
    packet.set_ssrc(ssrc);
    Ok(Unwrapped {
        len,
        sequence_number: osn,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::net::noise::XorShift;
    use crate::rtp::{ExtensionForm, RtpHeader, write_rtp};

    /// Builds a packet by hand (RFC 3550 §5.1 layout), independently of `write_rtp`.
    fn by_hand(pt: u8, seq: u16, ssrc: u32, payload: &[u8], padding: u8) -> Vec<u8> {
        let mut p = vec![0x80 | if padding > 0 { 0x20 } else { 0 }, 0x80 | pt];
        p.extend_from_slice(&seq.to_be_bytes());
        p.extend_from_slice(&0x0102_0304u32.to_be_bytes());
        p.extend_from_slice(&ssrc.to_be_bytes());
        p.extend_from_slice(payload);
        if padding > 0 {
            p.extend(std::iter::repeat_n(0, usize::from(padding) - 1));
            p.push(padding);
        }
        p
    }

    /// RFC 4588 §4: RTX (PT 97, SSRC 2, seq 7) carrying OSN 1000 of (PT 96, SSRC 1).
    #[test]
    fn rfc4588_layout() {
        let mut rtx = by_hand(97, 7, 2, &[0x03, 0xE8, 0xAA, 0xBB, 0xCC], 0);
        let original = by_hand(96, 1000, 1, &[0xAA, 0xBB, 0xCC], 0);
        let u = unwrap_rtx(&mut rtx, 96, 1).unwrap();
        assert_eq!(u.sequence_number, 1000);
        assert_eq!(&rtx[..u.len], &original[..]);
    }

    #[test]
    fn padding_follows_the_payload_down() {
        let mut rtx = by_hand(97, 7, 2, &[0, 5, 1, 2, 3], 4);
        let original = by_hand(96, 5, 1, &[1, 2, 3], 4);
        let u = unwrap_rtx(&mut rtx, 96, 1).unwrap();
        assert_eq!(&rtx[..u.len], &original[..]);
        let p = RtpPacket::parse(&rtx[..u.len]).unwrap();
        assert_eq!((p.payload(), p.padding_len()), (&[1u8, 2, 3][..], 4));
    }

    #[test]
    fn extensions_and_csrcs_are_kept() {
        let exts: &[(u8, &[u8])] = &[(1, b"m"), (3, b"r0"), (5, &[0x12, 0x34])];
        let header = |pt, seq, ssrc| RtpHeader {
            marker: true,
            payload_type: pt,
            sequence_number: seq,
            timestamp: 90_000,
            ssrc,
            csrcs: &[9, 8],
            extension_form: ExtensionForm::TwoByte,
            extensions: exts,
            padding: 0,
        };
        let mut rtx = [0u8; 200];
        let n = write_rtp(&mut rtx, &header(97, 1, 2), &[0xFF, 0xFF, 7, 7, 7]).unwrap();
        let mut original = [0u8; 200];
        let m = write_rtp(&mut original, &header(96, 65535, 1), &[7, 7, 7]).unwrap();
        let u = unwrap_rtx(&mut rtx[..n], 96, 1).unwrap();
        assert_eq!(u.len, m);
        assert_eq!(&rtx[..u.len], &original[..m]);
    }

    #[test]
    fn padding_only_probes_and_garbage_are_refused() {
        // RTX probe: no payload, 200 bytes of padding.
        let mut probe = by_hand(97, 7, 2, &[], 200);
        let before = probe.clone();
        assert_eq!(
            unwrap_rtx(&mut probe, 96, 1),
            Err(RtxError::NoOriginalSequenceNumber(0))
        );
        assert_eq!(probe, before, "untouched");
        let mut one = by_hand(97, 7, 2, &[1], 0);
        assert_eq!(
            unwrap_rtx(&mut one, 96, 1),
            Err(RtxError::NoOriginalSequenceNumber(1))
        );
        assert!(matches!(
            unwrap_rtx(&mut [0x80, 97, 0], 96, 1),
            Err(RtxError::Malformed(_))
        ));
    }

    #[test]
    fn noise_never_panics_and_results_parse() {
        let mut rng = XorShift::new(4588);
        let seed = by_hand(97, 7, 2, &[0, 9, 1, 2, 3, 4], 3);
        for _ in 0..20_000 {
            let mut bytes = seed.clone();
            rng.mutate(&mut bytes);
            let keep = bytes.len() - rng.below(4);
            bytes.truncate(keep);
            if let Ok(u) = unwrap_rtx(&mut bytes, 96, 1) {
                let p = RtpPacket::parse(&bytes[..u.len]).expect("unwrapped packet parses");
                assert_eq!(p.sequence_number(), u.sequence_number);
                assert_eq!((p.payload_type(), p.ssrc()), (96, 1));
            }
        }
    }
}
