//! Behaviour of the hub: numbering, fan-out, replay, resets, endings, memory, slow readers.
//!
//! Subscriptions are polled without waiting (`now_or_never`), so nothing here depends on time.

use std::sync::Arc;

use futures_util::{FutureExt, StreamExt};
use mediagate_engine::ids::{BroadcasterId, ProducerId, RoomId, TransportId};
use mediagate_engine::rtp_parameters::MediaKind;
use mediagate_engine::transport_parameters::IceState;

use super::*;

fn room(name: &str) -> RoomId {
    name.parse().unwrap()
}

fn broadcaster(name: &str) -> BroadcasterId {
    name.parse().unwrap()
}

fn hub(capacity: usize) -> EventHub {
    EventHub::new(EventHubConfig {
        replay_capacity: capacity,
        ..EventHubConfig::default()
    })
}

/// A distinguishable room event: `producer.paused` of producer `n` (as a uuid's low bits).
fn room_event(n: u128) -> Event {
    ProducerPaused {
        producer_id: ProducerId::from(uuid::Uuid::from_u128(n)),
        broadcaster_id: broadcaster("b"),
    }
    .into()
}

/// A distinguishable broadcaster event: `transport.iceStateChanged` of transport `n`.
fn own_event(n: u128) -> Event {
    TransportIceStateChanged {
        transport_id: TransportId::from(uuid::Uuid::from_u128(n)),
        ice_state: IceState::Connected,
    }
    .into()
}

fn event_item(id: u64, event: Event) -> StreamItem {
    StreamItem::Event {
        id,
        event: Arc::new(event),
    }
}

/// Everything the subscription can yield without waiting; `ended` tells whether it finished.
fn drain(subscription: &mut Subscription) -> (Vec<StreamItem>, bool) {
    let mut items = Vec::new();
    loop {
        match subscription.next().now_or_never() {
            Some(Some(item)) => items.push(item),
            Some(None) => return (items, true),
            None => return (items, false),
        }
    }
}

fn ids(items: &[StreamItem]) -> Vec<u64> {
    items
        .iter()
        .map(|item| match item {
            StreamItem::Event { id, .. } => *id,
            StreamItem::Reset(reset) => panic!("unexpected {reset:?}"),
        })
        .collect()
}

#[test]
fn events_are_numbered_from_one_in_publish_order() {
    let hub = hub(16);
    let r = room("r");
    let mut sub = hub.subscribe_room(&r, None);
    assert_eq!(drain(&mut sub), (vec![], false));
    for n in 1..=3 {
        hub.publish_room(&r, room_event(n));
    }
    let (items, ended) = drain(&mut sub);
    assert!(!ended);
    assert_eq!(
        items,
        vec![
            event_item(1, room_event(1)),
            event_item(2, room_event(2)),
            event_item(3, room_event(3)),
        ]
    );
}

#[test]
fn a_new_subscription_without_id_gets_live_events_only() {
    let hub = hub(16);
    let r = room("r");
    hub.publish_room(&r, room_event(1));
    let mut sub = hub.subscribe_room(&r, None);
    assert_eq!(drain(&mut sub).0, vec![]);
    hub.publish_room(&r, room_event(2));
    assert_eq!(drain(&mut sub).0, vec![event_item(2, room_event(2))]);
}

#[test]
fn room_events_reach_every_broadcaster_stream_with_its_own_numbering() {
    let hub = hub(16);
    let r = room("r");
    let (a, b) = (broadcaster("a"), broadcaster("b"));
    let mut room_sub = hub.subscribe_room(&r, None);
    let mut a_sub = hub.subscribe_broadcaster(&r, &a, None);
    let mut b_sub = hub.subscribe_broadcaster(&r, &b, None);
    let mut other_room = hub.subscribe_room(&room("other"), None);

    hub.publish_broadcaster(&r, &a, own_event(1));
    hub.publish_room(&r, room_event(2));
    hub.publish_broadcaster(&r, &b, own_event(3));

    assert_eq!(drain(&mut room_sub).0, vec![event_item(1, room_event(2))]);
    assert_eq!(
        drain(&mut a_sub).0,
        vec![event_item(1, own_event(1)), event_item(2, room_event(2))]
    );
    assert_eq!(
        drain(&mut b_sub).0,
        vec![event_item(1, room_event(2)), event_item(2, own_event(3))]
    );
    assert_eq!(drain(&mut other_room).0, vec![]);
}

