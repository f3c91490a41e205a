//! Router capability generation (mediasoup's `generateRouterRtpCapabilities`).
//!
//! Each media codec is matched loosely against the supported table and takes the table's entry (its mime
//! spelling, feedback and static payload type) with the user's parameters merged over the table's. Payload
//! types come from the user's preference, else the table, else the dynamic pool 100–127 then 96–99; every
//! video codec is followed by its `video/rtx`.

use std::collections::VecDeque;

use crate::rtp_parameters::{MediaKind, RtpCapabilities, RtpCodecCapability};

use super::matching::{CodecView, match_codecs};
use super::supported::supported_rtp_capabilities;
use super::validate::validate_rtp_codec_capability;
use super::{OrtcError, invalid, unsupported};

/// The dynamic payload types in the order they are handed out.
fn dynamic_payload_types() -> VecDeque<u8> {
    (100..=127).chain(96..=99).collect()
}

pub(crate) fn generate_router_rtp_capabilities(
    media_codecs: &[RtpCodecCapability],
) -> Result<RtpCapabilities, OrtcError> {
    let supported = supported_rtp_capabilities();
    let mut pool = dynamic_payload_types();
    let mut codecs: Vec<RtpCodecCapability> = Vec::new();
    let exhausted = |path: &str| invalid(path, "cannot allocate more dynamic codec payload types");

    for (i, media_codec) in media_codecs.iter().enumerate() {
        let path = format!("[{i}]");
        let mut media_codec = media_codec.clone();
        validate_rtp_codec_capability(&mut media_codec).map_err(|e| e.prefixed(&path))?;

        let matched = supported
            .codecs
            .iter()
            .find(|s| match_codecs(CodecView::from(&media_codec), (*s).into(), false).is_some())
            .ok_or_else(|| {
                unsupported(
                    &path,
                    format!("media codec not supported: {}", media_codec.mime_type),
                )
            })?;
        let mut codec = matched.clone();

        let (pt, pt_path) = match media_codec.preferred_payload_type {
            Some(pt) => {
                pool.retain(|&p| p != pt);
                (pt, format!("{path}.preferredPayloadType"))
            }
            None => match codec.preferred_payload_type {
                Some(pt) => (pt, path.clone()),
                None => (
                    pool.pop_front().ok_or_else(|| exhausted(&path))?,
                    path.clone(),
                ),
            },
        };
        if codecs.iter().any(|c| c.preferred_payload_type == Some(pt)) {
            return Err(invalid(pt_path, format!("duplicate payload type: {pt}")));
        }
        codec.preferred_payload_type = Some(pt);
        codec.parameters.extend(media_codec.parameters);
        let kind = codec.kind;
        let clock_rate = codec.clock_rate;
        codecs.push(codec);

        if kind == Some(MediaKind::Video) {
            let rtx_pt = pool.pop_front().ok_or_else(|| exhausted(&path))?;
            codecs.push(RtpCodecCapability {
                kind: Some(MediaKind::Video),
                mime_type: "video/rtx".to_owned(),
                preferred_payload_type: Some(rtx_pt),
                clock_rate,
                channels: None,
                parameters: [("apt".to_owned(), i64::from(pt).into())].into(),
                rtcp_feedback: Vec::new(),
            });
        }
    }

    Ok(RtpCapabilities {
        codecs,
        header_extensions: supported.header_extensions,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ortc::generate_router_rtp_capabilities as generate;
    use crate::rtp_parameters::{ParameterValue, RtcpFeedback};

    fn codecs(json: &str) -> Vec<RtpCodecCapability> {
        serde_json::from_str(json).unwrap()
    }

    fn video_feedback() -> Vec<RtcpFeedback> {
        vec![
            RtcpFeedback::new("nack", ""),
            RtcpFeedback::new("nack", "pli"),
            RtcpFeedback::new("ccm", "fir"),
            RtcpFeedback::new("goog-remb", ""),
            RtcpFeedback::new("transport-cc", ""),
        ]
    }

    #[test]
    fn assigns_payload_types_like_mediasoup() {
        let caps = generate(&codecs(
            r#"[
            {"kind":"audio","mimeType":"audio/opus","clockRate":48000,"channels":2,"parameters":{"useinbandfec":1,"foo":"bar"}},
            {"kind":"video","mimeType":"video/VP8","preferredPayloadType":125,"clockRate":90000},
            {"kind":"video","mimeType":"video/H264","clockRate":90000,"parameters":{"level-asymmetry-allowed":1,"profile-level-id":"42e01f","foo":"bar"}}
        ]"#,
        ))
        .unwrap();
        assert_eq!(caps.codecs.len(), 5);
        assert_eq!(
            serde_json::to_value(&caps.codecs).unwrap(),
            serde_json::json!([
                {"kind":"audio","mimeType":"audio/opus","preferredPayloadType":100,"clockRate":48000,"channels":2,
                 "parameters":{"useinbandfec":1,"foo":"bar"},
                 "rtcpFeedback":[{"type":"nack","parameter":""},{"type":"transport-cc","parameter":""}]},
                {"kind":"video","mimeType":"video/VP8","preferredPayloadType":125,"clockRate":90000,
                 "parameters":{},"rtcpFeedback":serde_json::to_value(video_feedback()).unwrap()},
                {"kind":"video","mimeType":"video/rtx","preferredPayloadType":101,"clockRate":90000,
                 "parameters":{"apt":125},"rtcpFeedback":[]},
                {"kind":"video","mimeType":"video/H264","preferredPayloadType":102,"clockRate":90000,
                 "parameters":{"level-asymmetry-allowed":1,"profile-level-id":"42e01f","foo":"bar"},
                 "rtcpFeedback":serde_json::to_value(video_feedback()).unwrap()},
                {"kind":"video","mimeType":"video/rtx","preferredPayloadType":103,"clockRate":90000,
                 "parameters":{"apt":102},"rtcpFeedback":[]}
            ])
        );
    }

    #[test]
    fn static_payload_types_come_from_the_table() {
        let caps = generate(&codecs(
            r#"[{"mimeType":"audio/pcmu","clockRate":8000},{"mimeType":"audio/G722","clockRate":8000},
                {"mimeType":"audio/opus","clockRate":48000,"channels":2}]"#,
        ))
        .unwrap();
        let pts: Vec<_> = caps
            .codecs
            .iter()
            .map(|c| c.preferred_payload_type)
            .collect();
        assert_eq!(pts, vec![Some(0), Some(9), Some(100)]);
        assert_eq!(caps.codecs[0].mime_type, "audio/PCMU");
        assert_eq!(caps.codecs[0].channels, Some(1));
    }

    #[test]
    fn unsupported_codecs_are_refused() {
        let err = generate(&codecs(
            r#"[{"kind":"audio","mimeType":"audio/opus","clockRate":48000,"channels":2},
                {"kind":"audio","mimeType":"audio/chicken","clockRate":8000,"channels":4}]"#,
        ))
        .unwrap_err();
        assert_eq!(
            err,
            OrtcError::Unsupported {
                field: "[1]".into(),
                message: "media codec not supported: audio/chicken".into()
            }
        );
        // Opus is only supported in stereo; absent channels mean mono.
        for json in [
            r#"[{"mimeType":"audio/opus","clockRate":48000,"channels":1}]"#,
            r#"[{"mimeType":"audio/opus","clockRate":48000}]"#,
            r#"[{"mimeType":"video/VP8","clockRate":48000}]"#,
            r#"[{"mimeType":"audio/multiopus","clockRate":48000,"channels":6,"parameters":{"num_streams":3,"coupled_streams":2}}]"#,
        ] {
            assert!(
                matches!(generate(&codecs(json)), Err(OrtcError::Unsupported { .. })),
                "{json}"
            );
        }
    }

    #[test]
    fn codec_parameters_do_not_need_to_match_strictly() {
        let caps = generate(&codecs(
            r#"[{"mimeType":"video/VP9","clockRate":90000,"parameters":{"profile-id":2}},
                {"mimeType":"video/H264","clockRate":90000,"parameters":{"packetization-mode":1}},
                {"mimeType":"audio/multiopus","clockRate":48000,"channels":6,"parameters":{"num_streams":4,"coupled_streams":2,"channel_mapping":"0,1,4,5,2,3"}}]"#,
        ))
        .unwrap();
        assert_eq!(
            caps.codecs[0].parameters["profile-id"],
            ParameterValue::Integer(2)
        );
        assert_eq!(caps.codecs[2].mime_type, "video/H264");
        assert_eq!(caps.codecs[2].parameters.len(), 2);
        assert_eq!(
            caps.codecs[4].parameters["channel_mapping"],
            ParameterValue::from("0,1,4,5,2,3")
        );
        assert_eq!(caps.codecs[4].preferred_payload_type, Some(104));
    }

    #[test]
    fn too_many_codecs_exhaust_the_pool() {
        let opus = RtpCodecCapability {
            kind: Some(MediaKind::Audio),
            mime_type: "audio/opus".into(),
            preferred_payload_type: None,
            clock_rate: 48000,
            channels: Some(2),
            parameters: Default::default(),
            rtcp_feedback: vec![],
        };
        let err = generate(&vec![opus; 100]).unwrap_err();
        assert_eq!(
            err,
            OrtcError::Invalid {
                field: "[32]".into(),
                message: "cannot allocate more dynamic codec payload types".into()
            }
        );
        // 16 video codecs need 32 payload types: exactly the pool.
        let vp8 = codecs(r#"[{"mimeType":"video/VP8","clockRate":90000}]"#).remove(0);
        assert_eq!(generate(&vec![vp8.clone(); 16]).unwrap().codecs.len(), 32);
        assert!(matches!(
            generate(&vec![vp8; 17]),
            Err(OrtcError::Invalid { field, .. }) if field == "[16]"
        ));
    }

    #[test]
    fn duplicate_preferred_payload_types_are_invalid() {
        let err = generate(&codecs(
            r#"[{"mimeType":"audio/opus","clockRate":48000,"channels":2,"preferredPayloadType":111},
                {"mimeType":"video/VP8","clockRate":90000,"preferredPayloadType":111}]"#,
        ))
        .unwrap_err();
        assert!(
            matches!(&err, OrtcError::Invalid { field, message }
                if field == "[1].preferredPayloadType" && message == "duplicate payload type: 111"),
            "{err:?}"
        );
        // A preference cannot take a payload type already given to an RTX codec.
        let err = generate(&codecs(
            r#"[{"mimeType":"video/VP8","clockRate":90000},
                {"mimeType":"video/VP9","clockRate":90000,"preferredPayloadType":101}]"#,
        ))
        .unwrap_err();
        assert_eq!(err.field(), "[1].preferredPayloadType");
        // Two comfort-noise rates share the static payload type 13.
        let err = generate(&codecs(
            r#"[{"mimeType":"audio/CN","clockRate":8000},{"mimeType":"audio/CN","clockRate":16000}]"#,
        ))
        .unwrap_err();
        assert_eq!(err.field(), "[1]");
    }

    #[test]
    fn media_codecs_are_validated_first() {
        let err = generate(&codecs(
            r#"[{"kind":"video","mimeType":"audio/opus","clockRate":48000,"channels":2}]"#,
        ))
        .unwrap_err();
        assert!(
            matches!(err, OrtcError::Invalid { ref field, .. } if field == "[0].kind"),
            "{err:?}"
        );
        let err = generate(&codecs(r#"[{"mimeType":"opus","clockRate":48000}]"#)).unwrap_err();
        assert_eq!(err.field(), "[0].mimeType");
        assert_eq!(
            err.prefixed("mediaCodecs").field(),
            "mediaCodecs[0].mimeType"
        );
    }

    #[test]
    fn no_media_codecs_give_only_header_extensions() {
        let caps = generate(&[]).unwrap();
        assert!(caps.codecs.is_empty());
        assert_eq!(caps.header_extensions.len(), 17);
    }
}
