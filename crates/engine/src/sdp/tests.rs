//! Behaviour of the SDP layer against descriptions shaped like Chrome's and Firefox's (fixtures written from
//! what these browsers emit), the default router's capabilities, and the ORTC rules that consume the results.

use super::*;
use crate::net::noise::XorShift;
use crate::ortc;
use crate::rtp_parameters::{
    MediaKind, RtcpParameters, RtpCapabilities, RtpCodecParameters, RtpEncodingParameters,
    RtpEncodingRtx, RtpParameters,
};
use crate::sctp_parameters::SctpParameters;
use crate::transport_parameters::{
    DtlsFingerprint, DtlsRole, FingerprintAlgorithm, IceCandidate, IceCandidateTcpType,
    IceCandidateType, IceParameters, Protocol,
};

const CHROME: &str = include_str!("fixtures/chrome_publish.sdp");
const CHROME_RID: &str = include_str!("fixtures/chrome_simulcast_rid.sdp");
const CHROME_SIM: &str = include_str!("fixtures/chrome_simulcast_sim.sdp");
const CHROME_ANSWER: &str = include_str!("fixtures/chrome_subscribe_answer.sdp");
const FIREFOX: &str = include_str!("fixtures/firefox_publish.sdp");
const CHROME_PLAY: &str = include_str!("fixtures/chrome_play_offer.sdp");
const ALL: [&str; 6] = [
    CHROME,
    CHROME_RID,
    CHROME_SIM,
    CHROME_ANSWER,
    FIREFOX,
    CHROME_PLAY,
];

const CHROME_FP: &str = "93:90:EF:32:AD:DF:32:BF:DE:A7:86:BC:1E:20:67:95:92:49:80:68:BC:BF:CD:35:7E:A1:0A:B6:4E:A3:5E:47";
const CHROME_PLAY_FP: &str = "2F:8A:5C:91:E4:07:3B:D6:1A:C2:58:7E:F0:93:4D:B1:6C:25:8E:A7:D3:40:19:BE:72:C5:0F:E8:96:3A:4B:D1";
const FIREFOX_FP: &str = "16:E5:F6:0F:20:7A:1A:00:73:45:1C:35:A9:D3:15:D1:7F:DC:17:D7:FA:B6:64:49:B0:0C:DF:AA:DC:8B:24:9E";
const LOCAL_FP: &str = "AA:BB:CC:DD:EE:FF:00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:00:11:22:33:44:55:66:77:88:99";

fn router() -> RtpCapabilities {
    ortc::generate_router_rtp_capabilities(&ortc::default_media_codecs()).unwrap()
}

fn local(sctp: bool) -> LocalDescription {
    let candidate = |protocol, port| IceCandidate {
        foundation: match protocol {
            Protocol::Udp => "udpcandidate".to_owned(),
            Protocol::Tcp => "tcpcandidate".to_owned(),
        },
        priority: 1_076_302_079,
        ip: "192.0.2.10".to_owned(),
        address: "192.0.2.10".to_owned(),
        protocol,
        port,
        r#type: IceCandidateType::Host,
        tcp_type: (protocol == Protocol::Tcp).then_some(IceCandidateTcpType::Passive),
    };
    LocalDescription {
        ice_parameters: IceParameters {
            username_fragment: "srvufrag1234abcd".to_owned(),
            password: "srvpassword0123456789abcdefghij".to_owned(),
            ice_lite: true,
        },
        // TCP first: the UDP candidate still gives the default address.
        ice_candidates: vec![
            candidate(Protocol::Tcp, 40001),
            candidate(Protocol::Udp, 40000),
        ],
        dtls_fingerprints: vec![DtlsFingerprint {
            algorithm: FingerprintAlgorithm::Sha256,
            value: LOCAL_FP.to_owned(),
        }],
        sctp: sctp.then_some(SctpParameters {
            port: 5000,
            os: 1024,
            mis: 1024,
            max_message_size: 262_144,
        }),
        session_id: 7_263_948_112_030_455_001,
    }
}

fn sdp(text: &str) -> SessionDescription {
    text.parse().unwrap()
}

fn section<'a>(desc: &'a SessionDescription, mid: &str) -> &'a MediaSection {
    desc.media_by_mid(mid)
        .unwrap_or_else(|| panic!("no section {mid}"))
}

fn pts(m: &MediaSection) -> Vec<u8> {
    m.payload_types().collect()
}

/// What `produce()` would do with a published track: validate, map onto the router, negotiate.
fn produce(track: &PublishedTrack, caps: &RtpCapabilities) -> RtpParameters {
    let mut params = track.rtp_parameters.clone();
    ortc::validate_rtp_parameters(&mut params).unwrap();
    let mapping = ortc::get_producer_rtp_parameters_mapping(&params, caps, 10_000).unwrap();
    ortc::negotiate_producer_codec_parameters(&mut params, caps);
    ortc::get_consumable_rtp_parameters(track.kind, &params, caps, &mapping)
}

// ---------------------------------------------------------------- parsing

#[test]
fn chrome_offer_parses_into_typed_sections() {
    let d = sdp(CHROME);
    assert_eq!(d.origin.session_id, 4_215_775_240_449_105_457);
    assert_eq!(d.origin.session_version, 2);
    assert_eq!(d.bundle_mids(), ["0", "1", "2"]);
    assert_eq!(d.msid_semantic.as_ref().unwrap().semantic, "WMS");
    assert!(
        d.other_attributes
            .iter()
            .any(|a| a.name == "extmap-allow-mixed")
    );
    assert_eq!(d.media.len(), 3);

    let audio = section(&d, "0");
    assert_eq!(audio.kind, SectionKind::Audio);
    assert_eq!(audio.port, 9);
    assert_eq!(audio.protocol, "UDP/TLS/RTP/SAVPF");
    assert_eq!(pts(audio), [111, 63, 9, 0, 8, 13, 110, 126]);
    assert_eq!(audio.direction, Some(Direction::Sendonly));
    assert_eq!(audio.setup, Some(Setup::Actpass));
    assert_eq!(audio.ice_ufrag.as_deref(), Some("Wx4k"));
    assert_eq!(audio.fingerprints[0].value, CHROME_FP);
    assert_eq!(audio.candidates.len(), 1);
    assert!(audio.rtcp_mux && audio.rtcp_rsize);
    assert_eq!(audio.fmtp(111)["useinbandfec"], 1.into());
    assert_eq!(audio.fmtps[1].parameters, "111/111");
    assert_eq!(
        audio.ssrc_attribute(3_011_487_723, "cname"),
        Some("QvJb5nYp2kZ8wR1t")
    );

    let video = section(&d, "1");
    assert_eq!(video.extmaps.len(), 11);
    assert_eq!(video.extmaps[0].id, 14);
    assert_eq!(video.extmaps[0].uri, "urn:ietf:params:rtp-hdrext:toffset");
    assert_eq!(video.rtpmaps.len(), 25);
    assert_eq!(video.feedback(96).len(), 5);
    assert_eq!(video.fmtp(102)["profile-level-id"], "42001f".into());
    assert_eq!(video.fmtp(102)["packetization-mode"], 1.into());
    assert_eq!(video.ssrc_groups[0].semantics, "FID");
    assert_eq!(video.ssrc_groups[0].ssrcs, [1_822_045_071, 2_930_456_617]);
    assert_eq!(
        video.msids[0].track_id.as_deref(),
        Some("e1b5c3d7-2a4f-4b6e-8c9d-1f0a3b5c7d92")
    );

    let data = section(&d, "2");
    assert_eq!(data.kind, SectionKind::Application);
    assert_eq!(data.formats, ["webrtc-datachannel"]);
    assert_eq!(data.sctp_port, Some(5000));
    assert_eq!(data.max_message_size, Some(262_144));
}

