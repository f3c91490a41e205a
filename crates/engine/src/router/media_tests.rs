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

pub(super) fn plain_setup(comedia: bool, rtp: SocketRef, rtcp: SocketRef) -> TransportSetup {
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

/// Feeds one datagram to the sending transport on `socket` from `from`; returns what the router sends.
fn feed(
    s: &mut Scenario,
    ms: u64,
    socket: SocketRef,
    from: &str,
    bytes: &[u8],
) -> Vec<(SocketRef, SocketAddr, Vec<u8>)> {
    let mut buf = bytes.to_vec();
    let now = s.at(ms);
    let transport = if socket == RECV_RTP || socket == RECV_RTCP {
        s.recv
    } else {
        s.send
    };
    s.router
        .handle_datagram(now, transport, socket, addr(from), &mut buf, &mut s.out);
    s.take()
}

/// Each drop has exactly one reason.
fn assert_reasons_add_up(stats: &TransportStats) {
    let reasons = stats.dropped_unsupported
        + stats.dropped_unexpected_source
        + stats.dropped_srtp_failure
        + stats.dropped_malformed
        + stats.dropped_unknown_ssrc
        + stats.dropped_unknown_payload_type
        + stats.dropped_ice_failure;
    assert_eq!(reasons, stats.packets_dropped, "{stats:?}");
}

#[test]
fn malformed_datagrams_from_the_latched_source_are_counted_and_do_not_disturb_the_stream() {
    let mut s = Scenario::new();
    let first = seq_of(&s.rtp(0, 10, true)[0].2);
    s.sender_report(5);
    let header = |b0: u8, pt: u8, ssrc: u32| {
        let mut h = vec![b0, pt, 0, 11, 0, 0, 0x80, 0xe8];
        h.extend_from_slice(&ssrc.to_be_bytes());
        h
    };
    // (datagram, socket, the counter it must land in)
    type Counter = fn(&TransportStats) -> u64;
    let unsupported: Counter = |s| s.dropped_unsupported;
    let malformed: Counter = |s| s.dropped_malformed;
    let unknown_ssrc: Counter = |s| s.dropped_unknown_ssrc;
    let unknown_pt: Counter = |s| s.dropped_unknown_payload_type;
    let mut cases: Vec<(Vec<u8>, SocketRef, Counter, &str)> = Vec::new();
    for len in 1..12 {
        cases.push((
            header(0x80, 101, 2222)[..len].to_vec(),
            SEND_RTP,
            unsupported,
            "truncated",
        ));
    }
    // CSRC count 15 with no CSRCs.
    let mut csrc = header(0x8f, 101, 2222);
    csrc.extend_from_slice(&[0x10, 0, 0]);
    cases.push((csrc, SEND_RTP, malformed, "csrc count"));
    // An extension header claiming 0xffff words.
    let mut extension = header(0x90, 101, 2222);
    extension.extend_from_slice(&[0xbe, 0xde, 0xff, 0xff, 0x10]);
    cases.push((extension, SEND_RTP, malformed, "extension length"));
    // Padding longer than the payload, and a zero padding count.
    let mut padding = header(0xa0, 101, 2222);
    padding.extend_from_slice(&[0x10, 0x00, 0x40]);
    cases.push((padding, SEND_RTP, malformed, "padding length"));
    let mut zero_padding = header(0xa0, 101, 2222);
    zero_padding.extend_from_slice(&[0x10, 0x00, 0x00]);
    cases.push((zero_padding, SEND_RTP, malformed, "zero padding"));
    // Valid RTP of a stream nobody declared, and of the producer with an undeclared payload type.
    let mut stranger = header(0x80, 101, 0xdead_beef);
    stranger.extend_from_slice(&[0x10, 0x00, 0x9d, 0x01, 0x2a]);
    cases.push((stranger, SEND_RTP, unknown_ssrc, "unknown ssrc"));
    let mut wrong_pt = header(0x80, 96, 2222);
    wrong_pt.extend_from_slice(&[0x10, 0x00, 0x9d, 0x01, 0x2a]);
    cases.push((wrong_pt, SEND_RTP, unknown_pt, "payload type"));
    // RTCP: a length running past the datagram; a second packet cut short; RTP on the RTCP port.
    cases.push((
        vec![0x80, 200, 0x00, 0x40, 0, 0, 0x08, 0xae],
        SEND_RTCP,
        malformed,
        "rtcp length",
    ));
    let mut cut = vec![0x80, 201, 0, 1, 0, 0, 0, 1];
    cut.extend_from_slice(&[0x81, 206, 0, 9, 1, 2]);
    cases.push((cut, SEND_RTCP, malformed, "rtcp compound"));
    // Shorter than an RTCP header with its SSRC: not even classified as RTCP.
    cases.push((
        vec![0x80, 200, 0, 0],
        SEND_RTCP,
        unsupported,
        "rtcp header only",
    ));
    cases.push((
        vec![0x80, 200, 0, 1, 0, 0, 0x08, 0xae],
        SEND_RTCP,
        malformed,
        "sr without sender info",
    ));
    let mut rtp_on_rtcp = header(0x80, 101, 2222);
    rtp_on_rtcp.extend_from_slice(&[0x10, 0x00, 0x9d, 0x01, 0x2a]);
    cases.push((rtp_on_rtcp, SEND_RTCP, unsupported, "rtp on the rtcp port"));
    // STUN and DTLS from the latched address, and a long datagram of zeros.
    cases.push((
        vec![
            0, 1, 0, 0, 0x21, 0x12, 0xa4, 0x42, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12,
        ],
        SEND_RTP,
        unsupported,
        "stun",
    ));
    cases.push((
        vec![0x16, 0xfe, 0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0],
        SEND_RTP,
        unsupported,
        "dtls",
    ));
    cases.push((vec![0; 1400], SEND_RTP, unsupported, "zeros"));

    let mut ms = 10;
    for (seq, (bytes, socket, counter, what)) in (11..).zip(cases) {
        let from = if socket == SEND_RTP {
            SENDER
        } else {
            SENDER_RTCP
        };
        let before = s.stats(s.send);
        ms += 1;
        assert!(
            feed(&mut s, ms, socket, from, &bytes).is_empty(),
            "{what}: forwarded"
        );
        let after = s.stats(s.send);
        assert_eq!(counter(&after), counter(&before) + 1, "{what}: {after:?}");
        assert_eq!(after.packets_dropped, before.packets_dropped + 1, "{what}");
        // The stream goes on, one output sequence number per input packet, with no gap.
        let sent = s.rtp(ms, seq, false);
        assert_eq!(sent.len(), 1, "{what}: the next packet was not forwarded");
        assert_eq!(seq_of(&sent[0].2), first.wrapping_add(seq - 10), "{what}");
    }
    let stats = s.stats(s.send);
    assert_reasons_add_up(&stats);
    let producer = s.router.producer_stats(s.producer).unwrap();
    assert_eq!(producer[0].packets_lost, 0, "{producer:?}");
    // The latched tuples did not move.
    let TransportInfo::Plain(info) = s.router.transport(s.send).unwrap() else {
        panic!("plain")
    };
    assert_eq!(info.tuple.remote_port, Some(6000));
    assert_eq!(info.rtcp_tuple.unwrap().remote_port, Some(6001));
}

/// One hostile or mangled datagram for the noise test: to which transport socket, from where.
fn noise_datagram(
    rng: &mut crate::net::noise::XorShift,
    seq: u16,
    consumer_ssrc: u32,
    buf: &mut Vec<u8>,
) -> (SocketRef, &'static str) {
    const SOURCES: [&str; 5] = [
        SENDER,
        SENDER_RTCP,
        RECEIVER,
        RECEIVER_RTCP,
        "127.0.0.1:7777",
    ];
    const SOCKETS: [SocketRef; 4] = [SEND_RTP, SEND_RTCP, RECV_RTP, RECV_RTCP];
    buf.clear();
    match rng.below(4) {
        0 => {
            buf.resize(rng.below(1500), 0);
            rng.fill(buf);
        }
        1 => {
            // A valid VP8 packet of the producer, then mangled.
            buf.resize(1500, 0);
            let len = write_rtp(
                buf,
                &RtpHeader {
                    payload_type: 101,
                    sequence_number: seq,
                    timestamp: u32::from(seq) * 3000,
                    ssrc: 2222,
                    ..Default::default()
                },
                &[0x10, 0x50, 0x42, 0x00, 0x9d, 0x01, 0x2a, 0x80, 0x02],
            )
            .unwrap();
            buf.truncate(len);
            rng.mutate(buf);
        }
        2 => {
            // RTCP feedback and reports, then mangled: a NACK and a PLI for the consumer, an SR.
            buf.resize(128, 0);
            let len = match rng.below(3) {
                0 => crate::rtcp::write_nack(buf, 1, consumer_ssrc, &[seq, seq.wrapping_sub(3)]),
                1 => crate::rtcp::write_pli(buf, 1, consumer_ssrc),
                _ => crate::rtcp::write_sender_report(
                    buf,
                    &crate::rtcp::SenderInfo {
                        ssrc: 2222,
                        ntp_timestamp: rng.next_u64(),
                        rtp_timestamp: 0,
                        packet_count: 0,
                        octet_count: 0,
                    },
                    &[],
                ),
            }
            .unwrap();
            buf.truncate(len);
            rng.mutate(buf);
        }
        _ => {
            // Anything that starts like STUN, DTLS, RTP or RTCP.
            buf.resize(1 + rng.below(200), 0);
            rng.fill(buf);
            buf[0] = [0x00, 0x01, 0x16, 0x17, 0x80, 0x81, 0x90, 0xa0, 0xbf][rng.below(9)];
        }
    }
    (SOCKETS[rng.below(4)], SOURCES[rng.below(5)])
}

#[test]
fn noise_on_every_port_from_every_address_never_panics_and_is_accounted() {
    let mut s = Scenario::new();
    s.rtp(0, 10, true);
    s.sender_report(5);
    let consumer = s.router.consumer(s.consumer).unwrap();
    let media_ssrc = consumer.rtp_parameters.encodings[0].ssrc.unwrap();
    let rtx_ssrc = consumer.rtp_parameters.encodings[0].rtx.map(|r| r.ssrc);
    let mut rng = crate::net::noise::XorShift::new(0x0bad_5eed);
    let mut buf = Vec::new();
    let (mut fed_send, mut fed_recv) = (0u64, 0u64);
    let before_send = s.stats(s.send).packets_received;
    let before_recv = s.stats(s.recv).packets_received;
    let mut seq = 11u16;
    for i in 0..20_000u64 {
        let ms = 10 + i;
        if i % 4 == 0 {
            // The sender's own stream goes on.
            s.rtp(ms, seq, seq % 30 == 0);
            fed_send += 1;
            seq = seq.wrapping_add(1);
        }
        let (socket, from) = noise_datagram(&mut rng, seq, media_ssrc, &mut buf);
        let now = s.at(ms);
        let transport = if socket == RECV_RTP || socket == RECV_RTCP {
            fed_recv += 1;
            s.recv
        } else {
            fed_send += 1;
            s.send
        };
        s.router
            .handle_datagram(now, transport, socket, addr(from), &mut buf, &mut s.out);
        if i % 500 == 0 {
            s.router.handle_timeout(
                now,
                Duration::from_secs(1_700_000_000 + i / 1000),
                &mut s.out,
            );
        }
        for (socket, to, bytes) in s.take() {
            // Media and reports go only to the two configured or latched ends.
            match (socket, to) {
                (RECV_RTP, to) if to == addr(RECEIVER) => {
                    let packet = RtpPacket::parse(&bytes).expect("what we send parses");
                    assert!(
                        packet.ssrc() == media_ssrc || Some(packet.ssrc()) == rtx_ssrc,
                        "{packet:?}"
                    );
                }
                (RECV_RTCP, to) if to == addr(RECEIVER_RTCP) => {}
                (SEND_RTCP, to) if to == addr(SENDER_RTCP) => {}
                other => panic!("sent to {other:?}"),
            }
        }
        drain(&mut s.router);
    }
    let (send, recv) = (s.stats(s.send), s.stats(s.recv));
    assert_eq!(send.packets_received - before_send, fed_send);
    assert_eq!(recv.packets_received - before_recv, fed_recv);
    assert_reasons_add_up(&send);
    assert_reasons_add_up(&recv);
    assert!(
        send.dropped_unexpected_source > 0 && send.dropped_malformed > 0,
        "{send:?}"
    );
    // The tuples held, and a fresh keyframe still gets through.
    let TransportInfo::Plain(info) = s.router.transport(s.send).unwrap() else {
        panic!("plain")
    };
    assert_eq!(info.tuple.remote_port, Some(6000));
    let delivered = (0..10u16)
        .filter(|k| {
            !s.rtp(30_000 + u64::from(*k), seq.wrapping_add(*k), true)
                .is_empty()
        })
        .count();
    assert!(delivered > 0, "the stream is wedged");
}

#[test]
fn a_truncated_datagram_is_counted_malformed_and_the_stream_goes_on() {
    let mut s = Scenario::new();
    let first = seq_of(&s.rtp(0, 10, true)[0].2);
    s.router.handle_truncated_datagram(s.send);
    let stats = s.stats(s.send);
    assert_eq!((stats.dropped_malformed, stats.packets_dropped), (1, 1));
    assert_eq!(stats.packets_received, 2);
    assert_eq!(seq_of(&s.rtp(33, 11, false)[0].2), first.wrapping_add(1));
}

#[test]
fn streams_without_signalled_ssrcs_are_found_by_mid_and_rid() {
    use crate::rtp_parameters::{RtpEncodingParameters, RtpHeaderExtensionParameters};
    let mut s = Scenario::new();
    // A second producer on the sending transport: MID "v2", simulcast RIDs "lo" and "hi", no SSRCs.
    let mut options = vp8(None, Some("v2"));
    options.rtp_parameters.encodings = ["lo", "hi"]
        .iter()
        .map(|rid| RtpEncodingParameters {
            rid: Some((*rid).to_owned()),
            ..Default::default()
        })
        .collect();
    options.rtp_parameters.header_extensions = vec![
        RtpHeaderExtensionParameters::new(crate::rtp::ext::uri::MID, 1),
        RtpHeaderExtensionParameters::new(crate::rtp::ext::uri::RTP_STREAM_ID, 2),
    ];
    let producer = ProducerId::new_random();
    s.router.produce(s.send, producer, options).unwrap();
    s.rtp(0, 1, true); // latch the sender
    let send = |s: &mut Scenario, ssrc: u32, mid: &[u8], rid: &[u8]| {
        let mut buf = [0u8; 1500];
        let extensions: [(u8, &[u8]); 2] = [(1, mid), (2, rid)];
        let len = write_rtp(
            &mut buf,
            &RtpHeader {
                payload_type: 101,
                sequence_number: 7,
                timestamp: 0,
                ssrc,
                extensions: &extensions,
                ..Default::default()
            },
            &[0x10, 0x31, 0x42],
        )
        .unwrap();
        let now = s.at(10);
        s.router.handle_datagram(
            now,
            s.send,
            SEND_RTP,
            addr(SENDER),
            &mut buf[..len],
            &mut s.out,
        );
    };
    send(&mut s, 5001, b"v2", b"hi");
    send(&mut s, 5002, b"v2", b"lo");
    send(&mut s, 5003, b"zz", b"lo");
    let stats = s.router.producer_stats(producer).unwrap();
    assert_eq!(stats[0].ssrc, 5002, "lo is the first encoding");
    assert_eq!(stats[1].ssrc, 5001);
    assert_eq!((stats[0].packet_count, stats[1].packet_count), (1, 1));
    assert_eq!(
        s.stats(s.send).dropped_unknown_ssrc,
        1,
        "an unknown MID is not routed"
    );
    // Learnt: the next packet of 5001 is routed by its SSRC alone.
    let mut buf = [0u8; 64];
    let len = write_rtp(
        &mut buf,
        &RtpHeader {
            payload_type: 101,
            sequence_number: 8,
            ssrc: 5001,
            ..Default::default()
        },
        &[0x10, 0x31],
    )
    .unwrap();
    let now = s.at(20);
    s.router.handle_datagram(
        now,
        s.send,
        SEND_RTP,
        addr(SENDER),
        &mut buf[..len],
        &mut s.out,
    );
    assert_eq!(
        s.router.producer_stats(producer).unwrap()[1].packet_count,
        2
    );
}
