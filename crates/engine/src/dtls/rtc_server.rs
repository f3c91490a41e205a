//! The DTLS 1.2 server on `rtc-dtls` 0.21.1, used when the server's SRTP preference must decide: one
//! library endpoint per transport, given a configuration that lists exactly the profile we chose from the
//! client's ClientHello (the library picks in the client's order among the profiles it is given).
//!
//! Owns: the library endpoint (keyed by a fixed placeholder address: only datagrams of this transport's
//! validated tuple reach it), the per-certificate cache of library configurations, and the rescue of the
//! library's handshake stall.
//!
//! Must not: check the peer's fingerprint or decide the transport's state (the owner does, from the
//! [`RtcStep`]s returned), or hand the library a datagram that is not a sequence of complete records (the
//! library treats a framing error as fatal; the owner filters).
//!
//! The stall (rtc-dtls 0.21.1): waiting for the client's second flight, any handshake record that does not
//! complete it — typically the client repeating its ClientHello because our ServerHello flight was lost —
//! clears the library's retransmission timer, and nothing is ever resent. RFC 6347 §4.2.4 says to resend
//! our last flight when the peer repeats its own; we do that for the library: the ServerHello flight as
//! it was sent is kept, resent at once when a ClientHello repeat leaves the library silent and without a
//! timer, and resent on a timer of our own (1 s, doubling, at most [`MAX_RESCUES`] times) whenever the
//! library has none before the handshake completes. The replayed records keep their sequence numbers: the
//! client never saw them (lost) or drops them as duplicates (RFC 6347 §4.1.2.6).

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use bytes::BytesMut;
use rtc_dtls::config::{ClientAuthType, ConfigBuilder, ExtendedMasterSecretType, HandshakeConfig};
use rtc_dtls::crypto_provider::{RTCCryptoProvider, SignatureScheme};
use rtc_dtls::endpoint::{Endpoint, EndpointEvent};
use rtc_dtls::extension::extension_use_srtp::SrtpProtectionProfile;

use super::client_hello::{CLIENT_HELLO, SERVER_HELLO, carries_handshake};
use crate::srtp::SrtpProfile;

/// How often the stall rescue resends the ServerHello flight at most.
const MAX_RESCUES: u32 = 7;
/// First interval of the stall rescue's timer.
const RESCUE_INTERVAL: Duration = Duration::from_secs(1);

/// The fixed peer address the library keys its one connection by (never on the wire).
fn placeholder() -> SocketAddr {
    SocketAddr::from((Ipv4Addr::LOCALHOST, 9))
}

/// The library's crypto provider (ring), built once.
fn provider() -> Result<Arc<dyn RTCCryptoProvider>, String> {
    static PROVIDER: OnceLock<Result<Arc<dyn RTCCryptoProvider>, String>> = OnceLock::new();
    PROVIDER
        .get_or_init(|| rtc_dtls::crypto_provider::default_provider().map_err(|e| e.to_string()))
        .clone()
}

/// What a cached configuration was built for: the MTU and the one SRTP profile id (0: all of ours).
type ConfigKey = (usize, u16);

/// The library's form of our certificate and key, and its configurations, one per (MTU, profile).
pub(super) struct RtcIdentity {
    certificate: rtc_dtls::crypto::Certificate,
    configs: Mutex<Vec<(ConfigKey, Arc<HandshakeConfig>)>>,
}

impl RtcIdentity {
    /// Imports the PKCS#8 ECDSA key (P-256, else P-384) into the library's provider.
    pub(super) fn new(certificate_der: &[u8], private_key_der: &[u8]) -> Result<Self, String> {
        let provider = provider()?;
        let signing_key = [
            SignatureScheme::EcdsaP256Sha256,
            SignatureScheme::EcdsaP384Sha384,
        ]
        .into_iter()
        .find_map(|scheme| {
            provider
                .crypto()
                .import_signing_key(scheme, private_key_der)
                .ok()
        })
        .ok_or_else(|| "not an ECDSA P-256/P-384 PKCS#8 key".to_owned())?;
        let chain = vec![rustls_pki_types::CertificateDer::from(
            certificate_der.to_vec(),
        )];
        Ok(Self {
            certificate: rtc_dtls::crypto::Certificate::from_signing_key(chain, signing_key),
            configs: Mutex::new(Vec::new()),
        })
    }