#[test]
fn firefox_offer_parses_with_its_ordering_and_session_fingerprint() {
    let d = sdp(FIREFOX);
    assert_eq!(d.origin.username, "mozilla...THIS_IS_SDPARTA-99.0");
    assert_eq!(d.fingerprints[0].value, FIREFOX_FP);
    assert!(d.media.iter().all(|m| m.fingerprints.is_empty()));
    assert_eq!(d.msid_semantic.as_ref().unwrap().tokens, ["*"]);
    let audio = section(&d, "0");
    assert_eq!(audio.extmaps[1].direction, Some(Direction::Recvonly));
    assert_eq!(audio.fmtp(109)["stereo"], 1.into());
    // telephone-event's `0-15` is kept as written but is no key=value parameter.
    assert_eq!(audio.fmtps[1].parameters, "0-15");
    assert!(audio.fmtp(101).is_empty());
    assert_eq!(audio.rtpmap(9).unwrap().channels, Some(1));
    assert_eq!(audio.rtpmap(0).unwrap().channels, None);
    let video = section(&d, "1");
    assert_eq!(video.fmtp(126)["profile-level-id"], "42e01f".into());
    assert_eq!(video.ssrc_groups[0].ssrcs, [1_394_812_561, 3_912_274_890]);
    assert_eq!(
        video.msids[0].stream_id,
        "{b6a1d0c3-8e2f-4a7b-9c5d-3e1f0a2b4c6d}"
    );
}

#[test]
fn rtcp_fb_wildcard_applies_to_every_payload_type() {
    let d = sdp(
        "v=0\no=- 1 1 IN IP4 0.0.0.0\ns=-\nt=0 0\nm=video 9 UDP/TLS/RTP/SAVPF 96 97\n\
         a=mid:0\na=rtpmap:96 VP8/90000\na=rtpmap:97 VP9/90000\na=rtcp-fb:* nack\n\
         a=rtcp-fb:96 nack\na=rtcp-fb:97 ccm fir\n",
    );
    let m = &d.media[0];
    assert_eq!(m.rtcp_fbs[0].payload, FeedbackPayload::All);
    assert_eq!(m.feedback(96).len(), 1, "no duplicate nack");
    let fb97: Vec<_> = m.feedback(97).into_iter().map(|f| f.parameter).collect();
    assert_eq!(fb97, ["", "fir"]);
}

#[test]
fn simulcast_streams_alternatives_and_paused_rids() {
    let d = sdp(
        "v=0\no=- 1 1 IN IP4 0.0.0.0\ns=-\nt=0 0\nm=video 9 UDP/TLS/RTP/SAVPF 96\n\
         a=rid:a send pt=96;max-width=1280\na=rid:b send\na=rid:c send\na=rid:r recv\n\
         a=simulcast:send a,b;~c recv r\n",
    );
    let m = &d.media[0];
    assert_eq!(
        m.rids[0].restrictions.as_deref(),
        Some("pt=96;max-width=1280")
    );
    assert_eq!(m.rids[3].direction, RidDirection::Recv);
    let sim = m.simulcast.as_ref().unwrap();
    assert_eq!(sim.send.len(), 2);
    assert_eq!(sim.send[0].len(), 2);
    assert!(sim.send[1][0].paused);
    assert_eq!(sim.send[1][0].rid, "c");
    assert_eq!(sim.recv[0][0].rid, "r");
    // Old Firefox wrote `rid=` before the list.
    let old =
        sdp("v=0\no=- 1 1 IN IP4 0.0.0.0\nm=video 9 RTP/SAVPF 96\na=simulcast: send rid=h;l\n");
    assert_eq!(old.media[0].simulcast.as_ref().unwrap().send.len(), 2);
}

#[test]
fn tolerant_of_line_ends_blank_lines_and_unknown_lines() {
    let text = "v=0\r\no=- 5 6 IN IP4 127.0.0.1\r\ns=-\r\n\r\ni=info\r\nb=AS:30\r\nt=0 0\r\n\
                a=x-custom:1\r\nm=audio 9 UDP/TLS/RTP/SAVPF 0\r\nz=ignored\r\na=mid:0\r\n\
                a=fingerprint:md5 AB:CD\r\na=foo\r\na=candidate:1 1 udp 1 10.0.0.1 1 typ host\r\n";
    let d = sdp(text);
    assert_eq!(d.other_attributes[0].name, "x-custom");
    let m = &d.media[0];
    assert_eq!(m.rtpmap(0).unwrap().encoding, "PCMU", "static payload type");
    assert!(m.fingerprints.is_empty(), "unknown hash kept aside");
    assert_eq!(m.other_attributes.len(), 2);
    assert_eq!(m.candidates.len(), 1);
    // No trailing newline, LF only.
    assert_eq!(sdp("v=0\no=- 1 1 IN IP4 0.0.0.0").origin.session_id, 1);
}

#[test]
fn malformed_input_names_the_line() {
    let head = "v=0\no=- 1 1 IN IP4 0.0.0.0\ns=-\nt=0 0\n";
    let cases: &[(&str, usize)] = &[
        ("garbage\n", 5),
        ("m=audio port UDP/TLS/RTP/SAVPF 111\n", 5),
        ("m=audio\n", 5),
        ("m=audio 9 RTP/AVP 0\na=rtpmap:200 opus/48000\n", 6),
        ("m=audio 9 RTP/AVP 0\na=rtpmap:111 opus\n", 6),
        ("m=audio 9 RTP/AVP 0\na=extmap:0 urn:x\n", 6),
        ("m=audio 9 RTP/AVP 0\na=extmap:1/sideways urn:x\n", 6),
        ("m=audio 9 RTP/AVP 0\na=ssrc:-1 cname:x\n", 6),
        ("m=audio 9 RTP/AVP 0\na=ssrc-group:FID 1 x\n", 6),
        ("m=audio 9 RTP/AVP 0\n\na=setup:maybe\n", 7),
        ("a=fingerprint:sha-256 ZZ:00\n", 5),
        ("m=audio 9 RTP/AVP 0\na=rid:q sideways\n", 6),
        ("m=audio 9 RTP/AVP 0\na=simulcast:send\n", 6),
        ("m=application 9 UDP/DTLS/SCTP x\na=sctp-port:99999\n", 6),
        ("c=IN IP4\n", 5),
    ];
    for (tail, line) in cases {
        match parse(&format!("{head}{tail}")) {
            Err(SdpError::Malformed { line: l, problem }) => {
                assert_eq!(l, *line, "{tail:?}: {problem}");
                assert!(!problem.is_empty());
            }
            other => panic!("{tail:?} gave {other:?}"),
        }
    }
    assert_eq!(
        parse("o=- 1 1 IN IP4 0.0.0.0\n").unwrap_err(),
        SdpError::Malformed {
            line: 1,
            problem: "a description starts with v=0".to_owned()
        }
    );
    assert_eq!(parse("").unwrap_err(), SdpError::MissingLine('v'));
    assert_eq!(parse("v=0\ns=-\n").unwrap_err(), SdpError::MissingLine('o'));
    let e = parse("v=0\no=- x 1 IN IP4 0.0.0.0\n").unwrap_err();
    assert_eq!(
        e.to_string(),
        "line 2: o= session id is not a number: \"x\""
    );
    // Untrusted text is cut short in messages.
    let long = format!("{head}{}\n", "x".repeat(10_000));
    assert!(parse(&long).unwrap_err().to_string().len() < 200);
}

/// Deterministic noise: mutated and truncated fixtures never panic, and whatever parses renders to text
/// that parses again.
#[test]
fn noise_never_panics() {
    let mut rng = XorShift::new(0x5D9_2026);
    for i in 0..3_000 {
        let mut bytes = ALL[i % ALL.len()].as_bytes().to_vec();
        for _ in 0..1 + rng.below(8) {
            rng.mutate(&mut bytes);
        }
        if i % 3 == 0 {
            bytes.truncate(rng.below(bytes.len() + 1));
        }
        let text = String::from_utf8_lossy(&bytes);
        if let Ok(d) = parse(&text) {
            let again = parse(&d.to_string()).expect("rendered text parses");
            assert_eq!(again.media.len(), d.media.len());
            let _ = answer_publish(&d, &router(), &local(true));
            let _ = accept_answer(&d, &["0".to_owned(), "1".to_owned()]);
            if let Ok(read) = read_play_offer(&d) {
                assert_eq!(read.sections.len(), d.media.len());
                let _ = answer_play(&d, &read, &[], &local(false));
            }
            for m in &d.media {
                let _ = rtp_capabilities_of(m);
            }
        }
    }
}

