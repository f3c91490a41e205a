//! In-place rewriting: never panics, never changes the length or layout, and keeps the packet valid.
//!
//! Input: 4 bytes choosing a remap (`from`, `to` pairs), then the packet.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mediagate_engine::rtp::{ExtensionIdMap, RtpPacket, RtpPacketMut};

fuzz_target!(|data: &[u8]| {
    let Some((control, packet)) = data.split_first_chunk::<4>() else {
        return;
    };
    let mut bytes = packet.to_vec();
    let Ok(mut p) = RtpPacketMut::parse(&mut bytes) else {
        return;
    };
    let before = p.as_packet();
    let (header_len, payload_len, padding_len) = (
        before.header_len(),
        before.payload().len(),
        before.padding_len(),
    );
    let payload = before.payload().to_vec();
    let mut map = if control[0] & 1 == 0 {
        ExtensionIdMap::identity()
    } else {
        ExtensionIdMap::new()
    };
    map.set(control[0] >> 4, control[1])
        .set(control[2], control[3]);
    p.remap_extension_ids(&map);
    p.set_payload_type(control[1]);
    p.set_marker(control[2] & 1 == 1);
    p.set_sequence_number(u16::from_be_bytes([control[0], control[1]]));
    p.set_timestamp(u32::from_be_bytes(*control));
    p.set_ssrc(u32::from_be_bytes(*control).rotate_left(7));
    p.set_transport_wide_seq(control[3] & 0x0f, 7);
    p.set_abs_send_time(control[2] & 0x0f, 0x12_3456);
    let after = RtpPacket::parse(&bytes).expect("a rewritten packet stays valid");
    assert_eq!(after.as_bytes().len(), packet.len());
    assert_eq!(
        (
            after.header_len(),
            after.payload().len(),
            after.padding_len()
        ),
        (header_len, payload_len, padding_len)
    );
    assert_eq!(after.payload(), &payload[..]);
    assert_eq!(after.payload_type(), control[1] & 0x7f);
    for (id, _) in after.extensions() {
        assert_ne!(id, 0);
    }
});
