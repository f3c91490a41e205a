//! Producer RTP mapping and consumable parameters (mediasoup's `getProducerRtpParametersMapping` and
//! `getConsumableRtpParameters`).
//!
//! Each producer media codec must strictly match a router codec; each producer RTX codec follows its `apt`
//! to a producer media codec and takes the router's RTX for that codec. The consumable parameters are what
//! the router will forward: router payload types and feedback, the producer's codec parameters, the router's
//! usable header extensions, and the producer's encodings on their mapped SSRCs.

use crate::rtp_parameters::{
    MediaKind, ParameterValue, RtcpParameters, RtpCapabilities, RtpCodecCapability,
    RtpCodecParameters, RtpEncodingParameters, RtpHeaderExtensionDirection,
    RtpHeaderExtensionParameters, RtpParameters,
};

use super::matching::{Matched, is_rtx, match_codecs};
use super::{OrtcError, RtpMapping, RtpMappingCodec, RtpMappingEncoding, invalid, unsupported};

fn apt(parameters: &crate::rtp_parameters::CodecParameters) -> Option<i64> {
    parameters.get("apt").and_then(ParameterValue::as_i64)
}

/// The router's RTX codec for router payload type `pt`.
fn router_rtx_for(caps: &RtpCapabilities, pt: u8) -> Option<&RtpCodecCapability> {
    caps.codecs
        .iter()
        .find(|c| is_rtx(&c.mime_type) && apt(&c.parameters) == Some(i64::from(pt)))
}

/// The first router media codec strictly matching a producer codec, with what the match decided.
fn router_codec_for<'a>(
    codec: &RtpCodecParameters,
    caps: &'a RtpCapabilities,
) -> Option<(&'a RtpCodecCapability, u8, Matched)> {
    caps.codecs.iter().find_map(|cap| {
        let pt = cap.preferred_payload_type?;
        if is_rtx(&cap.mime_type) {
            return None;
        }
        match_codecs(codec.into(), cap.into(), true).map(|m| (cap, pt, m))
    })
}

pub(crate) fn get_producer_rtp_parameters_mapping(
    params: &RtpParameters,
    caps: &RtpCapabilities,
    mapped_ssrc_base: u32,
) -> Result<RtpMapping, OrtcError> {
    let mut media = Vec::new();
    for (i, codec) in params.codecs.iter().enumerate() {
        if is_rtx(&codec.mime_type) {
            continue;
        }
        let (_, mapped, _) = router_codec_for(codec, caps).ok_or_else(|| {
            unsupported(
                format!("codecs[{i}]"),
                format!(
                    "unsupported codec: {} (payload type {})",
                    codec.mime_type, codec.payload_type
                ),
            )
        })?;
        media.push(RtpMappingCodec {
            payload_type: codec.payload_type,
            mapped_payload_type: mapped,
        });
    }

    let mut rtx = Vec::new();
    for (i, codec) in params.codecs.iter().enumerate() {
        if !is_rtx(&codec.mime_type) {
            continue;
        }
        let apt_field = format!("codecs[{i}].parameters.apt");
        let Some(apt) = apt(&codec.parameters) else {
            return Err(invalid(apt_field, "rtx codec needs an apt parameter"));
        };
        let associated = media
            .iter()
            .find(|m| i64::from(m.payload_type) == apt)
            .ok_or_else(|| {
                invalid(
                    &apt_field,
                    format!("no media codec with payload type {apt}"),
                )
            })?;
        let router_rtx = router_rtx_for(caps, associated.mapped_payload_type)
            .and_then(|c| c.preferred_payload_type)
            .ok_or_else(|| {
                unsupported(
                    format!("codecs[{i}]"),
                    format!(
                        "no rtx codec for router payload type {}",
                        associated.mapped_payload_type
                    ),
                )
            })?;
        rtx.push(RtpMappingCodec {
            payload_type: codec.payload_type,
            mapped_payload_type: router_rtx,
        });
    }
    media.extend(rtx);

    let encodings = params
        .encodings
        .iter()
        .zip(0u32..)
        .map(|(encoding, i)| RtpMappingEncoding {
            ssrc: encoding.ssrc,
            rid: encoding.rid.clone().filter(|rid| !rid.is_empty()),
            scalability_mode: encoding.scalability_mode.clone(),
            mapped_ssrc: mapped_ssrc_base.wrapping_add(i),
        })
        .collect();

    Ok(RtpMapping {
        codecs: media,
        encodings,
    })
}

