//! The event hub: typed events, numbered per stream, with bounded replay.
//!
//! Owns one stream per room and one per broadcaster (a bounded log of [`Event`]s with per-stream ids starting
//! at 1) and the subscriptions reading them. It must not know HTTP (SSE framing, headers and keep-alives are
//! `crate::api::events`), nor rooms' and broadcasters' existence (the control layer decides who may
//! subscribe and what is published); it only stores and delivers.
//!
//! # Streams
//! - [`EventHub::publish_room`] appends to the room stream and to every broadcaster stream of that room
//!   (each numbers the event with its own next id); [`EventHub::publish_broadcaster`] appends to one
//!   broadcaster stream.
//! - Streams come into being on first publish or subscribe, so a client may subscribe before any event.
//!   They are freed by [`EventHub::remove_broadcaster`], [`EventHub::remove_room`] (the room stream and all its
//!   broadcaster streams) and [`EventHub::shutdown`] (all). Each keeps at most
//!   [`EventHubConfig::replay_capacity`] events.
//!
//! # Subscriptions and replay
//! A [`Subscription`] is a cursor into the log. Without a last event id it starts after the newest event
//! (live only); with one (SSE `Last-Event-ID`) it yields every later event still held, in order, exactly
//! once, then live events. `0` asks for everything still held. A [`StreamItem::Reset`] comes first when:
//! - the id is older than the log holds (`"events were lost"`); the stream continues with the oldest held;
//! - the id is larger than the newest id issued (`"unknown event id"`: it belongs to an earlier server run or
//!   an earlier room/broadcaster of the same name); the stream continues with everything it holds.
//!
//! A live reader that falls more than `replay_capacity` events behind gets a reset the same way instead of a
//! silent gap. Publishing never waits for readers, and a reader's memory is its cursor: a slow client costs
//! nothing but the (shared, bounded) log.
//!
//! # Endings (protocol for the control layer)
//! Removal and shutdown close streams: their subscribers first get every event already published, then end.
//! The hub adds no events of its own, so the control layer publishes the last words before removing:
//! - broadcaster deleted: `publish_room_except(BroadcasterLeft, leaver)` then `remove_broadcaster`: the
//!   leaving broadcaster's own stream delivers what closed in cascade and ends (its own departure is its own
//!   action, so it is not told about it);
//! - room closed: `publish_room(RoomClosed)` then `remove_room`: every stream of the room ends with
//!   `room.closed`;
//! - server shutdown (SIGINT): `shutdown` (optionally after `room.closed` per room), before or while the HTTP
//!   server drains; later subscriptions end at once and later publications are dropped.
//!
//! A publish for a removed stream re-creates it (it lives until its room is removed), and so does a subscribe
//! racing a removal. The control layer therefore publishes an object's events before removing its stream and,
//! for a subscription, checks the room/broadcaster exists *after* subscribing (removing the stream again if it
//! does not).

mod event;
mod subscription;
#[cfg(test)]
mod tests;

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::Waker;
use std::time::Duration;

use mediagate_engine::ids::{BroadcasterId, RoomId};

pub use event::*;
pub use subscription::{ResetReason, StreamItem, StreamReset, Subscription};

use subscription::Channel;

/// Settings of an [`EventHub`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EventHubConfig {
    /// Events kept per stream for replay (and for slow readers); at least 1. Default 1024.
    pub replay_capacity: usize,
    /// Longest silence on an SSE connection before a keep-alive comment. Default 15 s. The hub only carries
    /// it for the HTTP layer.
    pub keep_alive: Duration,
}

impl Default for EventHubConfig {
    fn default() -> Self {
        Self {
            replay_capacity: 1024,
            keep_alive: Duration::from_secs(15),
        }
    }
}

/// The streams of one room.
#[derive(Debug)]
struct RoomStreams {
    room: Arc<Channel>,
    broadcasters: HashMap<BroadcasterId, Arc<Channel>>,
}

#[derive(Debug, Default)]
struct HubState {
    shut_down: bool,
    rooms: HashMap<RoomId, RoomStreams>,
}

#[derive(Debug)]
struct HubInner {
    config: EventHubConfig,
    state: Mutex<HubState>,
}

/// The per-room and per-broadcaster event streams. Cheap to clone (shared state); thread-safe.
///
/// Locks are held only to append to, cut or read a log, never across an `.await`.
#[derive(Clone, Debug)]
pub struct EventHub {
    inner: Arc<HubInner>,
}

impl Default for EventHub {
    fn default() -> Self {
        Self::new(EventHubConfig::default())
    }
}

impl EventHub {
    /// A hub with no streams.
    pub fn new(config: EventHubConfig) -> Self {
        Self {
            inner: Arc::new(HubInner {
                config,
                state: Mutex::new(HubState::default()),
            }),
        }
    }

    /// The hub's settings.
    pub fn config(&self) -> &EventHubConfig {
        &self.inner.config
    }

    fn lock(&self) -> MutexGuard<'_, HubState> {
        // Every mutation under this lock is a single map operation, so a poisoned lock is still consistent.
        self.inner
            .state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn new_channel(&self) -> Arc<Channel> {
        Arc::new(Channel::new(self.inner.config.replay_capacity))
    }

    /// Publishes a room event to the room stream and to every broadcaster stream of the room.
    ///
    /// `event` should be a room event ([`Event::is_room_event`]); debug builds assert it.
    pub fn publish_room(&self, room: &RoomId, event: Event) {
        self.publish_room_except(room, event, None);
    }

