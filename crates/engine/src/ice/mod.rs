//! ICE-lite responder: one [`IceServer`] per WebRTC transport.
//!
//! Owns: validating STUN Binding Requests (RFC 5389 §10.1.2 short-term credentials, RFC 8445 §7.3 as the
//! controlled lite agent of §2.5), answering them (Binding Success Response with XOR-MAPPED-ADDRESS,
//! MESSAGE-INTEGRITY, FINGERPRINT), the set of tuples that sent a valid check, the selected tuple (USE-CANDIDATE,
//! RFC 8445 §7.3.1.5), the ICE state `new → connected → completed`, consent freshness (RFC 7675 §5.1: no valid
//! check for `consent_timeout` → `disconnected`, a further `close_grace` → `closed`) and ICE restart with new
//! credentials (RFC 8445 §9). The STUN codec in [`stun`] is our own; see docs/decisions/0005-ice-stun.md.
//!
//! Must not: open sockets, read the clock (time is the `now` argument), allocate per check (responses are written
//! into the caller's buffer), or route datagrams: which transport a STUN message belongs to (by USERNAME's local
//! ufrag, then by 5-tuple) is the demux index's business; this type only sees its own transport's datagrams.
//!
//! Policies (RFC 5389 §10.1.2, RFC 8445 §7.3):
//! - a request without FINGERPRINT or with a wrong one, or anything other than a Binding Request, is dropped
//!   silently (in a multiplexed port it is not reliably STUN, and RFC 8445 §7.3 requires FINGERPRINT);
//! - a request missing USERNAME or MESSAGE-INTEGRITY gets 400 Bad Request;
//! - a wrong USERNAME or a wrong MESSAGE-INTEGRITY gets 401 Unauthorized, as RFC 5389 §10.1.2 says. The error
//!   response is no larger than a minimal valid request, so it amplifies nothing;
//! - the first valid check selects its tuple (as mediasoup does, so DTLS can start before nomination) and moves
//!   `new → connected`; a valid check with USE-CANDIDATE selects its tuple and moves to `completed`;
//! - `closed` is final: checks are dropped and the transport is expected to close.
//! - role conflicts (RFC 8445 §7.3.1.1) are not resolved: a lite agent is always controlled, so ICE-CONTROLLING
//!   and ICE-CONTROLLED are read but not acted on (as mediasoup); PRIORITY is read but a lite agent forms no pairs
//!   of its own from it.

pub mod stun;

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use hmac::Hmac;
use sha1::Sha1;
use thiserror::Error;

pub use crate::transport_parameters::IceState;
use stun::{BINDING_REQUEST, StunMessage};

/// Default RFC 7675 consent timeout: no valid check for this long → `disconnected`.
pub const DEFAULT_CONSENT_TIMEOUT: Duration = Duration::from_secs(30);
/// Default grace after `disconnected` before `closed` (time for the application to restart ICE).
pub const DEFAULT_CLOSE_GRACE: Duration = Duration::from_secs(30);
/// A response buffer of this size always suffices.
pub const MAX_RESPONSE_LEN: usize = 76;
/// Tuples that sent a valid check kept at most (the oldest unselected one is forgotten first).
pub const MAX_TUPLES: usize = 8;

/// What [`IceServer::handle_stun`] did with a datagram.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IceOutcome {
    /// A valid check: a success response of `len` bytes is in the buffer, to be sent to the sender.
    Responded {
        /// Bytes of the response.
        len: usize,
    },
    /// A valid check that changed the selected tuple; a success response of `len` bytes is in the buffer.
    SelectedTupleChanged {
        /// Bytes of the response.
        len: usize,
        /// The new selected tuple (the remote address).
        tuple: SocketAddr,
    },
    /// An invalid request answered with an error response of `len` bytes (400 or 401).
    Rejected {
        /// Bytes of the response.
        len: usize,
        /// Why.
        reason: IceRejection,
    },
    /// Ignored; nothing to send. Count it.
    Dropped(IceRejection),
}

/// Why a datagram was not a valid check.
#[derive(Debug, Error, Clone, Copy, PartialEq, Eq)]
pub enum IceRejection {
    /// Not a well-formed STUN message.
    #[error("malformed stun: {0}")]
    Malformed(#[from] stun::StunError),
    /// A STUN message other than a Binding Request.
    #[error("not a binding request")]
    NotBindingRequest,
    /// FINGERPRINT absent or wrong.
    #[error("missing or bad fingerprint")]
    BadFingerprint,
    /// USERNAME or MESSAGE-INTEGRITY absent (400).
    #[error("missing username or message-integrity")]
    MissingCredentials,
    /// USERNAME does not start with our ufrag and a colon (401).
    #[error("unknown username")]
    UnknownUsername,
    /// MESSAGE-INTEGRITY does not match our password (401).
    #[error("bad message-integrity")]
    BadIntegrity,
    /// The ICE state is closed.
    #[error("ice is closed")]
    Closed,
    /// The caller's response buffer is smaller than [`MAX_RESPONSE_LEN`] needs.
    #[error("response buffer too small")]
    BufferTooSmall,
}

/// A state change, drained with [`IceServer::poll_event`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IceEvent {
    /// The ICE state changed.
    StateChanged(IceState),
    /// The selected tuple changed (mediasoup's `transport.tuple`).
    SelectedTupleChanged(SocketAddr),
}

