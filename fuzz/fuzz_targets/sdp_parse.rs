//! The SDP parser and the three negotiations on untrusted text: never panic; whatever parses renders to text
//! that parses again with the same sections, and a publish answer, when there is one, parses too. As a viewer's
//! (WHEP) offer, each section it can receive on is renumbered against a VP8 or Opus producer, its consumer's
//! parameters are mapped back to the offer's numbers (which must be the offer's own payload types), and the
//! play answer parses with one section per offered section.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mediagate_engine::ortc;
use mediagate_engine::rtp_parameters::{
    MediaKind, RtpCapabilities, RtpCodecParameters, RtpEncodingParameters, RtpParameters,
};
use mediagate_engine::sdp::{self, ConsumerSection, LocalDescription};
use mediagate_engine::transport_parameters::{
    DtlsFingerprint, FingerprintAlgorithm, IceCandidate, IceCandidateType, IceParameters, Protocol,
};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(offer) = sdp::parse(text) else {
        return;
    };
    let again = sdp::parse(&offer.to_string()).expect("rendered text parses");
    assert_eq!(again.media.len(), offer.media.len());
    for m in &offer.media {
        let _ = sdp::rtp_capabilities_of(m);
    }
    let _ = sdp::accept_answer(&offer, &["0".to_owned(), "1".to_owned()]);
    let caps = ortc::generate_router_rtp_capabilities(&ortc::default_media_codecs())
        .expect("default codecs");
    let local = LocalDescription {
        ice_parameters: IceParameters {
            username_fragment: "fuzzufrag".to_owned(),
            password: "fuzzpassword0123456789ab".to_owned(),
            ice_lite: true,
        },
        ice_candidates: vec![IceCandidate {
            foundation: "udpcandidate".to_owned(),
            priority: 1,
            ip: "192.0.2.1".to_owned(),
            address: "192.0.2.1".to_owned(),
            protocol: Protocol::Udp,
            port: 40000,
            r#type: IceCandidateType::Host,
            tcp_type: None,
        }],
        dtls_fingerprints: vec![DtlsFingerprint {
            algorithm: FingerprintAlgorithm::Sha256,
            value: "AB:CD".to_owned(),
        }],
        sctp: None,
        session_id: 1,
    };
    if let Ok(answer) = sdp::answer_publish(&offer, &caps, &local) {
        sdp::parse(&answer.sdp).expect("our answer parses");
    }
    play(&offer, &caps, &local);
});

/// The consumable parameters of a producer sending `mime` (payload type 101) under the router's `caps`.
fn consumable(
    kind: MediaKind,
    mime: &str,
    clock_rate: u32,
    caps: &RtpCapabilities,
) -> RtpParameters {
    let params = RtpParameters {
        mid: None,
        codecs: vec![RtpCodecParameters {
            mime_type: mime.to_owned(),
            payload_type: 101,
            clock_rate,
            channels: (kind == MediaKind::Audio).then_some(2),
            parameters: Default::default(),
            rtcp_feedback: Vec::new(),
        }],
        header_extensions: Vec::new(),
        encodings: vec![RtpEncodingParameters {
            ssrc: Some(1111),
            ..Default::default()
        }],
        rtcp: Default::default(),
    };
    let mapping = ortc::get_producer_rtp_parameters_mapping(&params, caps, 5000)
        .expect("a default codec maps");
    ortc::get_consumable_rtp_parameters(kind, &params, caps, &mapping)
}

fn play(offer: &sdp::SessionDescription, caps: &RtpCapabilities, local: &LocalDescription) {
    let Ok(read) = sdp::read_play_offer(offer) else {
        return;
    };
    let video = consumable(MediaKind::Video, "video/VP8", 90_000, caps);
    let audio = consumable(MediaKind::Audio, "audio/opus", 48_000, caps);
    let filled: Vec<Option<ConsumerSection>> = read
        .sections
        .iter()
        .map(|section| {
            let kind = section.kind?;
            let consumable = match kind {
                MediaKind::Video => &video,
                MediaKind::Audio => &audio,
            };
            let (renumbered, numbering) =
                ortc::renumber_endpoint_capabilities(consumable, &section.capabilities).ok()?;
            if !ortc::can_consume(consumable, &renumbered) {
                return None;
            }
            let params =
                ortc::get_consumer_rtp_parameters(consumable, &renumbered, true, 2222).ok()?;
            let endpoint = numbering.apply(&params);
            for codec in &endpoint.codecs {
                assert!(
                    section
                        .capabilities
                        .codecs
                        .iter()
                        .any(|c| c.preferred_payload_type == Some(codec.payload_type)),
                    "payload type {} is not the offer's",
                    codec.payload_type
                );
            }
            Some(ConsumerSection {
                mid: section.mid.clone(),
                kind,
                rtp_parameters: endpoint,
                stream_id: "stream".to_owned(),
                track_id: "track".to_owned(),
                active: true,
            })
        })
        .collect();
    if let Ok(answer) = sdp::answer_play(offer, &read, &filled, local) {
        let parsed = sdp::parse(&answer).expect("our play answer parses");
        assert_eq!(parsed.media.len(), offer.media.len());
    }
}
