//! WHIP sessions (RFC 9725): one publish offer makes a broadcaster, a WebRTC transport on the shared port and
//! the producers of its send sections; the session resource ends them all, and `PATCH` trickles candidates
//! (nothing to do for an ICE-lite server) or restarts ICE.
//!
//! Owns: the session index (session id → room, broadcaster, transport, entity-tag, remote ICE username
//! fragment) and the trickle-ice-sdpfrag reading (RFC 8840) the sessions need. Must not: know HTTP headers
//! beyond the entity-tag values it compares.

use std::collections::HashMap;
use std::fmt;
use std::str::FromStr;

use mediagate_engine::ids::{BroadcasterId, RoomId, TransportId};
use mediagate_engine::router::{
    CloseReason, NegotiatedProducer, TransportInfo, TransportOptions, WebRtcTransportOptions,
};
use mediagate_engine::sdp::candidate_value;
use uuid::Uuid;

use super::{
    AccessError, BroadcasterRequest, Control, CreateTransportError, JoinError,
    NegotiateTransportError, RestartIceTransportError, default_device,
};

/// A WHIP session: unguessable (a v4 uuid, 122 random bits), minted here, never reused.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct WhipSessionId(Uuid);

impl WhipSessionId {
    pub(super) fn new_random() -> Self {
        Self(Uuid::new_v4())
    }
}

impl fmt::Display for WhipSessionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl FromStr for WhipSessionId {
    type Err = uuid::Error;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Uuid::parse_str(s).map(Self)
    }
}

/// Which protocol made a session: its resource lives under `/whip/sessions/` or `/whep/sessions/`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SessionKind {
    /// WHIP (RFC 9725): the session publishes.
    Whip,
    /// WHEP: the session plays.
    Whep,
}

/// What the control plane remembers of a session.
#[derive(Clone, Debug)]
pub(super) struct WhipSession {
    pub(super) kind: SessionKind,
    pub(super) room: RoomId,
    pub(super) broadcaster: BroadcasterId,
    pub(super) transport: TransportId,
    /// A WHEP session's consumers, in its offer's order.
    pub(super) consumers: Vec<mediagate_engine::ids::ConsumerId>,
    /// The current entity-tag of the ICE session, quoted (`"…"`).
    pub(super) etag: String,
    /// The client's ICE username fragment; another one in a PATCH is an ICE restart.
    pub(super) remote_ufrag: Option<String>,
    /// The first accepted section's mid (the bundle tag), for the restart answer's fragment.
    pub(super) mid: Option<String>,
}

/// The sessions, by id.
pub(super) type WhipSessions = HashMap<WhipSessionId, WhipSession>;

/// A session just created.
#[derive(Clone, Debug, PartialEq)]
pub struct WhipPublished {
    /// Its id (the `Location` path ends with it).
    pub session: WhipSessionId,
    /// The SDP answer.
    pub answer: String,
    /// The entity-tag of its ICE session, quoted.
    pub etag: String,
    /// The broadcaster it joined as.
    pub broadcaster: BroadcasterId,
    /// The producers of the offer's send sections.
    pub producers: Vec<NegotiatedProducer>,
}

/// What a `PATCH` did.
#[derive(Clone, Debug, PartialEq)]
pub enum WhipPatched {
    /// Candidates trickled (an ICE-lite server needs none).
    Trickled,
    /// ICE restarted: the server's new fragment and the new entity-tag (quoted).
    Restarted {
        /// `application/trickle-ice-sdpfrag` body.
        fragment: String,
        /// New entity-tag.
        etag: String,
    },
}

