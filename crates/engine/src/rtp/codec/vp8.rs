//! The VP8 payload descriptor (RFC 7741 §4.2) and the keyframe bit of the VP8 payload header (§4.3).
//!
//! ```text
//!      0 1 2 3 4 5 6 7
//!     +-+-+-+-+-+-+-+-+
//!     |X|R|N|S|R| PID |  required
//!  X: |I|L|T|K| RSV   |  optional
//!  I: |M| PictureID   |  optional, 7 or 15 bits (M)
//!     |   PictureID   |
//!  L: |   TL0PICIDX   |  optional
//! T/K:|TID|Y| KEYIDX  |  optional
//! ```
//! A keyframe starts at the first packet of partition 0 (`S = 1`, `PID = 0`) whose VP8 payload header has
//! the inverse key frame flag `P = 0` (bit 0 of its first byte, RFC 6386 §9.1).

/// The fields of a VP8 payload descriptor.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Vp8Descriptor {
    /// N: the frame can be discarded without affecting other frames.
    pub non_reference: bool,
    /// S: the packet starts a VP8 partition.
    pub start_of_partition: bool,
    /// PID: the partition index (0–7).
    pub partition_id: u8,
    /// The picture id (I), 7 or 15 bits.
    pub picture_id: Option<u16>,
    /// Whether the picture id was sent in 15 bits (M).
    pub long_picture_id: bool,
    /// TL0PICIDX (L).
    pub tl0_pic_idx: Option<u8>,
    /// TID, the temporal layer index (T).
    pub temporal_id: Option<u8>,
    /// Y: layer sync; meaningful when [`temporal_id`](Self::temporal_id) is present.
    pub layer_sync: bool,
    /// KEYIDX, the temporal key frame index (K).
    pub key_idx: Option<u8>,
    /// Length of the descriptor: the VP8 payload starts here.
    pub header_len: usize,
}

impl Vp8Descriptor {
    /// Reads the descriptor at the start of an RTP payload; `None` if it is truncated.
    pub fn parse(payload: &[u8]) -> Option<Self> {
        let &b0 = payload.first()?;
        let mut d = Self {
            non_reference: b0 & 0x20 != 0,
            start_of_partition: b0 & 0x10 != 0,
            partition_id: b0 & 0x07,
            picture_id: None,
            long_picture_id: false,
            tl0_pic_idx: None,
            temporal_id: None,
            layer_sync: false,
            key_idx: None,
            header_len: 1,
        };
        if b0 & 0x80 == 0 {
            return Some(d);
        }
        let &x = payload.get(1)?;
        let mut at = 2;
        if x & 0x80 != 0 {
            let &p0 = payload.get(at)?;
            if p0 & 0x80 != 0 {
                let &p1 = payload.get(at + 1)?;
                d.picture_id = Some(u16::from_be_bytes([p0 & 0x7f, p1]));
                d.long_picture_id = true;
                at += 2;
            } else {
                d.picture_id = Some(u16::from(p0));
                at += 1;
            }
        }
        if x & 0x40 != 0 {
            d.tl0_pic_idx = Some(*payload.get(at)?);
            at += 1;
        }
        if x & 0x30 != 0 {
            let &tk = payload.get(at)?;
            if x & 0x20 != 0 {
                d.temporal_id = Some(tk >> 6);
                d.layer_sync = tk & 0x20 != 0;
            }
            if x & 0x10 != 0 {
                d.key_idx = Some(tk & 0x1f);
            }
            at += 1;
        }
        d.header_len = at;
        Some(d)
    }

    /// Whether the packet this descriptor was read from (`payload`) starts a keyframe.
    pub fn is_keyframe(&self, payload: &[u8]) -> bool {
        self.start_of_partition
            && self.partition_id == 0
            && payload.get(self.header_len).is_some_and(|&b| b & 0x01 == 0)
    }
}

