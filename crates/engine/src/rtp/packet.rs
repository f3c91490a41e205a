//! [`RtpPacket`]: the read-only view over one RTP packet (RFC 3550 §5.1).

use super::extensions::{ExtensionForm, Extensions, find_extension, validate_extensions};
use super::{FIXED_HEADER_LEN, RTP_VERSION, RtpError, ext};

/// Where the parts of a validated packet start and end; shared by the read-only and mutable views.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Layout {
    /// The extension block (after the 4-byte extension header), if the X bit is set.
    pub(crate) extension: Option<ExtensionBlock>,
    /// End of the header: fixed header, CSRCs and extension.
    pub(crate) header_len: usize,
    /// End of the payload, where padding starts.
    pub(crate) payload_end: usize,
}

/// The header extension block: its profile and byte range.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ExtensionBlock {
    /// The 16-bit "defined by profile" field.
    pub(crate) profile: u16,
    /// First byte of the extension data.
    pub(crate) start: usize,
    /// One past the last byte of the extension data.
    pub(crate) end: usize,
}

impl Layout {
    /// Validates `buf` as an RTP packet and records its layout.
    pub(crate) fn parse(buf: &[u8]) -> Result<Self, RtpError> {
        let len = buf.len();
        if len < FIXED_HEADER_LEN {
            return Err(RtpError::TooShort { len });
        }
        let version = buf[0] >> 6;
        if version != RTP_VERSION {
            return Err(RtpError::Version(version));
        }
        let count = buf[0] & 0x0f;
        let mut header_len = FIXED_HEADER_LEN + 4 * usize::from(count);
        if header_len > len {
            return Err(RtpError::CsrcsTruncated { count, len });
        }
        let mut extension = None;
        if buf[0] & 0x10 != 0 {
            if header_len + 4 > len {
                return Err(RtpError::ExtensionHeaderTruncated { len });
            }
            let profile = u16::from_be_bytes([buf[header_len], buf[header_len + 1]]);
            let declared = 4 * usize::from(u16::from_be_bytes([
                buf[header_len + 2],
                buf[header_len + 3],
            ]));
            let start = header_len + 4;
            let available = len - start;
            if declared > available {
                return Err(RtpError::ExtensionTruncated {
                    declared,
                    available,
                });
            }
            let block = ExtensionBlock {
                profile,
                start,
                end: start + declared,
            };
            if let Some(form) = ExtensionForm::from_profile(profile) {
                validate_extensions(form, &buf[block.start..block.end])?;
            }
            extension = Some(block);
            header_len = block.end;
        }
        let mut payload_end = len;
        if buf[0] & 0x20 != 0 {
            let padding = buf[len - 1];
            let available = len - header_len;
            if padding == 0 {
                return Err(RtpError::ZeroPadding);
            }
            if usize::from(padding) > available {
                return Err(RtpError::PaddingOverflow { padding, available });
            }
            payload_end = len - usize::from(padding);
        }
        Ok(Self {
            extension,
            header_len,
            payload_end,
        })
    }

    /// The RFC 8285 form of the extension block, if there is one in a known form.
    pub(crate) fn extension_form(&self) -> Option<ExtensionForm> {
        self.extension
            .and_then(|e| ExtensionForm::from_profile(e.profile))
    }
}

/// A validated, zero-copy view over the bytes of one RTP packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RtpPacket<'a> {
    buf: &'a [u8],
    layout: Layout,
}

impl<'a> RtpPacket<'a> {
    /// Validates `buf` as an RTP packet: version 2, CSRC list, extension block and its RFC 8285
    /// elements, and padding within the bytes after the header.
    pub fn parse(buf: &'a [u8]) -> Result<Self, RtpError> {
        Ok(Self {
            buf,
            layout: Layout::parse(buf)?,
        })
    }

    pub(crate) fn from_parts(buf: &'a [u8], layout: Layout) -> Self {
        Self { buf, layout }
    }

