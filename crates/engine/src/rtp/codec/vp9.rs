//! The VP9 payload descriptor (RFC 9628 §4.2, published from draft-ietf-payload-vp9).
//!
//! ```text
//!       0 1 2 3 4 5 6 7
//!      +-+-+-+-+-+-+-+-+
//!      |I|P|L|F|B|E|V|Z|  required
//!  I:  |M| PICTURE ID  |  7 or 15 bits (M)
//!  M:  | EXTENDED PID  |
//!  L:  |  TID  |U| SID |D|  layer indices
//!      |   TL0PICIDX   |  only in non-flexible mode (F = 0)
//! P,F: | P_DIFF      |N|  up to 3, while N = 1
//!  V:  | SS            |  scalability structure (§4.2.1)
//! ```
//! A keyframe starts where `B = 1` (start of a frame), `P = 0` (not inter-picture predicted) on the base
//! spatial layer (`SID = 0`, or no layer indices).

/// The fields of a VP9 payload descriptor that forwarding reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Vp9Descriptor {
    /// P: the picture is inter-picture predicted.
    pub inter_picture_predicted: bool,
    /// F: flexible mode (reference indices in the descriptor).
    pub flexible_mode: bool,
    /// B: the packet starts a frame.
    pub start_of_frame: bool,
    /// E: the packet ends a frame.
    pub end_of_frame: bool,
    /// V: a scalability structure follows.
    pub has_scalability_structure: bool,
    /// Z: the frame is not used for inter-layer prediction by upper spatial layers.
    pub not_upper_layer_reference: bool,
    /// The picture id (I), 7 or 15 bits.
    pub picture_id: Option<u16>,
    /// Whether the picture id was sent in 15 bits (M).
    pub long_picture_id: bool,
    /// TID, the temporal layer (L).
    pub temporal_id: Option<u8>,
    /// U: switching up point.
    pub switching_up: bool,
    /// SID, the spatial layer (0 without layer indices).
    pub spatial_id: u8,
    /// D: inter-layer dependency on the spatial layer below.
    pub inter_layer_dependency: bool,
    /// TL0PICIDX (non-flexible mode with L).
    pub tl0_pic_idx: Option<u8>,
    /// Length of the descriptor, scalability structure included: the VP9 payload starts here.
    pub header_len: usize,
}

impl Vp9Descriptor {
    /// Reads the descriptor at the start of an RTP payload; `None` if it is truncated.
    pub fn parse(payload: &[u8]) -> Option<Self> {
        let &b0 = payload.first()?;
        let mut d = Self {
            inter_picture_predicted: b0 & 0x40 != 0,
            flexible_mode: b0 & 0x10 != 0,
            start_of_frame: b0 & 0x08 != 0,
            end_of_frame: b0 & 0x04 != 0,
            has_scalability_structure: b0 & 0x02 != 0,
            not_upper_layer_reference: b0 & 0x01 != 0,
            picture_id: None,
            long_picture_id: false,
            temporal_id: None,
            switching_up: false,
            spatial_id: 0,
            inter_layer_dependency: false,
            tl0_pic_idx: None,
            header_len: 1,
        };
        let mut at = 1;
        if b0 & 0x80 != 0 {
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
        if b0 & 0x20 != 0 {
            let &l = payload.get(at)?;
            d.temporal_id = Some(l >> 5);
            d.switching_up = l & 0x10 != 0;
            d.spatial_id = (l >> 1) & 0x07;
            d.inter_layer_dependency = l & 0x01 != 0;
            at += 1;
            if !d.flexible_mode {
                d.tl0_pic_idx = Some(*payload.get(at)?);
                at += 1;
            }
        }
        if d.flexible_mode && d.inter_picture_predicted {
            for _ in 0..3 {
                let &p_diff = payload.get(at)?;
                at += 1;
                if p_diff & 0x01 == 0 {
                    break;
                }
            }
        }
        if d.has_scalability_structure {
            at = skip_scalability_structure(payload, at)?;
        }
        d.header_len = at;
        Some(d)
    }

    /// Whether the packet starts a keyframe: start of frame, not inter-predicted, base spatial layer.
    pub fn is_keyframe(&self) -> bool {
        self.start_of_frame && !self.inter_picture_predicted && self.spatial_id == 0
    }
}

/// Skips the scalability structure (RFC 9628 §4.2.1) starting at `at`; returns where it ends.
///
/// ```text
///  V:  | N_S |Y|G|-|-|-|
///  Y:  | WIDTH (16) | HEIGHT (16) |   N_S + 1 times
///  G:  |      N_G      |
///      | TID |U| R |-|-|  then R P_DIFF bytes; N_G times
/// ```
fn skip_scalability_structure(payload: &[u8], mut at: usize) -> Option<usize> {
    let &ss = payload.get(at)?;
    at += 1;
    let spatial_layers = usize::from(ss >> 5) + 1;
    if ss & 0x10 != 0 {
        at += 4 * spatial_layers;
    }
    if ss & 0x08 != 0 {
        let &groups = payload.get(at)?;
        at += 1;
        for _ in 0..groups {
            let &g = payload.get(at)?;
            at += 1 + usize::from((g >> 2) & 0x03);
        }
    }
    (at <= payload.len()).then_some(at)
}

#[cfg(test)]
#[allow(clippy::unusual_byte_groupings)] // binary literals grouped by descriptor field
mod tests {
    use super::*;
    use crate::rtp::codec::{KeyframeCodec, is_keyframe};

