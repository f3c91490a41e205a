//! Feedback toward producers on virtual time: NACKs and the RTX that answers them, transport-cc
//! feedback, REMB, and silence toward producers that negotiated none of it. The sender's packets are
//! laid out by hand here and the router's RTCP is decoded by hand, independently of the code under test.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use super::media_tests::plain_setup;
use super::tests::{consume_options, drain, join, router, vp8};
use super::*;
use crate::net::{Outbox, SocketRef};
use crate::rtp::RtpPacket;
use crate::rtp::ext::uri;
use crate::rtp_parameters::{
    ParameterValue, RtcpFeedback, RtpCodecParameters, RtpEncodingRtx, RtpHeaderExtensionParameters,
};

const SENDER: &str = "127.0.0.1:6000";
const SENDER_RTCP: &str = "127.0.0.1:6001";
const SEND_RTP: SocketRef = SocketRef(10);
const SEND_RTCP: SocketRef = SocketRef(11);
const RECV_RTP: SocketRef = SocketRef(20);
const RECV_RTCP: SocketRef = SocketRef(21);
const SSRC: u32 = 2222;
const RTX_SSRC: u32 = 3333;
const TCC_ID: u8 = 5;
const ABS_SEND_TIME_ID: u8 = 4;

fn addr(s: &str) -> SocketAddr {
    s.parse().unwrap()
}

/// What the sender negotiated.
#[derive(Clone, Copy, PartialEq)]
enum Publisher {
    /// `nack`, `nack pli`, RTX (PT 102, SSRC 3333) and transport-cc.
    Browser,
    /// abs-send-time and `goog-remb` only.
    RembOnly,
    /// No feedback at all, though it sends both bandwidth extensions.
    Plain,
}

struct Scenario {
    router: Router,
    send: TransportId,
    producer: ProducerId,
    out: Outbox,
    t0: Instant,
}