#[test]
fn reconnecting_replays_every_missed_event_once_in_order() {
    let hub = hub(16);
    let (r, a) = (room("r"), broadcaster("a"));
    let mut first = hub.subscribe_broadcaster(&r, &a, None);
    for n in 1..=3 {
        hub.publish_broadcaster(&r, &a, own_event(n));
    }
    let (seen, _) = drain(&mut first);
    assert_eq!(ids(&seen), [1, 2, 3]);
    drop(first);

    for n in 4..=6 {
        hub.publish_broadcaster(&r, &a, own_event(n));
    }
    // Reconnect having seen up to 2 (say the connection broke before 3 was read).
    let mut second = hub.subscribe_broadcaster(&r, &a, Some(2));
    hub.publish_room(&r, room_event(7));
    let (items, ended) = drain(&mut second);
    assert!(!ended);
    assert_eq!(
        items,
        vec![
            event_item(3, own_event(3)),
            event_item(4, own_event(4)),
            event_item(5, own_event(5)),
            event_item(6, own_event(6)),
            event_item(7, room_event(7)),
        ]
    );
    // Up to date: nothing missed, nothing repeated.
    let mut third = hub.subscribe_broadcaster(&r, &a, Some(7));
    assert_eq!(drain(&mut third).0, vec![]);
    hub.publish_broadcaster(&r, &a, own_event(8));
    assert_eq!(drain(&mut third).0, vec![event_item(8, own_event(8))]);
    assert_eq!(drain(&mut second).0, vec![event_item(8, own_event(8))]);
}

#[test]
fn id_zero_replays_everything_still_held() {
    let hub = hub(16);
    let r = room("r");
    for n in 1..=3 {
        hub.publish_room(&r, room_event(n));
    }
    let mut sub = hub.subscribe_room(&r, Some(0));
    assert_eq!(ids(&drain(&mut sub).0), [1, 2, 3]);
}

#[test]
fn too_old_an_id_gets_a_reset_then_what_is_held() {
    let hub = hub(4);
    let r = room("r");
    for n in 1..=10 {
        hub.publish_room(&r, room_event(n));
    }
    let mut sub = hub.subscribe_room(&r, Some(3));
    let (items, _) = drain(&mut sub);
    assert_eq!(
        items[0],
        StreamItem::Reset(StreamReset {
            reason: ResetReason::EventsLost,
            last_event_id: 6,
            requested_last_event_id: 3,
        })
    );
    assert_eq!(ids(&items[1..]), [7, 8, 9, 10]);
    // The id right before the oldest held is not too old.
    let mut exact = hub.subscribe_room(&r, Some(6));
    assert_eq!(ids(&drain(&mut exact).0), [7, 8, 9, 10]);
}

#[test]
fn an_id_never_issued_gets_a_reset_then_everything_held() {
    let hub = hub(4);
    let r = room("r");
    let mut fresh = hub.subscribe_room(&r, Some(42));
    assert_eq!(
        drain(&mut fresh).0,
        vec![StreamItem::Reset(StreamReset {
            reason: ResetReason::UnknownEventId,
            last_event_id: 0,
            requested_last_event_id: 42,
        })]
    );
    for n in 1..=3 {
        hub.publish_room(&r, room_event(n));
    }
    assert_eq!(ids(&drain(&mut fresh).0), [1, 2, 3]);
    for n in 4..=6 {
        hub.publish_room(&r, room_event(n));
    }
    let mut stale = hub.subscribe_room(&r, Some(7));
    let (items, _) = drain(&mut stale);
    assert_eq!(
        items[0],
        StreamItem::Reset(StreamReset {
            reason: ResetReason::UnknownEventId,
            last_event_id: 2,
            requested_last_event_id: 7,
        })
    );
    assert_eq!(ids(&items[1..]), [3, 4, 5, 6]);
}

#[test]
fn a_slow_reader_never_blocks_publishing_and_gets_a_reset_when_overtaken() {
    let hub = hub(8);
    let r = room("r");
    let mut slow = hub.subscribe_room(&r, None);
    let mut fast = hub.subscribe_room(&r, None);
    let mut fast_ids = Vec::new();
    for n in 1..=100 {
        hub.publish_room(&r, room_event(n));
        fast_ids.extend(ids(&drain(&mut fast).0));
    }
    assert_eq!(fast_ids, (1..=100).collect::<Vec<_>>());

    let (items, ended) = drain(&mut slow);
    assert!(!ended);
    assert_eq!(
        items[0],
        StreamItem::Reset(StreamReset {
            reason: ResetReason::EventsLost,
            last_event_id: 92,
            requested_last_event_id: 0,
        })
    );
    assert_eq!(ids(&items[1..]), (93..=100).collect::<Vec<_>>());
}

