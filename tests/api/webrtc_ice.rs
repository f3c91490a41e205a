//! The shared WebRTC port over real sockets: STUN checks reach the transport whose username fragment they
//! name, validated tuples are routed by address, and everything else is counted where it was dropped.

use std::net::UdpSocket;
use std::time::Duration;

use mediagate_engine::ice::stun::{self, StunMessage};
use serde_json::{Value, json};

use crate::harness::Server;

fn check(ufrag: &str, pwd: &str, nominate: bool) -> Vec<u8> {
    let mut buf = vec![0u8; 200];
    let key = stun::integrity_key(pwd);
    let len =
        stun::write_binding_request(&mut buf, &[9; 12], &format!("{ufrag}:peer"), &key, nominate)
            .expect("fits");
    buf.truncate(len);
    buf
}

fn ask(socket: &UdpSocket, port: u16, request: &[u8]) -> u16 {
    socket.send_to(request, ("127.0.0.1", port)).unwrap();
    let mut buf = [0u8; 200];
    let (len, _) = socket.recv_from(&mut buf).expect("a response");
    StunMessage::parse(&buf[..len]).unwrap().msg_type()
}

fn port_stats(health: &Value) -> Value {
    health["webrtcPorts"][0].clone()
}

#[tokio::test]
async fn checks_on_the_shared_port_reach_their_transport_and_strangers_are_counted() {
    let server = Server::start();
    server.join("r", "alice").await;
    let mut alice_events = server
        .events("/rooms/r/broadcasters/alice/events", None)
        .await;
    let a = server
        .post(
            "/rooms/r/broadcasters/alice/transports",
            json!({"type": "webrtc"}),
        )
        .await
        .expect(201);
    let b = server
        .post(
            "/rooms/r/broadcasters/alice/transports",
            json!({"type": "webrtc"}),
        )
        .await
        .expect(201);
    let port = a["iceCandidates"][0]["port"].as_u64().unwrap() as u16;
    assert_eq!(b["iceCandidates"][0]["port"], port, "one shared port");
    let ice = |t: &Value| {
        (
            t["iceParameters"]["usernameFragment"]
                .as_str()
                .unwrap()
                .to_owned(),
            t["iceParameters"]["password"].as_str().unwrap().to_owned(),
        )
    };
    let (a_ufrag, a_pwd) = ice(&a);
    let (_, b_pwd) = ice(&b);

    let peer = UdpSocket::bind("127.0.0.1:0").unwrap();
    peer.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    // Noise from a stranger: random bytes, and DTLS-looking records for a tuple nobody validated.
    let stranger = UdpSocket::bind("127.0.0.1:0").unwrap();
    stranger.send_to(&[0x42; 50], ("127.0.0.1", port)).unwrap();
    stranger
        .send_to(
            &[22, 0xfe, 0xfd, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0],
            ("127.0.0.1", port),
        )
        .unwrap();
    // STUN naming no transport.
    stranger
        .send_to(&check("nobody", "x", true), ("127.0.0.1", port))
        .unwrap();
    // Alice's transport A with B's password: 401 from A's ICE server, counted on A.
    assert_eq!(
        ask(&peer, port, &check(&a_ufrag, &b_pwd, true)),
        stun::BINDING_ERROR
    );
    // The right credentials select the tuple.
    assert_eq!(
        ask(&peer, port, &check(&a_ufrag, &a_pwd, true)),
        stun::BINDING_SUCCESS
    );
    let tuple = alice_events.expect("transport.tuple").await;
    assert_eq!(
        tuple["tuple"]["remotePort"],
        peer.local_addr().unwrap().port()
    );
    let state = alice_events.expect("transport.iceStateChanged").await;
    assert_eq!(state["iceState"], "completed");

    let a_id = a["id"].as_str().unwrap();
    let info = server.get(&format!("/transports/{a_id}")).await.ok();
    assert_eq!(info["iceState"], "completed");
    assert_eq!(
        info["iceSelectedTuple"]["remotePort"],
        peer.local_addr().unwrap().port()
    );
    let stats = server.get(&format!("/transports/{a_id}/stats")).await.ok();
    assert_eq!(stats[0]["droppedIceFailure"], 1, "{stats}");
    assert_eq!(stats[0]["packetsReceived"], 2, "{stats}");
    // B saw nothing.
    let b_id = b["id"].as_str().unwrap();
    let stats = server.get(&format!("/transports/{b_id}/stats")).await.ok();
    assert_eq!(stats[0]["packetsReceived"], 0, "{stats}");

    let shared = port_stats(&server.health().await);
    assert_eq!(shared["port"], port);
    assert_eq!(shared["droppedUnknownUfrag"], 1, "{shared}");
    assert_eq!(shared["droppedUnknownTuple"], 2, "{shared}");
    assert_eq!(shared["iceUsernameFragments"], 2);
    assert_eq!(shared["tuples"], 1);

    // Restart ICE: the new credentials are routed too.
    let fresh = server
        .post_empty(&format!("/transports/{a_id}/restart-ice"))
        .await
        .ok();
    let new_ufrag = fresh["usernameFragment"].as_str().unwrap();
    let new_pwd = fresh["password"].as_str().unwrap();
    let other = UdpSocket::bind("127.0.0.1:0").unwrap();
    other
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    assert_eq!(
        ask(&other, port, &check(new_ufrag, new_pwd, true)),
        stun::BINDING_SUCCESS
    );

    // Closing the transports forgets their routes.
    server
        .delete(&format!("/transports/{a_id}"))
        .await
        .expect(204);
    server
        .delete(&format!("/transports/{b_id}"))
        .await
        .expect(204);
    let shared = port_stats(&server.health().await);
    assert_eq!(shared["iceUsernameFragments"], 0, "{shared}");
    assert_eq!(shared["tuples"], 0, "{shared}");
}