    /// The server configuration offering only `profile` (`None`: every profile we implement, for a
    /// client that offered none of them — the library then refuses it).
    fn config(
        &self,
        mtu: usize,
        profile: Option<SrtpProfile>,
    ) -> Result<Arc<HandshakeConfig>, String> {
        let key = (mtu, profile.map_or(0, SrtpProfile::dtls_id));
        let mut configs = self
            .configs
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some((_, config)) = configs.iter().find(|(k, _)| *k == key) {
            return Ok(Arc::clone(config));
        }
        let profiles = match profile {
            Some(profile) => vec![library_profile(profile)],
            None => vec![
                SrtpProtectionProfile::Srtp_Aead_Aes_128_Gcm,
                SrtpProtectionProfile::Srtp_Aes128_Cm_Hmac_Sha1_80,
            ],
        };
        let config = ConfigBuilder::default()
            .with_crypto_provider(provider()?)
            .with_certificates(vec![self.certificate.clone()])
            .with_srtp_protection_profiles(profiles)
            // The client's certificate is required and its CertificateVerify checked by the library;
            // whose certificate it is, is our fingerprint check (RFC 5763 §5), not a CA chain.
            .with_client_auth(ClientAuthType::RequireAnyClientCert)
            .with_insecure_skip_verify(true)
            .with_extended_master_secret(ExtendedMasterSecretType::Require)
            .with_mtu(mtu)
            .build(false, None)
            .map_err(|error| error.to_string())?;
        let config = Arc::new(config);
        configs.push((key, Arc::clone(&config)));
        Ok(config)
    }
}

fn library_profile(profile: SrtpProfile) -> SrtpProtectionProfile {
    SrtpProtectionProfile::from(profile.dtls_id())
}

/// What one input produced, for the owner to act on in this order: check `completed` (before sending
/// `datagrams`: a failed fingerprint check must keep our Finished from leaving), then the rest.
#[derive(Default)]
pub(super) struct RtcStep {
    /// Datagrams to send.
    pub datagrams: Vec<Vec<u8>>,
    /// The handshake completed: the peer's certificate (DER), the profile and the keying material.
    pub completed: Option<RtcCompletion>,
    /// Decrypted application data.
    pub application_data: Vec<Vec<u8>>,
    /// The peer sent close_notify.
    pub peer_closed: bool,
    /// The library failed (fatal alert sent or received, a handshake message refused, retransmissions
    /// exhausted).
    pub error: Option<String>,
}

/// The result of a completed handshake.
pub(super) struct RtcCompletion {
    pub peer_certificate: Option<Vec<u8>>,
    pub keys: Option<(SrtpProfile, Vec<u8>)>,
}

/// One transport's DTLS 1.2 server.
pub(super) struct RtcServer {
    endpoint: Endpoint,
    completed: bool,
    /// Our ServerHello flight as last sent, for the stall rescue.
    server_hello_flight: Vec<Vec<u8>>,
    rescue_at: Option<Instant>,
    rescue_interval: Duration,
    rescues: u32,
    /// The library spent its retransmissions (7, 1 s apart): it sends nothing more, and the owner's
    /// deadline reports the timeout.
    gave_up: bool,
}

impl RtcServer {
    pub(super) fn new(
        identity: &RtcIdentity,
        mtu: usize,
        profile: Option<SrtpProfile>,
    ) -> Result<Self, String> {
        let config = identity.config(mtu, profile)?;
        Ok(Self {
            endpoint: Endpoint::new(
                SocketAddr::from((Ipv4Addr::LOCALHOST, 5004)),
                rtc_shared::TransportProtocol::UDP,
                Some(config),
            ),
            completed: false,
            server_hello_flight: Vec::new(),
            rescue_at: None,
            rescue_interval: RESCUE_INTERVAL,
            rescues: 0,
            gave_up: false,
        })
    }

    /// One datagram of complete DTLS 1.2 records.
    pub(super) fn handle_datagram(&mut self, now: Instant, datagram: &[u8]) -> RtcStep {
        let mut step = RtcStep::default();
        match self
            .endpoint
            .read(now, placeholder(), None, BytesMut::from(datagram))
        {
            Ok(events) => {
                for event in events {
                    match event {
                        EndpointEvent::HandshakeComplete => self.complete(&mut step),
                        EndpointEvent::ApplicationData(data) => {
                            step.application_data.push(data.to_vec())
                        }
                        EndpointEvent::PeerClosed => step.peer_closed = true,
                        _ => {}
                    }
                }
            }
            Err(error) => step.error = Some(error.to_string()),
        }
        self.collect(&mut step);
        let repeat = carries_handshake(datagram, CLIENT_HELLO);
        self.watch(now, &mut step, repeat);
        step
    }

