//! WHEP playback (draft-ietf-wish-whep): `POST /rooms/{roomId}/whep` with a viewer's SDP offer, the session
//! resource `/whep/sessions/{sessionId}` (`PATCH` and `DELETE` as WHIP's, [`super::whip`]), and WHEP's
//! server-sent-events extension (`/whep/sessions/{sessionId}/sse`).
//!
//! The extension is advertised in the answer's `Link` header (rel
//! `urn:ietf:params:whep:ext:core:server-sent-events`, `events="active,inactive,viewercount"`). The viewer
//! `POST`s the JSON array of the events it wants there and gets `201` with the `Location` of its event
//! stream, which `GET` opens (`text/event-stream`). Events carry state, not history: a stream starts with
//! the current `active` or `inactive` and `viewercount`, then sends each change; a reconnecting
//! `EventSource` gets the current state again. `layers` and the layer-selection extension are not offered:
//! consumers do not switch simulcast layers yet.

use std::collections::VecDeque;
use std::convert::Infallible;
use std::pin::Pin;
use std::task::{Context, Poll};

use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::sse::{self, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, patch, post};
use futures_util::Stream;
use mediagate_engine::ids::{BroadcasterId, ConsumerId, ProducerId, RoomId};
use serde::Deserialize;

use super::AppState;
use super::error::ApiError;
use super::extract::Path;
use super::whip::{SDP, header_value, patch_any, require_content_type, session_id};
use crate::control::{SessionKind, WhepSelection};
use crate::events::{Event, StreamItem, Subscription};

/// The link relation of WHEP's server-sent-events extension.
pub const SSE_EXTENSION: &str = "urn:ietf:params:whep:ext:core:server-sent-events";

/// The WHEP events this server sends.
pub const EVENTS: [&str; 3] = ["active", "inactive", "viewercount"];

pub(super) fn routes() -> axum::Router<AppState> {
    axum::Router::new()
        .route(
            "/rooms/{roomId}/whep",
            post(play).options(super::whip::options),
        )
        .route(
            "/whep/sessions/{sessionId}",
            patch(patch_session).delete(delete_session),
        )
        .route("/whep/sessions/{sessionId}/sse", post(subscribe))
        .route("/whep/sessions/{sessionId}/sse/stream", get(event_stream))
}

/// Query of a WHEP offer.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[serde(rename_all = "camelCase")]
#[into_params(parameter_in = Query)]
pub struct WhepQuery {
    /// Name the session's broadcaster shows to the room (generated when absent).
    display_name: Option<String>,
    /// Play this broadcaster's most recent video and audio producers.
    broadcaster_id: Option<String>,
    /// Play these producers (comma-separated ids); each section of the offer takes the first one of its kind.
    producer_id: Option<String>,
}

impl WhepQuery {
    fn selection(&self) -> Result<WhepSelection, ApiError> {
        match (&self.producer_id, &self.broadcaster_id) {
            (Some(_), Some(_)) => Err(ApiError::bad_request(
                Some("producerId"),
                "producerId: give either producerId or broadcasterId, not both",
            )),
            (Some(list), None) => list
                .split(',')
                .map(|id| {
                    id.trim().parse::<ProducerId>().map_err(|_| {
                        ApiError::bad_request(
                            Some("producerId"),
                            format!("producerId: {id:?} is not a producer id"),
                        )
                    })
                })
                .collect::<Result<Vec<_>, _>>()
                .map(WhepSelection::Producers),
            (None, Some(broadcaster)) => {
                let id: BroadcasterId = broadcaster.parse().map_err(|_| {
                    ApiError::bad_request(
                        Some("broadcasterId"),
                        format!("broadcasterId: {broadcaster:?} is not a broadcaster id"),
                    )
                })?;
                Ok(WhepSelection::Broadcaster(id))
            }
            (None, None) => Ok(WhepSelection::Latest),
        }
    }
}

