//! Play negotiation on virtual time: a viewer's recvonly offer (Chrome's, from the SDP fixtures) on a WebRTC
//! transport is answered with consumers of producers numbered by the router; what leaves the transport,
//! decrypted with the keys of a DTLS client standing in for the viewer, is in the viewer's own payload types
//! and extension ids, RTX included.

use std::net::SocketAddr;
use std::time::Duration;

use super::tests::{drain, join, plain, vp8};
use super::transport::TransportKind;
use super::webrtc_tests::{Link, SOCKET, peer, peer_certificate};
use super::*;
use crate::net::SocketRef;
use crate::rtp::{ExtensionForm, RtpHeader, RtpPacket, write_rtp};
use crate::rtp_parameters::{
    MediaKind, RtcpFeedback, RtpCodecParameters, RtpEncodingParameters,
    RtpHeaderExtensionParameters, RtpParameters,
};
use crate::sdp::SdpError;
use crate::transport_parameters::FingerprintAlgorithm;

const CHROME_PLAY: &str = include_str!("../sdp/fixtures/chrome_play_offer.sdp");
const CHROME_PLAY_FP: &str = "2F:8A:5C:91:E4:07:3B:D6:1A:C2:58:7E:F0:93:4D:B1:6C:25:8E:A7:D3:40:19:BE:72:C5:0F:E8:96:3A:4B:D1";
/// The producers' plain transport: its RTP socket (see `tests::plain`) and the sender's address.
const SEND_RTP: SocketRef = SocketRef(0);
const SENDER: &str = "127.0.0.1:6000";

const ABS_SEND_TIME: &str = "http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time";
const VIDEO_ORIENTATION: &str = "urn:3gpp:video-orientation";
const AUDIO_LEVEL: &str = "urn:ietf:params:rtp-hdrext:ssrc-audio-level";
const TOFFSET: &str = "urn:ietf:params:rtp-hdrext:toffset";
const TRANSPORT_WIDE_CC: &str =
    "http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01";

/// Chrome's play offer naming `fingerprint`, its video section reduced to VP8 (96) and its RTX (97), with
/// `more_video` copies of that section (mids 2, 3, …) added to the BUNDLE group.
fn offer(fingerprint: &str, more_video: usize) -> String {
    let text = CHROME_PLAY.replace(CHROME_PLAY_FP, fingerprint);
    let (audio, video) = text.split_at(text.find("m=video").expect("a video section"));
    let video: String = video
        .lines()
        .filter(|l| {
            ["a=rtpmap:", "a=fmtp:", "a=rtcp-fb:"]
                .iter()
                .find_map(|p| l.strip_prefix(p))
                .is_none_or(|rest| rest.starts_with("96 ") || rest.starts_with("97 "))
        })
        .map(|l| match l.starts_with("m=video") {
            true => "m=video 9 UDP/TLS/RTP/SAVPF 96 97\n".to_owned(),
            false => format!("{l}\n"),
        })
        .collect();
    let mut out = format!("{audio}{video}");
    let mut bundle = "a=group:BUNDLE 0 1".to_owned();
    for mid in 2..2 + more_video {
        out.push_str(&video.replace("a=mid:1\n", &format!("a=mid:{mid}\n")));
        bundle.push_str(&format!(" {mid}"));
    }
    out.replacen("a=group:BUNDLE 0 1", &bundle, 1)
}

/// VP8 in the router's numbering (PT 101, abs-send-time 4, transport-cc 5, video orientation 11,
/// toffset 12), with NACK and PLI.
fn vp8_producer(ssrc: u32) -> ProducerOptions {
    let mut options = vp8(Some(ssrc), None);
    options.rtp_parameters.codecs[0].rtcp_feedback = vec![
        RtcpFeedback::new("nack", ""),
        RtcpFeedback::new("nack", "pli"),
    ];
    options.rtp_parameters.header_extensions = vec![
        RtpHeaderExtensionParameters::new(ABS_SEND_TIME, 4),
        RtpHeaderExtensionParameters::new(TRANSPORT_WIDE_CC, 5),
        RtpHeaderExtensionParameters::new(VIDEO_ORIENTATION, 11),
        RtpHeaderExtensionParameters::new(TOFFSET, 12),
    ];
    options
}

