//! Session-level behaviour: published vectors through the packet layout, round trips of every profile,
//! rollover, replay, tampering, wrong keys, truncation and noise.

use super::*;

/// Decodes hex, ignoring whitespace.
pub(crate) fn hex(text: &str) -> Vec<u8> {
    let digits: Vec<u8> = text.bytes().filter(|b| !b.is_ascii_whitespace()).collect();
    digits
        .chunks(2)
        .map(|pair| u8::from_str_radix(std::str::from_utf8(pair).unwrap(), 16).unwrap())
        .collect()
}

/// A deterministic byte generator (xorshift64*), so noise tests are reproducible.
pub(crate) struct Noise(u64);

impl Noise {
    pub(crate) fn new(seed: u64) -> Self {
        Noise(seed | 1)
    }

    pub(crate) fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    pub(crate) fn fill(&mut self, buf: &mut [u8]) {
        for byte in buf {
            *byte = self.next_u64() as u8;
        }
    }
}

fn key_and_salt(profile: SrtpProfile, seed: u8) -> (Vec<u8>, Vec<u8>) {
    let key = (0..profile.key_len())
        .map(|i| seed.wrapping_add(i as u8))
        .collect();
    let salt = (0..profile.salt_len())
        .map(|i| seed.wrapping_mul(3).wrapping_add(i as u8 * 7))
        .collect();
    (key, salt)
}

fn pair(profile: SrtpProfile, options: SrtpSessionOptions) -> (SrtpSession, SrtpSession) {
    let (key, salt) = key_and_salt(profile, 0x42);
    (
        SrtpSession::with_options(profile, &key, &salt, options).unwrap(),
        SrtpSession::with_options(profile, &key, &salt, options).unwrap(),
    )
}

/// An RTP packet with 2 CSRCs and a one-byte-header extension, so header-length parsing is exercised.
fn rtp_packet(ssrc: u32, seq: u16, payload_len: usize) -> Vec<u8> {
    let mut packet = vec![0x92, 96]; // V=2, X=1, CC=2
    packet.extend_from_slice(&seq.to_be_bytes());
    packet.extend_from_slice(&(u32::from(seq) * 3000).to_be_bytes());
    packet.extend_from_slice(&ssrc.to_be_bytes());
    packet.extend_from_slice(&[0, 0, 0, 1, 0, 0, 0, 2]);
    packet.extend_from_slice(&[0xbe, 0xde, 0, 1, 0x10, 0xaa, 0, 0]);
    packet.extend((0..payload_len).map(|i| (i as u8) ^ (seq as u8)));
    packet
}

fn rtcp_packet(ssrc: u32) -> Vec<u8> {
    // A receiver report with one block.
    let mut packet = vec![0x81, 201, 0, 7];
    packet.extend_from_slice(&ssrc.to_be_bytes());
    packet.extend((0..24).map(|i| i as u8));
    packet
}

fn protect_rtp(session: &mut SrtpSession, packet: &[u8]) -> Vec<u8> {
    let mut buf = packet.to_vec();
    buf.resize(packet.len() + MAX_TRAILER_LEN, 0);
    let len = session.protect_rtp(&mut buf, packet.len()).unwrap();
    assert_eq!(len, packet.len() + session.profile().rtp_overhead());
    buf.truncate(len);
    buf
}

fn protect_rtcp(session: &mut SrtpSession, packet: &[u8]) -> Vec<u8> {
    let mut buf = packet.to_vec();
    buf.resize(packet.len() + MAX_TRAILER_LEN, 0);
    let len = session.protect_rtcp(&mut buf, packet.len()).unwrap();
    assert_eq!(len, packet.len() + session.profile().rtcp_overhead());
    buf.truncate(len);
    buf
}

fn unprotect_rtp(session: &mut SrtpSession, packet: &[u8]) -> Result<Vec<u8>, SrtpError> {
    let mut buf = packet.to_vec();
    let len = session.unprotect_rtp(&mut buf)?;
    buf.truncate(len);
    Ok(buf)
}

