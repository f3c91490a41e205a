//! Validation and normalisation of capabilities and parameters (mediasoup's `validateRtp*` and
//! `validateSctp*`).
//!
//! Serde has already checked the JSON shape; these check meaning and fill defaults in place: kind from the
//! mime type, audio channels 1, no video channels, `apt` an integer payload type, header-extension
//! direction sendrecv, encoding `dtx` false, `rtcp.reducedSize` true, SCTP `ordered`.

use std::collections::BTreeSet;

use crate::rtp_parameters::{
    CodecParameters, MediaKind, ParameterValue, RtcpFeedback, RtpCapabilities, RtpCodecCapability,
    RtpCodecParameters, RtpEncodingParameters, RtpHeaderExtension, RtpHeaderExtensionParameters,
    RtpParameters, mime_kind,
};
use crate::sctp_parameters::{SctpCapabilities, SctpStreamParameters};

use super::{OrtcError, invalid};

/// Highest RTP payload type (7 bits, RFC 3550 §5.1).
const MAX_PAYLOAD_TYPE: u8 = 127;

fn indexed<T>(
    items: &mut [T],
    name: &str,
    mut check: impl FnMut(&mut T) -> Result<(), OrtcError>,
) -> Result<(), OrtcError> {
    for (i, item) in items.iter_mut().enumerate() {
        check(item).map_err(|e| e.prefixed(&format!("{name}[{i}]")))?;
    }
    Ok(())
}

fn kind_of(mime_type: &str) -> Result<MediaKind, OrtcError> {
    mime_kind(mime_type)
        .ok_or_else(|| invalid("mimeType", format!("invalid mime type: {mime_type:?}")))
}

fn check_payload_type(field: &str, pt: u8) -> Result<(), OrtcError> {
    if pt > MAX_PAYLOAD_TYPE {
        return Err(invalid(field, format!("payload type must be 0-127: {pt}")));
    }
    Ok(())
}

fn check_clock_rate(clock_rate: u32) -> Result<(), OrtcError> {
    if clock_rate == 0 {
        return Err(invalid("clockRate", "clock rate must be positive: 0"));
    }
    Ok(())
}

fn normalise_channels(kind: MediaKind, channels: &mut Option<u8>) -> Result<(), OrtcError> {
    match kind {
        MediaKind::Audio => match channels {
            Some(0) => Err(invalid("channels", "channels must be positive: 0")),
            Some(_) => Ok(()),
            None => {
                *channels = Some(1);
                Ok(())
            }
        },
        MediaKind::Video => {
            *channels = None;
            Ok(())
        }
    }
}

fn check_codec_parameters(parameters: &CodecParameters) -> Result<(), OrtcError> {
    if let Some(apt) = parameters.get("apt") {
        let ok = matches!(apt, ParameterValue::Integer(pt) if (0..=i64::from(MAX_PAYLOAD_TYPE)).contains(pt));
        if !ok {
            let shown = serde_json::to_string(apt).unwrap_or_default();
            return Err(invalid(
                "parameters.apt",
                format!("apt must be an integer payload type: {shown}"),
            ));
        }
    }
    Ok(())
}

fn check_feedback(feedback: &mut [RtcpFeedback]) -> Result<(), OrtcError> {
    indexed(feedback, "rtcpFeedback", |fb| {
        if fb.r#type.is_empty() {
            return Err(invalid("type", "feedback type must not be empty"));
        }
        Ok(())
    })
}

/// One capability codec; paths relative to the codec.
pub(crate) fn validate_rtp_codec_capability(
    codec: &mut RtpCodecCapability,
) -> Result<(), OrtcError> {
    let kind = kind_of(&codec.mime_type)?;
    match codec.kind {
        Some(given) if given != kind => {
            return Err(invalid(
                "kind",
                format!(
                    "kind {} does not match mime type {}",
                    given.as_str(),
                    codec.mime_type
                ),
            ));
        }
        _ => codec.kind = Some(kind),
    }
    if let Some(pt) = codec.preferred_payload_type {
        check_payload_type("preferredPayloadType", pt)?;
    }
    check_clock_rate(codec.clock_rate)?;
    normalise_channels(kind, &mut codec.channels)?;
    check_codec_parameters(&codec.parameters)?;
    check_feedback(&mut codec.rtcp_feedback)
}

