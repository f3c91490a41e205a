//! RTP capability and parameter types in mediasoup's JSON shape (camelCase).
//!
//! These are the wire types of the HTTP API and the inputs of the ORTC rules ([`crate::ortc`]). Deserialising
//! them checks only the JSON shape; the ORTC validators check and normalise the meaning (mediasoup's
//! `validateRtp*` functions), so a value that deserialised is not yet a valid one.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// Media kind of a codec, header extension, producer or consumer.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum MediaKind {
    /// Audio.
    Audio,
    /// Video.
    Video,
}

impl MediaKind {
    /// The lower-case name, as in a mime type (`audio/opus`).
    pub fn as_str(self) -> &'static str {
        match self {
            MediaKind::Audio => "audio",
            MediaKind::Video => "video",
        }
    }
}

/// A codec parameter value: mediasoup accepts strings and numbers (`"packetization-mode": 1`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum ParameterValue {
    /// An integer value.
    Integer(i64),
    /// A non-integer number.
    Float(f64),
    /// A string value.
    String(String),
}

impl ParameterValue {
    /// The value as an integer, if it is one (or a string holding one).
    pub fn as_i64(&self) -> Option<i64> {
        match self {
            ParameterValue::Integer(v) => Some(*v),
            ParameterValue::Float(_) => None,
            ParameterValue::String(s) => s.trim().parse().ok(),
        }
    }

    /// The value as a string slice, if it is a string.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            ParameterValue::String(s) => Some(s),
            _ => None,
        }
    }
}

impl From<i64> for ParameterValue {
    fn from(value: i64) -> Self {
        ParameterValue::Integer(value)
    }
}

impl From<&str> for ParameterValue {
    fn from(value: &str) -> Self {
        ParameterValue::String(value.to_owned())
    }
}

/// Codec-specific parameters (SDP `a=fmtp`), by name.
pub type CodecParameters = BTreeMap<String, ParameterValue>;

/// OpenAPI schema of [`CodecParameters`]: an object whose values are numbers or strings. Written by hand
/// because a derived `oneOf` of integer, number and string would let every integer match two branches,
/// which `oneOf` forbids.
fn codec_parameters_schema() -> utoipa::openapi::schema::Object {
    use utoipa::openapi::schema::{AdditionalProperties, ObjectBuilder, OneOfBuilder, Type};
    let value = OneOfBuilder::new()
        .item(ObjectBuilder::new().schema_type(Type::Number))
        .item(ObjectBuilder::new().schema_type(Type::String));
    ObjectBuilder::new()
        .schema_type(Type::Object)
        .additional_properties(Some(AdditionalProperties::RefOr(value.into())))
        .description(Some(
            "Codec-specific parameters (SDP `a=fmtp`): numbers or strings by name, e.g. \
             `{\"packetization-mode\": 1, \"profile-level-id\": \"42e01f\"}`.",
        ))
        .build()
}

/// An RTCP feedback mechanism (`a=rtcp-fb`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RtcpFeedback {
    /// Feedback type, e.g. `nack`, `ccm`, `goog-remb`, `transport-cc`.
    #[serde(rename = "type")]
    pub r#type: String,
    /// Feedback parameter, e.g. `pli` or `fir`; empty when none.
    #[serde(default)]
    pub parameter: String,
}

impl RtcpFeedback {
    /// A feedback entry from its type and parameter.
    pub fn new(r#type: &str, parameter: &str) -> Self {
        Self {
            r#type: r#type.to_owned(),
            parameter: parameter.to_owned(),
        }
    }
}

/// A codec an endpoint can receive or send (router and device capabilities).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RtpCodecCapability {
    /// Media kind; derived from `mimeType` when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<MediaKind>,
    /// `audio/opus`, `video/VP8`, … (matched case-insensitively).
    pub mime_type: String,
    /// Payload type the endpoint prefers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub preferred_payload_type: Option<u8>,
    /// RTP clock rate in Hz.
    pub clock_rate: u32,
    /// Audio channels (defaults to 1 for audio, absent for video).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub channels: Option<u8>,
    /// Codec-specific parameters.
    #[serde(default)]
    #[schema(schema_with = codec_parameters_schema)]
    pub parameters: CodecParameters,
    /// Supported RTCP feedback.
    #[serde(default)]
    pub rtcp_feedback: Vec<RtcpFeedback>,
}

/// Direction of a header extension as seen from the router.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum RtpHeaderExtensionDirection {
    /// Both directions.
    #[default]
    Sendrecv,
    /// The router only sends it.
    Sendonly,
    /// The router only receives it.
    Recvonly,
    /// Neither.
    Inactive,
}

/// A header extension an endpoint supports.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RtpHeaderExtension {
    /// Media kind it applies to.
    pub kind: MediaKind,
    /// Extension URI.
    pub uri: String,
    /// Preferred id (1–14 for one-byte headers).
    pub preferred_id: u8,
    /// Whether it should be encrypted.
    #[serde(default)]
    pub preferred_encrypt: bool,
    /// Direction from the router's point of view.
    #[serde(default)]
    pub direction: RtpHeaderExtensionDirection,
}

