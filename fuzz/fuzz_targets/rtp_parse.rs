//! The RTP view: never panics, and its parts add up to the packet.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mediagate_engine::rtp::RtpPacket;

fuzz_target!(|data: &[u8]| {
    let Ok(p) = RtpPacket::parse(data) else {
        return;
    };
    assert_eq!(
        p.header_len() + p.payload().len() + p.padding_len(),
        data.len()
    );
    assert_eq!(12 + 4 * p.csrcs().len() <= p.header_len(), true);
    let _ = (
        p.marker(),
        p.payload_type(),
        p.sequence_number(),
        p.timestamp(),
        p.ssrc(),
    );
    let _ = (
        p.extension_profile(),
        p.extension_form(),
        p.extension_block(),
    );
    for (id, value) in p.extensions() {
        assert_ne!(id, 0);
        assert!(p.extension(id).is_some());
        let _ = value.len();
    }
    for id in 0..=15 {
        let _ = (p.mid(id), p.abs_send_time(id), p.transport_wide_seq(id));
        let _ = (p.audio_level(id), p.video_orientation(id));
    }
    // RTX unwrapping of the same bytes: the original parses, two bytes shorter, with the OSN.
    let mut bytes = data.to_vec();
    if let Ok(u) = mediagate_engine::rtp::unwrap_rtx(&mut bytes, 96, 1) {
        assert_eq!(u.len + 2, data.len());
        let original = RtpPacket::parse(&bytes[..u.len]).expect("unwrapped packet parses");
        assert_eq!(original.sequence_number(), u.sequence_number);
    }
});
