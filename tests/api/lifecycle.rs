//! Object lifecycles: creation defaults, transport parameters, and close cascades down to the sockets.

use serde_json::{Value, json};

use crate::harness::{Server, id_of, udp_port_is_bound};

fn counts(health: &Value) -> [u64; 6] {
    let o = &health["objects"];
    [
        "broadcasters",
        "transports",
        "producers",
        "consumers",
        "dataProducers",
        "dataConsumers",
    ]
    .map(|k| {
        o[k].as_u64()
            .unwrap_or_else(|| panic!("objects.{k} in {health}"))
    })
}

#[tokio::test]
async fn deleting_a_room_closes_everything_in_it() {
    let server = Server::start();
    let before = server.health().await;
    assert_eq!(before["status"], "ok");
    assert_eq!(before["workers"], 1);
    assert_eq!(counts(&before), [0; 6]);
    assert_eq!(before["sockets"], 0);

    server.join("r", "alice").await;
    server.join("r", "bob").await;
    let send = server
        .transport(
            "r",
            "alice",
            json!({"type": "webrtc", "enableSctp": true, "dedicatedPort": true}),
        )
        .await;
    let unmuxed = server
        .transport("r", "alice", json!({"type": "plain", "rtcpMux": false}))
        .await;
    let producer = server.vp8(&send, 2222).await;
    let data_producer = id_of(
        &server
            .post(
                &format!("/transports/{send}/data-producers"),
                json!({"label": "chat", "sctpStreamParameters": {"streamId": 0}}),
            )
            .await
            .expect(201),
    );
    let recv = server
        .transport(
            "r",
            "bob",
            json!({"type": "webrtc", "enableSctp": true, "dedicatedPort": true}),
        )
        .await;
    let consumer = id_of(&server.consume(&recv, &producer).await);
    let data_consumer = id_of(
        &server
            .post(
                &format!("/transports/{recv}/data-consumers"),
                json!({"dataProducerId": data_producer}),
            )
            .await
            .expect(201),
    );
    let ports: Vec<u16> = {
        let mut ports = Vec::new();
        for t in [&send, &unmuxed, &recv] {
            let info = server.get(&format!("/transports/{t}")).await.ok();
            match info["type"].as_str().unwrap() {
                "plain" => {
                    ports.push(info["port"].as_u64().unwrap() as u16);
                    ports.push(info["rtcpPort"].as_u64().unwrap() as u16);
                }
                _ => ports.push(info["iceCandidates"][0]["port"].as_u64().unwrap() as u16),
            }
        }
        ports
    };
    assert!(ports.iter().all(|p| udp_port_is_bound(*p)), "{ports:?}");

    let busy = server.health().await;
    assert_eq!(busy["rooms"], 1);
    assert_eq!(counts(&busy), [2, 3, 1, 1, 1, 1]);
    assert_eq!(busy["sockets"], 4);

    let mut room_events = server.events("/rooms/r/events", None).await;
    let mut bob_events = server
        .events("/rooms/r/broadcasters/bob/events", None)
        .await;
    server.delete("/rooms/r").await.expect(204);

    let after = server.health().await;
    assert_eq!(after["rooms"], 0);
    assert_eq!(counts(&after), [0; 6], "{after}");
    assert_eq!(after["sockets"], 0, "{after}");
    assert!(
        ports.iter().all(|p| !udp_port_is_bound(*p)),
        "sockets released: {ports:?}"
    );
    for uri in [
        format!("/transports/{send}"),
        format!("/producers/{producer}"),
        format!("/consumers/{consumer}"),
        format!("/data-producers/{data_producer}"),
        format!("/data-consumers/{data_consumer}"),
    ] {
        server.get(&uri).await.problem(404, None);
    }
    // Every stream of the room ends.
    while room_events.next_or_end().await.is_some() {}
    while bob_events.next_or_end().await.is_some() {}
    assert_eq!(server.get("/rooms").await.ok(), json!([]));
}