impl Scenario {
    fn new(publisher: Publisher) -> Self {
        let mut router = router();
        let alice = join(&mut router, "alice", false);
        let bob = join(&mut router, "bob", true);
        let send = TransportId::new_random();
        router
            .create_transport(&alice, send, plain_setup(true, SEND_RTP, SEND_RTCP))
            .unwrap();
        let mut options = vp8(Some(SSRC), None);
        let params = &mut options.rtp_parameters;
        let fb =
            |list: &[(&str, &str)]| list.iter().map(|(t, p)| RtcpFeedback::new(t, p)).collect();
        let ext = RtpHeaderExtensionParameters::new;
        params.header_extensions = vec![
            ext(uri::ABS_SEND_TIME, ABS_SEND_TIME_ID),
            ext(uri::TRANSPORT_WIDE_CC, TCC_ID),
        ];
        match publisher {
            Publisher::Browser => {
                params.codecs[0].rtcp_feedback =
                    fb(&[("nack", ""), ("nack", "pli"), ("transport-cc", "")]);
                params.codecs.push(RtpCodecParameters {
                    mime_type: "video/rtx".to_owned(),
                    payload_type: 102,
                    clock_rate: 90000,
                    channels: None,
                    parameters: [("apt".to_owned(), ParameterValue::Integer(101))].into(),
                    rtcp_feedback: vec![],
                });
                params.encodings[0].rtx = Some(RtpEncodingRtx { ssrc: RTX_SSRC });
            }
            Publisher::RembOnly => {
                params.codecs[0].rtcp_feedback = fb(&[("goog-remb", "")]);
                params.header_extensions.pop();
            }
            Publisher::Plain => {}
        }
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
                    ip: Some(addr("127.0.0.1:5004").ip()),
                    port: Some(5004),
                    rtcp_port: Some(5005),
                    ..Default::default()
                },
            )
            .unwrap();
        let mut options = consume_options(producer);
        options.paused = false;
        router
            .consume(recv, ConsumerId::new_random(), options)
            .unwrap();
        drain(&mut router);
        let mut s = Self {
            router,
            send,
            producer,
            out: Outbox::new(),
            t0: Instant::now(),
        };
        s.sender_report();
        s
    }

    fn at(&self, ms: u64) -> Instant {
        self.t0 + Duration::from_millis(ms)
    }

    /// The sender's RTCP from its RTCP port, by hand (an empty RR): it latches the RTCP tuple.
    fn sender_report(&mut self) {
        let mut rr = [0x80, 201, 0, 1, 0, 0, 0x08, 0xAE];
        let now = self.t0;
        self.router.handle_datagram(
            now,
            self.send,
            SEND_RTCP,
            addr(SENDER_RTCP),
            &mut rr,
            &mut self.out,
        );
    }

    /// One VP8 packet laid out by hand, with the transport-wide sequence number and abs-send-time
    /// extensions (one-byte form), on the media or the RTX stream.
    fn packet(seq: u16, keyframe: bool, tcc_seq: u16, rtx: Option<u16>) -> Vec<u8> {
        let (pt, ssrc, rtp_seq) = match rtx {
            Some(rtx_seq) => (102u8, RTX_SSRC, rtx_seq),
            None => (101, SSRC, seq),
        };
        let mut p = vec![0x90, pt];
        p.extend_from_slice(&rtp_seq.to_be_bytes());
        p.extend_from_slice(&(u32::from(seq) * 3000).to_be_bytes());
        p.extend_from_slice(&ssrc.to_be_bytes());
        // 0xBEDE, 2 words: tcc (id 5, 2 bytes), abs-send-time (id 4, 3 bytes), 1 byte padding.
        p.extend_from_slice(&[0xBE, 0xDE, 0, 2]);
        p.push(TCC_ID << 4 | 1);
        p.extend_from_slice(&tcc_seq.to_be_bytes());
        p.extend_from_slice(&[ABS_SEND_TIME_ID << 4 | 2, 0, 0, 0, 0]);
        if rtx.is_some() {
            p.extend_from_slice(&seq.to_be_bytes());
        }
        if keyframe {
            p.extend_from_slice(&[
                0x10, 0x50, 0x42, 0x00, 0x9d, 0x01, 0x2a, 0x80, 0x02, 0xe0, 0x01,
            ]);
        } else {
            p.extend_from_slice(&[0x10, 0x31, 0x42, 0x00, 0xaa, 0xbb]);
        }
        p
    }

    fn send(&mut self, at: Instant, mut bytes: Vec<u8>) -> Vec<(SocketAddr, Vec<u8>)> {
        self.router.handle_datagram(
            at,
            self.send,
            SEND_RTP,
            addr(SENDER),
            &mut bytes,
            &mut self.out,
        );
        self.take()
    }

    fn rtp(
        &mut self,
        ms: u64,
        seq: u16,
        keyframe: bool,
        tcc_seq: u16,
    ) -> Vec<(SocketAddr, Vec<u8>)> {
        let at = self.at(ms);
        self.send(at, Self::packet(seq, keyframe, tcc_seq, None))
    }

    fn rtx(&mut self, ms: u64, seq: u16, rtx_seq: u16, tcc_seq: u16) -> Vec<(SocketAddr, Vec<u8>)> {
        let at = self.at(ms);
        self.send(at, Self::packet(seq, false, tcc_seq, Some(rtx_seq)))
    }

    /// Runs the timeout at `at` if one is due by then; returns what was sent.
    fn timeout(&mut self, at: Instant) -> Vec<(SocketAddr, Vec<u8>)> {
        if self.router.poll_timeout().is_some_and(|t| t <= at) {
            let unix = Duration::from_secs(1_700_000_000) + (at - self.t0);
            self.router.handle_timeout(at, unix, &mut self.out);
        }
        self.take()
    }

    fn take(&mut self) -> Vec<(SocketAddr, Vec<u8>)> {
        let sent = self
            .out
            .transmits()
            .iter()
            .map(|t| (t.destination, t.bytes().to_vec()))
            .collect();
        self.out.clear();
        sent
    }

    fn stats(&mut self) -> ProducerStats {
        self.router.producer_stats(self.producer).unwrap().remove(0)
    }
}

/// The RTCP packets of the datagrams sent to the sender, as (packet type, count/FMT, body after the
/// 4-byte header), walked by hand.
fn rtcp_to_sender(sent: &[(SocketAddr, Vec<u8>)]) -> Vec<(u8, u8, Vec<u8>)> {
    let mut packets = Vec::new();
    for (to, bytes) in sent {
        if *to != addr(SENDER_RTCP) {
            continue;
        }
        let mut rest = &bytes[..];
        while rest.len() >= 4 {
            let len = (usize::from(u16::from_be_bytes([rest[2], rest[3]])) + 1) * 4;
            packets.push((rest[1], rest[0] & 0x1f, rest[4..len].to_vec()));
            rest = &rest[len..];
        }
    }
    packets
}

