//! H.264 keyframes in RTP (RFC 6184): single NAL unit packets (§5.6), STAP-A (§5.7.1) and FU-A (§5.8).
//!
//! NAL unit header (§1.3): `|F|NRI|Type|` with a 5-bit type. A packet starts a keyframe when it carries an
//! IDR slice (type 5) or a parameter set (SPS 7, PPS 8, which encoders send right before an IDR): as a
//! single NAL unit, inside a STAP-A (type 24: `[header] ([size:16] [NAL])*`), or as the first fragment of a
//! FU-A (type 28: `[indicator] |S|E|R|Type|`) of an IDR slice. STAP-B, MTAP and FU-B (interleaved mode)
//! are not used by WebRTC and are not keyframes here.

const IDR: u8 = 5;
const SPS: u8 = 7;
const PPS: u8 = 8;
const STAP_A: u8 = 24;
const FU_A: u8 = 28;

fn starts_keyframe(nal_type: u8) -> bool {
    matches!(nal_type, IDR | SPS | PPS)
}

/// Whether an H.264 RTP payload starts a keyframe.
pub fn is_h264_keyframe(payload: &[u8]) -> bool {
    let Some(&header) = payload.first() else {
        return false;
    };
    match header & 0x1f {
        STAP_A => {
            let mut rest = &payload[1..];
            while let Some((size, tail)) = rest.split_first_chunk::<2>() {
                let size = usize::from(u16::from_be_bytes(*size));
                if size == 0 || size > tail.len() {
                    return false;
                }
                if starts_keyframe(tail[0] & 0x1f) {
                    return true;
                }
                rest = &tail[size..];
            }
            false
        }
        FU_A => payload
            .get(1)
            .is_some_and(|&fu| fu & 0x80 != 0 && fu & 0x1f == IDR),
        t => starts_keyframe(t),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn single_nal_units() {
        assert!(is_h264_keyframe(&[0x65, 0x88, 0x84])); // IDR slice, NRI 3
        assert!(is_h264_keyframe(&[0x67, 0x42, 0xc0, 0x1f])); // SPS
        assert!(is_h264_keyframe(&[0x68, 0xce, 0x3c, 0x80])); // PPS
        assert!(!is_h264_keyframe(&[0x41, 0x9a])); // non-IDR slice
        assert!(!is_h264_keyframe(&[0x06, 0x05])); // SEI
        assert!(!is_h264_keyframe(&[]));
    }

    /// RFC 6184 §5.7.1 figure 7 layout: STAP-A header, then size-prefixed NAL units.
    #[test]
    fn stap_a() {
        let sps_pps = [
            0x78, 0x00, 0x04, 0x67, 0x42, 0xc0, 0x1f, 0x00, 0x04, 0x68, 0xce, 0x3c, 0x80,
        ];
        assert!(is_h264_keyframe(&sps_pps));
        let sei_then_idr = [0x78, 0x00, 0x02, 0x06, 0x05, 0x00, 0x02, 0x65, 0x88];
        assert!(is_h264_keyframe(&sei_then_idr));
        let two_slices = [0x78, 0x00, 0x02, 0x41, 0x9a, 0x00, 0x02, 0x41, 0x9b];
        assert!(!is_h264_keyframe(&two_slices));
        // A size that runs past the packet ends the walk before the IDR.
        assert!(!is_h264_keyframe(&[
            0x78, 0x00, 0x09, 0x06, 0x05, 0x00, 0x02, 0x65, 0x88
        ]));
        assert!(!is_h264_keyframe(&[0x78, 0x00, 0x00, 0x65]));
        assert!(!is_h264_keyframe(&[0x78, 0x00]));
    }

    /// RFC 6184 §5.8: FU indicator (type 28) and FU header `|S|E|R|Type|`.
    #[test]
    fn fu_a() {
        assert!(is_h264_keyframe(&[0x7c, 0x85, 0x88])); // start of an IDR
        assert!(!is_h264_keyframe(&[0x7c, 0x05, 0x88])); // middle of an IDR
        assert!(!is_h264_keyframe(&[0x7c, 0x45, 0x88])); // end of an IDR
        assert!(!is_h264_keyframe(&[0x5c, 0x81, 0x9a])); // start of a non-IDR slice
        assert!(!is_h264_keyframe(&[0x7c]));
    }
}