#[tokio::test]
async fn ice_tcp_checks_are_framed_on_the_shared_port_number() {
    use std::io::{Read, Write};
    let server = Server::start();
    server.join("r", "alice").await;
    let t = server
        .post(
            "/rooms/r/broadcasters/alice/transports",
            json!({"type": "webrtc", "enableTcp": true}),
        )
        .await
        .expect(201);
    let candidates = t["iceCandidates"].as_array().unwrap();
    assert_eq!(candidates.len(), 2, "{t}");
    assert_eq!(candidates[0]["protocol"], "udp");
    assert_eq!(candidates[1]["protocol"], "tcp");
    assert_eq!(candidates[1]["tcpType"], "passive");
    assert_eq!(candidates[1]["port"], candidates[0]["port"]);
    assert!(candidates[0]["priority"].as_u64() > candidates[1]["priority"].as_u64());
    let tcp_only = server
        .post(
            "/rooms/r/broadcasters/alice/transports",
            json!({"type": "webrtc", "enableUdp": false, "enableTcp": true}),
        )
        .await
        .expect(201);
    assert_eq!(tcp_only["iceCandidates"].as_array().unwrap().len(), 1);
    server
        .post(
            "/rooms/r/broadcasters/alice/transports",
            json!({"type": "webrtc", "enableUdp": false}),
        )
        .await
        .problem(422, Some("enableUdp"));

    let port = candidates[1]["port"].as_u64().unwrap() as u16;
    let ufrag = t["iceParameters"]["usernameFragment"].as_str().unwrap();
    let pwd = t["iceParameters"]["password"].as_str().unwrap();
    let mut stream = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    // Noise first: a frame of junk on an unvalidated connection is counted, the connection stays.
    let request = check(ufrag, pwd, true);
    let mut frames = vec![0, 3, 1, 2, 3];
    frames.extend_from_slice(&(request.len() as u16).to_be_bytes());
    frames.extend_from_slice(&request);
    // Written in two pieces, split inside the second frame's header.
    stream.write_all(&frames[..6]).unwrap();
    stream.flush().unwrap();
    stream.write_all(&frames[6..]).unwrap();
    let mut header = [0u8; 2];
    stream.read_exact(&mut header).unwrap();
    let mut response = vec![0u8; usize::from(u16::from_be_bytes(header))];
    stream.read_exact(&mut response).unwrap();
    assert_eq!(
        StunMessage::parse(&response).unwrap().msg_type(),
        stun::BINDING_SUCCESS
    );

    let id = t["id"].as_str().unwrap();
    let info = server.get(&format!("/transports/{id}")).await.ok();
    assert_eq!(info["iceState"], "completed");
    assert_eq!(info["iceSelectedTuple"]["protocol"], "tcp", "{info}");
    let shared = port_stats(&server.health().await);
    assert_eq!(shared["droppedUnknownTuple"], 1, "{shared}");

    // The peer hangs up: the tuple goes, ICE disconnects.
    let mut events = server
        .events("/rooms/r/broadcasters/alice/events", None)
        .await;
    drop(stream);
    loop {
        let event = events.next().await;
        // The stream replays the earlier changes first.
        if event.event == "transport.iceStateChanged"
            && event.data["transportId"] == id
            && event.data["iceState"] == "disconnected"
        {
            break;
        }
    }
}
