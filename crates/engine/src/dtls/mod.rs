//! DTLS-SRTP for WebRTC transports: the handshake that authenticates the remote peer by the certificate
//! fingerprint signalled for it, exports the SRTP keys, and then carries SCTP (data channels) as
//! application data.
//!
//! Owns: one [`DtlsTransport`] per WebRTC transport — the role, the choice of DTLS library and SRTP
//! profile for a server, the handshake deadline, the check of the peer's certificate against the remote
//! fingerprints, the negotiated SRTP profile and keying material, and the datagrams to send. The protocol
//! itself is two crates kept behind our own types (see docs/decisions/0006-dtls.md): `rtc-dtls` (DTLS 1.2
//! server, `rtc_server`) and `dimpl` (sans-IO DTLS 1.2 and 1.3, RustCrypto backend: the client role, and
//! the server for DTLS 1.3 clients whose own profile order already gives our choice).
//!
//! Must not: read the clock (time is an argument), touch sockets, decide which datagrams are DTLS (the
//! caller classifies by the first byte, RFC 7983 §7: 20..=63), report `connected` before the peer's
//! certificate matched a signalled fingerprint, or let bytes from the network panic or tear down the
//! transport — anything other than a fatal alert, a fingerprint mismatch or the handshake deadline is
//! dropped (and counted in [`DtlsTransport::dropped_datagrams`] when we can tell).
//!
//! Implements: RFC 6347 (DTLS 1.2) and RFC 9147 (DTLS 1.3) through the libraries, including handshake
//! message reassembly (§4.2.3 / §5.5) and flight retransmission (§4.2.4 / §5.8; for `rtc-dtls` partly
//! ours, see `rtc_server`); RFC 5763 §5 (the certificate is checked against the SDP fingerprint instead of
//! a CA chain; the server requires a client certificate); RFC 8122 §5 (fingerprint algorithms and
//! format); RFC 5764 §4.1.2 (`use_srtp`; the server selects) and §4.2 (keys from the exporter label
//! "EXTRACTOR-dtls_srtp", split by [`crate::srtp::split_dtls_srtp_keying_material`]); RFC 7714 §14.2 (AEAD
//! profiles); RFC 7627 (extended master secret, required for DTLS 1.2).
//!
//! Role (RFC 5763 §5, RFC 8842): we are normally the DTLS server (the remote answered `auto`/`client`); the
//! client role (remote `server`) starts the handshake in [`DtlsTransport::new`].
//!
//! SRTP profile, as server: ours decides — AEAD_AES_128_GCM, else AEAD_AES_256_GCM, else
//! AES_CM_128_HMAC_SHA1_80 (`AES_CM_128_HMAC_SHA1_32` is never negotiated). The server holds the client's
//! datagrams until its first ClientHello is complete (`client_hello`: fragments reassembled, `use_srtp`
//! and `supported_versions` read), then hands them to the library that gives that profile: `rtc-dtls`
//! (DTLS 1.2) configured with exactly the chosen profile; or, when the client offers DTLS 1.3 and its own
//! first profile is our choice (Firefox), or offers DTLS 1.3 only, `dimpl` (DTLS 1.3, which takes the
//! client's order). So Chrome (1.2 and 1.3 offered, AES_CM first) ends on AEAD_AES_128_GCM in DTLS 1.2,
//! Firefox on AEAD_AES_128_GCM in DTLS 1.3, and a client offering AES_CM only on AES_CM. As client we
//! offer AEAD_AES_256_GCM, AEAD_AES_128_GCM, AES_CM_128_HMAC_SHA1_80 (`dimpl`'s fixed list) and the
//! remote server chooses.
//!
//! Deadline: a handshake that has not connected [`DEFAULT_HANDSHAKE_TIMEOUT`] (10 s) after the first
//! ClientHello (sent, as client; as server, the datagram that completed the first ClientHello and got an
//! answer — a truncated or lone fragment changes nothing) fails with [`DtlsFailure::HandshakeTimeout`]. Lost
//! flights are retransmitted: by `dimpl` after 1 s, doubling (±25 % jitter), and at once when the peer
//! repeats its previous flight; by `rtc-dtls` every 1 s up to 7 times, with our rescue of its stall.

mod certificate;
mod client_hello;
mod fingerprint;
mod keying;
mod rtc_server;