#[cfg(test)]
#[allow(clippy::unusual_byte_groupings)] // binary literals grouped by descriptor field
mod tests {
    use super::*;
    use crate::rtp::codec::{KeyframeCodec, is_keyframe};

    /// A VP8 keyframe's first 10 bytes (RFC 6386 §9.1): frame tag with P = 0, start code 9d 01 2a,
    /// 640x480.
    const KEY_HEADER: [u8; 10] = [0x50, 0x42, 0x00, 0x9d, 0x01, 0x2a, 0x80, 0x02, 0xe0, 0x01];
    /// An interframe's frame tag (P = 1).
    const INTER_HEADER: [u8; 3] = [0x31, 0x42, 0x00];

    fn payload(descriptor: &[u8], rest: &[u8]) -> Vec<u8> {
        [descriptor, rest].concat()
    }

    /// RFC 7741 §4.2: the smallest descriptor, S = 1, PID = 0.
    #[test]
    fn one_byte_descriptor() {
        let p = payload(&[0x10], &KEY_HEADER);
        let d = Vp8Descriptor::parse(&p).unwrap();
        assert!(d.start_of_partition && !d.non_reference);
        assert_eq!((d.partition_id, d.header_len, d.picture_id), (0, 1, None));
        assert!(is_keyframe(KeyframeCodec::Vp8, &p));
        assert!(!is_keyframe(
            KeyframeCodec::Vp8,
            &payload(&[0x10], &INTER_HEADER)
        ));
    }

    /// X with I (15-bit picture id), L, T and K, as libwebrtc sends with temporal layers.
    #[test]
    fn full_descriptor() {
        let desc = [0x90, 0xF0, 0x80 | 0x12, 0x34, 0x07, 0b10_1_00011];
        let p = payload(&desc, &KEY_HEADER);
        let d = Vp8Descriptor::parse(&p).unwrap();
        assert_eq!(d.picture_id, Some(0x1234));
        assert!(d.long_picture_id);
        assert_eq!(d.tl0_pic_idx, Some(7));
        assert_eq!(d.temporal_id, Some(2));
        assert!(d.layer_sync);
        assert_eq!(d.key_idx, Some(3));
        assert_eq!(d.header_len, 6);
        assert!(d.is_keyframe(&p));
    }

    #[test]
    fn seven_bit_picture_id_and_t_without_k() {
        let d = Vp8Descriptor::parse(&[0x90, 0xA0, 0x7F, 0x40, 0x31]).unwrap();
        assert_eq!(d.picture_id, Some(0x7F));
        assert!(!d.long_picture_id);
        assert_eq!(
            (d.temporal_id, d.layer_sync, d.key_idx),
            (Some(1), false, None)
        );
        assert_eq!(d.header_len, 4);
    }

    #[test]
    fn not_keyframes() {
        // Not the start of a partition.
        assert!(!is_keyframe(
            KeyframeCodec::Vp8,
            &payload(&[0x00], &KEY_HEADER)
        ));
        // Start of partition 1.
        assert!(!is_keyframe(
            KeyframeCodec::Vp8,
            &payload(&[0x11], &KEY_HEADER)
        ));
        // Descriptor only, no VP8 payload header.
        assert!(!is_keyframe(KeyframeCodec::Vp8, &[0x10]));
        assert!(!is_keyframe(KeyframeCodec::Vp8, &[]));
    }

    #[test]
    fn truncated_descriptors() {
        assert_eq!(Vp8Descriptor::parse(&[0x90]), None);
        assert_eq!(Vp8Descriptor::parse(&[0x90, 0x80]), None);
        assert_eq!(Vp8Descriptor::parse(&[0x90, 0x80, 0x80]), None);
        assert_eq!(Vp8Descriptor::parse(&[0x90, 0x40]), None);
        assert_eq!(Vp8Descriptor::parse(&[0x90, 0x10]), None);
        assert_eq!(
            Vp8Descriptor::parse(&[0x90, 0x10, 0x00]).map(|d| d.header_len),
            Some(3)
        );
    }
}
