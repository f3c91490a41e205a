//! The ORTC rules over HTTP: payload-type assignment, codec support and matching, RTX, SSRC/MID
//! uniqueness, consumability and the shape of consumer parameters.

use serde_json::{Value, json};

use crate::harness::{Server, id_of, opus_parameters, vp8_parameters};

/// `(mimeType, payloadType, apt)` of each codec of a capabilities object.
fn payload_types(caps: &Value) -> Vec<(String, u64, Option<u64>)> {
    caps["codecs"]
        .as_array()
        .expect("codecs")
        .iter()
        .map(|c| {
            (
                c["mimeType"].as_str().expect("mimeType").to_owned(),
                c["preferredPayloadType"]
                    .as_u64()
                    .expect("preferredPayloadType"),
                c["parameters"]["apt"].as_u64(),
            )
        })
        .collect()
}

fn pt(mime: &str, pt: u64, apt: Option<u64>) -> (String, u64, Option<u64>) {
    (mime.to_owned(), pt, apt)
}

#[tokio::test]
async fn a_default_room_has_the_demo_payload_types() {
    let server = Server::start();
    let caps = server.get("/rooms/r/rtp-capabilities").await.ok();
    assert_eq!(
        payload_types(&caps),
        vec![
            pt("audio/opus", 100, None),
            pt("video/VP8", 101, None),
            pt("video/rtx", 102, Some(101)),
            pt("video/VP9", 103, None),
            pt("video/rtx", 104, Some(103)),
            pt("video/H264", 105, None),
            pt("video/rtx", 106, Some(105)),
            pt("video/H264", 107, None),
            pt("video/rtx", 108, Some(107)),
        ]
    );
    assert_eq!(
        caps["codecs"][5]["parameters"]["profile-level-id"],
        "4d0032"
    );
    assert_eq!(caps["codecs"][5]["parameters"]["packetization-mode"], 1);
    assert_eq!(
        caps["codecs"][7]["parameters"]["profile-level-id"],
        "42e01f"
    );
    assert!(
        !caps["headerExtensions"].as_array().unwrap().is_empty(),
        "{caps}"
    );

    // The room body carries the same codecs at top level (for Device.load).
    let room = server.get("/rooms/r").await.ok();
    assert_eq!(room["id"], "r");
    assert_eq!(room["codecs"], caps["codecs"]);
    assert_eq!(room["headerExtensions"], caps["headerExtensions"]);
}

#[tokio::test]
async fn a_room_with_custom_codecs_honours_preferred_payload_types() {
    let server = Server::start();
    let media_codecs = json!({"mediaCodecs": [
        {"kind": "audio", "mimeType": "audio/opus", "clockRate": 48000, "channels": 2, "preferredPayloadType": 111},
        {"kind": "video", "mimeType": "video/VP8", "clockRate": 90000, "preferredPayloadType": 96},
        {"kind": "video", "mimeType": "video/H264", "clockRate": 90000,
         "parameters": {"packetization-mode": 1, "profile-level-id": "42e01f"}},
    ]});
    let room = server
        .put("/rooms/custom", media_codecs.clone())
        .await
        .expect(201);
    let assigned = payload_types(&room);
    assert_eq!(assigned[0], pt("audio/opus", 111, None));
    assert_eq!(assigned[1], pt("video/VP8", 96, None));
    // RTX and codecs without a preference take free dynamic payload types, never a taken one.
    assert_eq!(assigned.len(), 5, "{assigned:?}");
    assert_eq!(assigned[2].0, "video/rtx");
    assert_eq!(assigned[2].2, Some(96));
    assert_eq!(assigned[3].0, "video/H264");
    assert_eq!(assigned[4].0, "video/rtx");
    assert_eq!(assigned[4].2, Some(assigned[3].1));
    let mut pts: Vec<u64> = assigned.iter().map(|c| c.1).collect();
    pts.sort_unstable();
    pts.dedup();
    assert_eq!(pts.len(), 5, "payload types are unique: {assigned:?}");
    assert!(pts.iter().all(|pt| (96..=127).contains(pt)), "{assigned:?}");

    let caps = server.get("/rooms/custom/rtp-capabilities").await.ok();
    assert_eq!(payload_types(&caps), assigned);

    // PUT is idempotent with the same codecs, a conflict with others.
    server.put("/rooms/custom", media_codecs).await.expect(200);
    server
        .put(
            "/rooms/custom",
            json!({"mediaCodecs": [{"kind": "audio", "mimeType": "audio/opus", "clockRate": 48000, "channels": 2}]}),
        )
        .await
        .problem(409, Some("mediaCodecs"));
}

