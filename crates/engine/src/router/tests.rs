//! Router scenarios: lifecycles, the rules tied to transports, close cascades and the events they emit.

use std::net::{IpAddr, Ipv4Addr};

use super::*;
use crate::ortc;
use crate::rtp_parameters::{MediaKind, RtpEncodingParameters};
use crate::rtp_parameters::{RtpCodecParameters, RtpParameters};
use crate::sctp_parameters::{SctpParameters, SctpStreamParameters};
use crate::transport_parameters::{
    DtlsFingerprint, FingerprintAlgorithm, Protocol, TransportTuple,
};
use crate::transport_parameters::{DtlsParameters, DtlsRole, DtlsState, IceParameters};

pub(super) fn router() -> Router {
    let caps = ortc::generate_router_rtp_capabilities(&ortc::default_media_codecs()).unwrap();
    Router::new("room".parse().unwrap(), caps, 42)
}

/// The server certificate of the WebRTC scenarios: made once (building its DTLS configuration is costly).
pub(super) fn certificate() -> std::sync::Arc<crate::dtls::DtlsCertificate> {
    static CERTIFICATE: std::sync::OnceLock<std::sync::Arc<crate::dtls::DtlsCertificate>> =
        std::sync::OnceLock::new();
    CERTIFICATE
        .get_or_init(|| {
            let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).unwrap();
            let cert = rcgen::CertificateParams::new(vec!["mediagate".to_owned()])
                .unwrap()
                .self_signed(&key)
                .unwrap();
            let der =
                crate::dtls::DtlsCertificate::from_der(cert.der().to_vec(), key.serialize_der());
            std::sync::Arc::new(der.unwrap())
        })
        .clone()
}

pub(super) fn name(s: &str) -> BroadcasterId {
    s.parse().unwrap()
}

pub(super) fn join(router: &mut Router, id: &str, with_caps: bool) -> BroadcasterId {
    let rtp_capabilities = with_caps.then(|| router.rtp_capabilities().clone());
    router
        .join(BroadcasterOptions {
            id: name(id),
            display_name: id.to_owned(),
            device: Device {
                flag: None,
                name: "test".to_owned(),
                version: None,
            },
            rtp_capabilities,
            sctp_capabilities: None,
        })
        .unwrap();
    name(id)
}

pub(super) fn tuple(port: u16) -> TransportTuple {
    TransportTuple {
        local_address: "127.0.0.1".to_owned(),
        local_ip: "127.0.0.1".to_owned(),
        local_port: port,
        remote_ip: None,
        remote_port: None,
        protocol: Protocol::Udp,
    }
}

pub(super) fn plain(
    router: &mut Router,
    owner: &BroadcasterId,
    comedia: bool,
    sctp: bool,
) -> TransportId {
    let id = TransportId::new_random();
    router
        .create_transport(
            owner,
            id,
            TransportSetup::Plain(PlainTransportSetup {
                tuple: tuple(40000),
                rtcp_tuple: Some(tuple(40001)),
                rtcp_mux: false,
                comedia,
                sctp_parameters: sctp.then_some(SctpParameters {
                    port: 5000,
                    os: 4,
                    mis: 4,
                    max_message_size: 262_144,
                }),
                srtp_parameters: None,
                rtp_socket: crate::net::SocketRef(0),
                rtcp_socket: Some(crate::net::SocketRef(1)),
            }),
        )
        .unwrap();
    id
}

/// A direct transport (262144-byte messages) for `owner`.
pub(super) fn direct(router: &mut Router, owner: &BroadcasterId) -> TransportId {
    let id = TransportId::new_random();
    router
        .create_transport(
            owner,
            id,
            TransportSetup::Direct(DirectTransportSetup {
                max_message_size: 262_144,
            }),
        )
        .unwrap();
    id
}

pub(super) fn vp8(ssrc: Option<u32>, mid: Option<&str>) -> ProducerOptions {
    ProducerOptions {
        kind: MediaKind::Video,
        rtp_parameters: RtpParameters {
            mid: mid.map(str::to_owned),
            codecs: vec![RtpCodecParameters {
                mime_type: "video/vp8".to_owned(),
                payload_type: 101,
                clock_rate: 90000,
                channels: None,
                parameters: Default::default(),
                rtcp_feedback: vec![],
            }],
            encodings: vec![RtpEncodingParameters {
                ssrc,
                ..Default::default()
            }],
            ..Default::default()
        },
        paused: false,
        key_frame_request_delay: 0,
    }
}

