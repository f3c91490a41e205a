//! Scenarios on virtual time: our [`DtlsTransport`] against independent in-process peers — `rtc-dtls` 0.21.1
//! (webrtc-rs, DTLS 1.2, configurable SRTP offer order: stands in for Chrome) and a bare `dimpl` endpoint
//! (DTLS 1.2 or 1.3 auto-sense, stands in for Firefox) — and against itself. Datagrams are shuttled in
//! memory; loss is simulated by dropping whole flights.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::BytesMut;
use rtc_dtls::extension::extension_use_srtp::SrtpProtectionProfile as RtcProfile;

use super::*;
use crate::srtp::{MAX_TRAILER_LEN, SrtpSession, split_dtls_srtp_keying_material};
use crate::transport_parameters::FingerprintAlgorithm;

// ---------------------------------------------------------------------------------------------------------
// Certificates

struct TestCert {
    der: Vec<u8>,
    key: Vec<u8>,
    /// PEM key (with the tag rtc-dtls 0.21 expects) followed by the certificate.
    rtc_pem: String,
}

fn test_cert() -> TestCert {
    let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).unwrap();
    let cert = rcgen::CertificateParams::new(vec!["peer".to_owned()])
        .unwrap()
        .self_signed(&key)
        .unwrap();
    TestCert {
        der: cert.der().to_vec(),
        key: key.serialize_der(),
        // rtc-dtls 0.21.1 looks for "PRIVATE_KEY", not RFC 7468's "PRIVATE KEY".
        rtc_pem: format!(
            "{}{}",
            key.serialize_pem().replace("PRIVATE KEY", "PRIVATE_KEY"),
            cert.pem()
        ),
    }
}

impl TestCert {
    fn fingerprint(&self) -> DtlsFingerprint {
        fingerprint_of(&self.der, FingerprintAlgorithm::Sha256)
    }
}

fn local_cert() -> (Arc<DtlsCertificate>, TestCert) {
    let cert = test_cert();
    let local = DtlsCertificate::from_der(cert.der.clone(), cert.key.clone()).unwrap();
    (Arc::new(local), cert)
}

// ---------------------------------------------------------------------------------------------------------
// Peers

trait Peer {
    fn input(&mut self, now: Instant, datagram: &[u8]);
    fn timeout(&mut self, now: Instant);
    fn next_timeout(&self) -> Option<Instant>;
    fn output(&mut self) -> Vec<Vec<u8>>;
    fn connected(&self) -> bool;
    /// `(profile, exported keying material)` once connected.
    fn keys(&self) -> Option<(SrtpProfile, Vec<u8>)>;
    fn send(&mut self, now: Instant, data: &[u8]);
    fn received(&mut self) -> Vec<Vec<u8>>;
}

/// Our transport, with every event it produced kept for assertions.
struct Ours {
    transport: DtlsTransport,
    events: Vec<DtlsEvent>,
    keys: Option<(SrtpProfile, Vec<u8>)>,
    received: Vec<Vec<u8>>,
}

impl Ours {
    fn new(
        certificate: Arc<DtlsCertificate>,
        remote: DtlsFingerprint,
        role: DtlsRole,
        now: Instant,
    ) -> Self {
        Self::with_config(DtlsConfig::new(certificate, vec![remote]), role, now)
    }

    fn with_config(config: DtlsConfig, role: DtlsRole, now: Instant) -> Self {
        let mut ours = Ours {
            transport: DtlsTransport::new(config, role, now).unwrap(),
            events: Vec::new(),
            keys: None,
            received: Vec::new(),
        };
        ours.collect();
        ours
    }

    fn collect(&mut self) {
        while let Some(event) = self.transport.poll_event() {
            match &event {
                DtlsEvent::Connected {
                    profile,
                    keying_material,
                    ..
                } => self.keys = Some((*profile, keying_material.as_bytes().to_vec())),
                DtlsEvent::ApplicationData(data) => self.received.push(data.clone()),
                _ => {}
            }
            self.events.push(event);
        }
    }

    fn failure(&self) -> Option<&DtlsFailure> {
        self.events.iter().find_map(|event| match event {
            DtlsEvent::Failed(failure) => Some(failure),
            _ => None,
        })
    }

    fn count(&self, wanted: fn(&DtlsEvent) -> bool) -> usize {
        self.events.iter().filter(|event| wanted(event)).count()
    }
}

impl Peer for Ours {
    fn input(&mut self, now: Instant, datagram: &[u8]) {
        self.transport.handle_datagram(now, datagram);
        self.collect();
    }
    fn timeout(&mut self, now: Instant) {
        self.transport.handle_timeout(now);
        self.collect();
    }
    fn next_timeout(&self) -> Option<Instant> {
        self.transport.poll_timeout()
    }
    fn output(&mut self) -> Vec<Vec<u8>> {
        std::iter::from_fn(|| self.transport.poll_transmit()).collect()
    }
    fn connected(&self) -> bool {
        self.transport.state() == DtlsState::Connected
    }
    fn keys(&self) -> Option<(SrtpProfile, Vec<u8>)> {
        self.keys.clone()
    }
    fn send(&mut self, now: Instant, data: &[u8]) {
        self.transport.send_application_data(now, data).unwrap();
    }
    fn received(&mut self) -> Vec<Vec<u8>> {
        std::mem::take(&mut self.received)
    }
}

/// webrtc-rs `rtc-dtls` 0.21.1, DTLS 1.2 only, offering SRTP profiles in a chosen order.
struct Rtc {
    endpoint: rtc_dtls::endpoint::Endpoint,
    remote: SocketAddr,
    connected: bool,
    received: Vec<Vec<u8>>,
}

const CHROME_ORDER: [RtcProfile; 3] = [
    RtcProfile::Srtp_Aes128_Cm_Hmac_Sha1_80,
    RtcProfile::Srtp_Aead_Aes_256_Gcm,
    RtcProfile::Srtp_Aead_Aes_128_Gcm,
];

impl Rtc {
    fn new(
        cert: &TestCert,
        client: bool,
        profiles: &[RtcProfile],
        mtu: usize,
        now: Instant,
    ) -> Self {
        let provider = rtc_dtls::crypto_provider::default_provider().unwrap();
        let certificate =
            rtc_dtls::crypto::Certificate::from_pem(&cert.rtc_pem, provider.crypto()).unwrap();
        let config = rtc_dtls::config::ConfigBuilder::default()
            .with_crypto_provider(provider)
            .with_certificates(vec![certificate])
            .with_srtp_protection_profiles(profiles.to_vec())
            .with_client_auth(rtc_dtls::config::ClientAuthType::RequireAnyClientCert)
            .with_insecure_skip_verify(true)
            .with_extended_master_secret(rtc_dtls::config::ExtendedMasterSecretType::Require)
            .with_mtu(mtu)
            .build(client, None)
            .unwrap();
        let config = Arc::new(config);
        let local: SocketAddr = "127.0.0.1:5000".parse().unwrap();
        let remote: SocketAddr = "127.0.0.1:5001".parse().unwrap();
        let mut endpoint = rtc_dtls::endpoint::Endpoint::new(
            local,
            rtc_shared::TransportProtocol::UDP,
            (!client).then(|| Arc::clone(&config)),
        );
        if client {
            endpoint.connect(now, remote, config, None).unwrap();
        }
        Rtc {
            endpoint,
            remote,
            connected: false,
            received: Vec::new(),
        }
    }
}

