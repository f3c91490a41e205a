//! The packet path of a room: arbitrary datagrams through `Router::handle_datagram` on every socket of a
//! plain producer's transport (comedia, RTCP apart) and a plain consumer's transport, from the latched
//! sender, from the receiver and from a stranger, interleaved with the sender's own VP8 stream, consumer
//! pauses and timers.
//!
//! Input: a sequence of operations `[op, len, bytes…]`. `op` bits 0-1 pick the socket, bits 2-4 the
//! source (or a valid packet from the sender, a timeout, a pause toggle), bits 5-7 advance the clock.
//!
//! The sender's transport also runs SCTP over UDP, so SCTP-looking datagrams (ports 5000/5000) reach its
//! association.
//!
//! Asserts: nothing panics; every received datagram is counted, every drop has exactly one reason; the
//! router sends only to the receiver's two ports, the sender's latched RTCP port and (SCTP only) the
//! sender's latched RTP tuple, and every RTP packet it sends parses and carries the consumer's SSRC (or its
//! RTX SSRC).
#![no_main]

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use libfuzzer_sys::fuzz_target;
use mediagate_engine::ids::{ConsumerId, ProducerId, TransportId};
use mediagate_engine::net::{Outbox, SocketRef};
use mediagate_engine::ortc;
use mediagate_engine::router::{
    BroadcasterOptions, ConnectParameters, ConsumerOptions, Device, PlainTransportSetup,
    ProducerOptions, Router, TransportSetup, TransportStats,
};
use mediagate_engine::rtp::{RtpHeader, RtpPacket, write_rtp};
use mediagate_engine::rtp_parameters::{
    MediaKind, RtcpFeedback, RtpCodecParameters, RtpEncodingParameters, RtpParameters,
};
use mediagate_engine::sctp_parameters::SctpParameters;
use mediagate_engine::transport_parameters::{Protocol, TransportTuple};

const SEND_RTP: SocketRef = SocketRef(10);
const SEND_RTCP: SocketRef = SocketRef(11);
const RECV_RTP: SocketRef = SocketRef(20);
const RECV_RTCP: SocketRef = SocketRef(21);
const SOCKETS: [SocketRef; 4] = [SEND_RTP, SEND_RTCP, RECV_RTP, RECV_RTCP];
const SENDER: &str = "127.0.0.1:6000";
const SENDER_RTCP: &str = "127.0.0.1:6001";
const RECEIVER: &str = "127.0.0.1:5004";
const RECEIVER_RTCP: &str = "127.0.0.1:5005";
const SOURCES: [&str; 5] = [
    SENDER,
    SENDER_RTCP,
    RECEIVER,
    RECEIVER_RTCP,
    "127.0.0.1:7777",
];

fn addr(s: &str) -> SocketAddr {
    s.parse().expect("address")
}

fn tuple(port: u16) -> TransportTuple {
    TransportTuple {
        local_address: "127.0.0.1".to_owned(),
        local_ip: "127.0.0.1".to_owned(),
        local_port: port,
        remote_ip: None,
        remote_port: None,
        protocol: Protocol::Udp,
    }
}

fn plain(comedia: bool, rtp: SocketRef, rtcp: SocketRef) -> TransportSetup {
    TransportSetup::Plain(PlainTransportSetup {
        tuple: tuple(40000),
        rtcp_tuple: Some(tuple(40001)),
        rtcp_mux: false,
        comedia,
        // The sender's transport runs SCTP too: SCTP-looking datagrams reach its association.
        sctp_parameters: comedia.then_some(SctpParameters {
            port: 5000,
            os: 16,
            mis: 16,
            max_message_size: 65_536,
        }),
        srtp_parameters: None,
        rtp_socket: rtp,
        rtcp_socket: Some(rtcp),
    })
}

struct Room {
    router: Router,
    send: TransportId,
    recv: TransportId,
    consumer: ConsumerId,
    /// The consumer's SSRC and RTX SSRC.
    ssrcs: (u32, Option<u32>),
}