fn unprotect_rtcp(session: &mut SrtpSession, packet: &[u8]) -> Result<Vec<u8>, SrtpError> {
    let mut buf = packet.to_vec();
    let len = session.unprotect_rtcp(&mut buf)?;
    buf.truncate(len);
    Ok(buf)
}

// ---- Published vectors ----------------------------------------------------------------------------------

/// libsrtp's `srtp_validate` known answer for AES_CM_128_HMAC_SHA1_80 from a master key: checks the KDF,
/// the IV, the keystream and the tag through the whole packet path.
#[test]
fn libsrtp_aes_cm_80_known_answer_from_the_master_key() {
    let key = hex("e1f97a0d3e018be0d64fa32c06de4139");
    let salt = hex("0ec675ad498afeebb6960b3aabe6");
    let plain = hex("800f1234 decafbad cafebabe abababab abababab abababab abababab");
    let protected = hex(
        "800f1234 decafbad cafebabe 4e55dc4c e79978d8 8ca4d215 949d2402 b78d6acc 99ea179b 8dbb",
    );
    let profile = SrtpProfile::AesCm128HmacSha1_80;
    let mut tx = SrtpSession::new(profile, &key, &salt).unwrap();
    let mut rx = SrtpSession::new(profile, &key, &salt).unwrap();
    assert_eq!(protect_rtp(&mut tx, &plain), protected);
    assert_eq!(unprotect_rtp(&mut rx, &protected).unwrap(), plain);
}

const RFC7714_KEY_256: &str = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";
const RFC7714_SALT: &str = "517569642070726f2071756f";
const RFC7714_RTP: &str = "8040f17b 8041f8d3 5501a0b2 47616c6c 69612065 7374206f 6d6e6973 20646976
                           69736120 696e2070 61727465 73207472 6573";
const RFC7714_RTCP: &str = "81c8000d 4d617273 4e545031 4e545032 52545020 0000042a 0000e930 4c756e61
                            deadbeef deadbeef deadbeef deadbeef deadbeef";

/// A session keyed with RFC 7714's published *session* keys (its vectors skip the KDF).
fn rfc7714_session(profile: SrtpProfile) -> SrtpSession {
    let key = hex(&RFC7714_KEY_256[..profile.key_len() * 2]);
    let salt: [u8; 12] = hex(RFC7714_SALT).try_into().unwrap();
    assert!(profile.is_aead());
    let transform = Transform::Gcm(Box::new(GcmTransform::from_session_keys(&key, salt)));
    SrtpSession::from_transform(profile, transform, SrtpSessionOptions::default())
}

fn rfc7714_case(profile: SrtpProfile, protected_rtp: &str, protected_rtcp: &str) {
    let (plain_rtp, plain_rtcp) = (hex(RFC7714_RTP), hex(RFC7714_RTCP));
    let (protected_rtp, protected_rtcp) = (hex(protected_rtp), hex(protected_rtcp));

    let mut tx = rfc7714_session(profile);
    assert_eq!(
        protect_rtp(&mut tx, &plain_rtp),
        protected_rtp,
        "§16 encryption"
    );
    // §17 uses SRTCP index 0x5d4: make it the next one our sender hands out.
    tx.rtcp.entry(0x4d617273).or_default().last_sent = 0x5d3;
    assert_eq!(
        protect_rtcp(&mut tx, &plain_rtcp),
        protected_rtcp,
        "§17 encryption"
    );

    let mut rx = rfc7714_session(profile);
    assert_eq!(
        unprotect_rtp(&mut rx, &protected_rtp).unwrap(),
        plain_rtp,
        "§16 decryption"
    );
    assert_eq!(
        unprotect_rtcp(&mut rx, &protected_rtcp).unwrap(),
        plain_rtcp,
        "§17 decryption"
    );

    for (at, packet) in [(20, &protected_rtp), (30, &protected_rtcp)] {
        let mut tampered = packet.clone();
        tampered[at] ^= 0x08;
        let mut rx = rfc7714_session(profile);
        let result = if packet == &protected_rtp {
            unprotect_rtp(&mut rx, &tampered)
        } else {
            unprotect_rtcp(&mut rx, &tampered)
        };
        assert_eq!(result, Err(SrtpError::AuthenticationFailed));
    }
}