impl Peer for Rtc {
    fn input(&mut self, now: Instant, datagram: &[u8]) {
        // Errors are the peer's business (it retransmits or gives up); the scenario watches our side.
        if let Ok(events) = self
            .endpoint
            .read(now, self.remote, None, BytesMut::from(datagram))
        {
            for event in events {
                match event {
                    rtc_dtls::endpoint::EndpointEvent::HandshakeComplete => self.connected = true,
                    rtc_dtls::endpoint::EndpointEvent::ApplicationData(data) => {
                        self.received.push(data.to_vec())
                    }
                    _ => {}
                }
            }
        }
    }
    fn timeout(&mut self, now: Instant) {
        let _ = self.endpoint.handle_timeout(self.remote, now);
    }
    fn next_timeout(&self) -> Option<Instant> {
        self.endpoint.poll_timeout(&self.remote)
    }
    fn output(&mut self) -> Vec<Vec<u8>> {
        std::iter::from_fn(|| self.endpoint.poll_transmit())
            .map(|transmit| transmit.message.to_vec())
            .collect()
    }
    fn connected(&self) -> bool {
        self.connected
    }
    fn keys(&self) -> Option<(SrtpProfile, Vec<u8>)> {
        let state = self.endpoint.get_connection_state(self.remote)?;
        if !self.connected {
            return None;
        }
        let profile = SrtpProfile::from_dtls_id(state.srtp_protection_profile() as u16)?;
        let material = state
            .export_keying_material("EXTRACTOR-dtls_srtp", &[], profile.keying_material_len())
            .ok()?;
        Some((profile, material.as_ref().to_vec()))
    }
    fn send(&mut self, now: Instant, data: &[u8]) {
        self.endpoint.write(now, self.remote, data).unwrap();
    }
    fn received(&mut self) -> Vec<Vec<u8>> {
        std::mem::take(&mut self.received)
    }
}

/// A bare `dimpl` endpoint, configured independently of our wrapper.
struct Bare {
    dtls: dimpl::Dtls,
    out: Vec<Vec<u8>>,
    next: Option<Instant>,
    connected: bool,
    keys: Option<(SrtpProfile, Vec<u8>)>,
    received: Vec<Vec<u8>>,
    version: Option<dimpl::ProtocolVersion>,
    closed_by_peer: bool,
}

#[derive(Clone, Copy, PartialEq)]
enum Version {
    Dtls12,
    Dtls13,
    Auto,
}

impl Bare {
    fn new(cert: &TestCert, client: bool, version: Version, mtu: usize, now: Instant) -> Self {
        let config = dimpl::Config::builder()
            .with_crypto_provider(dimpl::crypto::rust_crypto::default_provider())
            .mtu(mtu)
            .build()
            .unwrap();
        Self::with_config(cert, Arc::new(config), client, version, now)
    }

    fn with_config(
        cert: &TestCert,
        config: Arc<dimpl::Config>,
        client: bool,
        version: Version,
        now: Instant,
    ) -> Self {
        let certificate = dimpl::DtlsCertificate {
            certificate: cert.der.clone(),
            private_key: cert.key.clone(),
        };
        let mut dtls = match version {
            Version::Dtls12 => dimpl::Dtls::new_12(config, certificate, now),
            Version::Dtls13 => dimpl::Dtls::new_13(config, certificate, now),
            Version::Auto => dimpl::Dtls::new_auto(config, certificate, now),
        };
        dtls.set_active(client);
        let mut bare = Bare {
            dtls,
            out: Vec::new(),
            next: None,
            connected: false,
            keys: None,
            received: Vec::new(),
            version: None,
            closed_by_peer: false,
        };
        bare.timeout(now);
        bare
    }

    fn drain(&mut self) {
        let mut buf = vec![0; 4096];
        loop {
            match self.dtls.poll_output(&mut buf) {
                dimpl::Output::Packet(datagram) => self.out.push(datagram.to_vec()),
                dimpl::Output::Timeout(at) => {
                    self.next = Some(at);
                    break;
                }
                dimpl::Output::Connected => {
                    self.connected = true;
                    self.version = self.dtls.protocol_version();
                }
                dimpl::Output::KeyingMaterial(material, profile) => {
                    self.keys = Some((
                        keying::profile_from_library(profile).unwrap(),
                        material.to_vec(),
                    ));
                }
                dimpl::Output::ApplicationData(data) => self.received.push(data.to_vec()),
                dimpl::Output::CloseNotify => self.closed_by_peer = true,
                _ => {}
            }
        }
    }
}

impl Peer for Bare {
    fn input(&mut self, now: Instant, datagram: &[u8]) {
        if self
            .dtls
            .handle_timeout(now)
            .and_then(|()| self.dtls.handle_packet(datagram))
            .is_ok()
        {
            self.drain();
        } else {
            self.next = None;
        }
    }
    fn timeout(&mut self, now: Instant) {
        if self.dtls.handle_timeout(now).is_ok() {
            self.drain();
        } else {
            self.next = None;
        }
    }
    fn next_timeout(&self) -> Option<Instant> {
        self.next
    }
    fn output(&mut self) -> Vec<Vec<u8>> {
        std::mem::take(&mut self.out)
    }
    fn connected(&self) -> bool {
        self.connected
    }
    fn keys(&self) -> Option<(SrtpProfile, Vec<u8>)> {
        self.keys.clone()
    }
    fn send(&mut self, now: Instant, data: &[u8]) {
        self.dtls.handle_timeout(now).unwrap();
        self.dtls.send_application_data(data).unwrap();
        self.drain();
    }
    fn received(&mut self) -> Vec<Vec<u8>> {
        std::mem::take(&mut self.received)
    }
}

// ---------------------------------------------------------------------------------------------------------
// The link

/// One record of a datagram: `(content type, epoch, first body byte)`; DTLS 1.3 ciphertext records (unified
/// header, RFC 9147 §4) are reported as content type 0x20 with epoch bits only.
fn records(datagram: &[u8]) -> Vec<(u8, u16, u8)> {
    let mut found = Vec::new();
    let mut rest = datagram;
    while let Some(&first) = rest.first() {
        if first & 0xe0 == 0x20 {
            let seq_len = if first & 0x08 != 0 { 2 } else { 1 };
            let header = 1 + seq_len + if first & 0x04 != 0 { 2 } else { 0 };
            let body_len = if first & 0x04 != 0 && rest.len() >= header {
                usize::from(u16::from_be_bytes([rest[header - 2], rest[header - 1]]))
            } else {
                rest.len().saturating_sub(header)
            };
            found.push((0x20, u16::from(first & 0x03), 0));
            rest = rest.get(header + body_len..).unwrap_or(&[]);
        } else {
            if rest.len() < 13 {
                break;
            }
            let epoch = u16::from_be_bytes([rest[3], rest[4]]);
            let len = usize::from(u16::from_be_bytes([rest[11], rest[12]]));
            found.push((first, epoch, rest.get(13).copied().unwrap_or(0)));
            rest = rest.get(13 + len..).unwrap_or(&[]);
        }
    }
    found
}

