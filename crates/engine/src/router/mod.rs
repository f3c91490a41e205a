//! A room's routing table and object lifecycle: mediasoup's Router, plus the broadcasters (peers) that own
//! its transports.
//!
//! Owns: broadcasters, transports, producers, consumers, data producers and data consumers of one room; the
//! rules that tie them together (ORTC mapping, MID/SSRC/stream-id uniqueness per transport) and the close
//! cascades (broadcaster → transports → producers/consumers/data objects; producer → its consumers; data
//! producer → its data consumers). Every state change that another party must learn comes out of
//! [`Router::poll_event`], in the order it happened, with the reason.
//!
//! Must not: touch sockets, threads or the clock. Identifiers and network setups are inputs; SSRCs and
//! CNAMEs come from a generator seeded by the caller.

mod broadcaster;
mod consumer;
mod data;
mod media;
mod producer;
mod rng;
mod transport;

#[cfg(test)]
mod media_tests;
#[cfg(test)]
mod tests;

use std::collections::{BTreeMap, VecDeque};
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

pub use broadcaster::{BroadcasterInfo, BroadcasterOptions, Device, PeerInfo, PeerProducerInfo};
pub use consumer::{
    ConsumerInfo, ConsumerLayers, ConsumerOptions, ConsumerScore, ConsumerStats, ConsumerType,
};
pub use data::{
    DataConsumerInfo, DataConsumerOptions, DataProducerInfo, DataProducerOptions, DataType,
};
pub use producer::{ProducerInfo, ProducerOptions, ProducerScore, ProducerStats, ProducerType};
pub use transport::{
    ConnectParameters, PlainTransportInfo, PlainTransportOptions, PlainTransportSetup,
    TransportInfo, TransportOptions, TransportSetup, TransportStats, TransportType,
    WebRtcTransportInfo, WebRtcTransportOptions, WebRtcTransportSetup,
};

use crate::ids::{
    BroadcasterId, ConsumerId, DataConsumerId, DataProducerId, IdMap, ProducerId, RoomId,
    TransportId,
};
use crate::ortc::{self, OrtcError};
use crate::rtp_parameters::{MediaKind, RtpCapabilities, RtpEncodingParameters};
use crate::sctp_parameters::SctpStreamParameters;
use crate::transport_parameters::{DtlsParameters, DtlsRole, DtlsState, IceParameters};
use broadcaster::Broadcaster;
use consumer::Consumer;
use data::{DataConsumer, DataProducer};
use producer::Producer;
use rng::Rng;
use transport::{Transport, TransportKind, srtp_key_is_valid};

/// Why an object closed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
pub enum CloseReason {
    /// Closed by a request on the object itself.
    #[serde(rename = "closed by request")]
    Request,
    /// Its broadcaster left the room.
    #[serde(rename = "broadcaster left")]
    BroadcasterLeft,
    /// Its transport closed.
    #[serde(rename = "transport closed")]
    TransportClosed,
    /// The producer it consumed closed.
    #[serde(rename = "producer closed")]
    ProducerClosed,
    /// The data producer it consumed closed.
    #[serde(rename = "data producer closed")]
    DataProducerClosed,
    /// Its room closed.
    #[serde(rename = "room closed")]
    RoomClosed,
}

impl CloseReason {
    /// The reason as text, as it appears in events.
    pub fn as_str(self) -> &'static str {
        match self {
            CloseReason::Request => "closed by request",
            CloseReason::BroadcasterLeft => "broadcaster left",
            CloseReason::TransportClosed => "transport closed",
            CloseReason::ProducerClosed => "producer closed",
            CloseReason::DataProducerClosed => "data producer closed",
            CloseReason::RoomClosed => "room closed",
        }
    }
}