/// WHEP: plays a room to a viewer's SDP offer (`recvonly` sections). The session joins as a broadcaster
/// with a WebRTC transport; each section gets a running consumer of the room's most recent producer of its
/// kind (or of the query's choice), in the offer's own payload types and extension ids. The answer is
/// ICE-lite with every candidate; `Location` is the session resource, `ETag` its ICE session, `Link` the
/// server-sent-events extension. `409` with `Retry-After` when nothing is live yet.
#[utoipa::path(post, path = "/rooms/{roomId}/whep", tag = "whep",
    params(("roomId" = RoomId, Path, description = "Room name"), WhepQuery),
    request_body(content = String, content_type = "application/sdp", description = "The SDP offer"),
    responses(
        (status = 201, description = "The SDP answer", body = String, content_type = "application/sdp",
            headers(
                ("Location" = String, description = "The session resource, /whep/sessions/{sessionId}"),
                ("ETag" = String, description = "Entity-tag of the ICE session"),
                ("Link" = String, description = "The server-sent-events extension \
                    (rel=\"urn:ietf:params:whep:ext:core:server-sent-events\")"))),
        (status = 400, description = "Malformed SDP (the detail names the line) or query",
            body = super::Problem, content_type = "application/problem+json"),
        (status = 404, description = "A producer named by producerId is not in the room",
            body = super::Problem, content_type = "application/problem+json"),
        (status = 409, description = "Nothing to play is live yet (see Retry-After)", body = super::Problem,
            content_type = "application/problem+json",
            headers(("Retry-After" = u32, description = "Seconds to wait before offering again"))),
        (status = 415, description = "The body is not application/sdp", body = super::Problem,
            content_type = "application/problem+json"),
        (status = 422, description = "The offer receives on no usable section", body = super::Problem,
            content_type = "application/problem+json"),
        (status = 503, description = "Overloaded: the room's worker holds its limit of open transports \
            (`max_transports_per_worker`, named in the detail), or the worker is gone; nothing is left behind \
            (see Retry-After)", body = super::Problem,
            content_type = "application/problem+json",
            headers(("Retry-After" = u32, description = "Seconds to wait before offering again")))))]
async fn play(
    State(control): State<AppState>,
    Path(room): Path<RoomId>,
    Query(query): Query<WhepQuery>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    require_content_type(&headers, SDP)?;
    let selection = query.selection()?;
    let offer = String::from_utf8(body.to_vec())
        .map_err(|e| ApiError::bad_request(Some("sdp"), format!("sdp: not UTF-8: {e}")))?;
    let played = control
        .whep_play(&room, selection, query.display_name, offer)
        .await?;
    let location = format!("/whep/sessions/{}", played.session);
    let mut response = (StatusCode::CREATED, played.answer).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(SDP));
    headers.insert(header::LOCATION, header_value(&location)?);
    headers.insert(header::ETAG, header_value(&played.etag)?);
    headers.insert(
        header::LINK,
        header_value(&format!(
            "<{location}/sse>; rel=\"{SSE_EXTENSION}\"; events=\"{}\"",
            EVENTS.join(",")
        ))?,
    );
    Ok(response)
}

/// Trickle ICE or ICE restart of a WHEP session: the rules of `PATCH /whip/sessions/{sessionId}`.
#[utoipa::path(patch, path = "/whep/sessions/{sessionId}", tag = "whep",
    params(
        ("sessionId" = String, Path, description = "Session id (from Location)"),
        ("If-Match" = String, Header, description = "The session's ETag, or \"*\" for an ICE restart"),
    ),
    request_body(content = String, content_type = "application/trickle-ice-sdpfrag",
        description = "The SDP fragment"),
    responses(
        (status = 204, description = "Candidates taken"),
        (status = 200, description = "ICE restarted: the server's new fragment", body = String,
            content_type = "application/trickle-ice-sdpfrag",
            headers(("ETag" = String, description = "New entity-tag of the ICE session"))),
        (status = 412, description = "If-Match does not match the session's ETag", body = super::Problem,
            content_type = "application/problem+json"),
        (status = 415, description = "The body is not application/trickle-ice-sdpfrag",
            body = super::Problem, content_type = "application/problem+json"),
        (status = 428, description = "No If-Match", body = super::Problem,
            content_type = "application/problem+json")))]