/// The server's flight carrying the real ServerHello (not a DTLS 1.3 HelloRetryRequest): a ServerHello
/// with a Certificate (1.2) or with encrypted records (1.3).
fn is_server_hello_flight(batch: &[Vec<u8>]) -> bool {
    let all: Vec<_> = batch
        .iter()
        .flat_map(|datagram| records(datagram))
        .collect();
    let server_hello = all
        .iter()
        .any(|&(kind, epoch, msg)| kind == 22 && epoch == 0 && msg == 2);
    let more = all
        .iter()
        .any(|&(kind, epoch, msg)| (kind == 22 && epoch == 0 && msg == 11) || kind == 0x20);
    server_hello && more
}

/// The client's final flight: with a ChangeCipherSpec (1.2) or its first encrypted records (1.3).
fn is_client_final_flight(batch: &[Vec<u8>]) -> bool {
    batch
        .iter()
        .flat_map(|datagram| records(datagram))
        .any(|(kind, _, _)| kind == 20 || kind == 0x20)
}

#[derive(Clone, Copy, Default)]
struct Faults {
    /// Drop the server's ServerHello flight, once.
    drop_server_hello_flight: bool,
    /// Drop the client's final flight, once.
    drop_client_final_flight: bool,
    /// After this many client datagrams, the client's output is lost for ever.
    client_silent_after: Option<usize>,
    /// Before each datagram to the server, feed it garbage: junk, a truncated copy, a wrong-epoch copy.
    garbage_to_server: bool,
}

#[derive(Debug)]
struct Outcome {
    /// Virtual time from the start to both sides connected.
    connected_after: Option<Duration>,
    /// Virtual time when the loop stopped (connected, or nothing left to do).
    ended_after: Duration,
}

const LIMIT: Duration = Duration::from_secs(60);

/// Shuttles datagrams between the peers on virtual time until both are connected or neither has a timer.
fn run(
    client: &mut dyn Peer,
    server: &mut dyn Peer,
    start: Instant,
    mut faults: Faults,
) -> Outcome {
    let mut now = start;
    let mut client_datagrams = 0;
    let mut to_server: Vec<Vec<u8>> = Vec::new();
    let mut to_client: Vec<Vec<u8>> = Vec::new();
    let mut client_batch = client.output();
    loop {
        // Client output through its faults.
        if faults.drop_client_final_flight && is_client_final_flight(&client_batch) {
            faults.drop_client_final_flight = false;
        } else {
            for datagram in client_batch.drain(..) {
                client_datagrams += 1;
                if faults
                    .client_silent_after
                    .is_none_or(|n| client_datagrams <= n)
                {
                    to_server.push(datagram);
                }
            }
        }
        client_batch.clear();
        for datagram in std::mem::take(&mut to_server) {
            if faults.garbage_to_server {
                for junk in garbage_for(&datagram) {
                    server.input(now, &junk);
                }
            }
            server.input(now, &datagram);
        }
        let server_batch = server.output();
        if faults.drop_server_hello_flight && is_server_hello_flight(&server_batch) {
            faults.drop_server_hello_flight = false;
        } else {
            to_client.extend(server_batch);
        }
        for datagram in std::mem::take(&mut to_client) {
            client.input(now, &datagram);
        }
        client_batch = client.output();
        if !client_batch.is_empty() {
            continue;
        }
        if client.connected() && server.connected() {
            return Outcome {
                connected_after: Some(now - start),
                ended_after: now - start,
            };
        }
        let next = [client.next_timeout(), server.next_timeout()]
            .into_iter()
            .flatten()
            .min();
        let Some(next) = next else {
            break;
        };
        if next - start > LIMIT {
            break;
        }
        now = now.max(next);
        client.timeout(now);
        client_batch = client.output();
        server.timeout(now);
        to_client.extend(server.output());
    }
    Outcome {
        connected_after: None,
        ended_after: now - start,
    }
}

/// Junk a server must shrug off: bytes that are not DTLS, a truncated copy, a copy claiming a later epoch,
/// a record whose length runs past the datagram, an empty datagram.
fn garbage_for(datagram: &[u8]) -> Vec<Vec<u8>> {
    let mut wrong_epoch = datagram.to_vec();
    if wrong_epoch.len() > 13 && wrong_epoch[0] < 32 {
        wrong_epoch[4] = wrong_epoch[4].wrapping_add(3);
    }
    let mut overlong = datagram.to_vec();
    if overlong.len() > 13 && overlong[0] < 32 {
        overlong[11] = 0xff;
        overlong[12] = 0xff;
    }
    vec![
        Vec::new(),
        vec![22],
        vec![22, 0xfe, 0xfd, 0, 0],
        vec![0x17; 40],
        vec![0xff; 100],
        datagram[..datagram.len() / 2].to_vec(),
        datagram[..datagram.len().min(13)].to_vec(),
        wrong_epoch,
        overlong,
    ]
}

/// Both sides' keys agree: an RTP packet protected with the client's write key is accepted by the server's
/// read key and the other way round, each split by our `split_dtls_srtp_keying_material`.
fn assert_srtp_interoperates(client: &dyn Peer, server: &dyn Peer) -> SrtpProfile {
    let (profile, client_material) = client.keys().expect("client keys");
    let (server_profile, server_material) = server.keys().expect("server keys");
    assert_eq!(profile, server_profile);
    assert_eq!(client_material.len(), profile.keying_material_len());
    assert_eq!(client_material, server_material);
    let ((client_key, client_salt), (_, _)) =
        split_dtls_srtp_keying_material(&client_material, profile, true).unwrap();
    let ((_, _), (server_remote_key, server_remote_salt)) =
        split_dtls_srtp_keying_material(&server_material, profile, false).unwrap();
    let mut protect = SrtpSession::new(profile, client_key, client_salt).unwrap();
    let mut unprotect = SrtpSession::new(profile, server_remote_key, server_remote_salt).unwrap();
    let mut packet = vec![0x80, 96, 0, 1, 0, 0, 0, 1, 0x12, 0x34, 0x56, 0x78];
    packet.extend_from_slice(b"opus frame");
    let plain = packet.clone();
    packet.resize(plain.len() + MAX_TRAILER_LEN, 0);
    let len = protect.protect_rtp(&mut packet, plain.len()).unwrap();
    packet.truncate(len);
    assert_ne!(&packet[12..plain.len()], &plain[12..]);
    let len = unprotect.unprotect_rtp(&mut packet).unwrap();
    assert_eq!(&packet[..len], &plain[..]);
    profile
}

fn ten_seconds() -> Duration {
    DEFAULT_HANDSHAKE_TIMEOUT
}

// ---------------------------------------------------------------------------------------------------------
// Scenarios: our server

