//! mediasoup-demo compatibility: its broadcaster bash scripts' calls with their exact bodies, and the
//! legacy `/rooms/{r}/broadcasters/{b}/transports/{t}/…` routes with the demo's bodies.

use axum::http::Method;
use serde_json::{Value, json};

use crate::harness::{Reply, Server, dtls_parameters, id_of, udp_port_is_bound};

/// What HTTPie sends for `http --check-status POST uri k:=json…`: the JSON text with its content type.
async fn httpie_post(server: &Server, uri: &str, body: &str) -> Reply {
    server
        .raw(Method::POST, uri, Some("application/json"), body.to_owned())
        .await
}

#[tokio::test]
async fn the_broadcaster_scripts_six_calls_succeed_with_their_exact_bodies() {
    let server = Server::start();
    let room = "/rooms/scripted";
    let id = "Xq3bT9kLm2Pz7RwYc4Nd8HvJf6Gs1Ae0";
    let base = format!("{room}/broadcasters/{id}");

    // 1. The room (created on first use); the body is discarded.
    server.get(room).await.ok();
    // 2. The broadcaster.
    httpie_post(
        &server,
        &format!("{room}/broadcasters"),
        &format!(
            r#"{{"id": "{id}", "displayName": "Broadcaster", "device": {{"name": "FFmpeg"}}}}"#
        ),
    )
    .await
    .ok();
    // 4. Two plain transports, read with jq '@sh "…=\(.id) …=\(.ip) …=\(.port) …=\(.rtcpPort)"'.
    let mut transports = Vec::new();
    for _ in ["audio", "video"] {
        let transport = httpie_post(
            &server,
            &format!("{base}/transports"),
            r#"{"type": "plain", "comedia": true, "rtcpMux": false}"#,
        )
        .await
        .ok();
        let ip = transport["ip"].as_str().expect("ip is a string");
        assert!(ip.parse::<std::net::Ipv4Addr>().is_ok(), "{transport}");
        for key in ["port", "rtcpPort"] {
            let port = transport[key]
                .as_u64()
                .unwrap_or_else(|| panic!("{key} is a number in {transport}"));
            assert!(udp_port_is_bound(port as u16), "{key} {port} is bound");
        }
        assert_ne!(transport["port"], transport["rtcpPort"]);
        transports.push(id_of(&transport));
    }
    // 5. The audio producer.
    httpie_post(
        &server,
        &format!("{base}/transports/{}/producers", transports[0]),
        r#"{"kind": "audio", "rtpParameters": {"codecs": [{"mimeType": "audio/opus", "payloadType": 100, "clockRate": 48000, "channels": 2, "parameters": {"sprop-stereo": 1}}], "encodings": [{"ssrc": 1111}]}}"#,
    )
    .await
    .ok();
    // 6. The video producer (lower-case mime type).
    httpie_post(
        &server,
        &format!("{base}/transports/{}/producers", transports[1]),
        r#"{"kind": "video", "rtpParameters": {"codecs": [{"mimeType": "video/vp8", "payloadType": 101, "clockRate": 90000}], "encodings": [{"ssrc": 2222}]}}"#,
    )
    .await
    .ok();

    let room_info = server.get(room).await.ok();
    assert_eq!(room_info["producerIds"].as_array().unwrap().len(), 2);
    // 3. The EXIT trap.
    server.delete(&base).await.ok();
    assert_eq!(server.health().await["sockets"], 0);
}

#[tokio::test]
async fn a_plain_transport_carries_flat_id_ip_port_and_rtcp_port() {
    let server = Server::start();
    server.join("r", "alice").await;
    let muxed = server
        .post(
            "/rooms/r/broadcasters/alice/transports",
            json!({"type": "plain"}),
        )
        .await
        .expect(201);
    assert_eq!(muxed["type"], "plain");
    assert_eq!(muxed["ip"], "127.0.0.1");
    assert_eq!(muxed["port"], muxed["tuple"]["localPort"]);
    assert!(muxed.get("rtcpPort").is_none(), "{muxed}");
    assert_eq!(muxed["rtcpMux"], true);
    assert_eq!(muxed["comedia"], false);
    assert_eq!(muxed["connected"], false);

    let unmuxed = server
        .post(
            "/rooms/r/broadcasters/alice/transports",
            json!({"type": "plain", "comedia": true, "rtcpMux": false}),
        )
        .await
        .expect(201);
    assert_eq!(unmuxed["rtcpPort"], unmuxed["rtcpTuple"]["localPort"]);
    assert_eq!(unmuxed["comedia"], true);

    let announced = Server::with(|config| config.announced_address = Some("203.0.113.7".into()));
    announced.join("r", "alice").await;
    let info = announced
        .post(
            "/rooms/r/broadcasters/alice/transports",
            json!({"type": "plain"}),
        )
        .await
        .expect(201);
    assert_eq!(info["ip"], "203.0.113.7");
}