fn single_codec(kind: MediaKind, codec: RtpCodecParameters, ssrc: u32) -> ProducerOptions {
    ProducerOptions {
        kind,
        rtp_parameters: RtpParameters {
            codecs: vec![codec],
            encodings: vec![RtpEncodingParameters {
                ssrc: Some(ssrc),
                ..Default::default()
            }],
            ..Default::default()
        },
        paused: false,
        key_frame_request_delay: 0,
    }
}

/// Opus at the router's PT 100, with the audio level at the router's id 10.
fn opus_producer(ssrc: u32) -> ProducerOptions {
    let codec = RtpCodecParameters {
        mime_type: "audio/opus".to_owned(),
        payload_type: 100,
        clock_rate: 48000,
        channels: Some(2),
        parameters: Default::default(),
        rtcp_feedback: vec![],
    };
    let mut options = single_codec(MediaKind::Audio, codec, ssrc);
    options.rtp_parameters.header_extensions =
        vec![RtpHeaderExtensionParameters::new(AUDIO_LEVEL, 10)];
    options
}

/// H.264 constrained baseline: the reduced offer (VP8 only) cannot receive it.
fn h264_producer(ssrc: u32) -> ProducerOptions {
    let codec = RtpCodecParameters {
        mime_type: "video/H264".to_owned(),
        payload_type: 107,
        clock_rate: 90000,
        channels: None,
        parameters: [
            ("packetization-mode".to_owned(), 1.into()),
            ("profile-level-id".to_owned(), "42e01f".into()),
        ]
        .into(),
        rtcp_feedback: vec![],
    };
    single_codec(MediaKind::Video, codec, ssrc)
}

/// Alice's WebRTC transport (the viewer's) and Bob's plain comedia transport with his producers.
struct Play {
    link: Link,
    send: TransportId,
}

impl Play {
    fn new() -> Self {
        let mut link = Link::new();
        let bob = join(&mut link.router, "bob", false);
        let send = plain(&mut link.router, &bob, true, false);
        drain(&mut link.router);
        Self { link, send }
    }

    fn produce(&mut self, options: ProducerOptions) -> ProducerId {
        let id = ProducerId::new_random();
        self.link.router.produce(self.send, id, options).unwrap();
        id
    }

    fn play(
        &mut self,
        offer: &str,
        producers: &[ProducerId],
        ids: &[ConsumerId],
    ) -> Result<PlayOutcome, NegotiationError> {
        self.link.router.negotiate_play(
            self.link.transport,
            offer,
            producers,
            &mut ids.iter().copied(),
        )
    }

    /// The viewer transport's consumers, and whether it was connected (a remote DTLS set).
    fn viewer_state(&self) -> (usize, bool) {
        let transport = &self.link.router.transports[&self.link.transport];
        let connected = match &transport.kind {
            TransportKind::WebRtc(state) => state.remote_dtls.is_some(),
            TransportKind::Plain(_) | TransportKind::Direct(_) => {
                unreachable!("a webrtc transport")
            }
        };
        (transport.consumers.len(), connected)
    }

    /// One VP8 packet from Bob with every extension of the producer (router ids).
    fn send_vp8(&mut self, at: Duration, ssrc: u32, seq: u16, keyframe: bool) {
        let payload: &[u8] = if keyframe {
            &[
                0x10, 0x50, 0x42, 0x00, 0x9d, 0x01, 0x2a, 0x80, 0x02, 0xe0, 0x01,
            ]
        } else {
            &[0x10, 0x31, 0x42, 0x00, 0xaa, 0xbb]
        };
        let tcc = [0x00, seq as u8];
        let extensions: [(u8, &[u8]); 4] = [
            (4, &[0x12, 0x34, 0x56]),
            (5, &tcc),
            (11, &[0x01]),
            (12, &[0x00, 0x00, 0x2a]),
        ];
        self.send(at, ssrc, 101, seq, &extensions, payload);
    }