fn validate_header_extension_capability(ext: &mut RtpHeaderExtension) -> Result<(), OrtcError> {
    if ext.uri.is_empty() {
        return Err(invalid("uri", "uri must not be empty"));
    }
    if ext.preferred_id == 0 {
        return Err(invalid("preferredId", "id must be 1-255: 0"));
    }
    Ok(())
}

pub(crate) fn validate_rtp_capabilities(caps: &mut RtpCapabilities) -> Result<(), OrtcError> {
    indexed(&mut caps.codecs, "codecs", validate_rtp_codec_capability)?;
    indexed(
        &mut caps.header_extensions,
        "headerExtensions",
        validate_header_extension_capability,
    )
}

fn validate_rtp_codec_parameters(codec: &mut RtpCodecParameters) -> Result<(), OrtcError> {
    let kind = kind_of(&codec.mime_type)?;
    check_payload_type("payloadType", codec.payload_type)?;
    check_clock_rate(codec.clock_rate)?;
    normalise_channels(kind, &mut codec.channels)?;
    check_codec_parameters(&codec.parameters)?;
    check_feedback(&mut codec.rtcp_feedback)
}

fn validate_header_extension_parameters(
    ext: &mut RtpHeaderExtensionParameters,
) -> Result<(), OrtcError> {
    if ext.uri.is_empty() {
        return Err(invalid("uri", "uri must not be empty"));
    }
    if ext.id == 0 {
        return Err(invalid("id", "id must be 1-255: 0"));
    }
    Ok(())
}