#[test]
fn a_reader_overtaken_mid_stream_resumes_after_one_reset() {
    let hub = hub(4);
    let r = room("r");
    let mut sub = hub.subscribe_room(&r, None);
    hub.publish_room(&r, room_event(1));
    hub.publish_room(&r, room_event(2));
    assert!(matches!(
        sub.next().now_or_never(),
        Some(Some(StreamItem::Event { id: 1, .. }))
    ));
    for n in 3..=10 {
        hub.publish_room(&r, room_event(n));
    }
    let (items, _) = drain(&mut sub);
    assert_eq!(
        items[0],
        StreamItem::Reset(StreamReset {
            reason: ResetReason::EventsLost,
            last_event_id: 6,
            requested_last_event_id: 1,
        })
    );
    assert_eq!(ids(&items[1..]), [7, 8, 9, 10]);
    assert_eq!(sub.last_event_id(), 10);
}

#[test]
fn removing_a_broadcaster_ends_its_stream_after_what_was_published() {
    let hub = hub(16);
    let (r, a, b) = (room("r"), broadcaster("a"), broadcaster("b"));
    let mut a_sub = hub.subscribe_broadcaster(&r, &a, None);
    let mut b_sub = hub.subscribe_broadcaster(&r, &b, None);
    let mut room_sub = hub.subscribe_room(&r, None);
    hub.publish_broadcaster(&r, &a, own_event(1));
    let left: Event = BroadcasterLeft {
        broadcaster_id: a.clone(),
        reason: CloseReason::Request,
    }
    .into();
    hub.publish_room(&r, left.clone());
    hub.remove_broadcaster(&r, &a);
    hub.publish_room(&r, room_event(3));

    assert_eq!(
        drain(&mut a_sub),
        (
            vec![event_item(1, own_event(1)), event_item(2, left.clone())],
            true
        )
    );
    assert_eq!(
        drain(&mut b_sub),
        (
            vec![event_item(1, left.clone()), event_item(2, room_event(3))],
            false
        )
    );
    assert_eq!(drain(&mut room_sub).0.len(), 2);
    assert_eq!(hub.stream_count(), 2);
}

#[tokio::test]
async fn removal_wakes_a_waiting_reader() {
    let hub = hub(16);
    let (r, a) = (room("r"), broadcaster("a"));
    let sub = hub.subscribe_broadcaster(&r, &a, None);
    let reader = tokio::spawn(sub.collect::<Vec<_>>());
    tokio::task::yield_now().await;
    hub.publish_broadcaster(&r, &a, own_event(1));
    hub.remove_broadcaster(&r, &a);
    assert_eq!(reader.await.unwrap(), vec![event_item(1, own_event(1))]);
}

#[test]
fn removing_a_room_ends_its_room_and_broadcaster_streams() {
    let hub = hub(16);
    let (r, other) = (room("r"), room("other"));
    let a = broadcaster("a");
    let mut room_sub = hub.subscribe_room(&r, None);
    let mut a_sub = hub.subscribe_broadcaster(&r, &a, None);
    let mut other_sub = hub.subscribe_room(&other, None);
    let closed: Event = RoomClosed {
        room_id: r.clone(),
        reason: CloseReason::Request,
    }
    .into();
    hub.publish_room(&r, closed.clone());
    hub.remove_room(&r);

    assert_eq!(
        drain(&mut room_sub),
        (vec![event_item(1, closed.clone())], true)
    );
    assert_eq!(drain(&mut a_sub), (vec![event_item(1, closed)], true));
    assert_eq!(drain(&mut other_sub), (vec![], false));
    assert_eq!(hub.stream_count(), 1);
}

#[test]
fn a_reader_overtaken_before_removal_still_gets_a_reset_then_the_rest() {
    let hub = hub(2);
    let r = room("r");
    let mut sub = hub.subscribe_room(&r, None);
    for n in 1..=5 {
        hub.publish_room(&r, room_event(n));
    }
    hub.remove_room(&r);
    let (items, ended) = drain(&mut sub);
    assert!(ended);
    assert!(matches!(items[0], StreamItem::Reset(_)));
    assert_eq!(ids(&items[1..]), [4, 5]);
}

#[test]
fn shutdown_ends_every_stream_and_later_subscriptions() {
    let hub = hub(16);
    let (r, a) = (room("r"), broadcaster("a"));
    let mut room_sub = hub.subscribe_room(&r, None);
    let mut a_sub = hub.subscribe_broadcaster(&r, &a, None);
    hub.publish_room(&r, room_event(1));
    hub.shutdown();
    hub.publish_room(&r, room_event(2));

    assert_eq!(
        drain(&mut room_sub),
        (vec![event_item(1, room_event(1))], true)
    );
    assert_eq!(
        drain(&mut a_sub),
        (vec![event_item(1, room_event(1))], true)
    );
    assert_eq!(drain(&mut hub.subscribe_room(&r, Some(0))), (vec![], true));
    assert_eq!(
        drain(&mut hub.subscribe_broadcaster(&r, &a, None)),
        (vec![], true)
    );
    assert_eq!(hub.stream_count(), 0);
}

