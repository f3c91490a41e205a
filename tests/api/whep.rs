//! WHEP (draft-ietf-wish-whep): a viewer's `recvonly` offer POSTed to a room is answered with consumers of
//! what is live, in the viewer's own payload types and extension ids; nothing live is a 409 with
//! `Retry-After`; the session resource takes WHIP's PATCH and DELETE rules; the server-sent-events
//! extension tells the viewer when its media stops and starts and how many viewers the room has.

use std::collections::HashMap;

use axum::http::{Method, StatusCode};
use serde_json::json;

use crate::harness::{Raw, Server, post_sdp, request, until};

/// Chrome's publish offer (opus 111; VP8 96 with RTX 97), as the WHIP tests use it.
const PUBLISH_OFFER: &str = include_str!("../../crates/engine/src/sdp/fixtures/chrome_publish.sdp");
/// Chrome's `recvonly` offer: audio mid 0 (opus 111), video mid 1 (VP8 96, RTX 97 apt=96, …).
const PLAY_OFFER: &str = include_str!("../../crates/engine/src/sdp/fixtures/chrome_play_offer.sdp");

const SDPFRAG: &str = "application/trickle-ice-sdpfrag";
const EXTENSION: &str = "urn:ietf:params:whep:ext:core:server-sent-events";

/// A WHIP publisher of the room: its session resource and its producers by kind.
struct Published {
    location: String,
    audio: String,
    video: String,
}

/// Publishes Chrome's offer to `room` with WHIP.
async fn publish(server: &Server, room: &str) -> Published {
    let created = post_sdp(server, &format!("/rooms/{room}/whip"), PUBLISH_OFFER).await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    let info = server.get(&format!("/rooms/{room}")).await.ok();
    let mut by_kind = HashMap::new();
    for id in info["producerIds"].as_array().expect("producer ids") {
        let id = id.as_str().unwrap();
        let producer = server.get(&format!("/producers/{id}")).await.ok();
        by_kind.insert(producer["kind"].as_str().unwrap().to_owned(), id.to_owned());
    }
    assert_eq!(by_kind.len(), 2, "{info}");
    Published {
        location: created.header("location").unwrap().to_owned(),
        audio: by_kind["audio"].clone(),
        video: by_kind["video"].clone(),
    }
}

/// POSTs a WHEP offer to `uri`.
async fn play(server: &Server, uri: &str, offer: &str) -> Raw {
    post_sdp(server, uri, offer).await
}

/// A WHEP offer that must be answered; returns the answer and its session resource.
async fn viewer(server: &Server, uri: &str) -> (Raw, String) {
    let created = play(server, uri, PLAY_OFFER).await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    let location = created.header("location").expect("Location").to_owned();
    (created, location)
}

/// The media sections of an SDP, each as its lines (the `m=` line first).
fn sections(sdp: &str) -> Vec<Vec<&str>> {
    let mut sections: Vec<Vec<&str>> = Vec::new();
    for line in sdp.lines().map(str::trim_end) {
        if line.starts_with("m=") {
            sections.push(vec![line]);
        } else if let Some(section) = sections.last_mut() {
            section.push(line);
        }
    }
    sections
}

/// `a=extmap` of a section: id → uri.
fn extmaps(section: &[&str]) -> HashMap<u64, String> {
    section
        .iter()
        .filter_map(|l| l.strip_prefix("a=extmap:"))
        .map(|rest| {
            let (id, uri) = rest.split_once(' ').expect("extmap id and uri");
            let id = id.split('/').next().unwrap().parse().expect("numeric id");
            (id, uri.split(' ').next().unwrap().to_owned())
        })
        .collect()
}

/// The payload types of a section's `m=` line (empty when it is rejected: port 0).
fn payload_types(section: &[&str]) -> Vec<u8> {
    let fields: Vec<&str> = section[0].split(' ').collect();
    if fields[1] == "0" {
        return Vec::new();
    }
    fields[3..].iter().map(|pt| pt.parse().unwrap()).collect()
}

/// A Retry-After in whole seconds.
#[track_caller]
fn retry_after(reply: &Raw) -> u64 {
    let value = reply.header("retry-after").expect("Retry-After");
    let seconds: u64 = value.parse().expect("Retry-After in seconds");
    assert!(seconds > 0, "Retry-After {seconds}");
    seconds
}