/// RFC 8851 `rid-id`: alphanumerics, `-` and `_`.
fn is_valid_rid(rid: &str) -> bool {
    rid.bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

fn validate_encoding(encoding: &mut RtpEncodingParameters) -> Result<(), OrtcError> {
    if encoding.rid.as_deref() == Some("") {
        encoding.rid = None;
    }
    if let Some(rid) = &encoding.rid
        && !is_valid_rid(rid)
    {
        return Err(invalid("rid", format!("invalid rid: {rid:?}")));
    }
    if let Some(pt) = encoding.codec_payload_type {
        check_payload_type("codecPayloadType", pt)?;
    }
    encoding.dtx.get_or_insert(false);
    Ok(())
}

pub(crate) fn validate_rtp_parameters(params: &mut RtpParameters) -> Result<(), OrtcError> {
    if params.mid.as_deref() == Some("") {
        params.mid = None;
    }
    if params.codecs.is_empty() {
        return Err(invalid("codecs", "at least one codec is required"));
    }
    indexed(&mut params.codecs, "codecs", validate_rtp_codec_parameters)?;
    let mut seen = BTreeSet::new();
    for (i, codec) in params.codecs.iter().enumerate() {
        if !seen.insert(codec.payload_type) {
            return Err(invalid(
                format!("codecs[{i}].payloadType"),
                format!("duplicate payload type: {}", codec.payload_type),
            ));
        }
    }
    indexed(
        &mut params.header_extensions,
        "headerExtensions",
        validate_header_extension_parameters,
    )?;
    let mut seen = BTreeSet::new();
    for (i, ext) in params.header_extensions.iter().enumerate() {
        if !seen.insert(ext.id) {
            return Err(invalid(
                format!("headerExtensions[{i}].id"),
                format!("duplicate header extension id: {}", ext.id),
            ));
        }
    }
    indexed(&mut params.encodings, "encodings", validate_encoding)?;
    params.rtcp.reduced_size = Some(true);
    Ok(())
}

pub(crate) fn validate_sctp_capabilities(caps: &SctpCapabilities) -> Result<(), OrtcError> {
    if caps.num_streams.os == 0 {
        return Err(invalid("numStreams.OS", "stream count must be 1-65535: 0"));
    }
    if caps.num_streams.mis == 0 {
        return Err(invalid("numStreams.MIS", "stream count must be 1-65535: 0"));
    }
    Ok(())
}

pub(crate) fn validate_sctp_stream_parameters(
    params: &mut SctpStreamParameters,
) -> Result<(), OrtcError> {
    if params.stream_id == u16::MAX {
        return Err(invalid(
            "streamId",
            format!("stream id must be 0-65534: {}", params.stream_id),
        ));
    }
    let partial = params.max_packet_life_time.is_some() || params.max_retransmits.is_some();
    if params.max_packet_life_time.is_some() && params.max_retransmits.is_some() {
        return Err(invalid(
            "maxPacketLifeTime",
            "cannot be given together with maxRetransmits",
        ));
    }
    match params.ordered {
        Some(true) if partial => Err(invalid(
            "ordered",
            "ordered delivery cannot have maxPacketLifeTime or maxRetransmits",
        )),
        Some(_) => Ok(()),
        None => {
            params.ordered = Some(!partial);
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ortc::{
        validate_rtp_capabilities as validate_caps, validate_rtp_parameters as validate_params,
        validate_sctp_capabilities as validate_sctp_caps,
        validate_sctp_stream_parameters as validate_stream,
    };
    use crate::rtp_parameters::RtpHeaderExtensionDirection;
    use crate::sctp_parameters::NumSctpStreams;

    fn caps(json: &str) -> RtpCapabilities {
        serde_json::from_str(json).unwrap()
    }

    fn params(json: &str) -> RtpParameters {
        serde_json::from_str(json).unwrap()
    }

    fn invalid_field(result: Result<(), OrtcError>) -> String {
        match result {
            Err(OrtcError::Invalid { field, message }) => {
                assert!(
                    message.starts_with(|c: char| c.is_ascii_lowercase()),
                    "{message}"
                );
                field
            }
            other => panic!("expected Invalid, got {other:?}"),
        }
    }

    #[test]
    fn capabilities_get_kind_channels_and_feedback_defaults() {
        let mut c = caps(
            r#"{"codecs":[
                {"mimeType":"audio/PCMU","clockRate":8000,"rtcpFeedback":[{"type":"transport-cc"}]},
                {"mimeType":"video/VP8","clockRate":90000,"channels":2}
            ],"headerExtensions":[
                {"kind":"video","uri":"urn:ietf:params:rtp-hdrext:toffset","preferredId":12}
            ]}"#,
        );
        validate_caps(&mut c).unwrap();
        assert_eq!(c.codecs[0].kind, Some(MediaKind::Audio));
        assert_eq!(c.codecs[0].channels, Some(1));
        assert_eq!(c.codecs[0].rtcp_feedback[0].parameter, "");
        assert_eq!(c.codecs[1].kind, Some(MediaKind::Video));
        assert_eq!(c.codecs[1].channels, None);
        assert_eq!(
            c.header_extensions[0].direction,
            RtpHeaderExtensionDirection::Sendrecv
        );
        assert!(!c.header_extensions[0].preferred_encrypt);
    }

    #[test]
    fn capability_errors_name_fields() {
        let field = |json: &str| invalid_field(validate_caps(&mut caps(json)));
        assert_eq!(
            field(
                r#"{"codecs":[{"mimeType":"audio/opus","clockRate":48000},{"mimeType":"chicken","clockRate":1}]}"#
            ),
            "codecs[1].mimeType"
        );
        assert_eq!(
            field(r#"{"codecs":[{"mimeType":"text/plain","clockRate":1}]}"#),
            "codecs[0].mimeType"
        );
        assert_eq!(
            field(r#"{"codecs":[{"mimeType":"audio/","clockRate":1}]}"#),
            "codecs[0].mimeType"
        );
        assert_eq!(
            field(r#"{"codecs":[{"kind":"video","mimeType":"audio/opus","clockRate":48000}]}"#),
            "codecs[0].kind"
        );
        assert_eq!(
            field(
                r#"{"codecs":[{"mimeType":"video/VP8","clockRate":90000},{"mimeType":"video/rtx","clockRate":90000,"parameters":{"apt":"96"}}]}"#
            ),
            "codecs[1].parameters.apt"
        );
        assert_eq!(
            field(
                r#"{"codecs":[{"mimeType":"video/rtx","clockRate":90000,"parameters":{"apt":1.5}}]}"#
            ),
            "codecs[0].parameters.apt"
        );
        assert_eq!(
            field(r#"{"codecs":[{"mimeType":"video/VP8","clockRate":0}]}"#),
            "codecs[0].clockRate"
        );
        assert_eq!(
            field(
                r#"{"codecs":[{"mimeType":"video/VP8","preferredPayloadType":200,"clockRate":90000}]}"#
            ),
            "codecs[0].preferredPayloadType"
        );
        assert_eq!(
            field(
                r#"{"codecs":[{"mimeType":"video/VP8","clockRate":90000,"rtcpFeedback":[{"type":"nack"},{"type":""}]}]}"#
            ),
            "codecs[0].rtcpFeedback[1].type"
        );
        assert_eq!(
            field(
                r#"{"headerExtensions":[{"kind":"audio","uri":"a","preferredId":1},{"kind":"audio","uri":"","preferredId":2},{"kind":"audio","uri":"b","preferredId":3}]}"#
            ),
            "headerExtensions[1].uri"
        );
        assert_eq!(
            field(r#"{"headerExtensions":[{"kind":"audio","uri":"a","preferredId":0}]}"#),
            "headerExtensions[0].preferredId"
        );
    }

    #[test]
    fn kind_matching_the_mime_type_is_accepted_in_any_case() {
        let mut c =
            caps(r#"{"codecs":[{"kind":"video","mimeType":"VIDEO/vp8","clockRate":90000}]}"#);
        validate_caps(&mut c).unwrap();
        assert_eq!(c.codecs[0].kind, Some(MediaKind::Video));
    }

    #[test]
    fn messages_say_what_and_which_value() {
        let err = validate_caps(&mut caps(
            r#"{"codecs":[{"mimeType":"chicken","clockRate":1}]}"#,
        ))
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            r#"codecs[0].mimeType: invalid mime type: "chicken""#
        );
        let err = validate_caps(&mut caps(
            r#"{"codecs":[{"mimeType":"video/rtx","clockRate":90000,"parameters":{"apt":"x"}}]}"#,
        ))
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            r#"codecs[0].parameters.apt: apt must be an integer payload type: "x""#
        );
    }

    #[test]
    fn parameters_are_normalised() {
        let mut p = params(
            r#"{"mid":"","codecs":[
                {"mimeType":"audio/opus","payloadType":100,"clockRate":48000,"rtcpFeedback":[{"type":"nack"}]},
                {"mimeType":"video/rtx","payloadType":101,"clockRate":90000,"channels":1,"parameters":{"apt":100}}
            ],"encodings":[{"ssrc":1111,"rid":""},{"rid":"h","dtx":true}],"rtcp":{"cname":"x","reducedSize":false}}"#,
        );
        validate_params(&mut p).unwrap();
        assert_eq!(p.mid, None);
        assert_eq!(p.codecs[0].channels, Some(1));
        assert_eq!(p.codecs[0].rtcp_feedback[0], RtcpFeedback::new("nack", ""));
        assert_eq!(p.codecs[1].channels, None);
        assert_eq!(p.encodings[0].rid, None);
        assert_eq!(p.encodings[0].dtx, Some(false));
        assert_eq!(p.encodings[1].dtx, Some(true));
        assert_eq!(p.rtcp.reduced_size, Some(true));
        assert_eq!(p.rtcp.cname.as_deref(), Some("x"));
    }

    #[test]
    fn broadcaster_script_parameters_validate() {
        let mut p = params(
            r#"{"codecs":[{"mimeType":"video/vp8","payloadType":101,"clockRate":90000}],"encodings":[{"ssrc":2222}]}"#,
        );
        validate_params(&mut p).unwrap();
        assert_eq!(p.rtcp.reduced_size, Some(true));
        assert!(p.header_extensions.is_empty());
    }

    #[test]
    fn parameter_errors_name_fields() {
        let field = |json: &str| invalid_field(validate_params(&mut params(json)));
        assert_eq!(field(r#"{"codecs":[]}"#), "codecs");
        assert_eq!(
            field(
                r#"{"codecs":[{"mimeType":"video/VP8","payloadType":101,"clockRate":90000},{"mimeType":"video/rtx","payloadType":102,"clockRate":90000,"parameters":{"apt":"101"}}]}"#
            ),
            "codecs[1].parameters.apt"
        );
        assert_eq!(
            field(
                r#"{"codecs":[{"mimeType":"video/VP8","payloadType":101,"clockRate":90000},{"mimeType":"video","payloadType":102,"clockRate":90000}]}"#
            ),
            "codecs[1].mimeType"
        );
        assert_eq!(
            field(r#"{"codecs":[{"mimeType":"video/VP8","payloadType":128,"clockRate":90000}]}"#),
            "codecs[0].payloadType"
        );
        assert_eq!(
            field(
                r#"{"codecs":[{"mimeType":"video/VP8","payloadType":101,"clockRate":90000},{"mimeType":"video/VP9","payloadType":101,"clockRate":90000}]}"#
            ),
            "codecs[1].payloadType"
        );
        assert_eq!(
            field(
                r#"{"codecs":[{"mimeType":"audio/opus","payloadType":100,"clockRate":48000,"channels":0}]}"#
            ),
            "codecs[0].channels"
        );
        let vp8 = r#"{"mimeType":"video/VP8","payloadType":101,"clockRate":90000}"#;
        assert_eq!(
            field(&format!(
                r#"{{"codecs":[{vp8}],"encodings":[{{"rid":"ok"}},{{"rid":"not ok"}}]}}"#
            )),
            "encodings[1].rid"
        );
        assert_eq!(
            field(&format!(
                r#"{{"codecs":[{vp8}],"headerExtensions":[{{"uri":"a","id":1}},{{"uri":"b","id":2}},{{"uri":"","id":3}}]}}"#
            )),
            "headerExtensions[2].uri"
        );
        assert_eq!(
            field(&format!(
                r#"{{"codecs":[{vp8}],"headerExtensions":[{{"uri":"a","id":0}}]}}"#
            )),
            "headerExtensions[0].id"
        );
        assert_eq!(
            field(&format!(
                r#"{{"codecs":[{vp8}],"headerExtensions":[{{"uri":"a","id":4}},{{"uri":"b","id":4}}]}}"#
            )),
            "headerExtensions[1].id"
        );
    }

    #[test]
    fn sctp_capabilities_need_streams() {
        let caps = |os, mis| SctpCapabilities {
            num_streams: NumSctpStreams { os, mis },
        };
        assert_eq!(validate_sctp_caps(&caps(1024, 1024)), Ok(()));
        assert_eq!(validate_sctp_caps(&caps(65535, 1)), Ok(()));
        assert_eq!(
            invalid_field(validate_sctp_caps(&caps(0, 1024))),
            "numStreams.OS"
        );
        assert_eq!(
            invalid_field(validate_sctp_caps(&caps(1024, 0))),
            "numStreams.MIS"
        );
    }

    fn stream(
        ordered: Option<bool>,
        life: Option<u16>,
        retransmits: Option<u16>,
    ) -> SctpStreamParameters {
        SctpStreamParameters {
            stream_id: 1,
            ordered,
            max_packet_life_time: life,
            max_retransmits: retransmits,
        }
    }

    #[test]
    fn sctp_stream_ordering_rules() {
        let normalised = |mut p: SctpStreamParameters| validate_stream(&mut p).map(|()| p.ordered);
        assert_eq!(normalised(stream(None, None, None)), Ok(Some(true)));
        assert_eq!(normalised(stream(Some(false), None, None)), Ok(Some(false)));
        // The demo's chat and bot data producers.
        assert_eq!(
            normalised(stream(Some(false), None, Some(1))),
            Ok(Some(false))
        );
        assert_eq!(
            normalised(stream(Some(false), Some(2000), None)),
            Ok(Some(false))
        );
        // A partial-reliability limit without `ordered` means unordered.
        assert_eq!(normalised(stream(None, Some(2000), None)), Ok(Some(false)));
        assert_eq!(normalised(stream(None, None, Some(0))), Ok(Some(false)));
        assert_eq!(
            invalid_field(validate_stream(&mut stream(None, Some(1), Some(1)))),
            "maxPacketLifeTime"
        );
        assert_eq!(
            invalid_field(validate_stream(&mut stream(Some(false), Some(1), Some(1)))),
            "maxPacketLifeTime"
        );
        assert_eq!(
            invalid_field(validate_stream(&mut stream(Some(true), Some(1), None))),
            "ordered"
        );
        assert_eq!(
            invalid_field(validate_stream(&mut stream(Some(true), None, Some(3)))),
            "ordered"
        );
        let mut reserved = stream(None, None, None);
        reserved.stream_id = 65535;
        assert_eq!(invalid_field(validate_stream(&mut reserved)), "streamId");
    }

    #[test]
    fn sctp_stream_errors_render_with_their_field() {
        let err = validate_stream(&mut stream(Some(true), Some(100), None)).unwrap_err();
        assert_eq!(
            err.prefixed("sctpStreamParameters").to_string(),
            "sctpStreamParameters.ordered: ordered delivery cannot have maxPacketLifeTime or maxRetransmits"
        );
    }
}
