//! WHEP sessions (draft-ietf-wish-whep): a viewer's `recvonly` offer makes a broadcaster, a WebRTC transport
//! on the shared port and one running consumer per section it can fill; the session resource (shared with
//! WHIP, [`super::whip`]) ends them all and takes the same `PATCH`es. The session's event view
//! ([`WhepSessionState`]) feeds the WHEP server-sent-events extension.
//!
//! Owns: choosing the producers a viewer gets (a query's choice, else the room's most recent video and
//! audio), and what a session's viewer should know (is its media flowing, how many viewers the room has).
//! Must not: know HTTP or SSE framing.

use mediagate_engine::ids::{BroadcasterId, ConsumerId, ProducerId, RoomId, TransportId};
use mediagate_engine::router::{
    NegotiationError, PlayOutcome, PlayedConsumer, Router, TransportOptions, WebRtcTransportOptions,
};

use crate::events::{Event, RoomViewers};

use super::whip::{SessionKind, WhipSession, WhipSessionId, new_etag, sdp_attribute};
use super::{AccessError, Control, CreateTransportError, JoinError, NegotiateTransportError};

/// Which producers a viewer asks for.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum WhepSelection {
    /// The room's most recent video and audio producers.
    #[default]
    Latest,
    /// That broadcaster's most recent video and audio producers.
    Broadcaster(BroadcasterId),
    /// These producers (each section takes the first one of its kind not taken yet).
    Producers(Vec<ProducerId>),
}

/// A session just created.
#[derive(Clone, Debug, PartialEq)]
pub struct WhepPlayed {
    /// Its id (the `Location` path ends with it).
    pub session: WhipSessionId,
    /// The SDP answer.
    pub answer: String,
    /// The entity-tag of its ICE session, quoted.
    pub etag: String,
    /// The broadcaster it joined as.
    pub broadcaster: BroadcasterId,
    /// The consumers of the offer's sections.
    pub consumers: Vec<PlayedConsumer>,
}