    /// Retransmissions: the library's timer and the stall rescue's. A library timer only ever
    /// retransmits, so its failure means the retransmissions ran out: not an error of its own, the
    /// handshake deadline reports it.
    pub(super) fn handle_timeout(&mut self, now: Instant) -> RtcStep {
        let mut step = RtcStep::default();
        if self
            .endpoint
            .poll_timeout(&placeholder())
            .is_some_and(|at| at <= now)
            && self.endpoint.handle_timeout(placeholder(), now).is_err()
        {
            self.gave_up = true;
        }
        self.collect(&mut step);
        if self.rescue_at.is_some_and(|at| at <= now) {
            self.rescue_at = None;
            self.rescue(now, &mut step);
        }
        self.watch(now, &mut step, false);
        step
    }

    /// The earlier of the library's timer and the rescue's.
    pub(super) fn poll_timeout(&self) -> Option<Instant> {
        if self.gave_up {
            return None;
        }
        match (self.endpoint.poll_timeout(&placeholder()), self.rescue_at) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    pub(super) fn send(&mut self, now: Instant, data: &[u8]) -> RtcStep {
        let mut step = RtcStep::default();
        if let Err(error) = self.endpoint.write(now, placeholder(), data) {
            step.error = Some(error.to_string());
        }
        self.collect(&mut step);
        step
    }

    /// A close_notify.
    pub(super) fn close(&mut self, now: Instant) -> RtcStep {
        let mut step = RtcStep::default();
        self.endpoint.stop(now, placeholder());
        self.collect(&mut step);
        self.rescue_at = None;
        step
    }

    fn complete(&mut self, step: &mut RtcStep) {
        self.completed = true;
        self.rescue_at = None;
        self.server_hello_flight.clear();
        let Some(state) = self.endpoint.get_connection_state(placeholder()) else {
            step.completed = Some(RtcCompletion {
                peer_certificate: None,
                keys: None,
            });
            return;
        };
        let keys =
            SrtpProfile::from_dtls_id(state.srtp_protection_profile() as u16).and_then(|profile| {
                state
                    .export_keying_material(
                        "EXTRACTOR-dtls_srtp",
                        &[],
                        profile.keying_material_len(),
                    )
                    .ok()
                    .map(|material| (profile, material.as_ref().to_vec()))
            });
        step.completed = Some(RtcCompletion {
            peer_certificate: state.peer_certificates.first().cloned(),
            keys,
        });
    }

    fn collect(&mut self, step: &mut RtcStep) {
        let before = step.datagrams.len();
        while let Some(transmit) = self.endpoint.poll_transmit() {
            step.datagrams.push(transmit.message.to_vec());
        }
        let new = &step.datagrams[before..];
        if !self.completed && new.iter().any(|d| carries_handshake(d, SERVER_HELLO)) {
            self.server_hello_flight = new.to_vec();
            self.rescue_interval = RESCUE_INTERVAL;
            self.rescues = 0;
        }
    }

    /// After any input: if the library is waiting without a timer for the client's second flight, the
    /// rescue takes over (at once when the client just repeated its ClientHello and got nothing).
    fn watch(&mut self, now: Instant, step: &mut RtcStep, client_repeated: bool) {
        let stalled = !self.completed
            && !self.gave_up
            && step.error.is_none()
            && !self.server_hello_flight.is_empty()
            && self.endpoint.poll_timeout(&placeholder()).is_none();
        if !stalled {
            self.rescue_at = None;
            return;
        }
        if client_repeated && step.datagrams.is_empty() {
            self.rescue(now, step);
        } else if self.rescue_at.is_none() && self.rescues < MAX_RESCUES {
            self.rescue_at = Some(now + self.rescue_interval);
        }
    }

    fn rescue(&mut self, now: Instant, step: &mut RtcStep) {
        if self.rescues >= MAX_RESCUES {
            return;
        }
        self.rescues += 1;
        step.datagrams
            .extend(self.server_hello_flight.iter().cloned());
        self.rescue_at = Some(now + self.rescue_interval);
        self.rescue_interval *= 2;
    }
}
