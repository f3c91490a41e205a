//! The supported capability table (mediasoup's `supportedRtpCapabilities`) and the demo's router codecs.

use crate::rtp_parameters::{
    MediaKind, ParameterValue, RtcpFeedback, RtpCapabilities, RtpCodecCapability,
    RtpHeaderExtension, RtpHeaderExtensionDirection,
};

/// `a=extmap` URIs of the header extensions mediagate knows.
pub(crate) mod uri {
    pub const MID: &str = "urn:ietf:params:rtp-hdrext:sdes:mid";
    pub const RTP_STREAM_ID: &str = "urn:ietf:params:rtp-hdrext:sdes:rtp-stream-id";
    pub const REPAIRED_RTP_STREAM_ID: &str =
        "urn:ietf:params:rtp-hdrext:sdes:repaired-rtp-stream-id";
    pub const ABS_SEND_TIME: &str = "http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time";
    pub const TRANSPORT_WIDE_CC: &str =
        "http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01";
    pub const FRAMEMARKING_07: &str =
        "http://tools.ietf.org/html/draft-ietf-avtext-framemarking-07";
    pub const FRAMEMARKING: &str = "urn:ietf:params:rtp-hdrext:framemarking";
    pub const AUDIO_LEVEL: &str = "urn:ietf:params:rtp-hdrext:ssrc-audio-level";
    pub const VIDEO_ORIENTATION: &str = "urn:3gpp:video-orientation";
    pub const TOFFSET: &str = "urn:ietf:params:rtp-hdrext:toffset";
    pub const ABS_CAPTURE_TIME: &str =
        "http://www.webrtc.org/experiments/rtp-hdrext/abs-capture-time";
    pub const PLAYOUT_DELAY: &str = "http://www.webrtc.org/experiments/rtp-hdrext/playout-delay";
}

const AUDIO_FEEDBACK: &[(&str, &str)] = &[("nack", ""), ("transport-cc", "")];
const TCC_FEEDBACK: &[(&str, &str)] = &[("transport-cc", "")];
const VIDEO_FEEDBACK: &[(&str, &str)] = &[
    ("nack", ""),
    ("nack", "pli"),
    ("ccm", "fir"),
    ("goog-remb", ""),
    ("transport-cc", ""),
];

fn codec(
    kind: MediaKind,
    mime_type: &str,
    preferred_payload_type: Option<u8>,
    clock_rate: u32,
    channels: Option<u8>,
    parameters: &[(&str, ParameterValue)],
    feedback: &[(&str, &str)],
) -> RtpCodecCapability {
    RtpCodecCapability {
        kind: Some(kind),
        mime_type: mime_type.to_owned(),
        preferred_payload_type,
        clock_rate,
        channels,
        parameters: parameters
            .iter()
            .map(|(k, v)| ((*k).to_owned(), v.clone()))
            .collect(),
        rtcp_feedback: feedback
            .iter()
            .map(|(t, p)| RtcpFeedback::new(t, p))
            .collect(),
    }
}

fn audio(
    mime_type: &str,
    preferred_payload_type: Option<u8>,
    clock_rate: u32,
    feedback: &[(&str, &str)],
) -> RtpCodecCapability {
    codec(
        MediaKind::Audio,
        mime_type,
        preferred_payload_type,
        clock_rate,
        Some(1),
        &[],
        feedback,
    )
}

fn multiopus(channels: u8, mapping: &str, streams: i64, coupled: i64) -> RtpCodecCapability {
    codec(
        MediaKind::Audio,
        "audio/multiopus",
        None,
        48000,
        Some(channels),
        &[
            ("channel_mapping", mapping.into()),
            ("num_streams", streams.into()),
            ("coupled_streams", coupled.into()),
        ],
        AUDIO_FEEDBACK,
    )
}

fn video(mime_type: &str, parameters: &[(&str, ParameterValue)]) -> RtpCodecCapability {
    codec(
        MediaKind::Video,
        mime_type,
        None,
        90000,
        None,
        parameters,
        VIDEO_FEEDBACK,
    )
}

fn extension(
    kind: MediaKind,
    uri: &str,
    preferred_id: u8,
    direction: RtpHeaderExtensionDirection,
) -> RtpHeaderExtension {
    RtpHeaderExtension {
        kind,
        uri: uri.to_owned(),
        preferred_id,
        preferred_encrypt: false,
        direction,
    }
}