#[cfg(test)]
mod tests;

use std::collections::VecDeque;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use thiserror::Error;

use crate::srtp::SrtpProfile;
use crate::transport_parameters::{DtlsFingerprint, DtlsState};
use client_hello::{ClientHelloAssembler, ClientHelloInfo, MAX_BUFFERED_DATAGRAMS, is_well_framed};
use rtc_server::{RtcServer, RtcStep};

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

/// Which library answers a client's ClientHello, and with which SRTP profile (see the module docs).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum ServerPath {
    /// `dimpl` (DTLS 1.3): the client offers 1.3 and its own first profile is the one we prefer, or it
    /// cannot do 1.2 at all.
    Dimpl,
    /// `rtc-dtls` (DTLS 1.2), configured with exactly this profile (`None`: nothing we implement).
    Rtc(Option<SrtpProfile>),
}

/// The server's SRTP preference, first to last.
const SERVER_PREFERENCE: [SrtpProfile; 3] = [
    SrtpProfile::AeadAes128Gcm,
    SrtpProfile::AeadAes256Gcm,
    SrtpProfile::AesCm128HmacSha1_80,
];

fn choose_server_path(hello: &ClientHelloInfo) -> ServerPath {
    let offered = |profile: &SrtpProfile| hello.srtp_profiles.contains(&profile.dtls_id());
    let preferred = SERVER_PREFERENCE.into_iter().find(offered);
    // What a DTLS 1.3 server taking the client's order would pick.
    let clients_first = hello
        .srtp_profiles
        .iter()
        .filter_map(|&id| SrtpProfile::from_dtls_id(id))
        .find(|profile| SERVER_PREFERENCE.contains(profile));
    if hello.offers_dtls13
        && (!hello.offers_dtls12_suites || (preferred.is_some() && clients_first == preferred))
    {
        ServerPath::Dimpl
    } else {
        ServerPath::Rtc(preferred)
    }
}

/// The DTLS library behind a transport.
enum Backend {
    /// Server role, until the client's first ClientHello is complete: its datagrams so far, for the
    /// library the hello selects.
    Hello {
        assembler: ClientHelloAssembler,
        buffered: Vec<Vec<u8>>,
    },
    /// `dimpl`: the client role, and the server for DTLS 1.3 clients whose own order agrees with ours.
    Dimpl(Box<dimpl::Dtls>),
    /// `rtc-dtls`: the DTLS 1.2 server, offering the one profile we chose.
    Rtc(Box<RtcServer>),
}

