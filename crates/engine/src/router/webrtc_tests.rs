//! WebRTC transport scenarios on virtual time: ICE checks from a peer built with the STUN codec's request
//! writer, the source check that follows, consent expiry and ICE restart.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use super::tests::{certificate, drain, join, router};
use super::*;
use crate::ice::stun::{self, StunMessage};
use crate::net::{Outbox, SocketRef};
use crate::transport_parameters::{
    DtlsParameters, DtlsRole, IceCandidate, IceCandidateType, IceParameters, IceState, Protocol,
};

pub(super) const SOCKET: SocketRef = SocketRef(7);
const LOCAL_UFRAG: &str = "localufrag";
const LOCAL_PWD: &str = "localpassword0123456789ab";

pub(super) fn peer() -> SocketAddr {
    "127.0.0.1:50000".parse().unwrap()
}

fn setup(consent_timeout: u8) -> TransportSetup {
    TransportSetup::WebRtc(WebRtcTransportSetup {
        ice_parameters: IceParameters {
            username_fragment: LOCAL_UFRAG.to_owned(),
            password: LOCAL_PWD.to_owned(),
            ice_lite: true,
        },
        ice_candidates: vec![IceCandidate {
            foundation: "udpcandidate".to_owned(),
            priority: 1,
            ip: "127.0.0.1".to_owned(),
            address: "127.0.0.1".to_owned(),
            protocol: Protocol::Udp,
            port: 40000,
            r#type: IceCandidateType::Host,
            tcp_type: None,
        }],
        dtls_parameters: DtlsParameters {
            role: DtlsRole::Auto,
            fingerprints: vec![],
        },
        sctp_parameters: None,
        ice_consent_timeout: consent_timeout,
        socket: SOCKET,
        certificate: certificate(),
    })
}

pub(super) struct Link {
    pub(super) router: Router,
    pub(super) transport: TransportId,
    pub(super) out: Outbox,
    pub(super) t0: Instant,
}

impl Link {
    pub(super) fn new() -> Self {
        let mut router = router();
        let alice = join(&mut router, "alice", true);
        let transport = TransportId::new_random();
        router
            .create_transport(&alice, transport, setup(30))
            .unwrap();
        drain(&mut router);
        Self {
            router,
            transport,
            out: Outbox::new(),
            t0: Instant::now(),
        }
    }

    pub(super) fn check(
        &mut self,
        at: Duration,
        from: SocketAddr,
        ufrag: &str,
        pwd: &str,
        nominate: bool,
    ) {
        let mut buf = [0u8; 200];
        let key = stun::integrity_key(pwd);
        let len = stun::write_binding_request(
            &mut buf,
            &[3; 12],
            &format!("{ufrag}:remote"),
            &key,
            nominate,
        )
        .unwrap();
        self.datagram(at, from, &mut buf[..len]);
    }

    pub(super) fn datagram(&mut self, at: Duration, from: SocketAddr, data: &mut [u8]) {
        self.router.handle_datagram(
            self.t0 + at,
            self.transport,
            SOCKET,
            from,
            data,
            &mut self.out,
        );
    }

    pub(super) fn responses(&mut self) -> Vec<(SocketAddr, u16)> {
        let sent = self
            .out
            .transmits()
            .iter()
            .map(|t| {
                assert_eq!(t.socket, SOCKET);
                let m = StunMessage::parse(t.bytes()).expect("a stun response");
                (t.destination, m.msg_type())
            })
            .collect();
        self.out.clear();
        sent
    }

    fn stats(&self) -> TransportStats {
        self.router.transport_stats(self.transport).unwrap()
    }

    fn info(&self) -> WebRtcTransportInfo {
        match self.router.transport(self.transport).unwrap() {
            TransportInfo::Webrtc(info) => info,
            TransportInfo::Plain(_) | TransportInfo::Direct(_) => {
                panic!("webrtc transport expected")
            }
        }
    }
}