/// A state change another party must learn, drained with [`Router::poll_event`].
///
/// `broadcaster_id` is always the owner of the object the event is about.
#[derive(Clone, Debug, PartialEq)]
pub enum RouterEvent {
    /// A broadcaster joined.
    BroadcasterJoined {
        /// The broadcaster.
        broadcaster_id: BroadcasterId,
        /// Its display name.
        display_name: String,
        /// What it runs on.
        device: Device,
    },
    /// A broadcaster left.
    BroadcasterLeft {
        /// The broadcaster.
        broadcaster_id: BroadcasterId,
        /// Why.
        reason: CloseReason,
    },
    /// A transport closed.
    TransportClosed {
        /// Owner.
        broadcaster_id: BroadcasterId,
        /// The transport.
        transport_id: TransportId,
        /// Why.
        reason: CloseReason,
    },
    /// A producer was created.
    ProducerAdded {
        /// Owner.
        broadcaster_id: BroadcasterId,
        /// The producer.
        producer_id: ProducerId,
        /// Its kind.
        kind: MediaKind,
        /// Whether it starts paused.
        paused: bool,
    },
    /// A producer closed.
    ProducerClosed {
        /// Owner.
        broadcaster_id: BroadcasterId,
        /// The producer.
        producer_id: ProducerId,
        /// Its transport.
        transport_id: TransportId,
        /// Why.
        reason: CloseReason,
    },
    /// A producer was paused.
    ProducerPaused {
        /// Owner.
        broadcaster_id: BroadcasterId,
        /// The producer.
        producer_id: ProducerId,
    },
    /// A producer was resumed.
    ProducerResumed {
        /// Owner.
        broadcaster_id: BroadcasterId,
        /// The producer.
        producer_id: ProducerId,
    },
    /// A consumer closed.
    ConsumerClosed {
        /// Owner.
        broadcaster_id: BroadcasterId,
        /// The consumer.
        consumer_id: ConsumerId,
        /// The producer it consumed.
        producer_id: ProducerId,
        /// Its transport.
        transport_id: TransportId,
        /// Why.
        reason: CloseReason,
    },
    /// The producer of a consumer was paused.
    ConsumerProducerPaused {
        /// Owner of the consumer.
        broadcaster_id: BroadcasterId,
        /// The consumer.
        consumer_id: ConsumerId,
        /// Its producer.
        producer_id: ProducerId,
    },
    /// The producer of a consumer was resumed.
    ConsumerProducerResumed {
        /// Owner of the consumer.
        broadcaster_id: BroadcasterId,
        /// The consumer.
        consumer_id: ConsumerId,
        /// Its producer.
        producer_id: ProducerId,
    },
    /// A comedia transport latched its remote RTP tuple from the first valid packet.
    TransportTuple {
        /// Owner.
        broadcaster_id: BroadcasterId,
        /// The transport.
        transport_id: TransportId,
        /// The tuple, with the remote end.
        tuple: crate::transport_parameters::TransportTuple,
    },
    /// A comedia transport without RTCP multiplexing latched its remote RTCP tuple.
    TransportRtcpTuple {
        /// Owner.
        broadcaster_id: BroadcasterId,
        /// The transport.
        transport_id: TransportId,
        /// The tuple, with the remote end.
        tuple: crate::transport_parameters::TransportTuple,
    },
    /// A producer's stream scores changed.
    ProducerScore {
        /// Owner.
        broadcaster_id: BroadcasterId,
        /// The producer.
        producer_id: ProducerId,
        /// Scores of its streams.
        score: Vec<ProducerScore>,
    },
    /// A consumer's score changed.
    ConsumerScore {
        /// Owner.
        broadcaster_id: BroadcasterId,
        /// The consumer.
        consumer_id: ConsumerId,
        /// Its score and its producer's.
        score: ConsumerScore,
    },
    /// A data producer was created.
    DataProducerAdded {
        /// Owner.
        broadcaster_id: BroadcasterId,
        /// The data producer.
        data_producer_id: DataProducerId,
        /// Channel label.
        label: String,
        /// Sub-protocol.
        protocol: String,
    },
    /// A data producer closed.
    DataProducerClosed {
        /// Owner.
        broadcaster_id: BroadcasterId,
        /// The data producer.
        data_producer_id: DataProducerId,
        /// Its transport.
        transport_id: TransportId,
        /// Why.
        reason: CloseReason,
    },
    /// A data consumer closed.
    DataConsumerClosed {
        /// Owner.
        broadcaster_id: BroadcasterId,
        /// The data consumer.
        data_consumer_id: DataConsumerId,
        /// The data producer it consumed.
        data_producer_id: DataProducerId,
        /// Its transport.
        transport_id: TransportId,
        /// Why.
        reason: CloseReason,
    },
}

/// An object that does not exist (or no longer exists) in this room.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum NotFound {
    /// No such broadcaster.
    #[error("broadcaster {0} not found")]
    Broadcaster(BroadcasterId),
    /// No such transport.
    #[error("transport {0} not found")]
    Transport(TransportId),
    /// No such producer.
    #[error("producer {0} not found")]
    Producer(ProducerId),
    /// No such consumer.
    #[error("consumer {0} not found")]
    Consumer(ConsumerId),
    /// No such data producer.
    #[error("data producer {0} not found")]
    DataProducer(DataProducerId),
    /// No such data consumer.
    #[error("data consumer {0} not found")]
    DataConsumer(DataConsumerId),
}

