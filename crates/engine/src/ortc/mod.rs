//! ORTC rules: mediasoup's capability and parameter logic (its `ortc.ts`), as pure functions.
//!
//! Owns: the supported capability table, validation and normalisation of capabilities and parameters,
//! router capability generation, producer RTP mapping, consumable parameters, `canConsume` and consumer
//! parameters. Must not: hold state, draw random numbers or read the clock (callers pass SSRCs in).
//!
//! Errors carry the offending field as a path relative to the value that was passed in
//! (`codecs[1].parameters.apt`); callers prefix it with the name of that value.
//!
//! The order of calls follows mediasoup:
//! - router creation: [`generate_router_rtp_capabilities`] (defaults: [`default_media_codecs`]);
//! - produce: [`validate_rtp_parameters`], [`get_producer_rtp_parameters_mapping`], then
//!   [`negotiate_producer_codec_parameters`] (the H.264 profile-level-id answer mediasoup writes into the
//!   producer's parameters while mapping), then [`get_consumable_rtp_parameters`];
//! - consume: [`validate_rtp_capabilities`], [`can_consume`], [`get_consumer_rtp_parameters`] (or
//!   [`get_pipe_consumer_rtp_parameters`] between routers);
//! - data: [`validate_sctp_capabilities`], [`validate_sctp_stream_parameters`].
//!
//! Submodules: `supported` (the table), `validate`, `matching` (strict/loose codec matching), `h264`
//! (RFC 6184 profile-level-id), `router_caps`, `mapping`, `consumer`, `scalability`.

mod consumer;
mod h264;
mod mapping;
mod matching;
mod router_caps;
mod scalability;
mod supported;
mod validate;

pub use consumer::EndpointNumbering;
pub(crate) use matching::{Matched, is_rtx, match_codecs};

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::rtp_parameters::{MediaKind, RtpCapabilities, RtpCodecCapability, RtpParameters};
use crate::sctp_parameters::{SctpCapabilities, SctpStreamParameters};

/// Why a capability or parameter set was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OrtcError {
    /// The value breaks a validation rule (mediasoup's `TypeError`).
    #[error("{field}: {message}")]
    Invalid {
        /// Path of the offending field.
        field: String,
        /// What is wrong with it.
        message: String,
    },
    /// The value is well formed but cannot be served (mediasoup's `UnsupportedError`).
    #[error("{field}: {message}")]
    Unsupported {
        /// Path of the offending field.
        field: String,
        /// What cannot be served.
        message: String,
    },
}

impl OrtcError {
    /// The same error with `prefix.` put before its field path.
    pub fn prefixed(self, prefix: &str) -> Self {
        let join = |field: String| {
            if field.is_empty() {
                prefix.to_owned()
            } else if field.starts_with('[') {
                format!("{prefix}{field}")
            } else {
                format!("{prefix}.{field}")
            }
        };
        match self {
            OrtcError::Invalid { field, message } => OrtcError::Invalid {
                field: join(field),
                message,
            },
            OrtcError::Unsupported { field, message } => OrtcError::Unsupported {
                field: join(field),
                message,
            },
        }
    }

    /// Path of the offending field.
    pub fn field(&self) -> &str {
        match self {
            OrtcError::Invalid { field, .. } | OrtcError::Unsupported { field, .. } => field,
        }
    }
}

pub(crate) fn invalid(field: impl Into<String>, message: impl Into<String>) -> OrtcError {
    OrtcError::Invalid {
        field: field.into(),
        message: message.into(),
    }
}

pub(crate) fn unsupported(field: impl Into<String>, message: impl Into<String>) -> OrtcError {
    OrtcError::Unsupported {
        field: field.into(),
        message: message.into(),
    }
}

/// How a producer's payload types and SSRCs map onto the router's.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RtpMapping {
    /// Payload type pairs.
    pub codecs: Vec<RtpMappingCodec>,
    /// One entry per producer encoding.
    pub encodings: Vec<RtpMappingEncoding>,
}

/// A producer payload type and the router payload type it becomes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RtpMappingCodec {
    /// Payload type the producer sends.
    pub payload_type: u8,
    /// Router payload type.
    pub mapped_payload_type: u8,
}

/// A producer encoding and the SSRC it has inside the router.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RtpMappingEncoding {
    /// SSRC the producer sends, if signalled.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ssrc: Option<u32>,
    /// RID the producer sends, if signalled.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rid: Option<String>,
    /// Scalability mode of the encoding.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scalability_mode: Option<String>,
    /// SSRC inside the router.
    pub mapped_ssrc: u32,
}

