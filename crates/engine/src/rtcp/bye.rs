//! [`Bye`]: goodbye (RFC 3550 §6.6), PT 203: SC sources, then an optional length-prefixed reason.

use super::header::{need, put_u32, start_packet};
use super::ssrcs::Ssrcs;
use super::{BuildError, PT_BYE, RtcpError};

/// A goodbye packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Bye<'a> {
    ssrcs: &'a [u8],
    reason: Option<&'a [u8]>,
}

impl<'a> Bye<'a> {
    pub(crate) fn parse(count: u8, body: &'a [u8]) -> Result<Self, RtcpError> {
        let list = 4 * usize::from(count);
        need(PT_BYE, body, list)?;
        let reason = match body.get(list) {
            None => None,
            // Nulls after the list are padding to the word boundary, not a reason.
            Some(0) => None,
            Some(&len) => {
                need(PT_BYE, body, list + 1 + usize::from(len))?;
                Some(&body[list + 1..list + 1 + usize::from(len)])
            }
        };
        Ok(Self {
            ssrcs: &body[..list],
            reason,
        })
    }

    /// The sources leaving.
    pub fn ssrcs(&self) -> Ssrcs<'a> {
        Ssrcs::new(self.ssrcs)
    }

    /// The reason for leaving, if given.
    pub fn reason(&self) -> Option<&'a [u8]> {
        self.reason
    }
}

/// Writes a BYE for up to 31 sources with an optional reason (at most 255 bytes); returns its length.
pub fn write_bye(
    buf: &mut [u8],
    ssrcs: &[u32],
    reason: Option<&[u8]>,
) -> Result<usize, BuildError> {
    if ssrcs.len() > 31 {
        return Err(BuildError::TooMany {
            what: "sources",
            count: ssrcs.len(),
            max: 31,
        });
    }
    let reason_len = match reason {
        Some(r) if r.len() > 255 => return Err(BuildError::TextTooLong(r.len())),
        Some(r) => (1 + r.len()).div_ceil(4) * 4,
        None => 0,
    };
    let len = 4 + 4 * ssrcs.len() + reason_len;
    let out = start_packet(buf, len, ssrcs.len() as u8, PT_BYE)?;
    for (i, &ssrc) in ssrcs.iter().enumerate() {
        put_u32(out, 4 + 4 * i, ssrc);
    }
    if let Some(r) = reason {
        let at = 4 + 4 * ssrcs.len();
        out[at] = r.len() as u8;
        out[at + 1..at + 1 + r.len()].copy_from_slice(r);
        out[at + 1 + r.len()..].fill(0);
    }
    Ok(len)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rtcp::{Compound, RtcpPacket};

    fn bye(bytes: &[u8]) -> Result<Bye<'_>, RtcpError> {
        match Compound::new(bytes).next() {
            Some(Ok(RtcpPacket::Bye(b))) => Ok(b),
            Some(Err(e)) => Err(e),
            other => panic!("not a BYE: {other:?}"),
        }
    }

    #[test]
    fn round_trip() {
        let mut buf = [0u8; 64];
        for reason in [None, Some(&b""[..]), Some(&b"bye"[..]), Some(&b"abcd"[..])] {
            let len = write_bye(&mut buf, &[1, 2], reason).unwrap();
            let b = bye(&buf[..len]).unwrap();
            assert_eq!(b.ssrcs().collect::<Vec<_>>(), vec![1, 2]);
            // An empty reason is written as a zero length: indistinguishable from padding, so absent.
            assert_eq!(b.reason(), reason.filter(|r| !r.is_empty()));
        }
        assert_eq!(write_bye(&mut buf, &[], None), Ok(4));
        assert!(matches!(
            write_bye(&mut buf, &[0; 32], None),
            Err(BuildError::TooMany { .. })
        ));
    }

    #[test]
    fn truncated() {
        assert_eq!(
            bye(&[0x82, 203, 0, 1, 0, 0, 0, 1]),
            Err(RtcpError::Truncated {
                packet_type: 203,
                needed: 8,
                len: 4
            })
        );
        assert_eq!(
            bye(&[0x81, 203, 0, 2, 0, 0, 0, 1, 9, b'a', b'b', b'c']),
            Err(RtcpError::Truncated {
                packet_type: 203,
                needed: 14,
                len: 8
            })
        );
    }
}