#[tokio::test]
async fn an_unsupported_codec_is_422() {
    let server = Server::start();
    server
        .put(
            "/rooms/odd",
            json!({"mediaCodecs": [{"kind": "video", "mimeType": "video/H266", "clockRate": 90000}]}),
        )
        .await
        .problem(422, Some("mediaCodecs[0]"));

    server.join("r", "alice").await;
    let transport = server.plain("r", "alice").await;
    // PCMU is a supported codec, but not one of the room's.
    server
        .post(
            &format!("/transports/{transport}/producers"),
            json!({"kind": "audio", "rtpParameters": {
                "codecs": [{"mimeType": "audio/PCMU", "payloadType": 0, "clockRate": 8000}],
                "encodings": [{"ssrc": 1}]
            }}),
        )
        .await
        .problem(422, Some("rtpParameters.codecs[0]"));
}

#[tokio::test]
async fn h264_without_packetization_mode_1_is_422_on_a_default_room() {
    let server = Server::start();
    server.join("r", "alice").await;
    let transport = server.plain("r", "alice").await;
    let uri = format!("/transports/{transport}/producers");
    let produce = |parameters: Value| {
        server.post(
            &uri,
            json!({"kind": "video", "rtpParameters": {
                "codecs": [{"mimeType": "video/H264", "payloadType": 107, "clockRate": 90000,
                            "parameters": parameters}],
                "encodings": [{"ssrc": 7}]
            }}),
        )
    };
    produce(json!({"profile-level-id": "42e01f"}))
        .await
        .problem(422, Some("rtpParameters.codecs[0]"));
    produce(json!({"profile-level-id": "42e01f", "packetization-mode": 0}))
        .await
        .problem(422, Some("rtpParameters.codecs[0]"));
    // The same with packetization-mode 1 is routed.
    produce(json!({"profile-level-id": "42e01f", "packetization-mode": 1}))
        .await
        .expect(201);
}

#[tokio::test]
async fn rtx_with_a_bad_apt_is_422_naming_the_parameter() {
    let server = Server::start();
    server.join("r", "alice").await;
    let transport = server.plain("r", "alice").await;
    for (ssrc, apt) in [(10, json!("101")), (20, json!(99)), (30, json!(1.5))] {
        server
            .post(
                &format!("/transports/{transport}/producers"),
                json!({"kind": "video", "rtpParameters": {
                    "codecs": [
                        {"mimeType": "video/VP8", "payloadType": 101, "clockRate": 90000},
                        {"mimeType": "video/rtx", "payloadType": 102, "clockRate": 90000, "parameters": {"apt": apt}},
                    ],
                    "encodings": [{"ssrc": ssrc, "rtx": {"ssrc": ssrc + 1}}]
                }}),
            )
            .await
            .problem(422, Some("rtpParameters.codecs[1].parameters.apt"));
    }
}