/// Spatial and temporal layers of a scalability mode (`L3T3_KEY` → 3, 3, ksvc).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ScalabilityMode {
    /// Spatial layers (1 when absent or unparsable).
    pub spatial_layers: u8,
    /// Temporal layers (1 when absent or unparsable).
    pub temporal_layers: u8,
    /// K-SVC (`_KEY` suffix).
    pub ksvc: bool,
}

/// Every codec and header extension mediagate can route (mediasoup's supported table).
pub fn supported_rtp_capabilities() -> RtpCapabilities {
    supported::supported_rtp_capabilities()
}

/// The mediasoup-demo router's media codecs: the default codecs of a room.
pub fn default_media_codecs() -> Vec<RtpCodecCapability> {
    supported::default_media_codecs()
}

/// Validates and normalises remote (device) RTP capabilities in place.
pub fn validate_rtp_capabilities(caps: &mut RtpCapabilities) -> Result<(), OrtcError> {
    validate::validate_rtp_capabilities(caps)
}

/// Validates and normalises RTP parameters in place.
pub fn validate_rtp_parameters(params: &mut RtpParameters) -> Result<(), OrtcError> {
    validate::validate_rtp_parameters(params)
}

/// Validates SCTP capabilities.
pub fn validate_sctp_capabilities(caps: &SctpCapabilities) -> Result<(), OrtcError> {
    validate::validate_sctp_capabilities(caps)
}

/// Validates and normalises SCTP stream parameters in place.
pub fn validate_sctp_stream_parameters(params: &mut SctpStreamParameters) -> Result<(), OrtcError> {
    validate::validate_sctp_stream_parameters(params)
}

/// Router capabilities for the given media codecs: PTs assigned, RTX after each video codec.
pub fn generate_router_rtp_capabilities(
    media_codecs: &[RtpCodecCapability],
) -> Result<RtpCapabilities, OrtcError> {
    router_caps::generate_router_rtp_capabilities(media_codecs)
}

/// Maps a producer's (validated) parameters onto the router's capabilities.
pub fn get_producer_rtp_parameters_mapping(
    params: &RtpParameters,
    caps: &RtpCapabilities,
    mapped_ssrc_base: u32,
) -> Result<RtpMapping, OrtcError> {
    mapping::get_producer_rtp_parameters_mapping(params, caps, mapped_ssrc_base)
}

/// Writes into a producer's parameters what matching them against the router's capabilities negotiated:
/// each H.264 / H.264-SVC codec gets the `profile-level-id` of the answer (RFC 6184 §8.2.2: the producer's
/// level when both sides allow level asymmetry, else the lower level; removed when neither side names one).
///
/// mediasoup does this as a side effect of its mapping; call it after a successful
/// [`get_producer_rtp_parameters_mapping`] and before [`get_consumable_rtp_parameters`]. Codecs that match
/// no router codec are left alone.
pub fn negotiate_producer_codec_parameters(params: &mut RtpParameters, caps: &RtpCapabilities) {
    mapping::negotiate_producer_codec_parameters(params, caps);
}

/// The parameters under which a producer's media can be consumed inside the router.
pub fn get_consumable_rtp_parameters(
    kind: MediaKind,
    params: &RtpParameters,
    caps: &RtpCapabilities,
    mapping: &RtpMapping,
) -> RtpParameters {
    mapping::get_consumable_rtp_parameters(kind, params, caps, mapping)
}

/// Whether an endpoint with `caps` can consume media with `consumable` parameters. Never fails.
pub fn can_consume(consumable: &RtpParameters, caps: &RtpCapabilities) -> bool {
    consumer::can_consume(consumable, caps)
}

/// The parameters of a (non-pipe) consumer: one encoding with `ssrc` (and `ssrc + 1` for RTX).
pub fn get_consumer_rtp_parameters(
    consumable: &RtpParameters,
    remote_caps: &RtpCapabilities,
    enable_rtx: bool,
    ssrc: u32,
) -> Result<RtpParameters, OrtcError> {
    consumer::get_consumer_rtp_parameters(consumable, remote_caps, enable_rtx, ssrc)
}

