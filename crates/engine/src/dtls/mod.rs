//! DTLS-SRTP for WebRTC transports: the handshake that authenticates the remote peer by the certificate
//! fingerprint signalled for it, exports the SRTP keys, and then carries SCTP (data channels) as
//! application data.
//!
//! Owns: one [`DtlsTransport`] per WebRTC transport — the role, the handshake deadline, the check of the
//! peer's certificate against the remote fingerprints, the negotiated SRTP profile and keying material, and
//! the datagrams to send. The protocol itself is the `dimpl` crate (sans-IO DTLS 1.2 and 1.3, RustCrypto
//! backend); this module is the only user of it and keeps it behind our own types (see
//! docs/decisions/0006-dtls.md).
//!
//! Must not: read the clock (time is an argument), touch sockets, decide which datagrams are DTLS (the
//! caller classifies by the first byte, RFC 7983 §7: 20..=63), report `connected` before the peer's
//! certificate matched a signalled fingerprint, or let bytes from the network panic or tear down the
//! transport — anything other than a fatal alert, a fingerprint mismatch or the handshake deadline is
//! dropped (and counted in [`DtlsTransport::dropped_datagrams`] when we can tell).
//!
//! Implements: RFC 6347 (DTLS 1.2) and RFC 9147 (DTLS 1.3) through `dimpl`, including handshake message
//! reassembly (§4.2.3 / §5.5) and flight retransmission with back-off (§4.2.4 / §5.8); RFC 5763 §5 (the
//! certificate is checked against the SDP fingerprint instead of a CA chain; the server requires a client
//! certificate); RFC 8122 §5 (fingerprint algorithms and format); RFC 5764 §4.1.2 (`use_srtp`) and §4.2 (keys
//! from the exporter label "EXTRACTOR-dtls_srtp", split by [`crate::srtp::split_dtls_srtp_keying_material`]);
//! RFC 7714 §14.2 (AEAD profiles); RFC 7627 (extended master secret, required for DTLS 1.2).
//!
//! Role (RFC 5763 §5, RFC 8842): we are normally the DTLS server (the remote answered `auto`/`client`); the
//! client role (remote `server`) starts the handshake in [`DtlsTransport::new`].
//!
//! SRTP profile: the server chooses. As server, `dimpl` 0.9 picks from the client's offer by its own fixed
//! order, which we cannot change from outside: DTLS 1.2 → AEAD_AES_256_GCM, then AEAD_AES_128_GCM, then
//! AES_CM_128_HMAC_SHA1_80; DTLS 1.3 → the first profile of the client's list that it implements. So Chrome
//! (1.2, offering AES_CM first) ends on AEAD_AES_256_GCM and Firefox (1.3, offering AEAD_AES_128_GCM first)
//! on AEAD_AES_128_GCM; a client offering AES_CM only gets AES_CM. `AES_CM_128_HMAC_SHA1_32` is never
//! negotiated. As client we offer AEAD_AES_256_GCM, AEAD_AES_128_GCM, AES_CM_128_HMAC_SHA1_80.
//!
//! Deadline: a handshake that has not connected [`DEFAULT_HANDSHAKE_TIMEOUT`] (10 s) after the first
//! ClientHello (sent, as client; as server, the datagram that completed the first ClientHello and got an
//! answer — a truncated or lone fragment changes nothing) fails with [`DtlsFailure::HandshakeTimeout`]. Lost
//! flights are retransmitted after 1 s, doubling (±25 % jitter), and at once when the peer repeats its
//! previous flight.

mod certificate;
mod fingerprint;
mod keying;

#[cfg(test)]
mod tests;

use std::collections::VecDeque;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use thiserror::Error;

use crate::srtp::SrtpProfile;
use crate::transport_parameters::{DtlsFingerprint, DtlsState};

pub use certificate::{DtlsCertificate, DtlsCertificateError};
pub use fingerprint::{fingerprint_of, matches_any};
pub use keying::SrtpKeyingMaterial;

/// Default largest datagram we send: leaves room for IPv6 + UDP + TURN overheads under a 1280-byte path MTU.
pub const DEFAULT_MTU: usize = 1200;

/// Time a handshake may take, from the first ClientHello (sent as client; as server, the one first
/// answered), before it fails.
pub const DEFAULT_HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// Smallest MTU accepted (the DTLS library refuses less than 64; a ClientHello needs far more to be sane).
pub const MIN_MTU: usize = 256;

