//! Server-Sent Events: who learns what, and resuming with `Last-Event-ID`.
//!
//! Events are published before the response of the action that caused them, so each test reads the
//! expected frame right after the action. Absence is proven by order: a later marker action whose event
//! must be the very next one on the stream.

use axum::body::Body;
use axum::http::{Request, header};
use mediagate::events::EventHubConfig;
use serde_json::json;

use crate::harness::{Events, Server, id_of};

const ROOM: &str = "/rooms/r/events";

fn own(broadcaster: &str) -> String {
    format!("/rooms/r/broadcasters/{broadcaster}/events")
}

/// Joins `id` and checks `stream` learns it (the marker that proves nothing came before).
async fn join_marker(server: &Server, stream: &mut Events, id: &str) {
    server.join("r", id).await;
    let joined = stream.expect("broadcaster.joined").await;
    assert_eq!(joined["broadcasterId"], id, "{joined}");
}

#[tokio::test]
async fn broadcaster_joined_reaches_the_room_stream() {
    let server = Server::start();
    server.join("r", "alice").await;
    let mut room = server.events(ROOM, None).await;
    let mut alice = server.events(&own("alice"), None).await;
    server
        .post(
            "/rooms/r/broadcasters",
            json!({"id": "bob", "displayName": "Bob", "device": {"name": "FFmpeg", "version": "7"}}),
        )
        .await
        .expect(201);
    let expected = json!({
        "broadcasterId": "bob",
        "displayName": "Bob",
        "device": {"name": "FFmpeg", "version": "7"}
    });
    assert_eq!(room.expect("broadcaster.joined").await, expected);
    assert_eq!(alice.expect("broadcaster.joined").await, expected);
}

#[tokio::test]
async fn deleting_a_producer_tells_its_consumers_owner_and_the_room_but_not_its_owner() {
    let server = Server::start();
    server.join("r", "alice").await;
    server.join("r", "bob").await;
    let send = server.plain("r", "alice").await;
    let producer = server.vp8(&send, 2222).await;
    let recv = server.plain("r", "bob").await;
    let consumer = id_of(&server.consume(&recv, &producer).await);

    let mut room = server.events(ROOM, None).await;
    let mut alice = server.events(&own("alice"), None).await;
    let mut bob = server.events(&own("bob"), None).await;

    server
        .delete(&format!("/producers/{producer}"))
        .await
        .expect(204);

    assert_eq!(
        bob.expect("consumer.closed").await,
        json!({"consumerId": consumer, "producerId": producer, "transportId": recv,
               "reason": "producer closed"})
    );
    let closed = json!({"producerId": producer, "broadcasterId": "alice",
                        "reason": "closed by request"});
    assert_eq!(bob.expect("producer.closed").await, closed);
    assert_eq!(room.expect("producer.closed").await, closed);
    // Alice closed it herself: her stream's next event is the marker, not `producer.closed`.
    join_marker(&server, &mut alice, "carol").await;
    assert_eq!(
        room.expect("broadcaster.joined").await["broadcasterId"],
        "carol"
    );

    server
        .get(&format!("/consumers/{consumer}"))
        .await
        .problem(404, None);
}