// ---------------------------------------------------------------- rendering

#[test]
fn render_is_a_fixed_point_and_keeps_mids_codecs_and_ssrcs() {
    for text in ALL {
        let first = sdp(text);
        let rendered = first.to_string();
        assert!(rendered.ends_with("\r\n") && !rendered.contains("\n\n"));
        let second = sdp(&rendered);
        assert_eq!(
            second.to_string(),
            rendered,
            "render(parse(render(x))) = render(x)"
        );
        assert_eq!(second.origin, first.origin);
        assert_eq!(second.groups, first.groups);
        assert_eq!(second.fingerprints, first.fingerprints);
        assert_eq!(second.media.len(), first.media.len());
        for (a, b) in first.media.iter().zip(&second.media) {
            assert_eq!(a.mid, b.mid);
            assert_eq!(a.formats, b.formats);
            assert_eq!(a.direction, b.direction);
            assert_eq!(a.extmaps, b.extmaps);
            assert_eq!(a.ssrcs, b.ssrcs);
            assert_eq!(a.ssrc_groups, b.ssrc_groups);
            assert_eq!(a.rids, b.rids);
            assert_eq!(a.simulcast, b.simulcast);
            assert_eq!(a.candidates, b.candidates);
            assert_eq!(rtp_capabilities_of(a), rtp_capabilities_of(b));
        }
    }
}

// ---------------------------------------------------------------- publish

#[test]
fn chrome_publish_takes_opus_and_vp8_with_rtx() {
    let answer = answer_publish(&sdp(CHROME), &router(), &local(true)).unwrap();
    assert_eq!(
        answer.remote_dtls.fingerprints,
        vec![DtlsFingerprint {
            algorithm: FingerprintAlgorithm::Sha256,
            value: CHROME_FP.to_owned()
        }]
    );
    assert_eq!(answer.remote_dtls.role, DtlsRole::Client);

    let text = &answer.sdp;
    for line in [
        "a=ice-lite\r\n",
        "a=ice-ufrag:srvufrag1234abcd\r\n",
        "a=ice-pwd:srvpassword0123456789abcdefghij\r\n",
        &format!("a=fingerprint:sha-256 {LOCAL_FP}\r\n"),
        "a=setup:passive\r\n",
        "a=group:BUNDLE 0 1 2\r\n",
        "a=msid-semantic: WMS\r\n",
        "m=audio 40000 UDP/TLS/RTP/SAVPF 111\r\nc=IN IP4 192.0.2.10\r\n",
        "m=video 40000 UDP/TLS/RTP/SAVPF 96 97\r\n",
        "a=candidate:udpcandidate 1 udp 1076302079 192.0.2.10 40000 typ host\r\n",
        "a=candidate:tcpcandidate 1 tcp 1076302079 192.0.2.10 40001 typ host tcptype passive\r\n",
        "a=end-of-candidates\r\n",
        "a=rtpmap:97 rtx/90000\r\na=fmtp:97 apt=96\r\n",
        "a=rtpmap:111 opus/48000/2\r\na=rtcp-fb:111 transport-cc\r\n\
         a=fmtp:111 minptime=10;useinbandfec=1\r\n",
        "m=application 40000 UDP/DTLS/SCTP webrtc-datachannel\r\n",
        "a=sctp-port:5000\r\na=max-message-size:262144\r\n",
    ] {
        assert!(text.contains(line), "answer lacks {line:?}:\n{text}");
    }
    assert!(!text.contains("a=ssrc"), "the publish answer sends nothing");

    let d = sdp(text);
    assert!(d.ice_lite);
    assert_eq!(d.origin.session_id, 7_263_948_112_030_455_001);
    let audio = section(&d, "0");
    assert_eq!(audio.direction, Some(Direction::Recvonly));
    assert!(audio.rtcp_mux && audio.rtcp_rsize);
    let ids = |m: &MediaSection| m.extmaps.iter().map(|e| e.id).collect::<Vec<_>>();
    assert_eq!(ids(audio), [1, 2, 3, 4]);
    let video = section(&d, "1");
    assert_eq!(pts(video), [96, 97]);
    // video-content-type (6), video-timing (7) and color-space (8) are not in the router's capabilities.
    assert_eq!(ids(video), [14, 2, 13, 3, 5, 4, 10, 11]);
    assert_eq!(video.feedback(96).len(), 5);
    assert!(video.feedback(97).is_empty());
    assert_eq!(video.candidates.len(), 2);

    assert_eq!(answer.tracks.len(), 2);
    let a = &answer.tracks[0];
    assert_eq!((a.mid.as_str(), a.kind), ("0", MediaKind::Audio));
    assert_eq!(
        a.stream_id.as_deref(),
        Some("9a7d8c2e-3c1b-4f4e-9e3a-2b7c1d0e5f61")
    );
    assert_eq!(a.rtp_parameters.codecs.len(), 1);
    assert_eq!(a.rtp_parameters.codecs[0].mime_type, "audio/opus");
    assert_eq!(a.rtp_parameters.codecs[0].channels, Some(2));
    assert_eq!(a.rtp_parameters.encodings[0].ssrc, Some(3_011_487_723));
    assert_eq!(a.rtp_parameters.encodings[0].rtx, None);

    let v = &answer.tracks[1];
    assert_eq!(
        v.track_id.as_deref(),
        Some("e1b5c3d7-2a4f-4b6e-8c9d-1f0a3b5c7d92")
    );
    let p = &v.rtp_parameters;
    assert_eq!(p.mid.as_deref(), Some("1"));
    let codecs: Vec<_> = p
        .codecs
        .iter()
        .map(|c| (c.mime_type.as_str(), c.payload_type))
        .collect();
    assert_eq!(codecs, [("video/VP8", 96), ("video/rtx", 97)]);
    assert_eq!(p.codecs[1].parameters["apt"], 96.into());
    assert_eq!(
        p.encodings,
        vec![RtpEncodingParameters {
            ssrc: Some(1_822_045_071),
            rtx: Some(RtpEncodingRtx {
                ssrc: 2_930_456_617
            }),
            ..Default::default()
        }]
    );
    assert_eq!(
        p.rtcp,
        RtcpParameters {
            cname: Some("QvJb5nYp2kZ8wR1t".to_owned()),
            reduced_size: Some(true)
        }
    );
    assert_eq!(p.header_extensions.len(), 8);

    // The tracks are what produce() takes: valid, mappable onto the router.
    for track in &answer.tracks {
        let consumable = produce(track, &router());
        assert_eq!(
            consumable.codecs[0].mime_type.to_lowercase(),
            format!(
                "{}/{}",
                track.kind.as_str(),
                if track.kind == MediaKind::Audio {
                    "opus"
                } else {
                    "vp8"
                }
            )
        );
    }
}

#[test]
fn data_section_is_rejected_without_sctp() {
    let answer = answer_publish(&sdp(CHROME), &router(), &local(false)).unwrap();
    assert!(answer.sdp.contains("a=group:BUNDLE 0 1\r\n"));
    assert!(answer.sdp.contains(
        "m=application 0 UDP/DTLS/SCTP webrtc-datachannel\r\nc=IN IP4 0.0.0.0\r\na=mid:2\r\n"
    ));
    let d = sdp(&answer.sdp);
    assert!(section(&d, "2").is_rejected());
    assert!(section(&d, "2").candidates.is_empty());
}

