//! A producer: one incoming media source, its RTP mapping into the router and its consumable parameters.

use super::{CloseReason, NotFound, ProduceError, Router, RouterEvent, media};
use crate::ortc::OrtcError;
use crate::rtp_parameters::RtpEncodingParameters;
use std::collections::BTreeSet;
use std::time::Duration;

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
    /// NACK packets sent to the endpoint.
    pub nack_count: u64,
    /// Sequence numbers those NACKs asked for (retries included).
    pub nack_packet_count: u64,
    /// Retransmissions (RTX) received.
    pub packets_retransmitted: u64,
    /// Retransmissions that filled a gap being NACKed.
    pub packets_repaired: u64,
    /// Retransmissions dropped: duplicates of packets already received, or without a payload.
    pub packets_discarded: u64,
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
                    nack_count: s.nack_count,
                    nack_packet_count: s.nack_packet_count,
                    packets_retransmitted: s.packets_retransmitted,
                    packets_repaired: s.packets_repaired,
                    packets_discarded: s.packets_discarded,
                }
            })
            .collect()
    }
}

// ---- the router's operations on these objects ----

impl Router {
    /// Creates a producer on a transport from validated options.
    pub fn produce(
        &mut self,
        transport_id: TransportId,
        id: ProducerId,
        options: ProducerOptions,
    ) -> Result<ProducerInfo, ProduceError> {
        let ProducerOptions {
            kind,
            mut rtp_parameters,
            paused,
            key_frame_request_delay,
        } = options;
        let transport = self
            .transports
            .get(&transport_id)
            .ok_or(NotFound::Transport(transport_id))?;
        ortc::validate_rtp_parameters(&mut rtp_parameters)
            .map_err(|e| e.prefixed("rtpParameters"))?;
        if let Some(i) = rtp_parameters
            .codecs
            .iter()
            .position(|c| crate::rtp_parameters::mime_kind(&c.mime_type).is_some_and(|k| k != kind))
        {
            return Err(OrtcError::Invalid {
                field: format!("rtpParameters.codecs[{i}].mimeType"),
                message: format!(
                    "{} does not match kind {}",
                    rtp_parameters.codecs[i].mime_type,
                    kind.as_str()
                ),
            }
            .into());
        }
        if rtp_parameters.encodings.is_empty() {
            rtp_parameters
                .encodings
                .push(RtpEncodingParameters::default());
        }
        if let Some(mid) = &rtp_parameters.mid
            && transport.producer_mids.contains(mid)
        {
            return Err(ProduceError::DuplicateMid(mid.clone()));
        }
        if rtp_parameters.mid.is_none()
            && rtp_parameters.encodings.len() == 1
            && rtp_parameters.encodings[0].ssrc.is_none()
            && rtp_parameters.encodings[0].rid.is_none()
        {
            return Err(OrtcError::Invalid {
                field: "rtpParameters.encodings[0]".to_owned(),
                message: "needs an ssrc or a rid when rtpParameters.mid is absent".to_owned(),
            }
            .into());
        }
        let mut ssrcs = Vec::new();
        for encoding in &rtp_parameters.encodings {
            ssrcs.extend(encoding.ssrc);
            ssrcs.extend(encoding.rtx.map(|r| r.ssrc));
        }
        for (i, ssrc) in ssrcs.iter().enumerate() {
            if transport.producer_ssrcs.contains(ssrc) || ssrcs[..i].contains(ssrc) {
                return Err(ProduceError::DuplicateSsrc(*ssrc));
            }
        }
        let mapped_ssrc_base = self.rng.ssrc();
        let rtp_mapping = ortc::get_producer_rtp_parameters_mapping(
            &rtp_parameters,
            &self.rtp_capabilities,
            mapped_ssrc_base,
        )
        .map_err(|e| e.prefixed("rtpParameters"))?;
        ortc::negotiate_producer_codec_parameters(&mut rtp_parameters, &self.rtp_capabilities);

        // Every producer of a transport shares one CNAME: the first producer's, or a random one.
        let cname = match transport.cname.clone() {
            Some(cname) => cname,
            None => rtp_parameters
                .rtcp
                .cname
                .clone()
                .unwrap_or_else(|| self.rng.token(8)),
        };
        rtp_parameters.rtcp.cname = Some(cname.clone());
        let consumable = ortc::get_consumable_rtp_parameters(
            kind,
            &rtp_parameters,
            &self.rtp_capabilities,
            &rtp_mapping,
        );

        let transport = self
            .transports
            .get_mut(&transport_id)
            .ok_or(NotFound::Transport(transport_id))?;
        transport.cname = Some(cname);
        transport.producer_ssrcs.extend(ssrcs);
        if let Some(mid) = &rtp_parameters.mid {
            transport.producer_mids.insert(mid.clone());
        }
        transport.producers.insert(id);
        for (i, encoding) in rtp_parameters.encodings.iter().enumerate() {
            if let Some(ssrc) = encoding.ssrc {
                transport.rtp_ssrcs.insert(ssrc, (id, i));
            }
        }
        let media = media::ProducerMedia::new(
            &rtp_parameters,
            &rtp_mapping,
            &self.rtp_capabilities,
            kind,
            Duration::from_millis(u64::from(key_frame_request_delay)),
        );
        let producer = Producer {
            id,
            owner: transport.owner.clone(),
            transport: transport_id,
            kind,
            r#type: ProducerType::of(&rtp_parameters),
            rtp_parameters,
            rtp_mapping,
            consumable,
            paused,
            consumers: Default::default(),
            media,
        };
        let info = producer.info();
        self.events.push_back(RouterEvent::ProducerAdded {
            broadcaster_id: producer.owner.clone(),
            producer_id: id,
            kind,
            paused,
        });
        self.producers.insert(id, producer);
        self.producer_order.push(id);
        Ok(info)
    }