#[test]
fn chrome_order_client_ends_on_aead_aes_128_gcm_and_keys_agree() {
    let now = Instant::now();
    let (local, local_cert) = local_cert();
    let remote = test_cert();
    let mut client = Rtc::new(&remote, true, &CHROME_ORDER, 1200, now);
    let mut server = Ours::new(local, remote.fingerprint(), DtlsRole::Server, now);
    assert_eq!(server.transport.state(), DtlsState::New);
    let outcome = run(&mut client, &mut server, now, Faults::default());
    assert_eq!(outcome.connected_after, Some(Duration::ZERO));
    let profile = assert_srtp_interoperates(&client, &server);
    // The server's preference, not the client's first choice (AES_CM) nor its first GCM (256).
    assert_eq!(profile, SrtpProfile::AeadAes128Gcm);
    assert_eq!(
        server.transport.srtp_profile(),
        Some(SrtpProfile::AeadAes128Gcm)
    );
    assert_eq!(server.transport.protocol_version(), Some("DTLS 1.2"));
    assert_eq!(server.count(|e| matches!(e, DtlsEvent::Connecting)), 1);
    assert_eq!(
        server.count(|e| matches!(e, DtlsEvent::Connected { .. })),
        1
    );
    let DtlsEvent::Connected {
        remote_certificate_der,
        ..
    } = server
        .events
        .iter()
        .find(|e| matches!(e, DtlsEvent::Connected { .. }))
        .unwrap()
    else {
        unreachable!()
    };
    assert_eq!(remote_certificate_der, &remote.der);
    drop(local_cert);
}

#[test]
fn gcm_128_only_client_gets_aead_aes_128_gcm() {
    let now = Instant::now();
    let (local, _) = local_cert();
    let remote = test_cert();
    let offer = [
        RtcProfile::Srtp_Aes128_Cm_Hmac_Sha1_80,
        RtcProfile::Srtp_Aead_Aes_128_Gcm,
    ];
    let mut client = Rtc::new(&remote, true, &offer, 1200, now);
    let mut server = Ours::new(local, remote.fingerprint(), DtlsRole::Server, now);
    run(&mut client, &mut server, now, Faults::default());
    assert_eq!(
        assert_srtp_interoperates(&client, &server),
        SrtpProfile::AeadAes128Gcm
    );
}

#[test]
fn aes_cm_only_client_connects_on_aes_cm() {
    let now = Instant::now();
    let (local, _) = local_cert();
    let remote = test_cert();
    let mut client = Rtc::new(
        &remote,
        true,
        &[RtcProfile::Srtp_Aes128_Cm_Hmac_Sha1_80],
        1200,
        now,
    );
    let mut server = Ours::new(local, remote.fingerprint(), DtlsRole::Server, now);
    run(&mut client, &mut server, now, Faults::default());
    assert_eq!(
        assert_srtp_interoperates(&client, &server),
        SrtpProfile::AesCm128HmacSha1_80
    );
}

#[test]
fn dtls13_offering_client_is_answered_by_the_servers_preference() {
    // dimpl's auto client offers DTLS 1.3 and 1.2 with AEAD_AES_256_GCM first: a 1.3 server would take
    // its order, so it is answered in DTLS 1.2 on AEAD_AES_128_GCM.
    let now = Instant::now();
    let (local, _) = local_cert();
    let remote = test_cert();
    let mut client = Bare::new(&remote, true, Version::Auto, 1200, now);
    let mut server = Ours::new(local, remote.fingerprint(), DtlsRole::Server, now);
    let outcome = run(&mut client, &mut server, now, Faults::default());
    assert!(outcome.connected_after.is_some(), "{outcome:?}");
    assert_eq!(server.transport.protocol_version(), Some("DTLS 1.2"));
    assert_eq!(client.version, Some(dimpl::ProtocolVersion::DTLS1_2));
    assert_eq!(
        assert_srtp_interoperates(&client, &server),
        SrtpProfile::AeadAes128Gcm
    );
}

#[test]
fn dtls13_only_client_connects_on_dtls13() {
    // No DTLS 1.2 cipher suite offered: the DTLS 1.3 server answers, in the client's order.
    let now = Instant::now();
    let (local, _) = local_cert();
    let remote = test_cert();
    let mut client = Bare::new(&remote, true, Version::Dtls13, 1200, now);
    let mut server = Ours::new(local, remote.fingerprint(), DtlsRole::Server, now);
    let outcome = run(&mut client, &mut server, now, Faults::default());
    assert!(outcome.connected_after.is_some(), "{outcome:?}");
    assert_eq!(server.transport.protocol_version(), Some("DTLS 1.3"));
    assert_eq!(client.version, Some(dimpl::ProtocolVersion::DTLS1_3));
    assert!(assert_srtp_interoperates(&client, &server).is_aead());
}

#[test]
fn wrong_fingerprint_fails_and_never_connects() {
    for client_kind in ["rtc", "auto", "dtls13"] {
        let now = Instant::now();
        let (local, _) = local_cert();
        let remote = test_cert();
        let someone_else = test_cert();
        let mut server = Ours::new(local, someone_else.fingerprint(), DtlsRole::Server, now);
        if client_kind == "rtc" {
            let mut client = Rtc::new(&remote, true, &CHROME_ORDER, 1200, now);
            let outcome = run(&mut client, &mut server, now, Faults::default());
            assert_eq!(outcome.connected_after, None);
            // DTLS 1.2: our Finished never left, so the client is not connected either.
            assert!(!client.connected());
        } else if client_kind == "auto" {
            // Answered in DTLS 1.2 (see above): the same.
            let mut client = Bare::new(&remote, true, Version::Auto, 1200, now);
            let outcome = run(&mut client, &mut server, now, Faults::default());
            assert_eq!(outcome.connected_after, None);
            assert!(!client.connected());
        } else {
            let mut client = Bare::new(&remote, true, Version::Dtls13, 1200, now);
            let outcome = run(&mut client, &mut server, now, Faults::default());
            assert_eq!(outcome.connected_after, None);
            // DTLS 1.3: the client completes before the server sees its certificate; our close_notify
            // tells it at once.
            assert!(client.closed_by_peer);
        }
        assert_eq!(server.transport.state(), DtlsState::Failed, "{client_kind}");
        assert_eq!(server.failure(), Some(&DtlsFailure::FingerprintMismatch));
        assert_eq!(
            server.count(|e| matches!(e, DtlsEvent::Connected { .. })),
            0
        );
        assert!(server.transport.srtp_profile().is_none());
        assert_eq!(server.transport.poll_timeout(), None);
    }
}

#[test]
fn lost_server_hello_flight_is_recovered_within_the_deadline() {
    // rtc-dtls (1.2, resends its ClientHello after 1 s), dimpl 1.2 and dimpl 1.3 (jittered back-off).
    for client_kind in ["rtc", "dtls12", "dtls13"] {
        let now = Instant::now();
        let (local, _) = local_cert();
        let remote = test_cert();
        let mut client: Box<dyn Peer> = match client_kind {
            "rtc" => Box::new(Rtc::new(&remote, true, &CHROME_ORDER, 1200, now)),
            "dtls12" => Box::new(Bare::new(&remote, true, Version::Dtls12, 1200, now)),
            _ => Box::new(Bare::new(&remote, true, Version::Auto, 1200, now)),
        };
        let mut server = Ours::new(local, remote.fingerprint(), DtlsRole::Server, now);
        let faults = Faults {
            drop_server_hello_flight: true,
            ..Faults::default()
        };
        let outcome = run(client.as_mut(), &mut server, now, faults);
        let after = outcome
            .connected_after
            .unwrap_or_else(|| panic!("{client_kind}: {outcome:?}"));
        assert!(
            after > Duration::ZERO && after < ten_seconds(),
            "{client_kind}: {after:?}"
        );
        assert_srtp_interoperates(client.as_ref(), &server);
    }
}