pub(crate) fn supported_rtp_capabilities() -> RtpCapabilities {
    use MediaKind::{Audio, Video};
    use RtpHeaderExtensionDirection::{Recvonly, Sendrecv};

    let asymmetry: &[(&str, ParameterValue)] = &[("level-asymmetry-allowed", 1.into())];
    let codecs = vec![
        codec(
            Audio,
            "audio/opus",
            None,
            48000,
            Some(2),
            &[],
            AUDIO_FEEDBACK,
        ),
        multiopus(4, "0,1,2,3", 2, 2),
        multiopus(6, "0,4,1,2,3,5", 4, 2),
        multiopus(8, "0,6,1,2,3,4,5,7", 5, 3),
        audio("audio/PCMU", Some(0), 8000, TCC_FEEDBACK),
        audio("audio/PCMA", Some(8), 8000, TCC_FEEDBACK),
        audio("audio/ISAC", None, 32000, TCC_FEEDBACK),
        audio("audio/ISAC", None, 16000, TCC_FEEDBACK),
        audio("audio/G722", Some(9), 8000, TCC_FEEDBACK),
        audio("audio/iLBC", None, 8000, TCC_FEEDBACK),
        audio("audio/SILK", None, 24000, TCC_FEEDBACK),
        audio("audio/SILK", None, 16000, TCC_FEEDBACK),
        audio("audio/SILK", None, 12000, TCC_FEEDBACK),
        audio("audio/SILK", None, 8000, TCC_FEEDBACK),
        audio("audio/CN", Some(13), 32000, &[]),
        audio("audio/CN", Some(13), 16000, &[]),
        audio("audio/CN", Some(13), 8000, &[]),
        audio("audio/telephone-event", None, 48000, &[]),
        audio("audio/telephone-event", None, 32000, &[]),
        audio("audio/telephone-event", None, 16000, &[]),
        audio("audio/telephone-event", None, 8000, &[]),
        video("video/VP8", &[]),
        video("video/VP9", &[]),
        video("video/H264", asymmetry),
        video("video/H264-SVC", asymmetry),
        video("video/H265", asymmetry),
    ];
    let header_extensions = vec![
        extension(Audio, uri::MID, 1, Sendrecv),
        extension(Video, uri::MID, 1, Sendrecv),
        extension(Video, uri::RTP_STREAM_ID, 2, Recvonly),
        extension(Video, uri::REPAIRED_RTP_STREAM_ID, 3, Recvonly),
        extension(Audio, uri::ABS_SEND_TIME, 4, Sendrecv),
        extension(Video, uri::ABS_SEND_TIME, 4, Sendrecv),
        // Audio transport-cc is received (for the producer's BWE) but never sent.
        extension(Audio, uri::TRANSPORT_WIDE_CC, 5, Recvonly),
        extension(Video, uri::TRANSPORT_WIDE_CC, 5, Sendrecv),
        extension(Video, uri::FRAMEMARKING_07, 6, Sendrecv),
        extension(Video, uri::FRAMEMARKING, 7, Sendrecv),
        extension(Audio, uri::AUDIO_LEVEL, 10, Sendrecv),
        extension(Video, uri::VIDEO_ORIENTATION, 11, Sendrecv),
        extension(Video, uri::TOFFSET, 12, Sendrecv),
        extension(Audio, uri::ABS_CAPTURE_TIME, 13, Sendrecv),
        extension(Video, uri::ABS_CAPTURE_TIME, 13, Sendrecv),
        extension(Audio, uri::PLAYOUT_DELAY, 14, Sendrecv),
        extension(Video, uri::PLAYOUT_DELAY, 14, Sendrecv),
    ];
    RtpCapabilities {
        codecs,
        header_extensions,
    }
}