/// RFC 7714 §16.1 and §17.1 (AEAD_AES_128_GCM).
#[test]
fn rfc7714_aead_aes_128_gcm_vectors() {
    rfc7714_case(
        SrtpProfile::AeadAes128Gcm,
        "8040f17b 8041f8d3 5501a0b2 f24de3a3 fb34de6c acba861c 9d7e4bca be633bd5 0d294e6f 42a5f47a
         51c7d19b 36de3adf 8833899d 7f27beb1 6a9152cf 765ee439 0cce",
        "81c8000d 4d617273 63e94885 dcdab67c a727d766 2f6b7e99 7ff5c0f7 6c06f32d c676a5f1 730d6fda
         4ce09b46 86303ded 0bb9275b c84aa458 96cf4d2f c5abf872 45d9eade 800005d4",
    );
}

/// RFC 7714 §16.2 and §17.2 (AEAD_AES_256_GCM).
#[test]
fn rfc7714_aead_aes_256_gcm_vectors() {
    rfc7714_case(
        SrtpProfile::AeadAes256Gcm,
        "8040f17b 8041f8d3 5501a0b2 32b1de78 a822fe12 ef9f78fa 332e33aa b1801238 9a58e2f3 b50b2a02
         76ffae0f 1ba63799 b87b7aa3 db36dfff d6b0f9bb 7878d7a7 6c13",
        "81c8000d 4d617273 d50ae4d1 f5ce5d30 4ba297e4 7d470c28 2c3ece5d bffe0a50 a2eaa5c1 110555be
         8415f658 c61de047 6f1b6fad 1d1eb30c 4446839f 57ff6f6c b26ac3be 800005d4",
    );
}

/// RFC 7714 §17.1 also allows unencrypted SRTCP (E = 0): the whole packet and the index word are the AAD.
/// Built here with our own GCM (no published vector), then checked to unprotect to the plain packet.
#[test]
fn unencrypted_gcm_srtcp_is_authenticated_and_passed_through() {
    let profile = SrtpProfile::AeadAes128Gcm;
    let session = rfc7714_session(profile);
    let Transform::Gcm(gcm) = &session.transform else {
        unreachable!()
    };
    let plain = hex(RFC7714_RTCP);
    let word = 0x5d4u32.to_be_bytes();
    let mut aad = plain.clone();
    aad.extend_from_slice(&word);
    let tag = gcm.seal_rtcp(&aad, &mut [], 0x4d617273, 0x5d4);
    let mut packet = plain.clone();
    packet.extend_from_slice(&tag);
    packet.extend_from_slice(&word);

    let mut rx = rfc7714_session(profile);
    assert_eq!(unprotect_rtcp(&mut rx, &packet).unwrap(), plain);
    let mut forged = packet.clone();
    forged[12] ^= 1;
    let mut rx = rfc7714_session(profile);
    assert_eq!(
        unprotect_rtcp(&mut rx, &forged),
        Err(SrtpError::AuthenticationFailed)
    );
}

// ---- Round trips ----------------------------------------------------------------------------------------

#[test]
fn every_profile_round_trips_rtp_and_rtcp() {
    for profile in SrtpProfile::ALL {
        let (mut tx, mut rx) = pair(profile, SrtpSessionOptions::default());
        for seq in 1000..1100u16 {
            for ssrc in [0x1111_1111, 0x2222_2222] {
                let plain = rtp_packet(ssrc, seq, usize::from(seq) % 1200);
                let protected = protect_rtp(&mut tx, &plain);
                if plain.len() > 40 {
                    assert_ne!(
                        protected[40..plain.len()],
                        plain[40..],
                        "{profile:?} left the payload in clear"
                    );
                }
                assert_eq!(
                    protected[..28],
                    plain[..28],
                    "{profile:?} touched the header"
                );
                assert_eq!(
                    unprotect_rtp(&mut rx, &protected).unwrap(),
                    plain,
                    "{profile:?}"
                );
            }
            let plain = rtcp_packet(0x3333_3333);
            let protected = protect_rtcp(&mut tx, &plain);
            assert_eq!(
                unprotect_rtcp(&mut rx, &protected).unwrap(),
                plain,
                "{profile:?} rtcp"
            );
        }
        assert_eq!(rx.ssrc_counts(), (2, 1));
    }
}