/// The viewer broadcaster's consumers by producer, found from the `consumer.producerPaused` events of its
/// stream while `producers` are paused (and resumed again).
async fn consumers_of(
    server: &Server,
    room: &str,
    viewer: &str,
    producers: &[&str],
) -> HashMap<String, String> {
    let mut stream = server
        .events(&format!("/rooms/{room}/broadcasters/{viewer}/events"), None)
        .await;
    let mut consumers = HashMap::new();
    for producer in producers {
        server
            .post_empty(&format!("/producers/{producer}/pause"))
            .await
            .ok();
        let paused = until(&mut stream, "consumer.producerPaused").await;
        assert_eq!(paused["producerId"], *producer, "{paused}");
        consumers.insert(
            producer.to_string(),
            paused["consumerId"]
                .as_str()
                .expect("a consumer id")
                .to_owned(),
        );
        server
            .post_empty(&format!("/producers/{producer}/resume"))
            .await
            .ok();
        until(&mut stream, "consumer.producerResumed").await;
    }
    consumers
}

#[tokio::test]
async fn nothing_live_is_409_with_retry_after_and_leaves_nothing_behind() {
    let server = Server::start();

    let missing = play(&server, "/rooms/nowhere/whep", PLAY_OFFER).await;
    missing.problem(409);
    retry_after(&missing);
    assert_eq!(server.get("/rooms").await.ok(), json!([]), "no room made");

    server.put("/rooms/empty", json!({})).await.ok();
    let empty = play(&server, "/rooms/empty/whep", PLAY_OFFER).await;
    empty.problem(409);
    retry_after(&empty);
    assert_eq!(
        server.get("/rooms/empty/broadcasters").await.ok(),
        json!([])
    );

    // Live, then gone again: the room is empty once more.
    let published = publish(&server, "empty").await;
    let ended = request(&server, Method::DELETE, &published.location, &[], "").await;
    assert_eq!(ended.status, StatusCode::OK, "{}", ended.body);
    let again = play(&server, "/rooms/empty/whep", PLAY_OFFER).await;
    again.problem(409);
    retry_after(&again);
}

