//! SIGTERM shuts the server down gracefully: open event streams end, the process exits 0 within a few
//! seconds, and the UDP ports it had bound are free again.

use std::io::{BufReader, Write};
use std::net::{Ipv4Addr, TcpStream, UdpSocket};
use std::time::{Duration, Instant};

use crate::support::{Server, read_chunk, read_head};

#[test]
fn sigterm_ends_streams_exits_zero_and_frees_ports() {
    let mut server = Server::start("47030-47039", &[]);
    let mut client = server.client();
    client.put("/rooms/x");

    // An open SSE stream.
    let stream = TcpStream::connect(server.addr).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .expect("set timeout");
    let mut sse = BufReader::new(stream);
    write!(
        sse.get_mut(),
        "GET /rooms/x/events HTTP/1.1\r\nhost: {}\r\naccept: text/event-stream\r\n\r\n",
        server.addr
    )
    .expect("send SSE request");
    let (status, headers) = read_head(&mut sse).expect("SSE response head");
    assert_eq!(status, 200);
    assert!(
        headers
            .iter()
            .any(|(n, v)| n == "content-type" && v.starts_with("text/event-stream")),
        "{headers:?}"
    );

    // UDP sockets held by a plain transport (RTP and RTCP).
    client
        .post(
            "/rooms/x/broadcasters",
            br#"{"id": "alice", "displayName": "Alice", "device": {"name": "test"}}"#,
        )
        .expect(201);
    let transport = client
        .post(
            "/rooms/x/broadcasters/alice/transports",
            br#"{"type": "plain", "comedia": true, "rtcpMux": false}"#,
        )
        .expect(201)
        .json();
    let ports: Vec<u16> = ["port", "rtcpPort"]
        .iter()
        .map(|key| {
            transport[key]
                .as_u64()
                .and_then(|p| u16::try_from(p).ok())
                .unwrap_or_else(|| panic!("transport has no {key}: {transport}"))
        })
        .collect();
    for port in &ports {
        assert!(
            UdpSocket::bind((Ipv4Addr::LOCALHOST, *port)).is_err(),
            "port {port} should be held by the server"
        );
    }
    let health = client.get("/health").expect(200).json();
    assert_eq!(health["sockets"], 2, "{health}");
    drop(client);

    let signalled = Instant::now();
    server.terminate();

    // The stream ends: its last chunk, or the connection closes. A read timeout fails the test.
    loop {
        match read_chunk(&mut sse) {
            Ok(Some(_)) => continue,
            Ok(None) => break,
            Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => break,
            Err(e) => panic!("SSE stream did not end after SIGTERM: {e}"),
        }
    }
    let stream_ended = signalled.elapsed();

    let status = server
        .wait_exit(Duration::from_secs(5))
        .unwrap_or_else(|| panic!("still running 5 s after SIGTERM:\n{}", server.log()));
    let exited = signalled.elapsed();
    assert!(status.success(), "exit status {status}:\n{}", server.log());
    crate::support::report(format_args!(
        "SIGTERM: stream ended after {stream_ended:?}, process exited 0 after {exited:?}"
    ));

    for port in ports {
        UdpSocket::bind((Ipv4Addr::LOCALHOST, port))
            .unwrap_or_else(|e| panic!("UDP port {port} still taken after exit: {e}"));
    }
}
