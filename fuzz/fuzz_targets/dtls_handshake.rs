//! A server `DtlsTransport` fed arbitrary datagrams, optionally after a genuine ClientHello (DTLS 1.2/1.3
//! hybrid, from our own client role, offering AEAD_AES_256_GCM first: answered by the rtc-dtls 1.2 server
//! path) so that the inputs also reach the cookie and handshake states of that library. Without it, the
//! inputs go through our ClientHello reassembly first, and a hello the fuzzer completes reaches either
//! library. Never panics, never connects (no input can carry the client's certificate signature), sends
//! nothing larger than the MTU, and sends nothing once failed or closed.
#![no_main]

use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use libfuzzer_sys::fuzz_target;
use mediagate_engine::dtls::{DtlsCertificate, DtlsConfig, DtlsEvent, DtlsRole, DtlsTransport};
use mediagate_engine::transport_parameters::{DtlsFingerprint, DtlsState, FingerprintAlgorithm};

struct Fixture {
    certificate: Arc<DtlsCertificate>,
    remote: DtlsFingerprint,
    hello: Vec<Vec<u8>>,
}

fn fixture() -> &'static Fixture {
    static FIXTURE: OnceLock<Fixture> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).unwrap();
        let cert = rcgen::CertificateParams::new(vec!["fuzz".to_owned()])
            .unwrap()
            .self_signed(&key)
            .unwrap();
        let certificate =
            Arc::new(DtlsCertificate::from_der(cert.der().to_vec(), key.serialize_der()).unwrap());
        let remote = certificate.fingerprint(FingerprintAlgorithm::Sha256);
        let config = DtlsConfig::new(Arc::clone(&certificate), vec![remote.clone()]);
        let mut client = DtlsTransport::new(config, DtlsRole::Client, Instant::now()).unwrap();
        let hello = std::iter::from_fn(|| client.poll_transmit()).collect();
        Fixture {
            certificate,
            remote,
            hello,
        }
    })
}

fuzz_target!(|data: &[u8]| {
    let fixture = fixture();
    let start = Instant::now();
    let config = DtlsConfig::new(
        Arc::clone(&fixture.certificate),
        vec![fixture.remote.clone()],
    );
    let mtu = config.mtu;
    let mut server = DtlsTransport::new(config, DtlsRole::Server, start).unwrap();
    let Some((&mode, mut rest)) = data.split_first() else {
        return;
    };
    let mut now = start;
    if mode & 1 == 1 {
        for datagram in &fixture.hello {
            server.handle_datagram(now, datagram);
        }
    }
    // Datagrams: a length byte, then that many bytes; a zero length advances time by 300 ms instead.
    while let Some((&len, tail)) = rest.split_first() {
        let len = usize::from(len).min(tail.len());
        let (datagram, tail) = tail.split_at(len);
        rest = tail;
        if len == 0 {
            now += Duration::from_millis(300);
            server.handle_timeout(now);
        } else {
            server.handle_datagram(now, datagram);
        }
        let done = matches!(server.state(), DtlsState::Failed | DtlsState::Closed);
        while let Some(out) = server.poll_transmit() {
            assert!(out.len() <= mtu, "{} > {mtu}", out.len());
        }
        if done {
            assert!(server.poll_transmit().is_none());
            assert!(server.poll_timeout().is_none());
        }
        assert_ne!(server.state(), DtlsState::Connected);
        while let Some(event) = server.poll_event() {
            assert!(
                matches!(event, DtlsEvent::Connecting | DtlsEvent::Failed(_)),
                "{event:?}"
            );
        }
    }
});
