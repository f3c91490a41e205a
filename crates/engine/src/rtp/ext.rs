//! Typed values of the header extensions the SFU reads and rewrites, decoded from (or encoded into) an
//! element's value bytes as returned by [`super::RtpPacket::extension`] / [`super::RtpPacketMut::extension_mut`].
//!
//! Implements: `sdes:mid` (RFC 8843 §15.2) and `sdes:rtp-stream-id` / `sdes:repaired-rtp-stream-id`
//! (RFC 8852 §3) as strings; abs-send-time (webrtc.org, 24-bit 6.18 fixed-point seconds); transport-wide-cc
//! sequence number (draft-holmer-rmcat-transport-wide-cc-extensions-01 §2); client-to-mixer audio level
//! (RFC 6464 §3); coordination of video orientation (3GPP TS 26.114 §7.4.5). Ids are negotiated per
//! session, so every reader takes the value, never an id.

use std::time::Duration;

/// The URIs under which these extensions are negotiated.
pub mod uri {
    /// RFC 8843 media identification.
    pub const MID: &str = "urn:ietf:params:rtp-hdrext:sdes:mid";
    /// RFC 8852 RTP stream id.
    pub const RTP_STREAM_ID: &str = "urn:ietf:params:rtp-hdrext:sdes:rtp-stream-id";
    /// RFC 8852 repaired RTP stream id.
    pub const REPAIRED_RTP_STREAM_ID: &str =
        "urn:ietf:params:rtp-hdrext:sdes:repaired-rtp-stream-id";
    /// Absolute send time.
    pub const ABS_SEND_TIME: &str = "http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time";
    /// Transport-wide congestion control sequence number.
    pub const TRANSPORT_WIDE_CC: &str =
        "http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01";
    /// RFC 6464 client-to-mixer audio level.
    pub const AUDIO_LEVEL: &str = "urn:ietf:params:rtp-hdrext:ssrc-audio-level";
    /// 3GPP coordination of video orientation.
    pub const VIDEO_ORIENTATION: &str = "urn:3gpp:video-orientation";
}

/// A string-valued SDES extension (mid, rid, repaired rid): the bytes up to the first NUL, if that is
/// non-empty UTF-8. Senders should not pad these values, but some do with trailing zeros.
pub fn string(value: &[u8]) -> Option<&str> {
    let end = value.iter().position(|&b| b == 0).unwrap_or(value.len());
    match std::str::from_utf8(&value[..end]) {
        Ok(s) if !s.is_empty() => Some(s),
        _ => None,
    }
}

/// The 24-bit abs-send-time: seconds in 6.18 fixed point, wrapping every 64 s. The value is 3 bytes.
pub fn abs_send_time(value: &[u8]) -> Option<u32> {
    match *value {
        [a, b, c] => Some(u32::from_be_bytes([0, a, b, c])),
        _ => None,
    }
}

/// Writes a 24-bit abs-send-time into a 3-byte value; `false` if the value is not 3 bytes.
pub fn write_abs_send_time(value: &mut [u8], abs_send_time: u32) -> bool {
    let Ok(v) = <&mut [u8; 3]>::try_from(value) else {
        return false;
    };
    let [_, a, b, c] = abs_send_time.to_be_bytes();
    *v = [a, b, c];
    true
}

/// The abs-send-time encoding of a time (any epoch): its 6.18 fixed-point seconds modulo 64 s.
pub fn abs_send_time_from(time: Duration) -> u32 {
    let fixed = (time.as_nanos() << 18) / 1_000_000_000;
    (fixed & 0x00ff_ffff) as u32
}

/// The transport-wide-cc sequence number: the first 2 bytes of the value (version 2 of the extension
/// appends a 2-byte feedback request, which is ignored here).
pub fn transport_wide_seq(value: &[u8]) -> Option<u16> {
    match *value {
        [a, b] | [a, b, _, _] => Some(u16::from_be_bytes([a, b])),
        _ => None,
    }
}

/// Writes a transport-wide-cc sequence number into the first 2 bytes of the value; `false` if the value is
/// neither 2 nor 4 bytes.
pub fn write_transport_wide_seq(value: &mut [u8], seq: u16) -> bool {
    if value.len() != 2 && value.len() != 4 {
        return false;
    }
    value[..2].copy_from_slice(&seq.to_be_bytes());
    true
}