#[test]
fn sdes_key_and_salt_and_dtls_material_key_sessions_that_interoperate() {
    for profile in SrtpProfile::ALL {
        let material: Vec<u8> = (0..profile.keying_material_len() as u8).collect();
        let ((client_key, client_salt), (server_key, server_salt)) =
            split_dtls_srtp_keying_material(&material, profile, true).unwrap();
        let (server_local, server_remote) =
            split_dtls_srtp_keying_material(&material, profile, false).unwrap();
        assert_eq!(server_local, (server_key, server_salt));
        assert_eq!(server_remote, (client_key, client_salt));
        // RFC 5764 §4.2 layout: client key, server key, client salt, server salt.
        assert_eq!(client_key[0], 0);
        assert_eq!(server_key[0] as usize, profile.key_len());
        assert_eq!(client_salt[0] as usize, 2 * profile.key_len());
        assert_eq!(
            server_salt[0] as usize,
            2 * profile.key_len() + profile.salt_len()
        );

        // The client's outbound session is the server's inbound one.
        let mut client_tx = SrtpSession::new(profile, client_key, client_salt).unwrap();
        let mut sdes = client_key.to_vec();
        sdes.extend_from_slice(client_salt);
        let mut server_rx =
            SrtpSession::from_key_and_salt(profile, &sdes, SrtpSessionOptions::default()).unwrap();
        let plain = rtp_packet(7, 1, 100);
        let protected = protect_rtp(&mut client_tx, &plain);
        assert_eq!(unprotect_rtp(&mut server_rx, &protected).unwrap(), plain);

        assert!(matches!(
            split_dtls_srtp_keying_material(&material[1..], profile, true),
            Err(SrtpError::InvalidKeyingMaterialLength { .. })
        ));
    }
}

#[test]
fn keys_of_the_wrong_length_are_refused() {
    let profile = SrtpProfile::AeadAes256Gcm;
    assert_eq!(
        SrtpSession::new(profile, &[0; 16], &[0; 12]).unwrap_err(),
        SrtpError::InvalidKeyLength {
            profile,
            expected: 32,
            actual: 16
        }
    );
    assert!(matches!(
        SrtpSession::new(SrtpProfile::AesCm128HmacSha1_80, &[0; 16], &[0; 12]),
        Err(SrtpError::InvalidSaltLength { expected: 14, .. })
    ));
    assert!(matches!(
        SrtpSession::from_key_and_salt(profile, &[0; 43], SrtpSessionOptions::default()),
        Err(SrtpError::InvalidKeyingMaterialLength { expected: 44, .. })
    ));
    let options = SrtpSessionOptions {
        replay_window: MAX_REPLAY_WINDOW + 1,
        ..SrtpSessionOptions::default()
    };
    assert!(matches!(
        SrtpSession::with_options(profile, &[0; 32], &[0; 12], options),
        Err(SrtpError::InvalidReplayWindow { .. })
    ));
}

// ---- Rollover -------------------------------------------------------------------------------------------

