//! A consumer: one outgoing copy of a producer's media toward one transport.

use super::media;
use super::producer::ProducerType;
use super::transport::TransportKind;
use super::{
    CloseReason, ConsumeError, ConsumerSdpError, NotFound, ProducerStats, Router, RouterEvent,
};
use crate::ortc::{self, OrtcError};
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

// ---- the router's operations on these objects ----

impl Router {
    /// Creates a consumer of a producer on a transport.
    pub fn consume(
        &mut self,
        transport_id: TransportId,
        id: ConsumerId,
        options: ConsumerOptions,
    ) -> Result<ConsumerInfo, ConsumeError> {
        let transport = self
            .transports
            .get(&transport_id)
            .ok_or(NotFound::Transport(transport_id))?;
        let producer = self
            .producers
            .get(&options.producer_id)
            .ok_or(NotFound::Producer(options.producer_id))?;
        let mut caps = match options.rtp_capabilities {
            Some(caps) => caps,
            None => self
                .broadcasters
                .get(&transport.owner)
                .and_then(|b| b.options.rtp_capabilities.clone())
                .ok_or_else(|| ConsumeError::NoRtpCapabilities(transport.owner.clone()))?,
        };
        ortc::validate_rtp_capabilities(&mut caps).map_err(|e| e.prefixed("rtpCapabilities"))?;
        if !ortc::can_consume(&producer.consumable, &caps) {
            return Err(OrtcError::Unsupported {
                field: "rtpCapabilities".to_owned(),
                message: format!(
                    "cannot consume producer {}: no compatible media codecs",
                    producer.id
                ),
            }
            .into());
        }
        if let Some(mid) = &options.mid
            && transport.producer_mids.contains(mid)
        {
            return Err(ConsumeError::DuplicateMid(mid.clone()));
        }
        let enable_rtx = options
            .enable_rtx
            .unwrap_or(producer.kind == MediaKind::Video);
        let ssrc = self.rng.ssrc();
        let initial_seq = self.rng.next_u64() as u16;
        let mut rtp_parameters =
            ortc::get_consumer_rtp_parameters(&producer.consumable, &caps, enable_rtx, ssrc)
                .map_err(|e| e.prefixed("rtpCapabilities"))?;

        let scalability = ortc::parse_scalability_mode(
            rtp_parameters
                .encodings
                .first()
                .and_then(|e| e.scalability_mode.as_deref()),
        );
        let max_layers = ConsumerLayers {
            spatial_layer: scalability.spatial_layers.saturating_sub(1),
            temporal_layer: Some(scalability.temporal_layers.saturating_sub(1)),
        };
        let r#type = match producer.r#type {
            ProducerType::Simple => ConsumerType::Simple,
            ProducerType::Simulcast => ConsumerType::Simulcast,
            ProducerType::Svc => ConsumerType::Svc,
        };
        let (producer_paused, kind, producer_streams) = (
            producer.paused,
            producer.kind,
            producer.rtp_parameters.encodings.len(),
        );
        let transport = self
            .transports
            .get_mut(&transport_id)
            .ok_or(NotFound::Transport(transport_id))?;
        rtp_parameters.mid = Some(match options.mid {
            Some(mid) => mid,
            None => transport.next_consumer_mid(),
        });
        transport.consumers.insert(id);
        let media = media::ConsumerMedia::new(&rtp_parameters, kind, initial_seq);
        for ssrc in media.ssrcs() {
            transport.consumer_ssrcs.insert(ssrc, id);
        }
        let mut consumer = Consumer {
            id,
            owner: transport.owner.clone(),
            transport: transport_id,
            producer: options.producer_id,
            kind,
            r#type,
            rtp_parameters,
            paused: options.paused,
            producer_paused,
            priority: 1,
            preferred_layers: None,
            max_layers,
            producer_streams,
            media,
        };
        if r#type != ConsumerType::Simple {
            let wanted = options.preferred_layers.unwrap_or(max_layers);
            consumer.preferred_layers = Some(consumer.clamp_layers(wanted));
        }
        let info = consumer.info();
        if let Some(producer) = self.producers.get_mut(&options.producer_id) {
            producer.consumers.insert(id);
        }
        if !consumer.paused && !consumer.producer_paused {
            self.pending_keyframe_requests.push(options.producer_id);
        }
        self.consumers.insert(id, consumer);
        Ok(info)
    }

    /// A consumer as the API shows it.
    pub fn consumer(&self, id: ConsumerId) -> Result<ConsumerInfo, NotFound> {
        self.consumers
            .get(&id)
            .map(Consumer::info)
            .ok_or(NotFound::Consumer(id))
    }

    /// An SDP a plain RTP receiver (FFmpeg, ffplay, GStreamer) opens to receive a consumer's stream on the
    /// address its plain transport was connected to.
    pub fn consumer_sdp(&self, id: ConsumerId) -> Result<String, ConsumerSdpError> {
        let consumer = self.consumers.get(&id).ok_or(NotFound::Consumer(id))?;
        let transport = self
            .transports
            .get(&consumer.transport)
            .ok_or(NotFound::Consumer(id))?;
        let TransportKind::Plain(plain) = &transport.kind else {
            return Err(ConsumerSdpError::NotPlain(id));
        };
        let remote = plain.remote_rtp.ok_or(ConsumerSdpError::NotConnected(id))?;
        let rtcp_port = if plain.setup.rtcp_mux {
            None
        } else {
            Some(
                plain
                    .remote_rtcp
                    .map_or(remote.port().wrapping_add(1), |a| a.port()),
            )
        };
        Ok(crate::sdp::receiver_sdp(
            consumer.kind,
            &consumer.rtp_parameters,
            &crate::sdp::ReceiverEndpoint {
                ip: remote.ip(),
                port: remote.port(),
                rtcp_port,
                srtp: plain.setup.srtp_parameters.as_ref(),
            },
        ))
    }

    /// A consumer's counters followed by its producer's (mediasoup's shape).
    pub fn consumer_stats(&mut self, id: ConsumerId) -> Result<ConsumerStatsReport, NotFound> {
        let now = self.last_now;
        let consumer = self.consumers.get_mut(&id).ok_or(NotFound::Consumer(id))?;
        let stats = consumer.stats(now);
        let producer = self
            .producers
            .get_mut(&consumer.producer)
            .map(|p| p.stats(now))
            .unwrap_or_default();
        Ok(ConsumerStatsReport {
            consumer: stats,
            producer,
        })
    }

    /// Pauses or resumes a consumer (its owner's own action: no event).
    pub fn set_consumer_paused(
        &mut self,
        id: ConsumerId,
        paused: bool,
    ) -> Result<ConsumerInfo, NotFound> {
        let consumer = self.consumers.get_mut(&id).ok_or(NotFound::Consumer(id))?;
        if consumer.paused != paused {
            consumer.paused = paused;
            // Whatever is sent next starts at a keyframe, with no sequence gap.
            consumer.media.stream.unsync();
            if !paused && !consumer.producer_paused {
                self.pending_keyframe_requests.push(consumer.producer);
            }
        }
        Ok(consumer.info())
    }

    /// Sets the layers a consumer prefers, clamped to what its producer offers.
    pub fn set_consumer_preferred_layers(
        &mut self,
        id: ConsumerId,
        layers: ConsumerLayers,
    ) -> Result<ConsumerInfo, NotFound> {
        let consumer = self.consumers.get_mut(&id).ok_or(NotFound::Consumer(id))?;
        if consumer.r#type != ConsumerType::Simple {
            consumer.preferred_layers = Some(consumer.clamp_layers(layers));
        }
        Ok(consumer.info())
    }

    /// Sets a consumer's priority (1 or more).
    pub fn set_consumer_priority(
        &mut self,
        id: ConsumerId,
        priority: u8,
    ) -> Result<ConsumerInfo, NotFound> {
        let consumer = self.consumers.get_mut(&id).ok_or(NotFound::Consumer(id))?;
        consumer.priority = priority.max(1);
        Ok(consumer.info())
    }

    /// Asks the consumer's producer for a keyframe (sent at the next timeout).
    pub fn request_consumer_key_frame(&mut self, id: ConsumerId) -> Result<(), NotFound> {
        let consumer = self.consumers.get(&id).ok_or(NotFound::Consumer(id))?;
        self.pending_keyframe_requests.push(consumer.producer);
        Ok(())
    }

    /// Closes a consumer.
    pub fn close_consumer(&mut self, id: ConsumerId) -> Result<(), NotFound> {
        if !self.consumers.contains_key(&id) {
            return Err(NotFound::Consumer(id));
        }
        self.close_consumer_inner(id, CloseReason::Request);
        Ok(())
    }

    pub(super) fn close_consumer_inner(&mut self, id: ConsumerId, reason: CloseReason) {
        let Some(consumer) = self.consumers.remove(&id) else {
            return;
        };
        if let Some(transport) = self.transports.get_mut(&consumer.transport) {
            transport.consumers.remove(&id);
            transport.consumer_ssrcs.retain(|_, c| *c != id);
        }
        if let Some(producer) = self.producers.get_mut(&consumer.producer) {
            producer.consumers.remove(&id);
        }
        self.events.push_back(RouterEvent::ConsumerClosed {
            broadcaster_id: consumer.owner,
            consumer_id: id,
            producer_id: consumer.producer,
            transport_id: consumer.transport,
            reason,
        });
    }
}

/// A consumer's counters and its producer's (`GET /consumers/{id}/stats`).
#[derive(Clone, Debug, PartialEq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ConsumerStatsReport {
    /// The consumer's outbound stream.
    pub consumer: ConsumerStats,
    /// The producer's inbound streams.
    pub producer: Vec<ProducerStats>,
}