/// The sequence numbers the generic NACKs (PT 205, FMT 1) in `sent` ask for, BLP expanded by hand.
fn nacked(sent: &[(SocketAddr, Vec<u8>)]) -> Vec<u16> {
    let mut lost = Vec::new();
    for (pt, fmt, body) in rtcp_to_sender(sent) {
        if (pt, fmt) != (205, 1) {
            continue;
        }
        assert_eq!(u32::from_be_bytes(body[4..8].try_into().unwrap()), SSRC);
        for fci in body[8..].chunks(4) {
            let pid = u16::from_be_bytes([fci[0], fci[1]]);
            let blp = u16::from_be_bytes([fci[2], fci[3]]);
            lost.push(pid);
            lost.extend((0..16).filter(|i| blp & (1 << i) != 0).map(|i| pid + i + 1));
        }
    }
    lost
}

/// Transport-cc feedback (PT 205, FMT 15) decoded by hand: (base, reference time in 64 ms units,
/// [(seq, receive delta in 250 µs units)]).
fn transport_cc(body: &[u8]) -> (u16, i32, Vec<(u16, Option<i32>)>) {
    let fci = &body[8..];
    let base = u16::from_be_bytes([fci[0], fci[1]]);
    let count = usize::from(u16::from_be_bytes([fci[2], fci[3]]));
    let reference = i32::from_be_bytes([fci[4], fci[5], fci[6], 0]) >> 8;
    let mut symbols = Vec::new();
    let mut at = 8;
    while symbols.len() < count {
        let c = u16::from_be_bytes([fci[at], fci[at + 1]]);
        at += 2;
        match c >> 14 {
            0 | 1 => symbols.extend(std::iter::repeat_n((c >> 13) & 3, usize::from(c & 0x1fff))),
            2 => symbols.extend((0..14).map(|i| (c >> (13 - i)) & 1)),
            _ => symbols.extend((0..7).map(|i| (c >> (12 - 2 * i)) & 3)),
        }
    }
    symbols.truncate(count);
    let mut statuses = Vec::new();
    for (i, s) in symbols.into_iter().enumerate() {
        let delta = match s {
            1 => {
                at += 1;
                Some(i32::from(fci[at - 1]))
            }
            2 => {
                at += 2;
                Some(i32::from(i16::from_be_bytes([fci[at - 2], fci[at - 1]])))
            }
            _ => None,
        };
        statuses.push((base.wrapping_add(i as u16), delta));
    }
    (base, reference, statuses)
}

fn media_to_consumer(sent: &[(SocketAddr, Vec<u8>)]) -> Vec<RtpPacket<'_>> {
    sent.iter()
        .filter(|(to, _)| to.port() == 5004)
        .map(|(_, bytes)| RtpPacket::parse(bytes).unwrap())
        .collect()
}

#[test]
fn a_gap_is_nacked_with_backoff_until_rtx_fills_it() {
    let mut s = Scenario::new(Publisher::Browser);
    s.timeout(s.t0); // the first reports
    let sent = s.rtp(0, 100, true, 1);
    let first_out = media_to_consumer(&sent)[0].sequence_number();
    s.rtp(33, 101, false, 2);
    // 102, 103 and 104 are lost.
    s.rtp(66, 105, false, 6);
    let sent = s.timeout(s.at(66));
    assert_eq!(nacked(&sent), vec![102, 103, 104]);
    // Not again before one RTT (100 ms), then again; then 125 ms later.
    assert!(nacked(&s.timeout(s.at(165))).is_empty());
    assert_eq!(nacked(&s.timeout(s.at(166))), vec![102, 103, 104]);
    assert!(nacked(&s.timeout(s.at(290))).is_empty());
    assert_eq!(nacked(&s.timeout(s.at(291))), vec![102, 103, 104]);
    // The sender answers with RTX: each reaches the consumer with its original place in the sequence.
    for (i, seq) in [102u16, 103, 104].into_iter().enumerate() {
        let sent = s.rtx(300 + i as u64, seq, 1 + i as u16, 10 + i as u16);
        let forwarded = media_to_consumer(&sent);
        assert_eq!(forwarded.len(), 1);
        assert_eq!(
            forwarded[0].sequence_number(),
            first_out.wrapping_add(seq - 100)
        );
        assert_eq!(
            forwarded[0].payload(),
            &[0x10, 0x31, 0x42, 0x00, 0xaa, 0xbb]
        );
        assert_eq!(forwarded[0].payload_type(), 101);
    }
    // A duplicate RTX is dropped; nothing is NACKed any more.
    assert!(media_to_consumer(&s.rtx(310, 103, 4, 13)).is_empty());
    assert!(nacked(&s.timeout(s.at(1000))).is_empty());
    let stats = s.stats();
    assert_eq!((stats.nack_count, stats.nack_packet_count), (3, 9));
    assert_eq!(
        (
            stats.packets_retransmitted,
            stats.packets_repaired,
            stats.packets_discarded
        ),
        (4, 3, 1)
    );
    assert_eq!(stats.packets_lost, 0);
}