#[test]
fn firefox_publish_takes_opus_and_vp8_and_its_ssrcs() {
    let answer = answer_publish(&sdp(FIREFOX), &router(), &local(false)).unwrap();
    assert_eq!(answer.remote_dtls.fingerprints[0].value, FIREFOX_FP);
    assert_eq!(answer.remote_dtls.role, DtlsRole::Client);
    let d = sdp(&answer.sdp);
    assert_eq!(d.bundle_mids(), ["0", "1"]);
    let audio = section(&d, "0");
    assert_eq!(pts(audio), [109]);
    // csrc-audio-level is recvonly for Firefox and unknown to the router: not answered.
    assert_eq!(
        audio.extmaps.iter().map(|e| e.id).collect::<Vec<_>>(),
        [1, 3]
    );
    assert!(
        !audio.rtcp_rsize,
        "Firefox did not offer rtcp-rsize for audio"
    );
    let video = section(&d, "1");
    assert_eq!(pts(video), [120, 124]);
    // playout-delay is recvonly for Firefox: it will not send it.
    assert_eq!(
        video.extmaps.iter().map(|e| e.id).collect::<Vec<_>>(),
        [3, 4, 5, 7]
    );
    assert_eq!(video.fmtp(120)["max-fs"], 12288.into());

    let a = &answer.tracks[0].rtp_parameters;
    assert_eq!(a.encodings[0].ssrc, Some(2_655_508_255));
    assert_eq!(
        a.rtcp.cname.as_deref(),
        Some("{7c3e1a9b-2d4f-4e6a-8b0c-1d2e3f4a5b6c}")
    );
    assert_eq!(a.rtcp.reduced_size, Some(false));
    let v = &answer.tracks[1].rtp_parameters;
    assert_eq!(v.encodings[0].ssrc, Some(1_394_812_561));
    assert_eq!(
        v.encodings[0].rtx,
        Some(RtpEncodingRtx {
            ssrc: 3_912_274_890
        })
    );
    assert_eq!(
        answer.tracks[1].stream_id.as_deref(),
        Some("{b6a1d0c3-8e2f-4a7b-9c5d-3e1f0a2b4c6d}")
    );
    for track in &answer.tracks {
        produce(track, &router());
    }
}

/// An offer with an audio section and one video section with `video_codecs` (rtpmap/fmtp lines by PT).
fn offer_with(audio_direction: &str, video_pts: &str, video_codecs: &str) -> String {
    format!(
        "v=0\r\no=- 99 1 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\na=group:BUNDLE 0 1\r\n\
         a=fingerprint:sha-256 {CHROME_FP}\r\na=setup:actpass\r\n\
         m=audio 9 UDP/TLS/RTP/SAVPF 111\r\nc=IN IP4 0.0.0.0\r\na=mid:0\r\na={audio_direction}\r\n\
         a=rtcp-mux\r\na=rtpmap:111 opus/48000/2\r\na=ssrc:1 cname:c\r\n\
         m=video 9 UDP/TLS/RTP/SAVPF {video_pts}\r\nc=IN IP4 0.0.0.0\r\na=mid:1\r\na=sendonly\r\n\
         a=rtcp-mux\r\n{video_codecs}a=ssrc:2 cname:c\r\n"
    )
}

#[test]
fn h264_packetization_mode_0_only_is_rejected_when_the_router_has_mode_1() {
    let offer = offer_with(
        "sendonly",
        "104 105 108",
        "a=rtpmap:104 H264/90000\r\n\
         a=fmtp:104 level-asymmetry-allowed=1;packetization-mode=0;profile-level-id=42001f\r\n\
         a=rtpmap:105 rtx/90000\r\na=fmtp:105 apt=104\r\na=rtpmap:108 H264/90000\r\n\
         a=fmtp:108 level-asymmetry-allowed=1;packetization-mode=0;profile-level-id=42e01f\r\n",
    );
    let answer = answer_publish(&sdp(&offer), &router(), &local(false)).unwrap();
    let d = sdp(&answer.sdp);
    assert_eq!(d.bundle_mids(), ["0"]);
    let video = section(&d, "1");
    assert!(video.is_rejected());
    assert_eq!(video.direction, Some(Direction::Inactive));
    assert_eq!(answer.tracks.len(), 1);
}

#[test]
fn h264_takes_the_first_offered_profile_the_router_has() {
    // Chrome's H.264 list: baseline 42001f first (the router has constrained baseline and main only).
    let offer = offer_with(
        "sendonly",
        "102 103 106 107 127 125",
        "a=rtpmap:102 H264/90000\r\n\
         a=fmtp:102 level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42001f\r\n\
         a=rtpmap:103 rtx/90000\r\na=fmtp:103 apt=102\r\na=rtpmap:106 H264/90000\r\n\
         a=rtcp-fb:106 nack pli\r\na=rtcp-fb:106 goog-lntf\r\n\
         a=fmtp:106 level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f\r\n\
         a=rtpmap:107 rtx/90000\r\na=fmtp:107 apt=106\r\na=rtpmap:127 H264/90000\r\n\
         a=fmtp:127 level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=4d001f\r\n\
         a=rtpmap:125 rtx/90000\r\na=fmtp:125 apt=127\r\n",
    );
    let answer = answer_publish(&sdp(&offer), &router(), &local(false)).unwrap();
    let d = sdp(&answer.sdp);
    let video = section(&d, "1");
    assert_eq!(pts(video), [106, 107]);
    assert_eq!(video.fmtp(106)["profile-level-id"], "42e01f".into());
    assert_eq!(video.fmtp(106)["packetization-mode"], 1.into());
    // goog-lntf is not in the router's feedback.
    assert_eq!(video.rtcp_fbs.len(), 1);
    let track = &answer.tracks[1];
    assert_eq!(track.rtp_parameters.codecs[0].payload_type, 106);
    assert_eq!(track.rtp_parameters.encodings[0].ssrc, Some(2));
    assert_eq!(track.rtp_parameters.encodings[0].rtx, None, "no FID group");
    produce(track, &router());
}

#[test]
fn vp9_profile_id_must_match() {
    // Router: VP9 profile-id=2 only. Chrome lists profile 0 first.
    let offer = offer_with(
        "sendonly",
        "98 99 100 101",
        "a=rtpmap:98 VP9/90000\r\na=fmtp:98 profile-id=0\r\na=rtpmap:99 rtx/90000\r\n\
         a=fmtp:99 apt=98\r\na=rtpmap:100 VP9/90000\r\na=fmtp:100 profile-id=2\r\n\
         a=rtpmap:101 rtx/90000\r\na=fmtp:101 apt=100\r\n",
    );
    let answer = answer_publish(&sdp(&offer), &router(), &local(false)).unwrap();
    assert_eq!(pts(section(&sdp(&answer.sdp), "1")), [100, 101]);
}

#[test]
fn recvonly_sections_in_a_publish_offer_are_rejected() {
    let offer = offer_with(
        "recvonly",
        "96 97",
        "a=rtpmap:96 VP8/90000\r\na=rtpmap:97 rtx/90000\r\na=fmtp:97 apt=96\r\n",
    );
    let answer = answer_publish(&sdp(&offer), &router(), &local(false)).unwrap();
    let d = sdp(&answer.sdp);
    assert!(answer.sdp.contains("m=audio 0 UDP/TLS/RTP/SAVPF 111\r\n"));
    assert!(section(&d, "0").is_rejected());
    assert_eq!(d.bundle_mids(), ["1"]);
    assert_eq!(answer.tracks.len(), 1);
    assert_eq!(answer.tracks[0].kind, MediaKind::Video);
    // A two-byte extension id is not answered (no extmap-allow-mixed in our answer).
    let two_byte = offer.replace(
        "a=rtcp-mux\r\na=rtpmap:96",
        "a=extmap:15 urn:ietf:params:rtp-hdrext:sdes:mid\r\na=rtcp-mux\r\na=rtpmap:96",
    );
    let answer = answer_publish(&sdp(&two_byte), &router(), &local(false)).unwrap();
    assert!(section(&sdp(&two_byte), "1").extmaps.len() == 1);
    assert!(section(&sdp(&answer.sdp), "1").extmaps.is_empty());
    // sendrecv is taken and answered recvonly.
    let sendrecv = offer.replace("a=recvonly", "a=sendrecv");
    let answer = answer_publish(&sdp(&sendrecv), &router(), &local(false)).unwrap();
    assert_eq!(
        section(&sdp(&answer.sdp), "0").direction,
        Some(Direction::Recvonly)
    );
    // Only recvonly (and inactive) sections: nothing to take.
    let nothing = offer.replace("a=sendonly", "a=inactive");
    assert_eq!(
        answer_publish(&sdp(&nothing), &router(), &local(false)).unwrap_err(),
        SdpError::NothingAccepted
    );
}

