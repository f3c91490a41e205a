//! Server-Sent Events framing of the hub's streams (`GET /rooms/{roomId}/events` and
//! `GET /rooms/{roomId}/broadcasters/{broadcasterId}/events`).
//!
//! Owns the wire format only: which stream to open, and whether the room or broadcaster exists, is the
//! handlers' business (via the control layer); storing, numbering and replaying is `crate::events`.
//!
//! Framing (WHATWG HTML, "Server-sent events"):
//! - an event: `id:` its per-stream number, `event:` its name (`producer.added`, …), `data:` its payload as one
//!   camelCase JSON object;
//! - a reset: `id:` the id the stream continues after, `event: reset`, `data:` a
//!   [`StreamReset`](crate::events::StreamReset), e.g.
//!   `{"reason":"events were lost","lastEventId":6,"requestedLastEventId":3}`; the client rebuilds its view
//!   from the REST resources, then applies what follows;
//! - a keep-alive: an empty comment (`:`) after `keep_alive` of silence, and one as the very first frame: Firefox
//!   fires `EventSource.onopen` only once body bytes arrive, so a client that waits for `open` before acting
//!   (to be sure it misses nothing) would otherwise wait a whole keep-alive interval.
//!
//! Resuming: the `Last-Event-ID` header (sent by `EventSource` on reconnect) or, for a first connection that
//! wants to resume (`EventSource` cannot set headers), the `lastEventId` query parameter; the header wins, as
//! a reconnecting `EventSource` repeats the original URL. `0` asks for everything still buffered. A value that
//! is not a decimal `u64` is a 400: ids come from this server, so it is a client bug, and ignoring it would
//! hide lost events.

use std::convert::Infallible;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::http::HeaderMap;
use axum::response::sse::{self, KeepAlive, KeepAliveStream, Sse};
use futures_util::Stream;
use serde::Deserialize;
use utoipa::IntoParams;

use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::response::IntoResponse;
use mediagate_engine::ids::{BroadcasterId, RoomId};

use super::error::ApiError;
use super::extract::Path;
use crate::events::{Event, StreamItem, Subscription};

/// Name of the SSE header carrying the last id a reconnecting client saw.
pub const LAST_EVENT_ID: &str = "last-event-id";

/// SSE event name of a [`StreamItem::Reset`].
pub const RESET_EVENT: &str = "reset";

/// Query parameters of the two events endpoints.
#[derive(Clone, Debug, Default, Deserialize, IntoParams)]
#[serde(rename_all = "camelCase")]
#[into_params(parameter_in = Query)]
pub struct EventsQuery {
    /// Resume after this event id (as `Last-Event-ID`, which takes precedence); `0` replays everything
    /// still buffered.
    #[param(value_type = Option<u64>, minimum = 0)]
    pub last_event_id: Option<String>,
}

/// A `Last-Event-ID` (header or query) that is not a decimal event id.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("last event id must be a decimal integer, got {value:?}")]
pub struct InvalidLastEventId {
    /// The rejected value (lossily decoded).
    pub value: String,
}

/// The id to resume after: the `Last-Event-ID` header if present, else `query.last_event_id`, else `None`
/// (live events only). Surrounding whitespace is ignored; an empty value counts as absent (an `EventSource`
/// that never saw an id sends none, but proxies may forward an empty header).
pub fn last_event_id(
    headers: &HeaderMap,
    query: &EventsQuery,
) -> Result<Option<u64>, InvalidLastEventId> {
    let header = match headers.get(LAST_EVENT_ID) {
        Some(value) => Some(value.to_str().map_err(|_| InvalidLastEventId {
            value: String::from_utf8_lossy(value.as_bytes()).into_owned(),
        })?),
        None => None,
    };
    let value = match header {
        Some(header) if !header.trim().is_empty() => header,
        _ => query.last_event_id.as_deref().unwrap_or_default(),
    };
    let value = value.trim();
    if value.is_empty() {
        return Ok(None);
    }
    // `u64::from_str` accepts a leading `+`; an id is digits only.
    if !value.bytes().all(|byte| byte.is_ascii_digit()) {
        return Err(InvalidLastEventId {
            value: value.to_owned(),
        });
    }
    value.parse().map(Some).map_err(|_| InvalidLastEventId {
        value: value.to_owned(),
    })
}

/// The SSE response for a subscription: its items framed as above, with a keep-alive comment after each
/// `keep_alive` of silence. The response ends when the subscription does.
pub fn sse_response(
    subscription: Subscription,
    keep_alive: Duration,
) -> Sse<KeepAliveStream<SseEvents>> {
    Sse::new(SseEvents {
        subscription,
        opened: false,
    })
    .keep_alive(KeepAlive::new().interval(keep_alive))
}