#[test]
fn a_client_hello_repeat_after_a_lost_server_flight_gets_it_again() {
    // The rtc-dtls server's stall: the client's repeated ClientHello reaches it before its own 1 s timer,
    // clears that timer, and the library would never resend. Our rescue resends at once, and keeps a
    // timer of its own.
    let now = Instant::now();
    let (local, _) = local_cert();
    let remote = test_cert();
    let mut client = Rtc::new(&remote, true, &CHROME_ORDER, 1200, now);
    let mut server = Ours::new(local, remote.fingerprint(), DtlsRole::Server, now);
    for datagram in client.output() {
        server.input(now, &datagram);
    }
    for datagram in server.output() {
        client.input(now, &datagram); // HelloVerifyRequest
    }
    for datagram in client.output() {
        server.input(now, &datagram); // ClientHello with the cookie
    }
    let lost = server.output();
    assert!(is_server_hello_flight(&lost));
    // The client's timer first: its ClientHello again, with fresh record numbers.
    let at = client.next_timeout().unwrap();
    assert!(at < server.transport.poll_timeout().unwrap() + Duration::from_millis(1));
    client.timeout(at);
    let repeat = client.output();
    assert!(!repeat.is_empty());
    for datagram in &repeat {
        server.input(at, datagram);
    }
    let rescued = server.output();
    assert!(is_server_hello_flight(&rescued), "nothing resent");
    assert_eq!(rescued, lost, "the flight as it was sent");
    // That one is lost too: the rescue's own timer sends it again.
    let next = server.transport.poll_timeout().unwrap();
    assert!(next <= at + Duration::from_secs(1), "{:?}", next - at);
    server.timeout(next);
    let again = server.output();
    assert!(is_server_hello_flight(&again));
    for datagram in again {
        client.input(next, &datagram);
    }
    // And the handshake completes from there.
    let outcome = run(&mut client, &mut server, next, Faults::default());
    let after = outcome.connected_after.expect("connected");
    assert!(next - now + after < ten_seconds());
    assert_eq!(
        assert_srtp_interoperates(&client, &server),
        SrtpProfile::AeadAes128Gcm
    );
}

#[test]
fn lost_client_final_flight_is_recovered_within_the_deadline() {
    // Not rtc-dtls as the client here: when our retransmitted flight reaches it before its own timer
    // fires, it drops its timer and never resends (its handshake-stall defect, on the client side).
    for client_kind in ["dtls12", "dtls13"] {
        let now = Instant::now();
        let (local, _) = local_cert();
        let remote = test_cert();
        let version = if client_kind == "dtls12" {
            Version::Dtls12
        } else {
            Version::Auto
        };
        let mut client = Bare::new(&remote, true, version, 1200, now);
        let mut server = Ours::new(local, remote.fingerprint(), DtlsRole::Server, now);
        let faults = Faults {
            drop_client_final_flight: true,
            ..Faults::default()
        };
        let outcome = run(&mut client, &mut server, now, faults);
        let after = outcome
            .connected_after
            .unwrap_or_else(|| panic!("{client_kind}: {outcome:?}"));
        assert!(
            after > Duration::ZERO && after < ten_seconds(),
            "{client_kind}: {after:?}"
        );
        assert_srtp_interoperates(&client, &server);
    }
}

#[test]
fn a_client_gone_silent_mid_handshake_fails_at_the_deadline() {
    // The client's cookie-less ClientHello and its cookie ClientHello arrive; nothing after that.
    let now = Instant::now();
    let (local, _) = local_cert();
    let remote = test_cert();
    let mut client = Rtc::new(&remote, true, &CHROME_ORDER, 1200, now);
    let mut server = Ours::new(local, remote.fingerprint(), DtlsRole::Server, now);
    let faults = Faults {
        client_silent_after: Some(2),
        ..Faults::default()
    };
    let outcome = run(&mut client, &mut server, now, faults);
    assert_eq!(outcome.connected_after, None);
    assert_eq!(server.transport.state(), DtlsState::Failed);
    assert_eq!(
        server.failure(),
        Some(&DtlsFailure::HandshakeTimeout(ten_seconds()))
    );
    assert!(outcome.ended_after <= ten_seconds(), "{outcome:?}");
    assert_eq!(server.transport.poll_timeout(), None);
}

#[test]
fn deadline_is_exact_on_virtual_time() {
    let now = Instant::now();
    let (local, _) = local_cert();
    let remote = test_cert();
    let mut client = Rtc::new(&remote, true, &CHROME_ORDER, 1200, now);
    let mut server = Ours::new(local, remote.fingerprint(), DtlsRole::Server, now);
    let hello = client.output().remove(0);
    server.input(now, &hello);
    assert_eq!(server.transport.state(), DtlsState::Connecting);
    let mut at = now;
    while let Some(next) = server.transport.poll_timeout() {
        assert!(next <= now + ten_seconds());
        at = next;
        server.timeout(at);
        server.output();
    }
    assert_eq!(at, now + ten_seconds());
    assert_eq!(server.transport.state(), DtlsState::Failed);
}

#[test]
fn fragmented_client_hellos_are_reassembled() {
    // rtc-dtls: a DTLS 1.2 hello, so the auto-sensing server falls back to 1.2 after reassembly; dimpl 1.3:
    // a hello offering DTLS 1.3 only (its auto-sense client pads one unfragmented hello to the MTU instead).
    for client_kind in ["rtc", "dtls13"] {
        let now = Instant::now();
        let (local, _) = local_cert();
        let remote = test_cert();
        let mut client: Box<dyn Peer> = match client_kind {
            "rtc" => Box::new(Rtc::new(&remote, true, &CHROME_ORDER, 120, now)),
            _ => Box::new(Bare::new(&remote, true, Version::Dtls13, 100, now)),
        };
        let first_flight = client.output();
        let hello_fragments = first_flight.len();
        let mut client = Replay {
            inner: client,
            first: Some(first_flight),
        };
        let mut server = Ours::new(local, remote.fingerprint(), DtlsRole::Server, now);
        let outcome = run(&mut client, &mut server, now, Faults::default());
        assert!(
            hello_fragments > 1,
            "{client_kind}: ClientHello in {hello_fragments} datagram(s)"
        );
        assert!(
            outcome.connected_after.is_some(),
            "{client_kind}: {outcome:?}"
        );
        assert_srtp_interoperates(&client, &server);
    }
}

/// A peer whose first output was already taken (to inspect it), given back on the first `output`.
struct Replay {
    inner: Box<dyn Peer>,
    first: Option<Vec<Vec<u8>>>,
}