pub(super) fn consume_options(producer_id: ProducerId) -> ConsumerOptions {
    ConsumerOptions {
        producer_id,
        rtp_capabilities: None,
        paused: true,
        mid: None,
        preferred_layers: None,
        enable_rtx: None,
        ignore_dtx: false,
    }
}

pub(super) fn drain(router: &mut Router) -> Vec<RouterEvent> {
    std::iter::from_fn(|| router.poll_event()).collect()
}

#[test]
fn joining_twice_is_refused_and_joining_is_announced() {
    let mut r = router();
    let alice = join(&mut r, "alice", false);
    assert!(matches!(
        drain(&mut r).as_slice(),
        [RouterEvent::BroadcasterJoined { broadcaster_id, .. }] if *broadcaster_id == alice
    ));
    let again = r.join(BroadcasterOptions {
        id: alice.clone(),
        display_name: String::new(),
        device: Device {
            flag: None,
            name: "x".to_owned(),
            version: None,
        },
        rtp_capabilities: None,
        sctp_capabilities: None,
    });
    assert_eq!(again.unwrap_err(), JoinError::AlreadyJoined(alice));
}

#[test]
fn ssrc_and_mid_are_unique_per_transport() {
    let mut r = router();
    let alice = join(&mut r, "alice", false);
    let t = plain(&mut r, &alice, true, false);
    r.produce(t, ProducerId::new_random(), vp8(Some(2222), Some("v")))
        .unwrap();
    let dup_ssrc = r.produce(t, ProducerId::new_random(), vp8(Some(2222), None));
    assert_eq!(dup_ssrc.unwrap_err(), ProduceError::DuplicateSsrc(2222));
    let dup_mid = r.produce(t, ProducerId::new_random(), vp8(Some(3333), Some("v")));
    assert_eq!(
        dup_mid.unwrap_err(),
        ProduceError::DuplicateMid("v".to_owned())
    );
    // Another transport may reuse both.
    let t2 = plain(&mut r, &alice, true, false);
    r.produce(t2, ProducerId::new_random(), vp8(Some(2222), Some("v")))
        .unwrap();
}

#[test]
fn a_producer_needs_an_ssrc_or_rid_without_mid() {
    let mut r = router();
    let alice = join(&mut r, "alice", false);
    let t = plain(&mut r, &alice, true, false);
    let err = r
        .produce(t, ProducerId::new_random(), vp8(None, None))
        .unwrap_err();
    assert!(
        matches!(&err, ProduceError::Rejected(e) if e.field() == "rtpParameters.encodings[0]"),
        "{err:?}"
    );
    assert!(
        r.produce(t, ProducerId::new_random(), vp8(None, Some("0")))
            .is_ok()
    );
}

#[test]
fn producers_of_a_transport_share_one_cname() {
    let mut r = router();
    let alice = join(&mut r, "alice", false);
    let t = plain(&mut r, &alice, true, false);
    let mut first = vp8(Some(1), None);
    first.rtp_parameters.rtcp.cname = Some("alice-cname".to_owned());
    let a = r.produce(t, ProducerId::new_random(), first).unwrap();
    let mut second = vp8(Some(2), None);
    second.rtp_parameters.rtcp.cname = Some("other".to_owned());
    let b = r.produce(t, ProducerId::new_random(), second).unwrap();
    assert_eq!(a.rtp_parameters.rtcp.cname.as_deref(), Some("alice-cname"));
    assert_eq!(b.rtp_parameters.rtcp.cname.as_deref(), Some("alice-cname"));
    assert_eq!(
        b.consumable_rtp_parameters.rtcp.cname.as_deref(),
        Some("alice-cname")
    );
}

#[test]
fn consumers_get_sequential_mids_and_start_paused() {
    let mut r = router();
    let alice = join(&mut r, "alice", false);
    let bob = join(&mut r, "bob", true);
    let send = plain(&mut r, &alice, true, false);
    let p = ProducerId::new_random();
    r.produce(send, p, vp8(Some(2222), None)).unwrap();
    let recv = plain(&mut r, &bob, false, false);
    let c0 = r
        .consume(recv, ConsumerId::new_random(), consume_options(p))
        .unwrap();
    let c1 = r
        .consume(recv, ConsumerId::new_random(), consume_options(p))
        .unwrap();
    assert_eq!(c0.rtp_parameters.mid.as_deref(), Some("0"));
    assert_eq!(c1.rtp_parameters.mid.as_deref(), Some("1"));
    assert!(c0.paused && !c0.producer_paused);
    assert_eq!(c0.rtp_parameters.encodings.len(), 1);
    // Alice joined without capabilities: she cannot consume unless the request carries them.
    let own = plain(&mut r, &alice, false, false);
    assert_eq!(
        r.consume(own, ConsumerId::new_random(), consume_options(p))
            .unwrap_err(),
        ConsumeError::NoRtpCapabilities(alice)
    );
}