#[tokio::test]
async fn deleting_a_transport_closes_its_producers_consumers_and_their_consumers_elsewhere() {
    let server = Server::start();
    server.join("r", "alice").await;
    server.join("r", "bob").await;
    let alice_transport = server.plain("r", "alice").await;
    let bob_transport = server.plain("r", "bob").await;
    let alice_producer = server.vp8(&alice_transport, 1).await;
    let bob_producer = server.vp8(&bob_transport, 2).await;
    // Alice consumes Bob on her transport; Bob consumes Alice on his.
    let alice_consumer = id_of(&server.consume(&alice_transport, &bob_producer).await);
    let bob_consumer = id_of(&server.consume(&bob_transport, &alice_producer).await);
    let port = server
        .get(&format!("/transports/{alice_transport}"))
        .await
        .ok()["port"]
        .as_u64()
        .unwrap() as u16;
    assert!(udp_port_is_bound(port));

    let mut alice = server
        .events("/rooms/r/broadcasters/alice/events", None)
        .await;
    let mut bob = server
        .events("/rooms/r/broadcasters/bob/events", None)
        .await;
    server
        .delete(&format!("/transports/{alice_transport}"))
        .await
        .expect(204);

    for uri in [
        format!("/transports/{alice_transport}"),
        format!("/producers/{alice_producer}"),
        format!("/consumers/{alice_consumer}"),
        format!("/consumers/{bob_consumer}"),
    ] {
        server.get(&uri).await.problem(404, None);
    }
    server.get(&format!("/producers/{bob_producer}")).await.ok();
    assert!(!udp_port_is_bound(port), "the transport's socket closed");
    let broadcaster = server.get("/rooms/r/broadcasters/alice").await.ok();
    assert_eq!(broadcaster["transportIds"], json!([]), "{broadcaster}");
    assert_eq!(
        counts(&server.health().await),
        [2, 1, 1, 0, 0, 0],
        "only Bob's transport and producer remain"
    );

    assert_eq!(
        bob.expect("consumer.closed").await,
        json!({"consumerId": bob_consumer, "producerId": alice_producer,
               "transportId": bob_transport, "reason": "producer closed"})
    );
    let producer_closed = json!({"producerId": alice_producer, "broadcasterId": "alice",
                                 "reason": "transport closed"});
    assert_eq!(bob.expect("producer.closed").await, producer_closed);
    // Alice closed the transport herself: she learns what closed in cascade, not the transport.
    assert_eq!(alice.expect("producer.closed").await, producer_closed);
    assert_eq!(
        alice.expect("consumer.closed").await,
        json!({"consumerId": alice_consumer, "producerId": bob_producer,
               "transportId": alice_transport, "reason": "transport closed"})
    );
    server.join("r", "carol").await;
    assert_eq!(
        alice.expect("broadcaster.joined").await["broadcasterId"],
        "carol"
    );
}

#[tokio::test]
async fn deleting_a_data_producer_closes_its_data_consumers() {
    let server = Server::start();
    server.join("r", "alice").await;
    server.join("r", "bob").await;
    let send = server
        .transport(
            "r",
            "alice",
            json!({"type": "webrtc", "enableSctp": true, "dedicatedPort": true}),
        )
        .await;
    let recv = server
        .transport(
            "r",
            "bob",
            json!({"type": "webrtc", "sctpCapabilities": {"numStreams": {"OS": 4, "MIS": 4}}}),
        )
        .await;
    let data_producer = server
        .post(
            &format!("/transports/{send}/data-producers"),
            json!({"label": "chat", "protocol": "json",
                   "sctpStreamParameters": {"streamId": 3, "maxRetransmits": 2}}),
        )
        .await
        .expect(201);
    assert_eq!(data_producer["sctpStreamParameters"]["ordered"], false);
    let data_producer = id_of(&data_producer);
    let mut data_consumers = Vec::new();
    for stream_id in 0..2 {
        let info = server
            .post(
                &format!("/transports/{recv}/data-consumers"),
                json!({"dataProducerId": data_producer}),
            )
            .await
            .expect(201);
        assert_eq!(info["sctpStreamParameters"]["streamId"], stream_id);
        assert_eq!(info["sctpStreamParameters"]["maxRetransmits"], 2);
        assert_eq!(info["label"], "chat");
        assert_eq!(info["protocol"], "json");
        data_consumers.push(id_of(&info));
    }

    let mut room = server.events("/rooms/r/events", None).await;
    let mut bob = server
        .events("/rooms/r/broadcasters/bob/events", None)
        .await;
    server
        .delete(&format!("/data-producers/{data_producer}"))
        .await
        .expect(204);

    let mut closed = Vec::new();
    for _ in 0..2 {
        let event = bob.expect("dataConsumer.closed").await;
        assert_eq!(event["dataProducerId"], data_producer.as_str());
        assert_eq!(event["transportId"], recv.as_str());
        assert_eq!(event["reason"], "data producer closed");
        closed.push(event["dataConsumerId"].as_str().unwrap().to_owned());
    }
    closed.sort();
    data_consumers.sort();
    assert_eq!(closed, data_consumers);
    let announced = json!({"dataProducerId": data_producer, "broadcasterId": "alice",
                           "reason": "closed by request"});
    assert_eq!(bob.expect("dataProducer.closed").await, announced);
    assert_eq!(room.expect("dataProducer.closed").await, announced);
    for id in &data_consumers {
        server
            .get(&format!("/data-consumers/{id}"))
            .await
            .problem(404, None);
    }
    // Their streams are free again, and so is the producer's.
    let again = server
        .post(
            &format!("/transports/{recv}/data-consumers"),
            json!({"dataProducerId": data_producer}),
        )
        .await
        .problem(404, None);
    assert!(again["detail"].as_str().unwrap().contains(&data_producer));
    server
        .post(
            &format!("/transports/{send}/data-producers"),
            json!({"sctpStreamParameters": {"streamId": 3}}),
        )
        .await
        .expect(201);
}

