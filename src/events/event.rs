//! The typed events of the room and broadcaster streams.
//!
//! One [`Event`] variant per SSE event name; each variant carries a payload struct named like the variant.
//! The SSE `event:` field is [`Event::name`], the `data:` field is the payload alone, serialised as one
//! camelCase JSON object (the `Serialize` of [`Event`] is untagged, so it writes just the payload).
//!
//! Room events ([`Event::is_room_event`]) go to the room stream and to every broadcaster stream of the room;
//! the others concern one broadcaster's own objects and go to that broadcaster's stream only.
//!
//! The value types the engine already defines are reused, not copied, and re-exported here: [`CloseReason`]
//! (serialised as mediasoup's reason texts: `"closed by request"`, `"broadcaster left"`, `"transport closed"`,
//! `"producer closed"`, `"data producer closed"`, `"room closed"`), [`Device`], [`ProducerScore`] and
//! [`ConsumerScore`].

use mediagate_engine::ids::{
    BroadcasterId, ConsumerId, DataConsumerId, DataProducerId, ProducerId, RoomId, TransportId,
};
pub use mediagate_engine::router::{CloseReason, ConsumerScore, Device, ProducerScore};
use mediagate_engine::rtp_parameters::MediaKind;
use mediagate_engine::transport_parameters::{DtlsState, IceState, SctpState, TransportTuple};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// Payload of `broadcaster.joined`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct BroadcasterJoined {
    /// The broadcaster that joined.
    pub broadcaster_id: BroadcasterId,
    /// Its display name.
    pub display_name: String,
    /// Its device.
    pub device: Device,
}

/// Payload of `broadcaster.left`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct BroadcasterLeft {
    /// The broadcaster that left.
    pub broadcaster_id: BroadcasterId,
    /// Why it left: `closed by request` or `room closed`.
    pub reason: CloseReason,
}

/// Payload of `room.viewers`: how many WHEP sessions play from the room (published when one starts or ends).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RoomViewers {
    /// WHEP sessions playing from the room now.
    pub viewer_count: u64,
}

/// Payload of `producer.added`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ProducerAdded {
    /// The new producer.
    pub producer_id: ProducerId,
    /// Its owner.
    pub broadcaster_id: BroadcasterId,
    /// Audio or video.
    pub kind: MediaKind,
    /// Whether it starts paused.
    pub paused: bool,
}

/// Payload of `producer.closed`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ProducerClosed {
    /// The producer that closed.
    pub producer_id: ProducerId,
    /// Its owner.
    pub broadcaster_id: BroadcasterId,
    /// Why it closed.
    pub reason: CloseReason,
}

/// Payload of `producer.paused`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ProducerPaused {
    /// The producer that paused.
    pub producer_id: ProducerId,
    /// Its owner.
    pub broadcaster_id: BroadcasterId,
}

/// Payload of `producer.resumed`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ProducerResumed {
    /// The producer that resumed.
    pub producer_id: ProducerId,
    /// Its owner.
    pub broadcaster_id: BroadcasterId,
}

/// Payload of `dataProducer.added`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct DataProducerAdded {
    /// The new data producer.
    pub data_producer_id: DataProducerId,
    /// Its owner.
    pub broadcaster_id: BroadcasterId,
    /// Its label (may be empty).
    pub label: String,
    /// Its sub-protocol (may be empty).
    pub protocol: String,
}

/// Payload of `dataProducer.closed`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct DataProducerClosed {
    /// The data producer that closed.
    pub data_producer_id: DataProducerId,
    /// Its owner.
    pub broadcaster_id: BroadcasterId,
    /// Why it closed.
    pub reason: CloseReason,
}

/// Payload of `room.closed`: the last event of a room stream and of each of its broadcaster streams.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RoomClosed {
    /// The room that closed.
    pub room_id: RoomId,
    /// Why it closed: `closed by request` or `room closed` (server shutdown).
    pub reason: CloseReason,
}

/// Payload of `transport.closed`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TransportClosed {
    /// The transport that closed.
    pub transport_id: TransportId,
    /// Why it closed.
    pub reason: CloseReason,
}

/// Payload of `transport.iceStateChanged`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TransportIceStateChanged {
    /// The WebRTC transport.
    pub transport_id: TransportId,
    /// Its new ICE state.
    pub ice_state: IceState,
}