#[test]
fn the_rollover_counter_follows_a_sequence_wrap_with_reordering_across_it() {
    for profile in SrtpProfile::ALL {
        let (mut tx, mut rx) = pair(profile, SrtpSessionOptions::default());
        let ssrc = 0xabcd;
        let seqs: Vec<u16> = (65_500..=65_535).chain(0..40).collect();
        let protected: Vec<Vec<u8>> = seqs
            .iter()
            .map(|&seq| protect_rtp(&mut tx, &rtp_packet(ssrc, seq, 50)))
            .collect();
        assert_eq!(tx.rtp[&ssrc].window.highest(), (1 << 16) | 39);

        // Deliver with the packets around the wrap swapped: 65534, 1, 65535, 0, 2 ...
        let mut order: Vec<usize> = (0..protected.len()).collect();
        let wrap = 36; // position of seq 0
        order.swap(wrap - 1, wrap + 1);
        for i in order {
            let plain = unprotect_rtp(&mut rx, &protected[i])
                .unwrap_or_else(|e| panic!("{profile:?} seq {}: {e}", seqs[i]));
            assert_eq!(plain, rtp_packet(ssrc, seqs[i], 50));
        }
        assert_eq!(rx.rtp[&ssrc].window.highest(), (1 << 16) | 39);

        // A packet protected with ROC 1 is refused by a receiver that starts after it and assumes ROC 0.
        let mut late_rx = SrtpSession::new(
            profile,
            &key_and_salt(profile, 0x42).0,
            &key_and_salt(profile, 0x42).1,
        )
        .unwrap();
        assert_eq!(
            unprotect_rtp(&mut late_rx, &protected[wrap + 5]),
            Err(SrtpError::AuthenticationFailed)
        );
    }
}

#[test]
fn a_long_stream_wraps_the_sequence_several_times() {
    let (mut tx, mut rx) = pair(SrtpProfile::AeadAes128Gcm, SrtpSessionOptions::default());
    let mut seq = 65_000u16;
    for _ in 0..67_000 {
        let plain = rtp_packet(5, seq, 8);
        let protected = protect_rtp(&mut tx, &plain);
        assert_eq!(unprotect_rtp(&mut rx, &protected).unwrap(), plain);
        seq = seq.wrapping_add(1);
    }
    assert_eq!(rx.rtp[&5].window.highest() >> 16, 2);
}

// ---- Replay ---------------------------------------------------------------------------------------------

#[test]
fn duplicates_and_too_old_packets_are_refused_reordered_ones_accepted() {
    let options = SrtpSessionOptions {
        replay_window: 128,
        ..SrtpSessionOptions::default()
    };
    for profile in SrtpProfile::ALL {
        let (mut tx, mut rx) = pair(profile, options);
        let protected: Vec<Vec<u8>> = (0..300u16)
            .map(|seq| protect_rtp(&mut tx, &rtp_packet(9, seq, 20)))
            .collect();
        // Reordered inside the window: 10, then 5..10.
        unprotect_rtp(&mut rx, &protected[10]).unwrap();
        for packet in &protected[5..10] {
            unprotect_rtp(&mut rx, packet).unwrap();
        }
        assert_eq!(
            unprotect_rtp(&mut rx, &protected[7]),
            Err(SrtpError::ReplayDetected { ssrc: 9, index: 7 })
        );
        unprotect_rtp(&mut rx, &protected[200]).unwrap();
        // 200 - 73 = 127 behind: inside; 200 - 72 = 128 behind: too old.
        unprotect_rtp(&mut rx, &protected[73]).unwrap();
        assert_eq!(
            unprotect_rtp(&mut rx, &protected[72]),
            Err(SrtpError::ReplayDetected { ssrc: 9, index: 72 })
        );
        // A refused replay leaves the state as it was.
        unprotect_rtp(&mut rx, &protected[201]).unwrap();

        // SRTCP: the same on the SRTCP index.
        let packets: Vec<Vec<u8>> = (0..3)
            .map(|_| protect_rtcp(&mut tx, &rtcp_packet(9)))
            .collect();
        unprotect_rtcp(&mut rx, &packets[1]).unwrap();
        unprotect_rtcp(&mut rx, &packets[0]).unwrap();
        assert_eq!(
            unprotect_rtcp(&mut rx, &packets[1]),
            Err(SrtpError::ReplayDetected { ssrc: 9, index: 2 })
        );
        unprotect_rtcp(&mut rx, &packets[2]).unwrap();
    }
}

