//! One event stream (a bounded, numbered log) and the cursors that read it.
//!
//! A [`Channel`] is the log of one room or broadcaster stream: ids start at 1 and increase by one per event;
//! only the newest `capacity` events are kept. A [`Subscription`] is a cursor into it (the last id it handed
//! out), so replay after a reconnect and live delivery are the same operation: hand out the event after the
//! cursor. Publishing only appends and evicts, and never waits for a reader; a reader whose next event was
//! evicted gets one [`StreamItem::Reset`] and continues from the oldest event still held.

use std::collections::{HashMap, VecDeque};
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll, Waker};

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::Event;

/// What a [`Subscription`] yields.
#[derive(Clone, Debug, PartialEq)]
pub enum StreamItem {
    /// The event numbered `id` in its stream.
    Event {
        /// Per-stream id: 1 for the stream's first event, then increasing by one.
        id: u64,
        /// The event, shared by every stream and subscriber it was delivered to.
        event: Arc<Event>,
    },
    /// Events the subscriber asked for can no longer be delivered; the next event is `last_event_id + 1`.
    Reset(StreamReset),
}

/// Why a stream emitted a `reset`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub enum ResetReason {
    /// `"events were lost"`: the events after the requested id were evicted from the replay buffer
    /// (the client reconnected too late, or read too slowly).
    #[serde(rename = "events were lost")]
    EventsLost,
    /// `"unknown event id"`: the requested id was never issued by this stream (it comes from an earlier
    /// server run or an earlier room or broadcaster of the same name).
    #[serde(rename = "unknown event id")]
    UnknownEventId,
}

/// Payload of the SSE `reset` event: the client's view is stale and must be rebuilt (with the REST resources)
/// before applying the events that follow.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct StreamReset {
    /// Why the stream was reset.
    pub reason: ResetReason,
    /// The stream continues with the event numbered `lastEventId + 1`; the SSE `id:` of the `reset` event
    /// is this value, so a reconnect after the reset does not reset again.
    pub last_event_id: u64,
    /// The last id the subscriber had seen (from `Last-Event-ID`, or the last event it read).
    pub requested_last_event_id: u64,
}

/// The mutable part of a stream.
#[derive(Debug, Default)]
struct ChannelState {
    /// Id of the newest event published; 0 before the first.
    last_id: u64,
    /// The newest events, oldest first, with consecutive ids ending at `last_id`.
    log: VecDeque<Arc<Event>>,
    /// Set once the stream was removed (or the hub shut down): no more events, readers end after the log.
    closed: bool,
    /// Readers waiting for the next event, by subscription key.
    wakers: HashMap<u64, Waker>,
    /// Key of the next subscription.
    next_key: u64,
}

impl ChannelState {
    /// Id of the oldest event still held (`last_id + 1` when the log is empty).
    fn first_id(&self) -> u64 {
        self.last_id + 1 - self.log.len() as u64
    }
}

/// One stream's bounded log: shared by the hub (while the stream exists) and its subscriptions.
#[derive(Debug)]
pub(super) struct Channel {
    capacity: usize,
    state: Mutex<ChannelState>,
}

impl Channel {
    /// An empty stream keeping at most `capacity` (at least 1) events.
    pub(super) fn new(capacity: usize) -> Self {
        Self {
            capacity: capacity.max(1),
            state: Mutex::new(ChannelState::default()),
        }
    }

    fn lock(&self) -> MutexGuard<'_, ChannelState> {
        // A panic while holding this lock leaves the log consistent (every mutation is one step), so a
        // poisoned lock is still usable.
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Appends `event` (evicting the oldest beyond capacity) and returns the readers to wake.
    /// A closed stream ignores it.
    #[must_use]
    pub(super) fn push(&self, event: Arc<Event>) -> Vec<Waker> {
        let mut state = self.lock();
        if state.closed {
            return Vec::new();
        }
        if state.log.len() == self.capacity {
            state.log.pop_front();
        }
        state.log.push_back(event);
        state.last_id += 1;
        state.wakers.drain().map(|(_, waker)| waker).collect()
    }

    /// Closes the stream and returns the readers to wake; they end once they have read the log.
    #[must_use]
    pub(super) fn close(&self) -> Vec<Waker> {
        let mut state = self.lock();
        state.closed = true;
        state.wakers.drain().map(|(_, waker)| waker).collect()
    }

