//! The server starts from the README's command with no configuration and answers `GET /health`.

use std::net::{Ipv4Addr, SocketAddr, TcpListener};

use crate::support::Server;

#[test]
fn starts_without_configuration_and_answers_health() {
    // The README's `cargo run --release` passes no flag. Use exactly that when the default port is free;
    // otherwise (another server on this machine holds it) change nothing but the listen address.
    let default = SocketAddr::from((Ipv4Addr::LOCALHOST, 3000));
    let default_free = TcpListener::bind(default).is_ok();
    let server = if default_free {
        Server::spawn(&[], default)
    } else {
        let port = crate::support::free_port();
        let listen = format!("127.0.0.1:{port}");
        Server::spawn(
            &["--listen", &listen],
            SocketAddr::from((Ipv4Addr::LOCALHOST, port)),
        )
    };
    crate::support::report(format_args!(
        "started with {} on {}",
        if default_free {
            "no flags"
        } else {
            "only --listen"
        },
        server.addr
    ));

    let health = server.client().get("/health").expect(200).json();
    assert_eq!(health["status"], "ok", "{health}");
    assert!(health["workers"].as_u64().unwrap_or(0) >= 1, "{health}");
    assert_eq!(health["rooms"], 0, "{health}");
    assert_eq!(health["sockets"], 0, "{health}");
    server.stop();
}
