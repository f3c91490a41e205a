//! Packet-path scenarios on virtual time: a sender and a receiver on plain transports, with the
//! independent packet builders of the `rtp` and `rtcp` modules standing in for FFmpeg.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use super::tests::{consume_options, drain, join, router, vp8};
use super::*;
use crate::net::{Outbox, SocketRef};
use crate::rtp::{RtpHeader, RtpPacket, write_rtp};

const SENDER: &str = "127.0.0.1:6000";
const SENDER_RTCP: &str = "127.0.0.1:6001";
const RECEIVER: &str = "127.0.0.1:5004";
const RECEIVER_RTCP: &str = "127.0.0.1:5005";
/// Sockets of the sending transport (RTP, RTCP) and the receiving one.
const SEND_RTP: SocketRef = SocketRef(10);
const SEND_RTCP: SocketRef = SocketRef(11);
const RECV_RTP: SocketRef = SocketRef(20);
const RECV_RTCP: SocketRef = SocketRef(21);

fn addr(s: &str) -> SocketAddr {
    s.parse().unwrap()
}

struct Scenario {
    router: Router,
    send: TransportId,
    recv: TransportId,
    producer: ProducerId,
    consumer: ConsumerId,
    out: Outbox,
    t0: Instant,
}

fn plain_setup(comedia: bool, rtp: SocketRef, rtcp: SocketRef) -> TransportSetup {
    let tuple = |port| crate::transport_parameters::TransportTuple {
        local_address: "127.0.0.1".to_owned(),
        local_ip: "127.0.0.1".to_owned(),
        local_port: port,
        remote_ip: None,
        remote_port: None,
        protocol: crate::transport_parameters::Protocol::Udp,
    };
    TransportSetup::Plain(PlainTransportSetup {
        tuple: tuple(40000),
        rtcp_tuple: Some(tuple(40001)),
        rtcp_mux: false,
        comedia,
        sctp_parameters: None,
        srtp_parameters: None,
        rtp_socket: rtp,
        rtcp_socket: Some(rtcp),
    })
}

impl Scenario {
    /// Alice sends VP8 (SSRC 2222, PT 101, with PLI feedback) over comedia; Bob receives on 5004/5005.
    fn new() -> Self {
        let mut router = router();
        let alice = join(&mut router, "alice", false);
        let bob = join(&mut router, "bob", true);
        let send = TransportId::new_random();
        router
            .create_transport(&alice, send, plain_setup(true, SEND_RTP, SEND_RTCP))
            .unwrap();
        let mut options = vp8(Some(2222), None);
        options.rtp_parameters.codecs[0].rtcp_feedback =
            vec![crate::rtp_parameters::RtcpFeedback::new("nack", "pli")];
        let producer = ProducerId::new_random();
        router.produce(send, producer, options).unwrap();
        let recv = TransportId::new_random();
        router
            .create_transport(&bob, recv, plain_setup(false, RECV_RTP, RECV_RTCP))
            .unwrap();
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
            .unwrap();
        let consumer = ConsumerId::new_random();
        let mut options = consume_options(producer);
        options.paused = false;
        router.consume(recv, consumer, options).unwrap();
        drain(&mut router);
        Self {
            router,
            send,
            recv,
            producer,
            consumer,
            out: Outbox::new(),
            t0: Instant::now(),
        }
    }

    fn at(&self, ms: u64) -> Instant {
        self.t0 + Duration::from_millis(ms)
    }

    /// Sends one VP8 packet from the sender; returns what the router wants sent.
    fn rtp(&mut self, ms: u64, seq: u16, keyframe: bool) -> Vec<(SocketRef, SocketAddr, Vec<u8>)> {
        self.rtp_from(ms, SENDER, 2222, seq, keyframe)
    }

    fn rtp_from(
        &mut self,
        ms: u64,
        from: &str,
        ssrc: u32,
        seq: u16,
        keyframe: bool,
    ) -> Vec<(SocketRef, SocketAddr, Vec<u8>)> {
        let payload: &[u8] = if keyframe {
            &[
                0x10, 0x50, 0x42, 0x00, 0x9d, 0x01, 0x2a, 0x80, 0x02, 0xe0, 0x01,
            ]
        } else {
            &[0x10, 0x31, 0x42, 0x00, 0xaa, 0xbb]
        };
        let mut buf = [0u8; 1500];
        let len = write_rtp(
            &mut buf,
            &RtpHeader {
                payload_type: 101,
                sequence_number: seq,
                timestamp: u32::from(seq) * 3000,
                ssrc,
                ..Default::default()
            },
            payload,
        )
        .unwrap();
        let now = self.at(ms);
        self.router.handle_datagram(
            now,
            self.send,
            SEND_RTP,
            addr(from),
            &mut buf[..len],
            &mut self.out,
        );
        self.take()
    }

