//! SCTP capability and parameter types in mediasoup's JSON shape.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// Number of SCTP streams (RFC 4960 §5.1: outbound streams and maximum inbound streams).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct NumSctpStreams {
    /// Outgoing streams (OS).
    #[serde(rename = "OS")]
    pub os: u16,
    /// Maximum incoming streams (MIS).
    #[serde(rename = "MIS")]
    pub mis: u16,
}

impl Default for NumSctpStreams {
    /// mediasoup's default: 1024 each way.
    fn default() -> Self {
        Self {
            os: 1024,
            mis: 1024,
        }
    }
}

/// What an endpoint's SCTP stack supports.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SctpCapabilities {
    /// Stream counts it can use.
    pub num_streams: NumSctpStreams,
}

/// The server's side of an SCTP association, returned with a transport.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SctpParameters {
    /// SCTP port (always 5000).
    pub port: u16,
    /// Outgoing streams.
    #[serde(rename = "OS")]
    pub os: u16,
    /// Maximum incoming streams.
    #[serde(rename = "MIS")]
    pub mis: u16,
    /// Largest message accepted, in bytes.
    pub max_message_size: u32,
}

/// How messages of one data producer or consumer travel on its SCTP stream.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SctpStreamParameters {
    /// SCTP stream id.
    pub stream_id: u16,
    /// In-order delivery; defaults to true unless a partial-reliability limit is given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ordered: Option<bool>,
    /// Partial reliability: give up after this many milliseconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_packet_life_time: Option<u16>,
    /// Partial reliability: give up after this many retransmissions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_retransmits: Option<u16>,
}
