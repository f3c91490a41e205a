//! What a router reports: state changes other parties must learn, and why objects closed.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::{ConsumerScore, Device, ProducerScore};
use crate::ids::{
    BroadcasterId, ConsumerId, DataConsumerId, DataProducerId, ProducerId, TransportId,
};
use crate::rtp_parameters::MediaKind;

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
    /// ICE consent expired and was not restored (RFC 7675): the remote side is gone.
    #[serde(rename = "ice closed")]
    IceClosed,
    /// The DTLS handshake failed (a fatal alert, or a certificate that did not match the fingerprint).
    #[serde(rename = "dtls failed")]
    DtlsFailed,
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
            CloseReason::IceClosed => "ice closed",
            CloseReason::DtlsFailed => "dtls failed",
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
    /// A WebRTC transport's ICE state changed.
    TransportIceStateChanged {
        /// Owner.
        broadcaster_id: BroadcasterId,
        /// The transport.
        transport_id: TransportId,
        /// The new state.
        ice_state: crate::transport_parameters::IceState,
    },
    /// A WebRTC transport's DTLS state changed.
    TransportDtlsStateChanged {
        /// Owner.
        broadcaster_id: BroadcasterId,
        /// The transport.
        transport_id: TransportId,
        /// The new state.
        dtls_state: crate::transport_parameters::DtlsState,
    },
    /// A comedia transport latched its remote RTP tuple from the first valid packet, or a WebRTC transport's
    /// ICE selected a tuple.
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
    /// A transport's SCTP association changed state.
    TransportSctpStateChanged {
        /// Owner.
        broadcaster_id: BroadcasterId,
        /// The transport.
        transport_id: TransportId,
        /// The new state.
        sctp_state: crate::transport_parameters::SctpState,
    },
    /// A data producer was paused (by its owner's request).
    DataProducerPaused {
        /// Owner.
        broadcaster_id: BroadcasterId,
        /// The data producer.
        data_producer_id: DataProducerId,
    },
    /// A data producer was resumed (by its owner's request).
    DataProducerResumed {
        /// Owner.
        broadcaster_id: BroadcasterId,
        /// The data producer.
        data_producer_id: DataProducerId,
    },
    /// A data consumer's data producer was paused.
    DataConsumerDataProducerPaused {
        /// The data consumer's owner.
        broadcaster_id: BroadcasterId,
        /// The data consumer.
        data_consumer_id: DataConsumerId,
        /// Its data producer.
        data_producer_id: DataProducerId,
    },
    /// A data consumer's data producer was resumed.
    DataConsumerDataProducerResumed {
        /// The data consumer's owner.
        broadcaster_id: BroadcasterId,
        /// The data consumer.
        data_consumer_id: DataConsumerId,
        /// Its data producer.
        data_producer_id: DataProducerId,
    },
    /// A message for a data consumer on a direct transport (delivered over its owner's event stream).
    DataConsumerMessage {
        /// The data consumer's owner.
        broadcaster_id: BroadcasterId,
        /// The data consumer.
        data_consumer_id: DataConsumerId,
        /// The data producer it came from.
        data_producer_id: DataProducerId,
        /// WebRTC payload protocol identifier: 51 string, 53 binary, 56/57 empty (RFC 8831 §8).
        ppid: u32,
        /// The message.
        data: Vec<u8>,
    },
}