    /// The sender's SR: it latches the sender's RTCP tuple (comedia).
    fn sender_report(&mut self, ms: u64) {
        let mut buf = [0u8; 64];
        let info = crate::rtcp::SenderInfo {
            ssrc: 2222,
            ntp_timestamp: 0x1234_5678_9abc_def0,
            rtp_timestamp: 30000,
            packet_count: 1,
            octet_count: 11,
        };
        let len = crate::rtcp::write_sender_report(&mut buf, &info, &[]).unwrap();
        let now = self.at(ms);
        self.router.handle_datagram(
            now,
            self.send,
            SEND_RTCP,
            addr(SENDER_RTCP),
            &mut buf[..len],
            &mut self.out,
        );
    }

    fn take(&mut self) -> Vec<(SocketRef, SocketAddr, Vec<u8>)> {
        let sent = self
            .out
            .transmits()
            .iter()
            .map(|t| (t.socket, t.destination, t.bytes().to_vec()))
            .collect();
        self.out.clear();
        sent
    }

    fn stats(&self, transport: TransportId) -> TransportStats {
        self.router.transport_stats(transport).unwrap()
    }
}

fn seq_of(bytes: &[u8]) -> u16 {
    RtpPacket::parse(bytes).unwrap().sequence_number()
}

#[test]
fn a_consumer_starts_at_a_keyframe_and_rewrites_the_stream() {
    let mut s = Scenario::new();
    // The first packet latches the sender's address; the consumer waits for a keyframe.
    assert!(s.rtp(0, 100, false).is_empty());
    let events = drain(&mut s.router);
    assert!(
        matches!(&events[..], [RouterEvent::TransportTuple { tuple, .. }] if tuple.remote_port == Some(6000)),
        "{events:?}"
    );
    let sent = s.rtp(33, 101, true);
    assert_eq!(sent.len(), 1);
    let (socket, to, bytes) = &sent[0];
    assert_eq!((*socket, *to), (RECV_RTP, addr(RECEIVER)));
    let packet = RtpPacket::parse(bytes).unwrap();
    let consumer = s.router.consumer(s.consumer).unwrap();
    assert_eq!(
        Some(packet.ssrc()),
        consumer.rtp_parameters.encodings[0].ssrc
    );
    assert_eq!(packet.payload_type(), 101);
    let first = packet.sequence_number();
    // Later packets follow, a real loss stays visible as a gap.
    assert_eq!(seq_of(&s.rtp(66, 102, false)[0].2), first.wrapping_add(1));
    assert_eq!(seq_of(&s.rtp(132, 104, false)[0].2), first.wrapping_add(3));
}

#[test]
fn pausing_and_resuming_leaves_no_sequence_gap() {
    let mut s = Scenario::new();
    s.rtp(0, 10, true);
    s.sender_report(5);
    let last = seq_of(&s.rtp(33, 11, false)[0].2);
    s.router.set_consumer_paused(s.consumer, true).unwrap();
    assert!(s.rtp(66, 12, false).is_empty());
    s.router.set_consumer_paused(s.consumer, false).unwrap();
    // Resuming asks the sender for a keyframe at the next timeout (it negotiated PLI).
    let now = s.at(70);
    s.router
        .handle_timeout(now, Duration::from_secs(1_700_000_000), &mut s.out);
    let sent = s.take();
    assert!(
        sent.iter()
            .any(|(socket, to, b)| *socket == SEND_RTCP && *to == addr(SENDER_RTCP) && b[1] == 206),
        "no PLI toward the sender: {sent:?}"
    );
    // Not a keyframe: still waiting.
    assert!(s.rtp(100, 13, false).is_empty());
    let sent = s.rtp(133, 20, true);
    assert_eq!(seq_of(&sent[0].2), last.wrapping_add(1));
    // Producer pause and resume behave the same.
    s.router.set_producer_paused(s.producer, true).unwrap();
    assert!(s.rtp(166, 21, true).is_empty());
    s.router.set_producer_paused(s.producer, false).unwrap();
    assert_eq!(seq_of(&s.rtp(200, 30, true)[0].2), last.wrapping_add(2));
}