/// Payload of `transport.dtlsStateChanged`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TransportDtlsStateChanged {
    /// The WebRTC transport.
    pub transport_id: TransportId,
    /// Its new DTLS state.
    pub dtls_state: DtlsState,
}

/// Payload of `transport.sctpStateChanged`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TransportSctpStateChanged {
    /// The transport.
    pub transport_id: TransportId,
    /// Its new SCTP association state.
    pub sctp_state: SctpState,
}

/// Payload of `transport.tuple`: the transport's (RTP) tuple was learnt or changed.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TransportTupleChanged {
    /// The transport.
    pub transport_id: TransportId,
    /// Its new tuple.
    pub tuple: TransportTuple,
}

/// Payload of `transport.rtcpTuple`: a plain transport without rtcp-mux learnt its RTCP tuple.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TransportRtcpTupleChanged {
    /// The plain transport.
    pub transport_id: TransportId,
    /// Its RTCP tuple.
    pub rtcp_tuple: TransportTuple,
}

/// Payload of `producer.score`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ProducerScoreChanged {
    /// The producer.
    pub producer_id: ProducerId,
    /// One entry per stream (encoding) receiving media.
    pub score: Vec<ProducerScore>,
}

/// Payload of `consumer.score`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ConsumerScoreChanged {
    /// The consumer.
    pub consumer_id: ConsumerId,
    /// Its new score.
    pub score: ConsumerScore,
}

/// Payload of `consumer.closed`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ConsumerClosed {
    /// The consumer that closed.
    pub consumer_id: ConsumerId,
    /// The producer it consumed.
    pub producer_id: ProducerId,
    /// The transport it sent on.
    pub transport_id: TransportId,
    /// Why it closed.
    pub reason: CloseReason,
}

/// Payload of `consumer.paused`: the consumer was paused by request.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ConsumerPaused {
    /// The consumer.
    pub consumer_id: ConsumerId,
}

/// Payload of `consumer.resumed`: the consumer was resumed by request.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ConsumerResumed {
    /// The consumer.
    pub consumer_id: ConsumerId,
}

/// Payload of `consumer.producerPaused`: the producer the consumer reads from paused.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ConsumerProducerPaused {
    /// The consumer.
    pub consumer_id: ConsumerId,
    /// The producer that paused.
    pub producer_id: ProducerId,
}

/// Payload of `consumer.producerResumed`: the producer the consumer reads from resumed.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ConsumerProducerResumed {
    /// The consumer.
    pub consumer_id: ConsumerId,
    /// The producer that resumed.
    pub producer_id: ProducerId,
}

/// Payload of `consumer.layersChanged`: the spatial/temporal layers a simulcast or SVC consumer sends changed.
///
/// Both layers are `null` when the consumer sends nothing (no layer fits, or the producer is silent).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ConsumerLayersChanged {
    /// The consumer.
    pub consumer_id: ConsumerId,
    /// The spatial layer now sent.
    pub spatial_layer: Option<u8>,
    /// The temporal layer now sent.
    pub temporal_layer: Option<u8>,
}

/// Payload of `dataConsumer.closed`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct DataConsumerClosed {
    /// The data consumer that closed.
    pub data_consumer_id: DataConsumerId,
    /// The data producer it consumed.
    pub data_producer_id: DataProducerId,
    /// The transport it sent on.
    pub transport_id: TransportId,
    /// Why it closed.
    pub reason: CloseReason,
}

/// Payload of `dataProducer.paused` and `dataProducer.resumed` (room events).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct DataProducerPauseChanged {
    /// The data producer.
    pub data_producer_id: DataProducerId,
    /// Its owner.
    pub broadcaster_id: BroadcasterId,
}

/// Payload of `dataConsumer.dataProducerPaused` and `dataConsumer.dataProducerResumed`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct DataConsumerProducerPauseChanged {
    /// The data consumer.
    pub data_consumer_id: DataConsumerId,
    /// Its data producer.
    pub data_producer_id: DataProducerId,
}

/// How a message's bytes are written in `dataConsumer.message`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum MessageEncoding {
    /// UTF-8 text as is (string PPIDs 51 and 56 whose bytes are valid UTF-8).
    Text,
    /// Standard base64 (binary PPIDs 53 and 57, and strings that are not valid UTF-8).
    Base64,
}