/// One transport's DTLS association, sans-IO: datagrams and time in, datagrams and events out.
pub struct DtlsTransport {
    backend: Backend,
    certificate: Arc<DtlsCertificate>,
    mtu: usize,
    role: DtlsRole,
    state: DtlsState,
    remote_fingerprints: Vec<DtlsFingerprint>,
    handshake_timeout: Duration,
    /// When the handshake fails if not connected; set by the first ClientHello.
    deadline: Option<Instant>,
    /// `dimpl`'s next timer.
    library_timeout: Option<Instant>,
    /// The library reported `Connected`; we report it once the certificate and keys are in.
    library_connected: bool,
    remote_certificate: Option<Vec<u8>>,
    keying: Option<(SrtpProfile, SrtpKeyingMaterial)>,
    profile: Option<SrtpProfile>,
    version: Option<&'static str>,
    outbox: VecDeque<Vec<u8>>,
    events: VecDeque<DtlsEvent>,
    /// Scratch buffer `dimpl` writes each output into.
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
        let backend = match role {
            DtlsRole::Client => {
                let mut dtls = dimpl_endpoint(&config.certificate, config.mtu, now)?;
                dtls.set_active(true);
                Backend::Dimpl(dtls)
            }
            DtlsRole::Server => Backend::Hello {
                assembler: ClientHelloAssembler::default(),
                buffered: Vec::new(),
            },
        };
        let mut transport = Self {
            backend,
            certificate: config.certificate,
            mtu: config.mtu,
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
            if let Backend::Dimpl(dtls) = &mut transport.backend
                && let Err(error) = dtls.handle_timeout(now)
            {
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
        match &mut self.backend {
            Backend::Hello {
                assembler,
                buffered,
            } => {
                // A ClientHello is plaintext records: anything else cannot be part of it.
                if !is_well_framed(datagram) {
                    self.dropped_datagrams += 1;
                    return;
                }
                if buffered.len() == MAX_BUFFERED_DATAGRAMS {
                    buffered.remove(0);
                    self.dropped_datagrams += 1;
                }
                buffered.push(datagram.to_vec());
                if let Some(hello) = assembler.push(datagram) {
                    let buffered = std::mem::take(buffered);
                    self.start_server(now, &hello, buffered);
                }
            }
            Backend::Dimpl(_) => self.dimpl_datagram(now, datagram),
            Backend::Rtc(server) => {
                // The library takes a framing error for a fatal one: such datagrams stop here.
                if !is_well_framed(datagram) {
                    self.dropped_datagrams += 1;
                    return;
                }
                let step = server.handle_datagram(now, datagram);
                self.apply(now, step);
            }
        }
    }

    /// Advances time: retransmissions and the handshake deadline.
    pub fn handle_timeout(&mut self, now: Instant) {
        if self.is_final() || self.check_deadline(now) {
            return;
        }
        match &mut self.backend {
            Backend::Hello { .. } => {}
            Backend::Dimpl(dtls) => {
                if self.library_timeout.is_some_and(|at| at <= now) {
                    match dtls.handle_timeout(now) {
                        Ok(()) => self.drain(now),
                        Err(error) => self.fail(DtlsFailure::Protocol(error.to_string())),
                    }
                }
            }
            Backend::Rtc(server) => {
                if server.poll_timeout().is_some_and(|at| at <= now) {
                    let step = server.handle_timeout(now);
                    self.apply(now, step);
                }
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
        let library = match &self.backend {
            Backend::Hello { .. } => None,
            Backend::Dimpl(_) => self.library_timeout,
            Backend::Rtc(server) => server.poll_timeout(),
        };
        match (library, deadline) {
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
        let error = match &mut self.backend {
            Backend::Hello { .. } => Some("no dtls association".to_owned()),
            Backend::Dimpl(dtls) => {
                match dtls
                    .handle_timeout(now)
                    .and_then(|()| dtls.send_application_data(data))
                {
                    Ok(_) => {
                        self.drain(now);
                        None
                    }
                    Err(error) => Some(error.to_string()),
                }
            }
            Backend::Rtc(server) => {
                let mut step = server.send(now, data);
                match step.error.take() {
                    None => {
                        self.apply(now, step);
                        None
                    }
                    error => error,
                }
            }
        };
        match error {
            None => Ok(()),
            Some(message) => {
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
        match &mut self.backend {
            Backend::Hello { .. } => {}
            Backend::Dimpl(dtls) => {
                if dtls.handle_timeout(now).and_then(|()| dtls.close()).is_ok() {
                    self.drain(now);
                }
            }
            Backend::Rtc(server) => self.outbox.extend(server.close(now).datagrams),
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

    /// Datagrams not handed to a DTLS library: not DTLS by their first byte, arriving after the transport
    /// failed or closed, not complete DTLS 1.2 records where only those can be meant (before the first
    /// ClientHello is complete, and in a DTLS 1.2 server association), or pushed out of the bounded
    /// buffer that holds an incomplete first ClientHello. (The libraries drop malformed records
    /// silently and do not count them.)
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

    /// The client's first ClientHello is complete: hand it, with everything buffered, to the library it
    /// selects.
    fn start_server(&mut self, now: Instant, hello: &ClientHelloInfo, buffered: Vec<Vec<u8>>) {
        match choose_server_path(hello) {
            ServerPath::Dimpl => match dimpl_endpoint(&self.certificate, self.mtu, now) {
                Ok(dtls) => {
                    self.backend = Backend::Dimpl(dtls);
                    for datagram in &buffered {
                        if self.is_final() {
                            break;
                        }
                        self.dimpl_datagram(now, datagram);
                    }
                }
                Err(error) => self.fail(DtlsFailure::Protocol(error.to_string())),
            },
            ServerPath::Rtc(profile) => {
                match RtcServer::new(&self.certificate.rtc, self.mtu, profile) {
                    Ok(server) => {
                        self.backend = Backend::Rtc(Box::new(server));
                        for datagram in &buffered {
                            if self.is_final() {
                                break;
                            }
                            let Backend::Rtc(server) = &mut self.backend else {
                                break;
                            };
                            let step = server.handle_datagram(now, datagram);
                            self.apply(now, step);
                        }
                    }
                    Err(error) => self.fail(DtlsFailure::Protocol(error)),
                }
            }
        }
    }

    fn dimpl_datagram(&mut self, now: Instant, datagram: &[u8]) {
        let Backend::Dimpl(dtls) = &mut self.backend else {
            return;
        };
        // The library's clock moves only through handle_timeout: refresh it before the datagram.
        let result = dtls
            .handle_timeout(now)
            .and_then(|()| dtls.handle_packet(datagram));
        match result {
            Ok(()) => self.drain(now),
            Err(error) => self.fail(DtlsFailure::Protocol(error.to_string())),
        }
    }

    /// Takes what the DTLS 1.2 server library produced for one input.
    fn apply(&mut self, now: Instant, step: RtcStep) {
        let events_before = self.events.len();
        let outbox_before = self.outbox.len();
        if let Some(completion) = step.completed {
            // Before anything of this step leaves: the library's Finished must not go to an impostor.
            match completion.peer_certificate {
                Some(der) if matches_any(&der, &self.remote_fingerprints) => {
                    self.remote_certificate = Some(der);
                }
                Some(_) => {
                    self.fail(DtlsFailure::FingerprintMismatch);
                    return;
                }
                None => {}
            }
            if let Some((profile, material)) = completion.keys {
                self.keying = Some((profile, SrtpKeyingMaterial::new(&material)));
            }
            self.library_connected = true;
        }
        if let Some(error) = step.error {
            self.fail(DtlsFailure::Protocol(error));
            return;
        }
        self.outbox.extend(step.datagrams);
        for data in step.application_data {
            self.events.push_back(DtlsEvent::ApplicationData(data));
        }
        self.settle(now, events_before, outbox_before, step.peer_closed);
    }

    /// Takes everything `dimpl` has to say, up to its next timer.
    fn drain(&mut self, now: Instant) {
        let Backend::Dimpl(dtls) = &mut self.backend else {
            return;
        };
        let events_before = self.events.len();
        let outbox_before = self.outbox.len();
        let mut mismatch = false;
        let mut peer_closed = false;
        loop {
            match dtls.poll_output(&mut self.scratch) {
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
        self.settle(now, events_before, outbox_before, peer_closed);
    }

    /// After a library's output was taken: `connecting`, `connected` and `closed` transitions.
    fn settle(
        &mut self,
        now: Instant,
        events_before: usize,
        outbox_before: usize,
        peer_closed: bool,
    ) {
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

    /// The peer's certificate is not the signalled one: fail, and send nothing more of the handshake. If
    /// `dimpl` already considers the association up (DTLS 1.3: the client connects before the server has
    /// seen its certificate), a close_notify tells the peer at once instead of leaving it to time out.
    fn fail_mismatch(&mut self, now: Instant) {
        self.fail(DtlsFailure::FingerprintMismatch);
        let Backend::Dimpl(dtls) = &mut self.backend else {
            return;
        };
        if self.library_connected && dtls.handle_timeout(now).and_then(|()| dtls.close()).is_ok() {
            loop {
                match dtls.poll_output(&mut self.scratch) {
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
        self.version = match &self.backend {
            Backend::Dimpl(dtls) => match dtls.protocol_version() {
                Some(dimpl::ProtocolVersion::DTLS1_3) => Some("DTLS 1.3"),
                Some(_) => Some("DTLS 1.2"),
                None => None,
            },
            Backend::Rtc(_) => Some("DTLS 1.2"),
            Backend::Hello { .. } => None,
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

/// A `dimpl` endpoint on the cached configuration, auto-sensing the version: as server, DTLS 1.3 if the
/// ClientHello offers it, else 1.2; as client, a ClientHello both kinds of server understand.
fn dimpl_endpoint(
    certificate: &DtlsCertificate,
    mtu: usize,
    now: Instant,
) -> Result<Box<dimpl::Dtls>, DtlsError> {
    let key = ConfigKey {
        mtu,
        handshake_timeout: DEFAULT_HANDSHAKE_TIMEOUT,
    };
    let library = library_config(certificate, key)?;
    Ok(Box::new(dimpl::Dtls::new_auto(
        library,
        certificate.to_dimpl(),
        now,
    )))
}
