//! WebRTC transport scenarios on virtual time: ICE checks from a peer built with the STUN codec's request
//! writer, the source check that follows, consent expiry and ICE restart.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use super::tests::{drain, join, router};
use super::*;
use crate::ice::stun::{self, StunMessage};
use crate::net::{Outbox, SocketRef};
use crate::transport_parameters::{
    DtlsParameters, DtlsRole, IceCandidate, IceCandidateType, IceParameters, IceState, Protocol,
};

const SOCKET: SocketRef = SocketRef(7);
const LOCAL_UFRAG: &str = "localufrag";
const LOCAL_PWD: &str = "localpassword0123456789ab";

fn peer() -> SocketAddr {
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
    })
}

struct Link {
    router: Router,
    transport: TransportId,
    out: Outbox,
    t0: Instant,
}

impl Link {
    fn new() -> Self {
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

    fn check(&mut self, at: Duration, from: SocketAddr, ufrag: &str, pwd: &str, nominate: bool) {
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

    fn datagram(&mut self, at: Duration, from: SocketAddr, data: &mut [u8]) {
        self.router.handle_datagram(
            self.t0 + at,
            self.transport,
            SOCKET,
            from,
            data,
            &mut self.out,
        );
    }

    fn responses(&mut self) -> Vec<(SocketAddr, u16)> {
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
            TransportInfo::Plain(_) => panic!("webrtc transport expected"),
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
