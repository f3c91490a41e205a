//! Bad input: every failure is `application/problem+json` with the right status and a `detail` (and
//! `field`) naming what is wrong.

use axum::http::Method;
use serde_json::json;
use uuid::Uuid;

use crate::harness::{Server, dtls_parameters, id_of};

#[tokio::test]
async fn malformed_json_is_400() {
    let server = Server::start();
    server.join("r", "alice").await;
    for body in [
        "{",
        "{\"type\": plain}",
        "{\"type\": \"plain\",",
        "{\"type\": \"plain\"} trailing",
    ] {
        let problem = server
            .raw(
                Method::POST,
                "/rooms/r/broadcasters/alice/transports",
                Some("application/json"),
                body,
            )
            .await
            .problem(400, None);
        assert!(
            problem["detail"]
                .as_str()
                .unwrap()
                .contains("malformed JSON"),
            "{body}: {problem}"
        );
    }
    // A body that is not JSON at all is refused by its content type.
    server
        .raw(
            Method::POST,
            "/rooms/r/broadcasters/alice/transports",
            Some("application/xml"),
            "<plain/>",
        )
        .await
        .problem(415, None);
}

#[tokio::test]
async fn a_wrong_type_is_400_naming_the_json_path() {
    let server = Server::start();
    server.join("r", "alice").await;
    let transport = server.plain("r", "alice").await;
    server
        .post(
            &format!("/transports/{transport}/producers"),
            json!({"kind": "video", "rtpParameters": {
                "codecs": [{"mimeType": "video/VP8", "payloadType": 101, "clockRate": 90000}],
                "encodings": [{"ssrc": "2222"}]
            }}),
        )
        .await
        .problem(400, Some("rtpParameters.encodings[0].ssrc"));
    server
        .post(
            &format!("/transports/{transport}/connect"),
            json!({"ip": "127.0.0.1", "port": 70000}),
        )
        .await
        .problem(400, Some("port"));
    let problem = server
        .post(
            "/rooms/r/broadcasters/alice/transports",
            json!({"type": "carrier-pigeon"}),
        )
        .await
        .problem_any_field(400);
    assert!(
        problem["detail"]
            .as_str()
            .unwrap()
            .contains("carrier-pigeon"),
        "{problem}"
    );
}

#[tokio::test]
async fn a_wrong_type_in_transport_options_is_400_naming_the_field() {
    let server = Server::start();
    server.join("r", "alice").await;
    server
        .post(
            "/rooms/r/broadcasters/alice/transports",
            json!({"type": "plain", "rtcpMux": "no"}),
        )
        .await
        .problem(400, Some("rtcpMux"));
    server
        .post(
            "/rooms/r/broadcasters/alice/transports",
            json!({"type": "webrtc", "enableSctp": 1}),
        )
        .await
        .problem(400, Some("enableSctp"));
}

#[tokio::test]
async fn a_bad_uuid_in_the_path_is_400() {
    let server = Server::start();
    for (uri, field) in [
        ("/transports/not-a-uuid", "transportId"),
        ("/producers/42", "producerId"),
        ("/consumers/xyz", "consumerId"),
        ("/data-producers/xyz", "dataProducerId"),
        ("/data-consumers/xyz", "dataConsumerId"),
    ] {
        server.get(uri).await.problem(400, Some(field));
    }
    server
        .post("/transports/nope/connect", json!({}))
        .await
        .problem(400, Some("transportId"));
}

#[tokio::test]
async fn unknown_ids_are_404() {
    let server = Server::start();
    server.join("r", "alice").await;
    let unknown = Uuid::new_v4();
    for uri in [
        format!("/transports/{unknown}"),
        format!("/producers/{unknown}"),
        format!("/consumers/{unknown}"),
        format!("/data-producers/{unknown}"),
        format!("/data-consumers/{unknown}"),
    ] {
        let problem = server.get(&uri).await.problem(404, None);
        assert!(
            problem["detail"]
                .as_str()
                .unwrap()
                .contains(&unknown.to_string()),
            "{uri}: {problem}"
        );
        server.delete(&uri).await.problem(404, None);
    }
    server
        .post(
            &format!("/transports/{unknown}/producers"),
            json!({"kind": "video", "rtpParameters": {"codecs": [], "encodings": []}}),
        )
        .await
        .problem(404, None);

    let problem = server
        .get("/rooms/r/broadcasters/nobody")
        .await
        .problem(404, None);
    assert!(problem["detail"].as_str().unwrap().contains("nobody"));
    server
        .delete("/rooms/r/broadcasters/nobody")
        .await
        .problem(404, None);
    server
        .post(
            "/rooms/r/broadcasters/nobody/transports",
            json!({"type": "plain"}),
        )
        .await
        .problem(404, None);

    // A producer id that names nothing, in a body.
    let transport = server.plain("r", "alice").await;
    let problem = server
        .post(
            &format!("/transports/{transport}/consumers"),
            json!({"producerId": unknown}),
        )
        .await
        .problem(404, None);
    assert!(
        problem["detail"]
            .as_str()
            .unwrap()
            .contains(&unknown.to_string())
    );
    server
        .post(
            &format!("/transports/{transport}/data-consumers"),
            json!({"dataProducerId": unknown}),
        )
        .await
        .problem(404, None);

    // Nothing at all at this path.
    server.get("/nowhere").await.problem(404, None);
}