pub(super) fn routes() -> axum::Router<super::AppState> {
    axum::Router::new()
        .route("/rooms/{roomId}/events", axum::routing::get(room_events))
        .route(
            "/rooms/{roomId}/broadcasters/{broadcasterId}/events",
            axum::routing::get(broadcaster_events),
        )
}

fn resume_point(
    headers: &HeaderMap,
    query: Result<Query<EventsQuery>, QueryRejection>,
) -> Result<Option<u64>, ApiError> {
    let Query(query) =
        query.map_err(|e| ApiError::bad_request(Some("lastEventId"), e.body_text()))?;
    last_event_id(headers, &query)
        .map_err(|e| ApiError::bad_request(Some("Last-Event-ID"), format!("Last-Event-ID: {e}")))
}

/// The room's event stream (Server-Sent Events): `broadcaster.joined`, `broadcaster.left`,
/// `producer.added`, `producer.closed`, `producer.paused`, `producer.resumed`, `dataProducer.added`,
/// `dataProducer.closed`. Resume with `Last-Event-ID`.
#[utoipa::path(get, path = "/rooms/{roomId}/events", tag = "events",
    params(("roomId" = RoomId, Path, description = "Room name"), EventsQuery),
    responses((status = 200, description = "An endless text/event-stream: `id:` per-stream number, \
        `event:` the event name, `data:` its payload", content_type = "text/event-stream", body = Event)))]
async fn room_events(
    State(control): State<super::AppState>,
    Path(room): Path<RoomId>,
    query: Result<Query<EventsQuery>, QueryRejection>,
    headers: HeaderMap,
) -> Result<impl IntoResponse, ApiError> {
    let last = resume_point(&headers, query)?;
    control.ensure_room(&room).await?;
    let hub = control.events();
    let subscription = hub.subscribe_room(&room, last);
    // Checked after subscribing, so a room closed in between cannot leave a stream behind.
    if let Err(e) = control.room(&room).await {
        hub.remove_room(&room);
        return Err(e.into());
    }
    Ok(sse_response(subscription, hub.config().keep_alive))
}

/// A broadcaster's event stream (Server-Sent Events): what it must learn about its own objects
/// (`transport.*`, `producer.score`, `consumer.*`, `dataConsumer.closed`) plus the room's events about
/// others. Resume with `Last-Event-ID`.
#[utoipa::path(get, path = "/rooms/{roomId}/broadcasters/{broadcasterId}/events", tag = "events",
    params(
        ("roomId" = RoomId, Path, description = "Room name"),
        ("broadcasterId" = BroadcasterId, Path, description = "Broadcaster id"),
        EventsQuery,
    ),
    responses((status = 200, description = "An endless text/event-stream: `id:` per-stream number, \
        `event:` the event name, `data:` its payload", content_type = "text/event-stream", body = Event)))]
async fn broadcaster_events(
    State(control): State<super::AppState>,
    Path((room, broadcaster)): Path<(RoomId, BroadcasterId)>,
    query: Result<Query<EventsQuery>, QueryRejection>,
    headers: HeaderMap,
) -> Result<impl IntoResponse, ApiError> {
    let last = resume_point(&headers, query)?;
    control.broadcaster(&room, &broadcaster).await?;
    let hub = control.events();
    let subscription = hub.subscribe_broadcaster(&room, &broadcaster, last);
    // Checked after subscribing, so a broadcaster that left in between cannot leave a stream behind.
    if let Err(e) = control.broadcaster(&room, &broadcaster).await {
        hub.remove_broadcaster(&room, &broadcaster);
        return Err(e.into());
    }
    Ok(sse_response(subscription, hub.config().keep_alive))
}

/// A subscription framed as SSE events (the body stream of [`sse_response`]).
#[derive(Debug)]
pub struct SseEvents {
    subscription: Subscription,
    /// Whether the opening comment went out.
    opened: bool,
}

impl Stream for SseEvents {
    type Item = Result<sse::Event, Infallible>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        if !self.opened {
            self.opened = true;
            return Poll::Ready(Some(Ok(sse::Event::default().comment(""))));
        }
        Pin::new(&mut self.subscription)
            .poll_next(cx)
            .map(|item| item.map(|item| Ok(frame(&item))))
    }
}