impl Peer for Replay {
    fn input(&mut self, now: Instant, datagram: &[u8]) {
        self.inner.input(now, datagram)
    }
    fn timeout(&mut self, now: Instant) {
        self.inner.timeout(now)
    }
    fn next_timeout(&self) -> Option<Instant> {
        self.inner.next_timeout()
    }
    fn output(&mut self) -> Vec<Vec<u8>> {
        self.first.take().unwrap_or_else(|| self.inner.output())
    }
    fn connected(&self) -> bool {
        self.inner.connected()
    }
    fn keys(&self) -> Option<(SrtpProfile, Vec<u8>)> {
        self.inner.keys()
    }
    fn send(&mut self, now: Instant, data: &[u8]) {
        self.inner.send(now, data)
    }
    fn received(&mut self) -> Vec<Vec<u8>> {
        self.inner.received()
    }
}

#[test]
fn garbage_before_the_handshake_changes_nothing() {
    let now = Instant::now();
    let (local, _) = local_cert();
    let remote = test_cert();
    let mut server = Ours::new(local, remote.fingerprint(), DtlsRole::Server, now);
    let mut client = Rtc::new(&remote, true, &CHROME_ORDER, 1200, now);
    let hello = client.output().remove(0);
    for junk in garbage_for(&hello) {
        server.input(now, &junk);
        assert_eq!(server.transport.state(), DtlsState::New);
        assert!(server.output().is_empty());
        assert!(server.events.is_empty());
    }
    assert_eq!(
        server.transport.dropped_datagrams(),
        8,
        "all but the wrong-epoch copy, the one datagram of complete records"
    );
}

#[test]
fn garbage_during_the_handshake_is_ignored() {
    for client_kind in ["rtc", "dtls13"] {
        let now = Instant::now();
        let (local, _) = local_cert();
        let remote = test_cert();
        let mut client: Box<dyn Peer> = match client_kind {
            "rtc" => Box::new(Rtc::new(&remote, true, &CHROME_ORDER, 1200, now)),
            _ => Box::new(Bare::new(&remote, true, Version::Auto, 1200, now)),
        };
        let mut server = Ours::new(local, remote.fingerprint(), DtlsRole::Server, now);
        let faults = Faults {
            garbage_to_server: true,
            ..Faults::default()
        };
        let outcome = run(client.as_mut(), &mut server, now, faults);
        assert!(
            outcome.connected_after.is_some(),
            "{client_kind}: {outcome:?} {:?}",
            server.events
        );
        assert_srtp_interoperates(client.as_ref(), &server);
        // And after connecting, too.
        for junk in garbage_for(&[23, 0xfe, 0xfd, 0, 1, 0, 0, 0, 0, 0, 9, 0, 4, 1, 2, 3, 4]) {
            server.input(now, &junk);
        }
        assert_eq!(server.transport.state(), DtlsState::Connected);
    }
}

#[test]
fn application_data_flows_both_ways() {
    // Both server paths: rtc-dtls (1.2 clients, and dimpl's auto client) and dimpl (a 1.3-only client).
    for client_kind in ["rtc", "auto", "dtls13"] {
        let now = Instant::now();
        let (local, _) = local_cert();
        let remote = test_cert();
        let mut client: Box<dyn Peer> = match client_kind {
            "rtc" => Box::new(Rtc::new(&remote, true, &CHROME_ORDER, 1200, now)),
            "auto" => Box::new(Bare::new(&remote, true, Version::Auto, 1200, now)),
            _ => Box::new(Bare::new(&remote, true, Version::Dtls13, 1200, now)),
        };
        let mut server = Ours::new(local, remote.fingerprint(), DtlsRole::Server, now);
        let outcome = run(client.as_mut(), &mut server, now, Faults::default());
        assert!(outcome.connected_after.is_some());
        let sctp = vec![0x13; 1100];
        server.send(now, &sctp);
        for datagram in server.output() {
            client.input(now, &datagram);
        }
        assert_eq!(client.received(), vec![sctp.clone()], "{client_kind}");
        client.send(now, b"init chunk");
        for datagram in client.output() {
            server.input(now, &datagram);
        }
        assert_eq!(
            server.received(),
            vec![b"init chunk".to_vec()],
            "{client_kind}"
        );
    }
}

#[test]
fn our_server_closes_with_close_notify() {
    for version in [Version::Auto, Version::Dtls13] {
        let now = Instant::now();
        let (local, _) = local_cert();
        let remote = test_cert();
        let mut client = Bare::new(&remote, true, version, 1200, now);
        let mut server = Ours::new(local, remote.fingerprint(), DtlsRole::Server, now);
        assert!(
            run(&mut client, &mut server, now, Faults::default())
                .connected_after
                .is_some()
        );
        server.transport.close(now);
        assert_eq!(server.transport.state(), DtlsState::Closed);
        for datagram in server.output() {
            client.input(now, &datagram);
        }
        assert!(client.closed_by_peer);
        assert_eq!(server.transport.poll_timeout(), None);
    }
}

#[test]
fn sending_before_connected_is_refused() {
    let now = Instant::now();
    let (local, _) = local_cert();
    let remote = test_cert();
    let mut server = DtlsTransport::new(
        DtlsConfig::new(local, vec![remote.fingerprint()]),
        DtlsRole::Server,
        now,
    )
    .unwrap();
    assert_eq!(
        server.send_application_data(now, b"x"),
        Err(DtlsSendError::NotConnected {
            state: DtlsState::New
        })
    );
}

#[test]
fn close_sends_close_notify_and_the_peer_reports_closed() {
    let now = Instant::now();
    let (local_server, server_cert) = local_cert();
    let (local_client, client_cert) = local_cert();
    let mut client = Ours::new(
        local_client,
        server_cert.fingerprint(),
        DtlsRole::Client,
        now,
    );
    let mut server = Ours::new(
        local_server,
        client_cert.fingerprint(),
        DtlsRole::Server,
        now,
    );
    let outcome = run(&mut client, &mut server, now, Faults::default());
    assert!(outcome.connected_after.is_some());
    assert_srtp_interoperates(&client, &server);
    client.transport.close(now);
    assert_eq!(client.transport.state(), DtlsState::Closed);
    let notify = client.output();
    assert!(!notify.is_empty());
    for datagram in notify {
        server.input(now, &datagram);
    }
    assert_eq!(server.transport.state(), DtlsState::Closed);
    assert!(matches!(server.events.last(), Some(DtlsEvent::Closed)));
    // Closed is final: nothing more is handled or sent.
    server.input(now, &[23, 0xfe, 0xfd, 0, 1, 0, 0, 0, 0, 0, 9, 0, 1, 0]);
    assert!(server.output().is_empty());
    assert_eq!(server.transport.poll_timeout(), None);
}

// ---------------------------------------------------------------------------------------------------------
// Scenarios: our client