/// Payload of `dataConsumer.message`: a message for a data consumer of a direct transport.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct DataConsumerMessage {
    /// The data consumer.
    pub data_consumer_id: DataConsumerId,
    /// The data producer it came from.
    pub data_producer_id: DataProducerId,
    /// WebRTC payload protocol identifier: 51 string, 53 binary, 56 empty string, 57 empty binary.
    pub ppid: u32,
    /// How `data` is written.
    pub encoding: MessageEncoding,
    /// The message.
    pub data: String,
}

impl DataConsumerMessage {
    /// The event for one message: strings as text when they are UTF-8, everything else as base64.
    pub fn new(
        data_consumer_id: DataConsumerId,
        data_producer_id: DataProducerId,
        ppid: u32,
        data: Vec<u8>,
    ) -> Self {
        use base64::Engine as _;
        let string = matches!(
            ppid,
            mediagate_engine::sctp::PPID_STRING | mediagate_engine::sctp::PPID_STRING_EMPTY
        );
        let (encoding, data) = match String::from_utf8(data) {
            Ok(text) if string => (MessageEncoding::Text, text),
            Ok(text) => (
                MessageEncoding::Base64,
                base64::engine::general_purpose::STANDARD.encode(text.as_bytes()),
            ),
            Err(e) => (
                MessageEncoding::Base64,
                base64::engine::general_purpose::STANDARD.encode(e.as_bytes()),
            ),
        };
        Self {
            data_consumer_id,
            data_producer_id,
            ppid,
            encoding,
            data,
        }
    }
}

/// An event of a room or broadcaster stream. Serialises as its payload alone; its SSE name is [`Event::name`].
#[derive(Clone, Debug, PartialEq, Serialize, ToSchema)]
#[serde(untagged)]
pub enum Event {
    /// `broadcaster.joined` (room event).
    BroadcasterJoined(BroadcasterJoined),
    /// `broadcaster.left` (room event).
    BroadcasterLeft(BroadcasterLeft),
    /// `producer.added` (room event).
    ProducerAdded(ProducerAdded),
    /// `producer.closed` (room event).
    ProducerClosed(ProducerClosed),
    /// `producer.paused` (room event).
    ProducerPaused(ProducerPaused),
    /// `producer.resumed` (room event).
    ProducerResumed(ProducerResumed),
    /// `dataProducer.added` (room event).
    DataProducerAdded(DataProducerAdded),
    /// `dataProducer.closed` (room event).
    DataProducerClosed(DataProducerClosed),
    /// `room.closed` (room event): the last event before the room's streams end.
    RoomClosed(RoomClosed),
    /// `room.viewers` (room event): the number of WHEP sessions changed.
    RoomViewers(RoomViewers),
    /// `transport.closed`.
    TransportClosed(TransportClosed),
    /// `transport.iceStateChanged`.
    TransportIceStateChanged(TransportIceStateChanged),
    /// `transport.dtlsStateChanged`.
    TransportDtlsStateChanged(TransportDtlsStateChanged),
    /// `transport.sctpStateChanged`.
    TransportSctpStateChanged(TransportSctpStateChanged),
    /// `transport.tuple`.
    TransportTupleChanged(TransportTupleChanged),
    /// `transport.rtcpTuple`.
    TransportRtcpTupleChanged(TransportRtcpTupleChanged),
    /// `producer.score` (sent to the producer's owner).
    ProducerScoreChanged(ProducerScoreChanged),
    /// `consumer.closed`.
    ConsumerClosed(ConsumerClosed),
    /// `consumer.paused`.
    ConsumerPaused(ConsumerPaused),
    /// `consumer.resumed`.
    ConsumerResumed(ConsumerResumed),
    /// `consumer.producerPaused`.
    ConsumerProducerPaused(ConsumerProducerPaused),
    /// `consumer.producerResumed`.
    ConsumerProducerResumed(ConsumerProducerResumed),
    /// `consumer.layersChanged`.
    ConsumerLayersChanged(ConsumerLayersChanged),
    /// `consumer.score`.
    ConsumerScoreChanged(ConsumerScoreChanged),
    /// `dataConsumer.closed`.
    DataConsumerClosed(DataConsumerClosed),
    /// `dataProducer.paused` (room event).
    DataProducerPaused(DataProducerPauseChanged),
    /// `dataProducer.resumed` (room event).
    DataProducerResumed(DataProducerPauseChanged),
    /// `dataConsumer.dataProducerPaused`.
    DataConsumerDataProducerPaused(DataConsumerProducerPauseChanged),
    /// `dataConsumer.dataProducerResumed`.
    DataConsumerDataProducerResumed(DataConsumerProducerPauseChanged),
    /// `dataConsumer.message` (direct transports).
    DataConsumerMessage(DataConsumerMessage),
}

