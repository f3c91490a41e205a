//! Overload: a worker holds at most `max_transports_per_worker` open transports. One more is refused with
//! 503, `Retry-After` and a problem naming the limit (RFC 9725 §4.6 for WHIP, the same for WHEP and the REST
//! route), binds nothing and leaves nothing behind; closing a transport (by request, with its broadcaster,
//! with its room) frees its slot. Consent expiry closes through the same router path (the engine's
//! webrtc tests); its 30 s grace is too long for a test here.

use std::num::NonZeroUsize;

use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use http_body_util::BodyExt;
use serde_json::{Value, json};

use crate::harness::{Server, WAIT};

const CHROME_OFFER: &str = include_str!("../../crates/engine/src/sdp/fixtures/chrome_publish.sdp");

/// A server with one worker that holds at most two transports.
fn server_of_two() -> Server {
    Server::with(|config| {
        config.max_transports_per_worker = NonZeroUsize::new(2).expect("non-zero");
    })
}

/// Status, `Retry-After`, `Content-Type` and body (JSON when it parses) of a request.
struct Answer {
    status: StatusCode,
    retry_after: Option<String>,
    content_type: Option<String>,
    body: Value,
}

async fn send(
    server: &Server,
    method: Method,
    uri: &str,
    content_type: &str,
    body: &str,
) -> Answer {
    let request = Request::builder()
        .method(method)
        .uri(uri)
        .header(header::CONTENT_TYPE, content_type)
        .body(Body::from(body.to_owned()))
        .expect("a valid request");
    let response = server.send(request).await;
    let text = |name| {
        response
            .headers()
            .get(name)
            .map(|v: &axum::http::HeaderValue| v.to_str().expect("ascii").to_owned())
    };
    let (status, retry_after, content_type) = (
        response.status(),
        text(header::RETRY_AFTER),
        text(header::CONTENT_TYPE),
    );
    let bytes = tokio::time::timeout(WAIT, response.into_body().collect())
        .await
        .expect("the body arrives in time")
        .expect("a readable body")
        .to_bytes();
    Answer {
        status,
        retry_after,
        content_type,
        body: serde_json::from_slice(&bytes)
            .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into_owned())),
    }
}

async fn create_transport(
    server: &Server,
    room: &str,
    broadcaster: &str,
    options: Value,
) -> Answer {
    send(
        server,
        Method::POST,
        &format!("/rooms/{room}/broadcasters/{broadcaster}/transports"),
        "application/json",
        &options.to_string(),
    )
    .await
}

/// Checks the overload answer: 503, a positive `Retry-After` in seconds, problem+json naming the limit.
#[track_caller]
fn assert_worker_full(answer: &Answer, limit: usize) {
    assert_eq!(
        answer.status,
        StatusCode::SERVICE_UNAVAILABLE,
        "body: {}",
        answer.body
    );
    let seconds: u32 = answer
        .retry_after
        .as_deref()
        .expect("Retry-After on a 503")
        .parse()
        .expect("Retry-After in seconds");
    assert!(seconds >= 1, "Retry-After {seconds}");
    assert_eq!(
        answer.content_type.as_deref(),
        Some("application/problem+json")
    );
    let problem = &answer.body;
    assert_eq!(problem["status"], 503, "{problem}");
    assert_eq!(problem["title"], "Service Unavailable", "{problem}");
    let detail = problem["detail"].as_str().unwrap_or_default();
    assert!(
        detail.contains(&format!("limit of {limit} open transports"))
            && detail.contains("max_transports_per_worker"),
        "the detail names the limit: {detail:?}"
    );
}

async fn open_transports(server: &Server) -> (u64, u64) {
    let health = server.health().await;
    (
        health["objects"]["transports"].as_u64().expect("a count"),
        health["sockets"].as_u64().expect("a count"),
    )
}