#[test]
fn client_role_against_dtls12_and_dtls13_servers() {
    for server_kind in ["rtc", "dtls13"] {
        let now = Instant::now();
        let (local, _) = local_cert();
        let remote = test_cert();
        let mut client = Ours::new(local.clone(), remote.fingerprint(), DtlsRole::Client, now);
        assert_eq!(client.transport.state(), DtlsState::Connecting);
        assert!(matches!(client.events.first(), Some(DtlsEvent::Connecting)));
        let mut server: Box<dyn Peer> = match server_kind {
            "rtc" => Box::new(Rtc::new(
                &remote,
                false,
                &[
                    RtcProfile::Srtp_Aead_Aes_128_Gcm,
                    RtcProfile::Srtp_Aes128_Cm_Hmac_Sha1_80,
                ],
                1200,
                now,
            )),
            _ => Box::new(Bare::new(&remote, false, Version::Auto, 1200, now)),
        };
        let outcome = run(&mut client, server.as_mut(), now, Faults::default());
        assert!(
            outcome.connected_after.is_some(),
            "{server_kind}: {outcome:?} {:?}",
            client.events
        );
        let profile = assert_srtp_interoperates(&client, server.as_ref());
        assert!(profile.is_aead());
        let version = if server_kind == "rtc" {
            "DTLS 1.2"
        } else {
            "DTLS 1.3"
        };
        assert_eq!(client.transport.protocol_version(), Some(version));
        assert_eq!(client.transport.role(), DtlsRole::Client);
        // Data both ways.
        client.send(now, b"from client");
        for datagram in client.output() {
            server.input(now, &datagram);
        }
        assert_eq!(server.received(), vec![b"from client".to_vec()]);
        server.send(now, b"from server");
        for datagram in server.output() {
            client.input(now, &datagram);
        }
        assert_eq!(client.received(), vec![b"from server".to_vec()]);
    }
}

#[test]
fn client_role_rejects_a_server_with_the_wrong_certificate() {
    let now = Instant::now();
    let (local, _) = local_cert();
    let remote = test_cert();
    let mut client = Ours::new(local, test_cert().fingerprint(), DtlsRole::Client, now);
    let mut server = Bare::new(&remote, false, Version::Dtls12, 1200, now);
    let outcome = run(&mut client, &mut server, now, Faults::default());
    assert_eq!(outcome.connected_after, None);
    assert_eq!(client.failure(), Some(&DtlsFailure::FingerprintMismatch));
    assert!(!server.connected());
}

#[test]
fn a_silent_server_fails_our_client_at_the_deadline() {
    let now = Instant::now();
    let (local, _) = local_cert();
    let remote = test_cert();
    let mut client = Ours::new(local, remote.fingerprint(), DtlsRole::Client, now);
    let mut at = now;
    while let Some(next) = client.transport.poll_timeout() {
        at = next;
        client.timeout(at);
        client.output();
    }
    assert_eq!(at, now + ten_seconds());
    assert_eq!(
        client.failure(),
        Some(&DtlsFailure::HandshakeTimeout(ten_seconds()))
    );
}

// ---------------------------------------------------------------------------------------------------------
// Which library answers

#[test]
fn the_server_path_follows_our_preference() {
    let hello = |profiles: &[u16], dtls13: bool, dtls12: bool| client_hello::ClientHelloInfo {
        srtp_profiles: profiles.to_vec(),
        offers_dtls13: dtls13,
        offers_dtls12_suites: dtls12,
    };
    let gcm128 = Some(SrtpProfile::AeadAes128Gcm);
    // Chrome 156 (1.2 and 1.3, AES_CM first) and any 1.2 client: DTLS 1.2, AEAD_AES_128_GCM.
    assert_eq!(
        choose_server_path(&hello(&[1, 8, 7], true, true)),
        ServerPath::Rtc(gcm128)
    );
    assert_eq!(
        choose_server_path(&hello(&[1, 8, 7], false, true)),
        ServerPath::Rtc(gcm128)
    );
    // Firefox (1.3, AEAD_AES_128_GCM first): its own order already gives our choice.
    assert_eq!(
        choose_server_path(&hello(&[7, 8, 1, 2], true, true)),
        ServerPath::Dimpl
    );
    // AEAD_AES_256_GCM only if it is the only GCM; AES_CM only without GCM.
    assert_eq!(
        choose_server_path(&hello(&[1, 8], false, true)),
        ServerPath::Rtc(Some(SrtpProfile::AeadAes256Gcm))
    );
    assert_eq!(
        choose_server_path(&hello(&[2, 1], false, true)),
        ServerPath::Rtc(Some(SrtpProfile::AesCm128HmacSha1_80))
    );
    assert_eq!(
        choose_server_path(&hello(&[1], true, true)),
        ServerPath::Dimpl
    );
    // Nothing we implement: the 1.2 library refuses it visibly.
    assert_eq!(
        choose_server_path(&hello(&[2], false, true)),
        ServerPath::Rtc(None)
    );
    assert_eq!(
        choose_server_path(&hello(&[], false, true)),
        ServerPath::Rtc(None)
    );
    // DTLS 1.3 only: only the 1.3 library can answer.
    assert_eq!(
        choose_server_path(&hello(&[8, 7], true, false)),
        ServerPath::Dimpl
    );
}

// ---------------------------------------------------------------------------------------------------------
// Configuration and certificates

#[test]
fn settings_are_checked() {
    let now = Instant::now();
    let (local, _) = local_cert();
    let remote = test_cert();
    let none = DtlsConfig::new(local.clone(), Vec::new());
    assert_eq!(
        DtlsTransport::new(none, DtlsRole::Server, now).unwrap_err(),
        DtlsError::NoRemoteFingerprints
    );
    let mut tiny = DtlsConfig::new(local, vec![remote.fingerprint()]);
    tiny.mtu = 100;
    assert_eq!(
        DtlsTransport::new(tiny, DtlsRole::Server, now).unwrap_err(),
        DtlsError::MtuTooSmall { mtu: 100 }
    );
}

#[test]
fn certificates_are_checked_and_fingerprinted() {
    let cert = test_cert();
    assert_eq!(
        DtlsCertificate::from_der(Vec::new(), cert.key.clone()).unwrap_err(),
        DtlsCertificateError::NotDer
    );
    assert!(matches!(
        DtlsCertificate::from_der(cert.der.clone(), b"not a key".to_vec()),
        Err(DtlsCertificateError::PrivateKey(_))
    ));
    let local = DtlsCertificate::from_der(cert.der.clone(), cert.key.clone()).unwrap();
    let sha256 = local.fingerprint(FingerprintAlgorithm::Sha256);
    assert_eq!(sha256, cert.fingerprint());
    assert_eq!(sha256.value.len(), 95);
    assert_eq!(sha256.value, sha256.value.to_ascii_uppercase());
    assert!(!format!("{local:?}").contains(&format!("{:?}", &cert.key[..8])));
}

#[test]
fn any_signalled_algorithm_authenticates_and_case_does_not_matter() {
    for algorithm in [
        FingerprintAlgorithm::Sha1,
        FingerprintAlgorithm::Sha384,
        FingerprintAlgorithm::Sha512,
    ] {
        let now = Instant::now();
        let (local, _) = local_cert();
        let remote = test_cert();
        let mut fingerprint = fingerprint_of(&remote.der, algorithm);
        fingerprint.value = fingerprint.value.to_ascii_lowercase();
        let mut client = Rtc::new(&remote, true, &CHROME_ORDER, 1200, now);
        let mut server = Ours::new(local, fingerprint, DtlsRole::Server, now);
        let outcome = run(&mut client, &mut server, now, Faults::default());
        assert!(outcome.connected_after.is_some(), "{algorithm:?}");
    }
}