#[test]
fn a_valid_check_is_answered_selects_its_tuple_and_opens_the_path() {
    let mut link = Link::new();
    let stranger: SocketAddr = "127.0.0.1:50001".parse().unwrap();
    // Media before any check is dropped: the source is not an ICE-validated tuple.
    let mut rtp = [0x80u8, 101, 0, 1, 0, 0, 0, 1, 0, 0, 0x08, 0xae, 1, 2, 3, 4];
    link.datagram(Duration::ZERO, peer(), &mut rtp);
    assert_eq!(link.stats().dropped_unexpected_source, 1);

    link.check(
        Duration::from_millis(10),
        peer(),
        LOCAL_UFRAG,
        LOCAL_PWD,
        false,
    );
    assert_eq!(link.responses(), vec![(peer(), stun::BINDING_SUCCESS)]);
    assert!(link.router.is_valid_ice_tuple(link.transport, peer()));
    assert!(!link.router.is_valid_ice_tuple(link.transport, stranger));
    let events = drain(&mut link.router);
    assert!(events.iter().any(|e| matches!(
        e,
        RouterEvent::TransportIceStateChanged {
            ice_state: IceState::Connected,
            ..
        }
    )));
    assert!(events.iter().any(|e| matches!(
        e,
        RouterEvent::TransportTuple { tuple, .. } if tuple.remote_port == Some(50000)
    )));
    let info = link.info();
    assert_eq!(info.ice_state, IceState::Connected);
    assert_eq!(
        info.ice_selected_tuple.and_then(|t| t.remote_port),
        Some(50000)
    );

    // Nomination completes ICE.
    link.check(
        Duration::from_millis(20),
        peer(),
        LOCAL_UFRAG,
        LOCAL_PWD,
        true,
    );
    assert_eq!(link.responses(), vec![(peer(), stun::BINDING_SUCCESS)]);
    assert_eq!(link.info().ice_state, IceState::Completed);

    // From the validated tuple, media gets as far as SRTP: no keys yet, so it is an SRTP failure.
    link.datagram(Duration::from_millis(30), peer(), &mut rtp);
    assert_eq!(link.stats().dropped_srtp_failure, 1);
    // The same bytes from a stranger are still refused by source.
    link.datagram(Duration::from_millis(30), stranger, &mut rtp);
    assert_eq!(link.stats().dropped_unexpected_source, 2);
}

#[test]
fn bad_checks_get_errors_change_nothing_and_are_counted() {
    let mut link = Link::new();
    link.check(Duration::ZERO, peer(), LOCAL_UFRAG, "wrong password", true);
    link.check(Duration::ZERO, peer(), "otherufrag", LOCAL_PWD, true);
    assert_eq!(
        link.responses(),
        vec![(peer(), stun::BINDING_ERROR), (peer(), stun::BINDING_ERROR)]
    );
    // Not STUN at all, and a STUN-looking datagram without FINGERPRINT: dropped silently.
    let mut noise = [0u8; 28];
    noise[4..8].copy_from_slice(&stun::MAGIC_COOKIE.to_be_bytes());
    noise[1] = 1;
    link.datagram(Duration::ZERO, peer(), &mut noise);
    assert!(link.responses().is_empty());
    let stats = link.stats();
    assert_eq!(stats.dropped_ice_failure, 3, "{stats:?}");
    assert_eq!(stats.packets_dropped, 3);
    assert!(!link.router.is_valid_ice_tuple(link.transport, peer()));
    assert_eq!(link.info().ice_state, IceState::New);
    assert!(drain(&mut link.router).is_empty());
}

