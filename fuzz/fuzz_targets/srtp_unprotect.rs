//! SRTP/SRTCP: unprotect never panics on any bytes, and what we protect we unprotect to the same bytes.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mediagate_engine::srtp::{MAX_TRAILER_LEN, SrtpProfile, SrtpSession};

fn session(profile: SrtpProfile) -> SrtpSession {
    let key = [0x5au8; 32];
    let salt = [0xa5u8; 14];
    SrtpSession::new(profile, &key[..profile.key_len()], &salt[..profile.salt_len()])
        .expect("valid lengths")
}

fuzz_target!(|data: &[u8]| {
    // First byte: profile (bits 0-1), RTP or RTCP for the round trip (bit 2).
    let Some((&selector, packet)) = data.split_first() else {
        return;
    };
    let profile = SrtpProfile::ALL[usize::from(selector & 3)];

    let mut inbound = session(profile);
    let mut buf = packet.to_vec();
    if let Ok(len) = inbound.unprotect_rtp(&mut buf) {
        assert!(len <= packet.len());
    }
    let mut buf = packet.to_vec();
    if let Ok(len) = inbound.unprotect_rtcp(&mut buf) {
        assert!(len <= packet.len());
    }

    let (mut outbound, mut inbound) = (session(profile), session(profile));
    let mut buf = packet.to_vec();
    buf.resize(packet.len() + MAX_TRAILER_LEN, 0);
    let rtcp = selector & 4 != 0;
    let protected = if rtcp {
        outbound.protect_rtcp(&mut buf, packet.len())
    } else {
        outbound.protect_rtp(&mut buf, packet.len())
    };
    if let Ok(len) = protected {
        let buf = &mut buf[..len];
        let plain = if rtcp {
            inbound.unprotect_rtcp(buf)
        } else {
            inbound.unprotect_rtp(buf)
        }
        .expect("our own packet unprotects");
        assert_eq!(&buf[..plain], packet);
    }
});
