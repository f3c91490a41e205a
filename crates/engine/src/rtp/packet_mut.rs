//! [`RtpPacketMut`]: the in-place rewriting view over one RTP packet.
//!
//! Every rewrite keeps the packet's length and layout: header fields are overwritten, extension ids are
//! remapped in place, and a dropped extension element becomes padding bytes (RFC 8285 §4.2/§4.3: a zero
//! byte where an element header is expected is padding). The rewritten bytes are a valid packet that
//! [`RtpPacket::parse`] accepts with the same layout.

use super::extensions::{ExtensionForm, find_extension_range, next_element};
use super::packet::Layout;
use super::{ExtensionIdMap, RtpError, RtpPacket, ext};

/// A validated view over the bytes of one RTP packet that rewrites them in place.
#[derive(Debug, PartialEq, Eq)]
pub struct RtpPacketMut<'a> {
    buf: &'a mut [u8],
    layout: Layout,
}

impl<'a> RtpPacketMut<'a> {
    /// Validates `buf` as [`RtpPacket::parse`] does.
    pub fn parse(buf: &'a mut [u8]) -> Result<Self, RtpError> {
        let layout = Layout::parse(buf)?;
        Ok(Self { buf, layout })
    }

    /// A read-only view of the packet as it is now.
    pub fn as_packet(&self) -> RtpPacket<'_> {
        RtpPacket::from_parts(self.buf, self.layout)
    }

    /// The whole packet as it is now.
    pub fn as_bytes(&self) -> &[u8] {
        self.buf
    }

    /// Sets the 7-bit payload type (the high bit of `pt` is ignored; the marker bit is kept).
    pub fn set_payload_type(&mut self, pt: u8) {
        self.buf[1] = (self.buf[1] & 0x80) | (pt & 0x7f);
    }

    /// Sets the marker bit.
    pub fn set_marker(&mut self, marker: bool) {
        self.buf[1] = (self.buf[1] & 0x7f) | if marker { 0x80 } else { 0 };
    }

    /// Sets the sequence number.
    pub fn set_sequence_number(&mut self, seq: u16) {
        self.buf[2..4].copy_from_slice(&seq.to_be_bytes());
    }

    /// Sets the RTP timestamp.
    pub fn set_timestamp(&mut self, ts: u32) {
        self.buf[4..8].copy_from_slice(&ts.to_be_bytes());
    }

    /// Sets the SSRC.
    pub fn set_ssrc(&mut self, ssrc: u32) {
        self.buf[8..12].copy_from_slice(&ssrc.to_be_bytes());
    }

    /// The payload, without padding, for in-place changes (e.g. a VP8 picture id rewrite).
    pub fn payload_mut(&mut self) -> &mut [u8] {
        &mut self.buf[self.layout.header_len..self.layout.payload_end]
    }

    /// The value of the RFC 8285 extension element with local id `id`, for in-place changes.
    pub fn extension_mut(&mut self, id: u8) -> Option<&mut [u8]> {
        let form = self.layout.extension_form()?;
        let block = self.layout.extension?;
        let block = &mut self.buf[block.start..block.end];
        let range = find_extension_range(form, block, id)?;
        Some(&mut block[range])
    }

    /// Overwrites the abs-send-time carried under `id`; `false` if absent or not 3 bytes.
    pub fn set_abs_send_time(&mut self, id: u8, abs_send_time: u32) -> bool {
        self.extension_mut(id)
            .is_some_and(|v| ext::write_abs_send_time(v, abs_send_time))
    }

    /// Overwrites the transport-wide-cc sequence number carried under `id`; `false` if absent or of
    /// another size.
    pub fn set_transport_wide_seq(&mut self, id: u8, seq: u16) -> bool {
        self.extension_mut(id)
            .is_some_and(|v| ext::write_transport_wide_seq(v, seq))
    }

    /// Rewrites every RFC 8285 extension element's id through `map`, in place; the packet's length never
    /// changes.
    ///
    /// An element whose id maps to an id the form can carry (one-byte: 1–14, two-byte: 1–255) keeps its
    /// value under the new id. Any other element (mapped to 0, or to 15+ in the one-byte form) is dropped by
    /// zeroing its header and value: every zero byte is padding to a receiver, so the element disappears
    /// and the block stays well formed. Elements after a one-byte id 15, and blocks with a profile other
    /// than RFC 8285's, are left untouched. Ids are mapped from the packet as received: a mapping `1 → 2,
    /// 2 → 1` swaps them.
    pub fn remap_extension_ids(&mut self, map: &ExtensionIdMap) {
        let (Some(form), Some(block)) = (self.layout.extension_form(), self.layout.extension)
        else {
            return;
        };
        let block = &mut self.buf[block.start..block.end];
        let mut pos = 0;
        while let Ok(Some(el)) = next_element(form, block, &mut pos) {
            let to = map.get(el.id);
            match form {
                ExtensionForm::OneByte if (1..=14).contains(&to) => {
                    block[el.header] = (to << 4) | (block[el.header] & 0x0f);
                }
                ExtensionForm::TwoByte if to != 0 => block[el.header] = to,
                _ => block[el.header..el.value.end].fill(0),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::net::noise::XorShift;
    use crate::rtp::{RtpHeader, write_rtp};

    fn build(form: ExtensionForm, exts: &[(u8, &[u8])], payload: &[u8], padding: u8) -> Vec<u8> {
        let mut buf = vec![0u8; 1500];
        let header = RtpHeader {
            marker: false,
            payload_type: 96,
            sequence_number: 1000,
            timestamp: 90_000,
            ssrc: 0x1122_3344,
            csrcs: &[0xAABB_CCDD],
            extension_form: form,
            extensions: exts,
            padding,
        };
        let n = write_rtp(&mut buf, &header, payload).unwrap();
        buf.truncate(n);
        buf
    }

    #[test]
    fn header_setters_touch_only_their_field() {
        let mut bytes = build(ExtensionForm::OneByte, &[(1, b"0")], b"payload", 4);
        let original = bytes.clone();
        let mut p = RtpPacketMut::parse(&mut bytes).unwrap();
        p.set_marker(true);
        p.set_payload_type(0xff);
        p.set_sequence_number(0xfffe);
        p.set_timestamp(0xdead_beef);
        p.set_ssrc(0x0102_0304);
        let r = p.as_packet();
        assert!(r.marker());
        assert_eq!(r.payload_type(), 0x7f);
        assert_eq!(r.sequence_number(), 0xfffe);
        assert_eq!(r.timestamp(), 0xdead_beef);
        assert_eq!(r.ssrc(), 0x0102_0304);
        assert_eq!(r.csrcs().collect::<Vec<_>>(), vec![0xAABB_CCDD]);
        assert_eq!(r.payload(), b"payload");
        assert_eq!(r.padding_len(), 4);
        assert_eq!(r.mid(1), Some("0"));
        p.set_payload_type(96);
        p.set_marker(false);
        assert_eq!(&bytes[..2], &original[..2]);
        assert_eq!(&bytes[12..], &original[12..]);
    }

    #[test]
    fn remap_one_byte_swaps_and_drops() {
        let mut bytes = build(
            ExtensionForm::OneByte,
            &[
                (1, b"mid"),
                (2, &[0x80 | 30]),
                (3, &[1, 2, 3]),
                (4, &[0, 7]),
            ],
            b"xyz",
            0,
        );
        let len = bytes.len();
        let mut map = ExtensionIdMap::new();
        map.set(1, 2).set(2, 1).set(3, 0).set(4, 15);
        let mut p = RtpPacketMut::parse(&mut bytes).unwrap();
        p.remap_extension_ids(&map);
        let r = p.as_packet();
        assert_eq!(
            r.extensions().collect::<Vec<_>>(),
            vec![(2, &b"mid"[..]), (1, &[0x80 | 30][..])]
        );
        assert_eq!(r.mid(2), Some("mid"));
        assert_eq!(r.audio_level(1).map(|a| a.level), Some(30));
        assert_eq!(r.payload(), b"xyz");

        assert_eq!(bytes.len(), len);
        let reparsed = RtpPacket::parse(&bytes).unwrap();
        assert_eq!(reparsed.extensions().count(), 2);
    }

    #[test]
    fn remap_two_byte() {
        let mut bytes = build(
            ExtensionForm::TwoByte,
            &[(1, b""), (200, &[9; 20]), (14, &[1, 2])],
            b"p",
            0,
        );
        let mut map = ExtensionIdMap::new();
        map.set(1, 100).set(200, 0).set(14, 255);
        let mut p = RtpPacketMut::parse(&mut bytes).unwrap();
        p.remap_extension_ids(&map);
        let r = p.as_packet();
        assert_eq!(
            r.extensions().collect::<Vec<_>>(),
            vec![(100, &b""[..]), (255, &[1, 2][..])]
        );
    }

    #[test]
    fn remap_identity_changes_nothing() {
        let mut bytes = build(
            ExtensionForm::OneByte,
            &[(1, b"a"), (14, &[1; 16])],
            b"p",
            2,
        );
        let original = bytes.clone();
        RtpPacketMut::parse(&mut bytes)
            .unwrap()
            .remap_extension_ids(&ExtensionIdMap::identity());
        assert_eq!(bytes, original);
    }

    #[test]
    fn remap_leaves_unknown_profiles_alone() {
        // Profile 0xABAC with one word of opaque data.
        let mut bytes = vec![
            0x90, 96, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1, 0xAB, 0xAC, 0, 1, 0x12, 0x34, 0x56, 0x78,
        ];
        let original = bytes.clone();
        let mut p = RtpPacketMut::parse(&mut bytes).unwrap();
        p.remap_extension_ids(&ExtensionIdMap::new());
        assert_eq!(p.as_packet().extension_profile(), Some(0xABAC));
        assert_eq!(p.as_packet().extensions().count(), 0);
        assert_eq!(bytes, original);
    }

    #[test]
    fn extension_value_setters() {
        let mut bytes = build(
            ExtensionForm::OneByte,
            &[(3, &[0, 0, 0]), (5, &[0, 0])],
            b"p",
            0,
        );
        let mut p = RtpPacketMut::parse(&mut bytes).unwrap();
        assert!(p.set_abs_send_time(3, 0x12_3456));
        assert!(p.set_transport_wide_seq(5, 0xBEEF));
        assert!(!p.set_transport_wide_seq(3, 1));
        assert!(!p.set_abs_send_time(7, 1));
        let r = p.as_packet();
        assert_eq!(r.abs_send_time(3), Some(0x12_3456));
        assert_eq!(r.transport_wide_seq(5), Some(0xBEEF));
        p.payload_mut()[0] = b'q';
        assert_eq!(p.as_packet().payload(), b"q");
    }

    #[test]
    fn noise_rewrite_never_panics_and_keeps_valid() {
        let mut rng = XorShift::new(0x8285);
        let seed = build(
            ExtensionForm::OneByte,
            &[(1, b"m"), (2, &[1, 2, 3])],
            b"payload!",
            3,
        );
        let seed2 = build(
            ExtensionForm::TwoByte,
            &[(1, b"m"), (20, &[1; 30])],
            b"payload!",
            0,
        );
        let mut map = ExtensionIdMap::new();
        for _ in 0..20_000 {
            let mut bytes = if rng.below(2) == 0 {
                seed.clone()
            } else {
                seed2.clone()
            };
            rng.mutate(&mut bytes);
            let cut = rng.below(bytes.len() + 1);
            bytes.truncate(cut.max(bytes.len() - rng.below(4)));
            map.set(rng.below(256) as u8, rng.below(256) as u8);
            if let Ok(mut p) = RtpPacketMut::parse(&mut bytes) {
                let before = p.as_packet().header_len();
                p.remap_extension_ids(&map);
                p.set_transport_wide_seq(rng.below(16) as u8, 1);
                let len = p.as_bytes().len();
                let again = RtpPacket::parse(&bytes).expect("rewritten packet stays valid");
                assert_eq!(again.header_len(), before);
                assert_eq!(again.as_bytes().len(), len);
            }
        }
    }
}