/// Our DTLS role in this transport's handshake.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum DtlsRole {
    /// We send the ClientHello (the remote said `server`).
    Client,
    /// We answer the remote's ClientHello (the remote said `auto` or `client`).
    Server,
}

/// Settings of one [`DtlsTransport`].
#[derive(Clone, Debug)]
pub struct DtlsConfig {
    /// The local certificate, shared by every transport of the server.
    pub certificate: Arc<DtlsCertificate>,
    /// The remote certificate's fingerprints, from the remote `dtlsParameters`; the peer's certificate must
    /// match one of them.
    pub remote_fingerprints: Vec<DtlsFingerprint>,
    /// Largest datagram we send ([`DEFAULT_MTU`]); handshake messages are fragmented to fit.
    pub mtu: usize,
}

impl DtlsConfig {
    /// Settings with the defaults for everything but the certificate and the remote fingerprints.
    pub fn new(
        certificate: Arc<DtlsCertificate>,
        remote_fingerprints: Vec<DtlsFingerprint>,
    ) -> Self {
        Self {
            certificate,
            remote_fingerprints,
            mtu: DEFAULT_MTU,
        }
    }
}

/// Why [`DtlsTransport::new`] refused its settings.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum DtlsError {
    /// No remote fingerprint was given: the peer could never be authenticated.
    #[error("no remote certificate fingerprint")]
    NoRemoteFingerprints,
    /// The MTU is below [`MIN_MTU`].
    #[error("mtu {mtu} is below {min}", min = MIN_MTU)]
    MtuTooSmall {
        /// The MTU asked for.
        mtu: usize,
    },
    /// The DTLS library refused the configuration.
    #[error("dtls configuration refused: {0}")]
    Config(String),
}

/// Why [`DtlsTransport::send_application_data`] did not send.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum DtlsSendError {
    /// The handshake has not completed, or the transport failed or closed.
    #[error("dtls is {state:?}, not connected")]
    NotConnected {
        /// The transport's state.
        state: DtlsState,
    },
    /// The DTLS library failed while sending; the transport is now `failed`.
    #[error("dtls failed while sending: {0}")]
    Failed(String),
}

/// Why a transport's DTLS failed (final).
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum DtlsFailure {
    /// The peer's certificate matches none of the remote fingerprints.
    #[error("the peer certificate matches no remote fingerprint")]
    FingerprintMismatch,
    /// The handshake completed without a peer certificate.
    #[error("the peer sent no certificate")]
    NoPeerCertificate,
    /// The handshake completed without an SRTP profile we implement (no `use_srtp` agreement).
    #[error("no SRTP profile negotiated")]
    NoSrtpProfile,
    /// The handshake did not complete within the deadline.
    #[error("the handshake did not complete in {0:?}")]
    HandshakeTimeout(Duration),
    /// The DTLS library reported a fatal error: a fatal alert from the peer, a failed check of a handshake
    /// message, retransmissions exhausted.
    #[error("dtls protocol failure: {0}")]
    Protocol(String),
}

/// Something the owner of a [`DtlsTransport`] must know about, from [`DtlsTransport::poll_event`].
#[derive(Debug)]
pub enum DtlsEvent {
    /// The first handshake message was handled (or, as client, sent): state `connecting`.
    Connecting,
    /// The handshake completed and the peer is authenticated: state `connected`.
    Connected {
        /// The negotiated SRTP profile.
        profile: SrtpProfile,
        /// The exported keying material (RFC 5764 §4.2), `profile.keying_material_len()` bytes; split it
        /// with [`crate::srtp::split_dtls_srtp_keying_material`] and `we_are_client = role == Client`.
        keying_material: SrtpKeyingMaterial,
        /// The peer's certificate, DER.
        remote_certificate_der: Vec<u8>,
    },
    /// The handshake or the connection failed: state `failed` (final).
    Failed(DtlsFailure),
    /// Application data (SCTP packets) from the peer.
    ApplicationData(Vec<u8>),
    /// The peer closed the connection (close_notify): state `closed` (final).
    Closed,
}

/// The settings that shape the library's configuration; configurations are cached per certificate by it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct ConfigKey {
    mtu: usize,
    handshake_timeout: Duration,
}

/// The crypto provider: RustCrypto, built once.
fn crypto_provider() -> &'static dimpl::crypto::CryptoProvider {
    static PROVIDER: OnceLock<dimpl::crypto::CryptoProvider> = OnceLock::new();
    PROVIDER.get_or_init(dimpl::crypto::rust_crypto::default_provider)
}

