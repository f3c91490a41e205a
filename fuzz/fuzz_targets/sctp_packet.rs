//! A server `SctpAssociation` fed arbitrary SCTP packets, either raw (they meet the INIT path and our
//! pre-checks) or, when the first byte is odd, after a genuine handshake and DCEP open with an in-process
//! client, re-headed with the client's ports and verification tag and a valid CRC-32C, so that the
//! chunks reach the established association. Inputs are split into packets at 0xff bytes.
//! Never panics; a connected association is never reported `New` or `Connecting` again; the drop
//! counter never goes down; nothing sent is shorter than an SCTP common header.
#![no_main]

use std::time::{Duration, Instant};

use libfuzzer_sys::fuzz_target;
use mediagate_engine::sctp::{
    PPID_STRING, Reliability, SctpAssociation, SctpConfig, SctpEvent, SctpRole, SctpState,
};

fn shuttle(now: Instant, a: &mut SctpAssociation, b: &mut SctpAssociation) -> Option<Vec<u8>> {
    let mut last_client_packet = None;
    for _ in 0..16 {
        let mut moved = false;
        while let Some(p) = a.poll_transmit(now) {
            b.handle_packet(now, &p);
            last_client_packet = Some(p);
            moved = true;
        }
        while let Some(p) = b.poll_transmit(now) {
            a.handle_packet(now, &p);
            moved = true;
        }
        if !moved {
            break;
        }
    }
    last_client_packet
}

fn check_events(server: &mut SctpAssociation, connected: &mut bool) {
    while let Some(event) = server.poll_event() {
        if let SctpEvent::StateChanged(state) = event {
            if *connected {
                assert!(!matches!(state, SctpState::New | SctpState::Connecting));
            }
            *connected |= state == SctpState::Connected;
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, input)) = data.split_first() else {
        return;
    };
    let mut now = Instant::now();
    let config = SctpConfig::default();
    let mut server = SctpAssociation::new(config, SctpRole::Server, now).unwrap();
    let mut connected = false;
    let mut header = None;
    if mode & 1 == 1 {
        let mut client = SctpAssociation::new(config, SctpRole::Client, now).unwrap();
        shuttle(now, &mut client, &mut server);
        if client
            .open_stream(now, 0, true, Reliability::Reliable, "fuzz", "")
            .is_ok()
        {
            let _ = client.send(now, 0, PPID_STRING, b"hello");
        }
        header = shuttle(now, &mut client, &mut server).map(|p| p[..8].to_vec());
    }
    check_events(&mut server, &mut connected);
    let mut dropped = server.dropped_packets();
    for piece in input.split(|&b| b == 0xff).filter(|p| !p.is_empty()) {
        let packet = match &header {
            Some(header) => {
                let mut p = header.clone();
                p.extend_from_slice(&[0; 4]);
                p.extend_from_slice(piece);
                let crc = crc32c::crc32c(&p);
                p[8..12].copy_from_slice(&crc.to_le_bytes());
                p
            }
            None => piece.to_vec(),
        };
        server.handle_packet(now, &packet);
        assert!(server.dropped_packets() >= dropped);
        dropped = server.dropped_packets();
        while let Some(out) = server.poll_transmit(now) {
            assert!(out.len() >= 12);
        }
        if let Some(t) = server.poll_timeout() {
            now = now.max(t.min(now + Duration::from_secs(5)));
            server.handle_timeout(now);
        }
        check_events(&mut server, &mut connected);
    }
});