#[tokio::test]
async fn a_duplicate_ssrc_or_mid_on_a_transport_is_409() {
    let server = Server::start();
    server.join("r", "alice").await;
    let transport = server.plain("r", "alice").await;
    let uri = format!("/transports/{transport}/producers");
    let produce = |mid: Option<&str>, ssrc: u32| {
        let mut parameters = vp8_parameters(ssrc);
        if let Some(mid) = mid {
            parameters["mid"] = json!(mid);
        }
        server.post(&uri, json!({"kind": "video", "rtpParameters": parameters}))
    };
    produce(Some("0"), 1000).await.expect(201);
    produce(Some("1"), 1000)
        .await
        .problem(409, Some("rtpParameters.encodings"));
    produce(Some("0"), 2000)
        .await
        .problem(409, Some("rtpParameters.mid"));
    produce(Some("1"), 2000).await.expect(201);

    // An RTX ssrc counts too, and so does a repeat inside one request.
    server
        .post(
            &format!("/transports/{transport}/producers"),
            json!({"kind": "video", "rtpParameters": {
                "mid": "2",
                "codecs": [
                    {"mimeType": "video/VP8", "payloadType": 101, "clockRate": 90000},
                    {"mimeType": "video/rtx", "payloadType": 102, "clockRate": 90000, "parameters": {"apt": 101}},
                ],
                "encodings": [{"ssrc": 3000, "rtx": {"ssrc": 3000}}]
            }}),
        )
        .await
        .problem(409, Some("rtpParameters.encodings"));

    // Uniqueness is per transport.
    let other = server.plain("r", "alice").await;
    server.vp8(&other, 1000).await;
}