/// The library's configuration for `key`, built once per certificate and settings (building one runs the
/// provider's known-answer tests: ~7 ms).
fn library_config(
    certificate: &DtlsCertificate,
    key: ConfigKey,
) -> Result<Arc<dimpl::Config>, DtlsError> {
    let mut cache = certificate
        .config_cache
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    if let Some((cached_key, config)) = cache.as_ref()
        && *cached_key == key
    {
        return Ok(Arc::clone(config));
    }
    let config = dimpl::Config::builder()
        .with_crypto_provider(crypto_provider().clone())
        .mtu(key.mtu)
        .handshake_timeout(key.handshake_timeout)
        // The fingerprint check needs the client's certificate (RFC 5763 §5).
        .require_client_certificate(true)
        // HelloVerifyRequest / HelloRetryRequest cookies: no state for spoofed ClientHellos.
        .use_server_cookie(true)
        .build()
        .map_err(|error| DtlsError::Config(error.to_string()))?;
    let config = Arc::new(config);
    *cache = Some((key, Arc::clone(&config)));
    Ok(config)
}

/// One transport's DTLS association, sans-IO: datagrams and time in, datagrams and events out.
pub struct DtlsTransport {
    dtls: dimpl::Dtls,
    role: DtlsRole,
    state: DtlsState,
    remote_fingerprints: Vec<DtlsFingerprint>,
    handshake_timeout: Duration,
    /// When the handshake fails if not connected; set by the first ClientHello.
    deadline: Option<Instant>,
    /// The library's next timer.
    library_timeout: Option<Instant>,
    /// The library reported `Connected`; we report it once the certificate and keys are in.
    library_connected: bool,
    remote_certificate: Option<Vec<u8>>,
    keying: Option<(SrtpProfile, SrtpKeyingMaterial)>,
    profile: Option<SrtpProfile>,
    version: Option<&'static str>,
    outbox: VecDeque<Vec<u8>>,
    events: VecDeque<DtlsEvent>,
    /// Scratch buffer the library writes each output into.
    scratch: Vec<u8>,
    dropped_datagrams: u64,
}

impl std::fmt::Debug for DtlsTransport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DtlsTransport")
            .field("role", &self.role)
            .field("state", &self.state)
            .field("profile", &self.profile)
            .field("version", &self.version)
            .finish_non_exhaustive()
    }
}

impl DtlsTransport {
    /// A transport in `role`. As client it sends its ClientHello at once (state `connecting`); as server it
    /// waits for the remote's (state `new`).
    pub fn new(config: DtlsConfig, role: DtlsRole, now: Instant) -> Result<Self, DtlsError> {
        if config.remote_fingerprints.is_empty() {
            return Err(DtlsError::NoRemoteFingerprints);
        }
        if config.mtu < MIN_MTU {
            return Err(DtlsError::MtuTooSmall { mtu: config.mtu });
        }
        let key = ConfigKey {
            mtu: config.mtu,
            handshake_timeout: DEFAULT_HANDSHAKE_TIMEOUT,
        };
        let library = library_config(&config.certificate, key)?;
        // Auto-sense: as server, DTLS 1.3 if the ClientHello offers it, else 1.2; as client, a ClientHello
        // both kinds of server understand.
        let mut dtls = dimpl::Dtls::new_auto(library, config.certificate.to_dimpl(), now);
        if role == DtlsRole::Client {
            dtls.set_active(true);
        }
        let mut transport = Self {
            dtls,
            role,
            state: DtlsState::New,
            remote_fingerprints: config.remote_fingerprints,
            handshake_timeout: DEFAULT_HANDSHAKE_TIMEOUT,
            deadline: None,
            library_timeout: None,
            library_connected: false,
            remote_certificate: None,
            keying: None,
            profile: None,
            version: None,
            outbox: VecDeque::new(),
            events: VecDeque::new(),
            scratch: vec![0; config.mtu.max(2048)],
            dropped_datagrams: 0,
        };
        if role == DtlsRole::Client {
            transport.start_connecting(now);
            if let Err(error) = transport.dtls.handle_timeout(now) {
                transport.fail(DtlsFailure::Protocol(error.to_string()));
            } else {
                transport.drain(now);
            }
        }
        Ok(transport)
    }