/// Handshake CPU cost, for docs/decisions/0006-dtls.md:
/// `cargo test -p mediagate-engine --release dtls::tests::handshake_cost -- --ignored --nocapture`.
#[test]
#[ignore = "benchmark"]
fn handshake_cost() {
    let (local_server, server_cert) = local_cert();
    let (local_client, client_cert) = local_cert();
    let remote = test_cert();
    for (name, rounds) in [
        ("ours↔ours", 200),
        ("rtc client→ours", 200),
        ("dtls1.3 client→ours", 200),
    ] {
        let started = Instant::now();
        for _ in 0..rounds {
            let now = Instant::now();
            let mut server = Ours::new(
                local_server.clone(),
                client_cert.fingerprint(),
                DtlsRole::Server,
                now,
            );
            let outcome = match name {
                "ours↔ours" => {
                    let mut client = Ours::new(
                        local_client.clone(),
                        server_cert.fingerprint(),
                        DtlsRole::Client,
                        now,
                    );
                    run(&mut client, &mut server, now, Faults::default())
                }
                "rtc client→ours" => {
                    server = Ours::new(
                        local_server.clone(),
                        remote.fingerprint(),
                        DtlsRole::Server,
                        now,
                    );
                    let mut client = Rtc::new(&remote, true, &CHROME_ORDER, 1200, now);
                    run(&mut client, &mut server, now, Faults::default())
                }
                _ => {
                    server = Ours::new(
                        local_server.clone(),
                        remote.fingerprint(),
                        DtlsRole::Server,
                        now,
                    );
                    let mut client = Bare::new(&remote, true, Version::Auto, 1200, now);
                    run(&mut client, &mut server, now, Faults::default())
                }
            };
            assert!(outcome.connected_after.is_some());
        }
        let per = started.elapsed() / rounds;
        println!("{name}: {per:?} per handshake, both sides, one thread");
    }
    // Our side alone: the server's share, measured by timing only its calls.
    let mut server_time = Duration::ZERO;
    let rounds = 200;
    for _ in 0..rounds {
        let now = Instant::now();
        let mut server = Ours::new(
            local_server.clone(),
            remote.fingerprint(),
            DtlsRole::Server,
            now,
        );
        let mut client = Rtc::new(&remote, true, &CHROME_ORDER, 1200, now);
        let mut to_server = client.output();
        while !to_server.is_empty() {
            let started = Instant::now();
            for datagram in &to_server {
                server.transport.handle_datagram(now, datagram);
            }
            let replies: Vec<_> = std::iter::from_fn(|| server.transport.poll_transmit()).collect();
            server_time += started.elapsed();
            for datagram in replies {
                client.input(now, &datagram);
            }
            to_server = client.output();
        }
        assert_eq!(server.transport.state(), DtlsState::Connected);
    }
    println!(
        "our server alone (rtc-dtls, DTLS 1.2, ECDSA P-256): {:?} per handshake",
        server_time / rounds
    );
    // The previous server path for comparison: dimpl on our configuration (client certificate required,
    // cookies), same client, same accounting.
    let key = ConfigKey {
        mtu: 1200,
        handshake_timeout: DEFAULT_HANDSHAKE_TIMEOUT,
    };
    let config = library_config(&local_server, key).unwrap();
    let mut dimpl_time = Duration::ZERO;
    for _ in 0..rounds {
        let now = Instant::now();
        let mut server = Bare::with_config(&server_cert, config.clone(), false, Version::Auto, now);
        let mut client = Rtc::new(&remote, true, &CHROME_ORDER, 1200, now);
        let mut to_server = client.output();
        while !to_server.is_empty() {
            let started = Instant::now();
            for datagram in &to_server {
                server.input(now, datagram);
            }
            let replies = server.output();
            dimpl_time += started.elapsed();
            for datagram in replies {
                client.input(now, &datagram);
            }
            to_server = client.output();
        }
        assert!(server.connected());
    }
    println!(
        "bare dimpl 0.9 server alone (DTLS 1.2, rust-crypto): {:?} per handshake",
        dimpl_time / rounds
    );
    // Building the server's configuration for a profile (once per certificate, MTU and profile).
    let started = Instant::now();
    let cert = test_cert();
    let fresh = DtlsCertificate::from_der(cert.der.clone(), cert.key.clone()).unwrap();
    let imported = started.elapsed();
    let started = Instant::now();
    rtc_server::RtcServer::new(&fresh.rtc, 1200, Some(SrtpProfile::AeadAes128Gcm)).unwrap();
    let first = started.elapsed();
    let started = Instant::now();
    rtc_server::RtcServer::new(&fresh.rtc, 1200, Some(SrtpProfile::AeadAes128Gcm)).unwrap();
    println!(
        "certificate import (both libraries) {imported:?}; rtc-dtls config build {first:?}, cached {:?}",
        started.elapsed()
    );
}

/// Deterministic noise: genuine handshake datagrams with random bytes flipped, truncated or duplicated, fed to a
/// server between the real ones. No panic; the handshake still completes or fails visibly, never stalls.
#[test]
fn mutated_handshake_datagrams_never_panic_or_stall() {
    let mut rng = crate::net::noise::XorShift::new(0xd715);
    for round in 0..12 {
        let now = Instant::now();
        let (local, _) = local_cert();
        let remote = test_cert();
        let mut client: Box<dyn Peer> = if round % 2 == 0 {
            Box::new(Rtc::new(&remote, true, &CHROME_ORDER, 1200, now))
        } else {
            Box::new(Bare::new(&remote, true, Version::Auto, 1200, now))
        };
        let mut server = Ours::new(local, remote.fingerprint(), DtlsRole::Server, now);
        let mut to_server = client.output();
        let mut at = now;
        for _ in 0..200 {
            for datagram in std::mem::take(&mut to_server) {
                let mut mutated = datagram.clone();
                for _ in 0..1 + rng.below(4) {
                    let i = rng.below(mutated.len());
                    mutated[i] ^= 1 << rng.below(8);
                }
                mutated.truncate(1 + rng.below(mutated.len()));
                server.input(at, &mutated);
                server.input(at, &datagram);
            }
            for datagram in server.output() {
                client.input(at, &datagram);
            }
            to_server = client.output();
            if to_server.is_empty() {
                if server.connected() && client.connected() {
                    break;
                }
                let next = [client.next_timeout(), server.transport.poll_timeout()]
                    .into_iter()
                    .flatten()
                    .min();
                let Some(next) = next else { break };
                at = at.max(next);
                client.timeout(at);
                server.timeout(at);
                to_server = client.output();
                for datagram in server.output() {
                    client.input(at, &datagram);
                }
                to_server.extend(client.output());
            }
        }
        // Advance until the server has settled (its deadline at the latest).
        while !matches!(
            server.transport.state(),
            DtlsState::Connected | DtlsState::Failed
        ) {
            let Some(next) = server.transport.poll_timeout() else {
                break;
            };
            at = at.max(next);
            server.timeout(at);
            server.output();
        }
        let state = server.transport.state();
        assert!(
            state == DtlsState::Connected || state == DtlsState::Failed,
            "round {round}: {state:?}"
        );
        if state == DtlsState::Failed {
            // A mutated ClientHello taken as the real one breaks the transcript: a visible failure, in time.
            println!("round {round}: {:?}", server.failure());
            assert!(server.failure().is_some(), "round {round}");
        }
    }
}