    /// The whole packet.
    pub fn as_bytes(&self) -> &'a [u8] {
        self.buf
    }

    /// The marker bit.
    pub fn marker(&self) -> bool {
        self.buf[1] & 0x80 != 0
    }

    /// The 7-bit payload type.
    pub fn payload_type(&self) -> u8 {
        self.buf[1] & 0x7f
    }

    /// The sequence number.
    pub fn sequence_number(&self) -> u16 {
        u16::from_be_bytes([self.buf[2], self.buf[3]])
    }

    /// The RTP timestamp.
    pub fn timestamp(&self) -> u32 {
        u32::from_be_bytes([self.buf[4], self.buf[5], self.buf[6], self.buf[7]])
    }

    /// The synchronisation source.
    pub fn ssrc(&self) -> u32 {
        u32::from_be_bytes([self.buf[8], self.buf[9], self.buf[10], self.buf[11]])
    }

    /// The contributing sources, in order.
    pub fn csrcs(&self) -> Csrcs<'a> {
        let count = usize::from(self.buf[0] & 0x0f);
        Csrcs {
            bytes: &self.buf[FIXED_HEADER_LEN..FIXED_HEADER_LEN + 4 * count],
        }
    }

    /// Length of the header: fixed part, CSRCs and extension block.
    pub fn header_len(&self) -> usize {
        self.layout.header_len
    }

    /// The payload, without padding.
    pub fn payload(&self) -> &'a [u8] {
        &self.buf[self.layout.header_len..self.layout.payload_end]
    }

    /// Number of padding bytes at the end (0 when the P bit is clear).
    pub fn padding_len(&self) -> usize {
        self.buf.len() - self.layout.payload_end
    }

    /// The extension block's 16-bit profile field, if the X bit is set.
    pub fn extension_profile(&self) -> Option<u16> {
        self.layout.extension.map(|e| e.profile)
    }

    /// The RFC 8285 form of the extension block; `None` without extension or with another profile.
    pub fn extension_form(&self) -> Option<ExtensionForm> {
        self.layout.extension_form()
    }

    /// The raw extension block (after its 4-byte header), if the X bit is set.
    pub fn extension_block(&self) -> Option<&'a [u8]> {
        self.layout.extension.map(|e| &self.buf[e.start..e.end])
    }

    /// The value of the RFC 8285 extension element with local id `id`, the first if repeated.
    pub fn extension(&self, id: u8) -> Option<&'a [u8]> {
        let form = self.extension_form()?;
        find_extension(form, self.extension_block()?, id)
    }

    /// The RFC 8285 extension elements, as `(id, value)`, in packet order, padding skipped.
    pub fn extensions(&self) -> Extensions<'a> {
        match (self.extension_form(), self.extension_block()) {
            (Some(form), Some(block)) => Extensions::new(form, block),
            _ => Extensions::empty(),
        }
    }

    /// The media identification (`urn:ietf:params:rtp-hdrext:sdes:mid`) carried under `id`.
    pub fn mid(&self, id: u8) -> Option<&'a str> {
        self.extension(id).and_then(ext::string)
    }

    /// The RTP stream id (`urn:ietf:params:rtp-hdrext:sdes:rtp-stream-id`) carried under `id`.
    pub fn rid(&self, id: u8) -> Option<&'a str> {
        self.extension(id).and_then(ext::string)
    }

    /// The repaired RTP stream id (`…:sdes:repaired-rtp-stream-id`) carried under `id`.
    pub fn repaired_rid(&self, id: u8) -> Option<&'a str> {
        self.extension(id).and_then(ext::string)
    }

    /// The 24-bit abs-send-time (6.18 fixed-point seconds) carried under `id`.
    pub fn abs_send_time(&self, id: u8) -> Option<u32> {
        self.extension(id).and_then(ext::abs_send_time)
    }

    /// The transport-wide-cc sequence number carried under `id`.
    pub fn transport_wide_seq(&self, id: u8) -> Option<u16> {
        self.extension(id).and_then(ext::transport_wide_seq)
    }

    /// The client-to-mixer audio level (RFC 6464) carried under `id`.
    pub fn audio_level(&self, id: u8) -> Option<ext::AudioLevel> {
        self.extension(id).and_then(ext::AudioLevel::parse)
    }

    /// The coordination of video orientation (3GPP CVO) carried under `id`.
    pub fn video_orientation(&self, id: u8) -> Option<ext::VideoOrientation> {
        self.extension(id).and_then(ext::VideoOrientation::parse)
    }
}

/// The CSRC list of a packet, as 32-bit identifiers.
#[derive(Debug, Clone)]
pub struct Csrcs<'a> {
    bytes: &'a [u8],
}

