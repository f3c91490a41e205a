//! IceServer behaviour on virtual time, driven by requests from an independent builder.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use hmac::{Hmac, Mac};
use sha1::Sha1;

use super::stun::{BINDING_ERROR, BINDING_SUCCESS, StunMessage, integrity_key};
use super::*;

const UFRAG: &str = "srvU";
const PWD: &str = "server-password-0123456789";

/// A Binding Request built without the codec under test: bitwise CRC-32, HMAC over a copied prefix.
struct Request {
    username: Option<String>,
    password: Option<String>,
    use_candidate: bool,
    fingerprint: bool,
    tid: [u8; 12],
}

impl Request {
    fn new(username: &str, password: &str) -> Self {
        Self {
            username: Some(username.into()),
            password: Some(password.into()),
            use_candidate: false,
            fingerprint: true,
            tid: *b"transaction1",
        }
    }

    fn nominating(mut self) -> Self {
        self.use_candidate = true;
        self
    }

    fn build(&self) -> Vec<u8> {
        let mut m = vec![0x00, 0x01, 0, 0, 0x21, 0x12, 0xA4, 0x42];
        m.extend_from_slice(&self.tid);
        let attr = |m: &mut Vec<u8>, t: u16, v: &[u8]| {
            m.extend_from_slice(&t.to_be_bytes());
            m.extend_from_slice(&(v.len() as u16).to_be_bytes());
            m.extend_from_slice(v);
            while m.len() % 4 != 0 {
                m.push(0);
            }
        };
        let set_len = |m: &mut Vec<u8>, extra: usize| {
            let l = (m.len() - 20 + extra) as u16;
            m[2..4].copy_from_slice(&l.to_be_bytes());
        };
        if let Some(u) = &self.username {
            attr(&mut m, 0x0006, u.as_bytes());
        }
        attr(&mut m, 0x0024, &0x6e00_01ffu32.to_be_bytes());
        attr(&mut m, 0x802A, &7u64.to_be_bytes());
        if self.use_candidate {
            attr(&mut m, 0x0025, &[]);
        }
        if let Some(p) = &self.password {
            set_len(&mut m, 24);
            let mut mac = Hmac::<Sha1>::new_from_slice(p.as_bytes()).unwrap();
            mac.update(&m);
            let tag = mac.finalize().into_bytes();
            attr(&mut m, 0x0008, &tag);
        }
        if self.fingerprint {
            set_len(&mut m, 8);
            let crc = bitwise_crc32(&m) ^ 0x5354_554E;
            attr(&mut m, 0x8028, &crc.to_be_bytes());
        }
        set_len(&mut m, 0);
        m
    }
}

fn bitwise_crc32(bytes: &[u8]) -> u32 {
    let mut crc = 0xFFFF_FFFFu32;
    for &b in bytes {
        crc ^= u32::from(b);
        for _ in 0..8 {
            let mask = (crc & 1).wrapping_neg();
            crc = (crc >> 1) ^ (0xEDB8_8320 & mask);
        }
    }
    !crc
}

fn peer(port: u16) -> SocketAddr {
    SocketAddr::from(([192, 0, 2, 7], port))
}

fn server() -> IceServer {
    IceServer::new(UFRAG, PWD)
}

fn valid() -> Vec<u8> {
    Request::new("srvU:cli1", PWD).build()
}

fn events(s: &mut IceServer) -> Vec<IceEvent> {
    std::iter::from_fn(|| s.poll_event()).collect()
}

