//! Data producers and consumers over HTTP: direct transports, `POST /data-producers/{id}/messages`,
//! `dataConsumer.message` on the consumer owner's stream, the size and type rules, pause, stats and the
//! close cascade.

use axum::http::Method;
use serde_json::{Value, json};

use crate::harness::{Server, id_of};

fn own(broadcaster: &str) -> String {
    format!("/rooms/r/broadcasters/{broadcaster}/events")
}

/// Alice with a direct data producer labelled `chat`, Bob with a direct data consumer of it (Bob's
/// transport takes `bob_max` bytes at most).
async fn chat(server: &Server, bob_max: u32) -> (String, Value) {
    server.join("r", "alice").await;
    server.join("r", "bob").await;
    let a = server
        .transport("r", "alice", json!({"type": "direct"}))
        .await;
    let b = server
        .transport(
            "r",
            "bob",
            json!({"type": "direct", "maxMessageSize": bob_max}),
        )
        .await;
    let producer = server
        .post(
            &format!("/transports/{a}/data-producers"),
            json!({"label": "chat", "protocol": "text"}),
        )
        .await
        .expect(201);
    assert_eq!(producer["type"], "direct", "{producer}");
    assert!(producer.get("sctpStreamParameters").is_none(), "{producer}");
    let consumer = server
        .post(
            &format!("/transports/{b}/data-consumers"),
            json!({"dataProducerId": id_of(&producer)}),
        )
        .await
        .expect(201);
    assert_eq!(consumer["label"], "chat");
    assert_eq!(consumer["protocol"], "text");
    (id_of(&producer), consumer)
}

#[tokio::test]
async fn http_messages_reach_a_direct_consumer_as_events() {
    let server = Server::start();
    let (producer, consumer) = chat(&server, 1000).await;
    let mut bob = server.events(&own("bob"), None).await;
    let uri = format!("/data-producers/{producer}/messages");
    server
        .raw(
            Method::POST,
            &uri,
            Some("text/plain; charset=utf-8"),
            "hé there",
        )
        .await
        .expect(204);
    server
        .raw(
            Method::POST,
            &uri,
            Some("application/octet-stream"),
            vec![0u8, 1, 2, 255],
        )
        .await
        .expect(204);
    server
        .raw(Method::POST, &uri, Some("text/plain"), "")
        .await
        .expect(204);
    server
        .raw(
            Method::POST,
            &format!("{uri}?ppid=53"),
            Some("text/plain"),
            "raw",
        )
        .await
        .expect(204);
    let expected = [
        (51, "text", "hé there"),
        (53, "base64", "AAEC/w=="),
        (56, "text", ""),
        (53, "base64", "cmF3"),
    ];
    for (ppid, encoding, data) in expected {
        let message = bob.expect("dataConsumer.message").await;
        assert_eq!(message["dataConsumerId"], consumer["id"], "{message}");
        assert_eq!(message["dataProducerId"], producer.as_str(), "{message}");
        assert_eq!(message["ppid"], ppid, "{message}");
        assert_eq!(message["encoding"], encoding, "{message}");
        assert_eq!(message["data"], data, "{message}");
    }
    let stats = server
        .get(&format!("/data-producers/{producer}/stats"))
        .await
        .ok();
    assert_eq!(stats[0]["type"], "data-producer");
    assert_eq!(stats[0]["messagesReceived"], 4);
    assert_eq!(stats[0]["bytesReceived"], 9 + 4 + 3);
    let consumer_id = id_of(&consumer);
    let stats = server
        .get(&format!("/data-consumers/{consumer_id}/stats"))
        .await
        .ok();
    assert_eq!(stats[0]["messagesSent"], 4);
    assert_eq!(stats[0]["messagesDropped"], 0);
}