#[tokio::test]
async fn the_third_transport_is_503_until_a_close_frees_a_slot() {
    let server = server_of_two();
    server.join("r", "alice").await;
    server.join("r", "bob").await;

    let first = create_transport(&server, "r", "alice", json!({"type": "webrtc"})).await;
    assert_eq!(first.status, StatusCode::CREATED, "{}", first.body);
    let plain = create_transport(&server, "r", "bob", json!({"type": "plain"})).await;
    assert_eq!(plain.status, StatusCode::CREATED, "{}", plain.body);
    assert_eq!(open_transports(&server).await, (2, 1));

    // Full, whatever the kind, and nothing is bound for the refused one.
    for options in [
        json!({"type": "webrtc"}),
        json!({"type": "webrtc", "dedicatedPort": true}),
        json!({"type": "plain", "rtcpMux": false}),
        json!({"type": "direct"}),
    ] {
        let refused = create_transport(&server, "r", "alice", options.clone()).await;
        assert_worker_full(&refused, 2);
    }
    assert_eq!(
        open_transports(&server).await,
        (2, 1),
        "nothing left behind"
    );
    let alice = server.get("/rooms/r/broadcasters/alice").await.ok();
    assert_eq!(
        alice["transportIds"].as_array().map(Vec::len),
        Some(1),
        "{alice}"
    );

    // The limit is the worker's, not the room's: another room on the same (only) worker is refused too.
    server.join("other", "carol").await;
    let elsewhere = create_transport(&server, "other", "carol", json!({"type": "plain"})).await;
    assert_worker_full(&elsewhere, 2);

    // Closed by request: the slot is free again, once.
    let first_id = first.body["id"].as_str().expect("an id");
    server
        .delete(&format!("/transports/{first_id}"))
        .await
        .expect(204);
    let again = create_transport(&server, "other", "carol", json!({"type": "plain"})).await;
    assert_eq!(again.status, StatusCode::CREATED, "{}", again.body);
    assert_worker_full(
        &create_transport(&server, "r", "alice", json!({"type": "webrtc"})).await,
        2,
    );

    // Its broadcaster leaving closes bob's plain transport: one slot.
    server.delete("/rooms/r/broadcasters/bob").await.expect(204);
    let direct = create_transport(&server, "r", "alice", json!({"type": "direct"})).await;
    assert_eq!(direct.status, StatusCode::CREATED, "{}", direct.body);
    assert_worker_full(
        &create_transport(&server, "r", "alice", json!({"type": "direct"})).await,
        2,
    );

    // Its room closing closes alice's direct transport: one slot, and carol's plain one still counts.
    server.delete("/rooms/r").await.expect(204);
    assert_eq!(open_transports(&server).await.0, 1);
    let last = create_transport(&server, "other", "carol", json!({"type": "webrtc"})).await;
    assert_eq!(last.status, StatusCode::CREATED, "{}", last.body);
    assert_worker_full(
        &create_transport(&server, "other", "carol", json!({"type": "webrtc"})).await,
        2,
    );
}

#[tokio::test]
async fn a_whip_offer_on_a_full_worker_is_503_and_leaves_no_broadcaster() {
    let server = server_of_two();
    server.join("r", "alice").await;
    let kept = create_transport(&server, "r", "alice", json!({"type": "webrtc"})).await;
    assert_eq!(kept.status, StatusCode::CREATED, "{}", kept.body);
    let freed = create_transport(&server, "r", "alice", json!({"type": "plain"})).await;
    assert_eq!(freed.status, StatusCode::CREATED, "{}", freed.body);
    let before = server.get("/rooms/r/broadcasters").await.ok();

    let refused = send(
        &server,
        Method::POST,
        "/rooms/r/whip",
        "application/sdp",
        CHROME_OFFER,
    )
    .await;
    assert_worker_full(&refused, 2);
    assert_eq!(
        server.get("/rooms/r/broadcasters").await.ok(),
        before,
        "the broadcaster list is unchanged"
    );
    assert_eq!(open_transports(&server).await.0, 2);

    // One slot freed: the same offer is answered.
    let freed_id = freed.body["id"].as_str().expect("an id");
    server
        .delete(&format!("/transports/{freed_id}"))
        .await
        .expect(204);
    let published = send(
        &server,
        Method::POST,
        "/rooms/r/whip",
        "application/sdp",
        CHROME_OFFER,
    )
    .await;
    assert_eq!(published.status, StatusCode::CREATED, "{}", published.body);
    assert_eq!(published.retry_after, None);
    let listed = server.get("/rooms/r/broadcasters").await.ok();
    assert_eq!(listed.as_array().map(Vec::len), Some(2), "{listed}");
}

#[tokio::test]
async fn a_whep_offer_on_a_full_worker_is_503_and_leaves_no_broadcaster() {
    let server = server_of_two();
    // Something live to play: a WHIP session (one transport), and a second transport that fills the worker.
    let published = send(
        &server,
        Method::POST,
        "/rooms/r/whip",
        "application/sdp",
        CHROME_OFFER,
    )
    .await;
    assert_eq!(published.status, StatusCode::CREATED, "{}", published.body);
    server.join("r", "bob").await;
    let filler = create_transport(&server, "r", "bob", json!({"type": "plain"})).await;
    assert_eq!(filler.status, StatusCode::CREATED, "{}", filler.body);
    let before = server.get("/rooms/r/broadcasters").await.ok();

    let viewer_offer = CHROME_OFFER.replace("a=sendonly", "a=recvonly");
    let refused = send(
        &server,
        Method::POST,
        "/rooms/r/whep",
        "application/sdp",
        &viewer_offer,
    )
    .await;
    assert_worker_full(&refused, 2);
    assert_eq!(
        server.get("/rooms/r/broadcasters").await.ok(),
        before,
        "the broadcaster list is unchanged"
    );

    // One slot freed: the same offer plays.
    let filler_id = filler.body["id"].as_str().expect("an id");
    server
        .delete(&format!("/transports/{filler_id}"))
        .await
        .expect(204);
    let played = send(
        &server,
        Method::POST,
        "/rooms/r/whep",
        "application/sdp",
        &viewer_offer,
    )
    .await;
    assert_eq!(played.status, StatusCode::CREATED, "{}", played.body);
}
