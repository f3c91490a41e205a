//! RFC 7983 §7 first-byte classification and RFC 5761 §4 RTP/RTCP separation.
//!
//! | first byte | protocol |
//! |-----------:|----------|
//! | 0–3        | STUN |
//! | 16–19      | ZRTP (not served: [`PacketKind::Unknown`]) |
//! | 20–63      | DTLS |
//! | 64–79      | TURN channel data (not served: [`PacketKind::Unknown`]) |
//! | 128–191    | RTP or RTCP: RTCP when the second byte (marker bit + payload type) is in 192–223 |
//!
//! A datagram shorter than the fixed header of the protocol its first byte names is [`PacketKind::Unknown`]:
//! STUN 20 bytes (RFC 8489 §5), DTLS 13 bytes (RFC 6347 §4.1 record header), RTP 12 bytes (RFC 3550 §5.1),
//! RTCP 8 bytes (RFC 3550 §6.4.2, an empty receiver report).

/// What a datagram carries, by its first bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PacketKind {
    /// A STUN message (ICE connectivity checks).
    Stun,
    /// A DTLS record.
    Dtls,
    /// An RTP packet.
    Rtp,
    /// An RTCP (compound) packet.
    Rtcp,
    /// Anything else, including datagrams too short for the kind their first byte names.
    Unknown,
}

/// Smallest STUN message: the 20-byte header.
const STUN_MIN: usize = 20;
/// Smallest DTLS record: the 13-byte record header.
const DTLS_MIN: usize = 13;
/// Smallest RTP packet: the 12-byte fixed header.
const RTP_MIN: usize = 12;
/// Smallest RTCP packet: an 8-byte receiver report without report blocks.
const RTCP_MIN: usize = 8;

/// Classifies one received datagram by its first byte (RFC 7983 §7) and, for RTP/RTCP, its second byte
/// (RFC 5761 §4: payload types 64–95 are not used by RTP, so 192–223 in the second byte is RTCP).
pub fn classify(datagram: &[u8]) -> PacketKind {
    let Some(&first) = datagram.first() else {
        return PacketKind::Unknown;
    };
    let len = datagram.len();
    match first {
        0..=3 if len >= STUN_MIN => PacketKind::Stun,
        20..=63 if len >= DTLS_MIN => PacketKind::Dtls,
        128..=191 => match datagram.get(1) {
            Some(192..=223) if len >= RTCP_MIN => PacketKind::Rtcp,
            Some(192..=223) => PacketKind::Unknown,
            Some(_) if len >= RTP_MIN => PacketKind::Rtp,
            _ => PacketKind::Unknown,
        },
        _ => PacketKind::Unknown,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::net::noise::XorShift;

    fn with_first(first: u8, second: u8, len: usize) -> Vec<u8> {
        let mut v = vec![0u8; len];
        if len > 0 {
            v[0] = first;
        }
        if len > 1 {
            v[1] = second;
        }
        v
    }

    #[test]
    fn rfc7983_ranges() {
        for b in 0..=255u8 {
            let got = classify(&with_first(b, 96, 64));
            let want = match b {
                0..=3 => PacketKind::Stun,
                20..=63 => PacketKind::Dtls,
                128..=191 => PacketKind::Rtp,
                _ => PacketKind::Unknown,
            };
            assert_eq!(got, want, "first byte {b}");
        }
    }

    #[test]
    fn zrtp_and_turn_channel_are_unknown() {
        for b in (16..=19).chain(64..=79) {
            assert_eq!(classify(&with_first(b, 0, 64)), PacketKind::Unknown);
        }
    }

    #[test]
    fn rfc5761_rtp_rtcp_split() {
        for second in 0..=255u8 {
            let want = if (192..=223).contains(&second) {
                PacketKind::Rtcp
            } else {
                PacketKind::Rtp
            };
            assert_eq!(
                classify(&with_first(0x80, second, 64)),
                want,
                "second byte {second}"
            );
        }
        // An RTP packet with the marker bit set and payload type 96 (second byte 224) stays RTP.
        assert_eq!(classify(&with_first(0x80, 0x80 | 96, 12)), PacketKind::Rtp);
        // SR, RR, SDES, BYE, RTPFB, PSFB.
        for pt in [200u8, 201, 202, 203, 205, 206] {
            assert_eq!(classify(&with_first(0x81, pt, 8)), PacketKind::Rtcp);
        }
    }

    #[test]
    fn too_short_is_unknown() {
        assert_eq!(classify(&[]), PacketKind::Unknown);
        assert_eq!(classify(&with_first(0x00, 0x01, 19)), PacketKind::Unknown);
        assert_eq!(classify(&with_first(0x00, 0x01, 20)), PacketKind::Stun);
        assert_eq!(classify(&with_first(22, 0xfe, 12)), PacketKind::Unknown);
        assert_eq!(classify(&with_first(22, 0xfe, 13)), PacketKind::Dtls);
        assert_eq!(classify(&with_first(0x80, 96, 11)), PacketKind::Unknown);
        assert_eq!(classify(&with_first(0x80, 96, 12)), PacketKind::Rtp);
        assert_eq!(classify(&with_first(0x80, 200, 7)), PacketKind::Unknown);
        assert_eq!(classify(&with_first(0x80, 200, 8)), PacketKind::Rtcp);
        assert_eq!(classify(&[0x80]), PacketKind::Unknown);
    }

    #[test]
    fn noise_never_panics() {
        let mut rng = XorShift::new(0x7983);
        let mut buf = [0u8; 64];
        for _ in 0..20_000 {
            let len = rng.below(buf.len() + 1);
            rng.fill(&mut buf[..len]);
            let _ = classify(&buf[..len]);
        }
    }
}