/// Why a broadcaster could not join.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum JoinError {
    /// A broadcaster with this id is already in the room.
    #[error("broadcaster {0} already exists in this room")]
    AlreadyJoined(BroadcasterId),
}

/// Why a transport could not be connected.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ConnectError {
    /// Unknown transport.
    #[error(transparent)]
    NotFound(#[from] NotFound),
    /// The transport was connected before.
    #[error("transport {0} is already connected")]
    AlreadyConnected(TransportId),
    /// The parameters do not fit this transport.
    #[error("{field}: {message}")]
    Invalid {
        /// Offending field.
        field: &'static str,
        /// What is wrong with it.
        message: String,
    },
}

/// Why ICE could not be restarted.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum RestartIceError {
    /// Unknown transport.
    #[error(transparent)]
    NotFound(#[from] NotFound),
    /// Only WebRTC transports have ICE.
    #[error("transport {0} is not a webrtc transport")]
    NotWebRtc(TransportId),
}

/// Why a producer could not be created.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ProduceError {
    /// Unknown transport.
    #[error(transparent)]
    NotFound(#[from] NotFound),
    /// The RTP parameters are invalid or cannot be routed (field paths start at `rtpParameters`).
    #[error(transparent)]
    Rejected(#[from] OrtcError),
    /// Another producer on the transport uses this MID.
    #[error("rtpParameters.mid: mid {0:?} is already used by another producer on this transport")]
    DuplicateMid(String),
    /// Another producer on the transport uses this SSRC.
    #[error(
        "rtpParameters.encodings: ssrc {0} is already used by another producer on this transport"
    )]
    DuplicateSsrc(u32),
}

/// Why a consumer could not be created.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ConsumeError {
    /// Unknown transport or producer.
    #[error(transparent)]
    NotFound(#[from] NotFound),
    /// Neither the request nor the broadcaster carries RTP capabilities.
    #[error("rtpCapabilities: required, since broadcaster {0} joined without rtpCapabilities")]
    NoRtpCapabilities(BroadcasterId),
    /// The capabilities are invalid or cannot receive the producer (field paths start at `rtpCapabilities`).
    #[error(transparent)]
    Rejected(#[from] OrtcError),
    /// The requested MID is in use on the transport.
    #[error("mid: mid {0:?} is already used on this transport")]
    DuplicateMid(String),
}

/// Why a consumer's receiver SDP cannot be made.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ConsumerSdpError {
    /// Unknown consumer.
    #[error(transparent)]
    NotFound(#[from] NotFound),
    /// Only plain transports have a receiver SDP.
    #[error("consumer {0} is on a webrtc transport: its SDP comes from the WebRTC negotiation")]
    NotPlain(ConsumerId),
    /// The receiver's address is not known yet.
    #[error(
        "the transport of consumer {0} is not connected: connect it to the receiver's ip and port first"
    )]
    NotConnected(ConsumerId),
}

/// Why a data producer could not be created.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ProduceDataError {
    /// Unknown transport.
    #[error(transparent)]
    NotFound(#[from] NotFound),
    /// The transport has no SCTP association.
    #[error("transport {0} has no SCTP (create it with enableSctp)")]
    SctpNotEnabled(TransportId),
    /// The stream parameters are invalid (field paths start at `sctpStreamParameters`).
    #[error(transparent)]
    Rejected(#[from] OrtcError),
    /// Another data producer on the transport uses this stream.
    #[error("sctpStreamParameters.streamId: stream {0} is already used on this transport")]
    DuplicateStreamId(u16),
    /// The stream id is beyond the transport's incoming streams.
    #[error(
        "sctpStreamParameters.streamId: stream {stream_id} is beyond the transport's {mis} incoming streams"
    )]
    StreamIdOutOfRange {
        /// Requested stream.
        stream_id: u16,
        /// Incoming streams of the association.
        mis: u16,
    },
}

/// Why a data consumer could not be created.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ConsumeDataError {
    /// Unknown transport or data producer.
    #[error(transparent)]
    NotFound(#[from] NotFound),
    /// The transport has no SCTP association.
    #[error("transport {0} has no SCTP (create it with enableSctp)")]
    SctpNotEnabled(TransportId),
    /// The overrides are invalid.
    #[error(transparent)]
    Rejected(#[from] OrtcError),
    /// Every outgoing stream of the transport is taken.
    #[error("transport {0} has no free SCTP stream left")]
    NoStreamAvailable(TransportId),
}

/// A room as the API shows it.
#[derive(Clone, Debug, PartialEq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RouterInfo {
    /// Room id.
    pub id: RoomId,
    /// Broadcasters in the room.
    pub broadcaster_ids: Vec<BroadcasterId>,
    /// Open transports.
    pub transport_count: usize,
    /// Producers.
    pub producer_ids: Vec<ProducerId>,
    /// Consumers.
    pub consumer_count: usize,
    /// Data producers.
    pub data_producer_ids: Vec<DataProducerId>,
    /// Data consumers.
    pub data_consumer_count: usize,
}