#[test]
fn valid_check_is_answered_and_connects() {
    let mut s = server();
    let now = Instant::now();
    let mut out = [0u8; MAX_RESPONSE_LEN];
    let outcome = s.handle_stun(now, peer(5000), &valid(), &mut out);
    let IceOutcome::SelectedTupleChanged { len, tuple } = outcome else {
        panic!("{outcome:?}");
    };
    assert_eq!(tuple, peer(5000));
    let r = StunMessage::parse(&out[..len]).unwrap();
    assert_eq!(r.msg_type(), BINDING_SUCCESS);
    assert_eq!(r.transaction_id(), b"transaction1");
    assert_eq!(r.xor_mapped_address(), Some(peer(5000)));
    assert!(r.check_integrity(&integrity_key(PWD)) && r.check_fingerprint());
    // The response's attributes are in the required order: XOR-MAPPED-ADDRESS, MESSAGE-INTEGRITY, FINGERPRINT.
    assert_eq!(&out[20..22], &[0x00, 0x20]);
    assert_eq!(&out[32..34], &[0x00, 0x08]);
    assert_eq!(&out[56..58], &[0x80, 0x28]);
    assert_eq!(s.state(), IceState::Connected);
    assert_eq!(s.selected_tuple(), Some(peer(5000)));
    assert!(s.is_valid_tuple(peer(5000)));
    assert_eq!(
        events(&mut s),
        [
            IceEvent::SelectedTupleChanged(peer(5000)),
            IceEvent::StateChanged(IceState::Connected)
        ]
    );
    // The same check again changes nothing.
    assert!(matches!(
        s.handle_stun(now, peer(5000), &valid(), &mut out),
        IceOutcome::Responded { .. }
    ));
    assert_eq!(events(&mut s), []);
}

#[test]
fn wrong_password_and_username_get_401() {
    let mut s = server();
    let now = Instant::now();
    let mut out = [0u8; MAX_RESPONSE_LEN];
    for (req, reason) in [
        (
            Request::new("srvU:cli1", "not-the-password-0123456"),
            IceRejection::BadIntegrity,
        ),
        (
            Request::new("other:cli1", PWD),
            IceRejection::UnknownUsername,
        ),
        (
            Request::new("srvUx:cli1", PWD),
            IceRejection::UnknownUsername,
        ),
    ] {
        let IceOutcome::Rejected { len, reason: got } =
            s.handle_stun(now, peer(1), &req.build(), &mut out)
        else {
            panic!("not rejected");
        };
        assert_eq!(got, reason);
        let r = StunMessage::parse(&out[..len]).unwrap();
        assert_eq!(r.msg_type(), BINDING_ERROR);
        assert_eq!(r.error_code(), Some(401));
        assert!(r.check_fingerprint());
    }
    assert_eq!(s.state(), IceState::New);
    assert!(!s.is_valid_tuple(peer(1)));
    assert_eq!(events(&mut s), []);
}

#[test]
fn missing_integrity_gets_400_and_missing_fingerprint_is_dropped() {
    let mut s = server();
    let now = Instant::now();
    let mut out = [0u8; MAX_RESPONSE_LEN];
    let mut no_mi = Request::new("srvU:cli1", PWD);
    no_mi.password = None;
    let outcome = s.handle_stun(now, peer(1), &no_mi.build(), &mut out);
    assert!(matches!(
        outcome,
        IceOutcome::Rejected {
            reason: IceRejection::MissingCredentials,
            ..
        }
    ));
    let IceOutcome::Rejected { len, .. } = outcome else {
        unreachable!()
    };
    assert_eq!(
        StunMessage::parse(&out[..len]).unwrap().error_code(),
        Some(400)
    );
    let mut no_user = Request::new("srvU:cli1", PWD);
    no_user.username = None;
    assert!(matches!(
        s.handle_stun(now, peer(1), &no_user.build(), &mut out),
        IceOutcome::Rejected {
            reason: IceRejection::MissingCredentials,
            ..
        }
    ));
    let mut no_fp = Request::new("srvU:cli1", PWD);
    no_fp.fingerprint = false;
    assert_eq!(
        s.handle_stun(now, peer(1), &no_fp.build(), &mut out),
        IceOutcome::Dropped(IceRejection::BadFingerprint)
    );
    let mut bad_fp = valid();
    let n = bad_fp.len();
    bad_fp[n - 1] ^= 1;
    assert_eq!(
        s.handle_stun(now, peer(1), &bad_fp, &mut out),
        IceOutcome::Dropped(IceRejection::BadFingerprint)
    );
    // A response is not a request.
    let mut resp = [0u8; MAX_RESPONSE_LEN];
    let len = stun::write_binding_success(&mut resp, b"transaction1", peer(1), &integrity_key(PWD))
        .unwrap();
    assert_eq!(
        s.handle_stun(now, peer(1), &resp[..len], &mut out),
        IceOutcome::Dropped(IceRejection::NotBindingRequest)
    );
    assert_eq!(
        s.handle_stun(now, peer(1), &valid(), &mut [0u8; 40]),
        IceOutcome::Dropped(IceRejection::BufferTooSmall)
    );
    assert_eq!(s.state(), IceState::New);
}