    /// One RTP packet from Bob, in the router's numbering.
    fn send(
        &mut self,
        at: Duration,
        ssrc: u32,
        payload_type: u8,
        seq: u16,
        extensions: &[(u8, &[u8])],
        payload: &[u8],
    ) {
        let mut buf = [0u8; 1500];
        let len = write_rtp(
            &mut buf,
            &RtpHeader {
                payload_type,
                sequence_number: seq,
                timestamp: u32::from(seq) * 3000,
                ssrc,
                extension_form: ExtensionForm::OneByte,
                extensions,
                ..Default::default()
            },
            payload,
        )
        .unwrap();
        let sender: SocketAddr = SENDER.parse().unwrap();
        self.link.router.handle_datagram(
            self.link.t0 + at,
            self.send,
            SEND_RTP,
            sender,
            &mut buf[..len],
            &mut self.link.out,
        );
    }

    /// What the router sent the viewer since the last call.
    fn sent_to_viewer(&mut self) -> Vec<Vec<u8>> {
        let sent = self
            .link
            .out
            .transmits()
            .iter()
            .filter(|t| t.socket == SOCKET && t.destination == peer())
            .map(|t| t.bytes().to_vec())
            .collect();
        self.link.out.clear();
        sent
    }
}

fn ids(n: usize) -> Vec<ConsumerId> {
    (0..n).map(|_| ConsumerId::new_random()).collect()
}

fn played(id: ConsumerId, producer_id: ProducerId, kind: MediaKind, mid: &str) -> PlayedConsumer {
    PlayedConsumer {
        id,
        producer_id,
        kind,
        mid: mid.to_owned(),
    }
}

#[test]
fn each_section_takes_the_first_unused_producer_of_its_kind_it_can_receive() {
    let mut p = Play::new();
    let h264 = p.produce(h264_producer(1000));
    let vp8_a = p.produce(vp8_producer(2000));
    let opus = p.produce(opus_producer(3000));
    let vp8_b = p.produce(vp8_producer(4000));
    let c = ids(4);
    let outcome = p
        .play(&offer(CHROME_PLAY_FP, 1), &[h264, vp8_a, opus, vp8_b], &c)
        .unwrap();
    // The audio section takes opus though it comes later in the list; H.264 is skipped (VP8-only sections);
    // the second video section takes the next unused VP8; ids are taken in offer order.
    assert_eq!(
        outcome.consumers,
        [
            played(c[0], opus, MediaKind::Audio, "0"),
            played(c[1], vp8_a, MediaKind::Video, "1"),
            played(c[2], vp8_b, MediaKind::Video, "2"),
        ]
    );
    assert_eq!(p.viewer_state(), (3, true));
    // The consumers are running, and in Chrome's numbering.
    let audio = p.link.router.consumer(c[0]).unwrap();
    assert!(!audio.paused);
    assert_eq!(audio.rtp_parameters.mid.as_deref(), Some("0"));
    assert_eq!(audio.rtp_parameters.codecs[0].payload_type, 111);
    let video = p.link.router.consumer(c[1]).unwrap();
    let video_pts: Vec<_> = video
        .rtp_parameters
        .codecs
        .iter()
        .map(|c| c.payload_type)
        .collect();
    assert_eq!(video_pts, [96, 97]);
    assert_eq!(video.rtp_parameters.codecs[1].parameters["apt"], 96.into());
    let video_ids: Vec<_> = video
        .rtp_parameters
        .header_extensions
        .iter()
        .map(|e| (e.uri.as_str(), e.id))
        .collect();
    assert!(video_ids.contains(&(ABS_SEND_TIME, 2)), "{video_ids:?}");
    assert!(
        video_ids.contains(&(VIDEO_ORIENTATION, 13)),
        "{video_ids:?}"
    );
    assert!(video_ids.contains(&(TOFFSET, 14)), "{video_ids:?}");
    // The answer says the same.
    let answer = crate::sdp::parse(&outcome.answer).unwrap();
    assert_eq!(answer.bundle_mids(), ["0", "1", "2"]);
    for (mid, pts) in [("0", vec![111]), ("1", vec![96, 97]), ("2", vec![96, 97])] {
        let m = answer.media_by_mid(mid).unwrap();
        assert_eq!(m.payload_types().collect::<Vec<_>>(), pts, "section {mid}");
    }
}