/// A VP8 producer (SSRC 2222, PT 101, PLI) on a comedia transport, consumed (with RTX) on a transport
/// connected to 127.0.0.1:5004/5005.
fn room() -> Room {
    let caps = ortc::generate_router_rtp_capabilities(&ortc::default_media_codecs()).expect("caps");
    let mut router = Router::new("room".parse().expect("room"), caps, 7);
    let join = |router: &mut Router, id: &str, consumes: bool| {
        let rtp_capabilities = consumes.then(|| router.rtp_capabilities().clone());
        router
            .join(BroadcasterOptions {
                id: id.parse().expect("id"),
                display_name: id.to_owned(),
                device: Device {
                    flag: None,
                    name: "fuzz".to_owned(),
                    version: None,
                },
                rtp_capabilities,
                sctp_capabilities: None,
            })
            .expect("join");
        id.parse().expect("id")
    };
    let alice = join(&mut router, "alice", false);
    let bob = join(&mut router, "bob", true);
    let send = TransportId::new_random();
    router
        .create_transport(&alice, send, plain(true, SEND_RTP, SEND_RTCP))
        .expect("send transport");
    let producer = ProducerId::new_random();
    router
        .produce(
            send,
            producer,
            ProducerOptions {
                kind: MediaKind::Video,
                rtp_parameters: RtpParameters {
                    codecs: vec![RtpCodecParameters {
                        mime_type: "video/VP8".to_owned(),
                        payload_type: 101,
                        clock_rate: 90000,
                        channels: None,
                        parameters: Default::default(),
                        rtcp_feedback: vec![RtcpFeedback::new("nack", "pli")],
                    }],
                    encodings: vec![RtpEncodingParameters {
                        ssrc: Some(2222),
                        ..Default::default()
                    }],
                    ..Default::default()
                },
                paused: false,
                key_frame_request_delay: 0,
            },
        )
        .expect("produce");
    let recv = TransportId::new_random();
    router
        .create_transport(&bob, recv, plain(false, RECV_RTP, RECV_RTCP))
        .expect("recv transport");
    router
        .connect_transport(
            recv,
            ConnectParameters {
                ip: Some(addr(RECEIVER).ip()),
                port: Some(5004),
                rtcp_port: Some(5005),
                ..Default::default()
            },
        )
        .expect("connect");
    let consumer = ConsumerId::new_random();
    router
        .consume(
            recv,
            consumer,
            ConsumerOptions {
                producer_id: producer,
                rtp_capabilities: None,
                paused: false,
                mid: None,
                preferred_layers: None,
                enable_rtx: None,
                ignore_dtx: false,
            },
        )
        .expect("consume");
    let info = router.consumer(consumer).expect("consumer");
    let encoding = &info.rtp_parameters.encodings[0];
    let ssrcs = (encoding.ssrc.expect("ssrc"), encoding.rtx.map(|r| r.ssrc));
    while router.poll_event().is_some() {}
    Room {
        router,
        send,
        recv,
        consumer,
        ssrcs,
    }
}

fn assert_accounted(stats: &TransportStats, fed: u64) {
    assert_eq!(stats.packets_received, fed, "{stats:?}");
    let reasons = stats.dropped_unsupported
        + stats.dropped_unexpected_source
        + stats.dropped_srtp_failure
        + stats.dropped_malformed
        + stats.dropped_unknown_ssrc
        + stats.dropped_unknown_payload_type
        + stats.dropped_sctp;
    assert_eq!(reasons, stats.packets_dropped, "{stats:?}");
    assert!(stats.packets_dropped <= stats.packets_received, "{stats:?}");
}