    /// A producer as the API shows it.
    pub fn producer(&self, id: ProducerId) -> Result<ProducerInfo, NotFound> {
        self.producers
            .get(&id)
            .map(Producer::info)
            .ok_or(NotFound::Producer(id))
    }

    /// Producers in creation order.
    pub fn producers(&self) -> Vec<ProducerInfo> {
        self.producer_order
            .iter()
            .filter_map(|id| self.producers.get(id))
            .map(Producer::info)
            .collect()
    }

    /// A producer's counters, one entry per stream.
    pub fn producer_stats(&mut self, id: ProducerId) -> Result<Vec<ProducerStats>, NotFound> {
        let now = self.last_now;
        let producer = self.producers.get_mut(&id).ok_or(NotFound::Producer(id))?;
        Ok(producer.stats(now))
    }

    /// Pauses or resumes a producer; its consumers' owners learn it.
    pub fn set_producer_paused(
        &mut self,
        id: ProducerId,
        paused: bool,
    ) -> Result<ProducerInfo, NotFound> {
        let producer = self.producers.get_mut(&id).ok_or(NotFound::Producer(id))?;
        if producer.paused != paused {
            producer.paused = paused;
            if !paused && !producer.consumers.is_empty() {
                self.pending_keyframe_requests.push(id);
            }
            let broadcaster_id = producer.owner.clone();
            self.events.push_back(if paused {
                RouterEvent::ProducerPaused {
                    broadcaster_id,
                    producer_id: id,
                }
            } else {
                RouterEvent::ProducerResumed {
                    broadcaster_id,
                    producer_id: id,
                }
            });
            for consumer_id in &producer.consumers {
                let Some(consumer) = self.consumers.get_mut(consumer_id) else {
                    continue;
                };
                consumer.producer_paused = paused;
                consumer.media.stream.unsync();
                let (broadcaster_id, consumer_id) = (consumer.owner.clone(), consumer.id);
                self.events.push_back(if paused {
                    RouterEvent::ConsumerProducerPaused {
                        broadcaster_id,
                        consumer_id,
                        producer_id: id,
                    }
                } else {
                    RouterEvent::ConsumerProducerResumed {
                        broadcaster_id,
                        consumer_id,
                        producer_id: id,
                    }
                });
            }
        }
        Ok(producer.info())
    }

    /// Closes a producer and its consumers.
    pub fn close_producer(&mut self, id: ProducerId) -> Result<(), NotFound> {
        if !self.producers.contains_key(&id) {
            return Err(NotFound::Producer(id));
        }
        self.close_producer_inner(id, CloseReason::Request);
        Ok(())
    }

    pub(super) fn close_producer_inner(&mut self, id: ProducerId, reason: CloseReason) {
        let Some(producer) = self.producers.remove(&id) else {
            return;
        };
        self.producer_order.retain(|p| *p != id);
        if let Some(transport) = self.transports.get_mut(&producer.transport) {
            transport.producers.remove(&id);
            transport.rtp_ssrcs.retain(|_, (p, _)| *p != id);
            if let Some(mid) = &producer.rtp_parameters.mid {
                transport.producer_mids.remove(mid);
            }
            for e in &producer.rtp_parameters.encodings {
                for ssrc in e.ssrc.into_iter().chain(e.rtx.map(|r| r.ssrc)) {
                    transport.producer_ssrcs.remove(&ssrc);
                }
            }
        }
        for consumer in producer.consumers {
            self.close_consumer_inner(consumer, CloseReason::ProducerClosed);
        }
        self.events.push_back(RouterEvent::ProducerClosed {
            broadcaster_id: producer.owner,
            producer_id: id,
            transport_id: producer.transport,
            reason,
        });
    }
}