async fn patch_session(
    State(control): State<AppState>,
    Path(session): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    patch_any(&control, SessionKind::Whep, &session, &headers, body).await
}

/// Ends a WHEP session: its broadcaster leaves and its consumers close. A second `DELETE` is a 404.
#[utoipa::path(delete, path = "/whep/sessions/{sessionId}", tag = "whep",
    params(("sessionId" = String, Path, description = "Session id (from Location)")),
    responses((status = 200, description = "Session ended")))]
async fn delete_session(
    State(control): State<AppState>,
    Path(session): Path<String>,
) -> Result<StatusCode, ApiError> {
    control
        .whip_end(SessionKind::Whep, session_id(&session)?)
        .await?;
    Ok(StatusCode::OK)
}

/// WHEP server-sent-events extension: the viewer lists the events it wants (a JSON array of names; names
/// this server does not send are ignored) and gets the `Location` of its event stream.
#[utoipa::path(post, path = "/whep/sessions/{sessionId}/sse", tag = "whep",
    params(("sessionId" = String, Path, description = "Session id (from Location)")),
    request_body(content = Vec<String>, content_type = "application/json",
        description = "Event names: active, inactive, viewercount"),
    responses(
        (status = 201, description = "The event stream's location",
            headers(("Location" = String, description = "/whep/sessions/{sessionId}/sse/stream?events=…"))),
        (status = 400, description = "The body is not a JSON array of strings", body = super::Problem,
            content_type = "application/problem+json"),
        (status = 404, description = "No such WHEP session", body = super::Problem,
            content_type = "application/problem+json")))]
async fn subscribe(
    State(control): State<AppState>,
    Path(session): Path<String>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let id = session_id(&session)?;
    let wanted: Vec<String> = serde_json::from_slice(&body).map_err(|e| {
        ApiError::bad_request(
            Some("body"),
            format!("body: expected a JSON array of event names: {e}"),
        )
    })?;
    if control.whep_session_state(id).await.is_none() {
        return Err(ApiError::not_found(format!("session {id} not found")));
    }
    let events: Vec<&str> = EVENTS
        .into_iter()
        .filter(|e| wanted.iter().any(|w| w == e))
        .collect();
    let mut response = StatusCode::CREATED.into_response();
    response.headers_mut().insert(
        header::LOCATION,
        header_value(&format!(
            "/whep/sessions/{id}/sse/stream?events={}",
            events.join(",")
        ))?,
    );
    Ok(response)
}

/// Query of a WHEP event stream.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct StreamQuery {
    /// Comma-separated event names to send (all when absent).
    events: Option<String>,
}

/// A WHEP session's event stream: `active` / `inactive` (`{}`) when media starts or stops flowing (its
/// producers closed or paused), `viewercount` (`{"viewercount": n}`) when the room's number of WHEP
/// sessions changes. It starts with the current state and ends with the session.
#[utoipa::path(get, path = "/whep/sessions/{sessionId}/sse/stream", tag = "whep",
    params(("sessionId" = String, Path, description = "Session id (from Location)"), StreamQuery),
    responses(
        (status = 200, description = "An endless text/event-stream of WHEP events",
            content_type = "text/event-stream", body = String),
        (status = 404, description = "No such WHEP session", body = super::Problem,
            content_type = "application/problem+json")))]