#[tokio::test]
async fn capabilities_that_cannot_consume_are_refused() {
    let server = Server::start();
    server.join("r", "alice").await;
    let send = server.plain("r", "alice").await;
    let producer = server.vp8(&send, 1111).await;

    // Audio-only capabilities cannot receive VP8.
    let caps = server.get("/rooms/r/rtp-capabilities").await.ok();
    let audio_only = json!({
        "codecs": [caps["codecs"][0].clone()],
        "headerExtensions": caps["headerExtensions"].clone(),
    });
    let joined = server
        .post(
            "/rooms/r/broadcasters",
            json!({"id": "deaf", "displayName": "Deaf", "device": {"name": "test"},
                   "rtpCapabilities": audio_only}),
        )
        .await
        .expect(201);
    assert_eq!(
        joined["peers"],
        json!([{"id": "alice", "displayName": "alice", "device": {"name": "test"}, "producers": [],
                "dataProducers": []}])
    );
    let recv = server.plain("r", "deaf").await;
    server
        .post(
            &format!("/transports/{recv}/consumers"),
            json!({"producerId": producer}),
        )
        .await
        .problem(422, Some("rtpCapabilities"));
    // Capabilities in the request are checked the same way.
    server
        .post(
            &format!("/transports/{recv}/consumers"),
            json!({"producerId": producer, "rtpCapabilities": audio_only}),
        )
        .await
        .problem(422, Some("rtpCapabilities"));

    // Full capabilities see the producer in `peers` and can consume it.
    let joined = server.join("r", "bob").await;
    let alice = joined["peers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["id"] == "alice")
        .expect("alice is listed");
    assert_eq!(
        alice["producers"],
        json!([{"id": producer, "kind": "video"}])
    );
    let recv = server.plain("r", "bob").await;
    server.consume(&recv, &producer).await;

    // Joining without capabilities lists no producers, and consuming needs capabilities.
    let joined = server
        .post(
            "/rooms/r/broadcasters",
            json!({"id": "blind", "displayName": "Blind", "device": {"name": "test"}}),
        )
        .await
        .expect(201);
    for peer in joined["peers"].as_array().unwrap() {
        assert_eq!(peer["producers"], json!([]), "{peer}");
    }
    let recv = server.plain("r", "blind").await;
    server
        .post(
            &format!("/transports/{recv}/consumers"),
            json!({"producerId": producer}),
        )
        .await
        .problem(422, Some("rtpCapabilities"));
}

#[tokio::test]
async fn a_simulcast_consumer_gets_one_encoding_with_the_layers_as_scalability_mode() {
    let server = Server::start();
    server.join("r", "alice").await;
    server.join("r", "bob").await;
    let send = server.plain("r", "alice").await;
    let producer = server
        .post(
            &format!("/transports/{send}/producers"),
            json!({"kind": "video", "rtpParameters": {
                "mid": "0",
                "codecs": [
                    {"mimeType": "video/VP8", "payloadType": 96, "clockRate": 90000},
                    {"mimeType": "video/rtx", "payloadType": 97, "clockRate": 90000, "parameters": {"apt": 96}},
                ],
                "encodings": [
                    {"rid": "r0", "scalabilityMode": "L1T3", "maxBitrate": 100000},
                    {"rid": "r1", "scalabilityMode": "L1T3", "maxBitrate": 300000},
                    {"rid": "r2", "scalabilityMode": "L1T3", "maxBitrate": 900000},
                ]
            }}),
        )
        .await
        .expect(201);
    assert_eq!(producer["type"], "simulcast");
    let recv = server.plain("r", "bob").await;
    let consumer = server.consume(&recv, &id_of(&producer)).await;
    assert_eq!(consumer["type"], "simulcast");
    let encodings = consumer["rtpParameters"]["encodings"].as_array().unwrap();
    assert_eq!(encodings.len(), 1, "{consumer}");
    assert_eq!(encodings[0]["scalabilityMode"], "L3T3");
    assert!(encodings[0]["ssrc"].is_u64(), "{consumer}");
    assert!(encodings[0].get("rid").is_none(), "{consumer}");
    // The consumer speaks the room's payload types, not the producer's.
    assert_eq!(
        consumer["rtpParameters"]["codecs"][0]["mimeType"],
        "video/VP8"
    );
    assert_eq!(consumer["rtpParameters"]["codecs"][0]["payloadType"], 101);
    assert_eq!(
        consumer["preferredLayers"],
        json!({"spatialLayer": 2, "temporalLayer": 2})
    );
}

#[tokio::test]
async fn a_video_consumer_has_rtx_only_when_enabled() {
    let server = Server::start();
    server.join("r", "alice").await;
    server.join("r", "bob").await;
    let send = server.plain("r", "alice").await;
    let video = server.vp8(&send, 2222).await;
    let audio = id_of(
        &server
            .post(
                &format!("/transports/{send}/producers"),
                json!({"kind": "audio", "rtpParameters": opus_parameters(1111)}),
            )
            .await
            .expect(201),
    );
    let recv = server.plain("r", "bob").await;
    let mimes = |consumer: &Value| -> Vec<String> {
        consumer["rtpParameters"]["codecs"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["mimeType"].as_str().unwrap().to_owned())
            .collect()
    };

    let with_rtx = server.consume(&recv, &video).await;
    assert_eq!(mimes(&with_rtx), ["video/VP8", "video/rtx"]);
    assert_eq!(
        with_rtx["rtpParameters"]["codecs"][1]["parameters"]["apt"],
        101
    );
    let encoding = &with_rtx["rtpParameters"]["encodings"][0];
    assert!(encoding["rtx"]["ssrc"].is_u64(), "{with_rtx}");
    assert_ne!(encoding["rtx"]["ssrc"], encoding["ssrc"]);

    let without_rtx = server
        .post(
            &format!("/transports/{recv}/consumers"),
            json!({"producerId": video, "enableRtx": false}),
        )
        .await
        .expect(201);
    assert_eq!(mimes(&without_rtx), ["video/VP8"]);
    let encodings = without_rtx["rtpParameters"]["encodings"]
        .as_array()
        .unwrap();
    assert_eq!(encodings.len(), 1);
    assert!(encodings[0].get("rtx").is_none(), "{without_rtx}");

    let audio_consumer = server.consume(&recv, &audio).await;
    assert_eq!(mimes(&audio_consumer), ["audio/opus"]);
    assert!(
        audio_consumer["rtpParameters"]["encodings"][0]
            .get("rtx")
            .is_none(),
        "{audio_consumer}"
    );
}