pub(crate) fn default_media_codecs() -> Vec<RtpCodecCapability> {
    let start: (&str, ParameterValue) = ("x-google-start-bitrate", 1000.into());
    let h264 = |profile_level_id: &str| {
        codec(
            MediaKind::Video,
            "video/h264",
            None,
            90000,
            None,
            &[
                ("packetization-mode", 1.into()),
                ("profile-level-id", profile_level_id.into()),
                ("level-asymmetry-allowed", 1.into()),
                start.clone(),
            ],
            &[],
        )
    };
    vec![
        codec(
            MediaKind::Audio,
            "audio/opus",
            None,
            48000,
            Some(2),
            &[],
            &[],
        ),
        codec(
            MediaKind::Video,
            "video/VP8",
            None,
            90000,
            None,
            std::slice::from_ref(&start),
            &[],
        ),
        codec(
            MediaKind::Video,
            "video/VP9",
            None,
            90000,
            None,
            &[("profile-id", 2.into()), start.clone()],
            &[],
        ),
        h264("4d0032"),
        h264("42e01f"),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ortc::{generate_router_rtp_capabilities, validate_rtp_capabilities};

    #[test]
    fn supported_codecs_have_mediasoup_shape() {
        let caps = supported_rtp_capabilities();
        assert_eq!(caps.codecs.len(), 26);
        let find = |mime: &str, rate: u32| {
            caps.codecs
                .iter()
                .find(|c| c.mime_type == mime && c.clock_rate == rate)
                .unwrap_or_else(|| panic!("{mime}/{rate} missing"))
        };
        let opus = find("audio/opus", 48000);
        assert_eq!(opus.channels, Some(2));
        assert_eq!(
            opus.rtcp_feedback,
            vec![
                RtcpFeedback::new("nack", ""),
                RtcpFeedback::new("transport-cc", "")
            ]
        );
        assert_eq!(find("audio/PCMU", 8000).preferred_payload_type, Some(0));
        assert_eq!(find("audio/PCMA", 8000).preferred_payload_type, Some(8));
        assert_eq!(find("audio/G722", 8000).preferred_payload_type, Some(9));
        for rate in [32000, 16000, 8000] {
            let cn = find("audio/CN", rate);
            assert_eq!(cn.preferred_payload_type, Some(13));
            assert!(cn.rtcp_feedback.is_empty());
        }
        for rate in [48000, 32000, 16000, 8000] {
            assert!(find("audio/telephone-event", rate).rtcp_feedback.is_empty());
        }
        for rate in [24000, 16000, 12000, 8000] {
            assert_eq!(
                find("audio/SILK", rate).rtcp_feedback,
                vec![RtcpFeedback::new("transport-cc", "")]
            );
        }
        let six = caps
            .codecs
            .iter()
            .find(|c| c.mime_type == "audio/multiopus" && c.channels == Some(6))
            .unwrap();
        assert_eq!(six.parameters["channel_mapping"], "0,4,1,2,3,5".into());
        assert_eq!(six.parameters["num_streams"], 4.into());
        assert_eq!(six.parameters["coupled_streams"], 2.into());
        for mime in [
            "video/VP8",
            "video/VP9",
            "video/H264",
            "video/H264-SVC",
            "video/H265",
        ] {
            let c = find(mime, 90000);
            assert_eq!(c.kind, Some(MediaKind::Video));
            assert_eq!(c.channels, None);
            assert_eq!(c.rtcp_feedback.len(), 5);
            assert_eq!(c.rtcp_feedback[1], RtcpFeedback::new("nack", "pli"));
            assert_eq!(c.rtcp_feedback[2], RtcpFeedback::new("ccm", "fir"));
            assert_eq!(
                c.parameters.contains_key("level-asymmetry-allowed"),
                mime.starts_with("video/H26")
            );
        }
        assert!(caps.codecs.iter().all(|c| c.kind.is_some()));
    }

    #[test]
    fn supported_header_extensions_have_ids_kinds_and_directions() {
        let caps = supported_rtp_capabilities();
        assert_eq!(caps.header_extensions.len(), 17);
        let get = |kind: MediaKind, u: &str| {
            caps.header_extensions
                .iter()
                .find(|e| e.kind == kind && e.uri == u)
                .map(|e| (e.preferred_id, e.direction))
        };
        use MediaKind::{Audio, Video};
        use RtpHeaderExtensionDirection::{Recvonly, Sendrecv};
        assert_eq!(get(Audio, uri::MID), Some((1, Sendrecv)));
        assert_eq!(get(Video, uri::RTP_STREAM_ID), Some((2, Recvonly)));
        assert_eq!(get(Audio, uri::RTP_STREAM_ID), None);
        assert_eq!(get(Video, uri::REPAIRED_RTP_STREAM_ID), Some((3, Recvonly)));
        assert_eq!(get(Audio, uri::ABS_SEND_TIME), Some((4, Sendrecv)));
        assert_eq!(get(Audio, uri::TRANSPORT_WIDE_CC), Some((5, Recvonly)));
        assert_eq!(get(Video, uri::TRANSPORT_WIDE_CC), Some((5, Sendrecv)));
        assert_eq!(get(Video, uri::FRAMEMARKING_07), Some((6, Sendrecv)));
        assert_eq!(get(Video, uri::FRAMEMARKING), Some((7, Sendrecv)));
        assert_eq!(get(Audio, uri::AUDIO_LEVEL), Some((10, Sendrecv)));
        assert_eq!(get(Video, uri::AUDIO_LEVEL), None);
        assert_eq!(get(Video, uri::VIDEO_ORIENTATION), Some((11, Sendrecv)));
        assert_eq!(get(Video, uri::TOFFSET), Some((12, Sendrecv)));
        assert_eq!(get(Video, uri::ABS_CAPTURE_TIME), Some((13, Sendrecv)));
        assert_eq!(get(Audio, uri::PLAYOUT_DELAY), Some((14, Sendrecv)));
        assert!(caps.header_extensions.iter().all(|e| !e.preferred_encrypt));
    }

    #[test]
    fn supported_table_is_already_normalised() {
        let caps = supported_rtp_capabilities();
        let mut validated = caps.clone();
        validate_rtp_capabilities(&mut validated).unwrap();
        assert_eq!(validated, caps);
    }

    #[test]
    fn supported_capabilities_serialise_as_mediasoup_json() {
        let json = serde_json::to_value(supported_rtp_capabilities()).unwrap();
        assert_eq!(
            json["codecs"][0],
            serde_json::json!({
                "kind": "audio", "mimeType": "audio/opus", "clockRate": 48000, "channels": 2,
                "parameters": {},
                "rtcpFeedback": [{"type": "nack", "parameter": ""}, {"type": "transport-cc", "parameter": ""}]
            })
        );
        assert_eq!(
            json["headerExtensions"][6],
            serde_json::json!({
                "kind": "audio", "uri": uri::TRANSPORT_WIDE_CC, "preferredId": 5,
                "preferredEncrypt": false, "direction": "recvonly"
            })
        );
    }

    #[test]
    fn default_codecs_give_the_demo_router_capabilities() {
        let caps = generate_router_rtp_capabilities(&default_media_codecs()).unwrap();
        let summary: Vec<(String, Option<u8>, Option<i64>)> = caps
            .codecs
            .iter()
            .map(|c| {
                (
                    c.mime_type.clone(),
                    c.preferred_payload_type,
                    c.parameters.get("apt").and_then(ParameterValue::as_i64),
                )
            })
            .collect();
        let row = |m: &str, pt: u8, apt: Option<i64>| (m.to_owned(), Some(pt), apt);
        assert_eq!(
            summary,
            vec![
                row("audio/opus", 100, None),
                row("video/VP8", 101, None),
                row("video/rtx", 102, Some(101)),
                row("video/VP9", 103, None),
                row("video/rtx", 104, Some(103)),
                row("video/H264", 105, None),
                row("video/rtx", 106, Some(105)),
                row("video/H264", 107, None),
                row("video/rtx", 108, Some(107)),
            ]
        );
        let vp8 = &caps.codecs[1];
        assert_eq!(vp8.parameters["x-google-start-bitrate"], 1000.into());
        assert_eq!(vp8.rtcp_feedback.len(), 5);
        assert_eq!(vp8.rtcp_feedback[3], RtcpFeedback::new("goog-remb", ""));
        assert_eq!(caps.codecs[3].parameters["profile-id"], 2.into());
        let h264 = &caps.codecs[5];
        assert_eq!(h264.parameters["packetization-mode"], 1.into());
        assert_eq!(h264.parameters["profile-level-id"], "4d0032".into());
        assert_eq!(h264.parameters["level-asymmetry-allowed"], 1.into());
        assert_eq!(
            caps.codecs[7].parameters["profile-level-id"],
            "42e01f".into()
        );
        let rtx = &caps.codecs[2];
        assert_eq!(rtx.kind, Some(MediaKind::Video));
        assert_eq!(rtx.clock_rate, 90000);
        assert!(rtx.rtcp_feedback.is_empty());
        assert_eq!(rtx.parameters.len(), 1);
        assert_eq!(
            caps.header_extensions,
            supported_rtp_capabilities().header_extensions
        );
        let json = serde_json::to_value(&caps).unwrap();
        assert_eq!(
            json["codecs"][2],
            serde_json::json!({
                "kind": "video", "mimeType": "video/rtx", "preferredPayloadType": 102,
                "clockRate": 90000, "parameters": {"apt": 101}, "rtcpFeedback": []
            })
        );
    }
}