#[tokio::test]
async fn a_viewer_plays_the_room_in_its_own_numbering() {
    let server = Server::start();
    server.put("/rooms/demo", json!({})).await.ok();
    let mut room = server.events("/rooms/demo/events", None).await;
    let published = publish(&server, "demo").await;

    // The room numbers VP8 and opus its own way, so the answer's numbers can only come from the offer.
    let caps = server.get("/rooms/demo/rtp-capabilities").await.ok();
    let router_pt = |mime: &str| {
        caps["codecs"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["mimeType"] == mime)
            .map(|c| c["preferredPayloadType"].clone())
    };
    assert_ne!(router_pt("video/VP8"), Some(json!(96)), "{caps}");

    let (created, location) = viewer(&server, "/rooms/demo/whep?displayName=viewer").await;
    assert_eq!(created.header("content-type"), Some("application/sdp"));
    let id = location
        .strip_prefix("/whep/sessions/")
        .expect("a session path");
    assert_eq!(
        uuid::Uuid::parse_str(id).expect("a uuid").get_version_num(),
        4
    );
    let etag = created.header("etag").expect("ETag");
    assert!(etag.starts_with('"') && etag.ends_with('"') && etag.len() > 2);
    let link = created.header("link").expect("Link");
    assert!(link.contains(&format!("<{location}/sse>")), "{link}");
    assert!(link.contains(&format!("rel=\"{EXTENSION}\"")), "{link}");
    assert!(
        link.contains("events=\"active,inactive,viewercount\""),
        "{link}"
    );

    let answer = &created.body;
    for expected in [
        "a=ice-lite",
        "a=candidate:",
        "a=setup:passive",
        "a=group:BUNDLE 0 1",
    ] {
        assert!(answer.contains(expected), "{expected} missing: {answer}");
    }
    let offered = sections(PLAY_OFFER);
    let answered = sections(answer);
    assert_eq!(answered.len(), 2, "{answer}");
    for (offer, answer) in offered.iter().zip(&answered) {
        assert!(answer.contains(&"a=sendonly"), "{answer:?}");
        assert!(!answer.contains(&"a=recvonly"), "{answer:?}");
        let (offered_ids, answered_ids) = (extmaps(offer), extmaps(answer));
        assert!(answered_ids.values().any(|uri| uri.ends_with("sdes:mid")));
        for (id, uri) in &answered_ids {
            assert_eq!(offered_ids.get(id), Some(uri), "extmap {id} {uri}");
        }
    }
    assert_eq!(payload_types(&answered[0]), vec![111], "{answer}");
    assert_eq!(payload_types(&answered[1]), vec![96, 97], "{answer}");
    assert!(answered[1].contains(&"a=rtpmap:96 VP8/90000"), "{answer}");
    assert!(answered[1].contains(&"a=fmtp:97 apt=96"), "{answer}");

    // The room sees the viewer join and the viewer count.
    let joined = loop {
        let joined = until(&mut room, "broadcaster.joined").await;
        if joined["displayName"] == "viewer" {
            break joined;
        }
    };
    let viewer_id = joined["broadcasterId"].as_str().unwrap().to_owned();
    assert_eq!(
        until(&mut room, "room.viewers").await,
        json!({"viewerCount": 1})
    );

    // Its consumers carry the viewer's numbering.
    let consumers = consumers_of(
        &server,
        "demo",
        &viewer_id,
        &[&published.video, &published.audio],
    )
    .await;
    let video = server
        .get(&format!("/consumers/{}", consumers[&published.video]))
        .await
        .ok();
    let audio = server
        .get(&format!("/consumers/{}", consumers[&published.audio]))
        .await
        .ok();
    assert_eq!(video["broadcasterId"], viewer_id.as_str());
    let codecs = &video["rtpParameters"]["codecs"];
    assert_eq!(
        (&codecs[0]["mimeType"], &codecs[0]["payloadType"]),
        (&json!("video/VP8"), &json!(96)),
        "{video}"
    );
    assert_eq!(
        (
            &codecs[1]["mimeType"],
            &codecs[1]["payloadType"],
            &codecs[1]["parameters"]["apt"]
        ),
        (&json!("video/rtx"), &json!(97), &json!(96)),
        "{video}"
    );
    assert_eq!(
        audio["rtpParameters"]["codecs"][0]["payloadType"], 111,
        "{audio}"
    );
    for (info, offer) in [(&audio, &offered[0]), (&video, &offered[1])] {
        let offered_ids = extmaps(offer);
        let extensions = info["rtpParameters"]["headerExtensions"]
            .as_array()
            .unwrap();
        assert!(!extensions.is_empty(), "{info}");
        for extension in extensions {
            let id = extension["id"].as_u64().unwrap();
            assert_eq!(
                offered_ids.get(&id).map(String::as_str),
                extension["uri"].as_str(),
                "{info}"
            );
        }
    }

    // Ending the session: the count drops, the viewer leaves.
    let ended = request(&server, Method::DELETE, &location, &[], "").await;
    assert_eq!(ended.status, StatusCode::OK, "{}", ended.body);
    assert_eq!(
        until(&mut room, "room.viewers").await,
        json!({"viewerCount": 0})
    );
    let left = until(&mut room, "broadcaster.left").await;
    assert_eq!(left["broadcasterId"], viewer_id.as_str());
    request(&server, Method::DELETE, &location, &[], "")
        .await
        .problem(404);
    server
        .get(&format!("/consumers/{}", consumers[&published.video]))
        .await
        .expect(404);
}

/// Subscribes to the session's events and returns the stream's location.
async fn subscribe(server: &Server, location: &str, events: &str) -> Raw {
    request(
        server,
        Method::POST,
        &format!("{location}/sse"),
        &[("content-type", "application/json")],
        events,
    )
    .await
}