impl Event {
    /// The SSE event name (the `event:` field).
    pub fn name(&self) -> &'static str {
        match self {
            Event::BroadcasterJoined(_) => "broadcaster.joined",
            Event::BroadcasterLeft(_) => "broadcaster.left",
            Event::ProducerAdded(_) => "producer.added",
            Event::ProducerClosed(_) => "producer.closed",
            Event::ProducerPaused(_) => "producer.paused",
            Event::ProducerResumed(_) => "producer.resumed",
            Event::DataProducerAdded(_) => "dataProducer.added",
            Event::DataProducerClosed(_) => "dataProducer.closed",
            Event::RoomClosed(_) => "room.closed",
            Event::RoomViewers(_) => "room.viewers",
            Event::TransportClosed(_) => "transport.closed",
            Event::TransportIceStateChanged(_) => "transport.iceStateChanged",
            Event::TransportDtlsStateChanged(_) => "transport.dtlsStateChanged",
            Event::TransportSctpStateChanged(_) => "transport.sctpStateChanged",
            Event::TransportTupleChanged(_) => "transport.tuple",
            Event::TransportRtcpTupleChanged(_) => "transport.rtcpTuple",
            Event::ProducerScoreChanged(_) => "producer.score",
            Event::ConsumerClosed(_) => "consumer.closed",
            Event::ConsumerPaused(_) => "consumer.paused",
            Event::ConsumerResumed(_) => "consumer.resumed",
            Event::ConsumerProducerPaused(_) => "consumer.producerPaused",
            Event::ConsumerProducerResumed(_) => "consumer.producerResumed",
            Event::ConsumerLayersChanged(_) => "consumer.layersChanged",
            Event::ConsumerScoreChanged(_) => "consumer.score",
            Event::DataConsumerClosed(_) => "dataConsumer.closed",
            Event::DataProducerPaused(_) => "dataProducer.paused",
            Event::DataProducerResumed(_) => "dataProducer.resumed",
            Event::DataConsumerDataProducerPaused(_) => "dataConsumer.dataProducerPaused",
            Event::DataConsumerDataProducerResumed(_) => "dataConsumer.dataProducerResumed",
            Event::DataConsumerMessage(_) => "dataConsumer.message",
        }
    }

    /// Whether this is a room event: published with [`EventHub::publish_room`](super::EventHub::publish_room)
    /// to the room stream and every broadcaster stream of the room. The others are published with
    /// [`EventHub::publish_broadcaster`](super::EventHub::publish_broadcaster).
    pub fn is_room_event(&self) -> bool {
        matches!(
            self,
            Event::BroadcasterJoined(_)
                | Event::BroadcasterLeft(_)
                | Event::RoomViewers(_)
                | Event::ProducerAdded(_)
                | Event::ProducerClosed(_)
                | Event::ProducerPaused(_)
                | Event::ProducerResumed(_)
                | Event::DataProducerAdded(_)
                | Event::DataProducerClosed(_)
                | Event::DataProducerPaused(_)
                | Event::DataProducerResumed(_)
                | Event::RoomClosed(_)
        )
    }
}

/// Implements `From<Payload> for Event` for each payload, so `hub.publish_room(&room, payload.into())` reads well.
macro_rules! event_from_payload {
    ($($variant:ident),* $(,)?) => {
        $(
            impl From<$variant> for Event {
                fn from(payload: $variant) -> Self {
                    Event::$variant(payload)
                }
            }
        )*
    };
}

event_from_payload!(
    BroadcasterJoined,
    BroadcasterLeft,
    ProducerAdded,
    ProducerClosed,
    ProducerPaused,
    ProducerResumed,
    DataProducerAdded,
    DataProducerClosed,
    RoomClosed,
    TransportClosed,
    TransportIceStateChanged,
    TransportDtlsStateChanged,
    TransportSctpStateChanged,
    TransportTupleChanged,
    TransportRtcpTupleChanged,
    ProducerScoreChanged,
    ConsumerClosed,
    ConsumerPaused,
    ConsumerResumed,
    ConsumerProducerPaused,
    ConsumerProducerResumed,
    ConsumerLayersChanged,
    ConsumerScoreChanged,
    DataConsumerClosed,
    DataConsumerMessage,
);