fuzz_target!(|data: &[u8]| {
    let mut room = room();
    let mut out = Outbox::new();
    let t0 = Instant::now();
    let mut ms = 0u64;
    let mut seq = 100u16;
    let mut paused = false;
    let mut fed = (0u64, 0u64);
    let mut buf = Vec::with_capacity(1500);
    let mut rest = data;
    while let [op, len, tail @ ..] = rest {
        let len = usize::from(*len).min(tail.len());
        let (bytes, next) = tail.split_at(len);
        rest = next;
        ms += u64::from(op >> 5) * 15;
        let now = t0 + Duration::from_millis(ms);
        let socket = SOCKETS[usize::from(op & 3)];
        match (op >> 2) & 7 {
            source @ 0..=4 => {
                buf.clear();
                buf.extend_from_slice(bytes);
                let transport = if socket == RECV_RTP || socket == RECV_RTCP {
                    fed.1 += 1;
                    room.recv
                } else {
                    fed.0 += 1;
                    room.send
                };
                room.router.handle_datagram(
                    now,
                    transport,
                    socket,
                    addr(SOURCES[usize::from(source)]),
                    &mut buf,
                    &mut out,
                );
            }
            5 => {
                // The sender's own stream: a VP8 packet (a keyframe start when the op says so).
                let keyframe = op & 1 != 0;
                let payload: &[u8] = if keyframe {
                    &[
                        0x10, 0x50, 0x42, 0x00, 0x9d, 0x01, 0x2a, 0x80, 0x02, 0xe0, 0x01,
                    ]
                } else {
                    &[0x10, 0x31, 0x42, 0x00, 0xaa, 0xbb]
                };
                let mut packet = [0u8; 64];
                let len = write_rtp(
                    &mut packet,
                    &RtpHeader {
                        payload_type: 101,
                        sequence_number: seq,
                        timestamp: u32::from(seq) * 3000,
                        ssrc: 2222,
                        ..Default::default()
                    },
                    payload,
                )
                .expect("rtp");
                seq = seq.wrapping_add(1);
                fed.0 += 1;
                let from = addr(SENDER);
                room.router.handle_datagram(
                    now,
                    room.send,
                    SEND_RTP,
                    from,
                    &mut packet[..len],
                    &mut out,
                );
            }
            6 => {
                let unix = Duration::from_secs(1_700_000_000) + Duration::from_millis(ms);
                room.router.handle_timeout(now, unix, &mut out);
            }
            _ => {
                paused = !paused;
                room.router
                    .set_consumer_paused(room.consumer, paused)
                    .expect("consumer");
            }
        }
        for transmit in out.transmits() {
            let to = transmit.destination;
            match transmit.socket {
                RECV_RTP => {
                    assert_eq!(to, addr(RECEIVER));
                    let packet = RtpPacket::parse(transmit.bytes()).expect("what we send parses");
                    let ssrc = packet.ssrc();
                    assert!(
                        ssrc == room.ssrcs.0 || Some(ssrc) == room.ssrcs.1,
                        "ssrc {ssrc}"
                    );
                }
                RECV_RTCP => assert_eq!(to, addr(RECEIVER_RTCP)),
                SEND_RTCP => assert_eq!(to, addr(SENDER_RTCP)),
                SEND_RTP => {
                    // Only the sender's SCTP association answers there, to the latched tuple.
                    assert_eq!(&transmit.bytes()[..4], &[0x13, 0x88, 0x13, 0x88]);
                    let latched = match room.router.transport(room.send).expect("send") {
                        mediagate_engine::router::TransportInfo::Plain(info) => info.tuple,
                        other => panic!("plain transport expected: {other:?}"),
                    };
                    assert_eq!(Some(to.ip()), latched.remote_ip);
                    assert_eq!(Some(to.port()), latched.remote_port);
                }
                other => panic!("sent on {other:?} to {to}"),
            }
        }
        out.clear();
        while room.router.poll_event().is_some() {}
    }
    assert_accounted(
        &room.router.transport_stats(room.send).expect("send"),
        fed.0,
    );
    assert_accounted(
        &room.router.transport_stats(room.recv).expect("recv"),
        fed.1,
    );
});