async fn event_stream(
    State(control): State<AppState>,
    Path(session): Path<String>,
    Query(query): Query<StreamQuery>,
) -> Result<impl IntoResponse, ApiError> {
    let id = session_id(&session)?;
    let not_found = || ApiError::not_found(format!("session {id} not found"));
    let state = control.whep_session_state(id).await.ok_or_else(not_found)?;
    let hub = control.events();
    let subscription = hub.subscribe_broadcaster(&state.room, &state.broadcaster, None);
    // Checked after subscribing, so a session that ended in between cannot leave a stream behind.
    let Some(state) = control.whep_session_state(id).await else {
        hub.remove_broadcaster(&state.room, &state.broadcaster);
        return Err(not_found());
    };
    let wanted = |name: &str| {
        query
            .events
            .as_deref()
            .is_none_or(|list| list.split(',').any(|e| e.trim() == name))
    };
    let mut stream = WhepEvents {
        subscription,
        consumers: state.consumers.clone(),
        active: state.active,
        viewers: control.whep_viewer_count(&state.room) as u64,
        send_activity: wanted("active") || wanted("inactive"),
        send_active: wanted("active"),
        send_inactive: wanted("inactive"),
        send_viewers: wanted("viewercount"),
        queue: VecDeque::new(),
    };
    stream.push_activity();
    stream.push_viewers();
    Ok(Sse::new(stream).keep_alive(KeepAlive::new().interval(hub.config().keep_alive)))
}

/// The WHEP view of a session's broadcaster stream.
struct WhepEvents {
    subscription: Subscription,
    /// Open consumers, with whether their producer is paused.
    consumers: Vec<(ConsumerId, bool)>,
    active: bool,
    viewers: u64,
    send_activity: bool,
    send_active: bool,
    send_inactive: bool,
    send_viewers: bool,
    queue: VecDeque<sse::Event>,
}

impl WhepEvents {
    fn push_activity(&mut self) {
        if !self.send_activity {
            return;
        }
        let (send, name) = if self.active {
            (self.send_active, "active")
        } else {
            (self.send_inactive, "inactive")
        };
        if send {
            self.queue
                .push_back(sse::Event::default().event(name).data("{}"));
        }
    }

    fn push_viewers(&mut self) {
        if self.send_viewers {
            self.queue.push_back(
                sse::Event::default()
                    .event("viewercount")
                    .data(format!("{{\"viewercount\":{}}}", self.viewers)),
            );
        }
    }

    fn set_paused(&mut self, consumer: ConsumerId, paused: Option<bool>) {
        match paused {
            Some(paused) => {
                if let Some(entry) = self.consumers.iter_mut().find(|(c, _)| *c == consumer) {
                    entry.1 = paused;
                }
            }
            None => self.consumers.retain(|(c, _)| *c != consumer),
        }
        let active = self.consumers.iter().any(|(_, paused)| !paused);
        if active != self.active {
            self.active = active;
            self.push_activity();
        }
    }

    fn apply(&mut self, item: &StreamItem) {
        let StreamItem::Event { event, .. } = item else {
            return;
        };
        match &**event {
            Event::ConsumerClosed(e) => self.set_paused(e.consumer_id, None),
            Event::ConsumerProducerPaused(e) => self.set_paused(e.consumer_id, Some(true)),
            Event::ConsumerProducerResumed(e) => self.set_paused(e.consumer_id, Some(false)),
            Event::RoomViewers(e) if e.viewer_count != self.viewers => {
                self.viewers = e.viewer_count;
                self.push_viewers();
            }
            _ => {}
        }
    }
}

impl Stream for WhepEvents {
    type Item = Result<sse::Event, Infallible>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        loop {
            if let Some(frame) = self.queue.pop_front() {
                return Poll::Ready(Some(Ok(frame)));
            }
            match Pin::new(&mut self.subscription).poll_next(cx) {
                Poll::Ready(Some(item)) => self.apply(&item),
                Poll::Ready(None) => return Poll::Ready(None),
                Poll::Pending => return Poll::Pending,
            }
        }
    }
}