/// Why [`IceServer::restart`] refused.
#[derive(Debug, Error, Clone, Copy, PartialEq, Eq)]
pub enum IceRestartError {
    /// The ICE state is closed.
    #[error("ice is closed")]
    Closed,
}

struct Credentials {
    ufrag: String,
    pwd: String,
    key: Hmac<Sha1>,
}

impl Credentials {
    fn new(ufrag: String, pwd: String) -> Self {
        let key = stun::integrity_key(&pwd);
        Self { ufrag, pwd, key }
    }

    fn matches_username(&self, username: &[u8]) -> bool {
        let u = self.ufrag.as_bytes();
        username.len() > u.len() && username.starts_with(u) && username[u.len()] == b':'
    }
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credentials")
            .field("ufrag", &self.ufrag)
            .finish_non_exhaustive()
    }
}

/// The ICE-lite responder of one WebRTC transport (see the module docs).
#[derive(Debug)]
pub struct IceServer {
    current: Credentials,
    /// The credentials before the last restart, accepted until a check with the new ones arrives.
    previous: Option<Credentials>,
    state: IceState,
    tuples: Vec<SocketAddr>,
    selected: Option<SocketAddr>,
    last_valid_check: Option<Instant>,
    disconnected_at: Option<Instant>,
    consent_timeout: Duration,
    close_grace: Duration,
    events: std::collections::VecDeque<IceEvent>,
}

impl IceServer {
    /// A responder in state `new` with our ICE username fragment and password and the default timeouts.
    pub fn new(local_ufrag: impl Into<String>, local_pwd: impl Into<String>) -> Self {
        Self {
            current: Credentials::new(local_ufrag.into(), local_pwd.into()),
            previous: None,
            state: IceState::New,
            tuples: Vec::with_capacity(2),
            selected: None,
            last_valid_check: None,
            disconnected_at: None,
            consent_timeout: DEFAULT_CONSENT_TIMEOUT,
            close_grace: DEFAULT_CLOSE_GRACE,
            events: std::collections::VecDeque::with_capacity(4),
        }
    }

    /// Sets the consent timeout and the grace before `closed`.
    pub fn with_timeouts(mut self, consent_timeout: Duration, close_grace: Duration) -> Self {
        self.consent_timeout = consent_timeout;
        self.close_grace = close_grace;
        self
    }

    /// Our ICE username fragment.
    pub fn local_ufrag(&self) -> &str {
        &self.current.ufrag
    }

    /// Our ICE password.
    pub fn local_pwd(&self) -> &str {
        &self.current.pwd
    }

    /// The ICE state.
    pub fn state(&self) -> IceState {
        self.state
    }

    /// The selected tuple's remote address, where media and DTLS go.
    pub fn selected_tuple(&self) -> Option<SocketAddr> {
        self.selected
    }

    /// True if `remote` sent a valid check (only such tuples may feed DTLS and media).
    pub fn is_valid_tuple(&self, remote: SocketAddr) -> bool {
        self.tuples.contains(&remote)
    }

    /// ICE restart: new credentials. Checks with the old ones stay valid until one with the new ones arrives, so
    /// media keeps flowing while the remote side switches. State, tuples and consent are kept.
    pub fn restart(
        &mut self,
        local_ufrag: impl Into<String>,
        local_pwd: impl Into<String>,
    ) -> Result<(), IceRestartError> {
        if self.state == IceState::Closed {
            return Err(IceRestartError::Closed);
        }
        let new = Credentials::new(local_ufrag.into(), local_pwd.into());
        self.previous = Some(std::mem::replace(&mut self.current, new));
        Ok(())
    }

    /// Handles one STUN datagram from `from`; a response (if any) is written into `out`, whose first `len`
    /// bytes are to be sent back to `from`.
    pub fn handle_stun(
        &mut self,
        now: Instant,
        from: SocketAddr,
        datagram: &[u8],
        out: &mut [u8],
    ) -> IceOutcome {
        match self.check(from, datagram, out) {
            Ok((len, use_candidate)) => self.on_valid_check(now, from, use_candidate, len),
            Err(outcome) => outcome,
        }
    }

