//! RFC 7983 classification: never panics, and agrees with the RTP parser on what cannot be RTP.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mediagate_engine::net::{PacketKind, classify};
use mediagate_engine::rtp::RtpPacket;

fuzz_target!(|data: &[u8]| {
    let kind = classify(data);
    if RtpPacket::parse(data).is_ok() && !(192..=223).contains(&data[1]) {
        assert_eq!(kind, PacketKind::Rtp);
    }
});