#[test]
fn buffers_are_capped() {
    let hub = hub(8);
    let (r, a) = (room("r"), broadcaster("a"));
    let _sub = hub.subscribe_broadcaster(&r, &a, None);
    for n in 1..=1000 {
        hub.publish_room(&r, room_event(n));
    }
    let state = hub.lock();
    let streams = &state.rooms[&r];
    assert_eq!(streams.room.buffered(), 8);
    assert_eq!(streams.broadcasters[&a].buffered(), 8);
}

#[test]
fn ten_thousand_broadcasters_come_and_go_without_leaking() {
    let hub = hub(4);
    let r = room("r");
    let mut room_sub = hub.subscribe_room(&r, None);
    let mut leftover = Vec::new();
    for n in 0..10_000u128 {
        let b = broadcaster(&format!("b{n}"));
        let mut sub = hub.subscribe_broadcaster(&r, &b, None);
        hub.publish_broadcaster(&r, &b, own_event(n));
        hub.publish_room(&r, room_event(n));
        hub.remove_broadcaster(&r, &b);
        if n % 1000 == 0 {
            // A reader still holding a removed stream keeps only that stream alive, until it ends.
            leftover.push(sub);
        } else {
            assert_eq!(drain(&mut sub).0.len(), 2);
            assert!(drain(&mut sub).1);
        }
    }
    assert_eq!(hub.stream_count(), 1);
    assert!(hub.map_capacity() < 64, "{}", hub.map_capacity());
    for mut sub in leftover {
        let channel = Arc::downgrade(sub.channel_for_test());
        let (items, ended) = drain(&mut sub);
        assert_eq!((items.len(), ended), (2, true));
        assert!(
            channel.upgrade().is_none(),
            "a removed stream's log is freed"
        );
    }
    // The room stream itself stayed capped.
    assert_eq!(drain(&mut room_sub).0.len(), 5);
    hub.remove_room(&r);
    assert_eq!(hub.stream_count(), 0);
}

#[test]
fn payloads_are_camel_case_and_names_are_the_sse_names() {
    let producer_id = ProducerId::new_random();
    let event: Event = ProducerAdded {
        producer_id,
        broadcaster_id: broadcaster("alice"),
        kind: MediaKind::Video,
        paused: false,
    }
    .into();
    assert_eq!(event.name(), "producer.added");
    assert!(event.is_room_event());
    assert_eq!(
        serde_json::to_value(&event).unwrap(),
        serde_json::json!({
            "producerId": producer_id,
            "broadcasterId": "alice",
            "kind": "video",
            "paused": false,
        })
    );

    let event: Event = ConsumerLayersChanged {
        consumer_id: mediagate_engine::ids::ConsumerId::new_random(),
        spatial_layer: Some(2),
        temporal_layer: None,
    }
    .into();
    assert_eq!(event.name(), "consumer.layersChanged");
    assert!(!event.is_room_event());
    let json = serde_json::to_value(&event).unwrap();
    assert_eq!(json["spatialLayer"], 2);
    assert!(json["temporalLayer"].is_null());

    let closed: Event = ProducerClosed {
        producer_id,
        broadcaster_id: broadcaster("alice"),
        reason: CloseReason::TransportClosed,
    }
    .into();
    assert_eq!(
        serde_json::to_value(&closed).unwrap()["reason"],
        "transport closed"
    );
    assert_eq!(
        serde_json::to_value(CloseReason::Request).unwrap(),
        CloseReason::Request.as_str()
    );

    let reset = StreamReset {
        reason: ResetReason::EventsLost,
        last_event_id: 6,
        requested_last_event_id: 3,
    };
    assert_eq!(
        serde_json::to_value(&reset).unwrap(),
        serde_json::json!({"reason": "events were lost", "lastEventId": 6, "requestedLastEventId": 3})
    );
}

#[test]
fn device_omits_absent_fields() {
    let device = Device {
        flag: None,
        name: "mediasoup-client".into(),
        version: Some("3".into()),
    };
    assert_eq!(
        serde_json::to_value(&device).unwrap(),
        serde_json::json!({"name": "mediasoup-client", "version": "3"})
    );
    let parsed: Device = serde_json::from_str(r#"{"name":"x"}"#).unwrap();
    assert_eq!(parsed.flag, None);
}
