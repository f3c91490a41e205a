//! `canConsume` and consumer parameters (mediasoup's `canConsume`, `getConsumerRtpParameters` and
//! `getPipeConsumerRtpParameters`).
//!
//! A consumer keeps the consumable codecs its endpoint strictly matches (with the endpoint's feedback), the
//! header extensions it knows under the same id, and one encoding; a pipe consumer keeps everything the
//! other router needs, with all encodings.

use crate::rtp_parameters::{
    RtcpFeedback, RtpCapabilities, RtpCodecParameters, RtpEncodingParameters, RtpEncodingRtx,
    RtpParameters,
};

use super::matching::{is_rtx, matches_strictly};
use super::scalability::parse_scalability_mode;
use super::supported::uri;
use super::validate::validate_rtp_capabilities;
use super::{OrtcError, unsupported};

fn apt(codec: &RtpCodecParameters) -> Option<i64> {
    codec
        .parameters
        .get("apt")
        .and_then(crate::rtp_parameters::ParameterValue::as_i64)
}

pub(crate) fn can_consume(consumable: &RtpParameters, caps: &RtpCapabilities) -> bool {
    let mut caps = caps.clone();
    if validate_rtp_capabilities(&mut caps).is_err() {
        return false;
    }
    consumable
        .codecs
        .iter()
        .find(|codec| caps.codecs.iter().any(|cap| matches_strictly(cap, *codec)))
        .is_some_and(|first| !is_rtx(&first.mime_type))
}

fn is_plain_nack(fb: &RtcpFeedback) -> bool {
    fb.r#type == "nack" && fb.parameter.is_empty()
}