    /// Validates and answers; returns the success response's length and USE-CANDIDATE.
    fn check(
        &mut self,
        from: SocketAddr,
        datagram: &[u8],
        out: &mut [u8],
    ) -> Result<(usize, bool), IceOutcome> {
        use IceOutcome::{Dropped, Rejected};
        let m = StunMessage::parse(datagram).map_err(|e| Dropped(e.into()))?;
        if m.msg_type() != BINDING_REQUEST {
            return Err(Dropped(IceRejection::NotBindingRequest));
        }
        if !m.check_fingerprint() {
            return Err(Dropped(IceRejection::BadFingerprint));
        }
        if self.state == IceState::Closed {
            return Err(Dropped(IceRejection::Closed));
        }
        let reject = |out: &mut [u8], code: u16, phrase: &str, reason: IceRejection| {
            match stun::write_binding_error(out, m.transaction_id(), code, phrase) {
                Ok(len) => Rejected { len, reason },
                Err(_) => Dropped(IceRejection::BufferTooSmall),
            }
        };
        let (Some(username), true) = (m.username(), m.has_integrity()) else {
            return Err(reject(
                out,
                400,
                "Bad Request",
                IceRejection::MissingCredentials,
            ));
        };
        let creds = if self.current.matches_username(username) {
            &self.current
        } else if let Some(prev) = self
            .previous
            .as_ref()
            .filter(|p| p.matches_username(username))
        {
            prev
        } else {
            return Err(reject(
                out,
                401,
                "Unauthorized",
                IceRejection::UnknownUsername,
            ));
        };
        if !m.check_integrity(&creds.key) {
            return Err(reject(out, 401, "Unauthorized", IceRejection::BadIntegrity));
        }
        let len = stun::write_binding_success(out, m.transaction_id(), from, &creds.key)
            .map_err(|_| Dropped(IceRejection::BufferTooSmall))?;
        if std::ptr::eq(creds, &self.current) {
            self.previous = None;
        }
        Ok((len, m.use_candidate()))
    }

    fn on_valid_check(
        &mut self,
        now: Instant,
        from: SocketAddr,
        use_candidate: bool,
        len: usize,
    ) -> IceOutcome {
        self.last_valid_check = Some(now);
        self.disconnected_at = None;
        if !self.tuples.contains(&from) {
            if self.tuples.len() >= MAX_TUPLES
                && let Some(i) = self.tuples.iter().position(|t| Some(*t) != self.selected)
            {
                self.tuples.remove(i);
            }
            self.tuples.push(from);
        }
        let select = use_candidate || self.selected.is_none();
        let changed = select && self.selected != Some(from);
        if changed {
            self.selected = Some(from);
            self.events.push_back(IceEvent::SelectedTupleChanged(from));
        }
        let next = match self.state {
            _ if use_candidate => IceState::Completed,
            IceState::New | IceState::Disconnected => IceState::Connected,
            s => s,
        };
        self.set_state(next);
        if changed {
            IceOutcome::SelectedTupleChanged { len, tuple: from }
        } else {
            IceOutcome::Responded { len }
        }
    }

    fn set_state(&mut self, state: IceState) {
        if self.state != state {
            self.state = state;
            self.events.push_back(IceEvent::StateChanged(state));
        }
    }

    /// Forgets a tuple whose path is gone (an ICE-TCP connection closed). When it was the selected one, the
    /// most recently validated remaining tuple takes over; with none left the state becomes `disconnected`
    /// (and `closed` after the grace, unless a check arrives).
    pub fn remove_tuple(&mut self, now: Instant, remote: SocketAddr) {
        let Some(i) = self.tuples.iter().position(|t| *t == remote) else {
            return;
        };
        self.tuples.remove(i);
        if self.selected != Some(remote) {
            return;
        }
        self.selected = self.tuples.last().copied();
        match self.selected {
            Some(next) => self.events.push_back(IceEvent::SelectedTupleChanged(next)),
            None if matches!(self.state, IceState::Connected | IceState::Completed) => {
                self.disconnected_at = Some(now);
                self.set_state(IceState::Disconnected);
            }
            None => {}
        }
    }

    /// When [`handle_timeout`](Self::handle_timeout) is next due, if ever.
    pub fn poll_timeout(&self) -> Option<Instant> {
        match self.state {
            IceState::Connected | IceState::Completed => {
                self.last_valid_check.map(|t| t + self.consent_timeout)
            }
            IceState::Disconnected => self.disconnected_at.map(|t| t + self.close_grace),
            IceState::New | IceState::Closed => None,
        }
    }

    /// Applies consent expiry at `now`: `connected`/`completed` → `disconnected` → `closed`.
    pub fn handle_timeout(&mut self, now: Instant) {
        while let Some(due) = self.poll_timeout() {
            if now < due {
                return;
            }
            if self.state == IceState::Disconnected {
                self.selected = None;
                self.tuples.clear();
                self.previous = None;
                self.set_state(IceState::Closed);
            } else {
                self.disconnected_at = Some(due);
                self.set_state(IceState::Disconnected);
            }
        }
    }

    /// The next state change, oldest first.
    pub fn poll_event(&mut self) -> Option<IceEvent> {
        self.events.pop_front()
    }
}

#[cfg(test)]
mod interop;
#[cfg(test)]
mod tests;
