//! 10,000 cycles of broadcaster → plain transport with SCTP → producer → consumer → data producer →
//! direct transport → data consumer → a message → a WHIP session and a WHEP session playing it → both
//! sessions deleted → leave leave no objects, no sessions, no sockets, no ICE registrations, no file
//! descriptors and no memory growth behind.

use std::time::Instant;

use serde_json::{Value, json};

use crate::support::{Client, Server};

const CYCLES: usize = 10_000;
const WARM_UP: usize = 100;
/// HTTP requests per cycle.
const REQUESTS: usize = 15;

const WHIP_OFFER: &str = include_str!("../../crates/engine/src/sdp/fixtures/chrome_publish.sdp");

const PRODUCER: &[u8] = br#"{
  "kind": "video",
  "rtpParameters": {
    "codecs": [{"mimeType": "video/VP8", "payloadType": 101, "clockRate": 90000}],
    "encodings": [{"ssrc": 2222}]
  }}"#;

fn open_fds(pid: u32) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/fd"))
        .expect("read /proc/<pid>/fd")
        .count()
}

fn rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("read status");
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmRSS in /proc/<pid>/status")
}

fn id_of(value: &Value) -> String {
    value["id"]
        .as_str()
        .unwrap_or_else(|| panic!("no id in {value}"))
        .to_owned()
}

fn cycle(client: &mut Client, n: usize, capabilities: &Value) {
    let join = json!({
        "id": format!("b{n}"),
        "displayName": "leak",
        "device": {"name": "leak-test"},
        "rtpCapabilities": capabilities,
    });
    client
        .post("/rooms/leak/broadcasters", join.to_string().as_bytes())
        .expect(201);
    let transport = client
        .post(
            &format!("/rooms/leak/broadcasters/b{n}/transports"),
            br#"{"type": "plain", "comedia": true, "enableSctp": true}"#,
        )
        .expect(201)
        .json();
    let transport_info = transport;
    let transport = id_of(&transport_info);
    let producer = client
        .post(&format!("/transports/{transport}/producers"), PRODUCER)
        .expect(201)
        .json();
    let consume = format!(r#"{{"producerId": "{}"}}"#, id_of(&producer));
    client
        .post(
            &format!("/transports/{transport}/consumers"),
            consume.as_bytes(),
        )
        .expect(201);
    let data_producer = client
        .post(
            &format!("/transports/{transport}/data-producers"),
            br#"{"sctpStreamParameters": {"streamId": 1}, "label": "chat"}"#,
        )
        .expect(201)
        .json();
    let direct = client
        .post(
            &format!("/rooms/leak/broadcasters/b{n}/transports"),
            br#"{"type": "direct"}"#,
        )
        .expect(201)
        .json();
    let direct_producer = client
        .post(
            &format!("/transports/{}/data-producers", id_of(&direct)),
            br#"{"label": "bot"}"#,
        )
        .expect(201)
        .json();
    for (transport, producer) in [
        (&direct, &data_producer),
        (&transport_info, &direct_producer),
    ] {
        let consume = format!(r#"{{"dataProducerId": "{}"}}"#, id_of(producer));
        client
            .post(
                &format!("/transports/{}/data-consumers", id_of(transport)),
                consume.as_bytes(),
            )
            .expect(201);
    }
    client
        .post(
            &format!("/data-producers/{}/messages", id_of(&direct_producer)),
            b"hello",
        )
        .expect(204);
    let whip = client
        .post_typed("/rooms/leak/whip", "application/sdp", WHIP_OFFER.as_bytes())
        .expect(201);
    // The publisher's offer turned around is a viewer's: the same codecs, received instead of sent.
    let viewer_offer = WHIP_OFFER.replace("a=sendonly", "a=recvonly");
    let whep = client
        .post_typed(
            "/rooms/leak/whep?displayName=viewer",
            "application/sdp",
            viewer_offer.as_bytes(),
        )
        .expect(201);
    for session in [&whep, &whip] {
        let location = session.header("location").expect("Location").to_owned();
        client.delete(&location).expect(200);
    }
    client
        .delete(&format!("/rooms/leak/broadcasters/b{n}"))
        .expect(204);
}

#[test]
fn ten_thousand_object_cycles_leak_nothing() {
    // Heavy on both cores: not beside the real-time media tests.
    let _serial = super::netns::SERIAL
        .lock()
        .unwrap_or_else(|e| e.into_inner());
    let server = Server::start("47050-47069", &[]);
    let pid = server.pid();
    let mut client = server.client();
    client.put("/rooms/leak");
    let capabilities = client
        .get("/rooms/leak/rtp-capabilities")
        .expect(200)
        .json();

    let started = Instant::now();
    for n in 0..WARM_UP {
        cycle(&mut client, n, &capabilities);
    }
    let fds_after_warm_up = open_fds(pid);
    let rss_after_warm_up = rss_kib(pid);

    for n in WARM_UP..CYCLES {
        cycle(&mut client, n, &capabilities);
    }
    let elapsed = started.elapsed();
    let fds_after = open_fds(pid);
    let rss_after = rss_kib(pid);
    let health = client.get("/health").expect(200).json();

    crate::support::report(format_args!(
        "leak: {CYCLES} cycles ({} requests) in {:.1?} ({:.0} requests/s); fds {} -> {}; \
         VmRSS {} KiB -> {} KiB ({:+.1}%); health {health}",
        CYCLES * REQUESTS,
        elapsed,
        (CYCLES * REQUESTS) as f64 / elapsed.as_secs_f64(),
        fds_after_warm_up,
        fds_after,
        rss_after_warm_up,
        rss_after,
        (rss_after as f64 / rss_after_warm_up as f64 - 1.0) * 100.0,
    ));

    assert_eq!(health["rooms"], 1, "only the test's room is kept: {health}");
    for (kind, count) in health["objects"].as_object().expect("objects") {
        assert_eq!(count, 0, "{kind} left behind: {health}");
    }
    assert_eq!(health["sockets"], 0, "{health}");
    assert_eq!(health["sessions"], 0, "{health}");
    for port in health["webrtcPorts"].as_array().expect("webrtcPorts") {
        assert_eq!(port["iceUsernameFragments"], 0, "{health}");
        assert_eq!(port["tuples"], 0, "{health}");
    }
    assert_eq!(
        fds_after, fds_after_warm_up,
        "open file descriptors changed after {CYCLES} cycles"
    );
    assert!(
        rss_after * 10 <= rss_after_warm_up * 11,
        "VmRSS grew more than 10%: {rss_after_warm_up} KiB -> {rss_after} KiB"
    );
    drop(client);
    server.stop();
}