#[test]
fn replay_protection_can_be_turned_off() {
    let options = SrtpSessionOptions {
        replay_window: 0,
        ..SrtpSessionOptions::default()
    };
    let (mut tx, mut rx) = pair(SrtpProfile::AesCm128HmacSha1_80, options);
    let protected = protect_rtp(&mut tx, &rtp_packet(1, 1, 10));
    unprotect_rtp(&mut rx, &protected).unwrap();
    unprotect_rtp(&mut rx, &protected).unwrap();
}

// ---- Authentication -------------------------------------------------------------------------------------

#[test]
fn tampering_anywhere_fails_authentication_and_changes_no_state() {
    for profile in SrtpProfile::ALL {
        let (mut tx, mut rx) = pair(profile, SrtpSessionOptions::default());
        let rtp = protect_rtp(&mut tx, &rtp_packet(3, 77, 40));
        let rtcp = protect_rtcp(&mut tx, &rtcp_packet(3));
        for at in [0, 3, 11, 20, 30, 40, rtp.len() - 1] {
            let mut tampered = rtp.clone();
            tampered[at] ^= 0x10;
            let result = unprotect_rtp(&mut rx, &tampered);
            assert!(
                matches!(
                    result,
                    Err(SrtpError::AuthenticationFailed | SrtpError::MalformedHeader)
                ),
                "{profile:?} byte {at}: {result:?}"
            );
        }
        for at in [1, 8, 20, rtcp.len() - 1] {
            let mut tampered = rtcp.clone();
            tampered[at] ^= 0x01;
            assert_eq!(
                unprotect_rtcp(&mut rx, &tampered),
                Err(SrtpError::AuthenticationFailed),
                "{profile:?} rtcp byte {at}"
            );
        }
        // The SSRC whose forgeries failed was never registered; the genuine packets still pass.
        assert_eq!(rx.ssrc_counts(), (0, 0));
        unprotect_rtp(&mut rx, &rtp).unwrap();
        unprotect_rtcp(&mut rx, &rtcp).unwrap();
    }
}

#[test]
fn a_wrong_key_fails_authentication() {
    for profile in SrtpProfile::ALL {
        let (key, salt) = key_and_salt(profile, 1);
        let (other_key, other_salt) = key_and_salt(profile, 2);
        let mut tx = SrtpSession::new(profile, &key, &salt).unwrap();
        let protected = protect_rtp(&mut tx, &rtp_packet(3, 1, 40));
        let rtcp = protect_rtcp(&mut tx, &rtcp_packet(3));
        let mut wrong_key = SrtpSession::new(profile, &other_key, &salt).unwrap();
        let mut wrong_salt = SrtpSession::new(profile, &key, &other_salt).unwrap();
        for rx in [&mut wrong_key, &mut wrong_salt] {
            assert_eq!(
                unprotect_rtp(rx, &protected),
                Err(SrtpError::AuthenticationFailed)
            );
            assert_eq!(
                unprotect_rtcp(rx, &rtcp),
                Err(SrtpError::AuthenticationFailed)
            );
        }
    }
}

#[test]
fn the_32_bit_profile_uses_a_short_rtp_tag_and_an_80_bit_rtcp_tag() {
    let (mut tx, _) = pair(
        SrtpProfile::AesCm128HmacSha1_32,
        SrtpSessionOptions::default(),
    );
    let rtp = rtp_packet(1, 1, 10);
    assert_eq!(protect_rtp(&mut tx, &rtp).len(), rtp.len() + 4);
    let rtcp = rtcp_packet(1);
    assert_eq!(protect_rtcp(&mut tx, &rtcp).len(), rtcp.len() + 4 + 10);
}

// ---- Limits and malformed input -------------------------------------------------------------------------

