//! [`Sdes`]: source description (RFC 3550 §6.5), PT 202, and its CNAME item (§6.5.1).
//!
//! ```text
//! |V=2|P|    SC   |  PT=SDES=202  |             length            |
//! |                          SSRC/CSRC_1                          |   chunk 1
//! |   type (1-8)  |     length    |  text (length bytes) ...      |   items…
//! |   0 (end)     |  0 padding to the next 32-bit boundary        |
//! |                          SSRC/CSRC_2 ...                      |   chunk 2
//! ```
//! Every chunk must end with at least one null octet, padded with nulls to a 32-bit boundary.

use std::ops::Range;

use super::header::{put_u32, start_packet, u32_at};
use super::{BuildError, PT_SDES, RtcpError};

/// SDES item type of the canonical name.
pub const SDES_CNAME: u8 = 1;

/// Reads the chunk at `*pos`: its SSRC and the range of its items (terminator excluded); moves `*pos` to
/// the next chunk. `Err(offset)` where the chunk is malformed.
fn next_chunk(body: &[u8], pos: &mut usize) -> Result<(u32, Range<usize>), usize> {
    let start = *pos;
    if start + 4 > body.len() {
        return Err(start);
    }
    let ssrc = u32_at(body, start);
    let items_start = start + 4;
    let mut at = items_start;
    loop {
        match body.get(at) {
            None => return Err(at),
            Some(0) => break,
            Some(_) => {
                let Some(&len) = body.get(at + 1) else {
                    return Err(at);
                };
                let end = at + 2 + usize::from(len);
                if end > body.len() {
                    return Err(at);
                }
                at = end;
            }
        }
    }
    // The terminator, then nulls up to the next 32-bit boundary; the body is 32-bit aligned itself. A
    // padded-away final boundary (body shortened by the P bit) is tolerated.
    let next = ((at + 1).div_ceil(4) * 4).min(body.len());
    *pos = next;
    Ok((ssrc, items_start..at))
}

/// A source description packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sdes<'a> {
    body: &'a [u8],
    count: u8,
}

impl<'a> Sdes<'a> {
    pub(crate) fn parse(count: u8, body: &'a [u8]) -> Result<Self, RtcpError> {
        let mut pos = 0;
        for _ in 0..count {
            next_chunk(body, &mut pos).map_err(|offset| RtcpError::MalformedSdes { offset })?;
        }
        Ok(Self { body, count })
    }

    /// The chunks, one per source.
    pub fn chunks(&self) -> SdesChunks<'a> {
        SdesChunks {
            body: self.body,
            pos: 0,
            left: self.count,
        }
    }
}

/// The chunks of an SDES packet.
#[derive(Debug, Clone)]
pub struct SdesChunks<'a> {
    body: &'a [u8],
    pos: usize,
    left: u8,
}

impl<'a> Iterator for SdesChunks<'a> {
    type Item = SdesChunk<'a>;

    fn next(&mut self) -> Option<SdesChunk<'a>> {
        if self.left == 0 {
            return None;
        }
        self.left -= 1;
        let (ssrc, items) = next_chunk(self.body, &mut self.pos).ok()?;
        Some(SdesChunk {
            ssrc,
            items: &self.body[items],
        })
    }
}

/// One SDES chunk: a source and its items.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SdesChunk<'a> {
    /// The SSRC or CSRC described.
    pub ssrc: u32,
    items: &'a [u8],
}

impl<'a> SdesChunk<'a> {
    /// The items, as `(type, text)`.
    pub fn items(&self) -> SdesItems<'a> {
        SdesItems { bytes: self.items }
    }

    /// The CNAME item's text, if present.
    pub fn cname(&self) -> Option<&'a [u8]> {
        self.items()
            .find(|&(t, _)| t == SDES_CNAME)
            .map(|(_, text)| text)
    }

    /// The CNAME as UTF-8 text, if present and valid.
    pub fn cname_str(&self) -> Option<&'a str> {
        self.cname().and_then(|c| std::str::from_utf8(c).ok())
    }
}

/// The items of an SDES chunk.
#[derive(Debug, Clone)]
pub struct SdesItems<'a> {
    bytes: &'a [u8],
}