#[tokio::test]
async fn deleting_a_broadcaster_announces_its_departure_and_its_producers() {
    let server = Server::start();
    server.join("r", "alice").await;
    server.join("r", "bob").await;
    let send = server.plain("r", "alice").await;
    let producer = server.vp8(&send, 2222).await;
    let recv = server.plain("r", "bob").await;
    let consumer = id_of(&server.consume(&recv, &producer).await);

    let mut room = server.events(ROOM, None).await;
    let mut alice = server.events(&own("alice"), None).await;
    let mut bob = server.events(&own("bob"), None).await;

    server
        .delete("/rooms/r/broadcasters/alice")
        .await
        .expect(204);

    let closed = room.expect("producer.closed").await;
    assert_eq!(closed["producerId"], producer.as_str());
    assert_eq!(closed["broadcasterId"], "alice");
    let reason = closed["reason"].as_str().unwrap();
    assert!(
        ["transport closed", "broadcaster left"].contains(&reason),
        "{closed}"
    );
    let left = room.expect("broadcaster.left").await;
    assert_eq!(left["broadcasterId"], "alice");
    assert!(left["reason"].is_string(), "{left}");

    let consumer_closed = bob.expect("consumer.closed").await;
    assert_eq!(consumer_closed["consumerId"], consumer.as_str());
    assert_eq!(consumer_closed["reason"], "producer closed");
    assert_eq!(bob.expect("producer.closed").await, closed);
    assert_eq!(bob.expect("broadcaster.left").await, left);

    // Alice's own stream learns what closed in cascade, then ends.
    assert_eq!(alice.expect("producer.closed").await, closed);
    assert_eq!(
        alice.expect("transport.closed").await,
        json!({"transportId": send, "reason": "broadcaster left"})
    );
    alice.expect_end().await;
    server
        .get("/rooms/r/broadcasters/alice/events")
        .await
        .problem(404, None);
}

#[tokio::test]
async fn pausing_a_producer_tells_its_consumers_owner() {
    let server = Server::start();
    server.join("r", "alice").await;
    server.join("r", "bob").await;
    let send = server.plain("r", "alice").await;
    let producer = server.vp8(&send, 2222).await;
    let recv = server.plain("r", "bob").await;
    let consumer = id_of(&server.consume(&recv, &producer).await);

    let mut room = server.events(ROOM, None).await;
    let mut alice = server.events(&own("alice"), None).await;
    let mut bob = server.events(&own("bob"), None).await;

    let paused = server
        .post_empty(&format!("/producers/{producer}/pause"))
        .await
        .ok();
    assert_eq!(paused["paused"], true);
    let expected = json!({"consumerId": consumer, "producerId": producer});
    let room_event = json!({"producerId": producer, "broadcasterId": "alice"});
    assert_eq!(bob.expect("producer.paused").await, room_event);
    assert_eq!(bob.expect("consumer.producerPaused").await, expected);
    assert_eq!(room.expect("producer.paused").await, room_event);
    let consumer_info = server.get(&format!("/consumers/{consumer}")).await.ok();
    assert_eq!(consumer_info["producerPaused"], true);

    // Pausing again changes nothing and says nothing.
    server
        .post_empty(&format!("/producers/{producer}/pause"))
        .await
        .ok();
    server
        .post_empty(&format!("/producers/{producer}/resume"))
        .await
        .ok();
    assert_eq!(bob.expect("producer.resumed").await, room_event);
    assert_eq!(bob.expect("consumer.producerResumed").await, expected);
    assert_eq!(room.expect("producer.resumed").await, room_event);

    // Alice paused and resumed her own producer: nothing of it on her stream.
    join_marker(&server, &mut alice, "carol").await;
}

