//! SDP offer/answer on a WebRTC transport, for browsers without an SDK (mediagate's own layer; mediasoup
//! leaves this to mediasoup-client).
//!
//! - **Publish**: the browser offers its send sections; the answer takes each one it can as a producer on the
//!   transport (created, or kept when its mid was already produced), and closes the transport's producers
//!   whose sections are gone. The first offer also connects DTLS with the offer's fingerprints.
//! - **Subscribe**: the server offers one `sendonly` section per consumer of the transport, in creation order
//!   with stable mids; a closed consumer's section stays, rejected, so later offers keep their order. The
//!   browser's answer connects DTLS the first time; a section it rejects closes that consumer.
//!
//! Owns: each transport's negotiation state (the sections offered so far, the session version). Must not:
//! parse or render SDP itself (the [`crate::sdp`] module does) or mint ids (the caller passes them).

use super::transport::{Transport, TransportKind};
use super::{ConnectParameters, ProducerOptions, Router};
use crate::ids::{ConsumerId, ProducerId, TransportId};
use crate::rtp_parameters::MediaKind;
use crate::sdp::{self, ConsumerSection, LocalDescription, SdpError};
use crate::transport_parameters::DtlsState;

/// Why an SDP could not be applied to a transport.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum NegotiationError {
    /// Unknown transport.
    #[error(transparent)]
    NotFound(#[from] super::NotFound),
    /// SDP negotiation needs a WebRTC transport.
    #[error("transport {0} is not a webrtc transport")]
    NotWebRtc(TransportId),
    /// The description is malformed or cannot be answered.
    #[error("sdp: {0}")]
    Sdp(#[from] SdpError),
    /// An answer came without an offer of ours to answer.
    #[error("no offer of transport {0} is waiting for an answer")]
    NoOffer(TransportId),
    /// A section's parameters were refused as a producer.
    #[error("section {mid}: {error}")]
    Produce {
        /// The section.
        mid: String,
        /// Why.
        error: super::ProduceError,
    },
    /// A section's consumer was refused.
    #[error("section {mid}: {error}")]
    Consume {
        /// The section.
        mid: String,
        /// Why.
        error: super::ConsumeError,
    },
    /// No given producer can fill a section the viewer's offer receives on.
    #[error("no live producer matches a section the offer receives on")]
    NothingToPlay,
    /// Not enough producer ids were provided for the sections taken.
    #[error("too many sections")]
    TooManySections,
}

/// A producer a publish offer created or kept.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct NegotiatedProducer {
    /// Producer id.
    pub id: ProducerId,
    /// Audio or video.
    pub kind: MediaKind,
    /// The offer's section it receives.
    pub mid: String,
}

/// The result of a publish offer.
#[derive(Clone, Debug, PartialEq)]
pub struct PublishOutcome {
    /// The answer for the browser.
    pub answer: String,
    /// The producers of the offer's sections, in offer order.
    pub producers: Vec<NegotiatedProducer>,
}

/// A consumer a play offer created.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PlayedConsumer {
    /// Consumer id.
    pub id: ConsumerId,
    /// The producer it copies.
    pub producer_id: ProducerId,
    /// Audio or video.
    pub kind: MediaKind,
    /// The offer's section it fills.
    pub mid: String,
}

/// The result of a play offer.
#[derive(Clone, Debug, PartialEq)]
pub struct PlayOutcome {
    /// The answer for the viewer.
    pub answer: String,
    /// The consumers of the offer's sections, in offer order.
    pub consumers: Vec<PlayedConsumer>,
}

/// The producer a viewer's section will play, with the section's capabilities in the router's numbering and
/// the numbering that maps back.
struct PlayPick {
    producer: ProducerId,
    capabilities: crate::rtp_parameters::RtpCapabilities,
    numbering: crate::ortc::EndpointNumbering,
}

/// One section the server offered.
#[derive(Clone, Debug)]
struct OfferedSection {
    consumer: Option<ConsumerId>,
    section: ConsumerSection,
}

/// A transport's SDP negotiation state.
#[derive(Clone, Debug, Default)]
pub(crate) struct Negotiation {
    offered: Vec<OfferedSection>,
    version: u64,
    /// Mids of the last server offer, until the browser answers it.
    awaiting_answer: Option<Vec<String>>,
    /// The local ICE username fragment of the last server offer (an ICE restart changes the offer).
    offered_ufrag: Option<String>,
}