#[test]
fn rid_simulcast_gives_one_encoding_per_rid_and_answers_recv_rids() {
    let answer = answer_publish(&sdp(CHROME_RID), &router(), &local(false)).unwrap();
    assert!(
        answer
            .sdp
            .contains("a=rid:q recv\r\na=rid:h recv\r\na=rid:f recv\r\na=simulcast:recv q;h;f\r\n")
    );
    let p = &answer.tracks[0].rtp_parameters;
    let rids: Vec<_> = p
        .encodings
        .iter()
        .map(|e| (e.rid.as_deref(), e.ssrc))
        .collect();
    assert_eq!(
        rids,
        [(Some("q"), None), (Some("h"), None), (Some("f"), None)]
    );
    assert!(
        p.header_extensions
            .iter()
            .any(|e| e.id == 10 && e.uri.ends_with("rtp-stream-id"))
    );
    assert_eq!(p.rtcp.cname, None, "Chrome writes no a=ssrc with rids");
    assert_eq!(p.codecs.len(), 2);
    let consumable = produce(&answer.tracks[0], &router());
    assert_eq!(consumable.encodings.len(), 3);
}

#[test]
fn sim_group_simulcast_gives_one_encoding_per_ssrc_with_rtx() {
    let answer = answer_publish(&sdp(CHROME_SIM), &router(), &local(false)).unwrap();
    let p = &answer.tracks[0].rtp_parameters;
    let ssrcs: Vec<_> = p
        .encodings
        .iter()
        .map(|e| (e.ssrc.unwrap(), e.rtx.unwrap().ssrc))
        .collect();
    assert_eq!(ssrcs, [(1111, 4444), (2222, 5555), (3333, 6666)]);
    assert_eq!(p.rtcp.cname.as_deref(), Some("Zk3pW9xQ"));
    assert!(!answer.sdp.contains("a=simulcast"));
    produce(&answer.tracks[0], &router());
}

#[test]
fn no_rtx_in_the_answer_when_the_router_has_none() {
    let mut caps = router();
    caps.codecs.retain(|c| !c.mime_type.ends_with("/rtx"));
    let answer = answer_publish(&sdp(CHROME), &caps, &local(false)).unwrap();
    assert_eq!(pts(section(&sdp(&answer.sdp), "1")), [96]);
    let p = &answer.tracks[1].rtp_parameters;
    assert_eq!(p.codecs.len(), 1);
    assert_eq!(p.encodings[0].rtx, None);
}

#[test]
fn dtls_roles_and_missing_fingerprints() {
    let passive = CHROME.replace("a=setup:actpass", "a=setup:passive");
    let answer = answer_publish(&sdp(&passive), &router(), &local(false)).unwrap();
    assert_eq!(answer.remote_dtls.role, DtlsRole::Server);
    assert!(answer.sdp.contains("a=setup:active\r\n"));
    let holdconn = CHROME.replace("a=setup:actpass", "a=setup:holdconn");
    assert_eq!(
        answer_publish(&sdp(&holdconn), &router(), &local(false)).unwrap_err(),
        SdpError::BadSetup("holdconn", "offer")
    );
    let no_setup = CHROME.replace("a=setup:actpass\n", "");
    let answer = answer_publish(&sdp(&no_setup), &router(), &local(false)).unwrap();
    assert_eq!(answer.remote_dtls.role, DtlsRole::Client);
    let no_fp: String = CHROME
        .lines()
        .filter(|l| !l.starts_with("a=fingerprint"))
        .map(|l| format!("{l}\n"))
        .collect();
    assert_eq!(
        answer_publish(&sdp(&no_fp), &router(), &local(false)).unwrap_err(),
        SdpError::NoFingerprint
    );
    let dup = CHROME.replace("a=mid:1", "a=mid:0");
    assert_eq!(
        answer_publish(&sdp(&dup), &router(), &local(false)).unwrap_err(),
        SdpError::BadMid {
            index: 1,
            problem: "duplicate a=mid"
        }
    );
}

#[test]
fn our_publish_answer_reads_back_as_a_passive_answer() {
    let answer = answer_publish(&sdp(CHROME), &router(), &local(true)).unwrap();
    let mids: Vec<String> = ["0", "1", "2"].map(String::from).to_vec();
    let accepted = accept_answer(&sdp(&answer.sdp), &mids).unwrap();
    assert_eq!(accepted.remote_dtls.role, DtlsRole::Server);
    assert_eq!(
        accepted.remote_dtls.fingerprints,
        local(true).dtls_fingerprints
    );
    assert!(accepted.rejected_mids.is_empty());
}

// ---------------------------------------------------------------- subscribe

/// Two consumers of Chrome's published tracks, made by the ORTC rules with the router as the remote's caps.
fn consumers() -> Vec<ConsumerSection> {
    let caps = router();
    let published = answer_publish(&sdp(CHROME), &caps, &local(false)).unwrap();
    published
        .tracks
        .iter()
        .zip([("a0", 1000u32), ("v1", 2000u32)])
        .map(|(track, (mid, ssrc))| {
            let consumable = produce(track, &caps);
            let mut rtp_parameters =
                ortc::get_consumer_rtp_parameters(&consumable, &caps, true, ssrc).unwrap();
            rtp_parameters.mid = Some(mid.to_owned());
            ConsumerSection {
                mid: mid.to_owned(),
                kind: track.kind,
                rtp_parameters,
                stream_id: "peer-alice".to_owned(),
                track_id: format!("track-{mid}"),
                active: true,
            }
        })
        .collect()
}

#[test]
fn consumer_offer_bundles_two_consumers_with_ssrcs_and_rtx() {
    let consumers = consumers();
    let text = offer_consumers(&consumers, &local(false), 1);
    let d = sdp(&text);
    assert!(d.ice_lite);
    assert_eq!(d.setup, Some(Setup::Actpass));
    assert_eq!(d.bundle_mids(), ["a0", "v1"]);
    assert_eq!(d.origin.session_id, 7_263_948_112_030_455_001);
    assert_eq!(d.origin.session_version, 1);
    let audio = section(&d, "a0");
    assert_eq!(audio.direction, Some(Direction::Sendonly));
    assert_eq!(audio.setup, Some(Setup::Actpass));
    assert_eq!(audio.port, 40000);
    assert_eq!(audio.msids[0].stream_id, "peer-alice");
    assert_eq!(
        audio.ssrc_attribute(1000, "msid"),
        Some("peer-alice track-a0")
    );
    assert!(audio.ssrc_groups.is_empty());
    assert_eq!(audio.rtpmap(100).unwrap().channels, Some(2));

    let video = section(&d, "v1");
    let consumer = &consumers[1].rtp_parameters;
    assert_eq!(
        pts(video),
        consumer
            .codecs
            .iter()
            .map(|c| c.payload_type)
            .collect::<Vec<_>>()
    );
    assert_eq!(video.ssrc_groups[0].semantics, "FID");
    assert_eq!(video.ssrc_groups[0].ssrcs, [2000, 2001]);
    assert_eq!(
        video.ssrc_attribute(2001, "cname"),
        consumer.rtcp.cname.as_deref()
    );
    assert_eq!(
        video
            .extmaps
            .iter()
            .map(|e| (e.id, e.uri.clone()))
            .collect::<Vec<_>>(),
        consumer
            .header_extensions
            .iter()
            .map(|e| (e.id, e.uri.clone()))
            .collect::<Vec<_>>()
    );
    // The browser reads back the same codecs as the consumer's.
    let caps = rtp_capabilities_of(video);
    for (cap, codec) in caps.codecs.iter().zip(&consumer.codecs) {
        assert_eq!(cap.preferred_payload_type, Some(codec.payload_type));
        assert!(cap.mime_type.eq_ignore_ascii_case(&codec.mime_type));
        assert_eq!(cap.parameters, codec.parameters);
        assert_eq!(cap.rtcp_feedback, codec.rtcp_feedback);
    }
    assert!(text.contains("a=end-of-candidates\r\n"));
}