#[tokio::test]
async fn unknown_rooms_are_404_when_rooms_are_not_created_on_first_use() {
    let server = Server::with(|config| config.auto_create_rooms = false);
    for reply in [
        server.get("/rooms/ghost").await,
        server.get("/rooms/ghost/rtp-capabilities").await,
        server.get("/rooms/ghost/broadcasters").await,
        server.get("/rooms/ghost/events").await,
        server.delete("/rooms/ghost").await,
        server
            .post(
                "/rooms/ghost/broadcasters",
                json!({"id": "a", "displayName": "A", "device": {"name": "x"}}),
            )
            .await,
    ] {
        let problem = reply.problem(404, None);
        assert!(
            problem["detail"].as_str().unwrap().contains("ghost"),
            "{problem}"
        );
    }
    assert_eq!(server.health().await["rooms"], 0);
    // An explicit PUT still creates it.
    server.put("/rooms/ghost", json!({})).await.expect(201);
    server.get("/rooms/ghost").await.ok();
}

#[tokio::test]
async fn a_second_connect_is_409() {
    let server = Server::start();
    server.join("r", "alice").await;

    let plain = server.plain("r", "alice").await;
    let connect = json!({"ip": "127.0.0.1", "port": 5004});
    let connected = server
        .post(&format!("/transports/{plain}/connect"), connect.clone())
        .await
        .ok();
    assert_eq!(connected["connected"], true, "{connected}");
    server
        .post(&format!("/transports/{plain}/connect"), connect)
        .await
        .problem_any_field(409);

    let comedia = server
        .transport("r", "alice", json!({"type": "plain", "comedia": true}))
        .await;
    server
        .post_empty(&format!("/transports/{comedia}/connect"))
        .await
        .ok();
    server
        .post_empty(&format!("/transports/{comedia}/connect"))
        .await
        .problem_any_field(409);

    let webrtc = server
        .transport("r", "alice", json!({"type": "webrtc"}))
        .await;
    let body = json!({"dtlsParameters": dtls_parameters()});
    let connected = server
        .post(&format!("/transports/{webrtc}/connect"), body.clone())
        .await
        .ok();
    assert_eq!(connected["dtlsState"], "connecting", "{connected}");
    server
        .post(&format!("/transports/{webrtc}/connect"), body)
        .await
        .problem_any_field(409);
}

#[tokio::test]
async fn connect_parameters_must_fit_the_transport() {
    let server = Server::start();
    server.join("r", "alice").await;

    let unmuxed = server
        .transport("r", "alice", json!({"type": "plain", "rtcpMux": false}))
        .await;
    server
        .post(
            &format!("/transports/{unmuxed}/connect"),
            json!({"ip": "127.0.0.1", "port": 5004}),
        )
        .await
        .problem(422, Some("rtcpPort"));
    // A refused connect leaves the transport connectable.
    server
        .post(
            &format!("/transports/{unmuxed}/connect"),
            json!({"ip": "127.0.0.1", "port": 5004, "rtcpPort": 5005}),
        )
        .await
        .ok();

    let plain = server.plain("r", "alice").await;
    server
        .post(
            &format!("/transports/{plain}/connect"),
            json!({"port": 5004}),
        )
        .await
        .problem(422, Some("ip"));

    let webrtc = server
        .transport("r", "alice", json!({"type": "webrtc"}))
        .await;
    server
        .post_empty(&format!("/transports/{webrtc}/connect"))
        .await
        .problem(422, Some("dtlsParameters"));
    server
        .post(
            &format!("/transports/{webrtc}/connect"),
            json!({"dtlsParameters": {"role": "client", "fingerprints": []}}),
        )
        .await
        .problem(422, Some("dtlsParameters.fingerprints"));
}

#[tokio::test]
async fn data_producers_need_sctp_and_valid_stream_parameters() {
    let server = Server::start();
    server.join("r", "alice").await;
    let produce = |transport: String, stream: serde_json::Value| {
        let uri = format!("/transports/{transport}/data-producers");
        let server = &server;
        async move {
            server
                .post(
                    &uri,
                    json!({"label": "chat", "sctpStreamParameters": stream}),
                )
                .await
        }
    };

    let plain = server.plain("r", "alice").await;
    let problem = produce(plain, json!({"streamId": 1}))
        .await
        .problem_any_field(409);
    assert!(
        problem["detail"].as_str().unwrap().contains("SCTP"),
        "{problem}"
    );

    let sctp = server
        .transport("r", "alice", json!({"type": "webrtc", "enableSctp": true}))
        .await;
    produce(sctp.clone(), json!({"streamId": 1}))
        .await
        .expect(201);
    produce(sctp.clone(), json!({"streamId": 1}))
        .await
        .problem(409, Some("sctpStreamParameters.streamId"));
    produce(
        sctp.clone(),
        json!({"streamId": 2, "ordered": true, "maxRetransmits": 3}),
    )
    .await
    .problem(422, Some("sctpStreamParameters.ordered"));
    produce(
        sctp.clone(),
        json!({"streamId": 3, "maxPacketLifeTime": 100, "maxRetransmits": 3}),
    )
    .await
    .problem(422, Some("sctpStreamParameters.maxPacketLifeTime"));
    produce(sctp.clone(), json!({"streamId": 4, "maxRetransmits": 3}))
        .await
        .expect(201);
}

#[tokio::test]
async fn consumer_priority_must_be_at_least_1() {
    let server = Server::start();
    server.join("r", "alice").await;
    server.join("r", "bob").await;
    let send = server.plain("r", "alice").await;
    let producer = server.vp8(&send, 1).await;
    let recv = server.plain("r", "bob").await;
    let consumer = id_of(&server.consume(&recv, &producer).await);
    let uri = format!("/consumers/{consumer}/priority");
    server
        .put(&uri, json!({"priority": 0}))
        .await
        .problem(422, Some("priority"));
    server
        .put(&uri, json!({"priority": 300}))
        .await
        .problem(400, Some("priority"));
    let info = server.put(&uri, json!({"priority": 5})).await.ok();
    assert_eq!(info["priority"], 5);
}