impl Transport {
    /// The transport's side of an SDP session.
    fn local_description(&self) -> Option<LocalDescription> {
        let TransportKind::WebRtc(state) = &self.kind else {
            return None;
        };
        let id = self.id.as_uuid().as_u128();
        Some(LocalDescription {
            ice_parameters: state.setup.ice_parameters.clone(),
            ice_candidates: state.setup.ice_candidates.clone(),
            dtls_fingerprints: state.setup.dtls_parameters.fingerprints.clone(),
            sctp: state.setup.sctp_parameters,
            // RFC 8866 §5.2: a number that fits in 63 bits.
            session_id: (id as u64) >> 1,
        })
    }
}

impl Router {
    /// A WebRTC transport and its side of an SDP session.
    fn webrtc_local_description(
        &self,
        transport_id: TransportId,
    ) -> Result<(&Transport, LocalDescription), NegotiationError> {
        let transport = self
            .transports
            .get(&transport_id)
            .ok_or(super::NotFound::Transport(transport_id))?;
        let local = transport
            .local_description()
            .ok_or(NegotiationError::NotWebRtc(transport_id))?;
        Ok((transport, local))
    }

    /// Answers a browser's publish offer on a WebRTC transport: its send sections become producers (ids
    /// taken from `ids` as needed).
    pub fn negotiate_publish(
        &mut self,
        transport_id: TransportId,
        offer: &str,
        ids: &mut dyn Iterator<Item = ProducerId>,
    ) -> Result<PublishOutcome, NegotiationError> {
        let (transport, local) = self.webrtc_local_description(transport_id)?;
        let offer = sdp::parse(offer)?;
        let answer = sdp::answer_publish(&offer, &self.rtp_capabilities, &local)?;
        let existing: Vec<(ProducerId, Option<String>, MediaKind)> = transport
            .producers
            .iter()
            .filter_map(|id| self.producers.get(id))
            .map(|p| (p.id, p.rtp_parameters.mid.clone(), p.kind))
            .collect();
        let mut producers = Vec::with_capacity(answer.tracks.len());
        for track in answer.tracks {
            if let Some((id, _, kind)) = existing
                .iter()
                .find(|(_, mid, _)| mid.as_deref() == Some(track.mid.as_str()))
            {
                producers.push(NegotiatedProducer {
                    id: *id,
                    kind: *kind,
                    mid: track.mid,
                });
                continue;
            }
            let id = ids.next().ok_or(NegotiationError::TooManySections)?;
            let options = ProducerOptions {
                kind: track.kind,
                rtp_parameters: track.rtp_parameters,
                paused: false,
                key_frame_request_delay: 0,
            };
            self.produce(transport_id, id, options)
                .map_err(|error| NegotiationError::Produce {
                    mid: track.mid.clone(),
                    error,
                })?;
            producers.push(NegotiatedProducer {
                id,
                kind: track.kind,
                mid: track.mid,
            });
        }
        // Sections no longer sent (stopped transceivers): their producers close.
        for (id, _, _) in existing {
            if !producers.iter().any(|p| p.id == id) {
                let _ = self.close_producer(id);
            }
        }
        self.connect_if_new(transport_id, answer.remote_dtls);
        self.note_peer_max_message_size(transport_id, &offer);
        Ok(PublishOutcome {
            answer: answer.sdp,
            producers,
        })
    }