#[test]
fn closing_a_producer_closes_its_consumers_first() {
    let mut r = router();
    let alice = join(&mut r, "alice", false);
    let bob = join(&mut r, "bob", true);
    let send = plain(&mut r, &alice, true, false);
    let p = ProducerId::new_random();
    r.produce(send, p, vp8(Some(2222), None)).unwrap();
    let recv = plain(&mut r, &bob, false, false);
    let c = ConsumerId::new_random();
    r.consume(recv, c, consume_options(p)).unwrap();
    drain(&mut r);

    r.close_producer(p).unwrap();
    let events = drain(&mut r);
    assert_eq!(
        events,
        vec![
            RouterEvent::ConsumerClosed {
                broadcaster_id: bob.clone(),
                consumer_id: c,
                producer_id: p,
                transport_id: recv,
                reason: CloseReason::ProducerClosed,
            },
            RouterEvent::ProducerClosed {
                broadcaster_id: alice,
                producer_id: p,
                transport_id: send,
                reason: CloseReason::Request,
            },
        ]
    );
    assert_eq!(r.consumer(c).unwrap_err(), NotFound::Consumer(c));
    assert_eq!(r.counts().consumers, 0);
    // The SSRC is free again on that transport.
    r.produce(send, ProducerId::new_random(), vp8(Some(2222), None))
        .unwrap();
}

#[test]
fn pausing_a_producer_tells_its_consumers() {
    let mut r = router();
    let alice = join(&mut r, "alice", false);
    let bob = join(&mut r, "bob", true);
    let send = plain(&mut r, &alice, true, false);
    let p = ProducerId::new_random();
    r.produce(send, p, vp8(Some(2222), None)).unwrap();
    let recv = plain(&mut r, &bob, false, false);
    let c = ConsumerId::new_random();
    r.consume(recv, c, consume_options(p)).unwrap();
    drain(&mut r);

    r.set_producer_paused(p, true).unwrap();
    assert_eq!(
        drain(&mut r),
        vec![
            RouterEvent::ProducerPaused {
                broadcaster_id: alice.clone(),
                producer_id: p
            },
            RouterEvent::ConsumerProducerPaused {
                broadcaster_id: bob,
                consumer_id: c,
                producer_id: p
            },
        ]
    );
    assert!(r.consumer(c).unwrap().producer_paused);
    // Pausing again changes nothing and says nothing.
    r.set_producer_paused(p, true).unwrap();
    assert!(drain(&mut r).is_empty());
    // A consumer created while its producer is paused knows it.
    let c2 = r
        .consume(recv, ConsumerId::new_random(), consume_options(p))
        .unwrap();
    assert!(c2.producer_paused);
}