#[test]
fn use_candidate_nominates_and_renominates() {
    let mut s = server();
    let t0 = Instant::now();
    let mut out = [0u8; MAX_RESPONSE_LEN];
    s.handle_stun(t0, peer(1), &valid(), &mut out);
    // A second tuple's plain check is valid but not selected.
    assert!(matches!(
        s.handle_stun(t0, peer(2), &valid(), &mut out),
        IceOutcome::Responded { .. }
    ));
    assert_eq!(s.selected_tuple(), Some(peer(1)));
    assert!(s.is_valid_tuple(peer(2)));
    events(&mut s);
    let nominate = Request::new("srvU:cli1", PWD).nominating().build();
    assert!(matches!(
        s.handle_stun(t0, peer(2), &nominate, &mut out),
        IceOutcome::SelectedTupleChanged { tuple, .. } if tuple == peer(2)
    ));
    assert_eq!(s.state(), IceState::Completed);
    assert_eq!(
        events(&mut s),
        [
            IceEvent::SelectedTupleChanged(peer(2)),
            IceEvent::StateChanged(IceState::Completed)
        ]
    );
    // Re-nomination to a new tuple (e.g. the network changed).
    assert!(matches!(
        s.handle_stun(t0, peer(3), &nominate, &mut out),
        IceOutcome::SelectedTupleChanged { tuple, .. } if tuple == peer(3)
    ));
    assert_eq!(events(&mut s), [IceEvent::SelectedTupleChanged(peer(3))]);
    // A plain check from the old tuple does not take the selection back.
    s.handle_stun(t0, peer(2), &valid(), &mut out);
    assert_eq!(s.selected_tuple(), Some(peer(3)));
    assert_eq!(s.state(), IceState::Completed);
}

#[test]
fn nomination_in_the_first_check_completes_directly() {
    let mut s = server();
    let mut out = [0u8; MAX_RESPONSE_LEN];
    let nominate = Request::new("srvU:cli1", PWD).nominating().build();
    s.handle_stun(Instant::now(), peer(1), &nominate, &mut out);
    assert_eq!(
        events(&mut s),
        [
            IceEvent::SelectedTupleChanged(peer(1)),
            IceEvent::StateChanged(IceState::Completed)
        ]
    );
}

