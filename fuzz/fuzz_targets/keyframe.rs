//! Keyframe detection and payload descriptors: never panic, descriptors stay inside the payload.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mediagate_engine::rtp::codec::{KeyframeCodec, Vp8Descriptor, Vp9Descriptor, is_keyframe};

fuzz_target!(|data: &[u8]| {
    for codec in [
        KeyframeCodec::Vp8,
        KeyframeCodec::Vp9,
        KeyframeCodec::H264,
        KeyframeCodec::Other,
    ] {
        let _ = is_keyframe(codec, data);
    }
    if let Some(d) = Vp8Descriptor::parse(data) {
        assert!(d.header_len <= data.len());
    }
    if let Some(d) = Vp9Descriptor::parse(data) {
        assert!(d.header_len <= data.len());
    }
});