    /// Handles one UDP datagram of DTLS records from the remote (the caller checked RFC 7983's first byte).
    pub fn handle_datagram(&mut self, now: Instant, datagram: &[u8]) {
        if self.is_final() || !matches!(datagram.first(), Some(20..=63)) {
            self.dropped_datagrams += 1;
            return;
        }
        if self.check_deadline(now) {
            self.dropped_datagrams += 1;
            return;
        }
        // The library's clock moves only through handle_timeout: refresh it before the datagram.
        let result = self
            .dtls
            .handle_timeout(now)
            .and_then(|()| self.dtls.handle_packet(datagram));
        match result {
            Ok(()) => self.drain(now),
            Err(error) => self.fail(DtlsFailure::Protocol(error.to_string())),
        }
    }

    /// Advances time: retransmissions and the handshake deadline.
    pub fn handle_timeout(&mut self, now: Instant) {
        if self.is_final() || self.check_deadline(now) {
            return;
        }
        if self.library_timeout.is_some_and(|at| at <= now) {
            match self.dtls.handle_timeout(now) {
                Ok(()) => self.drain(now),
                Err(error) => self.fail(DtlsFailure::Protocol(error.to_string())),
            }
        }
    }

    /// When [`Self::handle_timeout`] is next due, if ever.
    pub fn poll_timeout(&self) -> Option<Instant> {
        if self.is_final() {
            return None;
        }
        let deadline = match self.state {
            DtlsState::Connecting => self.deadline,
            _ => None,
        };
        match (self.library_timeout, deadline) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// The next datagram to send to the remote.
    pub fn poll_transmit(&mut self) -> Option<Vec<u8>> {
        self.outbox.pop_front()
    }

    /// The next event.
    pub fn poll_event(&mut self) -> Option<DtlsEvent> {
        self.events.pop_front()
    }

    /// Sends application data (one SCTP packet) once connected.
    pub fn send_application_data(
        &mut self,
        now: Instant,
        data: &[u8],
    ) -> Result<(), DtlsSendError> {
        if self.state != DtlsState::Connected {
            return Err(DtlsSendError::NotConnected { state: self.state });
        }
        let result = self
            .dtls
            .handle_timeout(now)
            .and_then(|()| self.dtls.send_application_data(data));
        match result {
            Ok(_) => {
                self.drain(now);
                Ok(())
            }
            Err(error) => {
                let message = error.to_string();
                self.fail(DtlsFailure::Protocol(message.clone()));
                Err(DtlsSendError::Failed(message))
            }
        }
    }

    /// Closes: a close_notify to the peer when connected (nothing mid-handshake); state `closed` (final).
    pub fn close(&mut self, now: Instant) {
        if self.is_final() {
            return;
        }
        let connected = self.state == DtlsState::Connected;
        self.state = DtlsState::Closed;
        if !connected {
            self.outbox.clear();
            return;
        }
        let result = self
            .dtls
            .handle_timeout(now)
            .and_then(|()| self.dtls.close());
        if result.is_ok() {
            self.drain(now);
        }
    }

    /// The DTLS state.
    pub fn state(&self) -> DtlsState {
        self.state
    }

    /// The negotiated SRTP profile, once connected.
    pub fn srtp_profile(&self) -> Option<SrtpProfile> {
        self.profile
    }

    /// "DTLS 1.2" or "DTLS 1.3", once connected.
    pub fn protocol_version(&self) -> Option<&'static str> {
        self.version
    }

    /// Our role.
    pub fn role(&self) -> DtlsRole {
        self.role
    }

    /// Datagrams not handed to the library: not DTLS by their first byte, or arriving after the
    /// transport failed or closed. (The library drops malformed records silently and does not count them.)
    pub fn dropped_datagrams(&self) -> u64 {
        self.dropped_datagrams
    }

    fn is_final(&self) -> bool {
        matches!(self.state, DtlsState::Failed | DtlsState::Closed)
    }

    fn start_connecting(&mut self, now: Instant) {
        if self.state == DtlsState::New {
            self.state = DtlsState::Connecting;
            self.deadline = Some(now + self.handshake_timeout);
            self.events.push_back(DtlsEvent::Connecting);
        }
    }

    /// Fails the handshake if its deadline passed; true if the transport is now failed.
    fn check_deadline(&mut self, now: Instant) -> bool {
        if self.state == DtlsState::Connecting && self.deadline.is_some_and(|at| at <= now) {
            self.fail(DtlsFailure::HandshakeTimeout(self.handshake_timeout));
            return true;
        }
        false
    }