    #[test]
    fn non_flexible_keyframe_with_layers() {
        // I (15-bit id 0x0102), L, B, E; TID 0, SID 0, TL0PICIDX 9.
        let p = [0x80 | 0x20 | 0x08 | 0x04, 0x81, 0x02, 0x00, 0x09, 0xAA];
        let d = Vp9Descriptor::parse(&p).unwrap();
        assert_eq!(d.picture_id, Some(0x0102));
        assert_eq!(
            (d.temporal_id, d.spatial_id, d.tl0_pic_idx),
            (Some(0), 0, Some(9))
        );
        assert_eq!(d.header_len, 5);
        assert!(is_keyframe(KeyframeCodec::Vp9, &p));
    }

    #[test]
    fn upper_spatial_layer_or_predicted_is_not_a_keyframe() {
        // SID 1.
        assert!(!is_keyframe(
            KeyframeCodec::Vp9,
            &[0xA8, 0x01, 0b000_0_001_1, 0x00]
        ));
        // P set.
        assert!(!is_keyframe(KeyframeCodec::Vp9, &[0xC8, 0x01]));
        // B clear.
        assert!(!is_keyframe(KeyframeCodec::Vp9, &[0x80, 0x01]));
        // No layer indices: base layer.
        assert!(is_keyframe(KeyframeCodec::Vp9, &[0x88, 0x01]));
    }

    #[test]
    fn flexible_mode_p_diffs() {
        // I, P, L, F, B: 7-bit id, layer byte (TID 2, SID 1), two P_DIFFs (N set on the first).
        let p = [0xF8, 0x05, 0b010_1_001_0, 0x03, 0x04, 0xEE];
        let d = Vp9Descriptor::parse(&p).unwrap();
        assert!(d.flexible_mode && d.switching_up);
        assert_eq!(
            (d.temporal_id, d.spatial_id, d.tl0_pic_idx),
            (Some(2), 1, None)
        );
        assert_eq!(d.header_len, 5);
        assert!(!d.is_keyframe());
    }

    #[test]
    fn scalability_structure() {
        // I, B, V, 7-bit id; SS: N_S = 1 (2 layers), Y, G; 2 resolutions; N_G = 2: (R = 1, one P_DIFF), (R = 0).
        let p = [
            0x8A,
            0x01,          // descriptor, picture id
            0b001_1_1_000, // N_S=1, Y, G
            0x02,
            0x80,
            0x01,
            0x68, // 640x360
            0x05,
            0x00,
            0x02,
            0xD0, // 1280x720
            0x02, // N_G
            0b000_1_01_00,
            0x01,          // TID 0, U, R = 1, P_DIFF
            0b001_0_00_00, // TID 1, R = 0
            0xFF,
        ];
        let d = Vp9Descriptor::parse(&p).unwrap();
        assert!(d.has_scalability_structure);
        assert_eq!(d.header_len, p.len() - 1);
        assert!(d.is_keyframe());
        assert_eq!(Vp9Descriptor::parse(&p[..p.len() - 3]), None);
    }

    #[test]
    fn truncated() {
        assert_eq!(Vp9Descriptor::parse(&[]), None);
        assert_eq!(Vp9Descriptor::parse(&[0x80]), None);
        assert_eq!(Vp9Descriptor::parse(&[0x80, 0x80]), None);
        assert_eq!(Vp9Descriptor::parse(&[0x20, 0x00]), None);
        assert_eq!(Vp9Descriptor::parse(&[0x50, 0x01]), None);
        assert!(!is_keyframe(KeyframeCodec::Vp9, &[0x80]));
    }
}