#[tokio::test]
async fn messages_are_refused_with_the_offending_field() {
    let server = Server::start();
    let (producer, consumer) = chat(&server, 4).await;
    let uri = format!("/data-producers/{producer}/messages");
    // Larger than Alice's transport takes (262144 by default).
    let problem = server
        .raw(
            Method::POST,
            &uri,
            Some("application/octet-stream"),
            vec![0u8; 262_145],
        )
        .await
        .problem(413, Some("body"));
    assert!(
        problem["detail"].as_str().unwrap().contains("262144"),
        "{problem}"
    );
    server
        .raw(
            Method::POST,
            &format!("{uri}?ppid=50"),
            Some("text/plain"),
            "x",
        )
        .await
        .problem(400, Some("ppid"));
    server
        .raw(
            Method::POST,
            "/data-producers/00000000-0000-4000-8000-000000000000/messages",
            Some("text/plain"),
            "x",
        )
        .await
        .expect(404);
    // Larger than Bob's transport takes: sent, dropped for Bob alone and counted.
    server
        .raw(Method::POST, &uri, Some("text/plain"), "too long")
        .await
        .expect(204);
    let consumer_id = id_of(&consumer);
    let stats = server
        .get(&format!("/data-consumers/{consumer_id}/stats"))
        .await
        .ok();
    assert_eq!(stats[0]["messagesDropped"], 1, "{stats}");
    // An SCTP data producer's messages come from its endpoint, not from HTTP.
    let plain = server
        .transport(
            "r",
            "alice",
            json!({"type": "plain", "comedia": true, "enableSctp": true}),
        )
        .await;
    let sctp = server
        .post(
            &format!("/transports/{plain}/data-producers"),
            json!({"sctpStreamParameters": {"streamId": 3}, "label": "chat"}),
        )
        .await
        .expect(201);
    server
        .raw(
            Method::POST,
            &format!("/data-producers/{}/messages", id_of(&sctp)),
            Some("text/plain"),
            "x",
        )
        .await
        .problem(409, None);
    server
        .post(
            &format!("/transports/{plain}/data-producers"),
            json!({"label": "no stream"}),
        )
        .await
        .problem(422, Some("sctpStreamParameters"));
    server
        .post(
            &format!("/transports/{plain}/data-producers"),
            json!({"sctpStreamParameters": {"streamId": 3}}),
        )
        .await
        .problem(409, Some("sctpStreamParameters.streamId"));
    server
        .post(
            &format!("/transports/{plain}/data-producers"),
            json!({"sctpStreamParameters": {"streamId": 4, "ordered": true, "maxRetransmits": 0}}),
        )
        .await
        .problem_any_field(422);
    server
        .post(
            "/rooms/r/broadcasters/alice/transports",
            json!({"type": "direct", "maxMessageSize": 0}),
        )
        .await
        .problem(422, Some("maxMessageSize"));
}

#[tokio::test]
async fn pausing_and_closing_a_data_producer_tell_the_consumer_owner() {
    let server = Server::start();
    let (producer, consumer) = chat(&server, 1000).await;
    let mut bob = server.events(&own("bob"), None).await;
    let mut alice = server.events(&own("alice"), None).await;
    let paused = server
        .post_empty(&format!("/data-producers/{producer}/pause"))
        .await
        .ok();
    assert_eq!(paused["paused"], true);
    // The room learns it, then the consumer's owner about its consumer.
    let event = bob.expect("dataProducer.paused").await;
    assert_eq!(event["dataProducerId"], producer.as_str());
    let event = bob.expect("dataConsumer.dataProducerPaused").await;
    assert_eq!(event["dataConsumerId"], consumer["id"]);
    let uri = format!("/data-producers/{producer}/messages");
    server
        .raw(Method::POST, &uri, Some("text/plain"), "lost")
        .await
        .expect(204);
    server
        .post_empty(&format!("/data-producers/{producer}/resume"))
        .await
        .ok();
    bob.expect("dataProducer.resumed").await;
    bob.expect("dataConsumer.dataProducerResumed").await;
    server
        .raw(Method::POST, &uri, Some("text/plain"), "kept")
        .await
        .expect(204);
    let message = bob.expect("dataConsumer.message").await;
    assert_eq!(message["data"], "kept", "the paused message was dropped");
    server
        .delete(&format!("/data-producers/{producer}"))
        .await
        .expect(204);
    let closed = bob.expect("dataConsumer.closed").await;
    assert_eq!(closed["dataConsumerId"], consumer["id"]);
    assert_eq!(closed["reason"], "data producer closed");
    let closed = bob.expect("dataProducer.closed").await;
    assert_eq!(closed["dataProducerId"], producer.as_str());
    server
        .get(&format!("/data-consumers/{}", id_of(&consumer)))
        .await
        .expect(404);
    // Alice's own stream heard nothing of her own actions; a marker proves the stream is live.
    server.join("r", "carol").await;
    let next = alice.next().await;
    assert_eq!(next.event, "broadcaster.joined", "{next:?}");
}

#[tokio::test]
async fn a_joining_broadcaster_learns_the_data_producers_already_there() {
    let server = Server::start();
    let (producer, _) = chat(&server, 1000).await;
    let joined = server
        .post(
            "/rooms/r/broadcasters",
            json!({"id": "carol", "displayName": "Carol", "device": {"name": "test"}}),
        )
        .await
        .expect(201);
    let alice = joined["peers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["id"] == "alice")
        .expect("alice among the peers");
    assert_eq!(
        alice["dataProducers"],
        json!([{"id": producer, "label": "chat", "protocol": "text"}])
    );
}