impl<'a> Iterator for SdesItems<'a> {
    type Item = (u8, &'a [u8]);

    fn next(&mut self) -> Option<Self::Item> {
        let (&[item_type, len], rest) = self.bytes.split_first_chunk::<2>()?;
        let text = rest.get(..usize::from(len))?;
        self.bytes = &rest[usize::from(len)..];
        Some((item_type, text))
    }
}

/// Writes an SDES packet with one chunk carrying a CNAME (at most 255 bytes); returns its length.
pub fn write_sdes_cname(buf: &mut [u8], ssrc: u32, cname: &[u8]) -> Result<usize, BuildError> {
    if cname.len() > 255 {
        return Err(BuildError::TextTooLong(cname.len()));
    }
    let chunk_len = (4 + 2 + cname.len() + 1).div_ceil(4) * 4;
    let len = 4 + chunk_len;
    let out = start_packet(buf, len, 1, PT_SDES)?;
    put_u32(out, 4, ssrc);
    out[8] = SDES_CNAME;
    out[9] = cname.len() as u8;
    out[10..10 + cname.len()].copy_from_slice(cname);
    out[10 + cname.len()..].fill(0);
    Ok(len)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rtcp::{Compound, RtcpPacket};

    fn sdes(bytes: &[u8]) -> Result<Sdes<'_>, RtcpError> {
        match Compound::new(bytes).next() {
            Some(Ok(RtcpPacket::Sdes(s))) => Ok(s),
            Some(Err(e)) => Err(e),
            other => panic!("not an SDES: {other:?}"),
        }
    }

    #[test]
    fn cname_round_trip_all_lengths() {
        for n in 0..=255usize {
            let cname: Vec<u8> = (0..n).map(|i| b'a' + (i % 26) as u8).collect();
            let mut buf = [0u8; 300];
            let len = write_sdes_cname(&mut buf, 0xCAFE, &cname).unwrap();
            assert_eq!(len % 4, 0);
            let s = sdes(&buf[..len]).unwrap();
            let chunks: Vec<_> = s.chunks().collect();
            assert_eq!(chunks.len(), 1);
            assert_eq!(chunks[0].ssrc, 0xCAFE);
            assert_eq!(chunks[0].cname(), Some(&cname[..]));
        }
        assert_eq!(
            write_sdes_cname(&mut [0u8; 300], 1, &[b'x'; 256]),
            Err(BuildError::TextTooLong(256))
        );
    }

    #[test]
    fn two_chunks_with_several_items() {
        let mut v = vec![0x82, 202, 0, 0];
        v.extend_from_slice(&[0, 0, 0, 1, 0x02, 0x01, b'n', 0x01, 0x02, b'c', b'1', 0x00]);
        v.extend_from_slice(&[0, 0, 0, 2, 0x01, 0x03, b'c', b'2', b'2', 0x00, 0x00, 0x00]);
        let words = (v.len() / 4 - 1) as u16;
        v[2..4].copy_from_slice(&words.to_be_bytes());
        let s = sdes(&v).unwrap();
        let chunks: Vec<_> = s.chunks().collect();
        assert_eq!(chunks.len(), 2);
        assert_eq!(
            chunks[0].items().collect::<Vec<_>>(),
            vec![(2, &b"n"[..]), (1, &b"c1"[..])]
        );
        assert_eq!(chunks[0].cname_str(), Some("c1"));
        assert_eq!(chunks[1].ssrc, 2);
        assert_eq!(chunks[1].cname_str(), Some("c22"));
    }

    #[test]
    fn malformed() {
        // Item length past the body.
        let bytes = [0x81, 202, 0, 2, 0, 0, 0, 1, 0x01, 0x09, b'x', 0x00];
        assert_eq!(sdes(&bytes), Err(RtcpError::MalformedSdes { offset: 4 }));
        // No null terminator.
        let bytes = [0x81, 202, 0, 2, 0, 0, 0, 1, 0x01, 0x02, b'x', b'y'];
        assert_eq!(sdes(&bytes), Err(RtcpError::MalformedSdes { offset: 8 }));
        // SC = 2 but one chunk.
        let bytes = [0x82, 202, 0, 2, 0, 0, 0, 1, 0x01, 0x01, b'x', 0x00];
        assert_eq!(sdes(&bytes), Err(RtcpError::MalformedSdes { offset: 8 }));
        // Empty SDES is valid.
        assert_eq!(sdes(&[0x80, 202, 0, 0]).unwrap().chunks().count(), 0);
    }
}