#[test]
fn lost_consent_disconnects_then_closes_the_transport() {
    let mut link = Link::new();
    link.check(Duration::ZERO, peer(), LOCAL_UFRAG, LOCAL_PWD, true);
    drain(&mut link.router);
    let due = link.router.poll_timeout().expect("a consent timer");
    assert!(due <= link.t0 + Duration::from_secs(30));
    // Checks every 5 s keep consent.
    for s in (5..=25).step_by(5) {
        link.check(
            Duration::from_secs(s),
            peer(),
            LOCAL_UFRAG,
            LOCAL_PWD,
            false,
        );
    }
    link.responses();
    link.router.handle_timeout(
        link.t0 + Duration::from_secs(50),
        Duration::ZERO,
        &mut link.out,
    );
    assert_eq!(link.info().ice_state, IceState::Completed);
    link.router.handle_timeout(
        link.t0 + Duration::from_secs(55),
        Duration::ZERO,
        &mut link.out,
    );
    assert_eq!(link.info().ice_state, IceState::Disconnected);
    let events = drain(&mut link.router);
    assert!(events.iter().any(|e| matches!(
        e,
        RouterEvent::TransportIceStateChanged {
            ice_state: IceState::Disconnected,
            ..
        }
    )));
    link.router.handle_timeout(
        link.t0 + Duration::from_secs(85),
        Duration::ZERO,
        &mut link.out,
    );
    let events = drain(&mut link.router);
    assert!(events.iter().any(|e| matches!(
        e,
        RouterEvent::TransportIceStateChanged {
            ice_state: IceState::Closed,
            ..
        }
    )));
    assert!(events.iter().any(|e| matches!(
        e,
        RouterEvent::TransportClosed {
            reason: CloseReason::IceClosed,
            ..
        }
    )));
    assert!(link.router.transport(link.transport).is_err());
}

#[test]
fn ice_restart_accepts_the_new_credentials_and_keeps_the_tuple() {
    let mut link = Link::new();
    link.check(Duration::ZERO, peer(), LOCAL_UFRAG, LOCAL_PWD, true);
    let new = IceParameters {
        username_fragment: "newufrag".to_owned(),
        password: "newpassword0123456789abcd".to_owned(),
        ice_lite: true,
    };
    link.router
        .restart_ice(link.transport, new.clone())
        .unwrap();
    assert_eq!(link.info().ice_parameters, new);
    // Checks in flight with the old credentials still pass, then the new ones take over.
    link.check(
        Duration::from_secs(1),
        peer(),
        LOCAL_UFRAG,
        LOCAL_PWD,
        false,
    );
    link.check(
        Duration::from_secs(2),
        peer(),
        "newufrag",
        &new.password,
        true,
    );
    link.check(
        Duration::from_secs(3),
        peer(),
        LOCAL_UFRAG,
        LOCAL_PWD,
        false,
    );
    assert_eq!(
        link.responses(),
        vec![
            (peer(), stun::BINDING_SUCCESS),
            (peer(), stun::BINDING_SUCCESS),
            (peer(), stun::BINDING_SUCCESS),
            (peer(), stun::BINDING_ERROR)
        ]
    );
    assert!(link.router.is_valid_ice_tuple(link.transport, peer()));
}

// ---- DTLS-SRTP, with a client built on the DTLS module standing in for the browser ----

use crate::dtls::{DtlsCertificate, DtlsConfig, DtlsEvent, DtlsTransport};
use crate::transport_parameters::{DtlsFingerprint, DtlsState, FingerprintAlgorithm};

pub(super) fn peer_certificate() -> std::sync::Arc<DtlsCertificate> {
    let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).unwrap();
    let cert = rcgen::CertificateParams::new(vec!["browser".to_owned()])
        .unwrap()
        .self_signed(&key)
        .unwrap();
    std::sync::Arc::new(
        DtlsCertificate::from_der(cert.der().to_vec(), key.serialize_der()).unwrap(),
    )
}

impl Link {
    fn connect(&mut self, fingerprint: DtlsFingerprint) {
        self.router
            .connect_transport(
                self.transport,
                ConnectParameters {
                    dtls_parameters: Some(DtlsParameters {
                        role: DtlsRole::Client,
                        fingerprints: vec![fingerprint],
                    }),
                    ..Default::default()
                },
            )
            .unwrap();
    }