/// Object counts of a router (for load balancing and leak checks).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RouterCounts {
    /// Broadcasters.
    pub broadcasters: usize,
    /// Transports.
    pub transports: usize,
    /// Producers.
    pub producers: usize,
    /// Consumers.
    pub consumers: usize,
    /// Data producers.
    pub data_producers: usize,
    /// Data consumers.
    pub data_consumers: usize,
}

impl std::ops::AddAssign for RouterCounts {
    fn add_assign(&mut self, o: Self) {
        self.broadcasters += o.broadcasters;
        self.transports += o.transports;
        self.producers += o.producers;
        self.consumers += o.consumers;
        self.data_producers += o.data_producers;
        self.data_consumers += o.data_consumers;
    }
}

/// One room: its capabilities, its objects and their lifecycle.
#[derive(Debug)]
pub struct Router {
    id: RoomId,
    rtp_capabilities: RtpCapabilities,
    rng: Rng,
    broadcasters: BTreeMap<BroadcasterId, Broadcaster>,
    transports: IdMap<TransportId, Transport>,
    producers: IdMap<ProducerId, Producer>,
    consumers: IdMap<ConsumerId, Consumer>,
    data_producers: IdMap<DataProducerId, DataProducer>,
    data_consumers: IdMap<DataConsumerId, DataConsumer>,
    /// Producers in creation order (for listings and the `peers` list).
    producer_order: Vec<ProducerId>,
    events: VecDeque<RouterEvent>,
    /// The latest time given to a `handle_*` call.
    last_now: Option<Instant>,
    /// An instant and the same instant as time since the Unix epoch (for NTP timestamps).
    clock_anchor: Option<(Instant, Duration)>,
    /// When reports and scores go out next.
    next_report: Option<Instant>,
    /// SSRC of the router's own RTCP (receiver reports, keyframe requests).
    rtcp_ssrc: u32,
    /// Producers whose endpoints must be asked for a keyframe at the next timeout.
    pending_keyframe_requests: Vec<ProducerId>,
}

impl Router {
    /// A room with these (generated) capabilities; `seed` drives SSRC and CNAME choice.
    pub fn new(id: RoomId, rtp_capabilities: RtpCapabilities, seed: u64) -> Self {
        let mut rng = Rng::new(seed);
        Self {
            id,
            rtp_capabilities,
            rtcp_ssrc: rng.ssrc(),
            rng,
            last_now: None,
            clock_anchor: None,
            next_report: None,
            pending_keyframe_requests: Vec::new(),
            broadcasters: BTreeMap::new(),
            transports: IdMap::default(),
            producers: IdMap::default(),
            consumers: IdMap::default(),
            data_producers: IdMap::default(),
            data_consumers: IdMap::default(),
            producer_order: Vec::new(),
            events: VecDeque::new(),
        }
    }

    /// Room id.
    pub fn id(&self) -> &RoomId {
        &self.id
    }

    /// The router's RTP capabilities.
    pub fn rtp_capabilities(&self) -> &RtpCapabilities {
        &self.rtp_capabilities
    }

    /// The next state change to report, oldest first.
    pub fn poll_event(&mut self) -> Option<RouterEvent> {
        self.events.pop_front()
    }

    /// The room as the API shows it.
    pub fn info(&self) -> RouterInfo {
        RouterInfo {
            id: self.id.clone(),
            broadcaster_ids: self.broadcasters.keys().cloned().collect(),
            transport_count: self.transports.len(),
            producer_ids: self.producer_order.clone(),
            consumer_count: self.consumers.len(),
            data_producer_ids: {
                let mut ids: Vec<_> = self.data_producers.keys().copied().collect();
                ids.sort();
                ids
            },
            data_consumer_count: self.data_consumers.len(),
        }
    }

    /// Object counts.
    pub fn counts(&self) -> RouterCounts {
        RouterCounts {
            broadcasters: self.broadcasters.len(),
            transports: self.transports.len(),
            producers: self.producers.len(),
            consumers: self.consumers.len(),
            data_producers: self.data_producers.len(),
            data_consumers: self.data_consumers.len(),
        }
    }

    // ---- broadcasters ----