/// One stream item as an SSE event.
fn frame(item: &StreamItem) -> sse::Event {
    let (id, name, data) = match item {
        StreamItem::Event { id, event } => (*id, event.name(), serde_json::to_string(&**event)),
        StreamItem::Reset(reset) => (
            reset.last_event_id,
            RESET_EVENT,
            serde_json::to_string(reset),
        ),
    };
    // Our payloads are plain structs of strings, numbers and enums: serialising them cannot fail.
    let data = data.unwrap_or_else(|error| {
        tracing::error!(%error, event = name, "event payload did not serialise");
        "{}".to_owned()
    });
    sse::Event::default()
        .id(id.to_string())
        .event(name)
        .data(data)
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use axum::body::Body;
    use axum::http::HeaderValue;
    use axum::response::IntoResponse;
    use http_body_util::BodyExt;
    use mediagate_engine::ids::{BroadcasterId, ProducerId, RoomId};

    use super::*;
    use crate::events::{EventHub, EventHubConfig, ProducerPaused};

    fn query(value: Option<&str>) -> EventsQuery {
        EventsQuery {
            last_event_id: value.map(str::to_owned),
        }
    }

    fn headers(value: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(LAST_EVENT_ID, HeaderValue::from_str(value).unwrap());
        headers
    }

    #[test]
    fn last_event_id_comes_from_the_header_then_the_query() {
        let empty = HeaderMap::new();
        assert_eq!(last_event_id(&empty, &query(None)), Ok(None));
        assert_eq!(last_event_id(&empty, &query(Some("7"))), Ok(Some(7)));
        assert_eq!(
            last_event_id(&headers("12"), &query(Some("7"))),
            Ok(Some(12))
        );
        assert_eq!(last_event_id(&headers(" 0 "), &query(None)), Ok(Some(0)));
        assert_eq!(last_event_id(&headers(""), &query(Some("3"))), Ok(Some(3)));
        for bad in ["-1", "+1", "abc", "1.5", "18446744073709551616"] {
            assert!(last_event_id(&headers(bad), &query(None)).is_err(), "{bad}");
            assert!(last_event_id(&empty, &query(Some(bad))).is_err(), "{bad}");
        }
    }

    async fn next_frame(body: &mut Body) -> Option<String> {
        let frame = body.frame().await?.unwrap();
        Some(String::from_utf8(frame.into_data().unwrap().to_vec()).unwrap())
    }

    #[tokio::test]
    async fn items_are_framed_with_id_event_and_data_and_the_body_ends_with_the_stream() {
        let hub = EventHub::new(EventHubConfig {
            replay_capacity: 2,
            ..EventHubConfig::default()
        });
        let room: RoomId = "r".parse().unwrap();
        let producer_id = ProducerId::new_random();
        for _ in 0..3 {
            hub.publish_room(
                &room,
                ProducerPaused {
                    producer_id,
                    broadcaster_id: "b".parse::<BroadcasterId>().unwrap(),
                }
                .into(),
            );
        }
        let response = sse_response(hub.subscribe_room(&room, Some(0)), Duration::from_secs(15))
            .into_response();
        assert_eq!(response.headers()["content-type"], "text/event-stream");
        let mut body = response.into_body();

        assert_eq!(
            next_frame(&mut body).await.unwrap(),
            ": \n\n",
            "the opening comment"
        );
        assert_eq!(
            next_frame(&mut body).await.unwrap(),
            "id: 1\nevent: reset\ndata: {\"reason\":\"events were lost\",\"lastEventId\":1,\"requestedLastEventId\":0}\n\n"
        );
        assert_eq!(
            next_frame(&mut body).await.unwrap(),
            format!(
                "id: 2\nevent: producer.paused\ndata: {{\"producerId\":\"{producer_id}\",\"broadcasterId\":\"b\"}}\n\n"
            )
        );
        assert!(next_frame(&mut body).await.unwrap().starts_with("id: 3\n"));
        hub.remove_room(&room);
        assert_eq!(next_frame(&mut body).await, None);
    }

    #[tokio::test]
    async fn silence_is_broken_by_keep_alive_comments() {
        let hub = EventHub::default();
        let room: RoomId = "r".parse().unwrap();
        // A short interval, awaited rather than slept on: the frame arrives when the timer fires.
        let response =
            sse_response(hub.subscribe_room(&room, None), Duration::from_millis(1)).into_response();
        let mut body = response.into_body();
        assert_eq!(
            next_frame(&mut body).await.unwrap(),
            ": \n\n",
            "the opening comment"
        );
        assert_eq!(next_frame(&mut body).await.unwrap(), ":\n\n");
        assert_eq!(next_frame(&mut body).await.unwrap(), ":\n\n");
        hub.shutdown();
        assert_eq!(next_frame(&mut body).await, None);
    }
}
