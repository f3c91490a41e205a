//! Cross-check against an independent implementation (webrtc-rs `rtc-srtp` 0.21.1 on ring, a
//! dev-dependency only): packets protected by one side must unprotect on the other, both ways, for every
//! profile, across a sequence-number wrap, for RTP and RTCP.

use rtc_srtp::context::Context;
use rtc_srtp::option::{srtcp_replay_protection, srtp_replay_protection};
use rtc_srtp::protection_profile::ProtectionProfile;

use super::tests::Noise;
use super::*;

fn theirs(profile: SrtpProfile) -> ProtectionProfile {
    match profile {
        SrtpProfile::AesCm128HmacSha1_80 => ProtectionProfile::Aes128CmHmacSha1_80,
        SrtpProfile::AesCm128HmacSha1_32 => ProtectionProfile::Aes128CmHmacSha1_32,
        SrtpProfile::AeadAes128Gcm => ProtectionProfile::AeadAes128Gcm,
        SrtpProfile::AeadAes256Gcm => ProtectionProfile::AeadAes256Gcm,
    }
}

fn their_context(profile: SrtpProfile, key: &[u8], salt: &[u8]) -> Context {
    let provider = rtc_srtp::crypto::default_provider().expect("ring provider");
    Context::new(
        key,
        salt,
        theirs(profile),
        Some(srtp_replay_protection(128)),
        Some(srtcp_replay_protection(128)),
        provider.crypto(),
    )
    .expect("their context")
}

fn rtp(ssrc: u32, seq: u16, payload: &[u8]) -> Vec<u8> {
    let mut packet = vec![0x80, 111];
    packet.extend_from_slice(&seq.to_be_bytes());
    packet.extend_from_slice(&(u32::from(seq) * 960).to_be_bytes());
    packet.extend_from_slice(&ssrc.to_be_bytes());
    packet.extend_from_slice(payload);
    packet
}

fn rtcp(ssrc: u32, payload: &[u8]) -> Vec<u8> {
    // An application-defined packet: any 4-byte-aligned body is well formed.
    let mut packet = vec![0x80, 204];
    packet.extend_from_slice(&((2 + payload.len() / 4) as u16).to_be_bytes());
    packet.extend_from_slice(&ssrc.to_be_bytes());
    packet.extend_from_slice(b"name");
    packet.extend_from_slice(payload);
    packet
}

#[test]
fn rtc_srtp_reads_what_we_write_and_we_read_what_it_writes() {
    let mut noise = Noise::new(7);
    for profile in SrtpProfile::ALL {
        let mut key = vec![0; profile.key_len()];
        let mut salt = vec![0; profile.salt_len()];
        noise.fill(&mut key);
        noise.fill(&mut salt);

        let mut our_tx = SrtpSession::new(profile, &key, &salt).unwrap();
        let mut our_rx = SrtpSession::new(profile, &key, &salt).unwrap();
        let mut their_tx = their_context(profile, &key, &salt);
        let mut their_rx = their_context(profile, &key, &salt);

        let ssrc = 0x1234_5678;
        let mut seq = 65_300u16;
        for round in 0..600u32 {
            let mut payload = vec![0; (round as usize * 37) % 1_200 + 4];
            noise.fill(&mut payload);
            payload.truncate(payload.len() / 4 * 4);
            let plain = rtp(ssrc, seq, &payload);

            // Ours → theirs.
            let mut buf = plain.clone();
            buf.resize(plain.len() + MAX_TRAILER_LEN, 0);
            let len = our_tx.protect_rtp(&mut buf, plain.len()).unwrap();
            let decrypted = their_rx
                .decrypt_rtp(&buf[..len])
                .unwrap_or_else(|e| panic!("{profile:?} seq {seq}: theirs refused ours: {e}"));
            assert_eq!(&decrypted[..], &plain[..], "{profile:?} seq {seq}");

            // Theirs → ours.
            let encrypted = their_tx.encrypt_rtp(&plain).unwrap();
            assert_eq!(
                &encrypted[..],
                &buf[..len],
                "{profile:?} seq {seq}: same keys, same bytes"
            );
            let mut buf = encrypted.to_vec();
            let len = our_rx
                .unprotect_rtp(&mut buf)
                .unwrap_or_else(|e| panic!("{profile:?} seq {seq}: we refused theirs: {e}"));
            assert_eq!(&buf[..len], &plain[..]);

            if round % 10 == 0 {
                let plain = rtcp(ssrc, &payload[..payload.len().min(64)]);
                let mut buf = plain.clone();
                buf.resize(plain.len() + MAX_TRAILER_LEN, 0);
                let len = our_tx.protect_rtcp(&mut buf, plain.len()).unwrap();
                let decrypted = their_rx
                    .decrypt_rtcp(&buf[..len])
                    .unwrap_or_else(|e| panic!("{profile:?}: theirs refused our rtcp: {e}"));
                assert_eq!(&decrypted[..], &plain[..]);

                let encrypted = their_tx.encrypt_rtcp(&plain).unwrap();
                let mut buf = encrypted.to_vec();
                let len = our_rx
                    .unprotect_rtcp(&mut buf)
                    .unwrap_or_else(|e| panic!("{profile:?}: we refused their rtcp: {e}"));
                assert_eq!(&buf[..len], &plain[..]);
            }
            seq = seq.wrapping_add(1);
        }
        // The stream crossed the wrap: both sides agree on ROC 1.
        assert_eq!(our_rx.rtp[&ssrc].window.highest() >> 16, 1);
    }
}