#[test]
fn leaving_closes_everything_the_broadcaster_owns_then_announces_it() {
    let mut r = router();
    let alice = join(&mut r, "alice", true);
    let bob = join(&mut r, "bob", true);
    let send = plain(&mut r, &alice, true, true);
    let p = ProducerId::new_random();
    r.produce(send, p, vp8(Some(2222), None)).unwrap();
    let d = DataProducerId::new_random();
    r.produce_data(
        send,
        d,
        DataProducerOptions {
            sctp_stream_parameters: Some(SctpStreamParameters {
                stream_id: 1,
                ..Default::default()
            }),
            label: "chat".to_owned(),
            protocol: String::new(),
            paused: false,
        },
    )
    .unwrap();
    let recv = plain(&mut r, &bob, false, true);
    let c = ConsumerId::new_random();
    r.consume(recv, c, consume_options(p)).unwrap();
    let dc = DataConsumerId::new_random();
    r.consume_data(
        recv,
        dc,
        DataConsumerOptions {
            data_producer_id: d,
            ordered: None,
            max_packet_life_time: None,
            max_retransmits: None,
            paused: false,
        },
    )
    .unwrap();
    drain(&mut r);

    r.leave(&alice, CloseReason::Request).unwrap();
    let events = drain(&mut r);
    let reasons: Vec<_> = events
        .iter()
        .map(|e| match e {
            RouterEvent::ConsumerClosed { reason, .. } => ("consumer", *reason),
            RouterEvent::ProducerClosed { reason, .. } => ("producer", *reason),
            RouterEvent::DataConsumerClosed { reason, .. } => ("dataConsumer", *reason),
            RouterEvent::DataProducerClosed { reason, .. } => ("dataProducer", *reason),
            RouterEvent::TransportClosed { reason, .. } => ("transport", *reason),
            RouterEvent::BroadcasterLeft { reason, .. } => ("broadcaster", *reason),
            other => panic!("unexpected {other:?}"),
        })
        .collect();
    assert_eq!(
        reasons,
        vec![
            ("consumer", CloseReason::ProducerClosed),
            ("producer", CloseReason::TransportClosed),
            ("dataConsumer", CloseReason::DataProducerClosed),
            ("dataProducer", CloseReason::TransportClosed),
            ("transport", CloseReason::BroadcasterLeft),
            ("broadcaster", CloseReason::Request),
        ]
    );
    let counts = r.counts();
    assert_eq!((counts.broadcasters, counts.transports), (1, 1));
    assert_eq!(counts.producers + counts.consumers, 0);
    assert_eq!(counts.data_producers + counts.data_consumers, 0);
    assert_eq!(
        r.leave(&alice, CloseReason::Request),
        Err(NotFound::Broadcaster(alice))
    );
}

#[test]
fn closing_the_room_closes_everything() {
    let mut r = router();
    let alice = join(&mut r, "alice", true);
    let send = plain(&mut r, &alice, true, false);
    let p = ProducerId::new_random();
    r.produce(send, p, vp8(Some(2222), None)).unwrap();
    let recv = plain(&mut r, &alice, false, false);
    r.consume(recv, ConsumerId::new_random(), consume_options(p))
        .unwrap();
    drain(&mut r);
    r.close();
    assert_eq!(r.counts(), RouterCounts::default());
    assert!(drain(&mut r).iter().all(|e| match e {
        RouterEvent::BroadcasterLeft { reason, .. } => *reason == CloseReason::RoomClosed,
        RouterEvent::TransportClosed { reason, .. } => *reason == CloseReason::RoomClosed,
        _ => true,
    }));
}

#[test]
fn data_streams_are_checked_and_allocated() {
    let mut r = router();
    let alice = join(&mut r, "alice", false);
    let no_sctp = plain(&mut r, &alice, true, false);
    let options = |stream_id| DataProducerOptions {
        sctp_stream_parameters: Some(SctpStreamParameters {
            stream_id,
            ..Default::default()
        }),
        label: String::new(),
        protocol: String::new(),
        paused: false,
    };
    assert_eq!(
        r.produce_data(no_sctp, DataProducerId::new_random(), options(0))
            .unwrap_err(),
        ProduceDataError::SctpNotEnabled(no_sctp)
    );
    let t = plain(&mut r, &alice, true, true);
    let d = DataProducerId::new_random();
    let info = r.produce_data(t, d, options(0)).unwrap();
    assert_eq!(info.sctp_stream_parameters.unwrap().ordered, Some(true));
    assert_eq!(
        r.produce_data(t, DataProducerId::new_random(), options(0))
            .unwrap_err(),
        ProduceDataError::DuplicateStreamId(0)
    );
    assert!(matches!(
        r.produce_data(t, DataProducerId::new_random(), options(4)),
        Err(ProduceDataError::StreamIdOutOfRange {
            stream_id: 4,
            mis: 4
        })
    ));
    let consume = |r: &mut Router| {
        r.consume_data(
            t,
            DataConsumerId::new_random(),
            DataConsumerOptions {
                data_producer_id: d,
                ordered: None,
                max_packet_life_time: None,
                max_retransmits: None,
                paused: false,
            },
        )
    };
    // Stream 0 carries the data producer's messages in: consumers get the free ids in both directions.
    let ids: Vec<u16> = (0..3)
        .map(|_| {
            consume(&mut r)
                .unwrap()
                .sctp_stream_parameters
                .unwrap()
                .stream_id
        })
        .collect();
    assert_eq!(ids, vec![1, 2, 3]);
    assert_eq!(
        consume(&mut r).unwrap_err(),
        ConsumeDataError::NoStreamAvailable(t)
    );
    drain(&mut r);
    r.close_data_producer(d).unwrap();
    let events = drain(&mut r);
    assert_eq!(events.len(), 4);
    assert!(events[..3].iter().all(|e| matches!(
        e,
        RouterEvent::DataConsumerClosed {
            reason: CloseReason::DataProducerClosed,
            ..
        }
    )));
}

