//! A room's routing table and object lifecycle: mediasoup's Router, plus the broadcasters (peers) that own
//! its transports.
//!
//! Owns: broadcasters, transports, producers, consumers, data producers and data consumers of one room; the
//! rules that tie them together (ORTC mapping, MID/SSRC/stream-id uniqueness per transport) and the close
//! cascades (broadcaster → transports → producers/consumers/data objects; producer → its consumers; data
//! producer → its data consumers). Every state change that another party must learn comes out of
//! [`Router::poll_event`], in the order it happened, with the reason.
//!
//! Layout: each object's file (`broadcaster.rs`, `transport.rs`, `producer.rs`, `consumer.rs`, `data.rs`)
//! holds its type and the router's operations on it; `media.rs` is the packet path; `events.rs` and
//! `errors.rs` what the operations report.
//!
//! Must not: touch sockets, threads or the clock. Identifiers and network setups are inputs; SSRCs and
//! CNAMEs come from a generator seeded by the caller.

mod broadcaster;
mod consumer;
mod data;
mod errors;
mod events;
mod media;
mod negotiation;
mod producer;
mod rng;
mod sctp_link;
mod transport;
mod webrtc;

#[cfg(test)]
mod data_tests;
#[cfg(test)]
mod feedback_tests;
#[cfg(test)]
mod media_tests;
#[cfg(test)]
mod play_tests;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod webrtc_tests;

use std::collections::{BTreeMap, VecDeque};
use std::time::{Duration, Instant};

use serde::Serialize;
use utoipa::ToSchema;

pub use broadcaster::{
    BroadcasterInfo, BroadcasterOptions, Device, PeerDataProducerInfo, PeerInfo, PeerProducerInfo,
};
pub use consumer::{
    ConsumerInfo, ConsumerLayers, ConsumerOptions, ConsumerScore, ConsumerStats,
    ConsumerStatsReport, ConsumerType,
};
pub use data::{
    DataConsumerInfo, DataConsumerOptions, DataConsumerStats, DataProducerInfo,
    DataProducerOptions, DataProducerStats, DataType,
};
pub use errors::{
    ConnectError, ConsumeDataError, ConsumeError, ConsumerSdpError, JoinError, NotFound,
    ProduceDataError, ProduceError, RestartIceError, SendDataError,
};
pub use events::{CloseReason, RouterEvent};
pub use negotiation::{
    NegotiatedProducer, NegotiationError, PlayOutcome, PlayedConsumer, PublishOutcome,
};
pub use producer::{ProducerInfo, ProducerOptions, ProducerScore, ProducerStats, ProducerType};
pub use transport::{
    ConnectParameters, DirectTransportInfo, DirectTransportOptions, DirectTransportSetup,
    PlainTransportInfo, PlainTransportOptions, PlainTransportSetup, TransportInfo,
    TransportOptions, TransportSetup, TransportStats, TransportType, WebRtcTransportInfo,
    WebRtcTransportOptions, WebRtcTransportSetup,
};

use crate::ids::{
    BroadcasterId, ConsumerId, DataConsumerId, DataProducerId, IdMap, ProducerId, RoomId,
    TransportId,
};
use crate::rtp_parameters::RtpCapabilities;
use broadcaster::Broadcaster;
use consumer::Consumer;
use data::{DataConsumer, DataProducer};
use producer::Producer;
use rng::Rng;
use transport::Transport;

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
    /// Receive-side bandwidth feedback per transport (transport-cc or REMB), made on its first packet.
    incoming_bwe: IdMap<TransportId, media::IncomingBwe>,
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
            incoming_bwe: IdMap::default(),
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