    /// A subscription starting after `last_event_id` (`None`: after the newest event, i.e. live only).
    pub(super) fn subscribe(self: &Arc<Self>, last_event_id: Option<u64>) -> Subscription {
        let mut state = self.lock();
        let key = state.next_key;
        state.next_key += 1;
        let (cursor, pending_reset) = match last_event_id {
            None => (state.last_id, None),
            Some(requested) if requested > state.last_id => {
                let resume_after = state.first_id() - 1;
                let reset = StreamReset {
                    reason: ResetReason::UnknownEventId,
                    last_event_id: resume_after,
                    requested_last_event_id: requested,
                };
                (resume_after, Some(reset))
            }
            // Too old an id is found by `poll_next` (the log may move on before the first poll anyway).
            Some(requested) => (requested, None),
        };
        drop(state);
        Subscription {
            channel: Some(Arc::clone(self)),
            key,
            cursor,
            pending_reset,
        }
    }

    #[cfg(test)]
    pub(super) fn buffered(&self) -> usize {
        self.lock().log.len()
    }
}

/// A reader of one room or broadcaster stream, from [`EventHub::subscribe_room`](super::EventHub::subscribe_room)
/// or [`EventHub::subscribe_broadcaster`](super::EventHub::subscribe_broadcaster).
///
/// A `futures` [`Stream`](futures_util::Stream) of [`StreamItem`]s: events in id order, each exactly once,
/// with a [`StreamItem::Reset`] wherever events were lost. It ends (yields `None`) after the stream was
/// removed or the hub shut down and every event published before that has been yielded. Dropping it
/// unsubscribes; it never slows down publishers or other subscribers.
#[derive(Debug)]
pub struct Subscription {
    /// `None` once ended (releases the log as soon as possible).
    channel: Option<Arc<Channel>>,
    /// This subscription's key among the channel's wakers.
    key: u64,
    /// Id of the last event handed out (or the id the subscriber said it had seen).
    cursor: u64,
    /// A reset decided at subscription time, yielded first.
    pending_reset: Option<StreamReset>,
}

impl Subscription {
    /// A subscription that has already ended (subscribing after shutdown).
    pub(super) fn ended() -> Self {
        Self {
            channel: None,
            key: 0,
            cursor: 0,
            pending_reset: None,
        }
    }

    /// Id of the last event yielded (or of the reset's `last_event_id`, or the requested id before any).
    pub fn last_event_id(&self) -> u64 {
        self.cursor
    }

    #[cfg(test)]
    pub(super) fn channel_for_test(&self) -> &Arc<Channel> {
        self.channel.as_ref().expect("subscription has ended")
    }

    /// The next item without waiting: `Poll::Pending` when none has been published yet.
    fn poll_item(&mut self, waker: &Waker) -> Poll<Option<StreamItem>> {
        let Some(channel) = &self.channel else {
            return Poll::Ready(None);
        };
        if let Some(reset) = self.pending_reset.take() {
            return Poll::Ready(Some(StreamItem::Reset(reset)));
        }
        let mut state = channel.lock();
        let first_id = state.first_id();
        if self.cursor + 1 < first_id {
            let reset = StreamReset {
                reason: ResetReason::EventsLost,
                last_event_id: first_id - 1,
                requested_last_event_id: self.cursor,
            };
            self.cursor = first_id - 1;
            return Poll::Ready(Some(StreamItem::Reset(reset)));
        }
        if self.cursor < state.last_id {
            self.cursor += 1;
            let index = (self.cursor - first_id) as usize;
            let event = Arc::clone(&state.log[index]);
            return Poll::Ready(Some(StreamItem::Event {
                id: self.cursor,
                event,
            }));
        }
        if state.closed {
            state.wakers.remove(&self.key);
            drop(state);
            self.channel = None;
            return Poll::Ready(None);
        }
        match state.wakers.get_mut(&self.key) {
            Some(registered) if registered.will_wake(waker) => {}
            Some(registered) => registered.clone_from(waker),
            None => {
                state.wakers.insert(self.key, waker.clone());
            }
        }
        Poll::Pending
    }
}

impl futures_util::Stream for Subscription {
    type Item = StreamItem;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<StreamItem>> {
        self.get_mut().poll_item(cx.waker())
    }
}

impl Drop for Subscription {
    fn drop(&mut self) {
        if let Some(channel) = self.channel.take() {
            channel.lock().wakers.remove(&self.key);
        }
    }
}