#[tokio::test]
async fn consumers_are_created_paused_unless_asked_otherwise() {
    let server = Server::start();
    server.join("r", "alice").await;
    server.join("r", "bob").await;
    let send = server.plain("r", "alice").await;
    let producer = server.vp8(&send, 1).await;
    let recv = server.plain("r", "bob").await;

    let consumer = server.consume(&recv, &producer).await;
    assert_eq!(consumer["paused"], true, "{consumer}");
    assert_eq!(consumer["producerPaused"], false);
    assert_eq!(consumer["kind"], "video");
    assert_eq!(consumer["producerId"], producer.as_str());
    assert_eq!(consumer["transportId"], recv.as_str());
    let id = id_of(&consumer);
    let resumed = server
        .post_empty(&format!("/consumers/{id}/resume"))
        .await
        .ok();
    assert_eq!(resumed["paused"], false);
    assert_eq!(
        server.get(&format!("/consumers/{id}")).await.ok()["paused"],
        false
    );
    let paused = server
        .post_empty(&format!("/consumers/{id}/pause"))
        .await
        .ok();
    assert_eq!(paused["paused"], true);

    let running = server
        .post(
            &format!("/transports/{recv}/consumers"),
            json!({"producerId": producer, "paused": false}),
        )
        .await
        .expect(201);
    assert_eq!(running["paused"], false);
    // Each consumer gets its own MID on the transport.
    assert_ne!(
        running["rtpParameters"]["mid"],
        consumer["rtpParameters"]["mid"]
    );
}

#[tokio::test]
async fn a_webrtc_transport_offers_ice_lite_a_bound_host_candidate_and_dtls() {
    let server = Server::start();
    server.join("r", "alice").await;
    let info = server
        .post(
            "/rooms/r/broadcasters/alice/transports",
            json!({"type": "webrtc"}),
        )
        .await
        .expect(201);
    assert_eq!(info["type"], "webrtc");
    assert_eq!(info["broadcasterId"], "alice");
    let ice = &info["iceParameters"];
    assert_eq!(ice["iceLite"], true);
    assert!(
        ice["usernameFragment"].as_str().unwrap().len() >= 4,
        "{ice}"
    );
    assert!(ice["password"].as_str().unwrap().len() >= 22, "{ice}");

    let candidates = info["iceCandidates"].as_array().unwrap();
    assert_eq!(candidates.len(), 1, "{info}");
    let host = &candidates[0];
    assert_eq!(host["type"], "host");
    assert_eq!(host["protocol"], "udp");
    assert_eq!(host["ip"], "127.0.0.1");
    let port = host["port"].as_u64().unwrap() as u16;
    assert!(server.ports.contains(&port), "{port} in {:?}", server.ports);
    assert!(udp_port_is_bound(port), "the candidate's port is bound");

    let dtls = &info["dtlsParameters"];
    assert_eq!(dtls["role"], "auto");
    let sha256 = dtls["fingerprints"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["algorithm"] == "sha-256")
        .unwrap_or_else(|| panic!("a sha-256 fingerprint in {dtls}"));
    let bytes: Vec<&str> = sha256["value"].as_str().unwrap().split(':').collect();
    assert_eq!(bytes.len(), 32, "{sha256}");
    assert!(
        bytes
            .iter()
            .all(|b| b.len() == 2 && b.chars().all(|c| c.is_ascii_hexdigit())),
        "{sha256}"
    );
    assert!(info.get("sctpParameters").is_none(), "{info}");
    assert_eq!(
        server
            .get(&format!("/transports/{}", id_of(&info)))
            .await
            .ok(),
        info
    );

    let with_sctp = server
        .post(
            "/rooms/r/broadcasters/alice/transports",
            json!({"type": "webrtc", "enableSctp": true, "dedicatedPort": true}),
        )
        .await
        .expect(201);
    assert_eq!(
        with_sctp["sctpParameters"],
        json!({"port": 5000, "OS": 1024, "MIS": 1024, "maxMessageSize": 262144})
    );
    let from_caps = server
        .post(
            "/rooms/r/broadcasters/alice/transports",
            json!({"type": "webrtc", "sctpCapabilities": {"numStreams": {"OS": 16, "MIS": 8}}}),
        )
        .await
        .expect(201);
    assert_eq!(from_caps["sctpParameters"]["OS"], 16);
    assert_eq!(from_caps["sctpParameters"]["MIS"], 8);
    // WebRTC transports share the worker's port (demultiplexed by ICE username fragment), each with its
    // own credentials; a dedicated port is an option.
    assert_eq!(from_caps["iceCandidates"][0]["port"], host["port"]);
    let dedicated = server
        .post(
            "/rooms/r/broadcasters/alice/transports",
            json!({"type": "webrtc", "dedicatedPort": true}),
        )
        .await
        .expect(201);
    assert_ne!(dedicated["iceCandidates"][0]["port"], host["port"]);
    assert_ne!(
        from_caps["iceParameters"]["usernameFragment"],
        ice["usernameFragment"]
    );
}
