//! ORTC rules: mediasoup's capability and parameter logic (its `ortc.ts`), as pure functions.
//!
//! Owns: the supported capability table, validation and normalisation of capabilities and parameters,
//! router capability generation, producer RTP mapping, consumable parameters, `canConsume` and consumer
//! parameters. Must not: hold state, draw random numbers or read the clock (callers pass SSRCs in).
//!
//! Errors carry the offending field as a path relative to the value that was passed in
//! (`codecs[1].parameters.apt`); callers prefix it with the name of that value.

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
    unimplemented!()
}

/// The mediasoup-demo router's media codecs: the default codecs of a room.
pub fn default_media_codecs() -> Vec<RtpCodecCapability> {
    unimplemented!()
}

/// Validates and normalises remote (device) RTP capabilities in place.
pub fn validate_rtp_capabilities(_caps: &mut RtpCapabilities) -> Result<(), OrtcError> {
    unimplemented!()
}

/// Validates and normalises RTP parameters in place.
pub fn validate_rtp_parameters(_params: &mut RtpParameters) -> Result<(), OrtcError> {
    unimplemented!()
}

/// Validates SCTP capabilities.
pub fn validate_sctp_capabilities(_caps: &SctpCapabilities) -> Result<(), OrtcError> {
    unimplemented!()
}

/// Validates and normalises SCTP stream parameters in place.
pub fn validate_sctp_stream_parameters(
    _params: &mut SctpStreamParameters,
) -> Result<(), OrtcError> {
    unimplemented!()
}

/// Router capabilities for the given media codecs: PTs assigned, RTX after each video codec.
pub fn generate_router_rtp_capabilities(
    _media_codecs: &[RtpCodecCapability],
) -> Result<RtpCapabilities, OrtcError> {
    unimplemented!()
}

/// Maps a producer's (validated) parameters onto the router's capabilities.
pub fn get_producer_rtp_parameters_mapping(
    _params: &RtpParameters,
    _caps: &RtpCapabilities,
    _mapped_ssrc_base: u32,
) -> Result<RtpMapping, OrtcError> {
    unimplemented!()
}

/// The parameters under which a producer's media can be consumed inside the router.
pub fn get_consumable_rtp_parameters(
    _kind: MediaKind,
    _params: &RtpParameters,
    _caps: &RtpCapabilities,
    _mapping: &RtpMapping,
) -> RtpParameters {
    unimplemented!()
}

/// Whether an endpoint with `caps` can consume media with `consumable` parameters. Never fails.
pub fn can_consume(_consumable: &RtpParameters, _caps: &RtpCapabilities) -> bool {
    unimplemented!()
}

/// The parameters of a (non-pipe) consumer: one encoding with `ssrc` (and `ssrc + 1` for RTX).
pub fn get_consumer_rtp_parameters(
    _consumable: &RtpParameters,
    _remote_caps: &RtpCapabilities,
    _enable_rtx: bool,
    _ssrc: u32,
) -> Result<RtpParameters, OrtcError> {
    unimplemented!()
}

/// The parameters of a pipe consumer: every encoding, SSRCs from `ssrc_base` (RTX from `rtx_ssrc_base`).
pub fn get_pipe_consumer_rtp_parameters(
    _consumable: &RtpParameters,
    _enable_rtx: bool,
    _ssrc_base: u32,
    _rtx_ssrc_base: u32,
) -> RtpParameters {
    unimplemented!()
}

/// Parses a scalability mode such as `L1T3` or `L3T3_KEY`; `None` or garbage gives 1×1.
pub fn parse_scalability_mode(_mode: Option<&str>) -> ScalabilityMode {
    unimplemented!()
}