    /// Adds a broadcaster; returns it and the other peers with the producers it can consume.
    pub fn join(
        &mut self,
        options: BroadcasterOptions,
    ) -> Result<(BroadcasterInfo, Vec<PeerInfo>), JoinError> {
        if self.broadcasters.contains_key(&options.id) {
            return Err(JoinError::AlreadyJoined(options.id));
        }
        let peers = self.peers_for(&options.id, options.rtp_capabilities.as_ref());
        let broadcaster = Broadcaster {
            options,
            transports: Default::default(),
        };
        let info = broadcaster.info();
        self.events.push_back(RouterEvent::BroadcasterJoined {
            broadcaster_id: info.id.clone(),
            display_name: info.display_name.clone(),
            device: info.device.clone(),
        });
        self.broadcasters.insert(info.id.clone(), broadcaster);
        Ok((info, peers))
    }

    /// Removes a broadcaster and closes everything it owns.
    pub fn leave(&mut self, id: &BroadcasterId, reason: CloseReason) -> Result<(), NotFound> {
        let broadcaster = self
            .broadcasters
            .remove(id)
            .ok_or_else(|| NotFound::Broadcaster(id.clone()))?;
        let cascade = if reason == CloseReason::Request {
            CloseReason::BroadcasterLeft
        } else {
            reason
        };
        for transport in broadcaster.transports {
            self.close_transport_inner(transport, cascade);
        }
        self.events.push_back(RouterEvent::BroadcasterLeft {
            broadcaster_id: id.clone(),
            reason,
        });
        Ok(())
    }

    /// A broadcaster as the API shows it.
    pub fn broadcaster(&self, id: &BroadcasterId) -> Result<BroadcasterInfo, NotFound> {
        self.broadcasters
            .get(id)
            .map(Broadcaster::info)
            .ok_or_else(|| NotFound::Broadcaster(id.clone()))
    }

    /// Every broadcaster, ordered by id.
    pub fn broadcasters(&self) -> Vec<BroadcasterInfo> {
        self.broadcasters.values().map(Broadcaster::info).collect()
    }

    /// Other peers and their producers that `caps` can consume (all producers when `caps` is `None`
    /// is not what the demo does: it lists none).
    fn peers_for(&self, me: &BroadcasterId, caps: Option<&RtpCapabilities>) -> Vec<PeerInfo> {
        self.broadcasters
            .values()
            .filter(|b| &b.options.id != me)
            .map(|b| PeerInfo {
                id: b.options.id.clone(),
                display_name: b.options.display_name.clone(),
                device: b.options.device.clone(),
                producers: self
                    .producer_order
                    .iter()
                    .filter_map(|id| self.producers.get(id))
                    .filter(|p| p.owner == b.options.id)
                    .filter(|p| caps.is_some_and(|c| ortc::can_consume(&p.consumable, c)))
                    .map(|p| PeerProducerInfo {
                        id: p.id,
                        kind: p.kind,
                    })
                    .collect(),
            })
            .collect()
    }

    // ---- transports ----

    /// Adds a transport owned by `owner`, with network endpoints the runtime has already bound.
    pub fn create_transport(
        &mut self,
        owner: &BroadcasterId,
        id: TransportId,
        setup: TransportSetup,
    ) -> Result<TransportInfo, NotFound> {
        let broadcaster = self
            .broadcasters
            .get_mut(owner)
            .ok_or_else(|| NotFound::Broadcaster(owner.clone()))?;
        broadcaster.transports.insert(id);
        let transport = Transport::new(id, owner.clone(), setup);
        let info = transport.info();
        self.transports.insert(id, transport);
        Ok(info)
    }

    /// A transport as the API shows it.
    pub fn transport(&self, id: TransportId) -> Result<TransportInfo, NotFound> {
        self.transports
            .get(&id)
            .map(Transport::info)
            .ok_or(NotFound::Transport(id))
    }

    /// A transport's counters.
    pub fn transport_stats(&self, id: TransportId) -> Result<TransportStats, NotFound> {
        self.transports
            .get(&id)
            .map(|t| t.stats.clone())
            .ok_or(NotFound::Transport(id))
    }

    /// Gives a transport its remote side (once): DTLS parameters for WebRTC, the remote endpoint and SRTP
    /// keying for plain.
    pub fn connect_transport(
        &mut self,
        id: TransportId,
        params: ConnectParameters,
    ) -> Result<TransportInfo, ConnectError> {
        let transport = self.transports.get(&id).ok_or(NotFound::Transport(id))?;
        match (&transport.kind, params.dtls_parameters.clone()) {
            (TransportKind::WebRtc { .. }, Some(dtls)) => self.connect_webrtc(id, dtls),
            (TransportKind::WebRtc { .. }, None) => Err(ConnectError::Invalid {
                field: "dtlsParameters",
                message: "required to connect a webrtc transport".to_owned(),
            }),
            (TransportKind::Plain { .. }, _) => self.connect_plain(id, params),
        }
    }

