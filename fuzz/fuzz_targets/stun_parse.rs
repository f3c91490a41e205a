//! The STUN view and the ICE-lite responder: never panic, and every answer is a well-formed STUN message.
#![no_main]

use std::net::SocketAddr;
use std::time::Instant;

use libfuzzer_sys::fuzz_target;
use mediagate_engine::ice::stun::{StunMessage, integrity_key};
use mediagate_engine::ice::{IceOutcome, IceServer, MAX_RESPONSE_LEN};

fuzz_target!(|data: &[u8]| {
    if let Ok(m) = StunMessage::parse(data) {
        let _ = (m.msg_type(), m.transaction_id(), m.username(), m.priority());
        let _ = (m.use_candidate(), m.ice_controlling(), m.ice_controlled());
        let _ = (m.error_code(), m.xor_mapped_address());
        let _ = (
            m.check_fingerprint(),
            m.check_integrity(&integrity_key("fuzz-password-0123456789")),
        );
    }
    let mut server = IceServer::new("fuzz", "fuzz-password-0123456789");
    let from = SocketAddr::from(([192, 0, 2, 1], 5000));
    let mut out = [0u8; MAX_RESPONSE_LEN];
    match server.handle_stun(Instant::now(), from, data, &mut out) {
        IceOutcome::Responded { len }
        | IceOutcome::SelectedTupleChanged { len, .. }
        | IceOutcome::Rejected { len, .. } => {
            let reply = StunMessage::parse(&out[..len]).expect("our responses parse");
            assert!(reply.check_fingerprint());
        }
        IceOutcome::Dropped(_) => {}
    }
});