#[test]
fn a_section_no_producer_fits_is_rejected_and_the_rest_is_answered() {
    let mut p = Play::new();
    let h264 = p.produce(h264_producer(1000));
    let opus = p.produce(opus_producer(3000));
    let c = ids(2);
    let outcome = p
        .play(&offer(CHROME_PLAY_FP, 0), &[h264, opus], &c)
        .unwrap();
    assert_eq!(
        outcome.consumers,
        [played(c[0], opus, MediaKind::Audio, "0")]
    );
    let answer = crate::sdp::parse(&outcome.answer).unwrap();
    assert!(answer.media_by_mid("1").unwrap().is_rejected());
    assert_eq!(answer.bundle_mids(), ["0"]);
    assert_eq!(p.viewer_state(), (1, true));
}

#[test]
fn an_offer_nothing_can_fill_creates_nothing() {
    let mut p = Play::new();
    let h264 = p.produce(h264_producer(1000));
    drain(&mut p.link.router);
    let c = ids(2);
    // Sections to fill, but no producer fits them (VP8-only video, no audio producer).
    assert_eq!(
        p.play(&offer(CHROME_PLAY_FP, 0), &[h264], &c).unwrap_err(),
        NegotiationError::NothingToPlay
    );
    // No producers at all, or only unknown ids: the same.
    assert_eq!(
        p.play(&offer(CHROME_PLAY_FP, 0), &[], &c).unwrap_err(),
        NegotiationError::NothingToPlay
    );
    assert_eq!(
        p.play(&offer(CHROME_PLAY_FP, 0), &[ProducerId::new_random()], &c)
            .unwrap_err(),
        NegotiationError::NothingToPlay
    );
    // An offer that receives on nothing: refused as SDP, whatever the producers.
    let vp8_id = p.produce(vp8_producer(2000));
    drain(&mut p.link.router);
    let sends_only = offer(CHROME_PLAY_FP, 0).replace("a=recvonly", "a=sendonly");
    assert_eq!(
        p.play(&sends_only, &[vp8_id], &c).unwrap_err(),
        NegotiationError::Sdp(SdpError::NothingAccepted)
    );
    assert_eq!(p.viewer_state(), (0, false));
    assert!(p.link.router.consumers.is_empty());
    assert!(drain(&mut p.link.router).is_empty());
}

#[test]
fn a_refused_section_leaves_no_consumer_behind() {
    let mut p = Play::new();
    let vp8_id = p.produce(vp8_producer(2000));
    let opus = p.produce(opus_producer(3000));
    // The viewer's transport already produces under mid "1": the video consumer is refused after the
    // audio one was made.
    let own = ProducerId::new_random();
    p.link
        .router
        .produce(p.link.transport, own, vp8(Some(9000), Some("1")))
        .unwrap();
    drain(&mut p.link.router);
    let c = ids(2);
    let err = p
        .play(&offer(CHROME_PLAY_FP, 0), &[vp8_id, opus], &c)
        .unwrap_err();
    assert!(
        matches!(&err, NegotiationError::Consume { mid, error: ConsumeError::DuplicateMid(_) } if mid == "1"),
        "{err:?}"
    );
    assert_eq!(p.viewer_state(), (0, false));
    assert!(p.link.router.consumers.is_empty());
    for producer in [vp8_id, opus] {
        assert!(p.link.router.producers[&producer].consumers.is_empty());
    }
}

#[test]
fn too_few_ids_leave_no_consumer_behind() {
    let mut p = Play::new();
    let vp8_id = p.produce(vp8_producer(2000));
    let opus = p.produce(opus_producer(3000));
    drain(&mut p.link.router);
    let c = ids(1);
    assert_eq!(
        p.play(&offer(CHROME_PLAY_FP, 0), &[vp8_id, opus], &c)
            .unwrap_err(),
        NegotiationError::TooManySections
    );
    assert_eq!(p.viewer_state(), (0, false));
    assert!(p.link.router.consumers.is_empty());
    assert!(
        drain(&mut p.link.router).is_empty(),
        "nothing made, nothing announced"
    );
}