#[test]
fn consent_expires_on_virtual_time_and_a_check_revives() {
    let mut s = server();
    let t0 = Instant::now();
    let mut out = [0u8; MAX_RESPONSE_LEN];
    assert_eq!(s.poll_timeout(), None);
    let nominate = Request::new("srvU:cli1", PWD).nominating().build();
    s.handle_stun(t0, peer(1), &nominate, &mut out);
    events(&mut s);
    assert_eq!(s.poll_timeout(), Some(t0 + DEFAULT_CONSENT_TIMEOUT));
    // Checks every 5 s keep consent.
    let t5 = t0 + Duration::from_secs(5);
    s.handle_stun(t5, peer(1), &valid(), &mut out);
    s.handle_timeout(t0 + Duration::from_secs(34));
    assert_eq!(s.state(), IceState::Completed);
    assert_eq!(s.poll_timeout(), Some(t5 + DEFAULT_CONSENT_TIMEOUT));
    s.handle_timeout(t5 + DEFAULT_CONSENT_TIMEOUT);
    assert_eq!(s.state(), IceState::Disconnected);
    assert_eq!(
        events(&mut s),
        [IceEvent::StateChanged(IceState::Disconnected)]
    );
    assert_eq!(s.selected_tuple(), Some(peer(1)));
    // A valid check revives it; with USE-CANDIDATE straight to completed.
    let t40 = t0 + Duration::from_secs(40);
    s.handle_stun(t40, peer(1), &valid(), &mut out);
    assert_eq!(s.state(), IceState::Connected);
    s.handle_stun(t40, peer(1), &nominate, &mut out);
    assert_eq!(
        events(&mut s),
        [
            IceEvent::StateChanged(IceState::Connected),
            IceEvent::StateChanged(IceState::Completed)
        ]
    );
    // Silence past consent and grace: disconnected, then closed (one late timer call does both).
    s.handle_timeout(t40 + DEFAULT_CONSENT_TIMEOUT + DEFAULT_CLOSE_GRACE);
    assert_eq!(
        events(&mut s),
        [
            IceEvent::StateChanged(IceState::Disconnected),
            IceEvent::StateChanged(IceState::Closed)
        ]
    );
    assert_eq!(s.poll_timeout(), None);
    assert_eq!(s.selected_tuple(), None);
    assert_eq!(
        s.handle_stun(t40 + Duration::from_secs(61), peer(1), &valid(), &mut out),
        IceOutcome::Dropped(IceRejection::Closed)
    );
    assert_eq!(s.restart("newU", PWD), Err(IceRestartError::Closed));
}

#[test]
fn custom_timeouts() {
    let mut s = server().with_timeouts(Duration::from_secs(5), Duration::from_secs(1));
    let t0 = Instant::now();
    s.handle_stun(t0, peer(1), &valid(), &mut [0u8; MAX_RESPONSE_LEN]);
    s.handle_timeout(t0 + Duration::from_secs(5));
    assert_eq!(s.state(), IceState::Disconnected);
    assert_eq!(s.poll_timeout(), Some(t0 + Duration::from_secs(6)));
    s.handle_timeout(t0 + Duration::from_secs(6));
    assert_eq!(s.state(), IceState::Closed);
}

#[test]
fn ice_restart_switches_credentials() {
    let mut s = server();
    let t0 = Instant::now();
    let mut out = [0u8; MAX_RESPONSE_LEN];
    s.handle_stun(t0, peer(1), &valid(), &mut out);
    let new_pwd = "fresh-password-abcdefghijkl";
    s.restart("newU", new_pwd).unwrap();
    assert_eq!((s.local_ufrag(), s.local_pwd()), ("newU", new_pwd));
    assert_eq!(s.state(), IceState::Connected);
    // Until the remote side uses the new credentials, the old ones still work (media keeps flowing).
    let IceOutcome::Responded { len } = s.handle_stun(t0, peer(1), &valid(), &mut out) else {
        panic!("old credentials refused before the switch");
    };
    assert!(
        StunMessage::parse(&out[..len])
            .unwrap()
            .check_integrity(&integrity_key(PWD))
    );
    let fresh = Request::new("newU:cli2", new_pwd).nominating().build();
    let IceOutcome::Responded { len } = s.handle_stun(t0, peer(1), &fresh, &mut out) else {
        panic!("new credentials refused");
    };
    assert!(
        StunMessage::parse(&out[..len])
            .unwrap()
            .check_integrity(&integrity_key(new_pwd))
    );
    assert_eq!(s.state(), IceState::Completed);
    // Once the new ones were used, the old ones are refused.
    assert!(matches!(
        s.handle_stun(t0, peer(1), &valid(), &mut out),
        IceOutcome::Rejected {
            reason: IceRejection::UnknownUsername,
            ..
        }
    ));
    // New credentials with the old password are refused as well.
    assert!(matches!(
        s.handle_stun(
            t0,
            peer(1),
            &Request::new("newU:cli2", PWD).build(),
            &mut out
        ),
        IceOutcome::Rejected {
            reason: IceRejection::BadIntegrity,
            ..
        }
    ));
}

