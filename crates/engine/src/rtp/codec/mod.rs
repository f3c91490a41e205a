//! Keyframe detection over RTP payloads, per codec, without allocation.
//!
//! Owns: reading just enough of each codec's RTP payload format to tell whether a packet starts a frame
//! that decodes without earlier frames: VP8 (RFC 7741 §4.2–4.3), VP9 (RFC 9628 §4.2, formerly
//! draft-ietf-payload-vp9), H.264 (RFC 6184 §5.6–5.8). Must not: depacketise, reassemble or keep state; a
//! payload that is malformed or too short is simply not a keyframe.
//!
//! The SFU uses this to answer "can this consumer start (or switch layers) here?"; the payload descriptors
//! ([`Vp8Descriptor`], [`Vp9Descriptor`]) are public because layer selection and picture-id rewriting read
//! the same fields.

mod h264;
mod vp8;
mod vp9;

pub use h264::is_h264_keyframe;
pub use vp8::Vp8Descriptor;
pub use vp9::Vp9Descriptor;

/// The codecs whose keyframes can be recognised.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum KeyframeCodec {
    /// VP8 (RFC 7741).
    Vp8,
    /// VP9 (RFC 9628).
    Vp9,
    /// H.264 (RFC 6184, packetization modes 0 and 1).
    H264,
    /// Anything else: never a keyframe (audio, RTX before unwrapping, unknown video).
    Other,
}

impl KeyframeCodec {
    /// The codec a MIME type names (`video/VP8`, `video/vp9`, `video/H264`, case-insensitive; the
    /// `video/` prefix is optional).
    pub fn from_mime(mime: &str) -> Self {
        let name = match mime.split_once('/') {
            Some((kind, name)) if kind.eq_ignore_ascii_case("video") => name,
            Some(_) => return Self::Other,
            None => mime,
        };
        if name.eq_ignore_ascii_case("vp8") {
            Self::Vp8
        } else if name.eq_ignore_ascii_case("vp9") {
            Self::Vp9
        } else if name.eq_ignore_ascii_case("h264") {
            Self::H264
        } else {
            Self::Other
        }
    }
}

/// Whether `payload` (an RTP payload, padding excluded) starts a keyframe of `codec`.
pub fn is_keyframe(codec: KeyframeCodec, payload: &[u8]) -> bool {
    match codec {
        KeyframeCodec::Vp8 => Vp8Descriptor::parse(payload).is_some_and(|d| d.is_keyframe(payload)),
        KeyframeCodec::Vp9 => Vp9Descriptor::parse(payload).is_some_and(|d| d.is_keyframe()),
        KeyframeCodec::H264 => is_h264_keyframe(payload),
        KeyframeCodec::Other => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::net::noise::XorShift;

    #[test]
    fn from_mime() {
        assert_eq!(KeyframeCodec::from_mime("video/VP8"), KeyframeCodec::Vp8);
        assert_eq!(KeyframeCodec::from_mime("video/vp9"), KeyframeCodec::Vp9);
        assert_eq!(KeyframeCodec::from_mime("VIDEO/H264"), KeyframeCodec::H264);
        assert_eq!(KeyframeCodec::from_mime("h264"), KeyframeCodec::H264);
        assert_eq!(KeyframeCodec::from_mime("audio/opus"), KeyframeCodec::Other);
        assert_eq!(KeyframeCodec::from_mime("audio/VP8"), KeyframeCodec::Other);
        assert_eq!(KeyframeCodec::from_mime("video/rtx"), KeyframeCodec::Other);
        assert_eq!(KeyframeCodec::from_mime(""), KeyframeCodec::Other);
    }

    #[test]
    fn other_is_never_a_keyframe() {
        assert!(!is_keyframe(KeyframeCodec::Other, &[0x10, 0x00, 0x00]));
    }

    #[test]
    fn noise_never_panics() {
        let mut rng = XorShift::new(6184);
        let mut buf = [0u8; 48];
        let codecs = [KeyframeCodec::Vp8, KeyframeCodec::Vp9, KeyframeCodec::H264];
        for _ in 0..60_000 {
            let len = rng.below(buf.len() + 1);
            rng.fill(&mut buf[..len]);
            for codec in codecs {
                let _ = is_keyframe(codec, &buf[..len]);
            }
            if let Some(d) = Vp8Descriptor::parse(&buf[..len]) {
                assert!(d.header_len <= len);
            }
            if let Some(d) = Vp9Descriptor::parse(&buf[..len]) {
                assert!(d.header_len <= len);
            }
        }
    }
}