/// Keeps transport-cc when its extension is negotiated, else goog-remb when abs-send-time is, else neither.
fn trim_bwe_feedback(params: &mut RtpParameters) {
    let has = |u: &str| params.header_extensions.iter().any(|e| e.uri == u);
    let drop: &[&str] = if has(uri::TRANSPORT_WIDE_CC) {
        &["goog-remb"]
    } else if has(uri::ABS_SEND_TIME) {
        &["transport-cc"]
    } else {
        &["transport-cc", "goog-remb"]
    };
    for codec in &mut params.codecs {
        codec
            .rtcp_feedback
            .retain(|fb| !drop.contains(&fb.r#type.as_str()));
    }
}

/// The single encoding of a non-pipe consumer.
fn consumer_encoding(consumable: &RtpParameters, ssrc: u32, rtx: bool) -> RtpEncodingParameters {
    let encodings = &consumable.encodings;
    let mut scalability_mode = encodings
        .iter()
        .find_map(|e| e.scalability_mode.clone().filter(|m| !m.is_empty()));
    if encodings.len() > 1 {
        let temporal = parse_scalability_mode(scalability_mode.as_deref()).temporal_layers;
        scalability_mode = Some(format!("L{}T{temporal}", encodings.len()));
    }
    RtpEncodingParameters {
        ssrc: Some(ssrc),
        rtx: rtx.then(|| RtpEncodingRtx {
            ssrc: ssrc.wrapping_add(1),
        }),
        scalability_mode,
        max_bitrate: encodings.iter().filter_map(|e| e.max_bitrate).max(),
        ..Default::default()
    }
}

pub(crate) fn get_consumer_rtp_parameters(
    consumable: &RtpParameters,
    remote_caps: &RtpCapabilities,
    enable_rtx: bool,
    ssrc: u32,
) -> Result<RtpParameters, OrtcError> {
    let mut caps = remote_caps.clone();
    validate_rtp_capabilities(&mut caps)?;

    let mut codecs: Vec<RtpCodecParameters> = Vec::new();
    for codec in &consumable.codecs {
        if !enable_rtx && is_rtx(&codec.mime_type) {
            continue;
        }
        let Some(cap) = caps.codecs.iter().find(|cap| matches_strictly(*cap, codec)) else {
            continue;
        };
        let mut codec = codec.clone();
        codec.rtcp_feedback = cap
            .rtcp_feedback
            .iter()
            .filter(|fb| enable_rtx || !is_plain_nack(fb))
            .cloned()
            .collect();
        codecs.push(codec);
    }

    // Drop RTX codecs whose media codec did not survive.
    let media_pts: Vec<i64> = codecs
        .iter()
        .filter(|c| !is_rtx(&c.mime_type))
        .map(|c| i64::from(c.payload_type))
        .collect();
    codecs.retain(|c| !is_rtx(&c.mime_type) || apt(c).is_some_and(|apt| media_pts.contains(&apt)));
    let rtx_supported = codecs.iter().any(|c| is_rtx(&c.mime_type));

    if codecs.first().is_none_or(|c| is_rtx(&c.mime_type)) {
        return Err(unsupported("", "no compatible media codecs"));
    }

    let header_extensions = consumable
        .header_extensions
        .iter()
        .filter(|ext| {
            caps.header_extensions
                .iter()
                .any(|cap| cap.preferred_id == ext.id && cap.uri == ext.uri)
        })
        .cloned()
        .collect();

    let mut params = RtpParameters {
        mid: None,
        codecs,
        header_extensions,
        encodings: vec![consumer_encoding(consumable, ssrc, rtx_supported)],
        rtcp: consumable.rtcp.clone(),
    };
    trim_bwe_feedback(&mut params);
    Ok(params)
}

/// How an endpoint that fixed its own numbering (an SDP offer the server answers) names what a consumer sends:
/// the router's payload types and header extension ids, each with the endpoint's.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct EndpointNumbering {
    /// Router payload type → the endpoint's, for every codec the endpoint can receive (RTX included).
    pub payload_types: Vec<(u8, u8)>,
    /// Router header extension id → the endpoint's, for every extension both know (by URI).
    pub header_extension_ids: Vec<(u8, u8)>,
}

impl EndpointNumbering {
    /// The endpoint's payload type for a router one.
    pub fn payload_type(&self, router: u8) -> Option<u8> {
        self.payload_types
            .iter()
            .find_map(|&(r, e)| (r == router).then_some(e))
    }

    /// The endpoint's header extension id for a router one.
    pub fn header_extension_id(&self, router: u8) -> Option<u8> {
        self.header_extension_ids
            .iter()
            .find_map(|&(r, e)| (r == router).then_some(e))
    }

    /// Consumer parameters (router numbering) in the endpoint's numbering: payload types, RTX `apt` and
    /// header extension ids. Everything without an endpoint number is left out.
    pub fn apply(&self, params: &RtpParameters) -> RtpParameters {
        let mut out = params.clone();
        out.codecs
            .retain(|c| self.payload_type(c.payload_type).is_some());
        for codec in &mut out.codecs {
            codec.payload_type = self
                .payload_type(codec.payload_type)
                .unwrap_or(codec.payload_type);
            if let Some(apt) = apt(codec)
                && let Some(endpoint) = u8::try_from(apt).ok().and_then(|a| self.payload_type(a))
            {
                codec.parameters.insert(
                    "apt".to_owned(),
                    crate::rtp_parameters::ParameterValue::Integer(i64::from(endpoint)),
                );
            }
        }
        out.header_extensions
            .retain(|e| self.header_extension_id(e.id).is_some());
        for ext in &mut out.header_extensions {
            ext.id = self.header_extension_id(ext.id).unwrap_or(ext.id);
        }
        out
    }
}

/// Capabilities an endpoint stated in its own numbering, renumbered into the router's (as
/// [`get_consumer_rtp_parameters`] matches extensions by id), and the numbering that maps back.
///
/// A media codec takes the payload type of the consumable codec it matches strictly (the endpoint's first
/// match wins); an RTX codec takes the payload type of the consumable RTX codec whose `apt` is its media
/// codec's; an extension takes the consumable extension's id with the same URI. Capabilities matching nothing
/// are left out.
pub(crate) fn renumber_endpoint_capabilities(
    consumable: &RtpParameters,
    endpoint_caps: &RtpCapabilities,
) -> Result<(RtpCapabilities, EndpointNumbering), OrtcError> {
    let mut caps = endpoint_caps.clone();
    validate_rtp_capabilities(&mut caps)?;
    let mut numbering = EndpointNumbering::default();
    let mut codecs = Vec::new();
    let endpoint_pt = |cap: &crate::rtp_parameters::RtpCodecCapability| cap.preferred_payload_type;
    for cap in caps.codecs.iter().filter(|c| !is_rtx(&c.mime_type)) {
        let Some(pt) = endpoint_pt(cap) else { continue };
        let Some(codec) = consumable
            .codecs
            .iter()
            .find(|c| !is_rtx(&c.mime_type) && matches_strictly(cap, *c))
        else {
            continue;
        };
        if numbering.payload_type(codec.payload_type).is_some() {
            continue;
        }
        numbering.payload_types.push((codec.payload_type, pt));
        let mut cap = cap.clone();
        cap.preferred_payload_type = Some(codec.payload_type);
        codecs.push(cap);
    }
    for cap in caps.codecs.iter().filter(|c| is_rtx(&c.mime_type)) {
        let (Some(pt), Some(cap_apt)) = (
            endpoint_pt(cap),
            cap.parameters
                .get("apt")
                .and_then(crate::rtp_parameters::ParameterValue::as_i64),
        ) else {
            continue;
        };
        let Some(&(router_media, _)) = numbering
            .payload_types
            .iter()
            .find(|&&(_, e)| i64::from(e) == cap_apt)
        else {
            continue;
        };
        let Some(rtx) = consumable
            .codecs
            .iter()
            .find(|c| is_rtx(&c.mime_type) && apt(c) == Some(i64::from(router_media)))
        else {
            continue;
        };
        if numbering.payload_type(rtx.payload_type).is_some() {
            continue;
        }
        numbering.payload_types.push((rtx.payload_type, pt));
        let mut cap = cap.clone();
        cap.preferred_payload_type = Some(rtx.payload_type);
        cap.parameters.insert(
            "apt".to_owned(),
            crate::rtp_parameters::ParameterValue::Integer(i64::from(router_media)),
        );
        codecs.push(cap);
    }
    let mut header_extensions = Vec::new();
    for cap in &caps.header_extensions {
        let Some(ext) = consumable
            .header_extensions
            .iter()
            .find(|e| e.uri == cap.uri)
        else {
            continue;
        };
        if numbering.header_extension_id(ext.id).is_some() {
            continue;
        }
        numbering
            .header_extension_ids
            .push((ext.id, cap.preferred_id));
        let mut cap = cap.clone();
        cap.preferred_id = ext.id;
        header_extensions.push(cap);
    }
    Ok((
        RtpCapabilities {
            codecs,
            header_extensions,
        },
        numbering,
    ))
}

pub(crate) fn get_pipe_consumer_rtp_parameters(
    consumable: &RtpParameters,
    enable_rtx: bool,
    ssrc_base: u32,
    rtx_ssrc_base: u32,
) -> RtpParameters {
    let codecs = consumable
        .codecs
        .iter()
        .filter(|c| enable_rtx || !is_rtx(&c.mime_type))
        .map(|c| {
            let mut c = c.clone();
            c.rtcp_feedback.retain(|fb| {
                (fb.r#type == "nack" && fb.parameter == "pli")
                    || (fb.r#type == "ccm" && fb.parameter == "fir")
                    || (enable_rtx && is_plain_nack(fb))
            });
            c
        })
        .collect();

    let header_extensions = consumable
        .header_extensions
        .iter()
        .filter(|e| {
            e.uri != uri::MID && e.uri != uri::ABS_SEND_TIME && e.uri != uri::TRANSPORT_WIDE_CC
        })
        .cloned()
        .collect();

    let encodings = consumable
        .encodings
        .iter()
        .zip(0u32..)
        .map(|(e, i)| RtpEncodingParameters {
            ssrc: Some(ssrc_base.wrapping_add(i)),
            rtx: enable_rtx.then(|| RtpEncodingRtx {
                ssrc: rtx_ssrc_base.wrapping_add(i),
            }),
            ..e.clone()
        })
        .collect();

    RtpParameters {
        mid: None,
        codecs,
        header_extensions,
        encodings,
        rtcp: consumable.rtcp.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ortc::{
        RtpMapping, RtpMappingCodec, can_consume, default_media_codecs,
        generate_router_rtp_capabilities, get_consumable_rtp_parameters,
        get_consumer_rtp_parameters as consumer, get_pipe_consumer_rtp_parameters as pipe,
        get_producer_rtp_parameters_mapping, negotiate_producer_codec_parameters,
        validate_rtp_parameters,
    };
    use crate::rtp_parameters::{
        MediaKind, ParameterValue, RtcpParameters, RtpCodecCapability, RtpHeaderExtensionParameters,
    };
    use serde_json::json;

    fn router(json: serde_json::Value) -> RtpCapabilities {
        let codecs: Vec<RtpCodecCapability> = serde_json::from_value(json).unwrap();
        generate_router_rtp_capabilities(&codecs).unwrap()
    }

    fn caps(json: serde_json::Value) -> RtpCapabilities {
        serde_json::from_value(json).unwrap()
    }

    /// Producer → mapping → consumable, as producer creation does it.
    fn consumable_of(
        kind: MediaKind,
        producer: serde_json::Value,
        router: &RtpCapabilities,
    ) -> (RtpMapping, RtpParameters) {
        let mut p: RtpParameters = serde_json::from_value(producer).unwrap();
        validate_rtp_parameters(&mut p).unwrap();
        let mapping = get_producer_rtp_parameters_mapping(&p, router, 1_000_000).unwrap();
        negotiate_producer_codec_parameters(&mut p, router);
        let c = get_consumable_rtp_parameters(kind, &p, router, &mapping);
        (mapping, c)
    }

    fn fb(list: &[(&str, &str)]) -> Vec<RtcpFeedback> {
        list.iter().map(|(t, p)| RtcpFeedback::new(t, p)).collect()
    }

    fn ext(uri: &str, id: u8) -> RtpHeaderExtensionParameters {
        RtpHeaderExtensionParameters::new(uri, id)
    }

    /// mediasoup's "getProducerRtpParametersMapping, getConsumableRtpParameters, getConsumerRtpParameters
    /// and getPipeConsumerRtpParameters succeed", step by step.
    #[test]
    fn full_chain_with_h264_simulcast() {
        let router = router(json!([
            {"kind":"audio","mimeType":"audio/opus","clockRate":48000,"channels":2},
            {"kind":"video","mimeType":"video/H264","clockRate":90000,
             "parameters":{"level-asymmetry-allowed":1,"packetization-mode":1,"profile-level-id":"4d0032","bar":"lalala"}}
        ]));
        let mut producer: RtpParameters = serde_json::from_value(json!({
            "codecs":[
                {"mimeType":"video/H264","payloadType":111,"clockRate":90000,
                 "parameters":{"foo":1234,"packetization-mode":1,"profile-level-id":"4d0032"},
                 "rtcpFeedback":[{"type":"nack","parameter":""},{"type":"nack","parameter":"pli"},{"type":"goog-remb","parameter":""}]},
                {"mimeType":"video/rtx","payloadType":112,"clockRate":90000,"parameters":{"apt":111},"rtcpFeedback":[]}
            ],
            "headerExtensions":[
                {"uri":"urn:ietf:params:rtp-hdrext:sdes:mid","id":1},
                {"uri":"urn:3gpp:video-orientation","id":2}
            ],
            "encodings":[
                {"ssrc":11111111,"rtx":{"ssrc":11111112},"maxBitrate":111111,"scalabilityMode":"L1T3"},
                {"ssrc":21111111,"rtx":{"ssrc":21111112},"maxBitrate":222222,"scalabilityMode":"L1T3"},
                {"rid":"high","maxBitrate":333333,"scalabilityMode":"L1T3"}
            ],
            "rtcp":{"cname":"qwerty1234"}
        }))
        .unwrap();
        validate_rtp_parameters(&mut producer).unwrap();

        // Mapping.
        let mapping = get_producer_rtp_parameters_mapping(&producer, &router, 3_000_000).unwrap();
        assert_eq!(
            mapping.codecs,
            vec![
                RtpMappingCodec {
                    payload_type: 111,
                    mapped_payload_type: 101
                },
                RtpMappingCodec {
                    payload_type: 112,
                    mapped_payload_type: 102
                },
            ]
        );
        let mapped: Vec<_> = mapping
            .encodings
            .iter()
            .map(|e| {
                (
                    e.ssrc,
                    e.rid.as_deref(),
                    e.scalability_mode.as_deref(),
                    e.mapped_ssrc,
                )
            })
            .collect();
        assert_eq!(
            mapped,
            vec![
                (Some(11111111), None, Some("L1T3"), 3_000_000),
                (Some(21111111), None, Some("L1T3"), 3_000_001),
                (None, Some("high"), Some("L1T3"), 3_000_002),
            ]
        );
        negotiate_producer_codec_parameters(&mut producer, &router);
        assert_eq!(
            producer.codecs[0].parameters["profile-level-id"],
            ParameterValue::from("4d0032")
        );

        // Consumable.
        let consumable =
            get_consumable_rtp_parameters(MediaKind::Video, &producer, &router, &mapping);
        let router_fb = fb(&[
            ("nack", ""),
            ("nack", "pli"),
            ("ccm", "fir"),
            ("goog-remb", ""),
            ("transport-cc", ""),
        ]);
        assert_eq!(
            consumable.codecs,
            vec![
                RtpCodecParameters {
                    mime_type: "video/H264".into(),
                    payload_type: 101,
                    clock_rate: 90000,
                    channels: None,
                    parameters: serde_json::from_value(
                        json!({"foo":1234,"packetization-mode":1,"profile-level-id":"4d0032"})
                    )
                    .unwrap(),
                    rtcp_feedback: router_fb.clone(),
                },
                RtpCodecParameters {
                    mime_type: "video/rtx".into(),
                    payload_type: 102,
                    clock_rate: 90000,
                    channels: None,
                    parameters: serde_json::from_value(json!({"apt":101})).unwrap(),
                    rtcp_feedback: vec![],
                },
            ]
        );
        assert_eq!(
            serde_json::to_value(&consumable.encodings).unwrap(),
            json!([
                {"ssrc":3000000,"dtx":false,"scalabilityMode":"L1T3","maxBitrate":111111},
                {"ssrc":3000001,"dtx":false,"scalabilityMode":"L1T3","maxBitrate":222222},
                {"ssrc":3000002,"dtx":false,"scalabilityMode":"L1T3","maxBitrate":333333}
            ])
        );
        assert_eq!(
            consumable.rtcp,
            RtcpParameters {
                cname: Some("qwerty1234".into()),
                reduced_size: Some(true)
            }
        );
        assert_eq!(
            consumable.header_extensions,
            vec![
                ext(uri::MID, 1),
                ext(uri::ABS_SEND_TIME, 4),
                ext(uri::TRANSPORT_WIDE_CC, 5),
                ext(uri::FRAMEMARKING_07, 6),
                ext(uri::FRAMEMARKING, 7),
                ext(uri::VIDEO_ORIENTATION, 11),
                ext(uri::TOFFSET, 12),
                ext(uri::ABS_CAPTURE_TIME, 13),
                ext(uri::PLAYOUT_DELAY, 14),
            ]
        );

        // Consumer.
        let remote = caps(json!({
            "codecs":[
                {"kind":"audio","mimeType":"audio/opus","preferredPayloadType":100,"clockRate":48000,"channels":2},
                {"kind":"video","mimeType":"video/H264","preferredPayloadType":101,"clockRate":90000,
                 "parameters":{"packetization-mode":1,"profile-level-id":"4d0032","baz":"LOLOL"},
                 "rtcpFeedback":[{"type":"nack","parameter":""},{"type":"nack","parameter":"pli"},{"type":"foo","parameter":"FOO"}]},
                {"kind":"video","mimeType":"video/rtx","preferredPayloadType":102,"clockRate":90000,"parameters":{"apt":101}}
            ],
            "headerExtensions":[
                {"kind":"audio","uri":uri::AUDIO_LEVEL,"preferredId":1},
                {"kind":"video","uri":uri::TOFFSET,"preferredId":2},
                {"kind":"video","uri":uri::ABS_SEND_TIME,"preferredId":4},
                {"kind":"video","uri":uri::VIDEO_ORIENTATION,"preferredId":11},
                {"kind":"video","uri":uri::MID,"preferredId":5}
            ]
        }));
        assert!(can_consume(&consumable, &remote));
        let c = consumer(&consumable, &remote, true, 4444).unwrap();
        assert_eq!(c.codecs.len(), 2);
        assert_eq!(c.codecs[0].payload_type, 101);
        assert_eq!(c.codecs[0].parameters, consumable.codecs[0].parameters);
        assert_eq!(
            c.codecs[0].rtcp_feedback,
            fb(&[("nack", ""), ("nack", "pli"), ("foo", "FOO")])
        );
        assert_eq!(c.codecs[1], consumable.codecs[1]);
        assert_eq!(
            serde_json::to_value(&c.encodings).unwrap(),
            json!([{"ssrc":4444,"rtx":{"ssrc":4445},"scalabilityMode":"L3T3","maxBitrate":333333}])
        );
        // Same uri and id only: toffset (12 vs 2) and mid (1 vs 5) are dropped.
        assert_eq!(
            c.header_extensions,
            vec![ext(uri::ABS_SEND_TIME, 4), ext(uri::VIDEO_ORIENTATION, 11)]
        );
        assert_eq!(c.rtcp, consumable.rtcp);
        assert_eq!(c.mid, None);

        // Pipe consumer without RTX.
        let p = pipe(&consumable, false, 5000, 6000);
        assert_eq!(p.codecs.len(), 1);
        assert_eq!(p.codecs[0].payload_type, 101);
        assert_eq!(p.codecs[0].parameters, consumable.codecs[0].parameters);
        assert_eq!(
            p.codecs[0].rtcp_feedback,
            fb(&[("nack", "pli"), ("ccm", "fir")])
        );
        assert_eq!(
            serde_json::to_value(&p.encodings).unwrap(),
            json!([
                {"ssrc":5000,"dtx":false,"scalabilityMode":"L1T3","maxBitrate":111111},
                {"ssrc":5001,"dtx":false,"scalabilityMode":"L1T3","maxBitrate":222222},
                {"ssrc":5002,"dtx":false,"scalabilityMode":"L1T3","maxBitrate":333333}
            ])
        );
        assert_eq!(
            p.header_extensions,
            vec![
                ext(uri::FRAMEMARKING_07, 6),
                ext(uri::FRAMEMARKING, 7),
                ext(uri::VIDEO_ORIENTATION, 11),
                ext(uri::TOFFSET, 12),
                ext(uri::ABS_CAPTURE_TIME, 13),
                ext(uri::PLAYOUT_DELAY, 14),
            ]
        );
        assert_eq!(p.rtcp, consumable.rtcp);

        // Pipe consumer with RTX.
        let p = pipe(&consumable, true, 5000, 6000);
        assert_eq!(p.codecs.len(), 2);
        assert_eq!(
            p.codecs[0].rtcp_feedback,
            fb(&[("nack", ""), ("nack", "pli"), ("ccm", "fir")])
        );
        let rtx: Vec<_> = p.encodings.iter().map(|e| e.rtx.map(|r| r.ssrc)).collect();
        assert_eq!(rtx, vec![Some(6000), Some(6001), Some(6002)]);
    }

    fn vp8_simulcast(modes: [Option<&str>; 3]) -> serde_json::Value {
        let encodings: Vec<_> = modes
            .iter()
            .enumerate()
            .map(|(i, m)| {
                let mut e = json!({"rid": format!("r{i}"), "maxBitrate": 500_000 * (i + 1)});
                if let Some(m) = m {
                    e["scalabilityMode"] = json!(m);
                }
                e
            })
            .collect();
        json!({
            "mid":"0",
            "codecs":[
                {"mimeType":"video/VP8","payloadType":96,"clockRate":90000,
                 "rtcpFeedback":[{"type":"goog-remb"},{"type":"transport-cc"},{"type":"ccm","parameter":"fir"},{"type":"nack"},{"type":"nack","parameter":"pli"}]},
                {"mimeType":"video/rtx","payloadType":97,"clockRate":90000,"parameters":{"apt":96}}
            ],
            "headerExtensions":[
                {"uri":uri::MID,"id":4},
                {"uri":uri::RTP_STREAM_ID,"id":10},
                {"uri":uri::REPAIRED_RTP_STREAM_ID,"id":11},
                {"uri":uri::TRANSPORT_WIDE_CC,"id":3}
            ],
            "encodings": encodings,
            "rtcp":{"cname":"abc"}
        })
    }

    /// A browser's receive capabilities with the router's extension ids (as mediasoup-client reports them).
    fn browser_caps(rtx: bool, extensions: &[(&str, &str, u8)]) -> RtpCapabilities {
        let mut codecs = vec![
            json!({"kind":"audio","mimeType":"audio/opus","preferredPayloadType":100,"clockRate":48000,"channels":2,
                   "rtcpFeedback":[{"type":"transport-cc"}]}),
            json!({"kind":"video","mimeType":"video/VP8","preferredPayloadType":101,"clockRate":90000,
                   "rtcpFeedback":[{"type":"goog-remb"},{"type":"transport-cc"},{"type":"ccm","parameter":"fir"},
                                   {"type":"nack"},{"type":"nack","parameter":"pli"}]}),
        ];
        if rtx {
            codecs.push(json!({"kind":"video","mimeType":"video/rtx","preferredPayloadType":102,"clockRate":90000,
                               "parameters":{"apt":101}}));
        }
        let exts: Vec<_> = extensions
            .iter()
            .map(|(k, u, id)| json!({"kind":k,"uri":u,"preferredId":id}))
            .collect();
        caps(json!({"codecs":codecs,"headerExtensions":exts}))
    }

    fn demo_router() -> RtpCapabilities {
        generate_router_rtp_capabilities(&default_media_codecs()).unwrap()
    }

    #[test]
    fn simulcast_consumer_gets_one_encoding_with_l3t3() {
        let router = demo_router();
        let (_, consumable) =
            consumable_of(MediaKind::Video, vp8_simulcast([Some("L1T3"); 3]), &router);
        let remote = browser_caps(true, &[("video", uri::TRANSPORT_WIDE_CC, 5)]);
        let c = consumer(&consumable, &remote, true, 1).unwrap();
        assert_eq!(c.encodings.len(), 1);
        assert_eq!(c.encodings[0].scalability_mode.as_deref(), Some("L3T3"));
        assert_eq!(c.encodings[0].max_bitrate, Some(1_500_000));
        assert_eq!(c.encodings[0].rtx, Some(RtpEncodingRtx { ssrc: 2 }));
        // Without scalability modes the temporal layer count is 1.
        let (_, consumable) = consumable_of(MediaKind::Video, vp8_simulcast([None; 3]), &router);
        let c = consumer(&consumable, &remote, true, 1).unwrap();
        assert_eq!(c.encodings[0].scalability_mode.as_deref(), Some("L3T1"));
        // The first encoding with a mode gives the temporal layers.
        let (_, consumable) = consumable_of(
            MediaKind::Video,
            vp8_simulcast([None, Some("L1T2"), Some("L1T3")]),
            &router,
        );
        let c = consumer(&consumable, &remote, true, 1).unwrap();
        assert_eq!(c.encodings[0].scalability_mode.as_deref(), Some("L3T2"));
    }

    #[test]
    fn single_encoding_keeps_its_scalability_mode() {
        let router = demo_router();
        let remote = browser_caps(true, &[]);
        let mut producer = vp8_simulcast([Some("L3T3_KEY"), None, None]);
        producer["encodings"] =
            json!([{"ssrc":1234,"scalabilityMode":"L3T3_KEY","maxBitrate":5_000_000}]);
        let (_, consumable) = consumable_of(MediaKind::Video, producer.clone(), &router);
        let c = consumer(&consumable, &remote, true, 9).unwrap();
        assert_eq!(c.encodings[0].scalability_mode.as_deref(), Some("L3T3_KEY"));
        assert_eq!(c.encodings[0].max_bitrate, Some(5_000_000));
        producer["encodings"] = json!([{"ssrc":1234}]);
        let (_, consumable) = consumable_of(MediaKind::Video, producer, &router);
        let c = consumer(&consumable, &remote, true, 9).unwrap();
        assert_eq!(c.encodings[0].scalability_mode, None);
        assert_eq!(c.encodings[0].max_bitrate, None);
    }

    #[test]
    fn rtx_only_when_enabled_and_nack_dropped_without_it() {
        let router = demo_router();
        let (_, consumable) =
            consumable_of(MediaKind::Video, vp8_simulcast([Some("L1T3"); 3]), &router);
        let remote = browser_caps(true, &[("video", uri::TRANSPORT_WIDE_CC, 5)]);

        let with = consumer(&consumable, &remote, true, 10).unwrap();
        assert_eq!(with.codecs.len(), 2);
        assert_eq!(
            with.codecs[0].rtcp_feedback,
            fb(&[
                ("transport-cc", ""),
                ("ccm", "fir"),
                ("nack", ""),
                ("nack", "pli")
            ])
        );
        assert_eq!(with.encodings[0].rtx, Some(RtpEncodingRtx { ssrc: 11 }));

        let without = consumer(&consumable, &remote, false, 10).unwrap();
        assert_eq!(without.codecs.len(), 1);
        assert_eq!(
            without.codecs[0].rtcp_feedback,
            fb(&[("transport-cc", ""), ("ccm", "fir"), ("nack", "pli")])
        );
        assert_eq!(without.encodings[0].rtx, None);

        // RTX enabled but the remote has no RTX codec.
        let no_rtx = consumer(&consumable, &browser_caps(false, &[]), true, 10).unwrap();
        assert_eq!(no_rtx.codecs.len(), 1);
        assert_eq!(no_rtx.encodings[0].rtx, None);
        assert!(
            no_rtx.codecs[0]
                .rtcp_feedback
                .contains(&RtcpFeedback::new("nack", ""))
        );
    }

    #[test]
    fn rtx_ssrc_wraps() {
        let router = demo_router();
        let (_, consumable) = consumable_of(MediaKind::Video, vp8_simulcast([None; 3]), &router);
        let c = consumer(&consumable, &browser_caps(true, &[]), true, u32::MAX).unwrap();
        assert_eq!(c.encodings[0].rtx, Some(RtpEncodingRtx { ssrc: 0 }));
    }

    #[test]
    fn bwe_feedback_follows_the_negotiated_extensions() {
        let router = demo_router();
        let (_, consumable) = consumable_of(MediaKind::Video, vp8_simulcast([None; 3]), &router);
        let types = |exts: &[(&str, &str, u8)]| -> Vec<String> {
            let c = consumer(&consumable, &browser_caps(true, exts), true, 1).unwrap();
            assert!(c.codecs[1].rtcp_feedback.is_empty());
            c.codecs[0]
                .rtcp_feedback
                .iter()
                .map(|f| f.r#type.clone())
                .collect()
        };
        let tcc = ("video", uri::TRANSPORT_WIDE_CC, 5);
        let abs = ("video", uri::ABS_SEND_TIME, 4);
        assert_eq!(
            types(&[tcc, abs]),
            vec!["transport-cc", "ccm", "nack", "nack"]
        );
        assert_eq!(types(&[abs]), vec!["goog-remb", "ccm", "nack", "nack"]);
        assert_eq!(types(&[]), vec!["ccm", "nack", "nack"]);
        // Negotiated means same uri and id: transport-cc under another id does not count.
        assert_eq!(
            types(&[("video", uri::TRANSPORT_WIDE_CC, 3), abs]),
            vec!["goog-remb", "ccm", "nack", "nack"]
        );
    }

    #[test]
    fn audio_consumer_of_the_broadcaster_script() {
        let router = demo_router();
        let (_, consumable) = consumable_of(
            MediaKind::Audio,
            json!({"codecs":[{"mimeType":"audio/opus","payloadType":100,"clockRate":48000,"channels":2,
                    "parameters":{"sprop-stereo":1}}],"encodings":[{"ssrc":1111}]}),
            &router,
        );
        let remote = browser_caps(
            true,
            &[
                ("audio", uri::AUDIO_LEVEL, 10),
                ("audio", uri::TRANSPORT_WIDE_CC, 5),
            ],
        );
        assert!(can_consume(&consumable, &remote));
        let c = consumer(&consumable, &remote, true, 77).unwrap();
        assert_eq!(c.codecs.len(), 1);
        assert_eq!(c.codecs[0].mime_type, "audio/opus");
        assert_eq!(
            c.codecs[0].parameters["sprop-stereo"],
            ParameterValue::Integer(1)
        );
        // The router never sends audio transport-cc (recvonly), so it is not negotiated: no BWE feedback.
        assert!(c.codecs[0].rtcp_feedback.is_empty());
        assert_eq!(c.header_extensions, vec![ext(uri::AUDIO_LEVEL, 10)]);
        assert_eq!(
            serde_json::to_value(&c.encodings).unwrap(),
            json!([{"ssrc":77}])
        );
    }

    #[test]
    fn incompatible_capabilities_cannot_consume() {
        let router = demo_router();
        let (_, consumable) = consumable_of(MediaKind::Video, vp8_simulcast([None; 3]), &router);
        let opus_only = caps(json!({"codecs":[
            {"kind":"audio","mimeType":"audio/opus","preferredPayloadType":100,"clockRate":48000,"channels":2}
        ]}));
        assert!(!can_consume(&consumable, &opus_only));
        assert_eq!(
            consumer(&consumable, &opus_only, true, 1).unwrap_err(),
            OrtcError::Unsupported {
                field: String::new(),
                message: "no compatible media codecs".into()
            }
        );
        assert_eq!(
            consumer(&consumable, &opus_only, true, 1)
                .unwrap_err()
                .prefixed("rtpCapabilities")
                .to_string(),
            "rtpCapabilities: no compatible media codecs"
        );
        // Only RTX matches: the first match is RTX, which cannot be consumed alone.
        let rtx_only = caps(json!({"codecs":[
            {"kind":"video","mimeType":"video/rtx","preferredPayloadType":102,"clockRate":90000,"parameters":{"apt":101}}
        ]}));
        assert!(!can_consume(&consumable, &rtx_only));
        assert!(matches!(
            consumer(&consumable, &rtx_only, true, 1),
            Err(OrtcError::Unsupported { .. })
        ));
        assert!(!can_consume(&consumable, &RtpCapabilities::default()));
    }

    #[test]
    fn invalid_capabilities_cannot_consume_and_never_panic() {
        let router = demo_router();
        let (_, consumable) = consumable_of(MediaKind::Video, vp8_simulcast([None; 3]), &router);
        let mut bad = browser_caps(true, &[]);
        bad.codecs[0].mime_type = "chicken".into();
        assert!(!can_consume(&consumable, &bad));
        let err = consumer(&consumable, &bad, true, 1).unwrap_err();
        assert!(
            matches!(&err, OrtcError::Invalid { field, .. } if field == "codecs[0].mimeType"),
            "{err:?}"
        );
        let mut bad = browser_caps(true, &[]);
        bad.codecs[1].kind = Some(MediaKind::Audio);
        assert!(!can_consume(&consumable, &bad));
        assert!(!can_consume(
            &RtpParameters::default(),
            &browser_caps(true, &[])
        ));
    }

    #[test]
    fn h264_consumers_need_a_matching_profile() {
        let router = demo_router();
        let (_, consumable) = consumable_of(
            MediaKind::Video,
            json!({"codecs":[{"mimeType":"video/H264","payloadType":96,"clockRate":90000,
                   "parameters":{"packetization-mode":1,"profile-level-id":"42e01f"}}],"encodings":[{"ssrc":5}]}),
            &router,
        );
        let h264 = |pm: i64, id: &str| {
            caps(json!({"codecs":[{"mimeType":"video/H264","clockRate":90000,
                "parameters":{"packetization-mode":pm,"profile-level-id":id}}]}))
        };
        assert!(can_consume(&consumable, &h264(1, "42e034")));
        assert!(can_consume(&consumable, &h264(1, "42c01f")));
        assert!(!can_consume(&consumable, &h264(0, "42e01f")));
        assert!(!can_consume(&consumable, &h264(1, "4d001f")));
        assert!(!can_consume(&consumable, &h264(1, "CHICKEN")));
        let c = consumer(&consumable, &h264(1, "42e034"), true, 1).unwrap();
        // The consumer keeps the producer's parameters (no RTX: the remote has none).
        assert_eq!(c.codecs.len(), 1);
        assert_eq!(
            c.codecs[0].parameters["profile-level-id"],
            ParameterValue::from("42e01f")
        );
    }

    #[test]
    fn vp9_consumers_need_the_same_profile_id() {
        let router = demo_router();
        let (_, consumable) = consumable_of(
            MediaKind::Video,
            json!({"codecs":[{"mimeType":"video/VP9","payloadType":98,"clockRate":90000,
                   "parameters":{"profile-id":2}}],"encodings":[{"ssrc":5,"scalabilityMode":"L3T3_KEY"}]}),
            &router,
        );
        let vp9 = |params: serde_json::Value| {
            caps(json!({"codecs":[{"mimeType":"video/VP9","clockRate":90000,"parameters":params}]}))
        };
        assert!(can_consume(&consumable, &vp9(json!({"profile-id":2}))));
        assert!(!can_consume(&consumable, &vp9(json!({"profile-id":0}))));
        assert!(!can_consume(&consumable, &vp9(json!({}))));
    }

    #[test]
    fn multiopus_consumers_need_the_same_layout() {
        let router = router(json!([
            {"mimeType":"audio/multiopus","clockRate":48000,"channels":6,
             "parameters":{"channel_mapping":"0,4,1,2,3,5","num_streams":4,"coupled_streams":2}}
        ]));
        let (_, consumable) = consumable_of(
            MediaKind::Audio,
            json!({"codecs":[{"mimeType":"audio/multiopus","payloadType":0,"clockRate":48000,"channels":6,
                   "parameters":{"channel_mapping":"0,4,1,2,3,5","num_streams":4,"coupled_streams":2}}],
                   "encodings":[{"ssrc":5}]}),
            &router,
        );
        let remote = |channels: u8, streams: i64| {
            caps(
                json!({"codecs":[{"mimeType":"audio/multiopus","preferredPayloadType":100,"clockRate":48000,
                "channels":channels,"parameters":{"channel_mapping":"0,4,1,2,3,5","num_streams":streams,"coupled_streams":2}}]}),
            )
        };
        assert!(can_consume(&consumable, &remote(6, 4)));
        assert!(!can_consume(&consumable, &remote(2, 4)));
        assert!(!can_consume(&consumable, &remote(6, 3)));
    }

    #[test]
    fn orphan_rtx_is_dropped() {
        // A consumable whose RTX points at a codec the remote does not take.
        let router = demo_router();
        let (_, mut consumable) =
            consumable_of(MediaKind::Video, vp8_simulcast([None; 3]), &router);
        consumable.codecs[1]
            .parameters
            .insert("apt".into(), 55.into());
        let c = consumer(&consumable, &browser_caps(true, &[]), true, 1).unwrap();
        assert_eq!(c.codecs.len(), 1);
        assert_eq!(c.encodings[0].rtx, None);
    }

    #[test]
    fn pipe_consumer_of_audio_keeps_encodings() {
        let router = demo_router();
        let (_, consumable) = consumable_of(
            MediaKind::Audio,
            json!({"codecs":[{"mimeType":"audio/opus","payloadType":111,"clockRate":48000,"channels":2}],
                   "encodings":[{"ssrc":1111,"dtx":true}],"rtcp":{"cname":"c"}}),
            &router,
        );
        let p = pipe(&consumable, false, 10, 20);
        assert_eq!(p.codecs.len(), 1);
        // opus feedback is nack + transport-cc: neither passes a pipe without RTX.
        assert!(p.codecs[0].rtcp_feedback.is_empty());
        assert_eq!(
            serde_json::to_value(&p.encodings).unwrap(),
            json!([{"ssrc":10,"dtx":true}])
        );
        let uris: Vec<_> = p.header_extensions.iter().map(|e| e.uri.as_str()).collect();
        assert_eq!(
            uris,
            vec![uri::AUDIO_LEVEL, uri::ABS_CAPTURE_TIME, uri::PLAYOUT_DELAY]
        );
        let p = pipe(&consumable, true, 10, 20);
        assert_eq!(p.codecs[0].rtcp_feedback, fb(&[("nack", "")]));
        assert_eq!(p.encodings[0].rtx, Some(RtpEncodingRtx { ssrc: 20 }));
    }

    // ------------------------------------------------------------ an endpoint's own numbering

    /// What Chrome receives, in its own numbering (payload types and extension ids of its offers).
    fn chrome_receive_caps() -> RtpCapabilities {
        let video_fb = json!([{"type":"goog-remb"},{"type":"transport-cc"},{"type":"ccm","parameter":"fir"},
                              {"type":"nack"},{"type":"nack","parameter":"pli"}]);
        let video = |pt: u8, mime: &str, params: serde_json::Value| {
            json!({"kind":"video","mimeType":mime,"preferredPayloadType":pt,"clockRate":90000,
                   "parameters":params,"rtcpFeedback":video_fb})
        };
        let rtx = |pt: u8, apt: u8| {
            json!({"kind":"video","mimeType":"video/rtx","preferredPayloadType":pt,"clockRate":90000,
                   "parameters":{"apt":apt}})
        };
        let h264 = |pt: u8, mode: u8, profile: &str| {
            video(
                pt,
                "video/H264",
                json!({"level-asymmetry-allowed":1,"packetization-mode":mode,"profile-level-id":profile}),
            )
        };
        let audio_ext = |uri: &str, id: u8| json!({"kind":"audio","uri":uri,"preferredId":id});
        let video_ext = |uri: &str, id: u8| json!({"kind":"video","uri":uri,"preferredId":id});
        caps(json!({
            "codecs":[
                {"kind":"audio","mimeType":"audio/opus","preferredPayloadType":111,"clockRate":48000,"channels":2,
                 "parameters":{"minptime":10,"useinbandfec":1},"rtcpFeedback":[{"type":"transport-cc"}]},
                {"kind":"audio","mimeType":"audio/G722","preferredPayloadType":9,"clockRate":8000},
                {"kind":"audio","mimeType":"audio/PCMU","preferredPayloadType":0,"clockRate":8000},
                {"kind":"audio","mimeType":"audio/PCMA","preferredPayloadType":8,"clockRate":8000},
                {"kind":"audio","mimeType":"audio/telephone-event","preferredPayloadType":126,"clockRate":8000},
                video(96, "video/VP8", json!({})), rtx(97, 96),
                video(98, "video/VP9", json!({"profile-id":0})), rtx(99, 98),
                video(100, "video/VP9", json!({"profile-id":2})), rtx(101, 100),
                h264(102, 1, "42001f"), rtx(103, 102),
                h264(104, 0, "42001f"), rtx(105, 104),
                h264(106, 1, "42e01f"), rtx(107, 106),
                h264(108, 0, "42e01f"), rtx(109, 108),
                h264(127, 1, "4d001f"), rtx(125, 127),
                h264(39, 0, "4d001f"), rtx(40, 39),
                h264(112, 1, "64001f"), rtx(113, 112)
            ],
            "headerExtensions":[
                audio_ext(uri::AUDIO_LEVEL, 1),
                audio_ext(uri::ABS_SEND_TIME, 2),
                audio_ext(uri::TRANSPORT_WIDE_CC, 3),
                audio_ext(uri::MID, 4),
                video_ext(uri::TOFFSET, 14),
                video_ext(uri::ABS_SEND_TIME, 2),
                video_ext(uri::VIDEO_ORIENTATION, 13),
                video_ext(uri::TRANSPORT_WIDE_CC, 3),
                video_ext(uri::PLAYOUT_DELAY, 5),
                video_ext("http://www.webrtc.org/experiments/rtp-hdrext/video-content-type", 6),
                video_ext(uri::MID, 4),
                video_ext(uri::RTP_STREAM_ID, 10),
                video_ext(uri::REPAIRED_RTP_STREAM_ID, 11)
            ]
        }))
    }

    /// Chrome's capabilities of one kind (what one section of its offer states).
    fn chrome_section_caps(kind: MediaKind) -> RtpCapabilities {
        let mut c = chrome_receive_caps();
        c.codecs.retain(|c| c.kind == Some(kind));
        c.header_extensions.retain(|e| e.kind == kind);
        c
    }

    /// A single-stream producer of one codec (and its RTX when `rtx_pt` is given).
    fn single(
        mime: &str,
        pt: u8,
        rtx_pt: Option<u8>,
        params: serde_json::Value,
    ) -> serde_json::Value {
        let audio = mime.starts_with("audio/");
        let mut codecs = vec![json!({"mimeType":mime,"payloadType":pt,
            "clockRate":if audio { 48000 } else { 90000 },"parameters":params,
            "rtcpFeedback":[{"type":"nack"},{"type":"nack","parameter":"pli"},{"type":"transport-cc"}]})];
        if audio {
            codecs[0]["channels"] = json!(2);
        }
        let mut encoding = json!({"ssrc":1111});
        if let Some(rtx) = rtx_pt {
            codecs.push(json!({"mimeType":"video/rtx","payloadType":rtx,"clockRate":90000,"parameters":{"apt":pt}}));
            encoding["rtx"] = json!({"ssrc":1112});
        }
        json!({"codecs":codecs,"encodings":[encoding],"rtcp":{"cname":"c"}})
    }

    fn pts_and_apts(params: &RtpParameters) -> Vec<(u8, Option<i64>)> {
        params
            .codecs
            .iter()
            .map(|c| (c.payload_type, apt(c)))
            .collect()
    }

    fn ext_ids(params: &RtpParameters) -> Vec<(&str, u8)> {
        params
            .header_extensions
            .iter()
            .map(|e| (e.uri.as_str(), e.id))
            .collect()
    }

    #[test]
    fn chrome_vp8_numbering_maps_the_router_to_chromes_own() {
        let router = demo_router();
        // The router numbers VP8 101, its RTX 102; Chrome 96 and 97.
        let (_, consumable) = consumable_of(
            MediaKind::Video,
            single("video/VP8", 96, Some(97), json!({})),
            &router,
        );
        assert_eq!(pts_and_apts(&consumable), [(101, None), (102, Some(101))]);
        let chrome = chrome_section_caps(MediaKind::Video);
        // Matched as is, Chrome's extension ids name other extensions than the router's: none survives.
        let as_is = consumer(&consumable, &chrome, true, 5000).unwrap();
        assert!(as_is.header_extensions.is_empty(), "{as_is:?}");
        let (renumbered, numbering) =
            crate::ortc::renumber_endpoint_capabilities(&consumable, &chrome).unwrap();
        assert_eq!(numbering.payload_types, [(101, 96), (102, 97)]);
        // Extensions by URI, in Chrome's order; those the consumable lacks (content type, rid, rrid) are out,
        // and the router's abs-capture-time (13) has no Chrome number.
        assert_eq!(
            numbering.header_extension_ids,
            [(12, 14), (4, 2), (11, 13), (5, 3), (14, 5), (1, 4)]
        );
        assert_eq!(numbering.payload_type(101), Some(96));
        assert_eq!(numbering.payload_type(96), None, "router numbers only");
        assert_eq!(numbering.header_extension_id(13), None);
        // The renumbered capabilities name the router's numbers and keep Chrome's codec facts.
        let renumbered_pts: Vec<_> = renumbered
            .codecs
            .iter()
            .map(|c| {
                (
                    c.mime_type.as_str(),
                    c.preferred_payload_type,
                    c.parameters.get("apt").and_then(ParameterValue::as_i64),
                )
            })
            .collect();
        assert_eq!(
            renumbered_pts,
            [
                ("video/VP8", Some(101), None),
                ("video/rtx", Some(102), Some(101))
            ]
        );
        assert_eq!(renumbered.codecs[0].rtcp_feedback.len(), 5);
        let renumbered_ids: Vec<_> = renumbered
            .header_extensions
            .iter()
            .map(|e| (e.uri.as_str(), e.preferred_id))
            .collect();
        assert_eq!(
            renumbered_ids,
            [
                (uri::TOFFSET, 12),
                (uri::ABS_SEND_TIME, 4),
                (uri::VIDEO_ORIENTATION, 11),
                (uri::TRANSPORT_WIDE_CC, 5),
                (uri::PLAYOUT_DELAY, 14),
                (uri::MID, 1),
            ]
        );
        assert!(can_consume(&consumable, &renumbered));

        // The consumer is made in the router's numbering, then written in Chrome's.
        let routed = consumer(&consumable, &renumbered, true, 5000).unwrap();
        assert_eq!(pts_and_apts(&routed), [(101, None), (102, Some(101))]);
        let played = numbering.apply(&routed);
        assert_eq!(pts_and_apts(&played), [(96, None), (97, Some(96))]);
        assert_eq!(
            ext_ids(&played),
            [
                (uri::MID, 4),
                (uri::ABS_SEND_TIME, 2),
                (uri::TRANSPORT_WIDE_CC, 3),
                (uri::VIDEO_ORIENTATION, 13),
                (uri::TOFFSET, 14),
                (uri::PLAYOUT_DELAY, 5),
            ]
        );
        // Only numbers change: feedback, encodings and RTCP are the routed consumer's.
        assert_eq!(
            played.codecs[0].rtcp_feedback,
            routed.codecs[0].rtcp_feedback
        );
        assert_eq!(played.encodings, routed.encodings);
        assert_eq!(played.rtcp, routed.rtcp);
    }

    #[test]
    fn chrome_h264_numbering_follows_profile_and_packetization_mode() {
        let router = demo_router();
        // Constrained baseline, mode 1: the router's second H.264 (107, RTX 108).
        let (_, consumable) = consumable_of(
            MediaKind::Video,
            single(
                "video/H264",
                102,
                Some(103),
                json!({"packetization-mode":1,"profile-level-id":"42e01f","level-asymmetry-allowed":1}),
            ),
            &router,
        );
        assert_eq!(pts_and_apts(&consumable), [(107, None), (108, Some(107))]);
        let (renumbered, numbering) = crate::ortc::renumber_endpoint_capabilities(
            &consumable,
            &chrome_section_caps(MediaKind::Video),
        )
        .unwrap();
        // Chrome's 102 (baseline 42001f) and 108 (mode 0) do not match strictly; 106 does, with its RTX 107.
        assert_eq!(numbering.payload_types, [(107, 106), (108, 107)]);
        let routed = consumer(&consumable, &renumbered, true, 7000).unwrap();
        let played = numbering.apply(&routed);
        // The router's RTX 108 becomes Chrome's 107, and its apt (router 107) becomes Chrome's 106: each
        // number is mapped once, never twice.
        assert_eq!(pts_and_apts(&played), [(106, None), (107, Some(106))]);
        assert_eq!(
            played.codecs[0].parameters["profile-level-id"],
            ParameterValue::from("42e01f")
        );

        // Main profile: Chrome only has 4d001f, mode 1 at 127 with RTX 125 — a lower payload type for RTX.
        let (_, consumable) = consumable_of(
            MediaKind::Video,
            single(
                "video/H264",
                127,
                Some(125),
                json!({"packetization-mode":1,"profile-level-id":"4d0032","level-asymmetry-allowed":1}),
            ),
            &router,
        );
        assert_eq!(pts_and_apts(&consumable), [(105, None), (106, Some(105))]);
        let (renumbered, numbering) = crate::ortc::renumber_endpoint_capabilities(
            &consumable,
            &chrome_section_caps(MediaKind::Video),
        )
        .unwrap();
        assert_eq!(numbering.payload_types, [(105, 127), (106, 125)]);
        let played = numbering.apply(&consumer(&consumable, &renumbered, true, 1).unwrap());
        assert_eq!(pts_and_apts(&played), [(127, None), (125, Some(127))]);
    }

    #[test]
    fn chrome_opus_numbering_and_audio_extensions() {
        let router = demo_router();
        let (_, consumable) = consumable_of(
            MediaKind::Audio,
            single("audio/opus", 111, None, json!({"useinbandfec":1})),
            &router,
        );
        assert_eq!(pts_and_apts(&consumable), [(100, None)]);
        let (renumbered, numbering) = crate::ortc::renumber_endpoint_capabilities(
            &consumable,
            &chrome_section_caps(MediaKind::Audio),
        )
        .unwrap();
        assert_eq!(numbering.payload_types, [(100, 111)]);
        let routed = consumer(&consumable, &renumbered, true, 9).unwrap();
        let played = numbering.apply(&routed);
        assert_eq!(pts_and_apts(&played), [(111, None)]);
        // Audio level: router 10, Chrome 1; mid: router 1, Chrome 4 — swapped numbers stay distinct.
        let ids: std::collections::HashMap<_, _> = ext_ids(&played).into_iter().collect();
        assert_eq!(ids.get(uri::AUDIO_LEVEL), Some(&1));
        assert_eq!(ids.get(uri::MID), Some(&4));
        assert_eq!(ids.get(uri::ABS_SEND_TIME), Some(&2));
        assert!(
            ext_ids(&played)
                .iter()
                .all(|&(_, id)| [1, 2, 3, 4].contains(&id)),
            "{played:?}"
        );
        // Chrome's video capabilities give an audio consumable nothing to consume.
        let (video_only, numbering) = crate::ortc::renumber_endpoint_capabilities(
            &consumable,
            &chrome_section_caps(MediaKind::Video),
        )
        .unwrap();
        assert!(numbering.payload_types.is_empty());
        assert!(!can_consume(&consumable, &video_only));
    }

    #[test]
    fn apply_leaves_out_what_the_endpoint_has_no_number_for() {
        let router = demo_router();
        let (_, consumable) = consumable_of(
            MediaKind::Video,
            single("video/VP8", 96, Some(97), json!({})),
            &router,
        );
        // Chrome without RTX for VP8, without abs-send-time: its RTX 97 now points at nothing it receives.
        let mut chrome = chrome_section_caps(MediaKind::Video);
        chrome
            .codecs
            .retain(|c| c.preferred_payload_type != Some(97));
        chrome
            .header_extensions
            .retain(|e| e.uri != uri::ABS_SEND_TIME);
        let (renumbered, numbering) =
            crate::ortc::renumber_endpoint_capabilities(&consumable, &chrome).unwrap();
        assert_eq!(numbering.payload_types, [(101, 96)]);
        assert_eq!(numbering.header_extension_id(4), None);
        // Applied to the whole consumable: the RTX codec, abs-send-time, frame marking and abs-capture-time
        // have no number of Chrome's and are left out.
        let played = numbering.apply(&consumable);
        assert_eq!(pts_and_apts(&played), [(96, None)]);
        let uris: Vec<_> = ext_ids(&played).into_iter().map(|(u, _)| u).collect();
        assert_eq!(
            uris,
            [
                uri::MID,
                uri::TRANSPORT_WIDE_CC,
                uri::VIDEO_ORIENTATION,
                uri::TOFFSET,
                uri::PLAYOUT_DELAY
            ]
        );
        let routed = consumer(&consumable, &renumbered, true, 1).unwrap();
        assert_eq!(routed.encodings[0].rtx, None, "no RTX negotiated");
        assert_eq!(pts_and_apts(&numbering.apply(&routed)), [(96, None)]);
        // An empty numbering leaves nothing.
        let nothing = EndpointNumbering::default().apply(&routed);
        assert!(nothing.codecs.is_empty() && nothing.header_extensions.is_empty());
    }

    #[test]
    fn renumbering_skips_what_it_cannot_place_and_refuses_invalid_capabilities() {
        let router = demo_router();
        let (_, consumable) = consumable_of(
            MediaKind::Video,
            single("video/VP8", 96, Some(97), json!({})),
            &router,
        );
        // Two VP8 entries: the first wins; an RTX of the second is not the consumable's RTX twice.
        // A codec without a payload type is skipped.
        let endpoint = caps(json!({"codecs":[
            {"kind":"video","mimeType":"video/VP8","clockRate":90000},
            {"kind":"video","mimeType":"video/VP8","preferredPayloadType":120,"clockRate":90000},
            {"kind":"video","mimeType":"video/VP8","preferredPayloadType":121,"clockRate":90000},
            {"kind":"video","mimeType":"video/rtx","preferredPayloadType":122,"clockRate":90000,"parameters":{"apt":121}},
            {"kind":"video","mimeType":"video/rtx","preferredPayloadType":123,"clockRate":90000,"parameters":{"apt":120}},
            {"kind":"video","mimeType":"video/rtx","preferredPayloadType":124,"clockRate":90000,"parameters":{"apt":120}}
        ]}));
        let (renumbered, numbering) =
            crate::ortc::renumber_endpoint_capabilities(&consumable, &endpoint).unwrap();
        assert_eq!(numbering.payload_types, [(101, 120), (102, 123)]);
        assert_eq!(renumbered.codecs.len(), 2);
        // Invalid capabilities are refused, not guessed at.
        let mut bad = chrome_section_caps(MediaKind::Video);
        bad.codecs[0].mime_type = "chicken".into();
        assert!(matches!(
            crate::ortc::renumber_endpoint_capabilities(&consumable, &bad),
            Err(OrtcError::Invalid { .. })
        ));
    }
}