    fn fail(&mut self, failure: DtlsFailure) {
        if self.is_final() {
            return;
        }
        self.state = DtlsState::Failed;
        // Nothing more goes out: in particular not a Finished sent before the certificate check failed.
        self.outbox.clear();
        self.library_timeout = None;
        self.events.push_back(DtlsEvent::Failed(failure));
    }

    /// Takes everything the library has to say, up to its next timer.
    fn drain(&mut self, now: Instant) {
        let events_before = self.events.len();
        let outbox_before = self.outbox.len();
        let mut mismatch = false;
        let mut peer_closed = false;
        loop {
            match self.dtls.poll_output(&mut self.scratch) {
                dimpl::Output::Packet(datagram) => self.outbox.push_back(datagram.to_vec()),
                dimpl::Output::BufferTooSmall { needed } => self.scratch.resize(needed, 0),
                dimpl::Output::Timeout(at) => {
                    self.library_timeout = Some(at);
                    break;
                }
                dimpl::Output::Connected => self.library_connected = true,
                dimpl::Output::PeerCert(der) => {
                    if matches_any(der, &self.remote_fingerprints) {
                        self.remote_certificate = Some(der.to_vec());
                    } else {
                        mismatch = true;
                    }
                }
                dimpl::Output::KeyingMaterial(material, profile) => {
                    if let Some(profile) = keying::profile_from_library(profile) {
                        self.keying = Some((profile, SrtpKeyingMaterial::new(&material)));
                    }
                }
                dimpl::Output::ApplicationData(data) => {
                    self.events
                        .push_back(DtlsEvent::ApplicationData(data.to_vec()));
                }
                dimpl::Output::CloseNotify => peer_closed = true,
                _ => {}
            }
        }
        if mismatch {
            self.fail_mismatch(now);
            return;
        }
        // A server is `connecting` from its first answer (HelloVerifyRequest, HelloRetryRequest or
        // ServerHello): a lone ClientHello fragment, or a truncated one, changes nothing; the deadline runs
        // from the datagram that completed the first ClientHello.
        if self.state == DtlsState::New && self.outbox.len() > outbox_before {
            self.start_connecting(now);
            // `Connecting` before anything else this input produced.
            if let Some(connecting) = self.events.pop_back() {
                self.events.insert(events_before, connecting);
            }
        }
        if self.library_connected && self.state == DtlsState::Connecting {
            self.finish_handshake(events_before);
        }
        if peer_closed && !self.is_final() {
            self.state = DtlsState::Closed;
            self.outbox.clear();
            self.library_timeout = None;
            self.events.push_back(DtlsEvent::Closed);
        }
    }

    /// The peer's certificate is not the signalled one: fail, and send nothing more of the handshake. If the
    /// library already considers the association up (DTLS 1.3: the client connects before the server has
    /// seen its certificate), a close_notify tells the peer at once instead of leaving it to time out.
    fn fail_mismatch(&mut self, now: Instant) {
        self.fail(DtlsFailure::FingerprintMismatch);
        if self.library_connected
            && self
                .dtls
                .handle_timeout(now)
                .and_then(|()| self.dtls.close())
                .is_ok()
        {
            loop {
                match self.dtls.poll_output(&mut self.scratch) {
                    dimpl::Output::Packet(datagram) => self.outbox.push_back(datagram.to_vec()),
                    dimpl::Output::BufferTooSmall { needed } => self.scratch.resize(needed, 0),
                    dimpl::Output::Timeout(_) => break,
                    _ => {}
                }
            }
        }
    }

    /// The library connected: report it if the peer is authenticated and keys exist, else fail.
    fn finish_handshake(&mut self, events_before: usize) {
        let Some(remote_certificate_der) = self.remote_certificate.clone() else {
            self.fail(DtlsFailure::NoPeerCertificate);
            return;
        };
        let Some((profile, keying_material)) = self.keying.take() else {
            self.fail(DtlsFailure::NoSrtpProfile);
            return;
        };
        self.state = DtlsState::Connected;
        self.profile = Some(profile);
        self.version = match self.dtls.protocol_version() {
            Some(dimpl::ProtocolVersion::DTLS1_3) => Some("DTLS 1.3"),
            Some(_) => Some("DTLS 1.2"),
            None => None,
        };
        // Before any application data that arrived with the final flight.
        let at = events_before.min(self.events.len());
        self.events.insert(
            at,
            DtlsEvent::Connected {
                profile,
                keying_material,
                remote_certificate_der,
            },
        );
    }
}