pub(crate) fn negotiate_producer_codec_parameters(
    params: &mut RtpParameters,
    caps: &RtpCapabilities,
) {
    for codec in params.codecs.iter_mut() {
        if is_rtx(&codec.mime_type) {
            continue;
        }
        if let Some((_, _, Matched::H264ProfileLevelId(answer))) = router_codec_for(codec, caps) {
            match answer {
                Some(id) => {
                    codec
                        .parameters
                        .insert("profile-level-id".to_owned(), ParameterValue::String(id));
                }
                None => {
                    codec.parameters.remove("profile-level-id");
                }
            }
        }
    }
}

pub(crate) fn get_consumable_rtp_parameters(
    kind: MediaKind,
    params: &RtpParameters,
    caps: &RtpCapabilities,
    mapping: &RtpMapping,
) -> RtpParameters {
    let mut codecs = Vec::new();
    for codec in &params.codecs {
        if is_rtx(&codec.mime_type) {
            continue;
        }
        let Some(mapped) = mapping
            .codecs
            .iter()
            .find(|m| m.payload_type == codec.payload_type)
            .map(|m| m.mapped_payload_type)
        else {
            continue;
        };
        let Some(cap) = caps
            .codecs
            .iter()
            .find(|c| c.preferred_payload_type == Some(mapped))
        else {
            continue;
        };
        codecs.push(RtpCodecParameters {
            mime_type: cap.mime_type.clone(),
            payload_type: mapped,
            clock_rate: cap.clock_rate,
            channels: cap.channels,
            parameters: codec.parameters.clone(),
            rtcp_feedback: cap.rtcp_feedback.clone(),
        });
        if let Some(rtx) = router_rtx_for(caps, mapped)
            && let Some(rtx_pt) = rtx.preferred_payload_type
        {
            codecs.push(RtpCodecParameters {
                mime_type: rtx.mime_type.clone(),
                payload_type: rtx_pt,
                clock_rate: rtx.clock_rate,
                channels: None,
                parameters: rtx.parameters.clone(),
                rtcp_feedback: rtx.rtcp_feedback.clone(),
            });
        }
    }

    let header_extensions = caps
        .header_extensions
        .iter()
        .filter(|ext| {
            ext.kind == kind
                && matches!(
                    ext.direction,
                    RtpHeaderExtensionDirection::Sendrecv | RtpHeaderExtensionDirection::Sendonly
                )
        })
        .map(|ext| RtpHeaderExtensionParameters {
            uri: ext.uri.clone(),
            id: ext.preferred_id,
            encrypt: ext.preferred_encrypt,
            parameters: Default::default(),
        })
        .collect();

    let encodings = params
        .encodings
        .iter()
        .zip(&mapping.encodings)
        .map(|(encoding, mapped)| RtpEncodingParameters {
            ssrc: Some(mapped.mapped_ssrc),
            rid: None,
            codec_payload_type: None,
            rtx: None,
            ..encoding.clone()
        })
        .collect();

    RtpParameters {
        mid: None,
        codecs,
        header_extensions,
        encodings,
        rtcp: RtcpParameters {
            cname: params.rtcp.cname.clone(),
            reduced_size: Some(true),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ortc::{
        default_media_codecs, generate_router_rtp_capabilities,
        get_consumable_rtp_parameters as consumable, get_producer_rtp_parameters_mapping as map,
        negotiate_producer_codec_parameters as negotiate, validate_rtp_parameters,
    };

    fn demo_router() -> RtpCapabilities {
        generate_router_rtp_capabilities(&default_media_codecs()).unwrap()
    }

    fn params(json: &str) -> RtpParameters {
        let mut p: RtpParameters = serde_json::from_str(json).unwrap();
        validate_rtp_parameters(&mut p).unwrap();
        p
    }

    fn pairs(mapping: &RtpMapping) -> Vec<(u8, u8)> {
        mapping
            .codecs
            .iter()
            .map(|c| (c.payload_type, c.mapped_payload_type))
            .collect()
    }

    fn unsupported_field(result: Result<RtpMapping, OrtcError>) -> String {
        match result {
            Err(OrtcError::Unsupported { field, .. }) => field,
            other => panic!("expected Unsupported, got {other:?}"),
        }
    }

    #[test]
    fn broadcaster_script_audio_maps_to_opus() {
        let router = demo_router();
        let p = params(
            r#"{"codecs":[{"mimeType":"audio/opus","payloadType":100,"clockRate":48000,"channels":2,
                "parameters":{"sprop-stereo":1}}],"encodings":[{"ssrc":1111}]}"#,
        );
        let mapping = map(&p, &router, 5000).unwrap();
        assert_eq!(pairs(&mapping), vec![(100, 100)]);
        assert_eq!(
            mapping.encodings,
            vec![RtpMappingEncoding {
                ssrc: Some(1111),
                rid: None,
                scalability_mode: None,
                mapped_ssrc: 5000
            }]
        );
        let c = consumable(MediaKind::Audio, &p, &router, &mapping);
        assert_eq!(c.codecs.len(), 1);
        assert_eq!(c.codecs[0].mime_type, "audio/opus");
        assert_eq!(
            c.codecs[0].parameters["sprop-stereo"],
            ParameterValue::Integer(1)
        );
        assert_eq!(c.codecs[0].rtcp_feedback.len(), 2);
        assert_eq!(c.encodings.len(), 1);
        assert_eq!(c.encodings[0].ssrc, Some(5000));
        assert_eq!(c.encodings[0].dtx, Some(false));
        assert_eq!(
            c.rtcp,
            RtcpParameters {
                cname: None,
                reduced_size: Some(true)
            }
        );
        let uris: Vec<_> = c
            .header_extensions
            .iter()
            .map(|e| (e.uri.as_str(), e.id))
            .collect();
        assert_eq!(
            uris,
            vec![
                ("urn:ietf:params:rtp-hdrext:sdes:mid", 1),
                (
                    "http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time",
                    4
                ),
                ("urn:ietf:params:rtp-hdrext:ssrc-audio-level", 10),
                (
                    "http://www.webrtc.org/experiments/rtp-hdrext/abs-capture-time",
                    13
                ),
                (
                    "http://www.webrtc.org/experiments/rtp-hdrext/playout-delay",
                    14
                ),
            ]
        );
    }

    #[test]
    fn broadcaster_script_video_maps_to_vp8() {
        let router = demo_router();
        let p = params(
            r#"{"codecs":[{"mimeType":"video/vp8","payloadType":101,"clockRate":90000}],"encodings":[{"ssrc":2222}]}"#,
        );
        let mapping = map(&p, &router, 7).unwrap();
        assert_eq!(pairs(&mapping), vec![(101, 101)]);
        let c = consumable(MediaKind::Video, &p, &router, &mapping);
        let codecs: Vec<_> = c
            .codecs
            .iter()
            .map(|c| (c.mime_type.as_str(), c.payload_type))
            .collect();
        assert_eq!(codecs, vec![("video/VP8", 101), ("video/rtx", 102)]);
        assert_eq!(c.codecs[0].rtcp_feedback.len(), 5);
        assert_eq!(c.codecs[1].parameters["apt"], ParameterValue::Integer(101));
        // Video consumers never get rtp-stream-id or repaired-rtp-stream-id (recvonly).
        assert!(
            c.header_extensions
                .iter()
                .all(|e| !e.uri.contains("stream-id"))
        );
        assert!(
            c.header_extensions
                .iter()
                .any(|e| e.uri.contains("transport-wide-cc"))
        );
    }

    #[test]
    fn gstreamer_h264_maps_to_the_constrained_baseline_codec() {
        let router = demo_router();
        let mut p = params(
            r#"{"codecs":[{"mimeType":"video/h264","payloadType":101,"clockRate":90000,
                "parameters":{"packetization-mode":1,"profile-level-id":"42e032","level-asymmetry-allowed":1}}],
                "encodings":[{"ssrc":2222}]}"#,
        );
        let mapping = map(&p, &router, 1).unwrap();
        assert_eq!(pairs(&mapping), vec![(101, 107)]);
        negotiate(&mut p, &router);
        // Both sides allow level asymmetry: the producer keeps its level.
        assert_eq!(
            p.codecs[0].parameters["profile-level-id"],
            ParameterValue::from("42e032")
        );
        let c = consumable(MediaKind::Video, &p, &router, &mapping);
        assert_eq!(c.codecs[0].mime_type, "video/H264");
        assert_eq!(c.codecs[0].payload_type, 107);
        assert_eq!(c.codecs[1].payload_type, 108);
    }

    #[test]
    fn h264_level_is_capped_without_level_asymmetry() {
        let router = demo_router();
        let mut p = params(
            r#"{"codecs":[{"mimeType":"video/H264","payloadType":96,"clockRate":90000,
                "parameters":{"packetization-mode":1,"profile-level-id":"42e034"}}],"encodings":[{"ssrc":1}]}"#,
        );
        assert_eq!(pairs(&map(&p, &router, 1).unwrap()), vec![(96, 107)]);
        negotiate(&mut p, &router);
        assert_eq!(
            p.codecs[0].parameters["profile-level-id"],
            ParameterValue::from("42e01f")
        );
        // Main profile goes to the 4d0032 codec.
        let p = params(
            r#"{"codecs":[{"mimeType":"video/H264","payloadType":96,"clockRate":90000,
                "parameters":{"packetization-mode":1,"profile-level-id":"4d001f"}}],"encodings":[{"ssrc":1}]}"#,
        );
        assert_eq!(pairs(&map(&p, &router, 1).unwrap()), vec![(96, 105)]);
    }

    #[test]
    fn negotiation_leaves_other_codecs_alone() {
        let router = demo_router();
        let mut p = params(
            r#"{"codecs":[{"mimeType":"video/VP8","payloadType":96,"clockRate":90000,"parameters":{"profile-level-id":"x"}}],
                "encodings":[{"ssrc":1}]}"#,
        );
        let before = p.clone();
        negotiate(&mut p, &router);
        assert_eq!(p, before);
    }

    #[test]
    fn h264_without_packetization_mode_1_is_unsupported() {
        let p = params(
            r#"{"codecs":[{"mimeType":"video/H264","payloadType":96,"clockRate":90000,
                "parameters":{"profile-level-id":"42e01f"}}],"encodings":[{"ssrc":1}]}"#,
        );
        let err = map(&p, &demo_router(), 1).unwrap_err();
        assert_eq!(
            err,
            OrtcError::Unsupported {
                field: "codecs[0]".into(),
                message: "unsupported codec: video/H264 (payload type 96)".into()
            }
        );
    }

    #[test]
    fn h264_with_garbage_profile_level_id_is_unsupported() {
        let p = params(
            r#"{"codecs":[{"mimeType":"video/H264","payloadType":112,"clockRate":90000,
                "parameters":{"packetization-mode":1,"profile-level-id":"CHICKEN"}},
                {"mimeType":"video/rtx","payloadType":113,"clockRate":90000,"parameters":{"apt":112}}],
                "encodings":[{"ssrc":1}]}"#,
        );
        assert_eq!(unsupported_field(map(&p, &demo_router(), 1)), "codecs[0]");
    }

    #[test]
    fn h264_high_profile_is_unsupported_by_the_demo_router() {
        let p = params(
            r#"{"codecs":[{"mimeType":"video/H264","payloadType":112,"clockRate":90000,
                "parameters":{"packetization-mode":1,"profile-level-id":"640032"}}],"encodings":[{"ssrc":1}]}"#,
        );
        assert_eq!(unsupported_field(map(&p, &demo_router(), 1)), "codecs[0]");
    }

    #[test]
    fn codec_missing_from_the_router_is_unsupported() {
        let router = generate_router_rtp_capabilities(
            &serde_json::from_str::<Vec<RtpCodecCapability>>(
                r#"[{"mimeType":"audio/opus","clockRate":48000,"channels":2},
                    {"mimeType":"video/H264","clockRate":90000,"parameters":{"packetization-mode":1,"profile-level-id":"640032"}}]"#,
            )
            .unwrap(),
        )
        .unwrap();
        let p = params(
            r#"{"codecs":[{"mimeType":"video/VP8","payloadType":120,"clockRate":90000,
                "rtcpFeedback":[{"type":"nack"},{"type":"nack","parameter":"fir"}]}],
                "encodings":[{"ssrc":11111111}],"rtcp":{"cname":"qwerty1234"}}"#,
        );
        assert_eq!(unsupported_field(map(&p, &router, 1)), "codecs[0]");
    }

    #[test]
    fn rtx_apt_must_point_to_a_producer_codec() {
        let p = params(
            r#"{"codecs":[{"mimeType":"video/VP8","payloadType":101,"clockRate":90000},
                {"mimeType":"video/rtx","payloadType":102,"clockRate":90000,"parameters":{"apt":111}}],
                "encodings":[{"ssrc":1}]}"#,
        );
        let err = map(&p, &demo_router(), 1).unwrap_err();
        assert_eq!(
            err,
            OrtcError::Invalid {
                field: "codecs[1].parameters.apt".into(),
                message: "no media codec with payload type 111".into()
            }
        );
        let p = params(
            r#"{"codecs":[{"mimeType":"video/VP8","payloadType":101,"clockRate":90000},
                {"mimeType":"video/rtx","payloadType":102,"clockRate":90000}],"encodings":[{"ssrc":1}]}"#,
        );
        assert_eq!(
            map(&p, &demo_router(), 1).unwrap_err().field(),
            "codecs[1].parameters.apt"
        );
        // apt naming another RTX codec points to no media codec either.
        let p = params(
            r#"{"codecs":[{"mimeType":"video/VP8","payloadType":101,"clockRate":90000},
                {"mimeType":"video/rtx","payloadType":102,"clockRate":90000,"parameters":{"apt":103}},
                {"mimeType":"video/rtx","payloadType":103,"clockRate":90000,"parameters":{"apt":101}}],"encodings":[{"ssrc":1}]}"#,
        );
        assert_eq!(
            map(&p, &demo_router(), 1).unwrap_err().field(),
            "codecs[1].parameters.apt"
        );
    }

    #[test]
    fn rtx_needs_a_router_rtx_codec() {
        let p = params(
            r#"{"codecs":[{"mimeType":"audio/opus","payloadType":100,"clockRate":48000,"channels":2},
                {"mimeType":"audio/rtx","payloadType":101,"clockRate":48000,"parameters":{"apt":100}}],
                "encodings":[{"ssrc":1}]}"#,
        );
        assert_eq!(unsupported_field(map(&p, &demo_router(), 1)), "codecs[1]");
    }

    #[test]
    fn vp9_profile_must_match() {
        let router = demo_router();
        let vp9 = |profile: &str| {
            params(&format!(
                r#"{{"codecs":[{{"mimeType":"video/VP9","payloadType":98,"clockRate":90000,"parameters":{{{profile}}}}}],
                    "encodings":[{{"ssrc":1}}]}}"#
            ))
        };
        assert_eq!(
            pairs(&map(&vp9(r#""profile-id":2"#), &router, 1).unwrap()),
            vec![(98, 103)]
        );
        assert_eq!(
            unsupported_field(map(&vp9(r#""profile-id":0"#), &router, 1)),
            "codecs[0]"
        );
        assert_eq!(unsupported_field(map(&vp9(""), &router, 1)), "codecs[0]");
    }

    #[test]
    fn multiopus_stream_counts_must_match() {
        let router = generate_router_rtp_capabilities(
            &serde_json::from_str::<Vec<RtpCodecCapability>>(
                r#"[{"mimeType":"audio/multiopus","clockRate":48000,"channels":6,
                    "parameters":{"channel_mapping":"0,4,1,2,3,5","num_streams":4,"coupled_streams":2}}]"#,
            )
            .unwrap(),
        )
        .unwrap();
        let p = |streams: i64, coupled: i64| {
            params(&format!(
                r#"{{"codecs":[{{"mimeType":"audio/multiopus","payloadType":0,"clockRate":48000,"channels":6,
                    "parameters":{{"channel_mapping":"0,4,1,2,3,5","num_streams":{streams},"coupled_streams":{coupled}}}}}],
                    "encodings":[{{"ssrc":1}}]}}"#
            ))
        };
        assert_eq!(pairs(&map(&p(4, 2), &router, 1).unwrap()), vec![(0, 100)]);
        assert_eq!(unsupported_field(map(&p(2, 2), &router, 1)), "codecs[0]");
        assert_eq!(unsupported_field(map(&p(4, 1), &router, 1)), "codecs[0]");
    }

    #[test]
    fn simulcast_encodings_get_consecutive_mapped_ssrcs() {
        let p = params(
            r#"{"codecs":[{"mimeType":"video/VP8","payloadType":96,"clockRate":90000},
                {"mimeType":"video/rtx","payloadType":97,"clockRate":90000,"parameters":{"apt":96}}],
                "encodings":[{"rid":"r0","scalabilityMode":"L1T3"},{"rid":"r1"},{"rid":"r2"}]}"#,
        );
        let mapping = map(&p, &demo_router(), u32::MAX - 1).unwrap();
        assert_eq!(pairs(&mapping), vec![(96, 101), (97, 102)]);
        let mapped: Vec<_> = mapping.encodings.iter().map(|e| e.mapped_ssrc).collect();
        assert_eq!(mapped, vec![u32::MAX - 1, u32::MAX, 0]);
        assert_eq!(mapping.encodings[0].rid.as_deref(), Some("r0"));
        assert_eq!(
            mapping.encodings[0].scalability_mode.as_deref(),
            Some("L1T3")
        );
        assert_eq!(mapping.encodings[1].ssrc, None);
    }

    #[test]
    fn mapping_serialises_as_mediasoup_json() {
        let mapping = RtpMapping {
            codecs: vec![RtpMappingCodec {
                payload_type: 111,
                mapped_payload_type: 101,
            }],
            encodings: vec![RtpMappingEncoding {
                ssrc: None,
                rid: Some("high".into()),
                scalability_mode: None,
                mapped_ssrc: 9,
            }],
        };
        assert_eq!(
            serde_json::to_value(&mapping).unwrap(),
            serde_json::json!({
                "codecs":[{"payloadType":111,"mappedPayloadType":101}],
                "encodings":[{"rid":"high","mappedSsrc":9}]
            })
        );
    }

    #[test]
    fn consumable_skips_codecs_missing_from_the_mapping() {
        let router = demo_router();
        let p = params(
            r#"{"codecs":[{"mimeType":"video/VP8","payloadType":96,"clockRate":90000}],"encodings":[{"ssrc":1}]}"#,
        );
        let c = consumable(MediaKind::Video, &p, &router, &RtpMapping::default());
        assert!(c.codecs.is_empty());
        assert!(c.encodings.is_empty());
    }
}
