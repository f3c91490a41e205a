//! A producer: one incoming media source, its RTP mapping into the router and its consumable parameters.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::ids::{BroadcasterId, ConsumerId, ProducerId, TransportId};
use crate::ortc::{self, RtpMapping};
use crate::rtp_parameters::{MediaKind, RtpParameters};

/// How a producer's media is layered.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum ProducerType {
    /// One stream.
    Simple,
    /// Several encodings (one per spatial layer).
    Simulcast,
    /// One encoding with several spatial layers.
    Svc,
}

impl ProducerType {
    /// The type a producer with these (validated) parameters has.
    pub fn of(params: &RtpParameters) -> Self {
        if params.encodings.len() > 1 {
            return ProducerType::Simulcast;
        }
        let mode = params
            .encodings
            .first()
            .and_then(|e| e.scalability_mode.as_deref());
        if ortc::parse_scalability_mode(mode).spatial_layers > 1 {
            ProducerType::Svc
        } else {
            ProducerType::Simple
        }
    }
}

/// Creation input of a producer (`POST /transports/{id}/producers`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ProducerOptions {
    /// Media kind.
    pub kind: MediaKind,
    /// What the endpoint sends.
    pub rtp_parameters: RtpParameters,
    /// Start paused.
    #[serde(default)]
    pub paused: bool,
    /// Milliseconds during which keyframe requests toward the endpoint are coalesced.
    #[serde(default)]
    pub key_frame_request_delay: u32,
}

/// Score of one producer stream (0–10).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ProducerScore {
    /// Index of the encoding.
    pub encoding_idx: u32,
    /// SSRC of the stream.
    pub ssrc: u32,
    /// RID of the stream.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rid: Option<String>,
    /// Score, 0 (worst) to 10 (best).
    pub score: u8,
}

/// A producer as the API shows it.
#[derive(Clone, Debug, PartialEq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ProducerInfo {
    /// Producer id.
    pub id: ProducerId,
    /// Owner.
    pub broadcaster_id: BroadcasterId,
    /// Transport it arrives on.
    pub transport_id: TransportId,
    /// Media kind.
    pub kind: MediaKind,
    /// Layering.
    #[serde(rename = "type")]
    pub r#type: ProducerType,
    /// What the endpoint sends (normalised).
    pub rtp_parameters: RtpParameters,
    /// How it maps into the router.
    pub rtp_mapping: RtpMapping,
    /// Parameters consumers are derived from.
    pub consumable_rtp_parameters: RtpParameters,
    /// Whether it is paused.
    pub paused: bool,
    /// Stream scores (empty until media arrives).
    pub score: Vec<ProducerScore>,
}

/// Counters of a producer (`GET /producers/{id}/stats`).
#[derive(Clone, Debug, Default, PartialEq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ProducerStats {
    /// Always `inbound-rtp`.
    #[serde(rename = "type")]
    pub r#type: String,
    /// SSRC of the stream as the endpoint sends it.
    pub ssrc: u32,
    /// RID of the stream, when signalled.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rid: Option<String>,
    /// Media kind.
    pub kind: String,
    /// MIME type of the stream's codec.
    pub mime_type: String,
    /// Packets received.
    pub packet_count: u64,
    /// Bytes received.
    pub byte_count: u64,
    /// Packets lost (RFC 3550 cumulative count).
    pub packets_lost: u64,
    /// Interarrival jitter, in RTP timestamp units.
    pub jitter: u32,
    /// Bits per second over the last second.
    pub bitrate: u64,
    /// Score, 0–10.
    pub score: u8,
    /// Keyframes received.
    pub key_frames: u64,
    /// PLIs sent to the endpoint.
    pub pli_count: u64,
    /// FIRs sent to the endpoint.
    pub fir_count: u64,
}

#[derive(Debug)]
pub(crate) struct Producer {
    pub(crate) id: ProducerId,
    pub(crate) owner: BroadcasterId,
    pub(crate) transport: TransportId,
    pub(crate) kind: MediaKind,
    pub(crate) r#type: ProducerType,
    pub(crate) rtp_parameters: RtpParameters,
    pub(crate) rtp_mapping: RtpMapping,
    pub(crate) consumable: RtpParameters,
    pub(crate) paused: bool,
    pub(crate) consumers: BTreeSet<ConsumerId>,
    pub(crate) media: super::media::ProducerMedia,
}

impl Producer {
    pub(crate) fn info(&self) -> ProducerInfo {
        ProducerInfo {
            id: self.id,
            broadcaster_id: self.owner.clone(),
            transport_id: self.transport,
            kind: self.kind,
            r#type: self.r#type,
            rtp_parameters: self.rtp_parameters.clone(),
            rtp_mapping: self.rtp_mapping.clone(),
            consumable_rtp_parameters: self.consumable.clone(),
            paused: self.paused,
            score: self.scores(),
        }
    }

    /// Scores of the streams that have received media.
    pub(crate) fn scores(&self) -> Vec<ProducerScore> {
        self.media
            .streams
            .iter()
            .enumerate()
            .filter_map(|(i, s)| {
                let s = s.as_ref()?;
                Some(ProducerScore {
                    encoding_idx: i as u32,
                    ssrc: s.ssrc(),
                    rid: self
                        .rtp_parameters
                        .encodings
                        .get(i)
                        .and_then(|e| e.rid.clone()),
                    score: s.score(),
                })
            })
            .collect()
    }

    pub(crate) fn stats(&mut self, now: Option<std::time::Instant>) -> Vec<ProducerStats> {
        let mime_type = self
            .rtp_parameters
            .codecs
            .first()
            .map(|c| c.mime_type.clone())
            .unwrap_or_default();
        let kind = self.kind.as_str();
        self.media
            .streams
            .iter_mut()
            .enumerate()
            .map(|(i, stream)| {
                let signalled = self.rtp_mapping.encodings.get(i);
                let s = stream.as_mut().map(|s| s.stats(now)).unwrap_or_default();
                ProducerStats {
                    r#type: "inbound-rtp".to_owned(),
                    ssrc: if s.ssrc != 0 {
                        s.ssrc
                    } else {
                        signalled.and_then(|e| e.ssrc).unwrap_or_default()
                    },
                    rid: signalled.and_then(|e| e.rid.clone()),
                    kind: kind.to_owned(),
                    mime_type: mime_type.clone(),
                    packet_count: s.packet_count,
                    byte_count: s.byte_count,
                    packets_lost: s.packets_lost,
                    jitter: s.jitter,
                    bitrate: s.bitrate,
                    score: s.score,
                    key_frames: s.keyframes,
                    pli_count: s.pli_count,
                    fir_count: s.fir_count,
                }
            })
            .collect()
    }
}