#[test]
fn plain_connect_rules() {
    let mut r = router();
    let alice = join(&mut r, "alice", false);
    let t = plain(&mut r, &alice, false, false);
    let ip = Some(IpAddr::V4(Ipv4Addr::LOCALHOST));
    let missing_rtcp = r.connect_transport(
        t,
        ConnectParameters {
            ip,
            port: Some(5004),
            ..Default::default()
        },
    );
    assert!(matches!(
        missing_rtcp,
        Err(ConnectError::Invalid {
            field: "rtcpPort",
            ..
        })
    ));
    let srtp_without_enable = r.connect_transport(
        t,
        ConnectParameters {
            ip,
            port: Some(5004),
            rtcp_port: Some(5005),
            srtp_parameters: Some(crate::transport_parameters::SrtpParameters {
                crypto_suite: Default::default(),
                key_base64: "AAAA".to_owned(),
            }),
            ..Default::default()
        },
    );
    assert!(matches!(
        srtp_without_enable,
        Err(ConnectError::Invalid {
            field: "srtpParameters",
            ..
        })
    ));
    let ok = ConnectParameters {
        ip,
        port: Some(5004),
        rtcp_port: Some(5005),
        ..Default::default()
    };
    let TransportInfo::Plain(info) = r.connect_transport(t, ok.clone()).unwrap() else {
        panic!("plain transport expected");
    };
    assert!(info.connected);
    assert_eq!(info.tuple.remote_port, Some(5004));
    assert_eq!(info.rtcp_tuple.unwrap().remote_port, Some(5005));
    assert_eq!(
        r.connect_transport(t, ok),
        Err(ConnectError::AlreadyConnected(t))
    );

    // A comedia transport may be connected once (for SRTP keys); its remote end is still latched later.
    let c = plain(&mut r, &alice, true, false);
    r.connect_transport(c, ConnectParameters::default())
        .unwrap();
    assert_eq!(
        r.connect_transport(c, ConnectParameters::default()),
        Err(ConnectError::AlreadyConnected(c))
    );
}

#[test]
fn webrtc_connect_takes_the_server_role_unless_told_otherwise() {
    let mut r = router();
    let alice = join(&mut r, "alice", false);
    let t = TransportId::new_random();
    r.create_transport(
        &alice,
        t,
        TransportSetup::WebRtc(WebRtcTransportSetup {
            ice_parameters: IceParameters {
                username_fragment: "ufrag".to_owned(),
                password: "password".to_owned(),
                ice_lite: true,
            },
            ice_candidates: vec![],
            dtls_parameters: DtlsParameters {
                role: DtlsRole::Auto,
                fingerprints: vec![],
            },
            sctp_parameters: None,
            ice_consent_timeout: 30,
            socket: crate::net::SocketRef(2),
            certificate: certificate(),
        }),
    )
    .unwrap();
    let fingerprint = |value: &str| DtlsParameters {
        role: DtlsRole::Auto,
        fingerprints: vec![DtlsFingerprint {
            algorithm: FingerprintAlgorithm::Sha256,
            value: value.to_owned(),
        }],
    };
    let bad = r.connect_transport(
        t,
        ConnectParameters {
            dtls_parameters: Some(fingerprint("not hex")),
            ..Default::default()
        },
    );
    assert!(matches!(
        bad,
        Err(ConnectError::Invalid {
            field: "dtlsParameters.fingerprints",
            ..
        })
    ));
    let good = ConnectParameters {
        dtls_parameters: Some(fingerprint("AB:CD:EF")),
        ..Default::default()
    };
    let TransportInfo::Webrtc(info) = r.connect_transport(t, good.clone()).unwrap() else {
        panic!("webrtc transport expected");
    };
    assert_eq!(info.dtls_state, DtlsState::Connecting);
    assert_eq!(
        r.connect_transport(t, good),
        Err(ConnectError::AlreadyConnected(t))
    );
    let new_ice = IceParameters {
        username_fragment: "u2".to_owned(),
        password: "p2".to_owned(),
        ice_lite: true,
    };
    assert_eq!(r.restart_ice(t, new_ice.clone()).unwrap(), new_ice);
}