    /// Publishes a room event to the room stream and to every broadcaster stream of the room but
    /// `except`'s: an action never produces an event on the actor's own stream about its own object.
    pub fn publish_room_except(&self, room: &RoomId, event: Event, except: Option<&BroadcasterId>) {
        debug_assert!(
            event.is_room_event(),
            "{} is not a room event",
            event.name()
        );
        let event = Arc::new(event);
        let mut wakers = Vec::new();
        {
            let mut state = self.lock();
            if state.shut_down {
                return;
            }
            let streams = self.room_streams(&mut state, room);
            wakers.extend(streams.room.push(Arc::clone(&event)));
            for (broadcaster, channel) in &streams.broadcasters {
                if Some(broadcaster) != except {
                    wakers.extend(channel.push(Arc::clone(&event)));
                }
            }
        }
        wakers.into_iter().for_each(Waker::wake);
    }

    /// Publishes an event about a broadcaster's own objects to that broadcaster's stream only.
    ///
    /// `event` should not be a room event ([`Event::is_room_event`]); debug builds assert it.
    pub fn publish_broadcaster(&self, room: &RoomId, broadcaster: &BroadcasterId, event: Event) {
        debug_assert!(!event.is_room_event(), "{} is a room event", event.name());
        let wakers = {
            let mut state = self.lock();
            if state.shut_down {
                return;
            }
            self.broadcaster_channel(&mut state, room, broadcaster)
                .push(Arc::new(event))
        };
        wakers.into_iter().for_each(Waker::wake);
    }

    /// Subscribes to a room stream, after `last_event_id` (see the [module docs](self) for replay and resets).
    pub fn subscribe_room(&self, room: &RoomId, last_event_id: Option<u64>) -> Subscription {
        let mut state = self.lock();
        if state.shut_down {
            return Subscription::ended();
        }
        self.room_streams(&mut state, room)
            .room
            .subscribe(last_event_id)
    }

    /// Subscribes to a broadcaster stream (its own objects' events plus its room's events), after
    /// `last_event_id` (see the [module docs](self) for replay and resets).
    pub fn subscribe_broadcaster(
        &self,
        room: &RoomId,
        broadcaster: &BroadcasterId,
        last_event_id: Option<u64>,
    ) -> Subscription {
        let mut state = self.lock();
        if state.shut_down {
            return Subscription::ended();
        }
        self.broadcaster_channel(&mut state, room, broadcaster)
            .subscribe(last_event_id)
    }

    /// Removes a broadcaster stream: its subscribers get the events already published, then end; its log is
    /// freed when the last of them ends. Unknown streams are ignored.
    pub fn remove_broadcaster(&self, room: &RoomId, broadcaster: &BroadcasterId) {
        let channel = {
            let mut state = self.lock();
            let Some(streams) = state.rooms.get_mut(room) else {
                return;
            };
            let channel = streams.broadcasters.remove(broadcaster);
            shrink_if_sparse(&mut streams.broadcasters);
            channel
        };
        if let Some(channel) = channel {
            channel.close().into_iter().for_each(Waker::wake);
        }
    }

    /// Removes a room stream and all its broadcaster streams: their subscribers get the events already
    /// published, then end. Unknown rooms are ignored.
    pub fn remove_room(&self, room: &RoomId) {
        let streams = {
            let mut state = self.lock();
            let streams = state.rooms.remove(room);
            shrink_if_sparse(&mut state.rooms);
            streams
        };
        if let Some(streams) = streams {
            close_room(streams);
        }
    }

    /// Ends every stream (after the events already published) and refuses new ones: later subscriptions end
    /// at once, later publications are dropped. For graceful shutdown.
    pub fn shutdown(&self) {
        let rooms = {
            let mut state = self.lock();
            state.shut_down = true;
            std::mem::take(&mut state.rooms)
        };
        rooms.into_values().for_each(close_room);
    }

    /// Number of streams held (rooms plus broadcasters): for metrics and leak checks.
    pub fn stream_count(&self) -> usize {
        let state = self.lock();
        state
            .rooms
            .values()
            .map(|streams| 1 + streams.broadcasters.len())
            .sum()
    }

    fn room_streams<'a>(&self, state: &'a mut HubState, room: &RoomId) -> &'a mut RoomStreams {
        state
            .rooms
            .entry(room.clone())
            .or_insert_with(|| RoomStreams {
                room: self.new_channel(),
                broadcasters: HashMap::new(),
            })
    }

    fn broadcaster_channel<'a>(
        &self,
        state: &'a mut HubState,
        room: &RoomId,
        broadcaster: &BroadcasterId,
    ) -> &'a Arc<Channel> {
        self.room_streams(state, room)
            .broadcasters
            .entry(broadcaster.clone())
            .or_insert_with(|| self.new_channel())
    }

    #[cfg(test)]
    fn map_capacity(&self) -> usize {
        let state = self.lock();
        state.rooms.capacity()
            + state
                .rooms
                .values()
                .map(|streams| streams.broadcasters.capacity())
                .sum::<usize>()
    }
}

fn close_room(streams: RoomStreams) {
    let mut wakers = streams.room.close();
    for channel in streams.broadcasters.into_values() {
        wakers.extend(channel.close());
    }
    wakers.into_iter().for_each(Waker::wake);
}

/// Gives memory back after many removals (a map keeps its peak capacity otherwise).
fn shrink_if_sparse<K: std::hash::Hash + Eq, V>(map: &mut HashMap<K, V>) {
    if map.capacity() > 64 && map.len() < map.capacity() / 4 {
        map.shrink_to(map.len() * 2);
    }
}