#[test]
fn tuples_are_bounded_and_keep_the_selected_one() {
    let mut s = server();
    let t0 = Instant::now();
    let mut out = [0u8; MAX_RESPONSE_LEN];
    for port in 1..=20 {
        s.handle_stun(t0, peer(port), &valid(), &mut out);
    }
    assert_eq!(s.tuples.len(), MAX_TUPLES);
    assert!(s.is_valid_tuple(peer(1)) && s.is_valid_tuple(peer(20)));
    assert!(!s.is_valid_tuple(peer(2)));
}

/// Deterministic noise: random and mutated datagrams never panic and never validate a tuple without credentials.
#[test]
fn noise_never_panics() {
    let mut s = server();
    let t0 = Instant::now();
    let mut out = [0u8; MAX_RESPONSE_LEN];
    let mut x = 0x9E37_79B9_7F4A_7C15u64;
    let mut next = move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    let seed = Request::new("srvU:cli1", PWD).nominating().build();
    for i in 0..20_000u32 {
        let mut d = if i % 2 == 0 {
            let len = (next() % 120) as usize;
            (0..len).map(|_| next() as u8).collect::<Vec<_>>()
        } else {
            seed.clone()
        };
        if !d.is_empty() {
            for _ in 0..1 + next() % 4 {
                let at = (next() as usize) % d.len();
                d[at] ^= 1 << (next() % 8);
            }
            if i % 3 == 0 {
                d.truncate((next() as usize) % (d.len() + 1));
            }
        }
        // Keep random datagrams STUN-shaped half the time so the attribute walk is exercised.
        if i % 4 == 0 && d.len() >= 20 {
            d[0] &= 0x3F;
            d[4..8].copy_from_slice(&stun::MAGIC_COOKIE.to_be_bytes());
            let l = ((d.len() - 20) as u16 & !3).to_be_bytes();
            d[2..4].copy_from_slice(&l);
            d.truncate(20 + usize::from(u16::from_be_bytes(l)));
        }
        let from = peer(10_000 + (i % 7) as u16);
        match s.handle_stun(t0, from, &d, &mut out) {
            IceOutcome::Responded { len } | IceOutcome::SelectedTupleChanged { len, .. } => {
                assert!(StunMessage::parse(&out[..len]).unwrap().check_fingerprint());
            }
            IceOutcome::Rejected { len, .. } => {
                assert!(len <= MAX_RESPONSE_LEN);
            }
            IceOutcome::Dropped(_) => {}
        }
    }
    assert_ne!(s.state(), IceState::Closed);
}

#[test]
fn a_removed_selected_tuple_hands_over_or_disconnects() {
    let mut s = server();
    let now = Instant::now();
    let mut out = [0u8; MAX_RESPONSE_LEN];
    let nominating = Request::new("srvU:cli1", PWD).nominating().build();
    s.handle_stun(now, peer(5000), &valid(), &mut out);
    s.handle_stun(now, peer(5001), &nominating, &mut out);
    assert_eq!(s.selected_tuple(), Some(peer(5001)));
    events(&mut s);
    // An unselected tuple goes quietly.
    s.remove_tuple(now, peer(7));
    assert!(events(&mut s).is_empty());
    // The selected one hands over to the remaining one.
    s.remove_tuple(now, peer(5001));
    assert_eq!(s.selected_tuple(), Some(peer(5000)));
    assert_eq!(events(&mut s), [IceEvent::SelectedTupleChanged(peer(5000))]);
    // The last one leaves ICE disconnected, and closed after the grace.
    s.remove_tuple(now, peer(5000));
    assert_eq!(s.selected_tuple(), None);
    assert!(!s.is_valid_tuple(peer(5000)));
    assert_eq!(
        events(&mut s),
        [IceEvent::StateChanged(IceState::Disconnected)]
    );
    s.handle_timeout(now + DEFAULT_CLOSE_GRACE);
    assert_eq!(s.state(), IceState::Closed);
}