    fn connect_plain(
        &mut self,
        id: TransportId,
        params: ConnectParameters,
    ) -> Result<TransportInfo, ConnectError> {
        let transport = self
            .transports
            .get_mut(&id)
            .ok_or(NotFound::Transport(id))?;
        let TransportKind::Plain(plain) = &mut transport.kind else {
            return Err(NotFound::Transport(id).into());
        };
        if params.dtls_parameters.is_some() {
            return Err(ConnectError::Invalid {
                field: "dtlsParameters",
                message:
                    "a plain transport is connected with ip, port, rtcpPort and srtpParameters"
                        .to_owned(),
            });
        }
        if plain.connect_called {
            return Err(ConnectError::AlreadyConnected(id));
        }
        let setup = &plain.setup;
        let invalid = |field, message: &str| ConnectError::Invalid {
            field,
            message: message.to_owned(),
        };
        match (&setup.srtp_parameters, &params.srtp_parameters) {
            (None, Some(_)) => {
                return Err(invalid(
                    "srtpParameters",
                    "the transport was created without enableSrtp",
                ));
            }
            (Some(_), None) => {
                return Err(invalid(
                    "srtpParameters",
                    "required: the transport was created with enableSrtp",
                ));
            }
            (Some(_), Some(remote))
                if !srtp_key_is_valid(remote.crypto_suite, &remote.key_base64) =>
            {
                return Err(ConnectError::Invalid {
                    field: "srtpParameters.keyBase64",
                    message: format!(
                        "must be base64 of {} bytes for {:?}",
                        remote.crypto_suite.key_length(),
                        remote.crypto_suite
                    ),
                });
            }
            _ => {}
        }
        if !setup.comedia {
            let Some(ip) = params.ip else {
                return Err(invalid("ip", "required unless the transport uses comedia"));
            };
            if ip.is_unspecified() || ip.is_multicast() {
                return Err(ConnectError::Invalid {
                    field: "ip",
                    message: format!("{ip} is not a unicast address"),
                });
            }
            if params.port.is_none_or(|p| p == 0) {
                return Err(invalid(
                    "port",
                    "required (1-65535) unless the transport uses comedia",
                ));
            }
            if !setup.rtcp_mux && params.rtcp_port.is_none_or(|p| p == 0) {
                return Err(invalid(
                    "rtcpPort",
                    "required (1-65535) when the transport does not multiplex RTCP",
                ));
            }
            let port = params.port.unwrap_or_default();
            plain.remote_rtp = Some(SocketAddr::new(ip, port));
            plain.remote_rtcp = if plain.setup.rtcp_mux {
                plain.remote_rtp
            } else {
                params.rtcp_port.map(|p| SocketAddr::new(ip, p))
            };
        }
        if let Some(remote) = &params.srtp_parameters {
            plain.srtp_in = transport::srtp_session(remote);
        }
        plain.connect_called = true;
        Ok(transport.info())
    }

    fn connect_webrtc(
        &mut self,
        id: TransportId,
        params: DtlsParameters,
    ) -> Result<TransportInfo, ConnectError> {
        let transport = self
            .transports
            .get_mut(&id)
            .ok_or(NotFound::Transport(id))?;
        let TransportKind::WebRtc {
            remote_dtls,
            dtls_role,
            dtls_state,
            ..
        } = &mut transport.kind
        else {
            return Err(NotFound::Transport(id).into());
        };
        if remote_dtls.is_some() {
            return Err(ConnectError::AlreadyConnected(id));
        }
        if params.fingerprints.is_empty() {
            return Err(ConnectError::Invalid {
                field: "dtlsParameters.fingerprints",
                message: "at least one fingerprint is required".to_owned(),
            });
        }
        if let Some(bad) = params
            .fingerprints
            .iter()
            .position(|f| !is_fingerprint_hex(&f.value))
        {
            return Err(ConnectError::Invalid {
                field: "dtlsParameters.fingerprints",
                message: format!("fingerprints[{bad}].value is not colon-separated hex"),
            });
        }
        // The remote side leaves us the server role unless it insists on being the server.
        *dtls_role = match params.role {
            DtlsRole::Server => DtlsRole::Client,
            DtlsRole::Client | DtlsRole::Auto => DtlsRole::Server,
        };
        *dtls_state = DtlsState::Connecting;
        *remote_dtls = Some(params);
        Ok(transport.info())
    }