#[test]
fn closed_consumer_keeps_its_place_with_port_0_and_leaves_bundle() {
    let mut consumers = consumers();
    let first = sdp(&offer_consumers(&consumers, &local(false), 1));
    consumers[0].active = false;
    consumers.push(ConsumerSection {
        mid: "v2".to_owned(),
        ..consumers[1].clone()
    });
    let second = sdp(&offer_consumers(&consumers, &local(false), 2));
    assert_eq!(second.origin.session_id, first.origin.session_id);
    assert!(second.origin.session_version > first.origin.session_version);
    let mids = |d: &SessionDescription| {
        d.media
            .iter()
            .map(|m| m.mid.clone().unwrap())
            .collect::<Vec<_>>()
    };
    assert_eq!(mids(&second)[..2], mids(&first)[..]);
    assert_eq!(mids(&second), ["a0", "v1", "v2"]);
    let closed = section(&second, "a0");
    assert_eq!(closed.port, 0);
    assert!(closed.is_rejected());
    assert!(closed.ssrcs.is_empty() && closed.candidates.is_empty());
    assert_eq!(second.bundle_mids(), ["v1", "v2"]);
}

#[test]
fn data_channel_section_comes_first() {
    let consumers = consumers();
    let d = sdp(&offer_consumers(&consumers, &local(true), 1));
    assert_eq!(d.media[0].kind, SectionKind::Application);
    assert_eq!(d.media[0].mid.as_deref(), Some(DATA_CHANNEL_MID));
    assert_eq!(d.media[0].sctp_port, Some(5000));
    assert_eq!(d.bundle_mids(), [DATA_CHANNEL_MID, "a0", "v1"]);
    assert_eq!(
        offered_mids(&consumers, &local(true)),
        [DATA_CHANNEL_MID, "a0", "v1"]
    );
    // No consumers, no data: a valid empty offer.
    let empty = sdp(&offer_consumers(&[], &local(false), 1));
    assert!(empty.media.is_empty() && empty.groups.is_empty());
}

#[test]
fn accept_answer_reads_fingerprint_role_and_rejections() {
    let offered: Vec<String> = ["a0", "v1", "v2"].map(String::from).to_vec();
    let accepted = accept_answer(&sdp(CHROME_ANSWER), &offered).unwrap();
    assert_eq!(accepted.remote_dtls.role, DtlsRole::Client);
    assert_eq!(
        accepted.remote_dtls.fingerprints[0].value,
        "64:42:7C:6E:D4:CB:0A:9F:9E:17:61:13:7B:1E:24:03:0C:3E:B5:6B:C8:9E:9E:11:19:A9:EF:63:F6:34:08:A0"
    );
    assert_eq!(accepted.rejected_mids, ["v2"]);
    // An offered mid the answer leaves out counts as rejected.
    let more: Vec<String> = ["a0", "v1", "v2", "v3"].map(String::from).to_vec();
    assert_eq!(
        accept_answer(&sdp(CHROME_ANSWER), &more)
            .unwrap()
            .rejected_mids,
        ["v2", "v3"]
    );
    // Passive: the browser is the DTLS server.
    let passive = CHROME_ANSWER.replace("a=setup:active", "a=setup:passive");
    assert_eq!(
        accept_answer(&sdp(&passive), &offered)
            .unwrap()
            .remote_dtls
            .role,
        DtlsRole::Server
    );
    let actpass = CHROME_ANSWER.replace("a=setup:active", "a=setup:actpass");
    assert_eq!(
        accept_answer(&sdp(&actpass), &offered).unwrap_err(),
        SdpError::BadSetup("actpass", "answer")
    );
    // Mids must be offered ones, in order.
    let swapped: Vec<String> = ["v1", "a0", "v2"].map(String::from).to_vec();
    assert_eq!(
        accept_answer(&sdp(CHROME_ANSWER), &swapped).unwrap_err(),
        SdpError::UnexpectedMid {
            mid: "v1".to_owned()
        }
    );
    let unknown: Vec<String> = ["a0", "v2"].map(String::from).to_vec();
    assert!(matches!(
        accept_answer(&sdp(CHROME_ANSWER), &unknown),
        Err(SdpError::UnexpectedMid { .. })
    ));
}

#[test]
fn rtp_capabilities_of_an_answer_are_consumable() {
    let d = sdp(CHROME_ANSWER);
    let video = rtp_capabilities_of(section(&d, "v1"));
    assert_eq!(video.codecs.len(), 2);
    assert_eq!(video.codecs[0].mime_type, "video/VP8");
    assert_eq!(video.codecs[0].preferred_payload_type, Some(101));
    assert_eq!(video.codecs[0].rtcp_feedback.len(), 5);
    assert_eq!(video.codecs[1].parameters["apt"], 101.into());
    assert_eq!(video.header_extensions[1].preferred_id, 4);
    assert!(
        video
            .header_extensions
            .iter()
            .all(|e| e.kind == MediaKind::Video)
    );
    let audio = rtp_capabilities_of(section(&d, "a0"));
    assert_eq!(audio.codecs[0].channels, Some(2));

    let mut caps = RtpCapabilities {
        codecs: [audio.codecs, video.codecs.clone()].concat(),
        header_extensions: [audio.header_extensions, video.header_extensions].concat(),
    };
    ortc::validate_rtp_capabilities(&mut caps).unwrap();
    let published = answer_publish(&sdp(CHROME), &router(), &local(false)).unwrap();
    let consumable = produce(&published.tracks[1], &router());
    assert!(ortc::can_consume(&consumable, &caps));

    let app = MediaSection::new(SectionKind::Application, "UDP/DTLS/SCTP");
    assert_eq!(rtp_capabilities_of(&app), RtpCapabilities::default());
}

#[test]
fn a_consumer_with_a_hand_built_vp8_renders_exactly() {
    let consumer = ConsumerSection {
        mid: "0".to_owned(),
        kind: MediaKind::Video,
        rtp_parameters: RtpParameters {
            mid: Some("0".to_owned()),
            codecs: vec![
                RtpCodecParameters {
                    mime_type: "video/VP8".to_owned(),
                    payload_type: 101,
                    clock_rate: 90000,
                    channels: None,
                    parameters: Default::default(),
                    rtcp_feedback: vec![crate::rtp_parameters::RtcpFeedback::new("nack", "pli")],
                },
                RtpCodecParameters {
                    mime_type: "video/rtx".to_owned(),
                    payload_type: 102,
                    clock_rate: 90000,
                    channels: None,
                    parameters: [("apt".to_owned(), 101.into())].into(),
                    rtcp_feedback: vec![],
                },
            ],
            header_extensions: vec![],
            encodings: vec![RtpEncodingParameters {
                ssrc: Some(5),
                rtx: Some(RtpEncodingRtx { ssrc: 6 }),
                ..Default::default()
            }],
            rtcp: RtcpParameters {
                cname: Some("cn".to_owned()),
                reduced_size: Some(true),
            },
        },
        stream_id: "s".to_owned(),
        track_id: "t".to_owned(),
        active: true,
    };
    let mut l = local(false);
    l.ice_candidates.truncate(1);
    let text = offer_consumers(&[consumer], &l, 3);
    let expected = format!(
        "v=0\r\no=- 7263948112030455001 3 IN IP4 0.0.0.0\r\ns=mediagate\r\nt=0 0\r\na=ice-lite\r\n\
         a=ice-ufrag:srvufrag1234abcd\r\na=ice-pwd:srvpassword0123456789abcdefghij\r\n\
         a=fingerprint:sha-256 {LOCAL_FP}\r\na=setup:actpass\r\na=group:BUNDLE 0\r\n\
         a=msid-semantic: WMS\r\n\
         m=video 40001 UDP/TLS/RTP/SAVPF 101 102\r\nc=IN IP4 192.0.2.10\r\n\
         a=ice-ufrag:srvufrag1234abcd\r\na=ice-pwd:srvpassword0123456789abcdefghij\r\n\
         a=setup:actpass\r\na=mid:0\r\na=sendonly\r\na=msid:s t\r\na=rtcp-mux\r\na=rtcp-rsize\r\n\
         a=rtpmap:101 VP8/90000\r\na=rtcp-fb:101 nack pli\r\na=rtpmap:102 rtx/90000\r\n\
         a=fmtp:102 apt=101\r\na=ssrc-group:FID 5 6\r\na=ssrc:5 cname:cn\r\na=ssrc:5 msid:s t\r\n\
         a=ssrc:6 cname:cn\r\na=ssrc:6 msid:s t\r\n\
         a=candidate:tcpcandidate 1 tcp 1076302079 192.0.2.10 40001 typ host tcptype passive\r\n\
         a=end-of-candidates\r\n"
    );
    assert_eq!(text, expected);
}