#[test]
fn transport_cc_feedback_every_100_ms_covers_exactly_what_arrived() {
    let mut s = Scenario::new(Publisher::Browser);
    // Transport-wide 1..=10 every 5 ms (media 100..), 4 lost in flight, RTX probes count too.
    for i in 0..10u16 {
        if i == 3 {
            continue;
        }
        let sent = s.rtp(u64::from(i) * 5, 100 + i, i == 0, 1 + i);
        // Toward the consumer the producer's transport-wide number is gone.
        for packet in media_to_consumer(&sent) {
            assert!(packet.extensions().all(|(id, _)| id != TCC_ID && id != 1));
        }
    }
    let sent = s.timeout(s.at(99));
    assert!(
        rtcp_to_sender(&sent)
            .iter()
            .all(|p| (p.0, p.1) != (205, 15)),
        "not before 100 ms"
    );
    let sent = s.timeout(s.at(100));
    let feedback: Vec<_> = rtcp_to_sender(&sent)
        .into_iter()
        .filter(|p| (p.0, p.1) == (205, 15))
        .collect();
    assert_eq!(feedback.len(), 1);
    let (base, reference, statuses) = transport_cc(&feedback[0].2);
    assert_eq!((base, reference), (1, 0));
    let mut expected = vec![(1, Some(0))];
    for i in 1..10u16 {
        expected.push((
            1 + i,
            match i {
                3 => None,
                4 => Some(40), // 10 ms after the previous received
                _ => Some(20), // 5 ms
            },
        ));
    }
    assert_eq!(statuses, expected);
    // The next feedback, 100 ms later, covers only what came since.
    s.rtp(150, 110, false, 11);
    s.rtp(151, 111, false, 12);
    let sent = s.timeout(s.at(200));
    let feedback: Vec<_> = rtcp_to_sender(&sent)
        .into_iter()
        .filter(|p| (p.0, p.1) == (205, 15))
        .collect();
    let (base, reference, statuses) = transport_cc(&feedback[0].2);
    // 150 ms = reference 2 (128 ms) + 22 ms = 88 units.
    assert_eq!((base, reference), (11, 2));
    assert_eq!(statuses, vec![(11, Some(88)), (12, Some(4))]);
    // No REMB alongside transport-cc.
    assert!(
        rtcp_to_sender(&s.timeout(s.at(2000)))
            .iter()
            .all(|p| (p.0, p.1) != (206, 15))
    );
}

#[test]
fn remb_when_only_remb_was_negotiated() {
    let mut s = Scenario::new(Publisher::RembOnly);
    let mut rembs = Vec::new();
    for i in 0..150u16 {
        let ms = u64::from(i) * 10;
        s.rtp(ms, i, i == 0, i);
        let sent = s.timeout(s.at(ms));
        for (pt, fmt, body) in rtcp_to_sender(&sent) {
            assert_ne!((pt, fmt), (205, 1), "no NACK");
            assert_ne!((pt, fmt), (205, 15), "no transport-cc");
            if (pt, fmt) == (206, 15) {
                assert_eq!(&body[8..12], b"REMB");
                assert_eq!(body[12], 1);
                let exp = body[13] >> 2;
                let mantissa = u64::from(u32::from_be_bytes([0, body[13] & 3, body[14], body[15]]));
                assert_eq!(u32::from_be_bytes(body[16..20].try_into().unwrap()), SSRC);
                rembs.push((ms, mantissa << exp));
            }
        }
    }
    // Once, a second after the first packet: ~50 packets × ~37 bytes a second is far below the floor.
    assert_eq!(rembs.len(), 1, "{rembs:?}");
    assert_eq!(rembs[0].0, 1000);
    assert!((299_000..=300_000).contains(&rembs[0].1), "{rembs:?}");
}

#[test]
fn nothing_but_reports_toward_a_producer_without_feedback() {
    let mut s = Scenario::new(Publisher::Plain);
    let mut seq = 0u16;
    let mut types = std::collections::BTreeSet::new();
    for ms in (0..3000).step_by(10) {
        seq += if ms % 100 == 0 { 5 } else { 1 }; // regular losses
        s.rtp(ms, seq, ms == 0, seq);
        types.extend(
            rtcp_to_sender(&s.timeout(s.at(ms)))
                .into_iter()
                .map(|p| (p.0, p.1)),
        );
    }
    assert_eq!(
        types.into_iter().collect::<Vec<_>>(),
        vec![(201, 1)],
        "receiver reports only"
    );
    let stats = s.stats();
    assert!(stats.packets_lost > 0);
    assert_eq!((stats.nack_count, stats.pli_count), (0, 0));
}