#[test]
fn media_and_rtx_reach_the_viewer_in_its_own_numbering() {
    let mut p = Play::new();
    let vp8_id = p.produce(vp8_producer(2000));
    let opus = p.produce(opus_producer(3000));
    let client_cert = peer_certificate();
    let fingerprint = client_cert.fingerprint(FingerprintAlgorithm::Sha256).value;
    let c = ids(2);
    let outcome = p
        .play(&offer(&fingerprint, 0), &[vp8_id, opus], &c)
        .unwrap();
    assert_eq!(outcome.consumers.len(), 2);
    let answer = crate::sdp::parse(&outcome.answer).unwrap();
    assert_eq!(answer.setup, Some(crate::sdp::Setup::Passive));

    // The viewer: an ICE check, then DTLS as the client the answer made it (the answer connected DTLS).
    let mut client = p.link.dtls_client_over_a_checked_tuple(client_cert);
    let (_, mut outbound, mut inbound) = p.link.client_srtp(&mut client);
    p.link.out.clear();
    drain(&mut p.link.router);

    // Bob's first packet latches his address; the consumer starts at the keyframe.
    let video = p.link.router.consumer(c[1]).unwrap();
    assert_eq!(video.kind, MediaKind::Video);
    let media_ssrc = video.rtp_parameters.encodings[0].ssrc.unwrap();
    let rtx_ssrc = video.rtp_parameters.encodings[0].rtx.unwrap().ssrc;
    p.send_vp8(Duration::from_secs(6), 2000, 10, false);
    assert!(p.sent_to_viewer().is_empty());
    p.send_vp8(Duration::from_millis(6033), 2000, 11, true);
    let mut sent = p.sent_to_viewer();
    assert_eq!(sent.len(), 1, "one packet to the viewer");
    let len = inbound.unprotect_rtp(&mut sent[0]).unwrap();
    let packet = RtpPacket::parse(&sent[0][..len]).unwrap();
    assert_eq!(packet.ssrc(), media_ssrc);
    assert_eq!(
        packet.payload_type(),
        96,
        "Chrome's VP8, not the router's 101"
    );
    let mut extensions: Vec<(u8, Vec<u8>)> = packet
        .extensions()
        .map(|(id, v)| (id, v.to_vec()))
        .collect();
    extensions.sort();
    // abs-send-time 4 → 2, orientation 11 → 13, toffset 12 → 14; Bob's transport-cc (5) is not forwarded.
    assert_eq!(
        extensions,
        [
            (2, vec![0x12, 0x34, 0x56]),
            (13, vec![0x01]),
            (14, vec![0x00, 0x00, 0x2a]),
        ]
    );
    let out_seq = packet.sequence_number();
    let original_payload = packet.payload().to_vec();

    // A NACK from the viewer is answered as RTX under Chrome's RTX payload type (97, not 102).
    let mut nack = [0u8; 128];
    let len = crate::rtcp::write_nack(&mut nack, 1, media_ssrc, &[out_seq]).unwrap();
    let len = outbound.protect_rtcp(&mut nack, len).unwrap();
    p.link
        .datagram(Duration::from_millis(6100), peer(), &mut nack[..len]);
    let mut sent = p.sent_to_viewer();
    assert_eq!(sent.len(), 1, "one retransmission");
    let len = inbound.unprotect_rtp(&mut sent[0]).unwrap();
    let rtx = RtpPacket::parse(&sent[0][..len]).unwrap();
    assert_eq!(rtx.ssrc(), rtx_ssrc);
    assert_eq!(rtx.payload_type(), 97);
    assert_eq!(&rtx.payload()[..2], &out_seq.to_be_bytes());
    assert_eq!(&rtx.payload()[2..], &original_payload[..]);
    let mut rtx_ids: Vec<u8> = rtx.extensions().map(|(id, _)| id).collect();
    rtx_ids.sort_unstable();
    assert_eq!(rtx_ids, [2, 13, 14]);

    // Opus goes out as Chrome's 111 with the audio level under Chrome's id 1 (the router's 10).
    let audio = p.link.router.consumer(c[0]).unwrap();
    p.send(
        Duration::from_millis(6200),
        3000,
        100,
        500,
        &[(10, &[0x85])],
        &[0xfc, 0xff, 0xfe],
    );
    let mut sent = p.sent_to_viewer();
    assert_eq!(sent.len(), 1, "one audio packet");
    let len = inbound.unprotect_rtp(&mut sent[0]).unwrap();
    let packet = RtpPacket::parse(&sent[0][..len]).unwrap();
    assert_eq!(Some(packet.ssrc()), audio.rtp_parameters.encodings[0].ssrc);
    assert_eq!(packet.payload_type(), 111);
    let extensions: Vec<(u8, &[u8])> = packet.extensions().collect();
    assert_eq!(extensions, [(1, &[0x85][..])]);
}