// ---------------------------------------------------------------- play

/// What a play offer's section reads as: (mid, kind when it can be filled).
fn play_kinds(offer: &str) -> Vec<(String, Option<MediaKind>)> {
    read_play_offer(&sdp(offer))
        .unwrap()
        .sections
        .into_iter()
        .map(|s| (s.mid, s.kind))
        .collect()
}

fn mid_kinds(list: &[(&str, Option<MediaKind>)]) -> Vec<(String, Option<MediaKind>)> {
    list.iter().map(|(m, k)| ((*m).to_owned(), *k)).collect()
}

/// The consumer a router makes for a play section from one of Chrome's published tracks: its capabilities
/// renumbered into the router's, the consumer's parameters, written back in the viewer's numbering.
fn played(section: &PlaySection, track: &PublishedTrack, ssrc: u32) -> ConsumerSection {
    let consumable = produce(track, &router());
    let (caps, numbering) =
        ortc::renumber_endpoint_capabilities(&consumable, &section.capabilities).unwrap();
    let routed = ortc::get_consumer_rtp_parameters(&consumable, &caps, true, ssrc).unwrap();
    let mut rtp_parameters = numbering.apply(&routed);
    rtp_parameters.mid = Some(section.mid.clone());
    ConsumerSection {
        mid: section.mid.clone(),
        kind: track.kind,
        rtp_parameters,
        stream_id: "peer-alice".to_owned(),
        track_id: format!("track-{}", section.mid),
        active: true,
    }
}

/// Chrome's published audio and video (router numbering once produced) filling Chrome's play offer.
fn play_answer(offer: &str, fill: [bool; 2]) -> Result<String, SdpError> {
    let published = answer_publish(&sdp(CHROME), &router(), &local(false)).unwrap();
    let offer = sdp(offer);
    let read = read_play_offer(&offer).unwrap();
    let filled: Vec<Option<ConsumerSection>> = read
        .sections
        .iter()
        .zip(&published.tracks)
        .zip(fill)
        .zip([3000, 4000])
        .map(|(((section, track), fill), ssrc)| fill.then(|| played(section, track, ssrc)))
        .collect();
    answer_play(&offer, &read, &filled, &local(false))
}

fn extmap_ids(m: &MediaSection) -> Vec<(u8, &str)> {
    m.extmaps.iter().map(|e| (e.id, e.uri.as_str())).collect()
}

#[test]
fn chrome_play_offer_reads_two_receiving_sections_in_its_own_numbering() {
    let d = sdp(CHROME_PLAY);
    assert!(
        d.other_attributes
            .iter()
            .any(|a| a.name == "extmap-allow-mixed")
    );
    assert_eq!(d.bundle_mids(), ["0", "1"]);
    let read = read_play_offer(&d).unwrap();
    assert_eq!(
        read.remote_dtls.role,
        DtlsRole::Client,
        "actpass: we answer passive"
    );
    assert_eq!(read.remote_dtls.fingerprints[0].value, CHROME_PLAY_FP);
    assert_eq!(
        play_kinds(CHROME_PLAY),
        mid_kinds(&[("0", Some(MediaKind::Audio)), ("1", Some(MediaKind::Video))])
    );
    let audio = &read.sections[0].capabilities;
    assert_eq!(audio.codecs[0].mime_type, "audio/opus");
    assert_eq!(audio.codecs[0].preferred_payload_type, Some(111));
    let audio_ids: Vec<_> = audio
        .header_extensions
        .iter()
        .map(|e| e.preferred_id)
        .collect();
    assert_eq!(audio_ids, [1, 2, 3, 4]);
    let video = &read.sections[1].capabilities;
    assert_eq!(video.codecs.len(), 25);
    assert_eq!(video.codecs[0].preferred_payload_type, Some(96));
    assert_eq!(video.codecs[1].parameters["apt"], 96.into());
    assert_eq!(video.header_extensions.len(), 11);
    assert!(
        video
            .header_extensions
            .iter()
            .any(|e| e.preferred_id == 4 && e.uri.ends_with("sdes:mid"))
    );
}

#[test]
fn play_sections_a_viewer_does_not_receive_on_cannot_be_filled() {
    use MediaKind::{Audio, Video};
    let video_section_start = CHROME_PLAY.find("m=video").unwrap();
    let (audio_part, video_part) = CHROME_PLAY.split_at(video_section_start);
    let with_video = |f: &dyn Fn(&str) -> String| format!("{audio_part}{}", f(video_part));
    // sendonly (the viewer sends only) and inactive sections: nothing to receive.
    let sendonly = with_video(&|v| v.replace("a=recvonly", "a=sendonly"));
    assert_eq!(
        play_kinds(&sendonly),
        mid_kinds(&[("0", Some(Audio)), ("1", None)])
    );
    let inactive = with_video(&|v| v.replace("a=recvonly", "a=inactive"));
    assert_eq!(
        play_kinds(&inactive),
        mid_kinds(&[("0", Some(Audio)), ("1", None)])
    );
    // sendrecv receives too.
    let sendrecv = with_video(&|v| v.replace("a=recvonly", "a=sendrecv"));
    assert_eq!(
        play_kinds(&sendrecv),
        mid_kinds(&[("0", Some(Audio)), ("1", Some(Video))])
    );
    // Rejected (port 0), without rtcp-mux, plain RTP/AVP: not usable.
    let rejected = with_video(&|v| v.replacen("m=video 9 ", "m=video 0 ", 1));
    assert_eq!(play_kinds(&rejected)[1].1, None);
    let no_mux = with_video(&|v| v.replace("a=rtcp-mux\n", ""));
    assert_eq!(play_kinds(&no_mux)[1].1, None);
    let avp = with_video(&|v| v.replacen("UDP/TLS/RTP/SAVPF", "RTP/AVP", 1));
    assert_eq!(play_kinds(&avp)[1].1, None);
    // Out of the BUNDLE group.
    let unbundled = CHROME_PLAY.replace("a=group:BUNDLE 0 1", "a=group:BUNDLE 0");
    assert_eq!(
        play_kinds(&unbundled),
        mid_kinds(&[("0", Some(Audio)), ("1", None)])
    );
    // Without a group, only the first usable section is (one transport).
    let no_group = CHROME_PLAY.replace("a=group:BUNDLE 0 1\n", "");
    assert_eq!(
        play_kinds(&no_group),
        mid_kinds(&[("0", Some(Audio)), ("1", None)])
    );
    let no_group_sendonly_audio = no_group.replacen("a=recvonly", "a=sendonly", 1);
    assert_eq!(
        play_kinds(&no_group_sendonly_audio),
        mid_kinds(&[("0", None), ("1", Some(Video))])
    );
    // A data channel section is never filled.
    let app = format!(
        "{}m=application 9 UDP/DTLS/SCTP webrtc-datachannel\nc=IN IP4 0.0.0.0\na=mid:2\n\
         a=sctp-port:5000\n",
        CHROME_PLAY.replace("a=group:BUNDLE 0 1", "a=group:BUNDLE 0 1 2")
    );
    let read = read_play_offer(&sdp(&app)).unwrap();
    assert_eq!(read.sections[2].kind, None);
    assert_eq!(read.sections[2].capabilities, RtpCapabilities::default());
    // Unusable sections carry no capabilities.
    let read = read_play_offer(&sdp(&sendonly)).unwrap();
    assert_eq!(read.sections[1].capabilities, RtpCapabilities::default());
}