    /// Replaces a WebRTC transport's local ICE credentials.
    pub fn restart_ice(
        &mut self,
        id: TransportId,
        ice_parameters: IceParameters,
    ) -> Result<IceParameters, RestartIceError> {
        let transport = self
            .transports
            .get_mut(&id)
            .ok_or(NotFound::Transport(id))?;
        let TransportKind::WebRtc { setup, .. } = &mut transport.kind else {
            return Err(RestartIceError::NotWebRtc(id));
        };
        setup.ice_parameters = ice_parameters.clone();
        Ok(ice_parameters)
    }

    /// Closes a transport and everything on it.
    pub fn close_transport(&mut self, id: TransportId) -> Result<(), NotFound> {
        let owner = self
            .transports
            .get(&id)
            .map(|t| t.owner.clone())
            .ok_or(NotFound::Transport(id))?;
        if let Some(b) = self.broadcasters.get_mut(&owner) {
            b.transports.remove(&id);
        }
        self.close_transport_inner(id, CloseReason::Request);
        Ok(())
    }

    fn close_transport_inner(&mut self, id: TransportId, reason: CloseReason) {
        let Some(transport) = self.transports.remove(&id) else {
            return;
        };
        for producer in transport.producers {
            self.close_producer_inner(producer, CloseReason::TransportClosed);
        }
        for consumer in transport.consumers {
            self.close_consumer_inner(consumer, CloseReason::TransportClosed);
        }
        for data_producer in transport.data_producers {
            self.close_data_producer_inner(data_producer, CloseReason::TransportClosed);
        }
        for data_consumer in transport.data_consumers {
            self.close_data_consumer_inner(data_consumer, CloseReason::TransportClosed);
        }
        self.events.push_back(RouterEvent::TransportClosed {
            broadcaster_id: transport.owner,
            transport_id: id,
            reason,
        });
    }

    // ---- producers ----

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