/// What an endpoint can receive: codecs and header extensions.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RtpCapabilities {
    /// Supported codecs, in order of preference.
    #[serde(default)]
    pub codecs: Vec<RtpCodecCapability>,
    /// Supported header extensions.
    #[serde(default)]
    pub header_extensions: Vec<RtpHeaderExtension>,
}

/// A codec in use by a producer or consumer.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RtpCodecParameters {
    /// `audio/opus`, `video/VP8`, `video/rtx`, …
    pub mime_type: String,
    /// RTP payload type.
    pub payload_type: u8,
    /// RTP clock rate in Hz.
    pub clock_rate: u32,
    /// Audio channels (defaults to 1 for audio, absent for video).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub channels: Option<u8>,
    /// Codec-specific parameters.
    #[serde(default)]
    #[schema(schema_with = codec_parameters_schema)]
    pub parameters: CodecParameters,
    /// RTCP feedback in use.
    #[serde(default)]
    pub rtcp_feedback: Vec<RtcpFeedback>,
}

/// A header extension in use, with its negotiated id.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RtpHeaderExtensionParameters {
    /// Extension URI.
    pub uri: String,
    /// Negotiated id.
    pub id: u8,
    /// Whether it is encrypted.
    #[serde(default)]
    pub encrypt: bool,
    /// Extension-specific parameters.
    #[serde(default)]
    #[schema(schema_with = codec_parameters_schema)]
    pub parameters: CodecParameters,
}

impl RtpHeaderExtensionParameters {
    /// An unencrypted extension without parameters: `uri` under `id`.
    pub fn new(uri: &str, id: u8) -> Self {
        Self {
            uri: uri.to_owned(),
            id,
            encrypt: false,
            parameters: CodecParameters::default(),
        }
    }
}

/// The RTX stream of an encoding.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RtpEncodingRtx {
    /// SSRC of the retransmission stream.
    pub ssrc: u32,
}

/// One RTP stream (an encoding; several for simulcast).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RtpEncodingParameters {
    /// SSRC of the media stream.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ssrc: Option<u32>,
    /// RTP stream id (simulcast).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rid: Option<String>,
    /// Payload type of the codec this encoding uses.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub codec_payload_type: Option<u8>,
    /// RTX stream, when retransmissions go on their own SSRC.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rtx: Option<RtpEncodingRtx>,
    /// Discontinuous transmission (audio).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dtx: Option<bool>,
    /// Scalability mode, e.g. `L1T3` or `L3T3_KEY`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scalability_mode: Option<String>,
    /// Resolution divisor of a simulcast layer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scale_resolution_down_by: Option<f64>,
    /// Maximum bitrate in bits per second.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_bitrate: Option<u32>,
}

/// RTCP settings of a producer or consumer.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RtcpParameters {
    /// Canonical name (CNAME) in SDES.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cname: Option<String>,
    /// Reduced-size RTCP (RFC 5506); always true in mediasoup.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reduced_size: Option<bool>,
}

/// What a producer sends or a consumer receives.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RtpParameters {
    /// MID (`a=mid`) of the media section.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mid: Option<String>,
    /// Codecs: the media codec first, then RTX and others.
    pub codecs: Vec<RtpCodecParameters>,
    /// Header extensions in use.
    #[serde(default)]
    pub header_extensions: Vec<RtpHeaderExtensionParameters>,
    /// Encodings (RTP streams).
    #[serde(default)]
    pub encodings: Vec<RtpEncodingParameters>,
    /// RTCP settings.
    #[serde(default)]
    pub rtcp: RtcpParameters,
}

/// A mime type split into kind and subtype, lower-cased for matching.
pub fn mime_kind(mime_type: &str) -> Option<MediaKind> {
    let (kind, subtype) = mime_type.split_once('/')?;
    if subtype.is_empty() {
        return None;
    }
    if kind.eq_ignore_ascii_case("audio") {
        Some(MediaKind::Audio)
    } else if kind.eq_ignore_ascii_case("video") {
        Some(MediaKind::Video)
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn demo_script_producer_parameters_deserialise() {
        let json = r#"{"codecs":[{"mimeType":"audio/opus","payloadType":100,"clockRate":48000,"channels":2,
            "parameters":{"sprop-stereo":1}}],"encodings":[{"ssrc":1111}]}"#;
        let params: RtpParameters = serde_json::from_str(json).unwrap();
        assert_eq!(
            params.codecs[0].parameters["sprop-stereo"],
            ParameterValue::Integer(1)
        );
        assert_eq!(params.encodings[0].ssrc, Some(1111));
        assert!(params.header_extensions.is_empty());
    }

    #[test]
    fn parameter_values_keep_their_json_type() {
        let v: CodecParameters = serde_json::from_str(r#"{"a":1,"b":"42e01f","c":0.5}"#).unwrap();
        assert_eq!(
            serde_json::to_string(&v).unwrap(),
            r#"{"a":1,"b":"42e01f","c":0.5}"#
        );
        assert_eq!(ParameterValue::from("7").as_i64(), Some(7));
    }

    #[test]
    fn mime_kinds() {
        assert_eq!(mime_kind("VIDEO/vp8"), Some(MediaKind::Video));
        assert_eq!(mime_kind("audio/"), None);
        assert_eq!(mime_kind("text/plain"), None);
    }
}