/// Why a WHEP offer was not answered.
#[derive(Debug, Clone, thiserror::Error)]
pub enum WhepPlayError {
    /// Nothing the viewer asked for is live (no such room yet, no producer of the choice, or none its offer
    /// can receive): try again later.
    #[error("nothing is live to play in room {room}{}", .detail.as_deref().map(|d| format!(": {d}")).unwrap_or_default())]
    NotLive {
        /// The room.
        room: RoomId,
        /// What was missing.
        detail: Option<String>,
    },
    /// A producer named by the query is not in the room.
    #[error("producerId: producer {0} is not in this room")]
    UnknownProducer(ProducerId),
    /// The worker is gone.
    #[error(transparent)]
    Access(#[from] AccessError),
    /// The viewer could not join.
    #[error(transparent)]
    Join(#[from] JoinError),
    /// The transport could not be opened.
    #[error(transparent)]
    Transport(#[from] CreateTransportError),
    /// The offer is malformed.
    #[error(transparent)]
    Negotiate(#[from] NegotiateTransportError),
}

/// What a session's viewer should know now, for the WHEP events.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WhepSessionState {
    /// The room.
    pub room: RoomId,
    /// The session's broadcaster (its event stream carries the changes).
    pub broadcaster: BroadcasterId,
    /// The session's consumers that are still open, each with whether its producer is paused.
    pub consumers: Vec<(ConsumerId, bool)>,
    /// Whether media flows: some consumer is open and its producer is not paused.
    pub active: bool,
}

impl Control {
    /// Answers a WHEP offer: joins a broadcaster named `display_name` (generated when absent) with a WebRTC
    /// transport on the shared port, and fills the offer's receive sections with running consumers of the
    /// selected producers. Nothing is created when nothing is live; on failure nothing is left behind.
    pub async fn whep_play(
        &self,
        room: &RoomId,
        selection: WhepSelection,
        display_name: Option<String>,
        offer: String,
    ) -> Result<WhepPlayed, WhepPlayError> {
        let not_live = |detail: Option<String>| WhepPlayError::NotLive {
            room: room.clone(),
            detail,
        };
        if !self.index().rooms.contains_key(room) {
            return Err(not_live(None));
        }
        let check = selection.clone();
        if self
            .on_room(room, move |r| candidates(r, &check))
            .await??
            .is_empty()
        {
            return Err(not_live(None));
        }
        self.ensure_transport_slot(room).await?;
        let session = WhipSessionId::new_random();
        let broadcaster = self
            .join_session(room, session, SessionKind::Whep, display_name)
            .await?;
        let (transport, outcome) = match self
            .whep_negotiate(room, &broadcaster, selection, &offer)
            .await
        {
            Ok(ok) => ok,
            Err(e) => {
                if let Err(cleanup) = self.leave(room, &broadcaster).await {
                    tracing::warn!(%room, %broadcaster, error = %cleanup, "whep: leaving after a failed offer");
                }
                return Err(match e {
                    WhepPlayError::Negotiate(NegotiateTransportError::Refused(
                        NegotiationError::NothingToPlay,
                    )) => not_live(Some(
                        "no live producer matches a section the offer receives on".to_owned(),
                    )),
                    other => other,
                });
            }
        };
        let etag = new_etag();
        self.whip_sessions().insert(
            session,
            WhipSession {
                kind: SessionKind::Whep,
                room: room.clone(),
                broadcaster: broadcaster.clone(),
                transport,
                consumers: outcome.consumers.iter().map(|c| c.id).collect(),
                etag: etag.clone(),
                remote_ufrag: sdp_attribute(&offer, "ice-ufrag"),
                mid: outcome.consumers.first().map(|c| c.mid.clone()),
            },
        );
        self.publish_viewers(room);
        tracing::info!(%room, %broadcaster, %session, consumers = outcome.consumers.len(), "whep session created");
        Ok(WhepPlayed {
            session,
            answer: outcome.answer,
            etag,
            broadcaster,
            consumers: outcome.consumers,
        })
    }

    async fn whep_negotiate(
        &self,
        room: &RoomId,
        broadcaster: &BroadcasterId,
        selection: WhepSelection,
        offer: &str,
    ) -> Result<(TransportId, PlayOutcome), WhepPlayError> {
        let transport = self
            .create_transport(
                room,
                broadcaster,
                TransportOptions::Webrtc(WebRtcTransportOptions::default()),
            )
            .await?
            .id();
        // One id per media section is always enough; they are registered before the consumers exist.
        let sections = offer.lines().filter(|l| l.starts_with("m=")).count();
        let ids: Vec<ConsumerId> = (0..sections.min(super::MAX_SDP_SECTIONS))
            .map(|_| ConsumerId::new_random())
            .collect();
        for id in &ids {
            self.reserve(id.as_uuid(), room);
        }
        let minted = ids.clone();
        let offer = offer.to_owned();
        let result = self
            .on_room(room, move |r| {
                let producers = candidates(r, &selection)?;
                Ok::<_, WhepPlayError>(
                    r.negotiate_play(transport, &offer, &producers, &mut ids.into_iter())
                        .map_err(NegotiateTransportError::Refused)?,
                )
            })
            .await;
        let used: Vec<ConsumerId> = match &result {
            Ok(Ok(outcome)) => outcome.consumers.iter().map(|c| c.id).collect(),
            _ => Vec::new(),
        };
        for id in minted.iter().filter(|c| !used.contains(c)) {
            self.release(id.as_uuid());
        }
        Ok((transport, result??))
    }

    /// What a WHEP session's viewer should know now; `None` when there is no such WHEP session.
    pub async fn whep_session_state(&self, session: WhipSessionId) -> Option<WhepSessionState> {
        let record = self
            .whip_sessions()
            .get(&session)
            .filter(|s| s.kind == SessionKind::Whep)
            .cloned()?;
        let consumers = record.consumers.clone();
        let open = self
            .on_room(&record.room, move |r| {
                consumers
                    .iter()
                    .filter_map(|c| r.consumer(*c).ok())
                    .map(|c| (c.id, c.producer_paused))
                    .collect::<Vec<_>>()
            })
            .await
            .unwrap_or_default();
        Some(WhepSessionState {
            room: record.room,
            broadcaster: record.broadcaster,
            active: open.iter().any(|(_, paused)| !paused),
            consumers: open,
        })
    }

    /// Tells the room how many WHEP sessions play from it (`room.viewers`), after one started or ended.
    pub(super) fn publish_viewers(&self, room: &RoomId) {
        let viewer_count = self.whep_viewer_count(room) as u64;
        self.inner
            .events
            .publish_room(room, Event::RoomViewers(RoomViewers { viewer_count }));
    }

    /// How many WHEP sessions play from a room.
    pub fn whep_viewer_count(&self, room: &RoomId) -> usize {
        self.whip_sessions()
            .values()
            .filter(|s| s.kind == SessionKind::Whep && &s.room == room)
            .count()
    }
}

/// The producers a selection names, most wanted first: a list as given (each must be in the room),
/// otherwise the room's (or the broadcaster's) producers, newest first.
fn candidates(r: &Router, selection: &WhepSelection) -> Result<Vec<ProducerId>, WhepPlayError> {
    let producers = r.producers();
    Ok(match selection {
        WhepSelection::Latest => producers.iter().rev().map(|p| p.id).collect(),
        WhepSelection::Broadcaster(b) => producers
            .iter()
            .rev()
            .filter(|p| &p.broadcaster_id == b)
            .map(|p| p.id)
            .collect(),
        WhepSelection::Producers(list) => {
            if let Some(missing) = list
                .iter()
                .find(|id| !producers.iter().any(|p| p.id == **id))
            {
                return Err(WhepPlayError::UnknownProducer(*missing));
            }
            list.clone()
        }
    })
}