#[test]
fn play_offer_errors_name_the_problem() {
    let no_fp: String = CHROME_PLAY
        .lines()
        .filter(|l| !l.starts_with("a=fingerprint"))
        .map(|l| format!("{l}\n"))
        .collect();
    assert_eq!(
        read_play_offer(&sdp(&no_fp)).unwrap_err(),
        SdpError::NoFingerprint
    );
    let dup = CHROME_PLAY.replace("a=mid:1", "a=mid:0");
    assert_eq!(
        read_play_offer(&sdp(&dup)).unwrap_err(),
        SdpError::BadMid {
            index: 1,
            problem: "duplicate a=mid"
        }
    );
    let holdconn = CHROME_PLAY.replace("a=setup:actpass", "a=setup:holdconn");
    assert_eq!(
        read_play_offer(&sdp(&holdconn)).unwrap_err(),
        SdpError::BadSetup("holdconn", "offer")
    );
}

#[test]
fn play_answer_sends_in_the_viewers_payload_types_and_extension_ids() {
    let text = play_answer(CHROME_PLAY, [true, true]).unwrap();
    let d = sdp(&text);
    assert!(d.ice_lite);
    assert_eq!(d.setup, Some(Setup::Passive));
    assert!(!text.contains("a=setup:actpass"), "{text}");
    assert_eq!(d.fingerprints, local(false).dtls_fingerprints);
    assert_eq!(d.bundle_mids(), ["0", "1"]);
    assert_eq!(d.origin.session_id, 7_263_948_112_030_455_001);

    let audio = section(&d, "0");
    assert_eq!(audio.direction, Some(Direction::Sendonly));
    assert_eq!(audio.setup, Some(Setup::Passive));
    assert_eq!(audio.port, 40000);
    assert_eq!(pts(audio), [111], "Chrome's opus, not the router's 100");
    assert_eq!(audio.rtpmap(111).unwrap().channels, Some(2));
    assert_eq!(
        audio.ssrc_attribute(3000, "msid"),
        Some("peer-alice track-0")
    );
    // Every answered extension id is the offer's for the same URI.
    let offer = sdp(CHROME_PLAY);
    for (answer_mid, m) in [("0", audio), ("1", section(&d, "1"))] {
        let offered = extmap_ids(section(&offer, answer_mid));
        assert!(!m.extmaps.is_empty());
        for ext in extmap_ids(m) {
            assert!(
                offered.contains(&ext),
                "{ext:?} not offered in {answer_mid}"
            );
        }
    }
    assert!(extmap_ids(audio).contains(&(1, "urn:ietf:params:rtp-hdrext:ssrc-audio-level")));

    let video = section(&d, "1");
    assert_eq!(video.direction, Some(Direction::Sendonly));
    assert_eq!(
        pts(video),
        [96, 97],
        "Chrome's VP8 and its RTX, not 101/102"
    );
    assert_eq!(video.fmtp(97)["apt"], 96.into());
    assert_eq!(video.ssrc_groups[0].semantics, "FID");
    assert_eq!(video.ssrc_groups[0].ssrcs, [4000, 4001]);
    assert_eq!(
        extmap_ids(video),
        [
            (4, "urn:ietf:params:rtp-hdrext:sdes:mid"),
            (
                2,
                "http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time"
            ),
            (
                3,
                "http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01"
            ),
            (13, "urn:3gpp:video-orientation"),
            (14, "urn:ietf:params:rtp-hdrext:toffset"),
            (
                5,
                "http://www.webrtc.org/experiments/rtp-hdrext/playout-delay"
            ),
        ]
    );
    // The viewer reads back what it offered for these codecs.
    let caps = rtp_capabilities_of(video);
    assert_eq!(caps.codecs[0].mime_type, "video/VP8");
    assert_eq!(caps.codecs[0].preferred_payload_type, Some(96));

    // Read as an answer to the offer, it is a passive (DTLS server) answer with nothing rejected.
    let accepted = accept_answer(&d, &["0".to_owned(), "1".to_owned()]).unwrap();
    assert_eq!(accepted.remote_dtls.role, DtlsRole::Server);
    assert!(accepted.rejected_mids.is_empty());
}

#[test]
fn a_passive_viewer_gets_an_active_answer() {
    let passive = CHROME_PLAY.replace("a=setup:actpass", "a=setup:passive");
    assert_eq!(
        read_play_offer(&sdp(&passive)).unwrap().remote_dtls.role,
        DtlsRole::Server
    );
    let text = play_answer(&passive, [true, true]).unwrap();
    let d = sdp(&text);
    assert_eq!(d.setup, Some(Setup::Active));
    assert_eq!(section(&d, "0").setup, Some(Setup::Active));
    assert_eq!(section(&d, "1").setup, Some(Setup::Active));
    assert!(!text.contains("a=setup:passive"), "{text}");
    // An active offer is answered passive, like actpass.
    let active = CHROME_PLAY.replace("a=setup:actpass", "a=setup:active");
    let d = sdp(&play_answer(&active, [true, true]).unwrap());
    assert_eq!(d.setup, Some(Setup::Passive));
}

#[test]
fn unfilled_play_sections_are_rejected_and_leave_bundle() {
    let text = play_answer(CHROME_PLAY, [false, true]).unwrap();
    let d = sdp(&text);
    assert_eq!(
        d.media.len(),
        2,
        "every offered section is answered, in order"
    );
    assert!(
        text.contains("m=audio 0 UDP/TLS/RTP/SAVPF 111\r\n"),
        "{text}"
    );
    let audio = section(&d, "0");
    assert!(audio.is_rejected());
    assert!(audio.ssrcs.is_empty() && audio.extmaps.is_empty());
    assert_eq!(d.bundle_mids(), ["1"]);
    let accepted = accept_answer(&d, &["0".to_owned(), "1".to_owned()]).unwrap();
    assert_eq!(accepted.rejected_mids, ["0"]);

    // A data channel section beside them is rejected too.
    let with_app = format!(
        "{}m=application 9 UDP/DTLS/SCTP webrtc-datachannel\nc=IN IP4 0.0.0.0\na=mid:2\n\
         a=sctp-port:5000\n",
        CHROME_PLAY.replace("a=group:BUNDLE 0 1", "a=group:BUNDLE 0 1 2")
    );
    let text = play_answer(&with_app, [true, true]).unwrap();
    let d = sdp(&text);
    assert!(
        text.contains("m=application 0 UDP/DTLS/SCTP webrtc-datachannel\r\n"),
        "{text}"
    );
    assert!(section(&d, "2").is_rejected());
    assert_eq!(d.bundle_mids(), ["0", "1"]);
}

#[test]
fn a_play_answer_with_nothing_filled_is_nothing_accepted() {
    assert_eq!(
        play_answer(CHROME_PLAY, [false, false]).unwrap_err(),
        SdpError::NothingAccepted
    );
    let offer = sdp(CHROME_PLAY);
    let read = read_play_offer(&offer).unwrap();
    assert_eq!(
        answer_play(&offer, &read, &[], &local(false)).unwrap_err(),
        SdpError::NothingAccepted
    );
}