    /// Answers a viewer's offer (WHEP) on a WebRTC transport without consumers: each section it receives on
    /// is filled by the first of `producers` of its kind not used yet that it can receive, as a consumer
    /// (running, ids taken from `ids`) numbered with the offer's own payload types and extension ids;
    /// sections left empty are rejected. Nothing is created when nothing can be filled:
    /// [`SdpError::NothingAccepted`] when the offer receives on no usable section,
    /// [`NegotiationError::NothingToPlay`] when no producer fits the sections it has.
    pub fn negotiate_play(
        &mut self,
        transport_id: TransportId,
        offer: &str,
        producers: &[ProducerId],
        ids: &mut dyn Iterator<Item = ConsumerId>,
    ) -> Result<PlayOutcome, NegotiationError> {
        let (_, local) = self.webrtc_local_description(transport_id)?;
        let offer = sdp::parse(offer)?;
        let read = sdp::read_play_offer(&offer)?;
        // Choose first, create after: a refused offer leaves nothing behind.
        let mut chosen: Vec<Option<PlayPick>> = Vec::with_capacity(read.sections.len());
        for section in &read.sections {
            let pick = section.kind.and_then(|kind| {
                producers
                    .iter()
                    .filter(|p| !chosen.iter().flatten().any(|pick| pick.producer == **p))
                    .filter_map(|p| self.producers.get(p))
                    .filter(|p| p.kind == kind)
                    .find_map(|p| {
                        let (capabilities, numbering) =
                            crate::ortc::renumber_endpoint_capabilities(
                                &p.consumable,
                                &section.capabilities,
                            )
                            .ok()?;
                        crate::ortc::can_consume(&p.consumable, &capabilities).then_some(PlayPick {
                            producer: p.id,
                            capabilities,
                            numbering,
                        })
                    })
            });
            chosen.push(pick);
        }
        if read.sections.iter().all(|s| s.kind.is_none()) {
            return Err(SdpError::NothingAccepted.into());
        }
        if chosen.iter().all(Option::is_none) {
            return Err(NegotiationError::NothingToPlay);
        }
        // Every id before the first consumer: running out half-way would leave consumers behind.
        let wanted = chosen.iter().flatten().count();
        let mut ids: Vec<ConsumerId> = ids.take(wanted).collect();
        if ids.len() < wanted {
            return Err(NegotiationError::TooManySections);
        }
        ids.reverse();
        let mut consumers = Vec::new();
        let mut filled = Vec::with_capacity(chosen.len());
        for (section, pick) in read.sections.iter().zip(chosen) {
            let Some(PlayPick {
                producer: producer_id,
                capabilities,
                numbering,
            }) = pick
            else {
                filled.push(None);
                continue;
            };
            let Some(id) = ids.pop() else {
                return Err(NegotiationError::TooManySections);
            };
            let options = super::ConsumerOptions {
                producer_id,
                rtp_capabilities: Some(capabilities),
                paused: false,
                mid: Some(section.mid.clone()),
                preferred_layers: None,
                enable_rtx: None,
                ignore_dtx: false,
            };
            let info = match self.consume(transport_id, id, options) {
                Ok(info) => info,
                Err(error) => {
                    for made in consumers.iter().map(|c: &PlayedConsumer| c.id) {
                        let _ = self.close_consumer(made);
                    }
                    return Err(NegotiationError::Consume {
                        mid: section.mid.clone(),
                        error,
                    });
                }
            };
            let owner = self
                .producers
                .get(&producer_id)
                .map_or_else(|| producer_id.to_string(), |p| p.owner.to_string());
            let Some(consumer) = self.consumers.get_mut(&id) else {
                filled.push(None);
                continue;
            };
            consumer.rtp_parameters = numbering.apply(&consumer.rtp_parameters);
            consumer.media.renumber(&numbering);
            filled.push(Some(ConsumerSection {
                mid: section.mid.clone(),
                kind: info.kind,
                rtp_parameters: consumer.rtp_parameters.clone(),
                stream_id: owner,
                track_id: producer_id.to_string(),
                active: true,
            }));
            consumers.push(PlayedConsumer {
                id,
                producer_id,
                kind: info.kind,
                mid: section.mid.clone(),
            });
        }
        let answer = sdp::answer_play(&offer, &read, &filled, &local)?;
        self.connect_if_new(transport_id, read.remote_dtls);
        Ok(PlayOutcome { answer, consumers })
    }