/// Capabilities an endpoint stated in its own payload types and extension ids (an SDP offer), renumbered
/// into the router's so [`get_consumer_rtp_parameters`] can match them, and the numbering that maps the
/// resulting consumer parameters back ([`EndpointNumbering::apply`]).
pub fn renumber_endpoint_capabilities(
    consumable: &RtpParameters,
    endpoint_caps: &RtpCapabilities,
) -> Result<(RtpCapabilities, EndpointNumbering), OrtcError> {
    consumer::renumber_endpoint_capabilities(consumable, endpoint_caps)
}

/// The parameters of a pipe consumer: every encoding, SSRCs from `ssrc_base` (RTX from `rtx_ssrc_base`).
pub fn get_pipe_consumer_rtp_parameters(
    consumable: &RtpParameters,
    enable_rtx: bool,
    ssrc_base: u32,
    rtx_ssrc_base: u32,
) -> RtpParameters {
    consumer::get_pipe_consumer_rtp_parameters(consumable, enable_rtx, ssrc_base, rtx_ssrc_base)
}

/// Parses a scalability mode such as `L1T3` or `L3T3_KEY`; `None` or garbage gives 1×1.
pub fn parse_scalability_mode(mode: Option<&str>) -> ScalabilityMode {
    scalability::parse_scalability_mode(mode)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rtp_parameters::{RtpCodecParameters, RtpEncodingParameters};

    fn codec(mime: &str, pt: u8, params: &[(&str, i64)]) -> RtpCodecParameters {
        RtpCodecParameters {
            mime_type: mime.to_owned(),
            payload_type: pt,
            clock_rate: 90000,
            channels: None,
            parameters: params
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).into()))
                .collect(),
            rtcp_feedback: vec![],
        }
    }

    #[test]
    fn prefixed_paths() {
        let e = OrtcError::Invalid {
            field: "codecs[1].parameters.apt".into(),
            message: "m".into(),
        };
        assert_eq!(
            e.prefixed("rtpParameters").field(),
            "rtpParameters.codecs[1].parameters.apt"
        );
        let e = OrtcError::Unsupported {
            field: "[2]".into(),
            message: "m".into(),
        };
        assert_eq!(e.prefixed("mediaCodecs").field(), "mediaCodecs[2]");
        let e = OrtcError::Unsupported {
            field: String::new(),
            message: "no compatible media codecs".into(),
        };
        assert_eq!(
            e.prefixed("rtpCapabilities").to_string(),
            "rtpCapabilities: no compatible media codecs"
        );
    }

    /// Unvalidated and inconsistent inputs give errors or empty results, never panics.
    #[test]
    fn odd_inputs_do_not_panic() {
        let router = generate_router_rtp_capabilities(&default_media_codecs()).unwrap();
        let odd = RtpParameters {
            codecs: vec![
                codec("video/VP8", 255, &[]),
                codec("video/rtx", 254, &[("apt", 255)]),
                codec("video/rtx", 253, &[("apt", -1)]),
                codec("nonsense", 0, &[]),
            ],
            encodings: vec![RtpEncodingParameters::default(); 3],
            ..Default::default()
        };
        assert!(get_producer_rtp_parameters_mapping(&odd, &router, u32::MAX).is_err());
        let mut negotiated = odd.clone();
        negotiate_producer_codec_parameters(&mut negotiated, &router);
        let mapping = RtpMapping {
            codecs: vec![RtpMappingCodec {
                payload_type: 255,
                mapped_payload_type: 200,
            }],
            encodings: vec![],
        };
        let consumable = get_consumable_rtp_parameters(MediaKind::Video, &odd, &router, &mapping);
        assert!(consumable.codecs.is_empty());
        assert!(!can_consume(&consumable, &router));
        assert!(!can_consume(&odd, &RtpCapabilities::default()));
        // The router's own capabilities are a valid remote: VP8 and its RTX survive, the orphan RTX does not.
        let consumer = get_consumer_rtp_parameters(&odd, &router, true, u32::MAX).unwrap();
        let pts: Vec<_> = consumer.codecs.iter().map(|c| c.payload_type).collect();
        assert_eq!(pts, vec![255, 254]);
        assert_eq!(consumer.encodings[0].rtx.map(|r| r.ssrc), Some(0));
        let pipe = get_pipe_consumer_rtp_parameters(&odd, true, u32::MAX, u32::MAX);
        assert_eq!(pipe.encodings.len(), 3);
        assert_eq!(pipe.encodings[2].ssrc, Some(1));
        let mut empty = RtpCapabilities::default();
        assert_eq!(validate_rtp_capabilities(&mut empty), Ok(()));
    }
}
