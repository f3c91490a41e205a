//! A consumer: one outgoing copy of a producer's media toward one transport.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::ids::{BroadcasterId, ConsumerId, ProducerId, TransportId};
use crate::rtp_parameters::{MediaKind, RtpCapabilities, RtpParameters};

/// How a consumer's media is layered (the producer's type, or `pipe`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum ConsumerType {
    /// One stream.
    Simple,
    /// Picks one of the producer's simulcast encodings.
    Simulcast,
    /// Picks layers of the producer's SVC stream.
    Svc,
    /// Every encoding, toward another router.
    Pipe,
}

/// Spatial and temporal layers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ConsumerLayers {
    /// Spatial layer.
    pub spatial_layer: u8,
    /// Temporal layer; the highest when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub temporal_layer: Option<u8>,
}

/// A consumer's score and its producer's.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ConsumerScore {
    /// Score of the stream sent to the endpoint, 0–10.
    pub score: u8,
    /// Score of the producer stream currently forwarded, 0–10.
    pub producer_score: u8,
    /// Scores of every producer stream.
    pub producer_scores: Vec<u8>,
}

/// Creation input of a consumer (`POST /transports/{id}/consumers`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ConsumerOptions {
    /// Producer to consume.
    pub producer_id: ProducerId,
    /// What the endpoint can receive; defaults to its broadcaster's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rtp_capabilities: Option<RtpCapabilities>,
    /// Start paused (default true: resume once the endpoint is ready).
    #[serde(default = "default_true")]
    pub paused: bool,
    /// MID to use instead of the transport's next one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mid: Option<String>,
    /// Layers to prefer (simulcast and SVC).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub preferred_layers: Option<ConsumerLayers>,
    /// Negotiate RTX (default: for video only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enable_rtx: Option<bool>,
    /// Do not forward DTX (silence) packets.
    #[serde(default)]
    pub ignore_dtx: bool,
}

fn default_true() -> bool {
    true
}

/// A consumer as the API shows it.
#[derive(Clone, Debug, PartialEq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ConsumerInfo {
    /// Consumer id.
    pub id: ConsumerId,
    /// Producer it copies.
    pub producer_id: ProducerId,
    /// Owner.
    pub broadcaster_id: BroadcasterId,
    /// Transport it leaves on.
    pub transport_id: TransportId,
    /// Media kind.
    pub kind: MediaKind,
    /// Layering.
    #[serde(rename = "type")]
    pub r#type: ConsumerType,
    /// What the endpoint receives.
    pub rtp_parameters: RtpParameters,
    /// Paused by its owner.
    pub paused: bool,
    /// Its producer is paused.
    pub producer_paused: bool,
    /// Share of the available bitrate (1 or more).
    pub priority: u8,
    /// Score.
    pub score: ConsumerScore,
    /// Layers asked for.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub preferred_layers: Option<ConsumerLayers>,
    /// Layers being sent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub current_layers: Option<ConsumerLayers>,
}

/// Counters of a consumer (`GET /consumers/{id}/stats`).
#[derive(Clone, Debug, Default, PartialEq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ConsumerStats {
    /// `outbound-rtp`.
    #[serde(rename = "type")]
    pub r#type: String,
    /// SSRC of the stream.
    pub ssrc: u32,
    /// Media kind.
    pub kind: String,
    /// MIME type of the stream's codec.
    pub mime_type: String,
    /// Packets sent.
    pub packet_count: u64,
    /// Payload bytes sent.
    pub byte_count: u64,
    /// Bits per second over the last second.
    pub bitrate: u64,
    /// Packets the endpoint reported lost.
    pub packets_lost: u64,
    /// Fraction lost in the endpoint's last report, in 1/256.
    pub fraction_lost: u8,
    /// Jitter the endpoint reported, in RTP timestamp units.
    pub jitter: u32,
    /// Round-trip time in milliseconds, once the endpoint echoed a sender report.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub round_trip_time: Option<f64>,
    /// Retransmissions sent.
    pub packets_retransmitted: u64,
    /// NACKs received.
    pub nack_count: u64,
    /// PLIs received.
    pub pli_count: u64,
    /// FIRs received.
    pub fir_count: u64,
    /// Score, 0–10.
    pub score: u8,
}

#[derive(Debug)]
pub(crate) struct Consumer {
    pub(crate) id: ConsumerId,
    pub(crate) owner: BroadcasterId,
    pub(crate) transport: TransportId,
    pub(crate) producer: ProducerId,
    pub(crate) kind: MediaKind,
    pub(crate) r#type: ConsumerType,
    pub(crate) rtp_parameters: RtpParameters,
    pub(crate) paused: bool,
    pub(crate) producer_paused: bool,
    pub(crate) priority: u8,
    pub(crate) preferred_layers: Option<ConsumerLayers>,
    pub(crate) max_layers: ConsumerLayers,
    pub(crate) producer_streams: usize,
    pub(crate) media: super::media::ConsumerMedia,
}

impl Consumer {
    pub(crate) fn info(&self) -> ConsumerInfo {
        ConsumerInfo {
            id: self.id,
            producer_id: self.producer,
            broadcaster_id: self.owner.clone(),
            transport_id: self.transport,
            kind: self.kind,
            r#type: self.r#type,
            rtp_parameters: self.rtp_parameters.clone(),
            paused: self.paused,
            producer_paused: self.producer_paused,
            priority: self.priority,
            score: ConsumerScore {
                score: self.media.stream.score(),
                producer_score: 0,
                producer_scores: vec![0; self.producer_streams],
            },
            preferred_layers: self.preferred_layers,
            current_layers: None,
        }
    }

    pub(crate) fn stats(&mut self, now: Option<std::time::Instant>) -> ConsumerStats {
        let s = self.media.stream.stats(now);
        ConsumerStats {
            r#type: "outbound-rtp".to_owned(),
            ssrc: s.ssrc,
            kind: self.kind.as_str().to_owned(),
            mime_type: self
                .rtp_parameters
                .codecs
                .first()
                .map(|c| c.mime_type.clone())
                .unwrap_or_default(),
            packet_count: s.packet_count,
            byte_count: s.byte_count,
            bitrate: s.bitrate,
            packets_lost: s.packets_lost,
            fraction_lost: s.fraction_lost,
            jitter: s.jitter,
            round_trip_time: s.round_trip_time,
            packets_retransmitted: s.packets_retransmitted,
            nack_count: s.nack_count,
            pli_count: s.pli_count,
            fir_count: s.fir_count,
            score: s.score,
        }
    }

    /// Clamps preferred layers to what the producer offers; a missing temporal layer means the highest.
    pub(crate) fn clamp_layers(&self, wanted: ConsumerLayers) -> ConsumerLayers {
        ConsumerLayers {
            spatial_layer: wanted.spatial_layer.min(self.max_layers.spatial_layer),
            temporal_layer: Some(
                wanted
                    .temporal_layer
                    .unwrap_or(u8::MAX)
                    .min(self.max_layers.temporal_layer.unwrap_or(0)),
            ),
        }
    }
}
