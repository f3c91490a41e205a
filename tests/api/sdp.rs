//! The SDP routes of WebRTC transports: a browser's publish offer becomes producers and an answer, the
//! server's offer carries the transport's consumers with stable mids, and bad descriptions are refused with
//! the field named.

use serde_json::json;

use crate::harness::{Server, id_of};

const CHROME_OFFER: &str = include_str!("../../crates/engine/src/sdp/fixtures/chrome_publish.sdp");

#[tokio::test]
async fn a_publish_offer_makes_producers_and_a_consumer_offer_follows_them() {
    let server = Server::start();
    server.join("r", "alice").await;
    server.join("r", "bob").await;
    let mut room = server.events("/rooms/r/events", None).await;
    let send = server
        .transport("r", "alice", json!({"type": "webrtc"}))
        .await;
    let reply = server
        .post(
            &format!("/transports/{send}/sdp"),
            json!({"type": "offer", "sdp": CHROME_OFFER}),
        )
        .await
        .expect(200);
    assert_eq!(reply["type"], "answer");
    let answer = reply["sdp"].as_str().unwrap();
    assert!(
        answer.contains("a=ice-lite") && answer.contains("a=setup:passive"),
        "{answer}"
    );
    let producers = reply["producers"].as_array().unwrap().clone();
    let kinds: Vec<&str> = producers
        .iter()
        .map(|p| p["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["audio", "video"], "{reply}");
    assert_eq!(producers[0]["mid"], "0");
    // The room learns of both producers.
    let mut added = Vec::new();
    while added.len() < 2 {
        let event = room.next().await;
        if event.event == "producer.added" {
            added.push(event.data["producerId"].clone());
        }
    }
    assert_eq!(
        added,
        [producers[0]["id"].clone(), producers[1]["id"].clone()]
    );
    // The offer connected DTLS: the transport waits for the browser's handshake.
    let info = server.get(&format!("/transports/{send}")).await.ok();
    assert_eq!(info["dtlsState"], "connecting");
    // Offering the same again keeps the producers.
    let again = server
        .post(
            &format!("/transports/{send}/sdp"),
            json!({"type": "offer", "sdp": CHROME_OFFER}),
        )
        .await
        .expect(200);
    assert_eq!(again["producers"], json!(producers));

    // Bob consumes both on a receive transport; the server's offer carries them, mids "0" and "1".
    let recv = server
        .transport("r", "bob", json!({"type": "webrtc"}))
        .await;
    let mut consumers = Vec::new();
    for p in &producers {
        consumers.push(id_of(
            &server.consume(&recv, p["id"].as_str().unwrap()).await,
        ));
    }
    let offer = server.get(&format!("/transports/{recv}/sdp")).await.ok();
    assert_eq!(offer["type"], "offer");
    let sdp = offer["sdp"].as_str().unwrap();
    assert!(sdp.contains("a=group:BUNDLE 0 1"), "{sdp}");
    assert!(
        sdp.contains("a=setup:actpass") && sdp.contains("a=sendonly"),
        "{sdp}"
    );
    assert!(sdp.contains("a=msid:alice "), "{sdp}");
    // A closed consumer's section stays, rejected, and leaves the bundle.
    server
        .delete(&format!("/consumers/{}", consumers[0]))
        .await
        .expect(204);
    let offer = server.get(&format!("/transports/{recv}/sdp")).await.ok();
    let sdp = offer["sdp"].as_str().unwrap();
    assert!(sdp.contains("a=group:BUNDLE 1"), "{sdp}");
    assert!(sdp.contains("m=audio 0 "), "{sdp}");
}

#[tokio::test]
async fn bad_descriptions_are_refused_naming_the_sdp() {
    let server = Server::start();
    server.join("r", "alice").await;
    let webrtc = server
        .transport("r", "alice", json!({"type": "webrtc"}))
        .await;
    let plain = server.plain("r", "alice").await;
    let path = format!("/transports/{webrtc}/sdp");
    server
        .post(&path, json!({"type": "offer", "sdp": "v=0\r\nnonsense"}))
        .await
        .problem(400, Some("sdp"));
    // Well-formed, but nothing in it can be published.
    let recvonly = CHROME_OFFER.replace("a=sendonly", "a=recvonly");
    server
        .post(&path, json!({"type": "offer", "sdp": recvonly}))
        .await
        .problem(422, Some("sdp"));
    // An answer with no offer of ours to answer.
    server
        .post(&path, json!({"type": "answer", "sdp": CHROME_OFFER}))
        .await
        .problem_any_field(409);
    server
        .post(&path, json!({"type": "pranswer", "sdp": ""}))
        .await
        .problem(400, Some("type"));
    // SDP is for WebRTC transports.
    server
        .get(&format!("/transports/{plain}/sdp"))
        .await
        .problem_any_field(409);
}