#[tokio::test]
async fn the_legacy_routes_work_with_the_demo_bodies() {
    let server = Server::start();
    // A libmediasoupclient broadcaster: Device.load with the room body, then join with its capabilities.
    let room = server.get("/rooms/demo").await.ok();
    let caps = json!({"codecs": room["codecs"], "headerExtensions": room["headerExtensions"]});
    for id in ["sender", "receiver"] {
        let joined = server
            .post(
                "/rooms/demo/broadcasters",
                json!({"id": id, "displayName": id, "device": {"name": "libmediasoupclient", "version": "3"},
                       "rtpCapabilities": caps, "sctpCapabilities": {"numStreams": {"OS": 1024, "MIS": 1024}}}),
            )
            .await
            .expect(201);
        assert!(joined["peers"].is_array(), "{joined}");
    }
    let transport = |owner: &'static str| {
        let server = &server;
        async move {
            let info = server
                .post(
                    &format!("/rooms/demo/broadcasters/{owner}/transports"),
                    json!({"type": "webrtc", "sctpCapabilities": {"numStreams": {"OS": 1024, "MIS": 1024}}}),
                )
                .await
                .ok();
            for key in [
                "id",
                "iceParameters",
                "iceCandidates",
                "dtlsParameters",
                "sctpParameters",
            ] {
                assert!(info.get(key).is_some(), "{key} in {info}");
            }
            format!(
                "/rooms/demo/broadcasters/{owner}/transports/{}",
                id_of(&info)
            )
        }
    };
    let send = transport("sender").await;
    let recv = transport("receiver").await;
    for base in [&send, &recv] {
        server
            .post(
                &format!("{base}/connect"),
                json!({"dtlsParameters": dtls_parameters()}),
            )
            .await
            .ok();
    }

    let producer = server
        .post(
            &format!("{send}/producers"),
            json!({"kind": "video", "rtpParameters": {
                "mid": "0",
                "codecs": [{"mimeType": "video/VP8", "payloadType": 101, "clockRate": 90000,
                            "rtcpFeedback": [{"type": "nack"}, {"type": "nack", "parameter": "pli"}]}],
                "encodings": [{"ssrc": 2222}],
                "rtcp": {"cname": "demo"}
            }, "appData": {"source": "webcam"}}),
        )
        .await
        .ok();
    let producer_id = id_of(&producer);

    let consumer = server
        .post_empty(&format!("{recv}/consume?producerId={producer_id}"))
        .await
        .ok();
    for key in ["id", "producerId", "kind", "rtpParameters", "type"] {
        assert!(consumer.get(key).is_some(), "{key} in {consumer}");
    }
    assert_eq!(consumer["producerId"], producer_id.as_str());
    assert_eq!(consumer["kind"], "video");
    assert_eq!(consumer["type"], "simple");
    assert_eq!(
        consumer["paused"], false,
        "the demo's consumers are not paused"
    );
    server
        .post_empty(&format!("{recv}/consume"))
        .await
        .problem(400, Some("producerId"));

    let data_producer = server
        .post(
            &format!("{send}/produce/data"),
            json!({"label": "chat", "protocol": "", "sctpStreamParameters": {"streamId": 0, "ordered": true},
                   "appData": {"info": "my-chat-DataProducer"}}),
        )
        .await
        .ok();
    let data_producer_id = id_of(&data_producer);
    let data_consumer = server
        .post(
            &format!("{recv}/consume/data"),
            json!({"dataProducerId": data_producer_id}),
        )
        .await
        .ok();
    assert!(data_consumer["id"].is_string(), "{data_consumer}");
    assert_eq!(
        data_consumer["streamId"],
        data_consumer["sctpStreamParameters"]["streamId"]
    );
    assert_eq!(data_consumer["dataProducerId"], data_producer_id.as_str());

    // A transport reached through another broadcaster's path is not found.
    let foreign = send.replace("/sender/", "/receiver/");
    server
        .post(
            &format!("{foreign}/producers"),
            json!({"kind": "audio", "rtpParameters": {"codecs": [], "encodings": []}}),
        )
        .await
        .problem(404, None);

    server.delete("/rooms/demo/broadcasters/sender").await.ok();
    server
        .get(&format!("/consumers/{}", id_of(&consumer)))
        .await
        .problem(404, None);
    let receiver_only: Value = server.health().await["objects"].clone();
    assert_eq!(receiver_only["broadcasters"], 1);
    assert_eq!(receiver_only["consumers"], 0);
    assert_eq!(receiver_only["dataConsumers"], 0);
}