    fn close_producer_inner(&mut self, id: ProducerId, reason: CloseReason) {
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

    // ---- consumers ----

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

    fn close_consumer_inner(&mut self, id: ConsumerId, reason: CloseReason) {
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

    // ---- data producers and consumers ----

    /// Creates a data producer on a transport with SCTP.
    pub fn produce_data(
        &mut self,
        transport_id: TransportId,
        id: DataProducerId,
        mut options: DataProducerOptions,
    ) -> Result<DataProducerInfo, ProduceDataError> {
        let transport = self
            .transports
            .get_mut(&transport_id)
            .ok_or(NotFound::Transport(transport_id))?;
        let sctp = transport
            .sctp_parameters()
            .ok_or(ProduceDataError::SctpNotEnabled(transport_id))?;
        ortc::validate_sctp_stream_parameters(&mut options.sctp_stream_parameters)
            .map_err(|e| e.prefixed("sctpStreamParameters"))?;
        let stream_id = options.sctp_stream_parameters.stream_id;
        if stream_id >= sctp.mis {
            return Err(ProduceDataError::StreamIdOutOfRange {
                stream_id,
                mis: sctp.mis,
            });
        }
        if !transport.sctp_in_streams.insert(stream_id) {
            return Err(ProduceDataError::DuplicateStreamId(stream_id));
        }
        transport.data_producers.insert(id);
        let data_producer = DataProducer {
            id,
            owner: transport.owner.clone(),
            transport: transport_id,
            options,
            consumers: Default::default(),
        };
        let info = data_producer.info();
        self.events.push_back(RouterEvent::DataProducerAdded {
            broadcaster_id: info.broadcaster_id.clone(),
            data_producer_id: id,
            label: info.label.clone(),
            protocol: info.protocol.clone(),
        });
        self.data_producers.insert(id, data_producer);
        Ok(info)
    }

    /// A data producer as the API shows it.
    pub fn data_producer(&self, id: DataProducerId) -> Result<DataProducerInfo, NotFound> {
        self.data_producers
            .get(&id)
            .map(DataProducer::info)
            .ok_or(NotFound::DataProducer(id))
    }

    /// Closes a data producer and its data consumers.
    pub fn close_data_producer(&mut self, id: DataProducerId) -> Result<(), NotFound> {
        if !self.data_producers.contains_key(&id) {
            return Err(NotFound::DataProducer(id));
        }
        self.close_data_producer_inner(id, CloseReason::Request);
        Ok(())
    }

    fn close_data_producer_inner(&mut self, id: DataProducerId, reason: CloseReason) {
        let Some(data_producer) = self.data_producers.remove(&id) else {
            return;
        };
        if let Some(transport) = self.transports.get_mut(&data_producer.transport) {
            transport.data_producers.remove(&id);
            transport
                .sctp_in_streams
                .remove(&data_producer.options.sctp_stream_parameters.stream_id);
        }
        for consumer in data_producer.consumers {
            self.close_data_consumer_inner(consumer, CloseReason::DataProducerClosed);
        }
        self.events.push_back(RouterEvent::DataProducerClosed {
            broadcaster_id: data_producer.owner,
            data_producer_id: id,
            transport_id: data_producer.transport,
            reason,
        });
    }

    /// Creates a data consumer of a data producer on a transport with SCTP.
    pub fn consume_data(
        &mut self,
        transport_id: TransportId,
        id: DataConsumerId,
        options: DataConsumerOptions,
    ) -> Result<DataConsumerInfo, ConsumeDataError> {
        let data_producer = self
            .data_producers
            .get(&options.data_producer_id)
            .ok_or(NotFound::DataProducer(options.data_producer_id))?;
        let transport = self
            .transports
            .get_mut(&transport_id)
            .ok_or(NotFound::Transport(transport_id))?;
        let sctp = transport
            .sctp_parameters()
            .ok_or(ConsumeDataError::SctpNotEnabled(transport_id))?;
        let inherited = data_producer.options.sctp_stream_parameters;
        let overridden = options.ordered.is_some()
            || options.max_packet_life_time.is_some()
            || options.max_retransmits.is_some();
        let mut params = if overridden {
            SctpStreamParameters {
                stream_id: 0,
                ordered: options.ordered,
                max_packet_life_time: options.max_packet_life_time,
                max_retransmits: options.max_retransmits,
            }
        } else {
            inherited
        };
        params.stream_id = (0..sctp.os)
            .find(|s| !transport.sctp_out_streams.contains(s))
            .ok_or(ConsumeDataError::NoStreamAvailable(transport_id))?;
        ortc::validate_sctp_stream_parameters(&mut params)?;
        transport.sctp_out_streams.insert(params.stream_id);
        transport.data_consumers.insert(id);
        let data_consumer = DataConsumer {
            id,
            owner: transport.owner.clone(),
            transport: transport_id,
            data_producer: options.data_producer_id,
            sctp_stream_parameters: params,
            label: data_producer.options.label.clone(),
            protocol: data_producer.options.protocol.clone(),
            paused: options.paused,
            data_producer_paused: data_producer.options.paused,
        };
        let info = data_consumer.info();
        if let Some(p) = self.data_producers.get_mut(&options.data_producer_id) {
            p.consumers.insert(id);
        }
        self.data_consumers.insert(id, data_consumer);
        Ok(info)
    }

    /// A data consumer as the API shows it.
    pub fn data_consumer(&self, id: DataConsumerId) -> Result<DataConsumerInfo, NotFound> {
        self.data_consumers
            .get(&id)
            .map(DataConsumer::info)
            .ok_or(NotFound::DataConsumer(id))
    }

    /// Closes a data consumer.
    pub fn close_data_consumer(&mut self, id: DataConsumerId) -> Result<(), NotFound> {
        if !self.data_consumers.contains_key(&id) {
            return Err(NotFound::DataConsumer(id));
        }
        self.close_data_consumer_inner(id, CloseReason::Request);
        Ok(())
    }

    fn close_data_consumer_inner(&mut self, id: DataConsumerId, reason: CloseReason) {
        let Some(data_consumer) = self.data_consumers.remove(&id) else {
            return;
        };
        if let Some(transport) = self.transports.get_mut(&data_consumer.transport) {
            transport.data_consumers.remove(&id);
            transport
                .sctp_out_streams
                .remove(&data_consumer.sctp_stream_parameters.stream_id);
        }
        if let Some(p) = self.data_producers.get_mut(&data_consumer.data_producer) {
            p.consumers.remove(&id);
        }
        self.events.push_back(RouterEvent::DataConsumerClosed {
            broadcaster_id: data_consumer.owner,
            data_consumer_id: id,
            data_producer_id: data_consumer.data_producer,
            transport_id: data_consumer.transport,
            reason,
        });
    }

    // ---- the room ----

    /// Closes the room: every broadcaster leaves with reason `room closed`.
    pub fn close(&mut self) {
        let ids: Vec<_> = self.broadcasters.keys().cloned().collect();
        for id in ids {
            // Present by construction: the ids were just read.
            let _ = self.leave(&id, CloseReason::RoomClosed);
        }
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

fn is_fingerprint_hex(value: &str) -> bool {
    !value.is_empty()
        && value
            .split(':')
            .all(|b| b.len() == 2 && b.bytes().all(|c| c.is_ascii_hexdigit()))
}
