//! The RTCP common header (RFC 3550 §6.4.1): `|V=2|P|count|PT|length|`, length in 32-bit words minus one;
//! and the byte helpers the packet views share.

use super::{BuildError, RtcpError};

/// Size of the common header.
pub(crate) const HEADER_LEN: usize = 4;

/// One framed packet: its header fields and its body (after the header, padding excluded).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Framed<'a> {
    pub(crate) count: u8,
    pub(crate) packet_type: u8,
    pub(crate) body: &'a [u8],
}

/// Frames the packet at the start of `bytes`; returns it and the bytes after it.
pub(crate) fn frame(bytes: &[u8]) -> Result<(Framed<'_>, &[u8]), RtcpError> {
    let Some(&[b0, packet_type, l0, l1]) = bytes.first_chunk::<4>() else {
        return Err(RtcpError::TooShort { len: bytes.len() });
    };
    if b0 >> 6 != 2 {
        return Err(RtcpError::Version(b0 >> 6));
    }
    let declared = (usize::from(u16::from_be_bytes([l0, l1])) + 1) * 4;
    if declared > bytes.len() {
        return Err(RtcpError::LengthOverflow {
            declared,
            available: bytes.len(),
        });
    }
    let (packet, rest) = bytes.split_at(declared);
    let mut body = &packet[HEADER_LEN..];
    if b0 & 0x20 != 0 {
        let padding = packet[declared - 1];
        if padding == 0 || usize::from(padding) > body.len() {
            return Err(RtcpError::Padding {
                padding,
                body: body.len(),
            });
        }
        body = &body[..body.len() - usize::from(padding)];
    }
    Ok((
        Framed {
            count: b0 & 0x1f,
            packet_type,
            body,
        },
        rest,
    ))
}

/// The big-endian `u32` at `at` (callers have checked the length).
pub(crate) fn u32_at(bytes: &[u8], at: usize) -> u32 {
    u32::from_be_bytes([bytes[at], bytes[at + 1], bytes[at + 2], bytes[at + 3]])
}

/// Fails unless `body` has at least `needed` bytes.
pub(crate) fn need(packet_type: u8, body: &[u8], needed: usize) -> Result<(), RtcpError> {
    if body.len() < needed {
        return Err(RtcpError::Truncated {
            packet_type,
            needed,
            len: body.len(),
        });
    }
    Ok(())
}

/// Checks that a packet of `len` bytes (a multiple of 4) fits `buf` and its length field, and returns the
/// part of `buf` it is written into, its common header already written.
pub(crate) fn start_packet(
    buf: &mut [u8],
    len: usize,
    count: u8,
    packet_type: u8,
) -> Result<&mut [u8], BuildError> {
    debug_assert!(len % 4 == 0 && len >= HEADER_LEN);
    let words = len / 4 - 1;
    if words > usize::from(u16::MAX) {
        return Err(BuildError::TooMany {
            what: "bytes",
            count: len,
            max: (usize::from(u16::MAX) + 1) * 4,
        });
    }
    if len > buf.len() {
        return Err(BuildError::BufferTooSmall {
            needed: len,
            available: buf.len(),
        });
    }
    let out = &mut buf[..len];
    out[0] = 0x80 | (count & 0x1f);
    out[1] = packet_type;
    out[2..4].copy_from_slice(&(words as u16).to_be_bytes());
    Ok(out)
}

/// Writes a big-endian `u32` at `at`.
pub(crate) fn put_u32(out: &mut [u8], at: usize, v: u32) {
    out[at..at + 4].copy_from_slice(&v.to_be_bytes());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_with_padding() {
        // RR with 4 bytes of padding: length 2 words after the header.
        let bytes = [
            0xA0, 201, 0x00, 0x02, 0x11, 0x22, 0x33, 0x44, 0x00, 0x00, 0x00, 0x04, 0xFF,
        ];
        let (f, rest) = frame(&bytes).unwrap();
        assert_eq!((f.count, f.packet_type), (0, 201));
        assert_eq!(f.body, &[0x11, 0x22, 0x33, 0x44]);
        assert_eq!(rest, &[0xFF]);
    }

    #[test]
    fn framing_errors() {
        assert_eq!(frame(&[0x80, 201, 0]), Err(RtcpError::TooShort { len: 3 }));
        assert_eq!(frame(&[0x40, 201, 0, 0]), Err(RtcpError::Version(1)));
        assert_eq!(
            frame(&[0x80, 201, 0, 1, 0, 0, 0]),
            Err(RtcpError::LengthOverflow {
                declared: 8,
                available: 7
            })
        );
        assert_eq!(
            frame(&[0xA0, 201, 0, 1, 0, 0, 0, 0]),
            Err(RtcpError::Padding {
                padding: 0,
                body: 4
            })
        );
        assert_eq!(
            frame(&[0xA0, 201, 0, 1, 0, 0, 0, 5]),
            Err(RtcpError::Padding {
                padding: 5,
                body: 4
            })
        );
    }
}
