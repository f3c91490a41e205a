//! RFC 5769 test vectors and codec edge cases.

use super::*;

const PASSWORD: &str = "VOkJxbRl1RmTxUk/WvJxBt";

/// RFC 5769 §2.1: sample request.
const REQUEST: [u8; 108] = [
    0x00, 0x01, 0x00, 0x58, 0x21, 0x12, 0xa4, 0x42, 0xb7, 0xe7, 0xa7, 0x01, 0xbc, 0x34, 0xd6, 0x86,
    0xfa, 0x87, 0xdf, 0xae, 0x80, 0x22, 0x00, 0x10, 0x53, 0x54, 0x55, 0x4e, 0x20, 0x74, 0x65, 0x73,
    0x74, 0x20, 0x63, 0x6c, 0x69, 0x65, 0x6e, 0x74, 0x00, 0x24, 0x00, 0x04, 0x6e, 0x00, 0x01, 0xff,
    0x80, 0x29, 0x00, 0x08, 0x93, 0x2f, 0xf9, 0xb1, 0x51, 0x26, 0x3b, 0x36, 0x00, 0x06, 0x00, 0x09,
    0x65, 0x76, 0x74, 0x6a, 0x3a, 0x68, 0x36, 0x76, 0x59, 0x20, 0x20, 0x20, 0x00, 0x08, 0x00, 0x14,
    0x9a, 0xea, 0xa7, 0x0c, 0xbf, 0xd8, 0xcb, 0x56, 0x78, 0x1e, 0xf2, 0xb5, 0xb2, 0xd3, 0xf2, 0x49,
    0xc1, 0xb5, 0x71, 0xa2, 0x80, 0x28, 0x00, 0x04, 0xe5, 0x7a, 0x3b, 0xcf,
];

/// RFC 5769 §2.2: sample IPv4 response.
const RESPONSE_V4: [u8; 80] = [
    0x01, 0x01, 0x00, 0x3c, 0x21, 0x12, 0xa4, 0x42, 0xb7, 0xe7, 0xa7, 0x01, 0xbc, 0x34, 0xd6, 0x86,
    0xfa, 0x87, 0xdf, 0xae, 0x80, 0x22, 0x00, 0x0b, 0x74, 0x65, 0x73, 0x74, 0x20, 0x76, 0x65, 0x63,
    0x74, 0x6f, 0x72, 0x20, 0x00, 0x20, 0x00, 0x08, 0x00, 0x01, 0xa1, 0x47, 0xe1, 0x12, 0xa6, 0x43,
    0x00, 0x08, 0x00, 0x14, 0x2b, 0x91, 0xf5, 0x99, 0xfd, 0x9e, 0x90, 0xc3, 0x8c, 0x74, 0x89, 0xf9,
    0x2a, 0xf9, 0xba, 0x53, 0xf0, 0x6b, 0xe7, 0xd7, 0x80, 0x28, 0x00, 0x04, 0xc0, 0x7d, 0x4c, 0x96,
];

/// RFC 5769 §2.3: sample IPv6 response.
const RESPONSE_V6: [u8; 92] = [
    0x01, 0x01, 0x00, 0x48, 0x21, 0x12, 0xa4, 0x42, 0xb7, 0xe7, 0xa7, 0x01, 0xbc, 0x34, 0xd6, 0x86,
    0xfa, 0x87, 0xdf, 0xae, 0x80, 0x22, 0x00, 0x0b, 0x74, 0x65, 0x73, 0x74, 0x20, 0x76, 0x65, 0x63,
    0x74, 0x6f, 0x72, 0x20, 0x00, 0x20, 0x00, 0x14, 0x00, 0x02, 0xa1, 0x47, 0x01, 0x13, 0xa9, 0xfa,
    0xa5, 0xd3, 0xf1, 0x79, 0xbc, 0x25, 0xf4, 0xb5, 0xbe, 0xd2, 0xb9, 0xd9, 0x00, 0x08, 0x00, 0x14,
    0xa3, 0x82, 0x95, 0x4e, 0x4b, 0xe6, 0x7b, 0xf1, 0x17, 0x84, 0xc9, 0x7c, 0x82, 0x92, 0xc2, 0x75,
    0xbf, 0xe3, 0xed, 0x41, 0x80, 0x28, 0x00, 0x04, 0xc8, 0xfb, 0x0b, 0x4c,
];

const TID: [u8; 12] = [
    0xb7, 0xe7, 0xa7, 0x01, 0xbc, 0x34, 0xd6, 0x86, 0xfa, 0x87, 0xdf, 0xae,
];

fn v4() -> SocketAddr {
    "192.0.2.1:32853".parse().unwrap()
}

fn v6() -> SocketAddr {
    "[2001:db8:1234:5678:11:2233:4455:6677]:32853"
        .parse()
        .unwrap()
}

#[test]
fn rfc5769_request_parses_and_authenticates() {
    let m = StunMessage::parse(&REQUEST).unwrap();
    assert_eq!(m.msg_type(), BINDING_REQUEST);
    assert_eq!(m.transaction_id(), &TID);
    assert_eq!(m.username(), Some(&b"evtj:h6vY"[..]));
    assert_eq!(m.priority(), Some(0x6e00_01ff));
    assert_eq!(m.ice_controlled(), Some(0x932f_f9b1_5126_3b36));
    assert_eq!(m.ice_controlling(), None);
    assert!(!m.use_candidate());
    assert!(m.check_fingerprint());
    assert!(m.check_integrity(&integrity_key(PASSWORD)));
    assert!(!m.check_integrity(&integrity_key("VOkJxbRl1RmTxUk/WvJxBu")));
}