#[tokio::test]
async fn a_reconnecting_client_gets_every_missed_event_once_in_order() {
    let server = Server::start();
    let mut first = server.events(ROOM, None).await;
    server.join("r", "alice").await;
    let seen = first.next().await;
    assert_eq!(seen.event, "broadcaster.joined");
    drop(first);

    // Missed while disconnected.
    server.join("r", "bob").await;
    let send = server.plain("r", "alice").await;
    let producer = server.vp8(&send, 2222).await;
    server
        .post_empty(&format!("/producers/{producer}/pause"))
        .await
        .ok();
    server.delete("/rooms/r/broadcasters/bob").await.expect(204);

    let mut resumed = server.events(ROOM, Some(seen.id)).await;
    let mut missed = Vec::new();
    for _ in 0..4 {
        missed.push(resumed.next().await);
    }
    assert_eq!(
        missed.iter().map(|e| e.event.as_str()).collect::<Vec<_>>(),
        [
            "broadcaster.joined",
            "producer.added",
            "producer.paused",
            "broadcaster.left"
        ]
    );
    assert_eq!(missed[0].data["broadcasterId"], "bob");
    assert_eq!(missed[1].data["producerId"], producer.as_str());
    let ids: Vec<u64> = missed.iter().map(|e| e.id).collect();
    assert_eq!(ids, (seen.id + 1..=seen.id + 4).collect::<Vec<_>>());
    // Then live events, with nothing repeated.
    join_marker(&server, &mut resumed, "carol").await;

    // The same via `?lastEventId=` (a first connection), and the header wins over the query.
    let mut by_query = server
        .events(&format!("{ROOM}?lastEventId={}", seen.id + 3), None)
        .await;
    let next = by_query.next().await;
    assert_eq!(
        (next.id, next.event.as_str()),
        (seen.id + 4, "broadcaster.left")
    );
    let mut both = server
        .events(&format!("{ROOM}?lastEventId=1"), Some(seen.id + 4))
        .await;
    let next = both.next().await;
    assert_eq!(next.id, seen.id + 5);
    assert_eq!(next.data["broadcasterId"], "carol");

    // `0` replays everything still held, from the first id.
    let mut all = server.events(ROOM, Some(0)).await;
    for id in 1..=seen.id + 5 {
        assert_eq!(all.next().await.id, id);
    }

    // A value that is not an event id is a client bug.
    let response = server
        .send(
            Request::get(ROOM)
                .header("last-event-id", "abc")
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(response.status(), 400);
    assert_eq!(
        response.headers()[header::CONTENT_TYPE],
        "application/problem+json"
    );
}

#[tokio::test]
async fn a_broadcaster_stream_resumes_too() {
    let server = Server::start();
    server.join("r", "alice").await;
    let mut first = server.events(&own("alice"), None).await;
    join_marker(&server, &mut first, "bob").await;
    drop(first);
    server.join("r", "carol").await;
    server.delete("/rooms/r/broadcasters/bob").await.expect(204);
    let mut resumed = server.events(&own("alice"), Some(1)).await;
    let joined = resumed.next().await;
    assert_eq!(
        (joined.id, joined.event.as_str()),
        (2, "broadcaster.joined")
    );
    assert_eq!(joined.data["broadcasterId"], "carol");
    let left = resumed.next().await;
    assert_eq!((left.id, left.event.as_str()), (3, "broadcaster.left"));
    assert_eq!(left.data["broadcasterId"], "bob");
}

#[tokio::test]
async fn a_too_old_last_event_id_yields_a_reset() {
    let server = Server::with(|config| {
        config.events = EventHubConfig {
            replay_capacity: 2,
            ..EventHubConfig::default()
        }
    });
    for id in ["a", "b", "c", "d", "e"] {
        server.join("r", id).await;
    }
    let mut stream = server.events(ROOM, Some(1)).await;
    let reset = stream.next().await;
    assert_eq!(reset.event, "reset");
    assert_eq!(reset.id, 3);
    assert_eq!(
        reset.data,
        json!({"reason": "events were lost", "lastEventId": 3, "requestedLastEventId": 1})
    );
    let fourth = stream.next().await;
    assert_eq!(
        (fourth.id, fourth.data["broadcasterId"].clone()),
        (4, json!("d"))
    );
    let fifth = stream.next().await;
    assert_eq!(
        (fifth.id, fifth.data["broadcasterId"].clone()),
        (5, json!("e"))
    );

    // Within the buffer: no reset.
    let mut stream = server.events(ROOM, Some(3)).await;
    assert_eq!(stream.next().await.id, 4);

    // An id this stream never issued (an earlier run): reset, then what is held.
    let mut stream = server.events(ROOM, Some(99)).await;
    let reset = stream.expect("reset").await;
    assert_eq!(reset["reason"], "unknown event id");
    assert_eq!(stream.next().await.id, 4);
}
