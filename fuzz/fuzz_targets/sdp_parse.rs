//! The SDP parser and both negotiations on untrusted text: never panic; whatever parses renders to text that
//! parses again with the same sections, and a publish answer, when there is one, parses too.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mediagate_engine::ortc;
use mediagate_engine::sdp::{self, LocalDescription};
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
});