#[test]
fn new_ssrcs_beyond_the_limit_are_refused_until_one_is_removed() {
    let options = SrtpSessionOptions {
        max_ssrcs: 3,
        ..SrtpSessionOptions::default()
    };
    let (mut tx, mut rx) = pair(SrtpProfile::AeadAes128Gcm, options);
    for ssrc in 1..=3 {
        let protected = protect_rtp(&mut tx, &rtp_packet(ssrc, 1, 10));
        unprotect_rtp(&mut rx, &protected).unwrap();
    }
    let mut buf = rtp_packet(4, 1, 10);
    let len = buf.len();
    buf.resize(len + MAX_TRAILER_LEN, 0);
    assert_eq!(
        tx.protect_rtp(&mut buf, len),
        Err(SrtpError::UnknownSsrcLimit { ssrc: 4, limit: 3 })
    );
    tx.remove_ssrc(1);
    let fourth = protect_rtp(&mut tx, &rtp_packet(4, 1, 10));
    assert_eq!(
        unprotect_rtp(&mut rx, &fourth),
        Err(SrtpError::UnknownSsrcLimit { ssrc: 4, limit: 3 })
    );
    rx.remove_ssrc(1);
    unprotect_rtp(&mut rx, &fourth).unwrap();
}

#[test]
fn protect_refuses_a_buffer_without_room_for_the_trailer() {
    for profile in SrtpProfile::ALL {
        let (mut tx, _) = pair(profile, SrtpSessionOptions::default());
        let mut rtp = rtp_packet(1, 1, 10);
        let len = rtp.len();
        rtp.resize(len + profile.rtp_overhead() - 1, 0);
        assert!(matches!(
            tx.protect_rtp(&mut rtp, len),
            Err(SrtpError::BufferTooSmall { .. })
        ));
        assert!(matches!(
            tx.protect_rtp(&mut rtp, usize::MAX),
            Err(SrtpError::BufferTooSmall { .. })
        ));
        let mut rtcp = rtcp_packet(1);
        let len = rtcp.len();
        rtcp.resize(len + profile.rtcp_overhead() - 1, 0);
        assert!(matches!(
            tx.protect_rtcp(&mut rtcp, len),
            Err(SrtpError::BufferTooSmall { .. })
        ));
    }
}

#[test]
fn malformed_headers_are_refused() {
    let (mut tx, mut rx) = pair(
        SrtpProfile::AesCm128HmacSha1_80,
        SrtpSessionOptions::default(),
    );
    let mut buf = [0u8; 64];
    buf[0] = 0x40; // version 1
    assert_eq!(
        tx.protect_rtp(&mut buf, 20),
        Err(SrtpError::MalformedHeader)
    );
    assert_eq!(
        tx.protect_rtcp(&mut buf, 20),
        Err(SrtpError::MalformedHeader)
    );
    buf[0] = 0x8f; // 15 CSRCs = 72 header bytes in a 30-byte packet
    assert_eq!(
        rx.unprotect_rtp(&mut buf[..30]),
        Err(SrtpError::MalformedHeader)
    );
    buf[0] = 0x90; // extension whose length runs past the end
    buf[14] = 0xff;
    buf[15] = 0xff;
    assert_eq!(
        rx.unprotect_rtp(&mut buf[..40]),
        Err(SrtpError::MalformedHeader)
    );
    assert_eq!(
        tx.protect_rtp(&mut buf, 11),
        Err(SrtpError::TooShort { len: 11, min: 12 })
    );
}

#[test]
fn every_truncation_of_a_valid_packet_is_an_error_not_a_panic() {
    for profile in SrtpProfile::ALL {
        let (mut tx, mut rx) = pair(profile, SrtpSessionOptions::default());
        let rtp = protect_rtp(&mut tx, &rtp_packet(1, 1, 30));
        let rtcp = protect_rtcp(&mut tx, &rtcp_packet(1));
        for len in 0..rtp.len() {
            assert!(
                unprotect_rtp(&mut rx, &rtp[..len]).is_err(),
                "{profile:?} rtp truncated to {len}"
            );
        }
        for len in 0..rtcp.len() {
            assert!(
                unprotect_rtcp(&mut rx, &rtcp[..len]).is_err(),
                "{profile:?} rtcp truncated to {len}"
            );
        }
        let min_rtp = RTP_HEADER_LEN + profile.rtp_tag_len();
        assert_eq!(
            unprotect_rtp(&mut rx, &rtp[..min_rtp - 1]),
            Err(SrtpError::TooShort {
                len: min_rtp - 1,
                min: min_rtp
            })
        );
    }
}