    /// Validates the peer's tuple with a check, connects the transport with a fresh client certificate's
    /// fingerprint, and returns that DTLS client (not started).
    fn validated_dtls_client(&mut self) -> DtlsTransport {
        let client_cert = peer_certificate();
        self.connect(client_cert.fingerprint(FingerprintAlgorithm::Sha256));
        self.dtls_client_over_a_checked_tuple(client_cert)
    }

    /// Validates the peer's tuple with a check and returns a DTLS client (not started) with `client_cert`
    /// that trusts the router's certificate. The transport's remote fingerprint is the caller's business.
    pub(super) fn dtls_client_over_a_checked_tuple(
        &mut self,
        client_cert: std::sync::Arc<DtlsCertificate>,
    ) -> DtlsTransport {
        self.check(Duration::ZERO, peer(), LOCAL_UFRAG, LOCAL_PWD, true);
        self.responses();
        let server_fingerprint = certificate().fingerprint(FingerprintAlgorithm::Sha256);
        DtlsTransport::new(
            DtlsConfig::new(client_cert, vec![server_fingerprint]),
            crate::dtls::DtlsRole::Client,
            self.t0,
        )
        .unwrap()
    }

    /// Runs the handshake with `client` (see [`Link::handshake`]) and returns the profile and the client's
    /// SRTP sessions from the exported keys: (outbound, inbound). Panics when the client does not connect.
    pub(super) fn client_srtp(
        &mut self,
        client: &mut DtlsTransport,
    ) -> (
        crate::srtp::SrtpProfile,
        crate::srtp::SrtpSession,
        crate::srtp::SrtpSession,
    ) {
        let events = self.handshake(client, Duration::from_secs(5));
        let Some(DtlsEvent::Connected {
            profile,
            keying_material,
            ..
        }) = events
            .into_iter()
            .find(|e| matches!(e, DtlsEvent::Connected { .. }))
        else {
            panic!("the client did not connect");
        };
        let (local, remote) =
            crate::srtp::split_dtls_srtp_keying_material(keying_material.as_bytes(), profile, true)
                .unwrap();
        (
            profile,
            crate::srtp::SrtpSession::new(profile, local.0, local.1).unwrap(),
            crate::srtp::SrtpSession::new(profile, remote.0, remote.1).unwrap(),
        )
    }

    /// Runs a handshake between the router and `client` over the validated tuple for up to `limit` of
    /// virtual time; returns the client's events.
    pub(super) fn handshake(
        &mut self,
        client: &mut DtlsTransport,
        limit: Duration,
    ) -> Vec<DtlsEvent> {
        let mut events = Vec::new();
        let mut at = Duration::from_millis(100);
        while at < limit {
            let now = self.t0 + at;
            while let Some(mut datagram) = client.poll_transmit() {
                self.datagram(at, peer(), &mut datagram);
            }
            let sent: Vec<Vec<u8>> = self
                .out
                .transmits()
                .iter()
                .map(|t| t.bytes().to_vec())
                .collect();
            self.out.clear();
            for datagram in sent {
                client.handle_datagram(now, &datagram);
            }
            events.extend(std::iter::from_fn(|| client.poll_event()));
            if events
                .iter()
                .any(|e| matches!(e, DtlsEvent::Connected { .. } | DtlsEvent::Failed(_)))
            {
                // A DTLS 1.3 client is done once it sent its last flight: deliver it.
                while let Some(mut datagram) = client.poll_transmit() {
                    self.datagram(at, peer(), &mut datagram);
                }
                break;
            }
            at += Duration::from_millis(10);
            client.handle_timeout(self.t0 + at);
            if self
                .router
                .poll_timeout()
                .is_some_and(|t| t <= self.t0 + at)
            {
                self.router
                    .handle_timeout(self.t0 + at, Duration::ZERO, &mut self.out);
            }
        }
        events
    }
}

