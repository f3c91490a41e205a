//! WHIP (RFC 9725): an SDP offer POSTed to a room becomes a broadcaster with producers, the session
//! resource ends it, PATCH follows the If-Match rules, and bad offers get the RFC's statuses.

use axum::http::{Method, StatusCode};
use serde_json::json;

use crate::harness::{Server, post_sdp as whip, request, until};

const CHROME_OFFER: &str = include_str!("../../crates/engine/src/sdp/fixtures/chrome_publish.sdp");
const FIREFOX_OFFER: &str =
    include_str!("../../crates/engine/src/sdp/fixtures/firefox_publish.sdp");

#[tokio::test]
async fn an_offer_publishes_into_the_room_and_delete_ends_it() {
    let server = Server::start();
    server.put("/rooms/demo", json!({})).await.ok();
    let mut room = server.events("/rooms/demo/events", None).await;

    let created = whip(&server, "/rooms/demo/whip?displayName=OBS", CHROME_OFFER).await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    assert_eq!(created.header("content-type"), Some("application/sdp"));
    let location = created.header("location").expect("Location").to_owned();
    let id = location
        .strip_prefix("/whip/sessions/")
        .expect("a session path");
    let id = uuid::Uuid::parse_str(id).expect("a uuid session id");
    assert_eq!(id.get_version_num(), 4, "unguessable: a random uuid");
    let etag = created.header("etag").expect("ETag");
    assert!(etag.starts_with('"') && etag.ends_with('"') && etag.len() > 2);
    let answer = &created.body;
    for expected in [
        "a=ice-lite",
        "a=candidate:",
        "a=setup:passive",
        "a=group:BUNDLE",
    ] {
        assert!(answer.contains(expected), "{expected} missing: {answer}");
    }

    // The room sees a broadcaster named OBS and its two producers.
    let joined = until(&mut room, "broadcaster.joined").await;
    let broadcaster = joined["broadcasterId"].as_str().unwrap().to_owned();
    let first = until(&mut room, "producer.added").await;
    let second = until(&mut room, "producer.added").await;
    assert_eq!(first["broadcasterId"], broadcaster.as_str());
    assert_eq!(second["broadcasterId"], broadcaster.as_str());
    let listed = server.get("/rooms/demo/broadcasters").await.ok();
    assert_eq!(listed.as_array().unwrap().len(), 1, "{listed}");
    assert_eq!(listed[0]["displayName"], "OBS", "{listed}");

    let ended = request(&server, Method::DELETE, &location, &[], "").await;
    assert_eq!(ended.status, StatusCode::OK, "{}", ended.body);
    let closed = until(&mut room, "producer.closed").await;
    assert_eq!(closed["broadcasterId"], broadcaster.as_str());
    until(&mut room, "producer.closed").await;
    let left = until(&mut room, "broadcaster.left").await;
    assert_eq!(left["broadcasterId"], broadcaster.as_str());
    assert_eq!(server.get("/rooms/demo/broadcasters").await.ok(), json!([]));

    request(&server, Method::DELETE, &location, &[], "")
        .await
        .problem(404);
}

#[tokio::test]
async fn a_firefox_offer_is_answered_and_the_room_is_created_on_first_use() {
    let server = Server::start();
    let created = whip(&server, "/rooms/fresh/whip", FIREFOX_OFFER).await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    let listed = server.get("/rooms/fresh/broadcasters").await.ok();
    let name = listed[0]["displayName"].as_str().unwrap();
    assert!(name.starts_with("WHIP "), "generated display name {name:?}");
    assert_eq!(
        listed[0]["transportIds"].as_array().unwrap().len(),
        1,
        "{listed}"
    );
}