/// The client-to-mixer audio level (RFC 6464 §3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct AudioLevel {
    /// The V bit: the sender's voice activity detection found speech.
    pub voice: bool,
    /// The level in -dBov, 0 (loudest) to 127 (silence).
    pub level: u8,
}

impl AudioLevel {
    /// Decodes the first byte of the value (RFC 6464 allows padding after it).
    pub fn parse(value: &[u8]) -> Option<Self> {
        let &b = value.first()?;
        Some(Self {
            voice: b & 0x80 != 0,
            level: b & 0x7f,
        })
    }
}

/// The coordination of video orientation byte (3GPP TS 26.114 §7.4.5: `0 0 0 0 C F R1 R0`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct VideoOrientation {
    /// C: the back-facing camera (front-facing when false).
    pub back_camera: bool,
    /// F: the picture is flipped horizontally.
    pub flip: bool,
    /// R1 R0: clockwise rotation the receiver applies, in degrees (0, 90, 180 or 270).
    pub rotation: u16,
}

impl VideoOrientation {
    /// Decodes the first byte of the value.
    pub fn parse(value: &[u8]) -> Option<Self> {
        let &b = value.first()?;
        Some(Self {
            back_camera: b & 0x08 != 0,
            flip: b & 0x04 != 0,
            rotation: u16::from(b & 0x03) * 90,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strings() {
        assert_eq!(string(b"audio"), Some("audio"));
        assert_eq!(string(b"hi\0\0"), Some("hi"));
        assert_eq!(string(b""), None);
        assert_eq!(string(b"\0abc"), None);
        assert_eq!(string(&[0xff, 0xfe]), None);
    }

    #[test]
    fn abs_send_time_round_trip() {
        assert_eq!(abs_send_time(&[0x12, 0x34, 0x56]), Some(0x12_3456));
        assert_eq!(abs_send_time(&[0x12, 0x34]), None);
        let mut v = [0u8; 3];
        assert!(write_abs_send_time(&mut v, 0xAB_CDEF));
        assert_eq!(v, [0xAB, 0xCD, 0xEF]);
        assert!(!write_abs_send_time(&mut [0u8; 4], 1));
    }

    #[test]
    fn abs_send_time_encoding() {
        // 1.5 s = 1.5 * 2^18; 64 s wraps to 0.
        assert_eq!(abs_send_time_from(Duration::from_millis(1500)), 3 << 17);
        assert_eq!(abs_send_time_from(Duration::from_secs(64)), 0);
        assert_eq!(abs_send_time_from(Duration::from_secs(65)), 1 << 18);
    }

    #[test]
    fn transport_wide_seq_values() {
        assert_eq!(transport_wide_seq(&[0x01, 0x02]), Some(0x0102));
        assert_eq!(transport_wide_seq(&[0x01, 0x02, 0x80, 0x05]), Some(0x0102));
        assert_eq!(transport_wide_seq(&[0x01]), None);
        let mut v = [0u8; 2];
        assert!(write_transport_wide_seq(&mut v, 0xBEEF));
        assert_eq!(v, [0xBE, 0xEF]);
        assert!(!write_transport_wide_seq(&mut [0u8; 3], 1));
    }

    /// RFC 6464 §3: V=1, level 0x21 (-33 dBov) as one byte `0xA1`.
    #[test]
    fn audio_level_rfc6464() {
        assert_eq!(
            AudioLevel::parse(&[0xA1]),
            Some(AudioLevel {
                voice: true,
                level: 33
            })
        );
        assert_eq!(
            AudioLevel::parse(&[0x7F, 0, 0]),
            Some(AudioLevel {
                voice: false,
                level: 127
            })
        );
        assert_eq!(AudioLevel::parse(&[]), None);
    }

    #[test]
    fn video_orientation_bits() {
        let v = VideoOrientation::parse(&[0x0D]).unwrap();
        assert_eq!(
            v,
            VideoOrientation {
                back_camera: true,
                flip: true,
                rotation: 90
            }
        );
        assert_eq!(VideoOrientation::parse(&[0x03]).unwrap().rotation, 270);
        assert_eq!(VideoOrientation::parse(&[]), None);
    }
}