#[test]
fn dtls_connects_exports_srtp_keys_and_media_decrypts() {
    let mut link = Link::new();
    let mut client = link.validated_dtls_client();
    let (profile, mut srtp, _) = link.client_srtp(&mut client);
    let events = drain(&mut link.router);
    assert!(
        events.iter().any(|e| matches!(
            e,
            RouterEvent::TransportDtlsStateChanged {
                dtls_state: DtlsState::Connected,
                ..
            }
        )),
        "{events:?} {:?}",
        link.stats()
    );
    let stats = link.stats();
    assert_eq!(stats.dtls_state, Some(DtlsState::Connected));
    assert_eq!(stats.srtp_crypto_suite, Some(profile.into()));
    assert!(stats.dtls_version.is_some());

    // The client protects RTP with its exported keys; the transport decrypts it (no producer: unknown SSRC).
    let mut packet = [0u8; 100];
    packet[..12].copy_from_slice(&[0x80, 101, 0, 1, 0, 0, 0, 1, 0, 0, 0x08, 0xae]);
    let len = srtp.protect_rtp(&mut packet, 40).unwrap();
    link.datagram(Duration::from_secs(6), peer(), &mut packet[..len]);
    let stats = link.stats();
    assert_eq!(stats.dropped_srtp_failure, 0, "{stats:?}");
    assert_eq!(stats.dropped_unknown_ssrc, 1, "{stats:?}");
}

#[test]
fn a_wrong_fingerprint_fails_dtls_and_closes_the_transport() {
    let mut link = Link::new();
    link.check(Duration::ZERO, peer(), LOCAL_UFRAG, LOCAL_PWD, true);
    link.responses();
    // Connect names some other certificate's fingerprint.
    link.connect(peer_certificate().fingerprint(FingerprintAlgorithm::Sha256));
    let server_fingerprint = certificate().fingerprint(FingerprintAlgorithm::Sha256);
    let mut client = DtlsTransport::new(
        DtlsConfig::new(peer_certificate(), vec![server_fingerprint]),
        crate::dtls::DtlsRole::Client,
        link.t0,
    )
    .unwrap();
    link.handshake(&mut client, Duration::from_secs(12));
    let events = drain(&mut link.router);
    assert!(
        events.iter().any(|e| matches!(
            e,
            RouterEvent::TransportDtlsStateChanged {
                dtls_state: DtlsState::Failed,
                ..
            }
        )),
        "{events:?}"
    );
    assert!(
        events.iter().any(|e| matches!(
            e,
            RouterEvent::TransportClosed {
                reason: CloseReason::DtlsFailed,
                ..
            }
        )),
        "{events:?}"
    );
    assert!(link.router.transport(link.transport).is_err());
}

#[test]
fn dtls_from_before_connect_is_kept_and_replayed() {
    let mut link = Link::new();
    link.check(Duration::ZERO, peer(), LOCAL_UFRAG, LOCAL_PWD, true);
    link.responses();
    let client_cert = peer_certificate();
    let server_fingerprint = certificate().fingerprint(FingerprintAlgorithm::Sha256);
    let mut client = DtlsTransport::new(
        DtlsConfig::new(client_cert.clone(), vec![server_fingerprint]),
        crate::dtls::DtlsRole::Client,
        link.t0,
    )
    .unwrap();
    // The ClientHello arrives before connect: nothing is answered yet.
    while let Some(mut datagram) = client.poll_transmit() {
        link.datagram(Duration::from_millis(50), peer(), &mut datagram);
    }
    assert!(link.out.is_empty());
    link.connect(client_cert.fingerprint(FingerprintAlgorithm::Sha256));
    let events = link.handshake(&mut client, Duration::from_millis(500));
    assert!(
        events
            .iter()
            .any(|e| matches!(e, DtlsEvent::Connected { .. })),
        "connected without waiting for a retransmission: {events:?}"
    );
}