#[tokio::test]
async fn bad_offers_get_the_rfc_statuses_and_leave_nothing_behind() {
    let server = Server::start();
    server.put("/rooms/r", json!({})).await.ok();

    let json_body = request(
        &server,
        Method::POST,
        "/rooms/r/whip",
        &[("content-type", "application/json")],
        "{}",
    )
    .await;
    let problem = json_body.problem(415);
    assert!(
        problem["detail"]
            .as_str()
            .unwrap()
            .contains("application/sdp")
    );
    request(&server, Method::POST, "/rooms/r/whip", &[], CHROME_OFFER)
        .await
        .problem(415);

    let malformed = whip(&server, "/rooms/r/whip", "v=0\r\nthis is not sdp\r\n").await;
    let problem = malformed.problem(400);
    assert_eq!(problem["field"], "sdp");
    assert!(
        problem["detail"].as_str().unwrap().contains("line 2"),
        "{problem}"
    );

    // Every payload type renamed to a codec the room does not route.
    let unknown_codecs = CHROME_OFFER
        .lines()
        .map(|l| {
            l.replace("opus/", "x-nothing/")
                .replace("VP8/", "x-nothing/")
                .replace("VP9/", "x-nothing/")
                .replace("H264/", "x-nothing/")
                .replace("AV1/", "x-nothing/")
                .replace("red/", "x-nothing/")
                .replace("rtx/", "x-nothing/")
                .replace("ulpfec/", "x-nothing/")
                .replace("G722/", "x-nothing/")
                .replace("PCMU/", "x-nothing/")
                .replace("PCMA/", "x-nothing/")
                .replace("CN/", "x-nothing/")
                .replace("telephone-event/", "x-nothing/")
                .replace("ISAC/", "x-nothing/")
                .replace("H265/", "x-nothing/")
                .replace("flexfec-03/", "x-nothing/")
        })
        .collect::<Vec<_>>()
        .join("\r\n");
    let unusable = whip(&server, "/rooms/r/whip", &unknown_codecs).await;
    let problem = unusable.problem(422);
    assert!(
        problem["detail"].as_str().unwrap().contains("codec"),
        "{problem}"
    );
    // The failed sessions left no broadcaster behind.
    assert_eq!(server.get("/rooms/r/broadcasters").await.ok(), json!([]));

    for (method, body) in [(Method::DELETE, ""), (Method::PATCH, "a=end-of-candidates")] {
        request(
            &server,
            method,
            &format!("/whip/sessions/{}", uuid::Uuid::new_v4()),
            &[
                ("content-type", "application/trickle-ice-sdpfrag"),
                ("if-match", "*"),
            ],
            body,
        )
        .await
        .problem(404);
    }
    request(
        &server,
        Method::DELETE,
        "/whip/sessions/not-a-uuid",
        &[],
        "",
    )
    .await
    .problem(404);
}

#[tokio::test]
async fn an_unknown_room_is_404_when_rooms_are_not_created_on_first_use() {
    let server = Server::with(|config| config.auto_create_rooms = false);
    whip(&server, "/rooms/nowhere/whip", CHROME_OFFER)
        .await
        .problem(404);
}

#[tokio::test]
async fn options_answers_accept_post_with_and_without_preflight() {
    let server = Server::start();
    // WHIP and WHEP endpoints alike.
    for endpoint in ["/rooms/r/whip", "/rooms/r/whep"] {
        let plain = request(&server, Method::OPTIONS, endpoint, &[], "").await;
        assert_eq!(plain.status, StatusCode::NO_CONTENT);
        assert_eq!(plain.header("accept-post"), Some("application/sdp"));

        let preflight = request(
            &server,
            Method::OPTIONS,
            endpoint,
            &[
                ("origin", "https://example.org"),
                ("access-control-request-method", "POST"),
                (
                    "access-control-request-headers",
                    "content-type, authorization",
                ),
            ],
            "",
        )
        .await;
        assert_eq!(preflight.status, StatusCode::NO_CONTENT);
        assert_eq!(preflight.header("accept-post"), Some("application/sdp"));
        assert!(preflight.header("access-control-allow-origin").is_some());
        let methods = preflight
            .header("access-control-allow-methods")
            .expect("allowed methods");
        assert!(methods == "*" || methods.contains("POST"), "{methods}");
    }
}