impl Iterator for Csrcs<'_> {
    type Item = u32;

    fn next(&mut self) -> Option<u32> {
        let (head, rest) = self.bytes.split_first_chunk::<4>()?;
        self.bytes = rest;
        Some(u32::from_be_bytes(*head))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let n = self.bytes.len() / 4;
        (n, Some(n))
    }
}

impl ExactSizeIterator for Csrcs<'_> {}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::net::noise::XorShift;
    use crate::rtp::{RtpHeader, write_rtp};

    /// A hand-laid packet: V=2, P=1, X=1, CC=1, M=1, PT=111, seq 0x1234, ts 0xCAFEBABE,
    /// SSRC 0x01020304, CSRC 0x0A0B0C0D, one-byte extensions (id 1 "ab", id 5 0x42) padded to one word…
    const PACKET: &[u8] = &[
        0xB1, 0xEF, 0x12, 0x34, 0xCA, 0xFE, 0xBA, 0xBE, 0x01, 0x02, 0x03,
        0x04, // fixed header
        0x0A, 0x0B, 0x0C, 0x0D, // CSRC
        0xBE, 0xDE, 0x00, 0x02, // one-byte profile, 2 words
        0x11, b'a', b'b', 0x50, 0x42, 0x00, 0x00,
        0x00, // id 1 (2 bytes), id 5 (1 byte), padding
        0xDE, 0xAD, 0xBE, 0xEF, // payload
        0x00, 0x00, 0x03, // padding, count 3
    ];

    #[test]
    fn reads_a_hand_laid_packet() {
        let p = RtpPacket::parse(PACKET).unwrap();
        assert!(p.marker());
        assert_eq!(p.payload_type(), 111);
        assert_eq!(p.sequence_number(), 0x1234);
        assert_eq!(p.timestamp(), 0xCAFE_BABE);
        assert_eq!(p.ssrc(), 0x0102_0304);
        assert_eq!(p.csrcs().collect::<Vec<_>>(), vec![0x0A0B_0C0D]);
        assert_eq!(p.header_len(), 28);
        assert_eq!(p.payload(), &[0xDE, 0xAD, 0xBE, 0xEF]);
        assert_eq!(p.padding_len(), 3);
        assert_eq!(p.extension_profile(), Some(0xBEDE));
        assert_eq!(p.extension_form(), Some(ExtensionForm::OneByte));
        assert_eq!(p.extension(1), Some(&b"ab"[..]));
        assert_eq!(p.extension(5), Some(&[0x42][..]));
        assert_eq!(p.extension(2), None);
        assert_eq!(p.extension(0), None);
        assert_eq!(
            p.extensions().collect::<Vec<_>>(),
            vec![(1, &b"ab"[..]), (5, &[0x42][..])]
        );
        assert_eq!(p.mid(1), Some("ab"));
        assert_eq!(
            p.audio_level(5).map(|a| (a.voice, a.level)),
            Some((false, 0x42))
        );
    }

    #[test]
    fn minimal_packet() {
        let p = RtpPacket::parse(&[0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]).unwrap();
        assert_eq!(p.header_len(), 12);
        assert!(p.payload().is_empty());
        assert_eq!(p.padding_len(), 0);
        assert_eq!(p.extensions().count(), 0);
        assert_eq!(p.extension_block(), None);
    }

    #[test]
    fn errors() {
        assert_eq!(
            RtpPacket::parse(&PACKET[..11]),
            Err(RtpError::TooShort { len: 11 })
        );
        let mut v1 = PACKET.to_vec();
        v1[0] = 0x40 | (v1[0] & 0x3f);
        assert_eq!(RtpPacket::parse(&v1), Err(RtpError::Version(1)));
        let mut cc = [0u8; 16];
        cc[0] = 0x82;
        assert_eq!(
            RtpPacket::parse(&cc),
            Err(RtpError::CsrcsTruncated { count: 2, len: 16 })
        );
        assert_eq!(
            RtpPacket::parse(&PACKET[..18]),
            Err(RtpError::ExtensionHeaderTruncated { len: 18 })
        );
        let mut long_ext = PACKET.to_vec();
        long_ext[0] &= !0x20; // no padding, so the length check is the first to fail
        long_ext[19] = 9;
        assert_eq!(
            RtpPacket::parse(&long_ext),
            Err(RtpError::ExtensionTruncated {
                declared: 36,
                available: 15
            })
        );
        let mut bad_el = PACKET.to_vec();
        bad_el[23] = 0x5F; // id 5 now claims 16 bytes
        assert_eq!(
            RtpPacket::parse(&bad_el),
            Err(RtpError::MalformedExtension { offset: 3 })
        );
        let mut zero_pad = PACKET.to_vec();
        *zero_pad.last_mut().unwrap() = 0;
        assert_eq!(RtpPacket::parse(&zero_pad), Err(RtpError::ZeroPadding));
        let mut over_pad = PACKET.to_vec();
        *over_pad.last_mut().unwrap() = 8;
        assert_eq!(
            RtpPacket::parse(&over_pad),
            Err(RtpError::PaddingOverflow {
                padding: 8,
                available: 7
            })
        );
        // Padding may take every byte after the header.
        let mut all_pad = PACKET.to_vec();
        *all_pad.last_mut().unwrap() = 7;
        assert!(RtpPacket::parse(&all_pad).unwrap().payload().is_empty());
    }

    #[test]
    fn builder_round_trip() {
        let exts: [(u8, &[u8]); 3] = [(1, b"video"), (3, &[1, 2, 3]), (14, &[7; 16])];
        let csrcs = [1, 2, 3];
        for form in [ExtensionForm::OneByte, ExtensionForm::TwoByte] {
            for padding in [0u8, 1, 5] {
                let header = RtpHeader {
                    marker: true,
                    payload_type: 100,
                    sequence_number: 65535,
                    timestamp: 1,
                    ssrc: 0xFFFF_FFFF,
                    csrcs: &csrcs,
                    extension_form: form,
                    extensions: &exts,
                    padding,
                };
                let mut buf = [0u8; 200];
                let n = write_rtp(&mut buf, &header, b"hello").unwrap();
                let p = RtpPacket::parse(&buf[..n]).unwrap();
                assert!(p.marker());
                assert_eq!(p.payload_type(), 100);
                assert_eq!(p.sequence_number(), 65535);
                assert_eq!(p.timestamp(), 1);
                assert_eq!(p.ssrc(), 0xFFFF_FFFF);
                assert_eq!(p.csrcs().collect::<Vec<_>>(), csrcs);
                assert_eq!(p.extension_form(), Some(form));
                assert_eq!(p.extensions().collect::<Vec<_>>(), exts);
                assert_eq!(p.payload(), b"hello");
                assert_eq!(p.padding_len(), usize::from(padding));
                assert_eq!(p.header_len() % 4, 0);
                assert!(matches!(
                    write_rtp(&mut buf[..n - 1], &header, b"hello"),
                    Err(crate::rtp::WriteError::BufferTooSmall { .. })
                ));
            }
        }
    }

    #[test]
    fn builder_refuses_what_the_form_cannot_carry() {
        let mut buf = [0u8; 100];
        let bad: [&[(u8, &[u8])]; 3] = [&[(15, b"x")], &[(1, b"")], &[(0, b"x")]];
        for exts in bad {
            let h = RtpHeader {
                extensions: exts,
                ..RtpHeader::default()
            };
            assert!(write_rtp(&mut buf, &h, b"").is_err());
        }
        let h = RtpHeader {
            csrcs: &[0; 16],
            ..RtpHeader::default()
        };
        assert_eq!(
            write_rtp(&mut buf, &h, b""),
            Err(crate::rtp::WriteError::TooManyCsrcs(16))
        );
    }

    #[test]
    fn noise_never_panics() {
        let mut rng = XorShift::new(3550);
        let mut buf = [0u8; 96];
        for i in 0..50_000 {
            let bytes: &[u8] = if i % 2 == 0 {
                let len = rng.below(buf.len() + 1);
                rng.fill(&mut buf[..len]);
                buf[0] = 0x80 | (buf[0] & 0x3f);
                &buf[..len]
            } else {
                buf[..PACKET.len()].copy_from_slice(PACKET);
                rng.mutate(&mut buf[..PACKET.len()]);
                &buf[..rng.below(PACKET.len() + 1)]
            };
            if let Ok(p) = RtpPacket::parse(bytes) {
                assert!(p.header_len() + p.payload().len() + p.padding_len() == bytes.len());
                let _ = (
                    p.csrcs().count(),
                    p.extensions().count(),
                    p.extension(1),
                    p.mid(2),
                );
            }
        }
    }
}
