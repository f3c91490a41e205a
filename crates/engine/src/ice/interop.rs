//! Cross-check against rtc-stun 0.21.1 (a dev-dependency): its requests are accepted, our responses pass its
//! MESSAGE-INTEGRITY and FINGERPRINT checks and carry the sender's address.

use std::net::SocketAddr;
use std::time::Instant;

use rtc_stun::attributes::{
    ATTR_ICE_CONTROLLING, ATTR_PRIORITY, ATTR_USE_CANDIDATE, ATTR_USERNAME,
};
use rtc_stun::crypto::default_provider;
use rtc_stun::fingerprint::FINGERPRINT;
use rtc_stun::integrity::MessageIntegrity;
use rtc_stun::message::{BINDING_REQUEST, BINDING_SUCCESS, Getter, Message, Setter, TransactionId};
use rtc_stun::textattrs::TextAttribute;
use rtc_stun::xoraddr::XorMappedAddress;

use super::*;

const PWD: &str = "interop-password-0123456789";

fn their_request(username: &str, password: &str, nominate: bool) -> Vec<u8> {
    let provider = default_provider().unwrap();
    let mut m = Message::new();
    m.build(&[
        Box::new(BINDING_REQUEST),
        Box::new(TransactionId::new()),
        Box::new(TextAttribute::new(ATTR_USERNAME, username.into())),
    ])
    .unwrap();
    m.add(ATTR_PRIORITY, &0x6e00_01ffu32.to_be_bytes());
    m.add(ATTR_ICE_CONTROLLING, &42u64.to_be_bytes());
    if nominate {
        m.add(ATTR_USE_CANDIDATE, &[]);
    }
    MessageIntegrity::new_short_term_integrity_with_provider(password.into(), provider.crypto())
        .add_to(&mut m)
        .unwrap();
    FINGERPRINT.add_to(&mut m).unwrap();
    m.raw
}

#[test]
fn rtc_stun_requests_are_answered_in_a_form_rtc_stun_accepts() {
    let provider = default_provider().unwrap();
    for from in [
        "192.0.2.9:61000".parse::<SocketAddr>().unwrap(),
        "[2001:db8::9]:61001".parse().unwrap(),
    ] {
        let mut s = IceServer::new("ourU", PWD);
        let mut out = [0u8; MAX_RESPONSE_LEN];
        let req = their_request("ourU:theirs", PWD, true);
        let IceOutcome::SelectedTupleChanged { len, tuple } =
            s.handle_stun(Instant::now(), from, &req, &mut out)
        else {
            panic!("rtc-stun request refused");
        };
        assert_eq!(tuple, from);
        assert_eq!(s.state(), IceState::Completed);
        let mut resp = Message::new();
        resp.unmarshal_binary(&out[..len]).unwrap();
        assert_eq!(resp.typ, BINDING_SUCCESS);
        assert_eq!(&resp.transaction_id.0[..], &req[8..20]);
        FINGERPRINT.check(&resp).unwrap();
        MessageIntegrity::check(&mut resp, PWD.as_bytes(), provider.crypto()).unwrap();
        let mut xa = XorMappedAddress::default();
        xa.get_from(&resp).unwrap();
        assert_eq!(SocketAddr::new(xa.ip, xa.port), from);
    }
}

#[test]
fn rtc_stun_request_with_the_wrong_password_gets_401() {
    let mut s = IceServer::new("ourU", PWD);
    let mut out = [0u8; MAX_RESPONSE_LEN];
    let req = their_request("ourU:theirs", "a-different-password-01234", false);
    let from = "192.0.2.9:61000".parse().unwrap();
    let IceOutcome::Rejected { len, reason } = s.handle_stun(Instant::now(), from, &req, &mut out)
    else {
        panic!("accepted");
    };
    assert_eq!(reason, IceRejection::BadIntegrity);
    let mut resp = Message::new();
    resp.unmarshal_binary(&out[..len]).unwrap();
    FINGERPRINT.check(&resp).unwrap();
    assert_eq!(s.state(), IceState::New);
}