#[tokio::test]
async fn patch_follows_the_if_match_rules_and_restarts_ice() {
    let server = Server::start();
    let created = whip(&server, "/rooms/r/whip", CHROME_OFFER).await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    let location = created.header("location").unwrap().to_owned();
    let etag = created.header("etag").unwrap().to_owned();
    let answer_ufrag = created.ice_ufrag();
    let patch = |if_match: Option<String>, content_type: &'static str, body: &'static str| {
        let location = location.clone();
        let server = &server;
        async move {
            let mut headers = vec![("content-type", content_type)];
            let if_match = if_match.unwrap_or_default();
            if !if_match.is_empty() {
                headers.push(("if-match", if_match.as_str()));
            }
            request(server, Method::PATCH, &location, &headers, body).await
        }
    };
    const SDPFRAG: &str = "application/trickle-ice-sdpfrag";
    const TRICKLE: &str = "a=ice-ufrag:Wx4k\r\na=ice-pwd:p9Tz2rQm8vLk1sYh6dNc3bFa\r\n\
        m=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=mid:0\r\n\
        a=candidate:1 1 udp 2122260223 127.0.0.1 54321 typ host\r\na=end-of-candidates\r\n";
    const RESTART: &str = "a=ice-ufrag:N3w1\r\na=ice-pwd:aNewPasswordOf24Chars000\r\n\
        m=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=mid:0\r\n";

    patch(None, SDPFRAG, TRICKLE).await.problem(428);
    patch(Some("\"stale\"".into()), SDPFRAG, TRICKLE)
        .await
        .problem(412);
    patch(Some(etag.clone()), "application/sdp", TRICKLE)
        .await
        .problem(415);
    let garbage = patch(Some(etag.clone()), SDPFRAG, "not a fragment").await;
    assert_eq!(garbage.problem(400)["field"], "sdpfrag");
    let trickled = patch(Some(etag.clone()), SDPFRAG, TRICKLE).await;
    assert_eq!(trickled.status, StatusCode::NO_CONTENT, "{}", trickled.body);
    assert!(trickled.body.is_empty());

    // New credentials: an ICE restart, answered with the server's new fragment and a new ETag.
    let restarted = patch(Some("*".into()), SDPFRAG, RESTART).await;
    assert_eq!(restarted.status, StatusCode::OK, "{}", restarted.body);
    assert_eq!(
        restarted.header("content-type"),
        Some("application/trickle-ice-sdpfrag")
    );
    let new_etag = restarted.header("etag").unwrap().to_owned();
    assert_ne!(new_etag, etag);
    let fragment = &restarted.body;
    let new_ufrag = restarted.ice_ufrag();
    assert_ne!(new_ufrag, answer_ufrag);
    for expected in [
        "a=ice-pwd:",
        "a=mid:0",
        "a=candidate:",
        "a=end-of-candidates",
    ] {
        assert!(
            fragment.contains(expected),
            "{expected} missing: {fragment}"
        );
    }
    // The transport now carries the new credentials.
    let broadcasters = server.get("/rooms/r/broadcasters").await.ok();
    let transport = broadcasters[0]["transportIds"][0].as_str().unwrap();
    let info = server.get(&format!("/transports/{transport}")).await.ok();
    assert_eq!(info["iceParameters"]["usernameFragment"], new_ufrag);

    // The old ETag is stale now; the new one trickles.
    patch(Some(etag), SDPFRAG, TRICKLE).await.problem(412);
    let trickled = patch(Some(new_etag), SDPFRAG, RESTART).await;
    assert_eq!(trickled.status, StatusCode::NO_CONTENT, "{}", trickled.body);
}

#[tokio::test]
async fn the_session_ends_when_its_transport_closes() {
    let server = Server::start();
    server.put("/rooms/r", json!({})).await.ok();
    let mut room = server.events("/rooms/r/events", None).await;
    let created = whip(&server, "/rooms/r/whip", CHROME_OFFER).await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    let location = created.header("location").unwrap().to_owned();
    let joined = until(&mut room, "broadcaster.joined").await;
    let broadcasters = server.get("/rooms/r/broadcasters").await.ok();
    let transport = broadcasters[0]["transportIds"][0]
        .as_str()
        .unwrap()
        .to_owned();

    // As when consent expires: the transport closes, the producers with it, and the session ends.
    server
        .delete(&format!("/transports/{transport}"))
        .await
        .expect(204);
    until(&mut room, "producer.closed").await;
    let left = until(&mut room, "broadcaster.left").await;
    assert_eq!(left["broadcasterId"], joined["broadcasterId"]);
    assert_eq!(left["reason"], "transport closed");
    request(&server, Method::DELETE, &location, &[], "")
        .await
        .problem(404);
}