#[test]
fn strangers_and_unknown_streams_are_dropped_and_counted() {
    let mut s = Scenario::new();
    s.rtp(0, 10, true);
    assert!(s.rtp_from(10, "127.0.0.1:7777", 2222, 11, false).is_empty());
    assert!(s.rtp(20, 12, false).len() == 1);
    assert!(s.rtp_from(30, SENDER, 9999, 13, true).is_empty());
    let mut garbage = [0x80u8, 101, 0, 1];
    s.router.handle_datagram(
        s.at(40),
        s.send,
        SEND_RTP,
        addr(SENDER),
        &mut garbage,
        &mut s.out,
    );
    let stats = s.stats(s.send);
    assert_eq!(stats.dropped_unexpected_source, 1);
    assert_eq!(stats.dropped_unknown_ssrc, 1);
    assert_eq!(stats.dropped_unsupported, 1, "4 bytes are not RTP");
    assert_eq!(stats.packets_dropped, 3);
    assert_eq!(stats.packets_received, 5);
}

#[test]
fn a_nack_from_the_receiver_is_answered_from_the_buffer_as_rtx() {
    let mut s = Scenario::new();
    s.rtp(0, 10, true);
    let original = s.rtp(33, 11, false).remove(0).2;
    let out_seq = seq_of(&original);
    let consumer = s.router.consumer(s.consumer).unwrap();
    let media_ssrc = consumer.rtp_parameters.encodings[0].ssrc.unwrap();
    let rtx_ssrc = consumer.rtp_parameters.encodings[0].rtx.unwrap().ssrc;
    let mut buf = [0u8; 64];
    let len = crate::rtcp::write_nack(&mut buf, 1, media_ssrc, &[out_seq]).unwrap();
    s.router.handle_datagram(
        s.at(50),
        s.recv,
        RECV_RTCP,
        addr(RECEIVER_RTCP),
        &mut buf[..len],
        &mut s.out,
    );
    let sent = s.take();
    assert_eq!(sent.len(), 1, "{sent:?}");
    let rtx = RtpPacket::parse(&sent[0].2).unwrap();
    assert_eq!(rtx.ssrc(), rtx_ssrc);
    assert_eq!(rtx.payload_type(), 102);
    assert_eq!(&rtx.payload()[..2], &out_seq.to_be_bytes());
    assert_eq!(
        &rtx.payload()[2..],
        RtpPacket::parse(&original).unwrap().payload()
    );
}

#[test]
fn reports_flow_both_ways_once_a_second() {
    let mut s = Scenario::new();
    s.rtp(0, 10, true);
    s.sender_report(10);
    assert!(
        drain(&mut s.router)
            .iter()
            .any(|e| matches!(e, RouterEvent::TransportRtcpTuple { .. }))
    );
    s.router
        .handle_timeout(s.at(1000), Duration::from_secs(1_700_000_000), &mut s.out);
    let sent = s.take();
    let rr = sent
        .iter()
        .find(|(socket, to, b)| *socket == SEND_RTCP && *to == addr(SENDER_RTCP) && b[1] == 201)
        .expect("a receiver report to the sender");
    // One report block on SSRC 2222 whose LSR echoes the SR's middle bits.
    assert_eq!(rr.2[0] & 0x1f, 1);
    assert_eq!(&rr.2[8..12], &2222u32.to_be_bytes());
    assert_eq!(&rr.2[24..28], &0x5678_9abcu32.to_be_bytes());
    let sr = sent
        .iter()
        .find(|(socket, to, _)| *socket == RECV_RTCP && *to == addr(RECEIVER_RTCP))
        .expect("a sender report to the receiver");
    assert_eq!(sr.2[1], 200);
    // The score went up with the packets delivered.
    assert!(
        drain(&mut s.router)
            .iter()
            .any(|e| matches!(e, RouterEvent::ProducerScore { score, .. } if score[0].score == 10))
    );
    assert!(s.router.poll_timeout().unwrap() > s.at(1000));
}