#[test]
fn rfc5769_responses_parse_and_authenticate() {
    for (bytes, addr) in [(&RESPONSE_V4[..], v4()), (&RESPONSE_V6[..], v6())] {
        let m = StunMessage::parse(bytes).unwrap();
        assert_eq!(m.msg_type(), BINDING_SUCCESS);
        assert_eq!(m.xor_mapped_address(), Some(addr));
        assert!(m.check_fingerprint());
        assert!(m.check_integrity(&integrity_key(PASSWORD)));
    }
}

/// The writer reproduces the RFC 5769 responses byte for byte (the vectors pad SOFTWARE with a space).
#[test]
fn rfc5769_responses_are_produced_byte_exact() {
    for (expected, addr) in [(&RESPONSE_V4[..], v4()), (&RESPONSE_V6[..], v6())] {
        let mut buf = [0u8; 128];
        let mut w = StunWriter::new(&mut buf, BINDING_SUCCESS, &TID).unwrap();
        w.add(ATTR_SOFTWARE, b"test vector").unwrap();
        w.buf[w.len - 1] = 0x20;
        w.add_xor_mapped_address(addr).unwrap();
        w.add_integrity(&integrity_key(PASSWORD)).unwrap();
        w.add_fingerprint().unwrap();
        let n = w.finish();
        assert_eq!(&buf[..n], expected);
    }
}

#[test]
fn success_response_layout() {
    let mut buf = [0u8; 80];
    let key = integrity_key(PASSWORD);
    let n = write_binding_success(&mut buf, &TID, v4(), &key).unwrap();
    assert_eq!(n, 20 + 12 + 24 + 8);
    let m = StunMessage::parse(&buf[..n]).unwrap();
    assert_eq!(m.xor_mapped_address(), Some(v4()));
    assert!(m.check_integrity(&key) && m.check_fingerprint());
    let n6 = write_binding_success(&mut buf, &TID, v6(), &key).unwrap();
    assert_eq!(n6, 76);
    assert_eq!(
        write_binding_success(&mut [0u8; 75], &TID, v6(), &key),
        Err(BufferTooSmall {
            needed: 76,
            available: 75
        })
    );
}

#[test]
fn error_response_layout() {
    let mut buf = [0u8; 64];
    let n = write_binding_error(&mut buf, &TID, 401, "Unauthorized").unwrap();
    assert_eq!(n, 20 + 4 + 16 + 8);
    let m = StunMessage::parse(&buf[..n]).unwrap();
    assert_eq!(m.msg_type(), BINDING_ERROR);
    assert_eq!(m.error_code(), Some(401));
    assert!(m.check_fingerprint() && !m.has_integrity());
}

#[test]
fn malformed_messages_are_rejected() {
    assert_eq!(StunMessage::parse(&REQUEST[..19]), Err(StunError::NotStun));
    // Length field disagrees with the datagram.
    assert_eq!(StunMessage::parse(&REQUEST[..104]), Err(StunError::NotStun));
    let mut bad_cookie = REQUEST;
    bad_cookie[4] ^= 1;
    assert_eq!(StunMessage::parse(&bad_cookie), Err(StunError::NotStun));
    // An attribute after FINGERPRINT.
    let mut after = [0u8; 112];
    after[..108].copy_from_slice(&REQUEST);
    after[3] = 0x5c;
    after[108..110].copy_from_slice(&ATTR_USE_CANDIDATE.to_be_bytes());
    assert_eq!(
        StunMessage::parse(&after),
        Err(StunError::FingerprintNotLast)
    );
    // USERNAME claims more bytes than remain.
    let mut long = REQUEST;
    long[62..64].copy_from_slice(&200u16.to_be_bytes());
    assert!(matches!(
        StunMessage::parse(&long),
        Err(StunError::Truncated { .. })
    ));
    // A flipped bit breaks the fingerprint and the integrity.
    let mut flipped = REQUEST;
    flipped[30] ^= 0x01;
    let m = StunMessage::parse(&flipped).unwrap();
    assert!(!m.check_fingerprint());
    assert!(!m.check_integrity(&integrity_key(PASSWORD)));
}

#[test]
fn local_ufrag_for_the_demux_index() {
    assert_eq!(local_ufrag_of(&REQUEST), Some(&b"evtj"[..]));
    assert_eq!(local_ufrag_of(&RESPONSE_V4), None);
    assert_eq!(local_ufrag_of(&REQUEST[..40]), None);
    let mut buf = [0u8; 64];
    let mut w = StunWriter::new(&mut buf, BINDING_REQUEST, &TID).unwrap();
    w.add(ATTR_USERNAME, b"nocolon").unwrap();
    let n = w.finish();
    assert_eq!(local_ufrag_of(&buf[..n]), None);
}

impl PartialEq for StunMessage<'_> {
    fn eq(&self, other: &Self) -> bool {
        self.raw == other.raw
    }
}