/// Why a WHIP offer was not answered.
#[derive(Debug, Clone, thiserror::Error)]
pub enum WhipPublishError {
    /// No such room (and rooms are not created on first use), or the worker is gone.
    #[error(transparent)]
    Access(#[from] AccessError),
    /// The broadcaster could not join.
    #[error(transparent)]
    Join(#[from] JoinError),
    /// The transport could not be opened.
    #[error(transparent)]
    Transport(#[from] CreateTransportError),
    /// The offer is malformed or has nothing usable.
    #[error(transparent)]
    Negotiate(#[from] NegotiateTransportError),
}

/// Why a `PATCH` was refused.
#[derive(Debug, Clone, thiserror::Error)]
pub enum WhipPatchError {
    /// No such session.
    #[error("session {0} not found")]
    NotFound(WhipSessionId),
    /// No `If-Match`.
    #[error("If-Match is required: send the session's ETag, or \"*\" for an ICE restart")]
    PreconditionRequired,
    /// `If-Match` names another entity-tag.
    #[error("If-Match {given} does not match the session's entity-tag {current}")]
    PreconditionFailed {
        /// The request's `If-Match`.
        given: String,
        /// The current entity-tag.
        current: String,
    },
    /// The fragment is not an SDP fragment.
    #[error("sdpfrag line {line}: {problem}")]
    Malformed {
        /// Line number, from 1.
        line: usize,
        /// What is wrong with it.
        problem: String,
    },
    /// The ICE restart failed.
    #[error(transparent)]
    RestartIce(#[from] RestartIceTransportError),
    /// The transport is gone, or its worker.
    #[error(transparent)]
    Access(#[from] AccessError),
}

/// Why a session could not be ended.
#[derive(Debug, Clone, thiserror::Error)]
pub enum WhipEndError {
    /// No such session (never created, or already ended).
    #[error("session {0} not found")]
    NotFound(WhipSessionId),
    /// The worker is gone.
    #[error(transparent)]
    Access(#[from] AccessError),
}

impl Control {
    pub(super) fn whip_sessions(&self) -> std::sync::MutexGuard<'_, WhipSessions> {
        // A plain map; a panic elsewhere cannot leave it half-updated in a harmful way.
        self.inner.whip.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Answers a WHIP offer: joins a broadcaster named `display_name` (generated when absent) with a WebRTC
    /// transport on the shared port, and makes the offer's send sections its producers. On failure nothing
    /// is left behind.
    pub async fn whip_publish(
        &self,
        room: &RoomId,
        display_name: Option<String>,
        offer: String,
    ) -> Result<WhipPublished, WhipPublishError> {
        self.ensure_room(room).await?;
        self.ensure_transport_slot(room).await?;
        let session = WhipSessionId::new_random();
        let broadcaster = self
            .join_session(room, session, SessionKind::Whip, display_name)
            .await?;
        let result = self.whip_negotiate(room, &broadcaster, offer).await;
        let (transport, outcome) = match result {
            Ok(ok) => ok,
            Err(e) => {
                if let Err(cleanup) = self.leave(room, &broadcaster).await {
                    tracing::warn!(%room, %broadcaster, error = %cleanup, "whip: leaving after a failed offer");
                }
                return Err(e);
            }
        };
        let remote_ufrag = sdp_attribute(&outcome.offer, "ice-ufrag");
        let etag = new_etag();
        self.whip_sessions().insert(
            session,
            WhipSession {
                kind: SessionKind::Whip,
                room: room.clone(),
                broadcaster: broadcaster.clone(),
                transport,
                consumers: Vec::new(),
                etag: etag.clone(),
                remote_ufrag,
                mid: outcome.outcome.producers.first().map(|p| p.mid.clone()),
            },
        );
        tracing::info!(%room, %broadcaster, %session, "whip session created");
        Ok(WhipPublished {
            session,
            answer: outcome.outcome.answer,
            etag,
            broadcaster,
            producers: outcome.outcome.producers,
        })
    }

    /// Joins the broadcaster a session acts as: named `display_name`, else `WHIP <8 hex>` / `WHEP <8 hex>`
    /// from the session id; no capabilities (the session's SDP carries them).
    pub(super) async fn join_session(
        &self,
        room: &RoomId,
        session: WhipSessionId,
        kind: SessionKind,
        display_name: Option<String>,
    ) -> Result<BroadcasterId, JoinError> {
        let display_name = display_name.unwrap_or_else(|| {
            let short: String = session.to_string().chars().take(8).collect();
            let prefix = match kind {
                SessionKind::Whip => "WHIP",
                SessionKind::Whep => "WHEP",
            };
            format!("{prefix} {short}")
        });
        let joined = self
            .join(
                room,
                BroadcasterRequest {
                    id: None,
                    display_name,
                    device: default_device(),
                    rtp_capabilities: None,
                    sctp_capabilities: None,
                },
            )
            .await?;
        Ok(joined.broadcaster.id)
    }

    async fn whip_negotiate(
        &self,
        room: &RoomId,
        broadcaster: &BroadcasterId,
        offer: String,
    ) -> Result<(TransportId, Negotiated), WhipPublishError> {
        let transport = self
            .create_transport(
                room,
                broadcaster,
                TransportOptions::Webrtc(WebRtcTransportOptions::default()),
            )
            .await?
            .id();
        let outcome = self.transport_sdp_publish(transport, offer.clone()).await?;
        Ok((transport, Negotiated { offer, outcome }))
    }

    /// Ends a session: its broadcaster leaves, closing its transport and producers.
    pub async fn whip_end(
        &self,
        kind: SessionKind,
        session: WhipSessionId,
    ) -> Result<(), WhipEndError> {
        let removed = {
            let mut sessions = self.whip_sessions();
            if sessions.get(&session).is_none_or(|s| s.kind != kind) {
                return Err(WhipEndError::NotFound(session));
            }
            sessions
                .remove(&session)
                .ok_or(WhipEndError::NotFound(session))?
        };
        if removed.kind == SessionKind::Whep {
            self.publish_viewers(&removed.room);
        }
        match self.leave(&removed.room, &removed.broadcaster).await {
            // Already gone (removed through the broadcaster routes, or its room closed): the session ends.
            Ok(()) | Err(AccessError::RoomNotFound(_) | AccessError::NotFound(_)) => {}
            Err(e) => return Err(e.into()),
        }
        tracing::info!(%session, "whip session ended");
        Ok(())
    }

    /// Ends the sessions whose transport closed (consent expired, DTLS failed, closed through the transport
    /// or broadcaster routes, room closed): each session's broadcaster leaves, so its room sees
    /// `broadcaster.left`, and the session resource is gone (404).
    pub(super) fn whip_transports_closed(&self, transports: &[(TransportId, CloseReason)]) {
        let ended: Vec<(WhipSessionId, WhipSession, CloseReason)> = {
            let mut sessions = self.whip_sessions();
            let ids: Vec<(WhipSessionId, CloseReason)> = sessions
                .iter()
                .filter_map(|(id, s)| {
                    let (_, reason) = transports.iter().find(|(t, _)| *t == s.transport)?;
                    Some((*id, *reason))
                })
                .collect();
            ids.into_iter()
                .filter_map(|(id, reason)| sessions.remove(&id).map(|s| (id, s, reason)))
                .collect()
        };
        for (session, ended, reason) in ended {
            // A closed room has no one left to tell (and publishing would bring its stream back).
            if ended.kind == SessionKind::Whep && reason != CloseReason::RoomClosed {
                self.publish_viewers(&ended.room);
            }
            // The broadcaster leaves for the transport's reason (`ice closed`, `dtls failed`…), or
            // `transport closed` when a request closed the transport.
            let reason = match reason {
                CloseReason::Request => CloseReason::TransportClosed,
                other => other,
            };
            tracing::info!(%session, transport = %ended.transport, ?reason, "whip session ended: its transport closed");
            let Ok(runtime) = tokio::runtime::Handle::try_current() else {
                continue;
            };
            let control = self.clone();
            // Not awaited here: this runs while a command's events are being published.
            runtime.spawn(async move {
                match control
                    .leave_because(&ended.room, &ended.broadcaster, reason)
                    .await
                {
                    Ok(()) | Err(AccessError::RoomNotFound(_) | AccessError::NotFound(_)) => {}
                    Err(e) => tracing::warn!(%session, error = %e, "whip: leaving after the transport closed"),
                }
            });
        }
    }

    /// Applies a trickle-ice-sdpfrag to a session, `if_match` being its `If-Match` header.
    pub async fn whip_patch(
        &self,
        kind: SessionKind,
        session: WhipSessionId,
        if_match: Option<&str>,
        fragment: &str,
    ) -> Result<WhipPatched, WhipPatchError> {
        let current = self
            .whip_sessions()
            .get(&session)
            .filter(|s| s.kind == kind)
            .cloned()
            .ok_or(WhipPatchError::NotFound(session))?;
        let Some(if_match) = if_match else {
            return Err(WhipPatchError::PreconditionRequired);
        };
        if !etag_matches(if_match, &current.etag) {
            return Err(WhipPatchError::PreconditionFailed {
                given: if_match.to_owned(),
                current: current.etag,
            });
        }
        let fragment = SdpFragment::parse(fragment)?;
        let restart = match (&fragment.ice_ufrag, &current.remote_ufrag) {
            (Some(new), Some(old)) => new != old,
            (Some(_), None) => true,
            (None, _) => false,
        };
        if !restart {
            // ICE-lite: the client's candidates need no action, its checks reach the shared port.
            return Ok(WhipPatched::Trickled);
        }
        let ice = self.restart_ice(current.transport).await?;
        let info = self.transport(current.transport).await?;
        let candidates = match info {
            TransportInfo::Webrtc(t) => t.ice_candidates,
            _ => Vec::new(),
        };
        let mut body = format!(
            "a=ice-lite\r\na=ice-ufrag:{}\r\na=ice-pwd:{}\r\n",
            ice.username_fragment, ice.password
        );
        body.push_str(
            fragment
                .media
                .as_deref()
                .unwrap_or("m=audio 9 UDP/TLS/RTP/SAVPF 0"),
        );
        body.push_str("\r\n");
        if let Some(mid) = fragment.mid.as_ref().or(current.mid.as_ref()) {
            body.push_str(&format!("a=mid:{mid}\r\n"));
        }
        for candidate in &candidates {
            body.push_str(&format!("a=candidate:{}\r\n", candidate_value(candidate)));
        }
        body.push_str("a=end-of-candidates\r\n");
        let etag = new_etag();
        {
            let mut sessions = self.whip_sessions();
            // Ended meanwhile: the restart answer still stands for the request that made it.
            if let Some(s) = sessions.get_mut(&session) {
                s.etag = etag.clone();
                s.remote_ufrag = fragment.ice_ufrag.clone();
            }
        }
        tracing::info!(%session, "whip session restarted ICE");
        Ok(WhipPatched::Restarted {
            fragment: body,
            etag,
        })
    }
}

struct Negotiated {
    offer: String,
    outcome: mediagate_engine::router::PublishOutcome,
}

/// A fresh strong entity-tag, quoted.
pub(super) fn new_etag() -> String {
    format!("\"{:032x}\"", rand::random::<u128>())
}

/// RFC 9110 §13.1.1: `*`, or a list of entity-tags one of which is strongly equal to `current`.
fn etag_matches(if_match: &str, current: &str) -> bool {
    let if_match = if_match.trim();
    if if_match == "*" {
        return true;
    }
    if_match.split(',').map(str::trim).any(|tag| tag == current)
}

/// The first `a=<name>:` value of a description.
pub(super) fn sdp_attribute(sdp: &str, name: &str) -> Option<String> {
    sdp.lines().find_map(|line| {
        line.trim_end_matches('\r')
            .strip_prefix("a=")?
            .strip_prefix(name)?
            .strip_prefix(':')
            .map(|v| v.trim().to_owned())
    })
}

/// What a trickle-ice-sdpfrag (RFC 8840 §4) says that matters here.
#[derive(Debug, Default, PartialEq)]
struct SdpFragment {
    ice_ufrag: Option<String>,
    ice_pwd: Option<String>,
    /// The first `m=` line.
    media: Option<String>,
    /// The first `a=mid` value.
    mid: Option<String>,
}

impl SdpFragment {
    fn parse(text: &str) -> Result<Self, WhipPatchError> {
        let malformed = |line: usize, problem: String| WhipPatchError::Malformed { line, problem };
        let mut fragment = SdpFragment::default();
        let mut lines = 0;
        for (n, raw) in text.lines().enumerate() {
            let line = raw.trim_end_matches('\r');
            if line.is_empty() {
                continue;
            }
            lines += 1;
            let number = n + 1;
            let bytes = line.as_bytes();
            if bytes.len() < 2 || !bytes[0].is_ascii_lowercase() || bytes[1] != b'=' {
                return Err(malformed(
                    number,
                    format!("expected <letter>=<value>, got {:?}", excerpt(line)),
                ));
            }
            let value = &line[2..];
            match bytes[0] {
                b'm' => {
                    if value.split(' ').count() < 4 {
                        return Err(malformed(
                            number,
                            format!("m= needs media, port, proto and a format, got {value:?}"),
                        ));
                    }
                    fragment.media.get_or_insert_with(|| line.to_owned());
                }
                b'a' => {
                    let (name, attr) = value.split_once(':').unwrap_or((value, ""));
                    match name {
                        "ice-ufrag" | "ice-pwd" if attr.trim().is_empty() => {
                            return Err(malformed(number, format!("a={name} without a value")));
                        }
                        "ice-ufrag" => fragment.ice_ufrag = Some(attr.trim().to_owned()),
                        "ice-pwd" => fragment.ice_pwd = Some(attr.trim().to_owned()),
                        "mid" => {
                            fragment.mid.get_or_insert_with(|| attr.trim().to_owned());
                        }
                        "candidate" if attr.split(' ').count() < 8 => {
                            return Err(malformed(
                                number,
                                format!("a=candidate needs at least 8 fields, got {attr:?}"),
                            ));
                        }
                        _ => {}
                    }
                }
                _ => {}
            }
        }
        if lines == 0 {
            return Err(malformed(1, "empty fragment".to_owned()));
        }
        if fragment.ice_ufrag.is_some() != fragment.ice_pwd.is_some() {
            return Err(malformed(
                lines,
                "a=ice-ufrag and a=ice-pwd must come together".to_owned(),
            ));
        }
        Ok(fragment)
    }
}

fn excerpt(text: &str) -> String {
    text.chars().take(60).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn if_match_compares_strongly() {
        assert!(etag_matches("*", "\"a\""));
        assert!(etag_matches("\"b\", \"a\"", "\"a\""));
        assert!(!etag_matches("W/\"a\"", "\"a\""));
        assert!(!etag_matches("\"b\"", "\"a\""));
    }

    #[test]
    fn a_fragment_gives_credentials_and_refuses_garbage() {
        let f = SdpFragment::parse(
            "a=ice-ufrag:EsAw\r\na=ice-pwd:P2uYro0UCOQ4zxjKXaWCBui1\r\nm=audio 9 RTP/AVP 0\r\na=mid:0\r\n\
             a=candidate:1387637174 1 udp 2122260223 192.0.2.1 61764 typ host generation 0 ufrag EsAw\r\n\
             a=end-of-candidates\r\n",
        )
        .unwrap();
        assert_eq!(f.ice_ufrag.as_deref(), Some("EsAw"));
        assert_eq!(f.mid.as_deref(), Some("0"));
        assert_eq!(f.media.as_deref(), Some("m=audio 9 RTP/AVP 0"));
        assert!(matches!(
            SdpFragment::parse("hello"),
            Err(WhipPatchError::Malformed { line: 1, .. })
        ));
        assert!(matches!(
            SdpFragment::parse("a=ice-ufrag:x\r\n"),
            Err(WhipPatchError::Malformed { .. })
        ));
        assert!(matches!(
            SdpFragment::parse("a=candidate:1 1 udp\r\n"),
            Err(WhipPatchError::Malformed { line: 1, .. })
        ));
        assert!(SdpFragment::parse("\r\n").is_err());
    }
}