/// The `o=` line's session version of an SDP.
fn session_version(sdp: &str) -> u64 {
    let origin = sdp
        .lines()
        .find_map(|l| l.strip_prefix("o="))
        .expect("an o= line");
    origin
        .split_whitespace()
        .nth(2)
        .and_then(|v| v.parse().ok())
        .expect("a session version")
}

#[test]
fn the_server_offer_is_a_new_version_after_an_ice_restart() {
    let mut link = Link::new();
    let first = link.router.negotiation_offer(link.transport).unwrap();
    let again = link.router.negotiation_offer(link.transport).unwrap();
    assert_eq!(again, first, "nothing changed: the same offer");
    let new = IceParameters {
        username_fragment: "newufrag".to_owned(),
        password: "newpassword0123456789abcd".to_owned(),
        ice_lite: true,
    };
    link.router.restart_ice(link.transport, new).unwrap();
    let restarted = link.router.negotiation_offer(link.transport).unwrap();
    assert!(restarted.contains("a=ice-ufrag:newufrag"), "{restarted}");
    // RFC 3264 §8: a changed description is a new version.
    assert!(
        session_version(&restarted) > session_version(&first),
        "{first}\n{restarted}"
    );
    assert_eq!(
        link.router.negotiation_offer(link.transport).unwrap(),
        restarted
    );
}

/// Moves SCTP packets between `sctp` (inside the DTLS `client`) and the router for `span` of virtual time
/// from `start`; returns the SCTP client's events.
fn pump_sctp(
    link: &mut Link,
    client: &mut DtlsTransport,
    sctp: &mut crate::sctp::SctpAssociation,
    start: Duration,
    span: Duration,
) -> Vec<crate::sctp::SctpEvent> {
    let mut events = Vec::new();
    let mut at = start;
    while at < start + span {
        let now = link.t0 + at;
        for _ in 0..100 {
            let mut moved = false;
            while let Some(packet) = sctp.poll_transmit(now) {
                client.send_application_data(now, &packet).unwrap();
            }
            while let Some(mut datagram) = client.poll_transmit() {
                link.datagram(at, peer(), &mut datagram);
                moved = true;
            }
            if link.router.poll_timeout().is_some_and(|t| t <= now) {
                link.router
                    .handle_timeout(now, Duration::ZERO, &mut link.out);
            }
            let sent: Vec<Vec<u8>> = link
                .out
                .transmits()
                .iter()
                .map(|t| t.bytes().to_vec())
                .collect();
            link.out.clear();
            for datagram in sent {
                moved = true;
                client.handle_datagram(now, &datagram);
            }
            while let Some(event) = client.poll_event() {
                if let DtlsEvent::ApplicationData(packet) = event {
                    sctp.handle_packet(now, &packet);
                }
            }
            events.extend(std::iter::from_fn(|| sctp.poll_event()));
            if !moved {
                break;
            }
        }
        at += Duration::from_millis(10);
        client.handle_timeout(link.t0 + at);
        if sctp.poll_timeout().is_some_and(|t| t <= link.t0 + at) {
            sctp.handle_timeout(link.t0 + at);
        }
    }
    events
}