#[tokio::test]
async fn the_event_stream_tells_activity_and_viewer_count() {
    let server = Server::start();
    let published = publish(&server, "r").await;
    let (_, location) = viewer(&server, "/rooms/r/whep").await;

    // One stream wants every event (and one this server does not send), the other only `active`.
    let subscribed = subscribe(
        &server,
        &location,
        r#"["viewercount","inactive","bogus","active"]"#,
    )
    .await;
    assert_eq!(
        subscribed.status,
        StatusCode::CREATED,
        "{}",
        subscribed.body
    );
    let all_uri = subscribed.header("location").expect("Location").to_owned();
    assert_eq!(
        all_uri,
        format!("{location}/sse/stream?events=active,inactive,viewercount")
    );
    let subscribed = subscribe(&server, &location, r#"["active","viewercount","bogus"]"#).await;
    assert_eq!(
        subscribed.status,
        StatusCode::CREATED,
        "{}",
        subscribed.body
    );
    let active_uri = subscribed.header("location").expect("Location").to_owned();
    assert_eq!(
        active_uri,
        format!("{location}/sse/stream?events=active,viewercount")
    );

    let mut all = server.unnumbered_events(&all_uri).await;
    let mut active_only = server.unnumbered_events(&active_uri).await;
    for stream in [&mut all, &mut active_only] {
        assert_eq!(stream.expect("active").await, json!({}));
        assert_eq!(
            stream.expect("viewercount").await,
            json!({"viewercount": 1})
        );
    }

    // Media stops only when both producers are paused, and flows again when one resumes.
    let producer = |verb: &'static str, id: &str| {
        let uri = format!("/producers/{id}/{verb}");
        let server = &server;
        async move { server.post_empty(&uri).await.ok() }
    };
    producer("pause", &published.video).await;
    producer("pause", &published.audio).await;
    assert_eq!(all.expect("inactive").await, json!({}));
    producer("resume", &published.audio).await;
    assert_eq!(all.expect("active").await, json!({}));
    producer("resume", &published.video).await;

    // A second viewer.
    let (_, second) = viewer(&server, "/rooms/r/whep").await;
    assert_eq!(all.expect("viewercount").await, json!({"viewercount": 2}));
    // The stream without `inactive` saw the resume but no pause in between.
    assert_eq!(active_only.expect("active").await, json!({}));
    assert_eq!(
        active_only.expect("viewercount").await,
        json!({"viewercount": 2})
    );

    // The publisher leaves: nothing flows any more.
    let ended = request(&server, Method::DELETE, &published.location, &[], "").await;
    assert_eq!(ended.status, StatusCode::OK, "{}", ended.body);
    assert_eq!(all.expect("inactive").await, json!({}));

    // The second viewer leaves, then the session itself ends: its streams end too.
    let left = request(&server, Method::DELETE, &second, &[], "").await;
    assert_eq!(left.status, StatusCode::OK, "{}", left.body);
    assert_eq!(all.expect("viewercount").await, json!({"viewercount": 1}));
    let ended = request(&server, Method::DELETE, &location, &[], "").await;
    assert_eq!(ended.status, StatusCode::OK, "{}", ended.body);
    for stream in [&mut all, &mut active_only] {
        // At most the count this session's own end makes.
        while let Some(event) = stream.next_or_end().await {
            assert_eq!(event.event, "viewercount", "{event:?}");
        }
    }
}

#[tokio::test]
async fn the_event_extension_refuses_bad_bodies_and_unknown_sessions() {
    let server = Server::start();
    publish(&server, "r").await;
    let (_, location) = viewer(&server, "/rooms/r/whep").await;

    for body in [r#"{"events":["active"]}"#, "active", ""] {
        let problem = subscribe(&server, &location, body).await.problem(400);
        assert_eq!(problem["field"], "body", "{problem}");
        assert!(
            problem["detail"].as_str().unwrap().contains("body"),
            "{problem}"
        );
    }
    // Only what is asked for, and nothing asked for is an empty list.
    let none = subscribe(&server, &location, "[]").await;
    assert_eq!(none.status, StatusCode::CREATED, "{}", none.body);
    assert_eq!(
        none.header("location"),
        Some(format!("{location}/sse/stream?events=").as_str())
    );

    let unknown = format!("/whep/sessions/{}", uuid::Uuid::new_v4());
    subscribe(&server, &unknown, r#"["active"]"#)
        .await
        .problem(404);
    request(
        &server,
        Method::GET,
        &format!("{unknown}/sse/stream?events=active"),
        &[],
        "",
    )
    .await
    .problem(404);

    // A WHIP session has no WHEP events.
    let whip = publish(&server, "other").await;
    subscribe(&server, &whip.location.replace("/whip/", "/whep/"), "[]")
        .await
        .problem(404);
}

#[tokio::test]
async fn patch_and_delete_follow_the_whip_rules() {
    let server = Server::start();
    let published = publish(&server, "r").await;
    let (created, location) = viewer(&server, "/rooms/r/whep").await;
    let etag = created.header("etag").unwrap().to_owned();
    let ufrag = created.ice_ufrag();
    const TRICKLE: &str = "a=ice-ufrag:Lp7q\r\na=ice-pwd:m3Nc8vRt2xKz5wYq9hBd1sFj\r\n\
        m=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=mid:0\r\n\
        a=candidate:1 1 udp 2122260223 127.0.0.1 54321 typ host\r\na=end-of-candidates\r\n";
    const RESTART: &str = "a=ice-ufrag:N3w1\r\na=ice-pwd:aNewPasswordOf24Chars000\r\n\
        m=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=mid:0\r\n";
    let patch = |if_match: Option<&str>, body: &'static str| {
        let if_match = if_match.map(str::to_owned);
        let (server, location) = (&server, location.clone());
        async move {
            let mut headers = vec![("content-type", SDPFRAG)];
            if let Some(if_match) = &if_match {
                headers.push(("if-match", if_match.as_str()));
            }
            request(server, Method::PATCH, &location, &headers, body).await
        }
    };

    patch(None, TRICKLE).await.problem(428);
    patch(Some("\"stale\""), TRICKLE).await.problem(412);
    let trickled = patch(Some(&etag), TRICKLE).await;
    assert_eq!(trickled.status, StatusCode::NO_CONTENT, "{}", trickled.body);

    let restarted = patch(Some("*"), RESTART).await;
    assert_eq!(restarted.status, StatusCode::OK, "{}", restarted.body);
    assert_eq!(restarted.header("content-type"), Some(SDPFRAG));
    let new_etag = restarted.header("etag").expect("a new ETag").to_owned();
    assert_ne!(new_etag, etag);
    let new_ufrag = restarted.ice_ufrag();
    assert_ne!(new_ufrag, ufrag);
    assert!(restarted.body.contains("a=ice-pwd:"), "{}", restarted.body);
    patch(Some(&etag), TRICKLE).await.problem(412);

    // Sessions of one protocol are not resources of the other.
    let whip_under_whep = published.location.replace("/whip/", "/whep/");
    request(
        &server,
        Method::PATCH,
        &whip_under_whep,
        &[("content-type", SDPFRAG), ("if-match", "*")],
        RESTART,
    )
    .await
    .problem(404);
    request(&server, Method::DELETE, &whip_under_whep, &[], "")
        .await
        .problem(404);
    request(
        &server,
        Method::DELETE,
        &location.replace("/whep/", "/whip/"),
        &[],
        "",
    )
    .await
    .problem(404);

    let ended = request(&server, Method::DELETE, &location, &[], "").await;
    assert_eq!(ended.status, StatusCode::OK, "{}", ended.body);
    request(&server, Method::DELETE, &location, &[], "")
        .await
        .problem(404);
    patch(Some("*"), RESTART).await.problem(404);
    // The publisher's session is untouched.
    let whip_ended = request(&server, Method::DELETE, &published.location, &[], "").await;
    assert_eq!(whip_ended.status, StatusCode::OK, "{}", whip_ended.body);
}