#[test]
fn random_and_mutated_buffers_never_panic() {
    let mut noise = Noise::new(0x5eed);
    for profile in SrtpProfile::ALL {
        let (mut tx, mut rx) = pair(profile, SrtpSessionOptions::default());
        let valid_rtp = protect_rtp(&mut tx, &rtp_packet(1, 1, 64));
        let valid_rtcp = protect_rtcp(&mut tx, &rtcp_packet(1));
        let mut buf = [0u8; 256];
        for round in 0..5_000 {
            let len = (noise.next_u64() % 200) as usize;
            match round % 3 {
                0 => noise.fill(&mut buf[..len]),
                1 => {
                    // Valid header bits so parsing gets further.
                    noise.fill(&mut buf[..len]);
                    if len > 0 {
                        buf[0] = 0x80 | (buf[0] & 0x3f);
                    }
                }
                _ => {
                    let source = if round % 2 == 0 {
                        &valid_rtp
                    } else {
                        &valid_rtcp
                    };
                    let len = len.min(source.len());
                    buf[..len].copy_from_slice(&source[..len]);
                    let at = (noise.next_u64() as usize) % len.max(1);
                    buf[at] ^= noise.next_u64() as u8 | 1;
                }
            }
            let _ = rx.unprotect_rtp(&mut buf[..len]);
            let _ = rx.unprotect_rtcp(&mut buf[..len]);
            let _ = tx.protect_rtp(&mut buf, len);
            let _ = tx.protect_rtcp(&mut buf, len);
        }
    }
}

/// Rough cost per 1,200-byte packet, for the record (not a benchmark):
/// `cargo test -p mediagate-engine --release --lib rough_per_packet_cost -- --ignored --nocapture`.
///
/// The machine is shared, so packets are timed in batches of 1,000 and the fastest and the median batch are
/// printed: the fastest is the cost without preemption, the median shows the load.
#[test]
#[ignore = "timing; run by hand in --release"]
fn rough_per_packet_cost() {
    const BATCH: u32 = 1_000;
    const BATCHES: usize = 200;
    for profile in SrtpProfile::ALL {
        let (mut tx, mut rx) = pair(profile, SrtpSessionOptions::default());
        let plain = rtp_packet(1, 0, 1_200 - 28);
        let mut buf = vec![0u8; plain.len() + MAX_TRAILER_LEN];
        let (mut protect, mut unprotect) = (Vec::new(), Vec::new());
        let mut seq = 0u16;
        for _ in 0..BATCHES {
            let (mut p, mut u) = (std::time::Duration::ZERO, std::time::Duration::ZERO);
            for _ in 0..BATCH {
                buf[..plain.len()].copy_from_slice(&plain);
                buf[2..4].copy_from_slice(&seq.to_be_bytes());
                seq = seq.wrapping_add(1);
                let start = std::time::Instant::now();
                let len = tx.protect_rtp(&mut buf, plain.len()).unwrap();
                let middle = std::time::Instant::now();
                rx.unprotect_rtp(&mut buf[..len]).unwrap();
                u += middle.elapsed();
                p += middle - start;
            }
            protect.push(p.as_nanos() as f64 / f64::from(BATCH));
            unprotect.push(u.as_nanos() as f64 / f64::from(BATCH));
        }
        protect.sort_by(f64::total_cmp);
        unprotect.sort_by(f64::total_cmp);
        println!(
            "{profile:?}: protect {:.0} ns (median {:.0}), unprotect {:.0} ns (median {:.0}) per 1,200-byte packet",
            protect[0],
            protect[BATCHES / 2],
            unprotect[0],
            unprotect[BATCHES / 2],
        );
    }
}