    /// The server's offer of every consumer of a WebRTC transport (a new version when they changed).
    pub fn negotiation_offer(
        &mut self,
        transport_id: TransportId,
    ) -> Result<String, NegotiationError> {
        let (transport, local) = self.webrtc_local_description(transport_id)?;
        let mut negotiation = transport.negotiation.clone();
        // RFC 3264 §8: any change, new ICE credentials included, is a new version.
        let ufrag = &local.ice_parameters.username_fragment;
        let mut changed =
            negotiation.version == 0 || negotiation.offered_ufrag.as_ref() != Some(ufrag);
        negotiation.offered_ufrag = Some(ufrag.clone());
        for offered in &mut negotiation.offered {
            if let Some(consumer) = offered.consumer
                && !self.consumers.contains_key(&consumer)
            {
                offered.consumer = None;
                offered.section.active = false;
                changed = true;
            }
        }
        // New consumers in creation order: their mids are "0", "1", … per transport (a set of ids has no
        // such order).
        let mut fresh: Vec<&ConsumerId> = transport.consumers.iter().collect();
        fresh.sort_by_key(|id| {
            let mid = self
                .consumers
                .get(id)
                .and_then(|c| c.rtp_parameters.mid.as_deref());
            (
                mid.and_then(|m| m.parse::<u64>().ok()),
                mid.map(str::to_owned),
            )
        });
        for consumer_id in fresh {
            if negotiation
                .offered
                .iter()
                .any(|o| o.consumer == Some(*consumer_id))
            {
                continue;
            }
            let Some(consumer) = self.consumers.get(consumer_id) else {
                continue;
            };
            let owner = self
                .producers
                .get(&consumer.producer)
                .map_or_else(|| consumer.producer.to_string(), |p| p.owner.to_string());
            let mid = consumer
                .rtp_parameters
                .mid
                .clone()
                .unwrap_or_else(|| consumer_id.to_string());
            negotiation.offered.push(OfferedSection {
                consumer: Some(*consumer_id),
                section: ConsumerSection {
                    mid,
                    kind: consumer.kind,
                    rtp_parameters: consumer.rtp_parameters.clone(),
                    stream_id: owner,
                    track_id: consumer.producer.to_string(),
                    active: true,
                },
            });
            changed = true;
        }
        if changed {
            negotiation.version += 1;
        }
        let sections: Vec<ConsumerSection> = negotiation
            .offered
            .iter()
            .map(|o| o.section.clone())
            .collect();
        let offer = sdp::offer_consumers(&sections, &local, negotiation.version);
        negotiation.awaiting_answer = Some(sdp::offered_mids(&sections, &local));
        if let Some(transport) = self.transports.get_mut(&transport_id) {
            transport.negotiation = negotiation;
        }
        Ok(offer)
    }

    /// Applies the browser's answer to the last server offer: connects DTLS the first time, closes the
    /// consumers whose sections were rejected.
    pub fn negotiation_answer(
        &mut self,
        transport_id: TransportId,
        answer: &str,
    ) -> Result<(), NegotiationError> {
        let transport = self
            .transports
            .get(&transport_id)
            .ok_or(super::NotFound::Transport(transport_id))?;
        if !matches!(transport.kind, TransportKind::WebRtc(_)) {
            return Err(NegotiationError::NotWebRtc(transport_id));
        }
        let offered = transport
            .negotiation
            .awaiting_answer
            .clone()
            .ok_or(NegotiationError::NoOffer(transport_id))?;
        let answer = sdp::parse(answer)?;
        let accepted = sdp::accept_answer(&answer, &offered)?;
        let rejected: Vec<ConsumerId> = transport
            .negotiation
            .offered
            .iter()
            .filter(|o| accepted.rejected_mids.contains(&o.section.mid))
            .filter_map(|o| o.consumer)
            .collect();
        if let Some(transport) = self.transports.get_mut(&transport_id) {
            transport.negotiation.awaiting_answer = None;
        }
        for consumer in rejected {
            let _ = self.close_consumer(consumer);
        }
        self.connect_if_new(transport_id, accepted.remote_dtls);
        self.note_peer_max_message_size(transport_id, &answer);
        Ok(())
    }

    /// Remembers the largest message the browser takes: its `a=max-message-size`, or 64 KiB when its
    /// application section leaves it out (RFC 8841 §6.1); nothing when it has no application section.
    fn note_peer_max_message_size(
        &mut self,
        transport_id: TransportId,
        remote: &sdp::SessionDescription,
    ) {
        let Some(section) = remote
            .media
            .iter()
            .find(|m| m.kind == sdp::SectionKind::Application && m.port != 0)
        else {
            return;
        };
        if let Some(link) = self
            .transports
            .get_mut(&transport_id)
            .and_then(|t| t.sctp.as_mut())
        {
            link.remote_max_message_size = match section.max_message_size {
                // 0 means "no limit" (RFC 8841 §6.1): ours bounds it anyway.
                Some(0) => link.parameters.max_message_size,
                Some(size) => size,
                None => 65_536,
            };
        }
    }

    /// Connects DTLS with the remote parameters of an SDP unless the transport already is.
    fn connect_if_new(
        &mut self,
        transport_id: TransportId,
        remote: crate::transport_parameters::DtlsParameters,
    ) {
        let connected = self
            .transports
            .get(&transport_id)
            .is_some_and(|t| match &t.kind {
                TransportKind::WebRtc(state) => {
                    state.remote_dtls.is_some() || state.dtls_state != DtlsState::New
                }
                TransportKind::Plain(_) | TransportKind::Direct(_) => true,
            });
        if !connected {
            let _ = self.connect_transport(
                transport_id,
                ConnectParameters {
                    dtls_parameters: Some(remote),
                    ..Default::default()
                },
            );
        }
    }
}