#[tokio::test]
async fn the_query_chooses_the_producers() {
    let server = Server::start();
    let published = publish(&server, "r").await;

    // Only the audio producer: the video section is rejected.
    let (created, _) = viewer(
        &server,
        &format!("/rooms/r/whep?producerId={}", published.audio),
    )
    .await;
    let answered = sections(&created.body);
    assert_eq!(answered.len(), 2, "{}", created.body);
    assert_eq!(payload_types(&answered[0]), vec![111], "{}", created.body);
    assert!(answered[1][0].starts_with("m=video 0 "), "{}", created.body);
    assert!(
        created.body.contains("a=group:BUNDLE 0\r\n"),
        "{}",
        created.body
    );

    let both = play(
        &server,
        &format!(
            "/rooms/r/whep?producerId={}&broadcasterId={}",
            published.audio,
            uuid::Uuid::new_v4()
        ),
        PLAY_OFFER,
    )
    .await;
    let problem = both.problem(400);
    assert_eq!(problem["field"], "producerId", "{problem}");
    assert!(
        problem["detail"].as_str().unwrap().contains("producerId"),
        "{problem}"
    );

    let unknown = play(
        &server,
        &format!(
            "/rooms/r/whep?producerId={},{}",
            published.audio,
            uuid::Uuid::new_v4()
        ),
        PLAY_OFFER,
    )
    .await;
    let problem = unknown.problem(404);
    assert_eq!(problem["field"], "producerId", "{problem}");

    // The chosen producer matches no section the offer receives on (its audio section is inactive): live
    // media the viewer cannot take yet, so try again later.
    let video_only = PLAY_OFFER.replacen("a=recvonly", "a=inactive", 1);
    let unmatched = play(
        &server,
        &format!("/rooms/r/whep?producerId={}", published.audio),
        &video_only,
    )
    .await;
    unmatched.problem(409);
    retry_after(&unmatched);

    // An offer that receives on no section has nothing to fill.
    let sending = PLAY_OFFER.replace("a=recvonly", "a=sendonly");
    play(&server, "/rooms/r/whep", &sending).await.problem(422);

    // Only the first viewer is left, with one broadcaster besides the publisher.
    let listed = server.get("/rooms/r/broadcasters").await.ok();
    assert_eq!(listed.as_array().unwrap().len(), 2, "{listed}");
}