#[test]
fn data_channels_run_over_dtls_both_ways() {
    use crate::sctp::{PPID_STRING, Reliability, SctpAssociation, SctpConfig, SctpEvent, SctpRole};
    use crate::sctp_parameters::{SctpParameters, SctpStreamParameters};
    use crate::transport_parameters::SctpState;

    let mut router = router();
    let alice = join(&mut router, "alice", true);
    let bob = join(&mut router, "bob", false);
    let transport = TransportId::new_random();
    let mut with_sctp = setup(30);
    if let TransportSetup::WebRtc(s) = &mut with_sctp {
        s.sctp_parameters = Some(SctpParameters {
            port: 5000,
            os: 1024,
            mis: 1024,
            max_message_size: 262_144,
        });
    }
    router
        .create_transport(&alice, transport, with_sctp)
        .unwrap();
    let direct = super::tests::direct(&mut router, &bob);
    let mut link = Link {
        router,
        transport,
        out: Outbox::new(),
        t0: Instant::now(),
    };
    let mut client = link.validated_dtls_client();
    let events = link.handshake(&mut client, Duration::from_secs(5));
    assert!(
        events
            .iter()
            .any(|e| matches!(e, DtlsEvent::Connected { .. }))
    );

    // The browser's side: a data channel "chat" on stream 0 (negotiated), the router's producer of it,
    // and Bob's direct consumer; Bob's direct producer and a consumer of it on the WebRTC transport.
    let mut sctp = SctpAssociation::new(SctpConfig::default(), SctpRole::Client, link.t0).unwrap();
    let chat = DataProducerId::new_random();
    link.router
        .produce_data(
            transport,
            chat,
            DataProducerOptions {
                sctp_stream_parameters: Some(SctpStreamParameters {
                    stream_id: 0,
                    ordered: Some(true),
                    ..Default::default()
                }),
                label: "chat".to_owned(),
                protocol: String::new(),
                paused: false,
            },
        )
        .unwrap();
    let to_bob = link
        .router
        .consume_data(
            direct,
            DataConsumerId::new_random(),
            DataConsumerOptions {
                data_producer_id: chat,
                ordered: None,
                max_packet_life_time: None,
                max_retransmits: None,
                paused: false,
            },
        )
        .unwrap();
    let bot = DataProducerId::new_random();
    link.router
        .produce_data(
            direct,
            bot,
            DataProducerOptions {
                sctp_stream_parameters: None,
                label: "bot".to_owned(),
                protocol: String::new(),
                paused: false,
            },
        )
        .unwrap();
    let to_alice = link
        .router
        .consume_data(
            transport,
            DataConsumerId::new_random(),
            DataConsumerOptions {
                data_producer_id: bot,
                ordered: None,
                max_packet_life_time: None,
                max_retransmits: None,
                paused: false,
            },
        )
        .unwrap();
    let alice_stream = to_alice.sctp_stream_parameters.unwrap().stream_id;
    assert_ne!(
        alice_stream, 0,
        "a consumer never takes a producer's channel id"
    );
    sctp.add_channel(0, true, Reliability::Reliable);
    sctp.add_channel(alice_stream, true, Reliability::Reliable);
    pump_sctp(
        &mut link,
        &mut client,
        &mut sctp,
        Duration::from_secs(1),
        Duration::from_millis(500),
    );
    assert_eq!(sctp.state(), SctpState::Connected);
    drain(&mut link.router);

    let now = link.t0 + Duration::from_millis(1500);
    sctp.send(now, 0, PPID_STRING, b"hello bob").unwrap();
    link.router
        .send_data_message(now, bot, PPID_STRING, b"hello alice")
        .unwrap();
    let events = pump_sctp(
        &mut link,
        &mut client,
        &mut sctp,
        Duration::from_millis(1500),
        Duration::from_millis(500),
    );
    assert!(events.contains(&SctpEvent::Message {
        stream_id: alice_stream,
        ppid: PPID_STRING,
        data: b"hello alice".to_vec(),
    }));
    let router_events = drain(&mut link.router);
    assert!(router_events.iter().any(|e| matches!(
        e,
        RouterEvent::DataConsumerMessage { data_consumer_id, data, .. }
            if *data_consumer_id == to_bob.id && data == b"hello bob"
    )));
    let stats = link.stats();
    assert_eq!(stats.sctp_state, Some(SctpState::Connected));
    assert_eq!(stats.dropped_unsupported, 0, "{stats:?}");
}
